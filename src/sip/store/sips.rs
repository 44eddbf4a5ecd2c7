//! The SIPs themselves: starting one, finding one, and the municipality's deadline for the
//! first meeting.

use diesel::prelude::*;

use super::{Participant, ParticipantId, Sip, SipId};
use crate::accounts::AuthUser;
use crate::audit::event::{Event, Object};
use crate::authz::Actor;
use crate::crypto::rows::SealedRow;
use crate::crypto::Keyring;
use crate::db::schema::{municipalities, participants, sips};
use crate::db::{now, write_tx, AnyConnection};
use crate::error::AppError;
use crate::ids::MunicipalityId;
use crate::reports::store::ReportId;
use crate::sip::model::{self, ValidSip};

/// A SIP by id, opened; `None` when there is none.
pub fn find(conn: &mut AnyConnection, keys: &Keyring, id: &SipId) -> Result<Option<Sip>, AppError> {
    Ok(sips::table
        .find(id)
        .select(Sip::as_select())
        .first(conn)
        .optional()?
        .map(|s: Sip| s.open(keys))
        .transpose()?)
}

/// A SIP by id as stored (sealed), for rules that read only ids, organisations and dates.
pub fn find_sealed(conn: &mut AnyConnection, id: &SipId) -> Result<Sip, AppError> {
    Ok(sips::table.find(id).select(Sip::as_select()).first(conn)?)
}

/// Whether `report` is a report of `municipality`: a SIP may start from one of its own only.
pub fn report_in(
    conn: &mut AnyConnection,
    keys: &Keyring,
    report: &str,
    municipality: &MunicipalityId,
) -> Result<bool, AppError> {
    let report = crate::reports::store::find(conn, keys, &ReportId(report.into()))?;
    Ok(report.is_some_and(|r| r.municipality_id == *municipality))
}

/// Starts a SIP in `municipality`: `user`'s organisation calls it and `user` is responsible,
/// taking part in every meeting as its chair. Gets a reference no other SIP has.
pub fn create(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    user: &AuthUser,
    municipality: &MunicipalityId,
    valid: &ValidSip,
) -> Result<Sip, AppError> {
    write_tx(conn, |conn| {
        let mut reference = model::new_reference();
        while sips::table
            .filter(sips::reference.eq(&reference))
            .count()
            .get_result::<i64>(conn)?
            > 0
        {
            reference = model::new_reference();
        }
        let at = now();
        let sip = Sip {
            id: SipId::generate(),
            reference,
            municipality_id: municipality.clone(),
            child_name: valid.child_name.clone(),
            child_personal_number: valid.child_personal_number.clone(),
            report_id: valid.report_id.clone(),
            calling_organisation_id: user.organisation.id.clone(),
            responsible_user_id: user.id.clone(),
            created_at: at,
        };
        diesel::insert_into(sips::table)
            .values(&sip.clone().seal(keys))
            .execute(conn)?;
        diesel::insert_into(participants::table)
            .values(
                &Participant {
                    id: ParticipantId::generate(),
                    sip_id: sip.id.clone(),
                    user_id: Some(user.id.clone()),
                    organisation_id: Some(user.organisation.id.clone()),
                    name: user.name.clone(),
                    email: user.email.clone(),
                    required: true,
                    added_at: at,
                    removed_at: None,
                    relation: None,
                    outside_organisation: None,
                }
                .seal(keys),
            )
            .execute(conn)?;
        Event::success(
            &actor.audit_actor(),
            "sip.create",
            Object::Sip(sip.id.as_str()),
        )
        .detail(&sip.reference)
        .record(conn)?;
        Ok(sip)
    })
}

/// Sets how many days after consent the first meeting must be held in a municipality.
pub fn set_first_meeting_days(
    conn: &mut AnyConnection,
    municipality: &MunicipalityId,
    days: i32,
) -> Result<(), AppError> {
    diesel::update(municipalities::table.find(municipality))
        .set(municipalities::sip_first_meeting_days.eq(days))
        .execute(conn)?;
    Ok(())
}

/// How many days after consent the first meeting must be held in a municipality.
pub fn first_meeting_days(
    conn: &mut AnyConnection,
    municipality: &MunicipalityId,
) -> Result<i32, AppError> {
    Ok(municipalities::table
        .find(municipality)
        .select(municipalities::sip_first_meeting_days)
        .first(conn)?)
}
