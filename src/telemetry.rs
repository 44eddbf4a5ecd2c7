//! Logging. Nothing identifying is ever logged: handlers log ids, never content, and request
//! spans carry the method, the route pattern and the status, never the client's address, user
//! agent or the concrete path (which may hold a token).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use tracing::Span;
use tracing_subscriber::EnvFilter;

/// Request spans without the client's IP address or user agent, which the default includes: an
/// anonymous reporter must leave no trace.
pub struct PrivateRootSpan;

impl tracing_actix_web::RootSpanBuilder for PrivateRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into());
        tracing::info_span!(
            "request",
            method = %request.method(),
            route = %route,
            status = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        let status = match outcome {
            Ok(response) => response.status().as_u16(),
            Err(error) => error.as_response_error().status_code().as_u16(),
        };
        span.record("status", status);
        // The access log: one line per request, with the fields of the span above.
        if status >= 500 {
            tracing::warn!(parent: &span, "request failed");
        } else {
            tracing::info!(parent: &span, "request");
        }
    }
}

/// Logs to standard error; `RUST_LOG` sets the level (default `info`).
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
