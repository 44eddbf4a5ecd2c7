//! Time zones as calendars name them. Pure: no I/O.
//!
//! A `TZID` is resolved, in this order, as an IANA name (`Europe/Stockholm`), a Windows name as
//! Outlook writes it (`W. Europe Standard Time`), an IANA name at the end of a longer identifier
//! (`/mozilla.org/20050126_1/Europe/Stockholm`), and finally by the rules of the calendar's own
//! `VTIMEZONE` with that `TZID`. Times without a zone ("floating") and all-day dates are read in
//! the calendar's `X-WR-TIMEZONE` (Google) or, without one, in Swedish time.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{Duration, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use ical::parser::ical::component::{IcalTimeZone, IcalTimeZoneTransition};
use ical::property::Property;

use crate::calendar::value;
use crate::schedule::budget::Budget;
use crate::schedule::recurrence::{local_time, recurrences};

/// A zone that converts local wall-clock times to UTC.
#[derive(Clone, Debug)]
pub enum Zone {
    Utc,
    Iana(Tz),
    /// From a `VTIMEZONE` whose name is no known zone.
    Rules(std::sync::Arc<Transitions>),
}

impl Zone {
    /// The UTC instant of a local time. In a spring gap the time is moved forward by the gap; in
    /// the autumn's repeated hour the first instant is taken.
    pub fn to_utc(&self, local: NaiveDateTime) -> NaiveDateTime {
        match self {
            Zone::Utc => local,
            Zone::Iana(tz) => tz
                .from_local_datetime(&local)
                .earliest()
                .or_else(|| {
                    tz.from_local_datetime(&(local + Duration::hours(1)))
                        .earliest()
                })
                .map_or(local, |t| t.naive_utc()),
            Zone::Rules(rules) => rules.to_utc(local),
        }
    }

    /// The local wall-clock time of a UTC instant.
    pub fn to_local(&self, utc: NaiveDateTime) -> NaiveDateTime {
        match self {
            Zone::Utc => utc,
            Zone::Iana(tz) => tz.from_utc_datetime(&utc).naive_local(),
            Zone::Rules(rules) => utc + Duration::seconds(rules.offset_at(utc).into()),
        }
    }
}

/// Offset changes of a `VTIMEZONE`, expanded over the years a search can need.
#[derive(Clone, Debug, Default)]
pub struct Transitions {
    /// The offset (seconds east of UTC) before the first change.
    initial: i32,
    /// (UTC instant of the change, offset from then on), sorted.
    changes: Vec<(NaiveDateTime, i32)>,
}

impl Transitions {
    fn offset_at(&self, utc: NaiveDateTime) -> i32 {
        let i = self.changes.partition_point(|(at, _)| *at <= utc);
        if i == 0 {
            self.initial
        } else {
            self.changes[i - 1].1
        }
    }

    fn to_utc(&self, local: NaiveDateTime) -> NaiveDateTime {
        // Guess with the offset in force at the local time read as UTC, then correct once.
        let first = local - Duration::seconds(self.offset_at(local).into());
        let earlier = local - Duration::seconds(self.offset_at(first).into());
        let later = local - Duration::seconds(self.offset_at(earlier).into());
        earlier.min(later)
    }
}

/// The zones of one calendar.
pub struct Zones {
    defined: HashMap<String, Zone>,
    /// For floating times and all-day dates.
    pub default: Zone,
}

/// Swedish time, for floating times in a calendar that names no zone.
pub fn stockholm() -> Zone {
    Zone::Iana(chrono_tz::Europe::Stockholm)
}

impl Zones {
    /// The zones a calendar defines, with `VTIMEZONE` rules expanded up to `until_year`, each
    /// step taken from `budget` (the caller checks whether it was spent).
    pub fn of_calendar(
        properties: &[Property],
        timezones: &[IcalTimeZone],
        until_year: i32,
        budget: &mut Budget,
    ) -> Zones {
        let default = properties
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case("X-WR-TIMEZONE"))
            .and_then(|p| p.value.as_deref())
            .and_then(named)
            .unwrap_or_else(stockholm);
        let mut defined = HashMap::new();
        for tz in timezones {
            let Some(id) = value(&tz.properties, "TZID") else {
                continue;
            };
            let zone = named(id)
                .or_else(|| value(&tz.properties, "X-LIC-LOCATION").and_then(named))
                .or_else(|| {
                    rules(&tz.transitions, until_year, budget)
                        .map(|r| Zone::Rules(std::sync::Arc::new(r)))
                });
            if let Some(zone) = zone {
                defined.insert(id.to_string(), zone);
            }
        }
        Zones { defined, default }
    }

    /// The zone of a `TZID` parameter; none means floating (the default zone). An identifier that
    /// nothing explains is read as the default zone rather than refusing the whole calendar.
    pub fn get(&self, tzid: Option<&str>) -> Zone {
        match tzid {
            None => self.default.clone(),
            // A defined zone was already resolved by name where it has one.
            Some(id) => self
                .defined
                .get(id)
                .cloned()
                .or_else(|| named(id))
                .unwrap_or_else(|| self.default.clone()),
        }
    }
}

/// A zone known by name: IANA, Windows, or IANA at the end of a longer identifier.
pub fn named(id: &str) -> Option<Zone> {
    let id = id.trim().trim_matches('"');
    if id.eq_ignore_ascii_case("UTC") || id.eq_ignore_ascii_case("GMT") || id == "Z" {
        return Some(Zone::Utc);
    }
    if let Ok(tz) = Tz::from_str(id) {
        return Some(Zone::Iana(tz));
    }
    if let Some(tz) = windows(id) {
        return Some(Zone::Iana(tz));
    }
    id.match_indices('/')
        .find_map(|(i, _)| Tz::from_str(&id[i + 1..]).ok())
        .map(Zone::Iana)
}

/// Windows zone names (as Outlook and Exchange write them) and the IANA zone each stands for, after
/// the Unicode CLDR mapping for the territory "001".
const WINDOWS: &[(&str, Tz)] = {
    use chrono_tz::{Africa, America, Asia, Atlantic, Australia, Europe, Pacific};
    &[
        ("W. Europe Standard Time", Europe::Berlin),
        ("Central Europe Standard Time", Europe::Budapest),
        ("Central European Standard Time", Europe::Warsaw),
        ("Romance Standard Time", Europe::Paris),
        ("GMT Standard Time", Europe::London),
        ("Greenwich Standard Time", Atlantic::Reykjavik),
        ("FLE Standard Time", Europe::Kiev),
        ("GTB Standard Time", Europe::Bucharest),
        ("E. Europe Standard Time", Europe::Chisinau),
        ("Russian Standard Time", Europe::Moscow),
        ("Turkey Standard Time", Europe::Istanbul),
        ("Israel Standard Time", Asia::Jerusalem),
        ("Egypt Standard Time", Africa::Cairo),
        ("South Africa Standard Time", Africa::Johannesburg),
        ("W. Central Africa Standard Time", Africa::Lagos),
        ("Morocco Standard Time", Africa::Casablanca),
        ("Arabian Standard Time", Asia::Dubai),
        ("Arab Standard Time", Asia::Riyadh),
        ("Iran Standard Time", Asia::Tehran),
        ("Pakistan Standard Time", Asia::Karachi),
        ("India Standard Time", Asia::Kolkata),
        ("SE Asia Standard Time", Asia::Bangkok),
        ("China Standard Time", Asia::Shanghai),
        ("Singapore Standard Time", Asia::Singapore),
        ("Tokyo Standard Time", Asia::Tokyo),
        ("Korea Standard Time", Asia::Seoul),
        ("AUS Eastern Standard Time", Australia::Sydney),
        ("E. Australia Standard Time", Australia::Brisbane),
        ("W. Australia Standard Time", Australia::Perth),
        ("New Zealand Standard Time", Pacific::Auckland),
        ("Fiji Standard Time", Pacific::Fiji),
        ("Hawaiian Standard Time", Pacific::Honolulu),
        ("Alaskan Standard Time", America::Anchorage),
        ("Pacific Standard Time", America::Los_Angeles),
        ("Mountain Standard Time", America::Denver),
        ("US Mountain Standard Time", America::Phoenix),
        ("Central Standard Time", America::Chicago),
        ("Eastern Standard Time", America::New_York),
        ("Atlantic Standard Time", America::Halifax),
        ("Canada Central Standard Time", America::Regina),
        ("Newfoundland Standard Time", America::St_Johns),
        ("Central America Standard Time", America::Guatemala),
        ("Mexico Standard Time", America::Mexico_City),
        ("Central Standard Time (Mexico)", America::Mexico_City),
        ("SA Pacific Standard Time", America::Bogota),
        ("Venezuela Standard Time", America::Caracas),
        ("SA Western Standard Time", America::La_Paz),
        ("E. South America Standard Time", America::Sao_Paulo),
        ("Argentina Standard Time", America::Argentina::Buenos_Aires),
        ("Pacific SA Standard Time", America::Santiago),
        ("Azores Standard Time", Atlantic::Azores),
        ("Cape Verde Standard Time", Atlantic::Cape_Verde),
        ("UTC", chrono_tz::UTC),
        ("Coordinated Universal Time", chrono_tz::UTC),
    ]
};

fn windows(id: &str) -> Option<Tz> {
    WINDOWS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(id))
        .map(|(_, tz)| *tz)
}

/// Parses a UTC offset such as `+0200`, `-0500` or `+053000` into seconds.
fn offset_seconds(value: &str) -> Option<i32> {
    let v = value.trim();
    let (sign, digits) = match v.as_bytes().first()? {
        b'+' => (1, &v[1..]),
        b'-' => (-1, &v[1..]),
        _ => (1, v),
    };
    if !(digits.len() == 4 || digits.len() == 6) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| digits[r].parse::<i32>().ok();
    let secs = n(0..2)? * 3600 + n(2..4)? * 60 + if digits.len() == 6 { n(4..6)? } else { 0 };
    Some(sign * secs)
}

/// The offset changes of a `VTIMEZONE`'s STANDARD and DAYLIGHT parts, from their `DTSTART`,
/// `RRULE` and `RDATE`, up to the end of `until_year`.
fn rules(
    parts: &[IcalTimeZoneTransition],
    until_year: i32,
    budget: &mut Budget,
) -> Option<Transitions> {
    let until = chrono::NaiveDate::from_ymd_opt(until_year, 12, 31)?.and_hms_opt(23, 59, 59)?;
    let mut changes: Vec<(NaiveDateTime, i32, i32)> = Vec::new();
    for part in parts {
        let props = &part.properties;
        let (Some(from), Some(to)) = (
            value(props, "TZOFFSETFROM").and_then(offset_seconds),
            value(props, "TZOFFSETTO").and_then(offset_seconds),
        ) else {
            continue;
        };
        let Some(start) = value(props, "DTSTART").and_then(local_time) else {
            continue;
        };
        let mut onsets = vec![start];
        if let Some(rule) = value(props, "RRULE") {
            onsets.extend(
                recurrences(start, rule, &|utc| utc, start, until, budget).unwrap_or_default(),
            );
        }
        for rdate in props
            .iter()
            .filter(|p| p.name.eq_ignore_ascii_case("RDATE"))
        {
            let values = rdate.value.as_deref().unwrap_or("");
            onsets.extend(values.split(',').filter_map(local_time));
        }
        for onset in onsets {
            if onset <= until {
                changes.push((onset - Duration::seconds(from.into()), from, to));
            }
        }
    }
    changes.sort_by_key(|c| c.0);
    changes.dedup_by_key(|c| c.0);
    let first = changes.first()?;
    Some(Transitions {
        initial: first.1,
        changes: changes.iter().map(|(at, _, to)| (*at, *to)).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    #[test]
    fn names_resolve_as_iana_windows_and_prefixed() {
        let local = at(2026, 6, 1, 9, 0);
        for id in [
            "Europe/Stockholm",
            "W. Europe Standard Time",
            "/mozilla.org/20050126_1/Europe/Stockholm",
            "\"Europe/Stockholm\"",
        ] {
            let zone = named(id).unwrap_or_else(|| panic!("{id} is not resolved"));
            assert_eq!(zone.to_utc(local), at(2026, 6, 1, 7, 0), "{id}");
        }
        assert_eq!(
            named("Eastern Standard Time").unwrap().to_utc(local),
            at(2026, 6, 1, 13, 0)
        );
        assert!(named("Nowhere Standard Time").is_none());
    }

    #[test]
    fn offsets_parse_with_and_without_seconds() {
        assert_eq!(offset_seconds("+0200"), Some(7200));
        assert_eq!(offset_seconds("-0500"), Some(-18000));
        assert_eq!(offset_seconds("+053000"), Some(19800));
        assert_eq!(offset_seconds("0100"), Some(3600));
        assert_eq!(offset_seconds("+2"), None);
    }

    #[test]
    fn gap_and_fold_in_iana_zones() {
        let zone = stockholm();
        // 2026-03-29 02:30 does not exist in Sweden: read as 03:30 summer time (01:30 UTC).
        assert_eq!(zone.to_utc(at(2026, 3, 29, 2, 30)), at(2026, 3, 29, 1, 30));
        // 2026-10-25 02:30 happens twice: the first (summer time, 00:30 UTC).
        assert_eq!(
            zone.to_utc(at(2026, 10, 25, 2, 30)),
            at(2026, 10, 25, 0, 30)
        );
        assert_eq!(
            zone.to_local(at(2026, 10, 25, 1, 30)),
            at(2026, 10, 25, 2, 30)
        );
    }
}
