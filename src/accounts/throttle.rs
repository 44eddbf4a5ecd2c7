//! Sign-in throttling, shared by every instance through the database: after too many attempts
//! for one account (the address as typed, whether or not such an account exists, so the answer
//! never tells whether it does), from one client address, or at one user's second-step code,
//! within a window, further attempts are refused for the rest of the window.
//!
//! An attempt is counted before it is checked and given back when it succeeds, all under a lock
//! on what is counted, so requests sent in parallel, to one instance or to several, cannot slip
//! past the limit before their failures count. What is counted is stored only as a keyed hash:
//! neither a typed address nor a network address is kept, and every row goes after the window.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::accounts::UserId;
use crate::db::schema::sign_in_attempts;
use crate::db::{write_tx, AnyConnection};
use crate::error::AppError;

/// Minutes a locked-out account, address or code waits.
pub const WINDOW_MINUTES: i64 = 15;

/// One thing sign-in is counted for, with its limit within the window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counter {
    hash: String,
    limit: i64,
}

impl Counter {
    /// Password attempts for the address as typed (case and spaces do not matter): 5.
    pub fn account(secret: &[u8], typed_email: &str) -> Self {
        Self::new(secret, "account", &typed_email.trim().to_lowercase(), 5)
    }

    /// Password attempts from one client address: 20.
    pub fn address(secret: &[u8], client: Option<std::net::IpAddr>) -> Self {
        let client = client.map(|a| a.to_string()).unwrap_or_default();
        Self::new(secret, "address", &client, 20)
    }

    /// Second-step codes typed for one user: 5, as for passwords, so that a six-digit code cannot
    /// be found by trying.
    pub fn code(secret: &[u8], user: &UserId) -> Self {
        Self::new(secret, "code", user.as_str(), 5)
    }

    fn new(secret: &[u8], kind: &str, value: &str, limit: i64) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
        mac.update(b"sign-in throttle\0");
        mac.update(kind.as_bytes());
        mac.update(b"\0");
        mac.update(value.as_bytes());
        Self {
            hash: hex::encode(mac.finalize().into_bytes()),
            limit,
        }
    }

    /// A number for PostgreSQL's advisory lock on this counter.
    fn lock_id(&self) -> i64 {
        let bytes = hex::decode(&self.hash[..16]).expect("hex");
        i64::from_be_bytes(bytes.try_into().expect("8 bytes"))
    }
}

/// Attempts taken, one per counter, to give back if the attempt succeeds.
#[derive(Debug)]
#[must_use]
pub struct Taken(Vec<String>);

/// Takes one attempt on every counter, or none when any has used up its window: `None` means
/// refused. The counters' rows older than the window are removed on the way; [`sweep`] removes
/// the rest.
pub fn take(
    conn: &mut AnyConnection,
    counters: &[&Counter],
    now: NaiveDateTime,
) -> Result<Option<Taken>, AppError> {
    let since = now - TimeDelta::minutes(WINDOW_MINUTES);
    let mut ordered: Vec<&Counter> = counters.to_vec();
    // Locks are taken in one order, so two requests never wait for each other.
    ordered.sort_by(|a, b| a.hash.cmp(&b.hash));
    ordered.dedup();
    write_tx(conn, |conn| {
        if let AnyConnection::Postgresql(pg) = conn {
            for counter in &ordered {
                diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                    .bind::<diesel::sql_types::BigInt, _>(counter.lock_id())
                    .execute(pg)?;
            }
        }
        // (SQLite: the write transaction already holds the database's only write lock.)
        // Only these counters' rows are touched, so sign-ins for other counters never wait here.
        let hashes: Vec<&str> = ordered.iter().map(|c| c.hash.as_str()).collect();
        diesel::delete(
            sign_in_attempts::table
                .filter(sign_in_attempts::key.eq_any(&hashes))
                .filter(sign_in_attempts::at.le(since)),
        )
        .execute(conn)?;
        for counter in &ordered {
            let used: i64 = sign_in_attempts::table
                .filter(sign_in_attempts::key.eq(&counter.hash))
                .count()
                .get_result(conn)?;
            if used >= counter.limit {
                return Ok(None);
            }
        }
        let mut taken = Vec::with_capacity(ordered.len());
        for counter in &ordered {
            let id = uuid::Uuid::new_v4().to_string();
            diesel::insert_into(sign_in_attempts::table)
                .values((
                    sign_in_attempts::id.eq(&id),
                    sign_in_attempts::key.eq(&counter.hash),
                    sign_in_attempts::at.eq(now),
                ))
                .execute(conn)?;
            taken.push(id);
        }
        Ok(Some(Taken(taken)))
    })
}

/// Attempts that succeeded no longer count (others' failures at the same address stay).
pub fn give_back(conn: &mut AnyConnection, taken: Taken) -> Result<(), AppError> {
    diesel::delete(sign_in_attempts::table.filter(sign_in_attempts::id.eq_any(taken.0)))
        .execute(conn)?;
    Ok(())
}

/// Removes every attempt older than the window (counters not tried again since); run with
/// retention.
pub fn sweep(conn: &mut AnyConnection, now: NaiveDateTime) -> Result<usize, AppError> {
    let since = now - TimeDelta::minutes(WINDOW_MINUTES);
    Ok(
        diesel::delete(sign_in_attempts::table.filter(sign_in_attempts::at.le(since)))
            .execute(conn)?,
    )
}

/// A success clears the counter: the account's (or the code's) earlier failures are forgiven.
pub fn clear(conn: &mut AnyConnection, counter: &Counter) -> Result<(), AppError> {
    diesel::delete(sign_in_attempts::table.filter(sign_in_attempts::key.eq(&counter.hash)))
        .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_keyed_hashes_of_what_they_count() {
        let secret = b"a secret key of thirty-two bytes";
        let anna = Counter::account(secret, " Anna@Skola.SE ");
        assert_eq!(
            anna,
            Counter::account(secret, "anna@skola.se"),
            "case and spaces"
        );
        assert_ne!(
            anna,
            Counter::account(b"another secret key, thirty-two b", "anna@skola.se")
        );
        assert!(!anna.hash.contains("anna"));
        // The same text counted as something else is another counter.
        let user = UserId("anna@skola.se".into());
        assert_ne!(anna.hash, Counter::code(secret, &user).hash);
        let ip: std::net::IpAddr = "198.51.100.7".parse().unwrap();
        let address = Counter::address(secret, Some(ip));
        assert!(!address.hash.contains("198"));
        assert_eq!(
            (
                anna.limit,
                address.limit,
                Counter::code(secret, &user).limit
            ),
            (5, 20, 5)
        );
        assert_ne!(anna.lock_id(), address.lock_id());
    }
}
