//! Meetings: booking, moving and cancelling them. Each change bumps what calendars compare
//! (SEQUENCE for the meeting itself, DTSTAMP for who takes part); the messages about it are
//! queued by the caller in [`crate::sip`].

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{answers, Meeting, MeetingId, Sip, SipId};
use crate::audit::event::{Event, Object};
use crate::authz::Actor;
use crate::config::Settings;
use crate::crypto::rows::SealedRow;
use crate::crypto::Keyring;
use crate::db::schema::meetings;
use crate::db::{now, AnyConnection};
use crate::error::AppError;
use crate::sip::model::ValidMeeting;

/// A meeting by id, opened; `None` when there is none.
pub fn find(
    conn: &mut AnyConnection,
    keys: &Keyring,
    id: &MeetingId,
) -> Result<Option<Meeting>, AppError> {
    Ok(meetings::table
        .find(id)
        .select(Meeting::as_select())
        .first(conn)
        .optional()?
        .map(|m: Meeting| m.open(keys))
        .transpose()?)
}

/// The meetings of a SIP still to come and not cancelled, earliest first.
pub fn upcoming(
    conn: &mut AnyConnection,
    keys: &Keyring,
    sip: &SipId,
) -> Result<Vec<Meeting>, AppError> {
    of_sip(conn, keys, sip, true)
}

/// Every meeting of a SIP, cancelled or not, earliest first.
pub fn all_of(
    conn: &mut AnyConnection,
    keys: &Keyring,
    sip: &SipId,
) -> Result<Vec<Meeting>, AppError> {
    of_sip(conn, keys, sip, false)
}

fn of_sip(
    conn: &mut AnyConnection,
    keys: &Keyring,
    sip: &SipId,
    upcoming_only: bool,
) -> Result<Vec<Meeting>, AppError> {
    let mut query = meetings::table
        .filter(meetings::sip_id.eq(sip))
        .order(meetings::starts_at)
        .select(Meeting::as_select())
        .into_boxed();
    if upcoming_only {
        query = query
            .filter(meetings::cancelled_at.is_null())
            .filter(meetings::starts_at.gt(now()));
    }
    let rows: Vec<Meeting> = query.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|m| m.open(keys))
        .collect::<Result<_, _>>()?)
}

/// How many meetings of a SIP are booked (not cancelled) starting at `from` or later; from the
/// beginning of time when `from` is `None`.
pub fn count_booked(
    conn: &mut AnyConnection,
    sip: &SipId,
    from: Option<NaiveDateTime>,
) -> Result<i64, AppError> {
    let mut query = meetings::table
        .filter(meetings::sip_id.eq(sip))
        .filter(meetings::cancelled_at.is_null())
        .into_boxed();
    if let Some(from) = from {
        query = query.filter(meetings::starts_at.ge(from));
    }
    Ok(query.count().get_result(conn)?)
}

/// Re-reads a meeting inside the current transaction.
pub fn reload(
    conn: &mut AnyConnection,
    keys: &Keyring,
    id: &MeetingId,
) -> Result<Meeting, AppError> {
    let meeting: Meeting = meetings::table
        .find(id)
        .select(Meeting::as_select())
        .first(conn)?;
    Ok(meeting.open(keys)?)
}

/// Marks a change of who takes part: a new DTSTAMP, the same SEQUENCE.
pub fn touch(
    conn: &mut AnyConnection,
    keys: &Keyring,
    id: &MeetingId,
) -> Result<Meeting, AppError> {
    diesel::update(meetings::table.find(id))
        .set(meetings::updated_at.eq(now()))
        .execute(conn)?;
    reload(conn, keys, id)
}

/// Books a meeting of `sip` (nobody invited yet). Runs inside the caller's transaction.
pub fn insert(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    sip: &Sip,
    valid: &ValidMeeting,
) -> Result<Meeting, AppError> {
    let at = now();
    let meeting = Meeting {
        id: MeetingId::generate(),
        sip_id: sip.id.clone(),
        uid: format!(
            "{}@{}",
            uuid::Uuid::new_v4(),
            settings.mail_from.email.domain()
        ),
        sequence: 0,
        starts_at: valid.starts_at,
        minutes: valid.minutes,
        place: valid.place.clone(),
        video_url: valid.video_url.clone(),
        created_at: at,
        updated_at: at,
        cancelled_at: None,
        reminder_sent_at: None,
    };
    diesel::insert_into(meetings::table)
        .values(&meeting.clone().seal(&settings.keys))
        .execute(conn)?;
    Event::success(
        &actor.audit_actor(),
        "meeting.create",
        Object::Meeting(meeting.id.as_str()),
    )
    .detail(sip.id.as_str())
    .record(conn)?;
    Ok(meeting)
}

/// Moves a meeting or changes its place: SEQUENCE + 1, and when the time changed, everyone but
/// the chair is asked again. Runs inside the caller's transaction; a cancelled meeting stays
/// cancelled (409).
pub fn reschedule(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    sip: &Sip,
    meeting: &Meeting,
    valid: &ValidMeeting,
) -> Result<Meeting, AppError> {
    let time_changed = valid.starts_at != meeting.starts_at || valid.minutes != meeting.minutes;
    // The check and the change in one statement, so a cancellation at the same moment
    // cannot be undone by this update.
    let changed = diesel::update(
        meetings::table
            .filter(meetings::id.eq(&meeting.id))
            .filter(meetings::cancelled_at.is_null()),
    )
    .set((
        meetings::starts_at.eq(valid.starts_at),
        meetings::minutes.eq(valid.minutes),
        meetings::place.eq(keys.seal("meetings.place", &valid.place)),
        meetings::video_url.eq(keys.seal("meetings.video_url", &valid.video_url)),
        meetings::reminder_sent_at.eq(None::<NaiveDateTime>),
        meetings::sequence.eq(meetings::sequence + 1),
        meetings::updated_at.eq(now()),
    ))
    .execute(conn)?;
    if changed == 0 {
        return Err(AppError::Conflict("Mötet är inställt.".into()));
    }
    if time_changed {
        // Answers were to the old time: everyone but the chair is asked again.
        answers::ask_again(conn, keys, sip, &meeting.id)?;
    }
    let moved = reload(conn, keys, &meeting.id)?;
    Event::success(
        &actor.audit_actor(),
        "meeting.update",
        Object::Meeting(meeting.id.as_str()),
    )
    .record(conn)?;
    Ok(moved)
}

/// Cancels a meeting: SEQUENCE + 1. Runs inside the caller's transaction; 409 when it already
/// is cancelled.
pub fn cancel(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    meeting: &Meeting,
) -> Result<Meeting, AppError> {
    let changed = diesel::update(
        meetings::table
            .filter(meetings::id.eq(&meeting.id))
            .filter(meetings::cancelled_at.is_null()),
    )
    .set((
        meetings::cancelled_at.eq(now()),
        meetings::sequence.eq(meetings::sequence + 1),
        meetings::updated_at.eq(now()),
    ))
    .execute(conn)?;
    if changed == 0 {
        return Err(AppError::Conflict("Mötet är redan inställt.".into()));
    }
    let cancelled = reload(conn, keys, &meeting.id)?;
    Event::success(
        &actor.audit_actor(),
        "meeting.cancel",
        Object::Meeting(meeting.id.as_str()),
    )
    .record(conn)?;
    Ok(cancelled)
}
