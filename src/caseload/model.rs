//! The rules of *Mina utredningar*, pure: which date of an investigation comes next (its own
//! last day, an open information request's last day, the next SIP meeting, the SIP plan's
//! follow-up), and the order of the list: what is due within the coming week first.

use chrono::{Days, NaiveDate};

/// How many days ahead count as "this week": today and the six days after.
pub const WEEK: u64 = 7;

/// The earliest of the dates that matter for an investigation.
pub fn next_due(
    investigation_due: NaiveDate,
    requests_due: &[NaiveDate],
    next_meeting: Option<NaiveDate>,
    follow_up_on: Option<NaiveDate>,
) -> NaiveDate {
    requests_due
        .iter()
        .copied()
        .chain(next_meeting)
        .chain(follow_up_on)
        .fold(investigation_due, NaiveDate::min)
}

/// Whether `date` is due within the coming week of `today` (or already past).
pub fn due_this_week(date: NaiveDate, today: NaiveDate) -> bool {
    today
        .checked_add_days(Days::new(WEEK))
        .is_none_or(|limit| date < limit)
}

/// Orders by the next date due, earliest (and overdue) first; ties by the investigation's own
/// last day. What is due this week therefore comes first.
pub fn order<T>(items: &mut [T], key: impl Fn(&T) -> (NaiveDate, NaiveDate)) {
    items.sort_by_key(|item| key(item));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_next_date_is_the_earliest_of_all() {
        let due = day("2027-04-02");
        assert_eq!(next_due(due, &[], None, None), due);
        assert_eq!(
            next_due(
                due,
                &[day("2026-12-20"), day("2026-12-16")],
                Some(day("2026-12-18")),
                None
            ),
            day("2026-12-16")
        );
        assert_eq!(
            next_due(due, &[day("2026-12-20")], None, Some(day("2026-12-03"))),
            day("2026-12-03")
        );
    }

    #[test]
    fn this_week_is_today_and_the_six_days_after_and_anything_overdue() {
        let today = day("2026-12-02");
        assert!(due_this_week(day("2026-11-20"), today));
        assert!(due_this_week(today, today));
        assert!(due_this_week(day("2026-12-08"), today));
        assert!(!due_this_week(day("2026-12-09"), today));
    }

    #[test]
    fn what_is_due_first_comes_first() {
        let mut items = vec![
            ("later", day("2027-04-01"), day("2027-04-01")),
            ("overdue request", day("2026-11-30"), day("2027-04-02")),
            ("meeting", day("2026-12-04"), day("2027-03-01")),
        ];
        order(&mut items, |i| (i.1, i.2));
        let names: Vec<&str> = items.iter().map(|i| i.0).collect();
        assert_eq!(names, ["overdue request", "meeting", "later"]);
    }
}
