//! The journal of a child's case (dokumentation): dated entries of what was done — a
//! conversation with the child, a home visit, a phone call, an analysis — written by intake
//! officers during the förhandsbedömning and by caseworkers during the investigation. An entry is
//! a draft until its author signs it; once signed it is never changed. A mistake is corrected by
//! a new entry that names the one it corrects. Text and participants are sealed at rest.
//!
//! Who may do what ([`crate::authz::Resource::Journal`]): intake officers and caseworkers of the
//! report's municipality read; the writer of the current phase writes and corrects; only the
//! author signs. Anyone else is told the case does not exist (404), and that is audited.

pub mod api;
pub mod model;
pub mod store;
pub mod web;

use diesel::prelude::*;

use crate::accounts::MunicipalityId;
use crate::audit::event::{Event, Object};
use crate::authz::{authorize, policy, Action, Actor, Resource};
use crate::config::Settings;
use crate::db::schema::{investigations, report_children, report_decisions};
use crate::db::{now, AnyConnection};
use crate::error::AppError;
use crate::reports::store::{InvestigationId, ReportId};
use model::EntryInput;
use store::{Case, Entry, EntryId};

/// The investigation of a child, if one was opened (the latest).
pub fn investigation_of(
    conn: &mut AnyConnection,
    child_id: &str,
) -> Result<Option<InvestigationId>, AppError> {
    Ok(investigations::table
        .filter(investigations::child_id.eq(child_id))
        .order(investigations::opened_on.desc())
        .select(investigations::id)
        .load::<InvestigationId>(conn)?
        .into_iter()
        .next())
}

fn authorize_case(
    conn: &mut AnyConnection,
    actor: &Actor,
    action: Action,
    municipality: &MunicipalityId,
    investigating: bool,
    object_id: &str,
) -> Result<(), AppError> {
    authorize(
        conn,
        actor,
        action,
        Resource::Journal {
            municipality,
            investigating,
        },
        Some(object_id),
    )
}

/// The case of a child of a report, for its journal before (and after) the decision. Writing
/// through it is for the förhandsbedömning only: once the child is decided, 409.
pub fn report_case(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    report_id: &ReportId,
    child_id: &str,
    action: Action,
) -> Result<Case, AppError> {
    let report = crate::reports::store::find(conn, &settings.keys, report_id)?;
    let child_known = report_children::table
        .filter(report_children::id.eq(child_id))
        .filter(report_children::report_id.eq(report_id))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    let Some(report) = report.filter(|_| child_known) else {
        Event::denied(
            &actor.audit_actor(),
            "journal.access",
            Object::Report(report_id.as_str()),
        )
        .detail("no such report or child")
        .record(conn)?;
        return Err(AppError::NotFound);
    };
    let investigation_id = investigation_of(conn, child_id)?;
    authorize_case(
        conn,
        actor,
        Action::View,
        &report.municipality_id,
        investigation_id.is_some(),
        report_id.as_str(),
    )?;
    if action != Action::View {
        if decided(conn, child_id)? {
            return Err(AppError::Conflict(match investigation_id {
                Some(_) => "Barnet har en utredning. Skriv i utredningens journal.".into(),
                None => "Förhandsbedömningen är avslutad för barnet.".into(),
            }));
        }
        authorize_case(
            conn,
            actor,
            action,
            &report.municipality_id,
            false,
            report_id.as_str(),
        )?;
    }
    Ok(Case {
        municipality_id: report.municipality_id,
        report_id: report_id.clone(),
        child_id: child_id.to_string(),
        investigation_id,
    })
}

/// The case of a child's investigation.
pub fn investigation_case(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    id: &InvestigationId,
    action: Action,
) -> Result<Case, AppError> {
    let investigation = crate::reports::store::find_investigation(conn, &settings.keys, id)?;
    let nowhere = MunicipalityId(String::new());
    let municipality = investigation
        .as_ref()
        .map_or(&nowhere, |i| &i.municipality_id);
    authorize_case(conn, actor, action, municipality, true, id.as_str())?;
    let investigation = investigation.ok_or(AppError::NotFound)?;
    Ok(Case {
        municipality_id: investigation.municipality_id,
        report_id: investigation.report_id,
        child_id: investigation.child_id,
        investigation_id: Some(investigation.id),
    })
}

/// The case an entry belongs to, now, after checking `action` on it; 404 (audited) for an entry
/// that does not exist or is not the actor's to see.
fn entry_case(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    id: &EntryId,
    action: Action,
) -> Result<(Entry, Case), AppError> {
    let entry = store::find(conn, &settings.keys, id)?;
    let nowhere = MunicipalityId(String::new());
    let municipality = entry.as_ref().map_or(&nowhere, |e| &e.municipality_id);
    let investigation_id = match &entry {
        Some(e) => investigation_of(conn, &e.child_id)?,
        None => None,
    };
    // Seen at all? Hidden (404) otherwise, before anything about the entry is told.
    authorize_case(
        conn,
        actor,
        Action::View,
        municipality,
        investigation_id.is_some(),
        id.as_str(),
    )?;
    let entry = entry.ok_or(AppError::NotFound)?;
    if action != Action::View {
        authorize_case(
            conn,
            actor,
            action,
            &entry.municipality_id,
            investigation_id.is_some(),
            id.as_str(),
        )?;
    }
    let case = Case {
        municipality_id: entry.municipality_id.clone(),
        report_id: entry.report_id.clone(),
        child_id: entry.child_id.clone(),
        investigation_id,
    };
    Ok((entry, case))
}

/// Whether the child of a report is decided (its förhandsbedömning over).
fn decided(conn: &mut AnyConnection, child_id: &str) -> Result<bool, AppError> {
    Ok(report_decisions::table
        .find(child_id)
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// Whether `actor` may write in `case` now, for showing the forms (each write is checked again).
/// Through the report (`through_report`), only while the child is undecided.
pub fn may_write(
    conn: &mut AnyConnection,
    actor: &Actor,
    case: &Case,
    through_report: bool,
) -> Result<bool, AppError> {
    if through_report && decided(conn, &case.child_id)? {
        return Ok(false);
    }
    let resource = Resource::Journal {
        municipality: &case.municipality_id,
        investigating: !through_report && case.investigation_id.is_some(),
    };
    Ok(policy::decide(actor, Action::Create, &resource).is_ok())
}

/// The journal of a case, in the order things happened, audited.
pub fn entries(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    case: &Case,
) -> Result<Vec<Entry>, AppError> {
    store::of_child(
        conn,
        &settings.keys,
        &actor.audit_actor(),
        &case.report_id,
        &case.child_id,
    )
}

/// Writes a draft entry in a case whose write access was checked ([`report_case`] or
/// [`investigation_case`] with `Action::Create`).
pub fn write(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    case: &Case,
    input: &EntryInput,
) -> Result<Entry, AppError> {
    let author = actor.user().ok_or(AppError::Forbidden)?;
    let valid = model::validate(input, crate::time::local(now())).map_err(AppError::Invalid)?;
    store::create(conn, &settings.keys, author, case, &valid, None)
}

/// Signs a draft: its author only (403 for the others who may read it), once (409).
pub fn sign(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    id: &EntryId,
) -> Result<Entry, AppError> {
    let (entry, _) = entry_case(conn, settings, actor, id, Action::View)?;
    let author = actor.user().ok_or(AppError::Forbidden)?;
    if entry.author_id != author.id {
        Event::denied(
            &actor.audit_actor(),
            "journal.sign",
            Object::JournalEntry(id.as_str()),
        )
        .detail("not the author")
        .record(conn)?;
        return Err(AppError::Forbidden);
    }
    if entry.signed_at.is_some() {
        return Err(store::already_signed());
    }
    store::sign(conn, &settings.keys, author, id)
}

/// Corrects an entry (signed or not: neither is ever changed) with a new draft that names it; by
/// whoever may write in the case now.
pub fn correct(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    id: &EntryId,
    input: &EntryInput,
) -> Result<Entry, AppError> {
    let (entry, case) = entry_case(conn, settings, actor, id, Action::Create)?;
    let author = actor.user().ok_or(AppError::Forbidden)?;
    let valid = model::validate(input, crate::time::local(now())).map_err(AppError::Invalid)?;
    store::create(conn, &settings.keys, author, &case, &valid, Some(&entry.id))
}
