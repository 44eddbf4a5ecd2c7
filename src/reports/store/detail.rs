//! A report in full as the intake officer sees it: each child as its own case, with its
//! decision, investigation and extensions, an investigation already under way, and the child's
//! earlier reports.

use super::*;

/// Everything about a report, as the intake officer sees it.
#[derive(Clone, Debug)]
pub struct ReportDetail {
    pub report: Report,
    pub reporter: Option<Reporter>,
    /// Each child is its own case: its decision, investigation and earlier reports.
    pub children: Vec<ChildDetail>,
    pub guardians: Vec<GuardianRow>,
    pub safety: Option<SafetyAssessment>,
    /// The feedback to a professional reporter, once a decision is recorded.
    pub feedback: Option<Feedback>,
}

impl ReportDetail {
    /// How many children still wait for a decision.
    pub fn undecided(&self) -> usize {
        self.children
            .iter()
            .filter(|c| c.decision.is_none())
            .count()
    }
}

/// One child of a report as its own case.
#[derive(Clone, Debug)]
pub struct ChildDetail {
    pub child: ChildRow,
    pub decision: Option<DecisionRecord>,
    pub investigation: Option<Investigation>,
    /// Every extension of the investigation, oldest first.
    pub extensions: Vec<ExtensionEntry>,
    /// How the investigation was closed, once it is.
    pub closing: Option<Closing>,
    /// An investigation already under way for the child in the municipality (same
    /// personnummer, opened from another report, not closed), with that report's reference:
    /// what "join" would join.
    pub under_way: Option<(InvestigationId, String)>,
    /// Other reports in the same municipality about this child (same personnummer, found through
    /// the blind index), newest first, each with this child's decision in it.
    pub earlier: Vec<(Report, Option<Decision>)>,
}

/// The blind indexes of the children's personnummer as this instance's index key gives them,
/// not as stored: a row the rotation has not reached yet is still found by the others.
fn indexes_of(children: &[ChildRow], keys: &Keyring) -> Vec<Option<String>> {
    children
        .iter()
        .map(|c| c.personal_number.as_deref().map(|n| keys.blind_index(n)))
        .collect()
}

/// The children of a report, opened, in order.
pub fn children_of(
    conn: &mut AnyConnection,
    keys: &Keyring,
    id: &ReportId,
) -> Result<Vec<ChildRow>, AppError> {
    Ok(report_children::table
        .filter(report_children::report_id.eq(id))
        .order(report_children::position)
        .select(ChildRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|c| c.open(keys))
        .collect::<Result<Vec<ChildRow>, _>>()?)
}

/// For each blind index: an investigation under way in the municipality for a child with that
/// personnummer, from another report than `report`, with that report's reference.
pub fn investigations_under_way(
    conn: &mut AnyConnection,
    report: &Report,
    indexes: &[String],
) -> Result<Vec<(String, InvestigationId, String)>, AppError> {
    if indexes.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(Option<String>, InvestigationId, String)> = investigations::table
        .inner_join(report_children::table)
        .inner_join(reports::table.on(reports::id.eq(investigations::report_id)))
        .filter(investigations::municipality_id.eq(&report.municipality_id))
        .filter(investigations::closed_at.is_null())
        .filter(investigations::report_id.ne(&report.id))
        .filter(report_children::personal_number_index.eq_any(indexes))
        .order(investigations::opened_on.desc())
        .select((
            report_children::personal_number_index,
            investigations::id,
            reports::reference,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(index, id, reference)| Some((index?, id, reference)))
        .collect())
}

/// Reads a report in full and records the read in the audit trail. A fixed number of queries,
/// whatever the number of children.
pub fn read_detail(
    conn: &mut AnyConnection,
    keys: &Keyring,
    report: Report,
    reader: &AuditActor,
) -> Result<ReportDetail, AppError> {
    let id = report.id.clone();
    let children = children_of(conn, keys, &id)?;
    let indexes = indexes_of(&children, keys);
    let numbers: Vec<String> = indexes.iter().flatten().cloned().collect();
    let earlier: Vec<(Option<String>, Report, Option<Decision>)> = if numbers.is_empty() {
        Vec::new()
    } else {
        report_children::table
            .inner_join(reports::table)
            .left_join(
                report_decisions::table.on(report_decisions::child_id.eq(report_children::id)),
            )
            .filter(reports::municipality_id.eq(&report.municipality_id))
            .filter(reports::id.ne(&id))
            .filter(report_children::personal_number_index.eq_any(&numbers))
            .order(reports::received_at.desc())
            .select((
                report_children::personal_number_index,
                Report::as_select(),
                report_decisions::decision.nullable(),
            ))
            .load::<(Option<String>, Report, Option<Decision>)>(conn)?
            .into_iter()
            .map(|(i, r, d)| Ok((i, r.open(keys)?, d)))
            .collect::<Result<_, AppError>>()?
    };
    let under_way = investigations_under_way(conn, &report, &numbers)?;
    let mut decisions: Vec<DecisionRecord> = report_decisions::table
        .filter(report_decisions::report_id.eq(&id))
        .select(DecisionRecord::as_select())
        .load(conn)?
        .into_iter()
        .map(|d| d.open(keys))
        .collect::<Result<_, _>>()?;
    let mut investigations: Vec<Investigation> = investigations::table
        .filter(investigations::report_id.eq(&id))
        .select(Investigation::as_select())
        .load(conn)?
        .into_iter()
        .map(|i| i.open(keys))
        .collect::<Result<_, _>>()?;
    let investigation_ids: Vec<InvestigationId> =
        investigations.iter().map(|i| i.id.clone()).collect();
    let extensions: Vec<Extension> = if investigation_ids.is_empty() {
        Vec::new()
    } else {
        investigation_extensions::table
            .filter(investigation_extensions::investigation_id.eq_any(&investigation_ids))
            .order(investigation_extensions::extended_at)
            .select(Extension::as_select())
            .load(conn)?
            .into_iter()
            .map(|e| e.open(keys))
            .collect::<Result<_, _>>()?
    };
    let mut closings: Vec<Closing> = if investigation_ids.is_empty() {
        Vec::new()
    } else {
        crate::db::schema::investigation_closings::table
            .filter(
                crate::db::schema::investigation_closings::investigation_id
                    .eq_any(&investigation_ids),
            )
            .select(Closing::as_select())
            .load(conn)?
            .into_iter()
            .map(|c| c.open(keys))
            .collect::<Result<_, _>>()?
    };
    let children = children
        .into_iter()
        .zip(indexes)
        .map(|(child, index)| {
            let investigation = investigations
                .iter()
                .position(|i| i.child_id == child.id)
                .map(|at| investigations.swap_remove(at));
            let extensions = investigation.as_ref().map_or_else(Vec::new, |i| {
                let own: Vec<Extension> = extensions
                    .iter()
                    .filter(|e| e.investigation_id == i.id)
                    .cloned()
                    .collect();
                i.history(&own)
            });
            let mine = |i: &Option<String>| index.is_some() && *i == index;
            let closing = investigation.as_ref().and_then(|i| {
                closings
                    .iter()
                    .position(|c| c.investigation_id == i.id)
                    .map(|at| closings.swap_remove(at))
            });
            ChildDetail {
                closing,
                decision: decisions
                    .iter()
                    .position(|d| d.child_id == child.id)
                    .map(|at| decisions.swap_remove(at)),
                investigation,
                extensions,
                under_way: under_way
                    .iter()
                    .find(|(i, _, _)| index.as_deref() == Some(i.as_str()))
                    .map(|(_, id, reference)| (id.clone(), reference.clone())),
                earlier: earlier
                    .iter()
                    .filter(|(i, _, _)| mine(i))
                    .map(|(_, r, d)| (r.clone(), *d))
                    .collect(),
                child,
            }
        })
        .collect();
    let detail = ReportDetail {
        reporter: report_reporters::table
            .find(&id)
            .select(Reporter::as_select())
            .first(conn)
            .optional()?
            .map(|r| r.open(keys))
            .transpose()?,
        guardians: report_guardians::table
            .filter(report_guardians::report_id.eq(&id))
            .order(report_guardians::position)
            .select(GuardianRow::as_select())
            .load(conn)?
            .into_iter()
            .map(|g| g.open(keys))
            .collect::<Result<_, _>>()?,
        safety: safety_assessments::table
            .find(&id)
            .select(SafetyAssessment::as_select())
            .first(conn)
            .optional()?
            .map(|s| s.open(keys))
            .transpose()?,
        feedback: feedback_of(conn, &id)?,
        children,
        report,
    };
    Event::success(reader, "report.read", Object::Report(id.as_str())).record(conn)?;
    Ok(detail)
}
