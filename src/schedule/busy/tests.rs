//! Reading calendar files: recurrences across clock changes, free and cancelled events, free/busy
//! periods, zones by every name clients write, refusals that say which line, and the budget.

use chrono::{Duration, NaiveDate};

use super::malformed::malformed;
use super::reader::duration;
use super::*;
use crate::schedule::budget::{Stop, MAX_STEPS};

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

#[test]
fn durations() {
    assert_eq!(duration("PT1H30M"), Some((0, Duration::minutes(90))));
    assert_eq!(duration("P1W"), Some((7, Duration::zero())));
    assert_eq!(duration("-PT15M"), Some((0, Duration::minutes(-15))));
    assert_eq!(duration("P1DT2H"), Some((1, Duration::hours(2))));
    assert_eq!(duration("PT"), None);
    assert_eq!(duration("1H"), None);
}
