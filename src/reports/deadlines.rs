//! The legal clocks of a report of concern, kept as data with effective dates, because the law
//! changes. Pure: no I/O.
//!
//! - Safety assessment (skyddsbedömning): at once, the same day; for a report that comes in after
//!   office hours (after closing, or on a day the office is closed), at the latest the next
//!   *calendar* day (prop. 2012/13:10: "samma dag … senast dagen efter"). Out of hours the
//!   municipality's socialjour is responsible, so weekends and holidays do not move it. Due at
//!   the office's closing time, Stockholm time, on that day. An acute report is due within a set
//!   number of hours (real elapsed time) if that comes first.
//! - Initial assessment (förhandsbedömning): a decision within 14 days of receipt.
//! - Investigation (utredning): finished within 4 months of being opened; may be extended.
//! - Feedback (återkoppling) to a reporter with a duty to report: from 2026-01-15 (prop.
//!   2025/26:12) within a set time after the decision; the number of days is set by ordinance, so
//!   it is a setting (`SAMORDNA_FEEDBACK_DAYS`), and only whether the limit applies is dated here.

use chrono::{Months, NaiveDate, NaiveDateTime, TimeDelta};

use crate::time::{local, to_utc, OfficeHours};
use crate::workdays::is_working_day;

/// One version of the rules, in force from `effective_from`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    pub effective_from: NaiveDate,
    pub law: &'static str,
    /// Days from receipt to the decision whether to open an investigation.
    pub decision_days: i64,
    /// Months from opening to the end of an investigation.
    pub investigation_months: u32,
    /// Whether a reporter with a duty to report must get feedback within a set time after the
    /// decision (the time itself is the setting `SAMORDNA_FEEDBACK_DAYS`).
    pub feedback_time_limit: bool,
}

const fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(d) => d,
        None => panic!("valid date"),
    }
}

/// Every version, oldest first. Add a new entry when the law changes; never edit an old one.
pub const RULES: &[Rules] = &[
    Rules {
        effective_from: date(2025, 7, 1),
        law: "Socialtjänstlag (2025:400), 11 kap.",
        decision_days: 14,
        investigation_months: 4,
        feedback_time_limit: false,
    },
    Rules {
        effective_from: date(2026, 1, 15),
        law: "Socialtjänstlag (2025:400), 11 kap., ändrad från 2026-01-15 (prop. 2025/26:12)",
        decision_days: 14,
        investigation_months: 4,
        feedback_time_limit: true,
    },
];

/// The rules in force on `day` (the oldest version for days before it).
pub fn rules_on(day: NaiveDate) -> &'static Rules {
    RULES
        .iter()
        .rev()
        .find(|r| r.effective_from <= day)
        .unwrap_or(&RULES[0])
}

/// The clocks that start when a report is received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportClocks {
    /// When the safety assessment must be documented (UTC).
    pub safety_due: NaiveDateTime,
    /// The last day for the decision (local date).
    pub decision_due: NaiveDate,
}

/// Whether intake is staffed at `at_utc`: a working day, between opening and closing. Outside
/// these hours the municipality's socialjour is responsible.
pub fn in_office_hours(at_utc: NaiveDateTime, office: &OfficeHours) -> bool {
    let at = local(at_utc);
    is_working_day(at.date()) && office.opens <= at.time() && at.time() < office.closes
}

pub fn report_clocks(received_utc: NaiveDateTime, office: &OfficeHours) -> ReportClocks {
    let received = local(received_utc);
    let day = received.date();
    // The same day when it comes in on a working day before closing (before opening too: the
    // office has the whole day); otherwise the next calendar day, whatever day that is.
    let safety_day = if is_working_day(day) && received.time() < office.closes {
        day
    } else {
        day.succ_opt().expect("a next day")
    };
    let rules = rules_on(day);
    ReportClocks {
        safety_due: to_utc(safety_day.and_time(office.closes)),
        decision_due: day + TimeDelta::days(rules.decision_days),
    }
}

/// The clocks of an acute report: the safety assessment within `within` of receipt (elapsed
/// time, so a change to or from summer time in between does not move it), or by the ordinary
/// clock if that comes first.
pub fn acute_report_clocks(
    received_utc: NaiveDateTime,
    office: &OfficeHours,
    within: TimeDelta,
) -> ReportClocks {
    let ordinary = report_clocks(received_utc, office);
    ReportClocks {
        safety_due: ordinary.safety_due.min(received_utc + within),
        ..ordinary
    }
}

/// A decision made after its last day needs a recorded reason.
pub fn decision_is_late(decision_due: NaiveDate, decided_utc: NaiveDateTime) -> bool {
    local(decided_utc).date() > decision_due
}

/// The last day of an investigation opened on `opened` (local date).
pub fn investigation_due(opened: NaiveDate) -> NaiveDate {
    opened + Months::new(rules_on(opened).investigation_months)
}

/// The last day for feedback to a reporter with a duty to report, for a decision made at
/// `decided_utc`: `days` (the setting) after the decision's local date, when the rules in force
/// on that day set a time limit; `None` before 2026-01-15, when there was none.
pub fn feedback_due(decided_utc: NaiveDateTime, days: u32) -> Option<NaiveDate> {
    let day = local(decided_utc).date();
    rules_on(day)
        .feedback_time_limit
        .then(|| day + TimeDelta::days(i64::from(days)))
}

/// How a clock stands on `today`, for showing it so that no one can miss an overdue one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Urgency {
    Overdue,
    DueToday,
    Later,
}

impl Urgency {
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Overdue => "overdue",
            Urgency::DueToday => "due_today",
            Urgency::Later => "later",
        }
    }

    /// What the user reads.
    pub fn label(self) -> &'static str {
        match self {
            Urgency::Overdue => "Försenad",
            Urgency::DueToday => "Idag",
            Urgency::Later => "Senare",
        }
    }
}

/// For a clock that runs out at an instant (UTC): overdue once past, "today" on its local day.
pub fn urgency_at(due: NaiveDateTime, now: NaiveDateTime) -> Urgency {
    if due < now {
        Urgency::Overdue
    } else {
        urgency(local(due).date(), local(now).date())
    }
}

/// For a clock that runs out at the end of a day.
pub fn urgency(due: NaiveDate, today: NaiveDate) -> Urgency {
    match due.cmp(&today) {
        std::cmp::Ordering::Less => Urgency::Overdue,
        std::cmp::Ordering::Equal => Urgency::DueToday,
        std::cmp::Ordering::Greater => Urgency::Later,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc_of(local_text: &str) -> NaiveDateTime {
        to_utc(NaiveDateTime::parse_from_str(local_text, "%Y-%m-%d %H:%M").unwrap())
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn office() -> OfficeHours {
        OfficeHours::default()
    }

    #[test]
    fn safety_assessment_is_due_the_same_day_within_office_hours() {
        let clocks = report_clocks(utc_of("2026-11-23 10:15"), &office());
        assert_eq!(local(clocks.safety_due), utc_of_local("2026-11-23 16:30"));
        // Before office hours open: still the same day.
        let early = report_clocks(utc_of("2026-11-23 06:00"), &office());
        assert_eq!(local(early.safety_due).date(), d(2026, 11, 23));
    }

    fn utc_of_local(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn after_office_hours_it_is_the_next_calendar_day() {
        let evening = report_clocks(utc_of("2026-11-23 17:05"), &office());
        assert_eq!(local(evening.safety_due), utc_of_local("2026-11-24 16:30"));
        // Friday 17:00, after closing: Saturday, not Monday (socialjour is responsible).
        let friday = report_clocks(utc_of("2026-11-27 17:00"), &office());
        assert_eq!(local(friday.safety_due), utc_of_local("2026-11-28 16:30"));
        let friday_night = report_clocks(utc_of("2026-11-27 22:00"), &office());
        assert_eq!(local(friday_night.safety_due).date(), d(2026, 11, 28));
        // A day the office is closed is out of hours all day: the next day, Sunday.
        let saturday = report_clocks(utc_of("2026-11-28 11:00"), &office());
        assert_eq!(local(saturday.safety_due).date(), d(2026, 11, 29));
        // Christmas Eve evening: Christmas Day, not the 28th.
        let christmas_eve = report_clocks(utc_of("2026-12-24 20:00"), &office());
        assert_eq!(
            local(christmas_eve.safety_due),
            utc_of_local("2026-12-25 16:30")
        );
        let new_years_eve = report_clocks(utc_of("2026-12-31 23:59"), &office());
        assert_eq!(local(new_years_eve.safety_due).date(), d(2027, 1, 1));
        // Configurable office hours.
        let late_office: OfficeHours = "07:00-19:00".parse().unwrap();
        let same_day = report_clocks(utc_of("2026-11-23 17:05"), &late_office);
        assert_eq!(local(same_day.safety_due), utc_of_local("2026-11-23 19:00"));
    }

    #[test]
    fn office_hours_are_working_days_between_opening_and_closing() {
        let o = office();
        assert!(in_office_hours(utc_of("2026-11-23 08:00"), &o));
        assert!(in_office_hours(utc_of("2026-11-23 16:29"), &o));
        assert!(!in_office_hours(utc_of("2026-11-23 16:30"), &o));
        assert!(!in_office_hours(utc_of("2026-11-23 07:59"), &o));
        assert!(!in_office_hours(utc_of("2026-11-23 21:00"), &o));
        assert!(!in_office_hours(utc_of("2026-11-28 10:00"), &o), "Saturday");
        assert!(
            !in_office_hours(utc_of("2026-12-25 10:00"), &o),
            "Christmas Day"
        );
        // Summer time: 10:00 local is 08:00 UTC.
        assert!(in_office_hours(utc_of_local("2026-06-10 08:00"), &o));
    }

    #[test]
    fn an_acute_report_is_due_within_hours() {
        let two = TimeDelta::hours(2);
        // 21:00 on a weekday: 23:00 the same evening, not 16:30 the next day.
        let night = acute_report_clocks(utc_of("2026-11-25 21:00"), &office(), two);
        assert_eq!(local(night.safety_due), utc_of_local("2026-11-25 23:00"));
        // Within office hours too.
        let morning = acute_report_clocks(utc_of("2026-11-25 09:15"), &office(), two);
        assert_eq!(local(morning.safety_due), utc_of_local("2026-11-25 11:15"));
        // The ordinary clock when it runs out first; the decision clock is the ordinary one.
        let late = acute_report_clocks(utc_of("2026-11-25 16:00"), &office(), two);
        assert_eq!(local(late.safety_due), utc_of_local("2026-11-25 16:30"));
        assert_eq!(late.decision_due, d(2026, 12, 9));
        let hours = TimeDelta::hours(5);
        let longer = acute_report_clocks(utc_of("2026-11-25 21:00"), &office(), hours);
        assert_eq!(local(longer.safety_due), utc_of_local("2026-11-26 02:00"));
    }

    #[test]
    fn the_decision_is_due_fourteen_days_after_receipt() {
        let clocks = report_clocks(utc_of("2026-11-23 23:30"), &office());
        assert_eq!(clocks.decision_due, d(2026, 12, 7));
        assert!(!decision_is_late(
            clocks.decision_due,
            utc_of("2026-12-07 23:59")
        ));
        assert!(decision_is_late(
            clocks.decision_due,
            utc_of("2026-12-08 00:01")
        ));
    }

    #[test]
    fn clocks_hold_across_daylight_saving_changes() {
        // 2026-03-29: clocks go forward at 02:00. A Saturday-evening report is due Sunday 16:30
        // local, which is 14:30 UTC (CEST), not 15:30.
        let spring = report_clocks(utc_of("2026-03-28 18:00"), &office());
        assert_eq!(local(spring.safety_due), utc_of_local("2026-03-29 16:30"));
        assert_eq!(
            spring.safety_due,
            utc_of_local("2026-03-29 14:30"),
            "CEST is UTC+2"
        );
        // 2026-10-25: clocks go back at 03:00. Due Sunday 16:30 local = 15:30 UTC (CET).
        let autumn = report_clocks(utc_of("2026-10-24 18:00"), &office());
        assert_eq!(local(autumn.safety_due), utc_of_local("2026-10-25 16:30"));
        assert_eq!(
            autumn.safety_due,
            utc_of_local("2026-10-25 15:30"),
            "CET is UTC+1"
        );
        // A Friday-evening report over the spring night is due Saturday, at 16:30 CET.
        let friday = report_clocks(utc_of("2026-03-27 18:00"), &office());
        assert_eq!(local(friday.safety_due), utc_of_local("2026-03-28 16:30"));
        // An acute report in the night itself: two real hours, whatever the wall clock does.
        // 01:30 CET (00:30 UTC) + 2 h = 02:30 UTC = 04:30 CEST.
        let two = TimeDelta::hours(2);
        let spring_night = acute_report_clocks(utc_of("2026-03-29 01:30"), &office(), two);
        assert_eq!(spring_night.safety_due, utc_of_local("2026-03-29 02:30"));
        assert_eq!(
            local(spring_night.safety_due),
            utc_of_local("2026-03-29 04:30")
        );
        // 01:30 CEST (23:30 UTC) + 2 h = 01:30 UTC = 02:30 CET, the second 02:30 of the night.
        let autumn_night = acute_report_clocks(utc_of("2026-10-25 01:30"), &office(), two);
        assert_eq!(autumn_night.safety_due, utc_of_local("2026-10-25 01:30"));
        assert_eq!(
            local(autumn_night.safety_due),
            utc_of_local("2026-10-25 02:30")
        );
        // Local midnight in UTC: a report at 00:30 local on 2026-10-25 (UTC 22:30 the day before)
        // belongs to the 25th.
        let night = report_clocks(utc_of_local("2026-10-24 22:30"), &office());
        assert_eq!(night.decision_due, d(2026, 11, 8));
        assert_eq!(local(night.safety_due), utc_of_local("2026-10-26 16:30"));
    }

    #[test]
    fn investigations_run_four_months_from_opening() {
        assert_eq!(investigation_due(d(2026, 11, 23)), d(2027, 3, 23));
        assert_eq!(investigation_due(d(2026, 10, 31)), d(2027, 2, 28));
    }

    #[test]
    fn rules_are_chosen_by_date() {
        assert_eq!(rules_on(d(2026, 11, 23)).decision_days, 14);
        assert_eq!(rules_on(d(2020, 1, 1)), &RULES[0]);
        for pair in RULES.windows(2) {
            assert!(
                pair[0].effective_from < pair[1].effective_from,
                "oldest first"
            );
        }
    }

    #[test]
    fn feedback_has_a_time_limit_from_2026_01_15() {
        // Before the change there was no time limit.
        assert_eq!(feedback_due(utc_of("2026-01-14 15:00"), 14), None);
        assert!(!rules_on(d(2026, 1, 14)).feedback_time_limit);
        // From the day it took effect: the setting's days after the decision's local date.
        assert_eq!(
            feedback_due(utc_of("2026-01-15 09:00"), 14),
            Some(d(2026, 1, 29))
        );
        assert_eq!(
            feedback_due(utc_of("2026-11-23 23:30"), 10),
            Some(d(2026, 12, 3))
        );
        // The decision's local day: 00:30 on the 15th in Stockholm is the 14th in UTC.
        assert_eq!(
            feedback_due(utc_of_local("2026-01-14 23:30"), 14),
            Some(d(2026, 1, 29))
        );
        assert!(rules_on(d(2026, 1, 15)).law.contains("2025/26:12"));
    }

    #[test]
    fn urgency_marks_overdue_and_today() {
        let today = d(2026, 11, 23);
        assert_eq!(urgency(d(2026, 11, 22), today), Urgency::Overdue);
        assert_eq!(urgency(today, today), Urgency::DueToday);
        assert_eq!(urgency(d(2026, 11, 24), today), Urgency::Later);
        let now = utc_of("2026-11-23 12:00");
        assert_eq!(
            urgency_at(utc_of("2026-11-23 11:59"), now),
            Urgency::Overdue
        );
        assert_eq!(
            urgency_at(utc_of("2026-11-23 16:30"), now),
            Urgency::DueToday
        );
        assert_eq!(urgency_at(utc_of("2026-11-24 16:30"), now), Urgency::Later);
    }
}
