//! The answer page behind the link in every invitation: no login, the token answers only for its
//! own participant and meeting. Opening the link changes nothing (mail scanners open links); the
//! answer is a button press.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::error::{AppError, PageError};
use crate::sip::model::{swedish_time, Answer, MeetingInput};
use crate::sip::store::{self, Invitee, Meeting};
use crate::web::csrf::CsrfForm;
use crate::web::identity::MaybeUser;
use crate::web::{render, AppState, Layout};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/svar/{token}", web::get().to(get_answer))
        .route("/svar/{token}", web::post().to(post_answer));
}

#[derive(Template)]
#[template(path = "sip/answer.html")]
struct AnswerPage {
    layout: Layout,
    when: String,
    place: String,
    cancelled: bool,
    current: Answer,
    saved: bool,
    answers: [Answer; 3],
}

fn page(
    req: &HttpRequest,
    user: Option<crate::accounts::AuthUser>,
    meeting: &Meeting,
    invitee: &Invitee,
    saved: bool,
) -> AnswerPage {
    AnswerPage {
        layout: Layout::new(req, user),
        when: swedish_time(meeting.starts_at, meeting.minutes),
        place: crate::sip::invitations::place_line(meeting),
        cancelled: meeting.cancelled_at.is_some(),
        current: invitee.status,
        saved,
        answers: [Answer::Coming, Answer::Maybe, Answer::NotComing],
    }
}

async fn get_answer(
    req: HttpRequest,
    MaybeUser(user): MaybeUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let (token, keys) = (path.into_inner(), state.settings.keys.clone());
    let (meeting, invitee) = state
        .db(move |conn| store::find_by_token(conn, &keys, &token))
        .await?
        .ok_or(AppError::NotFound)?;
    render(StatusCode::OK, &page(&req, user, &meeting, &invitee, false))
}

#[derive(Deserialize)]
struct AnswerForm {
    #[serde(default)]
    answer: String,
}

async fn post_answer(
    req: HttpRequest,
    MaybeUser(user): MaybeUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<AnswerForm>,
) -> Result<HttpResponse, PageError> {
    let token = path.into_inner();
    let answer = match form.answer.parse::<Answer>() {
        Ok(a) if a != Answer::NoAnswer => a,
        _ => return Err(AppError::BadRequest("Välj ett av svaren.".into()).into()),
    };
    let keys = state.settings.keys.clone();
    let (meeting, invitee) = state
        .db(move |conn| {
            store::answer_by_token(conn, &keys, &token, answer)?;
            store::find_by_token(conn, &keys, &token)?.ok_or(AppError::NotFound)
        })
        .await?;
    render(StatusCode::OK, &page(&req, user, &meeting, &invitee, true))
}

// ---- the caseworker's pages ----

use crate::authz::Actor;
use crate::error::FieldError;
use crate::sip::store::{
    ConsentId, ConsentInput, MeetingId, ParticipantId, ParticipantInput, SipId, SipInput,
    SipOverview, SipSummary,
};
use crate::web::identity::CurrentUser;
use crate::web::{form_value, see_other, FormErrors, SavedQuery};

pub fn caseworker_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/sip", web::get().to(get_list))
        .route("/sip", web::post().to(post_new))
        .route("/sip/{id}", web::get().to(get_sip))
        .route("/sip/{id}/samtycke", web::post().to(post_consent))
        .route(
            "/sip/{id}/samtycke/{cid}/aterkalla",
            web::post().to(post_withdraw),
        )
        .route("/sip/{id}/deltagare", web::post().to(post_participant))
        .route(
            "/sip/{id}/deltagare/{pid}/ta-bort",
            web::post().to(post_remove),
        )
        .route("/sip/{id}/moten", web::post().to(post_meeting))
        .route("/sip/{id}/tider", web::get().to(get_times))
        .route("/sip/{id}/tider", web::post().to(post_book_time))
        .route(
            "/sip/{id}/moten/{mid}/installa",
            web::post().to(post_cancel),
        )
        .route("/sip/{id}/moten/{mid}/plan", web::get().to(get_plan_form))
        .route("/sip/{id}/moten/{mid}/plan", web::post().to(post_plan))
        .route("/sip/{id}/plan", web::get().to(get_plan))
        .route("/sip/{id}/uppfoljning", web::post().to(post_follow_up))
        .route("/mina-moten", web::get().to(get_my_meetings))
        .route("/mina-moten/{id}/plan", web::get().to(get_partner_plan));
}

#[derive(Template)]
#[template(path = "sip/list.html")]
struct ListPage {
    layout: Layout,
    sips: Vec<SipSummary>,
    today: chrono::NaiveDate,
    form: SipInput,
    errors: FormErrors,
}

impl ListPage {
    fn when(&self, m: &Meeting) -> String {
        swedish_time(m.starts_at, m.minutes)
    }
    fn late(&self, due: &chrono::NaiveDate) -> bool {
        *due < self.today
    }
}

async fn list_page(
    req: &HttpRequest,
    state: &AppState,
    user: crate::accounts::AuthUser,
    form: SipInput,
    errors: FormErrors,
) -> Result<ListPage, AppError> {
    let actor = Actor::User(user.clone());
    let settings = state.settings.clone();
    let sips = state
        .db(move |conn| store::list_for_caseworker(conn, &settings.keys, &actor))
        .await?;
    Ok(ListPage {
        layout: Layout::new(req, Some(user)),
        sips,
        today: crate::reports::deadlines::local(crate::db::now()).date(),
        form,
        errors,
    })
}

async fn get_list(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let page = list_page(
        &req,
        &state,
        user,
        SipInput::default(),
        FormErrors::default(),
    )
    .await?;
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
struct NewSipForm {
    #[serde(default)]
    child_name: String,
    #[serde(default)]
    child_personal_number: String,
    /// Set when the SIP is started from a report's investigation.
    #[serde(default)]
    report_id: String,
}

async fn post_new(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<NewSipForm>,
) -> Result<HttpResponse, PageError> {
    let input = SipInput {
        child_name: form.child_name,
        child_personal_number: form.child_personal_number,
        report_id: Some(form.report_id).filter(|r| !r.is_empty()),
    };
    let (actor, sent) = (Actor::User(user.clone()), input.clone());
    let settings = state.settings.clone();
    match state
        .db(move |conn| store::create_sip(conn, &settings.keys, &actor, &sent))
        .await
    {
        Ok(sip) => Ok(see_other(format!("/sip/{}", sip.id))),
        Err(AppError::Invalid(errors)) => {
            let page = list_page(&req, &state, user, input, FormErrors(errors)).await?;
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}

/// What was typed into the forms on a SIP's page, kept when one comes back with errors.
#[derive(Clone, Debug, Default)]
struct Typed {
    consent: ConsentInput,
    participant: ParticipantInput,
    meeting: MeetingInput,
}

#[derive(Template)]
#[template(path = "sip/show.html")]
struct SipPage {
    layout: Layout,
    sip: store::Sip,
    overview: SipOverview,
    typed: Typed,
    errors: FormErrors,
    saved: &'static str,
}

impl SipPage {
    fn when(&self, m: &Meeting) -> String {
        swedish_time(m.starts_at, m.minutes)
    }
    fn consent_covers(&self, org: &str) -> bool {
        self.typed.consent.organisation_ids.iter().any(|o| o == org)
    }
    /// The consent form was sent and came back: show it open.
    fn consent_typed(&self) -> bool {
        let c = &self.typed.consent;
        !c.given_by.is_empty()
            || !c.relation.is_empty()
            || !c.given_on.is_empty()
            || !c.valid_until.is_empty()
            || !c.organisation_ids.is_empty()
            || [
                "given_by",
                "relation",
                "given_on",
                "valid_until",
                "organisation_ids",
            ]
            .iter()
            .any(|f| self.errors.get(f).is_some())
    }
    /// An organisation's label ([`store::organisation_labels`]).
    fn organisation(&self, id: &crate::accounts::OrganisationId) -> String {
        self.overview
            .organisations
            .iter()
            .find(|(o, _)| o == id)
            .map_or_else(|| id.to_string(), |(_, label)| label.clone())
    }
    fn candidate_chosen(&self, id: &str) -> bool {
        self.typed.participant.user_id.as_deref() == Some(id)
    }
    fn relation_is(&self, value: &str) -> bool {
        self.typed.consent.relation == value
    }
    fn minutes_text(&self) -> String {
        self.typed
            .meeting
            .minutes
            .map_or_else(|| "60".into(), |m| m.to_string())
    }
    fn upcoming(&self, m: &Meeting) -> bool {
        m.cancelled_at.is_none() && m.starts_at > crate::db::now()
    }
}

async fn sip_page(
    req: &HttpRequest,
    state: &AppState,
    user: crate::accounts::AuthUser,
    id: SipId,
    typed: Typed,
    errors: FormErrors,
    saved: &'static str,
) -> Result<SipPage, AppError> {
    let actor = Actor::User(user.clone());
    let settings = state.settings.clone();
    let (sip, overview) = state
        .db(move |conn| {
            let sip = store::find_for_caseworker(conn, &settings.keys, &actor, &id)?;
            let overview = store::overview(conn, &settings.keys, &actor, &sip)?;
            Ok((sip, overview))
        })
        .await?;
    Ok(SipPage {
        layout: Layout::new(req, Some(user)),
        sip,
        overview,
        typed,
        errors,
        saved,
    })
}

async fn get_sip(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<SavedQuery>,
) -> Result<HttpResponse, PageError> {
    let saved = match query.sparat.as_deref() {
        Some("samtycke") => "Samtycket är registrerat.",
        Some("aterkallat") => "Samtycket är återkallat. De som inte längre omfattas har fått besked om att de inte är med.",
        Some("deltagare") => "Deltagaren är tillagd.",
        Some("borttagen") => "Deltagaren är borttagen och har fått besked.",
        Some("mote") => "Mötet är bokat och inbjudningarna är skickade.",
        Some("installt") => "Mötet är inställt och alla har fått besked.",
        Some("uppfoljning") => "Uppföljningsmötet är bokat och inbjudningarna är skickade.",
        _ => "",
    };
    let page = sip_page(
        &req,
        &state,
        user,
        SipId(path.into_inner()),
        Typed::default(),
        FormErrors::default(),
        saved,
    )
    .await?;
    render(StatusCode::OK, &page)
}

/// After a change: back to the SIP's page with what was saved; with mistakes, the page again with
/// what was typed and the errors beside their fields.
async fn done_or_again(
    req: &HttpRequest,
    state: &AppState,
    user: crate::accounts::AuthUser,
    id: SipId,
    result: Result<(), AppError>,
    saved: &str,
    typed: Typed,
) -> Result<HttpResponse, PageError> {
    match result {
        Ok(()) => {
            state.mail_wake.notify_one();
            Ok(see_other(format!("/sip/{id}?sparat={saved}")))
        }
        Err(AppError::Invalid(errors)) => {
            let page = sip_page(req, state, user, id, typed, FormErrors(errors), "").await?;
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(AppError::Conflict(message)) => {
            let page = sip_page(
                req,
                state,
                user,
                id,
                typed,
                FormErrors(vec![FieldError::new("form", message)]),
                "",
            )
            .await?;
            render(StatusCode::CONFLICT, &page)
        }
        Err(e) => Err(e.into()),
    }
}

/// Runs one change to a SIP as its caseworker (404 for anyone else), then shows the outcome as
/// [`done_or_again`] does.
async fn change<F>(
    req: &HttpRequest,
    state: &AppState,
    user: crate::accounts::AuthUser,
    id: SipId,
    saved: &str,
    typed: Typed,
    change: F,
) -> Result<HttpResponse, PageError>
where
    F: FnOnce(
            &mut crate::db::AnyConnection,
            &Actor,
            &store::Sip,
            &crate::config::Settings,
        ) -> Result<(), AppError>
        + Send
        + 'static,
{
    let (actor, sip_id, settings) = (
        Actor::User(user.clone()),
        id.clone(),
        state.settings.clone(),
    );
    let result = state
        .db(move |conn| {
            let sip = store::find_for_caseworker(conn, &settings.keys, &actor, &sip_id)?;
            change(conn, &actor, &sip, &settings)
        })
        .await;
    done_or_again(req, state, user, id, result, saved, typed).await
}

async fn post_consent(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let id = SipId(path.into_inner());
    let input = ConsentInput {
        given_by: form_value(&pairs, "given_by").to_string(),
        relation: form_value(&pairs, "relation").to_string(),
        given_on: form_value(&pairs, "given_on").to_string(),
        valid_until: form_value(&pairs, "valid_until").to_string(),
        organisation_ids: pairs
            .iter()
            .filter(|(k, _)| k == "organisation_ids")
            .map(|(_, v)| v.clone())
            .collect(),
    };
    let sent = input.clone();
    let typed = Typed {
        consent: input,
        ..Default::default()
    };
    change(
        &req,
        &state,
        user,
        id,
        "samtycke",
        typed,
        move |conn, actor, sip, settings| {
            store::add_consent(conn, &settings.keys, actor, sip, &sent).map(|_| ())
        },
    )
    .await
}

async fn post_withdraw(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    _form: CsrfForm<crate::web::csrf::NoFields>,
) -> Result<HttpResponse, PageError> {
    let (id, cid) = path.into_inner();
    change(
        &req,
        &state,
        user,
        SipId(id),
        "aterkallat",
        Typed::default(),
        move |conn, actor, sip, settings| {
            store::withdraw_consent(conn, actor, sip, &ConsentId(cid), settings).map(|_| ())
        },
    )
    .await
}

#[derive(Deserialize)]
struct ParticipantForm {
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    required: String,
}

async fn post_participant(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<ParticipantForm>,
) -> Result<HttpResponse, PageError> {
    let id = SipId(path.into_inner());
    let input = ParticipantInput {
        user_id: Some(form.user_id).filter(|u| !u.is_empty()),
        name: form.name,
        email: form.email,
        required: Some(form.required != "no"),
    };
    let sent = input.clone();
    let typed = Typed {
        participant: input,
        ..Default::default()
    };
    change(
        &req,
        &state,
        user,
        id,
        "deltagare",
        typed,
        move |conn, actor, sip, settings| {
            store::add_participant(conn, actor, sip, &sent, settings).map(|_| ())
        },
    )
    .await
}

async fn post_remove(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    _form: CsrfForm<crate::web::csrf::NoFields>,
) -> Result<HttpResponse, PageError> {
    let (id, pid) = path.into_inner();
    change(
        &req,
        &state,
        user,
        SipId(id),
        "borttagen",
        Typed::default(),
        move |conn, actor, sip, settings| {
            store::remove_participant(conn, actor, sip, &ParticipantId(pid), settings)
        },
    )
    .await
}

#[derive(Deserialize)]
struct MeetingForm {
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    minutes: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    video_url: String,
}

async fn post_meeting(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<MeetingForm>,
) -> Result<HttpResponse, PageError> {
    let id = SipId(path.into_inner());
    let input = MeetingInput {
        starts_at: form.starts_at,
        minutes: form.minutes.trim().parse().ok(),
        place: form.place,
        video_url: form.video_url,
    };
    let sent = input.clone();
    let typed = Typed {
        meeting: input,
        ..Default::default()
    };
    change(
        &req,
        &state,
        user,
        id,
        "mote",
        typed,
        move |conn, actor, sip, settings| {
            store::schedule_meeting(conn, actor, sip, &sent, settings).map(|_| ())
        },
    )
    .await
}

async fn post_cancel(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    _form: CsrfForm<crate::web::csrf::NoFields>,
) -> Result<HttpResponse, PageError> {
    let (id, mid) = path.into_inner();
    change(
        &req,
        &state,
        user,
        SipId(id),
        "installt",
        Typed::default(),
        move |conn, actor, sip, settings| {
            let (of, _) = store::meeting_for_caseworker(
                conn,
                &settings.keys,
                actor,
                &MeetingId(mid.clone()),
            )?;
            if of.id != sip.id {
                return Err(AppError::NotFound);
            }
            store::cancel(conn, actor, &MeetingId(mid), settings)
        },
    )
    .await
}

// ---- the plan ----

use crate::sip::model::{MeasureInput, PlanInput};
use crate::sip::store::Plan;

/// Rows shown in the plan form: what was typed, and empty rows to fill in.
const GOAL_ROWS: usize = 3;
const MEASURE_ROWS: usize = 4;

#[derive(Template)]
#[template(path = "sip/plan_form.html")]
struct PlanFormPage {
    layout: Layout,
    sip: store::Sip,
    meeting: Meeting,
    when: String,
    form: PlanInput,
    organisations: Vec<(crate::accounts::OrganisationId, String)>,
    principals: &'static [crate::accounts::Principal],
    errors: FormErrors,
}

impl PlanFormPage {
    fn org_selected(&self, row: &MeasureInput, org: &str) -> bool {
        row.organisation_id == org
    }
}

fn padded(mut form: PlanInput) -> PlanInput {
    while form.goals.len() < GOAL_ROWS {
        form.goals.push(String::new());
    }
    while form.measures.len() < MEASURE_ROWS {
        form.measures.push(MeasureInput::default());
    }
    form
}

async fn plan_form_page(
    req: &HttpRequest,
    state: &AppState,
    user: crate::accounts::AuthUser,
    sip_id: SipId,
    meeting_id: MeetingId,
    form: Option<PlanInput>,
    errors: FormErrors,
) -> Result<PlanFormPage, AppError> {
    let actor = Actor::User(user.clone());
    let settings = state.settings.clone();
    let (sip, meeting, latest, organisations) = state
        .db(move |conn| {
            let (sip, meeting) =
                store::meeting_for_caseworker(conn, &settings.keys, &actor, &meeting_id)?;
            if sip.id != sip_id {
                return Err(AppError::NotFound);
            }
            if meeting.cancelled_at.is_some() {
                return Err(AppError::Conflict(
                    "Mötet är inställt; skriv planen efter ett möte som hölls.".into(),
                ));
            }
            let latest = store::plans_of(conn, &settings.keys, &sip.id)?
                .into_iter()
                .next();
            let organisations = store::organisation_labels(conn)?;
            Ok((sip, meeting, latest, organisations))
        })
        .await?;
    // A new version starts from the latest one.
    let form = form.unwrap_or_else(|| match latest {
        Some(p) => PlanInput {
            needs: p.needs,
            goals: p.goals,
            measures: p.measures,
            lead_organisation_id: p.lead_organisation_id,
            follow_up_on: String::new(),
        },
        None => PlanInput {
            lead_organisation_id: sip.calling_organisation_id.0.clone(),
            ..Default::default()
        },
    });
    Ok(PlanFormPage {
        layout: Layout::new(req, Some(user)),
        when: swedish_time(meeting.starts_at, meeting.minutes),
        sip,
        meeting,
        form: padded(form),
        organisations,
        principals: crate::accounts::Principal::ALL,
        errors,
    })
}

async fn get_plan_form(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (id, mid) = path.into_inner();
    let page = plan_form_page(
        &req,
        &state,
        user,
        SipId(id),
        MeetingId(mid),
        None,
        FormErrors::default(),
    )
    .await?;
    render(StatusCode::OK, &page)
}

/// Reads the plan form's rows (`goals[1]`, `measures[2].principal`, ...) in one pass.
fn plan_from(pairs: &[(String, String)]) -> PlanInput {
    use std::collections::BTreeMap;
    const MAX_ROWS: usize = 50;
    let mut form = PlanInput::default();
    let mut goals: BTreeMap<usize, String> = BTreeMap::new();
    let mut measures: BTreeMap<usize, MeasureInput> = BTreeMap::new();
    for (key, value) in pairs {
        match key.as_str() {
            "needs" => form.needs = value.clone(),
            "lead_organisation_id" => form.lead_organisation_id = value.clone(),
            "follow_up_on" => form.follow_up_on = value.clone(),
            other => {
                let goal = other
                    .strip_prefix("goals[")
                    .and_then(|r| r.strip_suffix(']'))
                    .and_then(|i| i.parse::<usize>().ok());
                if let Some(i) = goal.filter(|i| *i < MAX_ROWS) {
                    goals.insert(i, value.clone());
                } else if let Some(("measures", i, field)) = crate::reports::form::row_key(other) {
                    if i < MAX_ROWS {
                        let m = measures.entry(i).or_default();
                        match field {
                            "description" => m.description = value.clone(),
                            "organisation_id" => m.organisation_id = value.clone(),
                            "principal" => m.principal = value.clone(),
                            _ => {}
                        }
                    }
                }
            }
        }
    }
    form.goals = goals.into_values().collect();
    form.measures = measures.into_values().collect();
    form
}

async fn post_plan(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let (id, mid) = path.into_inner();
    let form = plan_from(&pairs);
    let (actor, meeting, sent) = (
        Actor::User(user.clone()),
        MeetingId(mid.clone()),
        form.clone(),
    );
    let settings = state.settings.clone();
    match state
        .db(move |conn| store::record_plan(conn, &settings.keys, &actor, &meeting, &sent))
        .await
    {
        Ok(_) => Ok(see_other(format!("/sip/{id}/plan?sparat=1"))),
        Err(AppError::Invalid(errors)) => {
            let page = plan_form_page(
                &req,
                &state,
                user,
                SipId(id),
                MeetingId(mid),
                Some(form),
                FormErrors(errors),
            )
            .await?;
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "sip/plan.html")]
struct PlanPage {
    layout: Layout,
    /// Where "back" leads: the caseworker's SIP page, or the partner's meetings.
    back: String,
    sip: store::Sip,
    plan: Option<Plan>,
    versions: Vec<(i32, String)>,
    organisations: Vec<(crate::accounts::OrganisationId, String)>,
    saved: bool,
}

impl PlanPage {
    fn org(&self, id: &str) -> String {
        self.organisations
            .iter()
            .find(|(o, _)| o.as_str() == id)
            .map_or_else(|| id.to_string(), |(_, n)| n.clone())
    }
    fn principal(&self, code: &str) -> &'static str {
        code.parse::<crate::accounts::Principal>()
            .map_or("", |p| p.label())
    }
}

#[derive(Deserialize)]
struct PlanQuery {
    version: Option<i32>,
    sparat: Option<String>,
}

async fn get_plan(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<PlanQuery>,
) -> Result<HttpResponse, PageError> {
    let id = SipId(path.into_inner());
    let actor = Actor::User(user.clone());
    let settings = state.settings.clone();
    let (sip, plans, organisations) = state
        .db(move |conn| {
            let sip = store::find_for_caseworker(conn, &settings.keys, &actor, &id)?;
            let plans = store::plans_of(conn, &settings.keys, &sip.id)?;
            store::record(conn, &actor, "sip.plan_read", "sip", sip.id.as_str(), "")?;
            Ok((sip, plans, store::organisation_labels(conn)?))
        })
        .await?;
    let versions = plans
        .iter()
        .map(|p| (p.version, crate::web::local_time(&p.recorded_at)))
        .collect();
    let plan = match query.version {
        Some(v) => Some(
            plans
                .into_iter()
                .find(|p| p.version == v)
                .ok_or(AppError::NotFound)?,
        ),
        None => plans.into_iter().next(),
    };
    render(
        StatusCode::OK,
        &PlanPage {
            layout: Layout::new(&req, Some(user)),
            back: format!("/sip/{}", sip.id),
            sip,
            plan,
            versions,
            organisations,
            saved: query.sparat.is_some(),
        },
    )
}

async fn post_follow_up(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    _form: CsrfForm<crate::web::csrf::NoFields>,
) -> Result<HttpResponse, PageError> {
    let id = SipId(path.into_inner());
    change(
        &req,
        &state,
        user,
        id,
        "uppfoljning",
        Typed::default(),
        |conn, actor, sip, settings| store::book_follow_up(conn, actor, sip, settings).map(|_| ()),
    )
    .await
}

/// "Mål 1", "Mål 2", ...
pub fn goal_label(n: impl std::fmt::Display) -> String {
    format!("Mål {n}")
}

// ---- partners: their meetings and the plan ----

#[derive(Template)]
#[template(path = "sip/mine.html")]
struct MyMeetingsPage {
    layout: Layout,
    sips: Vec<(store::Sip, Vec<MyMeeting>)>,
}

/// One upcoming meeting on a partner's page.
struct MyMeeting {
    when: String,
    place: String,
    answer: Answer,
    /// The partner's own answer link.
    link: String,
}

async fn get_my_meetings(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let actor = Actor::User(user.clone());
    let settings = state.settings.clone();
    let found = state
        .db(move |conn| store::sips_of_participant(conn, &settings.keys, &actor))
        .await?;
    let sips = found
        .into_iter()
        .map(|(sip, meetings)| {
            let rows = meetings
                .into_iter()
                .map(|(m, i)| {
                    let link = format!(
                        "/svar/{}",
                        store::rsvp_token(&state.settings, &m.id, &i.participant_id)
                    );
                    let place = crate::sip::invitations::place_line(&m);
                    MyMeeting {
                        when: swedish_time(m.starts_at, m.minutes),
                        place,
                        answer: i.status,
                        link,
                    }
                })
                .collect();
            (sip, rows)
        })
        .collect();
    render(
        StatusCode::OK,
        &MyMeetingsPage {
            layout: Layout::new(&req, Some(user)),
            sips,
        },
    )
}

async fn get_partner_plan(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = SipId(path.into_inner());
    let actor = Actor::User(user.clone());
    let settings = state.settings.clone();
    let (sip, plan, organisations) = state
        .db(move |conn| {
            let (sip, _) = store::sip_for_participant(conn, &settings.keys, &actor, &id)?;
            let plan = store::plans_of(conn, &settings.keys, &sip.id)?
                .into_iter()
                .next();
            Ok((sip, plan, store::organisation_labels(conn)?))
        })
        .await?;
    render(
        StatusCode::OK,
        &PlanPage {
            layout: Layout::new(&req, Some(user)),
            back: "/mina-moten".into(),
            sip,
            plan,
            versions: Vec::new(),
            organisations,
            saved: false,
        },
    )
}

// ---- finding a time ----

#[derive(Template)]
#[template(path = "sip/times.html")]
struct TimesPage {
    layout: Layout,
    sip: store::Sip,
    search: crate::sip::times::SearchInput,
    found: Option<crate::sip::times::Suggestions>,
    sent: SentBack,
}

/// A booking sent back to the page: what was typed and what was wrong.
#[derive(Default)]
struct SentBack {
    errors: FormErrors,
    place: String,
    video_url: String,
}

impl TimesPage {
    fn when(&self, slot: &crate::schedule::slots::Slot<usize>) -> String {
        swedish_time(slot.start, (slot.end - slot.start).num_minutes() as i32)
    }
    /// The local start, as the booking form reads it.
    fn value(&self, slot: &crate::schedule::slots::Slot<usize>) -> String {
        crate::reports::deadlines::local(slot.start)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }
    fn names(&self, ids: &[usize]) -> String {
        let found = self.found.as_ref();
        ids.iter()
            .filter_map(|i| {
                found
                    .and_then(|f| f.people.get(*i))
                    .map(|p| p.name.as_str())
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
    fn name(&self, id: &usize) -> String {
        self.names(std::slice::from_ref(id))
    }
    fn day(&self, d: &chrono::NaiveDate) -> String {
        crate::sip::model::swedish_date(*d)
    }
    fn nearest_link(&self, d: &chrono::NaiveDate) -> String {
        let s = self.found.as_ref().map(|f| &f.search);
        format!(
            "/sip/{}/tider?duration_minutes={}&buffer_minutes={}&from={d}&to={}",
            self.sip.id,
            s.map_or(60, |s| s.minutes),
            s.map_or(0, |s| s.buffer_minutes),
            *d + chrono::Duration::days(13)
        )
    }
}

/// Runs the search (when it can be read) and shows the page.
async fn times_page(
    req: &HttpRequest,
    state: &AppState,
    user: crate::accounts::AuthUser,
    id: SipId,
    search: crate::sip::times::SearchInput,
    mut sent: SentBack,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let (actor, settings, typed) = (
        Actor::User(user.clone()),
        state.settings.clone(),
        search.clone(),
    );
    let (sip, found) = state
        .db(move |conn| {
            let sip = store::find_for_caseworker(conn, &settings.keys, &actor, &id)?;
            let found = match crate::sip::times::search_for(conn, &sip, &typed) {
                Ok(s) => Ok(crate::sip::times::suggest(
                    conn, &actor, &sip, s, &settings,
                )?),
                Err(AppError::Invalid(e)) => Err(e),
                Err(e) => return Err(e),
            };
            Ok((sip, found))
        })
        .await?;
    let mut search = search;
    let (found, status) = match found {
        Ok(found) => {
            // Show the values searched with, defaults included.
            let s = &found.search;
            for (typed, used) in [
                (&mut search.duration_minutes, s.minutes.to_string()),
                (&mut search.from, s.from.to_string()),
                (&mut search.to, s.to.to_string()),
                (&mut search.buffer_minutes, s.buffer_minutes.to_string()),
            ] {
                if typed.trim().is_empty() {
                    *typed = used;
                }
            }
            (Some(found), status)
        }
        Err(search_errors) => {
            sent.errors.0.extend(search_errors);
            (None, StatusCode::UNPROCESSABLE_ENTITY)
        }
    };
    render(
        status,
        &TimesPage {
            layout: Layout::new(req, Some(user)),
            sip,
            search,
            found,
            sent,
        },
    )
}

async fn get_times(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<crate::sip::times::SearchInput>,
) -> Result<HttpResponse, PageError> {
    times_page(
        &req,
        &state,
        user,
        SipId(path.into_inner()),
        query.into_inner(),
        SentBack::default(),
        StatusCode::OK,
    )
    .await
}

/// One click on a suggested time: the busy times are checked again, then the meeting is booked
/// and the invitations go out as for any booking.
async fn post_book_time(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let id = SipId(path.into_inner());
    let value = |k: &str| crate::web::form_value(&pairs, k).to_string();
    let search = crate::sip::times::SearchInput {
        duration_minutes: value("duration_minutes"),
        from: value("from"),
        to: value("to"),
        buffer_minutes: value("buffer_minutes"),
    };
    let input = MeetingInput {
        starts_at: value("starts_at"),
        minutes: value("duration_minutes").trim().parse().ok(),
        place: value("place"),
        video_url: value("video_url"),
    };
    let (actor, sip_id, settings, sent) = (
        Actor::User(user.clone()),
        id.clone(),
        state.settings.clone(),
        input.clone(),
    );
    let result = state
        .db(move |conn| {
            let sip = store::find_for_caseworker(conn, &settings.keys, &actor, &sip_id)?;
            let valid = crate::sip::model::validate_meeting(&sent, crate::db::now())
                .map_err(AppError::Invalid)?;
            crate::sip::times::still_free(
                conn,
                &settings.keys,
                &sip,
                valid.starts_at,
                valid.minutes.into(),
            )?;
            store::schedule_meeting(conn, &actor, &sip, &sent, &settings).map(|_| ())
        })
        .await;
    let errors = match result {
        Ok(()) => {
            state.mail_wake.notify_one();
            return Ok(see_other(format!("/sip/{id}?sparat=mote")));
        }
        Err(AppError::Invalid(errors)) => errors,
        Err(AppError::Conflict(message)) => vec![FieldError::new("form", message)],
        Err(e) => return Err(e.into()),
    };
    let status = if errors.iter().any(|e| e.field == "form") {
        StatusCode::CONFLICT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    times_page(
        &req,
        &state,
        user,
        id,
        search,
        SentBack {
            errors: FormErrors(errors),
            place: input.place,
            video_url: input.video_url,
        },
        status,
    )
    .await
}
