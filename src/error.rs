//! One error type for the whole service, answered as JSON on the API and as a Swedish page on the
//! web. The kind decides the response; the cause goes to the log only.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use serde::Serialize;

/// A mistake in one field of a form or JSON body, in Swedish for the user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("ogiltiga uppgifter")]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(String),
    #[error("du behöver logga in")]
    Unauthenticated,
    /// A web page that needs a logged-in user: send the browser to the login page.
    #[error("du behöver logga in")]
    LoginRequired {
        next: String,
        expired: bool,
        second_factor: bool,
    },
    #[error("du har inte behörighet till det här")]
    Forbidden,
    #[error("sidan eller uppgiften finns inte")]
    NotFound,
    /// The address exists, but not for this method (the `Allow` header says which it takes).
    #[error("adressen tar inte emot den metoden")]
    MethodNotAllowed,
    /// A request body in a form the service does not read (such as a compressed body).
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Conflict(String),
    #[error("formuläret har gått ut")]
    CsrfFailed,
    #[error("för många försök")]
    TooManyRequests,
    #[error("tjänsten kan inte nå databasen just nu")]
    Unavailable(String),
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        AppError::Internal(anyhow::anyhow!("{e}"))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::LoginRequired { .. } => StatusCode::SEE_OTHER,
            AppError::Forbidden | AppError::CsrfFailed => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable machine-readable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Invalid(_) => "invalid_input",
            AppError::BadRequest(_) => "bad_request",
            AppError::Unauthenticated | AppError::LoginRequired { .. } => "unauthenticated",
            AppError::Forbidden => "forbidden",
            AppError::NotFound => "not_found",
            AppError::MethodNotAllowed => "method_not_allowed",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::Conflict(_) => "conflict",
            AppError::CsrfFailed => "csrf_failed",
            AppError::TooManyRequests => "too_many_requests",
            AppError::Unavailable(_) => "unavailable",
            AppError::Internal(_) => "internal",
        }
    }

    /// What the user reads, in Swedish, with what to do next.
    pub fn user_message(&self) -> String {
        match self {
            AppError::Invalid(_) => "Några uppgifter behöver rättas. Se felen nedan.".into(),
            AppError::BadRequest(m)
            | AppError::Conflict(m)
            | AppError::UnsupportedMediaType(m) => m.clone(),
            AppError::Unauthenticated | AppError::LoginRequired { .. } => {
                "Du behöver logga in för att fortsätta.".into()
            }
            AppError::Forbidden => "Du har inte behörighet till det här.".into(),
            AppError::NotFound => "Sidan eller uppgiften finns inte.".into(),
            AppError::MethodNotAllowed => {
                "Adressen finns, men den går inte att använda på det här sättet.".into()
            }
            AppError::CsrfFailed => {
                "Formuläret har gått ut av säkerhetsskäl. Ladda om sidan och försök igen.".into()
            }
            AppError::Unavailable(_) => {
                "Tjänsten kan inte nå databasen just nu. Försök igen om en stund.".into()
            }
            AppError::TooManyRequests => {
                "Det har kommit många anmälningar härifrån på kort tid. Vänta en stund och försök igen, \
                 eller ring socialtjänsten. Är ett barn i akut fara: ring 112."
                    .into()
            }
            AppError::Internal(_) => {
                "Något gick fel hos oss. Försök igen om en stund; kvarstår felet, kontakta supporten."
                    .into()
            }
        }
    }

    fn log(&self) {
        match self {
            AppError::Internal(e) => tracing::error!(error = %format!("{e:#}"), "internal error"),
            AppError::Unavailable(cause) => tracing::warn!(%cause, "database unavailable"),
            _ => {}
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => AppError::NotFound,
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => AppError::Unavailable(info.message().to_string()),
            other => AppError::internal(other),
        }
    }
}

impl From<r2d2::Error> for AppError {
    fn from(e: r2d2::Error) -> Self {
        AppError::Unavailable(e.to_string())
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::internal(e)
    }
}

/// Every API error as sent: a machine-readable code, a Swedish message, and for invalid input one
/// entry per wrong field. `errors` is left out when there are none, and the OpenAPI schema says
/// so (a field skipped when empty is not required).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorResponse {
    /// `invalid_input`, `bad_request`, `unauthenticated`, `forbidden`, `not_found`,
    /// `method_not_allowed`, `unsupported_media_type` (a compressed body), `conflict`,
    /// `too_many_requests`, `unavailable` or `internal`.
    pub error: String,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// An error answered as JSON ([`ErrorResponse`]): `{"error": code, "message": …, "errors": [{field, message}]}`.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ApiError(#[from] pub AppError);

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        ApiError(e.into())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self.0.status() {
            StatusCode::SEE_OTHER => StatusCode::UNAUTHORIZED,
            other => other,
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.0.log();
        let errors = match &self.0 {
            AppError::Invalid(errors) => errors.clone(),
            _ => Vec::new(),
        };
        let mut response = HttpResponse::build(self.status_code());
        if matches!(self.0, AppError::Unauthenticated) {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.json(ErrorResponse {
            error: self.0.code().into(),
            message: self.0.user_message(),
            errors,
        })
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    title: &'static str,
    message: String,
}

/// An error answered as a Swedish web page (or a redirect to the login page).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct PageError(#[from] pub AppError);

impl From<diesel::result::Error> for PageError {
    fn from(e: diesel::result::Error) -> Self {
        PageError(e.into())
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.0.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.0.log();
        if let AppError::LoginRequired {
            next,
            expired,
            second_factor,
        } = &self.0
        {
            let page = if *second_factor {
                "/login/kod"
            } else {
                "/login"
            };
            let mut target = format!("{page}?next={}", encode_query_value(next));
            if *expired {
                target.push_str("&expired=1");
            }
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, target))
                .finish();
        }
        let title = match self.0.status() {
            StatusCode::NOT_FOUND => "Sidan finns inte",
            StatusCode::METHOD_NOT_ALLOWED => "Det går inte att göra så här",
            StatusCode::FORBIDDEN => "Ingen behörighet",
            StatusCode::SERVICE_UNAVAILABLE => "Tillfälligt fel",
            s if s.is_client_error() => "Något behöver rättas",
            _ => "Något gick fel",
        };
        let message = match &self.0 {
            // No form to show the fields' messages beside (input refused before any handler
            // ran, see `crate::input`): the page says them.
            AppError::Invalid(errors) if !errors.is_empty() => errors
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            other => other.user_message(),
        };
        let page = ErrorPage { title, message };
        let body = page
            .render()
            .unwrap_or_else(|_| "Något gick fel.".to_string());
        HttpResponse::build(self.status_code())
            .content_type("text/html; charset=utf-8")
            .body(body)
    }
}

/// Percent-encodes a value for a query string. Here because the login redirect above needs it
/// and this module imports nothing of the service; the web layer re-exports it.
pub fn encode_query_value(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
