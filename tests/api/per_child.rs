//! Each child in a report is its own case (issue 18 §1, §3, §4): decisions and investigations per
//! child, the violence rule with the someone-close answer, joining an investigation under way, a
//! sibling added by the officer, every extension kept, and old data migrated. On both databases.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use samordna::accounts::Role;
use samordna::db::schema::{outbox, report_decisions, report_feedback};
use samordna::db::AnyConnection;
use serde_json::{json, Value};

use crate::helpers::{error_fields, Login, TestApp};
use crate::on_both_databases;

const KIM: &str = "20121212-1212";
const ADA: &str = "20140305-1236";
const BO: &str = "20160712-4565";

struct Ekby {
    id: String,
    teacher: String,
    intake: String,
    intake_login: Login,
    caseworker: String,
}

async fn ekby(app: &TestApp) -> Ekby {
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let id = app.municipality_id("Ekby").await;
    let intake_login = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let caseworker = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Caseworker])
        .await;
    Ekby {
        id,
        teacher: app.token_for(&teacher).await,
        intake: app.token_for(&intake_login).await,
        intake_login,
        caseworker: app.token_for(&caseworker).await,
    }
}

/// A report about `children` (personnummer, name), the categories and someone-close answers.
fn report(
    municipality: &str,
    children: &[(&str, &str)],
    categories: &[&str],
    close: Value,
) -> Value {
    json!({
        "municipality_id": municipality,
        "children": children.iter().map(|(pn, name)| json!({
            "personal_number": pn, "name": name, "told": false,
            "not_told_reason": "Barnen är rädda för pappa."
        })).collect::<Vec<_>>(),
        "guardians": [{"name": "Pappa Testsson", "told": false, "not_told_reason": "Risk för våld."}],
        "concern": "Barnen berättar att pappa slår dem.",
        "categories": categories,
        "someone_close": close,
        "acute_danger": false,
        "police_informed": false
    })
}

/// Files a report as the teacher and records the safety assessment; returns the report's id.
async fn filed_and_assessed(app: &TestApp, e: &Ekby, body: Value) -> String {
    let (status, filed) = app.as_user(&e.teacher).post("/api/v1/reports", body).await;
    assert_eq!(status, 201, "{filed}");
    let id = filed["id"].as_str().unwrap().to_string();
    let (status, _) = app
        .as_user(&e.intake)
        .post(
            &format!("/api/v1/reports/{id}/safety-assessment"),
            json!({"protection_needed": false, "notes": ""}),
        )
        .await;
    assert_eq!(status, 201);
    id
}

async fn full(app: &TestApp, e: &Ekby, id: &str) -> Value {
    let (status, body) = app
        .as_user(&e.intake)
        .get(&format!("/api/v1/reports/{id}"))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn child_ids(full: &Value) -> Vec<String> {
    full["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

fn decision(child: &str, decision: &str) -> Value {
    json!({"child_id": child, "decision": decision, "reason": "Uppgifter om våld från pappa.",
           "siblings_note": "Alla tre syskon står i anmälan."})
}

async fn queue_entry(app: &TestApp, e: &Ekby, id: &str) -> Option<Value> {
    let (_, queue) = app.as_user(&e.intake).get("/api/v1/intake").await;
    queue
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["id"] == id)
        .cloned()
}

/// The "done when": a report on three siblings with a violent parent cannot be closed
/// for any of them without an investigation; each child has its own clock and outcome.
async fn three_siblings_with_a_violent_parent_each_get_an_investigation(app: TestApp) {
    let e = ekby(&app).await;
    let body = report(
        &e.id,
        &[(KIM, "Kim Syskon"), (ADA, "Ada Syskon"), (BO, "Bo Syskon")],
        &["sexual_abuse", "neglect"],
        json!({"sexual_abuse": "yes"}),
    );
    let id = filed_and_assessed(&app, &e, body).await;
    let report = full(&app, &e, &id).await;
    assert_eq!(report["violence_rule_applies"], true);
    assert_eq!(report["someone_close"]["sexual_abuse"], "yes");
    assert_eq!(report["undecided"], 3);
    let children = child_ids(&report);
    let path = format!("/api/v1/reports/{id}/decision");

    // Not opening is refused for every child, each error beside that child.
    for (i, child) in children.iter().enumerate() {
        let (status, body) = app
            .as_user(&e.intake)
            .post(&path, json!({"children": [decision(child, "not_open")]}))
            .await;
        assert_eq!(status, 422, "child {i}: {body}");
        assert_eq!(error_fields(&body), ["children[0].decision"]);
    }
    // The older one-decision shape is held to the same rule.
    let (status, _) = app
        .as_user(&e.intake)
        .post(
            &path,
            json!({"decision": "not_open", "reason": "x", "siblings_note": "x"}),
        )
        .await;
    assert_eq!(status, 422);

    // One child now: the report stays in the queue with two undecided.
    let (status, body) = app
        .as_user(&e.intake)
        .post(&path, json!({"children": [decision(&children[0], "open")]}))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body[0]["child_id"], children[0].as_str());
    let waiting = queue_entry(&app, &e, &id)
        .await
        .expect("still in the queue");
    assert_eq!(
        (waiting["children"].as_i64(), waiting["undecided"].as_i64()),
        (Some(3), Some(2))
    );
    let (_, mine) = app
        .as_user(&e.teacher)
        .get(&format!("/api/v1/reports/{id}"))
        .await;
    assert_eq!(mine["children"][0]["outcome"], "open");
    assert!(mine["children"][1]["outcome"].is_null());
    assert!(mine.get("concern").is_none() && mine["children"][0].get("reason").is_none());

    // The other two: the report is decided and leaves the queue.
    let (status, _) = app
        .as_user(&e.intake)
        .post(
            &path,
            json!({"children": [decision(&children[1], "open"), decision(&children[2], "open")]}),
        )
        .await;
    assert_eq!(status, 201);
    assert!(
        queue_entry(&app, &e, &id).await.is_none(),
        "decided: out of the queue"
    );
    let report = full(&app, &e, &id).await;
    assert_eq!(report["undecided"], 0);
    let investigations: Vec<&str> = report["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["decision"]["decision"], "open");
            assert!(c["investigation"]["due_on"].is_string(), "its own clock");
            c["investigation"]["id"].as_str().unwrap()
        })
        .collect();
    assert_eq!(investigations.len(), 3);
    assert!(investigations[0] != investigations[1] && investigations[1] != investigations[2]);
    let (_, list) = app
        .as_user(&e.caseworker)
        .get("/api/v1/investigations")
        .await;
    let mut numbers: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["report_reference"] == report["reference"])
        .map(|i| i["child"].as_i64().unwrap())
        .collect();
    numbers.sort();
    assert_eq!(numbers, [1, 2, 3]);
    let (_, mine) = app.as_user(&e.teacher).get("/api/v1/my/reports").await;
    let own = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap();
    assert_eq!(
        own["children"],
        json!([{"child": 1, "outcome": "open"},
        {"child": 2, "outcome": "open"}, {"child": 3, "outcome": "open"}])
    );
    // Already decided: 409.
    let (status, body) = app
        .as_user(&e.intake)
        .post(&path, json!({"children": [decision(&children[0], "open")]}))
        .await;
    assert_eq!(status, 409, "{body}");
}

/// The someone-close answer decides the rule: "no" for violence in the home leaves every
/// decision open; bad input is a 4xx with the field named.
async fn per_child_decisions_and_bad_input_through_the_api(app: TestApp) {
    let e = ekby(&app).await;
    let id = filed_and_assessed(
        &app,
        &e,
        report(
            &e.id,
            &[(KIM, "Kim Syskon"), (ADA, "Ada Syskon")],
            &["violence_in_home"],
            json!({"violence_in_home": "no"}),
        ),
    )
    .await;
    let report = full(&app, &e, &id).await;
    assert_eq!(report["violence_rule_applies"], false);
    let children = child_ids(&report);
    let path = format!("/api/v1/reports/{id}/decision");
    let cases = [
        (
            json!({"children": [decision("no-such-child", "open")]}),
            "children[0].child_id",
        ),
        (
            json!({"children": [decision(&children[0], "maybe")]}),
            "children[0].decision",
        ),
        (
            json!({"children": [decision(&children[0], "open"), decision(&children[0], "open")]}),
            "children[1].child_id",
        ),
        (
            json!({"children": [decision(&children[1], "join")]}),
            "children[0].decision",
        ),
        (
            json!({"children": [{"child_id": children[0], "decision": "open", "reason": " "}]}),
            "children[0].reason",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = app.as_user(&e.intake).post(&path, body.clone()).await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert!(error_fields(&answer).contains(&field), "{body}: {answer}");
        assert!(answer["errors"][0]["message"].is_string());
    }
    // Nothing was recorded by the refused attempts.
    assert_eq!(full(&app, &e, &id).await["undecided"], 2);
    // Without the rule: one not opened, one opened.
    let (status, body) = app
        .as_user(&e.intake)
        .post(
            &path,
            json!({"children": [decision(&children[0], "not_open"), decision(&children[1], "open")]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let report = full(&app, &e, &id).await;
    assert_eq!(report["children"][0]["decision"]["decision"], "not_open");
    assert!(report["children"][0]["investigation"].is_null());
    assert!(report["children"][1]["investigation"]["id"].is_string());
    // Intake of another municipality: 404.
    let other = app
        .add_user_in("Grannby", "socialtjanst", &[Role::Intake])
        .await;
    let other = app.token_for(&other).await;
    let (status, _) = app
        .as_user(&other)
        .post(&path, json!({"children": [decision(&children[0], "open")]}))
        .await;
    assert_eq!(status, 404);
}

/// A report about a child whose investigation is under way is joined to it, also under the
/// violence rule, and the join is recorded as a link; a sibling added by the officer needs its
/// own decision.
async fn joining_an_investigation_under_way_and_adding_a_sibling(app: TestApp) {
    let e = ekby(&app).await;
    let first = filed_and_assessed(
        &app,
        &e,
        report(&e.id, &[(KIM, "Kim Syskon")], &["neglect"], json!({})),
    )
    .await;
    let kim = child_ids(&full(&app, &e, &first).await).remove(0);
    let (status, _) = app
        .as_user(&e.intake)
        .post(
            &format!("/api/v1/reports/{first}/decision"),
            json!({"children": [decision(&kim, "open")]}),
        )
        .await;
    assert_eq!(status, 201);
    let under_way = full(&app, &e, &first).await["children"][0]["investigation"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let second = filed_and_assessed(
        &app,
        &e,
        report(
            &e.id,
            &[(KIM, "Kim Syskon")],
            &["violence_in_home"],
            json!({"violence_in_home": "unknown"}),
        ),
    )
    .await;
    let report = full(&app, &e, &second).await;
    assert_eq!(report["violence_rule_applies"], true);
    assert_eq!(
        report["children"][0]["investigation_under_way"]["investigation_id"],
        under_way.as_str()
    );
    assert_eq!(
        report["children"][0]["earlier_reports"][0]["id"],
        first.as_str()
    );
    assert_eq!(
        report["children"][0]["earlier_reports"][0]["outcome"],
        "open"
    );
    let kim_again = child_ids(&report).remove(0);

    // The officer adds Ada, a sibling the report does not name.
    let siblings = format!("/api/v1/reports/{second}/children");
    let (status, body) = app
        .as_user(&e.intake)
        .post(&siblings, json!({"name": "Ada"}))
        .await;
    assert_eq!(status, 422);
    assert_eq!(error_fields(&body), ["birth_date"]);
    let (status, added) = app
        .as_user(&e.intake)
        .post(
            &siblings,
            json!({"personal_number": ADA, "name": "Ada Syskon"}),
        )
        .await;
    assert_eq!(status, 201, "{added}");
    let ada = added["id"].as_str().unwrap().to_string();
    let report = full(&app, &e, &second).await;
    assert_eq!(report["undecided"], 2);
    assert_eq!(report["children"][1]["added_by_social_services"], true);

    // Kim: joined to the investigation under way (allowed under the rule); Ada: no investigation
    // under way for her, so "join" is refused and she gets her own.
    let path = format!("/api/v1/reports/{second}/decision");
    let (status, body) = app
        .as_user(&e.intake)
        .post(
            &path,
            json!({"children": [decision(&kim_again, "join"), decision(&ada, "join")]}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(error_fields(&body), ["children[1].decision"]);
    let (status, body) = app
        .as_user(&e.intake)
        .post(&path, json!({"children": [decision(&kim_again, "join")]}))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body[0]["joined_investigation_id"], under_way.as_str());
    let waiting = queue_entry(&app, &e, &second)
        .await
        .expect("Ada still waits");
    assert_eq!(waiting["undecided"], 1);
    let (status, _) = app
        .as_user(&e.intake)
        .post(&path, json!({"children": [decision(&ada, "open")]}))
        .await;
    assert_eq!(status, 201);
    let report = full(&app, &e, &second).await;
    assert!(
        report["children"][0]["investigation"].is_null(),
        "joined, not a second one"
    );
    assert!(report["children"][1]["investigation"]["id"].is_string());
    // The teacher is told the outcome for the child they named only.
    let (_, mine) = app
        .as_user(&e.teacher)
        .get(&format!("/api/v1/reports/{second}"))
        .await;
    assert_eq!(mine["children"], json!([{"child": 1, "outcome": "join"}]));
}

/// Every extension is kept with its own date, reason and who decided.
async fn every_extension_is_kept(app: TestApp) {
    let e = ekby(&app).await;
    let id = filed_and_assessed(
        &app,
        &e,
        report(&e.id, &[(KIM, "Kim")], &["neglect"], json!({})),
    )
    .await;
    let kim = child_ids(&full(&app, &e, &id).await).remove(0);
    app.as_user(&e.intake)
        .post(
            &format!("/api/v1/reports/{id}/decision"),
            json!({"children": [decision(&kim, "open")]}),
        )
        .await;
    let investigation = full(&app, &e, &id).await["children"][0]["investigation"].clone();
    let first_due =
        chrono::NaiveDate::parse_from_str(investigation["due_on"].as_str().unwrap(), "%Y-%m-%d")
            .unwrap();
    let path = format!(
        "/api/v1/investigations/{}/extension",
        investigation["id"].as_str().unwrap()
    );
    let second_due = first_due + chrono::Months::new(1);
    let third_due = first_due + chrono::Months::new(2);
    for (due, reason) in [
        (second_due, "Väntar på BUP."),
        (third_due, "Väntar på polisen."),
    ] {
        let (status, body) = app
            .as_user(&e.caseworker)
            .post(&path, json!({"due_on": due.to_string(), "reason": reason}))
            .await;
        assert_eq!(status, 204, "{body}");
    }
    let history = full(&app, &e, &id).await["children"][0]["investigation"].clone();
    assert_eq!(history["due_on"], third_due.to_string());
    let extensions = history["extensions"].as_array().unwrap();
    assert_eq!(extensions.len(), 2, "{history}");
    assert_eq!(extensions[0]["reason"], "Väntar på BUP.");
    assert_eq!(extensions[0]["previous_due_on"], first_due.to_string());
    assert_eq!(extensions[0]["due_on"], second_due.to_string());
    assert_eq!(extensions[1]["reason"], "Väntar på polisen.");
    assert_eq!(extensions[1]["previous_due_on"], second_due.to_string());
    assert!(extensions[1]["extended_at"].is_string() && extensions[1]["extended_by"].is_string());
    let (_, list) = app
        .as_user(&e.caseworker)
        .get("/api/v1/investigations")
        .await;
    assert_eq!(list[0]["extensions"].as_array().unwrap().len(), 2);
    assert_eq!(list[0]["extension_reason"], "Väntar på polisen.");
}

/// The filing form asks the someone-close question for violence, sexual abuse and honour-related
/// violence; the answer is kept when the form comes back and decides the rule.
async fn the_form_asks_whether_the_suspected_person_is_someone_close(app: TestApp) {
    let e = ekby(&app).await;
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    app.login(&teacher).await;
    let form = "/anmalan/yrkesverksam";
    let html = app.page(form).await;
    for code in ["violence_in_home", "sexual_abuse", "honour_violence"] {
        assert!(
            html.contains(&format!("name=\"someone_close.{code}\" value=\"unknown\"")),
            "{code}"
        );
    }
    assert!(html.contains("Vet inte") && !html.contains("someone_close.neglect"));
    let mut fields = vec![
        ("municipality_id", e.id.as_str()),
        ("children[0].personal_number", KIM),
        ("children[0].told", "yes"),
        ("concern", "Kim berättar om övergrepp hemma."),
        ("categories", "sexual_abuse"),
        ("someone_close.sexual_abuse", "kanske"),
        ("acute_danger", "no"),
        ("police_informed", "no"),
    ];
    let response = app.submit(form, form, &fields).await;
    assert_eq!(response.status().as_u16(), 422);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("id=\"someone_close.sexual_abuse-error\""),
        "the error beside its question"
    );
    assert!(
        html.contains("Kim berättar om övergrepp hemma."),
        "input kept"
    );
    fields[5].1 = "yes";
    let response = app.submit(form, form, &fields).await;
    assert_eq!(response.status().as_u16(), 200);
    let (_, mine) = app.as_user(&e.intake).get("/api/v1/intake").await;
    let id = mine[0]["id"].as_str().unwrap().to_string();
    let report = full(&app, &e, &id).await;
    assert_eq!(report["someone_close"]["sexual_abuse"], "yes");
    assert_eq!(report["violence_rule_applies"], true);
    // The officer's page offers no "not open" for the child.
    let officer = app.fresh_browser();
    officer.login(&e.intake_login).await;
    let (status, _) = app
        .as_user(&e.intake)
        .post(
            &format!("/api/v1/reports/{id}/safety-assessment"),
            json!({"protection_needed": false}),
        )
        .await;
    assert_eq!(status, 201);
    let page = officer.page(&format!("/anmalningar/{id}")).await;
    assert!(page.contains("närstående: ja"));
    assert!(page.contains("value=\"open\"") && !page.contains("value=\"not_open\""));
}

fn batch(conn: &mut AnyConnection, sql: &str) {
    match conn {
        AnyConnection::Sqlite(c) => c.batch_execute(sql),
        AnyConnection::Postgresql(c) => c.batch_execute(sql),
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Reports decided before decisions were per child: the one decision becomes each child's, the
/// investigation each child's, and an extension recorded before the history is its first entry.
async fn a_report_decided_before_the_migration_shows_the_decision_for_each_child(app: TestApp) {
    let e = ekby(&app).await;
    let not_opened = filed_and_assessed(
        &app,
        &e,
        report(
            &e.id,
            &[(KIM, "Kim"), (ADA, "Ada")],
            &["neglect"],
            json!({}),
        ),
    )
    .await;
    let opened = filed_and_assessed(
        &app,
        &e,
        report(&e.id, &[(BO, "Bo"), (ADA, "Ada")], &["neglect"], json!({})),
    )
    .await;
    let postgres = !app.db.url.starts_with("sqlite:");
    let dir = if postgres { "postgres" } else { "sqlite" };
    let down = |name: &str| {
        std::fs::read_to_string(format!(
            "{}/migrations/{dir}/{name}/down.sql",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    // Later tables that refer to these (closings, the journal, …) go first, newest first, as they
    // did not exist then; the migrations below run them again.
    const LATER: &[&str] = &[
        "2026-12-02-000066_handovers",
        "2026-12-02-000050_investigation_assignments",
        "2026-12-02-000045_information_request_files_and_time",
        "2026-12-02-000040_journal_after_closing",
        "2026-12-02-000034_information_requests",
        "2026-12-02-000032_investigation_closings",
        "2026-12-02-000030_journal",
    ];
    let later: Vec<String> = LATER.iter().map(|name| down(name)).collect();
    let (down18, down17) = (
        down("2026-12-02-000018_investigation_extensions"),
        down("2026-12-02-000017_per_child_decisions"),
    );
    let officer = e.intake_login.user_id.clone();
    let municipality = e.id.clone();
    let (a, b) = (not_opened.clone(), opened.clone());
    app.conn(move |conn| {
        for sql in &later {
            batch(conn, sql);
        }
        batch(conn, &down18);
        batch(conn, &down17);
        batch(
            conn,
            &format!(
                "DELETE FROM __diesel_schema_migrations WHERE version IN ('20261202000017', '20261202000018', {})",
                LATER
                    .iter()
                    .map(|name| format!("'{}'", name[..17].replace('-', "")))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        // As the service wrote them before: one decision and one investigation per report.
        batch(
            conn,
            &format!(
                "INSERT INTO report_decisions (report_id, decided_at, decided_by, decision, reason, late_reason, siblings_note) \
                 VALUES ('{a}', '2026-11-30 10:00:00', '{officer}', 'not_open', 'Stöd via skolan.', '', ''), \
                        ('{b}', '2026-11-30 11:00:00', '{officer}', 'open', 'Behov av utredning.', '', ''); \
                 INSERT INTO investigations (id, report_id, municipality_id, opened_on, due_on, extended_at, extended_by, extension_reason) \
                 VALUES ('inv-old', '{b}', '{municipality}', '2026-11-30', '2027-04-30', '2026-12-01 09:00:00', '{officer}', 'Väntar på BUP.'); \
                 DELETE FROM intake_queue WHERE report_id IN ('{a}', '{b}');"
            ),
        );
        samordna::db::run_migrations(conn).unwrap();
    })
    .await;

    let report = full(&app, &e, &not_opened).await;
    assert_eq!(report["undecided"], 0);
    for child in report["children"].as_array().unwrap() {
        assert_eq!(child["decision"]["decision"], "not_open", "{child}");
        assert_eq!(child["decision"]["reason"], "Stöd via skolan.");
    }
    let report = full(&app, &e, &opened).await;
    let ids: Vec<&str> = report["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|child| {
            assert_eq!(child["decision"]["decision"], "open", "{child}");
            assert_eq!(child["investigation"]["due_on"], "2027-04-30");
            let history = child["investigation"]["extensions"].as_array().unwrap();
            assert_eq!(history.len(), 1);
            assert_eq!(history[0]["reason"], "Väntar på BUP.");
            child["investigation"]["id"].as_str().unwrap()
        })
        .collect();
    assert_eq!(ids, ["inv-old", "inv-old-1"]);
    let (_, mine) = app.as_user(&e.teacher).get("/api/v1/my/reports").await;
    let own = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == not_opened.as_str())
        .unwrap();
    assert_eq!(
        own["children"],
        json!([{"child": 1, "outcome": "not_open"}, {"child": 2, "outcome": "not_open"}])
    );
    // A new extension goes after the old one in the history.
    let (status, _) = app
        .as_user(&e.caseworker)
        .post(
            "/api/v1/investigations/inv-old/extension",
            json!({"due_on": "2027-05-31", "reason": "Väntar på polisen."}),
        )
        .await;
    assert_eq!(status, 204);
    let history =
        full(&app, &e, &opened).await["children"][0]["investigation"]["extensions"].clone();
    assert_eq!(history[1]["previous_due_on"], "2027-04-30");
    assert_eq!(history[0]["due_on"], "2027-04-30");
}

/// Feedback to a professional reporter when the children of a report are decided at different
/// times: one feedback row per report, its last day counted from the *first* decision (not moved
/// by the later one), pointing at the latest message; the reporter sees each child's outcome.
/// Tests cannot move the clock, so the first decision is moved three days back in the database
/// (decision and feedback day alike), as if it had been made then.
async fn feedback_with_children_decided_at_different_times(app: TestApp) {
    let e = ekby(&app).await;
    let id = filed_and_assessed(
        &app,
        &e,
        report(
            &e.id,
            &[(KIM, "Kim Syskon"), (ADA, "Ada Syskon")],
            &["violence_in_home"],
            json!({"violence_in_home": "no"}),
        ),
    )
    .await;
    let children = child_ids(&full(&app, &e, &id).await);
    let path = format!("/api/v1/reports/{id}/decision");
    let (status, body) = app
        .as_user(&e.intake)
        .post(
            &path,
            json!({"children": [decision(&children[0], "not_open")]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let first = full(&app, &e, &id).await;
    assert_eq!(first["undecided"], 1);
    let first_due: NaiveDate =
        serde_json::from_value(first["feedback"]["due_on"].clone()).expect("a feedback day");

    // The first decision, three days earlier.
    let (report_id, child_id) = (id.clone(), children[0].clone());
    let (earlier_due, first_message) = app
        .conn(move |c| {
            let decided_at: NaiveDateTime = report_decisions::table
                .find(&child_id)
                .select(report_decisions::decided_at)
                .first(c)
                .unwrap();
            diesel::update(report_decisions::table.find(&child_id))
                .set(report_decisions::decided_at.eq(decided_at - chrono::Days::new(3)))
                .execute(c)
                .unwrap();
            let earlier_due = first_due - chrono::Days::new(3);
            diesel::update(report_feedback::table.find(&report_id))
                .set(report_feedback::due_on.eq(Some(earlier_due)))
                .execute(c)
                .unwrap();
            let message: Option<String> = report_feedback::table
                .find(&report_id)
                .select(report_feedback::outbox_id)
                .first(c)
                .unwrap();
            (earlier_due, message.expect("the first feedback message"))
        })
        .await;

    // Today, the second child.
    let (status, body) = app
        .as_user(&e.intake)
        .post(&path, json!({"children": [decision(&children[1], "open")]}))
        .await;
    assert_eq!(status, 201, "{body}");
    let second = full(&app, &e, &id).await;
    assert_eq!(second["undecided"], 0);
    assert_eq!(
        second["feedback"]["due_on"],
        earlier_due.to_string(),
        "due from the first decision, not the second: {second}"
    );
    let report_id = id.clone();
    let (rows, latest, messages) = app
        .conn(move |c| {
            let rows: Vec<Option<String>> = report_feedback::table
                .filter(report_feedback::report_id.eq(&report_id))
                .select(report_feedback::outbox_id)
                .load(c)
                .unwrap();
            let messages: Vec<(String, String)> = outbox::table
                .filter(outbox::subject.like("Besked om din anmälan %"))
                .select((outbox::id, outbox::message))
                .load(c)
                .unwrap();
            (rows.len(), rows[0].clone(), messages)
        })
        .await;
    assert_eq!(rows, 1, "one feedback row per report");
    assert_eq!(messages.len(), 2, "the reporter is told at each decision");
    let latest = latest.expect("the latest message");
    assert_ne!(
        latest, first_message,
        "the row points at the latest message"
    );
    assert!(messages.iter().any(|(id, _)| *id == latest));
    for (_, message) in &messages {
        for secret in [KIM, ADA, "Kim Syskon", "Ada Syskon", "pappa", "våld"] {
            assert!(!message.contains(secret), "{secret} in {message}");
        }
    }

    // The reporter sees each child's outcome, never the reasons.
    let (status, own) = app.as_user(&e.teacher).get("/api/v1/my/reports").await;
    assert_eq!(status, 200, "{own}");
    let mine = own
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .expect("the teacher's report")
        .clone();
    assert_eq!(mine["children"][0]["outcome"], "not_open", "{mine}");
    assert_eq!(mine["children"][1]["outcome"], "open", "{mine}");
    assert!(!mine.to_string().contains("Uppgifter om våld"), "{mine}");
}

on_both_databases!(
    three_siblings_with_a_violent_parent_each_get_an_investigation,
    per_child_decisions_and_bad_input_through_the_api,
    joining_an_investigation_under_way_and_adding_a_sibling,
    every_extension_is_kept,
    a_report_decided_before_the_migration_shows_the_decision_for_each_child,
    the_form_asks_whether_the_suspected_person_is_someone_close,
    feedback_with_children_decided_at_different_times,
);
