//! Builds and starts the application on a listener, so that tests can bind port 0.

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, DefaultHeaders};
use actix_web::{web, App, HttpServer};
use std::net::TcpListener;
use tracing_actix_web::TracingLogger;

use crate::config::Settings;
use crate::db::{self, DbPool};
use crate::mail::transport::Transport;
use crate::web::AppState;

/// A running service: its address, and handles for tests and the command line.
pub struct Application {
    pub server: Server,
    pub port: u16,
    pub state: AppState,
}

/// Opens the database (running migrations) and the mail transport. Fails with one line saying
/// what is wrong.
pub fn prepare(settings: &Settings) -> Result<(DbPool, Transport), String> {
    let pool = db::connect(&settings.database_url, settings.db_pool_size)?;
    let mut conn = pool
        .get()
        .map_err(|e| format!("cannot open database: {e}"))?;
    db::run_migrations(&mut conn)?;
    crate::audit::open(&mut conn, &settings.audit_key)?;
    let transport = Transport::from_setting(&settings.mail)?;
    Ok((pool, transport))
}

/// Starts the web server on `listener` and this instance's outbox worker.
pub fn start(
    settings: Settings,
    pool: DbPool,
    transport: Transport,
    listener: TcpListener,
) -> std::io::Result<Application> {
    let port = listener.local_addr()?.port();
    let state = AppState::new(pool.clone(), settings);
    actix_web::rt::spawn(crate::mail::worker::run(
        pool,
        transport,
        state.settings.clone(),
        state.mail_wake.clone(),
    ));
    actix_web::rt::spawn(crate::webhooks::worker::run(
        state.pool.clone(),
        state.settings.clone(),
    ));
    actix_web::rt::spawn(crate::sip::reminders::run(
        state.pool.clone(),
        state.settings.clone(),
        state.mail_wake.clone(),
    ));
    actix_web::rt::spawn(crate::schedule::sources::run(
        state.pool.clone(),
        state.settings.clone(),
    ));
    actix_web::rt::spawn(db::checkpoints(state.pool.clone()));
    if !state.settings.audit_head_interval.is_zero() {
        actix_web::rt::spawn(crate::audit::log_head(
            state.pool.clone(),
            state.settings.audit_head_interval,
        ));
    }
    if !state.settings.retention_interval.is_zero() {
        actix_web::rt::spawn(crate::reports::retention::schedule(
            state.pool.clone(),
            state.settings.retention_interval,
        ));
    }
    if !state.settings.retention_interval.is_zero() {
        actix_web::rt::spawn(crate::consultations::schedule_retention(
            state.pool.clone(),
            state.settings.retention_interval,
            state.settings.consultation_months,
        ));
    }
    actix_web::rt::spawn(crate::information_requests::schedule_reminders(
        state.pool.clone(),
        state.settings.clone(),
        state.settings.reminder_poll_interval,
    ));
    let data = web::Data::new(state.clone());
    // Rendered calendar feeds, kept per user for the version they were made for: the feed's own
    // app data, so that the shared state need not know the capabilities.
    let feeds = web::Data::new(crate::sip::feed::FeedCache::default());
    // Identity providers' discovery documents and keys (single sign-on), fetched when first used.
    let sso = web::Data::new(crate::accounts::sso::client::MetadataCache::default());
    let https = state.settings.base_url.scheme() == "https";
    let server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(crate::input::refuse_nul))
            .wrap(from_fn(crate::web::methods::head_as_get))
            .wrap(from_fn(crate::web::csrf::check_origin))
            .wrap(security_headers(https))
            .wrap(TracingLogger::<crate::telemetry::PrivateRootSpan>::new())
            .app_data(data.clone())
            .app_data(feeds.clone())
            .app_data(sso.clone())
            .app_data(crate::api::json_config())
            .app_data(crate::web::page_query_config())
            .configure(crate::api::routes)
            .configure(crate::web::pages::routes)
            .configure(crate::home::routes)
            .configure(crate::accounts::web::routes)
            .configure(crate::accounts::sso::web::routes)
            .configure(crate::accounts::admin::routes)
            .configure(crate::audit::web::routes)
            .configure(crate::mail::web::routes)
            .configure(crate::webhooks::web::routes)
            .configure(crate::reports::web::routes)
            .configure(crate::consultations::web::routes)
            .configure(crate::journal::web::routes)
            .configure(crate::caseload::web::routes)
            .configure(crate::information_requests::caseworker_web::routes)
            .configure(crate::information_requests::web::routes)
            .configure(crate::statistics::web::routes)
            .configure(crate::sip::web::routes)
            .configure(crate::sip::web::caseworker_routes)
            .configure(crate::sip::feed::routes)
            .configure(crate::profile::routes)
            // Last: a wrong method on a known path is 405 with `Allow`, an unknown path 404.
            .service(crate::web::methods::unrouted())
            .default_service(web::to(crate::web::pages::not_found))
    })
    .listen(listener)?
    .run();
    Ok(Application {
        server,
        port,
        state,
    })
}

/// The Content-Security-Policy of every response: our own style sheet and forms, no script at all
/// (the pages have none, inline or not), no framing, no plug-ins, no base tag.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'self'; img-src 'self' data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Headers on every response; a response that sets one itself (the feed's and the style sheet's
/// caching) keeps its own. Pages and API answers hold children's data: no cache may keep them.
/// HSTS only when the service is served over https (`SAMORDNA_BASE_URL`).
fn security_headers(https: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add(("Cache-Control", "no-store"));
    if https {
        headers.add((
            "Strict-Transport-Security",
            "max-age=31536000; includeSubDomains",
        ))
    } else {
        headers
    }
}
