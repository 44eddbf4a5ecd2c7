//! Files an answer or a refusal in the child's journal, in the transaction that records it: a
//! signed entry by the receiver naming the request's reference and the organisation, with the
//! files listed (the chronology links to them through `information_request_filings`).

use diesel::prelude::*;

use crate::accounts::AuthUser;
use crate::crypto::Keyring;
use crate::db::schema::{information_request_filings, organisations};
use crate::db::{now, AnyConnection};
use crate::error::AppError;
use crate::information_requests::store::files::FileInfo;
use crate::information_requests::store::InformationRequest;
use crate::journal::model::{EntryKind, ValidEntry};
use crate::journal::store::{self as journal, Case, Entry};

/// The journal entry's text for an answer (or, when `declined`, a refusal).
pub fn entry_text(
    reference: &str,
    organisation: &str,
    text: &str,
    declined: bool,
    files: &[FileInfo],
) -> String {
    if declined {
        return format!(
            "Begäran om uppgifter {reference} till {organisation} avböjdes.\n\nSkäl: {text}"
        );
    }
    let mut entry =
        format!("Svar på begäran om uppgifter {reference} från {organisation}.\n\n{text}");
    if !files.is_empty() {
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        entry.push_str(&format!("\n\nBifogade filer: {}", names.join(", ")));
    }
    entry
}

/// Writes and signs the entry for `request`'s reply by `receiver`, and links it to the request.
pub fn file(
    conn: &mut AnyConnection,
    keys: &Keyring,
    receiver: &AuthUser,
    request: &InformationRequest,
    text: &str,
    declined: bool,
    files: &[FileInfo],
) -> Result<Entry, AppError> {
    let investigation =
        crate::reports::store::find_investigation(conn, keys, &request.investigation_id)?
            .ok_or(AppError::NotFound)?;
    let organisation: String = organisations::table
        .find(&request.organisation_id)
        .select(organisations::name)
        .get_result(conn)?;
    let case = Case {
        municipality_id: investigation.municipality_id,
        report_id: investigation.report_id,
        child_id: investigation.child_id,
        investigation_id: Some(investigation.id),
    };
    let participants = if receiver.title.trim().is_empty() {
        format!("{}, {organisation}", receiver.name)
    } else {
        format!("{}, {}, {organisation}", receiver.name, receiver.title)
    };
    let entry = ValidEntry {
        kind: EntryKind::InformationAnswer,
        happened_at: crate::time::local(now()),
        participants,
        text: entry_text(&request.reference, &organisation, text, declined, files),
    };
    let draft = journal::create(conn, keys, receiver, &case, &entry, None)?;
    let signed = journal::sign(conn, keys, receiver, &draft.id)?;
    diesel::insert_into(information_request_filings::table)
        .values((
            information_request_filings::request_id.eq(&request.id),
            information_request_filings::journal_entry_id.eq(&signed.id),
        ))
        .execute(conn)?;
    Ok(signed)
}
