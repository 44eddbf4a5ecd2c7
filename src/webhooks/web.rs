//! The admins' webhook page, `/admin/webhooks`: register an endpoint (its secret shown once),
//! remove one, and every delivery with its status, attempts and last error.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, Responder};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::accounts::identity::{CurrentActor, Layout};
use crate::accounts::MunicipalityId;
use crate::authz::{authorize, Action, Actor, Resource};
use crate::error::{AppError, FieldError, PageError};
use crate::web::csrf::{CsrfForm, NoFields};
use crate::web::{render, AppState, FormErrors};
use crate::webhooks::{self, Delivery, DeliveryStatus, Endpoint, EndpointId, EventType};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/webhooks", web::get().to(get_webhooks))
        .route("/admin/webhooks", web::post().to(post_webhook))
        .route(
            "/admin/webhooks/{id}/ta-bort",
            web::post().to(post_webhook_remove),
        );
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct EndpointForm {
    #[serde(default)]
    pub url: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/webhooks.html")]
struct WebhooksPage {
    layout: Layout,
    endpoints: Vec<Endpoint>,
    counts: Vec<(DeliveryStatus, i64)>,
    deliveries: Vec<(Delivery, String)>,
    events: &'static [EventType],
    form: EndpointForm,
    errors: FormErrors,
    /// The new endpoint's address and secret, shown once.
    created: Option<(String, String)>,
    done: String,
}

/// The admin's own municipality (an integration has none; the check refuses it anyway).
fn own(actor: &Actor) -> MunicipalityId {
    actor
        .municipality()
        .cloned()
        .unwrap_or_else(|| MunicipalityId(String::new()))
}

fn check(
    conn: &mut crate::db::AnyConnection,
    actor: &Actor,
    action: Action,
    object: Option<&str>,
) -> Result<MunicipalityId, AppError> {
    let municipality = own(actor);
    authorize(
        conn,
        actor,
        action,
        Resource::Accounts {
            municipality: &municipality,
        },
        object,
    )?;
    Ok(municipality)
}

impl WebhooksPage {
    async fn load(state: &AppState, req: &HttpRequest, actor: Actor) -> Result<Self, AppError> {
        let user = actor.user().cloned();
        let (endpoints, counts, deliveries) = state
            .db(move |conn| {
                let municipality = check(conn, &actor, Action::View, None)?;
                Ok((
                    webhooks::endpoints(conn, &municipality)?,
                    webhooks::counts(conn, &municipality)?,
                    webhooks::deliveries(conn, &municipality, 200)?,
                ))
            })
            .await?;
        Ok(Self {
            layout: Layout::new(req, user),
            endpoints,
            counts,
            deliveries,
            events: EventType::ALL,
            form: EndpointForm::default(),
            errors: FormErrors::default(),
            created: None,
            done: String::new(),
        })
    }
}

async fn get_webhooks(
    CurrentActor { actor, .. }: CurrentActor,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<impl Responder, PageError> {
    Ok(WebhooksPage::load(&state, &req, actor).await?)
}

async fn post_webhook(
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    req: HttpRequest,
    CsrfForm(form): CsrfForm<EndpointForm>,
) -> Result<HttpResponse, PageError> {
    // Access first, so that a refusal is the answer whatever the form holds.
    let asker = actor.clone();
    state
        .db(move |conn| check(conn, &asker, Action::Create, None))
        .await?;
    let result = register(&state, &actor, &user.id, &form.url).await;
    let mut page = WebhooksPage::load(&state, &req, actor).await?;
    let status = match result {
        Ok(endpoint) => {
            page.created = Some((endpoint.url, endpoint.secret));
            StatusCode::OK
        }
        Err(AppError::Invalid(errors)) => {
            page.form = form;
            page.errors = FormErrors(errors);
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(e) => return Err(e.into()),
    };
    render(status, &page)
}

/// Checks the address (form and reach) and registers it.
async fn register(
    state: &AppState,
    actor: &Actor,
    user: &crate::accounts::UserId,
    text: &str,
) -> Result<Endpoint, AppError> {
    let settings = state.settings.clone();
    let url = webhooks::check_url(text, settings.webhook_private)?;
    let reachable = match crate::schedule::fetch::addresses_of(&url).await {
        Some(addrs) => webhooks::worker::reach(&settings).permits(&addrs),
        None => false,
    };
    if !reachable {
        return Err(AppError::Invalid(vec![FieldError::new(
            "url",
            "Adressen går inte att nå, eller pekar in i ett privat nät. Skriv en adress som nås från internet.",
        )]));
    }
    let (actor, user) = (actor.clone(), user.clone());
    state
        .db_with_settings(move |conn, settings| {
            let municipality = own(&actor);
            webhooks::register(conn, &settings.keys, &actor, &municipality, &user, &url)
        })
        .await
}

async fn post_webhook_remove(
    CurrentActor { actor, .. }: CurrentActor,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, PageError> {
    let (writer, id) = (actor.clone(), EndpointId(path.into_inner()));
    state
        .db(move |conn| {
            let municipality = check(conn, &writer, Action::Update, Some(id.as_str()))?;
            if webhooks::remove(conn, &writer, &municipality, &id)? {
                Ok(())
            } else {
                crate::authz::not_found(
                    conn,
                    &writer,
                    "webhook.remove",
                    crate::audit::event::Object::Municipality(municipality.as_str()),
                    "no such endpoint",
                )
            }
        })
        .await?;
    let mut page = WebhooksPage::load(&state, &req, actor).await?;
    page.done = "Mottagaren är borttagen. Inga fler händelser skickas dit.".into();
    render(StatusCode::OK, &page)
}
