//! *Mina utredningar*: a caseworker's open investigations (those assigned to them) with the
//! 4-month clock, open information requests and their status, the next SIP meeting and the next
//! follow-up — what is due this week first. It gathers `reports`, `information_requests` and
//! `sip`, so it sits above them; assigning an investigation is `reports::assignment`'s.

pub mod api;
pub mod model;
pub mod store;
pub mod web;

use chrono::NaiveDate;

use crate::authz::{authorize, Action, Actor, Resource};
use crate::crypto::Keyring;
use crate::db::AnyConnection;
use crate::error::AppError;
use store::CaseLine;

/// One line of the list, with the date that comes next in it.
#[derive(Clone, Debug)]
pub struct Case {
    pub line: CaseLine,
    pub next_due: NaiveDate,
    pub due_this_week: bool,
}

/// The caseworker's own open investigations, what is due first at the top (caseworkers of
/// social services only; anyone else 403, audited).
pub fn my_investigations(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    today: NaiveDate,
) -> Result<Vec<Case>, AppError> {
    let nowhere = crate::accounts::MunicipalityId(String::new());
    let municipality = actor.municipality().unwrap_or(&nowhere).clone();
    authorize(
        conn,
        actor,
        Action::View,
        Resource::Caseload {
            municipality: &municipality,
        },
        None,
    )?;
    let user = actor.user().ok_or(AppError::Forbidden)?;
    let mut cases: Vec<Case> = store::caseload(conn, keys, user, today)?
        .into_iter()
        .map(|line| {
            let requests_due: Vec<NaiveDate> = line.requests.iter().map(|r| r.due_on).collect();
            let next_due = model::next_due(
                line.investigation.due_on,
                &requests_due,
                line.next_meeting.map(|at| crate::time::local(at).date()),
                line.follow_up_on,
            );
            Case {
                due_this_week: model::due_this_week(next_due, today),
                next_due,
                line,
            }
        })
        .collect();
    model::order(&mut cases, |c| (c.next_due, c.line.investigation.due_on));
    Ok(cases)
}
