//! The caseworkers' investigations and the extension of one.

use super::*;
use crate::time;

pub struct InvestigationRow {
    pub investigation: Investigation,
    pub reference: String,
    pub clock: Clock,
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
            .map(|(investigation, reference)| InvestigationRow {
                clock: decision_clock(investigation.due_on, today),
                investigation,
                reference,
            })
            .collect(),
    })
}

pub(super) async fn post_extension(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<ExtensionForm>,
) -> Result<HttpResponse, PageError> {
    let id = InvestigationId(path.into_inner());
    let sent = form.clone();
    let (report, result) = match state
        .db_with_settings(move |conn, settings| {
            let keys = &settings.keys;
            let investigation = store::find_investigation(conn, keys, &id)?;
            let result = reports::extend(conn, &actor, &id, &sent.due_on, &sent.reason, keys);
            Ok((investigation.map(|i| i.report_id), result))
        })
        .await?
    {
        (Some(report), result) => (report, result.map(|_| ())),
        (None, result) => return Err(result.err().unwrap_or(AppError::NotFound).into()),
    };
    saved_or_again(
        &req,
        &state,
        user,
        report,
        result,
        Saved::Extension,
        |page| page.extension_form = form,
    )
    .await
}
