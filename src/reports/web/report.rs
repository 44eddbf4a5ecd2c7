//! One report as the officer sees it, with the forms for the safety assessment, a decision for
//! each child, a sibling to add, and each child's investigation with its extensions.

use super::*;
use crate::mail::OutboxStatus;
use crate::reports::form::row_key;
use crate::reports::model::ChildDecisionInput;
use crate::reports::model::ReporterKind;
use crate::reports::store::{ExtensionInput, SiblingInput};
use crate::time;

#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct SafetyForm {
    #[serde(default)]
    protection_needed: String,
    #[serde(default)]
    notes: String,
}

/// The extension form of one investigation, as typed.
#[derive(Clone, Debug, Default)]
pub(super) struct ExtensionForm {
    /// Which investigation's form it is.
    pub(super) investigation: String,
    pub(super) input: ExtensionInput,
}

#[derive(Template)]
#[template(path = "reports/report.html")]
pub(super) struct ReportPage {
    layout: Layout,
    detail: ReportDetail,
    categories: Vec<Category>,
    safety_clock: Clock,
    decision_clock: Clock,
    /// Intake officers record the safety assessment and the decision.
    can_record: bool,
    /// Caseworkers extend investigations.
    can_extend: bool,
    allowed: &'static [Decision],
    violence: bool,
    decision_late: bool,
    safety_form: SafetyForm,
    /// The decision form as typed, one entry per child of `detail.children` (same order).
    decision_forms: Vec<ChildDecisionInput>,
    sibling_form: SiblingInput,
    pub(super) extension_form: ExtensionForm,
    errors: FormErrors,
    saved: &'static str,
    /// `SAMORDNA_FEEDBACK_DAYS`, for the feedback's time limit before the decision.
    feedback_days: u32,
    /// Each child's hand-over to the case system, once recorded.
    handovers: Vec<store::handover::Handover>,
    /// The hand-over form as typed (its `child_id` names the child's form).
    pub(super) handover_form: crate::reports::model::HandoverInput,
}

impl ReportPage {
    /// A child as headings name it: by name, or "Barn 2" when the report gives none.
    fn child_label(&self, name: &str, number: &usize) -> String {
        if name.is_empty() {
            format!("Barn {number}")
        } else {
            name.to_string()
        }
    }

    /// The hand-over of a child, once recorded.
    fn handover_of(&self, child_id: &str) -> Option<&store::handover::Handover> {
        self.handovers.iter().find(|h| h.child_id == child_id)
    }

    /// The registration number as typed in a child's hand-over form.
    fn handover_value(&self, child_id: &str) -> &str {
        if self.handover_form.child_id.as_deref() == Some(child_id) {
            &self.handover_form.registration_number
        } else {
            ""
        }
    }

    /// The error beside a child's hand-over form, if it was the one sent.
    fn handover_error(&self, child_id: &str) -> Option<&str> {
        if self.handover_form.child_id.as_deref() == Some(child_id) {
            self.errors
                .get("registration_number")
                .or(self.errors.get("handed_over_at"))
                .or(self.errors.get("child_id"))
        } else {
            None
        }
    }

    /// The decision form of the child at `k`, as typed.
    fn decision_form(&self, k: &usize) -> ChildDecisionInput {
        self.decision_forms.get(*k).cloned().unwrap_or_default()
    }

    /// The someone-close answer for a category, as shown.
    fn close_label(&self, category: &Category) -> &'static str {
        self.detail.report.someone_close().answer(*category).label()
    }

    /// The field name of the child at `k` in the decision form, e.g. `children[1].reason`.
    fn child_field(&self, k: &usize, name: &str) -> String {
        format!("children[{k}].{name}")
    }

    /// The clock of an investigation.
    fn investigation_clock(&self, due_on: &chrono::NaiveDate) -> Clock {
        decision_clock(*due_on, time::local(crate::db::now()).date())
    }

    /// What was typed in an investigation's extension form (only the one sent).
    fn extension_value(&self, investigation: &str, field: &str) -> String {
        if self.extension_form.investigation != investigation {
            return String::new();
        }
        match field {
            "due_on" => self.extension_form.input.due_on.clone(),
            _ => self.extension_form.input.reason.clone(),
        }
    }

    /// The error of an extension form's field (`due_on-<id>`, `reason-<id>`).
    fn extension_error(&self, investigation: &str, field: &str) -> Option<&str> {
        self.errors.get(&format!("{field}-{investigation}"))
    }

    fn undecided(&self) -> usize {
        self.detail.undecided()
    }

    /// When feedback to a reporter with a duty to report (a professional) is due, and whether it
    /// has been sent; `None` for other reporters.
    fn feedback_text(&self) -> Option<String> {
        if self.detail.report.reporter_kind != ReporterKind::Professional {
            return None;
        }
        if self.detail.undecided() == self.detail.children.len() {
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
                View::Full => {
                    let handovers = store::handover::of_report(conn, &report.id)?;
                    let detail = store::read_detail(conn, keys, report, &actor.audit_actor())?;
                    Some((detail, handovers))
                }
                View::Outcome => None,
            })
        })
        .await?;
    let Some((detail, handovers)) = detail else {
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
    let allowed = allowed_decisions(&categories, &detail.report.someone_close());
    Ok(Ok(ReportPage {
        layout: Layout::new(req, Some(user)),
        safety_clock: safety_clock(detail.report.safety_due_at, now),
        decision_clock: decision_clock(detail.report.decision_due_on, today),
        decision_late: deadlines::decision_is_late(detail.report.decision_due_on, now),
        violence: detail.report.violence_rule_applies(),
        decision_forms: vec![ChildDecisionInput::default(); detail.children.len()],
        allowed,
        categories,
        can_record,
        can_extend,
        detail,
        safety_form: SafetyForm::default(),
        sibling_form: SiblingInput::default(),
        extension_form: ExtensionForm::default(),
        errors: FormErrors::default(),
        saved: "",
        feedback_days: state.settings.feedback_days,
        handovers,
        handover_form: Default::default(),
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
        Saved::HandedOver => "overlamning",
        _ => "beslut",
    }
}

/// Reads the posted decision form: `children[k].child_id`, `children[k].decision`, … for each
/// child `k` of the page. Returns every child's entry (to show again) and the entries to record
/// (those not left blank) with the `k` of each.
fn read_decision_form(pairs: &[(String, String)]) -> (Vec<ChildDecisionInput>, Vec<usize>) {
    let mut forms: std::collections::BTreeMap<usize, ChildDecisionInput> = Default::default();
    for (key, value) in pairs {
        let Some(("children", k, field)) = row_key(key) else {
            continue;
        };
        if k >= 4 * crate::reports::model::MAX_CHILDREN {
            continue;
        }
        let form = forms.entry(k).or_default();
        match field {
            "child_id" => form.child_id = value.clone(),
            "decision" => form.decision = value.clone(),
            "reason" => form.reason = value.clone(),
            "late_reason" => form.late_reason = value.clone(),
            "siblings_note" => form.siblings_note = value.clone(),
            _ => {}
        }
    }
    let size = forms.keys().next_back().map_or(0, |k| k + 1);
    let mut all = vec![ChildDecisionInput::default(); size];
    for (k, form) in forms {
        all[k] = form;
    }
    let chosen = (0..all.len()).filter(|&k| !all[k].is_blank()).collect();
    (all, chosen)
}

/// Turns `children[i].…` of the i-th entry recorded into `children[k].…` of the page.
fn to_page_fields(errors: Vec<FieldError>, chosen: &[usize]) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|mut e| {
            if let Some((_, i, name)) = row_key(&e.field).filter(|(l, _, _)| *l == "children") {
                if let Some(k) = chosen.get(i) {
                    e.field = format!("children[{k}].{name}");
                }
            } else if e.field == "children" {
                e.field = "decision".into();
            }
            e
        })
        .collect()
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
            reports::assess_safety(conn, keys, &actor, &report, protection, &sent.notes).map(|_| ())
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
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let id = ReportId(path.into_inner());
    let (forms, chosen) = read_decision_form(&pairs);
    let input = DecisionInput {
        children: chosen.iter().map(|&k| forms[k].clone()).collect(),
        ..Default::default()
    };
    // Nothing chosen still goes through `decide`, so that access is checked (and refused) first.
    let nothing_chosen = input.children.is_empty();
    let report = id.clone();
    let result = state
        .db_with_settings(move |conn, settings| {
            reports::decide(conn, settings, &actor, &report, &input).map(|_| ())
        })
        .await
        .map_err(|e| match e {
            AppError::Invalid(_) if nothing_chosen => AppError::Invalid(vec![FieldError::new(
                "decision",
                "Välj ett beslut för minst ett av barnen.",
            )]),
            AppError::Invalid(errors) => AppError::Invalid(to_page_fields(errors, &chosen)),
            other => other,
        });
    if result.is_ok() {
        state.mail_wake.notify_one();
    }
    saved_or_again(&req, &state, user, id, result, Saved::Decision, |page| {
        for (k, form) in forms.into_iter().enumerate() {
            if k < page.decision_forms.len() {
                page.decision_forms[k] = form;
            }
        }
    })
    .await
}

pub(super) async fn post_sibling(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<SiblingInput>,
) -> Result<HttpResponse, PageError> {
    let id = ReportId(path.into_inner());
    let (report, sent) = (id.clone(), form.clone());
    let result = state
        .db_with_settings(move |conn, settings| {
            reports::add_sibling(conn, &settings.keys, &actor, &report, &sent).map(|_| ())
        })
        .await
        .map_err(|e| match e {
            AppError::Invalid(errors) => AppError::Invalid(
                errors
                    .into_iter()
                    .map(|mut e| {
                        e.field = format!("sibling.{}", e.field);
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
        id,
        result,
        Saved::SiblingAdded,
        |page| {
            page.sibling_form = form;
        },
    )
    .await
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct HandoverForm {
    #[serde(default)]
    child_id: String,
    #[serde(default)]
    registration_number: String,
}

/// The intake officer records that a child's report is handed over to the case system.
pub(super) async fn post_handover(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<HandoverForm>,
) -> Result<HttpResponse, PageError> {
    let id = ReportId(path.into_inner());
    let input = crate::reports::model::HandoverInput {
        child_id: Some(form.child_id.clone()),
        registration_number: form.registration_number.clone(),
        handed_over_at: None,
    };
    let (report, sent) = (id.clone(), input.clone());
    let result = state
        .db_with_settings(move |conn, settings| {
            crate::reports::handover::hand_over(conn, &settings.keys, &actor, &report, &sent)
                .map(|_| ())
        })
        .await;
    saved_or_again(&req, &state, user, id, result, Saved::HandedOver, |page| {
        page.handover_form = input;
    })
    .await
}
