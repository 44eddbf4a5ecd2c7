//! The legal clocks of a report of concern, kept as data with effective dates, because the law
//! changes. Pure: no I/O.
//!
//! - Safety assessment (skyddsbedömning): at once, the same day; the next working day if the report
//!   came in after office hours, on a weekend or on a holiday.
//! - Initial assessment (förhandsbedömning): a decision within 14 days of receipt.
//! - Investigation (utredning): finished within 4 months of being opened; may be extended.

use chrono::{Months, NaiveDate, NaiveDateTime, TimeDelta};

use crate::time::{local, to_utc, OfficeHours};
use crate::workdays::{is_working_day, next_working_day};

/// One version of the rules, in force from `effective_from`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    pub effective_from: NaiveDate,
    pub law: &'static str,
    /// Days from receipt to the decision whether to open an investigation.
    pub decision_days: i64,
    /// Months from opening to the end of an investigation.
    pub investigation_months: u32,
}

/// Every version, oldest first. Add a new entry when the law changes; never edit an old one.
pub const RULES: &[Rules] = &[Rules {
    effective_from: match NaiveDate::from_ymd_opt(2025, 7, 1) {
        Some(d) => d,
        None => panic!("valid date"),
    },
    law: "Socialtjänstlag (2025:400), 11 kap.",
    decision_days: 14,
    investigation_months: 4,
}];

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

pub fn report_clocks(received_utc: NaiveDateTime, office: &OfficeHours) -> ReportClocks {
    let received = local(received_utc);
    let day = received.date();
    let safety_day = if is_working_day(day) && received.time() < office.closes {
        day
    } else {
        next_working_day(day)
    };
    let rules = rules_on(day);
    ReportClocks {
        safety_due: to_utc(safety_day.and_time(office.closes)),
        decision_due: day + TimeDelta::days(rules.decision_days),
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
    fn safety_assessment_is_due_the_same_working_day_within_office_hours() {
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
    fn after_office_hours_weekends_and_holidays_it_is_the_next_working_day() {
        let evening = report_clocks(utc_of("2026-11-23 17:05"), &office());
        assert_eq!(local(evening.safety_due), utc_of_local("2026-11-24 16:30"));
        let friday_night = report_clocks(utc_of("2026-11-27 22:00"), &office());
        assert_eq!(local(friday_night.safety_due).date(), d(2026, 11, 30));
        let saturday = report_clocks(utc_of("2026-11-28 11:00"), &office());
        assert_eq!(local(saturday.safety_due).date(), d(2026, 11, 30));
        let christmas_eve = report_clocks(utc_of("2026-12-24 09:00"), &office());
        assert_eq!(local(christmas_eve.safety_due).date(), d(2026, 12, 28));
        // Configurable office hours.
        let late_office: OfficeHours = "07:00-19:00".parse().unwrap();
        let same_day = report_clocks(utc_of("2026-11-23 17:05"), &late_office);
        assert_eq!(local(same_day.safety_due), utc_of_local("2026-11-23 19:00"));
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
        // 2026-03-29: clocks go forward; a Friday-evening report is due Monday 16:30 CEST.
        let spring = report_clocks(utc_of("2026-03-27 18:00"), &office());
        assert_eq!(local(spring.safety_due), utc_of_local("2026-03-30 16:30"));
        assert_eq!(
            spring.safety_due,
            utc_of_local("2026-03-30 14:30"),
            "CEST is UTC+2"
        );
        let autumn = report_clocks(utc_of("2026-10-23 18:00"), &office());
        assert_eq!(
            autumn.safety_due,
            utc_of_local("2026-10-26 15:30"),
            "CET is UTC+1"
        );
        // Local midnight in UTC: a report at 00:30 local on 2026-10-25 (UTC 22:30 the day before)
        // belongs to the 25th.
        let night = report_clocks(utc_of_local("2026-10-24 22:30"), &office());
        assert_eq!(night.decision_due, d(2026, 11, 8));
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
