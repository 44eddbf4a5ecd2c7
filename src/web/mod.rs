//! What every web page shares: the application state, CSRF protection, HEAD and 405 handling,
//! form errors and the `?sparat=` confirmations. Who is signed in, and the page frame that shows
//! it, is `accounts`' ([`crate::accounts::identity`]): this module imports no capability.

pub mod csrf;
pub mod methods;
pub mod pages;

use std::sync::Arc;

use actix_web::web;
use tokio::sync::Notify;

use crate::config::Settings;
use crate::db::{AnyConnection, DbPool};
use crate::error::{AppError, FieldError};

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    pub settings: Arc<Settings>,
    /// Wakes this instance's outbox worker when a message has been queued.
    pub mail_wake: Arc<Notify>,
    /// Public report submissions per address, in memory only (nothing about a sender is stored).
    pub public_limit: Arc<governor::DefaultKeyedRateLimiter<std::net::IpAddr>>,
}

impl AppState {
    pub fn new(pool: DbPool, settings: Settings) -> Self {
        let per_hour = std::num::NonZeroU32::new(settings.public_reports_per_hour.max(1))
            .expect("at least one");
        Self {
            pool,
            settings: Arc::new(settings),
            mail_wake: Arc::new(Notify::new()),
            public_limit: Arc::new(governor::RateLimiter::keyed(governor::Quota::per_hour(
                per_hour,
            ))),
        }
    }

    /// The client's network address: the peer, or behind a trusted reverse proxy the address it
    /// forwarded for (see [`client`]). Used only for the login limit (stored as a keyed hash, for
    /// 15 minutes) and the filing limit (in memory); never logged.
    pub fn client_address(&self, req: &actix_web::HttpRequest) -> Option<std::net::IpAddr> {
        let peer = req.peer_addr()?.ip();
        // Read even with bytes that are not text, so a client cannot make the proxy's own entry
        // (the right-most) unreadable by adding junk before it.
        let forwarded: Vec<String> = req
            .headers()
            .get_all("x-forwarded-for")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        let forwarded: Vec<&str> = forwarded.iter().map(String::as_str).collect();
        Some(self.settings.trusted_proxies.client(peer, &forwarded))
    }

    /// Whether a public submission from `address` is within the limit.
    pub fn public_submission_allowed(&self, address: Option<std::net::IpAddr>) -> bool {
        address.is_none_or(|ip| self.public_limit.check_key(&ip).is_ok())
    }

    /// Runs blocking database work on the thread pool, with a connection from the pool. Work that
    /// fails because the database went away (the connection no longer answers) is answered as
    /// [`AppError::Unavailable`], a 503 that says to try again, not as our own error; the pool
    /// replaces the dead connection when it is next checked out.
    pub async fn db<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, AppError> + Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get()?;
            match f(&mut conn) {
                Err(AppError::Internal(cause)) if !crate::db::answers(&mut conn) => {
                    Err(AppError::Unavailable(format!("{cause:#}")))
                }
                other => other,
            }
        })
        .await?
    }

    /// [`AppState::db`] with the settings handed to the closure too, so that a handler need not
    /// clone them into it first (`let settings = state.settings.clone()` before each call).
    pub async fn db_with_settings<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection, &Settings) -> Result<T, AppError> + Send + 'static,
    {
        let settings = self.settings.clone();
        self.db(move |conn| f(conn, &settings)).await
    }
}

/// Field errors of a form, looked up by field name in templates.
#[derive(Clone, Debug, Default)]
pub struct FormErrors(pub Vec<FieldError>);

impl FormErrors {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `?sparat=…` after a redirect: which change was saved, for the page to say so through
/// [`Saved::message_on`].
#[derive(serde::Deserialize)]
pub struct SavedQuery {
    #[serde(rename = "sparat")]
    pub saved: Option<String>,
}

/// Which page a [`Saved`] change is confirmed on: the same word can mean different changes on
/// different pages (`borttagen`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SavedOn {
    Profile,
    Report,
    Sip,
    Consultation,
    Plan,
    Journal,
    InformationRequest,
}

/// A change a page confirms after the redirect that follows it, named by `?sparat=…`. One list
/// for every page, so that the redirect and the page it leads to agree on the word and the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Saved {
    WorkingHours,
    CalendarAdded,
    FileRead,
    CalendarRemoved,
    FeedClosed,
    RecoveryCodeUsed,
    SafetyAssessment,
    Decision,
    Extension,
    Consent,
    ConsentWithdrawn,
    ParticipantAdded,
    ParticipantRemoved,
    MeetingBooked,
    MeetingCancelled,
    FollowUpBooked,
    ConsultationAsked,
    ConsultationAnswered,
    PlanRecorded,
    SiblingAdded,
    JournalWritten,
    JournalSigned,
    JournalCorrected,
    HandedOver,
    RequestAnswered,
    RequestDeclined,
    MoreTimeAsked,
    DueDateMoved,
}

impl Saved {
    const ALL: [Saved; 28] = [
        Saved::WorkingHours,
        Saved::CalendarAdded,
        Saved::FileRead,
        Saved::CalendarRemoved,
        Saved::FeedClosed,
        Saved::RecoveryCodeUsed,
        Saved::SafetyAssessment,
        Saved::Decision,
        Saved::Extension,
        Saved::Consent,
        Saved::ConsentWithdrawn,
        Saved::ParticipantAdded,
        Saved::ParticipantRemoved,
        Saved::MeetingBooked,
        Saved::MeetingCancelled,
        Saved::FollowUpBooked,
        Saved::ConsultationAsked,
        Saved::ConsultationAnswered,
        Saved::PlanRecorded,
        Saved::SiblingAdded,
        Saved::JournalWritten,
        Saved::JournalSigned,
        Saved::JournalCorrected,
        Saved::HandedOver,
        Saved::RequestAnswered,
        Saved::RequestDeclined,
        Saved::MoreTimeAsked,
        Saved::DueDateMoved,
    ];

    /// The page that confirms it, its word in `?sparat=` and what the page says.
    fn describe(self) -> (SavedOn, &'static str, &'static str) {
        use SavedOn::*;
        match self {
            Saved::WorkingHours => (Profile, "arbetstid", "Din arbetstid är sparad."),
            Saved::CalendarAdded => (
                Profile,
                "kalender",
                "Kalendern är tillagd. Samordna läser den nu och sedan regelbundet.",
            ),
            Saved::FileRead => (
                Profile,
                "fil",
                "Filen är inläst. Bara tiderna då du är upptagen sparades.",
            ),
            Saved::CalendarRemoved => (
                Profile,
                "borttagen",
                "Kalendern är borttagen, och tiderna från den med den.",
            ),
            Saved::FeedClosed => (Profile, "stangd", "Kalenderadressen är avstängd."),
            Saved::RecoveryCodeUsed => (
                Profile,
                "reservkod",
                "Du loggade in med en reservkod. Den fungerar inte igen – se hur många du har kvar nedan.",
            ),
            Saved::SafetyAssessment => (Report, "skydd", "Skyddsbedömningen är sparad."),
            Saved::Decision => (Report, "beslut", "Beslutet är sparat."),
            Saved::Extension => (Report, "forlangning", "Förlängningen är sparad."),
            Saved::HandedOver => (
                Report,
                "overlamnad",
                "Överlämningen till ärendesystemet är sparad.",
            ),
            Saved::SiblingAdded => (
                Report,
                "syskon",
                "Syskonet är tillagt i anmälan och behöver ett eget beslut.",
            ),
            Saved::Consent => (Sip, "samtycke", "Samtycket är registrerat."),
            Saved::ConsentWithdrawn => (
                Sip,
                "aterkallat",
                "Samtycket är återkallat. De som inte längre omfattas har fått besked om att de inte är med.",
            ),
            Saved::ParticipantAdded => (Sip, "deltagare", "Deltagaren är tillagd."),
            Saved::ParticipantRemoved => (
                Sip,
                "borttagen",
                "Deltagaren är borttagen och har fått besked.",
            ),
            Saved::MeetingBooked => (
                Sip,
                "mote",
                "Mötet är bokat och inbjudningarna är skickade.",
            ),
            Saved::MeetingCancelled => (
                Sip,
                "installt",
                "Mötet är inställt och alla har fått besked.",
            ),
            Saved::FollowUpBooked => (
                Sip,
                "uppfoljning",
                "Uppföljningsmötet är bokat och inbjudningarna är skickade.",
            ),
            Saved::ConsultationAsked => (
                Consultation,
                "skickad",
                "Din fråga är skickad. Du får ett mejl när socialtjänsten har svarat.",
            ),
            Saved::ConsultationAnswered => (
                Consultation,
                "svar",
                "Svaret är skickat. Den som frågade har fått ett mejl om att det finns ett svar.",
            ),
            Saved::PlanRecorded => (Plan, "plan", "Planen är sparad."),
            Saved::JournalWritten => (
                Journal,
                "anteckning",
                "Anteckningen är sparad som utkast. Signera den när den är klar.",
            ),
            Saved::JournalSigned => (
                Journal,
                "signerad",
                "Anteckningen är signerad. Den kan inte längre ändras, bara rättas.",
            ),
            Saved::JournalCorrected => (
                Journal,
                "rattelse",
                "Rättelsen är sparad som utkast bredvid anteckningen den rättar. Signera den när den är klar.",
            ),
            Saved::RequestAnswered => (
                InformationRequest,
                "svar",
                "Tack! Ditt svar är skickat till socialtjänsten.",
            ),
            Saved::RequestDeclined => (
                InformationRequest,
                "avbojd",
                "Du har avböjt begäran. Socialtjänsten ser ditt skäl.",
            ),
            Saved::MoreTimeAsked => (
                InformationRequest,
                "mer-tid",
                "Din fråga om mer tid är skickad. Socialtjänsten ser den och kan ge en ny sista svarsdag.",
            ),
            Saved::DueDateMoved => (
                InformationRequest,
                "ny-dag",
                "Den nya sista svarsdagen är sparad. Påminnelsen följer den nya dagen.",
            ),
        }
    }

    /// Its word in `?sparat=`.
    pub fn word(self) -> &'static str {
        self.describe().1
    }

    /// What the page says about it.
    pub fn message(self) -> &'static str {
        self.describe().2
    }

    /// The change `word` names on `page`, if any.
    pub fn read(page: SavedOn, word: Option<&str>) -> Option<Saved> {
        let word = word?;
        Saved::ALL.into_iter().find(|saved| {
            let (on, its_word, _) = saved.describe();
            on == page && its_word == word
        })
    }

    /// What `page` says after the redirect with `query`: the change's text, or nothing.
    pub fn message_on(page: SavedOn, query: &SavedQuery) -> &'static str {
        Saved::read(page, query.saved.as_deref()).map_or("", Saved::message)
    }
}

/// After a change: on to the page that shows it (303).
pub fn see_other(location: String) -> actix_web::HttpResponse {
    actix_web::HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, location))
        .finish()
}

/// An HTML page with the given status (a form with mistakes answers 422, and so on).
pub fn render(
    status: actix_web::http::StatusCode,
    page: &impl askama::Template,
) -> Result<actix_web::HttpResponse, crate::error::PageError> {
    render_with(&mut actix_web::HttpResponse::Ok(), status, page)
}

/// [`render`] on a response that already carries headers or cookies.
pub fn render_with(
    response: &mut actix_web::HttpResponseBuilder,
    status: actix_web::http::StatusCode,
    page: &impl askama::Template,
) -> Result<actix_web::HttpResponse, crate::error::PageError> {
    Ok(response
        .status(status)
        .content_type("text/html; charset=utf-8")
        .body(page.render().map_err(AppError::internal)?))
}

/// A page address with a query that cannot be read answers with the Swedish error page (the API
/// scope has its own JSON answer).
pub fn page_query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|_, _| {
        crate::error::PageError(AppError::BadRequest(
            "Adressen innehåller något som inte kan läsas. Gå tillbaka och försök igen.".into(),
        ))
        .into()
    })
}

/// Whether a yes/no question was answered `want` (for radio buttons).
pub fn is_answer(value: &Option<bool>, want: bool) -> bool {
    *value == Some(want)
}

/// The first value of `key` in a posted form read as pairs (forms with repeated keys).
pub fn form_value<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.as_str())
}

/// Only a path on this site may be a redirect target after login (no `//host` or `https://`).
pub fn safe_local_path(next: Option<&str>) -> String {
    match next {
        // Browsers drop tabs and line breaks in addresses ("/\t/evil.example" is
        // "//evil.example"), so no control character or space may pass.
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

pub const STYLE_CSS: &str = include_str!("../../static/style.css");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_saved_change_is_read_back_from_its_word_on_its_page() {
        for saved in Saved::ALL {
            let (on, word, _) = saved.describe();
            assert_eq!(Saved::read(on, Some(word)), Some(saved));
        }
        assert_eq!(Saved::read(SavedOn::Report, Some("arbetstid")), None);
        assert_eq!(Saved::read(SavedOn::Profile, None), None);
    }

    #[test]
    fn redirects_stay_on_the_site() {
        assert_eq!(safe_local_path(Some("/admin/users")), "/admin/users");
        assert_eq!(safe_local_path(Some("//evil.example")), "/");
        assert_eq!(safe_local_path(Some("https://evil.example")), "/");
        assert_eq!(safe_local_path(Some("/\\evil.example")), "/");
        for sneaky in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r//evil.example",
            "/ /evil",
        ] {
            assert_eq!(safe_local_path(Some(sneaky)), "/", "{sneaky:?}");
        }
        assert_eq!(safe_local_path(None), "/");
    }
}
