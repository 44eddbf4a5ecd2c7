//! Closing an investigation (issue 19 §3): the recorded outcome, the clock stopped with its
//! lateness kept, and the investigation read as one (state, outcome, extension history).

use super::*;
use crate::db::schema::investigation_closings;
use crate::reports::model::{check_closing, days_late, ClosingInput, ClosingOutcome};

/// The recorded closing of an investigation.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = investigation_closings)]
pub struct Closing {
    pub investigation_id: InvestigationId,
    pub closed_at: NaiveDateTime,
    pub closed_by: UserId,
    pub closed_on: NaiveDate,
    pub outcome: ClosingOutcome,
    /// Which support was granted; empty for the other outcomes.
    pub support: String,
    pub reason: String,
    /// The last day as it stood when closed.
    pub due_on: NaiveDate,
    /// Days after `due_on` it was closed; 0 when in time.
    pub days_late: i32,
}
crate::sealed_row!(Closing, investigation_closings by investigation_id: [support, reason]);

/// Closes an open investigation: the clock stops (it leaves the open lists), the lateness is
/// kept. Closing one that is already closed is refused (409), checked in the transaction.
pub fn close_investigation(
    conn: &mut AnyConnection,
    keys: &Keyring,
    officer: &AuthUser,
    investigation: &Investigation,
    input: &ClosingInput,
) -> Result<Closing, AppError> {
    let today = crate::time::local(now()).date();
    let valid = check_closing(input, investigation.opened_on, today).map_err(AppError::Invalid)?;
    write_tx(conn, |conn| {
        let (closed_at, due_on): (Option<NaiveDateTime>, NaiveDate) = investigations::table
            .find(&investigation.id)
            .select((investigations::closed_at, investigations::due_on))
            .get_result(conn)?;
        if closed_at.is_some() {
            return Err(closed_already());
        }
        let row = Closing {
            investigation_id: investigation.id.clone(),
            closed_at: now(),
            closed_by: officer.id.clone(),
            closed_on: valid.closed_on,
            outcome: valid.outcome,
            support: valid.support.clone(),
            reason: valid.reason.clone(),
            due_on,
            days_late: days_late(due_on, valid.closed_on),
        };
        diesel::insert_into(investigation_closings::table)
            .values(&row.clone().seal(keys))
            .execute(conn)?;
        let updated = diesel::update(
            investigations::table
                .find(&investigation.id)
                .filter(investigations::closed_at.is_null()),
        )
        .set((
            investigations::closed_at.eq(row.closed_at),
            investigations::outcome.eq(valid.outcome.as_str()),
        ))
        .execute(conn)?;
        if updated != 1 {
            return Err(closed_already());
        }
        crate::webhooks::queue(
            conn,
            &investigation.municipality_id,
            crate::webhooks::EventType::InvestigationClosed,
            &[
                ("investigation_id", investigation.id.as_str()),
                ("report_id", investigation.report_id.as_str()),
                ("child_id", investigation.child_id.as_str()),
            ],
        )?;
        Event::success(
            &AuditActor::from(officer),
            "investigation.close",
            Object::Investigation(investigation.id.as_str()),
        )
        .detail(&format!(
            "outcome={} closed_on={} days_late={}",
            valid.outcome, valid.closed_on, row.days_late
        ))
        .record(conn)?;
        Ok(row)
    })
}

/// The answer when an investigation is closed already: it can be read, not changed.
pub fn closed_already() -> AppError {
    AppError::Conflict("Utredningen är avslutad och kan inte ändras.".into())
}

/// An investigation as read on its own: which report and child, its clock, every extension and
/// its closing.
#[derive(Clone, Debug)]
pub struct InvestigationRecord {
    pub investigation: Investigation,
    pub reference: String,
    /// 1 for the first child of the report, …
    pub child: i32,
    pub extensions: Vec<ExtensionEntry>,
    pub closing: Option<Closing>,
}

/// Reads one investigation with its history and closing, audited as a read by `actor`.
pub fn read_investigation(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &AuditActor,
    investigation: Investigation,
) -> Result<InvestigationRecord, AppError> {
    let (reference, position): (String, i32) = reports::table
        .inner_join(report_children::table)
        .filter(reports::id.eq(&investigation.report_id))
        .filter(report_children::id.eq(&investigation.child_id))
        .select((reports::reference, report_children::position))
        .get_result(conn)?;
    let extensions = extensions_of(conn, keys, &investigation)?;
    let closing = closing_of(conn, keys, &investigation.id)?;
    Event::success(
        actor,
        "investigation.read",
        Object::Investigation(investigation.id.as_str()),
    )
    .record(conn)?;
    Ok(InvestigationRecord {
        investigation,
        reference,
        child: position + 1,
        extensions,
        closing,
    })
}

/// The closing of an investigation, if closed.
pub fn closing_of(
    conn: &mut AnyConnection,
    keys: &Keyring,
    id: &InvestigationId,
) -> Result<Option<Closing>, AppError> {
    let found: Option<Closing> = investigation_closings::table
        .find(id)
        .select(Closing::as_select())
        .first(conn)
        .optional()?;
    Ok(found.map(|c| c.open(keys)).transpose()?)
}
