//! Web sessions, kept in the database so that any instance can serve any request and a session
//! can be ended for good (logout, password change). The browser holds a random token; the
//! database holds only its hash.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use std::time::Duration;

use crate::accounts::UserId;
use crate::db::schema::sessions;
use crate::db::{now, AnyConnection};
use crate::error::AppError;
use crate::secrets::{hash_token, random_token};

pub const COOKIE: &str = "samordna_session";

/// How often `last_seen_at` is written: often enough for the idle timeout, rarely enough not to
/// turn every page view into a write.
const TOUCH_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: String,
    pub user_id: UserId,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    /// When the second factor was checked; `None` until then (or for roles that need none).
    pub second_factor_at: Option<NaiveDateTime>,
    /// The identity provider the session was started through, if any, and its session id (`sid`).
    pub sso_provider_id: Option<String>,
    pub sso_sid: Option<String>,
}

/// How a session was started through an identity provider.
#[derive(Clone, Debug, Default)]
pub struct SingleSignOn {
    pub provider_id: String,
    pub sid: Option<String>,
}

/// Starts a session after the password was checked and returns the token for the cookie. It
/// counts as signed in only once the second factor is checked too, for roles that need one.
pub fn start(conn: &mut AnyConnection, user_id: &UserId) -> Result<String, AppError> {
    let at = now();
    insert(conn, user_id, at, None, None)
}

/// Starts a session after an identity provider said who the user is; `second_factor` when the
/// provider's answer shows it checked one (then no local code is asked).
pub fn start_sso(
    conn: &mut AnyConnection,
    user_id: &UserId,
    sso: &SingleSignOn,
    second_factor: bool,
) -> Result<String, AppError> {
    let at = now();
    insert(conn, user_id, at, second_factor.then_some(at), Some(sso))
}

fn insert(
    conn: &mut AnyConnection,
    user_id: &UserId,
    created_at: NaiveDateTime,
    second_factor_at: Option<NaiveDateTime>,
    sso: Option<&SingleSignOn>,
) -> Result<String, AppError> {
    let token = random_token();
    diesel::insert_into(sessions::table)
        .values(&Session {
            id: hash_token(&token),
            user_id: user_id.clone(),
            created_at,
            last_seen_at: now(),
            second_factor_at,
            sso_provider_id: sso.map(|s| s.provider_id.clone()),
            sso_sid: sso.and_then(|s| s.sid.clone()),
        })
        .execute(conn)?;
    Ok(token)
}

/// The identity provider a session was started through, if any.
pub fn provider_of(conn: &mut AnyConnection, token: &str) -> Result<Option<String>, AppError> {
    Ok(sessions::table
        .find(hash_token(token))
        .select(sessions::sso_provider_id)
        .get_result::<Option<String>>(conn)
        .optional()?
        .flatten())
}

/// Marks the second factor as checked. The session gets a new id (the one used before the check
/// stops working) and keeps its start time, so the absolute lifetime still counts from the login.
pub fn second_factor_checked(conn: &mut AnyConnection, token: &str) -> Result<String, AppError> {
    let id = hash_token(token);
    let old: Session = sessions::table
        .find(&id)
        .select(Session::as_select())
        .first(conn)?;
    diesel::delete(sessions::table.find(&id)).execute(conn)?;
    let sso = old.sso_provider_id.map(|provider_id| SingleSignOn {
        provider_id,
        sid: old.sso_sid,
    });
    insert(
        conn,
        &old.user_id,
        old.created_at,
        Some(now()),
        sso.as_ref(),
    )
}

/// Why a session token did not lead to a user.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// A live session; `second_factor` says whether its second factor was checked.
    Active {
        user_id: UserId,
        second_factor: bool,
    },
    Expired,
    Unknown,
}

/// Finds the user of a session token, ending the session if it has been idle or alive too long.
pub fn resolve(
    conn: &mut AnyConnection,
    token: &str,
    idle: Duration,
    max_lifetime: Duration,
) -> Result<Lookup, AppError> {
    let id = hash_token(token);
    let Some(session) = sessions::table
        .find(&id)
        .select(Session::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(Lookup::Unknown);
    };
    let at = now();
    let idle = chrono::TimeDelta::from_std(idle).unwrap_or(chrono::TimeDelta::MAX);
    let max = chrono::TimeDelta::from_std(max_lifetime).unwrap_or(chrono::TimeDelta::MAX);
    if at - session.last_seen_at > idle || at - session.created_at > max {
        diesel::delete(sessions::table.find(&id)).execute(conn)?;
        return Ok(Lookup::Expired);
    }
    if at - session.last_seen_at > TOUCH_EVERY {
        diesel::update(sessions::table.find(&id))
            .set(sessions::last_seen_at.eq(at))
            .execute(conn)?;
    }
    Ok(Lookup::Active {
        second_factor: session.second_factor_at.is_some(),
        user_id: session.user_id,
    })
}

pub fn end(conn: &mut AnyConnection, token: &str) -> Result<(), AppError> {
    diesel::delete(sessions::table.find(hash_token(token))).execute(conn)?;
    Ok(())
}

pub fn end_all_for_user(conn: &mut AnyConnection, user_id: &UserId) -> Result<(), AppError> {
    diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)?;
    Ok(())
}
