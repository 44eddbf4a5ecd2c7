//! Load benchmark of the running service (release build) on SQLite and PostgreSQL, with `wrk` on
//! loopback: filing a report through the API against the database's own single-row-transaction
//! rate, the intake queue at 10k, 100k and 1M reports, the calendar feed of a user with 500
//! meetings, and the service's memory idle and under load. `scripts/perf` installs `wrk` and runs
//! it; docs/performance.md has the figures.
//!
//! `cargo bench --bench load -- [sqlite|postgres]...` (both unless named). Settings:
//! `LOAD_SECONDS` per wrk run (default 10), `LOAD_RUNS` per figure (default 3, the median is
//! reported), `LOAD_SIZES` (default `10000,100000,1000000`), `SAMORDNA_TEST_POSTGRES_URL`.
//! The statistics (`GET /api/v1/statistics` as a manager, the last 12 months and 60 months) are
//! measured at each size too; `LOAD_STATISTICS_ONLY=1` measures only them.

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

mod seed;
use seed::seed_reports;

/// The service binary: this build's, or another build's named by `LOAD_BIN` (to measure an older
/// commit with this benchmark).
fn bin() -> String {
    std::env::var("LOAD_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_samordna").to_string())
}
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
    values.sort_by(f64::total_cmp);
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
    let out = Command::new(bin())
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
        let child = Command::new(bin())
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

/// The rows one API filing writes (report, reporter, child, guardian), sealed as the service
/// seals them; `n` makes the ids and the reference unique.
fn filing_rows(
    keys: &Keyring,
    n: &str,
    municipality: &MunicipalityId,
    user: &UserId,
    now: chrono::NaiveDateTime,
) -> (Report, Reporter, ChildRow, GuardianRow) {
    let id = ReportId(format!("own-{n}"));
    (
        Report {
            id: id.clone(),
            reference: format!("OWN-{n}"),
            municipality_id: municipality.clone(),
            received_at: now,
            reporter_kind: ReporterKind::Professional,
            reporter_user_id: Some(user.clone()),
            concern:
                "Barnet kommer ofta hungrigt till skolan och säger att det inte finns mat hemma."
                    .into(),
            categories: "neglect".into(),
            acute_danger: false,
            police_informed: false,
            interpreter_language: String::new(),
            other_agencies: String::new(),
            safety_due_at: now,
            decision_due_on: now.date(),
            acute: false,
            someone_close: String::new(),
        }
        .seal(keys),
        Reporter {
            report_id: id.clone(),
            name: "Lärare Last".into(),
            title: "Lärare".into(),
            organisation: "Lastskolan".into(),
            phone: "08-123 45 67".into(),
            email: "larare@last.test".into(),
        }
        .seal(keys),
        ChildRow {
            id: format!("own-child-{n}"),
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
            added_at: None,
            added_by: None,
        }
        .seal(keys),
        GuardianRow {
            id: format!("own-guardian-{n}"),
            report_id: id,
            position: 0,
            name: "Vårdnadshavare Ett".into(),
            phone: "070-123 45 67".into(),
            guardian_told: true,
            not_told_reason: String::new(),
        }
        .seal(keys),
    )
}

/// The same rows one API filing writes (report, reporter, child, guardian, queue place, audit
/// entry), inserted in a loop through diesel, one transaction each, on one connection.
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
            let now = samordna::db::now();
            let (report, reporter, child, guardian) = filing_rows(
                &keys,
                &format!("raw-{}-{n}", std::process::id()),
                municipality,
                user,
                now,
            );
            write_tx(conn, |conn| {
                let id = report.id.clone();
                diesel::insert_into(reports::table)
                    .values(&report)
                    .execute(conn)?;
                diesel::insert_into(report_reporters::table)
                    .values(&reporter)
                    .execute(conn)?;
                diesel::insert_into(report_children::table)
                    .values(&child)
                    .execute(conn)?;
                diesel::insert_into(report_guardians::table)
                    .values(&guardian)
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

/// A text value as an SQL literal. A colon is written as an escape (`E'\x3a'`): pgbench would
/// take `:word` inside a literal for one of its variables.
fn literal(text: &str, sqlite: bool) -> String {
    let quoted = text.replace('\'', "''");
    if !sqlite && quoted.contains(':') {
        format!("E'{}'", quoted.replace('\\', "\\\\").replace(':', "\\x3a"))
    } else {
        format!("'{quoted}'")
    }
}

/// One filing's transaction as SQL: the reads it makes (the municipality, the reference's
/// uniqueness, the owner of the audited object), the rows it writes, and, with `chain`, the audit
/// chain's head taken and moved on as the service does. `n` is an SQL expression that makes the
/// ids unique (a literal for the sqlite3 shell, pgbench variables for pgbench).
fn filing_sql(
    sqlite: bool,
    chain: bool,
    n: &str,
    municipality: &MunicipalityId,
    user: &UserId,
) -> String {
    let keys = keys();
    let now = samordna::db::now();
    let (report, reporter, child, guardian) = filing_rows(&keys, "X", municipality, user, now);
    let (f, t) = if sqlite {
        ("0", "1")
    } else {
        ("false", "true")
    };
    let ts = |at: chrono::NaiveDateTime| {
        let text = at.format("%Y-%m-%d %H:%M:%S%.6f");
        if sqlite {
            format!("'{text}'")
        } else {
            format!("CAST({} AS TIMESTAMP)", literal(&text.to_string(), false))
        }
    };
    let day = if sqlite {
        format!("'{}'", now.date())
    } else {
        format!("DATE '{}'", now.date())
    };
    let id = format!("('own-' || {n})");
    let (m, u) = (literal(&municipality.0, sqlite), literal(&user.0, sqlite));
    let optional = |v: &Option<String>| {
        v.as_deref()
            .map_or("NULL".to_string(), |t| literal(t, sqlite))
    };
    let mut sql = vec![
        if sqlite { "BEGIN IMMEDIATE;" } else { "BEGIN;" }.to_string(),
        format!("SELECT name, phone FROM municipalities WHERE id = {m};"),
        format!("SELECT count(*) FROM reports WHERE reference = ('OWN-' || {n});"),
        format!(
            "INSERT INTO reports (id, reference, municipality_id, received_at, reporter_kind, \
             reporter_user_id, concern, categories, acute_danger, police_informed, \
             interpreter_language, other_agencies, safety_due_at, decision_due_on) VALUES \
             ({id}, ('OWN-' || {n}), {m}, {}, 'professional', {u}, {}, 'neglect', {f}, {f}, {}, {}, {}, {day});",
            ts(now),
            literal(&report.concern, sqlite),
            literal(&report.interpreter_language, sqlite),
            literal(&report.other_agencies, sqlite),
            ts(now),
        ),
        format!(
            "INSERT INTO report_reporters (report_id, name, title, organisation, phone, email) \
             VALUES ({id}, {}, {}, {}, {}, {});",
            literal(&reporter.name, sqlite),
            literal(&reporter.title, sqlite),
            literal(&reporter.organisation, sqlite),
            literal(&reporter.phone, sqlite),
            literal(&reporter.email, sqlite),
        ),
        format!(
            "INSERT INTO report_children (id, report_id, position, personal_number, name, \
             birth_date, address, school, child_told, not_told_reason, personal_number_index) \
             VALUES (('own-child-' || {n}), {id}, 0, {}, {}, NULL, {}, {}, {t}, {}, {});",
            optional(&child.personal_number),
            literal(&child.name, sqlite),
            literal(&child.address, sqlite),
            literal(&child.school, sqlite),
            literal(&child.not_told_reason, sqlite),
            optional(&child.personal_number_index),
        ),
        format!(
            "INSERT INTO report_guardians (id, report_id, position, name, phone, guardian_told, \
             not_told_reason) VALUES (('own-guardian-' || {n}), {id}, 0, {}, {}, {t}, {});",
            literal(&guardian.name, sqlite),
            literal(&guardian.phone, sqlite),
            literal(&guardian.not_told_reason, sqlite),
        ),
        format!(
            "INSERT INTO intake_queue (report_id, municipality_id, due_at, received_at) \
             VALUES ({id}, {m}, {}, {});",
            ts(now),
            ts(now)
        ),
    ];
    let hash = literal(&"ab".repeat(32), sqlite);
    let entry = |seq: &str, prev: &str| {
        format!(
            "INSERT INTO audit_log (seq, at, actor_id, actor_label, action, object_type, \
             object_id, outcome, detail, prev_hash, hash, municipality_id) SELECT {seq}, {}, {u}, \
             'Lärare Last', 'report.create', 'report', {id}, 'success', \
             'children=1 kind=professional', {prev}, {hash}, {m}",
            ts(now)
        )
    };
    if chain {
        sql.extend([
            "UPDATE audit_head SET last_seq = last_seq + 1 WHERE id = 1;".to_string(),
            format!("SELECT municipality_id FROM reports WHERE id = {id};"),
            format!(
                "{} FROM audit_head WHERE id = 1;",
                entry("last_seq", "last_hash")
            ),
            format!("UPDATE audit_head SET last_hash = {hash} WHERE id = 1;"),
        ]);
    } else {
        // Outside the chain: a sequence number of its own, far above the service's.
        let seq = if sqlite {
            "(SELECT coalesce(max(seq), 2000000000) + 1 FROM audit_log WHERE seq >= 2000000000)"
        } else {
            "nextval('own_rate_seq')"
        };
        sql.push(format!("{};", entry(seq, "''")));
    }
    sql.push("COMMIT;".into());
    sql.join("\n") + "\n"
}

/// The database's own rate for the filing's transaction, without the service: the sqlite3 shell
/// running it (WAL, `synchronous=NORMAL`, as the service's connections), or pgbench with 8
/// clients (`-M prepared`). Transactions per second, median of `LOAD_RUNS`.
fn own_rate(
    db: &Database,
    conn: &mut AnyConnection,
    kind: &str,
    chain: bool,
    municipality: &MunicipalityId,
    user: &UserId,
) -> f64 {
    let seconds = (env_number("LOAD_SECONDS", 10) / 2).max(1);
    let sqlite = kind == "sqlite";
    if !sqlite {
        diesel::sql_query("CREATE SEQUENCE IF NOT EXISTS own_rate_seq START 2000000000")
            .execute(conn)
            .unwrap();
    }
    let mut rates = Vec::new();
    let mut batch = 0u64;
    for run in 0..env_number("LOAD_RUNS", 3) {
        let rate = if sqlite {
            let path = db.url.trim_start_matches("sqlite://").to_string();
            let shell = |from: u64, count: u64| -> f64 {
                let mut script = String::from(
                    "PRAGMA busy_timeout = 5000;\nPRAGMA journal_mode = WAL;\n\
                     PRAGMA synchronous = NORMAL;\nPRAGMA foreign_keys = ON;\n",
                );
                for i in from..from + count {
                    script.push_str(&filing_sql(
                        true,
                        chain,
                        &format!("'shell-{}-{chain}-{i}'", std::process::id()),
                        municipality,
                        user,
                    ));
                }
                let file = db._dir.path().join("own.sql");
                std::fs::write(&file, script).unwrap();
                let start = Instant::now();
                let out = Command::new("sqlite3")
                    .arg("-bail")
                    .arg(&path)
                    .stdin(std::fs::File::open(&file).unwrap())
                    .stdout(Stdio::null())
                    .output()
                    .expect("the sqlite3 shell (scripts/perf installs it)");
                assert!(
                    out.status.success(),
                    "sqlite3 on the filing's SQL: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                count as f64 / start.elapsed().as_secs_f64()
            };
            if batch == 0 {
                // Sized from a short first run, so each run takes about `seconds`.
                batch = ((shell(0, 200) * seconds as f64) as u64).max(200);
            }
            shell((run + 1) * 1_000_000, batch)
        } else {
            let script = db._dir.path().join("own.pgbench");
            std::fs::write(
                &script,
                format!(
                    "\\set n random(1, 9000000000000000)\n{}",
                    filing_sql(
                        false,
                        chain,
                        "(CAST(:client_id AS text) || '-' || CAST(:n AS text))",
                        municipality,
                        user
                    )
                ),
            )
            .unwrap();
            let pgbench = std::env::var("LOAD_PGBENCH").unwrap_or_else(|_| "pgbench".into());
            let out = Command::new(&pgbench)
                .args(["-n", "-M", "prepared", "-c", "8", "-j", "2"])
                .arg(format!("-T{seconds}"))
                .arg("-f")
                .arg(&script)
                .arg(&db.url)
                .output()
                .unwrap_or_else(|e| panic!("{pgbench}: {e} (scripts/perf finds it)"));
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && text.contains("tps = "),
                "pgbench on the filing's SQL: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let at = text.find("tps = ").unwrap() + 6;
            text[at..]
                .split_whitespace()
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0)
        };
        rates.push(rate);
    }
    println!(
        "  the database's own rate for the filing's transaction{}: {}",
        if chain {
            ""
        } else {
            " without the audit chain's head"
        },
        rates
            .iter()
            .map(|r| format!("{r:.0} tx/s"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    median(&mut rates)
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
        ("chef@kolunda.test", "Socialtjänsten Kölunda", "manager"),
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
    let (teacher, caseworker, intake, manager) = (
        token(&db, people[0].0),
        token(&db, people[1].0),
        token(&db, people[2].0),
        token(&db, people[3].0),
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

    // Filing through the API, against the same transaction without the service.
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
    let (municipality, teacher) = (MunicipalityId(lasteby.clone()), UserId(teacher_id));
    let raw = raw_rate(&mut conn, &municipality, &teacher);
    let own = own_rate(&db, &mut conn, kind, true, &municipality, &teacher);
    let own_unchained = own_rate(&db, &mut conn, kind, false, &municipality, &teacher);
    println!(
        "  filing / the database's own rate: {:.0} / {own:.0} = {:.0}% (diesel loop {raw:.0}/s)",
        filing.rps,
        100.0 * filing.rps / own
    );

    // The intake queue of a municipality holding 10k, 100k, 1M reports.
    let sizes = load_sizes();
    let mut statistics = Vec::new();
    let auth = vec![format!("Authorization: Bearer {intake}")];
    let mut seeded = 0;
    let mut queue = Vec::new();
    for size in sizes {
        let start = Instant::now();
        seed_reports(&mut conn, &keys(), &kolunda, &officer_id, seeded, size);
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
        statistics.push((size, statistics_runs(&service, &manager, size)));
    }

    // The feed of a caseworker with 500 (then 2,000) meetings, beside Radicale serving the same
    // events.
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
    let feed = feed_path(&service, people[1].0);
    let feed_url = format!("{}{feed}", service.url);
    let radicale = Radicale::start(db._dir.path());
    let first_day = NaiveDate::from_ymd_opt(2027, 1, 4).unwrap();
    let mut booked = 0u64;
    let mut feeds = Vec::new();
    for size in feed_sizes() {
        let start = Instant::now();
        while booked < size {
            let day = first_day + Days::new(booked / 4);
            let hour = [8, 10, 13, 15][(booked % 4) as usize];
            api(
                &client,
                "POST",
                format!("{base}/meetings"),
                &caseworker,
                json!({"starts_at": format!("{day}T{hour:02}:00"), "minutes": 60, "place": "Kommunhuset, rum 2"}),
            );
            booked += 1;
        }
        println!(
            "  booked {size} meetings ({:.0} s)",
            start.elapsed().as_secs_f64()
        );
        feeds.push(measure_feed(&client, &mut conn, &feed_url, size, &radicale));
    }
    drop(radicale);

    let (after_load, peak) = service.memory();
    println!("  memory after load: {after_load:.1} MB, peak {peak:.1} MB");
    let (under_50_after, after_idle) = idle_memory(&service);

    println!("\n| {kind} | figure |\n|---|---|");
    println!(
        "| filing, API (8 conn.) | {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms |",
        filing.rps, filing.p50, filing.p99
    );
    println!(
        "| the database's own rate for the filing's transaction ({}) | {own:.0} tx/s |",
        if kind == "sqlite" {
            "sqlite3 shell"
        } else {
            "pgbench -c8 -M prepared"
        }
    );
    println!("| the same without the audit chain's head | {own_unchained:.0} tx/s |");
    println!("| diesel loop, one connection, without the head | {raw:.0} /s |");
    println!(
        "| **filing / own rate** | **{:.0}%** (target ≥ 50%: {}) |",
        100.0 * filing.rps / own,
        met(filing.rps / own >= 0.5)
    );
    for (size, run) in &queue {
        println!(
            "| intake queue at {size} (4 conn.) | {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms |",
            run.rps, run.p50, run.p99
        );
    }
    print_statistics(&statistics);
    for f in &feeds {
        println!(
            "| feed, {} meetings (1 conn.) | {:.0} req/s, **p50 {:.2} ms**, p99 {:.2} ms{} |",
            f.size,
            f.one.rps,
            f.one.p50,
            f.one.p99,
            if f.size == 500 {
                format!(" (target p50 < 10 ms: {})", met(f.one.p50 < 10.0))
            } else {
                String::new()
            }
        );
        println!(
            "| Radicale, the same {} events (1 conn.) | {:.1} req/s, p50 {:.1} ms, p99 {:.1} ms |",
            f.size, f.radicale.rps, f.radicale.p50, f.radicale.p99
        );
        println!(
            "| **feed / Radicale**, {} | **{:.0}×** by p50, {:.0}× by req/s (target ≥ 20×: {}) |",
            f.size,
            f.radicale.p50 / f.one.p50,
            f.one.rps / f.radicale.rps,
            met(f.radicale.p50 / f.one.p50 >= 20.0)
        );
        println!(
            "| feed, {} meetings (4 conn.) | {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms |",
            f.size, f.four.rps, f.four.p50, f.four.p99
        );
        println!(
            "| feed, {}, 304 for If-None-Match (1 conn.) | {:.0} req/s, **p50 {:.2} ms**, p99 {:.2} ms (target < 1 ms: {}) |",
            f.size,
            f.not_modified.rps,
            f.not_modified.p50,
            f.not_modified.p99,
            met(f.not_modified.p50 < 1.0)
        );
        println!(
            "| feed, {}, first read after a change | p50 {:.1} ms, max {:.1} ms |",
            f.size, f.changed.0, f.changed.1
        );
    }
    println!("| memory idle at start | {idle:.1} MB |");
    println!(
        "| memory peak (VmHWM) | {peak:.1} MB (target < 100 MB: {}) |",
        met(peak < 100.0)
    );
    println!(
        "| memory after load → after {} s idle | {after_load:.1} MB → {after_idle:.1} MB; under 50 MB {} (target within 60 s: {}) |\n",
        env_number("LOAD_IDLE_SECONDS", 60),
        under_50_after.map_or("never".into(), |s| format!("after {s:.0} s")),
        met(under_50_after.is_some_and(|s| s <= 60.0))
    );
}

fn met(yes: bool) -> &'static str {
    if yes {
        "met"
    } else {
        "NOT MET"
    }
}

/// The feed sizes measured: `LOAD_FEED_SIZES` (default `500,2000`).
fn feed_sizes() -> Vec<u64> {
    let mut sizes: Vec<u64> = std::env::var("LOAD_FEED_SIZES")
        .unwrap_or_else(|_| "500,2000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    sizes.sort_unstable();
    sizes
}

/// Resident memory sampled each second for `LOAD_IDLE_SECONDS` (60) while nothing is asked:
/// after how many seconds it was first under 50 MB, and what it was at the end.
fn idle_memory(service: &Service) -> (Option<f64>, f64) {
    let seconds = env_number("LOAD_IDLE_SECONDS", 60);
    let start = Instant::now();
    let mut under = None;
    let mut samples = Vec::new();
    let mut now = service.memory().0;
    for second in 1..=seconds {
        std::thread::sleep(Duration::from_secs(1));
        now = service.memory().0;
        if under.is_none() && now < 50.0 {
            under = Some(start.elapsed().as_secs_f64());
        }
        if second % 10 == 0 {
            samples.push(format!("{second} s: {now:.1}"));
        }
    }
    println!("  memory while idle (MB): {}", samples.join(", "));
    (under, now)
}

/// A Radicale CalDAV server (`LOAD_RADICALE`, the Python of a venv that has it; scripts/perf
/// installs a pinned version from PyPI) on loopback, storing in a folder of the benchmark's.
struct Radicale {
    child: Child,
    url: String,
}

impl Radicale {
    const AUTH: &'static str = "Authorization: Basic YmVuY2g6eA=="; // bench:x

    fn start(dir: &Path) -> Self {
        let python = std::env::var("LOAD_RADICALE")
            .expect("LOAD_RADICALE names a Python with Radicale (scripts/perf sets it)");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&python)
            .args([
                "-m",
                "radicale",
                "--auth-type=none",
                "--logging-level=warning",
            ])
            .arg(format!(
                "--storage-filesystem-folder={}",
                dir.join("radicale").display()
            ))
            .arg(format!("--server-hosts=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start Radicale with {python}: {e}"));
        let radicale = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "Radicale did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        radicale
    }

    /// Stores `calendar` as a new collection and returns its address.
    fn put(&self, name: &str, calendar: &str) -> String {
        let url = format!("{}/bench/{name}/", self.url);
        let response = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(600))
            .build()
            .unwrap()
            .put(&url)
            .basic_auth("bench", Some("x"))
            .header("content-type", "text/calendar; charset=utf-8")
            .body(calendar.to_string())
            .send()
            .expect("Radicale answers");
        assert!(
            response.status().is_success(),
            "Radicale PUT: {} {:?}",
            response.status(),
            response.text()
        );
        url
    }
}

impl Drop for Radicale {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct FeedFigures {
    size: u64,
    one: Run,
    four: Run,
    not_modified: Run,
    /// The first read after the feed changed: median and max ms.
    changed: (f64, f64),
    radicale: Run,
}

/// The feed at one size: read with 1 and 4 connections, answered 304 for its ETag, read right
/// after a change (a meeting's SEQUENCE and DTSTAMP moved in the database), and Radicale serving the same
/// events to the same client with the same one connection.
fn measure_feed(
    client: &reqwest::blocking::Client,
    conn: &mut AnyConnection,
    url: &str,
    size: u64,
    radicale: &Radicale,
) -> FeedFigures {
    let response = client.get(url).send().unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    let body = response.text().unwrap();
    assert_eq!(
        body.matches("BEGIN:VEVENT").count() as u64,
        size,
        "the feed holds the {size} meetings"
    );
    let one = measure(
        &format!("feed with {size} meetings (1 connection)"),
        url,
        1,
        None,
        &[],
    );
    let four = measure(
        &format!("feed with {size} meetings (4 connections)"),
        url,
        4,
        None,
        &[],
    );
    let not_modified = measure(
        &format!("feed with {size} meetings, If-None-Match (1 connection)"),
        url,
        1,
        None,
        &[format!("If-None-Match: {etag}")],
    );
    assert_eq!(
        client
            .get(url)
            .header("if-none-match", &etag)
            .send()
            .unwrap()
            .status()
            .as_u16(),
        304,
        "the feed's own ETag gives 304"
    );
    let mut changed = Vec::new();
    for _ in 0..20 {
        diesel::sql_query(
            "UPDATE meetings SET sequence = sequence + 1, updated_at = CURRENT_TIMESTAMP \
             WHERE id = (SELECT min(id) FROM meetings)",
        )
        .execute(conn)
        .unwrap();
        let start = Instant::now();
        let response = client
            .get(url)
            .header("if-none-match", &etag)
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "a change gives a new ETag");
        let text = response.text().unwrap();
        changed.push(start.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(text.matches("BEGIN:VEVENT").count() as u64, size);
    }
    let changed_max = changed.iter().copied().fold(0.0, f64::max);
    println!(
        "  feed with {size} meetings, first read after a change: {}",
        changed
            .iter()
            .map(|ms| format!("{ms:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let start = Instant::now();
    let stored = radicale.put(&format!("feed{size}"), &body);
    println!(
        "  Radicale stored the {size} events in {:.0} s",
        start.elapsed().as_secs_f64()
    );
    let served = client
        .get(&stored)
        .basic_auth("bench", Some("x"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(
        served.matches("BEGIN:VEVENT").count() as u64,
        size,
        "Radicale serves the {size} events"
    );
    let radicale = measure(
        &format!("Radicale serving the same {size} events (1 connection)"),
        &stored,
        1,
        None,
        &[Radicale::AUTH.to_string()],
    );
    FeedFigures {
        size,
        one,
        four,
        not_modified,
        changed: (median(&mut changed), changed_max),
        radicale,
    }
}

/// `LOAD_SIZES`: the numbers of reports the intake queue and the statistics are measured at.
fn load_sizes() -> Vec<u64> {
    std::env::var("LOAD_SIZES")
        .unwrap_or_else(|_| "10000,100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

/// The statistics of the municipality holding `size` reports (issue 21: under 200 ms): the
/// default period (the last twelve months) and the longest one allowed (60 months), one
/// connection, as a manager opening the page would.
fn statistics_runs(service: &Service, manager: &str, size: u64) -> (Run, Run) {
    let auth = vec![format!("Authorization: Bearer {manager}")];
    let year = measure(
        &format!(
            "statistics at {size} reports, last 12 months (GET /api/v1/statistics, 1 connection)"
        ),
        &format!("{}/api/v1/statistics", service.url),
        1,
        None,
        &auth,
    );
    let five = measure(
        &format!("statistics at {size} reports, 60 months (1 connection)"),
        &format!("{}/api/v1/statistics?from=2022-01&to=2026-12", service.url),
        1,
        None,
        &auth,
    );
    (year, five)
}

fn print_statistics(statistics: &[(u64, (Run, Run))]) {
    let met = |ok: bool| if ok { "met" } else { "NOT MET" };
    for (size, (year, five)) in statistics {
        println!(
            "| statistics at {size}, 12 months (1 conn.) | {:.0} req/s, **p50 {:.1} ms**, p99 {:.1} ms (target < 200 ms: {}) |",
            year.rps,
            year.p50,
            year.p99,
            met(year.p50 < 200.0)
        );
        println!(
            "| statistics at {size}, 60 months (1 conn.) | {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms |",
            five.rps, five.p50, five.p99
        );
    }
}

/// `LOAD_STATISTICS_ONLY=1`: only the statistics, on a municipality seeded to each of
/// `LOAD_SIZES` (no filing, queue or feed runs; minutes instead of most of an hour).
fn statistics_only(kind: &str) {
    println!("== {kind} (statistics only)");
    let db = Database::create(kind);
    cli(&db, &["migrate"]);
    cli(&db, &["municipality", "add", "--name", "Kölunda"]);
    cli(
        &db,
        &[
            "org",
            "add",
            "--name",
            "Socialtjänsten Kölunda",
            "--kind",
            "socialtjanst",
            "--principal",
            "kommun",
            "--municipality",
            "Kölunda",
        ],
    );
    for (email, role) in [
        ("mottagning@kolunda.test", "intake"),
        ("chef@kolunda.test", "manager"),
    ] {
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
                "Socialtjänsten Kölunda",
                "--role",
                role,
            ],
        );
    }
    let manager = token(&db, "chef@kolunda.test");
    let pool = samordna::db::connect(&db.url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    let kolunda: String = municipalities::table
        .filter(municipalities::name.eq("Kölunda"))
        .select(municipalities::id)
        .first(&mut conn)
        .unwrap();
    let officer: String = users::table
        .filter(users::email.eq("mottagning@kolunda.test"))
        .select(users::id)
        .first(&mut conn)
        .unwrap();
    let service = Service::start(&db);
    std::thread::sleep(Duration::from_secs(2));
    let mut seeded = 0;
    let mut statistics = Vec::new();
    for size in load_sizes() {
        let start = Instant::now();
        seed_reports(&mut conn, &keys(), &kolunda, &officer, seeded, size);
        seeded = size;
        println!(
            "  seeded {size} reports in {:.0} s",
            start.elapsed().as_secs_f64()
        );
        statistics.push((size, statistics_runs(&service, &manager, size)));
    }
    println!("\n| {kind} | figure |\n|---|---|");
    print_statistics(&statistics);
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
    let statistics_only_asked = std::env::var("LOAD_STATISTICS_ONLY").is_ok_and(|v| v == "1");
    for kind in kinds {
        if statistics_only_asked {
            statistics_only(&kind);
        } else {
            run_backend(&kind);
        }
    }
}
