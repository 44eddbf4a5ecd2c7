//! Busy times from a calendar file: what Outlook, Google, Apple and others publish as a secret
//! address, or what a user uploads. Pure: no I/O.
//!
//! Only `[start, end)` intervals in UTC come out, merged so that not even the boundaries of
//! back-to-back events remain. Titles, descriptions, places and attendees are never read.
//!
//! Read: `VEVENT` with `RRULE` (expanded in the event's own local time, so a weekly 09:00 stays at
//! 09:00 across a change to or from summer time), `RDATE`, `EXDATE`, `RECURRENCE-ID` overrides
//! (moved or cancelled instances), all-day and multi-day events; events marked free
//! (`TRANSP:TRANSPARENT`, Outlook's `X-MICROSOFT-CDO-BUSYSTATUS:FREE`) and cancelled ones
//! (`STATUS:CANCELLED`) are not busy. `VFREEBUSY` with `FREEBUSY` periods by `FBTYPE`. Time zones
//! as in [`crate::schedule::zones`]. Components the search has no use for (tasks, journals,
//! alarms, vendor extensions) are skipped before parsing.
//!
//! A file that cannot be read is refused as a whole, with the line and what is wrong: reading half
//! a calendar would show someone free when they are not.
//!
//! The work one calendar may cost is bounded as a whole ([`Budget`]): steps through all its
//! recurrence rules together (its time zones' too), and time. Instances before the window are
//! skipped by arithmetic where the rule allows it, so a rule that began long ago costs no more
//! than one that began yesterday; a calendar over the budget is refused as too big.

use std::collections::{HashMap, HashSet};
use std::fmt;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone};
use ical::parser::ical::component::{IcalCalendar, IcalEvent};
use ical::parser::ParserError;
use ical::property::{Property, PropertyError};
use rrule::{RRule, RRuleSet, Tz, Unvalidated};

use crate::calendar::{param, value};
use crate::schedule::slots::merge;
use crate::schedule::zones::{Zone, Zones};

/// `[start, end)` in UTC.
pub type Interval = (NaiveDateTime, NaiveDateTime);

/// At most this many busy times are read from one calendar within a window.
pub const MAX_INTERVALS: usize = 100_000;
/// At most this many steps through the recurrence rules of one calendar, all rules together:
/// five for every busy time a calendar may have.
pub const MAX_STEPS: usize = 5 * MAX_INTERVALS;
/// At most this long reading one calendar.
pub const MAX_TIME: std::time::Duration = std::time::Duration::from_secs(5);
/// Why a calendar over the [`Budget`] is refused.
pub const TOO_BIG: &str = "kalendern är för stor eller för komplicerad";

/// What stopped a reading that went over its [`Budget`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Steps,
    Time,
}

/// How much work reading one calendar may still take: steps through recurrence rules (and
/// dates listed one by one), and time.
#[derive(Clone, Debug)]
pub struct Budget {
    steps: usize,
    deadline: Option<std::time::Instant>,
    taken: usize,
    stopped: Option<Stop>,
}

impl Budget {
    /// `steps` steps, and `time` from now if given.
    pub fn new(steps: usize, time: Option<std::time::Duration>) -> Self {
        Budget {
            steps,
            deadline: time.map(|t| std::time::Instant::now() + t),
            taken: 0,
            stopped: None,
        }
    }

    /// [`MAX_STEPS`] and [`MAX_TIME`].
    pub fn standard() -> Self {
        Self::new(MAX_STEPS, Some(MAX_TIME))
    }

    /// Takes `n` steps; the clock is read every 1,024 steps and whenever asked with `n == 0`.
    fn take(&mut self, n: usize) -> Result<(), String> {
        if self.stopped.is_none() {
            let before = self.taken;
            self.taken = self.taken.saturating_add(n);
            if self.taken > self.steps {
                self.stopped = Some(Stop::Steps);
            } else if (n == 0 || before >> 10 != self.taken >> 10)
                && self
                    .deadline
                    .is_some_and(|d| std::time::Instant::now() >= d)
            {
                self.stopped = Some(Stop::Time);
            }
        }
        match self.stopped {
            Some(_) => Err(TOO_BIG.into()),
            None => Ok(()),
        }
    }

    /// Steps taken so far.
    pub fn taken(&self) -> usize {
        self.taken
    }

    /// What stopped the reading, if anything did.
    pub fn stopped_by(&self) -> Option<Stop> {
        self.stopped
    }

    /// The refusal when the budget is spent.
    fn check(&self) -> Result<(), Malformed> {
        match self.stopped {
            Some(_) => Err(malformed(None, TOO_BIG)),
            None => Ok(()),
        }
    }
}

/// Why a calendar file could not be read, in Swedish, with the line where that is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed {
    pub line: Option<usize>,
    pub reason: String,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(n) => write!(f, "rad {n}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

fn malformed(line: Option<usize>, reason: impl Into<String>) -> Malformed {
    Malformed {
        line,
        reason: reason.into(),
    }
}

/// The busy intervals of every calendar in `text` that overlap `[from, to)` (UTC), cut to the
/// window, sorted and merged; within the [`Budget::standard`].
pub fn busy_times(
    text: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<Interval>, Malformed> {
    busy_times_within(text, from, to, &mut Budget::standard())
}

/// [`busy_times`] within `budget`: a calendar that would take more is refused with [`TOO_BIG`].
pub fn busy_times_within(
    text: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
    budget: &mut Budget,
) -> Result<Vec<Interval>, Malformed> {
    let cleaned = components_we_read(text)?;
    let mut busy = Vec::new();
    for calendar in ical::IcalParser::new(cleaned.as_bytes()) {
        budget.take(0).map_err(|_| malformed(None, TOO_BIG))?;
        let calendar = calendar.map_err(unreadable)?;
        Reader::new(&calendar, text, to.year() + 1, budget)?
            .read(&calendar, from, to, &mut busy, budget)?;
        if busy.len() > MAX_INTERVALS {
            return Err(malformed(
                None,
                format!("kalendern har fler än {MAX_INTERVALS} upptagna tider under perioden"),
            ));
        }
    }
    Ok(merge(&busy))
}

/// The components parsed; everything else is blanked out (keeping line numbers) before parsing.
const READ: [&str; 6] = [
    "VCALENDAR",
    "VEVENT",
    "VFREEBUSY",
    "VTIMEZONE",
    "STANDARD",
    "DAYLIGHT",
];

fn strip_prefix_ignore_case<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    line.get(..prefix.len())
        .filter(|head| head.eq_ignore_ascii_case(prefix))
        .map(|_| &line[prefix.len()..])
}

/// Checks that every BEGIN has its END and keeps only the components in [`READ`], with other
/// lines left empty so the parser's line numbers still match the file.
fn components_we_read(text: &str) -> Result<String, Malformed> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = String::with_capacity(text.len());
    let mut open: Vec<(String, usize)> = Vec::new();
    // The depth at which a skipped component began.
    let mut skipping: Option<usize> = None;
    let mut calendars = 0;
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        let folded = line.starts_with(' ') || line.starts_with('\t');
        let mut keep = skipping.is_none() && !open.is_empty();
        if !folded {
            if let Some(name) = strip_prefix_ignore_case(line, "BEGIN:") {
                let name = name.trim().to_ascii_uppercase();
                calendars += usize::from(name == "VCALENDAR");
                open.push((name.clone(), number));
                if skipping.is_none() && !READ.contains(&name.as_str()) {
                    skipping = Some(open.len());
                }
                keep = skipping.is_none();
            } else if let Some(name) = strip_prefix_ignore_case(line, "END:") {
                let name = name.trim().to_ascii_uppercase();
                match open.pop() {
                    Some((begun, _)) if begun == name => {}
                    Some((begun, at)) => {
                        return Err(malformed(
                            Some(number),
                            format!(
                                "END:{name} kommer före END:{begun} (BEGIN:{begun} på rad {at})"
                            ),
                        ))
                    }
                    None => {
                        return Err(malformed(
                            Some(number),
                            format!("END:{name} utan BEGIN:{name}"),
                        ))
                    }
                }
                if skipping.is_some_and(|depth| open.len() < depth) {
                    skipping = None;
                    keep = false;
                }
            }
        }
        // A line without a colon cannot be a property (Apple Calendar has written
        // `X-APPLE-RADIUS=…`): it is left out rather than refusing the calendar.
        if keep && (folded || line.contains(':')) {
            out.push_str(line.trim_end_matches('\r'));
        }
        out.push('\n');
    }
    if let Some((name, at)) = open.pop() {
        return Err(malformed(
            Some(at),
            format!("BEGIN:{name} avslutas aldrig (END:{name} saknas)"),
        ));
    }
    if calendars == 0 {
        return Err(malformed(
            None,
            "filen är ingen kalender (BEGIN:VCALENDAR saknas)",
        ));
    }
    Ok(out)
}

fn unreadable(error: ParserError) -> Malformed {
    match error {
        ParserError::PropertyError(e) => {
            let line = match e {
                PropertyError::MissingName { line }
                | PropertyError::MissingClosingQuote { line }
                | PropertyError::MissingDelimiter { line, .. }
                | PropertyError::MissingContentAfter { line, .. }
                | PropertyError::MissingParamKey { line } => line,
            };
            malformed(Some(line), "raden är ingen giltig kalenderrad")
        }
        _ => malformed(None, "kalenderns delar är felaktigt uppbyggda"),
    }
}

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

/// A local time written `YYYYMMDDTHHMMSS` (a trailing `Z` is ignored) or a date (midnight).
pub(crate) fn local_time(value: &str) -> Option<NaiveDateTime> {
    let v = value.trim();
    let v = v.strip_suffix(['Z', 'z']).unwrap_or(v);
    if v.len() == 8 {
        return NaiveDate::parse_from_str(v, "%Y%m%d")
            .ok()?
            .and_hms_opt(0, 0, 0);
    }
    NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S").ok()
}

/// An ISO 8601 duration (`P1D`, `PT1H30M`, `P2W`, `-PT15M`) as whole days and the rest.
fn duration(value: &str) -> Option<(i64, Duration)> {
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
                    .checked_add(i64::from(c as u8 - b'0'))?
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

/// The local start times of a recurrence `rule` from `start` (local wall-clock time of `zone`)
/// that fall in `[from, to)` (also local), with `start` itself always the first. Each instance
/// looked at is a step of `budget`; instances before `from` are skipped without looking at them
/// where the rule repeats over periods of a fixed length.
pub(crate) fn recurrences(
    start: NaiveDateTime,
    rule: &str,
    zone: &Zone,
    from: NaiveDateTime,
    to: NaiveDateTime,
    budget: &mut Budget,
) -> Result<Vec<NaiveDateTime>, String> {
    expand(start, rule, zone, from, to, budget, true)
}

/// The length of one period of a rule that repeats `FREQ` every `INTERVAL`, in local wall-clock
/// time (as the rule is expanded), where that length is fixed: not for months and years.
fn period(freq: &str, interval: i64) -> Option<Duration> {
    let unit = match freq.to_ascii_uppercase().as_str() {
        "SECONDLY" => Duration::seconds(1),
        "MINUTELY" => Duration::minutes(1),
        "HOURLY" => Duration::hours(1),
        "DAILY" => Duration::days(1),
        "WEEKLY" => Duration::weeks(1),
        _ => return None,
    };
    (1..=1_000_000)
        .contains(&interval)
        .then(|| unit * interval as i32)
}

/// [`recurrences`], skipping the instances before `from` by arithmetic when `skip` is set (and
/// the rule allows it), or walking through them.
fn expand(
    start: NaiveDateTime,
    rule: &str,
    zone: &Zone,
    from: NaiveDateTime,
    to: NaiveDateTime,
    budget: &mut Budget,
    skip: bool,
) -> Result<Vec<NaiveDateTime>, String> {
    budget.take(0)?;
    // UNTIL is read here (it may be UTC, local or a date); the rest by the rrule crate, which
    // expands in "UTC" standing for the event's local wall clock.
    let mut until = None;
    let mut parts: Vec<(String, String)> = Vec::new();
    for part in rule.split(';').filter(|p| !p.trim().is_empty()) {
        let (key, v) = part.split_once('=').unwrap_or((part, ""));
        let (key, v) = (key.trim().to_ascii_uppercase(), v.trim());
        if key == "UNTIL" {
            let local = local_time(v).ok_or_else(|| format!("UNTIL={v} är inget datum"))?;
            until = Some(if v.len() == 8 {
                local + Duration::days(1) - Duration::seconds(1)
            } else if v.ends_with(['Z', 'z']) {
                zone.to_local(local)
            } else {
                local
            });
        } else {
            parts.push((key, v.to_string()));
        }
    }
    let pseudo = |t: NaiveDateTime| Tz::UTC.from_utc_datetime(&t);
    let mut out = Vec::new();
    if start >= from && start < to {
        out.push(start);
    }
    if until.is_some_and(|u| u < start) || start >= to {
        return Ok(out);
    }
    // A rule of a fixed period looks at the same candidates in every period (BY… parts expand
    // or filter each period alike, by the candidates' own dates), so the walk may begin with
    // the last period that starts before `from`: what that leaves out lies before `from`. That
    // period's start becomes the rule's first instance, which is before `from` too and so not
    // kept. With COUNT, only a rule of one instance a period (no BY… parts) can be counted
    // without walking.
    let mut first = start;
    let get = |key: &str| {
        parts
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let plain = !parts.iter().any(|(k, _)| k.starts_with("BY"));
    let count = get("COUNT").map(|c| c.parse::<i64>());
    let interval = get("INTERVAL").map_or(Ok(1), str::parse::<i64>);
    if let (true, Some(freq), Ok(interval)) = (skip && start < from, get("FREQ"), interval) {
        if let Some(period) = period(freq, interval).filter(|_| count.is_none() || plain) {
            let behind = (from - start).num_seconds() - 1;
            let periods = behind.div_euclid(period.num_seconds()).max(0);
            if let Some(Ok(count)) = count {
                if count <= periods {
                    return Ok(out);
                }
                let left = (count - periods).to_string();
                parts.retain(|(k, _)| k != "COUNT");
                parts.push(("COUNT".into(), left));
            }
            first = start + Duration::seconds(periods * period.num_seconds());
        }
    }
    if until.is_some_and(|u| u < first) {
        return Ok(out);
    }
    let text: Vec<String> = parts
        .iter()
        .map(|(k, v)| match v.is_empty() {
            true => k.clone(),
            false => format!("{k}={v}"),
        })
        .collect();
    let mut parsed: RRule<Unvalidated> = text
        .join(";")
        .parse()
        .map_err(|e: rrule::RRuleError| format!("upprepningsregeln går inte att läsa ({e})"))?;
    if let Some(u) = until {
        parsed = parsed.until(pseudo(u));
    }
    let rule = parsed
        .validate(pseudo(first))
        .map_err(|e| format!("upprepningsregeln går inte att använda ({e})"))?;
    for at in RRuleSet::new(pseudo(first)).rrule(rule).into_iter() {
        budget.take(1)?;
        let at = at.naive_utc();
        if at >= to {
            break;
        }
        if at >= from && at != start {
            out.push(at);
        }
    }
    Ok(out)
}

/// Reads one calendar's events and free/busy periods.
struct Reader<'a> {
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
    fn new(
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
        budget.check()?;
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

    fn read(
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
            let found = recurrences(local_start, rule, &zone, local_from, local_to, budget);
            budget.check()?;
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
                at => zone.to_local(self.utc(at)),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    fn cal(body: &str) -> String {
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{body}END:VCALENDAR\r\n")
            .replace('\n', "\r\n")
            .replace("\r\r\n", "\r\n")
    }

    fn busy(text: &str) -> Vec<Interval> {
        busy_times(text, at(2026, 1, 1, 0, 0), at(2027, 1, 1, 0, 0)).expect("readable")
    }

    #[test]
    fn weekly_rule_keeps_local_time_across_both_clock_changes_with_exdate_and_override() {
        let text = cal("BEGIN:VEVENT
UID:w1
DTSTART;TZID=Europe/Stockholm:20260319T090000
DTEND;TZID=Europe/Stockholm:20260319T100000
RRULE:FREQ=WEEKLY;COUNT=4
EXDATE;TZID=Europe/Stockholm:20260326T090000
SUMMARY:Hemligt
END:VEVENT
BEGIN:VEVENT
UID:w1
RECURRENCE-ID;TZID=Europe/Stockholm:20260409T090000
DTSTART;TZID=Europe/Stockholm:20260409T130000
DTEND;TZID=Europe/Stockholm:20260409T140000
END:VEVENT
BEGIN:VEVENT
UID:w2
DTSTART;TZID=Europe/Stockholm:20261022T090000
DTEND;TZID=Europe/Stockholm:20261022T093000
RRULE:FREQ=WEEKLY;UNTIL=20261029T080000Z
END:VEVENT
");
        assert_eq!(
            busy(&text),
            vec![
                // 19 March, winter time: 09:00 local is 08:00 UTC.
                (at(2026, 3, 19, 8, 0), at(2026, 3, 19, 9, 0)),
                // 26 March is excluded; 2 April, summer time: 07:00 UTC.
                (at(2026, 4, 2, 7, 0), at(2026, 4, 2, 8, 0)),
                // 9 April moved to 13:00 local.
                (at(2026, 4, 9, 11, 0), at(2026, 4, 9, 12, 0)),
                // 22 October in summer time, 29 October (UNTIL, inclusive) in winter time.
                (at(2026, 10, 22, 7, 0), at(2026, 10, 22, 7, 30)),
                (at(2026, 10, 29, 8, 0), at(2026, 10, 29, 8, 30)),
            ]
        );
    }

    #[test]
    fn free_cancelled_and_all_day_events() {
        let text = cal("BEGIN:VEVENT
UID:a
DTSTART;VALUE=DATE:20260105
DTEND;VALUE=DATE:20260107
END:VEVENT
BEGIN:VEVENT
UID:b
DTSTART:20260210T090000Z
DTEND:20260210T100000Z
TRANSP:TRANSPARENT
END:VEVENT
BEGIN:VEVENT
UID:c
DTSTART:20260211T090000Z
DTEND:20260211T100000Z
STATUS:CANCELLED
END:VEVENT
BEGIN:VEVENT
UID:d
DTSTART:20260212T090000Z
DTEND:20260212T100000Z
X-MICROSOFT-CDO-BUSYSTATUS:FREE
END:VEVENT
BEGIN:VEVENT
UID:e
DTSTART:20260213T090000Z
DURATION:PT1H30M
STATUS:TENTATIVE
END:VEVENT
");
        assert_eq!(
            busy(&text),
            vec![
                // Two whole Swedish days.
                (at(2026, 1, 4, 23, 0), at(2026, 1, 6, 23, 0)),
                (at(2026, 2, 13, 9, 0), at(2026, 2, 13, 10, 30)),
            ]
        );
    }

    #[test]
    fn freebusy_periods_by_type() {
        let text = cal("BEGIN:VFREEBUSY
DTSTART:20260301T000000Z
DTEND:20260401T000000Z
FREEBUSY:20260302T080000Z/20260302T090000Z,20260303T080000Z/PT30M
FREEBUSY;FBTYPE=FREE:20260304T080000Z/20260304T090000Z
FREEBUSY;FBTYPE=BUSY-TENTATIVE:20260305T080000Z/20260305T090000Z
FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20260306T080000Z/20260306T090000Z
END:VFREEBUSY
");
        assert_eq!(
            busy(&text),
            vec![
                (at(2026, 3, 2, 8, 0), at(2026, 3, 2, 9, 0)),
                (at(2026, 3, 3, 8, 0), at(2026, 3, 3, 8, 30)),
                (at(2026, 3, 5, 8, 0), at(2026, 3, 5, 9, 0)),
                (at(2026, 3, 6, 8, 0), at(2026, 3, 6, 9, 0)),
            ]
        );
    }

    /// Outlook names the zone the Windows way and defines it in a VTIMEZONE; a zone nobody knows
    /// by name is read from its VTIMEZONE rules; Google's floating times use X-WR-TIMEZONE.
    #[test]
    fn windows_names_own_rules_and_google_default_zone() {
        let vtimezone = |id: &str| {
            format!(
                "BEGIN:VTIMEZONE
TZID:{id}
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE
"
            )
        };
        let outlook = cal(&format!(
            "{}BEGIN:VEVENT
UID:o
DTSTART;TZID=W. Europe Standard Time:20261026T100000
DTEND;TZID=W. Europe Standard Time:20261026T110000
END:VEVENT
",
            vtimezone("W. Europe Standard Time")
        ));
        assert_eq!(
            busy(&outlook),
            vec![(at(2026, 10, 26, 9, 0), at(2026, 10, 26, 10, 0))]
        );

        let own = cal(&format!(
            "{}BEGIN:VEVENT
UID:r
DTSTART;TZID=Kontoret:20261023T100000
DTEND;TZID=Kontoret:20261023T110000
RRULE:FREQ=DAILY;COUNT=4
END:VEVENT
",
            vtimezone("Kontoret")
        ));
        assert_eq!(
            busy(&own),
            vec![
                (at(2026, 10, 23, 8, 0), at(2026, 10, 23, 9, 0)),
                (at(2026, 10, 24, 8, 0), at(2026, 10, 24, 9, 0)),
                // The clocks went back on 25 October.
                (at(2026, 10, 25, 9, 0), at(2026, 10, 25, 10, 0)),
                (at(2026, 10, 26, 9, 0), at(2026, 10, 26, 10, 0)),
            ]
        );

        let google = "BEGIN:VCALENDAR\r\nX-WR-TIMEZONE:America/New_York\r\nBEGIN:VEVENT\r\nUID:g\r\nDTSTART:20261201T090000\r\nDTEND:20261201T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        assert_eq!(
            busy(google),
            vec![(at(2026, 12, 1, 14, 0), at(2026, 12, 1, 15, 0))]
        );
    }

    #[test]
    fn other_components_are_skipped_and_busy_times_merged_and_cut_to_the_window() {
        let text = cal("BEGIN:VTODO
UID:t
DTSTART:nonsense
BEGIN:VALARM
TRIGGER:-PT15M
END:VALARM
END:VTODO
BEGIN:X-VENDOR-THING
FOO:bar
END:X-VENDOR-THING
BEGIN:VEVENT
UID:x
DTSTART:20251231T230000Z
DTEND:20260101T010000Z
BEGIN:VALARM
TRIGGER:-PT15M
END:VALARM
END:VEVENT
BEGIN:VEVENT
UID:y
DTSTART:20260101T010000Z
DTEND:20260101T020000Z
END:VEVENT
");
        assert_eq!(
            busy(&text),
            vec![(at(2026, 1, 1, 0, 0), at(2026, 1, 1, 2, 0))]
        );
    }

    #[test]
    fn malformed_files_say_which_line() {
        let check = |text: &str, line: Option<usize>, words: &str| {
            let e = busy_times(text, at(2026, 1, 1, 0, 0), at(2027, 1, 1, 0, 0)).unwrap_err();
            assert_eq!(e.line, line, "{e}");
            assert!(e.to_string().contains(words), "{e}");
        };
        check(
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART:2026-01-05\nEND:VEVENT\nEND:VCALENDAR\n",
            Some(4),
            "DTSTART har ett datum som inte går att läsa",
        );
        check(
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART:20260105T100000Z\nEND:VCALENDAR\n",
            Some(5),
            "END:VCALENDAR kommer före END:VEVENT",
        );
        check(
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART:20260105T100000Z\nEND:VEVENT\n",
            Some(1),
            "avslutas aldrig",
        );
        check(
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART;TZID=\"Europe/Stockholm:20260105T100000\nEND:VEVENT\nEND:VCALENDAR\n",
            Some(4),
            "ingen giltig kalenderrad",
        );
        check(
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART:20260105T100000Z\nRRULE:FREQ=SOMETIMES\nEND:VEVENT\nEND:VCALENDAR\n",
            Some(5),
            "upprepningsregeln",
        );
        check("<html>Not found</html>", None, "ingen kalender");
    }

    /// The calendar of issue 15: 300 events repeating every second, from about 200,000 s
    /// (190,000) before the window until it begins. One rule alone is little work; all of them together are over
    /// the calendar's budget of steps, which stops the reading with the Swedish refusal.
    #[test]
    fn many_rules_together_are_refused_by_the_calendars_step_budget() {
        let (from, to) = (at(2026, 1, 1, 0, 0), at(2027, 1, 1, 0, 0));
        let hostile = |events: usize| {
            let start = (from - Duration::seconds(190_000)).format("%Y%m%dT%H%M%SZ");
            let until = from.format("%Y%m%dT%H%M%SZ");
            cal(&(0..events)
                .map(|i| {
                    format!(
                        "BEGIN:VEVENT\nUID:h{i}\nDTSTART:{start}\nDURATION:PT1S\n\
                         RRULE:FREQ=SECONDLY;UNTIL={until}\nEND:VEVENT\n"
                    )
                })
                .collect::<String>())
        };
        let mut budget = Budget::new(MAX_STEPS, None);
        let refused = busy_times_within(&hostile(300), from, to, &mut budget).unwrap_err();
        assert_eq!(refused, malformed(None, TOO_BIG));
        assert_eq!(
            refused.to_string(),
            "kalendern är för stor eller för komplicerad"
        );
        assert_eq!(budget.stopped_by(), Some(Stop::Steps));
        assert!(budget.taken() <= MAX_STEPS + 1, "{}", budget.taken());

        // A few of the same rules are within the budget (their last second, UNTIL, is the
        // window's first).
        let mut budget = Budget::new(MAX_STEPS, None);
        assert_eq!(
            busy_times_within(&hostile(3), from, to, &mut budget),
            Ok(vec![(from, from + Duration::seconds(1))])
        );
        assert_eq!(budget.stopped_by(), None);
    }

    /// The budget's time runs out too (here at once), with the same refusal.
    #[test]
    fn a_calendar_out_of_time_is_refused_the_same_way() {
        let text = cal("BEGIN:VEVENT\nUID:a\nDTSTART:20260105T100000Z\nEND:VEVENT\n");
        let mut budget = Budget::new(MAX_STEPS, Some(std::time::Duration::ZERO));
        let refused = busy_times_within(
            &text,
            at(2026, 1, 1, 0, 0),
            at(2027, 1, 1, 0, 0),
            &mut budget,
        );
        assert_eq!(refused, Err(malformed(None, TOO_BIG)));
        assert_eq!(budget.stopped_by(), Some(Stop::Time));
    }

    /// Rules whose DTSTART lies years before the window cost steps for the window only.
    #[test]
    fn instances_before_the_window_cost_no_steps() {
        let text = cal("BEGIN:VEVENT
UID:old
DTSTART:19700105T090000Z
DTEND:19700105T091500Z
RRULE:FREQ=MINUTELY;INTERVAL=30
END:VEVENT
");
        let (from, to) = (at(2026, 6, 1, 0, 0), at(2026, 6, 2, 0, 0));
        let mut budget = Budget::new(MAX_STEPS, None);
        let busy = busy_times_within(&text, from, to, &mut budget).unwrap();
        assert_eq!(busy.len(), 48);
        assert_eq!(busy[0], (at(2026, 6, 1, 0, 0), at(2026, 6, 1, 0, 15)));
        assert!(budget.taken() < 200, "{} steps", budget.taken());
    }

    /// Skipping to the window by arithmetic gives exactly the instances walking from DTSTART
    /// gives, for rules with COUNT and UNTIL, around both Swedish clock changes of 2026.
    #[test]
    fn skipping_by_arithmetic_gives_the_instances_walking_gives() {
        let zone = crate::schedule::zones::stockholm();
        let local = |text: &str| local_time(text).unwrap();
        // DTSTART, the rule, and the (local) window.
        let cases = [
            (
                "20200101T090000",
                "FREQ=DAILY",
                "20260325T000000",
                "20260405T000000",
            ),
            // COUNT runs out on 29 March, inside the window.
            (
                "20200101T090000",
                "FREQ=DAILY;COUNT=2280",
                "20260325T000000",
                "20260405T000000",
            ),
            (
                "20200101T093000",
                "FREQ=DAILY;INTERVAL=3;UNTIL=20261030T080000Z",
                "20261020T000000",
                "20261101T000000",
            ),
            (
                "20200101T090000",
                "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
                "20261020T000000",
                "20261101T000000",
            ),
            (
                "20190107T140000",
                "FREQ=WEEKLY",
                "20260320T000000",
                "20260410T000000",
            ),
            (
                "20190107T140000",
                "FREQ=WEEKLY;INTERVAL=2;COUNT=190",
                "20260301T000000",
                "20260501T000000",
            ),
            (
                "20190107T140000",
                "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR;UNTIL=20261030",
                "20261001T000000",
                "20261105T000000",
            ),
            (
                "20260328T230000",
                "FREQ=SECONDLY;INTERVAL=7;UNTIL=20260329T013000Z",
                "20260329T013000",
                "20260329T040000",
            ),
            // COUNT runs out at 01:53:19 on 29 March, inside the window.
            (
                "20260328T120000",
                "FREQ=SECONDLY;COUNT=50000",
                "20260329T013000",
                "20260329T040000",
            ),
            (
                "20261001T000000",
                "FREQ=MINUTELY;INTERVAL=13",
                "20261025T010000",
                "20261025T040000",
            ),
            // COUNT runs out at 02:19 on 25 October, inside the window.
            (
                "20261001T000000",
                "FREQ=MINUTELY;COUNT=34700",
                "20261025T010000",
                "20261025T040000",
            ),
            (
                "20261001T000000",
                "FREQ=MINUTELY;INTERVAL=5;UNTIL=20261025T013000Z",
                "20261025T010000",
                "20261025T040000",
            ),
            (
                "20250101T001500",
                "FREQ=HOURLY;INTERVAL=5;UNTIL=20261026T000000Z",
                "20261020T000000",
                "20261101T000000",
            ),
        ];
        for (start, rule, from, to) in cases {
            let (mut skipping, mut walking) =
                (Budget::new(usize::MAX, None), Budget::new(usize::MAX, None));
            let (start, from, to) = (local(start), local(from), local(to));
            let skipped = expand(start, rule, &zone, from, to, &mut skipping, true).unwrap();
            let walked = expand(start, rule, &zone, from, to, &mut walking, false).unwrap();
            assert!(!walked.is_empty(), "{rule}: the window has instances");
            assert_eq!(skipped, walked, "{rule}");
            assert!(
                skipping.taken() < walking.taken(),
                "{rule}: {} steps skipping, {} walking",
                skipping.taken(),
                walking.taken()
            );
        }
    }

    #[test]
    fn durations() {
        assert_eq!(duration("PT1H30M"), Some((0, Duration::minutes(90))));
        assert_eq!(duration("P1W"), Some((7, Duration::zero())));
        assert_eq!(duration("-PT15M"), Some((0, Duration::minutes(-15))));
        assert_eq!(duration("P1DT2H"), Some((1, Duration::hours(2))));
        assert_eq!(duration("PT"), None);
        assert_eq!(duration("1H"), None);
    }
}
