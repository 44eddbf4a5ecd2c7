//! SIP (samordnad individuell plan): a caseworker records the family's consent, adds partners
//! and books meetings whose invitations land in real calendars; partners answer by link or from
//! their calendar.
//!
//! This module checks who may do what and runs the flows that span the layers: it validates with
//! [`model`], reads and writes through [`store`] (SQL and audit), and queues the messages about
//! meetings with [`invitations`] in the same transaction as the change they tell of.

pub mod api;
pub mod feed;
pub mod inbound;
pub mod invitations;
pub mod model;
pub mod reminders;
pub mod store;
pub mod times;
pub mod web;

use crate::accounts::AuthUser;
use crate::audit::event::{Event, Object};
use crate::authz::{authorize, Action, Actor, Resource};
use crate::config::Settings;
use crate::crypto::Keyring;
use crate::db::{now, write_tx, AnyConnection};
use crate::error::AppError;
use crate::ids::MunicipalityId;
use crate::time;
use invitations::Notice;
use model::{ConsentInput, MeetingInput, ParticipantInput, PlanInput, SipInput};
use store::views::{PartnerSip, SipOverview, SipSummary};
use store::{
    answers, consents, meetings, participants, plans, sips, Consent, ConsentId, Meeting, MeetingId,
    Participant, ParticipantId, Plan, Sip, SipId,
};

// ---- access ----

/// The caller as a caseworker of `municipality`'s SIPs (audited when refused).
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

/// The caller's own municipality, where they may start SIPs.
fn own_municipality(actor: &Actor) -> Result<MunicipalityId, AppError> {
    actor
        .user()
        .map(|u| u.organisation.municipality_id.clone())
        .ok_or(AppError::Forbidden)
}

/// A SIP its caseworkers may run; anyone else gets 404, audited.
pub fn find_for_caseworker(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    id: &SipId,
) -> Result<Sip, AppError> {
    let sip = sips::find(conn, keys, id)?;
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

/// A meeting and its SIP, for the SIP's caseworkers (404 for anyone else, audited).
pub fn meeting_for_caseworker(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    id: &MeetingId,
) -> Result<(Sip, Meeting), AppError> {
    let meeting = meetings::find(conn, keys, id)?;
    let sip_id = meeting
        .as_ref()
        .map_or_else(|| SipId(String::new()), |m| m.sip_id.clone());
    let sip = find_for_caseworker(conn, keys, actor, &sip_id)?;
    Ok((sip, meeting.ok_or(AppError::NotFound)?))
}

/// A SIP as a partner taking part in it may read it: 404 unless they are an active participant
/// whose organisation the consent covers today. Audited either way.
pub fn sip_for_participant(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    id: &SipId,
) -> Result<(Sip, Participant), AppError> {
    let sip = sips::find(conn, keys, id)?;
    let participation = match (&sip, actor.user()) {
        (Some(sip), Some(user)) => participants::covered_participation(conn, keys, sip, &user.id)?,
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
    Event::success(
        &actor.audit_actor(),
        "sip.read",
        Object::Sip(sip.id.as_str()),
    )
    .detail("participant")
    .record(conn)?;
    Ok((sip, participant))
}

// ---- what the pages read ----

/// The SIPs of the caseworker's municipality, those that need a meeting first.
pub fn list_for_caseworker(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
) -> Result<Vec<SipSummary>, AppError> {
    let municipality = own_municipality(actor)?;
    authorize(
        conn,
        actor,
        Action::View,
        Resource::Sips {
            municipality: &municipality,
        },
        None,
    )?;
    store::views::caseworker_list(conn, keys, actor, &municipality)
}

/// Reads a SIP for its caseworker (found with [`find_for_caseworker`]); the read of the child's
/// data is audited.
pub fn overview(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    sip: &Sip,
) -> Result<SipOverview, AppError> {
    store::views::overview(conn, keys, actor, sip)
}

/// The SIPs a partner takes part in, with their upcoming meetings and their own answers.
pub fn sips_of_participant(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
) -> Result<Vec<PartnerSip>, AppError> {
    let user = actor.user().ok_or(AppError::Forbidden)?;
    store::views::partner_sips(conn, keys, actor, &user.id)
}

// ---- starting a SIP and consent ----

/// Starts a SIP. The caseworker's organisation calls it and the caseworker is responsible; they
/// take part in every meeting as its chair.
pub fn create_sip(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    input: &SipInput,
) -> Result<Sip, AppError> {
    let municipality = own_municipality(actor)?;
    let user = caseworker(conn, actor, &municipality, None)?.clone();
    let report_known = match input.report_id.as_deref().filter(|r| !r.is_empty()) {
        Some(report) => sips::report_in(conn, keys, report, &municipality)?,
        None => true,
    };
    let today = time::local(now()).date();
    let valid = model::validate_sip(input, today, report_known).map_err(AppError::Invalid)?;
    sips::create(conn, keys, actor, &user, &municipality, &valid)
}

/// Records the family's consent for the organisations it names.
pub fn add_consent(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    sip: &Sip,
    input: &ConsentInput,
) -> Result<Consent, AppError> {
    let user = caseworker(conn, actor, &sip.municipality_id, Some(sip.id.as_str()))?.clone();
    let organisations = model::consent_organisations(input);
    let known = consents::count_organisations(conn, &organisations)?;
    let today = time::local(now()).date();
    let valid = model::validate_consent(input, today, known == organisations.len() as i64)
        .map_err(AppError::Invalid)?;
    consents::insert(conn, keys, actor, &user.id, sip, &valid)
}

/// Withdraws a consent. Partners it alone covered lose access at once: they are removed from
/// upcoming meetings and get a cancellation; the others get an update.
pub fn withdraw_consent(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    sip: &Sip,
    consent: &ConsentId,
) -> Result<usize, AppError> {
    let user = caseworker(conn, actor, &sip.municipality_id, Some(sip.id.as_str()))?.clone();
    write_tx(conn, |conn| {
        consents::withdraw(conn, actor, &user.id, sip, consent)?;
        drop_uncovered(conn, settings, sip)
    })
}

/// Removes from upcoming meetings everyone no valid consent covers any more. Returns how many.
pub fn drop_uncovered(
    conn: &mut AnyConnection,
    settings: &Settings,
    sip: &Sip,
) -> Result<usize, AppError> {
    let uncovered = participants::uncovered(conn, &settings.keys, sip)?;
    for participant in &uncovered {
        participants::record_lapsed(conn, sip, participant)?;
        remove_from_upcoming(conn, settings, sip, participant)?;
    }
    Ok(uncovered.len())
}

/// Consents run out too: takes out of upcoming meetings, with a cancellation, everyone whose
/// organisation no longer has a valid consent. Run by the background task; returns how many.
pub fn expire_consents(conn: &mut AnyConnection, settings: &Settings) -> Result<usize, AppError> {
    let today = time::local(now()).date();
    let mut removed = 0;
    for id in consents::sips_with_expired(conn, today)? {
        let sip = sips::find(conn, &settings.keys, &id)?.ok_or(AppError::NotFound)?;
        removed += write_tx(conn, |conn| drop_uncovered(conn, settings, &sip))?;
    }
    Ok(removed)
}

// ---- participants ----

/// Adds a participant: a user of a partner organisation, or someone without an account who is a
/// member of the family, belongs to an organisation on the list or to an outside organisation a
/// consent names. Consent limits every one of them: someone no valid consent covers is refused
/// (422) with the consents that are valid named. Already booked meetings invite them at once.
pub fn add_participant(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    sip: &Sip,
    input: &ParticipantInput,
) -> Result<Participant, AppError> {
    caseworker(conn, actor, &sip.municipality_id, Some(sip.id.as_str()))?;
    let (user_id, organisation_id, name, email, of) = match input.chosen_user() {
        Some(id) => {
            let (user_id, org, name, email) = participants::active_user(conn, id)?
                .ok_or_else(|| AppError::Invalid(model::unknown_user()))?;
            (Some(user_id), Some(org), name, email, None)
        }
        None => {
            // The address as it is stored, to ask whether it has an account; the model says
            // what is wrong with it.
            let email = crate::accounts::parse_email(&mut Vec::new(), "email", &input.email);
            let has_account = participants::email_has_account(conn, &email)?;
            let (name, email, of) =
                model::validate_guest(input, has_account).map_err(AppError::Invalid)?;
            if let model::GuestOf::Organisation(org) = &of {
                if consents::count_organisations(conn, std::slice::from_ref(org))? == 0 {
                    return Err(AppError::Invalid(vec![crate::error::FieldError::new(
                        "organisation_id",
                        "Det finns ingen sådan verksamhet.",
                    )]));
                }
            }
            let organisation = match &of {
                model::GuestOf::Organisation(org) => Some(crate::ids::OrganisationId(org.clone())),
                _ => None,
            };
            (None, organisation, name, email, Some(of))
        }
    };
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
        relation: match &of {
            Some(model::GuestOf::Family(relation)) => Some(*relation),
            _ => None,
        },
        outside_organisation: match &of {
            Some(model::GuestOf::Outside(name)) => Some(name.clone()),
            _ => None,
        },
    };
    let today = time::local(now()).date();
    let with_terms = consents::consent_terms(conn, &settings.keys, &sip.id)?;
    let terms: Vec<model::ConsentTerms> = with_terms.iter().map(|(_, t)| t.clone()).collect();
    let refusal = if store::covered(sip, &candidate, &terms, today) {
        None
    } else {
        let valid: Vec<model::ConsentName> = with_terms
            .iter()
            .filter(|(_, t)| t.valid_on(today))
            .map(|(c, _)| model::ConsentName {
                given_by: c.given_by.clone(),
                given_on: c.given_on,
            })
            .collect();
        let whom = match (&of, &candidate.organisation_id) {
            (Some(model::GuestOf::Outside(name)), _) => name.clone(),
            (Some(model::GuestOf::Family(_)), _) => "familjen".to_string(),
            (_, Some(org)) => store::views::organisation_label(conn, org)?,
            (_, None) => "personen".to_string(),
        };
        let field = of.as_ref().map_or("user_id", model::GuestOf::field);
        Some(model::not_covered(field, &whom, &valid))
    };
    let already = refusal.is_none()
        && participants::active(conn, &settings.keys, &sip.id)?
            .iter()
            .any(|p| p.email.eq_ignore_ascii_case(&candidate.email));
    model::check_new_participant(refusal, already).map_err(AppError::Invalid)?;
    write_tx(conn, |conn| {
        participants::insert(conn, &settings.keys, actor, sip, &candidate)?;
        // Already booked meetings: an invitation to the newcomer, and the chair's copy updated.
        // Who takes part changed, not the meeting: same SEQUENCE.
        for meeting in meetings::upcoming(conn, &settings.keys, &sip.id)? {
            answers::invite(conn, settings, sip, &meeting, &candidate)?;
            let meeting = meetings::touch(conn, &settings.keys, &meeting.id)?;
            invitations::send(
                conn,
                settings,
                sip,
                &meeting,
                &candidate,
                Notice::Invitation,
            )?;
            if let Some((_, chair)) = answers::active_invitees(conn, &settings.keys, &meeting.id)?
                .into_iter()
                .find(|(_, p)| store::is_chair(sip, p))
            {
                invitations::send(conn, settings, sip, &meeting, &chair, Notice::Update)?;
            }
        }
        Ok(candidate)
    })
}

/// Takes a participant out of the SIP: a cancellation to them, an update to the rest.
pub fn remove_participant(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    sip: &Sip,
    participant: &ParticipantId,
) -> Result<(), AppError> {
    caseworker(conn, actor, &sip.municipality_id, Some(sip.id.as_str()))?;
    let found = participants::active(conn, &settings.keys, &sip.id)?
        .into_iter()
        .find(|p| p.id == *participant)
        .ok_or(AppError::NotFound)?;
    if found.user_id.as_ref() == Some(&sip.responsible_user_id) {
        return Err(AppError::Conflict(
            "Den ansvariga handläggaren kan inte tas bort.".into(),
        ));
    }
    write_tx(conn, |conn| {
        participants::record_removal(conn, actor, sip, &found)?;
        remove_from_upcoming(conn, settings, sip, &found)
    })
}

fn remove_from_upcoming(
    conn: &mut AnyConnection,
    settings: &Settings,
    sip: &Sip,
    participant: &Participant,
) -> Result<(), AppError> {
    let at = now();
    participants::mark_removed(conn, &participant.id, at)?;
    for meeting in meetings::upcoming(conn, &settings.keys, &sip.id)? {
        if answers::uninvite(conn, &meeting.id, &participant.id, at)? {
            // Who takes part changed, not the meeting: same SEQUENCE, so answers on their way
            // still count; a new DTSTAMP orders the update.
            let meeting = meetings::touch(conn, &settings.keys, &meeting.id)?;
            invitations::send(
                conn,
                settings,
                sip,
                &meeting,
                participant,
                Notice::Uninvited,
            )?;
            invitations::send_to_all(conn, settings, sip, &meeting, Notice::Update)?;
        }
    }
    Ok(())
}

// ---- meetings ----

/// Books a meeting and invites every participant. Needs a valid consent.
pub fn schedule_meeting(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    sip: &Sip,
    input: &MeetingInput,
) -> Result<Meeting, AppError> {
    caseworker(conn, actor, &sip.municipality_id, Some(sip.id.as_str()))?;
    let valid = model::validate_meeting(input, now()).map_err(AppError::Invalid)?;
    let today = time::local(now()).date();
    let terms = consents::terms_of(conn, &sip.id)?;
    if !terms.iter().any(|t| t.valid_on(today)) {
        return Err(AppError::Conflict(
            "Registrera familjens samtycke innan ett möte bokas.".into(),
        ));
    }
    write_tx(conn, |conn| {
        let meeting = meetings::insert(conn, settings, actor, sip, &valid)?;
        // Only those the consent covers today (a consent may have run out since the last
        // background pass).
        for participant in participants::invitable(conn, &settings.keys, sip)? {
            answers::invite(conn, settings, sip, &meeting, &participant)?;
        }
        invitations::send_to_all(conn, settings, sip, &meeting, Notice::Invitation)?;
        Ok(meeting)
    })
}

/// Moves a meeting (or changes its place): an update with SEQUENCE + 1 to everyone.
pub fn reschedule(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    id: &MeetingId,
    input: &MeetingInput,
) -> Result<Meeting, AppError> {
    let (sip, meeting) = meeting_for_caseworker(conn, &settings.keys, actor, id)?;
    let valid = model::validate_meeting(input, now()).map_err(AppError::Invalid)?;
    write_tx(conn, |conn| {
        let moved = meetings::reschedule(conn, &settings.keys, actor, &sip, &meeting, &valid)?;
        invitations::send_to_all(conn, settings, &sip, &moved, Notice::Update)?;
        Ok(moved)
    })
}

/// Cancels a meeting: `METHOD:CANCEL`, SEQUENCE + 1, to everyone.
pub fn cancel(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    id: &MeetingId,
) -> Result<(), AppError> {
    let (sip, meeting) = meeting_for_caseworker(conn, &settings.keys, actor, id)?;
    write_tx(conn, |conn| {
        let cancelled = meetings::cancel(conn, &settings.keys, actor, &meeting)?;
        invitations::send_to_all(conn, settings, &sip, &cancelled, Notice::Cancelled)
    })
}

// ---- the plan ----

/// Records the plan after a meeting as a new version; earlier versions stay.
pub fn record_plan(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    meeting: &MeetingId,
    input: &PlanInput,
) -> Result<Plan, AppError> {
    let (sip, meeting) = meeting_for_caseworker(conn, keys, actor, meeting)?;
    let user = actor.user().ok_or(AppError::Forbidden)?.clone();
    let known = plans::organisation_ids(conn)?;
    let principals = plans::lead_candidates(conn, &sip)?;
    let day = time::local(meeting.starts_at).date();
    let valid = model::validate_plan(input, day, &known, &principals).map_err(AppError::Invalid)?;
    plans::insert(conn, keys, actor, &user, &sip, &meeting, &valid)
}

/// Books the follow-up meeting on the latest plan's follow-up date, at the time, length and
/// place of the meeting the plan was made at: one step for the caseworker.
pub fn book_follow_up(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    sip: &Sip,
) -> Result<Meeting, AppError> {
    let plan = plans::plans_of(conn, &settings.keys, &sip.id)?
        .into_iter()
        .next()
        .ok_or_else(|| {
            AppError::Conflict("Det finns ingen plan med uppföljningsdatum än.".into())
        })?;
    let follow_up_start = time::to_utc(plan.follow_up_on.and_hms_opt(0, 0, 0).expect("midnight"));
    if meetings::count_booked(conn, &sip.id, Some(follow_up_start))? > 0 {
        return Err(AppError::Conflict(
            "Uppföljningsmötet är redan bokat.".into(),
        ));
    }
    let last = meetings::reload(conn, &settings.keys, &MeetingId(plan.meeting_id.clone()))?;
    let time = time::local(last.starts_at).time();
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
    schedule_meeting(conn, settings, actor, sip, &input)
}
