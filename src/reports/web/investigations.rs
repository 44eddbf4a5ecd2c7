//! The caseworkers' investigations and the extension of one.

use super::*;
use crate::reports::store::ExtensionInput;
use crate::time;

pub struct InvestigationRow {
    pub investigation: Investigation,
    pub reference: String,
    /// Which child of the report: 1 for the first, …
    pub child: i32,
    pub clock: Clock,
}

impl InvestigationRow {
    /// Its last day is later than four months from opening: it has been extended.
    pub fn extended(&self) -> bool {
        self.investigation.due_on > deadlines::investigation_due(self.investigation.opened_on)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "reports/investigations.html")]
pub(super) struct InvestigationsPage {
    layout: Layout,
    rows: Vec<InvestigationRow>,
}

pub(super) async fn get_investigations(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
) -> Result<impl Responder, PageError> {
    let rows = state
        .db_with_settings(move |conn, settings| {
            reports::investigations_for(conn, &settings.keys, &actor)
        })
        .await?;
    let today = time::local(crate::db::now()).date();
    Ok(InvestigationsPage {
        layout: Layout::new(&req, Some(user)),
        rows: rows
            .into_iter()
            .map(|line| InvestigationRow {
                clock: decision_clock(line.investigation.due_on, today),
                investigation: line.investigation,
                reference: line.reference,
                child: line.child,
            })
            .collect(),
    })
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
