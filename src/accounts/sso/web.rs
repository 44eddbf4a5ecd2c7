//! The routes of single sign-on: `GET /login/oidc?provider=…` sends the browser to the provider
//! (a link, not a form: the pages' `form-action 'self'` would stop a form's redirect to another
//! site), and `GET /login/oidc/callback` takes the provider's answer. Every failure is a Swedish
//! page that says what happened and what to do, with an audit entry; never a 500.

use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::client::MetadataCache;
use super::model::{Failure, IdentityProvider};
use super::{record_failure, sign_in_person, store};
use crate::accounts::identity::Layout;
use crate::accounts::web::set_session_cookies;
use crate::error::{encode_query_value, PageError};
use crate::secrets::same;
use crate::web::{render, safe_local_path, AppState};

/// The cookie that binds a sign-in sent to a provider to this browser: it holds the state, which
/// the answer must carry.
pub const STATE_COOKIE: &str = "samordna_sso_state";
/// The exact redirect URI registered with every provider, under `SAMORDNA_BASE_URL`.
pub const CALLBACK: &str = "/login/oidc/callback";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/login/oidc", web::get().to(get_start))
        .route("/login/oidc/callback", web::get().to(get_callback));
}

#[derive(Template)]
#[template(path = "sso_failure.html")]
struct FailurePage {
    layout: Layout,
    title: &'static str,
    text: &'static str,
}

/// A page that sends the browser on by itself (a meta refresh: a form's redirect to another site
/// would be stopped by `form-action 'self'`), with a link for when it does not.
#[derive(Template)]
#[template(path = "sso_redirect.html")]
pub struct RedirectPage {
    pub layout: Layout,
    pub title: String,
    pub text: String,
    pub link: String,
    pub url: String,
}

fn failed(req: &HttpRequest, failure: Failure) -> Result<HttpResponse, PageError> {
    let (title, text) = failure.words();
    render(
        failure.status(),
        &FailurePage {
            layout: Layout::new(req, None),
            title,
            text,
        },
    )
}

#[derive(Deserialize)]
struct StartQuery {
    #[serde(default)]
    provider: String,
    next: Option<String>,
}

async fn get_start(
    req: HttpRequest,
    state: web::Data<AppState>,
    cache: web::Data<MetadataCache>,
    query: web::Query<StartQuery>,
) -> Result<HttpResponse, PageError> {
    let id = query.provider.clone();
    let provider = state
        .db(move |conn| store::find_provider(conn, &id))
        .await?;
    let Some(provider) = provider else {
        return Err(PageError::from(crate::error::AppError::NotFound));
    };
    let next = safe_local_path(query.next.as_deref());
    start(&req, &state, &cache, provider, next).await
}

/// Sends the browser to `provider` with a new state, nonce and PKCE challenge, kept for the
/// answer.
pub async fn start(
    req: &HttpRequest,
    state: &AppState,
    cache: &MetadataCache,
    provider: IdentityProvider,
    next: String,
) -> Result<HttpResponse, PageError> {
    let redirect = state.settings.link(CALLBACK);
    let started = match cache.start(&provider, &redirect).await {
        Ok(s) => s,
        Err(failure) => {
            state
                .db(move |conn| record_failure(conn, Some(&provider), failure))
                .await?;
            return failed(req, failure);
        }
    };
    let (id, st, nonce, verifier) = (
        provider.id.clone(),
        started.state.clone(),
        started.nonce.clone(),
        started.pkce_verifier.clone(),
    );
    state
        .db(move |conn| store::insert_login(conn, &id, &st, &nonce, &verifier, &next))
        .await?;
    let cookie = Cookie::build(STATE_COOKIE, started.state)
        .path("/login/oidc")
        .http_only(true)
        .secure(state.settings.is_https())
        .same_site(SameSite::Lax)
        .max_age(time::Duration::minutes(super::model::LOGIN_MINUTES))
        .finish();
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, started.url))
        .cookie(cookie)
        .finish())
}

#[derive(Deserialize)]
struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

async fn get_callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    cache: web::Data<MetadataCache>,
    query: web::Query<CallbackQuery>,
) -> Result<HttpResponse, PageError> {
    let Some(returned) = query.state.clone().filter(|s| !s.is_empty()) else {
        state
            .db(|conn| record_failure(conn, None, Failure::UnknownState))
            .await?;
        return failed(&req, Failure::UnknownState);
    };
    let ours = req
        .cookie(STATE_COOKIE)
        .is_some_and(|c| same(c.value(), &returned));
    if !ours {
        state
            .db(|conn| record_failure(conn, None, Failure::OtherBrowser))
            .await?;
        return failed(&req, Failure::OtherBrowser);
    }
    let taken = state
        .db(move |conn| {
            crate::db::write_tx(conn, |conn| match store::take_login(conn, &returned)? {
                Ok(login) => Ok(Ok((store::find_provider(conn, &login.provider_id)?, login))),
                Err(f) => Ok(Err(f)),
            })
        })
        .await?;
    let Ok((Some(provider), login)) = taken else {
        state
            .db(|conn| record_failure(conn, None, Failure::UnknownState))
            .await?;
        return failed(&req, Failure::UnknownState);
    };
    let outcome = match (&query.error, &query.code) {
        (Some(e), _) if e == "access_denied" => Err(Failure::Cancelled),
        (Some(_), _) | (None, None) => Err(Failure::ProviderRefused),
        (None, Some(code)) => {
            cache
                .finish(
                    &provider,
                    &state.settings.link(CALLBACK),
                    code,
                    &login.pkce_verifier,
                    &login.nonce,
                )
                .await
        }
    };
    let person = match outcome {
        Ok(person) => person,
        Err(failure) => {
            state
                .db(move |conn| record_failure(conn, Some(&provider), failure))
                .await?;
            return failed(&req, failure);
        }
    };
    let signed_in = state
        .db(move |conn| sign_in_person(conn, &provider, &person))
        .await?;
    let signed_in = match signed_in {
        Ok(s) => s,
        Err(failure) => return failed(&req, failure),
    };
    let next = safe_local_path(Some(&login.next));
    let target = if signed_in.needs_code {
        format!("/login/kod?next={}", encode_query_value(&next))
    } else {
        next
    };
    let mut response = HttpResponse::SeeOther();
    response.insert_header((header::LOCATION, target));
    set_session_cookies(&mut response, signed_in.token, &state.settings);
    Ok(response.finish())
}

/// The page after signing out of a session started through a provider with an end-session
/// endpoint: it sends the browser there (RP-initiated logout), which sends it back to the login
/// page.
pub fn logout_page(req: &HttpRequest, provider: &IdentityProvider, url: String) -> RedirectPage {
    RedirectPage {
        layout: Layout::new(req, None),
        title: "Du är utloggad ur Samordna".into(),
        text: format!(
            "Du loggas nu ut även från {}. Händer inget, använd länken.",
            provider.name
        ),
        link: format!("Logga ut från {}", provider.name),
        url,
    }
}

/// The page that sends someone whose address belongs to a provider's domain there.
pub fn to_provider_page(
    req: &HttpRequest,
    provider: &IdentityProvider,
    next: &str,
) -> RedirectPage {
    RedirectPage {
        layout: Layout::new(req, None),
        title: "Logga in via din organisation".into(),
        text: format!(
            "Din organisation loggar in med {}. Du skickas dit nu. Händer inget, använd länken.",
            provider.name
        ),
        link: provider.button(),
        url: start_link(provider, next),
    }
}

/// The login button's address for a provider.
pub fn start_link(provider: &IdentityProvider, next: &str) -> String {
    format!(
        "/login/oidc?provider={}&next={}",
        encode_query_value(&provider.id),
        encode_query_value(next)
    )
}
