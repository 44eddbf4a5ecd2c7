//! The consultations API: asking (a professional's token), reading (the asker, or intake of the
//! municipality), answering (intake) and making a consultation into a report (the asker).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::NaiveDateTime;
use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts::identity::ApiActor;
use crate::consultations::model::{AnswerInput, ConsultationInput};
use crate::consultations::store::{Asker, Consultation, ConsultationId};
use crate::consultations::{answer, ask, convert, read};
use crate::error::ApiError;
use crate::reports::api::FiledBody;
use crate::reports::model::ReportInput;
use crate::web::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/consultations", web::post().to(post_consultation))
        .route("/consultations/{id}", web::get().to(get_consultation))
        .route(
            "/consultations/{id}/answer",
            web::post().to(post_consultation_answer),
        )
        .route(
            "/consultations/{id}/convert",
            web::post().to(post_consultation_convert),
        );
}

/// A consultation, as its asker and the municipality's intake officers see it.
#[derive(Serialize, ToSchema)]
pub struct ConsultationBody {
    pub id: String,
    /// Quoted in mail, e.g. `KO-7K3F-Q9`.
    pub reference: String,
    pub municipality_id: String,
    /// Who asked (a professional, always named); given by `GET`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asked_by: Option<Asker>,
    pub asked_at: NaiveDateTime,
    pub situation: String,
    pub child_age: i32,
    pub unit: String,
    /// Absent until intake has answered.
    pub answer: Option<String>,
    /// Whether intake thinks this should be a report.
    pub should_report: Option<bool>,
    pub answered_at: Option<NaiveDateTime>,
    /// The report it was made into, once converted (and while that report is kept).
    pub report_id: Option<String>,
    pub converted_at: Option<NaiveDateTime>,
}

impl From<Consultation> for ConsultationBody {
    fn from(c: Consultation) -> Self {
        ConsultationBody {
            id: c.id.0,
            reference: c.reference,
            municipality_id: c.municipality_id.0,
            asked_by: None,
            asked_at: c.asked_at,
            situation: c.situation,
            child_age: c.child_age,
            unit: c.unit,
            answer: c.answer,
            should_report: c.should_report,
            answered_at: c.answered_at,
            report_id: c.report_id.map(|r| r.0),
            converted_at: c.converted_at,
        }
    }
}

/// `POST /api/v1/consultations`: a professional (reporter role) asks social services about a
/// worry without naming the child. A personnummer-shaped or name-like text is refused (422).
#[utoipa::path(post, path = "/api/v1/consultations", tag = "consultations",
    request_body = ConsultationInput,
    responses(
        (status = 201, description = "Asked", body = ConsultationBody),
        (status = 403, description = "Not a reporter", body = crate::error::ErrorResponse),
        (status = 422, description = "Something to correct, such as a name or personnummer in the text", body = crate::error::ErrorResponse),
    ),
    security(("bearer" = [])))]
pub async fn post_consultation(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    body: web::Json<ConsultationInput>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner();
    let consultation = state
        .db_with_settings(move |conn, settings| ask(conn, settings, &actor, &input))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/consultations/{}", consultation.id),
        ))
        .json(ConsultationBody::from(consultation)))
}

/// `GET /api/v1/consultations/{id}`: the asker and intake officers of its municipality; everyone
/// else 404.
#[utoipa::path(get, path = "/api/v1/consultations/{id}", tag = "consultations",
    params(("id" = String, Path, description = "Consultation id")),
    responses(
        (status = 200, body = ConsultationBody),
        (status = 404, description = "No such consultation, or not yours to see", body = crate::error::ErrorResponse),
    ),
    security(("bearer" = [])))]
pub async fn get_consultation(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = ConsultationId(path.into_inner());
    let (consultation, _, asker) = state
        .db_with_settings(move |conn, settings| read(conn, settings, &actor, &id))
        .await?;
    let body = ConsultationBody {
        asked_by: Some(asker),
        ..ConsultationBody::from(consultation)
    };
    Ok(HttpResponse::Ok().json(body))
}

/// `POST /api/v1/consultations/{id}/answer` (intake of its municipality, once): the asker gets a
/// content-free email that there is an answer.
#[utoipa::path(post, path = "/api/v1/consultations/{id}/answer", tag = "consultations",
    params(("id" = String, Path, description = "Consultation id")),
    request_body = AnswerInput,
    responses(
        (status = 201, description = "Answered; the asker is told by email that there is an answer", body = ConsultationBody),
        (status = 404, body = crate::error::ErrorResponse),
        (status = 409, description = "Already answered", body = crate::error::ErrorResponse),
        (status = 422, body = crate::error::ErrorResponse),
    ),
    security(("bearer" = [])))]
pub async fn post_consultation_answer(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<AnswerInput>,
) -> Result<HttpResponse, ApiError> {
    let id = ConsultationId(path.into_inner());
    let input = body.into_inner();
    let consultation = state
        .db_with_settings(move |conn, settings| answer(conn, settings, &actor, &id, &input))
        .await?;
    state.mail_wake.notify_one();
    Ok(HttpResponse::Created().json(ConsultationBody::from(consultation)))
}

/// `POST /api/v1/consultations/{id}/convert` (the asker, once): files a report of concern from
/// the consultation. The body is a report as for `POST /api/v1/reports`, naming the child; an
/// empty `concern` takes the consultation's text, an empty `municipality_id` its municipality,
/// and an empty school of the first child its unit. The report's clocks start now.
#[utoipa::path(post, path = "/api/v1/consultations/{id}/convert", tag = "consultations",
    params(("id" = String, Path, description = "Consultation id")),
    request_body = ReportInput,
    responses(
        (status = 201, description = "Filed as a report", body = FiledBody),
        (status = 404, body = crate::error::ErrorResponse),
        (status = 409, description = "Already made into a report", body = crate::error::ErrorResponse),
        (status = 422, body = crate::error::ErrorResponse),
    ),
    security(("bearer" = [])))]
pub async fn post_consultation_convert(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<ReportInput>,
) -> Result<HttpResponse, ApiError> {
    let id = ConsultationId(path.into_inner());
    let input = body.into_inner();
    let filed = state
        .db_with_settings(move |conn, settings| {
            convert(conn, settings, &actor, &id, &input, Vec::new())
        })
        .await?;
    if filed.acute {
        state.mail_wake.notify_one();
    }
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/reports/{}", filed.id)))
        .json(FiledBody::from(filed)))
}
