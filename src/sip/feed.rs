//! Each person's private calendar feed (`/calendar/{token}.ics`): every SIP meeting they are
//! invited to, with neutral titles, for any calendar to subscribe to. The token (256 bits) is
//! shown once and stored hashed; it can be replaced or turned off on the profile page.

use std::collections::HashMap;
use std::sync::Mutex;

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use diesel::prelude::*;

use crate::accounts::AuthUser;
use crate::audit::event::{Event, Object};
use crate::audit::AuditActor;
use crate::calendar::ics::{self, Method};
use crate::crypto::rows::SealedRow;
use crate::db::schema::{calendar_feeds, invitees, meetings, participants, sips};
use crate::db::{now, write_tx, AnyConnection};
use crate::error::{AppError, PageError};
use crate::ids::UserId;
use crate::secrets::{hash_token, random_token};
use crate::sip::invitations;
use crate::sip::store::{Meeting, Sip};
use crate::web::AppState;

/// The feed's address. Making and turning off a feed are the profile page's
/// ([`crate::web::profile`]), which calls [`open_feed`] and [`close_feed`].
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/calendar/{file}", web::get().to(get_feed));
}

/// The name subscribing calendars show for the feed.
const FEED_NAME: &str = "SIP-möten (Samordna)";

/// Changes every ETag when what we write for the same data changes (a new release's format).
const FORMAT: &str = "feed-3";

/// The feed a token opens: its owner, and what its ETag is made from.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct FeedVersion {
    pub user: UserId,
    /// When this address was made: a new address starts its count again.
    created_at: chrono::NaiveDateTime,
    /// Moved on by the database in the same transaction as every change the feed shows
    /// (migration 000016's triggers on meetings, invitees, participants, consents and the
    /// organisations a consent covers).
    version: i64,
}

/// The feed of `token` and its version, in one primary-key read; `None` for an unknown or
/// revoked token or an inactive user.
pub fn feed_version(
    conn: &mut AnyConnection,
    token: &str,
) -> Result<Option<FeedVersion>, AppError> {
    Ok(calendar_feeds::table
        .inner_join(crate::db::schema::users::table)
        .filter(calendar_feeds::token_hash.eq(hash_token(token)))
        .filter(crate::db::schema::users::active.eq(true))
        .select((
            calendar_feeds::user_id,
            calendar_feeds::created_at,
            calendar_feeds::version,
        ))
        .get_result(conn)
        .optional()?)
}

/// The feed's ETag: its version on `day` (the day too, since a consent starts and runs out by
/// the date), the address the events link to, and the format. The same on every instance with
/// the same settings.
pub fn feed_etag(
    version: &FeedVersion,
    day: NaiveDate,
    settings: &crate::config::Settings,
) -> String {
    let tag = hash_token(&format!(
        "{FORMAT}\n{}\n{}\n{}\n{day}\n{}",
        version.user,
        version.created_at,
        version.version,
        settings.link("/mina-moten")
    ));
    format!("\"{}\"", &tag[..32])
}

/// The feed of `user`: every meeting they are invited to and still take part in, as one
/// calendar. Opens only what it shows (each meeting's place and video link); the SIP's sealed
/// values (the child's name and personnummer) and the participants' stay sealed.
pub fn feed_body(
    conn: &mut AnyConnection,
    settings: &crate::config::Settings,
    user: &UserId,
) -> Result<String, AppError> {
    let rows: Vec<(Meeting, Sip)> = meetings::table
        .inner_join(sips::table)
        .inner_join(invitees::table.inner_join(participants::table))
        .filter(participants::user_id.eq(user))
        .filter(participants::removed_at.is_null())
        .filter(invitees::removed_at.is_null())
        .filter(meetings::cancelled_at.is_null())
        .order(meetings::starts_at)
        .select((Meeting::as_select(), Sip::as_select()))
        .load(conn)?;
    // Only meetings of SIPs whose consent covers the person today.
    let mut covered: Vec<(crate::sip::store::SipId, bool)> = Vec::new();
    let mut writer = ics::Writer::new(Method::Publish, Some(FEED_NAME), rows.len());
    for (meeting, sip) in rows {
        let ok = match covered.iter().find(|(id, _)| *id == sip.id) {
            Some((_, ok)) => *ok,
            None => {
                let ok = crate::sip::store::participants::takes_part(conn, &sip, user)?;
                covered.push((sip.id.clone(), ok));
                ok
            }
        };
        if ok {
            let meeting = meeting.open(&settings.keys)?;
            writer.event(&invitations::event_without_attendees(
                settings, &sip, &meeting,
            ));
        }
    }
    Ok(writer.finish())
}

/// Rendered feeds, per user, kept with the ETag they were made for: a feed is sent again from
/// here as long as its version in the database is unchanged, so every instance stays right.
/// Bounded by size; the least recently used go first.
#[derive(Default)]
pub struct FeedCache {
    inner: Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    entries: HashMap<UserId, Cached>,
    bytes: usize,
    clock: u64,
}

struct Cached {
    etag: String,
    body: Bytes,
    used: u64,
}

/// At most this many bytes of rendered feeds are kept (a feed of 500 meetings is about 300 kB).
const CACHE_BYTES: usize = 8 << 20;

impl FeedCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The feed of `user` if it was rendered for `etag`.
    pub fn get(&self, user: &UserId, etag: &str) -> Option<Bytes> {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        let entry = inner.entries.get_mut(user).filter(|e| e.etag == etag)?;
        entry.used = now;
        Some(entry.body.clone())
    }

    /// Keeps the feed of `user` rendered for `etag`, replacing an older one.
    pub fn put(&self, user: &UserId, etag: String, body: Bytes) {
        if body.len() > CACHE_BYTES / 4 {
            return;
        }
        let mut inner = self.lock();
        inner.clock += 1;
        let used = inner.clock;
        inner.bytes += body.len();
        if let Some(old) = inner
            .entries
            .insert(user.clone(), Cached { etag, body, used })
        {
            inner.bytes -= old.body.len();
        }
        while inner.bytes > CACHE_BYTES {
            let Some(oldest) = inner
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(gone) = inner.entries.remove(&oldest) {
                inner.bytes -= gone.body.len();
            }
        }
    }

    /// How many bytes of rendered feeds are kept.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

/// What the feed address answers.
enum Answer {
    NotModified(String),
    Body(String, Bytes),
}

fn matches(if_none_match: Option<&str>, etag: &str) -> bool {
    if_none_match.is_some_and(|v| {
        v.split(',').any(|t| {
            let t = t.trim();
            t == etag || t == "*" || t.strip_prefix("W/") == Some(etag)
        })
    })
}

async fn get_feed(
    req: HttpRequest,
    state: web::Data<AppState>,
    feeds: web::Data<FeedCache>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let file = path.into_inner();
    let token = file
        .strip_suffix(".ics")
        .ok_or(AppError::NotFound)?
        .to_string();
    let cache = feeds.into_inner();
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let answer = state
        .db_with_settings(move |conn, settings| {
            // The version first: a body read after it is at least as new, never older.
            let Some(version) = feed_version(conn, &token)? else {
                return Ok(None);
            };
            let today = crate::time::local(now()).date();
            let etag = feed_etag(&version, today, settings);
            let user = version.user;
            if matches(if_none_match.as_deref(), &etag) {
                return Ok(Some(Answer::NotModified(etag)));
            }
            if let Some(body) = cache.get(&user, &etag) {
                return Ok(Some(Answer::Body(etag, body)));
            }
            let body = Bytes::from(feed_body(conn, settings, &user)?);
            cache.put(&user, etag.clone(), body.clone());
            Ok(Some(Answer::Body(etag, body)))
        })
        .await?
        .ok_or(AppError::NotFound)?;
    let cache_control = (header::CACHE_CONTROL, "private, max-age=0, must-revalidate");
    Ok(match answer {
        Answer::NotModified(etag) => HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header(cache_control)
            .finish(),
        Answer::Body(etag, body) => HttpResponse::Ok()
            .insert_header((header::ETAG, etag))
            .insert_header(cache_control)
            .content_type("text/calendar; charset=utf-8")
            .body(body),
    })
}

/// Whether `user` has a feed address.
pub fn has_feed(conn: &mut AnyConnection, user: &UserId) -> Result<bool, AppError> {
    Ok(calendar_feeds::table
        .find(user)
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

fn audit_feed(conn: &mut AnyConnection, user: &AuthUser, action: &str) -> Result<(), AppError> {
    Event::success(
        &AuditActor::from(user),
        action,
        Object::User(user.id.as_str()),
    )
    .record(conn)?;
    Ok(())
}

/// Makes a new feed address for `user`, replacing any earlier one (which stops working at
/// once). Returns the token, which is stored only as a hash: the caller shows it once.
pub fn open_feed(conn: &mut AnyConnection, user: &AuthUser) -> Result<String, AppError> {
    let token = random_token();
    let hash = hash_token(&token);
    write_tx(conn, |conn| {
        diesel::delete(calendar_feeds::table.find(&user.id)).execute(conn)?;
        diesel::insert_into(calendar_feeds::table)
            .values((
                calendar_feeds::user_id.eq(&user.id),
                calendar_feeds::token_hash.eq(&hash),
                calendar_feeds::created_at.eq(now()),
            ))
            .execute(conn)?;
        audit_feed(conn, user, "calendar_feed.create")
    })?;
    Ok(token)
}

/// Turns `user`'s feed off: its address stops working.
pub fn close_feed(conn: &mut AnyConnection, user: &AuthUser) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        diesel::delete(calendar_feeds::table.find(&user.id)).execute(conn)?;
        audit_feed(conn, user, "calendar_feed.revoke")
    })
}
