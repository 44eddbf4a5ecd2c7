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
use crate::db::schema::journal_entries;
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
/// its audit entry.
pub fn create(
    conn: &mut AnyConnection,
    keys: &Keyring,
    author: &AuthUser,
    case: &Case,
    input: &ValidEntry,
    corrects: Option<&EntryId>,
) -> Result<Entry, AppError> {
    write_tx(conn, |conn| {
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
