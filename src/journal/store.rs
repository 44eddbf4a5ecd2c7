//! Journal entries in the database. Callers check access first (`crate::journal`); every function
//! that reads or writes entries writes the audit entry itself, in the same transaction. The
//! participants and the text are sealed at rest.
//!
//! There is no function that changes an entry's content: the only write after insertion is
//! [`sign`], which sets `signed_at` on a draft and is guarded in its `WHERE` clause, so a signed
//! entry stays as it was signed however it is reached.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::accounts::{AuthUser, MunicipalityId, UserId};
use crate::audit::event::{Event, Object};
use crate::audit::AuditActor;
use crate::crypto::rows::SealedRow;
use crate::crypto::Keyring;
use crate::db::schema::{investigations, journal_entries};
use crate::db::{now, write_tx, AnyConnection};
use crate::error::AppError;
use crate::journal::model::ValidEntry;
use crate::reports::store::{InvestigationId, ReportId};
use crate::string_id;

string_id!(EntryId);

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = journal_entries)]
pub struct Entry {
    pub id: EntryId,
    pub municipality_id: MunicipalityId,
    pub report_id: ReportId,
    pub child_id: String,
    /// Set when written during the child's investigation; `None` during the förhandsbedömning.
    pub investigation_id: Option<InvestigationId>,
    pub kind: String,
    pub happened_at: NaiveDateTime,
    pub participants: String,
    pub text: String,
    pub author_id: UserId,
    pub author_name: String,
    pub author_title: String,
    pub written_at: NaiveDateTime,
    /// `None` while a draft; once set, the entry is locked.
    pub signed_at: Option<NaiveDateTime>,
    /// The entry this one corrects.
    pub corrects_id: Option<EntryId>,
    /// Written after the child's investigation was closed: an efteranteckning. Set when written,
    /// from the investigation as it stood in the same transaction.
    pub after_closing: bool,
}
crate::sealed_row!(Entry, journal_entries by id: [participants, text]);

/// The case a journal belongs to: one child of one report, and the child's investigation once
/// there is one.
#[derive(Clone, Debug)]
pub struct Case {
    pub municipality_id: MunicipalityId,
    pub report_id: ReportId,
    pub child_id: String,
    pub investigation_id: Option<InvestigationId>,
}

/// Stores a new draft entry by `author` in `case` (a correction when `corrects` is given), with
/// its audit entry. Written in a closed investigation, it is marked as an efteranteckning.
pub fn create(
    conn: &mut AnyConnection,
    keys: &Keyring,
    author: &AuthUser,
    case: &Case,
    input: &ValidEntry,
    corrects: Option<&EntryId>,
) -> Result<Entry, AppError> {
    write_tx(conn, |conn| {
        let after_closing = closed(conn, case)?;
        let entry = Entry {
            id: EntryId::generate(),
            municipality_id: case.municipality_id.clone(),
            report_id: case.report_id.clone(),
            child_id: case.child_id.clone(),
            investigation_id: case.investigation_id.clone(),
            kind: input.kind.as_str().to_string(),
            happened_at: input.happened_at,
            participants: input.participants.clone(),
            text: input.text.clone(),
            author_id: author.id.clone(),
            author_name: author.name.clone(),
            author_title: author.title.clone(),
            written_at: now(),
            signed_at: None,
            corrects_id: corrects.cloned(),
            after_closing,
        };
        diesel::insert_into(journal_entries::table)
            .values(&entry.clone().seal(keys))
            .execute(conn)?;
        let action = if corrects.is_some() {
            "journal.correct"
        } else {
            "journal.create"
        };
        Event::success(
            &AuditActor::from(author),
            action,
            Object::JournalEntry(entry.id.as_str()),
        )
        .detail(if after_closing { "efteranteckning" } else { "" })
        .record(conn)?;
        Ok(entry)
    })
}

/// The entry, opened, for access checks (no audit entry: the caller records what it does).
pub fn find(
    conn: &mut AnyConnection,
    keys: &Keyring,
    id: &EntryId,
) -> Result<Option<Entry>, AppError> {
    let found: Option<Entry> = journal_entries::table
        .find(id)
        .select(Entry::as_select())
        .get_result(conn)
        .optional()?;
    Ok(found.map(|e| e.open(keys)).transpose()?)
}

/// Every entry of a child's case, in the order things happened, with one audit entry for the
/// read (on the report, naming the child's id).
pub fn of_child(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &AuditActor,
    report_id: &ReportId,
    child_id: &str,
) -> Result<Vec<Entry>, AppError> {
    write_tx(conn, |conn| {
        let rows: Vec<Entry> = journal_entries::table
            .filter(journal_entries::report_id.eq(report_id))
            .filter(journal_entries::child_id.eq(child_id))
            .order((journal_entries::happened_at, journal_entries::written_at))
            .select(Entry::as_select())
            .load(conn)?;
        Event::success(actor, "journal.read", Object::Report(report_id.as_str()))
            .detail(&format!("child {child_id}"))
            .record(conn)?;
        Ok(rows
            .into_iter()
            .map(|e| e.open(keys))
            .collect::<Result<_, _>>()?)
    })
}

/// Signs a draft as its author: the only change an entry ever gets. Refused (409) when it is
/// signed already; the `WHERE signed_at IS NULL` guard holds even against a concurrent signing.
pub fn sign(
    conn: &mut AnyConnection,
    keys: &Keyring,
    author: &AuthUser,
    id: &EntryId,
) -> Result<Entry, AppError> {
    write_tx(conn, |conn| {
        let at = now();
        let changed = diesel::update(
            journal_entries::table
                .filter(journal_entries::id.eq(id))
                .filter(journal_entries::author_id.eq(&author.id))
                .filter(journal_entries::signed_at.is_null()),
        )
        .set(journal_entries::signed_at.eq(Some(at)))
        .execute(conn)?;
        if changed == 0 {
            return Err(already_signed());
        }
        Event::success(
            &AuditActor::from(author),
            "journal.sign",
            Object::JournalEntry(id.as_str()),
        )
        .record(conn)?;
        find(conn, keys, id)?.ok_or(AppError::NotFound)
    })
}

pub fn already_signed() -> AppError {
    AppError::Conflict(
        "Anteckningen är redan signerad och kan inte ändras. Skriv en rättelse i stället.".into(),
    )
}

/// One event of a case other than a journal entry, for the chronology: when (Swedish local
/// time) and what, in words.
#[derive(Clone, Debug)]
pub struct CaseEvent {
    pub at: NaiveDateTime,
    pub what: String,
}

/// The case's own events: report received, safety assessment, the child's decision, every
/// extension, the closing, the information requests, and the meetings and saved plan versions
/// of the SIPs about this child. Read together with the journal (whose read is audited), so no
/// audit entry of its own.
pub fn case_events(
    conn: &mut AnyConnection,
    keys: &Keyring,
    case: &Case,
) -> Result<Vec<CaseEvent>, AppError> {
    use crate::db::schema::{
        investigation_extensions, report_decisions, reports, safety_assessments,
    };
    let local = crate::time::local;
    let mut events = Vec::new();
    let received: NaiveDateTime = reports::table
        .find(&case.report_id)
        .select(reports::received_at)
        .get_result(conn)?;
    events.push(CaseEvent {
        at: local(received),
        what: "Orosanmälan kom in".into(),
    });
    let assessed: Option<(NaiveDateTime, bool)> = safety_assessments::table
        .find(&case.report_id)
        .select((
            safety_assessments::assessed_at,
            safety_assessments::protection_needed,
        ))
        .get_result(conn)
        .optional()?;
    if let Some((at, needed)) = assessed {
        events.push(CaseEvent {
            at: local(at),
            what: if needed {
                "Skyddsbedömning: barnet behöver skydd".into()
            } else {
                "Skyddsbedömning: inget omedelbart skyddsbehov".into()
            },
        });
    }
    let decided: Option<(NaiveDateTime, String)> = report_decisions::table
        .find(&case.child_id)
        .select((report_decisions::decided_at, report_decisions::decision))
        .get_result(conn)
        .optional()?;
    if let Some((at, decision)) = decided {
        let what = match decision.as_str() {
            "open" => "Beslut: utredning inleds",
            "not_open" => "Beslut: utredning inleds inte",
            "join" => "Beslut: anmälan förs till pågående utredning",
            _ => "Beslut om utredning",
        };
        events.push(CaseEvent {
            at: local(at),
            what: what.into(),
        });
    }
    if let Some(investigation) = &case.investigation_id {
        let extensions: Vec<(NaiveDateTime, chrono::NaiveDate)> = investigation_extensions::table
            .filter(investigation_extensions::investigation_id.eq(investigation))
            .select((
                investigation_extensions::extended_at,
                investigation_extensions::due_on,
            ))
            .load(conn)?;
        for (at, due_on) in extensions {
            events.push(CaseEvent {
                at: local(at),
                what: format!("Utredningstiden förlängd till {due_on}"),
            });
        }
        let (closed, outcome): (Option<NaiveDateTime>, Option<String>) = investigations::table
            .find(investigation)
            .select((investigations::closed_at, investigations::outcome))
            .get_result(conn)?;
        if let Some(at) = closed {
            let outcome = outcome
                .and_then(|o| o.parse::<crate::reports::model::ClosingOutcome>().ok())
                .map_or(String::new(), |o| format!(": {}", o.label()));
            events.push(CaseEvent {
                at: local(at),
                what: format!("Utredningen avslutad{outcome}"),
            });
        }
        events.extend(request_events(conn, investigation)?);
    }
    events.extend(sip_events(conn, keys, case)?);
    Ok(events)
}

/// The meetings (booked, held, cancelled) and saved plan versions of the SIPs started from the
/// case's report that are about its child ([`crate::sip::store::children::sips_of_child`], the
/// same match as the export and *Mina utredningar*): times and the SIP's reference only, no
/// text of the plan.
fn sip_events(
    conn: &mut AnyConnection,
    keys: &Keyring,
    case: &Case,
) -> Result<Vec<CaseEvent>, AppError> {
    use crate::db::schema::{meetings, plans};
    let local = crate::time::local;
    let sips =
        crate::sip::store::children::sips_of_child(conn, keys, &case.report_id, &case.child_id)?;
    let mut events = Vec::new();
    let at_now = now();
    for sip in sips {
        let reference = &sip.reference;
        let booked: Vec<(NaiveDateTime, NaiveDateTime, Option<NaiveDateTime>)> = meetings::table
            .filter(meetings::sip_id.eq(&sip.id))
            .select((
                meetings::created_at,
                meetings::starts_at,
                meetings::cancelled_at,
            ))
            .load(conn)?;
        for (created, starts, cancelled) in booked {
            let when = local(starts).format("%Y-%m-%d %H:%M");
            events.push(CaseEvent {
                at: local(created),
                what: format!("SIP-möte bokat ({reference}) till {when}"),
            });
            match cancelled {
                Some(at) => events.push(CaseEvent {
                    at: local(at),
                    what: format!("SIP-möte ({reference}) {when} ställdes in"),
                }),
                None if starts <= at_now => events.push(CaseEvent {
                    at: local(starts),
                    what: format!("SIP-möte hölls ({reference})"),
                }),
                None => {}
            }
        }
        let versions: Vec<(i32, NaiveDateTime)> = plans::table
            .filter(plans::sip_id.eq(&sip.id))
            .select((plans::version, plans::recorded_at))
            .load(conn)?;
        for (version, at) in versions {
            events.push(CaseEvent {
                at: local(at),
                what: format!("SIP-plan sparad ({reference}), version {version}"),
            });
        }
    }
    Ok(events)
}

/// Whether the case's investigation is closed (new entries are then efteranteckningar).
pub fn closed(conn: &mut AnyConnection, case: &Case) -> Result<bool, AppError> {
    let Some(investigation) = &case.investigation_id else {
        return Ok(false);
    };
    Ok(investigations::table
        .find(investigation)
        .select(investigations::closed_at)
        .get_result::<Option<NaiveDateTime>>(conn)?
        .is_some())
}

/// The report's reference and which child of it (1 for the first) the case is, for the page's
/// heading: nothing identifying the child.
pub fn case_title(conn: &mut AnyConnection, case: &Case) -> Result<(String, i32), AppError> {
    use crate::db::schema::{report_children, reports};
    let (reference, position): (String, i32) = reports::table
        .inner_join(report_children::table)
        .filter(reports::id.eq(&case.report_id))
        .filter(report_children::id.eq(&case.child_id))
        .select((reports::reference, report_children::position))
        .get_result(conn)?;
    Ok((reference, position + 1))
}

/// The information requests sent in an investigation, as events (reference and organisation;
/// the answers are journal entries of their own).
fn request_events(
    conn: &mut AnyConnection,
    investigation: &InvestigationId,
) -> Result<Vec<CaseEvent>, AppError> {
    use crate::db::schema::{information_requests, organisations};
    let sent: Vec<(NaiveDateTime, String, String)> = information_requests::table
        .inner_join(
            organisations::table.on(organisations::id.eq(information_requests::organisation_id)),
        )
        .filter(information_requests::investigation_id.eq(investigation))
        .select((
            information_requests::sent_at,
            information_requests::reference,
            organisations::name,
        ))
        .load(conn)?;
    Ok(sent
        .into_iter()
        .map(|(at, reference, organisation)| CaseEvent {
            at: crate::time::local(at),
            what: format!("Begäran om uppgifter {reference} skickad till {organisation}"),
        })
        .collect())
}

/// A file of a partner's answer, filed with the journal entry of the answer.
#[derive(Clone, Debug)]
pub struct Attachment {
    pub entry_id: String,
    pub request_id: String,
    pub file_id: String,
    pub name: String,
}

/// The files of the answers filed in a child's journal (read with the journal, whose read is
/// audited; each download is audited on its own).
pub fn attachments(
    conn: &mut AnyConnection,
    keys: &Keyring,
    report_id: &ReportId,
    child_id: &str,
) -> Result<Vec<Attachment>, AppError> {
    use crate::db::schema::{information_request_files, information_request_filings};
    let filed: Vec<(String, String)> = information_request_filings::table
        .inner_join(journal_entries::table)
        .filter(journal_entries::report_id.eq(report_id))
        .filter(journal_entries::child_id.eq(child_id))
        .select((
            information_request_filings::journal_entry_id,
            information_request_filings::request_id,
        ))
        .load(conn)?;
    let mut found = Vec::new();
    for (entry_id, request_id) in filed {
        let files: Vec<(String, String)> = information_request_files::table
            .filter(information_request_files::request_id.eq(&request_id))
            .order(information_request_files::uploaded_at)
            .select((
                information_request_files::id,
                information_request_files::name,
            ))
            .load(conn)?;
        for (file_id, name) in files {
            found.push(Attachment {
                entry_id: entry_id.clone(),
                request_id: request_id.clone(),
                file_id,
                name: keys.open("information_request_files.name", &name)?,
            });
        }
    }
    Ok(found)
}
