//! Load benchmark of the running service (release build) on SQLite and PostgreSQL, with `wrk` on
//! loopback: filing a report through the API against the database's own single-row-transaction
//! rate, the intake queue at 10k, 100k and 1M reports, the calendar feed of a user with 500
//! meetings, and the service's memory idle and under load. `scripts/perf` installs `wrk` and runs
//! it; docs/performance.md has the figures.
//!
//! `cargo bench --bench load -- [sqlite|postgres]...` (both unless named). Settings:
//! `LOAD_SECONDS` per wrk run (default 10), `LOAD_RUNS` per figure (default 3, the median is
//! reported), `LOAD_SIZES` (default `10000,100000,1000000`), `SAMORDNA_TEST_POSTGRES_URL`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use diesel::prelude::*;
use samordna::accounts::{MunicipalityId, UserId};
use samordna::audit::{Entry, Outcome};
use samordna::crypto::rows::SealedRow;
use samordna::crypto::Keyring;
use samordna::db::schema::{
    audit_log, intake_queue, municipalities, report_children, report_guardians, report_reporters,
    reports, users,
};
use samordna::db::{write_tx, AnyConnection};
use samordna::error::AppError;
use samordna::reports::model::ReporterKind;
use samordna::reports::store::{ChildRow, GuardianRow, Report, ReportId, Reporter};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_samordna");
const SECRET: &str = "load-benchmark-secret-key-0123456789abcdef";
const PASSWORD: &str = "Lastprov-lösenord-2026";

/// The keys the service derives from `SECRET` (no `SAMORDNA_DATA_KEYS` is set), so that rows
/// written here are sealed as the service seals them and it can open them.
fn keys() -> Keyring {
    Keyring::new(
        vec![Keyring::derived_data_key(SECRET.as_bytes())],
        Keyring::derived_index_key(SECRET.as_bytes()),
    )
    .expect("a derived key")
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

/// One wrk run: requests per second, latency percentiles in ms, and answers that were not 2xx.
#[derive(Debug, Clone, Copy)]
struct Run {
    rps: f64,
    p50: f64,
    p99: f64,
    errors: u64,
}

fn millis(text: &str) -> f64 {
    let (number, unit) =
        text.split_at(text.find(|c: char| c.is_alphabetic()).unwrap_or(text.len()));
    let n: f64 = number.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => f64::NAN,
    }
}

fn wrk(url: &str, connections: u32, script: Option<&Path>, headers: &[String]) -> Run {
    let seconds = env_number("LOAD_SECONDS", 10);
    let mut command = Command::new("wrk");
    command
        .arg(format!("-t{}", connections.min(2)))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{seconds}s"))
        .arg("--latency")
        .arg("--timeout")
        .arg("10s");
    if let Some(script) = script {
        command.arg("-s").arg(script);
    }
    for h in headers {
        command.arg("-H").arg(h);
    }
    let out = command
        .arg(url)
        .output()
        .expect("wrk is installed (scripts/perf installs it)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let field = |prefix: &str| -> Option<String> {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .map(|l| {
                l[prefix.len()..]
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
    };
    let run = Run {
        rps: field("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0),
        p50: field("50%").map(|v| millis(&v)).unwrap_or(f64::NAN),
        p99: field("99%").map(|v| millis(&v)).unwrap_or(f64::NAN),
        errors: field("Non-2xx or 3xx responses:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
            + field("Socket errors:").map(|_| 1).unwrap_or(0),
    };
    assert!(
        run.rps > 0.0,
        "wrk failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    run
}

/// Runs wrk `LOAD_RUNS` times and reports each run and the medians.
fn measure(
    label: &str,
    url: &str,
    connections: u32,
    script: Option<&Path>,
    headers: &[String],
) -> Run {
    let runs: Vec<Run> = (0..env_number("LOAD_RUNS", 3))
        .map(|_| wrk(url, connections, script, headers))
        .collect();
    let pick = |f: fn(&Run) -> f64| median(&mut runs.iter().map(f).collect::<Vec<_>>());
    let result = Run {
        rps: pick(|r| r.rps),
        p50: pick(|r| r.p50),
        p99: pick(|r| r.p99),
        errors: runs.iter().map(|r| r.errors).sum(),
    };
    println!(
        "  {label}: median {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, non-2xx {} (runs: {})",
        result.rps,
        result.p50,
        result.p99,
        result.errors,
        runs.iter()
            .map(|r| format!("{:.0}/s p99 {:.2} ms", r.rps, r.p99))
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert_eq!(result.errors, 0, "{label}: every answer was 2xx");
    result
}

/// The database under test, made fresh and removed afterwards.
struct Database {
    url: String,
    drop_pg: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Database {
    fn create(kind: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        if kind == "sqlite" {
            return Self {
                url: format!("sqlite://{}", dir.path().join("load.db").display()),
                drop_pg: None,
                _dir: dir,
            };
        }
        let admin = std::env::var("SAMORDNA_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("samordna_load_{}", std::process::id());
        let mut conn = diesel::PgConnection::establish(&admin).expect("PostgreSQL reachable");
        for statement in [
            format!("DROP DATABASE IF EXISTS {name}"),
            format!("CREATE DATABASE {name}"),
        ] {
            diesel::connection::SimpleConnection::batch_execute(&mut conn, &statement).unwrap();
        }
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&name);
        Self {
            url: format!("{url}"),
            drop_pg: Some((admin, name)),
            _dir: dir,
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.drop_pg {
            if let Ok(mut conn) = diesel::PgConnection::establish(admin) {
                let _ = diesel::connection::SimpleConnection::batch_execute(
                    &mut conn,
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                );
            }
        }
    }
}

fn cli(db: &Database, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .env("SAMORDNA_DATABASE_URL", &db.url)
        .env("SAMORDNA_SECRET_KEY", SECRET)
        .env("SAMORDNA_NEW_PASSWORD", PASSWORD)
        .env("SAMORDNA_MAIL_DIR", db._dir.path().join("mail"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "samordna {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn token(db: &Database, email: &str) -> String {
    let printed = cli(db, &["token", "add", "--name", "last", "--user", email]);
    printed.lines().last().unwrap().trim().to_string()
}

struct Service {
    child: Child,
    url: String,
}

impl Service {
    fn start(db: &Database) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(BIN)
            .arg("serve")
            .env("SAMORDNA_DATABASE_URL", &db.url)
            .env("SAMORDNA_BIND", format!("127.0.0.1:{port}"))
            .env("SAMORDNA_SECRET_KEY", SECRET)
            .env("SAMORDNA_MAIL_DIR", db._dir.path().join("mail"))
            .env("SAMORDNA_LOG_FORMAT", "json")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        while reqwest::blocking::get(format!("{url}/readyz"))
            .map_or(true, |r| !r.status().is_success())
        {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "service did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, url }
    }

    /// Resident memory now and at its peak, in MB.
    fn memory(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kb = |key: &str| -> f64 {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(f64::NAN)
        };
        (kb("VmRSS:") / 1024.0, kb("VmHWM:") / 1024.0)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn report_json(municipality: &str) -> Value {
    json!({
        "municipality_id": municipality,
        "children": [{"personal_number": "20121212-1212", "name": "Kim Testbarn", "school": "Björkskolan",
                      "told": true}],
        "guardians": [{"name": "Vårdnadshavare Ett", "phone": "070-123 45 67", "told": true}],
        "concern": "Barnet kommer ofta hungrigt till skolan och säger att det inte finns mat hemma.",
        "categories": ["neglect"],
        "acute_danger": false,
        "police_informed": false
    })
}

/// The same rows one API filing writes (report, reporter, child, guardian, queue place, audit
/// entry), inserted in a loop, one transaction each, on one connection: the database's own rate.
fn raw_rate(conn: &mut AnyConnection, municipality: &MunicipalityId, user: &UserId) -> f64 {
    let seconds = env_number("LOAD_SECONDS", 10) as f64 / 2.0;
    let keys = keys();
    let mut rates = Vec::new();
    let mut n: i64 = 0;
    for _ in 0..env_number("LOAD_RUNS", 3) {
        let start = Instant::now();
        let mut count = 0u64;
        while start.elapsed().as_secs_f64() < seconds {
            n += 1;
            let id = ReportId(format!("raw-{}-{n}", std::process::id()));
            let now = samordna::db::now();
            write_tx(conn, |conn| {
                diesel::insert_into(reports::table)
                    .values(&Report {
                        id: id.clone(),
                        reference: format!("RAW-{}-{n}", std::process::id()),
                        municipality_id: municipality.clone(),
                        received_at: now,
                        reporter_kind: ReporterKind::Professional,
                        reporter_user_id: Some(user.clone()),
                        concern: "Barnet kommer ofta hungrigt till skolan och säger att det inte finns mat hemma.".into(),
                        categories: "neglect".into(),
                        acute_danger: false,
                        police_informed: false,
                        interpreter_language: String::new(),
                        other_agencies: String::new(),
                        safety_due_at: now,
                        decision_due_on: now.date(),
                    }
                    .seal(&keys))
                    .execute(conn)?;
                diesel::insert_into(report_reporters::table)
                    .values(&Reporter {
                        report_id: id.clone(),
                        name: "Lärare Last".into(),
                        title: "Lärare".into(),
                        organisation: "Lastskolan".into(),
                        phone: "08-123 45 67".into(),
                        email: "larare@last.test".into(),
                    }
                    .seal(&keys))
                    .execute(conn)?;
                diesel::insert_into(report_children::table)
                    .values(&ChildRow {
                        id: uuid::Uuid::new_v4().to_string(),
                        report_id: id.clone(),
                        position: 0,
                        personal_number: Some("201212121212".into()),
                        name: "Kim Testbarn".into(),
                        birth_date: None,
                        address: String::new(),
                        school: "Björkskolan".into(),
                        child_told: true,
                        not_told_reason: String::new(),
                        personal_number_index: None,
                    }
                    .seal(&keys))
                    .execute(conn)?;
                diesel::insert_into(report_guardians::table)
                    .values(&GuardianRow {
                        id: uuid::Uuid::new_v4().to_string(),
                        report_id: id.clone(),
                        position: 0,
                        name: "Vårdnadshavare Ett".into(),
                        phone: "070-123 45 67".into(),
                        guardian_told: true,
                        not_told_reason: String::new(),
                    }
                    .seal(&keys))
                    .execute(conn)?;
                diesel::insert_into(intake_queue::table)
                    .values((
                        intake_queue::report_id.eq(&id),
                        intake_queue::municipality_id.eq(municipality),
                        intake_queue::due_at.eq(now),
                        intake_queue::received_at.eq(now),
                    ))
                    .execute(conn)?;
                diesel::insert_into(audit_log::table)
                    .values(&Entry {
                        seq: 1_000_000_000 + n,
                        at: now,
                        actor_id: Some(user.0.clone()),
                        actor_label: "Lärare Last".into(),
                        action: "report.create".into(),
                        object_type: "report".into(),
                        object_id: Some(id.0.clone()),
                        outcome: Outcome::Success,
                        detail: "children=1 kind=professional".into(),
                        prev_hash: "0".repeat(64),
                        hash: "0".repeat(64),
                        municipality_id: Some(municipality.clone()),
                    })
                    .execute(conn)?;
                Ok::<_, AppError>(())
            })
            .unwrap();
            count += 1;
        }
        rates.push(count as f64 / start.elapsed().as_secs_f64());
    }
    println!(
        "  raw inserts, one transaction each: {}",
        rates
            .iter()
            .map(|r| format!("{r:.0}/s"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    median(&mut rates)
}

/// Adds reports to `municipality` until it holds `total`: one child each, received over the last
/// years, every hundredth still undecided (in the queue, half of them safety-assessed), the rest
/// assessed and decided. Done in SQL, in batches. The sealed columns get values sealed as the
/// service seals them, so that reading them costs what it costs in use; one sealed value per
/// column is reused for every row (the same ciphertext, harmless for made-up data).
fn seed_reports(
    conn: &mut AnyConnection,
    municipality: &str,
    officer: &str,
    from: u64,
    total: u64,
) {
    let sqlite = matches!(conn, AnyConnection::Sqlite(_));
    let series = |lo: u64, hi: u64| {
        if sqlite {
            format!("WITH RECURSIVE s(i) AS (SELECT {lo} UNION ALL SELECT i + 1 FROM s WHERE i < {hi}) ")
        } else {
            format!("WITH s(i) AS (SELECT generate_series({lo}::bigint, {hi}::bigint)) ")
        }
    };
    let ts = |expr: &str| {
        if sqlite {
            format!("datetime('2026-11-23 08:00:00', (-({expr})) || ' minutes')")
        } else {
            format!("(TIMESTAMP '2026-11-23 08:00:00' - ({expr}) * INTERVAL '1 minute')")
        }
    };
    let day = |expr: &str| {
        if sqlite {
            format!("date('2026-12-07', (-({expr})) || ' days')")
        } else {
            format!("(DATE '2026-12-07' - ({expr})::int)")
        }
    };
    let (f, t) = (
        if sqlite { "0" } else { "false" },
        if sqlite { "1" } else { "true" },
    );
    let keys = keys();
    let sealed = |column: &str, plain: &str| format!("'{}'", keys.seal(column, plain));
    let concern = sealed("reports.concern", "Orosanmälan från lastprovet");
    let (language, agencies) = (
        sealed("reports.interpreter_language", ""),
        sealed("reports.other_agencies", ""),
    );
    let child = sealed("report_children.name", "Barn i lastprovet");
    let (address, school, not_told) = (
        sealed("report_children.address", ""),
        sealed("report_children.school", ""),
        sealed("report_children.not_told_reason", ""),
    );
    let notes = sealed("safety_assessments.notes", "");
    let reason = sealed("report_decisions.reason", "Inget behov av utredning");
    let (late, siblings) = (
        sealed("report_decisions.late_reason", ""),
        sealed("report_decisions.siblings_note", ""),
    );
    let mut lo = from + 1;
    while lo <= total {
        let hi = (lo + 99_999).min(total);
        let statements = [
            format!(
                "{}INSERT INTO reports (id, reference, municipality_id, received_at, reporter_kind, reporter_user_id, \
                 concern, categories, acute_danger, police_informed, interpreter_language, other_agencies, \
                 safety_due_at, decision_due_on) \
                 SELECT 'seed-' || i, 'SEED-' || i, '{municipality}', {}, 'anonymous', NULL, \
                 {concern}, 'neglect', {f}, {f}, {language}, {agencies}, {}, {} FROM s",
                series(lo, hi),
                ts("i * 3"),
                ts("i * 3 - 480"),
                day("i / 480"),
            ),
            format!(
                "{}INSERT INTO report_children (id, report_id, position, personal_number, name, birth_date, \
                 address, school, child_told, not_told_reason) \
                 SELECT 'seed-child-' || i, 'seed-' || i, 0, NULL, {child}, NULL, {address}, {school}, {t}, \
                 {not_told} FROM s",
                series(lo, hi)
            ),
            format!(
                "{}INSERT INTO safety_assessments (report_id, assessed_at, assessed_by, protection_needed, notes) \
                 SELECT 'seed-' || i, {}, '{officer}', {f}, {notes} FROM s WHERE i % 200 <> 0",
                series(lo, hi),
                ts("i * 3 - 60")
            ),
            format!(
                "{}INSERT INTO report_decisions (report_id, decided_at, decided_by, decision, reason, late_reason, \
                 siblings_note) SELECT 'seed-' || i, {}, '{officer}', 'not_open', {reason}, {late}, {siblings} \
                 FROM s WHERE i % 100 <> 0",
                series(lo, hi),
                ts("i * 3 - 1440")
            ),
            format!(
                "{}INSERT INTO intake_queue (report_id, municipality_id, due_at, received_at) \
                 SELECT 'seed-' || i, '{municipality}', {}, {} FROM s WHERE i % 100 = 0",
                series(lo, hi),
                ts("i * 3 - 480"),
                ts("i * 3")
            ),
        ];
        write_tx(conn, |conn| {
            for statement in &statements {
                diesel::sql_query(statement.as_str()).execute(conn)?;
            }
            Ok::<_, AppError>(())
        })
        .unwrap();
        lo = hi + 1;
    }
    if !sqlite {
        diesel::sql_query("ANALYZE").execute(conn).unwrap();
    }
}

/// Signs in through the login form (setting up the second factor as a caseworker does at the first
/// login) and makes a calendar feed; returns its path.
fn feed_path(service: &Service, email: &str) -> String {
    let client = reqwest::blocking::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let csrf = |html: &str| -> String {
        let at = html.find("name=\"csrf_token\" value=\"").expect("a form") + 25;
        html[at..at + html[at..].find('"').unwrap()].to_string()
    };
    let page = client
        .get(format!("{}/login", service.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let signed_in = client
        .post(format!("{}/login", service.url))
        .form(&[
            ("csrf_token", csrf(&page).as_str()),
            ("email", email),
            ("password", PASSWORD),
            ("next", "/"),
        ])
        .send()
        .unwrap();
    assert!(signed_in.status().is_success(), "{}", signed_in.status());
    let setup = signed_in.text().unwrap();
    let shown = &setup[setup.find("id=\"totp-secret\"").expect("the app's set-up")..];
    let shown = &shown[shown.find('>').unwrap() + 1..];
    let secret: String = shown[..shown.find('<').unwrap()]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let app = totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        totp_rs::Secret::Encoded(secret).to_bytes().unwrap(),
        None,
        String::new(),
    )
    .unwrap();
    let codes = client
        .post(format!("{}/login/kod", service.url))
        .form(&[
            ("csrf_token", csrf(&setup).as_str()),
            ("code", app.generate_current().unwrap().as_str()),
            ("next", "/"),
        ])
        .send()
        .unwrap();
    assert!(codes.status().is_success(), "{}", codes.status());
    let profile = client
        .get(format!("{}/profil", service.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let made = client
        .post(format!("{}/profil/kalender", service.url))
        .form(&[("csrf_token", csrf(&profile).as_str())])
        .send()
        .unwrap()
        .text()
        .unwrap();
    let at = made.find("/calendar/").expect("the new feed address");
    made[at..at + made[at..].find(".ics").unwrap() + 4].to_string()
}

fn api(
    client: &reqwest::blocking::Client,
    method: &str,
    url: String,
    token: &str,
    body: Value,
) -> Value {
    let request = if method == "POST" {
        client.post(url)
    } else {
        client.get(url)
    };
    let response = request.bearer_auth(token).json(&body).send().unwrap();
    let status = response.status();
    let body: Value = response.json().unwrap_or(Value::Null);
    assert!(status.is_success(), "{status} {body}");
    body
}

fn run_backend(kind: &str) {
    println!("== {kind}");
    let db = Database::create(kind);
    cli(&db, &["migrate"]);
    for m in ["Lasteby", "Kölunda"] {
        cli(&db, &["municipality", "add", "--name", m]);
        cli(
            &db,
            &[
                "org",
                "add",
                "--name",
                &format!("Socialtjänsten {m}"),
                "--kind",
                "socialtjanst",
                "--principal",
                "kommun",
                "--municipality",
                m,
            ],
        );
        cli(
            &db,
            &[
                "org",
                "add",
                "--name",
                &format!("Skolan {m}"),
                "--kind",
                "skola",
                "--principal",
                "kommun",
                "--municipality",
                m,
            ],
        );
    }
    let people = [
        ("larare@last.test", "Skolan Lasteby", "reporter"),
        (
            "handlaggare@last.test",
            "Socialtjänsten Lasteby",
            "caseworker",
        ),
        (
            "mottagning@kolunda.test",
            "Socialtjänsten Kölunda",
            "intake",
        ),
    ];
    for (email, org, role) in people {
        cli(
            &db,
            &[
                "user",
                "add",
                "--email",
                email,
                "--name",
                "Last Provsson",
                "--title",
                "Tjänsteperson",
                "--org",
                org,
                "--role",
                role,
            ],
        );
    }
    let (teacher, caseworker, intake) = (
        token(&db, people[0].0),
        token(&db, people[1].0),
        token(&db, people[2].0),
    );
    let pool = samordna::db::connect(&db.url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    let id_of_municipality = |conn: &mut AnyConnection, name: &str| -> String {
        municipalities::table
            .filter(municipalities::name.eq(name))
            .select(municipalities::id)
            .first(conn)
            .unwrap()
    };
    let lasteby = id_of_municipality(&mut conn, "Lasteby");
    let kolunda = id_of_municipality(&mut conn, "Kölunda");
    let user_id = |conn: &mut AnyConnection, email: &str| -> String {
        users::table
            .filter(users::email.eq(email))
            .select(users::id)
            .first(conn)
            .unwrap()
    };
    let teacher_id = user_id(&mut conn, people[0].0);
    let officer_id = user_id(&mut conn, people[2].0);

    let service = Service::start(&db);
    std::thread::sleep(Duration::from_secs(2));
    let (idle, _) = service.memory();
    println!("  memory idle: {idle:.1} MB");

    // Filing through the API, against the same rows inserted directly.
    let script = db._dir.path().join("file.lua");
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n\
             wrk.headers[\"Authorization\"] = \"Bearer {teacher}\"\nwrk.body = [[{}]]\n",
            report_json(&lasteby)
        ),
    )
    .unwrap();
    let filing = measure(
        "filing (POST /api/v1/reports, 8 connections)",
        &format!("{}/api/v1/reports", service.url),
        8,
        Some(&script),
        &[],
    );
    let raw = raw_rate(
        &mut conn,
        &MunicipalityId(lasteby.clone()),
        &UserId(teacher_id),
    );
    println!(
        "  filing rate / raw rate: {:.0} / {:.0} = {:.0}%",
        filing.rps,
        raw,
        100.0 * filing.rps / raw
    );

    // The intake queue of a municipality holding 10k, 100k, 1M reports.
    let sizes: Vec<u64> = std::env::var("LOAD_SIZES")
        .unwrap_or_else(|_| "10000,100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let auth = vec![format!("Authorization: Bearer {intake}")];
    let mut seeded = 0;
    let mut queue = Vec::new();
    for size in sizes {
        let start = Instant::now();
        seed_reports(&mut conn, &kolunda, &officer_id, seeded, size);
        seeded = size;
        println!(
            "  seeded {size} reports in {:.0} s",
            start.elapsed().as_secs_f64()
        );
        let run = measure(
            &format!("intake queue at {size} reports (GET /api/v1/intake, first 100 of {}, 4 connections)", size / 100),
            &format!("{}/api/v1/intake", service.url),
            4,
            None,
            &auth,
        );
        queue.push((size, run));
    }

    // The feed of a caseworker with 500 meetings.
    let client = reqwest::blocking::Client::new();
    let school: String = samordna::db::schema::organisations::table
        .filter(samordna::db::schema::organisations::name.eq("Skolan Lasteby"))
        .select(samordna::db::schema::organisations::id)
        .first(&mut conn)
        .unwrap();
    let sip = api(
        &client,
        "POST",
        format!("{}/api/v1/sips", service.url),
        &caseworker,
        json!({"child_name": "Kim Testbarn", "child_personal_number": "20121212-1212"}),
    );
    let base = format!(
        "{}/api/v1/sips/{}",
        service.url,
        sip["id"].as_str().unwrap()
    );
    api(
        &client,
        "POST",
        format!("{base}/consents"),
        &caseworker,
        json!({"given_by": "Förälder Provsson", "relation": "guardian", "organisation_ids": [school]}),
    );
    let first_day = NaiveDate::from_ymd_opt(2027, 1, 4).unwrap();
    let start = Instant::now();
    for i in 0..500u64 {
        let day = first_day + Days::new(i / 2);
        api(
            &client,
            "POST",
            format!("{base}/meetings"),
            &caseworker,
            json!({"starts_at": format!("{day}T{}:00", if i % 2 == 0 { "09" } else { "13" }), "minutes": 60, "place": "Kommunhuset"}),
        );
    }
    println!(
        "  booked 500 meetings in {:.0} s",
        start.elapsed().as_secs_f64()
    );
    let feed = feed_path(&service, people[1].0);
    let body = client
        .get(format!("{}{feed}", service.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(
        body.matches("BEGIN:VEVENT").count(),
        500,
        "the feed holds the 500 meetings"
    );
    let feed_one = measure(
        "feed with 500 meetings (1 connection)",
        &format!("{}{feed}", service.url),
        1,
        None,
        &[],
    );
    let feed_four = measure(
        "feed with 500 meetings (4 connections)",
        &format!("{}{feed}", service.url),
        4,
        None,
        &[],
    );

    let (now, peak) = service.memory();
    println!("  memory after load: {now:.1} MB, peak {peak:.1} MB");

    println!("\n| {kind} | figure |\n|---|---|");
    println!(
        "| filing, API (8 conn.) | {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms |",
        filing.rps, filing.p50, filing.p99
    );
    println!("| filing, raw single-row transactions | {raw:.0} /s |");
    println!("| filing / raw | {:.0}% |", 100.0 * filing.rps / raw);
    for (size, run) in &queue {
        println!(
            "| intake queue at {size} (4 conn.) | {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms |",
            run.rps, run.p50, run.p99
        );
    }
    println!(
        "| feed, 500 meetings (1 conn.) | {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms |",
        feed_one.rps, feed_one.p50, feed_one.p99
    );
    println!(
        "| feed, 500 meetings (4 conn.) | {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms |",
        feed_four.rps, feed_four.p50, feed_four.p99
    );
    println!("| memory idle / peak under load | {idle:.1} MB / {peak:.1} MB |\n");
}

fn main() {
    let asked: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a == "sqlite" || a == "postgres")
        .collect();
    let kinds = if asked.is_empty() {
        vec!["sqlite".to_string(), "postgres".to_string()]
    } else {
        asked
    };
    for kind in kinds {
        run_backend(&kind);
    }
}
