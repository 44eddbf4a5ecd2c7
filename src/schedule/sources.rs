//! Each user's busy times and working hours, and where the busy times come from: the secret
//! address of their calendar (read in the background on a schedule, with `ETag` and
//! `If-Modified-Since`) or an uploaded `.ics` file (read once).
//!
//! Only merged busy intervals are stored. A source that fails keeps its last good busy times and
//! shows why it failed; it never stops a page.
//!
//! Fetching and reading a calendar take no database connection: the file is read first (a few
//! at a time in the whole process, within [`crate::schedule::budget::Budget`]), then its merged
//! busy times are stored in one short transaction. Each user has at most [`MAX_SOURCES`].
//!
//! An address is read only from servers outside this machine and its networks, as
//! [`crate::schedule::fetch`] says.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use url::Url;

use crate::accounts::AuthUser;
use crate::audit::event::{Event, Object};
use crate::config::Settings;
use crate::crypto::rows::SealedRow;
use crate::db::schema::{busy_sources, busy_times, users};
use crate::db::{now, write_tx, AnyConnection, DbPool};
use crate::error::{AppError, FieldError};
use crate::ids::UserId;
use crate::schedule::busy::{busy_times as read_calendar, Interval, Malformed};
use crate::schedule::fetch::{fetch, Fetched, Reach};
use crate::string_id;

string_id!(SourceId);

/// How far ahead busy times are read.
pub const HORIZON_DAYS: i64 = 366;
/// The most calendars (addresses and uploaded files together) one user may have.
pub const MAX_SOURCES: i64 = 10;
/// How many calendar addresses this process fetches at once.
pub const FETCH_CONCURRENCY: usize = 4;
/// How many calendars this process reads (parses and expands) at once.
pub const READ_CONCURRENCY: usize = 2;
static FETCHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(FETCH_CONCURRENCY);
static READING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(READ_CONCURRENCY);

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = busy_sources)]
pub struct Source {
    pub id: SourceId,
    pub user_id: UserId,
    pub kind: String,
    pub label: String,
    pub created_at: NaiveDateTime,
    pub checked_at: Option<NaiveDateTime>,
    pub fetched_at: Option<NaiveDateTime>,
    pub error: Option<String>,
}

impl Source {
    pub fn is_address(&self) -> bool {
        self.kind == "url"
    }

    /// Whether its busy times may be out of date: the last attempt failed, or an address has not
    /// been read for three refresh periods.
    pub fn stale(&self, at: NaiveDateTime, refresh: StdDuration) -> bool {
        let late = Duration::from_std(refresh * 3).unwrap_or(Duration::hours(2));
        self.error.is_some() || (self.is_address() && self.fetched_at.is_none_or(|t| at - t > late))
    }

    /// In Swedish, for the user: when it was read and what went wrong.
    pub fn status(&self) -> String {
        let last = self.fetched_at.map_or_else(
            || "har inte kunnat läsas än".to_string(),
            |t| format!("senast läst {}", crate::time::local_text(&t)),
        );
        match (&self.error, self.fetched_at, self.checked_at) {
            (Some(e), _, _) => format!(
                "Kunde inte läsas: {e}. Upptagna tider {last}. Kontrollera adressen i din \
                 kalender; har den ändrats, ta bort den här och lägg till den nya."
            ),
            (None, None, None) => "Läses in – ladda om sidan om en stund.".into(),
            (None, _, _) => format!("Fungerar, {last}."),
        }
    }
}

/// The window busy times are read for, from `at`.
pub fn window(at: NaiveDateTime) -> (NaiveDateTime, NaiveDateTime) {
    (at - Duration::days(1), at + Duration::days(HORIZON_DAYS))
}

/// A calendar address as typed: `webcal://` is read as `https://`; only http and https.
pub fn address(text: &str) -> Result<Url, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("Skriv in kalenderns adress.".into());
    }
    let text = match text.get(..9) {
        Some(head) if head.eq_ignore_ascii_case("webcal://") => format!("https://{}", &text[9..]),
        _ => text.to_string(),
    };
    let url = Url::parse(&text).map_err(|_| {
        "Adressen ser inte ut som en webbadress. Den ska börja med https:// eller webcal://."
            .to_string()
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("Adressen ska börja med https:// eller webcal://.".into());
    }
    if text.len() > 2000 {
        return Err("Adressen är för lång.".into());
    }
    Ok(url)
}

fn audit_source(
    conn: &mut AnyConnection,
    user: &AuthUser,
    action: &str,
    id: &SourceId,
) -> Result<(), AppError> {
    Event::success(&user.into(), action, Object::BusySource(id.as_str()))
        .record(conn)
        .map(|_| ())
}

/// Adds a calendar address; the background reader (or [`refresh`]) reads it.
pub fn add_address(
    conn: &mut AnyConnection,
    keys: &crate::crypto::Keyring,
    user: &AuthUser,
    text: &str,
) -> Result<SourceId, AppError> {
    let url = address(text).map_err(|m| AppError::Invalid(vec![FieldError::new("url", m)]))?;
    let id = SourceId::generate();
    write_tx(conn, |conn| {
        room_for_one_more(conn, user, "url")?;
        diesel::insert_into(busy_sources::table)
            .values((
                busy_sources::id.eq(&id),
                busy_sources::user_id.eq(&user.id),
                busy_sources::kind.eq("url"),
                busy_sources::url.eq(keys.seal("busy_sources.url", url.as_str())),
                busy_sources::label.eq(url.host_str().unwrap_or("kalender")),
                busy_sources::created_at.eq(now()),
            ))
            .execute(conn)?;
        audit_source(conn, user, "busy_source.add", &id)
    })?;
    Ok(id)
}

/// Refuses a new source when the user already has [`MAX_SOURCES`]. Inside the transaction that
/// adds it; on PostgreSQL the user's row is locked first, so two at once cannot both squeeze in.
fn room_for_one_more(
    conn: &mut AnyConnection,
    user: &AuthUser,
    field: &str,
) -> Result<(), AppError> {
    if let AnyConnection::Postgresql(pg) = conn {
        users::table
            .find(&user.id)
            .select(users::id)
            .for_update()
            .first::<UserId>(pg)?;
    }
    let held: i64 = busy_sources::table
        .filter(busy_sources::user_id.eq(&user.id))
        .count()
        .get_result(conn)?;
    if held >= MAX_SOURCES {
        return Err(AppError::Invalid(vec![FieldError::new(
            field,
            format!(
                "Du har redan {MAX_SOURCES} kalendrar, som är det högsta antalet. Ta bort en \
                 innan du lägger till en ny."
            ),
        )]));
    }
    Ok(())
}

/// Reads a calendar's text into busy times for the window from `at`, off the async workers and
/// without a database connection, with at most [`READ_CONCURRENCY`] calendars read at once.
pub async fn read_busy(text: String, at: NaiveDateTime) -> Result<Vec<Interval>, Malformed> {
    let _turn = READING.acquire().await;
    let (from, to) = window(at);
    actix_web::web::block(move || read_calendar(&text, from, to))
        .await
        .unwrap_or_else(|_| {
            Err(Malformed {
                line: None,
                reason: "kalendern kunde inte läsas".into(),
            })
        })
}

/// Reads an uploaded file (before anything is stored): a file that cannot be read is refused
/// with the line, or as too big.
pub async fn read_upload(bytes: Vec<u8>, at: NaiveDateTime) -> Result<Vec<Interval>, AppError> {
    let refuse = |m: String| AppError::Invalid(vec![FieldError::new("file", m)]);
    if bytes.is_empty() {
        return Err(refuse("Välj en kalenderfil (.ics).".into()));
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    read_busy(text, at)
        .await
        .map_err(|e| refuse(format!("Filen kunde inte läsas: {e}.")))
}

/// Keeps the busy times of an uploaded file read at `at` ([`read_upload`]), in one transaction.
pub fn add_file(
    conn: &mut AnyConnection,
    user: &AuthUser,
    at: NaiveDateTime,
    busy: &[Interval],
) -> Result<SourceId, AppError> {
    let id = SourceId::generate();
    write_tx(conn, |conn| {
        room_for_one_more(conn, user, "file")?;
        diesel::insert_into(busy_sources::table)
            .values((
                busy_sources::id.eq(&id),
                busy_sources::user_id.eq(&user.id),
                busy_sources::kind.eq("file"),
                busy_sources::label.eq("Uppladdad fil"),
                busy_sources::created_at.eq(at),
                busy_sources::checked_at.eq(at),
                busy_sources::fetched_at.eq(at),
            ))
            .execute(conn)?;
        replace_times(conn, &id, busy)?;
        audit_source(conn, user, "busy_source.upload", &id)
    })?;
    Ok(id)
}

/// Removes one of the user's own sources with its busy times (404 for anyone else's).
pub fn remove(conn: &mut AnyConnection, user: &AuthUser, id: &SourceId) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        diesel::delete(busy_times::table.filter(busy_times::source_id.eq(id))).execute(conn)?;
        let n = diesel::delete(
            busy_sources::table
                .filter(busy_sources::id.eq(id))
                .filter(busy_sources::user_id.eq(&user.id)),
        )
        .execute(conn)?;
        if n == 0 {
            return Err(AppError::NotFound);
        }
        audit_source(conn, user, "busy_source.remove", id)
    })
}

pub fn sources_of(conn: &mut AnyConnection, users: &[UserId]) -> Result<Vec<Source>, AppError> {
    Ok(busy_sources::table
        .filter(busy_sources::user_id.eq_any(users))
        .order(busy_sources::created_at)
        .select(Source::as_select())
        .load(conn)?)
}

fn replace_times(
    conn: &mut AnyConnection,
    id: &SourceId,
    busy: &[Interval],
) -> Result<(), AppError> {
    diesel::delete(busy_times::table.filter(busy_times::source_id.eq(id))).execute(conn)?;
    for chunk in busy.chunks(1000) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(s, e)| {
                (
                    busy_times::source_id.eq(id),
                    busy_times::starts_at.eq(*s),
                    busy_times::ends_at.eq(*e),
                )
            })
            .collect();
        // One statement per thousand rows; the multi-backend connection has no batch insert.
        let insert = diesel::insert_into(busy_times::table).values(rows);
        match conn {
            AnyConnection::Postgresql(pg) => insert.execute(pg)?,
            AnyConnection::Sqlite(sqlite) => insert.execute(sqlite)?,
        };
    }
    Ok(())
}

/// The busy intervals of each of `users` that overlap `[from, to)`, from their calendars.
pub fn busy_of(
    conn: &mut AnyConnection,
    users: &[UserId],
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<HashMap<UserId, Vec<Interval>>, AppError> {
    let rows: Vec<(UserId, NaiveDateTime, NaiveDateTime)> = busy_times::table
        .inner_join(busy_sources::table)
        .filter(busy_sources::user_id.eq_any(users))
        .filter(busy_times::starts_at.lt(to))
        .filter(busy_times::ends_at.gt(from))
        .select((
            busy_sources::user_id,
            busy_times::starts_at,
            busy_times::ends_at,
        ))
        .load(conn)?;
    let mut out: HashMap<UserId, Vec<Interval>> = HashMap::new();
    for (user, s, e) in rows {
        out.entry(user).or_default().push((s, e));
    }
    Ok(out)
}

/// A calendar address as the reader needs it. The address is a credential (a secret calendar
/// link), so it is sealed at rest.
#[derive(Queryable, Selectable)]
#[diesel(table_name = busy_sources)]
pub(crate) struct Address {
    id: SourceId,
    url: Option<String>,
    etag: Option<String>,
    last_modified: Option<String>,
    checked_at: Option<NaiveDateTime>,
}
crate::sealed_row!(Address, busy_sources by id: [url]);

/// Claims one source for reading: sets `checked_at` only if nobody else has since it was read.
fn claim(
    conn: &mut AnyConnection,
    id: &SourceId,
    seen: Option<NaiveDateTime>,
) -> Result<bool, AppError> {
    let target = busy_sources::table.filter(busy_sources::id.eq(id));
    let n = match seen {
        Some(t) => diesel::update(target.filter(busy_sources::checked_at.eq(t)))
            .set(busy_sources::checked_at.eq(now()))
            .execute(conn)?,
        None => diesel::update(target.filter(busy_sources::checked_at.is_null()))
            .set(busy_sources::checked_at.eq(now()))
            .execute(conn)?,
    };
    Ok(n == 1)
}

/// Addresses due for reading (never read, or read longer ago than the refresh period), claimed.
fn due(
    conn: &mut AnyConnection,
    keys: &crate::crypto::Keyring,
    refresh: StdDuration,
) -> Result<Vec<Address>, AppError> {
    let before = now() - Duration::from_std(refresh).unwrap_or(Duration::minutes(30));
    let rows: Vec<Address> = busy_sources::table
        .filter(busy_sources::kind.eq("url"))
        .filter(
            busy_sources::checked_at
                .is_null()
                .or(busy_sources::checked_at.lt(before)),
        )
        .select(Address::as_select())
        .load(conn)?;
    let mut out = Vec::new();
    for row in rows {
        if !claim(conn, &row.id, row.checked_at)? {
            continue;
        }
        let id = row.id.clone();
        match row.open(keys) {
            Ok(row) => out.push(row),
            // One address that cannot be opened (a key removed too early) must not stop the
            // others; its owner sees why on the profile page.
            Err(e) => {
                tracing::error!(error = %e, "a calendar address cannot be opened");
                record(
                    conn,
                    &id,
                    now(),
                    Err(
                        "Samordna kan inte läsa den sparade adressen. Ta bort kalendern och \
                         lägg till den igen."
                            .into(),
                    ),
                )?;
            }
        }
    }
    Ok(out)
}

/// A calendar read from its address: its busy times and what the server said about its version.
struct Read {
    busy: Vec<Interval>,
    etag: Option<String>,
    last_modified: Option<String>,
}

/// Records the outcome of one read at `at` (new busy times, unchanged, or why it failed, keeping
/// the busy times of the last good read), in one short transaction.
fn record(
    conn: &mut AnyConnection,
    id: &SourceId,
    at: NaiveDateTime,
    outcome: Result<Option<Read>, String>,
) -> Result<(), AppError> {
    let target = || busy_sources::table.filter(busy_sources::id.eq(id));
    write_tx(conn, |conn| {
        match outcome {
            Err(reason) => {
                diesel::update(target())
                    .set(busy_sources::error.eq(Some(reason)))
                    .execute(conn)?;
            }
            Ok(read) => {
                if let Some(read) = read {
                    replace_times(conn, id, &read.busy)?;
                    diesel::update(target())
                        .set((
                            busy_sources::etag.eq(read.etag),
                            busy_sources::last_modified.eq(read.last_modified),
                        ))
                        .execute(conn)?;
                }
                diesel::update(target())
                    .set((
                        busy_sources::fetched_at.eq(Some(at)),
                        busy_sources::error.eq(None::<String>),
                    ))
                    .execute(conn)?;
            }
        }
        Ok(())
    })
}

/// Fetches and reads one claimed source, then records the outcome. At most
/// [`FETCH_CONCURRENCY`] are between the start of their fetch and the end of their reading at
/// once in this process, so no more calendars than that are held in memory. The source's id only
/// is logged: never its address, which is a credential.
async fn read_one(pool: DbPool, reach: Reach, source: Address) {
    let Address {
        id,
        url,
        etag,
        last_modified,
        ..
    } = source;
    let (at, outcome) = {
        let _turn = FETCHING.acquire().await;
        let fetched = match Url::parse(url.as_deref().unwrap_or("")) {
            Ok(url) => fetch(&url, etag.as_deref(), last_modified.as_deref(), &reach).await,
            Err(_) => Err("adressen är ogiltig".into()),
        };
        let at = now();
        // A body that is no readable calendar is a failure like an unreachable server.
        let outcome = match fetched {
            Ok(Fetched::Body {
                text,
                etag,
                last_modified,
            }) => read_busy(text, at)
                .await
                .map(|busy| {
                    Some(Read {
                        busy,
                        etag,
                        last_modified,
                    })
                })
                .map_err(|e| format!("filen på adressen är ingen läsbar kalender ({e})")),
            Ok(Fetched::NotModified) => Ok(None),
            Err(reason) => Err(reason),
        };
        (at, outcome)
    };
    if let Err(reason) = &outcome {
        tracing::info!(source = %id, %reason, "calendar address could not be read");
    }
    let result = actix_web::web::block(move || -> Result<(), AppError> {
        let mut conn = pool.get()?;
        record(&mut conn, &id, at, outcome)
    })
    .await;
    if let Ok(Err(e)) | Err(e) = result.map_err(AppError::from) {
        tracing::warn!(error = %e, "could not save busy times");
    }
}

/// Reads the given claimed sources, several at once (see [`read_one`]), until all are done.
async fn read_all(pool: &DbPool, settings: &Settings, sources: Vec<Address>) {
    let reach = Reach::of(settings);
    let reading: Vec<_> = sources
        .into_iter()
        .map(|source| actix_web::rt::spawn(read_one(pool.clone(), reach.clone(), source)))
        .collect();
    for task in reading {
        let _ = task.await;
    }
}

/// Reads one source now (after the user added it), if nobody else is.
pub async fn refresh(pool: DbPool, settings: Arc<Settings>, id: SourceId) {
    let (p, keyring) = (pool.clone(), settings.clone());
    let claimed = actix_web::web::block(move || -> Result<Vec<Address>, AppError> {
        let mut conn = p.get()?;
        let row: Option<Address> = busy_sources::table
            .filter(busy_sources::id.eq(&id))
            .filter(busy_sources::kind.eq("url"))
            .select(Address::as_select())
            .first(&mut conn)
            .optional()?;
        Ok(match row {
            Some(row) if claim(&mut conn, &row.id, row.checked_at)? => {
                vec![row.open(&keyring.keys)?]
            }
            _ => Vec::new(),
        })
    })
    .await;
    if let Ok(Ok(sources)) = claimed {
        read_all(&pool, &settings, sources).await;
    }
}

/// Every minute until the process ends: reads the calendar addresses that are due. Claims keep
/// two instances from reading the same address at once.
pub async fn run(pool: DbPool, settings: Arc<Settings>) {
    loop {
        let (p, refresh, keyring) = (pool.clone(), settings.busy_refresh, settings.clone());
        let listed = actix_web::web::block(move || -> Result<Vec<Address>, AppError> {
            let mut conn = p.get()?;
            due(&mut conn, &keyring.keys, refresh)
        });
        match listed.await {
            Ok(Ok(sources)) => read_all(&pool, &settings, sources).await,
            Ok(Err(e)) => tracing::warn!(error = %e, "busy-time sources could not be listed"),
            Err(e) => tracing::warn!(error = %e, "busy-time task failed; will retry"),
        }
        let pause = settings
            .busy_refresh
            .clamp(StdDuration::from_secs(1), StdDuration::from_secs(60));
        tokio::time::sleep(pause).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_cleaned_and_checked() {
        assert_eq!(
            address(" webcal://p01-caldav.icloud.com/published/2/abc ")
                .unwrap()
                .as_str(),
            "https://p01-caldav.icloud.com/published/2/abc"
        );
        assert!(address("").unwrap_err().contains("Skriv in"));
        assert!(address("ftp://example.se/cal.ics").is_err());
        assert!(address("kalendern").is_err());
    }
}
