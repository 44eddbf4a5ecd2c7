//! Each user's working hours, kept for the search for a meeting time: the days of the week and
//! the hours of the day they can meet, or the default for those who have set none.

use std::collections::HashMap;

use chrono::{NaiveTime, Weekday};
use diesel::prelude::*;

use crate::accounts::AuthUser;
use crate::audit::event::{Event, Object};
use crate::db::schema::working_hours;
use crate::db::{write_tx, AnyConnection};
use crate::error::{AppError, FieldError};
use crate::ids::UserId;
use crate::schedule::slots::WorkingHours;

/// Working hours as stored: bit 0 of `days` is Monday.
fn hours_from(days: i32, start: i32, end: i32) -> WorkingHours {
    let minute = |m: i32| {
        NaiveTime::from_num_seconds_from_midnight_opt((m.clamp(0, 24 * 60 - 1) * 60) as u32, 0)
            .unwrap_or(NaiveTime::MIN)
    };
    WorkingHours {
        days: (0..7)
            .filter(|b| days & (1 << b) != 0)
            .filter_map(|b| Weekday::try_from(b as u8).ok())
            .collect(),
        start: minute(start),
        end: minute(end),
    }
}

/// Each user's working hours; the default for those who have set none.
pub fn hours_of(
    conn: &mut AnyConnection,
    users: &[UserId],
) -> Result<HashMap<UserId, WorkingHours>, AppError> {
    let rows: Vec<(UserId, i32, i32, i32)> = working_hours::table
        .filter(working_hours::user_id.eq_any(users))
        .select((
            working_hours::user_id,
            working_hours::days,
            working_hours::start_minute,
            working_hours::end_minute,
        ))
        .load(conn)?;
    let mut out: HashMap<UserId, WorkingHours> = rows
        .into_iter()
        .map(|(u, d, s, e)| (u, hours_from(d, s, e)))
        .collect();
    for u in users {
        out.entry(u.clone()).or_default();
    }
    Ok(out)
}

/// Working hours as typed on the profile page.
#[derive(Clone, Debug, Default)]
pub struct HoursInput {
    /// ISO weekday numbers, 1 = Monday.
    pub days: Vec<String>,
    pub start: String,
    pub end: String,
}

/// Checks and saves a user's working hours.
pub fn set_hours(
    conn: &mut AnyConnection,
    user: &AuthUser,
    input: &HoursInput,
) -> Result<(), AppError> {
    let mut errors = Vec::new();
    let time = |field: &str, text: &str, errors: &mut Vec<FieldError>| {
        let t = NaiveTime::parse_from_str(text.trim(), "%H:%M").ok();
        if t.is_none() {
            errors.push(FieldError::new(field, "Skriv en tid som 08:00."));
        }
        t
    };
    let start = time("start", &input.start, &mut errors);
    let end = time("end", &input.end, &mut errors);
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s {
            errors.push(FieldError::new(
                "end",
                "Arbetsdagen måste sluta efter att den börjar.",
            ));
        }
    }
    let days = input
        .days
        .iter()
        .filter_map(|d| d.trim().parse::<u32>().ok())
        .filter(|d| (1..=7).contains(d))
        .fold(0i32, |bits, d| bits | (1 << (d - 1)));
    if days == 0 {
        errors.push(FieldError::new("days", "Välj minst en arbetsdag."));
    }
    let (Some(start), Some(end)) = (start, end) else {
        return Err(AppError::Invalid(errors));
    };
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let minutes = |t: NaiveTime| (t - NaiveTime::MIN).num_minutes() as i32;
    write_tx(conn, |conn| {
        diesel::delete(working_hours::table.find(&user.id)).execute(conn)?;
        diesel::insert_into(working_hours::table)
            .values((
                working_hours::user_id.eq(&user.id),
                working_hours::days.eq(days),
                working_hours::start_minute.eq(minutes(start)),
                working_hours::end_minute.eq(minutes(end)),
            ))
            .execute(conn)?;
        Event::success(
            &user.into(),
            "working_hours.set",
            Object::User(user.id.as_str()),
        )
        .record(conn)
        .map(|_| ())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_hours_read_back() {
        let h = hours_from(0b0011111, 7 * 60 + 30, 16 * 60);
        assert_eq!(h.days.len(), 5);
        assert_eq!(h.days[0], Weekday::Mon);
        assert_eq!(h.start, NaiveTime::from_hms_opt(7, 30, 0).unwrap());
        assert_eq!(h.end, NaiveTime::from_hms_opt(16, 0, 0).unwrap());
    }
}
