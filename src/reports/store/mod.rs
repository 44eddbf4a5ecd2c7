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
    intake_queue, investigations, municipalities, report_children, report_decisions,
    report_feedback, report_guardians, report_reporters, reports, safety_assessments,
};
use crate::db::{now, write_tx, AnyConnection};
use crate::error::{AppError, FieldError};
use crate::mail::{self, Email};
use crate::reports::deadlines;
use crate::reports::model::{
    alert_recipient, allowed_decisions, is_acute, Category, Decision, ReporterKind, ValidReport,
};
use crate::string_id;
use crate::time::OfficeHours;

mod contacts;
mod queue;
mod records;
pub use contacts::*;
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
}
crate::sealed_row!(Report, reports by id: [concern, interpreter_language, other_agencies]);

impl Report {
    pub fn categories(&self) -> Vec<Category> {
        self.categories
            .split(',')
            .filter_map(|c| c.parse().ok())
            .collect()
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
    pub report_id: ReportId,
    pub decided_at: NaiveDateTime,
    pub decided_by: UserId,
    pub decision: Decision,
    pub reason: String,
    pub late_reason: String,
    pub siblings_note: String,
}
crate::sealed_row!(DecisionRecord, report_decisions by report_id: [reason, late_reason, siblings_note]);

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = investigations)]
pub struct Investigation {
    pub id: InvestigationId,
    pub report_id: ReportId,
    pub municipality_id: MunicipalityId,
    pub opened_on: NaiveDate,
    pub due_on: NaiveDate,
    pub extended_at: Option<NaiveDateTime>,
    pub extended_by: Option<UserId>,
    pub extension_reason: Option<String>,
}
crate::sealed_row!(Investigation, investigations by id: [extension_reason]);

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

/// Everything about a report, as the intake officer sees it.
#[derive(Clone, Debug)]
pub struct ReportDetail {
    pub report: Report,
    pub reporter: Option<Reporter>,
    pub children: Vec<ChildRow>,
    pub guardians: Vec<GuardianRow>,
    pub safety: Option<SafetyAssessment>,
    pub decision: Option<DecisionRecord>,
    pub investigation: Option<Investigation>,
    /// The feedback to a professional reporter, once the decision is recorded.
    pub feedback: Option<Feedback>,
    /// Other reports in the same municipality about a child with the same personnummer, found
    /// through the blind index.
    pub earlier: Vec<(Report, Option<Decision>)>,
}

/// Reads a report in full and records the read in the audit trail.
pub fn read_detail(
    conn: &mut AnyConnection,
    keys: &Keyring,
    report: Report,
    reader: &AuditActor,
) -> Result<ReportDetail, AppError> {
    let id = report.id.clone();
    let children = report_children::table
        .filter(report_children::report_id.eq(&id))
        .order(report_children::position)
        .select(ChildRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|c| c.open(keys))
        .collect::<Result<Vec<ChildRow>, _>>()?;
    // The index as this instance's index key gives it, not as stored: a row the rotation has not
    // reached yet is still found by the others.
    let numbers: Vec<String> = children
        .iter()
        .filter_map(|c| c.personal_number.as_deref().map(|n| keys.blind_index(n)))
        .collect();
    let earlier: Vec<(Report, Option<Decision>)> = if numbers.is_empty() {
        Vec::new()
    } else {
        reports::table
            .left_join(report_decisions::table)
            .filter(reports::municipality_id.eq(&report.municipality_id))
            .filter(reports::id.ne(&id))
            .filter(
                reports::id.eq_any(
                    report_children::table
                        .filter(report_children::personal_number_index.eq_any(&numbers))
                        .select(report_children::report_id),
                ),
            )
            .order(reports::received_at.desc())
            .select((Report::as_select(), report_decisions::decision.nullable()))
            .load::<(Report, Option<Decision>)>(conn)?
            .into_iter()
            .map(|(r, d)| Ok((r.open(keys)?, d)))
            .collect::<Result<_, AppError>>()?
    };
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
        decision: report_decisions::table
            .find(&id)
            .select(DecisionRecord::as_select())
            .first(conn)
            .optional()?
            .map(|d| d.open(keys))
            .transpose()?,
        investigation: investigations::table
            .filter(investigations::report_id.eq(&id))
            .select(Investigation::as_select())
            .first(conn)
            .optional()?
            .map(|i| i.open(keys))
            .transpose()?,
        feedback: feedback_of(conn, &id)?,
        children,
        earlier,
        report,
    };
    Event::success(reader, "report.read", Object::Report(id.as_str())).record(conn)?;
    Ok(detail)
}

#[cfg(test)]
mod tests;
