//! Web pages for consultations: the professional's own page (`/konsultation`: ask, and the list
//! of what they asked), one consultation (the asker reads the answer; intake answers), intake's
//! list (`/konsultationer`), and making a consultation into a report with the report form.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::accounts::identity::Layout;
use crate::accounts::identity::{CurrentActor, CurrentUser};
use crate::accounts::{self, AuthUser, Municipality};
use crate::authz::Actor;
use crate::consultations::model::{AnswerInput, ConsultationInput};
use crate::consultations::store::{Asker, Consultation, ConsultationId};
use crate::consultations::{self as consultations, Viewer};
use crate::error::{AppError, FieldError, PageError};
use crate::reports::form::{Intent, ReportForm};
use crate::reports::web::{filed_or_form, wake_for_alert, FormPage};
use crate::time::local_text;
use crate::web::csrf::CsrfForm;
use crate::web::{render, see_other, AppState, FormErrors, Saved, SavedOn, SavedQuery};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/konsultation", web::get().to(get_own))
        .route("/konsultation", web::post().to(post_ask))
        .route("/konsultation/{id}", web::get().to(get_consultation))
        .route("/konsultation/{id}/svar", web::post().to(post_answer))
        .route("/konsultation/{id}/anmalan", web::get().to(get_convert))
        .route("/konsultation/{id}/anmalan", web::post().to(post_convert))
        .route("/konsultationer", web::get().to(get_intake));
}

impl Consultation {
    /// When it was asked, Swedish local time.
    pub fn asked_local(&self) -> String {
        local_text(&self.asked_at)
    }

    /// When it was answered, Swedish local time.
    pub fn answered_local(&self) -> String {
        self.answered_at
            .as_ref()
            .map(local_text)
            .unwrap_or_default()
    }

    /// Where it stands, in words.
    pub fn status(&self) -> &'static str {
        match (self.answered_at, self.converted_at) {
            (_, Some(_)) => "Gjord till orosanmälan",
            (Some(_), None) if self.should_report == Some(true) => "Besvarad: bör anmälas",
            (Some(_), None) => "Besvarad",
            (None, None) => "Väntar på svar",
        }
    }
}

/// The consultation form as typed, kept to be shown again.
#[derive(Clone, Debug, Default, Deserialize)]
struct AskForm {
    #[serde(default)]
    municipality_id: String,
    #[serde(default)]
    situation: String,
    #[serde(default)]
    child_age: String,
    #[serde(default)]
    unit: String,
}

impl AskForm {
    /// The input to check, and what the form itself found wrong (an age that is not a number).
    fn to_input(&self) -> (ConsultationInput, Option<FieldError>) {
        let text = self.child_age.trim();
        let (child_age, error) = match text {
            "" => (None, None),
            text => match text.parse::<i64>() {
                Ok(age) => (Some(age), None),
                Err(_) => (
                    Some(-1),
                    Some(FieldError::new(
                        "child_age",
                        "Skriv barnets ålder med siffror, i hela år, till exempel 9.",
                    )),
                ),
            },
        };
        (
            ConsultationInput {
                municipality_id: self.municipality_id.clone(),
                situation: self.situation.clone(),
                child_age,
                unit: self.unit.clone(),
            },
            error,
        )
    }
}

#[derive(Template)]
#[template(path = "consultations/mine.html")]
struct OwnPage {
    layout: Layout,
    form: AskForm,
    errors: FormErrors,
    municipalities: Vec<Municipality>,
    consultations: Vec<Consultation>,
}

async fn own_page(
    req: &HttpRequest,
    state: &AppState,
    user: AuthUser,
    form: AskForm,
    errors: Vec<FieldError>,
) -> Result<OwnPage, AppError> {
    let actor = Actor::User(user.clone());
    let consultations = state
        .db_with_settings(move |conn, settings| consultations::own(conn, settings, &actor))
        .await?;
    let mut form = form;
    if form.municipality_id.is_empty() {
        form.municipality_id = user.organisation.municipality_id.0.clone();
    }
    Ok(OwnPage {
        layout: Layout::new(req, Some(user)),
        form,
        errors: FormErrors(errors),
        municipalities: state.db(accounts::list_municipalities).await?,
        consultations,
    })
}

async fn get_own(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let page = own_page(&req, &state, user, AskForm::default(), Vec::new()).await?;
    render(StatusCode::OK, &page)
}

async fn post_ask(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<AskForm>,
) -> Result<HttpResponse, PageError> {
    let (input, age_error) = form.to_input();
    let result = state
        .db_with_settings(move |conn, settings| {
            let asked = consultations::ask(conn, settings, &actor, &input);
            match (asked, age_error) {
                (Err(AppError::Invalid(mut errors)), Some(age)) => {
                    errors.retain(|e| e.field != "child_age");
                    errors.push(age);
                    Err(AppError::Invalid(errors))
                }
                (result, _) => result,
            }
        })
        .await;
    match result {
        Ok(consultation) => Ok(see_other(format!(
            "/konsultation/{}?sparat={}",
            consultation.id,
            Saved::ConsultationAsked.word()
        ))),
        Err(AppError::Invalid(errors)) => {
            let page = own_page(&req, &state, user, form, errors).await?;
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
struct AnswerForm {
    #[serde(default)]
    answer: String,
    #[serde(default)]
    should_report: String,
}

impl AnswerForm {
    fn should_report(&self) -> Option<bool> {
        match self.should_report.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        }
    }
}

#[derive(Template)]
#[template(path = "consultations/show.html")]
struct ShowPage {
    layout: Layout,
    consultation: Consultation,
    viewer: Viewer,
    asker: Asker,
    form: AnswerForm,
    errors: FormErrors,
    saved: &'static str,
}

impl ShowPage {
    fn is_intake(&self) -> bool {
        self.viewer == Viewer::Intake
    }

    fn answer_choice(&self) -> Option<bool> {
        self.form.should_report()
    }
}

async fn show_page(
    req: &HttpRequest,
    state: &AppState,
    user: AuthUser,
    id: ConsultationId,
) -> Result<ShowPage, AppError> {
    let actor = Actor::User(user.clone());
    let (consultation, viewer, asker) = state
        .db_with_settings(move |conn, settings| consultations::read(conn, settings, &actor, &id))
        .await?;
    Ok(ShowPage {
        layout: Layout::new(req, Some(user)),
        consultation,
        viewer,
        asker,
        form: AnswerForm::default(),
        errors: FormErrors::default(),
        saved: "",
    })
}

async fn get_consultation(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<SavedQuery>,
) -> Result<HttpResponse, PageError> {
    let mut page = show_page(&req, &state, user, ConsultationId(path.into_inner())).await?;
    page.saved = Saved::message_on(SavedOn::Consultation, &query);
    render(StatusCode::OK, &page)
}

async fn post_answer(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<AnswerForm>,
) -> Result<HttpResponse, PageError> {
    let id = ConsultationId(path.into_inner());
    let input = AnswerInput {
        answer: form.answer.clone(),
        should_report: form.should_report(),
    };
    let answer_id = id.clone();
    let result = state
        .db_with_settings(move |conn, settings| {
            consultations::answer(conn, settings, &actor, &answer_id, &input)
        })
        .await;
    match result {
        Ok(_) => {
            state.mail_wake.notify_one();
            Ok(see_other(format!(
                "/konsultation/{id}?sparat={}",
                Saved::ConsultationAnswered.word()
            )))
        }
        Err(AppError::Invalid(errors)) => {
            let mut page = show_page(&req, &state, user, id).await?;
            page.form = form;
            page.errors = FormErrors(errors);
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "consultations/intake.html")]
struct IntakePage {
    layout: Layout,
    consultations: Vec<Consultation>,
}

impl IntakePage {
    fn waiting(&self) -> usize {
        self.consultations
            .iter()
            .filter(|c| c.answered_at.is_none())
            .count()
    }
}

async fn get_intake(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let consultations = state
        .db_with_settings(move |conn, settings| consultations::for_intake(conn, settings, &actor))
        .await?;
    render(
        StatusCode::OK,
        &IntakePage {
            layout: Layout::new(&req, Some(user)),
            consultations,
        },
    )
}

/// The report form for making a consultation into a report, with what the consultation says
/// filled in. Only the asker gets it; a consultation already made into a report goes to the
/// asker's reports.
async fn get_convert(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = ConsultationId(path.into_inner());
    let asked = id.clone();
    let consultation = state
        .db_with_settings(move |conn, settings| {
            let (consultation, _) = consultations::access(
                conn,
                settings,
                &actor,
                &asked,
                crate::authz::Action::Create,
            )?;
            crate::consultations::store::record_read(conn, &consultation, &actor.audit_actor())?;
            Ok(consultation)
        })
        .await?;
    if consultation.converted_at.is_some() {
        return Ok(see_other("/mina-anmalningar".into()));
    }
    let mut form = ReportForm::blank();
    form.input = consultations::carried_over(&form.input, &consultation);
    let mut page = FormPage::new(&state, Layout::new(&req, Some(user)), form, true).await?;
    page.converting = Some(format!("/konsultation/{id}/anmalan"));
    render(StatusCode::OK, &page)
}

async fn post_convert(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let id = ConsultationId(path.into_inner());
    let (form, intent) = ReportForm::parse(&pairs);
    let mut page = FormPage::new(&state, Layout::new(&req, Some(user)), form.clone(), true).await?;
    page.converting = Some(format!("/konsultation/{id}/anmalan"));
    if intent != Intent::Submit {
        return render(StatusCode::OK, &page);
    }
    let (input, form_errors) = form.to_input(false);
    let result = state
        .db_with_settings(move |conn, settings| {
            consultations::convert(conn, settings, &actor, &id, &input, form_errors)
        })
        .await;
    wake_for_alert(&state, &result);
    filed_or_form(&mut HttpResponse::Ok(), result, page)
}
