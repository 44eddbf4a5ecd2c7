//! The officer's decisions, one child at a time, and a sibling added to a report.

use super::records::{feedback_email, record_feedback};
use super::*;
use crate::time;

/// What the officer decided, as typed: one decision per child.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct DecisionInput {
    /// A decision for each child decided now; children left out wait for a later decision.
    #[serde(default)]
    pub children: Vec<ChildDecisionInput>,
    /// Deprecated (the shape before decisions were per child): one decision for every child
    /// still undecided. Only read when `children` is empty.
    #[serde(default)]
    pub decision: String,
    /// Deprecated, with `decision`.
    #[serde(default)]
    pub reason: String,
    /// Deprecated, with `decision`.
    #[serde(default)]
    pub late_reason: String,
    /// Deprecated, with `decision`.
    #[serde(default)]
    pub siblings_note: String,
}

/// The children of a report with their decisions, for recording more.
fn cases(
    conn: &mut AnyConnection,
    keys: &Keyring,
    report: &Report,
) -> Result<(Vec<ChildRow>, Vec<String>), AppError> {
    let children = children_of(conn, keys, &report.id)?;
    let decided: Vec<String> = report_decisions::table
        .filter(report_decisions::report_id.eq(&report.id))
        .select(report_decisions::child_id)
        .load(conn)?;
    Ok((children, decided))
}

/// Records decisions for some or all of a report's children. Each child is its own case: the
/// violence rule (only open or join), joining an investigation under way for that child, the
/// 14-day limit. Opening starts that child's investigation clock. The report leaves the intake
/// queue when every child is decided. A professional reporter is told by email that there is
/// news, without any content, in the same transaction.
///
/// Errors: an unknown child or a mistake in a decision is 422 (naming `children[i].…`); a child
/// already decided, or a report without its safety assessment, is 409.
pub fn record_decisions(
    conn: &mut AnyConnection,
    settings: &Settings,
    officer: &AuthUser,
    report: &Report,
    input: &DecisionInput,
) -> Result<Vec<DecisionRecord>, AppError> {
    let keys = &settings.keys;
    let decided_at = now();
    let violence_rule = report.violence_rule_applies();
    let late = deadlines::decision_is_late(report.decision_due_on, decided_at);
    write_tx(conn, |conn| {
        let (children, decided) = cases(conn, keys, report)?;
        let undecided: Vec<&ChildRow> = children
            .iter()
            .filter(|c| !decided.contains(&c.id))
            .collect();
        if undecided.is_empty() {
            return Err(AppError::Conflict("Beslutet är redan fattat.".into()));
        }
        // The shape before decisions were per child: one decision for every child left.
        let legacy: Vec<ChildDecisionInput>;
        let wanted: &[ChildDecisionInput] = if input.children.is_empty() {
            legacy = undecided
                .iter()
                .map(|c| ChildDecisionInput {
                    child_id: c.id.clone(),
                    decision: input.decision.clone(),
                    reason: input.reason.clone(),
                    late_reason: input.late_reason.clone(),
                    siblings_note: input.siblings_note.clone(),
                })
                .collect();
            &legacy
        } else {
            &input.children
        };
        let indexes: Vec<String> = children
            .iter()
            .filter_map(|c| c.personal_number.as_deref().map(|n| keys.blind_index(n)))
            .collect();
        let under_way = investigations_under_way(conn, report, &indexes)?;
        let mut errors = Vec::new();
        let mut records = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for (i, wanted) in wanted.iter().enumerate() {
            let field = |name: &str| format!("children[{i}].{name}");
            let Some(child) = children.iter().find(|c| c.id == wanted.child_id.trim()) else {
                errors.push(FieldError::new(
                    field("child_id"),
                    "Barnet finns inte i anmälan.",
                ));
                continue;
            };
            if decided.contains(&child.id) {
                return Err(AppError::Conflict(format!(
                    "Beslutet om barn {} är redan fattat.",
                    child.position + 1
                )));
            }
            if seen.contains(&child.id.as_str()) {
                errors.push(FieldError::new(
                    field("child_id"),
                    "Barnet finns två gånger i beslutet.",
                ));
                continue;
            }
            seen.push(&child.id);
            let index = child
                .personal_number
                .as_deref()
                .map(|n| keys.blind_index(n));
            let case = ChildCase {
                violence_rule,
                under_way: under_way
                    .iter()
                    .find(|(i, _, _)| Some(i) == index.as_ref())
                    .map(|(_, id, _)| id.0.clone()),
                has_personal_number: index.is_some(),
                late,
            };
            match check_child_decision(wanted, &case, field) {
                Ok(checked) => records.push(DecisionRecord {
                    child_id: child.id.clone(),
                    report_id: report.id.clone(),
                    decided_at,
                    decided_by: officer.id.clone(),
                    decision: checked.decision,
                    reason: checked.reason,
                    late_reason: checked.late_reason,
                    siblings_note: checked.siblings_note,
                    joined_investigation_id: checked.joined_investigation.map(InvestigationId),
                }),
                Err(mistakes) => errors.extend(mistakes),
            }
        }
        if !errors.is_empty() {
            if input.children.is_empty() {
                // The older shape named its fields without the child: so do its errors.
                let mut plain: Vec<FieldError> = Vec::new();
                for mut e in errors {
                    if let Some((_, name)) = e.field.split_once("].") {
                        e.field = name.to_string();
                    }
                    if !plain.iter().any(|p| p.field == e.field) {
                        plain.push(e);
                    }
                }
                return Err(AppError::Invalid(plain));
            }
            return Err(AppError::Invalid(errors));
        }
        if safety_assessments::table
            .find(&report.id)
            .count()
            .get_result::<i64>(conn)?
            == 0
        {
            return Err(AppError::Conflict(
                "Dokumentera skyddsbedömningen innan beslutet.".into(),
            ));
        }
        let sealed: Vec<DecisionRecord> = records.iter().map(|r| r.clone().seal(keys)).collect();
        crate::insert_rows!(&mut *conn, report_decisions::table, &sealed);
        crate::reports::store::rollup::decided(
            conn,
            report.id.as_str(),
            records.iter().map(|r| r.child_id.as_str()),
        )?;
        let opened_on = time::local(decided_at).date();
        let opened: Vec<Investigation> = records
            .iter()
            .filter(|r| r.decision == Decision::Open)
            .map(|r| {
                Investigation {
                    id: InvestigationId::generate(),
                    report_id: report.id.clone(),
                    municipality_id: report.municipality_id.clone(),
                    opened_on,
                    due_on: deadlines::investigation_due(opened_on),
                    extended_at: None,
                    extended_by: None,
                    extension_reason: None,
                    child_id: r.child_id.clone(),
                    closed_at: None,
                    outcome: None,
                }
                .seal(keys)
            })
            .collect();
        if !opened.is_empty() {
            crate::insert_rows!(&mut *conn, investigations::table, &opened);
        }
        if records.len() == undecided.len() {
            diesel::delete(intake_queue::table.find(&report.id)).execute(conn)?;
        }
        if report.reporter_kind == ReporterKind::Professional {
            if let Some(reporter) = report_reporters::table
                .find(&report.id)
                .select(Reporter::as_select())
                .first(conn)
                .optional()?
            {
                let reporter = reporter.open(keys)?;
                let outbox_id = mail::enqueue(
                    conn,
                    &feedback_email(&report.reference, &reporter, settings)?,
                    &report.municipality_id,
                    settings,
                )?;
                record_feedback(conn, settings, &report.id, decided_at, &outbox_id)?;
            }
        }
        // One event per child decided: the export is per child (`?child_id=`), and each child
        // has a decision (and perhaps an investigation) of its own.
        for (record, investigation) in records.iter().map(|r| {
            let opened = opened.iter().find(|i| i.child_id == r.child_id);
            let joined = r.joined_investigation_id.as_ref();
            (
                r,
                opened
                    .map(|i| &i.id)
                    .or(joined)
                    .map(super::InvestigationId::as_str),
            )
        }) {
            let mut ids = vec![
                ("report_id", report.id.as_str()),
                ("child_id", record.child_id.as_str()),
            ];
            if let Some(investigation) = investigation {
                ids.push(("investigation_id", investigation));
            }
            crate::webhooks::queue(
                conn,
                &report.municipality_id,
                crate::webhooks::EventType::ReportDecided,
                &ids,
            )?;
        }
        for record in &records {
            let position = children
                .iter()
                .find(|c| c.id == record.child_id)
                .map_or(0, |c| c.position + 1);
            Event::success(
                &AuditActor::from(officer),
                "report.decision",
                Object::Report(report.id.as_str()),
            )
            .detail(&format!(
                "child={position} decision={}",
                record.decision.as_str()
            ))
            .record(conn)?;
        }
        Ok(records)
    })
}

/// A sibling as the officer types it when adding one not named in the report.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct SiblingInput {
    /// Personnummer or samordningsnummer, if known.
    #[serde(default)]
    pub personal_number: String,
    #[serde(default)]
    pub name: String,
    /// `YYYY-MM-DD`; needed when the personnummer is not known.
    #[serde(default)]
    pub birth_date: String,
}

/// Adds a sibling the report does not name, so that the child gets its own decision. The
/// report goes back to (or stays in) the intake queue until that child is decided.
pub fn add_sibling(
    conn: &mut AnyConnection,
    keys: &Keyring,
    officer: &AuthUser,
    report: &Report,
    input: &SiblingInput,
) -> Result<ChildRow, AppError> {
    let today = time::local(now()).date();
    let child = crate::reports::model::check_sibling(
        &input.personal_number,
        &input.name,
        &input.birth_date,
        today,
    )
    .map_err(AppError::Invalid)?;
    write_tx(conn, |conn| {
        let count: i64 = report_children::table
            .filter(report_children::report_id.eq(&report.id))
            .count()
            .get_result(conn)?;
        if count as usize >= 2 * crate::reports::model::MAX_CHILDREN {
            return Err(AppError::Invalid(vec![FieldError::new(
                "name",
                "Det går inte att lägga till fler barn i anmälan.",
            )]));
        }
        let position: Option<i32> = report_children::table
            .filter(report_children::report_id.eq(&report.id))
            .select(diesel::dsl::max(report_children::position))
            .get_result(conn)?;
        let row = ChildRow {
            id: uuid::Uuid::new_v4().to_string(),
            report_id: report.id.clone(),
            position: position.map_or(0, |p| p + 1),
            personal_number: child
                .personal_number
                .as_ref()
                .map(crate::personnummer::PersonalNumber::canonical),
            name: child.name.clone(),
            birth_date: child.birth_date,
            address: String::new(),
            school: String::new(),
            child_told: false,
            not_told_reason: "Syskon som lagts till av socialtjänsten.".into(),
            personal_number_index: None,
            added_at: Some(now()),
            added_by: Some(officer.id.clone()),
        };
        diesel::insert_into(report_children::table)
            .values(&row.clone().seal(keys))
            .execute(conn)?;
        let queued: i64 = intake_queue::table
            .find(&report.id)
            .count()
            .get_result(conn)?;
        if queued == 0 {
            let assessed: i64 = safety_assessments::table
                .find(&report.id)
                .count()
                .get_result(conn)?;
            diesel::insert_into(intake_queue::table)
                .values((
                    intake_queue::report_id.eq(&report.id),
                    intake_queue::municipality_id.eq(&report.municipality_id),
                    intake_queue::due_at.eq(next_due(
                        report.safety_due_at,
                        report.decision_due_on,
                        assessed > 0,
                    )),
                    intake_queue::received_at.eq(report.received_at),
                ))
                .execute(conn)?;
        }
        Event::success(
            &AuditActor::from(officer),
            "report.add_sibling",
            Object::Report(report.id.as_str()),
        )
        .detail(&format!("child={}", row.position + 1))
        .record(conn)?;
        Ok(row)
    })
}
