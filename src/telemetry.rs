//! Logging. Nothing identifying about a child is ever logged: handlers log ids, never content.

use tracing_subscriber::EnvFilter;

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
