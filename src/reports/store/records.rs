//! The officer's records on a report (safety assessment, decision, investigation and its
//! extension) and what a professional reporter may see of their own reports.

use super::*;

/// Records the safety assessment (once).
pub fn record_safety_assessment(
    conn: &mut AnyConnection,
    keys: &Keyring,
    officer: &AuthUser,
    report: &Report,
    protection_needed: Option<bool>,
    notes: &str,
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
        crate::reports::store::rollup::assessed(conn, report.id.as_str())?;
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

/// Tells a professional reporter there is news, and nothing else.
pub(super) fn feedback_email(
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

/// Keeps the feedback to a professional reporter, who has a duty to report: its last day,
/// counted from the report's first decision, and the latest message telling them there is news
/// (a report decided a child at a time tells them at each decision), whose delivery shows
/// whether feedback was given.
pub(super) fn record_feedback(
    conn: &mut AnyConnection,
    settings: &Settings,
    report: &ReportId,
    decided_at: NaiveDateTime,
    message: &mail::OutboxId,
) -> Result<(), AppError> {
    let updated = diesel::update(report_feedback::table.find(report))
        .set(report_feedback::outbox_id.eq(Some(&message.0)))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(report_feedback::table)
            .values((
                report_feedback::report_id.eq(report),
                report_feedback::due_on
                    .eq(deadlines::feedback_due(decided_at, settings.feedback_days)),
                report_feedback::outbox_id.eq(Some(&message.0)),
            ))
            .execute(conn)?;
    }
    Ok(())
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

/// The outcome for one child of a reporter's own report: which child (by the order they were
/// named in), and the decision, never its reasons.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ChildOutcome {
    /// 1 for the first child named in the report, 2 for the second, …
    pub child: i32,
    /// `open`, `not_open`, `join`, or absent while no decision has been made for the child.
    pub outcome: Option<Decision>,
}

/// A reporter's own report, with the outcome only.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct OwnReport {
    pub id: String,
    pub reference: String,
    pub received_at: NaiveDateTime,
    /// The outcome for each child the reporter named (children social services added are not
    /// the reporter's to know).
    pub children: Vec<ChildOutcome>,
}

impl OwnReport {
    /// Every child named has its decision.
    pub fn decided(&self) -> bool {
        self.children.iter().all(|c| c.outcome.is_some())
    }
}

/// The per-child outcomes of some reports: children the reporter named, in order.
fn outcomes(
    conn: &mut AnyConnection,
    ids: &[ReportId],
) -> Result<Vec<(ReportId, ChildOutcome)>, AppError> {
    let rows: Vec<(ReportId, i32, Option<Decision>)> = report_children::table
        .left_join(report_decisions::table)
        .filter(report_children::report_id.eq_any(ids))
        .filter(report_children::added_at.is_null())
        .order((report_children::report_id, report_children::position))
        .select((
            report_children::report_id,
            report_children::position,
            report_decisions::decision.nullable(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, position, outcome)| {
            (
                id,
                ChildOutcome {
                    child: position + 1,
                    outcome,
                },
            )
        })
        .collect())
}

/// The outcome of one report, for the reporter who filed it (access already checked).
pub fn outcome_of(conn: &mut AnyConnection, report: Report) -> Result<OwnReport, AppError> {
    let children = outcomes(conn, std::slice::from_ref(&report.id))?
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    Ok(OwnReport {
        id: report.id.0,
        reference: report.reference,
        received_at: report.received_at,
        children,
    })
}

pub fn own_reports(conn: &mut AnyConnection, user: &UserId) -> Result<Vec<OwnReport>, AppError> {
    let rows: Vec<(ReportId, String, NaiveDateTime)> = reports::table
        .filter(reports::reporter_user_id.eq(user))
        .order(reports::received_at.desc())
        .select((reports::id, reports::reference, reports::received_at))
        .load(conn)?;
    let ids: Vec<ReportId> = rows.iter().map(|(id, _, _)| id.clone()).collect();
    let mut outcomes = outcomes(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|(id, reference, received_at)| {
            let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut outcomes)
                .into_iter()
                .partition(|(r, _)| *r == id);
            outcomes = rest;
            OwnReport {
                id: id.0,
                reference,
                received_at,
                children: mine.into_iter().map(|(_, c)| c).collect(),
            }
        })
        .collect())
}

/// An investigation in a municipality's list: its report's reference and which child.
#[derive(Clone, Debug)]
pub struct InvestigationLine {
    pub investigation: Investigation,
    pub reference: String,
    /// 1 for the first child of the report, …
    pub child: i32,
    /// Every extension, oldest first.
    pub extensions: Vec<ExtensionEntry>,
}

/// Open investigations of a municipality with their clocks and extensions, the earliest due
/// first.
pub fn investigations_of(
    conn: &mut AnyConnection,
    keys: &Keyring,
    municipality: &MunicipalityId,
) -> Result<Vec<InvestigationLine>, AppError> {
    let rows: Vec<(Investigation, String, i32)> = investigations::table
        .inner_join(reports::table)
        .inner_join(report_children::table.on(report_children::id.eq(investigations::child_id)))
        .filter(investigations::municipality_id.eq(municipality))
        .filter(investigations::closed_at.is_null())
        .order(investigations::due_on)
        .select((
            Investigation::as_select(),
            reports::reference,
            report_children::position,
        ))
        .load(conn)?;
    // One query for the extensions of them all.
    let extensions: Vec<Extension> = investigation_extensions::table
        .inner_join(investigations::table)
        .filter(investigations::municipality_id.eq(municipality))
        .filter(investigations::closed_at.is_null())
        .order(investigation_extensions::extended_at)
        .select(Extension::as_select())
        .load::<Extension>(conn)?
        .into_iter()
        .map(|e| e.open(keys))
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|(i, reference, position)| {
            let investigation = i.open(keys)?;
            let own: Vec<Extension> = extensions
                .iter()
                .filter(|e| e.investigation_id == investigation.id)
                .cloned()
                .collect();
            Ok(InvestigationLine {
                extensions: investigation.history(&own),
                investigation,
                reference,
                child: position + 1,
            })
        })
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

/// The extension history of an investigation, oldest first.
pub fn extensions_of(
    conn: &mut AnyConnection,
    keys: &Keyring,
    investigation: &Investigation,
) -> Result<Vec<ExtensionEntry>, AppError> {
    let recorded: Vec<Extension> = investigation_extensions::table
        .filter(investigation_extensions::investigation_id.eq(&investigation.id))
        .order(investigation_extensions::extended_at)
        .select(Extension::as_select())
        .load(conn)?
        .into_iter()
        .map(|e| e.open(keys))
        .collect::<Result<_, _>>()?;
    Ok(investigation.history(&recorded))
}

/// An extension as typed.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct ExtensionInput {
    /// The new last day, `YYYY-MM-DD`, after the current one.
    #[serde(default)]
    pub due_on: String,
    /// The special reasons for the extension.
    #[serde(default)]
    pub reason: String,
}

/// Extends an investigation by a recorded decision with its reason: a new row in its history
/// (earlier extensions are kept as they were) and the new last day.
pub fn extend_investigation(
    conn: &mut AnyConnection,
    keys: &Keyring,
    officer: &AuthUser,
    investigation: &Investigation,
    input: &ExtensionInput,
) -> Result<ExtensionEntry, AppError> {
    let mut errors = Vec::new();
    let due = match NaiveDate::parse_from_str(input.due_on.trim(), "%Y-%m-%d") {
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
    let reason = input.reason.trim();
    if reason.is_empty() {
        errors.push(FieldError::new(
            "reason",
            "Skriv de särskilda skälen för att förlänga utredningen.",
        ));
    }
    let (Some(due), true) = (due, errors.is_empty()) else {
        return Err(AppError::Invalid(errors));
    };
    write_tx(conn, |conn| {
        // The due date as it stands now, not as read before the transaction: two extensions at
        // once each keep what they extended from.
        let (previous, closed_at): (NaiveDate, Option<NaiveDateTime>) = investigations::table
            .find(&investigation.id)
            .select((investigations::due_on, investigations::closed_at))
            .get_result(conn)?;
        if closed_at.is_some() {
            return Err(closed_already());
        }
        if due <= previous {
            return Err(AppError::Invalid(vec![FieldError::new(
                "due_on",
                "Det nya datumet måste ligga efter det nuvarande.",
            )]));
        }
        let row = Extension {
            id: uuid::Uuid::new_v4().to_string(),
            investigation_id: investigation.id.clone(),
            extended_at: now(),
            extended_by: officer.id.clone(),
            previous_due_on: previous,
            due_on: due,
            reason: reason.to_string(),
        };
        diesel::insert_into(investigation_extensions::table)
            .values(&row.clone().seal(keys))
            .execute(conn)?;
        diesel::update(investigations::table.find(&investigation.id))
            .set(investigations::due_on.eq(due))
            .execute(conn)?;
        Event::success(
            &AuditActor::from(officer),
            "investigation.extend",
            Object::Investigation(investigation.id.as_str()),
        )
        .detail(&format!("due_on={due}"))
        .record(conn)?;
        Ok(ExtensionEntry {
            extended_at: row.extended_at,
            extended_by: row.extended_by.0,
            previous_due_on: Some(previous),
            due_on: due,
            reason: row.reason,
        })
    })
}
