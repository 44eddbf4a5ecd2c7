//! Protection against cross-site request forgery, in two layers:
//!
//! 1. [`check_origin`], middleware on every route: a state-changing request that a browser marks as
//!    coming from another site (`Sec-Fetch-Site`, or an `Origin` that is not ours) is refused.
//! 2. [`CsrfForm`], the only way a page handler reads a form: the form must carry `csrf_token`, an
//!    HMAC of the browser's random `samordna_csrf` cookie. The cookie is replaced at login and
//!    logout, so the token is per session.
//!
//! API calls authenticated by a bearer token carry no cookies and are not subject to either.

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::config::Settings;
use crate::error::{AppError, PageError};
use crate::secrets::{keyed_hash, random_token, same};
use crate::web::AppState;

pub const COOKIE: &str = "samordna_csrf";
pub const FIELD: &str = "csrf_token";
const FORM_LIMIT: usize = 256 * 1024;

/// The browser's CSRF cookie value for this request (new if it had none).
#[derive(Clone)]
struct CsrfCookie(String);

pub fn cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build(COOKIE, value)
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .finish()
}

/// A fresh CSRF cookie, set at login and logout so that tokens do not outlive a session.
pub fn rotated_cookie(secure: bool) -> Cookie<'static> {
    cookie(random_token(), secure)
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn has_bearer(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer "))
}

/// Middleware: refuses cross-site state-changing requests and gives every browser a CSRF cookie.
pub async fn check_origin(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .expect("AppState is registered");
    if is_unsafe(req.method()) && !has_bearer(req.request()) && !same_site(&req, &state) {
        tracing::info!("cross-site request refused");
        return Err(PageError(AppError::CsrfFailed).into());
    }
    let new_cookie = match req.cookie(COOKIE) {
        Some(c) if !c.value().is_empty() => {
            req.extensions_mut()
                .insert(CsrfCookie(c.value().to_string()));
            None
        }
        _ => {
            let value = random_token();
            req.extensions_mut().insert(CsrfCookie(value.clone()));
            Some(value)
        }
    };
    let mut response = next.call(req).await?;
    if let Some(value) = new_cookie {
        let already_set = response.response().cookies().any(|c| c.name() == COOKIE);
        if !already_set {
            response
                .response_mut()
                .add_cookie(&cookie(value, state.settings.is_https()))?;
        }
    }
    Ok(response)
}

fn same_site(req: &ServiceRequest, state: &AppState) -> bool {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(origin) => {
            let ours = state.settings.base_url.origin().ascii_serialization();
            let host = req.connection_info().host().to_string();
            origin == ours
                || origin == format!("http://{host}")
                || origin == format!("https://{host}")
        }
    }
}

/// The token to put in a form's hidden `csrf_token` field.
pub fn token_for(req: &HttpRequest) -> String {
    let state = req.app_data::<web::Data<AppState>>().expect("AppState");
    let cookie = req
        .extensions()
        .get::<CsrfCookie>()
        .map(|c| c.0.clone())
        .unwrap_or_default();
    token_for_cookie(&state.settings, &cookie)
}

/// The form token that goes with a CSRF cookie value.
pub fn token_for_cookie(settings: &Settings, cookie: &str) -> String {
    keyed_hash(&settings.secret_key, "csrf", cookie)
}

/// Checks a form's `csrf_token` against this browser's CSRF cookie (every form extractor uses
/// this: [`CsrfForm`] and the file upload).
pub fn check_token(req: &HttpRequest, token: Option<&str>) -> Result<(), PageError> {
    let has_cookie = req.cookie(COOKIE).is_some();
    match token {
        Some(token) if has_cookie && same(token, &token_for(req)) => Ok(()),
        _ => {
            tracing::info!("form refused: missing or wrong CSRF token");
            Err(AppError::CsrfFailed.into())
        }
    }
}

/// A URL-encoded form whose CSRF token has been checked. Fields are `T`; `csrf_token` is ignored
/// by `T` as serde ignores unknown fields.
pub struct CsrfForm<T>(pub T);

/// For forms that carry nothing but the CSRF token (a logout or revoke button).
#[derive(serde::Deserialize)]
pub struct NoFields {}

#[derive(serde::Deserialize)]
struct TokenOnly {
    csrf_token: Option<String>,
}

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let body = body.await.map_err(|_| {
                AppError::BadRequest("Formuläret kunde inte läsas. Försök igen.".into())
            })?;
            if body.len() > FORM_LIMIT {
                return Err(AppError::BadRequest("Formuläret är för stort.".into()).into());
            }
            let sent: TokenOnly = serde_urlencoded::from_bytes(&body)
                .map_err(|_| AppError::BadRequest("Formuläret kunde inte läsas.".into()))?;
            check_token(&req, sent.csrf_token.as_deref())?;
            serde_urlencoded::from_bytes(&body)
                .map(CsrfForm)
                .map_err(|e| {
                    AppError::BadRequest(format!("Formuläret kunde inte läsas ({e}).")).into()
                })
        })
    }
}
