//! The caseworkers' investigations and the extension of one.

use super::*;
use crate::reports::model::{ClosingInput, ClosingOutcome};
use crate::reports::store::ExtensionInput;
use crate::time;
use crate::web::FormErrors;

pub struct InvestigationRow {
    pub investigation: Investigation,
    pub reference: String,
    /// Which child of the report: 1 for the first, …
    pub child: i32,
    pub clock: Clock,
    /// The caseworker it is assigned to.
    pub assignee: Option<store::Assignee>,
}

impl InvestigationRow {
    /// Its last day is later than four months from opening: it has been extended.
    pub fn extended(&self) -> bool {
        self.investigation.due_on > deadlines::investigation_due(self.investigation.opened_on)
    }
}

#[derive(Template)]
#[template(path = "reports/investigations.html")]
pub(super) struct InvestigationsPage {
    pub(super) layout: Layout,
    pub(super) rows: Vec<InvestigationRow>,
    /// Whom the actor may assign an investigation to (none: they may not assign).
    pub(super) caseworkers: Vec<store::Assignee>,
    /// Whether the actor is a caseworker (may take an investigation).
    pub(super) caseworker: bool,
    pub(super) errors: FormErrors,
}

impl InvestigationsPage {
    fn assigned_to(&self, row: &InvestigationRow, user_id: &str) -> bool {
        row.assignee.as_ref().is_some_and(|a| a.user_id == user_id)
    }

    /// Whether the row is assigned to the signed-in user.
    fn mine(&self, row: &InvestigationRow) -> bool {
        self.layout
            .user
            .as_ref()
            .is_some_and(|u| self.assigned_to(row, u.id.as_str()))
    }
}

pub(super) async fn investigations_page(
    req: &HttpRequest,
    state: &AppState,
    user: AuthUser,
    actor: Actor,
) -> Result<InvestigationsPage, AppError> {
    let (rows, (caseworkers, assignees)) = state
        .db_with_settings(move |conn, settings| {
            let rows = reports::investigations_for(conn, &settings.keys, &actor)?;
            Ok((rows, reports::assignment::assignments_for(conn, &actor)?))
        })
        .await?;
    let today = time::local(crate::db::now()).date();
    let caseworker = user.has_role(crate::accounts::Role::Caseworker);
    Ok(InvestigationsPage {
        layout: Layout::new(req, Some(user)),
        rows: rows
            .into_iter()
            .map(|line| InvestigationRow {
                clock: decision_clock(line.investigation.due_on, today),
                assignee: assignees
                    .iter()
                    .find(|(id, _)| *id == line.investigation.id)
                    .map(|(_, a)| a.clone()),
                investigation: line.investigation,
                reference: line.reference,
                child: line.child,
            })
            .collect(),
        caseworker: caseworker && !caseworkers.is_empty(),
        caseworkers,
        errors: FormErrors::default(),
    })
}

pub(super) async fn get_investigations(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let page = investigations_page(&req, &state, user, actor).await?;
    crate::web::render(StatusCode::OK, &page)
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct ExtensionPost {
    #[serde(default)]
    due_on: String,
    #[serde(default)]
    reason: String,
}

pub(super) async fn post_extension(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<ExtensionPost>,
) -> Result<HttpResponse, PageError> {
    let id = InvestigationId(path.into_inner());
    let input = ExtensionInput {
        due_on: form.due_on,
        reason: form.reason,
    };
    let (sent, investigation) = (input.clone(), id.clone());
    let (report, result) = match state
        .db_with_settings(move |conn, settings| {
            let keys = &settings.keys;
            let found = store::find_investigation(conn, keys, &investigation)?;
            let result = reports::extend(conn, keys, &actor, &investigation, &sent);
            Ok((found.map(|i| i.report_id), result))
        })
        .await?
    {
        (Some(report), result) => (report, result.map(|_| ())),
        (None, result) => return Err(result.err().unwrap_or(AppError::NotFound).into()),
    };
    // Each investigation on the page has its own form: its fields are named by its id.
    let result = result.map_err(|e| match e {
        AppError::Invalid(errors) => AppError::Invalid(
            errors
                .into_iter()
                .map(|mut e| {
                    e.field = format!("{}-{id}", e.field);
                    e
                })
                .collect(),
        ),
        other => other,
    });
    saved_or_again(
        &req,
        &state,
        user,
        report,
        result,
        Saved::Extension,
        |page| {
            page.extension_form = ExtensionForm {
                investigation: id.0.clone(),
                input,
            }
        },
    )
    .await
}

/// The closing page: the form while the investigation is open, its recorded outcome once closed.
#[derive(Template)]
#[template(path = "reports/closing.html")]
pub(super) struct ClosingPage {
    layout: Layout,
    record: store::InvestigationRecord,
    clock: Clock,
    form: ClosingPost,
    errors: FormErrors,
}

impl ClosingPage {
    fn outcomes(&self) -> &'static [ClosingOutcome] {
        ClosingOutcome::ALL
    }

    fn outcome_label(&self, stored: &ClosingOutcome) -> &'static str {
        stored.label()
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct ClosingPost {
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    support: String,
    #[serde(default)]
    closed_on: String,
    #[serde(default)]
    reason: String,
}

async fn closing_page(
    req: &HttpRequest,
    state: &AppState,
    user: AuthUser,
    actor: Actor,
    id: InvestigationId,
) -> Result<ClosingPage, AppError> {
    let record = state
        .db_with_settings(move |conn, settings| {
            reports::investigation(conn, &settings.keys, &actor, &id)
        })
        .await?;
    let today = time::local(crate::db::now()).date();
    Ok(ClosingPage {
        layout: Layout::new(req, Some(user)),
        clock: decision_clock(record.investigation.due_on, today),
        record,
        form: ClosingPost {
            closed_on: today.to_string(),
            ..ClosingPost::default()
        },
        errors: FormErrors::default(),
    })
}

pub(super) async fn get_closing(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = InvestigationId(path.into_inner());
    let page = closing_page(&req, &state, user, actor, id).await?;
    crate::web::render(StatusCode::OK, &page)
}

pub(super) async fn post_closing(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<ClosingPost>,
) -> Result<HttpResponse, PageError> {
    let id = InvestigationId(path.into_inner());
    let input = ClosingInput {
        outcome: form.outcome.clone(),
        support: form.support.clone(),
        closed_on: form.closed_on.clone(),
        reason: form.reason.clone(),
    };
    let (closing, by) = (id.clone(), actor.clone());
    let result = state
        .db_with_settings(move |conn, settings| {
            reports::close_investigation(conn, &settings.keys, &by, &closing, &input)
        })
        .await;
    match result {
        Ok(_) => Ok(crate::web::see_other(format!("/utredningar/{id}/avsluta"))),
        Err(AppError::Invalid(errors)) => {
            let mut page = closing_page(&req, &state, user, actor, id).await?;
            page.form = form;
            page.errors = FormErrors(errors);
            crate::web::render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}
