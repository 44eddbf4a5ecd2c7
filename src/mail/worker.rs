//! The outbox worker: claims one due message at a time, sends it, and marks it sent; on failure it
//! schedules a retry with exponential backoff. Several instances may run at once: a claim is atomic
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the write lock on SQLite), and a claim that is never
//! finished (the instance died mid-send) expires and is taken up again.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use diesel::prelude::*;
use tokio::sync::Notify;

use crate::config::Settings;
use crate::crypto::rows::SealedRow;
use crate::crypto::Keyring;
use crate::db::schema::outbox;
use crate::db::{now, write_tx, AnyConnection, DbPool};
use crate::error::AppError;
use crate::mail::transport::{build_message, Transport};
use crate::mail::{OutboxId, OutboxMessage, OutboxStatus};

/// How long a claim holds before another worker may take the message.
const CLAIM: TimeDelta = TimeDelta::minutes(2);
const LONGEST_WAIT: TimeDelta = TimeDelta::hours(6);

/// The delay before attempt `attempts + 1`: base, 2×base, 4×base, … at most six hours.
pub fn backoff(base: Duration, attempts: i32) -> TimeDelta {
    let base = TimeDelta::from_std(base).unwrap_or(TimeDelta::seconds(30));
    let factor = 1i32 << attempts.clamp(1, 20).saturating_sub(1);
    (base * factor).min(LONGEST_WAIT)
}

/// Takes the oldest due message (queued and due, or claimed by a worker whose claim ran out),
/// opened with `keys`.
pub fn claim_next(
    conn: &mut AnyConnection,
    keys: &Keyring,
) -> Result<Option<OutboxMessage>, AppError> {
    write_tx(conn, |conn| {
        let at = now();
        macro_rules! due {
            () => {
                outbox::table
                    .filter(
                        outbox::status
                            .eq(OutboxStatus::Queued)
                            .and(outbox::next_attempt_at.le(at))
                            .or(outbox::status
                                .eq(OutboxStatus::Sending)
                                .and(outbox::locked_until.lt(at))),
                    )
                    .order(outbox::created_at)
                    .select(outbox::id)
            };
        }
        let id: Option<OutboxId> = match conn {
            AnyConnection::Postgresql(pg) => due!().for_update().skip_locked().first(pg),
            AnyConnection::Sqlite(sqlite) => due!().first(sqlite),
        }
        .optional()?;
        let Some(id) = id else { return Ok(None) };
        diesel::update(outbox::table.find(&id))
            .set((
                outbox::status.eq(OutboxStatus::Sending),
                outbox::locked_until.eq(at + CLAIM),
                outbox::attempts.eq(outbox::attempts + 1),
            ))
            .execute(conn)?;
        let message: OutboxMessage = outbox::table
            .find(&id)
            .select(OutboxMessage::as_select())
            .first(conn)?;
        Ok(Some(message.open(keys)?))
    })
}

pub fn mark_sent(conn: &mut AnyConnection, id: &OutboxId) -> Result<(), AppError> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq(OutboxStatus::Sent),
            outbox::sent_at.eq(now()),
            outbox::locked_until.eq(None::<chrono::NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn mark_failed(
    conn: &mut AnyConnection,
    message: &OutboxMessage,
    error: &str,
    permanent: bool,
    settings: &Settings,
) -> Result<(), AppError> {
    let give_up = permanent || message.attempts >= settings.mail_max_attempts;
    let status = if give_up {
        OutboxStatus::Failed
    } else {
        OutboxStatus::Queued
    };
    diesel::update(outbox::table.find(&message.id))
        .set((
            outbox::status.eq(status),
            outbox::last_error.eq(error),
            outbox::locked_until.eq(None::<chrono::NaiveDateTime>),
            outbox::next_attempt_at.eq(now() + backoff(settings.mail_retry_base, message.attempts)),
        ))
        .execute(conn)?;
    Ok(())
}

/// `error` with every mention of `address` (in any ASCII case) replaced by `(mottagaren)`.
/// ASCII lower-casing keeps every byte where it was, so offsets found in the lower-cased answer
/// are offsets in the answer itself, whatever else (non-ASCII text) the server wrote.
fn without_address(error: &str, address: &lettre::Address) -> String {
    let address = AsRef::<str>::as_ref(address).to_ascii_lowercase();
    if address.is_empty() {
        return error.to_string();
    }
    let lower = error.to_ascii_lowercase();
    let mut out = String::with_capacity(error.len());
    let mut rest = 0;
    for (at, _) in lower.match_indices(&address) {
        out.push_str(&error[rest..at]);
        out.push_str("(mottagaren)");
        rest = at + address.len();
    }
    out.push_str(&error[rest..]);
    out
}

/// Sends one due message, if there is one. Returns whether it found one.
pub async fn send_one(
    pool: &DbPool,
    transport: &Transport,
    settings: &Settings,
) -> Result<bool, AppError> {
    let (claim_pool, keys) = (pool.clone(), settings.keys.clone());
    let claimed =
        actix_web::web::block(move || claim_next(&mut *claim_pool.get()?, &keys)).await??;
    let Some(message) = claimed else {
        return Ok(false);
    };
    let email = message.email();
    let outcome = match email
        .as_ref()
        .map_err(std::string::ToString::to_string)
        .and_then(|email| build_message(email, &settings.mail_from, &message.message_id))
    {
        Ok(mime) => transport
            .send(mime)
            .await
            .map_err(|e| (e.message, e.permanent)),
        Err(e) => Err((e, true)),
    };
    // A mail server's answer often repeats the address ("550 <kim@…>: no such user"): the
    // error is logged and kept readable on the outbox page, so the address is taken out.
    let outcome = match (outcome, &email) {
        (Err((error, permanent)), Ok(email)) => {
            Err((without_address(&error, &email.to.email), permanent))
        }
        (other, _) => other,
    };
    let pool = pool.clone();
    let settings = settings.clone();
    let id = message.id.clone();
    actix_web::web::block(move || {
        let conn = &mut *pool.get()?;
        match outcome {
            Ok(()) => mark_sent(conn, &message.id),
            Err((error, permanent)) => {
                tracing::warn!(outbox_id = %message.id, attempt = message.attempts, %error, "mail not sent");
                mark_failed(conn, &message, &error, permanent, &settings)
            }
        }
    })
    .await??;
    tracing::debug!(outbox_id = %id, "outbox message handled");
    Ok(true)
}

/// Runs until the process ends: sends what is due, then waits for a nudge or the poll interval.
pub async fn run(pool: DbPool, transport: Transport, settings: Arc<Settings>, wake: Arc<Notify>) {
    loop {
        match send_one(&pool, &transport, &settings).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "outbox worker could not reach the database"),
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(settings.mail_poll_interval) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mail_servers_answer_loses_the_address() {
        let address: lettre::Address = "sara.lind@example.test".parse().unwrap();
        assert_eq!(
            without_address(
                "permanent error (550): 5.1.1 <Sara.Lind@Example.test>: Recipient unknown",
                &address
            ),
            "permanent error (550): 5.1.1 <(mottagaren)>: Recipient unknown"
        );
        assert_eq!(without_address("timed out", &address), "timed out");
    }

    #[test]
    fn a_non_ascii_answer_loses_a_mixed_case_address() {
        // "İ" lower-cases to three bytes and "ẞ" to two: the answer's length changes under
        // Unicode lower-casing, which must not let the address through.
        let address: lettre::Address = "sara.lind@example.test".parse().unwrap();
        assert_eq!(
            without_address(
                "550 İNGEN SÅDAN MOTTAGARE ẞ <SARA.Lind@Example.TEST> och sara.lind@example.test",
                &address
            ),
            "550 İNGEN SÅDAN MOTTAGARE ẞ <(mottagaren)> och (mottagaren)"
        );
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::from_secs(30);
        assert_eq!(backoff(base, 1), TimeDelta::seconds(30));
        assert_eq!(backoff(base, 2), TimeDelta::seconds(60));
        assert_eq!(backoff(base, 3), TimeDelta::seconds(120));
        assert_eq!(backoff(base, 30), TimeDelta::hours(6));
    }
}
