//! The webhook worker: claims one due delivery at a time (the mail outbox's pattern: `FOR UPDATE
//! SKIP LOCKED` on PostgreSQL, the write lock on SQLite, a claim that runs out is taken up again),
//! posts it signed to its endpoint, and marks it delivered on a 2xx answer; otherwise it is tried
//! again with a doubling wait until `SAMORDNA_WEBHOOK_MAX_ATTEMPTS`. The endpoint's address is
//! resolved and checked on every attempt (the calendar addresses' rule, [`Reach`]) and the post
//! goes to exactly the addresses checked.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use diesel::prelude::*;

use crate::config::Settings;
use crate::crypto::rows::SealedRow;
use crate::crypto::Keyring;
use crate::db::schema::{webhook_deliveries, webhook_endpoints};
use crate::db::{now, write_tx, AnyConnection, DbPool};
use crate::error::AppError;
use crate::schedule::fetch::{addresses_of, Reach};
use crate::webhooks::{sign, Delivery, DeliveryId, DeliveryStatus, Endpoint};

/// How long a claim holds before another worker may take the delivery.
const CLAIM: TimeDelta = TimeDelta::minutes(2);
/// How long one post may take.
const TIMEOUT: Duration = Duration::from_secs(15);

/// Which addresses an endpoint may have: public ones, or any with `SAMORDNA_WEBHOOK_PRIVATE`.
pub fn reach(settings: &Settings) -> Reach {
    Reach {
        private: settings.webhook_private,
        allowed: Vec::new(),
    }
}

/// Takes the oldest due delivery (queued and due, or claimed by a worker whose claim ran out),
/// with its endpoint opened with `keys`.
pub fn claim_next(
    conn: &mut AnyConnection,
    keys: &Keyring,
) -> Result<Option<(Delivery, Endpoint)>, AppError> {
    write_tx(conn, |conn| {
        let at = now();
        macro_rules! due {
            () => {
                webhook_deliveries::table
                    .filter(
                        webhook_deliveries::status
                            .eq(DeliveryStatus::Queued)
                            .and(webhook_deliveries::next_attempt_at.le(at))
                            .or(webhook_deliveries::status
                                .eq(DeliveryStatus::Sending)
                                .and(webhook_deliveries::locked_until.lt(at))),
                    )
                    .order(webhook_deliveries::created_at)
                    .select(webhook_deliveries::id)
            };
        }
        let id: Option<DeliveryId> = match conn {
            AnyConnection::Postgresql(pg) => due!().for_update().skip_locked().first(pg),
            AnyConnection::Sqlite(sqlite) => due!().first(sqlite),
        }
        .optional()?;
        let Some(id) = id else { return Ok(None) };
        diesel::update(webhook_deliveries::table.find(&id))
            .set((
                webhook_deliveries::status.eq(DeliveryStatus::Sending),
                webhook_deliveries::locked_until.eq(at + CLAIM),
                webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
            ))
            .execute(conn)?;
        let (delivery, endpoint): (Delivery, Endpoint) = webhook_deliveries::table
            .inner_join(webhook_endpoints::table)
            .filter(webhook_deliveries::id.eq(&id))
            .select((Delivery::as_select(), Endpoint::as_select()))
            .first(conn)?;
        Ok(Some((delivery, endpoint.open(keys)?)))
    })
}

/// Marks a delivery delivered, if this worker's claim still holds it (`attempts` as claimed).
pub fn mark_delivered(conn: &mut AnyConnection, delivery: &Delivery) -> Result<(), AppError> {
    diesel::update(
        webhook_deliveries::table
            .find(&delivery.id)
            .filter(webhook_deliveries::attempts.eq(delivery.attempts)),
    )
    .set((
        webhook_deliveries::status.eq(DeliveryStatus::Delivered),
        webhook_deliveries::delivered_at.eq(now()),
        webhook_deliveries::locked_until.eq(None::<chrono::NaiveDateTime>),
        webhook_deliveries::last_error.eq(None::<String>),
    ))
    .execute(conn)?;
    Ok(())
}

/// Records a failed attempt: tried again after the backoff, or given up after the last attempt
/// or when the endpoint was removed.
pub fn mark_failed(
    conn: &mut AnyConnection,
    delivery: &Delivery,
    error: &str,
    give_up: bool,
    settings: &Settings,
) -> Result<(), AppError> {
    let give_up = give_up || delivery.attempts >= settings.webhook_max_attempts;
    diesel::update(
        webhook_deliveries::table
            .find(&delivery.id)
            .filter(webhook_deliveries::attempts.eq(delivery.attempts)),
    )
    .set((
        webhook_deliveries::status.eq(if give_up {
            DeliveryStatus::Failed
        } else {
            DeliveryStatus::Queued
        }),
        webhook_deliveries::last_error.eq(error),
        webhook_deliveries::locked_until.eq(None::<chrono::NaiveDateTime>),
        webhook_deliveries::next_attempt_at
            .eq(now()
                + crate::mail::worker::backoff(settings.webhook_retry_base, delivery.attempts)),
    ))
    .execute(conn)?;
    Ok(())
}

/// Posts one delivery; `Err` holds the Swedish reason shown on the admin page.
async fn post(delivery: &Delivery, endpoint: &Endpoint, reach: &Reach) -> Result<(), String> {
    const UNREACHABLE: &str = crate::schedule::fetch::UNREACHABLE;
    let url = url::Url::parse(&endpoint.url).map_err(|_| "adressen är ogiltig".to_string())?;
    let addrs = addresses_of(&url).await.ok_or(UNREACHABLE)?;
    if !reach.permits(&addrs) {
        return Err(format!(
            "{UNREACHABLE} (adressen är i ett privat nät, se SAMORDNA_WEBHOOK_PRIVATE)"
        ));
    }
    let mut client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .user_agent(concat!("samordna/", env!("CARGO_PKG_VERSION")));
    if let Some(url::Host::Domain(name)) = url.host() {
        client = client.resolve_to_addrs(name, &addrs);
    }
    let client = client.build().map_err(|_| UNREACHABLE.to_string())?;
    let timestamp = now().and_utc().timestamp();
    let signature = sign(
        &endpoint.secret,
        delivery.id.as_str(),
        timestamp,
        &delivery.payload,
    )
    .map_err(|_| "hemligheten går inte att läsa".to_string())?;
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", delivery.id.as_str())
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(delivery.payload.clone())
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "mottagaren svarade inte i tid".to_string()
            } else {
                UNREACHABLE.to_string()
            }
        })?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("mottagaren svarade med {}", status.as_u16()))
    }
}

/// Delivers one due delivery, if there is one. Returns whether it found one.
pub async fn deliver_one(pool: &DbPool, settings: &Settings) -> Result<bool, AppError> {
    let (claim_pool, keys) = (pool.clone(), settings.keys.clone());
    let claimed =
        actix_web::web::block(move || claim_next(&mut *claim_pool.get()?, &keys)).await??;
    let Some((delivery, endpoint)) = claimed else {
        return Ok(false);
    };
    let outcome = if endpoint.removed_at.is_some() {
        Err(("mottagaren är borttagen".to_string(), true))
    } else {
        post(&delivery, &endpoint, &reach(settings))
            .await
            .map_err(|e| (e, false))
    };
    let pool = pool.clone();
    let settings = settings.clone();
    actix_web::web::block(move || {
        let conn = &mut *pool.get()?;
        match outcome {
            Ok(()) => mark_delivered(conn, &delivery),
            Err((error, give_up)) => {
                tracing::warn!(webhook_id = %delivery.id.as_str(), attempt = delivery.attempts, %error, "webhook not delivered");
                mark_failed(conn, &delivery, &error, give_up, &settings)
            }
        }
    })
    .await??;
    Ok(true)
}

/// Runs until the process ends: delivers what is due, then waits the poll interval.
pub async fn run(pool: DbPool, settings: Arc<Settings>) {
    loop {
        match deliver_one(&pool, &settings).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "webhook worker could not reach the database"),
        }
        tokio::time::sleep(settings.webhook_poll_interval).await;
    }
}
