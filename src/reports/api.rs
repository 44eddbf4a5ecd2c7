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
use crate::reports::model::{Category, Decision, ReportInput, ReporterKind};
use crate::reports::store::{self, DecisionInput, OwnReport, ReportDetail, ReportId};
use crate::reports::{
    access, assess_safety, decide, extend, file_report, intake_queue_for, investigations_for, View,
};
use crate::time;
use crate::web::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/reports", web::post().to(post_report))
        .route("/reports/{id}", web::get().to(get_report))
        .route(
            "/reports/{id}/safety-assessment",
            web::post().to(post_safety_assessment),
        )
        .route("/reports/{id}/decision", web::post().to(post_decision))
        .route("/my/reports", web::get().to(get_my_reports))
        .route("/intake", web::get().to(get_intake))
        .route("/investigations", web::get().to(get_investigations))
        .route(
            "/investigations/{id}/extension",
            web::post().to(post_extension),
        );
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

#[derive(Serialize, ToSchema)]
pub struct ReporterBody {
    pub name: String,
    pub title: String,
    pub organisation: String,
    pub phone: String,
    pub email: String,
}

#[derive(Serialize, ToSchema)]
pub struct ChildBody {
    pub personal_number: Option<String>,
    pub name: String,
    pub birth_date: Option<NaiveDate>,
    pub address: String,
    pub school: String,
    pub told: bool,
    pub not_told_reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct GuardianBody {
    pub name: String,
    pub phone: String,
    pub told: bool,
    pub not_told_reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct SafetyBody {
    pub assessed_at: NaiveDateTime,
    pub protection_needed: bool,
    pub notes: String,
}

#[derive(Serialize, ToSchema)]
pub struct DecisionBody {
    pub decided_at: NaiveDateTime,
    pub decision: Decision,
    pub reason: String,
    pub late_reason: String,
    pub siblings_note: String,
}

#[derive(Serialize, ToSchema)]
pub struct InvestigationBody {
    pub id: String,
    pub opened_on: NaiveDate,
    pub due_on: NaiveDate,
    pub extension_reason: Option<String>,
}

/// The feedback to a reporter with a duty to report (a professional), recorded with the decision.
#[derive(Serialize, ToSchema)]
pub struct FeedbackBody {
    /// The last day for it (`SAMORDNA_FEEDBACK_DAYS` after the decision, under the rules from
    /// 2026-01-15); absent for a decision before them.
    pub due_on: Option<NaiveDate>,
    /// Whether the message telling the reporter has been sent.
    pub sent: bool,
    pub sent_at: Option<NaiveDateTime>,
    /// `queued`, `sending`, `sent` or `failed` (absent when no message could be queued).
    pub status: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct EarlierReport {
    pub id: String,
    pub reference: String,
    pub received_at: NaiveDateTime,
    pub outcome: Option<Decision>,
}

/// A report in full, for social services of its municipality.
#[derive(Serialize, ToSchema)]
pub struct ReportBody {
    pub id: String,
    pub reference: String,
    pub municipality_id: String,
    pub received_at: NaiveDateTime,
    pub reporter_kind: ReporterKind,
    pub reporter: Option<ReporterBody>,
    pub children: Vec<ChildBody>,
    pub guardians: Vec<GuardianBody>,
    pub concern: String,
    pub categories: Vec<Category>,
    pub acute_danger: bool,
    /// Acute: acute danger, or the violence rule applies (decided when it was filed).
    pub acute: bool,
    pub police_informed: bool,
    pub interpreter_language: String,
    pub other_agencies: String,
    pub safety_assessment_due_at: NaiveDateTime,
    pub decision_due_on: NaiveDate,
    pub safety_assessment: Option<SafetyBody>,
    pub decision: Option<DecisionBody>,
    pub investigation: Option<InvestigationBody>,
    /// For a professional reporter, once decided: when feedback is due and whether it was sent.
    pub feedback: Option<FeedbackBody>,
    /// Other reports about a child with the same personnummer, newest first.
    pub earlier_reports: Vec<EarlierReport>,
}

impl From<ReportDetail> for ReportBody {
    fn from(d: ReportDetail) -> Self {
        let r = d.report;
        ReportBody {
            categories: r.categories(),
            id: r.id.0,
            reference: r.reference,
            municipality_id: r.municipality_id.0,
            received_at: r.received_at,
            reporter_kind: r.reporter_kind,
            reporter: d.reporter.map(|p| ReporterBody {
                name: p.name,
                title: p.title,
                organisation: p.organisation,
                phone: p.phone,
                email: p.email,
            }),
            children: d
                .children
                .into_iter()
                .map(|c| ChildBody {
                    personal_number: c.personal_number,
                    name: c.name,
                    birth_date: c.birth_date,
                    address: c.address,
                    school: c.school,
                    told: c.child_told,
                    not_told_reason: c.not_told_reason,
                })
                .collect(),
            guardians: d
                .guardians
                .into_iter()
                .map(|g| GuardianBody {
                    name: g.name,
                    phone: g.phone,
                    told: g.guardian_told,
                    not_told_reason: g.not_told_reason,
                })
                .collect(),
            concern: r.concern,
            acute_danger: r.acute_danger,
            acute: r.acute,
            police_informed: r.police_informed,
            interpreter_language: r.interpreter_language,
            other_agencies: r.other_agencies,
            safety_assessment_due_at: r.safety_due_at,
            decision_due_on: r.decision_due_on,
            safety_assessment: d.safety.map(|s| SafetyBody {
                assessed_at: s.assessed_at,
                protection_needed: s.protection_needed,
                notes: s.notes,
            }),
            decision: d.decision.map(|x| DecisionBody {
                decided_at: x.decided_at,
                decision: x.decision,
                reason: x.reason,
                late_reason: x.late_reason,
                siblings_note: x.siblings_note,
            }),
            investigation: d.investigation.map(|i| InvestigationBody {
                id: i.id.0,
                opened_on: i.opened_on,
                due_on: i.due_on,
                extension_reason: i.extension_reason,
            }),
            feedback: d.feedback.map(|f| FeedbackBody {
                due_on: f.due_on,
                sent: f.status == Some(crate::mail::OutboxStatus::Sent),
                sent_at: f.sent_at,
                status: f.status.map(|s| s.as_str().to_string()),
            }),
            earlier_reports: d
                .earlier
                .into_iter()
                .map(|(e, outcome)| EarlierReport {
                    id: e.id.0,
                    reference: e.reference,
                    received_at: e.received_at,
                    outcome,
                })
                .collect(),
        }
    }
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
                &actor,
                &id,
                input.protection_needed,
                &input.notes,
                keys,
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(SafetyBody {
        assessed_at: record.assessed_at,
        protection_needed: record.protection_needed,
        notes: record.notes,
    }))
}

/// `POST /api/v1/reports/{id}/decision` (intake)
#[utoipa::path(post, path = "/api/v1/reports/{id}/decision", tag = "intake",
    params(("id" = String, Path, description = "Report id")),
    request_body = DecisionInput,
    responses(
        (status = 201, description = "Recorded; the professional reporter is told there is news", body = DecisionBody),
        (status = 404, body = crate::error::ErrorResponse), (status = 409, body = crate::error::ErrorResponse),
        (status = 422, body = crate::error::ErrorResponse),
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
    let record = state
        .db_with_settings(move |conn, settings| decide(conn, &actor, &id, &input, settings))
        .await?;
    state.mail_wake.notify_one();
    Ok(HttpResponse::Created().json(DecisionBody {
        decided_at: record.decided_at,
        decision: record.decision,
        reason: record.reason,
        late_reason: record.late_reason,
        siblings_note: record.siblings_note,
    }))
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
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header(("X-Total-Count", queue.total.to_string()))
        .json(entries))
}

/// An investigation and its clock.
#[derive(Serialize, ToSchema)]
pub struct InvestigationEntry {
    pub id: String,
    pub report_reference: String,
    pub opened_on: NaiveDate,
    pub due_on: NaiveDate,
    /// `overdue`, `due_today` or `later`.
    pub urgency: String,
    pub extension_reason: Option<String>,
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
        .map(|(i, reference)| InvestigationEntry {
            urgency: deadlines::urgency(i.due_on, today).as_str().into(),
            id: i.id.0,
            report_reference: reference,
            opened_on: i.opened_on,
            due_on: i.due_on,
            extension_reason: i.extension_reason,
        })
        .collect();
    Ok(HttpResponse::Ok().json(entries))
}

#[derive(Deserialize, ToSchema)]
pub struct ExtensionInput {
    /// The new last day, `YYYY-MM-DD`, after the current one.
    #[serde(default)]
    pub due_on: String,
    /// The special reasons for the extension.
    #[serde(default)]
    pub reason: String,
}

/// `POST /api/v1/investigations/{id}/extension` (caseworker): a recorded decision to extend.
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
        .db_with_settings(move |conn, settings| {
            extend(
                conn,
                &actor,
                &id,
                &input.due_on,
                &input.reason,
                &settings.keys,
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
