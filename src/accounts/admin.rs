//! Admin pages: the organisations, users and API tokens of the admin's own municipality. Adding a
//! municipality is for the service's operator, on the command line (`samordna municipality add`).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, Responder};
use askama::Template;
use askama_web::WebTemplate;
use chrono::NaiveDateTime;
use serde::Deserialize;

use crate::accounts::identity::{CurrentActor, Layout};
use crate::accounts::tokens::{self, ApiToken, Holder, TokenId};
use crate::accounts::{
    self, MunicipalityId, NewOrganisation, NewUser, OrgKind, Organisation, OrganisationId,
    Principal, Role, User, UserId,
};
use crate::audit::event::{Event, Object};
use crate::authz::{authorize, Action, Actor, Resource};
use crate::db::{write_tx, AnyConnection};
use crate::error::{AppError, FieldError, PageError};
use crate::web::csrf::{CsrfForm, NoFields};
use crate::web::{render, AppState, FormErrors};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin", web::get().to(get_admin))
        .route("/admin/users", web::get().to(get_users))
        .route("/admin/users", web::post().to(post_user))
        .route(
            "/admin/users/{id}/tvastegs",
            web::post().to(post_two_factor_reset),
        )
        .route("/admin/organisations", web::get().to(get_organisations))
        .route("/admin/organisations", web::post().to(post_organisation))
        .route("/admin/tokens", web::get().to(get_tokens))
        .route("/admin/tokens", web::post().to(post_token))
        .route(
            "/admin/tokens/{id}/revoke",
            web::post().to(post_token_revoke),
        );
}

/// The admin's own municipality, whose accounts the pages list. (An integration has none; the
/// access check refuses it anyway.)
fn own(actor: &Actor) -> MunicipalityId {
    actor
        .municipality()
        .cloned()
        .unwrap_or_else(|| MunicipalityId(String::new()))
}

/// Checks an admin action on an object (a user, an organisation, a token) of the municipality
/// `target`: another municipality's admin is refused as if it did not exist (404, audited).
/// `None` (there is no such object) checks the admin's own, so the action goes on to say what is
/// wrong with the input.
fn authorize_in(
    conn: &mut AnyConnection,
    actor: &Actor,
    action: Action,
    target: Option<MunicipalityId>,
    object_id: Option<&str>,
) -> Result<(), AppError> {
    let municipality = target.unwrap_or_else(|| own(actor));
    authorize(
        conn,
        actor,
        action,
        Resource::Accounts {
            municipality: &municipality,
        },
        object_id,
    )
}

/// Adds a user for `actor`, who must be an admin of the organisation's municipality (the page
/// and `POST /api/v1/users`).
pub(crate) fn add_user_as(
    conn: &mut AnyConnection,
    settings: &crate::config::Settings,
    actor: &Actor,
    input: &NewUser,
) -> Result<User, AppError> {
    let org = OrganisationId(input.organisation_id.trim().to_string());
    let target = accounts::municipality_of_organisation(conn, &org)?;
    authorize_in(conn, actor, Action::Create, target, Some(org.as_str()))?;
    accounts::add_user(conn, settings, &actor.audit_actor(), input)
}

/// Shows what became of a submitted form: the page with `done` applied, or with the form and
/// its errors again (422). Any other error is the error page.
fn show_outcome<P: Template, T>(
    mut page: P,
    result: Result<T, AppError>,
    done: impl FnOnce(&mut P, T),
    invalid: impl FnOnce(&mut P, FormErrors),
) -> Result<HttpResponse, PageError> {
    let status = match result {
        Ok(value) => {
            done(&mut page, value);
            StatusCode::OK
        }
        Err(AppError::Invalid(errors)) => {
            invalid(&mut page, FormErrors(errors));
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(e) => return Err(e.into()),
    };
    render(status, &page)
}

async fn get_admin(
    CurrentActor { actor, .. }: CurrentActor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    state
        .db(move |conn| authorize_in(conn, &actor, Action::View, None, None))
        .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/admin/users"))
        .finish())
}

// ---- users ----

#[derive(Clone, Debug, Default, Deserialize)]
pub struct UserForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub organisation_id: String,
    pub role_reporter: Option<String>,
    pub role_intake: Option<String>,
    pub role_caseworker: Option<String>,
    pub role_manager: Option<String>,
    pub role_admin: Option<String>,
    #[serde(default)]
    pub password: String,
}

impl UserForm {
    pub fn has_role(&self, role: &Role) -> bool {
        match role {
            Role::Reporter => self.role_reporter.is_some(),
            Role::Intake => self.role_intake.is_some(),
            Role::Caseworker => self.role_caseworker.is_some(),
            Role::Manager => self.role_manager.is_some(),
            Role::Admin => self.role_admin.is_some(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<(User, String, Vec<Role>)>,
    organisations: Vec<(Organisation, String)>,
    all_roles: &'static [Role],
    form: UserForm,
    errors: FormErrors,
    /// The new account's name and its password, shown once.
    created: Option<(String, String)>,
    /// The name of a user whose two-factor sign-in was just reset.
    reset: Option<String>,
    /// How each user last signed in (an identity provider's name, or `None` for a password) and
    /// when.
    sign_ins: HashMap<UserId, (Option<String>, NaiveDateTime)>,
    /// The identity provider each user is linked to, if any.
    linked: HashMap<UserId, String>,
}

impl UsersPage {
    /// How a user signs in: by password, or through which identity provider.
    fn sign_in_method(&self, user: &UserId) -> String {
        match (self.sign_ins.get(user), self.linked.get(user)) {
            (Some((Some(provider), _)), _) | (_, Some(provider)) => provider.clone(),
            _ => "Lösenord".into(),
        }
    }

    /// When a user last signed in.
    fn last_sign_in(&self, user: &UserId) -> String {
        self.sign_ins
            .get(user)
            .map_or_else(|| "Aldrig".into(), |(_, at)| crate::time::local_text(at))
    }

    fn needs_second_factor(&self, roles: &[Role]) -> bool {
        accounts::two_factor::required_for(roles)
    }

    async fn load(state: &AppState, req: &HttpRequest, actor: Actor) -> Result<Self, AppError> {
        let user = actor.user().cloned();
        let (users, organisations, sign_ins, linked) = state
            .db(move |conn| {
                authorize_in(conn, &actor, Action::View, None, None)?;
                let own = own(&actor);
                Ok((
                    accounts::list_users(conn, &own)?,
                    accounts::list_organisations(conn, Some(&own))?,
                    accounts::sso::store::last_sign_ins(conn, &own)?,
                    accounts::sso::store::linked_providers(conn, &own)?,
                ))
            })
            .await?;
        Ok(Self {
            layout: Layout::new(req, user),
            users,
            organisations,
            sign_ins,
            linked,
            all_roles: Role::ALL,
            form: UserForm::default(),
            errors: FormErrors::default(),
            created: None,
            reset: None,
        })
    }
}

async fn get_users(
    CurrentActor { actor, .. }: CurrentActor,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<impl Responder, PageError> {
    Ok(UsersPage::load(&state, &req, actor).await?)
}

async fn post_user(
    CurrentActor { actor, .. }: CurrentActor,
    state: web::Data<AppState>,
    req: HttpRequest,
    CsrfForm(form): CsrfForm<UserForm>,
) -> Result<HttpResponse, PageError> {
    let password = if form.password.trim().is_empty() {
        accounts::password::generate()
    } else {
        form.password.clone()
    };
    let input = NewUser {
        email: form.email.clone(),
        name: form.name.clone(),
        title: form.title.clone(),
        phone: form.phone.clone(),
        organisation_id: form.organisation_id.clone(),
        roles: Role::ALL
            .iter()
            .copied()
            .filter(|r| form.has_role(r))
            .collect(),
        password: password.clone(),
    };
    let writer = actor.clone();
    let result = state
        .db_with_settings(move |conn, settings| add_user_as(conn, settings, &writer, &input))
        .await;
    if result.is_ok() {
        state.mail_wake.notify_one();
    }
    let page = UsersPage::load(&state, &req, actor).await?;
    show_outcome(
        page,
        result,
        |page, created| page.created = Some((created.name, password)),
        |page, errors| {
            page.form = UserForm {
                password: String::new(),
                ..form
            };
            page.errors = errors;
        },
    )
}

/// Turns off a user's two-factor sign-in when they have lost both phone and recovery codes: their
/// sessions end, and their next login sets up the app again.
async fn post_two_factor_reset(
    CurrentActor { actor, .. }: CurrentActor,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, PageError> {
    let (writer, id) = (actor.clone(), accounts::UserId(path.into_inner()));
    let name = state
        .db(move |conn| {
            // Checked before the change's transaction, so that a refusal stays in the audit trail.
            let municipality = accounts::municipality_of_user(conn, &id)?;
            authorize_in(
                conn,
                &writer,
                Action::Update,
                municipality,
                Some(id.as_str()),
            )?;
            write_tx(conn, |conn| {
                let target = accounts::load_auth_user(conn, &id)?.ok_or(AppError::NotFound)?;
                accounts::two_factor::reset(conn, &id)?;
                Event::success(
                    &writer.audit_actor(),
                    "user.two_factor_reset",
                    Object::User(id.as_str()),
                )
                .record(conn)?;
                Ok(target.name)
            })
        })
        .await?;
    let mut page = UsersPage::load(&state, &req, actor).await?;
    page.reset = Some(name);
    render(StatusCode::OK, &page)
}

// ---- organisations ----

#[derive(Template, WebTemplate)]
#[template(path = "admin/organisations.html")]
struct OrganisationsPage {
    layout: Layout,
    organisations: Vec<(Organisation, String)>,
    /// The admin's own municipality, where new organisations go.
    municipality_name: String,
    kinds: &'static [OrgKind],
    principals: &'static [Principal],
    org_form: NewOrganisation,
    org_errors: FormErrors,
    /// The name is used in another municipality: the form asks to confirm.
    ask_same_name: bool,
    done: String,
}

/// The form for a new organisation. A name used in another municipality needs `same_name=ja`:
/// the admin has been told where and adds it anyway (see [`post_organisation`]).
#[derive(Clone, Debug, Default, Deserialize)]
struct OrganisationForm {
    #[serde(flatten)]
    organisation: NewOrganisation,
    #[serde(default)]
    same_name: String,
}

impl OrganisationsPage {
    async fn load(state: &AppState, req: &HttpRequest, actor: Actor) -> Result<Self, AppError> {
        let user = actor.user().cloned();
        let organisations = state
            .db(move |conn| {
                authorize_in(conn, &actor, Action::View, None, None)?;
                accounts::list_organisations(conn, Some(&own(&actor)))
            })
            .await?;
        Ok(Self {
            layout: Layout::new(req, user.clone()),
            organisations,
            municipality_name: user.map(|u| u.municipality_name).unwrap_or_default(),
            kinds: OrgKind::ALL,
            principals: Principal::ALL,
            org_form: NewOrganisation::default(),
            org_errors: FormErrors::default(),
            ask_same_name: false,
            done: String::new(),
        })
    }
}

async fn get_organisations(
    CurrentActor { actor, .. }: CurrentActor,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<impl Responder, PageError> {
    Ok(OrganisationsPage::load(&state, &req, actor).await?)
}

/// Adds an organisation to the admin's own municipality (whatever the form says). A name that an
/// organisation of another municipality has is added only once the admin confirms it: the form
/// comes back with a warning that says where the name is used. Adding first and warning after
/// would leave the copy in place, where a caseworker could pick it for a consent; with the
/// confirmation it is there only by intent, and every list of organisations of more than one
/// municipality names each with its kind and municipality.
async fn post_organisation(
    CurrentActor { actor, .. }: CurrentActor,
    state: web::Data<AppState>,
    req: HttpRequest,
    CsrfForm(form): CsrfForm<OrganisationForm>,
) -> Result<HttpResponse, PageError> {
    let writer = actor.clone();
    let input = NewOrganisation {
        municipality_id: own(&actor).0,
        ..form.organisation.clone()
    };
    let (name, confirmed) = (input.name.clone(), form.same_name == "ja");
    let outcome = state
        .db(move |conn| {
            authorize_in(conn, &writer, Action::Create, None, None)?;
            write_tx(conn, |conn| {
                let org = match accounts::create_organisation_unless_named_elsewhere(
                    conn, &input, confirmed,
                )? {
                    Ok(org) => org,
                    Err(elsewhere) => return Ok(Err(elsewhere)),
                };
                Event::success(
                    &writer.audit_actor(),
                    "organisation.create",
                    Object::Organisation(org.id.as_str()),
                )
                .detail(org.kind.as_str())
                .record(conn)?;
                Ok(Ok(org))
            })
        })
        .await;
    let ask_same_name = matches!(outcome, Ok(Err(_)));
    let result = outcome.and_then(|added| {
        added.map_err(|elsewhere| {
            AppError::Invalid(vec![FieldError::new(
                "name",
                accounts::same_name_warning(&name, &elsewhere),
            )])
        })
    });
    let page = OrganisationsPage::load(&state, &req, actor).await?;
    show_outcome(
        page,
        result,
        |page, org| page.done = format!("{} är tillagd.", org.name),
        |page, errors| {
            page.org_form = form.organisation;
            page.org_errors = errors;
            page.ask_same_name = ask_same_name;
        },
    )
}

// ---- API tokens ----

#[derive(Clone, Debug, Default, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    pub name: String,
    /// `user:<id>` or `org:<id>`.
    #[serde(default)]
    pub holder: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/tokens.html")]
struct TokensPage {
    layout: Layout,
    tokens: Vec<ApiToken>,
    users: Vec<(User, String, Vec<Role>)>,
    organisations: Vec<(Organisation, String)>,
    form: TokenForm,
    errors: FormErrors,
    issued: Option<String>,
    done: String,
}

impl TokensPage {
    async fn load(state: &AppState, req: &HttpRequest, actor: Actor) -> Result<Self, AppError> {
        let user = actor.user().cloned();
        let (tokens, users, organisations) = state
            .db(move |conn| {
                authorize_in(conn, &actor, Action::View, None, None)?;
                let own = own(&actor);
                Ok((
                    tokens::list(conn, &own)?,
                    accounts::list_users(conn, &own)?,
                    accounts::list_organisations(conn, Some(&own))?,
                ))
            })
            .await?;
        Ok(Self {
            layout: Layout::new(req, user),
            tokens,
            users,
            organisations,
            form: TokenForm::default(),
            errors: FormErrors::default(),
            issued: None,
            done: String::new(),
        })
    }
}

async fn get_tokens(
    CurrentActor { actor, .. }: CurrentActor,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<impl Responder, PageError> {
    Ok(TokensPage::load(&state, &req, actor).await?)
}

async fn post_token(
    CurrentActor { actor, .. }: CurrentActor,
    state: web::Data<AppState>,
    req: HttpRequest,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> Result<HttpResponse, PageError> {
    let (writer, input) = (actor.clone(), form.clone());
    let result = state
        .db(move |conn| {
            let holder = match input.holder.split_once(':') {
                Some(("user", id)) => Holder::User(UserId(id.to_string())),
                Some(("org", id)) => Holder::Integration(OrganisationId(id.to_string())),
                _ => Holder::Integration(OrganisationId(String::new())),
            };
            let target = holder.municipality(conn)?;
            authorize_in(conn, &writer, Action::Create, target, Some(&input.holder))?;
            let created_by = writer.audit_actor().label;
            write_tx(conn, |conn| {
                let (token, plain) = tokens::issue(conn, &input.name, holder, &created_by)?;
                Event::success(
                    &writer.audit_actor(),
                    "api_token.create",
                    Object::ApiToken(token.id.as_str()),
                )
                .detail(token.kind.as_str())
                .record(conn)?;
                Ok(plain)
            })
        })
        .await;
    let page = TokensPage::load(&state, &req, actor).await?;
    show_outcome(
        page,
        result,
        |page, plain| page.issued = Some(plain),
        |page, errors| {
            page.form = form;
            page.errors = errors;
        },
    )
}

async fn post_token_revoke(
    CurrentActor { actor, .. }: CurrentActor,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, PageError> {
    let writer = actor.clone();
    let id = TokenId(path.into_inner());
    state
        .db(move |conn| {
            let target = tokens::municipality_of(conn, &id)?;
            authorize_in(conn, &writer, Action::Update, target, Some(id.as_str()))?;
            write_tx(conn, |conn| {
                tokens::revoke(conn, &id)?;
                Event::success(
                    &writer.audit_actor(),
                    "api_token.revoke",
                    Object::ApiToken(id.as_str()),
                )
                .record(conn)
            })
        })
        .await?;
    let page = TokensPage::load(&state, &req, actor).await?;
    show_outcome(
        page,
        Ok(()),
        |page, ()| page.done = "Nyckeln är spärrad och fungerar inte längre.".into(),
        |_, _| {},
    )
}
