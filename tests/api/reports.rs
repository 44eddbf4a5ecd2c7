//! Reports of concern through the API, on both databases.

use std::time::Duration;

use diesel::prelude::*;
use reqwest::Method;
use samordna::accounts::Role;
use samordna::db::schema::{audit_log, report_reporters};
use serde_json::{json, Value};

use crate::helpers::{error_fields, TestApp};
use crate::on_both_databases;

const CHILD_NAME: &str = "Kim Testbarn";
const CHILD_PN: &str = "20121212-1212";

fn report(municipality_id: &str, categories: &[&str]) -> Value {
    json!({
        "municipality_id": municipality_id,
        "children": [{"personal_number": CHILD_PN, "name": CHILD_NAME, "school": "Björkskolan",
                      "told": false, "not_told_reason": "Barnet är rädd för vad som händer hemma"}],
        "guardians": [{"name": "Vårdnadshavare Ett", "told": true}],
        "concern": "Barnet har berättat att det inte får mat hemma.",
        "categories": categories,
        "acute_danger": false,
        "police_informed": false
    })
}

async fn filing_intake_and_feedback(app: TestApp) {
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let intake = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let elsewhere = app
        .add_user_in("Annanstad", "socialtjanst", &[Role::Intake])
        .await;
    let (teacher_t, intake_t, elsewhere_t) = (
        app.token_for(&teacher).await,
        app.token_for(&intake).await,
        app.token_for(&elsewhere).await,
    );
    let ekby = app.municipality_id("Ekby").await;
    app.smtp.wait_for(3, Duration::from_secs(10)).await; // welcome mails

    // A professional files: 201 with reference and clocks.
    let (status, filed) = app
        .as_user(&teacher_t)
        .post("/api/v1/reports", &report(&ekby, &["neglect"]))
        .await;
    assert_eq!(status, 201, "{filed}");
    let id = filed["id"].as_str().unwrap().to_string();
    let reference = filed["reference"].as_str().unwrap().to_string();
    assert!(
        reference.starts_with("OA-") && reference.len() == 10,
        "{reference}"
    );
    assert!(filed["safety_assessment_due_at"].is_string() && filed["decision_due_on"].is_string());

    // Intake of the same municipality sees it in the queue and in full; the read is audited.
    let (status, queue) = app.as_user(&intake_t).get("/api/v1/intake").await;
    assert_eq!(status, 200);
    assert_eq!(queue[0]["reference"], reference.as_str());
    assert!(
        queue[0].get("concern").is_none(),
        "the queue shows no content"
    );
    let (status, full) = app
        .as_user(&intake_t)
        .get(&format!("/api/v1/reports/{id}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(full["children"][0]["personal_number"], CHILD_PN);
    assert_eq!(full["reporter"]["email"], teacher.email.as_str());

    // Another municipality's officer, and a guessed id: 404, and audited.
    for (token, path) in [
        (&elsewhere_t, format!("/api/v1/reports/{id}")),
        (&intake_t, "/api/v1/reports/gissat-id".to_string()),
    ] {
        let (status, body) = app.as_user(token).get(&path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["error"], "not_found");
    }
    let denied: i64 = app
        .conn(|c| {
            audit_log::table
                .filter(audit_log::object_type.eq("report"))
                .filter(audit_log::outcome.eq("denied"))
                .count()
                .get_result(c)
                .unwrap()
        })
        .await;
    assert_eq!(denied, 2);
    let (status, _) = app.as_user(&elsewhere_t).get("/api/v1/intake").await;
    assert_eq!(status, 200, "their own (empty) queue");

    // The queue comes a page at a time, with the total in a header; a bad page is named.
    let (status, _) = app
        .as_user(&teacher_t)
        .post("/api/v1/reports", &report(&ekby, &["neglect"]))
        .await;
    assert_eq!(status, 201);
    let response = app
        .as_user(&intake_t)
        .request(Method::GET, "/api/v1/intake?limit=1&offset=1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-total-count"], "2");
    let page: Value = response.json().await.unwrap();
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert_ne!(
        page[0]["reference"],
        reference.as_str(),
        "the second most urgent"
    );
    let second = page[0]["id"].as_str().unwrap().to_string();
    let (status, body) = app
        .as_user(&intake_t)
        .get("/api/v1/intake?limit=0&offset=x")
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "limit");
    assert_eq!(body["errors"][1]["field"], "offset");

    // The reporter sees the outcome only, never the content.
    let (status, own) = app
        .as_user(&teacher_t)
        .get(&format!("/api/v1/reports/{id}"))
        .await;
    assert_eq!(status, 200);
    assert!(
        own.get("concern").is_none() && own["children"][0]["outcome"].is_null(),
        "{own}"
    );

    // A decision needs the safety assessment first.
    let decision = json!({"decision": "not_open", "reason": "Stöd via skolan räcker."});
    let (status, _) = app
        .as_user(&intake_t)
        .post(&format!("/api/v1/reports/{id}/decision"), &decision)
        .await;
    assert_eq!(status, 409);
    let (status, body) = app
        .as_user(&intake_t)
        .post(
            &format!("/api/v1/reports/{id}/safety-assessment"),
            json!({"notes": "x"}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "protection_needed");
    let (status, _) = app
        .as_user(&intake_t)
        .post(
            &format!("/api/v1/reports/{id}/safety-assessment"),
            json!({"protection_needed": false, "notes": "Inget akut skyddsbehov."}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, queue) = app.as_user(&intake_t).get("/api/v1/intake").await;
    assert_eq!(
        (queue[0]["id"].as_str(), queue[1]["id"].as_str()),
        (Some(second.as_str()), Some(id.as_str())),
        "once assessed, the report waits on its decision clock, behind an unassessed one"
    );
    let (status, _) = app
        .as_user(&teacher_t)
        .post(&format!("/api/v1/reports/{id}/decision"), &decision)
        .await;
    assert_eq!(status, 404, "a reporter cannot decide");
    let (status, body) = app
        .as_user(&intake_t)
        .post(&format!("/api/v1/reports/{id}/decision"), &decision)
        .await;
    assert_eq!(status, 201, "{body}");

    // The teacher is told there is news, with nothing about the child.
    let mail = app.smtp.wait_for(4, Duration::from_secs(15)).await;
    let news = mail
        .iter()
        .find(|m| {
            m.parsed().subject() == Some(&format!("Besked om din anmälan {reference}") as &str)
        })
        .expect("feedback mail");
    let raw = String::from_utf8_lossy(&news.data);
    for secret in [
        CHILD_NAME,
        CHILD_PN,
        "201212121212",
        "Björkskolan",
        "mat hemma",
    ] {
        assert!(!raw.contains(secret), "{secret} leaked into email");
    }
    assert!(news
        .parsed()
        .body_text(0)
        .unwrap()
        .contains("/mina-anmalningar"));
    let (_, mine) = app.as_user(&teacher_t).get("/api/v1/my/reports").await;
    let decided = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .expect("the decided report among the teacher's");
    assert_eq!(decided["children"][0]["outcome"], "not_open");
    assert!(decided.get("reason").is_none());
    let (_, queue) = app.as_user(&intake_t).get("/api/v1/intake").await;
    assert_eq!(
        queue.as_array().unwrap().len(),
        1,
        "decided reports leave the queue"
    );
    assert_eq!(queue[0]["id"], second.as_str());

    // The teacher reads the outcome on "Mina anmälningar" — and nothing else.
    app.login(&teacher).await;
    let page = app.page("/mina-anmalningar").await;
    assert!(
        page.contains(&reference) && page.contains("Utredning inleds inte"),
        "{page}"
    );
    for secret in [CHILD_NAME, CHILD_PN, "Stöd via skolan"] {
        assert!(!page.contains(secret), "{secret} shown to the reporter");
    }
    let other = app.fresh_browser();
    other.login(&intake).await;
    let response = other
        .client
        .get(other.url("/mina-anmalningar"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        403,
        "only reporters have a list of their own"
    );
}

async fn anonymous_reports_store_nothing_about_the_sender_and_bad_input_is_explained(app: TestApp) {
    let intake = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let ekby = app.municipality_id("Ekby").await;
    let (status, filed) = app
        .anon()
        .post("/api/v1/reports", &report(&ekby, &["other"]))
        .await;
    assert_eq!(status, 201, "{filed}");
    let reporters: i64 = app
        .conn(|c| report_reporters::table.count().get_result(c).unwrap())
        .await;
    assert_eq!(reporters, 0, "no row about an anonymous sender");
    let (_, full) = app
        .as_user(&app.token_for(&intake).await)
        .get(&format!(
            "/api/v1/reports/{}",
            filed["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(full["reporter_kind"], "anonymous");
    assert!(full["reporter"].is_null());

    // Invalid: one entry per field, in Swedish.
    let mut bad = report(&ekby, &[]);
    bad["children"][0]["personal_number"] = json!("20121212-1213");
    bad["acute_danger"] = Value::Null;
    let (status, body) = app.anon().post("/api/v1/reports", &bad).await;
    assert_eq!(status, 422);
    let fields = error_fields(&body);
    assert_eq!(
        fields,
        ["children[0].personal_number", "categories", "acute_danger"]
    );
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("kontrollsiffran"));

    // A bad token is never treated as a public report.
    let (status, _) = app
        .as_user("smd_fel")
        .post("/api/v1/reports", &report(&ekby, &["other"]))
        .await;
    assert_eq!(status, 401);
}

async fn violence_by_someone_close_must_open_an_investigation(app: TestApp) {
    let intake = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let token = app.token_for(&intake).await;
    let ekby = app.municipality_id("Ekby").await;
    let (_, filed) = app
        .anon()
        .post("/api/v1/reports", &report(&ekby, &["violence_in_home"]))
        .await;
    let id = filed["id"].as_str().unwrap();
    app.as_user(&token)
        .post(
            &format!("/api/v1/reports/{id}/safety-assessment"),
            json!({"protection_needed": true}),
        )
        .await;
    let (status, body) = app
        .as_user(&token)
        .post(
            &format!("/api/v1/reports/{id}/decision"),
            json!({"decision": "not_open", "reason": "x"}),
        )
        .await;
    assert_eq!(status, 422);
    let fields = error_fields(&body);
    assert_eq!(fields, ["decision", "siblings_note"]);
    let (status, _) = app
        .as_user(&token)
        .post(
            &format!("/api/v1/reports/{id}/decision"),
            json!({"decision": "open", "reason": "Våld i hemmet.", "siblings_note": "Ett yngre syskon bedöms också."}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, full) = app
        .as_user(&token)
        .get(&format!("/api/v1/reports/{id}"))
        .await;
    let opened = chrono::NaiveDate::parse_from_str(
        full["children"][0]["investigation"]["opened_on"]
            .as_str()
            .unwrap(),
        "%Y-%m-%d",
    )
    .unwrap();
    let due = chrono::NaiveDate::parse_from_str(
        full["children"][0]["investigation"]["due_on"]
            .as_str()
            .unwrap(),
        "%Y-%m-%d",
    )
    .unwrap();
    assert_eq!(due, opened + chrono::Months::new(4), "the four-month clock");

    // A caseworker of the municipality sees the clock and extends it by a recorded decision.
    let (_, cw) = app.caseworker_in("Ekby").await;
    let (status, list) = app.as_user(&cw).get("/api/v1/investigations").await;
    assert_eq!(status, 200);
    assert_eq!(list[0]["report_reference"], filed["reference"]);
    assert_eq!(list[0]["urgency"], "later");
    let path = format!(
        "/api/v1/investigations/{}/extension",
        list[0]["id"].as_str().unwrap()
    );
    let (status, body) = app
        .as_user(&cw)
        .post(&path, json!({"due_on": "2020-01-01"}))
        .await;
    assert_eq!(status, 422);
    let fields = error_fields(&body);
    assert_eq!(fields, ["due_on", "reason"]);
    let later = (due + chrono::Months::new(2)).to_string();
    let (status, _) = app
        .as_user(&token)
        .post(&path, json!({"due_on": later, "reason": "x"}))
        .await;
    assert_eq!(status, 404, "intake may not extend");
    let (status, _) = app
        .as_user(&cw)
        .post(
            &path,
            json!({"due_on": later, "reason": "Väntar på utlåtande från BUP."}),
        )
        .await;
    assert_eq!(status, 204);
    let (_, list) = app.as_user(&cw).get("/api/v1/investigations").await;
    assert_eq!(list[0]["due_on"], later.as_str());
    assert_eq!(list[0]["extension_reason"], "Väntar på utlåtande från BUP.");
}

on_both_databases!(
    filing_intake_and_feedback,
    anonymous_reports_store_nothing_about_the_sender_and_bad_input_is_explained,
    violence_by_someone_close_must_open_an_investigation,
);

#[actix_web::test]
async fn the_api_is_described_in_openapi() {
    let app = TestApp::spawn(crate::helpers::Db::Sqlite).await;
    let doc: Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/api/v1/reports",
        "/api/v1/reports/{id}",
        "/api/v1/my/reports",
        "/api/v1/intake",
        "/api/v1/reports/{id}/safety-assessment",
        "/api/v1/reports/{id}/decision",
        "/api/v1/reports/{id}/children",
        "/api/v1/investigations",
        "/api/v1/investigations/{id}/extension",
        "/api/v1/sips",
        "/api/v1/sips/{id}/consents",
        "/api/v1/sips/{id}/consents/{cid}/withdraw",
        "/api/v1/sips/{id}/participants",
        "/api/v1/sips/{id}/participants/{pid}/remove",
        "/api/v1/sips/{id}/meetings",
        "/api/v1/sips/{id}/plans",
        "/api/v1/meetings/{id}",
        "/api/v1/meetings/{id}/cancel",
        "/api/v1/meetings/{id}/plan",
        "/api/v1/inbound/mail",
        "/api/v1/consultations",
        "/api/v1/consultations/{id}",
        "/api/v1/consultations/{id}/answer",
        "/api/v1/consultations/{id}/convert",
        "/api/v1/reports/{id}/export",
        "/api/v1/reports/{id}/handover",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    // The case system's export, described as the document it is.
    for schema in [
        "ReportExport",
        "ExportedReport",
        "ChildBody",
        "HandoverInput",
        "Handover",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} missing"
        );
    }
    assert!(doc["components"]["schemas"]["ReportInput"].is_object());
    assert!(doc["paths"]["/api/v1/meetings/{id}"]["patch"].is_object());
    assert!(doc["components"]["schemas"]["PlanInput"].is_object());
}
