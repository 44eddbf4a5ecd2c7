//! The journal API: a child's journal before the decision (through the report) and during the
//! investigation; signing and correcting an entry.

use actix_web::{web, HttpResponse};
use chrono::NaiveDateTime;
use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts::identity::ApiActor;
use crate::authz::Action;
use crate::error::ApiError;
use crate::journal::model::{EntryInput, EntryKind};
use crate::journal::store::{Entry, EntryId};
use crate::journal::{correct, entries, investigation_case, report_case, sign, write};
use crate::reports::store::{InvestigationId, ReportId};
use crate::web::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/investigations/{id}/journal",
        web::get().to(get_investigation_journal),
    )
    .route(
        "/investigations/{id}/journal",
        web::post().to(post_investigation_journal),
    )
    .route(
        "/reports/{id}/children/{child_id}/journal",
        web::get().to(get_report_journal),
    )
    .route(
        "/reports/{id}/children/{child_id}/journal",
        web::post().to(post_report_journal),
    )
    .route("/journal/{entry_id}/sign", web::post().to(post_sign))
    .route(
        "/journal/{entry_id}/corrections",
        web::post().to(post_correction),
    );
}

/// One journal entry.
#[derive(Serialize, ToSchema)]
pub struct EntryBody {
    pub id: String,
    pub report_id: String,
    pub child_id: String,
    /// Set when written during the investigation.
    pub investigation_id: Option<String>,
    /// e.g. `hembesok`.
    pub kind: String,
    /// e.g. `Hembesök`.
    pub kind_label: String,
    pub happened_at: NaiveDateTime,
    pub participants: String,
    pub text: String,
    pub author_name: String,
    pub author_title: String,
    pub written_at: NaiveDateTime,
    /// `null` while a draft; once set, the entry is locked.
    pub signed_at: Option<NaiveDateTime>,
    /// The entry this one corrects.
    pub corrects: Option<String>,
    /// The entries that correct this one (in a list; empty from `POST`).
    pub corrected_by: Vec<String>,
    /// Written after the investigation was closed: an efteranteckning (the page marks it so).
    pub after_closing: bool,
}

impl From<Entry> for EntryBody {
    fn from(e: Entry) -> Self {
        let kind_label = e
            .kind
            .parse::<EntryKind>()
            .map(|k| k.label().to_string())
            .unwrap_or_else(|_| e.kind.clone());
        EntryBody {
            id: e.id.0,
            report_id: e.report_id.0,
            child_id: e.child_id,
            investigation_id: e.investigation_id.map(|i| i.0),
            kind: e.kind,
            kind_label,
            happened_at: e.happened_at,
            participants: e.participants,
            text: e.text,
            author_name: e.author_name,
            author_title: e.author_title,
            written_at: e.written_at,
            signed_at: e.signed_at,
            corrects: e.corrects_id.map(|c| c.0),
            corrected_by: Vec::new(),
            after_closing: e.after_closing,
        }
    }
}

/// A child's journal, oldest first, each entry naming the entries that correct it.
#[derive(Serialize, ToSchema)]
pub struct JournalBody {
    pub entries: Vec<EntryBody>,
}

impl From<Vec<Entry>> for JournalBody {
    fn from(list: Vec<Entry>) -> Self {
        let corrections: Vec<(String, String)> = list
            .iter()
            .filter_map(|e| {
                e.corrects_id
                    .as_ref()
                    .map(|c| (c.0.clone(), e.id.0.clone()))
            })
            .collect();
        let entries = list
            .into_iter()
            .map(|e| {
                let mut body = EntryBody::from(e);
                body.corrected_by = corrections
                    .iter()
                    .filter(|(of, _)| *of == body.id)
                    .map(|(_, by)| by.clone())
                    .collect();
                body
            })
            .collect();
        JournalBody { entries }
    }
}

/// `GET /api/v1/investigations/{id}/journal`: the journal of the investigated child, including
/// what was written during the förhandsbedömning. Intake officers and caseworkers of the
/// municipality; everyone else 404 (audited).
#[utoipa::path(get, path = "/api/v1/investigations/{id}/journal", tag = "journal",
    params(("id" = String, Path, description = "Investigation id")),
    responses(
        (status = 200, body = JournalBody),
        (status = 404, body = crate::error::ErrorResponse),
    ),
    security(("bearer" = [])))]
pub async fn get_investigation_journal(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = InvestigationId(path.into_inner());
    let list = state
        .db_with_settings(move |conn, settings| {
            let case = investigation_case(conn, settings, &actor, &id, Action::View)?;
            entries(conn, settings, &actor, &case)
        })
        .await?;
    Ok(HttpResponse::Ok().json(JournalBody::from(list)))
}

/// `POST /api/v1/investigations/{id}/journal`: a caseworker of the municipality writes a draft.
/// In a closed investigation it is an efteranteckning (`after_closing`); nothing else of a closed
/// investigation changes.
#[utoipa::path(post, path = "/api/v1/investigations/{id}/journal", tag = "journal",
    params(("id" = String, Path, description = "Investigation id")),
    request_body = EntryInput,
    responses(
        (status = 201, description = "Written as a draft", body = EntryBody),
        (status = 403, description = "Not a caseworker", body = crate::error::ErrorResponse),
        (status = 404, body = crate::error::ErrorResponse),
        (status = 422, body = crate::error::ErrorResponse),
    ),
    security(("bearer" = [])))]
pub async fn post_investigation_journal(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<EntryInput>,
) -> Result<HttpResponse, ApiError> {
    let id = InvestigationId(path.into_inner());
    let input = body.into_inner();
    let entry = state
        .db_with_settings(move |conn, settings| {
            let case = investigation_case(conn, settings, &actor, &id, Action::Create)?;
            write(conn, settings, &actor, &case, &input)
        })
        .await?;
    Ok(HttpResponse::Created().json(EntryBody::from(entry)))
}

/// `GET /api/v1/reports/{id}/children/{child_id}/journal`: the journal of one child of a report
/// (the same journal as the child's investigation's, once there is one).
#[utoipa::path(get, path = "/api/v1/reports/{id}/children/{child_id}/journal", tag = "journal",
    params(
        ("id" = String, Path, description = "Report id"),
        ("child_id" = String, Path, description = "The child's id in the report"),
    ),
    responses(
        (status = 200, body = JournalBody),
        (status = 404, body = crate::error::ErrorResponse),
    ),
    security(("bearer" = [])))]
pub async fn get_report_journal(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, child_id) = path.into_inner();
    let id = ReportId(id);
    let list = state
        .db_with_settings(move |conn, settings| {
            let case = report_case(conn, settings, &actor, &id, &child_id, Action::View)?;
            entries(conn, settings, &actor, &case)
        })
        .await?;
    Ok(HttpResponse::Ok().json(JournalBody::from(list)))
}

/// `POST /api/v1/reports/{id}/children/{child_id}/journal`: an intake officer writes a draft
/// during the förhandsbedömning; once the child is decided, 409.
#[utoipa::path(post, path = "/api/v1/reports/{id}/children/{child_id}/journal", tag = "journal",
    params(
        ("id" = String, Path, description = "Report id"),
        ("child_id" = String, Path, description = "The child's id in the report"),
    ),
    request_body = EntryInput,
    responses(
        (status = 201, description = "Written as a draft", body = EntryBody),
        (status = 403, description = "Not an intake officer", body = crate::error::ErrorResponse),
        (status = 404, body = crate::error::ErrorResponse),
        (status = 409, description = "The child is decided: write in the investigation's journal", body = crate::error::ErrorResponse),
        (status = 422, body = crate::error::ErrorResponse),
    ),
    security(("bearer" = [])))]
pub async fn post_report_journal(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Json<EntryInput>,
) -> Result<HttpResponse, ApiError> {
    let (id, child_id) = path.into_inner();
    let id = ReportId(id);
    let input = body.into_inner();
    let entry = state
        .db_with_settings(move |conn, settings| {
            let case = report_case(conn, settings, &actor, &id, &child_id, Action::Create)?;
            write(conn, settings, &actor, &case, &input)
        })
        .await?;
    Ok(HttpResponse::Created().json(EntryBody::from(entry)))
}

/// `POST /api/v1/journal/{entry_id}/sign`: the author signs a draft; from then on it is locked.
#[utoipa::path(post, path = "/api/v1/journal/{entry_id}/sign", tag = "journal",
    params(("entry_id" = String, Path, description = "Journal entry id")),
    responses(
        (status = 200, description = "Signed", body = EntryBody),
        (status = 403, description = "Not the author", body = crate::error::ErrorResponse),
        (status = 404, body = crate::error::ErrorResponse),
        (status = 409, description = "Already signed", body = crate::error::ErrorResponse),
    ),
    security(("bearer" = [])))]
pub async fn post_sign(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = EntryId(path.into_inner());
    let entry = state
        .db_with_settings(move |conn, settings| sign(conn, settings, &actor, &id))
        .await?;
    Ok(HttpResponse::Ok().json(EntryBody::from(entry)))
}

/// `POST /api/v1/journal/{entry_id}/corrections`: a new draft entry that corrects this one (which
/// stays as it is); by whoever may write in the case now.
#[utoipa::path(post, path = "/api/v1/journal/{entry_id}/corrections", tag = "journal",
    params(("entry_id" = String, Path, description = "The journal entry corrected")),
    request_body = EntryInput,
    responses(
        (status = 201, description = "The correction, as a draft", body = EntryBody),
        (status = 403, body = crate::error::ErrorResponse),
        (status = 404, body = crate::error::ErrorResponse),
        (status = 422, body = crate::error::ErrorResponse),
    ),
    security(("bearer" = [])))]
pub async fn post_correction(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<EntryInput>,
) -> Result<HttpResponse, ApiError> {
    let id = EntryId(path.into_inner());
    let input = body.into_inner();
    let entry = state
        .db_with_settings(move |conn, settings| correct(conn, settings, &actor, &id, &input))
        .await?;
    Ok(HttpResponse::Created().json(EntryBody::from(entry)))
}
