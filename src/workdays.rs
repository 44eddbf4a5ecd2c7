//! Swedish working days: public holidays, and the days that are off in practice (midsummer eve,
//! Christmas eve, New Year's eve). Pure: no I/O.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// Easter Sunday (Gregorian calendar, anonymous computus).
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).expect("valid Easter date")
}

/// The first `weekday` on or after `from`.
fn next_weekday(from: NaiveDate, weekday: Weekday) -> NaiveDate {
    let ahead = (7 + weekday.num_days_from_monday() as i64
        - from.weekday().num_days_from_monday() as i64)
        % 7;
    from + Duration::days(ahead)
}

/// Public holidays and the days in practice off, with their Swedish names.
pub fn days_off(year: i32) -> Vec<(NaiveDate, &'static str)> {
    let date = |m, d| NaiveDate::from_ymd_opt(year, m, d).expect("valid date");
    let easter = easter_sunday(year);
    let midsummer_day = next_weekday(date(6, 20), Weekday::Sat);
    let all_saints = next_weekday(date(10, 31), Weekday::Sat);
    vec![
        (date(1, 1), "Nyårsdagen"),
        (date(1, 6), "Trettondedag jul"),
        (easter - Duration::days(2), "Långfredagen"),
        (easter, "Påskdagen"),
        (easter + Duration::days(1), "Annandag påsk"),
        (date(5, 1), "Första maj"),
        (easter + Duration::days(39), "Kristi himmelsfärdsdag"),
        (easter + Duration::days(49), "Pingstdagen"),
        (date(6, 6), "Sveriges nationaldag"),
        (midsummer_day - Duration::days(1), "Midsommarafton"),
        (midsummer_day, "Midsommardagen"),
        (all_saints, "Alla helgons dag"),
        (date(12, 24), "Julafton"),
        (date(12, 25), "Juldagen"),
        (date(12, 26), "Annandag jul"),
        (date(12, 31), "Nyårsafton"),
    ]
}

/// The name of the holiday (or day off in practice) on `day`, if it is one.
pub fn holiday(day: NaiveDate) -> Option<&'static str> {
    days_off(day.year())
        .into_iter()
        .find(|(d, _)| *d == day)
        .map(|(_, name)| name)
}

/// Monday to Friday, and not a holiday or day off in practice.
pub fn is_working_day(day: NaiveDate) -> bool {
    !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) && holiday(day).is_none()
}

/// The first working day after `day`.
pub fn next_working_day(day: NaiveDate) -> NaiveDate {
    let mut next = day + Duration::days(1);
    while !is_working_day(next) {
        next += Duration::days(1);
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn easter_dates() {
        assert_eq!(easter_sunday(2024), d(2024, 3, 31));
        assert_eq!(easter_sunday(2025), d(2025, 4, 20));
        assert_eq!(easter_sunday(2026), d(2026, 4, 5));
        assert_eq!(easter_sunday(2027), d(2027, 3, 28));
    }

    #[test]
    fn swedish_days_off_2026() {
        assert_eq!(holiday(d(2026, 4, 3)), Some("Långfredagen"));
        assert_eq!(holiday(d(2026, 4, 6)), Some("Annandag påsk"));
        assert_eq!(holiday(d(2026, 5, 14)), Some("Kristi himmelsfärdsdag"));
        assert_eq!(holiday(d(2026, 6, 19)), Some("Midsommarafton"));
        assert_eq!(holiday(d(2026, 6, 20)), Some("Midsommardagen"));
        assert_eq!(holiday(d(2026, 10, 31)), Some("Alla helgons dag"));
        assert_eq!(holiday(d(2026, 12, 24)), Some("Julafton"));
        assert_eq!(holiday(d(2026, 11, 23)), None);
    }

    #[test]
    fn working_days_skip_weekends_and_holidays() {
        assert!(is_working_day(d(2026, 11, 23))); // Monday
        assert!(!is_working_day(d(2026, 11, 28))); // Saturday
        assert_eq!(next_working_day(d(2026, 11, 27)), d(2026, 11, 30)); // Friday -> Monday
        assert_eq!(next_working_day(d(2026, 4, 2)), d(2026, 4, 7)); // Easter
        assert_eq!(next_working_day(d(2026, 12, 23)), d(2026, 12, 28)); // Christmas
        assert_eq!(next_working_day(d(2026, 12, 30)), d(2027, 1, 4)); // New Year and a weekend
        assert_eq!(next_working_day(d(2026, 6, 18)), d(2026, 6, 22)); // Midsummer
    }
}
