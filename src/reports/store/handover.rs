//! Hand-overs of a report's children to the municipality's case system (issue 21 §2).

use super::*;
use crate::db::schema::report_handovers;
use crate::reports::model::ValidHandover;

/// A child's report as handed over: the case system's number and when.
#[derive(Clone, Debug, Queryable, Selectable, Insertable, serde::Serialize, utoipa::ToSchema)]
#[diesel(table_name = report_handovers)]
pub struct Handover {
    pub child_id: String,
    pub report_id: String,
    /// The case system's registration number (diarienummer or ärendenummer).
    pub registration_number: String,
    pub handed_over_at: NaiveDateTime,
    /// Who recorded it: a user's id, or `token:<id>` for an integration.
    pub recorded_by: String,
    pub recorded_at: NaiveDateTime,
}

/// Records (or corrects) the hand-over of `child` of `report`, audited as a change of the report.
pub fn record(
    conn: &mut AnyConnection,
    actor: &AuditActor,
    report: &Report,
    child: &ChildRow,
    valid: &ValidHandover,
) -> Result<Handover, AppError> {
    let row = Handover {
        child_id: child.id.clone(),
        report_id: report.id.0.clone(),
        registration_number: valid.registration_number.clone(),
        handed_over_at: valid.handed_over_at,
        recorded_by: actor.id.clone().unwrap_or_default(),
        recorded_at: now(),
    };
    write_tx(conn, |conn| {
        let earlier = diesel::delete(report_handovers::table.find(&child.id)).execute(conn)?;
        diesel::insert_into(report_handovers::table)
            .values(&row)
            .execute(conn)?;
        Event::success(actor, "report.handover", Object::Report(report.id.as_str()))
            .detail(&format!(
                "child={}{}",
                child.position + 1,
                if earlier > 0 { " corrected" } else { "" }
            ))
            .record_in(conn, &report.municipality_id)?;
        Ok(row.clone())
    })
}

/// Every hand-over of a report's children (the report's read is audited by its reader).
pub fn of_report(conn: &mut AnyConnection, report: &ReportId) -> Result<Vec<Handover>, AppError> {
    Ok(report_handovers::table
        .filter(report_handovers::report_id.eq(report))
        .select(Handover::as_select())
        .load(conn)?)
}

/// Removes a report's hand-overs, with the report (retention).
pub fn remove_of_report(conn: &mut AnyConnection, report: &ReportId) -> Result<(), AppError> {
    diesel::delete(report_handovers::table.filter(report_handovers::report_id.eq(report)))
        .execute(conn)?;
    Ok(())
}
