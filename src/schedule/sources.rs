//! Each user's busy times and working hours, and where the busy times come from: the secret
//! address of their calendar (read in the background on a schedule, with `ETag` and
//! `If-Modified-Since`) or an uploaded `.ics` file (read once).
//!
//! Only merged busy intervals are stored. A source that fails keeps its last good busy times and
//! shows why it failed; it never stops a page.
//!
//! Fetching and reading a calendar take no database connection: the file is read first (a few
//! at a time in the whole process, within [`crate::schedule::busy::Budget`]), then its merged
//! busy times are stored in one short transaction. Each user has at most [`MAX_SOURCES`].
//!
//! An address is read only from servers outside this machine and its networks (see
//! [`refused`]), checked on every redirect, and every refusal reads the same as a server that
//! cannot be reached, so the form tells nothing about what is listening where.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDateTime, NaiveTime, Weekday};
use diesel::prelude::*;
use url::Url;

use crate::accounts::{AuthUser, UserId};
use crate::audit::event::{Event, Object};
use crate::config::Settings;
use crate::crypto::rows::SealedRow;
use crate::db::schema::{busy_sources, busy_times, users, working_hours};
use crate::db::{now, write_tx, AnyConnection, DbPool};
use crate::error::{AppError, FieldError};
use crate::schedule::busy::{busy_times as read_calendar, Interval, Malformed};
use crate::schedule::slots::WorkingHours;
use crate::string_id;

string_id!(SourceId);

/// How far ahead busy times are read.
pub const HORIZON_DAYS: i64 = 366;
/// The largest calendar read, in bytes.
pub const MAX_BYTES: usize = 20 * 1024 * 1024;
/// How long one fetch may take.
const FETCH_TIMEOUT: StdDuration = StdDuration::from_secs(30);
/// How many redirects a calendar address may take.
const MAX_REDIRECTS: usize = 5;
/// The most calendars (addresses and uploaded files together) one user may have.
pub const MAX_SOURCES: i64 = 10;
/// How many calendar addresses this process fetches at once.
pub const FETCH_CONCURRENCY: usize = 4;
/// How many calendars this process reads (parses and expands) at once.
pub const READ_CONCURRENCY: usize = 2;
/// The one text for an address that is refused or cannot be reached, whatever the reason.
pub const UNREACHABLE: &str = "servern gick inte att nå";

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
            |t| format!("senast läst {}", crate::web::local_time(&t)),
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

/// Working hours as stored: bit 0 of `days` is Monday.
fn hours_from(days: i32, start: i32, end: i32) -> WorkingHours {
    let minute = |m: i32| {
        NaiveTime::from_num_seconds_from_midnight_opt((m.clamp(0, 24 * 60 - 1) * 60) as u32, 0)
            .unwrap_or(NaiveTime::MIN)
    };
    WorkingHours {
        days: (0..7)
            .filter(|b| days & (1 << b) != 0)
            .filter_map(|b| Weekday::try_from(b as u8).ok())
            .collect(),
        start: minute(start),
        end: minute(end),
    }
}

/// Each user's working hours; the default for those who have set none.
pub fn hours_of(
    conn: &mut AnyConnection,
    users: &[UserId],
) -> Result<HashMap<UserId, WorkingHours>, AppError> {
    let rows: Vec<(UserId, i32, i32, i32)> = working_hours::table
        .filter(working_hours::user_id.eq_any(users))
        .select((
            working_hours::user_id,
            working_hours::days,
            working_hours::start_minute,
            working_hours::end_minute,
        ))
        .load(conn)?;
    let mut out: HashMap<UserId, WorkingHours> = rows
        .into_iter()
        .map(|(u, d, s, e)| (u, hours_from(d, s, e)))
        .collect();
    for u in users {
        out.entry(u.clone()).or_default();
    }
    Ok(out)
}

/// Working hours as typed on the profile page.
#[derive(Clone, Debug, Default)]
pub struct HoursInput {
    /// ISO weekday numbers, 1 = Monday.
    pub days: Vec<String>,
    pub start: String,
    pub end: String,
}

/// Checks and saves a user's working hours.
pub fn set_hours(
    conn: &mut AnyConnection,
    user: &AuthUser,
    input: &HoursInput,
) -> Result<(), AppError> {
    let mut errors = Vec::new();
    let time = |field: &str, text: &str, errors: &mut Vec<FieldError>| {
        let t = NaiveTime::parse_from_str(text.trim(), "%H:%M").ok();
        if t.is_none() {
            errors.push(FieldError::new(field, "Skriv en tid som 08:00."));
        }
        t
    };
    let start = time("start", &input.start, &mut errors);
    let end = time("end", &input.end, &mut errors);
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s {
            errors.push(FieldError::new(
                "end",
                "Arbetsdagen måste sluta efter att den börjar.",
            ));
        }
    }
    let days = input
        .days
        .iter()
        .filter_map(|d| d.trim().parse::<u32>().ok())
        .filter(|d| (1..=7).contains(d))
        .fold(0i32, |bits, d| bits | (1 << (d - 1)));
    if days == 0 {
        errors.push(FieldError::new("days", "Välj minst en arbetsdag."));
    }
    let (Some(start), Some(end)) = (start, end) else {
        return Err(AppError::Invalid(errors));
    };
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let minutes = |t: NaiveTime| (t - NaiveTime::MIN).num_minutes() as i32;
    write_tx(conn, |conn| {
        diesel::delete(working_hours::table.find(&user.id)).execute(conn)?;
        diesel::insert_into(working_hours::table)
            .values((
                working_hours::user_id.eq(&user.id),
                working_hours::days.eq(days),
                working_hours::start_minute.eq(minutes(start)),
                working_hours::end_minute.eq(minutes(end)),
            ))
            .execute(conn)?;
        Event::success(
            &user.into(),
            "working_hours.set",
            Object::User(user.id.as_str()),
        )
        .record(conn)
        .map(|_| ())
    })
}

/// What a fetch brought back.
enum Fetched {
    NotModified,
    Body {
        text: String,
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

/// The IANA IPv4 Special-Purpose Address Registry (every entry, also those marked globally
/// reachable: no calendar is served from an anycast relay or a benchmarking network), with the
/// multicast range. Each is (network, prefix length).
const SPECIAL_V4: &[(Ipv4Addr, u8)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8),       // "this network" (RFC 791)
    (Ipv4Addr::new(10, 0, 0, 0), 8),      // private (RFC 1918)
    (Ipv4Addr::new(100, 64, 0, 0), 10),   // shared address space, CGNAT (RFC 6598)
    (Ipv4Addr::new(127, 0, 0, 0), 8),     // loopback (RFC 1122)
    (Ipv4Addr::new(169, 254, 0, 0), 16),  // link-local (RFC 3927)
    (Ipv4Addr::new(172, 16, 0, 0), 12),   // private (RFC 1918)
    (Ipv4Addr::new(192, 0, 0, 0), 24),    // IETF protocol assignments (RFC 6890)
    (Ipv4Addr::new(192, 0, 2, 0), 24),    // documentation, TEST-NET-1 (RFC 5737)
    (Ipv4Addr::new(192, 31, 196, 0), 24), // AS112-v4 (RFC 7535)
    (Ipv4Addr::new(192, 52, 193, 0), 24), // AMT (RFC 7450)
    (Ipv4Addr::new(192, 88, 99, 0), 24),  // deprecated 6to4 relay anycast (RFC 7526)
    (Ipv4Addr::new(192, 168, 0, 0), 16),  // private (RFC 1918)
    (Ipv4Addr::new(192, 175, 48, 0), 24), // direct delegation AS112 (RFC 7534)
    (Ipv4Addr::new(198, 18, 0, 0), 15),   // benchmarking (RFC 2544)
    (Ipv4Addr::new(198, 51, 100, 0), 24), // documentation, TEST-NET-2 (RFC 5737)
    (Ipv4Addr::new(203, 0, 113, 0), 24),  // documentation, TEST-NET-3 (RFC 5737)
    (Ipv4Addr::new(224, 0, 0, 0), 4),     // multicast (RFC 5771)
    (Ipv4Addr::new(240, 0, 0, 0), 4),     // reserved (RFC 1112), with the broadcast address
];

/// The IANA IPv6 Special-Purpose Address Registry (every entry, as for IPv4) with multicast and
/// the deprecated site-local and IPv4-compatible ranges. The two ranges that carry an IPv4
/// address (`::ffff:0:0/96`, `64:ff9b::/96`) are not here: the IPv4 inside them is checked.
const SPECIAL_V6: &[(Ipv6Addr, u8)] = &[
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0), 96), // ::, ::1 and IPv4-compatible (RFC 4291)
    (Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48), // local-use IPv4/IPv6 translation
    (Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64), // discard-only (RFC 6666)
    (Ipv6Addr::new(0x100, 0, 0, 1, 0, 0, 0, 0), 64), // dummy prefix (RFC 9780)
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23), // IETF protocol assignments, Teredo, …
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32), // documentation (RFC 3849)
    (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16), // 6to4 (RFC 3056)
    (Ipv6Addr::new(0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0), 48), // direct delegation AS112
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20), // documentation (RFC 9637)
    (Ipv6Addr::new(0x5f00, 0, 0, 0, 0, 0, 0, 0), 16), // segment routing SIDs (RFC 9602)
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7), // unique local (RFC 4193)
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10), // link-local (RFC 4291)
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10), // site-local, deprecated (RFC 3879)
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8), // multicast (RFC 4291)
];

fn in_v4(ip: Ipv4Addr, (net, len): (Ipv4Addr, u8)) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(net) & mask
}

fn in_v6(ip: Ipv6Addr, (net, len): (Ipv6Addr, u8)) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    u128::from(ip) & mask == u128::from(net) & mask
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:0:0/96`) or NAT64 (`64:ff9b::/96`) IPv6
/// address.
fn inner_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let nat64 = (Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96);
    match ip.to_ipv4_mapped() {
        Some(v4) => Some(v4),
        None if in_v6(ip, nat64) => Some(Ipv4Addr::from(u128::from(ip) as u32)),
        None => None,
    }
}

/// Whether `ip` is in a special-purpose range (the IANA registries: this machine, private,
/// link-local, shared, documentation, benchmarking, reserved, multicast and the like).
pub fn special_purpose(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => SPECIAL_V4.iter().any(|range| in_v4(v4, *range)),
        IpAddr::V6(v6) => match inner_v4(v6) {
            Some(v4) => special_purpose(IpAddr::V4(v4)),
            None => SPECIAL_V6.iter().any(|range| in_v6(v6, *range)),
        },
    }
}

/// Whether a calendar address may not be read from `ip`: a special-purpose address, or one of
/// `own` (this machine's interface addresses), also inside an IPv4-mapped or NAT64 address.
pub fn refused(ip: IpAddr, own: &[IpAddr]) -> bool {
    let inner = match ip {
        IpAddr::V6(v6) => inner_v4(v6).map(IpAddr::V4),
        IpAddr::V4(_) => None,
    };
    special_purpose(ip) || own.contains(&ip) || inner.is_some_and(|v4| own.contains(&v4))
}

/// This machine's interface addresses. None can be listed: every address is refused.
fn own_addresses() -> Option<Vec<IpAddr>> {
    match if_addrs::get_if_addrs() {
        Ok(interfaces) => Some(interfaces.iter().map(|i| i.ip()).collect()),
        Err(e) => {
            tracing::warn!(error = %e, "this machine's addresses cannot be listed");
            None
        }
    }
}

/// Which addresses the reader may reach besides those outside this machine's networks.
#[derive(Clone, Debug, Default)]
pub struct Reach {
    /// Every address (`SAMORDNA_BUSY_FETCH_PRIVATE`).
    pub private: bool,
    /// These exactly (`SAMORDNA_BUSY_FETCH_ALLOW`), e.g. an internal calendar server.
    pub allowed: Vec<SocketAddr>,
}

impl Reach {
    pub fn of(settings: &Settings) -> Self {
        Reach {
            private: settings.busy_fetch_private,
            allowed: settings.busy_fetch_allow.clone(),
        }
    }

    /// Whether every one of `addrs` may be reached.
    fn permits(&self, addrs: &[SocketAddr]) -> bool {
        let allowed = |a: &SocketAddr| self.allowed.contains(a);
        if self.private || addrs.iter().all(allowed) {
            return true;
        }
        own_addresses()
            .is_some_and(|own| addrs.iter().all(|a| allowed(a) || !refused(a.ip(), &own)))
    }
}

/// The addresses of a URL's host: an IP address as written, or a name looked up.
async fn addresses_of(url: &Url) -> Option<Vec<SocketAddr>> {
    let port = url.port_or_known_default()?;
    let addrs: Vec<SocketAddr> = match url.host()? {
        url::Host::Ipv4(ip) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        url::Host::Ipv6(ip) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        url::Host::Domain(name) => tokio::net::lookup_host((name, port)).await.ok()?.collect(),
    };
    (!addrs.is_empty()).then_some(addrs)
}

/// Reads a calendar address, following redirects; every hop's host is resolved and checked
/// once, and the request goes to exactly the addresses checked. An address refused, unknown,
/// refusing connections or not answering reads the same: [`UNREACHABLE`].
async fn fetch(
    url: &Url,
    etag: Option<&str>,
    last_modified: Option<&str>,
    reach: &Reach,
) -> Result<Fetched, String> {
    let mut url = url.clone();
    for _ in 0..=MAX_REDIRECTS {
        let addrs = addresses_of(&url).await.ok_or(UNREACHABLE)?;
        if !reach.permits(&addrs) {
            return Err(UNREACHABLE.into());
        }
        // No proxy from the environment (HTTP_PROXY, HTTPS_PROXY): through a proxy the request
        // would no longer go to the addresses just checked.
        let mut client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(FETCH_TIMEOUT)
            .user_agent(concat!("samordna/", env!("CARGO_PKG_VERSION")));
        if let Some(url::Host::Domain(name)) = url.host() {
            client = client.resolve_to_addrs(name, &addrs);
        }
        let client = client.build().map_err(|_| UNREACHABLE.to_string())?;
        let mut request = client.get(url.clone());
        if let Some(tag) = etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, tag);
        }
        if let Some(date) = last_modified {
            request = request.header(reqwest::header::IF_MODIFIED_SINCE, date);
        }
        let mut response = request.send().await.map_err(|_| UNREACHABLE.to_string())?;
        let status = response.status();
        if status.is_redirection() && status != reqwest::StatusCode::NOT_MODIFIED {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or("servern skickade vidare utan att säga vart")?;
            url = url
                .join(location)
                .map_err(|_| "servern skickade vidare till en ogiltig adress".to_string())?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(
                    "servern skickade vidare till en adress som inte är en webbadress".into(),
                );
            }
            continue;
        }
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if !status.is_success() {
            return Err(match status.as_u16() {
                401 | 403 => {
                    "servern nekade åtkomst (adressen kan ha bytts ut eller stängts av)".into()
                }
                404 | 410 => "kalendern finns inte längre på adressen".into(),
                code => format!("servern svarade med fel {code}"),
            });
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let (etag, last_modified) = (
            header(reqwest::header::ETAG),
            header(reqwest::header::LAST_MODIFIED),
        );
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|_| "hämtningen avbröts".to_string())?
        {
            if body.len() + chunk.len() > MAX_BYTES {
                return Err(format!(
                    "kalendern är större än {} MB",
                    MAX_BYTES / 1024 / 1024
                ));
            }
            body.extend_from_slice(&chunk);
        }
        return Ok(Fetched::Body {
            text: String::from_utf8_lossy(&body).into_owned(),
            etag,
            last_modified,
        });
    }
    Err("servern skickade vidare för många gånger".into())
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

    /// Every range the IANA special-purpose registries name (and multicast), at both ends and
    /// inside; IPv4 carried in IPv6 is judged by the IPv4 inside.
    #[test]
    fn special_purpose_ranges_are_refused() {
        let refused_everywhere = [
            // IPv4
            "0.0.0.0",
            "0.255.255.255",
            "10.0.0.0",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.1",
            "192.0.0.9",
            "192.0.0.255",
            "192.0.2.2",
            "192.31.196.1",
            "192.52.193.1",
            "192.88.99.1",
            "192.168.0.1",
            "192.175.48.1",
            "198.18.0.0",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.200",
            "224.0.0.1",
            "239.255.255.255",
            "240.0.0.1",
            "255.255.255.254",
            "255.255.255.255",
            // IPv6
            "::",
            "::1",
            "::10.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:192.0.2.1",
            "::ffff:169.254.169.254",
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
            "64:ff9b::c000:201",
            "64:ff9b:1::1",
            "100::1",
            "2001::1",
            "2001:2::1",
            "2001:1ff:ffff::1",
            "2001:db8::1",
            "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
            "2002:7f00:1::1",
            "2620:4f:8000::1",
            "3fff::1",
            "5f00::1",
            "fc00::1",
            "fd00::2",
            "fdff:ffff::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
        ];
        for ip in refused_everywhere {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(special_purpose(ip), "{ip} is special-purpose");
            assert!(refused(ip, &[]), "{ip} is refused");
        }
        let public = [
            "193.11.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.0",
            "172.32.0.1",
            "192.0.3.1",
            "198.20.0.1",
            "223.255.255.255",
            "2a00:1450:4001::1",
            "2001:200::1",
            "2001:db9::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ];
        for ip in public {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(!special_purpose(ip), "{ip} is public");
            assert!(!refused(ip, &[]), "{ip} may be read");
        }
    }

    /// This machine's own addresses are refused, also when they are public and when written
    /// inside an IPv6 address.
    #[test]
    fn the_machines_own_addresses_are_refused() {
        let own: Vec<IpAddr> = vec!["193.11.1.1".parse().unwrap(), "2a00:1::5".parse().unwrap()];
        for ip in [
            "193.11.1.1",
            "::ffff:193.11.1.1",
            "64:ff9b::c10b:101",
            "2a00:1::5",
        ] {
            assert!(refused(ip.parse().unwrap(), &own), "{ip}");
        }
        for ip in ["193.11.1.2", "2a00:1::6"] {
            assert!(!refused(ip.parse().unwrap(), &own), "{ip}");
        }
    }

    #[test]
    fn stored_hours_read_back() {
        let h = hours_from(0b0011111, 7 * 60 + 30, 16 * 60);
        assert_eq!(h.days.len(), 5);
        assert_eq!(h.days[0], Weekday::Mon);
        assert_eq!(h.start, NaiveTime::from_hms_opt(7, 30, 0).unwrap());
        assert_eq!(h.end, NaiveTime::from_hms_opt(16, 0, 0).unwrap());
    }
}
