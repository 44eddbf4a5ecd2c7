//! Fault tests: a report that got a `201` is never lost and nothing is half-written when the
//! server is killed mid-burst or PostgreSQL restarts under load, and queued invitations are
//! delivered exactly once when the SMTP server comes back. Each test prints its figures.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use samordna::accounts::Role;
use samordna::db::schema::{
    audit_log, intake_queue, outbox, report_children, report_guardians, report_reporters, reports,
};
use serde_json::{json, Value};

use crate::helpers::{report_body, samordna_command, Db, TestApp, TestDatabase, TestSmtp, SECRET};

/// What one filing attempt got back.
#[derive(Clone, Debug)]
enum Answer {
    /// `201` with the report's id.
    Filed(String),
    /// Any other status, with the body's `error` code.
    Refused(u16, String),
    /// No answer: the connection failed or was cut.
    Unanswered,
}

async fn file_once(client: &reqwest::Client, url: &str, token: &str, body: &Value) -> Answer {
    let sent = client
        .post(format!("{url}/api/v1/reports"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await;
    let Ok(response) = sent else {
        return Answer::Unanswered;
    };
    let status = response.status().as_u16();
    match response.json::<Value>().await {
        Ok(body) if status == 201 => Answer::Filed(body["id"].as_str().unwrap_or("").to_string()),
        Ok(body) => Answer::Refused(status, body["error"].as_str().unwrap_or("").to_string()),
        Err(_) => Answer::Unanswered,
    }
}

/// Reports filed by several concurrent clients until stopped; every answer is kept.
struct Burst {
    stop: Arc<AtomicBool>,
    filed: Arc<AtomicUsize>,
    clients: Vec<actix_web::rt::task::JoinHandle<Vec<Answer>>>,
}

impl Burst {
    fn start(url: &str, token: &str, municipality: &str, clients: usize) -> Self {
        let (stop, filed) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicUsize::new(0)),
        );
        let clients = (0..clients)
            .map(|c| {
                let (url, token, municipality) =
                    (url.to_string(), token.to_string(), municipality.to_string());
                let (stop, filed) = (stop.clone(), filed.clone());
                actix_web::rt::spawn(async move {
                    let client = reqwest::Client::builder()
                        .timeout(Duration::from_secs(15))
                        .build()
                        .unwrap();
                    let mut answers = Vec::new();
                    let mut i = 0;
                    while !stop.load(Ordering::SeqCst) {
                        let body = report_body(&municipality, &format!("{c}-{i}"));
                        let answer = file_once(&client, &url, &token, &body).await;
                        if matches!(answer, Answer::Filed(_)) {
                            filed.fetch_add(1, Ordering::SeqCst);
                        }
                        if matches!(answer, Answer::Unanswered | Answer::Refused(..)) {
                            // Do not spin while the server or database is away.
                            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
                        }
                        answers.push(answer);
                        i += 1;
                    }
                    answers
                })
            })
            .collect();
        Self {
            stop,
            filed,
            clients,
        }
    }

    /// Reports answered 201 so far.
    fn filed(&self) -> usize {
        self.filed.load(Ordering::SeqCst)
    }

    /// Waits (at most a minute) until `count` reports have been answered 201.
    async fn reaches(&self, count: usize) -> bool {
        wait_until(Duration::from_secs(60), || self.filed() >= count).await
    }

    /// Stops the clients and counts what they got back.
    async fn stop(self) -> Figures {
        self.stop.store(true, Ordering::SeqCst);
        let mut answers = Vec::new();
        for client in self.clients {
            answers.extend(client.await.unwrap());
        }
        tally(answers)
    }
}

async fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    done()
}

/// Every report in the database, checked for completeness: each professional report of these
/// tests has one reporter, one child, one guardian, a place in the intake queue and its audit
/// entry. Returns (all report ids, ids missing any part).
fn stored_reports(url: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let pool = samordna::db::connect(url, 1).expect("database reachable");
    let mut conn = pool.get().unwrap();
    let conn = &mut *conn;
    let ids: BTreeSet<String> = reports::table
        .select(reports::id)
        .load::<String>(conn)
        .unwrap()
        .into_iter()
        .collect();
    let count = |list: Vec<String>| {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for id in list {
            *counts.entry(id).or_default() += 1;
        }
        counts
    };
    let parts = [
        count(
            report_reporters::table
                .select(report_reporters::report_id)
                .load(conn)
                .unwrap(),
        ),
        count(
            report_children::table
                .select(report_children::report_id)
                .load(conn)
                .unwrap(),
        ),
        count(
            report_guardians::table
                .select(report_guardians::report_id)
                .load(conn)
                .unwrap(),
        ),
        count(
            intake_queue::table
                .select(intake_queue::report_id)
                .load(conn)
                .unwrap(),
        ),
        count(
            audit_log::table
                .filter(audit_log::action.eq("report.create"))
                .select(audit_log::object_id.assume_not_null())
                .load(conn)
                .unwrap(),
        ),
    ];
    let half: BTreeSet<String> = ids
        .iter()
        .filter(|id| parts.iter().any(|p| p.get(*id) != Some(&1)))
        .cloned()
        .collect();
    (ids, half)
}

struct Figures {
    sent: usize,
    accepted: BTreeSet<String>,
    refused: BTreeMap<(u16, String), usize>,
    no_answer: usize,
}

fn tally(answers: Vec<Answer>) -> Figures {
    let mut figures = Figures {
        sent: answers.len(),
        accepted: BTreeSet::new(),
        refused: BTreeMap::new(),
        no_answer: 0,
    };
    for answer in answers {
        match answer {
            Answer::Filed(id) => {
                assert!(figures.accepted.insert(id), "an id given out twice");
            }
            Answer::Refused(status, code) => {
                *figures.refused.entry((status, code)).or_default() += 1;
            }
            Answer::Unanswered => figures.no_answer += 1,
        }
    }
    figures
}

/// Checks and prints: every accepted report present and complete, nothing half-written.
fn account_for(label: &str, figures: &Figures, url: &str) {
    let (present, half) = stored_reports(url);
    let lost: Vec<&String> = figures.accepted.difference(&present).collect();
    let unanswered_but_stored = present.difference(&figures.accepted).count();
    report(format!(
        "{label}: sent {}, accepted {}, refused {:?}, no answer {}, present {}, \
         stored without an answer {unanswered_but_stored}, half-written {}, lost {}",
        figures.sent,
        figures.accepted.len(),
        figures.refused,
        figures.no_answer,
        present.len(),
        half.len(),
        lost.len()
    ));
    assert!(
        lost.is_empty(),
        "{label}: reports answered 201 but missing: {lost:?}"
    );
    assert!(half.is_empty(), "{label}: half-written reports: {half:?}");
}

/// Prints a test's figures and keeps them in `target/fault-figures.txt`, which `scripts/test`
/// shows after the suite (the test harness hides what a passing test prints).
fn report(line: String) {
    use std::io::Write;
    println!("{line}");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fault-figures.txt");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    writeln!(file, "{line}").unwrap();
}

/// Where a server process logs: beside the test binary's own log, scanned the same way.
fn log_file(port: u16) -> std::fs::File {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-logs");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::File::create(dir.join(format!("server-{port}.log"))).unwrap()
}

/// The service as its own process, as it runs in production.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    async fn start(database_url: &str, smtp: &TestSmtp) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_samordna"))
            .arg("serve")
            .env("SAMORDNA_DATABASE_URL", database_url)
            .env("SAMORDNA_BIND", format!("127.0.0.1:{port}"))
            .env("SAMORDNA_SMTP_URL", smtp.url())
            .env("SAMORDNA_MAIL_FROM", "Samordna <samordna@test.samordna.se>")
            .env("SAMORDNA_SECRET_KEY", SECRET)
            .env("SAMORDNA_LOG_FORMAT", "json")
            .env("RUST_LOG", crate::helpers::TEST_LOG_LEVELS)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file(port))
            .spawn()
            .expect("service starts");
        let url = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let start = Instant::now();
        loop {
            let ready = client.get(format!("{url}/readyz")).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "service never became ready"
            );
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
        Self { child, url }
    }

    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// SIGKILL in the middle of a burst of filings, then a restart on the same database.
async fn a_killed_server_loses_no_report(kind: Db) {
    let db = Arc::new(TestDatabase::create(kind));
    let smtp = TestSmtp::reserve();
    smtp.start();
    // Accounts are made through an instance in this process, which then stays out of the way.
    let setup = TestApp::spawn_on(db.clone(), smtp.clone(), kind, &[]).await;
    let teacher = setup.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let token = setup.token_for(&teacher).await;
    let municipality = setup.municipality_id("Ekby").await;

    let server = Server::start(&db.url, &smtp).await;
    let burst = Burst::start(&server.url, &token, &municipality, 8);
    assert!(burst.reaches(150).await, "the burst got going");
    server.kill();
    let figures = burst.stop().await;
    assert!(figures.no_answer > 0, "the kill cut requests in flight");

    let again = Server::start(&db.url, &smtp).await;
    account_for(&format!("SIGKILL mid-burst ({kind:?})"), &figures, &db.url);
    // The restarted service works: a report filed before the kill reads back, a new one files.
    let client = reqwest::Client::new();
    let intake = setup
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let intake_token = setup.token_for(&intake).await;
    let first = figures.accepted.iter().next().unwrap();
    let read = client
        .get(format!("{}/api/v1/reports/{first}", again.url))
        .bearer_auth(&intake_token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status().as_u16(), 200);
    let after = file_once(
        &client,
        &again.url,
        &token,
        &report_body(&municipality, "efter"),
    )
    .await;
    assert!(matches!(after, Answer::Filed(_)), "{after:?}");
    // The audit trail's chain is intact across the kill.
    let verify = samordna_command(&db.url, &["audit", "verify"])
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

crate::on_both_kinds!(a_killed_server_loses_no_report);

/// Invitations booked while the SMTP server is down are each delivered once when it is back.
async fn invitations_wait_for_smtp_and_arrive_once(kind: Db) {
    let app = TestApp::spawn_with(kind, &[], false).await;
    let (_, token) = app.caseworker_in("Ekby").await;
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let school = app.organisation_of(&teacher.user_id).await;
    let as_caseworker = app.as_user(&token);
    let (status, sip) = as_caseworker
        .post(
            "/api/v1/sips",
            json!({"child_name": "Kim Testbarn", "child_personal_number": "20121212-1212"}),
        )
        .await;
    assert_eq!(status, 201, "{sip}");
    let base = format!("/api/v1/sips/{}", sip["id"].as_str().unwrap());
    let (status, _) = as_caseworker
        .post(
            &format!("{base}/consents"),
            json!({"given_by": "Förälder Testsson", "relation": "guardian", "organisation_ids": [school]}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        as_caseworker
            .post(
                &format!("{base}/participants"),
                json!({"user_id": teacher.user_id})
            )
            .await
            .0,
        201
    );
    assert_eq!(
        as_caseworker
            .post(
                &format!("{base}/participants"),
                json!({"name": "Testsson, Förälder", "email": "foralder@example.test", "required": false, "relation": "guardian"}),
            )
            .await
            .0,
        201
    );
    // Meetings booked one after another, with SMTP refusing connections.
    const MEETINGS: usize = 12;
    let first_day = samordna::time::local(samordna::db::now()).date() + chrono::Days::new(3);
    for i in 0..MEETINGS {
        let day = first_day + chrono::Days::new(i as u64 / 6);
        let starts = format!("{day}T{:02}:00", 9 + i % 6);
        let (status, body) = as_caseworker
            .post(
                &format!("{base}/meetings"),
                json!({"starts_at": starts, "minutes": 60, "place": "Kommunhuset, rum 2"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let queued = |c: &mut samordna::db::AnyConnection| -> Vec<(String, i32)> {
        outbox::table
            .select((outbox::status, outbox::attempts))
            .load(c)
            .unwrap()
    };
    let start = Instant::now();
    let rows = loop {
        let rows = app.conn(queued).await;
        if rows.iter().all(|(_, attempts)| *attempts >= 1)
            || start.elapsed() > Duration::from_secs(20)
        {
            break rows;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    };
    let expected = rows.len();
    assert!(
        expected >= MEETINGS * 3,
        "three invitations a meeting, and welcome mails: {expected}"
    );
    assert!(
        rows.iter().all(|(s, a)| s == "queued" && *a >= 1),
        "{rows:?}"
    );
    assert!(app.smtp.received().is_empty());

    app.smtp.start();
    let arrived = app
        .smtp
        .wait_for(expected, Duration::from_secs(60))
        .await
        .len();
    actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
    let received = app.smtp.received();
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for m in &received {
        *per_id
            .entry(m.parsed().message_id().expect("Message-ID").to_string())
            .or_default() += 1;
    }
    let invitations = received
        .iter()
        .filter(|m| String::from_utf8_lossy(&m.data).contains("text/calendar"))
        .count();
    let duplicates: usize = per_id.values().map(|n| n - 1).sum();
    let lost = expected.saturating_sub(per_id.len());
    report(format!(
        "SMTP down ({kind:?}): queued {expected} (invitations {invitations}), delivered {}, \
         distinct {}, duplicates {duplicates}, lost {lost}",
        received.len(),
        per_id.len()
    ));
    assert!(arrived >= expected);
    assert_eq!(invitations, MEETINGS * 3, "every invitation arrived");
    assert_eq!(duplicates, 0, "nothing is sent twice");
    assert_eq!(lost, 0, "everything queued arrived");
    let statuses = app.conn(queued).await;
    assert!(statuses.iter().all(|(s, _)| s == "sent"), "{statuses:?}");
}

crate::on_both_kinds!(invitations_wait_for_smtp_and_arrive_once);

/// A PostgreSQL server of this test's own, so that it can be stopped and started without
/// disturbing the other tests. Runs as the `postgres` user when the tests run as root.
struct PrivatePostgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl PrivatePostgres {
    fn start() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL server binaries in /usr/lib/postgresql")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|p| p.join("initdb").exists())
            .max()
            .expect("initdb");
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = Self {
            bin,
            data,
            port,
            _dir: dir,
        };
        if Self::as_root() {
            let status = Command::new("chown")
                .args(["postgres:postgres", &server._dir.path().to_string_lossy()])
                .status()
                .unwrap();
            assert!(status.success());
        }
        server.run(
            "initdb",
            &[
                "-D",
                &server.data.to_string_lossy(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        server.ctl("start");
        server
    }

    fn as_root() -> bool {
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
    }

    fn run(&self, program: &str, args: &[&str]) {
        let program = self.bin.join(program);
        let mut command = if Self::as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let out = command.args(args).output().expect("PostgreSQL tool runs");
        assert!(
            out.status.success(),
            "{program:?} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn ctl(&self, action: &str) {
        let data = self.data.to_string_lossy().to_string();
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={}",
            self.port,
            self._dir.path().display()
        );
        let log = self
            ._dir
            .path()
            .join("server.log")
            .to_string_lossy()
            .to_string();
        match action {
            "start" => self.run(
                "pg_ctl",
                &[
                    "start", "-w", "-t", "60", "-D", &data, "-o", &options, "-l", &log,
                ],
            ),
            _ => self.run(
                "pg_ctl",
                &["stop", "-w", "-t", "60", "-m", "fast", "-D", &data],
            ),
        }
    }

    fn admin_url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        )
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data.to_string_lossy().to_string();
        let pg_ctl = self.bin.join("pg_ctl").to_string_lossy().to_string();
        let mut command = if Self::as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", &pg_ctl]);
            c
        } else {
            Command::new(&pg_ctl)
        };
        let _ = command
            .args(["stop", "-m", "immediate", "-D", &data])
            .output();
    }
}

/// PostgreSQL stops under load and comes back: requests meanwhile get a clear 503, the service
/// recovers by itself, and nothing is lost or half-written.
#[actix_web::test]
async fn postgres_restart_under_load() {
    let postgres = PrivatePostgres::start();
    let db = Arc::new(TestDatabase::create_on(&postgres.admin_url()));
    let smtp = TestSmtp::reserve();
    smtp.start();
    let app = TestApp::spawn_on(db.clone(), smtp.clone(), Db::Postgres, &[]).await;
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let token = app.token_for(&teacher).await;
    let municipality = app.municipality_id("Ekby").await;

    let burst = Burst::start(&app.address, &token, &municipality, 4);
    assert!(burst.reaches(40).await);

    postgres.ctl("stop");
    let before_outage = burst.filed();
    // While it is down: readiness and the API say so, in a way a person can act on.
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 503);
    let page = app.client.get(app.url("/mottagning")).send().await.unwrap();
    assert!(
        matches!(page.status().as_u16(), 303 | 503),
        "{}",
        page.status()
    );
    let during = file_once(
        &reqwest::Client::new(),
        &app.address,
        &token,
        &report_body(&municipality, "nere"),
    )
    .await;
    assert!(
        matches!(&during, Answer::Refused(503, code) if code == "unavailable"),
        "{during:?}"
    );
    let (_, message) = app.as_user(&token).get("/api/v1/intake").await;
    assert_eq!(
        message["message"],
        "Tjänsten kan inte nå databasen just nu. Försök igen om en stund."
    );
    let stopped_at = Instant::now();
    actix_web::rt::time::sleep(Duration::from_secs(3)).await;
    postgres.ctl("start");
    let back = Instant::now();
    let recovered = burst.reaches(before_outage + 40).await;
    let recovery = back.elapsed();
    let figures = burst.stop().await;
    let outage_length = back - stopped_at;
    assert!(recovered, "the service recovered without a restart");
    report(format!(
        "PostgreSQL stopped for {:.1} s; filings flowed again within {:.1} s of its return",
        outage_length.as_secs_f64(),
        recovery.as_secs_f64()
    ));
    account_for("PostgreSQL restart under load", &figures, &db.url);
    let unavailable = figures
        .refused
        .get(&(503, "unavailable".to_string()))
        .copied()
        .unwrap_or(0);
    assert!(
        unavailable > 0,
        "requests during the outage got 503: {:?}",
        figures.refused
    );
    assert!(
        figures
            .refused
            .keys()
            .all(|(status, code)| *status == 503 && code == "unavailable"),
        "only 503 'unavailable' while the database was away: {:?}",
        figures.refused
    );
    assert_eq!(figures.no_answer, 0, "every request was answered");
}
