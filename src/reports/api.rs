//! The reports API: filing (with a reporter's token, or none for a private person), reading,
//! the intake queue, and the officer's records.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::identity::{ApiActor, MaybeApiActor};
use crate::authz::{Action, Actor};
use crate::error::{ApiError, AppError};
use crate::reports::deadlines;
use crate::reports::model::{Category, ClosingInput, ReportInput};
use crate::reports::store::{
    self, DecisionInput, ExtensionEntry, ExtensionInput, OwnReport, ReportId, SiblingInput,
};
use crate::reports::{
    access, add_sibling, assess_safety, close_investigation, decide, extend, file_report,
    intake_queue_for, investigation, investigations_for, View,
};
use crate::time;
use crate::web::AppState;

mod report_body;
pub use report_body::*;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/reports", web::post().to(post_report))
        .route("/reports/{id}", web::get().to(get_report))
        .route(
            "/reports/{id}/safety-assessment",
            web::post().to(post_safety_assessment),
        )
        .route("/reports/{id}/decision", web::post().to(post_decision))
        .route("/reports/{id}/children", web::post().to(post_sibling))
        .route("/my/reports", web::get().to(get_my_reports))
        .route("/intake", web::get().to(get_intake))
        .route("/investigations", web::get().to(get_investigations))
        .route("/investigations/{id}", web::get().to(get_investigation))
        .route(
            "/investigations/{id}/extension",
            web::post().to(post_extension),
        )
        .route("/investigations/{id}/close", web::post().to(post_close));
}

/// The answer to a filed report.
#[derive(Serialize, ToSchema)]
pub struct FiledBody {
    pub id: String,
    /// Quote this when you call social services, e.g. `OA-7K3F-Q9`.
    pub reference: String,
    pub received_at: NaiveDateTime,
    /// When the safety assessment must be documented (UTC).
    pub safety_assessment_due_at: NaiveDateTime,
    /// The last day for the decision whether to open an investigation.
    pub decision_due_on: NaiveDate,
    pub municipality: String,
    pub municipality_phone: String,
    /// An acute report (acute danger, or the violence rule applies): its safety assessment is due
    /// within hours, and intake (in office hours) or socialjour (outside them) is alerted at once.
    pub acute: bool,
    /// For an acute report filed outside office hours: the municipality's socialjour number, to
    /// call now (and 112 if the child is in danger this moment). Absent otherwise, or when the
    /// municipality has not set one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub socialjour_phone: Option<String>,
}

impl From<store::Filed> for FiledBody {
    fn from(filed: store::Filed) -> Self {
        FiledBody {
            id: filed.id.0,
            reference: filed.reference,
            received_at: filed.received_at,
            safety_assessment_due_at: filed.safety_due_at,
            decision_due_on: filed.decision_due_on,
            municipality: filed.municipality_name,
            municipality_phone: filed.municipality_phone,
            acute: filed.acute,
            socialjour_phone: (filed.acute
                && filed.out_of_hours
                && !filed.socialjour_phone.is_empty())
            .then_some(filed.socialjour_phone),
        }
    }
}

/// `POST /api/v1/reports`
#[utoipa::path(post, path = "/api/v1/reports", tag = "reports",
    request_body = ReportInput,
    responses(
        (status = 201, description = "Filed", body = FiledBody),
        (status = 422, description = "Something to correct", body = crate::error::ErrorResponse),
        (status = 429, description = "Too many reports from this address", body = crate::error::ErrorResponse),
    ),
    security((), ("bearer" = [])))]
pub async fn post_report(
    req: HttpRequest,
    MaybeApiActor(actor): MaybeApiActor,
    state: web::Data<AppState>,
    body: web::Json<ReportInput>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner();
    let limit = state.clone();
    let peer = state.client_address(&req);
    let filed = state
        .db_with_settings(move |conn, settings| {
            file_report(conn, settings, actor.as_ref(), &input, Vec::new(), || {
                limit.public_submission_allowed(peer)
            })
        })
        .await?;
    if filed.acute {
        state.mail_wake.notify_one();
    }
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/reports/{}", filed.id)))
        .json(FiledBody::from(filed)))
}

/// `GET /api/v1/reports/{id}`: social services of the report's municipality get it in full; the
/// professional who filed it gets the outcome only; everyone else 404.
#[utoipa::path(get, path = "/api/v1/reports/{id}", tag = "reports",
    params(("id" = String, Path, description = "Report id")),
    responses(
        (status = 200, description = "The report in full (social services), or its outcome (the reporter who filed it)", body = ReportBody),
        (status = 404, description = "No such report, or not yours to see", body = crate::error::ErrorResponse),
    ),
    security(("bearer" = [])))]
pub async fn get_report(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = ReportId(path.into_inner());
    enum Seen {
        Full(Box<ReportBody>),
        Outcome(OwnReport),
    }
    let seen = state
        .db_with_settings(move |conn, settings| {
            let keys = &settings.keys;
            let (report, view) = access(conn, keys, &actor, &id, Action::View)?;
            Ok(match view {
                View::Full => {
                    let detail = store::read_detail(conn, keys, report, &actor.audit_actor())?;
                    Seen::Full(Box::new(ReportBody::from(detail)))
                }
                View::Outcome => Seen::Outcome(store::outcome_of(conn, report)?),
            })
        })
        .await?;
    Ok(match seen {
        Seen::Full(body) => HttpResponse::Ok().json(body),
        Seen::Outcome(own) => HttpResponse::Ok().json(own),
    })
}

#[derive(Deserialize, ToSchema)]
pub struct SafetyInput {
    /// Does the child need protection at once?
    pub protection_needed: Option<bool>,
    #[serde(default)]
    pub notes: String,
}

/// `POST /api/v1/reports/{id}/safety-assessment` (intake)
#[utoipa::path(post, path = "/api/v1/reports/{id}/safety-assessment", tag = "intake",
    params(("id" = String, Path, description = "Report id")),
    request_body = SafetyInput,
    responses(
        (status = 201, description = "Recorded", body = SafetyBody),
        (status = 404, body = crate::error::ErrorResponse), (status = 409, body = crate::error::ErrorResponse),
        (status = 422, body = crate::error::ErrorResponse),
    ),
    security(("bearer" = [])))]
pub async fn post_safety_assessment(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<SafetyInput>,
) -> Result<HttpResponse, ApiError> {
    let id = ReportId(path.into_inner());
    let input = body.into_inner();
    let record = state
        .db_with_settings(move |conn, settings| {
            let keys = &settings.keys;
            assess_safety(
                conn,
                keys,
                &actor,
                &id,
                input.protection_needed,
                &input.notes,
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(SafetyBody {
        assessed_at: record.assessed_at,
        protection_needed: record.protection_needed,
        notes: record.notes,
    }))
}

/// `POST /api/v1/reports/{id}/decision` (intake): a decision for each child, `{"children":
/// [{"child_id", "decision", "reason", "late_reason", "siblings_note"}]}`. Children left out wait
/// for a later decision; the report is decided when every child is. (A body without `children`
/// but with `decision` and `reason` is the older shape: one decision for every child left.)
#[utoipa::path(post, path = "/api/v1/reports/{id}/decision", tag = "intake",
    params(("id" = String, Path, description = "Report id")),
    request_body = DecisionInput,
    responses(
        (status = 201, description = "Recorded, one per child decided now; the professional reporter is told there is news", body = Vec<DecisionBody>),
        (status = 404, body = crate::error::ErrorResponse),
        (status = 409, description = "A child already decided, or no safety assessment yet", body = crate::error::ErrorResponse),
        (status = 422, description = "An unknown child, or a decision the rules do not allow (e.g. not opening under the violence rule, joining without an investigation under way)", body = crate::error::ErrorResponse),
    ),
    security(("bearer" = [])))]
pub async fn post_decision(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<DecisionInput>,
) -> Result<HttpResponse, ApiError> {
    let id = ReportId(path.into_inner());
    let input = body.into_inner();
    let records = state
        .db_with_settings(move |conn, settings| decide(conn, settings, &actor, &id, &input))
        .await?;
    state.mail_wake.notify_one();
    Ok(HttpResponse::Created().json(
        records
            .into_iter()
            .map(DecisionBody::from)
            .collect::<Vec<_>>(),
    ))
}

/// The sibling added.
#[derive(Serialize, ToSchema)]
pub struct SiblingBody {
    /// The child's id, for its decision.
    pub id: String,
}

/// `POST /api/v1/reports/{id}/children` (intake): adds a sibling the report does not name; the
/// child then needs a decision of its own, and the report waits in the queue until it has one.
#[utoipa::path(post, path = "/api/v1/reports/{id}/children", tag = "intake",
    params(("id" = String, Path, description = "Report id")),
    request_body = SiblingInput,
    responses(
        (status = 201, description = "Added", body = SiblingBody),
        (status = 404, body = crate::error::ErrorResponse),
        (status = 422, body = crate::error::ErrorResponse),
    ),
    security(("bearer" = [])))]
pub async fn post_sibling(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<SiblingInput>,
) -> Result<HttpResponse, ApiError> {
    let id = ReportId(path.into_inner());
    let input = body.into_inner();
    let child = state
        .db_with_settings(move |conn, settings| {
            add_sibling(conn, &settings.keys, &actor, &id, &input)
        })
        .await?;
    Ok(HttpResponse::Created().json(SiblingBody { id: child.id }))
}

/// `GET /api/v1/my/reports`: the reports the caller filed, with their outcome only.
#[utoipa::path(get, path = "/api/v1/my/reports", tag = "reports",
    responses((status = 200, body = Vec<OwnReport>)), security(("bearer" = [])))]
pub async fn get_my_reports(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let Actor::User(user) = actor else {
        return Err(AppError::Forbidden.into());
    };
    let own = state
        .db(move |conn| store::own_reports(conn, &user.id))
        .await?;
    Ok(HttpResponse::Ok().json(own))
}

/// One report waiting in the intake queue.
#[derive(Serialize, ToSchema)]
pub struct QueueEntry {
    pub id: String,
    pub reference: String,
    pub received_at: NaiveDateTime,
    pub safety_assessment_due_at: NaiveDateTime,
    pub safety_assessed: bool,
    pub decision_due_on: NaiveDate,
    /// `overdue`, `due_today` or `later`, for the most urgent clock still running.
    pub urgency: String,
    /// Acute reports stand first until their safety assessment is made.
    pub acute: bool,
    pub acute_danger: bool,
    pub categories: Vec<Category>,
    pub children: i64,
    /// Of the children, how many still wait for their decision.
    pub undecided: i64,
}

/// Which page of the queue: `limit` (1–500, default 100) lines after the `offset` most urgent.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct QueueQuery {
    pub limit: Option<String>,
    pub offset: Option<String>,
}

/// `GET /api/v1/intake`: the caller's municipality's undecided reports, most urgent first, a page
/// at a time; `X-Total-Count` says how many wait in all.
#[utoipa::path(get, path = "/api/v1/intake", tag = "intake", params(QueueQuery),
    responses((status = 200, body = Vec<QueueEntry>,
               headers(("X-Total-Count" = i64, description = "Reports waiting for a decision, in all"))),
              (status = 403, body = crate::error::ErrorResponse),
              (status = 422, description = "limit or offset out of range", body = crate::error::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn get_intake(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    query: web::Query<QueueQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = store::QueuePage::parse(query.limit.as_deref(), query.offset.as_deref())
        .map_err(AppError::Invalid)?;
    let queue = state
        .db_with_settings(move |conn, settings| {
            intake_queue_for(conn, &settings.keys, &actor, page)
        })
        .await?;
    let now = crate::db::now();
    let entries: Vec<QueueEntry> = queue
        .items
        .into_iter()
        .map(|item| QueueEntry {
            urgency: deadlines::urgency_at(item.next_due(), now).as_str().into(),
            categories: item.report.categories(),
            id: item.report.id.0,
            reference: item.report.reference,
            received_at: item.report.received_at,
            safety_assessment_due_at: item.report.safety_due_at,
            safety_assessed: item.safety_assessed,
            decision_due_on: item.report.decision_due_on,
            acute: item.report.acute,
            acute_danger: item.report.acute_danger,
            children: item.children,
            undecided: item.undecided,
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header(("X-Total-Count", queue.total.to_string()))
        .json(entries))
}

/// A child's investigation and its clock.
#[derive(Serialize, ToSchema)]
pub struct InvestigationEntry {
    pub id: String,
    pub report_reference: String,
    /// Which child of the report: 1 for the first, …
    pub child: i32,
    pub opened_on: NaiveDate,
    pub due_on: NaiveDate,
    /// `overdue`, `due_today` or `later`.
    pub urgency: String,
    /// The reason of the latest extension (kept for older clients; see `extensions`).
    pub extension_reason: Option<String>,
    /// Every extension, oldest first, each with its own date, reason and who decided.
    pub extensions: Vec<ExtensionEntry>,
}

/// `GET /api/v1/investigations`: the caller's municipality's investigations, earliest due first.
#[utoipa::path(get, path = "/api/v1/investigations", tag = "investigations",
    responses((status = 200, body = Vec<InvestigationEntry>), (status = 403, body = crate::error::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn get_investigations(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let rows = state
        .db_with_settings(move |conn, settings| investigations_for(conn, &settings.keys, &actor))
        .await?;
    let today = time::local(crate::db::now()).date();
    let entries: Vec<InvestigationEntry> = rows
        .into_iter()
        .map(|line| {
            let i = line.investigation;
            InvestigationEntry {
                urgency: deadlines::urgency(i.due_on, today).as_str().into(),
                id: i.id.0,
                report_reference: line.reference,
                child: line.child,
                opened_on: i.opened_on,
                due_on: i.due_on,
                extension_reason: line.extensions.last().map(|e| e.reason.clone()),
                extensions: line.extensions,
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(entries))
}

/// `POST /api/v1/investigations/{id}/extension` (caseworker): a recorded decision to extend.
/// Each extension is kept in the investigation's history (`extensions` of the report's child).
#[utoipa::path(post, path = "/api/v1/investigations/{id}/extension", tag = "investigations",
    params(("id" = String, Path, description = "Investigation id")),
    request_body = ExtensionInput,
    responses((status = 204, description = "Extended"), (status = 404, body = crate::error::ErrorResponse),
              (status = 422, body = crate::error::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn post_extension(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<ExtensionInput>,
) -> Result<HttpResponse, ApiError> {
    let id = store::InvestigationId(path.into_inner());
    let input = body.into_inner();
    state
        .db_with_settings(move |conn, settings| extend(conn, &settings.keys, &actor, &id, &input))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// How an investigation was closed.
#[derive(Serialize, ToSchema)]
pub struct ClosingBody {
    /// `support_granted`, `no_support`, `transferred` or `other`.
    pub outcome: String,
    /// Which support was granted; empty for the other outcomes.
    pub support: String,
    pub closed_on: NaiveDate,
    pub reason: String,
    /// When it was recorded (UTC) and the user id of the caseworker who closed it.
    pub closed_at: NaiveDateTime,
    pub closed_by: String,
    /// The last day as it stood when closed.
    pub due_on: NaiveDate,
    /// Closed after the last day.
    pub late: bool,
    /// Days after the last day; 0 when closed in time.
    pub days_late: i32,
}

impl From<store::Closing> for ClosingBody {
    fn from(c: store::Closing) -> Self {
        ClosingBody {
            outcome: c.outcome.as_str().into(),
            support: c.support,
            closed_on: c.closed_on,
            reason: c.reason,
            closed_at: c.closed_at,
            closed_by: c.closed_by.0,
            due_on: c.due_on,
            late: c.days_late > 0,
            days_late: c.days_late,
        }
    }
}

/// One investigation: its state, clock, extension history and outcome.
#[derive(Serialize, ToSchema)]
pub struct InvestigationBody {
    pub id: String,
    pub report_id: String,
    pub report_reference: String,
    /// Which child of the report: 1 for the first, …
    pub child: i32,
    /// `open` or `closed`.
    pub state: String,
    pub opened_on: NaiveDate,
    pub due_on: NaiveDate,
    /// `overdue`, `due_today` or `later` while open; `closed` once closed (the clock stopped).
    pub urgency: String,
    /// Every extension, oldest first.
    pub extensions: Vec<ExtensionEntry>,
    /// How it was closed; `null` while open.
    pub closing: Option<ClosingBody>,
}

/// `GET /api/v1/investigations/{id}` (social services of its municipality): the investigation
/// with its state, extension history and outcome. Another municipality's: 404 (audited).
#[utoipa::path(get, path = "/api/v1/investigations/{id}", tag = "investigations",
    params(("id" = String, Path, description = "Investigation id")),
    responses((status = 200, body = InvestigationBody), (status = 404, body = crate::error::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn get_investigation(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = store::InvestigationId(path.into_inner());
    let record = state
        .db_with_settings(move |conn, settings| investigation(conn, &settings.keys, &actor, &id))
        .await?;
    let today = time::local(crate::db::now()).date();
    let i = record.investigation;
    let open = i.is_open();
    Ok(HttpResponse::Ok().json(InvestigationBody {
        state: if open { "open" } else { "closed" }.into(),
        urgency: if open {
            deadlines::urgency(i.due_on, today).as_str().into()
        } else {
            "closed".into()
        },
        id: i.id.0,
        report_id: i.report_id.0,
        report_reference: record.reference,
        child: record.child,
        opened_on: i.opened_on,
        due_on: i.due_on,
        extensions: record.extensions,
        closing: record.closing.map(ClosingBody::from),
    }))
}

/// `POST /api/v1/investigations/{id}/close` (caseworker): closes the investigation with its
/// outcome, the day and the reason. The clock stops; closing after the last day is kept as late
/// with the days. Closed already: 409.
#[utoipa::path(post, path = "/api/v1/investigations/{id}/close", tag = "investigations",
    params(("id" = String, Path, description = "Investigation id")),
    request_body = ClosingInput,
    responses((status = 201, body = ClosingBody), (status = 404, body = crate::error::ErrorResponse),
              (status = 409, description = "Closed already", body = crate::error::ErrorResponse),
              (status = 422, body = crate::error::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn post_close(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<ClosingInput>,
) -> Result<HttpResponse, ApiError> {
    let id = store::InvestigationId(path.into_inner());
    let input = body.into_inner();
    let closing = state
        .db_with_settings(move |conn, settings| {
            close_investigation(conn, &settings.keys, &actor, &id, &input)
        })
        .await?;
    Ok(HttpResponse::Created().json(ClosingBody::from(closing)))
}
