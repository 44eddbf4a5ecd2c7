//! Finding a time for a SIP meeting: who is asked (the caseworker who calls the meeting and the
//! participants the consent covers today), when each is busy (their own calendars and the
//! service's meetings), their working hours, and the search ([`crate::schedule::slots`]).

use crate::audit::event::{Event, Object};
use crate::crypto::Keyring;
use std::collections::HashMap;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;

use crate::authz::Actor;
use crate::config::Settings;
use crate::db::schema::{invitees, meetings, participants, sips, users};
use crate::db::{now, AnyConnection};
use crate::error::{AppError, FieldError};
use crate::ids::UserId;
use crate::schedule::busy::Interval;
use crate::schedule::slots::{self, NoSlot, Slot};
use crate::schedule::{hours, sources};
use crate::sip::model::Answer;
use crate::sip::store::{self, Sip};
use crate::time::{local, to_utc};

/// The longest window searched at once.
pub const MAX_WINDOW_DAYS: i64 = 92;
/// How many suggestions are shown.
pub const SUGGESTIONS: usize = 10;

/// A search as typed (page form or API query); empty fields take their defaults.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct SearchInput {
    #[serde(default)]
    pub duration_minutes: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub buffer_minutes: String,
}

/// The end of the window when none is given: `due` (the first meeting's deadline or the plan's
/// follow-up), or two weeks when that has passed, and never further than the longest window
/// allowed (a follow-up half a year away is searched for its first three months).
pub fn default_to(from: NaiveDate, due: Option<NaiveDate>) -> NaiveDate {
    due.filter(|d| *d >= from)
        .unwrap_or(from + Duration::days(13))
        .min(from + Duration::days(MAX_WINDOW_DAYS - 1))
}

/// Checks a search: length 15–480 minutes (default 60), a window of at most three months
/// (default from tomorrow to [`default_to`]), a buffer of 0–120 minutes.
pub fn parse(
    input: &SearchInput,
    today: NaiveDate,
    due: Option<NaiveDate>,
) -> Result<slots::Search, Vec<FieldError>> {
    let mut errors = Vec::new();
    let number = |text: &str,
                  default: i64,
                  field: &str,
                  range: std::ops::RangeInclusive<i64>,
                  message: &str,
                  errors: &mut Vec<FieldError>| {
        let text = text.trim();
        match if text.is_empty() {
            Some(default)
        } else {
            text.parse().ok()
        } {
            Some(n) if range.contains(&n) => n,
            _ => {
                errors.push(FieldError::new(field, message));
                default
            }
        }
    };
    let minutes = number(
        &input.duration_minutes,
        60,
        "duration_minutes",
        15..=480,
        "Skriv mötets längd i minuter, mellan 15 och 480.",
        &mut errors,
    );
    let buffer = number(
        &input.buffer_minutes,
        0,
        "buffer_minutes",
        0..=120,
        "Skriv marginalen i minuter, mellan 0 och 120.",
        &mut errors,
    );
    let date = |text: &str, field: &str, errors: &mut Vec<FieldError>| {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let d = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
        if d.is_none() {
            errors.push(FieldError::new(field, "Skriv datumet som 2026-12-03."));
        }
        d
    };
    let tomorrow = today + Duration::days(1);
    let from = date(&input.from, "from", &mut errors).unwrap_or(tomorrow);
    let to = date(&input.to, "to", &mut errors).unwrap_or_else(|| default_to(from, due));
    if from < today {
        errors.push(FieldError::new("from", "Sök från i dag eller senare."));
    }
    if to < from {
        errors.push(FieldError::new(
            "to",
            "Slutdatumet måste vara samma dag som startdatumet eller senare.",
        ));
    } else if (to - from).num_days() >= MAX_WINDOW_DAYS {
        errors.push(FieldError::new("to", "Sök högst tre månader åt gången."));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(slots::Search {
        minutes,
        from,
        to,
        buffer_minutes: buffer,
        limit: SUGGESTIONS,
    })
}

/// What we know of someone's calendar.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "notes")]
pub enum Calendar {
    /// No account: nothing is known of when they are busy.
    Unknown,
    /// An account without calendar sources: only the service's own meetings count.
    MeetingsOnly,
    /// Every source read recently.
    Read,
    /// Some source failed or is old: why, per source, in Swedish.
    Stale(Vec<String>),
}

/// One person the search asks for.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Who {
    pub name: String,
    pub required: bool,
    pub calendar: Calendar,
}

/// The search and its outcome; slot and blocker ids index `people`.
pub struct Suggestions {
    pub search: slots::Search,
    pub people: Vec<Who>,
    pub outcome: Result<Vec<Slot<usize>>, NoSlot<usize>>,
}

/// Who is asked: the calling caseworker first, then each participant the consent covers.
fn people_of(
    conn: &mut AnyConnection,
    keys: &Keyring,
    sip: &Sip,
) -> Result<Vec<(String, bool, Option<UserId>)>, AppError> {
    let chair: String = users::table
        .find(&sip.responsible_user_id)
        .select(users::name)
        .first(conn)?;
    let mut people = vec![(chair, true, Some(sip.responsible_user_id.clone()))];
    for p in store::participants::invitable(conn, keys, sip)? {
        if p.user_id.as_ref() != Some(&sip.responsible_user_id) {
            people.push((p.name, p.required, p.user_id));
        }
    }
    Ok(people)
}

/// Each user's busy intervals overlapping `[from, to)`: their calendars and the service's own
/// meetings they take part in (as caseworker, or invited and not declined).
fn busy_of(
    conn: &mut AnyConnection,
    users: &[UserId],
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<HashMap<UserId, Vec<Interval>>, AppError> {
    let mut busy = sources::busy_of(conn, users, from, to)?;
    for (user, interval) in meetings_of(conn, users, from, to)? {
        busy.entry(user).or_default().push(interval);
    }
    Ok(busy)
}

/// The service's own meetings each user takes part in, as intervals overlapping `[from, to)`.
fn meetings_of(
    conn: &mut AnyConnection,
    users: &[UserId],
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<(UserId, Interval)>, AppError> {
    // A meeting lasts at most a day (validated), so starting a day before `from` is enough.
    let earliest = from - Duration::days(1);
    let chaired: Vec<(UserId, NaiveDateTime, i32)> = meetings::table
        .inner_join(sips::table)
        .filter(sips::responsible_user_id.eq_any(users))
        .filter(meetings::cancelled_at.is_null())
        .filter(meetings::starts_at.ge(earliest))
        .filter(meetings::starts_at.lt(to))
        .select((
            sips::responsible_user_id,
            meetings::starts_at,
            meetings::minutes,
        ))
        .load(conn)?;
    let invited: Vec<(Option<UserId>, NaiveDateTime, i32)> = invitees::table
        .inner_join(participants::table)
        .inner_join(meetings::table)
        .filter(participants::user_id.eq_any(users))
        .filter(participants::removed_at.is_null())
        .filter(invitees::removed_at.is_null())
        .filter(invitees::status.ne(Answer::NotComing.as_str()))
        .filter(meetings::cancelled_at.is_null())
        .filter(meetings::starts_at.ge(earliest))
        .filter(meetings::starts_at.lt(to))
        .select((
            participants::user_id,
            meetings::starts_at,
            meetings::minutes,
        ))
        .load(conn)?;
    Ok(chaired
        .into_iter()
        .chain(invited.into_iter().filter_map(|(u, s, m)| Some((u?, s, m))))
        .map(|(u, s, m)| (u, (s, s + Duration::minutes(m.into()))))
        .filter(|(_, (_, end))| *end > from)
        .collect())
}

/// Everyone's busy intervals and working hours, and the search.
pub fn suggest(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    sip: &Sip,
    search: slots::Search,
) -> Result<Suggestions, AppError> {
    let people = people_of(conn, &settings.keys, sip)?;
    let accounts: Vec<UserId> = people.iter().filter_map(|p| p.2.clone()).collect();
    // The search may look up to 90 days past the window for the nearest day that works.
    let from = to_utc(search.from.and_time(NaiveTime::MIN));
    let to = to_utc((search.to + Duration::days(92)).and_time(NaiveTime::MIN));
    let mut busy = busy_of(conn, &accounts, from, to)?;
    let mut hours = hours::hours_of(conn, &accounts)?;
    let all_sources = sources::sources_of(conn, &accounts)?;
    let at = now();
    let mut who = Vec::new();
    let mut persons = Vec::new();
    for (i, (name, required, user)) in people.into_iter().enumerate() {
        let calendar = match &user {
            None => Calendar::Unknown,
            Some(u) => {
                let own: Vec<_> = all_sources.iter().filter(|s| s.user_id == *u).collect();
                let stale: Vec<String> = own
                    .iter()
                    .filter(|s| s.stale(at, settings.busy_refresh))
                    .map(|s| format!("{}: {}", s.label, s.status()))
                    .collect();
                match (own.is_empty(), stale.is_empty()) {
                    (true, _) => Calendar::MeetingsOnly,
                    (false, true) => Calendar::Read,
                    (false, false) => Calendar::Stale(stale),
                }
            }
        };
        persons.push(slots::Person {
            id: i,
            required,
            hours: user
                .as_ref()
                .and_then(|u| hours.remove(u))
                .unwrap_or_default(),
            busy: slots::Busy::new(
                &user
                    .as_ref()
                    .and_then(|u| busy.remove(u))
                    .unwrap_or_default(),
            ),
        });
        who.push(Who {
            name,
            required,
            calendar,
        });
    }
    Event::success(
        &actor.audit_actor(),
        "sip.find_time",
        Object::Sip(sip.id.as_str()),
    )
    .detail(sip.id.as_str())
    .record(conn)?;
    let outcome = slots::find(&persons, &search);
    Ok(Suggestions {
        search,
        people: who,
        outcome,
    })
}

/// The search a page or the API asks for, with defaults from today and the SIP's deadline.
pub fn search_for(
    conn: &mut AnyConnection,
    sip: &Sip,
    input: &SearchInput,
) -> Result<slots::Search, AppError> {
    let due = store::views::next_meeting_due(conn, sip)?;
    parse(input, local(now()).date(), due).map_err(AppError::Invalid)
}

/// Checked again when a suggested time is booked: every required person must still be free
/// then (the calendars may have changed since the suggestion was shown).
pub fn still_free(
    conn: &mut AnyConnection,
    keys: &Keyring,
    sip: &Sip,
    starts_at: NaiveDateTime,
    minutes: i64,
) -> Result<(), AppError> {
    let end = starts_at + Duration::minutes(minutes);
    let people = people_of(conn, keys, sip)?;
    let accounts: Vec<UserId> = people
        .iter()
        .filter(|p| p.1)
        .filter_map(|p| p.2.clone())
        .collect();
    let busy = busy_of(conn, &accounts, starts_at, end)?;
    let taken: Vec<&str> = people
        .iter()
        .filter(|p| p.2.as_ref().is_some_and(|u| busy.contains_key(u)))
        .map(|p| p.0.as_str())
        .collect();
    if taken.is_empty() {
        Ok(())
    } else {
        Err(AppError::Conflict(format!(
            "Tiden är inte längre ledig för {}. Välj en annan tid.",
            taken.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn defaults_run_from_tomorrow_to_the_deadline() {
        let s = parse(
            &SearchInput::default(),
            d("2026-11-23"),
            Some(d("2026-12-04")),
        )
        .unwrap();
        assert_eq!(
            (s.minutes, s.from, s.to, s.buffer_minutes),
            (60, d("2026-11-24"), d("2026-12-04"), 0)
        );
        // A deadline already passed: two weeks from tomorrow.
        let s = parse(
            &SearchInput::default(),
            d("2026-11-23"),
            Some(d("2026-11-20")),
        )
        .unwrap();
        assert_eq!(s.to, d("2026-12-07"));
    }

    /// A follow-up six months ahead (the plan's default) is searched for the longest window
    /// allowed, not refused as too long.
    #[test]
    fn the_default_window_is_never_longer_than_allowed() {
        let from = d("2026-11-24");
        assert_eq!(default_to(from, Some(d("2027-05-24"))), d("2027-02-23"));
        assert_eq!(
            (default_to(from, Some(d("2027-05-24"))) - from).num_days(),
            MAX_WINDOW_DAYS - 1
        );
        assert_eq!(default_to(from, Some(d("2027-02-23"))), d("2027-02-23"));
        assert_eq!(default_to(from, Some(d("2026-12-04"))), d("2026-12-04"));
        assert_eq!(default_to(from, Some(d("2026-11-20"))), d("2026-12-07"));
        assert_eq!(default_to(from, None), d("2026-12-07"));
        let s = parse(
            &SearchInput::default(),
            d("2026-11-23"),
            Some(d("2027-05-24")),
        )
        .unwrap();
        assert_eq!((s.from, s.to), (from, d("2027-02-23")));
        // A typed end is still checked.
        let typed = SearchInput {
            to: "2027-05-24".into(),
            ..Default::default()
        };
        assert!(parse(&typed, d("2026-11-23"), None).is_err());
    }

    #[test]
    fn mistakes_are_named_per_field_in_swedish() {
        let input = SearchInput {
            duration_minutes: "abc".into(),
            from: "3 december".into(),
            to: "2027-06-01".into(),
            buffer_minutes: "500".into(),
        };
        let errors = parse(&input, d("2026-11-23"), None).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["duration_minutes", "buffer_minutes", "from", "to"]);
        assert!(errors[2].message.contains("2026-12-03"));
        let late = SearchInput {
            from: "2026-12-10".into(),
            to: "2026-12-01".into(),
            ..Default::default()
        };
        assert_eq!(
            parse(&late, d("2026-11-23"), None).unwrap_err()[0].field,
            "to"
        );
        let past = SearchInput {
            from: "2026-11-01".into(),
            ..Default::default()
        };
        assert_eq!(
            parse(&past, d("2026-11-23"), None).unwrap_err()[0].field,
            "from"
        );
    }
}
