//! Busy times read from real calendar files of two public test suites (exports from Google,
//! Outlook, Apple, Thunderbird and others, edge cases reported by users), compared with an
//! independent expander: recurring-ical-events on the Python icalendar library.
//! `scripts/published-calendars` fetches both suites from PyPI at pinned versions; nothing of
//! them is committed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use samordna::schedule::busy::{busy_times, Interval};
use samordna::schedule::slots::merge;
use serde_json::Value;

fn published() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(root.join("scripts/published-calendars"))
        .output()
        .expect("scripts/published-calendars runs");
    assert!(
        out.status.success(),
        "fetching the published calendars failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").unwrap()
}

/// Files where we knowingly read differently from the expander, and why.
const DIFFERENT: &[(&str, &str)] = &[
    ("icalendar--calendars--big_bad_calendar.ics", "refused: END:VCALENDAR missing, as in a cut-off download"),
    ("icalendar--calendars--small_bad_calendar.ics", "refused: END:VCALENDAR missing"),
    ("icalendar--calendars--pr_480_summary_with_colon.ics", "refused: END:VCALENDAR missing"),
    ("icalendar--calendars--empty_RDATE.ics", "refused: a DAYLIGHT outside any VTIMEZONE"),
    ("icalendar--calendars--fuzz_testcase_0_char_in_component_name.ics", "refused: a component without a name"),
    ("icalendar--calendars--multiple_calendar_components.ics", "refused: every property folded onto the line after an empty line"),
    ("icalendar--calendars--timezone_same_start_and_offset.ics", "refused: END:VCALENDARD does not close BEGIN:VCALENDAR"),
    ("recurring-ical-events--issue_201_test_matrix.ics", "refused: END:VTOOD does not close BEGIN:VTODO"),
    ("icalendar--calendars--issue_178_component_with_invalid_name_represented.ics", "refused: a lone component, no VCALENDAR"),
    ("icalendar--calendars--issue_178_custom_component_contains_other.ics", "refused: a lone component, no VCALENDAR"),
    ("icalendar--timezones--issue_237_brazilia_standard.ics", "refused: a lone VTIMEZONE, no VCALENDAR"),
    ("icalendar--timezones--issue_53_tzid_parsed_properly.ics", "refused: a lone VTIMEZONE, no VCALENDAR"),
    ("icalendar--timezones--issue_55_parse_error_on_utc_offset_with_seconds.ics", "refused: a lone VTIMEZONE, no VCALENDAR"),
    ("icalendar--timezones--pacific_fiji.ics", "refused: a lone VTIMEZONE, no VCALENDAR"),
    ("recurring-ical-events--issue_75_range_parameter.ics", "RECURRENCE-ID;RANGE=THISANDFUTURE is read as one moved instance; later instances are not moved"),
    ("recurring-ical-events--issue_148_edge_case_1.ics", "a moved instance that carries its own RRULE and a second copy of the series: read as one moved instance"),
    ("recurring-ical-events--issue_163_deleted_modification.ics", "a moved instance that the series also excludes by EXDATE: we still count the moved instance busy"),
    ("recurring-ical-events--issue_253_additional_recurrence_id.ics", "a RECURRENCE-ID on a date no rule gives: we count it busy as an extra instance"),
];

#[test]
fn published_calendars_give_the_same_busy_times_as_an_independent_expander() {
    let dir = published();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("files"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() > 150, "only {} published files", files.len());
    let (from, to) = ("2000-01-01", "2031-01-01");
    let window = (
        NaiveDate::from_ymd_opt(2000, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap(),
        NaiveDate::from_ymd_opt(2031, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap(),
    );
    let out = Command::new(dir.join("venv/bin/python"))
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/calendar/busy_oracle.py"))
        .args([from, to])
        .args(&files)
        .output()
        .expect("the expander runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let oracle: BTreeMap<String, Value> = serde_json::from_slice(&out.stdout).unwrap();

    let (mut compared, mut agreed, mut refused, mut both_unreadable) = (0, 0, 0, 0);
    let mut differ: Vec<String> = Vec::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let text = String::from_utf8_lossy(&std::fs::read(file).unwrap()).to_string();
        // Compared a day inside the window: an all-day event at its edge starts at local
        // midnight, which the expander cuts by date rather than by instant.
        let inner = (window.0 + Duration::days(1), window.1 - Duration::days(1));
        let clip = |list: &[Interval]| -> Vec<Interval> {
            list.iter()
                .map(|(s, e)| (*s.max(&inner.0), *e.min(&inner.1)))
                .filter(|(s, e)| e > s)
                .collect()
        };
        let ours = busy_times(&text, window.0, window.1).map(|got| clip(&got));
        let theirs = &oracle[&file.to_string_lossy().to_string()];
        // Files the expander cannot read either: ours must answer (busy times or a reason), and
        // never panic; the count is printed.
        let Some(expected) = theirs.get("busy") else {
            both_unreadable += usize::from(ours.is_err());
            continue;
        };
        compared += 1;
        let expected: Vec<Interval> = clip(&merge(
            &expected
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (at(p[0].as_str().unwrap()), at(p[1].as_str().unwrap())))
                .collect::<Vec<_>>(),
        ));
        let known = DIFFERENT.iter().find(|(f, _)| *f == name);
        match (&ours, known) {
            (Ok(got), None) if *got == expected => agreed += 1,
            (Ok(got), Some((_, why))) => assert!(
                !why.starts_with("refused") && *got != expected,
                "{name} is listed as read differently ({why}) but now agrees: take it off the list"
            ),
            (Err(_), Some((_, why))) if why.starts_with("refused") => refused += 1,
            (Err(e), Some((_, why))) => {
                differ.push(format!("{name}: listed as {why}, but we refuse it ({e})"));
            }
            (Ok(got), None) => differ.push(format!(
                "{name}: ours {} intervals, expander {}; first difference {:?}",
                got.len(),
                expected.len(),
                got.iter().zip(&expected).find(|(a, b)| a != b)
            )),
            (Err(e), None) => differ.push(format!(
                "{name}: we refuse it ({e}), the expander reads {} intervals",
                expected.len()
            )),
        }
    }
    println!(
        "published calendars: {} files; {compared} read by the expander: {agreed} identical, \
         {refused} refused by us on purpose, {} read differently on purpose; of the {} it cannot \
         read, we refuse {both_unreadable}",
        files.len(),
        compared - agreed - refused,
        files.len() - compared
    );
    assert!(agreed >= 160, "only {agreed} files read identically");
    assert!(
        differ.is_empty(),
        "read differently:\n{}",
        differ.join("\n")
    );
}
