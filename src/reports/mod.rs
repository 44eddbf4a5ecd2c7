//! Reports of concern (orosanmälan): filing, the intake queue with the legal clocks, the
//! officer's records, and the outcome for the professional who filed.

pub mod api;
pub mod assignment;
pub mod deadlines;
pub mod form;
pub mod handover;
pub mod model;
pub mod retention;
pub mod store;
pub mod web;

use crate::accounts::MunicipalityId;
use crate::audit::event::Object;
use crate::authz::{authorize, not_found, policy, Action, Actor, Resource};
use crate::config::Settings;
use crate::crypto::Keyring;
use crate::db::AnyConnection;
use crate::error::{AppError, FieldError};
use crate::time;
use model::ReportInput;
use store::{Filed, Report, ReportId};

/// How much of a report the caller may see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// Social services of the report's municipality.
    Full,
    /// The professional who filed it: the outcome, never the content.
    Outcome,
}

/// Finds a report and checks what `actor` may do with it. A report that does not exist and one
/// the caller may not see look the same (404), and both are audited.
pub fn access(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    id: &ReportId,
    action: Action,
) -> Result<(Report, View), AppError> {
    let Some(report) = store::find(conn, keys, id)? else {
        return not_found(
            conn,
            actor,
            "report.access",
            Object::Report(id.as_str()),
            "no such report",
        );
    };
    let full = Resource::Report {
        municipality: &report.municipality_id,
    };
    if action == Action::View && policy::decide(actor, action, &full).is_err() {
        let outcome = Resource::ReportOutcome {
            filed_by: report.reporter_user_id.as_ref(),
        };
        authorize(conn, actor, Action::View, outcome, Some(id.as_str()))?;
        return Ok((report, View::Outcome));
    }
    authorize(conn, actor, action, full, Some(id.as_str()))?;
    Ok((report, View::Full))
}

/// Files a report for `actor` (a professional, named from their account) or, without an actor,
/// for a private person. `form_errors` are what a web form found missing before the report could
/// be checked, so that every mistake is shown at once. A public report must also be
/// `within_limit`, asked only once the report is otherwise complete. The municipality's office
/// hours (or `settings.office_hours`) set the clocks; an acute report's alert is queued with it.
pub fn file_report(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: Option<&Actor>,
    input: &ReportInput,
    mut form_errors: Vec<FieldError>,
    within_limit: impl FnOnce() -> bool,
) -> Result<Filed, AppError> {
    let user = match actor {
        Some(actor) => {
            authorize(
                conn,
                actor,
                Action::Create,
                Resource::ProfessionalReporting,
                None,
            )?;
            Some(actor.user().ok_or(AppError::Forbidden)?)
        }
        None => None,
    };
    let today = time::local(crate::db::now()).date();
    let report = match model::validate(input, user.is_some(), today) {
        Ok(report) if form_errors.is_empty() => report,
        Ok(_) => return Err(AppError::Invalid(form_errors)),
        Err(errors) => {
            form_errors.extend(errors);
            return Err(AppError::Invalid(form_errors));
        }
    };
    let filer = match user {
        Some(user) => store::Filer::Professional(user),
        None if within_limit() => store::Filer::Public,
        None => return Err(AppError::TooManyRequests),
    };
    store::file(conn, settings, &report, filer)
}

/// The intake queue of the actor's own municipality.
pub fn intake_queue_for(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    page: store::QueuePage,
) -> Result<store::Queue, AppError> {
    let municipality = own_municipality(actor)?;
    authorize(
        conn,
        actor,
        Action::View,
        Resource::IntakeQueue {
            municipality: &municipality,
        },
        None,
    )?;
    store::intake_queue(conn, &municipality, keys, &actor.audit_actor(), page)
}

/// The open investigations of the actor's own municipality, with their reports' references and
/// which child each is about.
pub fn investigations_for(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
) -> Result<Vec<store::InvestigationLine>, AppError> {
    let municipality = own_municipality(actor)?;
    authorize(
        conn,
        actor,
        Action::View,
        Resource::Investigations {
            municipality: &municipality,
        },
        None,
    )?;
    store::investigations_of(conn, keys, &municipality)
}

fn own_municipality(actor: &Actor) -> Result<MunicipalityId, AppError> {
    actor
        .user()
        .map(|u| u.organisation.municipality_id.clone())
        .ok_or(AppError::Forbidden)
}

/// Records the safety assessment of a report (intake officers of its municipality).
pub fn assess_safety(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    id: &ReportId,
    protection_needed: Option<bool>,
    notes: &str,
) -> Result<store::SafetyAssessment, AppError> {
    let (report, _) = access(conn, keys, actor, id, Action::Update)?;
    let officer = actor.user().ok_or(AppError::Forbidden)?;
    store::record_safety_assessment(conn, keys, officer, &report, protection_needed, notes)
}

/// Records decisions for the children of a report, each its own case (intake officers of its
/// municipality).
pub fn decide(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    id: &ReportId,
    input: &store::DecisionInput,
) -> Result<Vec<store::DecisionRecord>, AppError> {
    let (report, _) = access(conn, &settings.keys, actor, id, Action::Update)?;
    let officer = actor.user().ok_or(AppError::Forbidden)?;
    store::record_decisions(conn, settings, officer, &report, input)
}

/// Adds a sibling not named in the report, who then needs a decision of their own (intake
/// officers of its municipality).
pub fn add_sibling(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    id: &ReportId,
    input: &store::SiblingInput,
) -> Result<store::ChildRow, AppError> {
    let (report, _) = access(conn, keys, actor, id, Action::Update)?;
    let officer = actor.user().ok_or(AppError::Forbidden)?;
    store::add_sibling(conn, keys, officer, &report, input)
}

/// Finds an investigation and checks that `actor` may do `action` with it. One that does not
/// exist and one in another municipality look the same (404); both are audited.
pub fn investigation_access(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    id: &store::InvestigationId,
    action: Action,
) -> Result<store::Investigation, AppError> {
    let investigation = store::find_investigation(conn, keys, id)?;
    let nowhere = MunicipalityId(String::new());
    let municipality = investigation
        .as_ref()
        .map_or(&nowhere, |i| &i.municipality_id);
    authorize(
        conn,
        actor,
        action,
        Resource::Investigations { municipality },
        Some(id.as_str()),
    )
    .map_err(|_| AppError::NotFound)?;
    investigation.ok_or(AppError::NotFound)
}

/// Extends an investigation (caseworkers of its municipality); earlier extensions stay in its
/// history. One that does not exist and one in another municipality look the same (404); both
/// are audited. A closed investigation is not extended (409).
pub fn extend(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    id: &store::InvestigationId,
    input: &store::ExtensionInput,
) -> Result<(store::Investigation, store::ExtensionEntry), AppError> {
    let investigation = investigation_access(conn, keys, actor, id, Action::Update)?;
    if !investigation.is_open() {
        return Err(store::closed_already());
    }
    let officer = actor.user().ok_or(AppError::NotFound)?;
    let entry = store::extend_investigation(conn, keys, officer, &investigation, input)?;
    Ok((investigation, entry))
}

/// Closes an investigation with its outcome (caseworkers of its municipality): its clock stops,
/// its lateness is kept. Closed already: 409; another municipality or none: 404 (audited).
pub fn close_investigation(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    id: &store::InvestigationId,
    input: &model::ClosingInput,
) -> Result<store::Closing, AppError> {
    let investigation = investigation_access(conn, keys, actor, id, Action::Update)?;
    if !investigation.is_open() {
        return Err(store::closed_already());
    }
    let officer = actor.user().ok_or(AppError::NotFound)?;
    store::close_investigation(conn, keys, officer, &investigation, input)
}

/// One investigation with its state, extension history and closing (social services of its
/// municipality); the read is audited.
pub fn investigation(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    id: &store::InvestigationId,
) -> Result<store::InvestigationRecord, AppError> {
    let investigation = investigation_access(conn, keys, actor, id, Action::View)?;
    store::read_investigation(conn, keys, &actor.audit_actor(), investigation)
}
