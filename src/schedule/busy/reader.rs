//! The second pass: one parsed calendar's events — with their recurrence rules, extra dates,
//! exceptions and moved instances — and its free/busy periods, as UTC intervals.

use std::collections::{HashMap, HashSet};

use chrono::{Duration, NaiveDate, NaiveDateTime};
use ical::parser::ical::component::{IcalCalendar, IcalEvent};
use ical::property::Property;

use super::components::strip_prefix_ignore_case;
use super::malformed::{check, malformed, Malformed};
use crate::calendar::{param, value};
use crate::schedule::budget::{Budget, TOO_BIG};
use crate::schedule::recurrence::{local_time, recurrences};
use crate::schedule::zones::{Zone, Zones};

/// `[start, end)` in UTC.
pub type Interval = (NaiveDateTime, NaiveDateTime);

/// A date or a time as a calendar property gives it.
#[derive(Clone, Debug)]
enum When {
    Date(NaiveDate),
    At(NaiveDateTime, Zone),
}

/// How long an event lasts.
#[derive(Clone, Copy, Debug)]
enum Length {
    /// Whole days, counted in local dates.
    Days(i64),
    Exact(Duration),
}

/// An ISO 8601 duration (`P1D`, `PT1H30M`, `P2W`, `-PT15M`) as whole days and the rest.
pub(super) fn duration(value: &str) -> Option<(i64, Duration)> {
    let v = value.trim();
    let (sign, v) = match v.as_bytes().first()? {
        b'-' => (-1, &v[1..]),
        b'+' => (1, &v[1..]),
        _ => (1, v),
    };
    let v = v.strip_prefix(['P', 'p'])?;
    let (mut days, mut rest, mut number, mut in_time, mut any) = (0i64, 0i64, 0i64, false, false);
    for c in v.chars() {
        match c.to_ascii_uppercase() {
            '0'..='9' => {
                number = number
                    .checked_mul(10)?
                    .checked_add(i64::from(c as u8 - b'0'))?;
            }
            'T' => in_time = true,
            'W' if !in_time => (days, number, any) = (days + number * 7, 0, true),
            'D' if !in_time => (days, number, any) = (days + number, 0, true),
            'H' if in_time => (rest, number, any) = (rest + number * 3600, 0, true),
            'M' if in_time => (rest, number, any) = (rest + number * 60, 0, true),
            'S' if in_time => (rest, number, any) = (rest + number, 0, true),
            _ => return None,
        }
    }
    (any && number == 0 && days < 100_000 && rest < 100_000_000)
        .then(|| (sign * days, Duration::seconds(sign * rest)))
}

/// Reads one calendar's events and free/busy periods.
pub(super) struct Reader<'a> {
    zones: Zones,
    /// The file as given, for line numbers.
    text: &'a str,
}

struct Event {
    uid: String,
    start: When,
    length: Length,
    busy: bool,
    rules: Vec<(String, Property)>,
    /// RDATEs, with their own length when given as a PERIOD.
    extra: Vec<(When, Option<Length>)>,
    excluded: Vec<When>,
    /// For an instance with its own VEVENT: the UTC start it replaces.
    recurrence_id: Option<NaiveDateTime>,
    sequence: i64,
}

impl<'a> Reader<'a> {
    pub(super) fn new(
        calendar: &IcalCalendar,
        text: &'a str,
        until_year: i32,
        budget: &mut Budget,
    ) -> Result<Self, Malformed> {
        let zones = Zones::of_calendar(
            &calendar.properties,
            &calendar.timezones,
            until_year,
            budget,
        );
        check(budget)?;
        Ok(Reader { zones, text })
    }

    /// The line of the file a property came from.
    fn line_of(&self, p: &Property) -> Option<usize> {
        let value = p.value.as_deref().unwrap_or("");
        let head: String = value.chars().take(12).collect();
        self.text
            .lines()
            .position(|l| {
                strip_prefix_ignore_case(l, &p.name)
                    .is_some_and(|rest| rest.starts_with([':', ';']) && l.contains(&head))
            })
            .map(|i| i + 1)
    }

    fn bad(&self, p: &Property, reason: impl Into<String>) -> Malformed {
        malformed(self.line_of(p), reason)
    }

    /// The values of a date/time property (lists allowed), each in its zone.
    fn whens(&self, p: &Property) -> Result<Vec<When>, Malformed> {
        let zone = || self.zones.get(param(p, "TZID"));
        let is_date = param(p, "VALUE").is_some_and(|v| v.eq_ignore_ascii_case("DATE"));
        p.value
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter(|v| !v.trim().is_empty())
            .map(|v| {
                // A PERIOD (RDATE) counts from its start; its end is read by `periods`.
                let v = v.split('/').next().unwrap_or("").trim();
                // The value is not repeated in the reason: it could be any text.
                let t = local_time(v).ok_or_else(|| {
                    self.bad(p, format!("{} har ett datum som inte går att läsa", p.name))
                })?;
                Ok(if is_date || v.len() == 8 {
                    When::Date(t.date())
                } else if v.ends_with(['Z', 'z']) {
                    When::At(t, Zone::Utc)
                } else {
                    When::At(t, zone())
                })
            })
            .collect()
    }

    fn when(&self, p: &Property) -> Result<When, Malformed> {
        self.whens(p)?
            .into_iter()
            .next()
            .ok_or_else(|| self.bad(p, format!("{} saknar datum", p.name)))
    }

    /// The values of an RDATE: dates, times, or PERIODs (`start/end`, `start/duration`) that
    /// carry their own length.
    fn periods(&self, p: &Property) -> Result<Vec<(When, Option<Length>)>, Malformed> {
        let starts = self.whens(p)?;
        let values = p.value.as_deref().unwrap_or("").split(',');
        let ends = values
            .filter(|v| !v.trim().is_empty())
            .map(|v| v.split_once('/'));
        starts
            .into_iter()
            .zip(ends)
            .map(|(start, period)| {
                let Some((_, end)) = period else {
                    return Ok((start, None));
                };
                let bad = || self.bad(p, format!("{} har en period som inte går att läsa", p.name));
                let length = if end.trim().starts_with(['P', 'p', '+', '-']) {
                    let (days, rest) = duration(end).ok_or_else(bad)?;
                    Length::Exact(Duration::days(days) + rest)
                } else {
                    let end_local = local_time(end).ok_or_else(bad)?;
                    let end = if end.trim().ends_with(['Z', 'z']) {
                        When::At(end_local, Zone::Utc)
                    } else {
                        When::At(end_local, self.zones.get(param(p, "TZID")))
                    };
                    Length::Exact(self.utc(&end) - self.utc(&start))
                };
                Ok((start, Some(length)))
            })
            .collect()
    }

    fn utc(&self, when: &When) -> NaiveDateTime {
        match when {
            When::Date(d) => self
                .zones
                .default
                .to_utc(d.and_time(chrono::NaiveTime::MIN)),
            When::At(t, zone) => zone.to_utc(*t),
        }
    }

    fn event(&self, ev: &IcalEvent) -> Result<Event, Malformed> {
        let props = &ev.properties;
        let find = |name: &str| props.iter().find(|p| p.name.eq_ignore_ascii_case(name));
        let all = |name: &'static str| {
            props
                .iter()
                .filter(move |p| p.name.eq_ignore_ascii_case(name))
        };
        let is = |name: &str, v: &str| {
            value(props, name).is_some_and(|x| x.trim().eq_ignore_ascii_case(v))
        };
        let dtstart = find("DTSTART").ok_or_else(|| {
            let uid = find("UID").or_else(|| props.first());
            malformed(
                uid.and_then(|p| self.line_of(p)),
                "en händelse saknar starttid (DTSTART)",
            )
        })?;
        let start = self.when(dtstart)?;
        let length = if let Some(end) = find("DTEND") {
            match (&start, self.when(end)?) {
                (When::Date(s), When::Date(e)) => Length::Days((e - *s).num_days().max(1)),
                // An end before the start is read as swapped (see `push`).
                (s, e) => Length::Exact(self.utc(&e) - self.utc(s)),
            }
        } else if let Some(d) = find("DURATION") {
            let (days, rest) = duration(d.value.as_deref().unwrap_or(""))
                .ok_or_else(|| self.bad(d, "DURATION är ingen giltig längd"))?;
            match start {
                When::Date(_) if rest.is_zero() => Length::Days(days),
                _ => Length::Exact(Duration::days(days) + rest),
            }
        } else {
            match start {
                When::Date(_) => Length::Days(1),
                When::At(..) => Length::Exact(Duration::zero()),
            }
        };
        // An instance with its own VEVENT (RECURRENCE-ID) is that one instance only.
        let recurrence_id = match find("RECURRENCE-ID") {
            Some(p) => Some(self.utc(&self.when(p)?)),
            None => None,
        };
        let overrides = recurrence_id.is_some();
        let mut extra = Vec::new();
        for p in all("RDATE").filter(|_| !overrides) {
            extra.extend(self.periods(p)?);
        }
        let mut excluded = Vec::new();
        for p in all("EXDATE") {
            excluded.extend(self.whens(p)?);
        }
        Ok(Event {
            uid: value(props, "UID").unwrap_or("").to_string(),
            start,
            length,
            busy: !is("STATUS", "CANCELLED")
                && !is("TRANSP", "TRANSPARENT")
                && !is("X-MICROSOFT-CDO-BUSYSTATUS", "FREE"),
            rules: all("RRULE")
                .filter(|_| !overrides)
                .map(|p| (p.value.clone().unwrap_or_default(), p.clone()))
                .collect(),
            extra,
            excluded,
            recurrence_id,
            sequence: value(props, "SEQUENCE")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0),
        })
    }

    pub(super) fn read(
        &self,
        calendar: &IcalCalendar,
        from: NaiveDateTime,
        to: NaiveDateTime,
        busy: &mut Vec<Interval>,
        budget: &mut Budget,
    ) -> Result<(), Malformed> {
        let events = calendar
            .events
            .iter()
            .map(|ev| self.event(ev))
            .collect::<Result<Vec<_>, _>>()?;
        // Instances that have a VEVENT of their own, per UID, as UTC instants.
        let mut moved: HashMap<&str, HashSet<NaiveDateTime>> = HashMap::new();
        // Where several series share a UID (an export holding an event and its edited copy), the
        // one with the highest SEQUENCE, or else the last, is the event.
        let mut current: HashMap<&str, (i64, usize)> = HashMap::new();
        for (i, event) in events.iter().enumerate() {
            let uid = event.uid.as_str();
            match event.recurrence_id {
                Some(at) => {
                    moved.entry(uid).or_default().insert(at);
                }
                None => {
                    let seen = current.entry(uid).or_insert((event.sequence, i));
                    if event.sequence >= seen.0 {
                        *seen = (event.sequence, i);
                    }
                }
            }
        }
        let none = HashSet::new();
        for (i, event) in events.iter().enumerate() {
            let skip = match event.recurrence_id {
                Some(_) => &none,
                None if !event.uid.is_empty()
                    && current.get(event.uid.as_str()).is_some_and(|c| c.1 != i) =>
                {
                    continue; // replaced by a later copy of the series
                }
                None => moved.get(event.uid.as_str()).unwrap_or(&none),
            };
            if event.busy {
                self.occurrences(event, skip, from, to, busy, budget)?;
            }
        }
        for fb in &calendar.free_busys {
            for p in fb
                .properties
                .iter()
                .filter(|p| p.name.eq_ignore_ascii_case("FREEBUSY"))
            {
                if param(p, "FBTYPE").is_some_and(|t| t.eq_ignore_ascii_case("FREE")) {
                    continue;
                }
                let periods = self.periods(p)?;
                budget
                    .take(periods.len())
                    .map_err(|_| malformed(None, TOO_BIG))?;
                for (start, length) in periods {
                    let Some(Length::Exact(length)) = length else {
                        return Err(self.bad(p, "FREEBUSY har en period som inte går att läsa"));
                    };
                    let start = self.utc(&start);
                    push(busy, start, start + length, from, to);
                }
            }
        }
        Ok(())
    }

    /// Every instance of `event` overlapping the window, except those in `skip` (UTC starts that
    /// have their own VEVENT) and its EXDATEs.
    fn occurrences(
        &self,
        event: &Event,
        skip: &HashSet<NaiveDateTime>,
        from: NaiveDateTime,
        to: NaiveDateTime,
        busy: &mut Vec<Interval>,
        budget: &mut Budget,
    ) -> Result<(), Malformed> {
        budget
            .take(1 + event.extra.len())
            .map_err(|_| malformed(None, TOO_BIG))?;
        let (zone, local_start) = match &event.start {
            When::Date(d) => (
                self.zones.default.clone(),
                d.and_time(chrono::NaiveTime::MIN),
            ),
            When::At(t, zone) => (zone.clone(), *t),
        };
        let end_of = |local: NaiveDateTime, utc: NaiveDateTime, length: Length| match length {
            Length::Days(n) => zone.to_utc(local + Duration::days(n)),
            Length::Exact(d) => utc + d,
        };
        let longest = match event.length {
            Length::Days(n) => Duration::days(n + 1),
            Length::Exact(d) => d.abs(),
        };
        // The local window, widened for zone offsets and the event's length.
        let (local_from, local_to) = (
            zone.to_local(from) - longest - Duration::days(1),
            zone.to_local(to) + Duration::days(1),
        );
        // Local starts, each with its own length where an RDATE period gives one.
        let mut starts: Vec<(NaiveDateTime, Option<Length>)> = vec![(local_start, None)];
        for (rule, p) in &event.rules {
            let found = recurrences(
                local_start,
                rule,
                &|utc| zone.to_local(utc),
                local_from,
                local_to,
                budget,
            );
            check(budget)?;
            starts.extend(
                found
                    .map_err(|reason| self.bad(p, reason))?
                    .into_iter()
                    .map(|t| (t, None)),
            );
        }
        for (extra, length) in &event.extra {
            let local = match extra {
                When::Date(d) => d.and_time(chrono::NaiveTime::MIN),
                at @ When::At(..) => zone.to_local(self.utc(at)),
            };
            starts.push((local, *length));
        }
        let excluded_at: HashSet<NaiveDateTime> = event
            .excluded
            .iter()
            .filter(|w| matches!(w, When::At(..)) || matches!(event.start, When::Date(_)))
            .map(|w| self.utc(w))
            .collect();
        let excluded_days: HashSet<NaiveDate> = event
            .excluded
            .iter()
            .filter_map(|w| match w {
                When::Date(d) if matches!(event.start, When::At(..)) => Some(*d),
                _ => None,
            })
            .collect();
        starts.sort_by_key(|(t, _)| *t);
        starts.dedup_by_key(|(t, _)| *t);
        for (local, length) in starts {
            let utc = zone.to_utc(local);
            if skip.contains(&utc)
                || excluded_at.contains(&utc)
                || excluded_days.contains(&local.date())
            {
                continue;
            }
            push(
                busy,
                utc,
                end_of(local, utc, length.unwrap_or(event.length)),
                from,
                to,
            );
        }
        Ok(())
    }
}

/// Adds `[start, end)` cut to the window, if anything of it is inside. An end before the start
/// (some clients write them swapped) counts as the start.
fn push(
    busy: &mut Vec<Interval>,
    start: NaiveDateTime,
    end: NaiveDateTime,
    from: NaiveDateTime,
    to: NaiveDateTime,
) {
    let (s, e) = (start.min(end).max(from), start.max(end).min(to));
    if e > s {
        busy.push((s, e));
    }
}
