//! Web pages for reports: the public and professional forms with their receipt, "Mina
//! anmälningar" for professional reporters, the intake queue, a report with the officer's forms,
//! and the caseworkers' investigations.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder, Responder};
use askama::Template;
use askama_web::WebTemplate;
use chrono::NaiveDateTime;
use serde::Deserialize;

use crate::accounts::identity::{CurrentActor, CurrentUser, Layout, MaybeUser};
use crate::accounts::web::{set_session_cookies, sign_in};
use crate::accounts::{self, AuthUser, Municipality};
use crate::authz::{authorize, policy, Action, Actor, Resource};
use crate::error::{AppError, FieldError, PageError};
use crate::reports::deadlines::{self, Urgency};
use crate::reports::form::{Identity, ReportForm};
use crate::reports::model::{
    allowed_decisions, Category, CloseAnswer, Decision, MAX_CHILDREN, MAX_GUARDIANS,
};
use crate::reports::store::{
    self, DecisionInput, Filed, Investigation, InvestigationId, OwnReport, QueueItem, QueuePage,
    ReportDetail, ReportId,
};
use crate::reports::{self as reports, access, View};
use crate::time::local_text;
use crate::web::csrf::CsrfForm;
use crate::web::{
    form_value, render, render_with, see_other, AppState, FormErrors, Saved, SavedOn, SavedQuery,
};

mod assignment;
mod intake;
mod investigations;
mod report;
use assignment::*;
use intake::*;
use investigations::*;
use report::*;

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
        .route("/anmalningar/{id}/syskon", web::post().to(post_sibling))
        .route(
            "/anmalningar/{id}/overlamning",
            web::post().to(post_handover),
        )
        .route("/utredningar", web::get().to(get_investigations))
        .route(
            "/utredningar/{id}/tilldela",
            web::post().to(post_assignment),
        )
        .route("/utredningar/{id}/avsluta", web::get().to(get_closing))
        .route("/utredningar/{id}/avsluta", web::post().to(post_closing))
        .route(
            "/utredningar/{id}/forlangning",
            web::post().to(post_extension),
        );
}

// ---- filing ----

#[derive(Template)]
#[template(path = "reports/form.html")]
pub(crate) struct FormPage {
    layout: Layout,
    form: ReportForm,
    errors: FormErrors,
    /// A message for the whole form (too many reports from this address).
    notice: String,
    municipalities: Vec<Municipality>,
    categories: &'static [Category],
    /// The categories that ask whether the suspected person is someone close, and the answers.
    close_categories: Vec<Category>,
    close_answers: &'static [CloseAnswer],
    professional: bool,
    /// The session ended while the professional was writing: log in within the same form.
    login_needed: bool,
    login_email: String,
    max_children: usize,
    max_guardians: usize,
    /// Where the form is sent when it makes a consultation into a report
    /// (`/konsultation/{id}/anmalan`); the professional form's own address otherwise.
    pub(crate) converting: Option<String>,
}

impl FormPage {
    pub(crate) async fn new(
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
            close_categories: Category::asking_someone_close().collect(),
            close_answers: CloseAnswer::ALL,
            professional,
            login_needed: false,
            login_email: String::new(),
            max_children: MAX_CHILDREN,
            max_guardians: MAX_GUARDIANS,
            converting: None,
        })
    }

    /// The form field of the someone-close question for a category.
    fn close_field(&self, category: &Category) -> String {
        format!("someone_close.{}", category.as_str())
    }

    fn action(&self) -> &str {
        if let Some(path) = &self.converting {
            path
        } else if self.professional {
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
        local_text(&self.filed.received_at)
    }

    /// The municipality's number for a `tel:` link.
    fn phone_link(&self) -> String {
        tel(&self.filed.municipality_phone)
    }

    /// An acute report filed outside office hours: socialjour is responsible now, so its number
    /// and 112 come first.
    fn socialjour_first(&self) -> bool {
        self.filed.acute && self.filed.out_of_hours
    }

    fn socialjour_link(&self) -> String {
        tel(&self.filed.socialjour_phone)
    }
}

/// An acute report's alert is in the outbox: send it now rather than at the next poll.
pub(crate) fn wake_for_alert(state: &AppState, result: &Result<Filed, AppError>) {
    if matches!(result, Ok(filed) if filed.acute) {
        state.mail_wake.notify_one();
    }
}

/// What happened to a submitted form: the receipt, or the form again with what to fix.
pub(crate) fn filed_or_form(
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
    let peer = state.client_address(&req);
    let limit = state.clone();
    let result = state
        .db_with_settings(move |conn, settings| {
            reports::file_report(conn, settings, None, &input, form_errors, || {
                limit.public_submission_allowed(peer)
            })
        })
        .await;
    wake_for_alert(&state, &result);
    filed_or_form(&mut HttpResponse::Ok(), result, page)
}

async fn get_professional_form(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
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
    let result = state
        .db_with_settings(move |conn, settings| {
            let actor = Actor::User(user);
            reports::file_report(conn, settings, Some(&actor), &input, form_errors, || true)
        })
        .await;
    wake_for_alert(&state, &result);
    filed_or_form(&mut response, result, page)
}

/// A phone number as a `tel:` link wants it.
fn tel(number: &str) -> String {
    number
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect()
}

// ---- the professional's own reports ----

impl OwnReport {
    /// When it came in, Swedish local time.
    pub fn received_local(&self) -> String {
        local_text(&self.received_at)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "reports/mine.html")]
struct MyReportsPage {
    layout: Layout,
    reports: Vec<OwnReport>,
}

async fn get_my_reports(
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<impl Responder, PageError> {
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
