//! One report as the officer sees it, with the forms for the safety assessment and the decision.

use super::*;
use crate::mail::OutboxStatus;
use crate::reports::model::ReporterKind;
use crate::time;

#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct SafetyForm {
    #[serde(default)]
    protection_needed: String,
    #[serde(default)]
    notes: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct ExtensionForm {
    #[serde(default)]
    pub(super) due_on: String,
    #[serde(default)]
    pub(super) reason: String,
}

#[derive(Template)]
#[template(path = "reports/report.html")]
pub(super) struct ReportPage {
    layout: Layout,
    detail: ReportDetail,
    categories: Vec<Category>,
    safety_clock: Clock,
    decision_clock: Clock,
    investigation_clock: Option<Clock>,
    /// Intake officers record the safety assessment and the decision.
    can_record: bool,
    /// Caseworkers extend investigations.
    can_extend: bool,
    allowed: &'static [Decision],
    violence: bool,
    decision_late: bool,
    safety_form: SafetyForm,
    decision_form: DecisionInput,
    pub(super) extension_form: ExtensionForm,
    errors: FormErrors,
    saved: &'static str,
    /// `SAMORDNA_FEEDBACK_DAYS`, for the feedback's time limit before the decision.
    feedback_days: u32,
}

impl ReportPage {
    fn has_personal_numbers(&self) -> bool {
        self.detail
            .children
            .iter()
            .any(|c| c.personal_number.is_some())
    }

    /// When feedback to a reporter with a duty to report (a professional) is due, and whether it
    /// has been sent; `None` for other reporters.
    fn feedback_text(&self) -> Option<String> {
        if self.detail.report.reporter_kind != ReporterKind::Professional {
            return None;
        }
        if self.detail.decision.is_none() {
            return Some(format!(
                "Senast {} dagar efter beslutet. Den skickas automatiskt när beslutet sparas.",
                self.feedback_days
            ));
        }
        let Some(f) = &self.detail.feedback else {
            return Some(
                "Inga uppgifter: beslutet fattades innan återkopplingen började registreras."
                    .into(),
            );
        };
        let sent = f.status == Some(OutboxStatus::Sent);
        let due = match f.due_on {
            Some(due) if !sent && due < time::local(crate::db::now()).date() => {
                format!("Försenad: senast {due}.")
            }
            Some(due) => format!("Senast {due}."),
            None => "Ingen tidsgräns (beslutet fattades före 2026-01-15).".into(),
        };
        let state = match (f.status, f.sent_at) {
            (Some(OutboxStatus::Sent), Some(at)) => format!("Skickad {}.", time::local_text(&at)),
            (Some(OutboxStatus::Sent), None) => "Skickad.".into(),
            (Some(OutboxStatus::Failed), _) => {
                "Inte skickad: mejlet kunde inte skickas. Ge besked på annat sätt.".into()
            }
            (Some(_), _) => "Inte skickad än (mejlet väntar på att skickas).".into(),
            (None, _) => "Inte skickad.".into(),
        };
        Some(format!("{due} {state}"))
    }

    fn protection_answer(&self) -> Option<bool> {
        match self.safety_form.protection_needed.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        }
    }
}

/// Reads a report for a web page: the full page for social services, the outcome page for the
/// professional who filed it, 404 for everyone else.
pub(super) async fn load_report_page(
    req: &HttpRequest,
    state: &AppState,
    user: AuthUser,
    id: ReportId,
) -> Result<Result<ReportPage, HttpResponse>, PageError> {
    let actor = Actor::User(user.clone());
    let detail = state
        .db_with_settings(move |conn, settings| {
            let keys = &settings.keys;
            let (report, view) = access(conn, keys, &actor, &id, Action::View)?;
            Ok(match view {
                View::Full => Some(store::read_detail(
                    conn,
                    keys,
                    report,
                    &actor.audit_actor(),
                )?),
                View::Outcome => None,
            })
        })
        .await?;
    let Some(detail) = detail else {
        return Ok(Err(see_other("/mina-anmalningar".into())));
    };
    let actor = Actor::User(user.clone());
    let municipality = detail.report.municipality_id.clone();
    let can_record = policy::decide(
        &actor,
        Action::Update,
        &Resource::Report {
            municipality: &municipality,
        },
    )
    .is_ok();
    let can_extend = policy::decide(
        &actor,
        Action::Update,
        &Resource::Investigations {
            municipality: &municipality,
        },
    )
    .is_ok();
    let now = crate::db::now();
    let today = time::local(now).date();
    let categories = detail.report.categories();
    let allowed = allowed_decisions(&categories);
    Ok(Ok(ReportPage {
        layout: Layout::new(req, Some(user)),
        safety_clock: safety_clock(detail.report.safety_due_at, now),
        decision_clock: decision_clock(detail.report.decision_due_on, today),
        investigation_clock: detail
            .investigation
            .as_ref()
            .map(|i: &Investigation| decision_clock(i.due_on, today)),
        decision_late: deadlines::decision_is_late(detail.report.decision_due_on, now),
        violence: allowed == [Decision::Open],
        allowed,
        categories,
        can_record,
        can_extend,
        detail,
        safety_form: SafetyForm::default(),
        decision_form: DecisionInput::default(),
        extension_form: ExtensionForm::default(),
        errors: FormErrors::default(),
        saved: "",
        feedback_days: state.settings.feedback_days,
    }))
}

pub(super) async fn get_report(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<SavedQuery>,
) -> Result<HttpResponse, PageError> {
    let mut page = match load_report_page(&req, &state, user, ReportId(path.into_inner())).await? {
        Ok(page) => page,
        Err(redirect) => return Ok(redirect),
    };
    page.saved = Saved::message_on(SavedOn::Report, &query);
    render(StatusCode::OK, &page)
}

/// After a recorded change: back to the report with a note of what was saved; for a form with
/// mistakes, the report page again with what was typed and the errors (422).
pub(super) async fn saved_or_again(
    req: &HttpRequest,
    state: &AppState,
    user: AuthUser,
    id: ReportId,
    result: Result<(), AppError>,
    what: Saved,
    keep: impl FnOnce(&mut ReportPage),
) -> Result<HttpResponse, PageError> {
    match result {
        Ok(()) => Ok(see_other(format!(
            "/anmalningar/{id}?sparat={}#{}",
            what.word(),
            anchor_of(what)
        ))),
        Err(AppError::Invalid(errors)) => {
            let mut page = match load_report_page(req, state, user, id).await? {
                Ok(page) => page,
                Err(redirect) => return Ok(redirect),
            };
            keep(&mut page);
            page.errors = FormErrors(errors);
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}

/// Where on the report page the next step is after saving.
pub(super) fn anchor_of(saved: Saved) -> &'static str {
    match saved {
        Saved::Extension => "utredning",
        _ => "beslut",
    }
}

pub(super) async fn post_safety_assessment(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<SafetyForm>,
) -> Result<HttpResponse, PageError> {
    let id = ReportId(path.into_inner());
    let (report, sent) = (id.clone(), form.clone());
    let protection = match form.protection_needed.as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    let result = state
        .db_with_settings(move |conn, settings| {
            let keys = &settings.keys;
            reports::assess_safety(conn, &actor, &report, protection, &sent.notes, keys).map(|_| ())
        })
        .await;
    saved_or_again(
        &req,
        &state,
        user,
        id,
        result,
        Saved::SafetyAssessment,
        |page| page.safety_form = form,
    )
    .await
}

pub(super) async fn post_decision(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<DecisionInput>,
) -> Result<HttpResponse, PageError> {
    let id = ReportId(path.into_inner());
    let (report, sent) = (id.clone(), form.clone());
    let result = state
        .db_with_settings(move |conn, settings| {
            reports::decide(conn, &actor, &report, &sent, settings).map(|_| ())
        })
        .await;
    if result.is_ok() {
        state.mail_wake.notify_one();
    }
    saved_or_again(&req, &state, user, id, result, Saved::Decision, |page| {
        page.decision_form = form;
    })
    .await
}
