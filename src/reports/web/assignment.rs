//! Assigning an investigation from the list of investigations: a caseworker takes one ("Ta
//! utredningen"), or an intake officer or caseworker chooses the caseworker who gets it.

use super::*;
use crate::reports::assignment::{assign, AssignmentInput};

#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct AssignmentPost {
    #[serde(default)]
    user_id: String,
}

pub(super) async fn post_assignment(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<AssignmentPost>,
) -> Result<HttpResponse, PageError> {
    let id = InvestigationId(path.into_inner());
    let input = AssignmentInput {
        user_id: form.user_id,
    };
    let (by, investigation) = (actor.clone(), id.clone());
    let result = state
        .db_with_settings(move |conn, settings| {
            assign(conn, &settings.keys, &by, &investigation, &input)
        })
        .await;
    match result {
        Ok(_) => Ok(see_other(format!("/utredningar#utredning-{id}"))),
        Err(AppError::Invalid(errors)) => {
            // Each investigation on the list has its own form: its field is named by its id.
            let mut page = investigations_page(&req, &state, user, actor).await?;
            page.errors = FormErrors(
                errors
                    .into_iter()
                    .map(|mut e| {
                        e.field = format!("{}-{id}", e.field);
                        e
                    })
                    .collect(),
            );
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}
