//! Reports in the database: filing, the intake queue, the officer's records, investigations and
//! what a reporter may see. Callers check access with [`crate::authz`] first; every function
//! that reads or changes a child's data writes the audit entry itself, in the same transaction.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::accounts::{AuthUser, MunicipalityId, UserId};
use crate::audit::event::{Event, Object};
use crate::audit::AuditActor;
use crate::config::Settings;
use crate::crypto::rows::SealedRow;
use crate::crypto::Keyring;
use crate::db::schema::{
    intake_queue, investigation_extensions, investigations, municipalities, report_children,
    report_decisions, report_feedback, report_guardians, report_reporters, reports,
    safety_assessments,
};
use crate::db::{now, write_tx, AnyConnection};
use crate::error::{AppError, FieldError};
use crate::mail::{self, Email};
use crate::reports::deadlines;
use crate::reports::model::{
    alert_recipient, check_child_decision, is_acute, Category, ChildCase, ChildDecisionInput,
    Decision, ReporterKind, SomeoneClose, ValidReport,
};
use crate::string_id;
use crate::time::OfficeHours;

mod assignments;
mod closing;
mod contacts;
mod decisions;
mod detail;
pub mod handover;
mod queue;
mod records;
pub mod rollup;
pub use assignments::*;
pub use closing::*;
pub use contacts::*;
pub use decisions::*;
pub use detail::*;
pub use queue::*;
pub use records::*;

string_id!(ReportId);
string_id!(InvestigationId);

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = reports)]
pub struct Report {
    pub id: ReportId,
    pub reference: String,
    pub municipality_id: MunicipalityId,
    pub received_at: NaiveDateTime,
    pub reporter_kind: ReporterKind,
    pub reporter_user_id: Option<UserId>,
    pub concern: String,
    /// Comma-separated category codes.
    pub categories: String,
    pub acute_danger: bool,
    pub police_informed: bool,
    pub interpreter_language: String,
    pub other_agencies: String,
    pub safety_due_at: NaiveDateTime,
    pub decision_due_on: NaiveDate,
    /// Acute ([`crate::reports::model::is_acute`] when it was filed): first in the queue until
    /// its safety assessment, which is due within hours, and an alert mailed at once.
    pub acute: bool,
    /// The someone-close answers ([`SomeoneClose::to_stored`]).
    pub someone_close: String,
}
crate::sealed_row!(Report, reports by id: [concern, interpreter_language, other_agencies]);

impl Report {
    pub fn categories(&self) -> Vec<Category> {
        self.categories
            .split(',')
            .filter_map(|c| c.parse().ok())
            .collect()
    }

    pub fn someone_close(&self) -> SomeoneClose {
        SomeoneClose::from_stored(&self.someone_close)
    }

    /// Whether the violence rule applies ([`crate::reports::model::violence_rule_applies`]).
    pub fn violence_rule_applies(&self) -> bool {
        crate::reports::model::violence_rule_applies(&self.categories(), &self.someone_close())
    }
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = report_reporters)]
pub struct Reporter {
    pub report_id: ReportId,
    pub name: String,
    pub title: String,
    pub organisation: String,
    pub phone: String,
    pub email: String,
}
crate::sealed_row!(Reporter, report_reporters by report_id: [name, title, organisation, phone, email]);

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = report_children)]
pub struct ChildRow {
    pub id: String,
    pub report_id: ReportId,
    pub position: i32,
    pub personal_number: Option<String>,
    pub name: String,
    pub birth_date: Option<NaiveDate>,
    pub address: String,
    pub school: String,
    pub child_told: bool,
    pub not_told_reason: String,
    /// The blind index of `personal_number` ([`Keyring::blind_index`]), set when sealed.
    pub personal_number_index: Option<String>,
    /// For a sibling the officer added (not named by the reporter): when, and by whom.
    pub added_at: Option<NaiveDateTime>,
    pub added_by: Option<UserId>,
}
crate::sealed_row!(
    ChildRow,
    report_children by id: [personal_number, name, address, school, not_told_reason],
    index personal_number_index of personal_number
);

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = report_guardians)]
pub struct GuardianRow {
    pub id: String,
    pub report_id: ReportId,
    pub position: i32,
    pub name: String,
    pub phone: String,
    pub guardian_told: bool,
    pub not_told_reason: String,
}
crate::sealed_row!(GuardianRow, report_guardians by id: [name, phone, not_told_reason]);

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = safety_assessments)]
pub struct SafetyAssessment {
    pub report_id: ReportId,
    pub assessed_at: NaiveDateTime,
    pub assessed_by: UserId,
    pub protection_needed: bool,
    pub notes: String,
}
crate::sealed_row!(SafetyAssessment, safety_assessments by report_id: [notes]);

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = report_decisions)]
pub struct DecisionRecord {
    /// The child the decision is about: each child in a report is its own case.
    pub child_id: String,
    pub report_id: ReportId,
    pub decided_at: NaiveDateTime,
    pub decided_by: UserId,
    pub decision: Decision,
    pub reason: String,
    pub late_reason: String,
    pub siblings_note: String,
    /// For `join`: the investigation under way that the report was joined to.
    pub joined_investigation_id: Option<InvestigationId>,
}
crate::sealed_row!(DecisionRecord, report_decisions by child_id: [reason, late_reason, siblings_note]);

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = investigations)]
pub struct Investigation {
    pub id: InvestigationId,
    pub report_id: ReportId,
    pub municipality_id: MunicipalityId,
    pub opened_on: NaiveDate,
    pub due_on: NaiveDate,
    /// The one extension recorded before every extension got its own row
    /// ([`Extension`]); never written since. Read as the first of [`Investigation::history`].
    pub extended_at: Option<NaiveDateTime>,
    pub extended_by: Option<UserId>,
    pub extension_reason: Option<String>,
    /// The child whose investigation it is.
    pub child_id: String,
    /// Room for closing an investigation with its outcome (a later issue); `None` while it runs.
    pub closed_at: Option<NaiveDateTime>,
    pub outcome: Option<String>,
}
crate::sealed_row!(Investigation, investigations by id: [extension_reason]);

/// One recorded extension of an investigation's clock.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = investigation_extensions)]
pub struct Extension {
    pub id: String,
    pub investigation_id: InvestigationId,
    pub extended_at: NaiveDateTime,
    pub extended_by: UserId,
    pub previous_due_on: NaiveDate,
    pub due_on: NaiveDate,
    pub reason: String,
}
crate::sealed_row!(Extension, investigation_extensions by id: [reason]);

/// One extension as shown: when, who decided, the last day before (unknown only for the one
/// recorded before the history was kept) and after, and the special reasons.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ExtensionEntry {
    pub extended_at: NaiveDateTime,
    /// The user id of the caseworker who decided.
    pub extended_by: String,
    pub previous_due_on: Option<NaiveDate>,
    pub due_on: NaiveDate,
    pub reason: String,
}

impl Investigation {
    /// Every extension, oldest first: the one recorded before the history was kept (from this
    /// row), then `recorded` (this investigation's rows of `investigation_extensions`, oldest
    /// first).
    pub fn history(&self, recorded: &[Extension]) -> Vec<ExtensionEntry> {
        let legacy = self.extended_at.map(|at| ExtensionEntry {
            extended_at: at,
            extended_by: self
                .extended_by
                .as_ref()
                .map(|u| u.0.clone())
                .unwrap_or_default(),
            previous_due_on: None,
            due_on: recorded.first().map_or(self.due_on, |e| e.previous_due_on),
            reason: self.extension_reason.clone().unwrap_or_default(),
        });
        legacy
            .into_iter()
            .chain(recorded.iter().map(|e| ExtensionEntry {
                extended_at: e.extended_at,
                extended_by: e.extended_by.0.clone(),
                previous_due_on: Some(e.previous_due_on),
                due_on: e.due_on,
                reason: e.reason.clone(),
            }))
            .collect()
    }

    /// Still running: not closed.
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }
}

/// Who is filing.
pub enum Filer<'a> {
    /// A logged-in professional: always named, from the account.
    Professional(&'a AuthUser),
    /// A private person, named or anonymous as the report says.
    Public,
}

/// What the sender learns at once: the reference and the clocks.
#[derive(Clone, Debug)]
pub struct Filed {
    pub id: ReportId,
    pub reference: String,
    pub received_at: NaiveDateTime,
    pub safety_due_at: NaiveDateTime,
    pub decision_due_on: NaiveDate,
    pub municipality_name: String,
    pub municipality_phone: String,
    /// An acute report ([`crate::reports::model::is_acute`]).
    pub acute: bool,
    /// Filed outside the municipality's office hours: socialjour is responsible.
    pub out_of_hours: bool,
    /// The municipality's socialjour number (empty if not set).
    pub socialjour_phone: String,
}

/// A reference code like `OA-7K3F-Q9`, from letters and digits that cannot be confused.
pub fn new_reference() -> String {
    crate::ids::reference("OA", &[4, 2])
}

/// Stores a checked report with its children, guardians and (unless anonymous) its sender, all in
/// one transaction with its audit entry. An anonymous sender leaves no trace: no row, no address,
/// no user agent. An acute report's content-free alert is queued in the same transaction: to the
/// municipality's intake in its office hours, to its socialjour outside them.
pub fn file(
    conn: &mut AnyConnection,
    settings: &Settings,
    report: &ValidReport,
    filer: Filer<'_>,
) -> Result<Filed, AppError> {
    let keys = &settings.keys;
    write_tx(conn, |conn| {
        let municipality_id = MunicipalityId(report.municipality_id.clone());
        let municipality: Option<(String, String, IntakeContacts)> = municipalities::table
            .find(&municipality_id)
            .select((
                municipalities::name,
                municipalities::phone,
                IntakeContacts::as_select(),
            ))
            .get_result(conn)
            .optional()?;
        let Some((municipality_name, municipality_phone, contacts)) = municipality else {
            return Err(AppError::Invalid(vec![FieldError::new(
                "municipality_id",
                "Välj vilken kommun barnet bor i.",
            )]));
        };
        let received_at = now();
        let office = contacts.office_hours_or(&settings.office_hours);
        let acute = is_acute(report);
        let clocks = if acute {
            let within = chrono::TimeDelta::from_std(settings.acute_safety_within)
                .unwrap_or(chrono::TimeDelta::hours(2));
            deadlines::acute_report_clocks(received_at, &office, within)
        } else {
            deadlines::report_clocks(received_at, &office)
        };
        let in_office_hours = deadlines::in_office_hours(received_at, &office);
        let mut reference = new_reference();
        while reports::table
            .filter(reports::reference.eq(&reference))
            .count()
            .get_result::<i64>(conn)?
            > 0
        {
            reference = new_reference();
        }
        let (kind, user_id, reporter) = match (&filer, &report.private_reporter) {
            (Filer::Professional(user), _) => (
                ReporterKind::Professional,
                Some(user.id.clone()),
                Some((
                    user.name.clone(),
                    user.title.clone(),
                    user.organisation.name.clone(),
                    user.phone.clone(),
                    user.email.clone(),
                )),
            ),
            (Filer::Public, Some(p)) => (
                ReporterKind::Private,
                None,
                Some((
                    p.name.clone(),
                    String::new(),
                    String::new(),
                    p.phone.clone(),
                    p.email.clone(),
                )),
            ),
            (Filer::Public, None) => (ReporterKind::Anonymous, None, None),
        };
        let id = ReportId::generate();
        diesel::insert_into(reports::table)
            .values(
                &Report {
                    id: id.clone(),
                    reference: reference.clone(),
                    municipality_id: municipality_id.clone(),
                    received_at,
                    reporter_kind: kind,
                    reporter_user_id: user_id,
                    concern: report.concern.clone(),
                    categories: report
                        .categories
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                    acute_danger: report.acute_danger,
                    police_informed: report.police_informed,
                    interpreter_language: report.interpreter_language.clone(),
                    other_agencies: report.other_agencies.clone(),
                    safety_due_at: clocks.safety_due,
                    decision_due_on: clocks.decision_due,
                    acute,
                    someone_close: report.someone_close.to_stored(),
                }
                .seal(keys),
            )
            .execute(conn)?;
        if let Some((name, title, organisation, phone, email)) = reporter {
            diesel::insert_into(report_reporters::table)
                .values(
                    &Reporter {
                        report_id: id.clone(),
                        name,
                        title,
                        organisation,
                        phone,
                        email,
                    }
                    .seal(keys),
                )
                .execute(conn)?;
        }
        // One statement per table, not one per child or guardian: each is a round trip on
        // PostgreSQL.
        let children: Vec<ChildRow> = report
            .children
            .iter()
            .enumerate()
            .map(|(i, child)| {
                ChildRow {
                    id: uuid::Uuid::new_v4().to_string(),
                    report_id: id.clone(),
                    position: i as i32,
                    personal_number: child
                        .personal_number
                        .as_ref()
                        .map(crate::personnummer::PersonalNumber::canonical),
                    name: child.name.clone(),
                    birth_date: child.birth_date,
                    address: child.address.clone(),
                    school: child.school.clone(),
                    child_told: child.told,
                    not_told_reason: child.not_told_reason.clone(),
                    personal_number_index: None,
                    added_at: None,
                    added_by: None,
                }
                .seal(keys)
            })
            .collect();
        crate::insert_rows!(&mut *conn, report_children::table, &children);
        let guardians: Vec<GuardianRow> = report
            .guardians
            .iter()
            .enumerate()
            .map(|(i, g)| {
                GuardianRow {
                    id: uuid::Uuid::new_v4().to_string(),
                    report_id: id.clone(),
                    position: i as i32,
                    name: g.name.clone(),
                    phone: g.phone.clone(),
                    guardian_told: g.told,
                    not_told_reason: g.not_told_reason.clone(),
                }
                .seal(keys)
            })
            .collect();
        crate::insert_rows!(&mut *conn, report_guardians::table, &guardians);
        diesel::insert_into(intake_queue::table)
            .values((
                intake_queue::report_id.eq(&id),
                intake_queue::municipality_id.eq(&municipality_id),
                intake_queue::due_at.eq(next_due(clocks.safety_due, clocks.decision_due, false)),
                intake_queue::received_at.eq(received_at),
                intake_queue::acute.eq(acute),
            ))
            .execute(conn)?;
        crate::reports::store::rollup::received(conn, id.as_str())?;
        let alerted = if acute {
            acute_alert(
                conn,
                settings,
                &municipality_id,
                &id,
                &reference,
                &contacts,
                in_office_hours,
            )?
        } else {
            ""
        };
        let actor = match filer {
            Filer::Professional(user) => AuditActor::from(user),
            Filer::Public => AuditActor::anonymous(),
        };
        crate::webhooks::queue(
            conn,
            &municipality_id,
            crate::webhooks::EventType::ReportReceived,
            &[("report_id", id.as_str())],
        )?;
        // Last, just before the commit: the audit head's lock is held from here on.
        Event::success(&actor, "report.create", Object::Report(id.as_str()))
            .detail(&format!(
                "children={} kind={}{}{alerted}",
                report.children.len(),
                kind.as_str(),
                if acute { " acute alert=" } else { "" },
            ))
            .record_in(conn, &municipality_id)?;
        Ok(Filed {
            id,
            reference,
            received_at,
            safety_due_at: clocks.safety_due,
            decision_due_on: clocks.decision_due,
            municipality_name,
            municipality_phone,
            acute,
            out_of_hours: !in_office_hours,
            socialjour_phone: contacts.socialjour_phone,
        })
    })
}

/// Queues the alert of an acute report (in the filing's transaction) and says to whom, for the
/// audit entry: `intake`, `socialjour`, or `none` when the municipality has no usable address, which
/// is also logged as a warning (by the municipality's id only) for the operator to set one.
fn acute_alert(
    conn: &mut AnyConnection,
    settings: &Settings,
    municipality: &MunicipalityId,
    id: &ReportId,
    reference: &str,
    contacts: &IntakeContacts,
    in_office_hours: bool,
) -> Result<&'static str, AppError> {
    let to = alert_recipient(
        in_office_hours,
        &contacts.intake_alert_email,
        &contacts.socialjour_alert_email,
    )
    .and_then(|(who, address)| {
        let name = match who {
            crate::reports::model::AlertTo::Intake => "Mottagningen",
            crate::reports::model::AlertTo::Socialjour => "Socialjouren",
        };
        mail::recipient(name, address).ok().map(|to| (who, to))
    });
    let Some((who, to)) = to else {
        tracing::warn!(
            municipality = %municipality,
            "an acute report came in but the municipality has no usable alert address; set one with `samordna municipality set`"
        );
        return Ok("none");
    };
    let email = Email {
        to,
        subject: format!("Akut anmälan {reference}"),
        text: format!(
            "En akut anmälan har kommit in, ref {reference}; logga in:\n{}\n\n\
             Av sekretesskäl står ingenting om anmälan i det här meddelandet.\n\
             Meddelandet skickades automatiskt. Svara inte på det.\n",
            settings.link(&format!("/anmalningar/{id}")),
        ),
        html: None,
        calendar: None,
    };
    mail::enqueue(conn, &email, municipality, settings)?;
    Ok(who.as_str())
}

/// The bare report, for access checks before anything else is read.
pub fn find(
    conn: &mut AnyConnection,
    keys: &Keyring,
    id: &ReportId,
) -> Result<Option<Report>, AppError> {
    let report: Option<Report> = reports::table
        .find(id)
        .select(Report::as_select())
        .first(conn)
        .optional()?;
    Ok(report.map(|r| r.open(keys)).transpose()?)
}

#[cfg(test)]
mod tests;
