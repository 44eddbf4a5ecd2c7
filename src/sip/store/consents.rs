//! The family's consents and the organisations each covers.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;

use super::{Consent, ConsentId, Sip, SipId};
use crate::audit::event::{Event, Object};
use crate::authz::Actor;
use crate::crypto::rows::SealedRow;
use crate::crypto::Keyring;
use crate::db::schema::{
    consent_organisations, consent_outside_organisations, consents, organisations, sips,
};
use crate::db::{now, write_tx, AnyConnection};
use crate::error::AppError;
use crate::ids::{MunicipalityId, UserId};
use crate::sip::model::{ConsentTerms, ValidConsent};

/// How many of `ids` are organisations that exist.
pub fn count_organisations(conn: &mut AnyConnection, ids: &[String]) -> Result<i64, AppError> {
    Ok(organisations::table
        .filter(organisations::id.eq_any(ids))
        .count()
        .get_result(conn)?)
}

/// Records a consent `user` took down, with the organisations it covers.
pub fn insert(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    user: &UserId,
    sip: &Sip,
    valid: &ValidConsent,
) -> Result<Consent, AppError> {
    write_tx(conn, |conn| {
        let consent = Consent {
            id: ConsentId::generate(),
            sip_id: sip.id.clone(),
            given_by: valid.given_by.clone(),
            relation: valid.relation,
            given_on: valid.given_on,
            valid_until: valid.valid_until,
            recorded_by: user.clone(),
            recorded_at: now(),
            withdrawn_at: None,
            withdrawn_by: None,
        };
        diesel::insert_into(consents::table)
            .values(&consent.clone().seal(keys))
            .execute(conn)?;
        for org in &valid.organisations {
            diesel::insert_into(consent_organisations::table)
                .values((
                    consent_organisations::consent_id.eq(&consent.id),
                    consent_organisations::organisation_id.eq(org),
                ))
                .execute(conn)?;
        }
        for name in &valid.outside_organisations {
            diesel::insert_into(consent_outside_organisations::table)
                .values((
                    consent_outside_organisations::consent_id.eq(&consent.id),
                    consent_outside_organisations::name.eq(name),
                ))
                .execute(conn)?;
        }
        Event::success(
            &actor.audit_actor(),
            "sip.consent",
            Object::Sip(sip.id.as_str()),
        )
        .detail(&format!(
            "organisations={} outside={}",
            valid.organisations.len(),
            valid.outside_organisations.len()
        ))
        .record(conn)?;
        Ok(consent)
    })
}

/// Marks a consent of `sip` withdrawn by `user`; 404 when there is no such consent still in
/// force. Runs inside the caller's transaction.
pub fn withdraw(
    conn: &mut AnyConnection,
    actor: &Actor,
    user: &UserId,
    sip: &Sip,
    consent: &ConsentId,
) -> Result<(), AppError> {
    let updated = diesel::update(
        consents::table
            .filter(consents::id.eq(consent))
            .filter(consents::sip_id.eq(&sip.id))
            .filter(consents::withdrawn_at.is_null()),
    )
    .set((
        consents::withdrawn_at.eq(now()),
        consents::withdrawn_by.eq(user),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Err(AppError::NotFound);
    }
    Event::success(
        &actor.audit_actor(),
        "sip.consent_withdraw",
        Object::Sip(sip.id.as_str()),
    )
    .detail(consent.as_str())
    .record(conn)?;
    Ok(())
}

/// The SIPs with a consent that ran out before `day` and was not withdrawn.
pub fn sips_with_expired(conn: &mut AnyConnection, day: NaiveDate) -> Result<Vec<SipId>, AppError> {
    Ok(consents::table
        .filter(consents::valid_until.lt(day))
        .filter(consents::withdrawn_at.is_null())
        .select(consents::sip_id)
        .distinct()
        .load(conn)?)
}

/// The terms of every consent of a SIP, for coverage checks.
pub fn terms_of(conn: &mut AnyConnection, sip: &SipId) -> Result<Vec<ConsentTerms>, AppError> {
    Ok(sealed_consent_terms(conn, sip)?
        .into_iter()
        .map(|(_, t)| t)
        .collect())
}

/// The consents of a SIP with the organisations each covers.
pub fn consent_terms(
    conn: &mut AnyConnection,
    keys: &Keyring,
    sip: &SipId,
) -> Result<Vec<(Consent, ConsentTerms)>, AppError> {
    sealed_consent_terms(conn, sip)?
        .into_iter()
        .map(|(c, t)| Ok((c.open(keys)?, t)))
        .collect()
}

/// [`consent_terms`] with the consents as stored (sealed), for when only the terms are needed.
fn sealed_consent_terms(
    conn: &mut AnyConnection,
    sip: &SipId,
) -> Result<Vec<(Consent, ConsentTerms)>, AppError> {
    let rows: Vec<Consent> = consents::table
        .filter(consents::sip_id.eq(sip))
        .order(consents::recorded_at)
        .select(Consent::as_select())
        .load(conn)?;
    with_terms(conn, rows)
}

/// The terms of the consents of every SIP of a municipality, by SIP, in two queries.
pub fn terms_in(
    conn: &mut AnyConnection,
    municipality: &MunicipalityId,
) -> Result<HashMap<SipId, Vec<ConsentTerms>>, AppError> {
    let of_municipality = sips::table
        .filter(sips::municipality_id.eq(municipality))
        .select(sips::id);
    let rows: Vec<Consent> = consents::table
        .filter(consents::sip_id.eq_any(of_municipality))
        .order(consents::recorded_at)
        .select(Consent::as_select())
        .load(conn)?;
    let mut by_sip: HashMap<SipId, Vec<ConsentTerms>> = HashMap::new();
    for (consent, terms) in with_terms(conn, rows)? {
        by_sip.entry(consent.sip_id).or_default().push(terms);
    }
    Ok(by_sip)
}

/// Consents (as stored) with their terms: the organisations each covers, in two queries (those
/// on the list, and outside ones by name).
fn with_terms(
    conn: &mut AnyConnection,
    rows: Vec<Consent>,
) -> Result<Vec<(Consent, ConsentTerms)>, AppError> {
    let ids: Vec<&ConsentId> = rows.iter().map(|c| &c.id).collect();
    let mut outside: HashMap<ConsentId, Vec<String>> = HashMap::new();
    for (id, name) in consent_outside_organisations::table
        .filter(consent_outside_organisations::consent_id.eq_any(&ids))
        .select((
            consent_outside_organisations::consent_id,
            consent_outside_organisations::name,
        ))
        .load::<(ConsentId, String)>(conn)?
    {
        outside.entry(id).or_default().push(name);
    }
    let mut links: HashMap<ConsentId, Vec<String>> = HashMap::new();
    for (id, organisation) in consent_organisations::table
        .filter(consent_organisations::consent_id.eq_any(ids))
        .select((
            consent_organisations::consent_id,
            consent_organisations::organisation_id,
        ))
        .load::<(ConsentId, String)>(conn)?
    {
        links.entry(id).or_default().push(organisation);
    }
    Ok(rows
        .into_iter()
        .map(|c| {
            let terms = ConsentTerms {
                given_on: c.given_on,
                valid_until: c.valid_until,
                withdrawn: c.withdrawn_at.is_some(),
                organisations: links.remove(&c.id).unwrap_or_default(),
                outside: outside.remove(&c.id).unwrap_or_default(),
            };
            (c, terms)
        })
        .collect())
}
