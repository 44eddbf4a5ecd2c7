//! The style sheet, health checks and the page for unknown addresses (the start page is
//! [`crate::home`]).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::connection::SimpleConnection;

use crate::error::{ApiError, AppError, PageError};
use crate::web::{AppState, STYLE_CSS};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/style.css", web::get().to(get_style))
        .route("/healthz", web::get().to(get_healthz))
        .route("/readyz", web::get().to(get_readyz));
}

async fn get_style() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(STYLE_CSS)
}

/// The process answers.
async fn get_healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// The database answers too.
async fn get_readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state
        .db(|conn| conn.batch_execute("SELECT 1").map_err(AppError::from))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })))
}

/// Unknown address: JSON under `/api/`, a Swedish page elsewhere.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    use actix_web::ResponseError;
    if req.path().starts_with("/api/") {
        ApiError(AppError::NotFound).error_response()
    } else {
        PageError(AppError::NotFound).error_response()
    }
}
