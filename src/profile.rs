//! *Min profil*: the user's own calendar feed of SIP meetings ([`crate::sip::feed`]), their
//! working hours and where their busy times come from ([`crate::schedule::sources`]).

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use futures_util::StreamExt;

use crate::accounts::identity::{CurrentUser, Layout};
use crate::accounts::web::RecoveryCodesPage;
use crate::accounts::{self, throttle, two_factor, AuthUser};
use crate::audit::event::{Event, Object};
use crate::audit::AuditActor;
use crate::db::write_tx;
use crate::error::{AppError, PageError};
use crate::schedule::budget::MAX_BYTES;
use crate::schedule::hours::{self, HoursInput};
use crate::schedule::slots::WorkingHours;
use crate::schedule::sources::{self, Source, SourceId};
use crate::sip::feed;
use crate::web::csrf::{check_token, CsrfForm, NoFields};
use crate::web::{render, see_other, AppState, FormErrors, Saved, SavedOn, SavedQuery};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/profil", web::get().to(get_profile))
        .route("/profil/arbetstid", web::post().to(post_hours))
        .route("/profil/upptagen", web::post().to(post_address))
        .route("/profil/upptagen/fil", web::post().to(post_file))
        .route("/profil/upptagen/{id}/ta-bort", web::post().to(post_remove))
        .route("/profil/reservkoder", web::post().to(post_recovery_codes))
        .route("/profil/losenord", web::post().to(post_password))
        .route("/profil/kalender", web::post().to(post_new_feed))
        .route("/profil/kalender/stang", web::post().to(post_close_feed));
}

/// What a profile page shows besides the stored state: a notice, or a form sent back.
#[derive(Default)]
pub struct Shown {
    /// A new feed address, shown once.
    pub new_feed: Option<String>,
    pub saved: &'static str,
    pub typed_url: String,
    pub typed_hours: Option<HoursInput>,
    pub errors: FormErrors,
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    layout: Layout,
    has_feed: bool,
    sources: Vec<Source>,
    stale: Vec<bool>,
    hours: WorkingHours,
    /// Recovery codes not yet used, for a user with two-factor sign-in.
    recovery_codes_left: Option<usize>,
    shown: Shown,
}

const DAYS: [(u32, &str); 7] = [
    (1, "måndag"),
    (2, "tisdag"),
    (3, "onsdag"),
    (4, "torsdag"),
    (5, "fredag"),
    (6, "lördag"),
    (7, "söndag"),
];

impl ProfilePage {
    fn days(&self) -> &'static [(u32, &'static str)] {
        &DAYS
    }
    fn day_checked(&self, n: &u32) -> bool {
        match &self.shown.typed_hours {
            Some(typed) => typed.days.iter().any(|d| d.trim() == n.to_string()),
            None => self.hours.days.iter().any(|d| d.number_from_monday() == *n),
        }
    }
    fn start_text(&self) -> String {
        self.shown.typed_hours.as_ref().map_or_else(
            || self.hours.start.format("%H:%M").to_string(),
            |t| t.start.clone(),
        )
    }
    fn end_text(&self) -> String {
        self.shown.typed_hours.as_ref().map_or_else(
            || self.hours.end.format("%H:%M").to_string(),
            |t| t.end.clone(),
        )
    }
}

/// The profile page with the user's current state and whatever `shown` adds.
pub async fn show(
    req: &HttpRequest,
    state: &AppState,
    user: AuthUser,
    status: StatusCode,
    shown: Shown,
) -> Result<HttpResponse, PageError> {
    let id = user.id.clone();
    let (has_feed, sources, mut hours, recovery_codes_left) = state
        .db(move |conn| {
            let enabled = two_factor::enabled(conn, &id)?;
            Ok((
                feed::has_feed(conn, &id)?,
                sources::sources_of(conn, std::slice::from_ref(&id))?,
                hours::hours_of(conn, std::slice::from_ref(&id))?,
                match enabled {
                    true => Some(two_factor::recovery_codes_left(conn, &id)?),
                    false => None,
                },
            ))
        })
        .await?;
    let at = crate::db::now();
    let stale = sources
        .iter()
        .map(|s| s.stale(at, state.settings.busy_refresh))
        .collect();
    render(
        status,
        &ProfilePage {
            layout: Layout::new(req, Some(user.clone())),
            has_feed,
            sources,
            stale,
            hours: hours.remove(&user.id).unwrap_or_default(),
            recovery_codes_left,
            shown,
        },
    )
}

async fn get_profile(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    query: web::Query<SavedQuery>,
) -> Result<HttpResponse, PageError> {
    let saved = Saved::message_on(SavedOn::Profile, &query);
    show(
        &req,
        &state,
        user,
        StatusCode::OK,
        Shown {
            saved,
            ..Default::default()
        },
    )
    .await
}

/// Where the profile says what was saved (see [`get_profile`]).
fn saved(what: Saved) -> String {
    format!("/profil?sparat={}#upptagen", what.word())
}

/// On to `done` when the change went through, or the profile again with the mistakes.
async fn done_or_again(
    req: &HttpRequest,
    state: &AppState,
    user: AuthUser,
    result: Result<(), AppError>,
    done: String,
    shown: Shown,
) -> Result<HttpResponse, PageError> {
    match result {
        Ok(()) => Ok(see_other(done)),
        Err(AppError::Invalid(errors)) => {
            let shown = Shown {
                errors: FormErrors(errors),
                ..shown
            };
            show(req, state, user, StatusCode::UNPROCESSABLE_ENTITY, shown).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn post_hours(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let input = HoursInput {
        days: pairs
            .iter()
            .filter(|(k, _)| k == "days")
            .map(|(_, v)| v.clone())
            .collect(),
        start: crate::web::form_value(&pairs, "start").to_string(),
        end: crate::web::form_value(&pairs, "end").to_string(),
    };
    let (u, sent) = (user.clone(), input.clone());
    let result = state
        .db(move |conn| hours::set_hours(conn, &u, &sent))
        .await;
    let shown = Shown {
        typed_hours: Some(input),
        ..Default::default()
    };
    done_or_again(
        &req,
        &state,
        user,
        result,
        saved(Saved::WorkingHours),
        shown,
    )
    .await
}

#[derive(serde::Deserialize)]
struct AddressForm {
    #[serde(default)]
    url: String,
}

async fn post_address(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<AddressForm>,
) -> Result<HttpResponse, PageError> {
    let (u, url) = (user.clone(), form.url.clone());
    let result = state
        .db_with_settings(move |conn, settings| {
            sources::add_address(conn, &settings.keys, &u, &url)
        })
        .await;
    if let Ok(id) = &result {
        // Read at once rather than at the next background pass.
        actix_web::rt::spawn(sources::refresh(
            state.pool.clone(),
            state.settings.clone(),
            id.clone(),
        ));
    }
    let shown = Shown {
        typed_url: form.url,
        ..Default::default()
    };
    done_or_again(
        &req,
        &state,
        user,
        result.map(|_| ()),
        saved(Saved::CalendarAdded),
        shown,
    )
    .await
}

/// An uploaded `.ics` file (multipart form with `csrf_token` and `file`).
async fn post_file(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    mut payload: Multipart,
) -> Result<HttpResponse, PageError> {
    let unreadable = || AppError::BadRequest("Filen kunde inte tas emot. Försök igen.".into());
    let (mut token, mut file) = (None::<String>, Vec::new());
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(|_| unreadable())?;
        let name = field.name().unwrap_or("").to_string();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|_| unreadable())?;
            if bytes.len() + chunk.len() > MAX_BYTES {
                return Err(AppError::BadRequest(format!(
                    "Filen är större än {} MB.",
                    MAX_BYTES / 1024 / 1024
                ))
                .into());
            }
            bytes.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "csrf_token" => token = Some(String::from_utf8_lossy(&bytes).into_owned()),
            "file" => file = bytes,
            _ => {}
        }
    }
    check_token(&req, token.as_deref())?;
    // Read first, without a database connection; then kept in one short transaction.
    let at = crate::db::now();
    let result = match sources::read_upload(file, at).await {
        Ok(busy) => {
            let u = user.clone();
            state
                .db(move |conn| sources::add_file(conn, &u, at, &busy))
                .await
        }
        Err(e) => Err(e),
    };
    done_or_again(
        &req,
        &state,
        user,
        result.map(|_| ()),
        saved(Saved::FileRead),
        Shown::default(),
    )
    .await
}

async fn post_remove(
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, PageError> {
    let id = SourceId(path.into_inner());
    state
        .db(move |conn| sources::remove(conn, &user, &id))
        .await?;
    Ok(see_other(saved(Saved::CalendarRemoved)))
}

#[derive(serde::Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    repeat_password: String,
}

/// The user's own new password. Guesses at the current one count against the account's sign-in
/// limit; after the change every session of the user has ended, and the login page says so.
async fn post_password(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    let counter = throttle::Counter::account(&state.settings.secret_key, &user.email);
    let u = user.clone();
    let result = state
        .db(move |conn| {
            // A typed current password is a guess at it, and counts as a sign-in attempt.
            let taken = match form.current_password.is_empty() {
                true => None,
                false => match throttle::take(conn, &[&counter], crate::db::now())? {
                    Some(taken) => Some(taken),
                    None => {
                        return Err(AppError::Invalid(vec![crate::error::FieldError::new(
                            "current_password",
                            format!(
                                "För många felaktiga försök. Vänta {} minuter och försök igen.",
                                throttle::WINDOW_MINUTES
                            ),
                        )]))
                    }
                },
            };
            let outcome = accounts::change_password(
                conn,
                &u,
                &form.current_password,
                &form.new_password,
                &form.repeat_password,
            );
            // Only a wrong current password counts as a failed attempt.
            let current_wrong = matches!(&outcome, Err(AppError::Invalid(errors))
                if errors.iter().any(|e| e.field == "current_password"));
            if let (Some(taken), false) = (taken, current_wrong) {
                throttle::give_back(conn, taken)?;
            }
            if outcome.is_ok() {
                throttle::clear(conn, &counter)?;
            }
            outcome
        })
        .await;
    let done = "/login?losenord=bytt".to_string();
    done_or_again(&req, &state, user, result, done, Shown::default()).await
}

/// New recovery codes, shown once; the old ones stop working.
async fn post_recovery_codes(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, PageError> {
    let (actor, id) = (AuditActor::from(&user), user.id.clone());
    let codes = state
        .db_with_settings(move |conn, settings| {
            write_tx(conn, |conn| {
                if !two_factor::enabled(conn, &id)? {
                    return Err(AppError::Forbidden);
                }
                let codes = two_factor::replace_recovery_codes(conn, settings, &id)?;
                Event::success(
                    &actor,
                    "user.recovery_codes_replaced",
                    Object::User(id.as_str()),
                )
                .record(conn)?;
                Ok(codes)
            })
        })
        .await?;
    render(
        StatusCode::OK,
        &RecoveryCodesPage {
            layout: Layout::new(&req, Some(user)),
            codes,
            next: "/profil".into(),
        },
    )
}

/// Makes a calendar feed address ([`feed::open_feed`]) and shows it, once.
async fn post_new_feed(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, PageError> {
    let u = user.clone();
    let token = state.db(move |conn| feed::open_feed(conn, &u)).await?;
    let shown = Shown {
        new_feed: Some(state.settings.link(&format!("/calendar/{token}.ics"))),
        ..Default::default()
    };
    show(&req, &state, user, StatusCode::OK, shown).await
}

/// Turns the calendar feed off ([`feed::close_feed`]).
async fn post_close_feed(
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, PageError> {
    state.db(move |conn| feed::close_feed(conn, &user)).await?;
    Ok(see_other(format!(
        "/profil?sparat={}",
        Saved::FeedClosed.word()
    )))
}
