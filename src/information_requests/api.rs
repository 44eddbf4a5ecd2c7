//! The information requests API: sending and the trail (caseworkers of the investigation's
//! municipality), and the receiver's own requests, answer and refusal.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts::identity::ApiActor;
use crate::error::ApiError;
use crate::error::AppError;
use crate::information_requests::model::{
    AnswerInput, DeclineInput, GrantInput, MoreTimeInput, RequestInput, Status,
};
use crate::information_requests::store::extensions::MoreTime;
use crate::information_requests::store::files::{FileId, FileInfo};
use crate::information_requests::store::{
    InformationRequest, InformationRequestId, Recipient, Sender,
};
use crate::information_requests::{
    answer, ask_more_time, decline, file, files, grant_more_time, inbox, may_answer, read, send,
    trail, upload, Viewer,
};
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
    )
    .route(
        "/information-requests/{id}/more-time",
        web::post().to(post_information_request_more_time),
    )
    .route(
        "/information-requests/{id}/due-date",
        web::post().to(post_information_request_due_date),
    )
    .route(
        "/information-requests/{id}/files/{file_id}",
        web::get().to(get_information_request_file),
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
    /// The files of the answer (each at `…/files/{file_id}`); given by `GET` of one and by the
    /// answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<FileInfo>>,
    /// The receivers' asks for more time and what was granted; given by `GET` of one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub more_time: Option<Vec<MoreTime>>,
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
            files: None,
            more_time: None,
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
    let detail = state
        .db_with_settings(move |conn, settings| read(conn, settings, &actor, &id))
        .await?;
    let body = InformationRequestBody {
        recipients: Some(detail.recipients),
        sender: Some(detail.sender),
        files: Some(detail.files),
        more_time: Some(detail.more_time),
        ..InformationRequestBody::new(detail.request, detail.viewer)
    };
    Ok(HttpResponse::Ok().json(body))
}

/// `POST /api/v1/information-requests/{id}/answer` (a user it is addressed to, once): the
/// answer as `multipart/form-data` — a `text` part and zero or more `file` parts (PDF, PNG, JPEG,
/// Word .docx/.doc, told by content; each at most 10 MB, at most 5; not empty; a name without
/// `/`, `\`, `..` or control characters) — or, for text only, JSON `{"text": …}`. Any refused
/// file stores nothing. The answer is filed in the child's journal as a signed entry.
#[utoipa::path(post, path = "/api/v1/information-requests/{id}/answer", tag = "information requests",
    params(("id" = String, Path, description = "Information request id")),
    request_body(content(
        (AnswerUpload = "multipart/form-data"),
        (AnswerInput = "application/json"),
    )),
    responses(
        (status = 201, description = "Answered", body = InformationRequestBody),
        (status = 404, body = crate::error::ErrorResponse),
        (status = 409, description = "Already answered or declined", body = crate::error::ErrorResponse),
        (status = 422, description = "The text missing, or a file refused (field `file`, the message names the file and why)", body = crate::error::ErrorResponse),
    ),
    security(("bearer" = [])))]
pub async fn post_information_request_answer(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = InformationRequestId(path.into_inner());
    let (asker, request) = (actor.clone(), id.clone());
    state
        .db_with_settings(move |conn, settings| may_answer(conn, settings, &asker, &request))
        .await?;
    let (input, uploaded) = if upload::is_multipart(req.headers()) {
        let upload = upload::read(req.headers(), payload).await?;
        (
            AnswerInput {
                text: upload.field("text"),
            },
            upload.files,
        )
    } else {
        (json_answer(req.headers(), payload).await?, Vec::new())
    };
    let (request, files) = state
        .db_with_settings(move |conn, settings| {
            answer(conn, settings, &actor, &id, &input, uploaded)
        })
        .await?;
    Ok(HttpResponse::Created().json(InformationRequestBody {
        files: Some(files),
        ..InformationRequestBody::new(request, Viewer::Receiver)
    }))
}

/// A text-only answer as JSON (at most 256 kB, like every JSON body).
async fn json_answer(
    headers: &header::HeaderMap,
    mut payload: web::Payload,
) -> Result<AnswerInput, AppError> {
    use futures_util::StreamExt;
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
    if !json {
        return Err(AppError::UnsupportedMediaType(
            "Skicka svaret som multipart/form-data (text och filer) eller som JSON med \
             Content-Type: application/json."
                .into(),
        ));
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| AppError::BadRequest("Innehållet kunde inte läsas.".into()))?;
        if body.len() + chunk.len() > 256 * 1024 {
            return Err(AppError::BadRequest("Innehållet är för stort.".into()));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| AppError::BadRequest(format!("Felaktig JSON: {e}")))
}

/// The parts of a multipart answer (for the OpenAPI document).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AnswerUpload {
    /// The answer.
    text: String,
    /// Zero or more files (repeat the part).
    #[schema(value_type = Vec<String>, format = Binary)]
    file: Vec<Vec<u8>>,
}

/// `GET /api/v1/information-requests/{id}/files/{file_id}` (a user it is addressed to, or
/// social services of its municipality): the file, as an attachment with its checked content
/// type; the read is audited.
#[utoipa::path(get, path = "/api/v1/information-requests/{id}/files/{file_id}", tag = "information requests",
    params(
        ("id" = String, Path, description = "Information request id"),
        ("file_id" = String, Path, description = "File id"),
    ),
    responses(
        (status = 200, description = "The file (`Content-Disposition: attachment`, `X-Content-Type-Options: nosniff`)", content_type = "application/octet-stream"),
        (status = 404, description = "No such request or file, or not yours to see", body = crate::error::ErrorResponse),
    ),
    security(("bearer" = [])))]
pub async fn get_information_request_file(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, file_id) = path.into_inner();
    let (id, file_id) = (InformationRequestId(id), FileId(file_id));
    let found = state
        .db_with_settings(move |conn, settings| file(conn, settings, &actor, &id, &file_id))
        .await?;
    Ok(attachment(found))
}

/// A stored file as a download: never shown inline, never sniffed, its checked type only.
pub fn attachment((info, bytes): (FileInfo, Vec<u8>)) -> HttpResponse {
    let content_type = files::FileKind::from_content_type(&info.content_type)
        .map_or("application/octet-stream", files::FileKind::content_type);
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((
            header::CONTENT_DISPOSITION,
            files::attachment_header(&info.name),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(bytes)
}

/// `POST /api/v1/information-requests/{id}/more-time` (a user it is addressed to, while it is
/// open): asks for more time with a reason and perhaps a wished date; the caseworker sees it on
/// the request.
#[utoipa::path(post, path = "/api/v1/information-requests/{id}/more-time", tag = "information requests",
    params(("id" = String, Path, description = "Information request id")),
    request_body = MoreTimeInput,
    responses(
        (status = 201, description = "Asked", body = InformationRequestBody),
        (status = 404, body = crate::error::ErrorResponse),
        (status = 409, description = "Already answered or declined", body = crate::error::ErrorResponse),
        (status = 422, body = crate::error::ErrorResponse),
    ),
    security(("bearer" = [])))]
pub async fn post_information_request_more_time(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<MoreTimeInput>,
) -> Result<HttpResponse, ApiError> {
    let id = InformationRequestId(path.into_inner());
    let input = body.into_inner();
    let request = state
        .db_with_settings(move |conn, settings| ask_more_time(conn, settings, &actor, &id, &input))
        .await?;
    Ok(HttpResponse::Created().json(InformationRequestBody::new(request, Viewer::Receiver)))
}

/// `POST /api/v1/information-requests/{id}/due-date` (caseworkers of its municipality, while it
/// is open): a new last day, granting any ask for more time; the reminder follows the new day.
#[utoipa::path(post, path = "/api/v1/information-requests/{id}/due-date", tag = "information requests",
    params(("id" = String, Path, description = "Information request id")),
    request_body = GrantInput,
    responses(
        (status = 200, description = "The new last day is set", body = InformationRequestBody),
        (status = 404, body = crate::error::ErrorResponse),
        (status = 409, description = "Already answered or declined", body = crate::error::ErrorResponse),
        (status = 422, body = crate::error::ErrorResponse),
    ),
    security(("bearer" = [])))]
pub async fn post_information_request_due_date(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<GrantInput>,
) -> Result<HttpResponse, ApiError> {
    let id = InformationRequestId(path.into_inner());
    let input = body.into_inner();
    let request = state
        .db_with_settings(move |conn, settings| {
            grant_more_time(conn, settings, &actor, &id, &input)
        })
        .await?;
    Ok(HttpResponse::Ok().json(InformationRequestBody::new(request, Viewer::SocialServices)))
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
