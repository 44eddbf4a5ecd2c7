//! The information requests API: sending and the trail (caseworkers of the investigation's
//! municipality), and the receiver's own requests, answer and refusal.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts::identity::ApiActor;
use crate::error::ApiError;
use crate::information_requests::model::{AnswerInput, DeclineInput, RequestInput, Status};
use crate::information_requests::store::{
    InformationRequest, InformationRequestId, Recipient, Sender,
};
use crate::information_requests::{answer, decline, inbox, read, send, trail, Viewer};
use crate::reports::store::InvestigationId;
use crate::web::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/investigations/{id}/information-requests",
        web::post().to(post_information_request),
    )
    .route(
        "/investigations/{id}/information-requests",
        web::get().to(get_investigation_requests),
    )
    .route(
        "/information-requests",
        web::get().to(get_information_requests),
    )
    .route(
        "/information-requests/{id}",
        web::get().to(get_information_request),
    )
    .route(
        "/information-requests/{id}/answer",
        web::post().to(post_information_request_answer),
    )
    .route(
        "/information-requests/{id}/decline",
        web::post().to(post_information_request_decline),
    );
}

/// An information request. A receiver sees the request and who asks, never the investigation;
/// social services also see the investigation and the recipients.
#[derive(Serialize, ToSchema)]
pub struct InformationRequestBody {
    pub id: String,
    /// Quoted in mail, e.g. `UB-7K3F-Q9`.
    pub reference: String,
    /// Given to social services only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub investigation_id: Option<String>,
    pub organisation_id: String,
    pub sent_at: NaiveDateTime,
    pub due_on: NaiveDate,
    pub questions: String,
    /// Why the receiver is asked and may answer (the duty to inform social services).
    pub legal_basis: String,
    pub status: Status,
    /// When a receiver first opened it.
    pub first_read_at: Option<NaiveDateTime>,
    pub answered_at: Option<NaiveDateTime>,
    pub answer: Option<String>,
    pub declined_at: Option<NaiveDateTime>,
    pub decline_reason: Option<String>,
    /// Who it is addressed to; given by `GET` of one and on the investigation's trail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipients: Option<Vec<Recipient>>,
    /// Who asks; given by `GET` of one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender: Option<Sender>,
}

impl InformationRequestBody {
    fn new(r: InformationRequest, viewer: Viewer) -> Self {
        let status = r.status(crate::db::now().date());
        let (answered_at, declined_at) = (r.answered_at(), r.declined_at());
        let answer = r.answer().map(str::to_string);
        let decline_reason = r.decline_reason().map(str::to_string);
        InformationRequestBody {
            id: r.id.0,
            reference: r.reference,
            investigation_id: (viewer == Viewer::SocialServices).then_some(r.investigation_id.0),
            organisation_id: r.organisation_id,
            sent_at: r.sent_at,
            due_on: r.due_on,
            questions: r.questions,
            legal_basis: r.legal_basis,
            status,
            first_read_at: r.first_read_at,
            answered_at,
            answer,
            declined_at,
            decline_reason,
            recipients: None,
            sender: None,
        }
    }
}

/// `POST /api/v1/investigations/{id}/information-requests` (caseworkers of its municipality,
/// while it is open): asks named users of a partner organisation; each gets a content-free
/// email with the reference only.
#[utoipa::path(post, path = "/api/v1/investigations/{id}/information-requests", tag = "information requests",
    params(("id" = String, Path, description = "Investigation id")),
    request_body = RequestInput,
    responses(
        (status = 201, description = "Sent; each receiver is told by email that there is a request", body = InformationRequestBody),
        (status = 404, description = "No such investigation, or not yours", body = crate::error::ErrorResponse),
        (status = 409, description = "The investigation is closed", body = crate::error::ErrorResponse),
        (status = 422, description = "Something to correct, per field", body = crate::error::ErrorResponse),
    ),
    security(("bearer" = [])))]
pub async fn post_information_request(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<RequestInput>,
) -> Result<HttpResponse, ApiError> {
    let id = InvestigationId(path.into_inner());
    let input = body.into_inner();
    let (request, recipients) = state
        .db_with_settings(move |conn, settings| send(conn, settings, &actor, &id, &input))
        .await?;
    state.mail_wake.notify_one();
    let location = format!("/api/v1/information-requests/{}", request.id);
    let body = InformationRequestBody {
        recipients: Some(recipients),
        ..InformationRequestBody::new(request, Viewer::SocialServices)
    };
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .json(body))
}

/// `GET /api/v1/investigations/{id}/information-requests` (social services of its
/// municipality): every request of the investigation with its trail, oldest first.
#[utoipa::path(get, path = "/api/v1/investigations/{id}/information-requests", tag = "information requests",
    params(("id" = String, Path, description = "Investigation id")),
    responses(
        (status = 200, body = [InformationRequestBody]),
        (status = 404, body = crate::error::ErrorResponse),
    ),
    security(("bearer" = [])))]
pub async fn get_investigation_requests(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = InvestigationId(path.into_inner());
    let requests = state
        .db_with_settings(move |conn, settings| trail(conn, settings, &actor, &id))
        .await?;
    let body: Vec<InformationRequestBody> = requests
        .into_iter()
        .map(|(r, recipients)| InformationRequestBody {
            recipients: Some(recipients),
            ..InformationRequestBody::new(r, Viewer::SocialServices)
        })
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /api/v1/information-requests`: the requests addressed to the caller, newest first.
#[utoipa::path(get, path = "/api/v1/information-requests", tag = "information requests",
    responses((status = 200, body = [InformationRequestBody])),
    security(("bearer" = [])))]
pub async fn get_information_requests(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let requests = state
        .db_with_settings(move |conn, settings| inbox(conn, settings, &actor))
        .await?;
    let body: Vec<InformationRequestBody> = requests
        .into_iter()
        .map(|r| InformationRequestBody::new(r, Viewer::Receiver))
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /api/v1/information-requests/{id}`: a user it is addressed to (the first read is kept on
/// its trail) or social services of its municipality; everyone else 404.
#[utoipa::path(get, path = "/api/v1/information-requests/{id}", tag = "information requests",
    params(("id" = String, Path, description = "Information request id")),
    responses(
        (status = 200, body = InformationRequestBody),
        (status = 404, description = "No such request, or not yours to see", body = crate::error::ErrorResponse),
    ),
    security(("bearer" = [])))]
pub async fn get_information_request(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = InformationRequestId(path.into_inner());
    let (request, viewer, recipients, sender) = state
        .db_with_settings(move |conn, settings| read(conn, settings, &actor, &id))
        .await?;
    let body = InformationRequestBody {
        recipients: Some(recipients),
        sender: Some(sender),
        ..InformationRequestBody::new(request, viewer)
    };
    Ok(HttpResponse::Ok().json(body))
}

/// `POST /api/v1/information-requests/{id}/answer` (a user it is addressed to, once): the
/// answer as text.
#[utoipa::path(post, path = "/api/v1/information-requests/{id}/answer", tag = "information requests",
    params(("id" = String, Path, description = "Information request id")),
    request_body = AnswerInput,
    responses(
        (status = 201, description = "Answered", body = InformationRequestBody),
        (status = 404, body = crate::error::ErrorResponse),
        (status = 409, description = "Already answered or declined", body = crate::error::ErrorResponse),
        (status = 422, body = crate::error::ErrorResponse),
    ),
    security(("bearer" = [])))]
pub async fn post_information_request_answer(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<AnswerInput>,
) -> Result<HttpResponse, ApiError> {
    let id = InformationRequestId(path.into_inner());
    let input = body.into_inner();
    let request = state
        .db_with_settings(move |conn, settings| answer(conn, settings, &actor, &id, &input))
        .await?;
    Ok(HttpResponse::Created().json(InformationRequestBody::new(request, Viewer::Receiver)))
}

/// `POST /api/v1/information-requests/{id}/decline` (a user it is addressed to, once): declines
/// with a reason.
#[utoipa::path(post, path = "/api/v1/information-requests/{id}/decline", tag = "information requests",
    params(("id" = String, Path, description = "Information request id")),
    request_body = DeclineInput,
    responses(
        (status = 201, description = "Declined", body = InformationRequestBody),
        (status = 404, body = crate::error::ErrorResponse),
        (status = 409, description = "Already answered or declined", body = crate::error::ErrorResponse),
        (status = 422, body = crate::error::ErrorResponse),
    ),
    security(("bearer" = [])))]
pub async fn post_information_request_decline(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<DeclineInput>,
) -> Result<HttpResponse, ApiError> {
    let id = InformationRequestId(path.into_inner());
    let input = body.into_inner();
    let request = state
        .db_with_settings(move |conn, settings| decline(conn, settings, &actor, &id, &input))
        .await?;
    Ok(HttpResponse::Created().json(InformationRequestBody::new(request, Viewer::Receiver)))
}
