//! HTTP methods, once for the whole service: HEAD is answered like GET without the body wherever
//! GET works, and a method an address does not take is answered 405 with `Allow` (not 404).
//!
//! Routes are registered one method each (a route per path and method), which actix turns into
//! one resource per method, guarded by the method: a request with another method matches none of
//! them. Two pieces make the answers right without touching the routes:
//!
//! - [`head_as_get`] routes a HEAD request as the GET it mirrors, so it passes the same access
//!   checks and is audited like the GET. The connection layer (actix-http) noted that the request
//!   was HEAD when it read it, and sends the GET's status and headers, with the Content-Length the
//!   body would have had, and no body.
//! - [`unrouted`] is the last resource of the application and of the API scope and matches any
//!   path. It has no routes, so actix's own resource default answers it: 405 with `Allow` listing
//!   the methods whose guards were tried for this path while routing (the routes for this path),
//!   or 405 without `Allow` when no route has this path. [`answer_unrouted`] makes that this
//!   service's 405 (JSON on the API, a Swedish page elsewhere) or its 404.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{HttpServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, ResponseError};

use crate::error::{ApiError, AppError, PageError};

/// The pattern of [`unrouted`]: any path (under the scope it is in).
pub const UNROUTED: &str = "/{unrouted:.*}";

/// Middleware: a HEAD request is handled as a GET (see the module's description).
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}

/// The last resource of the application and of the API scope (see the module's description).
pub fn unrouted() -> impl HttpServiceFactory {
    web::resource(UNROUTED).wrap(from_fn(answer_unrouted))
}

/// Turns actix's 405 for a path without a route for this method into ours, with `Allow` listing
/// the path's methods; a path without any route is 404.
async fn answer_unrouted(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let response = next.call(req).await?;
    let allowed = response
        .headers()
        .get(header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .map(allow_header)
        .filter(|methods| !methods.is_empty());
    let (req, _) = response.into_parts();
    let api = req.path().starts_with("/api/");
    let answer = match allowed {
        Some(methods) => {
            let mut answer = if api {
                ApiError(AppError::MethodNotAllowed).error_response()
            } else {
                PageError(AppError::MethodNotAllowed).error_response()
            };
            answer.headers_mut().insert(
                header::ALLOW,
                header::HeaderValue::from_str(&methods)
                    .map_err(actix_web::error::ErrorInternalServerError)?,
            );
            answer
        }
        None => crate::web::pages::not_found(req.clone()).await,
    };
    Ok(ServiceResponse::new(req, answer))
}

/// The `Allow` value for the methods the routes of a path take (as actix lists them, possibly
/// more than once): each once, in a fixed order, with HEAD wherever GET is (see [`head_as_get`]).
pub fn allow_header(registered: &str) -> String {
    let mut methods: Vec<String> = registered
        .split(',')
        .map(|m| m.trim().to_ascii_uppercase())
        .filter(|m| !m.is_empty())
        .collect();
    if methods.iter().any(|m| m == "GET") {
        methods.push("HEAD".into());
    }
    const ORDER: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    let rank = |m: &String| ORDER.iter().position(|o| o == m).unwrap_or(ORDER.len());
    methods.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
    methods.dedup();
    methods.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_lists_each_method_once_with_head_beside_get() {
        assert_eq!(allow_header("GET"), "GET, HEAD");
        assert_eq!(allow_header("POST"), "POST");
        assert_eq!(allow_header("POST, GET, GET"), "GET, HEAD, POST");
        assert_eq!(allow_header("patch,get"), "GET, HEAD, PATCH");
        assert_eq!(allow_header(""), "");
    }
}
