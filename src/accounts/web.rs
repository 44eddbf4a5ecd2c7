//! Logging in and out.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};
use askama::Template;
use serde::Deserialize;

use crate::accounts::identity::{session_expired, Layout, MaybeUser, SignInStep};
use crate::accounts::throttle;
use crate::accounts::{self, password, session, sso, two_factor, AuthUser};
use crate::audit::event::{Event, Kind, Object};
use crate::audit::AuditActor;
use crate::config::Settings;
use crate::db::write_tx;
use crate::db::AnyConnection;
use crate::error::encode_query_value;
use crate::error::{AppError, FieldError, PageError};
use crate::web::csrf::{self, CsrfForm, NoFields};
use crate::web::{render, render_with, safe_local_path, see_other, AppState, FormErrors, Saved};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::get().to(get_login))
        .route("/login", web::post().to(post_login))
        .route("/login/kod", web::get().to(get_code))
        .route("/login/kod", web::post().to(post_code))
        .route("/logout", web::post().to(post_logout));
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    /// The identity providers' buttons: (address, words).
    providers: Vec<(String, String)>,
    email: String,
    next: String,
    message: String,
    failure: String,
    errors: FormErrors,
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
    logged_out: Option<String>,
    /// After a change of password, which ended every session.
    #[serde(rename = "losenord")]
    password_changed: Option<String>,
}

/// The login buttons of every identity provider, each returning to `next`.
async fn provider_buttons(state: &AppState, next: &str) -> Result<Vec<(String, String)>, AppError> {
    let providers = state.db(sso::store::all_providers).await?;
    Ok(providers
        .iter()
        .map(|p| (sso::web::start_link(p, next), p.button()))
        .collect())
}

async fn get_login(
    req: HttpRequest,
    state: web::Data<AppState>,
    MaybeUser(user): MaybeUser,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, PageError> {
    let next = safe_local_path(query.next.as_deref());
    if user.is_some() {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, next))
            .finish());
    }
    let message = if query.password_changed.is_some() {
        "Ditt lösenord är bytt och du är utloggad överallt. Logga in med ditt nya lösenord."
    } else if query.expired.is_some() || session_expired(&req).await {
        "Du har varit inaktiv en stund och har loggats ut för att skydda uppgifterna. Logga in igen för att fortsätta."
    } else if query.logged_out.is_some() {
        "Du är utloggad."
    } else {
        ""
    };
    let providers = provider_buttons(&state, &next).await?;
    render(
        StatusCode::OK,
        &LoginPage {
            layout: Layout::new(&req, None),
            providers,
            email: String::new(),
            next,
            message: message.into(),
            failure: String::new(),
            errors: FormErrors::default(),
        },
    )
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn post_login(
    req: HttpRequest,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let next = safe_local_path(form.next.as_deref());
    // An address of a provider's domain, typed without a password, goes to that provider.
    if form.password.is_empty() && !form.email.trim().is_empty() {
        let providers = state.db(sso::store::all_providers).await?;
        if let Some(provider) = providers.iter().find(|p| p.serves_address(&form.email)) {
            return render(
                StatusCode::OK,
                &sso::web::to_provider_page(&req, provider, &next),
            );
        }
    }
    let mut errors = Vec::new();
    if form.email.trim().is_empty() {
        errors.push(FieldError::new("email", "Fyll i din e-postadress."));
    }
    if form.password.is_empty() {
        errors.push(FieldError::new("password", "Fyll i ditt lösenord."));
    }
    let providers = provider_buttons(&state, &next).await?;
    let failed_page = |failure: &str, errors: Vec<FieldError>| LoginPage {
        layout: Layout::new(&req, None),
        providers: providers.clone(),
        email: form.email.trim().to_string(),
        next: next.clone(),
        message: String::new(),
        failure: failure.to_string(),
        errors: FormErrors(errors),
    };
    if !errors.is_empty() {
        return render(StatusCode::UNPROCESSABLE_ENTITY, &failed_page("", errors));
    }

    // Too many failures for this address as typed, or from this client: refused before the
    // password is checked, with the same words whether or not the account exists.
    let secret = &state.settings.secret_key;
    let account = throttle::Counter::account(secret, &form.email);
    let client = throttle::Counter::address(secret, state.client_address(&req));
    let counters = (account.clone(), client.clone());
    let taken = state
        .db(move |conn| throttle::take(conn, &[&counters.0, &counters.1], crate::db::now()))
        .await?;
    let Some(taken) = taken else {
        tracing::warn!("sign-in refused: too many failed attempts");
        return render(
            StatusCode::TOO_MANY_REQUESTS,
            &failed_page(
                &format!(
                    "För många misslyckade inloggningsförsök. Vänta {} minuter och försök igen. \
                     Har du glömt ditt lösenord? Kontakta den som administrerar Samordna hos er.",
                    throttle::WINDOW_MINUTES
                ),
                Vec::new(),
            ),
        );
    };
    let (email, pass) = (form.email.clone(), form.password.clone());
    let signed_in = state
        .db(move |conn| sign_in_checked(conn, &email, &pass))
        .await?;
    let (token, user) = match signed_in {
        PasswordSignIn::SignedIn(token, user) => (token, *user),
        PasswordSignIn::SsoRequired => {
            return render(
                StatusCode::FORBIDDEN,
                &failed_page(
                    "Din organisation loggar in via sin egen inloggningstjänst, inte med lösenord. \
                     Använd knappen för din organisations inloggning ovan.",
                    Vec::new(),
                ),
            );
        }
        PasswordSignIn::Wrong => {
            return render(
            StatusCode::UNAUTHORIZED,
            &failed_page(
                "E-postadressen eller lösenordet stämmer inte. Kontrollera stavningen och försök igen.",
                Vec::new(),
            ),
        );
        }
    };
    // A success forgives the account's failures and gives this attempt back to the address.
    state
        .db(move |conn| {
            throttle::give_back(conn, taken)?;
            throttle::clear(conn, &account)
        })
        .await?;
    let target = if two_factor::required_for(&user.roles) {
        format!("/login/kod?next={}", encode_query_value(&next))
    } else {
        next
    };
    let mut response = HttpResponse::SeeOther();
    response.insert_header((header::LOCATION, target));
    set_session_cookies(&mut response, token, &state.settings);
    Ok(response.finish())
}

/// The second step of signing in: set-up of the authenticator app at the first login, a code from
/// it afterwards, and the recovery codes shown once.
#[derive(Template)]
#[template(path = "login_code.html")]
struct CodePage {
    layout: Layout,
    next: String,
    /// Set while the app is being set up: the QR code and the secret to type by hand.
    setup: Option<Setup>,
    failure: String,
    errors: FormErrors,
}

struct Setup {
    qr_code: String,
    secret: String,
}

/// New recovery codes, shown once.
#[derive(Template)]
#[template(path = "recovery_codes.html")]
pub(crate) struct RecoveryCodesPage {
    pub layout: Layout,
    pub codes: Vec<String>,
    pub next: String,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn get_code(
    req: HttpRequest,
    state: web::Data<AppState>,
    step: SignInStep,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, PageError> {
    let next = safe_local_path(query.next.as_deref());
    let user = match waiting_for_code(step, &next) {
        Ok(user) => user,
        Err(elsewhere) => return Ok(see_other(elsewhere)),
    };
    let page = code_page(&req, &state, user, next, String::new(), Vec::new()).await?;
    render(StatusCode::OK, &page)
}

/// The user whose session waits for the second step; anyone else is sent on (the `Err` is
/// where): to `next` when already signed in, to the login page without a password-checked
/// session.
fn waiting_for_code(step: SignInStep, next: &str) -> Result<AuthUser, String> {
    match step {
        SignInStep::SecondFactor(user) => Ok(user),
        SignInStep::Done(_) => Err(next.to_string()),
        SignInStep::None => Err("/login".into()),
    }
}

fn cookie_token(req: &HttpRequest) -> String {
    req.cookie(session::COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default()
}

/// The code page for a user: with the app's set-up while it is not done.
async fn code_page(
    req: &HttpRequest,
    state: &AppState,
    user: AuthUser,
    next: String,
    failure: String,
    errors: Vec<FieldError>,
) -> Result<CodePage, AppError> {
    let (user_id, token) = (user.id.clone(), cookie_token(req));
    let secret = state
        .db_with_settings(move |conn, settings| {
            write_tx(conn, |conn| {
                two_factor::begin_setup(conn, &settings.keys, &user_id, &token)
            })
        })
        .await?;
    let setup = match secret {
        Some(secret) => Some(Setup {
            qr_code: two_factor::qr_code(&two_factor::otpauth_uri(&secret, &user.email)?)?,
            secret: two_factor::grouped(&secret),
        }),
        None => None,
    };
    Ok(CodePage {
        layout: Layout::new(req, None),
        next,
        setup,
        failure,
        errors: FormErrors(errors),
    })
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    next: Option<String>,
}

async fn post_code(
    req: HttpRequest,
    state: web::Data<AppState>,
    step: SignInStep,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<HttpResponse, PageError> {
    let next = safe_local_path(form.next.as_deref());
    let user = match waiting_for_code(step, &next) {
        Ok(user) => user,
        Err(elsewhere) => return Ok(see_other(elsewhere)),
    };
    if form.code.trim().is_empty() {
        let errors = vec![FieldError::new("code", "Fyll i koden.")];
        let page = code_page(&req, &state, user, next, String::new(), errors).await?;
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    // The same limit as for passwords, counted per account: a six-digit code must not be
    // guessable by trying.
    let counter = throttle::Counter::code(&state.settings.secret_key, &user.id);
    let counted = counter.clone();
    let taken = state
        .db(move |conn| throttle::take(conn, &[&counted], crate::db::now()))
        .await?;
    if taken.is_none() {
        tracing::warn!("second factor refused: too many failed attempts");
        let failure = format!(
            "För många felaktiga koder. Vänta {} minuter och försök igen.",
            throttle::WINDOW_MINUTES
        );
        let page = code_page(&req, &state, user, next, failure, Vec::new()).await?;
        return render(StatusCode::TOO_MANY_REQUESTS, &page);
    }
    let (actor, user_id, code, session_token) = (
        AuditActor::from(&user),
        user.id.clone(),
        form.code.clone(),
        cookie_token(&req),
    );
    let unix = chrono::Utc::now().timestamp();
    let outcome = state
        .db_with_settings(move |conn, settings| {
            two_factor::sign_in_with_code(
                conn,
                settings,
                &actor,
                &user_id,
                &session_token,
                &code,
                unix,
            )
        })
        .await?;
    let Some((token, outcome)) = outcome else {
        let failure = "Koden stämmer inte. Skriv in den sexsiffriga kod som appen visar just nu, \
                       eller en av dina reservkoder."
            .to_string();
        let page = code_page(&req, &state, user, next, failure, Vec::new()).await?;
        return render(StatusCode::UNAUTHORIZED, &page);
    };
    state
        .db(move |conn| throttle::clear(conn, &counter))
        .await?;
    let mut response = HttpResponse::Ok();
    let csrf = set_session_cookies(&mut response, token, &state.settings);
    match outcome {
        two_factor::CodeOutcome::SetUp(codes) => render_with(
            &mut response,
            StatusCode::OK,
            &RecoveryCodesPage {
                layout: Layout {
                    user: Some(user),
                    csrf,
                },
                codes,
                next,
            },
        ),
        two_factor::CodeOutcome::Verified(two_factor::Proof::RecoveryCode) => {
            // The profile page says how many are left and where to make new ones.
            Ok(response
                .status(StatusCode::SEE_OTHER)
                .insert_header((
                    header::LOCATION,
                    format!(
                        "/profil?sparat={}#inloggning",
                        Saved::RecoveryCodeUsed.word()
                    ),
                ))
                .finish())
        }
        two_factor::CodeOutcome::Verified(two_factor::Proof::App) => Ok(response
            .status(StatusCode::SEE_OTHER)
            .insert_header((header::LOCATION, next))
            .finish()),
    }
}

/// Checks an email and password and, when they match an active account, starts a session and
/// returns its token (for roles that need a second factor, the session waits for it). Success and failure are both audited; an unknown address and a wrong
/// password look the same to the caller.
pub fn sign_in(
    conn: &mut AnyConnection,
    email: &str,
    pass: &str,
) -> Result<Option<(String, AuthUser)>, AppError> {
    Ok(match sign_in_checked(conn, email, pass)? {
        PasswordSignIn::SignedIn(token, user) => Some((token, *user)),
        PasswordSignIn::Wrong | PasswordSignIn::SsoRequired => None,
    })
}

/// What a password sign-in came to.
pub enum PasswordSignIn {
    SignedIn(String, Box<AuthUser>),
    /// An unknown address or a wrong password (the caller cannot tell which).
    Wrong,
    /// The password was right, but the user's organisation requires single sign-on.
    SsoRequired,
}

/// Like [`sign_in`], telling apart a right password of a user whose organisation requires single
/// sign-on (refused, audited).
pub fn sign_in_checked(
    conn: &mut AnyConnection,
    email: &str,
    pass: &str,
) -> Result<PasswordSignIn, AppError> {
    let user = accounts::find_user_by_email(conn, email)?.filter(|u| u.active);
    let ok = password::verify(pass, user.as_ref().map(|u| u.password_hash.as_str()));
    write_tx(conn, |conn| match user {
        Some(user) if ok && sso::store::requires_sso(conn, &user.organisation_id)? => {
            Event::denied(
                &AuditActor::anonymous(),
                "session.login",
                Object::User(user.id.as_str()),
            )
            .detail("password refused: the organisation requires single sign-on")
            .record(conn)?;
            Ok(PasswordSignIn::SsoRequired)
        }
        Some(user) if ok => {
            let token = session::start(conn, &user.id)?;
            sso::store::record_sign_in(conn, &user.id, None)?;
            let auth = accounts::load_auth_user(conn, &user.id)?.ok_or(AppError::NotFound)?;
            Event::success(
                &AuditActor::from(&auth),
                "session.login",
                Object::User(user.id.as_str()),
            )
            .detail(if two_factor::required_for(&auth.roles) {
                "password; second step to follow"
            } else {
                ""
            })
            .record(conn)?;
            Ok(PasswordSignIn::SignedIn(token, Box::new(auth)))
        }
        other => {
            // An unknown address names no user: the entry says only that someone tried.
            let asked = other.as_ref().map(|u| u.id.as_str());
            let object = Object::Asked(Kind::User, asked);
            Event::failure(&AuditActor::anonymous(), "session.login", object)
                .detail("wrong email or password")
                .record(conn)?;
            Ok(PasswordSignIn::Wrong)
        }
    })
}

/// Puts a new session on a response: its cookie, and a fresh CSRF cookie so that no token from
/// before the login still works. Returns the CSRF token that forms in this response must carry.
pub fn set_session_cookies(
    response: &mut HttpResponseBuilder,
    token: String,
    settings: &Settings,
) -> String {
    let secure = settings.is_https();
    let csrf_cookie = csrf::rotated_cookie(secure);
    let form_token = csrf::token_for_cookie(settings, csrf_cookie.value());
    response
        .cookie(session_cookie(token, secure))
        .cookie(csrf_cookie);
    form_token
}

fn session_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build(session::COOKIE, token)
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .finish()
}

async fn post_logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    cache: web::Data<sso::client::MetadataCache>,
    MaybeUser(user): MaybeUser,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, PageError> {
    let mut provider = None;
    if let Some(cookie) = req.cookie(session::COOKIE) {
        let token = cookie.value().to_string();
        provider = state
            .db(move |conn| {
                write_tx(conn, |conn| {
                    let provider = match session::provider_of(conn, &token)? {
                        Some(id) => sso::store::find_provider(conn, &id)?,
                        None => None,
                    };
                    session::end(conn, &token)?;
                    if let Some(user) = user {
                        Event::success(
                            &AuditActor::from(&user),
                            "session.logout",
                            Object::User(user.id.as_str()),
                        )
                        .record(conn)?;
                    }
                    Ok(provider)
                })
            })
            .await?;
    }
    let secure = state.settings.is_https();
    let mut gone = session_cookie(String::new(), secure);
    gone.make_removal();
    // Signed in through a provider with an end-session endpoint: the browser goes there too
    // (RP-initiated logout) and comes back to the login page.
    if let Some(provider) = provider {
        let back = state.settings.link("/login?logged_out=1");
        if let Some(url) = cache.end_session_url(&provider, &back).await {
            let mut response = HttpResponse::Ok();
            response.cookie(gone).cookie(csrf::rotated_cookie(secure));
            return render_with(
                &mut response,
                StatusCode::OK,
                &sso::web::logout_page(&req, &provider, url),
            );
        }
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/login?logged_out=1"))
        .cookie(gone)
        .cookie(csrf::rotated_cookie(secure))
        .finish())
}
