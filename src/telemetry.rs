//! Logging. Nothing identifying is ever logged: handlers log ids, never content, and request
//! spans carry the method, the route pattern and the status, never the client's address, user
//! agent or the concrete path (which may hold a token).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use tracing::Span;
use tracing_subscriber::filter::{filter_fn, FilterExt};
use tracing_subscriber::layer::{Filter, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Request spans without the client's IP address or user agent, which the default includes: an
/// anonymous reporter must leave no trace.
pub struct PrivateRootSpan;

impl tracing_actix_web::RootSpanBuilder for PrivateRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = request
            .match_pattern()
            .filter(|pattern| !pattern.ends_with(crate::web::methods::UNROUTED))
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

/// Log targets whose events carry the concrete request path, which may hold a token or an id:
/// actix-web logs it at debug level when a path, query, JSON body, `Data` or request data cannot
/// be read (`"Failed to deserialize Json from payload. Request path: …"`), and its `Logger`
/// middleware (not used here) logs whole request lines. Dropped at every level, whatever
/// `RUST_LOG` says, so that no level logs a concrete path.
const PATH_LOGGING_TARGETS: &[&str] = &[
    "actix_web::types",
    "actix_web::request_data",
    "actix_web::data",
    "actix_web::thin_data",
    "actix_web::middleware::logger",
];

/// Whether events of `target` may be logged (see [`PATH_LOGGING_TARGETS`]).
pub fn target_allowed(target: &str) -> bool {
    !PATH_LOGGING_TARGETS.iter().any(|t| {
        target == *t
            || target
                .strip_prefix(t)
                .is_some_and(|rest| rest.starts_with("::"))
    })
}

/// The filter of every log output: `directives` as in `RUST_LOG`, without the targets that log
/// concrete paths (directives that cannot be read give `info`). The tests' log capture uses it
/// too, so what they scan is what is logged.
pub fn filter<S>(directives: &str) -> impl Filter<S>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    EnvFilter::try_new(directives)
        .unwrap_or_else(|_| EnvFilter::new("info"))
        .and(filter_fn(|meta| target_allowed(meta.target())))
}

/// Logs to standard error; `RUST_LOG` sets the level (default `info`).
pub fn init(json: bool) {
    let directives = std::env::var(EnvFilter::DEFAULT_ENV).unwrap_or_else(|_| "info".into());
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let _ = if json {
        tracing_subscriber::registry()
            .with(layer.json().with_filter(filter(&directives)))
            .try_init()
    } else {
        tracing_subscriber::registry()
            .with(layer.with_filter(filter(&directives)))
            .try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actix_targets_that_log_paths_are_dropped() {
        for target in [
            "actix_web::types::json",
            "actix_web::types::path",
            "actix_web::types::query",
            "actix_web::request_data",
            "actix_web::data",
            "actix_web::middleware::logger",
        ] {
            assert!(!target_allowed(target), "{target}");
        }
        for target in [
            "samordna::web",
            "actix_web",
            "actix_web::datax",
            "actix_http::h1::dispatcher",
            "actix_server::accept",
            "tracing_actix_web::root_span_builder",
        ] {
            assert!(target_allowed(target), "{target}");
        }
    }
}
