//! The report as the municipality's case system takes it over (issue 21 §2): who may record a
//! hand-over and read the export — intake officers (caseworkers read too) of the report's
//! municipality and integration tokens of an organisation of social services there — and the
//! hand-over itself.

use crate::accounts::Organisation;
use crate::audit::event::Object;
use crate::authz::{authorize, not_found, Action, Actor, Resource};
use crate::crypto::Keyring;
use crate::db::{now, AnyConnection};
use crate::error::{AppError, FieldError};
use crate::reports::model::{check_handover, HandoverInput};
use crate::reports::store::handover::{self, Handover};
use crate::reports::store::{self, ChildRow, Report, ReportId};

/// Finds a report and checks that `actor` may `action` it as the case system does (see the
/// module). A report that does not exist and one the caller may not see look the same (404),
/// both audited.
pub fn case_system_access(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    id: &ReportId,
    action: Action,
) -> Result<Report, AppError> {
    let Some(report) = store::find(conn, keys, id)? else {
        return not_found(
            conn,
            actor,
            "report.access",
            Object::Report(id.as_str()),
            "no such report",
        );
    };
    let integration: Option<Organisation> = match actor {
        Actor::Integration(token) => {
            crate::accounts::find_organisation(conn, &token.organisation_id)?
        }
        Actor::User(_) => None,
    };
    authorize(
        conn,
        actor,
        action,
        Resource::CaseSystem {
            municipality: &report.municipality_id,
            integration: integration.as_ref(),
        },
        Some(id.as_str()),
    )?;
    Ok(report)
}

/// The child of `report` that `child_id` names, or its only child when none is named.
pub fn child_of(
    conn: &mut AnyConnection,
    keys: &Keyring,
    report: &Report,
    child_id: Option<&str>,
) -> Result<ChildRow, AppError> {
    let children = store::children_of(conn, keys, &report.id)?;
    let field = |message: &str| AppError::Invalid(vec![FieldError::new("child_id", message)]);
    match child_id.map(str::trim).filter(|c| !c.is_empty()) {
        Some(id) => children
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| field("Anmälan gäller inget barn med det id:t.")),
        None if children.len() == 1 => Ok(children.into_iter().next().expect("one child")),
        None => Err(field(
            "Anmälan gäller flera barn. Ange vilket barn (child_id) det gäller.",
        )),
    }
}

/// Records the hand-over of one child's report to the case system (intake officers and social
/// services' integration tokens of the report's municipality).
pub fn hand_over(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    id: &ReportId,
    input: &HandoverInput,
) -> Result<Handover, AppError> {
    let report = case_system_access(conn, keys, actor, id, Action::Update)?;
    let child = child_of(conn, keys, &report, input.child_id.as_deref())?;
    let valid = check_handover(input, report.received_at, now()).map_err(AppError::Invalid)?;
    handover::record(conn, &actor.audit_actor(), &report, &child, &valid)
}
