//! Assigning an investigation to a caseworker: an intake officer or a caseworker of its
//! municipality assigns one of its caseworkers, or a caseworker takes it ("Ta utredningen").
//! Anyone else is told it does not exist (404, audited); a closed investigation is not changed.

use serde::Deserialize;
use utoipa::ToSchema;

use crate::accounts::MunicipalityId;
use crate::authz::{authorize, Action, Actor, Resource};
use crate::crypto::Keyring;
use crate::db::AnyConnection;
use crate::error::{AppError, FieldError};
use crate::reports::store::{self, Assignee, Investigation, InvestigationId};

/// Who to assign. Empty (or left out): the caller takes the investigation themselves.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct AssignmentInput {
    #[serde(default)]
    pub user_id: String,
}

/// Finds an investigation and checks that `actor` may assign it (intake officers and
/// caseworkers of its municipality); one that does not exist looks the same (404), audited.
pub fn assignment_access(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    id: &InvestigationId,
) -> Result<Investigation, AppError> {
    let investigation = store::find_investigation(conn, keys, id)?;
    let nowhere = MunicipalityId(String::new());
    let municipality = investigation
        .as_ref()
        .map_or(&nowhere, |i| &i.municipality_id);
    authorize(
        conn,
        actor,
        Action::Update,
        Resource::Assignment { municipality },
        Some(id.as_str()),
    )
    .map_err(|e| match e {
        AppError::Forbidden => AppError::NotFound,
        other => other,
    })?;
    investigation.ok_or(AppError::NotFound)
}

/// Assigns an open investigation to a caseworker of its municipality (audited).
pub fn assign(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    id: &InvestigationId,
    input: &AssignmentInput,
) -> Result<(Investigation, Assignee), AppError> {
    let investigation = assignment_access(conn, keys, actor, id)?;
    if !investigation.is_open() {
        return Err(store::closed_already());
    }
    let by = actor.user().ok_or(AppError::NotFound)?;
    let wanted = match input.user_id.trim() {
        "" => by.id.as_str(),
        typed => typed,
    };
    let caseworkers = store::caseworkers_of(conn, &investigation.municipality_id)?;
    let Some(assignee) = caseworkers.into_iter().find(|c| c.user_id == wanted) else {
        let message = if wanted == by.id.as_str() {
            "Bara en handläggare kan ta en utredning. Välj vilken handläggare som ska ha den."
        } else {
            "Välj en handläggare i socialtjänsten i kommunen."
        };
        return Err(AppError::Invalid(vec![FieldError::new("user_id", message)]));
    };
    store::assign(conn, by, &investigation, &assignee)?;
    Ok((investigation, assignee))
}

/// The caseworkers an investigation may be assigned to, and who each one is assigned to.
pub type Assignments = (Vec<Assignee>, Vec<(InvestigationId, Assignee)>);

/// The caseworkers an investigation of the actor's municipality may be assigned to, and who each
/// open investigation there is assigned to (for the list of investigations); nothing for those
/// who may not assign.
pub fn assignments_for(conn: &mut AnyConnection, actor: &Actor) -> Result<Assignments, AppError> {
    let Some(municipality) = actor.municipality().cloned() else {
        return Ok((Vec::new(), Vec::new()));
    };
    if crate::authz::policy::decide(
        actor,
        Action::Update,
        &Resource::Assignment {
            municipality: &municipality,
        },
    )
    .is_err()
    {
        return Ok((Vec::new(), Vec::new()));
    }
    Ok((
        store::caseworkers_of(conn, &municipality)?,
        store::assignees_in(conn, &municipality)?,
    ))
}
