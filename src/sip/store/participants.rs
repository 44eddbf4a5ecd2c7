//! Who takes part in a SIP, and whether the family's consent covers them today.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{consents, covered, sips, Participant, ParticipantId, Sip, SipId};
use crate::audit::event::{Event, Object};
use crate::audit::AuditActor;
use crate::authz::Actor;
use crate::crypto::rows::SealedRow;
use crate::crypto::Keyring;
use crate::db::schema::{participants, users};
use crate::db::{now, AnyConnection};
use crate::error::AppError;
use crate::ids::{OrganisationId, UserId};
use crate::time;

/// The participants of a SIP who have not been removed, in the order they were added.
pub fn active(
    conn: &mut AnyConnection,
    keys: &Keyring,
    sip: &SipId,
) -> Result<Vec<Participant>, AppError> {
    let rows: Vec<Participant> = participants::table
        .filter(participants::sip_id.eq(sip))
        .filter(participants::removed_at.is_null())
        .order(participants::added_at)
        .select(Participant::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|p| p.open(keys))
        .collect::<Result<_, _>>()?)
}

/// An active user by id: their id, organisation, name and address.
pub fn active_user(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<(UserId, OrganisationId, String, String)>, AppError> {
    Ok(users::table
        .filter(users::id.eq(id))
        .filter(users::active.eq(true))
        .select((users::id, users::organisation_id, users::name, users::email))
        .first(conn)
        .optional()?)
}

/// Whether someone with the address `email` has an account here.
pub fn email_has_account(conn: &mut AnyConnection, email: &str) -> Result<bool, AppError> {
    let found: i64 = users::table
        .filter(users::email.eq(email))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// Adds a participant. Runs inside the caller's transaction.
pub fn insert(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    sip: &Sip,
    participant: &Participant,
) -> Result<(), AppError> {
    diesel::insert_into(participants::table)
        .values(&participant.clone().seal(keys))
        .execute(conn)?;
    record(
        conn,
        &actor.audit_actor(),
        "sip.participant_add",
        sip,
        participant,
    )
}

/// Audits taking a participant out of a SIP at the caseworker's hand.
pub fn record_removal(
    conn: &mut AnyConnection,
    actor: &Actor,
    sip: &Sip,
    participant: &Participant,
) -> Result<(), AppError> {
    record(
        conn,
        &actor.audit_actor(),
        "sip.participant_remove",
        sip,
        participant,
    )
}

/// Audits taking a participant out of a SIP because no valid consent covers them any more.
pub fn record_lapsed(
    conn: &mut AnyConnection,
    sip: &Sip,
    participant: &Participant,
) -> Result<(), AppError> {
    let lapsed = AuditActor {
        id: None,
        label: "samtycket gäller inte längre".into(),
        municipality: None,
    };
    record(conn, &lapsed, "sip.participant_remove", sip, participant)
}

/// The audit entry of a participant of `sip` added or taken out (`action`) by `actor`: the SIP is
/// the object, the participant's id the detail.
fn record(
    conn: &mut AnyConnection,
    actor: &AuditActor,
    action: &str,
    sip: &Sip,
    participant: &Participant,
) -> Result<(), AppError> {
    Event::success(actor, action, Object::Sip(sip.id.as_str()))
        .detail(participant.id.as_str())
        .record(conn)?;
    Ok(())
}

/// Marks a participant removed at `at`.
pub fn mark_removed(
    conn: &mut AnyConnection,
    participant: &ParticipantId,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(participants::table.find(participant))
        .set(participants::removed_at.eq(at))
        .execute(conn)?;
    Ok(())
}

/// Participants the consent covers today: those a meeting booked now would invite.
pub(crate) fn invitable(
    conn: &mut AnyConnection,
    keys: &Keyring,
    sip: &Sip,
) -> Result<Vec<Participant>, AppError> {
    active_where_covered(conn, keys, sip, true)
}

/// Active participants no valid consent covers any more.
pub fn uncovered(
    conn: &mut AnyConnection,
    keys: &Keyring,
    sip: &Sip,
) -> Result<Vec<Participant>, AppError> {
    active_where_covered(conn, keys, sip, false)
}

/// The active participant row of `user` in `sip`, if their organisation is covered today.
pub fn covered_participation(
    conn: &mut AnyConnection,
    keys: &Keyring,
    sip: &Sip,
    user: &UserId,
) -> Result<Option<Participant>, AppError> {
    Ok(active_with_cover(conn, keys, sip)?
        .into_iter()
        .find(|(p, covered)| *covered && p.user_id.as_ref() == Some(user))
        .map(|(p, _)| p))
}

/// The active participants of `sip` whom the consent covers today (`covered`), or does not.
fn active_where_covered(
    conn: &mut AnyConnection,
    keys: &Keyring,
    sip: &Sip,
    covered: bool,
) -> Result<Vec<Participant>, AppError> {
    Ok(active_with_cover(conn, keys, sip)?
        .into_iter()
        .filter_map(|(p, is_covered)| (is_covered == covered).then_some(p))
        .collect())
}

/// The active participants of `sip`, each with whether the consent covers them today.
fn active_with_cover(
    conn: &mut AnyConnection,
    keys: &Keyring,
    sip: &Sip,
) -> Result<Vec<(Participant, bool)>, AppError> {
    let today = time::local(now()).date();
    let terms = consents::terms_of(conn, &sip.id)?;
    Ok(active(conn, keys, &sip.id)?
        .into_iter()
        .map(|p| {
            let is_covered = covered(sip, &p, &terms, today);
            (p, is_covered)
        })
        .collect())
}

/// Whether `user` takes part in `sip` today: an active participant whom consent covers. Looks at
/// the rows as stored: only ids, organisations and dates decide, so nothing sealed is opened (the
/// calendar feed asks this per SIP and shows nothing about the child or the participants).
pub fn takes_part(conn: &mut AnyConnection, sip: &Sip, user: &UserId) -> Result<bool, AppError> {
    let today = time::local(now()).date();
    let terms = consents::terms_of(conn, &sip.id)?;
    let rows: Vec<Participant> = participants::table
        .filter(participants::sip_id.eq(&sip.id))
        .filter(participants::user_id.eq(user))
        .filter(participants::removed_at.is_null())
        .select(Participant::as_select())
        .load(conn)?;
    Ok(rows.iter().any(|p| covered(sip, p, &terms, today)))
}

/// Whether `participant` of `sip` is active and covered by a valid consent today (not withdrawn,
/// not expired, covering their organisation).
pub fn covered_now(
    conn: &mut AnyConnection,
    sip: &SipId,
    participant: &ParticipantId,
) -> Result<bool, AppError> {
    // Only ids and dates are read: nothing sealed needs opening.
    let sip = sips::find_sealed(conn, sip)?;
    let participant: Option<Participant> = participants::table
        .find(participant)
        .filter(participants::removed_at.is_null())
        .select(Participant::as_select())
        .first(conn)
        .optional()?;
    let Some(participant) = participant else {
        return Ok(false);
    };
    let today = time::local(now()).date();
    Ok(covered(
        &sip,
        &participant,
        &consents::terms_of(conn, &sip.id)?,
        today,
    ))
}

/// The SIPs `user` takes part in (not removed), whether or not consent covers them today.
pub fn sips_of_user(conn: &mut AnyConnection, user: &UserId) -> Result<Vec<SipId>, AppError> {
    Ok(participants::table
        .filter(participants::user_id.eq(user))
        .filter(participants::removed_at.is_null())
        .select(participants::sip_id)
        .load(conn)?)
}
