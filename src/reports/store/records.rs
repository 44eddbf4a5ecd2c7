//! The officer's records on a report (safety assessment, decision, investigation and its
//! extension) and what a professional reporter may see of their own reports.

use super::*;
use crate::time;

/// Records the safety assessment (once).
pub fn record_safety_assessment(
    conn: &mut AnyConnection,
    report: &Report,
    officer: &AuthUser,
    protection_needed: Option<bool>,
    notes: &str,
    keys: &Keyring,
) -> Result<SafetyAssessment, AppError> {
    let Some(protection_needed) = protection_needed else {
        return Err(AppError::Invalid(vec![FieldError::new(
            "protection_needed",
            "Svara ja eller nej: behöver barnet skydd omedelbart?",
        )]));
    };
    write_tx(conn, |conn| {
        if safety_assessments::table
            .find(&report.id)
            .count()
            .get_result::<i64>(conn)?
            > 0
        {
            return Err(AppError::Conflict(
                "Skyddsbedömningen är redan dokumenterad.".into(),
            ));
        }
        let record = SafetyAssessment {
            report_id: report.id.clone(),
            assessed_at: now(),
            assessed_by: officer.id.clone(),
            protection_needed,
            notes: notes.trim().to_string(),
        };
        diesel::insert_into(safety_assessments::table)
            .values(&record.clone().seal(keys))
            .execute(conn)?;
        // The acute part is done: from now on ordered by its decision clock like any other.
        diesel::update(intake_queue::table.find(&report.id))
            .set((
                intake_queue::due_at.eq(next_due(
                    report.safety_due_at,
                    report.decision_due_on,
                    true,
                )),
                intake_queue::acute.eq(false),
            ))
            .execute(conn)?;
        Event::success(
            &AuditActor::from(officer),
            "report.safety_assessment",
            Object::Report(report.id.as_str()),
        )
        .record(conn)?;
        Ok(record)
    })
}

/// What the officer decided, as typed.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct DecisionInput {
    /// `open`, `not_open` or `join`.
    #[serde(default)]
    pub decision: String,
    #[serde(default)]
    pub reason: String,
    /// Required when the decision comes after the 14-day limit.
    #[serde(default)]
    pub late_reason: String,
    /// Required for violence by someone close: siblings in the household.
    #[serde(default)]
    pub siblings_note: String,
}

/// Records the decision. Opening starts the investigation's clock; a professional reporter is
/// told by email that there is news, without any content, in the same transaction.
pub fn record_decision(
    conn: &mut AnyConnection,
    report: &Report,
    officer: &AuthUser,
    input: &DecisionInput,
    settings: &Settings,
) -> Result<DecisionRecord, AppError> {
    let keys = &settings.keys;
    let decided_at = now();
    let categories = report.categories();
    let allowed = allowed_decisions(&categories);
    let violence = allowed == [Decision::Open];
    let mut errors = Vec::new();
    let decision = match input.decision.parse::<Decision>() {
        Ok(d) if allowed.contains(&d) => Some(d),
        Ok(_) => {
            errors.push(FieldError::new(
                "decision",
                "Anmälan gäller våld från en närstående: en utredning ska alltid inledas.",
            ));
            None
        }
        Err(_) => {
            errors.push(FieldError::new("decision", "Välj ett beslut."));
            None
        }
    };
    if input.reason.trim().is_empty() {
        errors.push(FieldError::new("reason", "Skriv skälen för beslutet."));
    }
    let late = deadlines::decision_is_late(report.decision_due_on, decided_at);
    if late && input.late_reason.trim().is_empty() {
        errors.push(FieldError::new(
            "late_reason",
            "Beslutet fattas efter 14 dagar. Skriv de synnerliga skälen till det.",
        ));
    }
    if violence && input.siblings_note.trim().is_empty() {
        errors.push(FieldError::new(
            "siblings_note",
            "Finns det syskon i hushållet? Skriv hur de bedöms.",
        ));
    }
    let (Some(decision), true) = (decision, errors.is_empty()) else {
        return Err(AppError::Invalid(errors));
    };
    write_tx(conn, |conn| {
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
        if report_decisions::table
            .find(&report.id)
            .count()
            .get_result::<i64>(conn)?
            > 0
        {
            return Err(AppError::Conflict("Beslutet är redan fattat.".into()));
        }
        let record = DecisionRecord {
            report_id: report.id.clone(),
            decided_at,
            decided_by: officer.id.clone(),
            decision,
            reason: input.reason.trim().to_string(),
            late_reason: if late {
                input.late_reason.trim().to_string()
            } else {
                String::new()
            },
            siblings_note: input.siblings_note.trim().to_string(),
        };
        diesel::insert_into(report_decisions::table)
            .values(&record.clone().seal(keys))
            .execute(conn)?;
        diesel::delete(intake_queue::table.find(&report.id)).execute(conn)?;
        if decision == Decision::Open {
            let opened_on = time::local(decided_at).date();
            diesel::insert_into(investigations::table)
                .values(
                    &Investigation {
                        id: InvestigationId::generate(),
                        report_id: report.id.clone(),
                        municipality_id: report.municipality_id.clone(),
                        opened_on,
                        due_on: deadlines::investigation_due(opened_on),
                        extended_at: None,
                        extended_by: None,
                        extension_reason: None,
                    }
                    .seal(keys),
                )
                .execute(conn)?;
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
                // The reporter has a duty to report: the feedback's last day, and the message
                // whose delivery shows whether it has been sent.
                diesel::insert_into(report_feedback::table)
                    .values((
                        report_feedback::report_id.eq(&report.id),
                        report_feedback::due_on
                            .eq(deadlines::feedback_due(decided_at, settings.feedback_days)),
                        report_feedback::outbox_id.eq(Some(outbox_id.0)),
                    ))
                    .execute(conn)?;
            }
        }
        Event::success(
            &AuditActor::from(officer),
            "report.decision",
            Object::Report(report.id.as_str()),
        )
        .detail(decision.as_str())
        .record(conn)?;
        Ok(record)
    })
}

/// Tells a professional reporter there is news, and nothing else.
fn feedback_email(
    reference: &str,
    reporter: &Reporter,
    settings: &Settings,
) -> Result<Email, AppError> {
    Ok(Email {
        to: mail::recipient(&reporter.name, &reporter.email)?,
        subject: format!("Besked om din anmälan {reference}"),
        text: format!(
            "Hej!\n\nDet finns besked om din anmälan {reference}. Logga in för att läsa det:\n{}\n\n\
             Av sekretesskäl står ingenting om anmälan i det här meddelandet.\n\
             Meddelandet skickades automatiskt. Svara inte på det.\n",
            settings.link("/mina-anmalningar"),
        ),
        html: None,
        calendar: None,
    })
}

/// The feedback to a professional reporter, as intake sees it on the report page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Feedback {
    /// The last day, under the rules from 2026-01-15; `None` for a decision before them.
    pub due_on: Option<NaiveDate>,
    /// Where the message telling the reporter is: queued, sent or given up (`None`: none queued).
    pub status: Option<mail::OutboxStatus>,
    pub sent_at: Option<NaiveDateTime>,
}

/// The feedback of a decided report of a professional reporter (`None` for other reports, and
/// for those decided before the feedback was recorded).
pub fn feedback_of(
    conn: &mut AnyConnection,
    report: &ReportId,
) -> Result<Option<Feedback>, AppError> {
    let row: Option<(Option<NaiveDate>, Option<String>)> = report_feedback::table
        .find(report)
        .select((report_feedback::due_on, report_feedback::outbox_id))
        .first(conn)
        .optional()?;
    let Some((due_on, outbox_id)) = row else {
        return Ok(None);
    };
    let delivery = match outbox_id {
        Some(id) => mail::delivery(conn, &mail::OutboxId(id))?,
        None => None,
    };
    Ok(Some(Feedback {
        due_on,
        status: delivery.map(|(status, _)| status),
        sent_at: delivery.and_then(|(_, at)| at),
    }))
}

/// A reporter's own report, with the outcome only.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct OwnReport {
    pub id: String,
    pub reference: String,
    pub received_at: NaiveDateTime,
    /// `open`, `not_open`, `join`, or absent while no decision has been made.
    pub outcome: Option<Decision>,
}

/// The outcome of one report, for the reporter who filed it (access already checked).
pub fn outcome_of(conn: &mut AnyConnection, report: Report) -> Result<OwnReport, AppError> {
    let outcome: Option<Decision> = report_decisions::table
        .find(&report.id)
        .select(report_decisions::decision)
        .first(conn)
        .optional()?;
    Ok(OwnReport {
        id: report.id.0,
        reference: report.reference,
        received_at: report.received_at,
        outcome,
    })
}

pub fn own_reports(conn: &mut AnyConnection, user: &UserId) -> Result<Vec<OwnReport>, AppError> {
    let rows: Vec<(ReportId, String, NaiveDateTime, Option<Decision>)> = reports::table
        .left_join(report_decisions::table)
        .filter(reports::reporter_user_id.eq(user))
        .order(reports::received_at.desc())
        .select((
            reports::id,
            reports::reference,
            reports::received_at,
            report_decisions::decision.nullable(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, reference, received_at, outcome)| OwnReport {
            id: id.0,
            reference,
            received_at,
            outcome,
        })
        .collect())
}

/// Open investigations of a municipality with their clocks, the earliest due first.
pub fn investigations_of(
    conn: &mut AnyConnection,
    keys: &Keyring,
    municipality: &MunicipalityId,
) -> Result<Vec<(Investigation, String)>, AppError> {
    investigations::table
        .inner_join(reports::table)
        .filter(investigations::municipality_id.eq(municipality))
        .order(investigations::due_on)
        .select((Investigation::as_select(), reports::reference))
        .load::<(Investigation, String)>(conn)?
        .into_iter()
        .map(|(i, reference)| Ok((i.open(keys)?, reference)))
        .collect()
}

pub fn find_investigation(
    conn: &mut AnyConnection,
    keys: &Keyring,
    id: &InvestigationId,
) -> Result<Option<Investigation>, AppError> {
    let found: Option<Investigation> = investigations::table
        .find(id)
        .select(Investigation::as_select())
        .first(conn)
        .optional()?;
    Ok(found.map(|i| i.open(keys)).transpose()?)
}

/// Extends an investigation by a recorded decision with its reason.
pub fn extend_investigation(
    conn: &mut AnyConnection,
    investigation: &Investigation,
    officer: &AuthUser,
    new_due: &str,
    reason: &str,
    keys: &Keyring,
) -> Result<(), AppError> {
    let mut errors = Vec::new();
    let due = match NaiveDate::parse_from_str(new_due.trim(), "%Y-%m-%d") {
        Ok(d) if d > investigation.due_on => Some(d),
        Ok(_) => {
            errors.push(FieldError::new(
                "due_on",
                "Det nya datumet måste ligga efter det nuvarande.",
            ));
            None
        }
        Err(_) => {
            errors.push(FieldError::new(
                "due_on",
                "Skriv datumet som år-månad-dag, till exempel 2027-05-31.",
            ));
            None
        }
    };
    if reason.trim().is_empty() {
        errors.push(FieldError::new(
            "reason",
            "Skriv de särskilda skälen för att förlänga utredningen.",
        ));
    }
    let (Some(due), true) = (due, errors.is_empty()) else {
        return Err(AppError::Invalid(errors));
    };
    write_tx(conn, |conn| {
        diesel::update(investigations::table.find(&investigation.id))
            .set((
                investigations::due_on.eq(due),
                investigations::extended_at.eq(now()),
                investigations::extended_by.eq(&officer.id),
                investigations::extension_reason
                    .eq(keys.seal("investigations.extension_reason", reason.trim())),
            ))
            .execute(conn)?;
        Event::success(
            &AuditActor::from(officer),
            "investigation.extend",
            Object::Investigation(investigation.id.as_str()),
        )
        .detail(&format!("due_on={due}"))
        .record(conn)?;
        Ok(())
    })
}
