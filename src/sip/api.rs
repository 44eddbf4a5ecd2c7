//! The SIP API: start a SIP, record and withdraw consent, add and remove participants, book,
//! move and cancel meetings, and read each participant's answer.

use actix_web::{web, HttpResponse};
use chrono::NaiveDateTime;
use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts::identity::ApiActor;
use crate::audit::event::{Event, Object};
use crate::error::ApiError;
use crate::sip;
use crate::sip::model::{Answer, ConsentInput, MeetingInput, ParticipantInput, SipInput};
use crate::sip::store::answers::active_invitees;
use crate::sip::store::{self, ConsentId, MeetingId, ParticipantId, SipId};
use crate::web::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/sips", web::post().to(post_sip))
        .route("/sips/{id}/consents", web::post().to(post_consent))
        .route(
            "/sips/{id}/consents/{cid}/withdraw",
            web::post().to(post_withdraw_consent),
        )
        .route("/sips/{id}/participants", web::post().to(post_participant))
        .route(
            "/sips/{id}/participants/{pid}/remove",
            web::post().to(post_remove_participant),
        )
        .route("/sips/{id}/meetings", web::post().to(post_meeting))
        .route("/meetings/{id}", web::get().to(get_meeting))
        .route("/meetings/{id}", web::patch().to(patch_meeting))
        .route("/meetings/{id}/cancel", web::post().to(post_cancel_meeting))
        .route("/meetings/{id}/plan", web::put().to(put_plan))
        .route("/sips/{id}/plans", web::get().to(get_plans))
        .route("/sips/{id}/slots", web::get().to(get_slots))
        .route(
            "/inbound/mail",
            web::post().to(crate::sip::inbound::post_inbound_mail),
        );
}

#[derive(Serialize, ToSchema)]
pub struct SipBody {
    pub id: String,
    /// The neutral reference used in every message, e.g. `SIP-4KX9`.
    pub reference: String,
}

/// `POST /api/v1/sips` (caseworker)
#[utoipa::path(post, path = "/api/v1/sips", tag = "sip", request_body = SipInput,
    responses((status = 201, body = SipBody), (status = 422, body = crate::error::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn post_sip(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    body: web::Json<SipInput>,
) -> Result<HttpResponse, ApiError> {
    let sip = state
        .db_with_settings(move |conn, settings| {
            sip::create_sip(conn, &settings.keys, &actor, &body)
        })
        .await?;
    Ok(HttpResponse::Created().json(SipBody {
        id: sip.id.0,
        reference: sip.reference,
    }))
}

/// `POST /api/v1/sips/{id}/consents` (caseworker)
#[utoipa::path(post, path = "/api/v1/sips/{id}/consents", tag = "sip", request_body = ConsentInput,
    params(("id" = String, Path)),
    responses((status = 201, description = "Recorded"), (status = 404, body = crate::error::ErrorResponse),
              (status = 422, body = crate::error::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn post_consent(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<ConsentInput>,
) -> Result<HttpResponse, ApiError> {
    let id = SipId(path.into_inner());
    let consent = state
        .db_with_settings(move |conn, settings| {
            let sip = sip::find_for_caseworker(conn, &settings.keys, &actor, &id)?;
            sip::add_consent(conn, &settings.keys, &actor, &sip, &body)
        })
        .await?;
    Ok(HttpResponse::Created().json(consent))
}

#[derive(Serialize, ToSchema)]
pub struct WithdrawnBody {
    /// How many participants lost access and were sent a cancellation.
    pub removed_participants: usize,
}

/// `POST /api/v1/sips/{id}/consents/{cid}/withdraw` (caseworker)
#[utoipa::path(post, path = "/api/v1/sips/{id}/consents/{cid}/withdraw", tag = "sip",
    params(("id" = String, Path), ("cid" = String, Path)),
    responses((status = 200, body = WithdrawnBody), (status = 404, body = crate::error::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn post_withdraw_consent(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, cid) = path.into_inner();
    let removed = state
        .db_with_settings(move |conn, settings| {
            let sip = sip::find_for_caseworker(conn, &settings.keys, &actor, &SipId(id))?;
            sip::withdraw_consent(conn, settings, &actor, &sip, &ConsentId(cid))
        })
        .await?;
    state.mail_wake.notify_one();
    Ok(HttpResponse::Ok().json(WithdrawnBody {
        removed_participants: removed,
    }))
}

/// `POST /api/v1/sips/{id}/participants` (caseworker)
#[utoipa::path(post, path = "/api/v1/sips/{id}/participants", tag = "sip", request_body = ParticipantInput,
    params(("id" = String, Path)),
    responses((status = 201, description = "Added, and invited to upcoming meetings"),
              (status = 422, description = "Invalid, or not covered by consent", body = crate::error::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn post_participant(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<ParticipantInput>,
) -> Result<HttpResponse, ApiError> {
    let id = SipId(path.into_inner());
    let participant = state
        .db_with_settings(move |conn, settings| {
            let sip = sip::find_for_caseworker(conn, &settings.keys, &actor, &id)?;
            sip::add_participant(conn, settings, &actor, &sip, &body)
        })
        .await?;
    state.mail_wake.notify_one();
    Ok(HttpResponse::Created().json(participant))
}

/// `POST /api/v1/sips/{id}/participants/{pid}/remove` (caseworker)
#[utoipa::path(post, path = "/api/v1/sips/{id}/participants/{pid}/remove", tag = "sip",
    params(("id" = String, Path), ("pid" = String, Path)),
    responses((status = 204, description = "Removed: a cancellation to them, an update to the rest"),
              (status = 404, body = crate::error::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn post_remove_participant(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, pid) = path.into_inner();
    state
        .db_with_settings(move |conn, settings| {
            let sip = sip::find_for_caseworker(conn, &settings.keys, &actor, &SipId(id))?;
            sip::remove_participant(conn, settings, &actor, &sip, &ParticipantId(pid))
        })
        .await?;
    state.mail_wake.notify_one();
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, ToSchema)]
pub struct InviteeBody {
    pub participant_id: String,
    pub name: String,
    pub email: String,
    pub required: bool,
    /// `needs_action`, `accepted`, `tentative` or `declined`.
    pub status: Answer,
    pub status_changed_at: Option<NaiveDateTime>,
}

#[derive(Serialize, ToSchema)]
pub struct MeetingBody {
    pub id: String,
    pub uid: String,
    pub sequence: i32,
    pub starts_at: NaiveDateTime,
    pub minutes: i32,
    pub place: String,
    pub video_url: String,
    pub cancelled: bool,
    pub invitees: Vec<InviteeBody>,
}

fn meeting_body(
    meeting: store::Meeting,
    invitees: Vec<(store::Invitee, store::Participant)>,
) -> MeetingBody {
    MeetingBody {
        id: meeting.id.0,
        uid: meeting.uid,
        sequence: meeting.sequence,
        starts_at: meeting.starts_at,
        minutes: meeting.minutes,
        place: meeting.place,
        video_url: meeting.video_url,
        cancelled: meeting.cancelled_at.is_some(),
        invitees: invitees
            .into_iter()
            .map(|(i, p)| InviteeBody {
                participant_id: p.id.0,
                name: p.name,
                email: p.email,
                required: p.required,
                status: i.status,
                status_changed_at: i.status_changed_at,
            })
            .collect(),
    }
}

/// `POST /api/v1/sips/{id}/meetings` (caseworker): books a meeting and invites everyone.
#[utoipa::path(post, path = "/api/v1/sips/{id}/meetings", tag = "sip", request_body = MeetingInput,
    params(("id" = String, Path)),
    responses((status = 201, body = MeetingBody), (status = 409, description = "No valid consent", body = crate::error::ErrorResponse),
              (status = 422, body = crate::error::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn post_meeting(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<MeetingInput>,
) -> Result<HttpResponse, ApiError> {
    let id = SipId(path.into_inner());
    let body = state
        .db_with_settings(move |conn, settings| {
            let sip = sip::find_for_caseworker(conn, &settings.keys, &actor, &id)?;
            let meeting = sip::schedule_meeting(conn, settings, &actor, &sip, &body)?;
            let invitees = active_invitees(conn, &settings.keys, &meeting.id)?;
            Ok(meeting_body(meeting, invitees))
        })
        .await?;
    state.mail_wake.notify_one();
    Ok(HttpResponse::Created().json(body))
}

/// `GET /api/v1/meetings/{id}` (caseworker): the meeting with each participant's answer.
#[utoipa::path(get, path = "/api/v1/meetings/{id}", tag = "sip", params(("id" = String, Path)),
    responses((status = 200, body = MeetingBody), (status = 404, body = crate::error::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn get_meeting(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = MeetingId(path.into_inner());
    let body = state
        .db_with_settings(move |conn, settings| {
            let (_, meeting) = sip::meeting_for_caseworker(conn, &settings.keys, &actor, &id)?;
            let invitees = active_invitees(conn, &settings.keys, &meeting.id)?;
            Event::success(
                &actor.audit_actor(),
                "meeting.read",
                Object::Meeting(meeting.id.as_str()),
            )
            .record(conn)?;
            Ok(meeting_body(meeting, invitees))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `PATCH /api/v1/meetings/{id}` (caseworker): a new time or place; everyone gets an update.
#[utoipa::path(patch, path = "/api/v1/meetings/{id}", tag = "sip", request_body = MeetingInput,
    params(("id" = String, Path)),
    responses((status = 200, body = MeetingBody), (status = 404, body = crate::error::ErrorResponse),
              (status = 422, body = crate::error::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn patch_meeting(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<MeetingInput>,
) -> Result<HttpResponse, ApiError> {
    let id = MeetingId(path.into_inner());
    let body = state
        .db_with_settings(move |conn, settings| {
            let meeting = sip::reschedule(conn, settings, &actor, &id, &body)?;
            let invitees = active_invitees(conn, &settings.keys, &meeting.id)?;
            Ok(meeting_body(meeting, invitees))
        })
        .await?;
    state.mail_wake.notify_one();
    Ok(HttpResponse::Ok().json(body))
}

/// `POST /api/v1/meetings/{id}/cancel` (caseworker): a cancellation to everyone.
#[utoipa::path(post, path = "/api/v1/meetings/{id}/cancel", tag = "sip", params(("id" = String, Path)),
    responses((status = 204, description = "Cancelled"), (status = 404, body = crate::error::ErrorResponse),
              (status = 409, body = crate::error::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn post_cancel_meeting(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = MeetingId(path.into_inner());
    state
        .db_with_settings(move |conn, settings| sip::cancel(conn, settings, &actor, &id))
        .await?;
    state.mail_wake.notify_one();
    Ok(HttpResponse::NoContent().finish())
}

/// `PUT /api/v1/meetings/{id}/plan` (caseworker): the plan after this meeting, as a new version.
#[utoipa::path(put, path = "/api/v1/meetings/{id}/plan", tag = "sip", request_body = crate::sip::model::PlanInput,
    params(("id" = String, Path)),
    responses((status = 201, body = store::Plan), (status = 404, body = crate::error::ErrorResponse),
              (status = 422, body = crate::error::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn put_plan(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<crate::sip::model::PlanInput>,
) -> Result<HttpResponse, ApiError> {
    let id = MeetingId(path.into_inner());
    let plan = state
        .db_with_settings(move |conn, settings| {
            sip::record_plan(conn, &settings.keys, &actor, &id, &body)
        })
        .await?;
    Ok(HttpResponse::Created().json(plan))
}

/// `GET /api/v1/sips/{id}/plans` (caseworker): every version of the plan, newest first.
#[utoipa::path(get, path = "/api/v1/sips/{id}/plans", tag = "sip", params(("id" = String, Path)),
    responses((status = 200, body = Vec<store::Plan>), (status = 404, body = crate::error::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn get_plans(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = SipId(path.into_inner());
    let plans = state
        .db_with_settings(move |conn, settings| {
            let sip = sip::find_for_caseworker(conn, &settings.keys, &actor, &id)?;
            Event::success(
                &actor.audit_actor(),
                "sip.plan_read",
                Object::Sip(sip.id.as_str()),
            )
            .record(conn)?;
            store::plans::plans_of(conn, &settings.keys, &sip.id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(plans))
}

#[derive(Serialize, ToSchema)]
pub struct SlotBody {
    /// UTC.
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    /// Optional participants who are busy then.
    pub optional_busy: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BlockerBody {
    pub name: String,
    /// How many of the candidate times this person blocks.
    pub blocks: usize,
}

#[derive(Serialize, ToSchema)]
pub struct SlotsBody {
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    pub duration_minutes: i64,
    pub buffer_minutes: i64,
    /// Who was asked; `calendar.kind` is `unknown` (no account), `meetings_only` (no calendar
    /// added, only this service's meetings), `read`, or `stale` with Swedish notes per source.
    #[schema(value_type = Vec<Object>)]
    pub people: Vec<crate::sip::times::Who>,
    /// Best first: most optional participants free, then earliest. Empty when none fits.
    pub slots: Vec<SlotBody>,
    /// When nothing fits: required participants who block the most, first.
    pub blockers: Vec<BlockerBody>,
    /// When nothing fits: the first later day (within 90 days) on which a time exists.
    pub nearest_day: Option<chrono::NaiveDate>,
}

/// `GET /api/v1/sips/{id}/slots?duration_minutes=60&from=2026-12-01&to=2026-12-14&buffer_minutes=15`
/// (caseworker): times every required participant can make. Defaults: 60 minutes, from tomorrow
/// to the SIP's deadline or follow-up (at most three months), no buffer.
#[utoipa::path(get, path = "/api/v1/sips/{id}/slots", tag = "sip",
    params(("id" = String, Path),
           ("duration_minutes" = Option<i64>, Query), ("from" = Option<String>, Query, description = "YYYY-MM-DD"),
           ("to" = Option<String>, Query, description = "YYYY-MM-DD"), ("buffer_minutes" = Option<i64>, Query)),
    responses((status = 200, body = SlotsBody), (status = 404, body = crate::error::ErrorResponse),
              (status = 422, body = crate::error::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn get_slots(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<crate::sip::times::SearchInput>,
) -> Result<HttpResponse, ApiError> {
    let id = SipId(path.into_inner());
    let found = state
        .db_with_settings(move |conn, settings| {
            let sip = sip::find_for_caseworker(conn, &settings.keys, &actor, &id)?;
            let search = crate::sip::times::search_for(conn, &sip, &query)?;
            crate::sip::times::suggest(conn, settings, &actor, &sip, search)
        })
        .await?;
    let name = |i: &usize| found.people[*i].name.clone();
    let (slots, blockers, nearest_day) = match &found.outcome {
        Ok(slots) => (
            slots
                .iter()
                .map(|s| SlotBody {
                    start: s.start,
                    end: s.end,
                    optional_busy: s.optional_busy.iter().map(name).collect(),
                })
                .collect(),
            Vec::new(),
            None,
        ),
        Err(none) => (
            Vec::new(),
            none.blockers
                .iter()
                .map(|(i, n)| BlockerBody {
                    name: name(i),
                    blocks: *n,
                })
                .collect(),
            none.nearest_day,
        ),
    };
    Ok(HttpResponse::Ok().json(SlotsBody {
        from: found.search.from,
        to: found.search.to,
        duration_minutes: found.search.minutes,
        buffer_minutes: found.search.buffer_minutes,
        people: found.people.clone(),
        slots,
        blockers,
        nearest_day,
    }))
}
