//! Invitations and the answers to them: who is invited to a meeting, their RSVP links, and the
//! answers that come by link or from a calendar.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{is_chair, participants, Invitee, Meeting, MeetingId, Participant, ParticipantId, Sip};
use crate::audit::event::{Event, Object};
use crate::audit::AuditActor;
use crate::config::Settings;
use crate::crypto::rows::SealedRow;
use crate::crypto::Keyring;
use crate::db::schema::{invitees, meetings, participants as participant_rows};
use crate::db::{now, write_tx, AnyConnection};
use crate::error::AppError;
use crate::sip::model::Answer;

/// Where an answer came from, for the audit trail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Link,
    Calendar,
}

/// What happened to an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    Recorded,
    /// The answer was to an older version of the meeting; a newer one has been sent since.
    Stale,
    /// The meeting has been cancelled: nothing is left to answer, so the answer is not kept.
    Cancelled,
}

impl Applied {
    /// The machine-facing name of the outcome (`POST /api/v1/inbound/mail`'s `result`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Applied::Recorded => "recorded",
            Applied::Stale => "stale",
            Applied::Cancelled => "cancelled",
        }
    }
}

/// The token of a participant's RSVP link for a meeting: derived, so every message about the
/// meeting carries the same link; stored only as a hash.
pub fn rsvp_token(settings: &Settings, meeting: &MeetingId, participant: &ParticipantId) -> String {
    crate::secrets::keyed_hash(
        &settings.secret_key,
        "rsvp",
        &format!("{meeting}/{participant}"),
    )
}

/// The invitations to a meeting still in force, with their participants, in the order the
/// participants were added.
pub fn active_invitees(
    conn: &mut AnyConnection,
    keys: &Keyring,
    meeting: &MeetingId,
) -> Result<Vec<(Invitee, Participant)>, AppError> {
    let rows: Vec<(Invitee, Participant)> = invitees::table
        .inner_join(participant_rows::table)
        .filter(invitees::meeting_id.eq(meeting))
        .filter(invitees::removed_at.is_null())
        .order(participant_rows::added_at)
        .select((Invitee::as_select(), Participant::as_select()))
        .load(conn)?;
    rows.into_iter()
        .map(|(invitee, p)| Ok((invitee, p.open(keys)?)))
        .collect()
}

/// Invites a participant to a meeting; the chair has accepted from the start.
pub fn invite(
    conn: &mut AnyConnection,
    settings: &Settings,
    sip: &Sip,
    meeting: &Meeting,
    participant: &Participant,
) -> Result<(), AppError> {
    let token = rsvp_token(settings, &meeting.id, &participant.id);
    let chair = is_chair(sip, participant);
    diesel::insert_into(invitees::table)
        .values(&Invitee {
            meeting_id: meeting.id.clone(),
            participant_id: participant.id.clone(),
            status: if chair {
                Answer::Coming
            } else {
                Answer::NoAnswer
            },
            status_changed_at: None,
            answered_sequence: 0,
            rsvp_token_hash: crate::secrets::hash_token(&token),
            removed_at: None,
        })
        .execute(conn)?;
    Ok(())
}

/// Takes a participant's invitation to a meeting back at `at`; whether there was one.
pub fn uninvite(
    conn: &mut AnyConnection,
    meeting: &MeetingId,
    participant: &ParticipantId,
    at: NaiveDateTime,
) -> Result<bool, AppError> {
    let removed = diesel::update(
        invitees::table
            .filter(invitees::meeting_id.eq(meeting))
            .filter(invitees::participant_id.eq(participant))
            .filter(invitees::removed_at.is_null()),
    )
    .set(invitees::removed_at.eq(at))
    .execute(conn)?;
    Ok(removed > 0)
}

/// Forgets the answers to a meeting that moved: everyone but the chair is asked again.
pub fn ask_again(
    conn: &mut AnyConnection,
    keys: &Keyring,
    sip: &Sip,
    meeting: &MeetingId,
) -> Result<(), AppError> {
    let chair: Vec<ParticipantId> = active_invitees(conn, keys, meeting)?
        .into_iter()
        .filter(|(_, p)| is_chair(sip, p))
        .map(|(_, p)| p.id)
        .collect();
    diesel::update(
        invitees::table
            .filter(invitees::meeting_id.eq(meeting))
            .filter(invitees::participant_id.ne_all(&chair)),
    )
    .set((
        invitees::status.eq(Answer::NoAnswer),
        invitees::status_changed_at.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(())
}

fn set_answer(
    conn: &mut AnyConnection,
    meeting: &Meeting,
    participant: &ParticipantId,
    answer: Answer,
    sequence: i32,
    channel: Channel,
) -> Result<Applied, AppError> {
    write_tx(conn, |conn| {
        // Decided on the meeting as it is now, inside the transaction.
        let (current_sequence, cancelled_at): (i32, Option<NaiveDateTime>) = meetings::table
            .find(&meeting.id)
            .select((meetings::sequence, meetings::cancelled_at))
            .first(conn)?;
        if cancelled_at.is_some() {
            return Ok(Applied::Cancelled);
        }
        if sequence < current_sequence {
            return Ok(Applied::Stale);
        }
        diesel::update(
            invitees::table
                .filter(invitees::meeting_id.eq(&meeting.id))
                .filter(invitees::participant_id.eq(participant)),
        )
        .set((
            invitees::status.eq(answer),
            invitees::status_changed_at.eq(now()),
            invitees::answered_sequence.eq(sequence),
        ))
        .execute(conn)?;
        let actor = AuditActor {
            id: Some(format!("participant:{participant}")),
            municipality: None,
            label: match channel {
                Channel::Link => "svarslänk".into(),
                Channel::Calendar => "kalendersvar".into(),
            },
        };
        Event::success(
            &actor,
            "meeting.answer",
            Object::Meeting(meeting.id.as_str()),
        )
        .detail(answer.as_str())
        .record(conn)?;
        Ok(Applied::Recorded)
    })
}

/// The meeting an RSVP link answers for, if the token is real, still in use, and consent covers
/// its participant now. Consent is checked here, at the request: the background pass that takes
/// partners whose consent ran out off their meetings comes later.
pub fn find_by_token(
    conn: &mut AnyConnection,
    keys: &Keyring,
    token: &str,
) -> Result<Option<(Meeting, Invitee)>, AppError> {
    let hash = crate::secrets::hash_token(token);
    let found: Option<(Meeting, Invitee)> = meetings::table
        .inner_join(invitees::table)
        .filter(invitees::rsvp_token_hash.eq(hash))
        .filter(invitees::removed_at.is_null())
        .select((Meeting::as_select(), Invitee::as_select()))
        .first(conn)
        .optional()?;
    let Some((meeting, invitee)) = found else {
        return Ok(None);
    };
    if !participants::covered_now(conn, &meeting.sip_id, &invitee.participant_id)? {
        return Ok(None);
    }
    Ok(Some((meeting.open(keys)?, invitee)))
}

/// Answers through an RSVP link: the token can answer only for its own participant and meeting.
pub fn answer_by_token(
    conn: &mut AnyConnection,
    keys: &Keyring,
    token: &str,
    answer: Answer,
) -> Result<Meeting, AppError> {
    let (meeting, invitee) = find_by_token(conn, keys, token)?.ok_or(AppError::NotFound)?;
    if meeting.starts_at <= now() {
        return Err(AppError::Conflict(
            "Mötet har redan börjat, så svaret kan inte ändras längre.".into(),
        ));
    }
    match set_answer(
        conn,
        &meeting,
        &invitee.participant_id,
        answer,
        meeting.sequence,
        Channel::Link,
    )? {
        Applied::Cancelled => Err(AppError::Conflict("Mötet är inställt.".into())),
        Applied::Recorded | Applied::Stale => Ok(meeting),
    }
}

/// Applies a calendar client's REPLY: matched by UID and the attendee's address.
pub fn apply_reply(
    conn: &mut AnyConnection,
    keys: &Keyring,
    reply: &crate::calendar::reply::Reply,
) -> Result<Applied, AppError> {
    let meeting: Meeting = meetings::table
        .filter(meetings::uid.eq(&reply.uid))
        .select(Meeting::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound)?;
    // Addresses are sealed: the meeting's few invitees are opened and compared here.
    let participant = active_invitees(conn, keys, &meeting.id)?
        .into_iter()
        .map(|(_, p)| p)
        .find(|p| p.email.eq_ignore_ascii_case(&reply.attendee))
        .ok_or(AppError::NotFound)?
        .id;
    // As for the answer link: a partner whose consent no longer covers them cannot answer.
    if !participants::covered_now(conn, &meeting.sip_id, &participant)? {
        return Err(AppError::NotFound);
    }
    set_answer(
        conn,
        &meeting,
        &participant,
        Answer::from_partstat(reply.partstat),
        reply.sequence,
        Channel::Calendar,
    )
}
