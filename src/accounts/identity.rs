//! Extractors that say who is asking: [`CurrentUser`], [`CurrentActor`] and [`MaybeUser`] for web pages (session
//! cookie), [`ApiActor`] for the API (bearer token); and [`Layout`], the page frame that shows who
//! is signed in.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::accounts::session::{self, Lookup};
use crate::accounts::tokens::{self, TokenKind};
use crate::accounts::two_factor;
use crate::accounts::{load_auth_user, AuthUser, Role};
use crate::authz::Actor;
use crate::error::{ApiError, AppError, PageError};
use crate::web::{csrf, AppState};

/// The session state of a request, looked up once and kept in the request's extensions.
#[derive(Clone)]
enum SessionState {
    SignedIn(Box<AuthUser>),
    /// The password was right; the second factor has not been checked yet.
    SecondFactorNeeded(Box<AuthUser>),
    Expired,
    None,
}

async fn session_state(req: &HttpRequest) -> Result<SessionState, AppError> {
    if let Some(state) = req.extensions().get::<SessionState>() {
        return Ok(state.clone());
    }
    let state = match req.cookie(session::COOKIE) {
        None => SessionState::None,
        Some(cookie) => {
            let app = req
                .app_data::<web::Data<AppState>>()
                .expect("AppState")
                .clone();
            let token = cookie.value().to_string();
            let (idle, max) = (
                app.settings.session_idle_timeout,
                app.settings.session_max_lifetime,
            );
            app.db(move |conn| {
                Ok(match session::resolve(conn, &token, idle, max)? {
                    Lookup::Active {
                        user_id,
                        second_factor,
                    } => match load_auth_user(conn, &user_id)? {
                        Some(user) if second_factor || !two_factor::required_for(&user.roles) => {
                            SessionState::SignedIn(Box::new(user))
                        }
                        Some(user) => SessionState::SecondFactorNeeded(Box::new(user)),
                        None => SessionState::None,
                    },
                    Lookup::Expired => SessionState::Expired,
                    Lookup::Unknown => SessionState::None,
                })
            })
            .await?
        }
    };
    req.extensions_mut().insert(state.clone());
    Ok(state)
}

fn login_target(req: &HttpRequest, expired: bool, second_factor: bool) -> AppError {
    let next = match req.uri().path_and_query() {
        Some(pq) if req.method() == actix_web::http::Method::GET => pq.as_str().to_string(),
        _ => "/".to_string(),
    };
    AppError::LoginRequired {
        next,
        expired,
        second_factor,
    }
}

/// A signed-in user; otherwise the browser is sent to the login page and brought back after.
pub struct CurrentUser(pub AuthUser);

impl FromRequest for CurrentUser {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match session_state(&req).await? {
                SessionState::SignedIn(user) => Ok(CurrentUser(*user)),
                SessionState::SecondFactorNeeded(_) => Err(login_target(&req, false, true).into()),
                SessionState::Expired => Err(login_target(&req, true, false).into()),
                SessionState::None => Err(login_target(&req, false, false).into()),
            }
        })
    }
}

/// The signed-in user, and the same user as the [`Actor`] that access checks and the audit trail
/// take, so that a handler does not build the one from the other.
pub struct CurrentActor {
    pub user: AuthUser,
    pub actor: Actor,
}

impl FromRequest for CurrentActor {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = CurrentUser::from_request(req, payload);
        Box::pin(async move {
            let CurrentUser(user) = user.await?;
            Ok(CurrentActor {
                actor: Actor::User(user.clone()),
                user,
            })
        })
    }
}

/// The signed-in user, if any.
pub struct MaybeUser(pub Option<AuthUser>);

impl FromRequest for MaybeUser {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            Ok(MaybeUser(match session_state(&req).await? {
                SessionState::SignedIn(user) => Some(*user),
                _ => None,
            }))
        })
    }
}

/// Where a browser is in signing in, for the pages of the second step.
pub enum SignInStep {
    /// Fully signed in.
    Done(AuthUser),
    /// The password was right; the second factor is still to be checked.
    SecondFactor(AuthUser),
    /// No session (or it ran out).
    None,
}

impl FromRequest for SignInStep {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            Ok(match session_state(&req).await? {
                SessionState::SignedIn(user) => SignInStep::Done(*user),
                SessionState::SecondFactorNeeded(user) => SignInStep::SecondFactor(*user),
                _ => SignInStep::None,
            })
        })
    }
}

/// Whether the request came with a session cookie that has run out (for the login page message).
pub async fn session_expired(req: &HttpRequest) -> bool {
    matches!(session_state(req).await, Ok(SessionState::Expired))
}

/// The caller of an API endpoint, by `Authorization: Bearer smd_…`.
pub struct ApiActor(pub Actor);

impl FromRequest for ApiActor {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_string());
        let app = req
            .app_data::<web::Data<AppState>>()
            .expect("AppState")
            .clone();
        Box::pin(async move {
            let Some(plain) = bearer else {
                return Err(AppError::Unauthenticated.into());
            };
            let actor = app
                .db(move |conn| {
                    let Some(token) = tokens::resolve(conn, &plain)? else {
                        return Ok(None);
                    };
                    Ok(match (token.kind, &token.user_id) {
                        (TokenKind::User, Some(user_id)) => {
                            load_auth_user(conn, user_id)?.map(Actor::User)
                        }
                        (TokenKind::Integration, _) => Some(Actor::Integration(token)),
                        (TokenKind::User, None) => None,
                    })
                })
                .await?;
            actor.map(ApiActor).ok_or(AppError::Unauthenticated.into())
        })
    }
}

/// The caller of an endpoint that is also open to the public: `None` without an
/// `Authorization` header; a header with a bad token is refused (401), never treated as public.
pub struct MaybeApiActor(pub Option<Actor>);

impl FromRequest for MaybeApiActor {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if req.headers().get(header::AUTHORIZATION).is_none() {
            return Box::pin(async { Ok(MaybeApiActor(None)) });
        }
        let actor = ApiActor::from_request(req, payload);
        Box::pin(async move { Ok(MaybeApiActor(Some(actor.await?.0))) })
    }
}

/// What the page frame needs: who is signed in (for the menu) and the CSRF token for its forms.
pub struct Layout {
    pub user: Option<AuthUser>,
    pub csrf: String,
}

impl Layout {
    /// The frame of a page for this request: who is signed in, and this browser's CSRF token.
    pub fn new(req: &HttpRequest, user: Option<AuthUser>) -> Self {
        Layout {
            user,
            csrf: csrf::token_for(req),
        }
    }

    pub fn is_admin(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.has_role(Role::Admin))
    }
}
