//! SIPs in the database: starting one, consent, participants, meetings, and answers. Every change
//! is audited and queues its mail in the same transaction; every function checks access first.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::accounts::{AuthUser, MunicipalityId, OrganisationId, UserId};
use crate::audit::{self, Outcome};
use crate::authz::{authorize, Action, Actor, Resource};
use crate::config::Settings;
use crate::crypto::rows::SealedRow;
use crate::crypto::Keyring;
use crate::db::schema::{
    consent_organisations, consents, invitees, meetings, municipalities, organisations,
    participants, sips, users,
};
use crate::db::{now, write_tx, AnyConnection};
use crate::error::{AppError, FieldError};
use crate::personnummer::PersonalNumber;
use crate::reports::deadlines;
use crate::sip::invitations::{self, Notice};
use crate::sip::model::{self, Answer, ConsentTerms, MeetingInput, Relation};
use crate::string_id;

string_id!(SipId);
string_id!(ConsentId);
string_id!(ParticipantId);
string_id!(MeetingId);

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = sips)]
pub struct Sip {
    pub id: SipId,
    pub reference: String,
    pub municipality_id: MunicipalityId,
    pub child_name: String,
    pub child_personal_number: Option<String>,
    pub report_id: Option<String>,
    pub calling_organisation_id: OrganisationId,
    pub responsible_user_id: UserId,
    pub created_at: NaiveDateTime,
}
crate::sealed_row!(Sip, sips by id: [child_name, child_personal_number]);

#[derive(Clone, Debug, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = consents)]
pub struct Consent {
    pub id: ConsentId,
    #[serde(skip)]
    pub sip_id: SipId,
    pub given_by: String,
    pub relation: Relation,
    pub given_on: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    #[serde(skip)]
    pub recorded_by: UserId,
    pub recorded_at: NaiveDateTime,
    pub withdrawn_at: Option<NaiveDateTime>,
    #[serde(skip)]
    pub withdrawn_by: Option<UserId>,
}
crate::sealed_row!(Consent, consents by id: [given_by]);
// A participant without an account may be a guardian: their name and address are sealed (for
// staff too, so that every row is alike).
crate::sealed_row!(Participant, participants by id: [name, email]);
// A place may still say more than it should, and a video link lets anyone holding it join.
crate::sealed_row!(Meeting, meetings by id: [place, video_url]);

#[derive(Clone, Debug, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = participants)]
pub struct Participant {
    pub id: ParticipantId,
    #[serde(skip)]
    pub sip_id: SipId,
    pub user_id: Option<UserId>,
    pub organisation_id: Option<OrganisationId>,
    pub name: String,
    pub email: String,
    pub required: bool,
    pub added_at: NaiveDateTime,
    pub removed_at: Option<NaiveDateTime>,
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = meetings)]
pub struct Meeting {
    pub id: MeetingId,
    pub sip_id: SipId,
    pub uid: String,
    pub sequence: i32,
    pub starts_at: NaiveDateTime,
    pub minutes: i32,
    pub place: String,
    pub video_url: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub cancelled_at: Option<NaiveDateTime>,
    pub reminder_sent_at: Option<NaiveDateTime>,
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = invitees)]
pub struct Invitee {
    pub meeting_id: MeetingId,
    pub participant_id: ParticipantId,
    pub status: Answer,
    pub status_changed_at: Option<NaiveDateTime>,
    pub answered_sequence: i32,
    pub rsvp_token_hash: String,
    pub removed_at: Option<NaiveDateTime>,
}

pub(crate) use crate::audit::success as record;

fn caseworker<'a>(
    conn: &mut AnyConnection,
    actor: &'a Actor,
    municipality: &MunicipalityId,
    object: Option<&str>,
) -> Result<&'a AuthUser, AppError> {
    authorize(
        conn,
        actor,
        Action::Update,
        Resource::Sips { municipality },
        object,
    )?;
    actor.user().ok_or(AppError::Forbidden)
}

// ---- starting a SIP ----

#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct SipInput {
    #[serde(default)]
    pub child_name: String,
    /// The child's personnummer or samordningsnummer, if known.
    #[serde(default)]
    pub child_personal_number: String,
    /// The report whose investigation led to this SIP, if any.
    #[serde(default)]
    pub report_id: Option<String>,
}

/// Starts a SIP. The caseworker's organisation calls it and the caseworker is responsible; they
/// take part in every meeting as its chair.
pub fn create_sip(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    input: &SipInput,
) -> Result<Sip, AppError> {
    let municipality = actor
        .user()
        .map(|u| u.organisation.municipality_id.clone())
        .ok_or(AppError::Forbidden)?;
    let user = caseworker(conn, actor, &municipality, None)?.clone();
    let mut errors = Vec::new();
    let child_name = input.child_name.trim().to_string();
    if child_name.is_empty() {
        errors.push(FieldError::new("child_name", "Fyll i barnets namn."));
    }
    crate::input::check_name(&mut errors, "child_name", &child_name);
    let today = deadlines::local(now()).date();
    let number = match input.child_personal_number.trim() {
        "" => None,
        text => match PersonalNumber::parse(text, today) {
            Ok(n) => Some(n.canonical()),
            Err(problem) => {
                errors.push(FieldError::new("child_personal_number", problem.message()));
                None
            }
        },
    };
    if let Some(report_id) = input.report_id.as_deref().filter(|r| !r.is_empty()) {
        let report = crate::reports::store::find(
            conn,
            keys,
            &crate::reports::store::ReportId(report_id.into()),
        )?;
        if report.is_none_or(|r| r.municipality_id != municipality) {
            errors.push(FieldError::new(
                "report_id",
                "Det finns ingen sådan anmälan i kommunen.",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
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
            child_name: child_name.clone(),
            child_personal_number: number.clone(),
            report_id: input.report_id.clone().filter(|r| !r.is_empty()),
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
                }
                .seal(keys),
            )
            .execute(conn)?;
        record(
            conn,
            actor,
            "sip.create",
            "sip",
            sip.id.as_str(),
            &sip.reference,
        )?;
        Ok(sip)
    })
}

/// A SIP its caseworkers may run; anyone else gets 404, audited.
pub fn find_for_caseworker(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    id: &SipId,
) -> Result<Sip, AppError> {
    let sip: Option<Sip> = sips::table
        .find(id)
        .select(Sip::as_select())
        .first(conn)
        .optional()?
        .map(|s: Sip| s.open(keys))
        .transpose()?;
    let nowhere = MunicipalityId(String::new());
    let municipality = sip.as_ref().map_or(&nowhere, |s| &s.municipality_id);
    authorize(
        conn,
        actor,
        Action::Update,
        Resource::Sips { municipality },
        Some(id.as_str()),
    )
    .map_err(|_| AppError::NotFound)?;
    sip.ok_or(AppError::NotFound)
}

// ---- consent ----

#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct ConsentInput {
    /// Who gave it: the guardian's name, or the child's.
    #[serde(default)]
    pub given_by: String,
    /// `guardian` or `child`.
    #[serde(default)]
    pub relation: String,
    /// `YYYY-MM-DD`; today if left out.
    #[serde(default)]
    pub given_on: String,
    /// `YYYY-MM-DD`, or empty for until withdrawn.
    #[serde(default)]
    pub valid_until: String,
    /// The organisations the consent covers.
    #[serde(default)]
    pub organisation_ids: Vec<String>,
}

fn parse_day(errors: &mut Vec<FieldError>, field: &str, text: &str) -> Option<NaiveDate> {
    match NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(FieldError::new(
                field,
                "Skriv datumet som år-månad-dag, till exempel 2026-11-23.",
            ));
            None
        }
    }
}

pub fn add_consent(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    sip: &Sip,
    input: &ConsentInput,
) -> Result<Consent, AppError> {
    let user = caseworker(conn, actor, &sip.municipality_id, Some(sip.id.as_str()))?.clone();
    let mut errors = Vec::new();
    let today = deadlines::local(now()).date();
    let given_by = input.given_by.trim().to_string();
    if given_by.is_empty() {
        errors.push(FieldError::new("given_by", "Fyll i vem som gav samtycket."));
    }
    crate::input::check_name(&mut errors, "given_by", &given_by);
    let relation = input.relation.parse::<Relation>().ok();
    if relation.is_none() {
        errors.push(FieldError::new(
            "relation",
            "Välj om det är en vårdnadshavare eller barnet.",
        ));
    }
    let given_on = if input.given_on.trim().is_empty() {
        Some(today)
    } else {
        parse_day(&mut errors, "given_on", &input.given_on)
    };
    if given_on.is_some_and(|d| d > today) {
        errors.push(FieldError::new(
            "given_on",
            "Samtycket kan inte vara givet i framtiden.",
        ));
    }
    let valid_until = match input.valid_until.trim() {
        "" => None,
        text => parse_day(&mut errors, "valid_until", text),
    };
    if let (Some(from), Some(until)) = (given_on, valid_until) {
        if until < from {
            errors.push(FieldError::new(
                "valid_until",
                "Slutdatumet ligger före dagen samtycket gavs.",
            ));
        }
    }
    let mut orgs: Vec<String> = input
        .organisation_ids
        .iter()
        .map(|o| o.trim().to_string())
        .collect();
    orgs.sort();
    orgs.dedup();
    orgs.retain(|o| !o.is_empty());
    if orgs.is_empty() {
        errors.push(FieldError::new(
            "organisation_ids",
            "Välj vilka verksamheter samtycket gäller.",
        ));
    }
    let known: i64 = organisations::table
        .filter(organisations::id.eq_any(&orgs))
        .count()
        .get_result(conn)?;
    if known != orgs.len() as i64 {
        errors.push(FieldError::new(
            "organisation_ids",
            "Någon av verksamheterna finns inte.",
        ));
    }
    let (Some(relation), Some(given_on), true) = (relation, given_on, errors.is_empty()) else {
        return Err(AppError::Invalid(errors));
    };
    write_tx(conn, |conn| {
        let consent = Consent {
            id: ConsentId::generate(),
            sip_id: sip.id.clone(),
            given_by: given_by.clone(),
            relation,
            given_on,
            valid_until,
            recorded_by: user.id.clone(),
            recorded_at: now(),
            withdrawn_at: None,
            withdrawn_by: None,
        };
        diesel::insert_into(consents::table)
            .values(&consent.clone().seal(keys))
            .execute(conn)?;
        for org in &orgs {
            diesel::insert_into(consent_organisations::table)
                .values((
                    consent_organisations::consent_id.eq(&consent.id),
                    consent_organisations::organisation_id.eq(org),
                ))
                .execute(conn)?;
        }
        record(
            conn,
            actor,
            "sip.consent",
            "sip",
            sip.id.as_str(),
            &format!("organisations={}", orgs.len()),
        )?;
        Ok(consent)
    })
}

/// The terms of every consent of a SIP, for coverage checks.
fn terms_of(conn: &mut AnyConnection, sip: &SipId) -> Result<Vec<ConsentTerms>, AppError> {
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
    let ids: Vec<&ConsentId> = rows.iter().map(|c| &c.id).collect();
    let links: Vec<(ConsentId, String)> = consent_organisations::table
        .filter(consent_organisations::consent_id.eq_any(ids))
        .select((
            consent_organisations::consent_id,
            consent_organisations::organisation_id,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|c| {
            let terms = ConsentTerms {
                given_on: c.given_on,
                valid_until: c.valid_until,
                withdrawn: c.withdrawn_at.is_some(),
                organisations: links
                    .iter()
                    .filter(|(id, _)| *id == c.id)
                    .map(|(_, o)| o.clone())
                    .collect(),
            };
            (c, terms)
        })
        .collect())
}

/// Whether a participant may take part today: the calling organisation runs the SIP and is
/// always covered; everyone from another organisation needs a valid consent covering it; people
/// without an account (the family, an outside partner) need some valid consent.
fn participant_covered(
    sip: &Sip,
    participant: &Participant,
    terms: &[ConsentTerms],
    today: NaiveDate,
) -> bool {
    match &participant.organisation_id {
        None => terms.iter().any(|t| t.valid_on(today)),
        Some(org) if *org == sip.calling_organisation_id => true,
        Some(org) => model::covers(terms, org.as_str(), today),
    }
}

/// Withdraws a consent. Partners it alone covered lose access at once: they are removed from
/// upcoming meetings and get a cancellation; the others get an update.
pub fn withdraw_consent(
    conn: &mut AnyConnection,
    actor: &Actor,
    sip: &Sip,
    consent: &ConsentId,
    settings: &Settings,
) -> Result<usize, AppError> {
    let user = caseworker(conn, actor, &sip.municipality_id, Some(sip.id.as_str()))?.clone();
    write_tx(conn, |conn| {
        let updated = diesel::update(
            consents::table
                .filter(consents::id.eq(consent))
                .filter(consents::sip_id.eq(&sip.id))
                .filter(consents::withdrawn_at.is_null()),
        )
        .set((
            consents::withdrawn_at.eq(now()),
            consents::withdrawn_by.eq(&user.id),
        ))
        .execute(conn)?;
        if updated == 0 {
            return Err(AppError::NotFound);
        }
        record(
            conn,
            actor,
            "sip.consent_withdraw",
            "sip",
            sip.id.as_str(),
            consent.as_str(),
        )?;
        drop_uncovered(conn, sip, settings)
    })
}

/// Removes from upcoming meetings everyone no valid consent covers any more. Returns how many.
pub fn drop_uncovered(
    conn: &mut AnyConnection,
    sip: &Sip,
    settings: &Settings,
) -> Result<usize, AppError> {
    let today = deadlines::local(now()).date();
    let terms = terms_of(conn, &sip.id)?;
    let uncovered: Vec<Participant> = active_participants(conn, &settings.keys, &sip.id)?
        .into_iter()
        .filter(|p| !participant_covered(sip, p, &terms, today))
        .collect();
    for participant in &uncovered {
        audit::record(
            conn,
            &audit::Event {
                actor: &audit::AuditActor {
                    id: None,
                    label: "samtycket gäller inte längre".into(),
                    municipality: None,
                },
                action: "sip.participant_remove",
                object_type: "sip",
                object_id: Some(sip.id.as_str()),
                outcome: Outcome::Success,
                detail: participant.id.as_str(),
            },
        )?;
        remove_from_upcoming(conn, sip, participant, settings)?;
    }
    Ok(uncovered.len())
}

// ---- participants ----

#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct ParticipantInput {
    /// A user of a partner organisation; or leave out and give name and email.
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    /// Must the meeting have this person? Defaults to yes.
    #[serde(default)]
    pub required: Option<bool>,
}

fn active_participants(
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

pub fn add_participant(
    conn: &mut AnyConnection,
    actor: &Actor,
    sip: &Sip,
    input: &ParticipantInput,
    settings: &Settings,
) -> Result<Participant, AppError> {
    caseworker(conn, actor, &sip.municipality_id, Some(sip.id.as_str()))?;
    let mut errors = Vec::new();
    let (user_id, organisation_id, name, email) = match input
        .user_id
        .as_deref()
        .filter(|u| !u.is_empty())
    {
        Some(id) => {
            let user: Option<(UserId, OrganisationId, String, String)> = users::table
                .filter(users::id.eq(id))
                .filter(users::active.eq(true))
                .select((users::id, users::organisation_id, users::name, users::email))
                .first(conn)
                .optional()?;
            let Some((user_id, org, name, email)) = user else {
                return Err(AppError::Invalid(vec![FieldError::new(
                    "user_id",
                    "Det finns ingen sådan användare.",
                )]));
            };
            (Some(user_id), Some(org), name, email)
        }
        None => {
            let name = input.name.trim().to_string();
            if name.is_empty() {
                errors.push(FieldError::new("name", "Fyll i namnet."));
            }
            crate::input::check_name(&mut errors, "name", &name);
            let email = crate::accounts::parse_email(&mut errors, "email", &input.email);
            let has_account: i64 = users::table
                .filter(users::email.eq(&email))
                .count()
                .get_result(conn)?;
            if has_account > 0 {
                errors.push(FieldError::new(
                        "email",
                        "Personen har ett konto här. Välj hen i listan, så gäller samtycket för hens verksamhet.",
                    ));
            }
            (None, None, name, email)
        }
    };
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let candidate = Participant {
        id: ParticipantId::generate(),
        sip_id: sip.id.clone(),
        user_id,
        organisation_id,
        name,
        email,
        required: input.required.unwrap_or(true),
        added_at: now(),
        removed_at: None,
    };
    let today = deadlines::local(now()).date();
    let terms = terms_of(conn, &sip.id)?;
    if !participant_covered(sip, &candidate, &terms, today) {
        return Err(AppError::Invalid(vec![FieldError::new(
            "user_id",
            "Familjens samtycke omfattar inte den här personens verksamhet. Registrera samtycke först.",
        )]));
    }
    let already = active_participants(conn, &settings.keys, &sip.id)?
        .iter()
        .any(|p| p.email.eq_ignore_ascii_case(&candidate.email));
    if already {
        return Err(AppError::Invalid(vec![FieldError::new(
            "email",
            "Personen är redan med.",
        )]));
    }
    write_tx(conn, |conn| {
        diesel::insert_into(participants::table)
            .values(&candidate.clone().seal(&settings.keys))
            .execute(conn)?;
        record(
            conn,
            actor,
            "sip.participant_add",
            "sip",
            sip.id.as_str(),
            candidate.id.as_str(),
        )?;
        // Already booked meetings: an invitation to the newcomer, and the chair's copy updated.
        // Who takes part changed, not the meeting: same SEQUENCE.
        for meeting in upcoming_meetings(conn, &settings.keys, &sip.id)? {
            invite(conn, sip, &meeting, &candidate, settings)?;
            let meeting = touch(conn, &settings.keys, &meeting.id)?;
            invitations::send(
                conn,
                sip,
                &meeting,
                &candidate,
                Notice::Invitation,
                settings,
            )?;
            if let Some((_, chair)) =
                invitations::active_invitees(conn, &settings.keys, &meeting.id)?
                    .into_iter()
                    .find(|(_, p)| invitations::is_chair(sip, p))
            {
                invitations::send(conn, sip, &meeting, &chair, Notice::Update, settings)?;
            }
        }
        Ok(candidate)
    })
}

/// Takes a participant out of the SIP: a cancellation to them, an update to the rest.
pub fn remove_participant(
    conn: &mut AnyConnection,
    actor: &Actor,
    sip: &Sip,
    participant: &ParticipantId,
    settings: &Settings,
) -> Result<(), AppError> {
    caseworker(conn, actor, &sip.municipality_id, Some(sip.id.as_str()))?;
    let found = active_participants(conn, &settings.keys, &sip.id)?
        .into_iter()
        .find(|p| p.id == *participant)
        .ok_or(AppError::NotFound)?;
    if found.user_id.as_ref() == Some(&sip.responsible_user_id) {
        return Err(AppError::Conflict(
            "Den ansvariga handläggaren kan inte tas bort.".into(),
        ));
    }
    write_tx(conn, |conn| {
        record(
            conn,
            actor,
            "sip.participant_remove",
            "sip",
            sip.id.as_str(),
            found.id.as_str(),
        )?;
        remove_from_upcoming(conn, sip, &found, settings)
    })
}

fn remove_from_upcoming(
    conn: &mut AnyConnection,
    sip: &Sip,
    participant: &Participant,
    settings: &Settings,
) -> Result<(), AppError> {
    let at = now();
    diesel::update(participants::table.find(&participant.id))
        .set(participants::removed_at.eq(at))
        .execute(conn)?;
    for meeting in upcoming_meetings(conn, &settings.keys, &sip.id)? {
        let removed = diesel::update(
            invitees::table
                .filter(invitees::meeting_id.eq(&meeting.id))
                .filter(invitees::participant_id.eq(&participant.id))
                .filter(invitees::removed_at.is_null()),
        )
        .set(invitees::removed_at.eq(at))
        .execute(conn)?;
        if removed > 0 {
            // Who takes part changed, not the meeting: same SEQUENCE, so answers on their way
            // still count; a new DTSTAMP orders the update.
            let meeting = touch(conn, &settings.keys, &meeting.id)?;
            invitations::send(
                conn,
                sip,
                &meeting,
                participant,
                Notice::Uninvited,
                settings,
            )?;
            invitations::send_to_all(conn, sip, &meeting, Notice::Update, settings)?;
        }
    }
    Ok(())
}

// ---- meetings ----

fn upcoming_meetings(
    conn: &mut AnyConnection,
    keys: &Keyring,
    sip: &SipId,
) -> Result<Vec<Meeting>, AppError> {
    let rows: Vec<Meeting> = meetings::table
        .filter(meetings::sip_id.eq(sip))
        .filter(meetings::cancelled_at.is_null())
        .filter(meetings::starts_at.gt(now()))
        .order(meetings::starts_at)
        .select(Meeting::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|m| m.open(keys))
        .collect::<Result<_, _>>()?)
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

fn invite(
    conn: &mut AnyConnection,
    sip: &Sip,
    meeting: &Meeting,
    participant: &Participant,
    settings: &Settings,
) -> Result<(), AppError> {
    let token = rsvp_token(settings, &meeting.id, &participant.id);
    let chair = invitations::is_chair(sip, participant);
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

/// Re-reads a meeting inside the current transaction.
fn reload(conn: &mut AnyConnection, keys: &Keyring, id: &MeetingId) -> Result<Meeting, AppError> {
    let meeting: Meeting = meetings::table
        .find(id)
        .select(Meeting::as_select())
        .first(conn)?;
    Ok(meeting.open(keys)?)
}

/// Marks a change of who takes part: a new DTSTAMP, the same SEQUENCE.
fn touch(conn: &mut AnyConnection, keys: &Keyring, id: &MeetingId) -> Result<Meeting, AppError> {
    diesel::update(meetings::table.find(id))
        .set(meetings::updated_at.eq(now()))
        .execute(conn)?;
    reload(conn, keys, id)
}

/// Books a meeting and invites every participant. Needs a valid consent.
pub fn schedule_meeting(
    conn: &mut AnyConnection,
    actor: &Actor,
    sip: &Sip,
    input: &MeetingInput,
    settings: &Settings,
) -> Result<Meeting, AppError> {
    caseworker(conn, actor, &sip.municipality_id, Some(sip.id.as_str()))?;
    let valid = model::validate_meeting(input, now()).map_err(AppError::Invalid)?;
    let today = deadlines::local(now()).date();
    let terms = terms_of(conn, &sip.id)?;
    if !terms.iter().any(|t| t.valid_on(today)) {
        return Err(AppError::Conflict(
            "Registrera familjens samtycke innan ett möte bokas.".into(),
        ));
    }
    write_tx(conn, |conn| {
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
        // Only those the consent covers today (a consent may have run out since the last
        // background pass).
        for participant in invitable(conn, &settings.keys, sip)? {
            invite(conn, sip, &meeting, &participant, settings)?;
        }
        record(
            conn,
            actor,
            "meeting.create",
            "meeting",
            meeting.id.as_str(),
            sip.id.as_str(),
        )?;
        invitations::send_to_all(conn, sip, &meeting, Notice::Invitation, settings)?;
        Ok(meeting)
    })
}

/// A meeting and its SIP, for the SIP's caseworkers (404 for anyone else, audited).
pub fn meeting_for_caseworker(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    id: &MeetingId,
) -> Result<(Sip, Meeting), AppError> {
    let meeting: Option<Meeting> = meetings::table
        .find(id)
        .select(Meeting::as_select())
        .first(conn)
        .optional()?
        .map(|m: Meeting| m.open(keys))
        .transpose()?;
    let sip_id = meeting
        .as_ref()
        .map_or_else(|| SipId(String::new()), |m| m.sip_id.clone());
    let sip = find_for_caseworker(conn, keys, actor, &sip_id)?;
    Ok((sip, meeting.ok_or(AppError::NotFound)?))
}

/// Moves a meeting (or changes its place): an update with SEQUENCE + 1 to everyone.
pub fn reschedule(
    conn: &mut AnyConnection,
    actor: &Actor,
    id: &MeetingId,
    input: &MeetingInput,
    settings: &Settings,
) -> Result<Meeting, AppError> {
    let (sip, meeting) = meeting_for_caseworker(conn, &settings.keys, actor, id)?;
    let valid = model::validate_meeting(input, now()).map_err(AppError::Invalid)?;
    let time_changed = valid.starts_at != meeting.starts_at || valid.minutes != meeting.minutes;
    write_tx(conn, |conn| {
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
            meetings::place.eq(settings.keys.seal("meetings.place", &valid.place)),
            meetings::video_url.eq(settings.keys.seal("meetings.video_url", &valid.video_url)),
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
            let chair: Vec<ParticipantId> =
                invitations::active_invitees(conn, &settings.keys, &meeting.id)?
                    .into_iter()
                    .filter(|(_, p)| invitations::is_chair(&sip, p))
                    .map(|(_, p)| p.id)
                    .collect();
            diesel::update(
                invitees::table
                    .filter(invitees::meeting_id.eq(&meeting.id))
                    .filter(invitees::participant_id.ne_all(&chair)),
            )
            .set((
                invitees::status.eq(Answer::NoAnswer),
                invitees::status_changed_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        }
        let moved = reload(conn, &settings.keys, &meeting.id)?;
        record(
            conn,
            actor,
            "meeting.update",
            "meeting",
            meeting.id.as_str(),
            "",
        )?;
        invitations::send_to_all(conn, &sip, &moved, Notice::Update, settings)?;
        Ok(moved)
    })
}

/// Cancels a meeting: `METHOD:CANCEL`, SEQUENCE + 1, to everyone.
pub fn cancel(
    conn: &mut AnyConnection,
    actor: &Actor,
    id: &MeetingId,
    settings: &Settings,
) -> Result<(), AppError> {
    let (sip, meeting) = meeting_for_caseworker(conn, &settings.keys, actor, id)?;
    write_tx(conn, |conn| {
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
        let cancelled = reload(conn, &settings.keys, &meeting.id)?;
        record(
            conn,
            actor,
            "meeting.cancel",
            "meeting",
            meeting.id.as_str(),
            "",
        )?;
        invitations::send_to_all(conn, &sip, &cancelled, Notice::Cancelled, settings)
    })
}

// ---- answers ----

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
        audit::record(
            conn,
            &audit::Event {
                actor: &audit::AuditActor {
                    id: Some(format!("participant:{participant}")),
                    municipality: None,
                    label: match channel {
                        Channel::Link => "svarslänk".into(),
                        Channel::Calendar => "kalendersvar".into(),
                    },
                },
                action: "meeting.answer",
                object_type: "meeting",
                object_id: Some(meeting.id.as_str()),
                outcome: Outcome::Success,
                detail: answer.as_str(),
            },
        )?;
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
    if !covered_now(conn, &meeting.sip_id, &invitee.participant_id)? {
        return Ok(None);
    }
    Ok(Some((meeting.open(keys)?, invitee)))
}

/// Whether `participant` of `sip` is active and covered by a valid consent today (not withdrawn,
/// not expired, covering their organisation).
fn covered_now(
    conn: &mut AnyConnection,
    sip: &SipId,
    participant: &ParticipantId,
) -> Result<bool, AppError> {
    // Only ids and dates are read: nothing sealed needs opening.
    let sip: Sip = sips::table.find(sip).select(Sip::as_select()).first(conn)?;
    let participant: Option<Participant> = participants::table
        .find(participant)
        .filter(participants::removed_at.is_null())
        .select(Participant::as_select())
        .first(conn)
        .optional()?;
    let Some(participant) = participant else {
        return Ok(false);
    };
    let today = deadlines::local(now()).date();
    Ok(participant_covered(
        &sip,
        &participant,
        &terms_of(conn, &sip.id)?,
        today,
    ))
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
    let participant = invitations::active_invitees(conn, keys, &meeting.id)?
        .into_iter()
        .map(|(_, p)| p)
        .find(|p| p.email.eq_ignore_ascii_case(&reply.attendee))
        .ok_or(AppError::NotFound)?
        .id;
    // As for the answer link: a partner whose consent no longer covers them cannot answer.
    if !covered_now(conn, &meeting.sip_id, &participant)? {
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

// ---- what the caseworker's pages show ----

/// One line of the caseworker's SIP list.
pub struct SipSummary {
    pub sip: Sip,
    pub next_meeting: Option<Meeting>,
    /// The last day for the first meeting, while none is booked and consent is valid.
    pub first_meeting_due: Option<NaiveDate>,
    /// The follow-up date of the latest plan.
    pub follow_up_on: Option<NaiveDate>,
}

/// The SIPs of the caseworker's municipality, those that need a meeting first.
pub fn list_for_caseworker(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
) -> Result<Vec<SipSummary>, AppError> {
    let municipality = actor
        .user()
        .map(|u| u.organisation.municipality_id.clone())
        .ok_or(AppError::Forbidden)?;
    authorize(
        conn,
        actor,
        Action::View,
        Resource::Sips {
            municipality: &municipality,
        },
        None,
    )?;
    let days = first_meeting_days(conn, &municipality)?;
    let today = deadlines::local(now()).date();
    let all: Vec<Sip> = sips::table
        .filter(sips::municipality_id.eq(&municipality))
        .order(sips::created_at.desc())
        .select(Sip::as_select())
        .load(conn)?;
    let mut out = Vec::with_capacity(all.len());
    for sip in all {
        let sip = sip.open(keys)?;
        let next_meeting = upcoming_meetings(conn, keys, &sip.id)?.into_iter().next();
        let booked_ever: i64 = meetings::table
            .filter(meetings::sip_id.eq(&sip.id))
            .filter(meetings::cancelled_at.is_null())
            .count()
            .get_result(conn)?;
        let terms = terms_of(conn, &sip.id)?;
        let first_meeting_due = if booked_ever == 0 {
            model::first_meeting_due(&terms, days, today)
        } else {
            None
        };
        let follow_up_on = latest_follow_up(conn, &sip.id)?;
        out.push(SipSummary {
            sip,
            next_meeting,
            first_meeting_due,
            follow_up_on,
        });
    }
    out.sort_by_key(|s| (s.first_meeting_due.is_none(), s.first_meeting_due));
    audit::record(
        conn,
        &audit::Event {
            actor: &actor.audit_actor(),
            action: "sip_list.read",
            object_type: "municipality",
            object_id: Some(municipality.as_str()),
            outcome: Outcome::Success,
            detail: &format!("sips={}", out.len()),
        },
    )?;
    Ok(out)
}

/// Everything on a SIP's page.
pub struct SipOverview {
    pub consents: Vec<(Consent, Vec<String>, bool)>,
    pub participants: Vec<Participant>,
    pub meetings: Vec<(Meeting, Vec<(Invitee, Participant)>)>,
    /// Users of organisations the consent covers who are not yet participants.
    pub candidates: Vec<(UserId, String, String)>,
    pub organisations: Vec<(OrganisationId, String)>,
    pub first_meeting_due: Option<NaiveDate>,
    pub follow_up_on: Option<NaiveDate>,
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
    let today = deadlines::local(now()).date();
    // Organisations of every municipality can be covered: each is named with its kind and
    // municipality, so that two of the same name are not taken for each other.
    let org_names = organisation_labels(conn)?;
    let name_of = |id: &str| {
        org_names
            .iter()
            .find(|(o, _)| o.as_str() == id)
            .map_or_else(|| id.to_string(), |(_, n)| n.clone())
    };
    let with_terms = consent_terms(conn, keys, &sip.id)?;
    let terms: Vec<ConsentTerms> = with_terms.iter().map(|(_, t)| t.clone()).collect();
    let consents = with_terms
        .into_iter()
        .map(|(c, t)| {
            let valid = t.valid_on(today);
            (
                c,
                t.organisations.iter().map(|o| name_of(o)).collect(),
                valid,
            )
        })
        .collect();
    let participants = active_participants(conn, keys, &sip.id)?;
    let all_meetings: Vec<Meeting> = meetings::table
        .filter(meetings::sip_id.eq(&sip.id))
        .order(meetings::starts_at)
        .select(Meeting::as_select())
        .load(conn)?;
    let mut meetings_with = Vec::new();
    for m in all_meetings {
        let m = m.open(keys)?;
        let invited = invitations::active_invitees(conn, keys, &m.id)?;
        meetings_with.push((m, invited));
    }
    let covered: Vec<String> = org_names
        .iter()
        .map(|(o, _)| o.0.clone())
        .filter(|o| *o == sip.calling_organisation_id.0 || model::covers(&terms, o, today))
        .collect();
    let taken: Vec<&str> = participants
        .iter()
        .filter_map(|p| p.user_id.as_ref().map(|u| u.as_str()))
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
    let days = first_meeting_days(conn, &sip.municipality_id)?;
    let booked = meetings_with.iter().any(|(m, _)| m.cancelled_at.is_none());
    audit::record(
        conn,
        &audit::Event {
            actor: &actor.audit_actor(),
            action: "sip.read",
            object_type: "sip",
            object_id: Some(sip.id.as_str()),
            outcome: Outcome::Success,
            detail: "",
        },
    )?;
    Ok(SipOverview {
        consents,
        participants,
        meetings: meetings_with,
        candidates,
        organisations: org_names,
        first_meeting_due: if booked {
            None
        } else {
            model::first_meeting_due(&terms, days, today)
        },
        follow_up_on: latest_follow_up(conn, &sip.id)?,
    })
}

// ---- the plan ----

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::db::schema::plans)]
pub struct PlanRow {
    pub id: String,
    pub sip_id: SipId,
    pub version: i32,
    pub meeting_id: MeetingId,
    pub needs: String,
    /// JSON list of strings.
    pub goals: String,
    /// JSON list of measures.
    pub measures: String,
    pub lead_organisation_id: OrganisationId,
    pub follow_up_on: NaiveDate,
    pub recorded_by: UserId,
    pub recorded_at: NaiveDateTime,
}
crate::sealed_row!(PlanRow, plans by id: [needs, goals, measures]);

/// A plan version as read.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Plan {
    pub version: i32,
    pub meeting_id: String,
    pub needs: String,
    pub goals: Vec<String>,
    pub measures: Vec<model::MeasureInput>,
    pub lead_organisation_id: String,
    pub follow_up_on: NaiveDate,
    pub recorded_at: NaiveDateTime,
}

impl From<PlanRow> for Plan {
    fn from(row: PlanRow) -> Self {
        Plan {
            version: row.version,
            meeting_id: row.meeting_id.0,
            needs: row.needs,
            goals: serde_json::from_str(&row.goals).unwrap_or_default(),
            measures: serde_json::from_str(&row.measures).unwrap_or_default(),
            lead_organisation_id: row.lead_organisation_id.0,
            follow_up_on: row.follow_up_on,
            recorded_at: row.recorded_at,
        }
    }
}

/// Records the plan after a meeting as a new version; earlier versions stay.
pub fn record_plan(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    meeting: &MeetingId,
    input: &model::PlanInput,
) -> Result<Plan, AppError> {
    let (sip, meeting) = meeting_for_caseworker(conn, keys, actor, meeting)?;
    let user = actor.user().ok_or(AppError::Forbidden)?.clone();
    let known: Vec<String> = organisations::table.select(organisations::id).load(conn)?;
    let day = deadlines::local(meeting.starts_at).date();
    let valid = model::validate_plan(input, day, &known).map_err(AppError::Invalid)?;
    write_tx(conn, |conn| {
        let last: Option<i32> = crate::db::schema::plans::table
            .filter(crate::db::schema::plans::sip_id.eq(&sip.id))
            .select(diesel::dsl::max(crate::db::schema::plans::version))
            .first(conn)?;
        let row = PlanRow {
            id: uuid::Uuid::new_v4().to_string(),
            sip_id: sip.id.clone(),
            version: last.unwrap_or(0) + 1,
            meeting_id: meeting.id.clone(),
            needs: valid.needs.clone(),
            goals: serde_json::to_string(&valid.goals).map_err(AppError::internal)?,
            measures: serde_json::to_string(&valid.measures).map_err(AppError::internal)?,
            lead_organisation_id: OrganisationId(valid.lead_organisation_id.clone()),
            follow_up_on: valid.follow_up_on,
            recorded_by: user.id.clone(),
            recorded_at: now(),
        };
        diesel::insert_into(crate::db::schema::plans::table)
            .values(&row.clone().seal(keys))
            .execute(conn)
            .map_err(|e| match e {
                diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                ) => AppError::Conflict(
                    "Någon annan sparade planen samtidigt. Ladda om sidan och försök igen.".into(),
                ),
                other => other.into(),
            })?;
        record(
            conn,
            actor,
            "sip.plan",
            "sip",
            sip.id.as_str(),
            &format!("version={}", row.version),
        )?;
        Ok(Plan::from(row))
    })
}

/// Every version of a SIP's plan, newest first (access already checked).
pub fn plans_of(
    conn: &mut AnyConnection,
    keys: &Keyring,
    sip: &SipId,
) -> Result<Vec<Plan>, AppError> {
    let rows: Vec<PlanRow> = crate::db::schema::plans::table
        .filter(crate::db::schema::plans::sip_id.eq(sip))
        .order(crate::db::schema::plans::version.desc())
        .select(PlanRow::as_select())
        .load(conn)?;
    rows.into_iter()
        .map(|row| Ok(Plan::from(row.open(keys)?)))
        .collect()
}

/// Books the follow-up meeting on the latest plan's follow-up date, at the time, length and
/// place of the meeting the plan was made at: one step for the caseworker.
pub fn book_follow_up(
    conn: &mut AnyConnection,
    actor: &Actor,
    sip: &Sip,
    settings: &Settings,
) -> Result<Meeting, AppError> {
    let plan = plans_of(conn, &settings.keys, &sip.id)?
        .into_iter()
        .next()
        .ok_or_else(|| {
            AppError::Conflict("Det finns ingen plan med uppföljningsdatum än.".into())
        })?;
    let follow_up_start =
        deadlines::to_utc(plan.follow_up_on.and_hms_opt(0, 0, 0).expect("midnight"));
    let already: i64 = meetings::table
        .filter(meetings::sip_id.eq(&sip.id))
        .filter(meetings::cancelled_at.is_null())
        .filter(meetings::starts_at.ge(follow_up_start))
        .count()
        .get_result(conn)?;
    if already > 0 {
        return Err(AppError::Conflict(
            "Uppföljningsmötet är redan bokat.".into(),
        ));
    }
    let last = reload(conn, &settings.keys, &MeetingId(plan.meeting_id.clone()))?;
    let time = deadlines::local(last.starts_at).time();
    let input = MeetingInput {
        starts_at: plan
            .follow_up_on
            .and_time(time)
            .format("%Y-%m-%dT%H:%M")
            .to_string(),
        minutes: Some(last.minutes),
        place: last.place,
        video_url: last.video_url,
    };
    schedule_meeting(conn, actor, sip, &input, settings)
}

/// Participants the consent covers today: those a meeting booked now would invite.
pub(crate) fn invitable(
    conn: &mut AnyConnection,
    keys: &Keyring,
    sip: &Sip,
) -> Result<Vec<Participant>, AppError> {
    let today = deadlines::local(now()).date();
    let terms = terms_of(conn, &sip.id)?;
    Ok(active_participants(conn, keys, &sip.id)?
        .into_iter()
        .filter(|p| participant_covered(sip, p, &terms, today))
        .collect())
}

/// When the next meeting should be held by: the first meeting's deadline until one is booked,
/// then the latest plan's follow-up date.
pub(crate) fn next_meeting_due(
    conn: &mut AnyConnection,
    sip: &Sip,
) -> Result<Option<NaiveDate>, AppError> {
    let booked: i64 = meetings::table
        .filter(meetings::sip_id.eq(&sip.id))
        .filter(meetings::cancelled_at.is_null())
        .count()
        .get_result(conn)?;
    if booked > 0 {
        return latest_follow_up(conn, &sip.id);
    }
    let days = first_meeting_days(conn, &sip.municipality_id)?;
    let today = deadlines::local(now()).date();
    Ok(model::first_meeting_due(
        &terms_of(conn, &sip.id)?,
        days,
        today,
    ))
}

fn latest_follow_up(conn: &mut AnyConnection, sip: &SipId) -> Result<Option<NaiveDate>, AppError> {
    Ok(crate::db::schema::plans::table
        .filter(crate::db::schema::plans::sip_id.eq(sip))
        .order(crate::db::schema::plans::version.desc())
        .select(crate::db::schema::plans::follow_up_on)
        .first(conn)
        .optional()?)
}

// ---- partners ----

/// The active participant row of `user` in `sip`, if their organisation is covered today.
fn covered_participation(
    conn: &mut AnyConnection,
    keys: &Keyring,
    sip: &Sip,
    user: &UserId,
) -> Result<Option<Participant>, AppError> {
    let today = deadlines::local(now()).date();
    let terms = terms_of(conn, &sip.id)?;
    Ok(active_participants(conn, keys, &sip.id)?
        .into_iter()
        .find(|p| p.user_id.as_ref() == Some(user) && participant_covered(sip, p, &terms, today)))
}

/// Whether `user` takes part in `sip` today: an active participant whom consent covers. Looks at
/// the rows as stored: only ids, organisations and dates decide, so nothing sealed is opened (the
/// calendar feed asks this per SIP and shows nothing about the child or the participants).
pub fn takes_part(conn: &mut AnyConnection, sip: &Sip, user: &UserId) -> Result<bool, AppError> {
    let today = deadlines::local(now()).date();
    let terms = terms_of(conn, &sip.id)?;
    let rows: Vec<Participant> = participants::table
        .filter(participants::sip_id.eq(&sip.id))
        .filter(participants::user_id.eq(user))
        .filter(participants::removed_at.is_null())
        .select(Participant::as_select())
        .load(conn)?;
    Ok(rows
        .iter()
        .any(|p| participant_covered(sip, p, &terms, today)))
}

/// A SIP as a partner taking part in it may read it: 404 unless they are an active participant
/// whose organisation the consent covers today. Audited either way.
pub fn sip_for_participant(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    id: &SipId,
) -> Result<(Sip, Participant), AppError> {
    let sip: Option<Sip> = sips::table
        .find(id)
        .select(Sip::as_select())
        .first(conn)
        .optional()?
        .map(|s: Sip| s.open(keys))
        .transpose()?;
    let participation = match (&sip, actor.user()) {
        (Some(sip), Some(user)) => covered_participation(conn, keys, sip, &user.id)?,
        _ => None,
    };
    authorize(
        conn,
        actor,
        Action::View,
        Resource::SipMeeting {
            invited: participation.is_some(),
        },
        Some(id.as_str()),
    )?;
    let (Some(sip), Some(participant)) = (sip, participation) else {
        return Err(AppError::NotFound);
    };
    record(
        conn,
        actor,
        "sip.read",
        "sip",
        sip.id.as_str(),
        "participant",
    )?;
    Ok((sip, participant))
}

/// A SIP a partner takes part in, with their upcoming meetings and their own answer to each.
pub type PartnerSip = (Sip, Vec<(Meeting, Invitee)>);

/// The SIPs a partner takes part in, with their upcoming meetings and their own answers.
pub fn sips_of_participant(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
) -> Result<Vec<PartnerSip>, AppError> {
    let user = actor.user().ok_or(AppError::Forbidden)?;
    let ids: Vec<SipId> = participants::table
        .filter(participants::user_id.eq(&user.id))
        .filter(participants::removed_at.is_null())
        .select(participants::sip_id)
        .load(conn)?;
    let mut out = Vec::new();
    for id in ids {
        let sip: Sip = sips::table
            .find(&id)
            .select(Sip::as_select())
            .first::<Sip>(conn)?
            .open(keys)?;
        let Some(participant) = covered_participation(conn, keys, &sip, &user.id)? else {
            continue;
        };
        let upcoming: Vec<(Meeting, Invitee)> = meetings::table
            .inner_join(invitees::table)
            .filter(meetings::sip_id.eq(&sip.id))
            .filter(meetings::cancelled_at.is_null())
            .filter(meetings::starts_at.gt(now()))
            .filter(invitees::participant_id.eq(&participant.id))
            .filter(invitees::removed_at.is_null())
            .order(meetings::starts_at)
            .select((Meeting::as_select(), Invitee::as_select()))
            .load::<(Meeting, Invitee)>(conn)?
            .into_iter()
            .map(|(m, i)| Ok((m.open(keys)?, i)))
            .collect::<Result<_, AppError>>()?;
        out.push((sip, upcoming));
    }
    record(
        conn,
        actor,
        "sip_list.read",
        "user",
        user.id.as_str(),
        &format!("sips={}", out.len()),
    )?;
    Ok(out)
}

/// Consents run out too: takes out of upcoming meetings, with a cancellation, everyone whose
/// organisation no longer has a valid consent. Run by the background task; returns how many.
pub fn expire_consents(conn: &mut AnyConnection, settings: &Settings) -> Result<usize, AppError> {
    let today = deadlines::local(now()).date();
    let affected: Vec<SipId> = consents::table
        .filter(consents::valid_until.lt(today))
        .filter(consents::withdrawn_at.is_null())
        .select(consents::sip_id)
        .distinct()
        .load(conn)?;
    let mut removed = 0;
    for id in affected {
        let sip: Sip = sips::table
            .find(&id)
            .select(Sip::as_select())
            .first::<Sip>(conn)?
            .open(&settings.keys)?;
        removed += write_tx(conn, |conn| drop_uncovered(conn, &sip, settings))?;
    }
    Ok(removed)
}
