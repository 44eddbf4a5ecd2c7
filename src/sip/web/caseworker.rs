//! The caseworker's pages: the list of the municipality's SIPs, and a SIP's page with its
//! consents, participants and meetings, where each form posts and comes back.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::accounts::identity::{CurrentActor, Layout};
use crate::authz::Actor;
use crate::config::Settings;
use crate::db::{now, AnyConnection};
use crate::error::{AppError, FieldError, PageError};
use crate::ids::OrganisationId;
use crate::sip;
use crate::sip::model::{swedish_time, ConsentInput, MeetingInput, ParticipantInput, SipInput};
use crate::sip::store::views::{SipOverview, SipSummary};
use crate::sip::store::{ConsentId, Meeting, MeetingId, ParticipantId, Sip, SipId};
use crate::time;
use crate::web::csrf::{CsrfForm, NoFields};
use crate::web::{form_value, render, see_other, AppState, FormErrors, Saved, SavedOn, SavedQuery};

mod participants;

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/sip", web::get().to(get_list))
        .route("/sip", web::post().to(post_new))
        .route("/sip/{id}", web::get().to(get_sip))
        .route("/sip/{id}/samtycke", web::post().to(post_consent))
        .route(
            "/sip/{id}/samtycke/{cid}/aterkalla",
            web::post().to(post_withdraw),
        )
        .route(
            "/sip/{id}/deltagare",
            web::post().to(participants::post_participant),
        )
        .route(
            "/sip/{id}/deltagare/{pid}/ta-bort",
            web::post().to(participants::post_remove),
        )
        .route("/sip/{id}/moten", web::post().to(post_meeting))
        .route(
            "/sip/{id}/moten/{mid}/installa",
            web::post().to(post_cancel),
        )
        .route("/sip/{id}/uppfoljning", web::post().to(post_follow_up));
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
    CurrentActor { user, actor }: CurrentActor,
    form: SipInput,
    errors: FormErrors,
) -> Result<ListPage, AppError> {
    let sips = state
        .db_with_settings(move |conn, settings| {
            sip::list_for_caseworker(conn, &settings.keys, &actor)
        })
        .await?;
    Ok(ListPage {
        layout: Layout::new(req, Some(user)),
        sips,
        today: time::local(now()).date(),
        form,
        errors,
    })
}

async fn get_list(
    req: HttpRequest,
    current: CurrentActor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let page = list_page(
        &req,
        &state,
        current,
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
    current: CurrentActor,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<NewSipForm>,
) -> Result<HttpResponse, PageError> {
    let input = SipInput {
        child_name: form.child_name,
        child_personal_number: form.child_personal_number,
        report_id: Some(form.report_id).filter(|r| !r.is_empty()),
    };
    let (actor, sent) = (current.actor.clone(), input.clone());
    match state
        .db_with_settings(move |conn, settings| {
            sip::create_sip(conn, &settings.keys, &actor, &sent)
        })
        .await
    {
        Ok(sip) => Ok(see_other(format!("/sip/{}", sip.id))),
        Err(AppError::Invalid(errors)) => {
            let page = list_page(&req, &state, current, input, FormErrors(errors)).await?;
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
    sip: Sip,
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
            || !c.outside_organisations.is_empty()
            || [
                "given_by",
                "relation",
                "given_on",
                "valid_until",
                "organisation_ids",
                "outside_organisations",
            ]
            .iter()
            .any(|f| self.errors.get(f).is_some())
    }
    /// An organisation's label ([`views::organisation_labels`]).
    fn organisation(&self, id: &OrganisationId) -> String {
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
    /// The outside organisations typed into the consent form, one a line.
    fn outside_typed(&self) -> String {
        self.typed.consent.outside_organisations.join("\n")
    }
    /// Whether `value` of the participant form's choice `covered_as` was the one chosen.
    fn covered_as_is(&self, value: &str) -> bool {
        let p = &self.typed.participant;
        let chosen = if let Some(relation) = p.relation.as_deref() {
            relation.to_string()
        } else if let Some(org) = p.organisation_id.as_deref() {
            format!("org:{org}")
        } else if p.outside_organisation.is_some() {
            "outside".to_string()
        } else {
            String::new()
        };
        chosen == value
    }
    fn outside_participant_typed(&self) -> &str {
        self.typed
            .participant
            .outside_organisation
            .as_deref()
            .unwrap_or_default()
    }
    /// How a participant is covered, in a few words for the list.
    fn participant_as(&self, p: &sip::store::Participant) -> String {
        match (&p.relation, &p.outside_organisation, &p.organisation_id) {
            (Some(relation), _, _) => relation.label().to_lowercase(),
            (_, Some(outside), _) => format!("{outside} (utomstående)"),
            (_, _, Some(org)) => self.organisation(org),
            _ => String::new(),
        }
    }
    fn is_uncovered(&self, p: &sip::store::Participant) -> bool {
        self.overview.uncovered.contains(&p.id)
    }
    fn minutes_text(&self) -> String {
        self.typed
            .meeting
            .minutes
            .map_or_else(|| "60".into(), |m| m.to_string())
    }
    fn upcoming(&self, m: &Meeting) -> bool {
        m.cancelled_at.is_none() && m.starts_at > now()
    }
}

async fn sip_page(
    req: &HttpRequest,
    state: &AppState,
    CurrentActor { user, actor }: CurrentActor,
    id: SipId,
    typed: Typed,
    errors: FormErrors,
    saved: &'static str,
) -> Result<SipPage, AppError> {
    let (sip, overview) = state
        .db_with_settings(move |conn, settings| {
            let sip = sip::find_for_caseworker(conn, &settings.keys, &actor, &id)?;
            let overview = sip::overview(conn, &settings.keys, &actor, &sip)?;
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
    current: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<SavedQuery>,
) -> Result<HttpResponse, PageError> {
    let saved = Saved::message_on(SavedOn::Sip, &query);
    let page = sip_page(
        &req,
        &state,
        current,
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
    current: CurrentActor,
    id: SipId,
    result: Result<(), AppError>,
    saved: Saved,
    typed: Typed,
) -> Result<HttpResponse, PageError> {
    match result {
        Ok(()) => {
            state.mail_wake.notify_one();
            Ok(see_other(format!("/sip/{id}?sparat={}", saved.word())))
        }
        Err(AppError::Invalid(errors)) => {
            let page = sip_page(req, state, current, id, typed, FormErrors(errors), "").await?;
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(AppError::Conflict(message)) => {
            let page = sip_page(
                req,
                state,
                current,
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
    current: CurrentActor,
    id: SipId,
    saved: Saved,
    typed: Typed,
    change: F,
) -> Result<HttpResponse, PageError>
where
    F: FnOnce(&mut AnyConnection, &Settings, &Actor, &Sip) -> Result<(), AppError> + Send + 'static,
{
    let (actor, sip_id) = (current.actor.clone(), id.clone());
    let result = state
        .db_with_settings(move |conn, settings| {
            let sip = sip::find_for_caseworker(conn, &settings.keys, &actor, &sip_id)?;
            change(conn, settings, &actor, &sip)
        })
        .await;
    done_or_again(req, state, current, id, result, saved, typed).await
}

async fn post_consent(
    req: HttpRequest,
    current: CurrentActor,
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
        // One outside organisation a line.
        outside_organisations: form_value(&pairs, "outside_organisations")
            .lines()
            .map(str::to_string)
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
        current,
        id,
        Saved::Consent,
        typed,
        move |conn, settings, actor, sip| {
            sip::add_consent(conn, &settings.keys, actor, sip, &sent).map(|_| ())
        },
    )
    .await
}

async fn post_withdraw(
    req: HttpRequest,
    current: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, PageError> {
    let (id, cid) = path.into_inner();
    change(
        &req,
        &state,
        current,
        SipId(id),
        Saved::ConsentWithdrawn,
        Typed::default(),
        move |conn, settings, actor, sip| {
            sip::withdraw_consent(conn, settings, actor, sip, &ConsentId(cid)).map(|_| ())
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
    current: CurrentActor,
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
        current,
        id,
        Saved::MeetingBooked,
        typed,
        move |conn, settings, actor, sip| {
            sip::schedule_meeting(conn, settings, actor, sip, &sent).map(|_| ())
        },
    )
    .await
}

async fn post_cancel(
    req: HttpRequest,
    current: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, PageError> {
    let (id, mid) = path.into_inner();
    change(
        &req,
        &state,
        current,
        SipId(id),
        Saved::MeetingCancelled,
        Typed::default(),
        move |conn, settings, actor, sip| {
            let (of, _) =
                sip::meeting_for_caseworker(conn, &settings.keys, actor, &MeetingId(mid.clone()))?;
            if of.id != sip.id {
                return Err(AppError::NotFound);
            }
            sip::cancel(conn, settings, actor, &MeetingId(mid))
        },
    )
    .await
}

async fn post_follow_up(
    req: HttpRequest,
    current: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, PageError> {
    let id = SipId(path.into_inner());
    change(
        &req,
        &state,
        current,
        id,
        Saved::FollowUpBooked,
        Typed::default(),
        |conn, settings, actor, sip| sip::book_follow_up(conn, settings, actor, sip).map(|_| ()),
    )
    .await
}
