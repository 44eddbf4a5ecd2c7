//! Time as people here read it: Swedish local time (Europe/Stockholm) and UTC, and the office
//! hours of social services' intake. Kept apart from every capability, because reports, SIP
//! meetings, calendars, free-time search and the settings all convert between the two. Pure: no
//! I/O.

use std::str::FromStr;

use chrono::{NaiveDateTime, NaiveTime, TimeDelta, TimeZone};
use chrono_tz::Europe::Stockholm;

/// Local (Stockholm) time of a UTC instant.
pub fn local(utc: NaiveDateTime) -> NaiveDateTime {
    Stockholm.from_utc_datetime(&utc).naive_local()
}

/// The UTC instant of a local (Stockholm) time; in the autumn's repeated hour, the first one.
pub fn to_utc(local: NaiveDateTime) -> NaiveDateTime {
    Stockholm
        .from_local_datetime(&local)
        .earliest()
        // In the spring's missing hour: an hour later, which exists.
        .or_else(|| {
            Stockholm
                .from_local_datetime(&(local + TimeDelta::hours(1)))
                .earliest()
        })
        .expect("a local time exists within an hour")
        .naive_utc()
}

/// A point in time as people here read it: Swedish local time, `2026-11-23 14:05`.
pub fn local_text(utc: &NaiveDateTime) -> String {
    local(*utc).format("%Y-%m-%d %H:%M").to_string()
}

/// When social services' intake is staffed, local time (default 08:00–16:30).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OfficeHours {
    pub opens: NaiveTime,
    pub closes: NaiveTime,
}

impl Default for OfficeHours {
    fn default() -> Self {
        Self {
            opens: NaiveTime::from_hms_opt(8, 0, 0).expect("valid"),
            closes: NaiveTime::from_hms_opt(16, 30, 0).expect("valid"),
        }
    }
}

impl FromStr for OfficeHours {
    type Err = String;
    /// `"08:00-16:30"`.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not office hours like 08:00-16:30");
        let (open, close) = s.split_once('-').ok_or_else(bad)?;
        let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| bad());
        let hours = Self {
            opens: time(open)?,
            closes: time(close)?,
        };
        if hours.opens >= hours.closes {
            return Err(bad());
        }
        Ok(hours)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn local_time_follows_daylight_saving() {
        assert_eq!(local(at("2026-01-15 11:00")), at("2026-01-15 12:00"), "CET");
        assert_eq!(
            local(at("2026-07-15 11:00")),
            at("2026-07-15 13:00"),
            "CEST"
        );
        assert_eq!(to_utc(at("2026-07-15 13:00")), at("2026-07-15 11:00"));
        // The spring's missing hour is read an hour later; the autumn's repeated hour, the first.
        assert_eq!(to_utc(at("2026-03-29 02:30")), at("2026-03-29 01:30"));
        assert_eq!(to_utc(at("2026-10-25 02:30")), at("2026-10-25 00:30"));
        assert_eq!(local_text(&at("2026-11-23 13:05")), "2026-11-23 14:05");
    }

    #[test]
    fn office_hours_parse_with_clear_errors() {
        assert_eq!(
            "8:00-16:30".parse::<OfficeHours>().unwrap(),
            OfficeHours::default()
        );
        assert!("16:30-08:00".parse::<OfficeHours>().is_err());
        assert!("hela dagen"
            .parse::<OfficeHours>()
            .unwrap_err()
            .contains("08:00-16:30"));
    }
}
