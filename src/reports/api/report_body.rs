//! A report in full as the API gives it to social services: each child as its own case.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use utoipa::ToSchema;

use crate::reports::model::{Category, Decision, ReporterKind};
use crate::reports::store::{Closing, DecisionRecord, ExtensionEntry, Investigation, ReportDetail};

#[derive(Serialize, ToSchema)]
pub struct ReporterBody {
    pub name: String,
    pub title: String,
    pub organisation: String,
    pub phone: String,
    pub email: String,
}

/// A child of the report, as its own case.
#[derive(Serialize, ToSchema)]
pub struct ChildBody {
    /// The child's id, for its decision (`child_id`).
    pub id: String,
    /// Added by social services (a sibling the report did not name).
    pub added_by_social_services: bool,
    pub personal_number: Option<String>,
    pub name: String,
    pub birth_date: Option<NaiveDate>,
    pub address: String,
    pub school: String,
    pub told: bool,
    pub not_told_reason: String,
    /// The decision for this child; absent while it waits.
    pub decision: Option<DecisionBody>,
    /// The child's investigation, if one was opened from this report.
    pub investigation: Option<InvestigationBody>,
    /// An investigation already under way for the child (what `join` joins).
    pub investigation_under_way: Option<UnderWayBody>,
    /// Other reports in the municipality about this child (same personnummer), newest first,
    /// each with this child's decision in it.
    pub earlier_reports: Vec<EarlierReport>,
}

#[derive(Serialize, ToSchema)]
pub struct UnderWayBody {
    pub investigation_id: String,
    pub report_reference: String,
}

#[derive(Serialize, ToSchema)]
pub struct GuardianBody {
    pub name: String,
    pub phone: String,
    pub told: bool,
    pub not_told_reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct SafetyBody {
    pub assessed_at: NaiveDateTime,
    pub protection_needed: bool,
    pub notes: String,
}

/// One child's decision.
#[derive(Serialize, ToSchema)]
pub struct DecisionBody {
    pub child_id: String,
    pub decided_at: NaiveDateTime,
    pub decision: Decision,
    pub reason: String,
    pub late_reason: String,
    pub siblings_note: String,
    /// For `join`: the investigation under way the report was joined to.
    pub joined_investigation_id: Option<String>,
}

impl From<DecisionRecord> for DecisionBody {
    fn from(x: DecisionRecord) -> Self {
        DecisionBody {
            child_id: x.child_id,
            decided_at: x.decided_at,
            decision: x.decision,
            reason: x.reason,
            late_reason: x.late_reason,
            siblings_note: x.siblings_note,
            joined_investigation_id: x.joined_investigation_id.map(|i| i.0),
        }
    }
}

/// A child's investigation and its clock.
#[derive(Serialize, ToSchema)]
pub struct InvestigationBody {
    pub id: String,
    pub opened_on: NaiveDate,
    /// The last day, with every extension.
    pub due_on: NaiveDate,
    /// Every extension, oldest first, each with its own date, reason and who decided.
    pub extensions: Vec<ExtensionEntry>,
    /// The reason of the latest extension (kept for older clients; see `extensions`).
    pub extension_reason: Option<String>,
    /// When it was closed; absent while it runs.
    pub closed_at: Option<NaiveDateTime>,
    /// `open` or `closed`.
    pub state: String,
    /// How it was closed (outcome, day, reason, lateness); `null` while it runs.
    pub closing: Option<super::ClosingBody>,
}

impl InvestigationBody {
    fn new(i: Investigation, extensions: Vec<ExtensionEntry>, closing: Option<Closing>) -> Self {
        InvestigationBody {
            state: if i.is_open() { "open" } else { "closed" }.into(),
            closing: closing.map(super::ClosingBody::from),
            id: i.id.0,
            opened_on: i.opened_on,
            due_on: i.due_on,
            extension_reason: extensions.last().map(|e| e.reason.clone()),
            extensions,
            closed_at: i.closed_at,
        }
    }
}

/// The feedback to a reporter with a duty to report (a professional), recorded with the decision.
#[derive(Serialize, ToSchema)]
pub struct FeedbackBody {
    /// The last day for it (`SAMORDNA_FEEDBACK_DAYS` after the first decision, under the rules
    /// from 2026-01-15); absent for a decision before them.
    pub due_on: Option<NaiveDate>,
    /// Whether the latest message telling the reporter has been sent.
    pub sent: bool,
    pub sent_at: Option<NaiveDateTime>,
    /// `queued`, `sending`, `sent` or `failed` (absent when no message could be queued).
    pub status: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct EarlierReport {
    pub id: String,
    pub reference: String,
    pub received_at: NaiveDateTime,
    pub outcome: Option<Decision>,
}

/// A report in full, for social services of its municipality.
#[derive(Serialize, ToSchema)]
pub struct ReportBody {
    pub id: String,
    pub reference: String,
    pub municipality_id: String,
    pub received_at: NaiveDateTime,
    pub reporter_kind: ReporterKind,
    pub reporter: Option<ReporterBody>,
    pub children: Vec<ChildBody>,
    pub guardians: Vec<GuardianBody>,
    pub concern: String,
    pub categories: Vec<Category>,
    pub acute_danger: bool,
    /// Acute: acute danger, or the violence rule applies (decided when it was filed).
    pub acute: bool,
    pub police_informed: bool,
    pub interpreter_language: String,
    pub other_agencies: String,
    pub safety_assessment_due_at: NaiveDateTime,
    pub decision_due_on: NaiveDate,
    pub safety_assessment: Option<SafetyBody>,
    /// For the categories that ask it: is the suspected person someone close to the child
    /// (`yes`, `no`, `unknown`)?
    pub someone_close: std::collections::BTreeMap<String, String>,
    /// Whether the violence rule applies: each child's decision can only be `open` or `join`.
    pub violence_rule_applies: bool,
    /// How many children still wait for their decision; the report is decided at 0.
    pub undecided: usize,
    /// For a professional reporter, once a decision is recorded: when feedback is due and whether
    /// it was sent.
    pub feedback: Option<FeedbackBody>,
}

impl From<ReportDetail> for ReportBody {
    fn from(d: ReportDetail) -> Self {
        let undecided = d.undecided();
        let r = d.report;
        ReportBody {
            categories: r.categories(),
            someone_close: r
                .someone_close()
                .0
                .into_iter()
                .map(|(c, a)| (c.as_str().to_string(), a.as_str().to_string()))
                .collect(),
            violence_rule_applies: r.violence_rule_applies(),
            undecided,
            id: r.id.0,
            reference: r.reference,
            municipality_id: r.municipality_id.0,
            received_at: r.received_at,
            reporter_kind: r.reporter_kind,
            reporter: d.reporter.map(|p| ReporterBody {
                name: p.name,
                title: p.title,
                organisation: p.organisation,
                phone: p.phone,
                email: p.email,
            }),
            children: d
                .children
                .into_iter()
                .map(|case| {
                    let c = case.child;
                    ChildBody {
                        id: c.id,
                        added_by_social_services: c.added_at.is_some(),
                        personal_number: c.personal_number,
                        name: c.name,
                        birth_date: c.birth_date,
                        address: c.address,
                        school: c.school,
                        told: c.child_told,
                        not_told_reason: c.not_told_reason,
                        decision: case.decision.map(DecisionBody::from),
                        investigation: case
                            .investigation
                            .map(|i| InvestigationBody::new(i, case.extensions, case.closing)),
                        investigation_under_way: case.under_way.map(|(id, reference)| {
                            UnderWayBody {
                                investigation_id: id.0,
                                report_reference: reference,
                            }
                        }),
                        earlier_reports: case
                            .earlier
                            .into_iter()
                            .map(|(e, outcome)| EarlierReport {
                                id: e.id.0,
                                reference: e.reference,
                                received_at: e.received_at,
                                outcome,
                            })
                            .collect(),
                    }
                })
                .collect(),
            guardians: d
                .guardians
                .into_iter()
                .map(|g| GuardianBody {
                    name: g.name,
                    phone: g.phone,
                    told: g.guardian_told,
                    not_told_reason: g.not_told_reason,
                })
                .collect(),
            concern: r.concern,
            acute_danger: r.acute_danger,
            acute: r.acute,
            police_informed: r.police_informed,
            interpreter_language: r.interpreter_language,
            other_agencies: r.other_agencies,
            safety_assessment_due_at: r.safety_due_at,
            decision_due_on: r.decision_due_on,
            safety_assessment: d.safety.map(|s| SafetyBody {
                assessed_at: s.assessed_at,
                protection_needed: s.protection_needed,
                notes: s.notes,
            }),
            feedback: d.feedback.map(|f| FeedbackBody {
                due_on: f.due_on,
                sent: f.status == Some(crate::mail::OutboxStatus::Sent),
                sent_at: f.sent_at,
                status: f.status.map(|s| s.as_str().to_string()),
            }),
        }
    }
}
