//! Encryption at rest, on both databases: the child's identity, the free text and the other
//! sealed columns are stored only as `enc1:` values, read back in clear through the API and the
//! pages; earlier reports about the same child are found through the blind index; keys rotate
//! with `samordna keys rotate`; a wrong key is a 500, never a panic or a value in the log.

use std::process::Output;

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use samordna::accounts::Role;
use samordna::db::schema::{audit_log, busy_sources, report_children, report_guardians};
use samordna::db::AnyConnection;
use serde_json::{json, Value};

use crate::helpers::{report_body, Db, TestApp};

const KEY_A: &str = "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=";
const KEY_B: &str = "YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI=";
const KEY_C: &str = "Y2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2M=";
const INDEX_KEY: &str = "aWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWk=";

const CHILD_PN: &str = "20121212-1212";
const OTHER_PN: &str = "20150315-2389";
const CHILD_NAME: &str = "Kim Testbarn";
const SIP_CHILD: &str = "Kim Sipbarnsson";
const GUARDIAN: &str = "Förälder Testsson";
const CALENDAR: &str = "http://127.0.0.1:9/hemlig-kalender-7Qx.ics";
/// A guardian invited to the SIP meeting without an account.
const GUEST: &str = "Vårdnadshavare Gästsson";
const GUEST_EMAIL: &str = "gast.gastsson@familj.test";
/// A video meeting's link: whoever holds it can join.
const MEETING_LINK: &str = "https://video.ekby.test/m/8c1f2e7a";

/// Every column that holds a child's data, free text or another secret, as `table.column`.
/// Each must hold only sealed values (or NULL).
const SEALED: &[&str] = &[
    "reports.concern",
    "reports.interpreter_language",
    "reports.other_agencies",
    "report_children.personal_number",
    "report_children.name",
    "report_children.address",
    "report_children.school",
    "report_children.not_told_reason",
    "report_guardians.name",
    "report_guardians.phone",
    "report_guardians.not_told_reason",
    "report_reporters.name",
    "report_reporters.title",
    "report_reporters.organisation",
    "report_reporters.phone",
    "report_reporters.email",
    "safety_assessments.notes",
    "report_decisions.reason",
    "report_decisions.late_reason",
    "report_decisions.siblings_note",
    "investigations.extension_reason",
    "investigation_extensions.reason",
    "investigation_closings.support",
    "investigation_closings.reason",
    "sips.child_name",
    "sips.child_personal_number",
    "plans.needs",
    "plans.goals",
    "plans.measures",
    "consents.given_by",
    "busy_sources.url",
    "users.totp_secret",
    "outbox.recipient",
    "outbox.message",
    "participants.name",
    "participants.email",
    "meetings.place",
    "meetings.video_url",
    "consultations.situation",
    "consultations.unit",
    "consultations.answer",
    "information_requests.questions",
    "information_requests.reply",
    "information_request_files.name",
    "information_request_files.content",
    "information_request_extensions.reason",
];

/// One cell as text, whatever the column's type.
#[derive(QueryableByName)]
struct Cell {
    #[diesel(sql_type = Nullable<Text>)]
    v: Option<String>,
}

fn cells(conn: &mut AnyConnection, sql: &str) -> Vec<Option<String>> {
    let rows: Vec<Cell> = match conn {
        AnyConnection::Postgresql(pg) => diesel::sql_query(sql).load(pg),
        AnyConnection::Sqlite(lite) => diesel::sql_query(sql).load(lite),
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.into_iter().map(|c| c.v).collect()
}

/// The stored values of `table.column`.
fn column(conn: &mut AnyConnection, name: &str) -> Vec<Option<String>> {
    let (table, column) = name.split_once('.').unwrap();
    cells(
        conn,
        &format!("SELECT CAST({column} AS TEXT) AS v FROM {table}"),
    )
}

/// Every cell of every column of `table`, as text.
fn every_cell(conn: &mut AnyConnection, table: &str) -> Vec<String> {
    let columns = match conn {
        AnyConnection::Postgresql(_) => cells(
            conn,
            &format!(
                "SELECT CAST(column_name AS TEXT) AS v FROM information_schema.columns \
                 WHERE table_name = '{table}'"
            ),
        ),
        AnyConnection::Sqlite(_) => cells(
            conn,
            &format!("SELECT name AS v FROM pragma_table_info('{table}')"),
        ),
    };
    assert!(!columns.is_empty(), "{table} has columns");
    columns
        .into_iter()
        .flatten()
        .flat_map(|c| column(conn, &format!("{table}.{c}")))
        .flatten()
        .collect()
}

/// Asserts that every sealed column holds only values sealed under `key_id`, and that none of
/// `clear` appears in any cell of the tables that hold a child's data (nor in the audit trail).
async fn assert_sealed(app: &TestApp, key_id: &'static str, clear: &'static [&'static str]) {
    app.conn(move |conn| {
        let prefix = format!("enc1:{key_id}:");
        for name in SEALED {
            let values = column(conn, name);
            assert!(!values.is_empty(), "{name}: the test wrote no row");
            for value in values.into_iter().flatten() {
                assert!(value.starts_with(&prefix), "{name} holds {value:?}");
            }
        }
        let tables: std::collections::BTreeSet<&str> = SEALED
            .iter()
            .map(|n| n.split_once('.').unwrap().0)
            .chain(["audit_log"])
            .collect();
        for table in tables {
            for cell in every_cell(conn, table) {
                for value in clear {
                    assert!(!cell.contains(value), "{table} holds {value:?} in clear");
                }
            }
        }
    })
    .await;
}

/// Tokens of the people the tests need in Ekby.
struct People {
    municipality: String,
    reporter: String,
    reporter_name: String,
    reporter_email: String,
    intake: String,
    caseworker: String,
    caseworker_login: crate::helpers::Login,
    caseworker_org: String,
}

async fn people(app: &TestApp) -> People {
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let officer = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let caseworker = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Caseworker])
        .await;
    let tag = teacher.email["user-".len().."user-".len() + 8].to_string();
    People {
        municipality: app.municipality_id("Ekby").await,
        reporter: app.token_for(&teacher).await,
        reporter_name: format!("Test Person {tag}"),
        reporter_email: teacher.email.clone(),
        intake: app.token_for(&officer).await,
        caseworker: app.token_for(&caseworker).await,
        caseworker_org: app.organisation_of(&caseworker.user_id).await,
        caseworker_login: caseworker,
    }
}

/// A report with every sealed field filled in, about the child with `personal_number`.
fn full_report(municipality: &str, personal_number: &str) -> Value {
    let mut body = report_body(municipality, "krypterad");
    body["children"] = json!([{
        "personal_number": personal_number, "name": CHILD_NAME, "address": "Hemliga vägen 1",
        "school": "Björkskolan", "told": false, "not_told_reason": "Barnet är rädd för pappa"
    }]);
    body["guardians"] = json!([{
        "name": GUARDIAN, "phone": "070-123 45 67", "told": false,
        "not_told_reason": "Risk för våld mot barnet"
    }]);
    body["categories"] = json!(["violence_in_home"]);
    body["interpreter_language"] = json!("Tigrinja");
    body["other_agencies"] = json!("BUP Ekby");
    body
}

/// Files a report and takes it through assessment, decision and extension, every free text
/// filled in. Returns the report's id.
async fn file_and_decide(app: &TestApp, p: &People) -> String {
    let (status, filed) = app
        .as_user(&p.reporter)
        .post("/api/v1/reports", full_report(&p.municipality, CHILD_PN))
        .await;
    assert_eq!(status, 201, "{filed}");
    let id = filed["id"].as_str().unwrap().to_string();
    let (status, _) = app
        .as_user(&p.intake)
        .post(
            &format!("/api/v1/reports/{id}/safety-assessment"),
            json!({"protection_needed": false, "notes": "Talat med mentorn om maten"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, body) = app
        .as_user(&p.intake)
        .post(
            &format!("/api/v1/reports/{id}/decision"),
            json!({"decision": "open", "reason": "Våld i hemmet enligt skolan",
               "siblings_note": "Lillasyster Ada bedöms också"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (_, list) = app
        .as_user(&p.caseworker)
        .get("/api/v1/investigations")
        .await;
    let due =
        chrono::NaiveDate::parse_from_str(list[0]["due_on"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    let (status, _) = app
        .as_user(&p.caseworker)
        .post(
            &format!(
                "/api/v1/investigations/{}/extension",
                list[0]["id"].as_str().unwrap()
            ),
            json!({"due_on": (due + chrono::Months::new(1)).to_string(),
                   "reason": "Väntar på utlåtande från BUP Ekby"}),
        )
        .await;
    assert_eq!(status, 204);
    // A second report (another child), its investigation closed: which support and the reason
    // are sealed.
    let (status, second) = app
        .as_user(&p.reporter)
        .post(
            "/api/v1/reports",
            full_report(&p.municipality, "20140305-1236"),
        )
        .await;
    assert_eq!(status, 201, "{second}");
    let second = second["id"].as_str().unwrap().to_string();
    app.as_user(&p.intake)
        .post(
            &format!("/api/v1/reports/{second}/safety-assessment"),
            json!({"protection_needed": false, "notes": ""}),
        )
        .await;
    let (status, body) = app
        .as_user(&p.intake)
        .post(
            &format!("/api/v1/reports/{second}/decision"),
            json!({"decision": "open", "reason": "Behov av utredning",
                   "siblings_note": "Inga syskon"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (_, report) = app
        .as_user(&p.intake)
        .get(&format!("/api/v1/reports/{second}"))
        .await;
    let (status, body) = app
        .as_user(&p.caseworker)
        .post(
            &format!(
                "/api/v1/investigations/{}/close",
                report["children"][0]["investigation"]["id"]
                    .as_str()
                    .unwrap()
            ),
            json!({"outcome": "support_granted", "support": "Kontaktfamilj varannan helg",
                   "closed_on": samordna::time::local(samordna::db::now()).date().to_string(),
                   "reason": "Familjen har tackat ja till stöd"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    // An information request, answered: its questions and the answer are sealed too.
    let (status, request) = app
        .as_user(&p.caseworker)
        .post(
            &format!(
                "/api/v1/investigations/{}/information-requests",
                list[0]["id"].as_str().unwrap()
            ),
            json!({"organisation_id": p.caseworker_org,
                   "recipients": [p.caseworker_login.user_id],
                   "questions": "Hur mår barnet i förskolan?"}),
        )
        .await;
    assert_eq!(status, 201, "{request}");
    // Asked for more time first (its reason sealed), then answered with a file (its name and
    // content sealed).
    let (status, _) = app
        .as_user(&p.caseworker)
        .post(
            &format!(
                "/api/v1/information-requests/{}/more-time",
                request["id"].as_str().unwrap()
            ),
            json!({"reason": "Förskolläraren Stina är sjuk"}),
        )
        .await;
    assert_eq!(status, 201);
    let png = vec![
        0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D,
    ];
    let response = app
        .as_user(&p.caseworker)
        .request(
            reqwest::Method::POST,
            &format!(
                "/api/v1/information-requests/{}/answer",
                request["id"].as_str().unwrap()
            ),
        )
        .multipart(
            reqwest::multipart::Form::new()
                .text("text", "Barnet är ofta tyst och dras undan.")
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(png)
                        .file_name("Teckning av Lillasyster Ada.png"),
                ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    // A consultation, answered: its text, unit and answer are sealed too.
    let (status, asked) = app
        .as_user(&p.reporter)
        .post(
            "/api/v1/consultations",
            json!({"situation": "Eleven verkar rädd för att gå hem på fredagar.",
                   "child_age": 10, "unit": "Granskolan åk 4"}),
        )
        .await;
    assert_eq!(status, 201, "{asked}");
    let (status, _) = app
        .as_user(&p.intake)
        .post(
            &format!(
                "/api/v1/consultations/{}/answer",
                asked["id"].as_str().unwrap()
            ),
            json!({"answer": "Ring oss gärna om det fortsätter.", "should_report": false}),
        )
        .await;
    assert_eq!(status, 201);
    id
}

/// Starts a SIP with consent, a meeting and a plan. Returns the SIP's id.
async fn start_sip(app: &TestApp, p: &People) -> String {
    let (base, sip) = app
        .open_sip(
            &p.caseworker,
            json!({"child_name": SIP_CHILD, "child_personal_number": CHILD_PN}),
        )
        .await;
    let id = sip["id"].as_str().unwrap().to_string();
    app.give_consent(&p.caseworker, &base, GUARDIAN, &[&p.caseworker_org])
        .await;
    let (status, guest) = app
        .as_user(&p.caseworker)
        .post(
            &format!("/api/v1/sips/{id}/participants"),
            json!({"name": GUEST, "email": GUEST_EMAIL, "required": false, "relation": "guardian"}),
        )
        .await;
    assert_eq!(status, 201, "{guest}");
    let day = (samordna::db::now() + chrono::Duration::days(6)).date();
    let (status, meeting) = app
        .as_user(&p.caseworker)
        .post(
            &format!("/api/v1/sips/{id}/meetings"),
            json!({"starts_at": format!("{day}T14:15"), "minutes": 45, "place": "Rum 4",
               "video_url": MEETING_LINK}),
        )
        .await;
    assert_eq!(status, 201, "{meeting}");
    let (status, plan) = app
        .as_user(&p.caseworker)
        .put(
            &format!("/api/v1/meetings/{}/plan", meeting["id"].as_str().unwrap()),
            json!({
            "needs": "Barnet behöver sova hela natten",
            "goals": ["Jag vill våga gå till skolan"],
            "measures": [{"description": "Samtal med kurator Ekby", "organisation_id": p.caseworker_org, "principal": "kommun"}],
            "lead_organisation_id": p.caseworker_org
        }),
        )
        .await;
    assert_eq!(status, 201, "{plan}");
    id
}

/// The values the tests type that must never be stored in clear.
const CLEAR: &[&str] = &[
    CHILD_PN,
    "201212121212",
    CHILD_NAME,
    SIP_CHILD,
    GUARDIAN,
    GUEST,
    GUEST_EMAIL,
    MEETING_LINK,
    "Hemliga vägen",
    "Björkskolan",
    "Barnet är rädd för pappa",
    "070-123 45 67",
    "Risk för våld mot barnet",
    "Barnet kommer hungrigt",
    "Tigrinja",
    "BUP Ekby",
    "Talat med mentorn",
    "Våld i hemmet enligt skolan",
    "Lillasyster Ada",
    "Väntar på utlåtande",
    "sova hela natten",
    "våga gå till skolan",
    "kurator Ekby",
    "hemlig-kalender",
    "rädd för att gå hem",
    "Granskolan",
    "Ring oss gärna",
    "Stina är sjuk",
];

async fn the_childs_data_is_sealed_at_rest_and_read_in_clear(app: TestApp) {
    let p = people(&app).await;
    let report = file_and_decide(&app, &p).await;
    let sip = start_sip(&app, &p).await;
    let browser = app.fresh_browser();
    browser.login(&p.caseworker_login).await;
    let response = browser
        .submit("/profil", "/profil/upptagen", &[("url", CALENDAR)])
        .await;
    assert_eq!(response.status().as_u16(), 303);

    assert_sealed(&app, samordna::crypto::DERIVED_KEY_ID, CLEAR).await;
    // The reporter's own name and address are sealed too (they are not fixed strings).
    let (name, email) = (p.reporter_name.clone(), p.reporter_email.clone());
    app.conn(move |conn| {
        for table in ["report_reporters", "reports"] {
            for cell in every_cell(conn, table) {
                assert!(!cell.contains(&name) && !cell.contains(&email), "{table}");
            }
        }
    })
    .await;

    // Read back in clear: the API…
    let (status, full) = app
        .as_user(&p.intake)
        .get(&format!("/api/v1/reports/{report}"))
        .await;
    assert_eq!(status, 200);
    let child = &full["children"][0];
    assert_eq!(child["personal_number"], CHILD_PN);
    assert_eq!(child["name"], CHILD_NAME);
    assert_eq!(child["address"], "Hemliga vägen 1");
    assert_eq!(child["school"], "Björkskolan");
    assert_eq!(child["not_told_reason"], "Barnet är rädd för pappa");
    assert_eq!(full["guardians"][0]["name"], GUARDIAN);
    assert_eq!(full["guardians"][0]["phone"], "070-123 45 67");
    assert_eq!(full["reporter"]["name"], p.reporter_name.as_str());
    assert_eq!(full["reporter"]["email"], p.reporter_email.as_str());
    assert_eq!(full["reporter"]["title"], "Testare");
    assert!(full["concern"]
        .as_str()
        .unwrap()
        .starts_with("Barnet kommer hungrigt"));
    assert_eq!(full["interpreter_language"], "Tigrinja");
    assert_eq!(full["other_agencies"], "BUP Ekby");
    assert_eq!(
        full["safety_assessment"]["notes"],
        "Talat med mentorn om maten"
    );
    let child = &full["children"][0];
    assert_eq!(child["decision"]["reason"], "Våld i hemmet enligt skolan");
    assert_eq!(
        child["decision"]["siblings_note"],
        "Lillasyster Ada bedöms också"
    );
    assert_eq!(
        child["investigation"]["extension_reason"],
        "Väntar på utlåtande från BUP Ekby"
    );
    let (_, list) = app
        .as_user(&p.caseworker)
        .get("/api/v1/investigations")
        .await;
    assert_eq!(
        list[0]["extension_reason"],
        "Väntar på utlåtande från BUP Ekby"
    );
    let (status, plans) = app
        .as_user(&p.caseworker)
        .get(&format!("/api/v1/sips/{sip}/plans"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(plans[0]["needs"], "Barnet behöver sova hela natten");
    assert_eq!(plans[0]["goals"][0], "Jag vill våga gå till skolan");
    assert_eq!(
        plans[0]["measures"][0]["description"],
        "Samtal med kurator Ekby"
    );
    // …and the pages.
    let page = browser.page(&format!("/sip/{sip}")).await;
    assert!(
        page.contains(SIP_CHILD) && page.contains(GUARDIAN),
        "{page}"
    );
    let intake = app.fresh_browser();
    let officer = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    intake.login(&officer).await;
    let page = intake.page(&format!("/anmalningar/{report}")).await;
    for value in [
        CHILD_NAME,
        CHILD_PN,
        "Hemliga vägen 1",
        GUARDIAN,
        "Tigrinja",
    ] {
        assert!(page.contains(value), "the report page shows {value:?}");
    }
    // The calendar address is still read: the reader opened it (and found nothing listening).
    let error = app
        .conn(|conn| {
            for _ in 0..100 {
                let error: Option<String> = busy_sources::table
                    .select(busy_sources::error)
                    .first(conn)
                    .unwrap();
                if error.is_some() {
                    return error;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            None
        })
        .await;
    assert!(
        error.as_deref().is_some_and(|e| !e.contains("ogiltig")),
        "the sealed address was opened and fetched: {error:?}"
    );
}

async fn earlier_reports_about_the_same_child_are_found_through_the_blind_index(app: TestApp) {
    let p = people(&app).await;
    let mut ids = Vec::new();
    for number in [CHILD_PN, OTHER_PN, CHILD_PN] {
        let (status, filed) = app
            .as_user(&p.reporter)
            .post("/api/v1/reports", full_report(&p.municipality, number))
            .await;
        assert_eq!(status, 201, "{filed}");
        ids.push(filed["id"].as_str().unwrap().to_string());
    }
    let earlier = |body: &Value| -> Vec<String> {
        body["children"][0]["earlier_reports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, third) = app
        .as_user(&p.intake)
        .get(&format!("/api/v1/reports/{}", ids[2]))
        .await;
    assert_eq!(earlier(&third), [ids[0].clone()]);
    let (_, first) = app
        .as_user(&p.intake)
        .get(&format!("/api/v1/reports/{}", ids[0]))
        .await;
    assert_eq!(earlier(&first), [ids[2].clone()]);
    let (_, other) = app
        .as_user(&p.intake)
        .get(&format!("/api/v1/reports/{}", ids[1]))
        .await;
    assert!(earlier(&other).is_empty());
    // The index is the same for the same child, another for another, and no personnummer.
    let ids2 = ids.clone();
    let indexes: Vec<Option<String>> = app
        .conn(move |conn| {
            ids2.iter()
                .map(|id| {
                    report_children::table
                        .filter(report_children::report_id.eq(id))
                        .select(report_children::personal_number_index)
                        .first::<Option<String>>(conn)
                        .unwrap()
                })
                .collect()
        })
        .await;
    assert!(indexes[0].is_some());
    assert_eq!(indexes[0], indexes[2]);
    assert_ne!(indexes[0], indexes[1]);
    for index in indexes.iter().flatten() {
        assert!(
            !index.contains("1212") && !index.contains("2389"),
            "{index}"
        );
    }
}

/// The settings of an instance with `data_keys` and the tests' index key.
fn keys(data_keys: &str) -> [(&str, &str); 2] {
    [
        ("SAMORDNA_DATA_KEYS", data_keys),
        ("SAMORDNA_INDEX_KEY", INDEX_KEY),
    ]
}

/// Another instance on `app`'s database and SMTP server, with `data_keys`.
async fn with_keys(app: &TestApp, kind: Db, data_keys: &str) -> TestApp {
    TestApp::spawn_on(app.db.clone(), app.smtp.clone(), kind, &keys(data_keys)).await
}

fn rotate_cli(app: &TestApp, data_keys: &str) -> Output {
    app.samordna(&["keys", "rotate"])
        .env("SAMORDNA_DATA_KEYS", data_keys)
        .env("SAMORDNA_INDEX_KEY", INDEX_KEY)
        .output()
        .expect("run samordna")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn keys_rotate_and_the_old_key_can_then_be_removed(kind: Db) {
    let with_a = format!("a:{KEY_A}");
    let first = TestApp::spawn_with(kind, &keys(&with_a), true).await;
    let p = people(&first).await;
    let report = file_and_decide(&first, &p).await;
    start_sip(&first, &p).await;
    let browser = first.fresh_browser();
    browser.login(&p.caseworker_login).await;
    browser
        .submit("/profil", "/profil/upptagen", &[("url", CALENDAR)])
        .await;
    assert_sealed(&first, "a", CLEAR).await;
    // A row from before encryption: a guardian's name in clear and a child without an index.
    first
        .conn(|conn| {
            diesel::update(report_guardians::table)
                .set(report_guardians::name.eq(GUARDIAN))
                .execute(conn)
                .unwrap();
            diesel::update(report_children::table)
                .set(report_children::personal_number_index.eq(None::<String>))
                .execute(conn)
                .unwrap();
        })
        .await;

    // A new key first, the old one still there to open: everything is read, old and new.
    let with_b_and_a = format!("b:{KEY_B},a:{KEY_A}");
    let second = with_keys(&first, kind, &with_b_and_a).await;
    let (status, full) = second
        .as_user(&p.intake)
        .get(&format!("/api/v1/reports/{report}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(full["children"][0]["name"], CHILD_NAME);
    assert_eq!(
        full["guardians"][0]["name"], GUARDIAN,
        "legacy plaintext is read"
    );

    let out = rotate_cli(&second, &with_b_and_a);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    assert!(printed.contains("report_children"), "{printed}");
    assert!(!printed.contains("\n0 row(s) changed in all"), "{printed}");
    assert_sealed(&second, "b", CLEAR).await;
    let audited: Vec<(Option<String>, String)> = second
        .conn(|conn| {
            audit_log::table
                .filter(audit_log::action.eq("keys.rotate"))
                .order(audit_log::seq)
                .select((audit_log::object_id, audit_log::detail))
                .load(conn)
                .unwrap()
        })
        .await;
    assert_eq!(audited.len(), 24, "one entry per table: {audited:?}");
    // Every queued message and every participant was sealed under the old key: all re-sealed.
    let (messages, participants): (i64, i64) = second
        .conn(|conn| {
            use samordna::db::schema::{outbox, participants};
            (
                outbox::table.count().get_result(conn).unwrap(),
                participants::table.count().get_result(conn).unwrap(),
            )
        })
        .await;
    assert!(messages > 0 && participants > 1);
    assert!(audited.contains(&(Some("outbox".into()), format!("rows={messages} key=b"))));
    assert!(audited.contains(&(
        Some("participants".into()),
        format!("rows={participants} key=b")
    )));
    assert!(audited
        .iter()
        .any(|(table, _)| table.as_deref() == Some("users")));
    // Two reports (the second one's investigation closed), each with one child and guardian.
    assert!(audited.contains(&(Some("report_guardians".into()), "rows=2 key=b".into())));
    assert!(audited.contains(&(Some("report_children".into()), "rows=2 key=b".into())));
    assert!(audited.contains(&(Some("reports".into()), "rows=2 key=b".into())));
    assert!(audited.contains(&(Some("investigation_closings".into()), "rows=1 key=b".into())));
    // The index is back, and a second run changes nothing.
    let missing: i64 = second
        .conn(|conn| {
            report_children::table
                .filter(report_children::personal_number_index.is_null())
                .count()
                .get_result(conn)
                .unwrap()
        })
        .await;
    assert_eq!(missing, 0);
    let again = rotate_cli(&second, &with_b_and_a);
    assert!(again.status.success());
    assert!(
        text(&again.stdout).contains("\n0 row(s) changed in all"),
        "{}",
        text(&again.stdout)
    );

    // Key a removed: an instance with b alone reads everything.
    let with_b = format!("b:{KEY_B}");
    let third = with_keys(&first, kind, &with_b).await;
    let (status, full) = third
        .as_user(&p.intake)
        .get(&format!("/api/v1/reports/{report}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(full["children"][0]["personal_number"], CHILD_PN);
    assert_eq!(full["guardians"][0]["name"], GUARDIAN);
    assert_eq!(
        full["children"][0]["investigation"]["extension_reason"],
        "Väntar på utlåtande från BUP Ekby"
    );
    let (status, _) = third
        .as_user(&p.caseworker)
        .get("/api/v1/investigations")
        .await;
    assert_eq!(status, 200);
    // The caseworker's app, set up under key a, still signs in: its secret was re-sealed too.
    let browser = third.fresh_browser();
    browser.login(&p.caseworker_login).await;
    assert!(browser
        .page("/sip")
        .await
        .contains("<h1>SIP – samordnad individuell plan</h1>"));
}

async fn stored_names(app: &TestApp) -> Vec<Option<String>> {
    app.conn(|conn| column(conn, "report_children.name")).await
}

/// Data sealed under the key derived from the secret key (no keys configured) moves to
/// configured keys: `k1` first and a bare `s0` to open the old values, rotate, then `k1` alone.
async fn moving_from_the_derived_key_to_configured_keys(app: TestApp) {
    let p = people(&app).await;
    let report = file_and_decide(&app, &p).await;
    assert!(stored_names(&app).await[0]
        .as_deref()
        .unwrap()
        .starts_with("enc1:s0:"));
    let out = rotate_cli(&app, &format!("k1:{KEY_A},s0"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stored_names(&app).await[0]
        .as_deref()
        .unwrap()
        .starts_with("enc1:k1:"));
    let with_k1 = format!("k1:{KEY_A}");
    let kind = if app.db.url.starts_with("sqlite:") {
        Db::Sqlite
    } else {
        Db::Postgres
    };
    let configured = with_keys(&app, kind, &with_k1).await;
    let (status, full) = configured
        .as_user(&p.intake)
        .get(&format!("/api/v1/reports/{report}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(full["children"][0]["name"], CHILD_NAME);
    // The blind index now comes from the configured index key: a new report finds the old one.
    let (status, filed) = configured
        .as_user(&p.reporter)
        .post("/api/v1/reports", full_report(&p.municipality, CHILD_PN))
        .await;
    assert_eq!(status, 201);
    let (_, newer) = configured
        .as_user(&p.intake)
        .get(&format!(
            "/api/v1/reports/{}",
            filed["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        newer["children"][0]["earlier_reports"][0]["id"],
        report.as_str()
    );
}

async fn a_wrong_key_is_an_error_page_without_the_value_in_the_log(kind: Db) {
    let with_a = format!("a:{KEY_A}");
    let first = TestApp::spawn_with(kind, &keys(&with_a), true).await;
    let p = people(&first).await;
    let (status, filed) = first
        .as_user(&p.reporter)
        .post("/api/v1/reports", full_report(&p.municipality, CHILD_PN))
        .await;
    assert_eq!(status, 201);
    let report = filed["id"].as_str().unwrap().to_string();

    // Another instance that was given key c only (key a lost, or the wrong file deployed).
    let with_c = format!("c:{KEY_C}");
    let wrong = with_keys(&first, kind, &with_c).await;
    let (status, body) = wrong
        .as_user(&p.intake)
        .get(&format!("/api/v1/reports/{report}"))
        .await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["error"], "internal");
    let browser = wrong.fresh_browser();
    let officer = wrong
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    browser.login(&officer).await;
    let response = browser
        .client
        .get(browser.url(&format!("/anmalningar/{report}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 500);
    let page = response.text().await.unwrap();
    assert!(page.contains("Något gick fel"), "{page}");
    assert!(!page.contains(CHILD_NAME) && !page.contains("enc1:"));
    // Same key id, other key material: authentication fails, also a 500.
    let forged = with_keys(&first, kind, &format!("a:{KEY_B}")).await;
    let (status, _) = forged
        .as_user(&p.intake)
        .get(&format!("/api/v1/reports/{report}"))
        .await;
    assert_eq!(status, 500);
    // The first instance, with the right key, still answers: nothing was changed or panicked.
    let (status, _) = first
        .as_user(&p.intake)
        .get(&format!("/api/v1/reports/{report}"))
        .await;
    assert_eq!(status, 200);

    // The log says which column and key, never the value or the sealed text.
    let stored: Vec<String> = first
        .conn(|conn| {
            report_children::table
                .select(report_children::name)
                .load(conn)
                .unwrap()
        })
        .await;
    let log_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-logs");
    let log = std::fs::read_to_string(log_dir.join(format!("api-{}.log", std::process::id())))
        .expect("the test log");
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("cannot be opened"))
        .collect();
    assert!(
        lines.iter().any(|l| l.contains("reports.concern (key a)")),
        "the column and key id are logged"
    );
    for line in lines {
        assert!(!line.contains("enc1:"), "{line}");
        for value in stored
            .iter()
            .map(String::as_str)
            .chain(CLEAR.iter().copied())
        {
            assert!(!line.contains(value), "{line}");
        }
    }

    // The rotation without the old key stops at the first value it cannot open, and says which.
    let out = rotate_cli(&first, &with_c);
    assert_eq!(out.status.code(), Some(1));
    let said = text(&out.stderr);
    assert!(
        said.contains("(key a)") && !said.contains("enc1:"),
        "{said}"
    );
    let (status, _) = first
        .as_user(&p.intake)
        .get(&format!("/api/v1/reports/{report}"))
        .await;
    assert_eq!(status, 200, "nothing was changed");
}

crate::on_both_databases!(
    the_childs_data_is_sealed_at_rest_and_read_in_clear,
    earlier_reports_about_the_same_child_are_found_through_the_blind_index,
    moving_from_the_derived_key_to_configured_keys,
);

crate::on_both_kinds!(
    keys_rotate_and_the_old_key_can_then_be_removed,
    a_wrong_key_is_an_error_page_without_the_value_in_the_log,
);
