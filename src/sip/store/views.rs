//! What the pages read: the caseworker's list of SIPs, everything on a SIP's page, a partner's
//! meetings, and when the next meeting is due. Each is read with a fixed number of queries where
//! it lists many SIPs, and each read of the child's data is audited.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use diesel::prelude::*;

use super::{
    answers, consents, meetings, participants, plans, sips, Consent, Invitee, Meeting, Participant,
    Sip,
};
use crate::audit::event::{Event, Object};
use crate::authz::Actor;
use crate::crypto::rows::SealedRow;
use crate::crypto::Keyring;
use crate::db::schema::{invitees, meetings as meeting_rows, sips as sip_rows, users};
use crate::db::{now, AnyConnection};
use crate::error::AppError;
use crate::ids::{MunicipalityId, OrganisationId, UserId};
use crate::sip::model::{self, ConsentTerms};
use crate::time;

/// One line of the caseworker's SIP list.
pub struct SipSummary {
    pub sip: Sip,
    pub next_meeting: Option<Meeting>,
    /// The last day for the first meeting, while none is booked and consent is valid.
    pub first_meeting_due: Option<NaiveDate>,
    /// How the first meeting stands against its deadline, booked or not: a first meeting held
    /// late stays marked late.
    pub first_meeting: Option<model::FirstMeeting>,
    /// The follow-up date of the latest plan.
    pub follow_up_on: Option<NaiveDate>,
}

/// The SIPs of `municipality`, those that need a meeting first (access already checked). Reads
/// all of them in a fixed number of queries, whatever their number: the SIPs, their meetings,
/// their consents with the organisations covered, and their plans' follow-up dates.
pub fn caseworker_list(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    municipality: &MunicipalityId,
) -> Result<Vec<SipSummary>, AppError> {
    let days = sips::first_meeting_days(conn, municipality)?;
    let today = time::local(now()).date();
    let all: Vec<Sip> = sip_rows::table
        .filter(sip_rows::municipality_id.eq(municipality))
        .order(sip_rows::created_at.desc())
        .select(Sip::as_select())
        .load(conn)?;
    // Meetings not cancelled, earliest first: the first upcoming one of each SIP is its next.
    let booked: Vec<Meeting> = meeting_rows::table
        .filter(
            meeting_rows::sip_id.eq_any(
                sip_rows::table
                    .filter(sip_rows::municipality_id.eq(municipality))
                    .select(sip_rows::id),
            ),
        )
        .filter(meeting_rows::cancelled_at.is_null())
        .order(meeting_rows::starts_at)
        .select(Meeting::as_select())
        .load(conn)?;
    let mut ever_booked: HashSet<&super::SipId> = HashSet::new();
    let mut first: HashMap<&super::SipId, NaiveDate> = HashMap::new();
    let mut next: HashMap<&super::SipId, &Meeting> = HashMap::new();
    let at = now();
    for m in &booked {
        ever_booked.insert(&m.sip_id);
        first
            .entry(&m.sip_id)
            .or_insert_with(|| time::local(m.starts_at).date());
        if m.starts_at > at {
            next.entry(&m.sip_id).or_insert(m);
        }
    }
    let mut terms = consents::terms_in(conn, municipality)?;
    let mut follow_ups = plans::latest_follow_ups_in(conn, municipality)?;
    let mut out = Vec::with_capacity(all.len());
    for sip in all {
        let sip = sip.open(keys)?;
        let next_meeting = match next.get(&sip.id) {
            Some(m) => Some((*m).clone().open(keys)?),
            None => None,
        };
        let sip_terms = terms.remove(&sip.id).unwrap_or_default();
        let first_meeting_due = if ever_booked.contains(&sip.id) {
            None
        } else {
            model::first_meeting_due(&sip_terms, days, today)
        };
        let first_meeting =
            model::first_meeting(&sip_terms, days, today, first.get(&sip.id).copied());
        let follow_up_on = follow_ups.remove(&sip.id);
        out.push(SipSummary {
            sip,
            next_meeting,
            first_meeting_due,
            first_meeting,
            follow_up_on,
        });
    }
    out.sort_by_key(|s| (s.first_meeting_due.is_none(), s.first_meeting_due));
    Event::success(
        &actor.audit_actor(),
        "sip_list.read",
        Object::Municipality(municipality.as_str()),
    )
    .detail(&format!("sips={}", out.len()))
    .record(conn)?;
    Ok(out)
}

/// When the next meeting should be held by: the first meeting's deadline until one is booked,
/// then the latest plan's follow-up date.
pub(crate) fn next_meeting_due(
    conn: &mut AnyConnection,
    sip: &Sip,
) -> Result<Option<NaiveDate>, AppError> {
    if meetings::count_booked(conn, &sip.id, None)? > 0 {
        return plans::latest_follow_up(conn, &sip.id);
    }
    let days = sips::first_meeting_days(conn, &sip.municipality_id)?;
    let today = time::local(now()).date();
    Ok(model::first_meeting_due(
        &consents::terms_of(conn, &sip.id)?,
        days,
        today,
    ))
}

/// Everything on a SIP's page.
pub struct SipOverview {
    pub consents: Vec<(Consent, Vec<String>, bool)>,
    pub participants: Vec<Participant>,
    pub meetings: Vec<(Meeting, Vec<(Invitee, Participant)>)>,
    /// Users of organisations the consent covers who are not yet participants.
    pub candidates: Vec<(UserId, String, String)>,
    /// The organisations someone without an account may come from: the calling organisation and
    /// those a valid consent covers, with their labels.
    pub covered_organisations: Vec<(OrganisationId, String)>,
    /// The outside organisations valid consents name.
    pub covered_outside: Vec<String>,
    pub organisations: Vec<(OrganisationId, String)>,
    pub first_meeting_due: Option<NaiveDate>,
    /// How the first meeting stands against its deadline, booked or not.
    pub first_meeting: Option<model::FirstMeeting>,
    pub follow_up_on: Option<NaiveDate>,
    /// Active participants no valid consent covers today (not invited to new meetings).
    pub uncovered: Vec<super::ParticipantId>,
}

/// One organisation's label ([`crate::accounts::Organisation::label`]), or its id if there is
/// no such organisation.
pub fn organisation_label(
    conn: &mut AnyConnection,
    id: &OrganisationId,
) -> Result<String, AppError> {
    use crate::db::schema::{municipalities, organisations};
    let found: Option<(crate::accounts::Organisation, String)> = organisations::table
        .inner_join(municipalities::table)
        .filter(organisations::id.eq(id))
        .select((
            crate::accounts::Organisation::as_select(),
            municipalities::name,
        ))
        .first(conn)
        .optional()?;
    Ok(found.map_or_else(|| id.to_string(), |(o, m)| o.label(&m)))
}

/// Every organisation with its label ([`crate::accounts::Organisation::label`]), for lists that
/// hold organisations of more than one municipality.
pub fn organisation_labels(
    conn: &mut AnyConnection,
) -> Result<Vec<(OrganisationId, String)>, AppError> {
    Ok(crate::accounts::list_organisations(conn, None)?
        .into_iter()
        .map(|(o, municipality)| {
            let label = o.label(&municipality);
            (o.id, label)
        })
        .collect())
}

/// Reads a SIP for its caseworker; the read of the child's data is audited.
pub fn overview(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    sip: &Sip,
) -> Result<SipOverview, AppError> {
    let today = time::local(now()).date();
    // Organisations of every municipality can be covered: each is named with its kind and
    // municipality, so that two of the same name are not taken for each other.
    let org_names = organisation_labels(conn)?;
    let name_of = |id: &str| {
        org_names
            .iter()
            .find(|(o, _)| o.as_str() == id)
            .map_or_else(|| id.to_string(), |(_, n)| n.clone())
    };
    let with_terms = consents::consent_terms(conn, keys, &sip.id)?;
    let terms: Vec<ConsentTerms> = with_terms.iter().map(|(_, t)| t.clone()).collect();
    let consents = with_terms
        .into_iter()
        .map(|(c, t)| {
            let valid = t.valid_on(today);
            (
                c,
                t.organisations
                    .iter()
                    .map(|o| name_of(o))
                    .chain(t.outside.iter().map(|o| format!("{o} (utomstående)")))
                    .collect(),
                valid,
            )
        })
        .collect();
    let participants = participants::active(conn, keys, &sip.id)?;
    let mut meetings_with = Vec::new();
    for m in meetings::all_of(conn, keys, &sip.id)? {
        let invited = answers::active_invitees(conn, keys, &m.id)?;
        meetings_with.push((m, invited));
    }
    let covered: Vec<String> = org_names
        .iter()
        .map(|(o, _)| o.0.clone())
        .filter(|o| *o == sip.calling_organisation_id.0 || model::covers(&terms, o, today))
        .collect();
    let taken: Vec<&str> = participants
        .iter()
        .filter_map(|p| p.user_id.as_ref().map(crate::ids::UserId::as_str))
        .collect();
    let candidates: Vec<(UserId, String, String)> = users::table
        .filter(users::organisation_id.eq_any(&covered))
        .filter(users::active.eq(true))
        .order(users::name)
        .select((users::id, users::name, users::organisation_id))
        .load::<(UserId, String, String)>(conn)?
        .into_iter()
        .filter(|(id, _, _)| !taken.contains(&id.as_str()))
        .map(|(id, name, org)| (id, name, name_of(&org)))
        .collect();
    let covered_organisations = org_names
        .iter()
        .filter(|(o, _)| covered.contains(&o.0))
        .cloned()
        .collect();
    let mut covered_outside: Vec<String> = Vec::new();
    for name in terms
        .iter()
        .filter(|t| t.valid_on(today))
        .flat_map(|t| t.outside.iter())
    {
        if !covered_outside
            .iter()
            .any(|o| crate::accounts::same_organisation_name(o, name))
        {
            covered_outside.push(name.clone());
        }
    }
    let days = sips::first_meeting_days(conn, &sip.municipality_id)?;
    let booked = meetings_with.iter().any(|(m, _)| m.cancelled_at.is_none());
    let first_booked = meetings_with
        .iter()
        .filter(|(m, _)| m.cancelled_at.is_none())
        .map(|(m, _)| time::local(m.starts_at).date())
        .min();
    let uncovered = participants
        .iter()
        .filter(|p| !super::covered(sip, p, &terms, today))
        .map(|p| p.id.clone())
        .collect();
    Event::success(
        &actor.audit_actor(),
        "sip.read",
        Object::Sip(sip.id.as_str()),
    )
    .record(conn)?;
    Ok(SipOverview {
        consents,
        participants,
        meetings: meetings_with,
        candidates,
        covered_organisations,
        covered_outside,
        organisations: org_names,
        first_meeting_due: if booked {
            None
        } else {
            model::first_meeting_due(&terms, days, today)
        },
        first_meeting: model::first_meeting(&terms, days, today, first_booked),
        follow_up_on: plans::latest_follow_up(conn, &sip.id)?,
        uncovered,
    })
}

/// A SIP a partner takes part in, with their upcoming meetings and their own answer to each.
pub type PartnerSip = (Sip, Vec<(Meeting, Invitee)>);

/// The SIPs `user` takes part in and consent covers today, with their upcoming meetings and
/// their own answers.
pub fn partner_sips(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    user: &UserId,
) -> Result<Vec<PartnerSip>, AppError> {
    let mut out = Vec::new();
    for id in participants::sips_of_user(conn, user)? {
        let sip = sips::find_sealed(conn, &id)?.open(keys)?;
        let Some(participant) = participants::covered_participation(conn, keys, &sip, user)? else {
            continue;
        };
        let upcoming: Vec<(Meeting, Invitee)> = meeting_rows::table
            .inner_join(invitees::table)
            .filter(meeting_rows::sip_id.eq(&sip.id))
            .filter(meeting_rows::cancelled_at.is_null())
            .filter(meeting_rows::starts_at.gt(now()))
            .filter(invitees::participant_id.eq(&participant.id))
            .filter(invitees::removed_at.is_null())
            .order(meeting_rows::starts_at)
            .select((Meeting::as_select(), Invitee::as_select()))
            .load::<(Meeting, Invitee)>(conn)?
            .into_iter()
            .map(|(m, i)| Ok((m.open(keys)?, i)))
            .collect::<Result<_, AppError>>()?;
        out.push((sip, upcoming));
    }
    Event::success(
        &actor.audit_actor(),
        "sip_list.read",
        Object::User(user.as_str()),
    )
    .detail(&format!("sips={}", out.len()))
    .record(conn)?;
    Ok(out)
}
