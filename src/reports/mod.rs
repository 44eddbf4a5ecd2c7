//! Reports of concern (orosanmälan): filing, the intake queue with the legal clocks, the
//! officer's records, and the outcome for the professional who filed.

pub mod api;
pub mod deadlines;
pub mod model;
pub mod store;
pub mod web;

use crate::audit::{self, Outcome};
use crate::authz::{authorize, policy, Action, Actor, Resource};
use crate::db::AnyConnection;
use crate::error::AppError;
use store::{Report, ReportId};

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
    actor: &Actor,
    id: &ReportId,
    action: Action,
) -> Result<(Report, View), AppError> {
    let Some(report) = store::find(conn, id)? else {
        audit::record(
            conn,
            &audit::Event {
                actor: &actor.audit_actor(),
                action: "report.access",
                object_type: "report",
                object_id: Some(id.as_str()),
                outcome: Outcome::Denied,
                detail: "no such report",
            },
        )?;
        return Err(AppError::NotFound);
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
