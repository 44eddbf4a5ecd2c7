//! Recurrence rules (`RRULE`) expanded in local wall-clock time, so that a weekly 09:00 stays at
//! 09:00 across a change to or from summer time. Instances before the window are skipped by
//! arithmetic where the rule allows it, so a rule that began long ago costs no more than one that
//! began yesterday; every instance looked at is a step of the calendar's [`Budget`]. Pure: no I/O.

use chrono::{Duration, NaiveDate, NaiveDateTime, TimeZone};
use rrule::{RRule, RRuleSet, Tz, Unvalidated};

use crate::schedule::budget::Budget;

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

/// The local start times of a recurrence `rule` from `start` (local wall-clock time) that fall in
/// `[from, to)` (also local), with `start` itself always the first. An `UNTIL` given in UTC is
/// read in local time with `local_of_utc`: the event's zone converts, so that the rules need know
/// no zones. Each instance looked at is a step of `budget`; instances before `from` are skipped
/// without looking at them where the rule repeats over periods of a fixed length.
pub(crate) fn recurrences(
    start: NaiveDateTime,
    rule: &str,
    local_of_utc: &dyn Fn(NaiveDateTime) -> NaiveDateTime,
    from: NaiveDateTime,
    to: NaiveDateTime,
    budget: &mut Budget,
) -> Result<Vec<NaiveDateTime>, String> {
    expand(start, rule, local_of_utc, from, to, budget, true)
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
    local_of_utc: &dyn Fn(NaiveDateTime) -> NaiveDateTime,
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
                local_of_utc(local)
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
    let count = get("COUNT").map(str::parse::<i64>);
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
    for at in &RRuleSet::new(pseudo(first)).rrule(rule) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Skipping to the window by arithmetic gives exactly the instances walking from DTSTART
    /// gives, for rules with COUNT and UNTIL, around both Swedish clock changes of 2026.
    #[test]
    fn skipping_by_arithmetic_gives_the_instances_walking_gives() {
        // The event's zone: Swedish time.
        let zone = crate::time::local;
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
}
