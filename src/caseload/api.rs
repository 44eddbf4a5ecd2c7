//! The caseload API: a caseworker's own investigations (`GET /api/v1/my/investigations`) and
//! assigning an investigation (`POST /api/v1/investigations/{id}/assignment`).

use actix_web::{web, HttpResponse};
use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts::identity::ApiActor;
use crate::caseload::my_investigations;
use crate::caseload::store::OpenRequest;
use crate::error::ApiError;
use crate::reports::assignment::{assign, AssignmentInput};
use crate::reports::store::{Assignee, InvestigationId};
use crate::web::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/my/investigations", web::get().to(get_my_investigations))
        .route(
            "/investigations/{id}/assignment",
            web::post().to(post_assignment),
        );
}

/// One of the caller's open investigations and what is coming up in it.
#[derive(Serialize, ToSchema)]
pub struct MyInvestigationBody {
    pub id: String,
    pub report_id: String,
    /// The report's reference, e.g. `OA-…`.
    pub reference: String,
    /// Which child of the report: 1 for the first.
    pub child: i32,
    pub opened_on: NaiveDate,
    /// The last day of the 4-month clock (extended where it was).
    pub due_on: NaiveDate,
    /// Days left until `due_on` (negative when late).
    pub days_left: i64,
    /// Information requests waiting for an answer, the earliest due first.
    pub open_requests: Vec<OpenRequest>,
    /// The next SIP meeting of the report's SIPs, Swedish local time.
    pub next_sip_meeting: Option<NaiveDateTime>,
    /// When the latest SIP plan is to be followed up.
    pub next_follow_up_on: Option<NaiveDate>,
    /// The earliest of all the dates above: the list is ordered by it.
    pub next_due: NaiveDate,
    /// `next_due` is within the coming seven days, or past.
    pub due_this_week: bool,
}

/// `GET /api/v1/my/investigations` (caseworkers): the open investigations assigned to the
/// caller, what is due first at the top.
#[utoipa::path(get, path = "/api/v1/my/investigations", tag = "investigations",
    responses(
        (status = 200, body = [MyInvestigationBody]),
        (status = 403, description = "Not a caseworker of social services", body = crate::error::ErrorResponse),
    ),
    security(("bearer" = [])))]
pub async fn get_my_investigations(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let today = crate::time::local(crate::db::now()).date();
    let cases = state
        .db_with_settings(move |conn, settings| {
            my_investigations(conn, &settings.keys, &actor, today)
        })
        .await?;
    let body: Vec<MyInvestigationBody> = cases
        .into_iter()
        .map(|case| {
            let line = case.line;
            let i = line.investigation;
            MyInvestigationBody {
                id: i.id.0,
                report_id: i.report_id.0,
                reference: line.reference,
                child: line.child,
                opened_on: i.opened_on,
                days_left: (i.due_on - today).num_days(),
                due_on: i.due_on,
                open_requests: line.requests,
                next_sip_meeting: line.next_meeting.map(crate::time::local),
                next_follow_up_on: line.follow_up_on,
                next_due: case.next_due,
                due_this_week: case.due_this_week,
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

/// Who an investigation is assigned to, as answered after assigning.
#[derive(Serialize, ToSchema)]
pub struct AssignmentBody {
    pub investigation_id: String,
    pub assignee: Assignee,
}

/// `POST /api/v1/investigations/{id}/assignment` (intake officers and caseworkers of its
/// municipality): assigns the open investigation to a caseworker of the municipality; without
/// `user_id` the caller (a caseworker) takes it. Audited.
#[utoipa::path(post, path = "/api/v1/investigations/{id}/assignment", tag = "investigations",
    params(("id" = String, Path, description = "Investigation id")),
    request_body = AssignmentInput,
    responses(
        (status = 200, description = "Assigned", body = AssignmentBody),
        (status = 404, description = "No such investigation, or not yours", body = crate::error::ErrorResponse),
        (status = 409, description = "The investigation is closed", body = crate::error::ErrorResponse),
        (status = 422, description = "Not a caseworker of the municipality", body = crate::error::ErrorResponse),
    ),
    security(("bearer" = [])))]
pub async fn post_assignment(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<AssignmentInput>,
) -> Result<HttpResponse, ApiError> {
    let id = InvestigationId(path.into_inner());
    let input = body.into_inner();
    let (investigation, assignee) = state
        .db_with_settings(move |conn, settings| assign(conn, &settings.keys, &actor, &id, &input))
        .await?;
    Ok(HttpResponse::Ok().json(AssignmentBody {
        investigation_id: investigation.id.0,
        assignee,
    }))
}
