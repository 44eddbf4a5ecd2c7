//! The municipality's case system's side of a report (issue 21 §2): the hand-over API, and the
//! export of one child's report: everything the service knows of the child's case — the report (reporter, concern, categories, clocks,
//! safety assessment), the child with its decision and investigation, the guardians, the signed
//! journal entries, every version of the SIP plans started from the report, and the hand-over —
//! as one versioned document, `"schema": "samordna.report.v1"`, described by the JSON Schema
//! `docs/schema/samordna.report.v1.json`.
//!
//! Above the capabilities, as it gathers `reports`, `journal` and `sip`; access is the reports'
//! case-system rule ([`crate::reports::handover::case_system_access`]), and the export is
//! audited as one read (`report.export`) besides the reads it is made of.

pub mod api;

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use utoipa::ToSchema;

use crate::audit::event::{Event, Object};
use crate::authz::{Action, Actor};
use crate::config::Settings;
use crate::db::{now, AnyConnection};
use crate::error::AppError;
use crate::journal::api::EntryBody;
use crate::reports::api::{ChildBody, GuardianBody, ReportBody, ReporterBody, SafetyBody};
use crate::reports::handover::{case_system_access, child_of};
use crate::reports::model::{Category, ReporterKind};
use crate::reports::store::handover::Handover;
use crate::reports::store::{self, ReportId};
use crate::sip::store::Plan;

/// The name and version of the document's shape.
pub const SCHEMA: &str = "samordna.report.v1";

/// The legal clocks of the report.
#[derive(Serialize, ToSchema)]
pub struct ClocksBody {
    /// When the safety assessment was due (UTC).
    pub safety_assessment_due_at: NaiveDateTime,
    /// The last day for the decision whether to open an investigation.
    pub decision_due_on: NaiveDate,
}

/// The report itself, without its children and guardians (given on their own).
#[derive(Serialize, ToSchema)]
pub struct ExportedReport {
    pub id: String,
    /// The report's reference code, e.g. `OA-7K3F-Q9`.
    pub reference: String,
    pub municipality_id: String,
    pub received_at: NaiveDateTime,
    pub reporter_kind: ReporterKind,
    /// Absent for an anonymous report.
    pub reporter: Option<ReporterBody>,
    pub concern: String,
    pub categories: Vec<Category>,
    pub acute_danger: bool,
    pub acute: bool,
    pub police_informed: bool,
    pub interpreter_language: String,
    pub other_agencies: String,
    pub someone_close: BTreeMap<String, String>,
    pub violence_rule_applies: bool,
    pub clocks: ClocksBody,
    pub safety_assessment: Option<SafetyBody>,
    /// How many children of the report there are (this document is about one of them).
    pub children_in_report: usize,
}

/// A SIP started from the report, with every version of its plan, oldest first.
#[derive(Serialize, ToSchema)]
pub struct ExportedSip {
    pub id: String,
    pub reference: String,
    pub created_at: NaiveDateTime,
    pub plans: Vec<Plan>,
}

/// One child's report as the case system takes it over.
#[derive(Serialize, ToSchema)]
pub struct ReportExport {
    /// Always `samordna.report.v1`.
    #[schema(example = "samordna.report.v1")]
    pub schema: String,
    pub exported_at: NaiveDateTime,
    pub report: ExportedReport,
    /// The child, with its decision and investigation (extensions, closing time).
    pub child: ChildBody,
    pub guardians: Vec<GuardianBody>,
    /// The child's signed journal entries, in the order things happened (drafts are left out).
    pub journal: Vec<EntryBody>,
    /// The SIPs started from the report for this child.
    pub sips: Vec<ExportedSip>,
    /// The hand-over to the case system, once recorded.
    pub handover: Option<Handover>,
}

/// Reads the export of one child (`child_id`, or the report's only child) of a report.
pub fn export(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    id: &ReportId,
    child_id: Option<&str>,
) -> Result<ReportExport, AppError> {
    let keys = &settings.keys;
    let report = case_system_access(conn, keys, actor, id, Action::View)?;
    let child = child_of(conn, keys, &report, child_id)?;
    let audit_actor = actor.audit_actor();
    let detail = store::read_detail(conn, keys, report, &audit_actor)?;
    let children_in_report = detail.children.len();
    let body = ReportBody::from(detail);
    let journal: Vec<EntryBody> = crate::journal::api::JournalBody::from(
        crate::journal::store::of_child(conn, keys, &audit_actor, id, &child.id)?,
    )
    .entries
    .into_iter()
    .filter(|e| e.signed_at.is_some())
    .collect();
    let sips = crate::sip::store::plans::plans_of_report(conn, keys, id.as_str())?
        .into_iter()
        .filter(|(sip, _)| {
            crate::sip::store::children::is_about(sip, &child, children_in_report == 1)
        })
        .map(|(sip, plans)| ExportedSip {
            id: sip.id.0,
            reference: sip.reference,
            created_at: sip.created_at,
            plans,
        })
        .collect();
    let handover = store::handover::of_report(conn, id)?
        .into_iter()
        .find(|h| h.child_id == child.id);
    let ReportBody {
        id: report_id,
        reference,
        municipality_id,
        received_at,
        reporter_kind,
        reporter,
        children,
        guardians,
        concern,
        categories,
        acute_danger,
        acute,
        police_informed,
        interpreter_language,
        other_agencies,
        safety_assessment_due_at,
        decision_due_on,
        safety_assessment,
        someone_close,
        violence_rule_applies,
        ..
    } = body;
    let child_body = children
        .into_iter()
        .find(|c| c.id == child.id)
        .ok_or_else(|| AppError::internal("the child read is not in the report"))?;
    Event::success(&audit_actor, "report.export", Object::Report(id.as_str()))
        .detail(&format!("child={}", child.position + 1))
        .record_in(conn, &municipality_of(&municipality_id))?;
    Ok(ReportExport {
        schema: SCHEMA.into(),
        exported_at: now(),
        report: ExportedReport {
            id: report_id,
            reference,
            municipality_id,
            received_at,
            reporter_kind,
            reporter,
            concern,
            categories,
            acute_danger,
            acute,
            police_informed,
            interpreter_language,
            other_agencies,
            someone_close,
            violence_rule_applies,
            clocks: ClocksBody {
                safety_assessment_due_at,
                decision_due_on,
            },
            safety_assessment,
            children_in_report,
        },
        child: child_body,
        guardians,
        journal,
        sips,
        handover,
    })
}

fn municipality_of(id: &str) -> crate::accounts::MunicipalityId {
    crate::accounts::MunicipalityId(id.to_string())
}
