//! Web pages for reports: the public and professional forms with their receipt, "Mina
//! anmälningar" for professional reporters, the intake queue, a report with the officer's forms,
//! and the caseworkers' investigations.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder, Responder};
use askama::Template;
use askama_web::WebTemplate;
use chrono::NaiveDateTime;
use serde::Deserialize;

use crate::accounts::web::{set_session_cookies, sign_in};
use crate::accounts::{self, AuthUser, Municipality};
use crate::authz::{authorize, policy, Action, Actor, Resource};
use crate::error::{AppError, FieldError, PageError};
use crate::reports::deadlines::{self, Urgency};
use crate::reports::form::{Identity, ReportForm};
use crate::reports::model::{allowed_decisions, Category, Decision, MAX_CHILDREN, MAX_GUARDIANS};
use crate::reports::store::{
    self, DecisionInput, Filed, Investigation, InvestigationId, OwnReport, QueueItem, QueuePage,
    ReportDetail, ReportId,
};
use crate::reports::{self as reports, access, View};
use crate::web::csrf::CsrfForm;
use crate::web::identity::{CurrentUser, MaybeUser};
use crate::web::{
    form_value, local_time, render, render_with, see_other, AppState, FormErrors, Layout,
    SavedQuery,
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/anmalan", web::get().to(get_public_form))
        .route("/anmalan", web::post().to(post_public_form))
        .route(
            "/anmalan/yrkesverksam",
            web::get().to(get_professional_form),
        )
        .route(
            "/anmalan/yrkesverksam",
            web::post().to(post_professional_form),
        )
        .route("/mina-anmalningar", web::get().to(get_my_reports))
        .route("/mottagning", web::get().to(get_intake))
        .route("/anmalningar/{id}", web::get().to(get_report))
        .route(
            "/anmalningar/{id}/skyddsbedomning",
            web::post().to(post_safety_assessment),
        )
        .route("/anmalningar/{id}/beslut", web::post().to(post_decision))
        .route("/utredningar", web::get().to(get_investigations))
        .route(
            "/utredningar/{id}/forlangning",
            web::post().to(post_extension),
        );
}

// ---- filing ----

#[derive(Template)]
#[template(path = "reports/form.html")]
struct FormPage {
    layout: Layout,
    form: ReportForm,
    errors: FormErrors,
    /// A message for the whole form (too many reports from this address).
    notice: String,
    municipalities: Vec<Municipality>,
    categories: &'static [Category],
    professional: bool,
    /// The session ended while the professional was writing: log in within the same form.
    login_needed: bool,
    login_email: String,
    max_children: usize,
    max_guardians: usize,
}

impl FormPage {
    async fn new(
        state: &AppState,
        layout: Layout,
        form: ReportForm,
        professional: bool,
    ) -> Result<Self, AppError> {
        Ok(Self {
            layout,
            form,
            errors: FormErrors::default(),
            notice: String::new(),
            municipalities: state.db(accounts::list_municipalities).await?,
            categories: Category::ALL,
            professional,
            login_needed: false,
            login_email: String::new(),
            max_children: MAX_CHILDREN,
            max_guardians: MAX_GUARDIANS,
        })
    }

    fn action(&self) -> &'static str {
        if self.professional {
            "/anmalan/yrkesverksam"
        } else {
            "/anmalan"
        }
    }
}

#[derive(Template)]
#[template(path = "reports/receipt.html")]
struct ReceiptPage {
    layout: Layout,
    filed: Filed,
    professional: bool,
}

impl ReceiptPage {
    fn received_local(&self) -> String {
        local_time(&self.filed.received_at)
    }

    /// The municipality's number for a `tel:` link.
    fn phone_link(&self) -> String {
        self.filed
            .municipality_phone
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect()
    }
}

/// What happened to a submitted form: the receipt, or the form again with what to fix.
fn filed_or_form(
    response: &mut HttpResponseBuilder,
    result: Result<Filed, AppError>,
    mut page: FormPage,
) -> Result<HttpResponse, PageError> {
    match result {
        Ok(filed) => {
            let receipt = ReceiptPage {
                layout: page.layout,
                filed,
                professional: page.professional,
            };
            render_with(response, StatusCode::OK, &receipt)
        }
        Err(AppError::Invalid(errors)) => {
            page.errors = FormErrors(errors);
            render_with(response, StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(AppError::TooManyRequests) => {
            page.notice = "Många anmälningar har skickats härifrån på kort tid, så den här kunde inte tas emot just nu. \
                Det du skrivit finns kvar: vänta en stund och skicka igen, eller ring socialtjänsten."
                .into();
            render_with(response, StatusCode::TOO_MANY_REQUESTS, &page)
        }
        Err(e) => Err(e.into()),
    }
}

async fn get_public_form(
    req: HttpRequest,
    MaybeUser(user): MaybeUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let page = FormPage::new(&state, Layout::new(&req, user), ReportForm::blank(), false).await?;
    render(StatusCode::OK, &page)
}

async fn post_public_form(
    req: HttpRequest,
    MaybeUser(user): MaybeUser,
    state: web::Data<AppState>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let (form, intent) = ReportForm::parse(&pairs);
    let page = FormPage::new(&state, Layout::new(&req, user), form.clone(), false).await?;
    if intent != reports::form::Intent::Submit {
        return render(StatusCode::OK, &page);
    }
    let (input, form_errors) = form.to_input(true);
    let office = state.settings.office_hours;
    let peer = state.client_address(&req);
    let limit = state.clone();
    let settings = state.settings.clone();
    let result = state
        .db(move |conn| {
            let keys = &settings.keys;
            reports::file_report(conn, None, &input, form_errors, &office, keys, || {
                limit.public_submission_allowed(peer)
            })
        })
        .await;
    filed_or_form(&mut HttpResponse::Ok(), result, page)
}

async fn get_professional_form(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let actor = Actor::User(user.clone());
    state
        .db(move |conn| {
            authorize(
                conn,
                &actor,
                Action::Create,
                Resource::ProfessionalReporting,
                None,
            )
        })
        .await?;
    let page = FormPage::new(
        &state,
        Layout::new(&req, Some(user)),
        ReportForm::blank(),
        true,
    )
    .await?;
    render(StatusCode::OK, &page)
}

/// Files a professional's report. If the session ended while they were writing, the form comes
/// back with everything kept and asks for e-mail and password in the same form; sending it
/// then logs in and files in one step.
async fn post_professional_form(
    req: HttpRequest,
    MaybeUser(user): MaybeUser,
    state: web::Data<AppState>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let (form, intent) = ReportForm::parse(&pairs);
    let mut response = HttpResponse::Ok();
    let mut layout = Layout::new(&req, user);
    if layout.user.is_none() {
        let email = form_value(&pairs, "login_email").trim().to_string();
        let password = form_value(&pairs, "login_password").to_string();
        let signed_in = if email.is_empty() || password.is_empty() {
            None
        } else {
            let (e, p) = (email.clone(), password);
            state.db(move |conn| sign_in(conn, &e, &p)).await?
        };
        let Some((token, user)) = signed_in else {
            let mut page = FormPage::new(&state, layout, form, true).await?;
            page.login_needed = true;
            page.login_email = email.clone();
            let tried = pairs.iter().any(|(k, _)| k == "login_email");
            if tried {
                page.errors = FormErrors(vec![FieldError::new(
                    "login_email",
                    if email.is_empty() {
                        "Fyll i din e-postadress och ditt lösenord."
                    } else {
                        "E-postadressen eller lösenordet stämmer inte. Kontrollera stavningen och försök igen."
                    },
                )]);
            }
            return render(StatusCode::UNAUTHORIZED, &page);
        };
        layout.csrf = set_session_cookies(&mut response, token, &state.settings);
        layout.user = Some(user);
    }
    let user = layout.user.clone().expect("signed in by now");
    let page = FormPage::new(&state, layout, form.clone(), true).await?;
    if intent != reports::form::Intent::Submit {
        return render_with(&mut response, StatusCode::OK, &page);
    }
    let (input, form_errors) = form.to_input(false);
    let office = state.settings.office_hours;
    let settings = state.settings.clone();
    let result = state
        .db(move |conn| {
            let actor = Actor::User(user);
            let keys = &settings.keys;
            reports::file_report(
                conn,
                Some(&actor),
                &input,
                form_errors,
                &office,
                keys,
                || true,
            )
        })
        .await;
    filed_or_form(&mut response, result, page)
}

// ---- the professional's own reports ----

impl OwnReport {
    /// When it came in, Swedish local time.
    pub fn received_local(&self) -> String {
        local_time(&self.received_at)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "reports/mine.html")]
struct MyReportsPage {
    layout: Layout,
    reports: Vec<OwnReport>,
}

async fn get_my_reports(
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<impl Responder, PageError> {
    let actor = Actor::User(user.clone());
    let reports = state
        .db(move |conn| {
            authorize(
                conn,
                &actor,
                Action::View,
                Resource::ProfessionalReporting,
                None,
            )?;
            let id = actor.user().map(|u| u.id.clone()).expect("a user");
            store::own_reports(conn, &id)
        })
        .await?;
    Ok(MyReportsPage {
        layout: Layout::new(&req, Some(user)),
        reports,
    })
}

// ---- intake ----

/// A clock as shown in the queue and on a report.
pub struct Clock {
    pub due: String,
    pub urgency: Urgency,
}

pub struct QueueRow {
    pub item: QueueItem,
    /// The safety assessment clock, while it runs.
    pub safety: Option<Clock>,
    pub decision: Clock,
}

#[derive(Template, WebTemplate)]
#[template(path = "reports/intake.html")]
struct IntakePage {
    layout: Layout,
    rows: Vec<QueueRow>,
    total: i64,
    overdue: i64,
    due_today: i64,
    /// The first line shown (0 for the most urgent), and where the next page starts, if any.
    offset: i64,
    next: Option<i64>,
}

impl IntakePage {
    fn first_shown(&self) -> i64 {
        self.offset + 1
    }
    fn last_shown(&self) -> i64 {
        self.offset + self.rows.len() as i64
    }
}

fn decision_clock(due_on: chrono::NaiveDate, today: chrono::NaiveDate) -> Clock {
    Clock {
        due: due_on.format("%Y-%m-%d").to_string(),
        urgency: deadlines::urgency(due_on, today),
    }
}

fn safety_clock(due_at: NaiveDateTime, now: NaiveDateTime) -> Clock {
    Clock {
        due: local_time(&due_at),
        urgency: deadlines::urgency_at(due_at, now),
    }
}

#[derive(Deserialize)]
struct IntakeQuery {
    /// How many of the most urgent to skip: the queue is shown a page at a time.
    #[serde(default)]
    fran: Option<String>,
}

async fn get_intake(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    query: web::Query<IntakeQuery>,
) -> Result<impl Responder, PageError> {
    let actor = Actor::User(user.clone());
    let page = QueuePage::from(
        query
            .fran
            .as_deref()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0),
    );
    let settings = state.settings.clone();
    let queue = state
        .db(move |conn| reports::intake_queue_for(conn, &settings.keys, &actor, page))
        .await?;
    let now = crate::db::now();
    let today = deadlines::local(now).date();
    let rows: Vec<QueueRow> = queue
        .items
        .into_iter()
        .map(|item| QueueRow {
            safety: (!item.safety_assessed).then(|| safety_clock(item.report.safety_due_at, now)),
            decision: decision_clock(item.report.decision_due_on, today),
            item,
        })
        .collect();
    let end = page.offset + rows.len() as i64;
    Ok(IntakePage {
        layout: Layout::new(&req, Some(user)),
        total: queue.total,
        overdue: queue.overdue,
        due_today: queue.due_today,
        offset: page.offset,
        next: (end < queue.total).then_some(end),
        rows,
    })
}

// ---- one report ----

#[derive(Clone, Debug, Default, Deserialize)]
struct SafetyForm {
    #[serde(default)]
    protection_needed: String,
    #[serde(default)]
    notes: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct ExtensionForm {
    #[serde(default)]
    due_on: String,
    #[serde(default)]
    reason: String,
}

#[derive(Template)]
#[template(path = "reports/report.html")]
struct ReportPage {
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
    extension_form: ExtensionForm,
    errors: FormErrors,
    saved: &'static str,
}

impl ReportPage {
    fn has_personal_numbers(&self) -> bool {
        self.detail
            .children
            .iter()
            .any(|c| c.personal_number.is_some())
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
async fn load_report_page(
    req: &HttpRequest,
    state: &AppState,
    user: AuthUser,
    id: ReportId,
) -> Result<Result<ReportPage, HttpResponse>, PageError> {
    let actor = Actor::User(user.clone());
    let settings = state.settings.clone();
    let detail = state
        .db(move |conn| {
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
    let today = deadlines::local(now).date();
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
    }))
}

async fn get_report(
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
    page.saved = match query.sparat.as_deref() {
        Some("skydd") => "Skyddsbedömningen är sparad.",
        Some("beslut") => "Beslutet är sparat.",
        Some("forlangning") => "Förlängningen är sparad.",
        _ => "",
    };
    render(StatusCode::OK, &page)
}

/// After a recorded change: back to the report with a note of what was saved; for a form with
/// mistakes, the report page again with what was typed and the errors (422).
async fn saved_or_again(
    req: &HttpRequest,
    state: &AppState,
    user: AuthUser,
    id: ReportId,
    result: Result<(), AppError>,
    what: &str,
    keep: impl FnOnce(&mut ReportPage),
) -> Result<HttpResponse, PageError> {
    match result {
        Ok(()) => Ok(see_other(format!(
            "/anmalningar/{id}?sparat={what}#{}",
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
fn anchor_of(saved: &str) -> &'static str {
    match saved {
        "forlangning" => "utredning",
        _ => "beslut",
    }
}

async fn post_safety_assessment(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<SafetyForm>,
) -> Result<HttpResponse, PageError> {
    let id = ReportId(path.into_inner());
    let (actor, report, sent) = (Actor::User(user.clone()), id.clone(), form.clone());
    let protection = match form.protection_needed.as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    let settings = state.settings.clone();
    let result = state
        .db(move |conn| {
            let keys = &settings.keys;
            reports::assess_safety(conn, &actor, &report, protection, &sent.notes, keys).map(|_| ())
        })
        .await;
    saved_or_again(&req, &state, user, id, result, "skydd", |page| {
        page.safety_form = form
    })
    .await
}

async fn post_decision(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<DecisionInput>,
) -> Result<HttpResponse, PageError> {
    let id = ReportId(path.into_inner());
    let (actor, report, sent) = (Actor::User(user.clone()), id.clone(), form.clone());
    let settings = state.settings.clone();
    let result = state
        .db(move |conn| reports::decide(conn, &actor, &report, &sent, &settings).map(|_| ()))
        .await;
    if result.is_ok() {
        state.mail_wake.notify_one();
    }
    saved_or_again(&req, &state, user, id, result, "beslut", |page| {
        page.decision_form = form
    })
    .await
}

// ---- investigations ----

pub struct InvestigationRow {
    pub investigation: Investigation,
    pub reference: String,
    pub clock: Clock,
}

#[derive(Template, WebTemplate)]
#[template(path = "reports/investigations.html")]
struct InvestigationsPage {
    layout: Layout,
    rows: Vec<InvestigationRow>,
}

async fn get_investigations(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
) -> Result<impl Responder, PageError> {
    let actor = Actor::User(user.clone());
    let settings = state.settings.clone();
    let rows = state
        .db(move |conn| reports::investigations_for(conn, &settings.keys, &actor))
        .await?;
    let today = deadlines::local(crate::db::now()).date();
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

async fn post_extension(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<ExtensionForm>,
) -> Result<HttpResponse, PageError> {
    let id = InvestigationId(path.into_inner());
    let (actor, sent) = (Actor::User(user.clone()), form.clone());
    let settings = state.settings.clone();
    let (report, result) = match state
        .db(move |conn| {
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
    saved_or_again(&req, &state, user, report, result, "forlangning", |page| {
        page.extension_form = form
    })
    .await
}
