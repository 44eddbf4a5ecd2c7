//! The caseworker's page of an investigation's information requests
//! (`/utredningar/{id}/begaran`): every request sent in it with its trail (sent, first read,
//! answered / declined / overdue), each linking to the request's own page `/begaran/{id}`, and
//! the form to send a new one. The form works without JavaScript: choosing the organisation and
//! pressing "Visa personer" sends the form back with everything kept and that organisation's
//! users to tick; "Skicka begäran" sends it through the same flow as the API.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use crate::accounts::identity::{CurrentActor, Layout};
use crate::accounts::{self, AuthUser};
use crate::authz::{policy, Action, Actor, Resource};
use crate::error::{AppError, FieldError, PageError};
use crate::information_requests::model::{RequestInput, Status};
use crate::information_requests::store::{self, InformationRequest, Recipient};
use crate::information_requests::{send, trail};
use crate::reports::store::{InvestigationId, InvestigationRecord};
use crate::time::local_text;
use crate::web::csrf::CsrfForm;
use crate::web::{form_value, render, see_other, AppState, FormErrors};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/utredningar/{id}/begaran", web::get().to(get_requests))
        .route("/utredningar/{id}/begaran", web::post().to(post_request));
}

/// One request on the trail.
pub struct TrailRow {
    pub request: InformationRequest,
    pub recipients: Vec<Recipient>,
    pub organisation: String,
    pub status: Status,
}

impl TrailRow {
    pub fn sent_local(&self) -> String {
        local_text(&self.request.sent_at)
    }

    pub fn read_local(&self) -> String {
        time_or_dash(self.request.first_read_at)
    }

    pub fn replied_local(&self) -> String {
        time_or_dash(self.request.replied_at)
    }

    pub fn recipient_names(&self) -> String {
        self.recipients
            .iter()
            .map(|r| format!("{} ({})", r.name, r.title))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn time_or_dash(at: Option<NaiveDateTime>) -> String {
    at.as_ref().map(local_text).unwrap_or_else(|| "–".into())
}

/// The form as typed, kept to be shown again.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RequestForm {
    pub organisation_id: String,
    pub recipients: Vec<String>,
    pub questions: String,
    pub due_on: String,
}

impl RequestForm {
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        RequestForm {
            organisation_id: form_value(pairs, "organisation_id").to_string(),
            recipients: pairs
                .iter()
                .filter(|(k, _)| k == "recipients")
                .map(|(_, v)| v.clone())
                .collect(),
            questions: form_value(pairs, "questions").to_string(),
            due_on: form_value(pairs, "due_on").to_string(),
        }
    }

    fn chosen(&self, user_id: &str) -> bool {
        self.recipients.iter().any(|r| r == user_id)
    }
}

#[derive(Template)]
#[template(path = "information_requests/investigation.html")]
struct RequestsPage {
    layout: Layout,
    record: InvestigationRecord,
    rows: Vec<TrailRow>,
    /// Whether the actor may send a request now (a caseworker, the investigation open).
    can_send: bool,
    /// Every organisation in the service: (id, "Name (kind, municipality)").
    organisations: Vec<(String, String)>,
    /// The users of the organisation chosen in the form.
    people: Vec<Recipient>,
    form: RequestForm,
    errors: FormErrors,
    default_days: u32,
    sent: bool,
}

impl RequestsPage {
    fn chosen(&self, user_id: &str) -> bool {
        self.form.chosen(user_id)
    }

    fn due_hint(&self) -> String {
        format!(
            "År-månad-dag, till exempel 2027-01-15. Lämnar du fältet tomt blir det om {} dagar.",
            self.default_days
        )
    }
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default)]
    organisation_id: String,
    #[serde(default)]
    skickad: String,
}

async fn requests_page(
    req: &HttpRequest,
    state: &AppState,
    user: AuthUser,
    actor: Actor,
    id: InvestigationId,
    form: RequestForm,
) -> Result<RequestsPage, AppError> {
    let organisation = form.organisation_id.trim().to_string();
    let (record, requests, organisations, people, can_send) = state
        .db_with_settings(move |conn, settings| {
            let requests = trail(conn, settings, &actor, &id)?;
            let record = crate::reports::investigation(conn, &settings.keys, &actor, &id)?;
            let can_send = record.investigation.is_open()
                && policy::decide(
                    &actor,
                    Action::Update,
                    &Resource::Investigations {
                        municipality: &record.investigation.municipality_id,
                    },
                )
                .is_ok();
            let organisations = accounts::list_organisations(conn, None)?;
            let people = if organisation.is_empty() || !can_send {
                Vec::new()
            } else {
                store::people_of(conn, &organisation)?
            };
            Ok((record, requests, organisations, people, can_send))
        })
        .await?;
    let today = crate::time::local(crate::db::now()).date();
    let rows = requests
        .into_iter()
        .map(|(request, recipients)| TrailRow {
            status: request.status(today),
            organisation: organisations
                .iter()
                .find(|(o, _)| o.id.as_str() == request.organisation_id)
                .map(|(o, m)| accounts::organisation_label(&o.name, o.kind, m))
                .unwrap_or_default(),
            request,
            recipients,
        })
        .collect();
    Ok(RequestsPage {
        layout: Layout::new(req, Some(user)),
        record,
        rows,
        can_send,
        organisations: organisations
            .iter()
            .map(|(o, m)| {
                (
                    o.id.as_str().to_string(),
                    accounts::organisation_label(&o.name, o.kind, m),
                )
            })
            .collect(),
        people,
        form,
        errors: FormErrors::default(),
        default_days: state.settings.information_request_days,
        sent: false,
    })
}

async fn get_requests(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, PageError> {
    let id = InvestigationId(path.into_inner());
    let query = query.into_inner();
    let form = RequestForm {
        organisation_id: query.organisation_id,
        ..RequestForm::default()
    };
    let mut page = requests_page(&req, &state, user, actor, id, form).await?;
    page.sent = query.skickad == "1";
    render(StatusCode::OK, &page)
}

async fn post_request(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let id = InvestigationId(path.into_inner());
    let form = RequestForm::from_pairs(&pairs);
    if form_value(&pairs, "intent") == "choose" {
        // Only the organisation changed: the same form again with its people to choose from.
        let mut page = requests_page(&req, &state, user, actor, id, form).await?;
        if page.form.organisation_id.trim().is_empty() && page.can_send {
            page.errors = FormErrors(vec![FieldError::new(
                "organisation_id",
                "Välj vilken verksamhet du vill begära uppgifter från.",
            )]);
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        page.form.recipients.clear();
        return render(StatusCode::OK, &page);
    }
    let input = RequestInput {
        organisation_id: form.organisation_id.clone(),
        recipients: form.recipients.clone(),
        questions: form.questions.clone(),
        due_on: form.due_on.clone(),
    };
    let (sender, investigation) = (actor.clone(), id.clone());
    let result = state
        .db_with_settings(move |conn, settings| {
            send(conn, settings, &sender, &investigation, &input)
        })
        .await;
    match result {
        Ok(_) => {
            state.mail_wake.notify_one();
            Ok(see_other(format!("/utredningar/{id}/begaran?skickad=1")))
        }
        Err(AppError::Invalid(errors)) => {
            let mut page = requests_page(&req, &state, user, actor, id, form).await?;
            page.errors = FormErrors(errors);
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}
