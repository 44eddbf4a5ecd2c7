//! Webhooks for the case system (issue 21 §2): an admin registers an endpoint and sees its secret
//! once; the changes queue their events in their own transaction; every delivery is verified by
//! an independent implementation of Standard Webhooks (the `standardwebhooks` reference library
//! from PyPI, pinned in scripts/webhook-tools) running as a receiver on loopback; a receiver that
//! is down for a while loses nothing and gets nothing twice; two instances on one PostgreSQL
//! deliver each event once; a private address is refused unless `SAMORDNA_WEBHOOK_PRIVATE=true`.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use samordna::accounts::{MunicipalityId, Role};
use samordna::db::schema::webhook_deliveries;
use samordna::webhooks::{self, EventType};
use serde_json::{json, Value};

use crate::helpers::{report_body, shown_once, Db, TestApp, TestDatabase, TestSmtp};
use crate::{on_both_databases, on_both_kinds};

/// Private addresses allowed (the receiver is on loopback), retries after 1 s, 2 s, 4 s, …
const SETTINGS: &[(&str, &str)] = &[
    ("SAMORDNA_WEBHOOK_PRIVATE", "true"),
    ("SAMORDNA_WEBHOOK_RETRY_SECONDS", "1"),
];

/// The python of the pinned checkers' virtualenv (installed on first use).
pub fn checker_python() -> String {
    let out = Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/webhook-tools"
    ))
    .output()
    .expect("scripts/webhook-tools runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The receiver (tests/webhooks/receiver.py), stopped when dropped.
struct Receiver {
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Receiver {
    fn start(port: u16, secret: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("requests.jsonl");
        let mut child = Command::new(checker_python())
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/webhooks/receiver.py"
            ))
            .arg(port.to_string())
            .arg(secret)
            .arg(&log)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the receiver starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready");
        Receiver {
            child,
            log,
            _dir: dir,
        }
    }

    /// Every request it got: `{"id", "verified", "taken", "body"}`.
    fn requests(&self) -> Vec<Value> {
        read_log(&self.log)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_log(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Registers `url` through the admin page (an admin signed in in `app`'s browser); the secret.
async fn register(app: &TestApp, url: &str) -> String {
    let response = app
        .submit("/admin/webhooks", "/admin/webhooks", &[("url", url)])
        .await;
    assert_eq!(response.status(), 200);
    let secret = shown_once(&response.text().await.unwrap());
    assert!(secret.starts_with("whsec_"), "{secret}");
    secret
}

/// Every delivery: (webhook-id, status, event type, attempts, last error).
async fn deliveries(app: &TestApp) -> Vec<(String, String, String, i32, Option<String>)> {
    app.conn(|conn| {
        webhook_deliveries::table
            .order(webhook_deliveries::created_at)
            .select((
                webhook_deliveries::id,
                webhook_deliveries::status,
                webhook_deliveries::event_type,
                webhook_deliveries::attempts,
                webhook_deliveries::last_error,
            ))
            .load(conn)
            .unwrap()
    })
    .await
}

/// Waits until `n` deliveries are delivered (at most a minute).
async fn wait_delivered(app: &TestApp, n: usize) {
    for _ in 0..300 {
        let all = deliveries(app).await;
        if all.iter().filter(|d| d.1 == "delivered").count() >= n {
            return;
        }
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("not delivered: {:?}", deliveries(app).await);
}

/// A report in Ekby filed, assessed and decided to open an investigation (`report.received`,
/// `report.decided`); the caseworker's token and the investigation.
async fn opened(app: &TestApp) -> (String, String) {
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let teacher = app.token_for(&teacher).await;
    let intake = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let intake = app.token_for(&intake).await;
    let caseworker = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Caseworker])
        .await;
    let caseworker = app.token_for(&caseworker).await;
    let ekby = app.municipality_id("Ekby").await;
    let (status, filed) = app
        .as_user(&teacher)
        .post("/api/v1/reports", report_body(&ekby, "webhook"))
        .await;
    assert_eq!(status, 201, "{filed}");
    let id = filed["id"].as_str().unwrap();
    let (status, _) = app
        .as_user(&intake)
        .post(
            &format!("/api/v1/reports/{id}/safety-assessment"),
            json!({"protection_needed": false, "notes": ""}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, body) = app
        .as_user(&intake)
        .post(
            &format!("/api/v1/reports/{id}/decision"),
            json!({"decision": "open", "reason": "Behov av utredning."}),
        )
        .await;
    assert!((200..300).contains(&status), "{body}");
    let (_, list) = app.as_user(&caseworker).get("/api/v1/investigations").await;
    let investigation = list[0]["id"].as_str().unwrap().to_string();
    (caseworker, investigation)
}

/// [`opened`], and the investigation closed: `report.received`, `report.decided`,
/// `investigation.closed`.
async fn three_changes(app: &TestApp) {
    let (caseworker, investigation) = opened(app).await;
    let today = samordna::time::local(samordna::db::now()).date();
    let (status, body) = app
        .as_user(&caseworker)
        .post(
            &format!("/api/v1/investigations/{investigation}/close"),
            json!({"outcome": "no_support", "closed_on": today.to_string(),
                   "reason": "Inget behov av insatser."}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

/// The events of a SIP plan saved and of an information request answered are queued with the
/// change, naming their ids.
async fn a_saved_plan_and_an_answered_request_are_events(kind: Db) {
    let app = TestApp::spawn_with(kind, SETTINGS, true).await;
    app.signed_in_admin_in("Ekby").await;
    register(&app, &format!("http://127.0.0.1:{}/hook", free_port())).await;

    let (caseworker, investigation) = opened(&app).await;
    let nurse = app.add_user_in("Ekby", "bvc", &[Role::Reporter]).await;
    let bvc = app.organisation_of(&nurse.user_id).await;
    let (status, request) = app
        .as_user(&caseworker)
        .post(
            &format!("/api/v1/investigations/{investigation}/information-requests"),
            json!({"organisation_id": bvc, "recipients": [nurse.user_id],
                   "questions": "Hur har barnets hälsa varit?"}),
        )
        .await;
    assert_eq!(status, 201, "{request}");
    let request = request["id"].as_str().unwrap().to_string();
    let nurse_token = app.token_for(&nurse).await;
    let (status, body) = app
        .as_user(&nurse_token)
        .post(
            &format!("/api/v1/information-requests/{request}/answer"),
            json!({"text": "Inga bekymmer vid besöken."}),
        )
        .await;
    assert!((200..300).contains(&status), "{body}");

    // A second request, declined: its own event type.
    let (status, second) = app
        .as_user(&caseworker)
        .post(
            &format!("/api/v1/investigations/{investigation}/information-requests"),
            json!({"organisation_id": bvc, "recipients": [nurse.user_id],
                   "questions": "Har barnet varit på 4-årskontrollen?"}),
        )
        .await;
    assert_eq!(status, 201, "{second}");
    let second = second["id"].as_str().unwrap().to_string();
    let (status, body) = app
        .as_user(&nurse_token)
        .post(
            &format!("/api/v1/information-requests/{second}/decline"),
            json!({"reason": "Barnet är inte listat hos oss."}),
        )
        .await;
    assert!((200..300).contains(&status), "{body}");

    let (sip_caseworker, cw) = app.caseworker_in("Ekby").await;
    let psychologist = app.add_user_in("Ekby", "bup", &[Role::Reporter]).await;
    let bup = app.organisation_of(&psychologist.user_id).await;
    let soc = app.organisation_of(&sip_caseworker.user_id).await;
    let (base, sip) = app
        .open_sip(&cw, json!({"child_name": "Kim Testbarn"}))
        .await;
    app.give_consent(&cw, &base, "Förälder", &[&bup]).await;
    let day = (samordna::db::now() + chrono::Duration::days(6)).date();
    let (_, meeting) = app
        .as_user(&cw)
        .post(
            &format!("{base}/meetings"),
            json!({"starts_at": format!("{day}T14:15"), "minutes": 45, "place": "Rum 4"}),
        )
        .await;
    let (status, plan) = app
        .as_user(&cw)
        .put(
            &format!("/api/v1/meetings/{}/plan", meeting["id"].as_str().unwrap()),
            json!({"needs": "Stöd i skolan.", "goals": ["Sova hela natten."],
                   "measures": [{"description": "Samtal", "organisation_id": bup, "principal": "region"}],
                   "lead_organisation_id": soc}),
        )
        .await;
    assert_eq!(status, 201, "{plan}");

    let bodies: Vec<Value> = app
        .conn(|conn| {
            webhook_deliveries::table
                .order(webhook_deliveries::created_at)
                .select(webhook_deliveries::payload)
                .load::<String>(conn)
                .unwrap()
        })
        .await
        .iter()
        .map(|p| serde_json::from_str(p).unwrap())
        .collect();
    let answered = bodies
        .iter()
        .find(|b| b["type"] == "information_request.answered")
        .expect("the answer is an event");
    assert_eq!(answered["data"]["information_request_id"], request.as_str());
    assert_eq!(answered["data"]["investigation_id"], investigation.as_str());
    // The decision names the report, the child and the investigation opened for it: enough for
    // the case system to fetch the child's export with its integration token.
    let decided = bodies
        .iter()
        .find(|b| b["type"] == "report.decided")
        .expect("the decision is an event");
    assert_eq!(decided["data"]["investigation_id"], investigation.as_str());
    let report_id = decided["data"]["report_id"].as_str().unwrap();
    let child_id = decided["data"]["child_id"].as_str().unwrap();
    assert_eq!(answered["data"]["report_id"], report_id);
    assert_eq!(answered["data"]["child_id"], child_id);
    let (status, export) = app
        .as_user(&caseworker)
        .get(&format!(
            "/api/v1/reports/{report_id}/export?child_id={child_id}"
        ))
        .await;
    assert_eq!(status, 200, "{export}");
    assert_eq!(export["child"]["id"], child_id);
    let declined = bodies
        .iter()
        .find(|b| b["type"] == "information_request.declined")
        .expect("the decline is an event of its own");
    assert_eq!(declined["data"]["information_request_id"], second.as_str());
    assert_eq!(declined["data"]["report_id"], report_id);
    assert_eq!(declined["data"]["child_id"], child_id);
    assert_eq!(
        bodies
            .iter()
            .filter(|b| b["type"] == "information_request.answered")
            .count(),
        1,
        "a decline is not an answer"
    );
    let saved = bodies
        .iter()
        .find(|b| b["type"] == "sip.plan_saved")
        .expect("the plan is an event");
    assert_eq!(saved["data"]["sip_id"], sip["id"]);
    assert!(
        saved["data"].get("report_id").is_none() && saved["data"].get("child_id").is_none(),
        "a SIP not started from a report names none: {saved}"
    );
    for body in &bodies {
        assert!(!body.to_string().contains("Kim"), "{body}");
    }
}

/// Deliveries queued while the receiver is down are all delivered once it is up: each verified
/// by the reference library, each `webhook-id` taken once and sent once, in bodies that hold
/// the type, ids and times only.
async fn deliveries_are_signed_and_survive_the_receiver_being_down(kind: Db) {
    let app = TestApp::spawn_with(kind, SETTINGS, true).await;
    app.signed_in_admin_in("Ekby").await;
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let secret = register(&app, &url).await;
    let page = app.page("/admin/webhooks").await;
    assert!(page.contains(&url));
    assert!(!page.contains(&secret), "the secret is shown once only");

    three_changes(&app).await;
    // The receiver is down: each delivery is tried and waits for its next attempt.
    actix_web::rt::time::sleep(Duration::from_millis(2500)).await;
    let waiting = deliveries(&app).await;
    assert_eq!(waiting.len(), 3, "{waiting:?}");
    assert!(waiting.iter().all(|d| d.1 != "delivered"), "{waiting:?}");
    assert!(
        waiting.iter().any(|d| d.3 >= 1 && d.4.is_some()),
        "{waiting:?}"
    );
    let page = app.page("/admin/webhooks").await;
    assert!(
        page.contains("servern gick inte att nå"),
        "the last error is shown"
    );

    let receiver = Receiver::start(port, &secret);
    wait_delivered(&app, 3).await;
    // A moment more: nothing is sent again.
    actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
    let requests = receiver.requests();
    assert!(
        requests.iter().all(|r| r["verified"] == true),
        "every delivery verifies: {requests:?}"
    );
    assert_eq!(requests.len(), 3, "each sent once: {requests:?}");
    let taken: BTreeSet<&str> = requests
        .iter()
        .filter(|r| r["taken"] == true)
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let queued: BTreeSet<String> = deliveries(&app).await.into_iter().map(|d| d.0).collect();
    assert_eq!(
        taken,
        queued.iter().map(String::as_str).collect::<BTreeSet<_>>()
    );
    let mut types = BTreeSet::new();
    for request in &requests {
        let text = request["body"].as_str().unwrap();
        for identifying in [
            "Kim",
            "Testbarn",
            "20121212",
            "1212",
            "hungrigt",
            "Björkskolan",
        ] {
            assert!(!text.contains(identifying), "{text}");
        }
        let body: Value = serde_json::from_str(text).unwrap();
        let keys: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["data", "timestamp", "type"], "{body}");
        for (key, value) in body["data"].as_object().unwrap() {
            assert!(key.ends_with("_id"), "only ids: {body}");
            assert!(value.is_string());
        }
        if ["report.decided", "investigation.closed"].contains(&body["type"].as_str().unwrap()) {
            for id in ["report_id", "child_id", "investigation_id"] {
                assert!(body["data"][id].is_string(), "{id}: {body}");
            }
        }
        types.insert(body["type"].as_str().unwrap().to_string());
    }
    assert_eq!(
        types,
        BTreeSet::from([
            "investigation.closed".to_string(),
            "report.decided".to_string(),
            "report.received".to_string(),
        ])
    );
    let page = app.page("/admin/webhooks").await;
    assert!(page.contains("Levererad"));

    // Removed, the endpoint gets nothing more; the removal is audited.
    let marker = "action=\"/admin/webhooks/";
    let start = page.find(marker).expect("a remove button") + marker.len();
    let action = format!(
        "/admin/webhooks/{}",
        &page[start..start + page[start..].find('"').unwrap()]
    );
    let response = app.submit("/admin/webhooks", &action, &[]).await;
    assert_eq!(response.status(), 200);
    assert!(!app.page("/admin/webhooks").await.contains("ta-bort\""));
    let ekby = MunicipalityId(app.municipality_id("Ekby").await);
    app.conn(move |conn| {
        webhooks::queue(
            conn,
            &ekby,
            EventType::ReportReceived,
            &[("report_id", "x")],
        )
        .unwrap();
    })
    .await;
    assert_eq!(deliveries(&app).await.len(), 3);
    let audited = app.audit_entries("municipality").await;
    assert!(
        audited
            .iter()
            .any(|(action, _, _)| action == "webhook.remove"),
        "{audited:?}"
    );
    assert!(audited
        .iter()
        .any(|(action, _, _)| action == "webhook.register"));
}

/// Two instances on one PostgreSQL share the queue: each event is delivered exactly once.
#[actix_web::test]
async fn two_instances_deliver_each_event_once() {
    let db = Arc::new(TestDatabase::create(Db::Postgres));
    let smtp = TestSmtp::reserve();
    let a = TestApp::spawn_on(db.clone(), smtp.clone(), Db::Postgres, SETTINGS).await;
    let _b = TestApp::spawn_on(db.clone(), smtp.clone(), Db::Postgres, SETTINGS).await;
    a.signed_in_admin_in("Ekby").await;
    let port = free_port();
    let secret = register(&a, &format!("http://127.0.0.1:{port}/hook")).await;
    let receiver = Receiver::start(port, &secret);
    let ekby = MunicipalityId(a.municipality_id("Ekby").await);
    const N: usize = 40;
    a.conn(move |conn| {
        samordna::db::write_tx(conn, |conn| {
            for i in 0..N {
                let id = format!("report-{i}");
                webhooks::queue(
                    conn,
                    &ekby,
                    EventType::ReportReceived,
                    &[("report_id", id.as_str())],
                )?;
            }
            Ok::<_, samordna::error::AppError>(())
        })
        .unwrap();
    })
    .await;
    wait_delivered(&a, N).await;
    actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
    let requests = receiver.requests();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for r in &requests {
        assert_eq!(r["verified"], true, "{r}");
        *counts.entry(r["id"].as_str().unwrap()).or_default() += 1;
    }
    println!(
        "two instances: queued {N}, requests {}, distinct {}",
        requests.len(),
        counts.len()
    );
    assert_eq!(counts.len(), N);
    assert!(counts.values().all(|&c| c == 1), "sent twice: {counts:?}");
}

/// An address in a private network, or one without https, is refused with a Swedish message
/// beside the field, and nothing is stored.
async fn a_private_or_plain_address_is_refused(app: TestApp) {
    app.signed_in_admin_in("Ekby").await;
    for (url, message) in [
        ("https://127.0.0.1:9/hook", "privat nät"),
        ("https://10.1.2.3/hook", "privat nät"),
        ("http://arende.example.se/hook", "https://"),
        ("", "Skriv adressen"),
    ] {
        let response = app
            .submit("/admin/webhooks", "/admin/webhooks", &[("url", url)])
            .await;
        assert_eq!(response.status(), 422, "{url}");
        let html = response.text().await.unwrap();
        assert!(html.contains(message), "{url}: {html}");
        assert!(html.contains(&format!("value=\"{url}\"")), "input kept");
    }
    let stored: i64 = app
        .conn(|conn| {
            samordna::db::schema::webhook_endpoints::table
                .count()
                .get_result(conn)
                .unwrap()
        })
        .await;
    assert_eq!(stored, 0);
}

on_both_kinds!(
    deliveries_are_signed_and_survive_the_receiver_being_down,
    a_saved_plan_and_an_answered_request_are_events,
);
on_both_databases!(a_private_or_plain_address_is_refused);
