//! The journal's forms: write an entry (in an investigation, or for a child of a report before
//! the decision), sign one's own draft, correct a signed entry. A form with mistakes comes back
//! with the input kept and each error beside its field (422); a refusal is the same Swedish page
//! and status as through the API (403, 404, 409).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{page, Journal};
use crate::accounts::identity::CurrentActor;
use crate::authz::Action;
use crate::error::{AppError, PageError};
use crate::journal::model::EntryInput;
use crate::journal::store::{self, EntryId};
use crate::journal::{correct, sign, write};
use crate::reports::store::{InvestigationId, ReportId};
use crate::web::csrf::{CsrfForm, NoFields};
use crate::web::{see_other, AppState, FormErrors, Saved};

/// Where to go after a change: the journal's page, confirming it, at the entry.
fn after(journal: &Journal, saved: Saved, entry: &EntryId) -> HttpResponse {
    see_other(format!(
        "{}?sparat={}#anteckning-{entry}",
        journal.path(),
        saved.word()
    ))
}

async fn post_entry(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    journal: Journal,
    input: EntryInput,
) -> Result<HttpResponse, PageError> {
    let (at, by, sent) = (journal.clone(), actor.clone(), input.clone());
    let result = state
        .db_with_settings(move |conn, settings| {
            let case = at.case(conn, settings, &by, Action::Create)?;
            write(conn, settings, &by, &case, &sent)
        })
        .await;
    match result {
        Ok(entry) => Ok(after(&journal, Saved::JournalWritten, &entry.id)),
        Err(AppError::Invalid(errors)) => {
            page(
                &req,
                &state,
                user,
                actor,
                journal,
                None,
                "",
                Some((input, FormErrors(errors))),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /utredningar/{id}/journal`: a caseworker writes a draft (after closing, an
/// efteranteckning).
pub(super) async fn post_investigation_entry(
    req: HttpRequest,
    who: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<EntryInput>,
) -> Result<HttpResponse, PageError> {
    let journal = Journal::Investigation(InvestigationId(path.into_inner()));
    post_entry(req, who, state, journal, form).await
}

/// `POST /anmalningar/{id}/barn/{child_id}/journal`: an intake officer writes a draft during the
/// förhandsbedömning.
pub(super) async fn post_report_entry(
    req: HttpRequest,
    who: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    CsrfForm(form): CsrfForm<EntryInput>,
) -> Result<HttpResponse, PageError> {
    let (report, child) = path.into_inner();
    let journal = Journal::Report(ReportId(report), child);
    post_entry(req, who, state, journal, form).await
}

/// `POST /journal/{entry_id}/signera`: the author signs a draft; from then on it is locked.
pub(super) async fn post_sign(
    CurrentActor { actor, .. }: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, PageError> {
    let id = EntryId(path.into_inner());
    let (entry, journal) = state
        .db_with_settings(move |conn, settings| {
            let entry = sign(conn, settings, &actor, &id)?;
            let journal = Journal::of_entry(conn, &entry)?;
            Ok((entry, journal))
        })
        .await?;
    Ok(after(&journal, Saved::JournalSigned, &entry.id))
}

/// `POST /journal/{entry_id}/rattelse`: a new draft that corrects the entry, which stays as it is.
pub(super) async fn post_correction(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<EntryInput>,
) -> Result<HttpResponse, PageError> {
    let id = EntryId(path.into_inner());
    let (by, corrected, sent) = (actor.clone(), id.clone(), form.clone());
    let result = state
        .db_with_settings(move |conn, settings| {
            match correct(conn, settings, &by, &corrected, &sent) {
                Ok(entry) => Ok(Ok((Journal::of_entry(conn, &entry)?, entry.id))),
                // Mistakes are found after the access check: the entry may be shown again.
                Err(AppError::Invalid(errors)) => {
                    let entry =
                        store::find(conn, &settings.keys, &corrected)?.ok_or(AppError::NotFound)?;
                    Ok(Err((Journal::of_entry(conn, &entry)?, errors)))
                }
                Err(e) => Err(e),
            }
        })
        .await?;
    match result {
        Ok((journal, correction)) => Ok(after(&journal, Saved::JournalCorrected, &correction)),
        Err((journal, errors)) => {
            page(
                &req,
                &state,
                user,
                actor,
                journal,
                Some(id),
                "",
                Some((form, FormErrors(errors))),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}
