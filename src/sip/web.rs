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
use crate::web::csrf::{token_for, CsrfForm};
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
        layout: Layout {
            user,
            csrf: token_for(req),
        },
        when: swedish_time(meeting.starts_at, meeting.minutes),
        place: if meeting.place.is_empty() {
            "Video".into()
        } else {
            meeting.place.clone()
        },
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
    let token = path.into_inner();
    let (meeting, invitee) = state
        .db(move |conn| store::find_by_token(conn, &token))
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
    let (meeting, invitee) = state
        .db(move |conn| {
            store::answer_by_token(conn, &token, answer)?;
            store::find_by_token(conn, &token)?.ok_or(AppError::NotFound)
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
use crate::web::FormErrors;
use actix_web::http::header;

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
        .route(
            "/sip/{id}/moten/{mid}/installa",
            web::post().to(post_cancel),
        );
}

fn layout(req: &HttpRequest, user: crate::accounts::AuthUser) -> Layout {
    Layout {
        user: Some(user),
        csrf: token_for(req),
    }
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
    let sips = state
        .db(move |conn| store::list_for_caseworker(conn, &actor))
        .await?;
    Ok(ListPage {
        layout: layout(req, user),
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
}

fn see_other(location: String) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
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
        report_id: None,
    };
    let (actor, sent) = (Actor::User(user.clone()), input.clone());
    match state
        .db(move |conn| store::create_sip(conn, &actor, &sent))
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
    let (sip, overview) = state
        .db(move |conn| {
            let sip = store::find_for_caseworker(conn, &actor, &id)?;
            let overview = store::overview(conn, &actor, &sip)?;
            Ok((sip, overview))
        })
        .await?;
    Ok(SipPage {
        layout: layout(req, user),
        sip,
        overview,
        typed,
        errors,
        saved,
    })
}

#[derive(Deserialize)]
struct SavedQuery {
    sparat: Option<String>,
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

fn value<'a>(pairs: &'a [(String, String)], key: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
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
        given_by: value(&pairs, "given_by"),
        relation: value(&pairs, "relation"),
        given_on: value(&pairs, "given_on"),
        valid_until: value(&pairs, "valid_until"),
        organisation_ids: pairs
            .iter()
            .filter(|(k, _)| k == "organisation_ids")
            .map(|(_, v)| v.clone())
            .collect(),
    };
    let (actor, sip_id, sent) = (Actor::User(user.clone()), id.clone(), input.clone());
    let result = state
        .db(move |conn| {
            let sip = store::find_for_caseworker(conn, &actor, &sip_id)?;
            store::add_consent(conn, &actor, &sip, &sent).map(|_| ())
        })
        .await;
    let typed = Typed {
        consent: input,
        ..Default::default()
    };
    done_or_again(&req, &state, user, id, result, "samtycke", typed).await
}

async fn post_withdraw(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    _form: CsrfForm<crate::web::csrf::NoFields>,
) -> Result<HttpResponse, PageError> {
    let (id, cid) = path.into_inner();
    let (actor, sip_id, settings) = (
        Actor::User(user.clone()),
        SipId(id.clone()),
        state.settings.clone(),
    );
    let result = state
        .db(move |conn| {
            let sip = store::find_for_caseworker(conn, &actor, &sip_id)?;
            store::withdraw_consent(conn, &actor, &sip, &ConsentId(cid), &settings).map(|_| ())
        })
        .await;
    done_or_again(
        &req,
        &state,
        user,
        SipId(id),
        result,
        "aterkallat",
        Typed::default(),
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
    let (actor, sip_id, sent, settings) = (
        Actor::User(user.clone()),
        id.clone(),
        input.clone(),
        state.settings.clone(),
    );
    let result = state
        .db(move |conn| {
            let sip = store::find_for_caseworker(conn, &actor, &sip_id)?;
            store::add_participant(conn, &actor, &sip, &sent, &settings).map(|_| ())
        })
        .await;
    let typed = Typed {
        participant: input,
        ..Default::default()
    };
    done_or_again(&req, &state, user, id, result, "deltagare", typed).await
}

async fn post_remove(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    _form: CsrfForm<crate::web::csrf::NoFields>,
) -> Result<HttpResponse, PageError> {
    let (id, pid) = path.into_inner();
    let (actor, sip_id, settings) = (
        Actor::User(user.clone()),
        SipId(id.clone()),
        state.settings.clone(),
    );
    let result = state
        .db(move |conn| {
            let sip = store::find_for_caseworker(conn, &actor, &sip_id)?;
            store::remove_participant(conn, &actor, &sip, &ParticipantId(pid), &settings)
        })
        .await;
    done_or_again(
        &req,
        &state,
        user,
        SipId(id),
        result,
        "borttagen",
        Typed::default(),
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
    let (actor, sip_id, sent, settings) = (
        Actor::User(user.clone()),
        id.clone(),
        input.clone(),
        state.settings.clone(),
    );
    let result = state
        .db(move |conn| {
            let sip = store::find_for_caseworker(conn, &actor, &sip_id)?;
            store::schedule_meeting(conn, &actor, &sip, &sent, &settings).map(|_| ())
        })
        .await;
    let typed = Typed {
        meeting: input,
        ..Default::default()
    };
    done_or_again(&req, &state, user, id, result, "mote", typed).await
}

async fn post_cancel(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    _form: CsrfForm<crate::web::csrf::NoFields>,
) -> Result<HttpResponse, PageError> {
    let (id, mid) = path.into_inner();
    let (actor, settings) = (Actor::User(user.clone()), state.settings.clone());
    let result = state
        .db(move |conn| store::cancel(conn, &actor, &MeetingId(mid), &settings))
        .await;
    done_or_again(
        &req,
        &state,
        user,
        SipId(id),
        result,
        "installt",
        Typed::default(),
    )
    .await
}
