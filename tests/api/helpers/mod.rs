//! Test harness: each test gets the real service on port 0 with a fresh database (a temporary
//! SQLite file, or a new PostgreSQL database), and a real SMTP server in the same process.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::Connection;
use samordna::accounts::{self, NewOrganisation, NewUser, Role};
use samordna::audit::AuditActor;
use samordna::config::Settings;
use samordna::db::{write_tx, AnyConnection};
use samordna::web::AppState;
use serde_json::{json, Value};

mod cli;
mod fixtures;
mod intake;
mod oidc;
mod replies;
mod requests;
mod smtp;
mod totp;

pub use cli::{outcome, samordna_command};
pub use fixtures::SipWithPartner;
pub use intake::{office_hours_closed_now, INTAKE_ALERT, SOCIALJOUR_ALERT, SOCIALJOUR_PHONE};
pub use oidc::{forged_provider, real_provider, real_provider_with, Person, LOA2, LOA3};
pub use replies::{fixture, inbound, ingest_by_pipe, reply_mail};
pub use requests::{error_fields, location, status_and_json};
pub use smtp::{Received, TestSmtp};
pub use totp::{totp_code, unix_now, Authenticator, Login};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Runs each named `async fn(TestApp)` as two tests, `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[actix_web::test]
            async fn sqlite() {
                super::$name($crate::helpers::TestApp::spawn($crate::helpers::Db::Sqlite).await).await
            }
            #[actix_web::test]
            async fn postgres() {
                super::$name($crate::helpers::TestApp::spawn($crate::helpers::Db::Postgres).await).await
            }
        }
    )+};
}

/// Like [`on_both_databases!`], for tests that start their own instances: each named
/// `async fn name(kind: Db)` runs once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_kinds {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[actix_web::test]
            async fn sqlite() {
                super::$name($crate::helpers::Db::Sqlite).await
            }
            #[actix_web::test]
            async fn postgres() {
                super::$name($crate::helpers::Db::Postgres).await
            }
        }
    )+};
}

/// The PostgreSQL server for tests. `.ci/run` sets it; unset, the local default is used. Tests
/// fail (they never skip) when it cannot be reached.
///
/// Tests talk to it without TLS (`sslmode=disable` unless the URL says otherwise): with TLS, libpq
/// starts OpenSSL, whose exit handler races with the test's worker threads still shutting down and
/// can crash the test binary after every test has passed (openssl/openssl#6214).
pub fn postgres_admin_url() -> String {
    let url = std::env::var("SAMORDNA_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    if url.contains("sslmode=") {
        url
    } else if url.contains('?') {
        format!("{url}&sslmode=disable")
    } else {
        format!("{url}?sslmode=disable")
    }
}

/// A database that exists for one test and is dropped after it.
pub struct TestDatabase {
    pub url: String,
    /// The PostgreSQL server's admin URL and the database's name there.
    pg: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl TestDatabase {
    pub fn create(db: Db) -> Self {
        match db {
            Db::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                Self {
                    url: format!("sqlite://{}", dir.path().join("test.db").display()),
                    pg: None,
                    _dir: dir,
                }
            }
            Db::Postgres => Self::create_on(&postgres_admin_url()),
        }
    }

    /// A new database on the PostgreSQL server at `admin`.
    pub fn create_on(admin: &str) -> Self {
        let name = format!("samordna_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = diesel::PgConnection::establish(admin).unwrap_or_else(|e| {
            panic!(
                "PostgreSQL for tests is unreachable at {admin}: {e}. \
                 Start it, or set SAMORDNA_TEST_POSTGRES_URL."
            )
        });
        conn.batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create test database");
        let mut url = url::Url::parse(admin).expect("postgres URL");
        url.set_path(&name);
        Self {
            url: url.to_string(),
            pg: Some((admin.to_string(), name)),
            _dir: tempfile::tempdir().expect("temp dir"),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg {
            if let Ok(mut conn) = diesel::PgConnection::establish(admin) {
                let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

pub const SECRET: &str = "test-secret-key-that-is-long-enough-0123456789";

/// What the tests log: debug level for our own code and for actix's (whose extractors would log
/// concrete request paths at debug if the service's filter let them).
pub const TEST_LOG_LEVELS: &str =
    "info,samordna=debug,actix_web=debug,actix_http=debug,actix_server=debug,tracing_actix_web=debug";

/// Everything the service logs during the test run, at [`TEST_LOG_LEVELS`] through the service's
/// own filter ([`samordna::telemetry::filter`]), as JSON lines in `target/test-logs/`, where `scripts/test` scans it for the test children's names and
/// personnummer after the suite (nothing identifying may be logged).
pub fn capture_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-logs");
        std::fs::create_dir_all(&dir).expect("log folder");
        let file = std::fs::File::create(dir.join(format!("api-{}.log", std::process::id())))
            .expect("log file");
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        use tracing_subscriber::Layer;
        let _ = tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(Mutex::new(file))
                    .json()
                    .with_filter(samordna::telemetry::filter(TEST_LOG_LEVELS)),
            )
            .try_init();
    });
}

/// An `extra` setting for [`TestApp::spawn_with`]: the background pass (reminders, and partners
/// whose consent ran out taken off their meetings) runs once at start, then not within the test,
/// for tests of what holds without it.
pub const BACKGROUND_PASS_OFF: (&str, &str) = ("TEST_BACKGROUND_PASS", "off");

/// The settings a test instance runs with.
pub fn test_settings(
    database_url: &str,
    port: u16,
    smtp: &TestSmtp,
    extra: &[(&str, &str)],
) -> Settings {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("SAMORDNA_DATABASE_URL".into(), database_url.to_string()),
        ("SAMORDNA_BIND".into(), format!("127.0.0.1:{port}")),
        ("SAMORDNA_SMTP_URL".into(), smtp.url()),
        (
            "SAMORDNA_MAIL_FROM".into(),
            "Samordna <samordna@test.samordna.se>".into(),
        ),
        ("SAMORDNA_SECRET_KEY".into(), SECRET.into()),
        ("SAMORDNA_MAIL_RETRY_SECONDS".into(), "1".into()),
        ("SAMORDNA_DB_POOL_SIZE".into(), "4".into()),
        // Test calendars are served from loopback.
        ("SAMORDNA_BUSY_FETCH_PRIVATE".into(), "true".into()),
        // Tests drive retention themselves; tests/api/retention.rs turns the schedule on.
        ("SAMORDNA_RETENTION_HOURS".into(), "0".into()),
    ]);
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    let mut settings =
        Settings::from_lookup(|name| vars.get(name).cloned()).expect("test settings");
    settings.mail_poll_interval = Duration::from_millis(100);
    // Often, so that tests need not wait; or (BACKGROUND_PASS_OFF) not within a test's time.
    settings.reminder_poll_interval = if vars.contains_key(BACKGROUND_PASS_OFF.0) {
        Duration::from_secs(3600)
    } else {
        Duration::from_millis(200)
    };
    settings.busy_refresh = Duration::from_secs(2);
    settings
}

#[derive(Clone)]
pub struct TestApp {
    pub address: String,
    pub state: AppState,
    pub smtp: TestSmtp,
    pub client: reqwest::Client,
    pub db: Arc<TestDatabase>,
}

impl TestApp {
    pub async fn spawn(kind: Db) -> Self {
        Self::spawn_with(kind, &[], true).await
    }

    /// Starts an instance; `smtp_up: false` leaves the SMTP port closed until `smtp.start()`.
    pub async fn spawn_with(kind: Db, extra: &[(&str, &str)], smtp_up: bool) -> Self {
        let db = Arc::new(TestDatabase::create(kind));
        let smtp = TestSmtp::reserve();
        if smtp_up {
            smtp.start();
        }
        Self::spawn_on(db, smtp, kind, extra).await
    }

    /// Starts another instance on an existing database and SMTP server.
    pub async fn spawn_on(
        db: Arc<TestDatabase>,
        smtp: TestSmtp,
        _kind: Db,
        extra: &[(&str, &str)],
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        capture_logs();
        let settings = test_settings(&db.url, port, &smtp, extra);
        let (pool, transport) = samordna::startup::prepare(&settings).expect("database ready");
        let app =
            samordna::startup::start(settings, pool, transport, listener).expect("server starts");
        actix_web::rt::spawn(app.server);
        Self {
            address: format!("http://127.0.0.1:{port}"),
            state: app.state,
            smtp,
            client: new_client(),
            db,
        }
    }

    /// An API token for a user, issued directly.
    pub async fn token_for(&self, login: &Login) -> String {
        let user_id = login.user_id.clone();
        self.conn(move |conn| {
            samordna::accounts::tokens::issue(
                conn,
                "test",
                samordna::accounts::tokens::Holder::User(samordna::accounts::UserId(user_id)),
                "test",
            )
            .unwrap()
            .1
        })
        .await
    }

    /// The id of a municipality by name.
    pub async fn municipality_id(&self, name: &str) -> String {
        let name = name.to_string();
        self.conn(move |conn| {
            accounts::find_municipality_by_name(conn, &name)
                .unwrap()
                .unwrap()
                .id
                .0
        })
        .await
    }

    /// The same instance seen from another browser (no cookies).
    pub fn fresh_browser(&self) -> TestApp {
        TestApp {
            client: new_client(),
            ..self.clone()
        }
    }

    /// Another browser whose every request carries `X-Forwarded-For: forwarded_for`, as a
    /// reverse proxy in front of the service would add it.
    pub fn through_proxy(&self, forwarded_for: &str) -> TestApp {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", forwarded_for.parse().unwrap());
        TestApp {
            client: client_with(headers),
            ..self.clone()
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut AnyConnection) -> T + Send + 'static,
    ) -> T {
        let pool = self.state.pool.clone();
        actix_web::web::block(move || f(&mut pool.get().expect("connection")))
            .await
            .expect("blocking task")
    }

    /// The audit entries about objects of `object_type`, in order: (action, outcome, detail).
    pub async fn audit_entries(&self, object_type: &'static str) -> Vec<(String, String, String)> {
        use diesel::prelude::*;
        use samordna::db::schema::audit_log;
        self.conn(move |c| {
            audit_log::table
                .filter(audit_log::object_type.eq(object_type))
                .order(audit_log::seq)
                .select((audit_log::action, audit_log::outcome, audit_log::detail))
                .load(c)
                .unwrap()
        })
        .await
    }

    /// Adds a municipality, an organisation of `kind` and a user with `roles`; returns the login.
    pub async fn add_user(&self, org_kind: &str, roles: &[Role]) -> Login {
        self.add_user_in("Testkommun", org_kind, roles).await
    }

    /// Like [`TestApp::add_user`], in the named municipality (created if needed).
    pub async fn add_user_in(&self, municipality: &str, org_kind: &str, roles: &[Role]) -> Login {
        let municipality = municipality.to_string();
        let roles = roles.to_vec();
        let org_kind = org_kind.to_string();
        let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        let password = format!("lösenord-{tag}-prov");
        let pw = password.clone();
        let settings = self.state.settings.clone();
        let (email, user_id) = self
            .conn(move |conn| {
                write_tx(conn, |conn| {
                    let m = municipality_named(conn, &municipality)?;
                    let org = accounts::create_organisation(
                        conn,
                        &NewOrganisation {
                            name: format!("Org {tag}"),
                            kind: org_kind,
                            principal: "kommun".into(),
                            municipality_id: m.id.0.clone(),
                        },
                    )?;
                    let user = accounts::add_user(
                        conn,
                        &settings,
                        &AuditActor::cli(),
                        &NewUser {
                            email: format!("user-{tag}@test.samordna.se"),
                            name: format!("Test Person {tag}"),
                            title: "Testare".into(),
                            phone: String::new(),
                            organisation_id: org.id.0,
                            roles,
                            password: pw,
                        },
                    )?;
                    Ok::<_, samordna::error::AppError>((user.email, user.id.0))
                })
            })
            .await
            .expect("user added");
        Login::new(&email, &password, &user_id)
    }

    /// Fetches a page and returns its HTML.
    pub async fn page(&self, path: &str) -> String {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        response.text().await.unwrap()
    }

    /// Fetches a page and returns its CSRF token.
    pub async fn csrf(&self, path: &str) -> String {
        csrf_from(&self.page(path).await)
    }

    /// Posts a form as a browser does: with the CSRF token of the page the form is on.
    pub async fn submit(
        &self,
        form_page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let token = self.csrf(form_page).await;
        let mut form = vec![("csrf_token", token.as_str())];
        form.extend_from_slice(fields);
        self.client
            .post(self.url(action))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// The status the login form answers this browser with for `email` and `password` (303
    /// signed in, 401 wrong, 429 throttled); the second step, if any, is not taken.
    pub async fn sign_in_status(&self, email: &str, password: &str) -> u16 {
        let fields = [("email", email), ("password", password), ("next", "/")];
        self.submit("/login", "/login", &fields)
            .await
            .status()
            .as_u16()
    }

    /// Logs in through the login form, and for roles that need it through the second step
    /// (setting up the app on the first login); panics if it fails.
    pub async fn login(&self, login: &Login) {
        let response = self
            .submit(
                "/login",
                "/login",
                &[
                    ("email", &login.email),
                    ("password", &login.password),
                    ("next", "/"),
                ],
            )
            .await;
        assert_eq!(response.status().as_u16(), 303, "login should redirect");
        if response.headers()["location"] != "/" {
            assert_eq!(response.headers()["location"], "/login/kod?next=%2F");
            let status = self.second_factor(login).await;
            assert!(status == 200 || status == 303, "second step: {status}");
        }
    }

    /// Passes the second step of signing in with the user's app: sets it up when the page asks
    /// for that, else types the current code. Returns the status of the answer (200: the recovery
    /// codes after set-up; 303: signed in).
    pub async fn second_factor(&self, login: &Login) -> u16 {
        let page = self.page("/login/kod?next=%2F").await;
        if page.contains("id=\"totp-secret\"") {
            login.app.scan(&page);
        }
        let code = login.app.next_code().await;
        let response = self
            .submit(
                "/login/kod",
                "/login/kod",
                &[("code", &code), ("next", "/")],
            )
            .await;
        response.status().as_u16()
    }
}

/// The municipality of that name, added if there is none yet.
pub fn municipality_named(
    conn: &mut AnyConnection,
    name: &str,
) -> Result<accounts::Municipality, samordna::error::AppError> {
    match accounts::find_municipality_by_name(conn, name)? {
        Some(m) => Ok(m),
        None => accounts::create_municipality(conn, name, "010-000 00 00"),
    }
}

/// The id of Testkommun, the municipality of [`TestApp::add_user`], added if needed.
pub fn test_municipality(
    conn: &mut AnyConnection,
) -> Result<accounts::MunicipalityId, samordna::error::AppError> {
    municipality_named(conn, "Testkommun").map(|m| m.id)
}

/// A browser-like client: keeps cookies, does not follow redirects (tests look at them).
pub fn new_client() -> reqwest::Client {
    client_with(reqwest::header::HeaderMap::new())
}

fn client_with(headers: reqwest::header::HeaderMap) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

pub fn csrf_from(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("page has a CSRF token") + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_string()
}

/// The secret a page shows once (a new password or API token).
pub fn shown_once(html: &str) -> String {
    let marker = "<p class=\"secret\">";
    let start = html.find(marker).expect("a secret shown once") + marker.len();
    html[start..start + html[start..].find('<').unwrap()].to_string()
}

/// A complete professional report about one child (with personnummer) and one guardian, for
/// the API; `marker` goes into the free text to tell reports apart.
pub fn report_body(municipality_id: &str, marker: &str) -> Value {
    json!({
        "municipality_id": municipality_id,
        "children": [{"personal_number": "20121212-1212", "name": "Kim Testbarn", "school": "Björkskolan",
                      "told": true}],
        "guardians": [{"name": "Vårdnadshavare Ett", "told": true}],
        "concern": format!("Barnet kommer hungrigt till skolan. Prov {marker}."),
        "categories": ["neglect"],
        "acute_danger": false,
        "police_informed": false
    })
}
