//! The case system's API: `POST /api/v1/reports/{id}/handover` records the case system's
//! registration number, `GET /api/v1/reports/{id}/export` gives one child's report as
//! `samordna.report.v1`. The child is named by `child_id` (in the body, or as `?child_id=` in the
//! query) and may be left out when the report has one child.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::accounts::identity::ApiActor;
use crate::case_system::{export, ReportExport};
use crate::error::ApiError;
use crate::reports::handover::hand_over;
use crate::reports::model::HandoverInput;
use crate::reports::store::handover::Handover;
use crate::reports::store::ReportId;
use crate::web::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/reports/{id}/export", web::get().to(get_export))
        .route("/reports/{id}/handover", web::post().to(post_handover));
}

#[derive(Deserialize, IntoParams)]
pub struct ExportQuery {
    /// Which child of the report; may be left out when the report has one child.
    pub child_id: Option<String>,
}

/// `GET /api/v1/reports/{id}/export`: one child's report in full for the case system.
#[utoipa::path(get, path = "/api/v1/reports/{id}/export", tag = "case system",
    params(("id" = String, Path, description = "Report id"), ExportQuery),
    responses(
        (status = 200, description = "The child's report as `samordna.report.v1` (JSON Schema: docs/schema/samordna.report.v1.json)", body = ReportExport),
        (status = 404, description = "No such report, or not yours to read", body = crate::error::ErrorResponse),
        (status = 422, description = "The report has several children and none was named, or no such child", body = crate::error::ErrorResponse),
    ),
    security(("bearer" = [])))]
pub async fn get_export(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = ReportId(path.into_inner());
    let child = query.into_inner().child_id;
    let document = state
        .db_with_settings(move |conn, settings| {
            export(conn, settings, &actor, &id, child.as_deref())
        })
        .await?;
    Ok(HttpResponse::Ok().json(document))
}

/// `POST /api/v1/reports/{id}/handover`: records that a child's report is handed over to the
/// case system, with its registration number (intake officers, and integration tokens of social
/// services of the report's municipality). Recording it again corrects it.
#[utoipa::path(post, path = "/api/v1/reports/{id}/handover", tag = "case system",
    params(("id" = String, Path, description = "Report id")),
    request_body = HandoverInput,
    responses(
        (status = 201, description = "Recorded", body = Handover),
        (status = 404, description = "No such report, or not yours to hand over", body = crate::error::ErrorResponse),
        (status = 422, description = "Something to correct", body = crate::error::ErrorResponse),
    ),
    security(("bearer" = [])))]
pub async fn post_handover(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<HandoverInput>,
) -> Result<HttpResponse, ApiError> {
    let id = ReportId(path.into_inner());
    let input = body.into_inner();
    let recorded = state
        .db_with_settings(move |conn, settings| {
            hand_over(conn, &settings.keys, &actor, &id, &input)
        })
        .await?;
    Ok(HttpResponse::Created().json(recorded))
}
