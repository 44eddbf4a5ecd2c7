//! The case system's side of a report (issue 21 §2), on both databases: the hand-over (by the
//! intake officer on the report page and through the API, by an integration token of social
//! services) and the export as `samordna.report.v1`, validated against its JSON Schema by an
//! independent validator (Python `jsonschema`, pinned in scripts/webhook-tools). Only social
//! services of the municipality and their integration tokens read or record it; everyone else
//! gets 404, audited.

use std::process::Command;

use samordna::accounts::Role;
use serde_json::{json, Value};

use crate::helpers::{error_fields, report_body, Login, TestApp};
use crate::on_both_databases;
use crate::webhooks::checker_python;

const NUMBER: &str = "SN 2026/1234";

struct Case {
    report: String,
    child: String,
    investigation: String,
    teacher: String,
    intake_login: Login,
    intake: String,
    caseworker: String,
    other: String,
    /// Integration tokens: Ekby's social services, Ekby's school, Annanstad's social services.
    case_system: String,
    school_system: String,
    other_case_system: String,
}

/// A report in Ekby about one child, decided to open an investigation, with a signed journal
/// entry; who is who.
async fn case(app: &TestApp) -> Case {
    let teacher_login = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let teacher = app.token_for(&teacher_login).await;
    let intake_login = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let intake = app.token_for(&intake_login).await;
    let caseworker = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Caseworker])
        .await;
    let caseworker = app.token_for(&caseworker).await;
    let other_login = app
        .add_user_in("Annanstad", "socialtjanst", &[Role::Caseworker])
        .await;
    let other = app.token_for(&other_login).await;
    let case_system = app
        .integration_token(&app.organisation_of(&intake_login.user_id).await)
        .await;
    let school_system = app
        .integration_token(&app.organisation_of(&teacher_login.user_id).await)
        .await;
    let other_case_system = app
        .integration_token(&app.organisation_of(&other_login.user_id).await)
        .await;
    let ekby = app.municipality_id("Ekby").await;
    let (status, filed) = app
        .as_user(&teacher)
        .post("/api/v1/reports", report_body(&ekby, "export"))
        .await;
    assert_eq!(status, 201, "{filed}");
    let report = filed["id"].as_str().unwrap().to_string();
    let (status, _) = app
        .as_user(&intake)
        .post(
            &format!("/api/v1/reports/{report}/safety-assessment"),
            json!({"protection_needed": false, "notes": "Inget akut."}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, body) = app
        .as_user(&intake)
        .post(
            &format!("/api/v1/reports/{report}/decision"),
            json!({"decision": "open", "reason": "Behov av utredning."}),
        )
        .await;
    assert!((200..300).contains(&status), "{body}");
    let (_, full) = app
        .as_user(&intake)
        .get(&format!("/api/v1/reports/{report}"))
        .await;
    let child = full["children"][0]["id"].as_str().unwrap().to_string();
    let investigation = full["children"][0]["investigation"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, written) = app
        .as_user(&caseworker)
        .post(
            &format!("/api/v1/investigations/{investigation}/journal"),
            json!({"kind": "hembesok", "happened_at": "2026-11-30T10:15",
                   "participants": "Kim, mamma", "text": "Hembesök gjort."}),
        )
        .await;
    assert_eq!(status, 201, "{written}");
    let entry = written["id"].as_str().unwrap();
    let (status, _) = app
        .as_user(&caseworker)
        .post(&format!("/api/v1/journal/{entry}/sign"), json!({}))
        .await;
    assert_eq!(status, 200);
    // A draft, which the export leaves out.
    let (status, _) = app
        .as_user(&caseworker)
        .post(
            &format!("/api/v1/investigations/{investigation}/journal"),
            json!({"kind": "analys", "happened_at": "2026-12-01T09:00", "text": "Utkast."}),
        )
        .await;
    assert_eq!(status, 201);
    Case {
        report,
        child,
        investigation,
        teacher,
        intake_login,
        intake,
        caseworker,
        other,
        case_system,
        school_system,
        other_case_system,
    }
}

/// Validates `document` against docs/schema/samordna.report.v1.json with Python's `jsonschema`
/// (Draft 2020-12); the validator's message when it fails.
fn validate(document: &Value) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.json");
    std::fs::write(&file, document.to_string()).unwrap();
    let out = Command::new(checker_python())
        .arg("-c")
        .arg(
            "import json, sys, jsonschema\n\
             schema = json.load(open(sys.argv[1]))\n\
             jsonschema.Draft202012Validator.check_schema(schema)\n\
             jsonschema.Draft202012Validator(schema).validate(json.load(open(sys.argv[2])))\n",
        )
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/docs/schema/samordna.report.v1.json"
        ))
        .arg(&file)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The export holds the whole case for one child and validates against its schema; the hand-over
/// is recorded through the API and shown in it.
async fn the_export_is_the_whole_case_and_matches_its_schema(app: TestApp) {
    let c = case(&app).await;
    let handover = format!("/api/v1/reports/{}/handover", c.report);
    let (status, recorded) = app
        .as_user(&c.case_system)
        .post(&handover, json!({"registration_number": NUMBER}))
        .await;
    assert_eq!(status, 201, "{recorded}");
    assert_eq!(recorded["registration_number"], NUMBER);
    assert_eq!(recorded["child_id"], c.child.as_str());

    let export = format!("/api/v1/reports/{}/export", c.report);
    let (status, doc) = app.as_user(&c.case_system).get(&export).await;
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["schema"], "samordna.report.v1");
    assert_eq!(doc["report"]["id"], c.report.as_str());
    assert!(doc["report"]["reporter"]["organisation"].is_string());
    assert_eq!(doc["report"]["categories"], json!(["neglect"]));
    assert!(doc["report"]["concern"]
        .as_str()
        .unwrap()
        .contains("hungrigt"));
    assert_eq!(doc["report"]["safety_assessment"]["notes"], "Inget akut.");
    assert!(doc["report"]["clocks"]["decision_due_on"].is_string());
    assert_eq!(doc["child"]["name"], "Kim Testbarn");
    assert_eq!(doc["child"]["decision"]["decision"], "open");
    assert_eq!(
        doc["child"]["investigation"]["id"],
        c.investigation.as_str()
    );
    assert_eq!(doc["guardians"][0]["name"], "Vårdnadshavare Ett");
    let journal = doc["journal"].as_array().unwrap();
    assert_eq!(journal.len(), 1, "the signed entry only: {journal:?}");
    assert_eq!(journal[0]["text"], "Hembesök gjort.");
    assert_eq!(doc["sips"], json!([]));
    assert_eq!(doc["handover"]["registration_number"], NUMBER);
    validate(&doc).expect("the export matches its schema");
    // The validator is not lenient: a document without its schema name, or with a wrong type,
    // fails.
    let mut broken = doc.clone();
    broken.as_object_mut().unwrap().remove("schema");
    assert!(validate(&broken).is_err());
    let mut broken = doc.clone();
    broken["child"]["told"] = json!("ja");
    assert!(validate(&broken).is_err());
    // Every object is fully described: a field the schema does not know fails, so the schema
    // cannot silently fall behind the export.
    for pointer in [
        "",
        "/report",
        "/child",
        "/child/investigation",
        "/journal/0",
    ] {
        let mut broken = doc.clone();
        broken
            .pointer_mut(pointer)
            .unwrap()
            .as_object_mut()
            .unwrap()
            .insert("unknown".into(), json!(1));
        assert!(validate(&broken).is_err(), "{pointer}");
    }
    assert_eq!(doc["child"]["investigation"]["state"], "open");
    assert!(doc["child"]["investigation"]["closing"].is_null());
    assert_eq!(journal[0]["after_closing"], false);

    // Closed, with an efteranteckning: the state, the closing and the entry's mark are in the
    // export, and it still matches the schema.
    let today = samordna::time::local(samordna::db::now()).date();
    let (status, body) = app
        .as_user(&c.caseworker)
        .post(
            &format!("/api/v1/investigations/{}/close", c.investigation),
            json!({"outcome": "no_support", "closed_on": today.to_string(),
                   "reason": "Inget behov av insatser."}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, written) = app
        .as_user(&c.caseworker)
        .post(
            &format!("/api/v1/investigations/{}/journal", c.investigation),
            json!({"kind": "telefonsamtal", "happened_at": format!("{today}T08:00"),
                   "text": "Mamma ringde efter beslutet."}),
        )
        .await;
    assert_eq!(status, 201, "{written}");
    let (status, _) = app
        .as_user(&c.caseworker)
        .post(
            &format!("/api/v1/journal/{}/sign", written["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, closed) = app.as_user(&c.case_system).get(&export).await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["child"]["investigation"]["state"], "closed");
    assert_eq!(
        closed["child"]["investigation"]["closing"]["outcome"],
        "no_support"
    );
    assert!(closed["journal"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["after_closing"] == true));
    validate(&closed).expect("the closed case matches its schema");

    // With ?child_id= too; a child the report does not have is 422 on child_id.
    let (status, _) = app
        .as_user(&c.intake)
        .get(&format!("{export}?child_id={}", c.child))
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .as_user(&c.intake)
        .get(&format!("{export}?child_id=okand"))
        .await;
    assert_eq!(status, 422);
    assert_eq!(error_fields(&body), ["child_id"]);

    // Reading it is audited.
    let audited = app.audit_entries("report").await;
    assert!(
        audited
            .iter()
            .filter(|(action, outcome, _)| action == "report.export" && outcome == "success")
            .count()
            >= 2,
        "{audited:?}"
    );
    assert!(audited
        .iter()
        .any(|(action, _, _)| action == "report.handover"));
}

/// Only social services of the municipality (users and integration tokens) read the export; only
/// intake officers and those tokens record a hand-over. Everyone else gets 404, audited.
async fn only_social_services_of_the_municipality_take_it_over(app: TestApp) {
    let c = case(&app).await;
    let export = format!("/api/v1/reports/{}/export", c.report);
    let handover = format!("/api/v1/reports/{}/handover", c.report);
    for token in [&c.intake, &c.caseworker, &c.case_system] {
        let (status, _) = app.as_user(token).get(&export).await;
        assert_eq!(status, 200);
    }
    let before = app.audit_entries("report").await.len();
    for token in [&c.teacher, &c.other, &c.school_system, &c.other_case_system] {
        let (status, _) = app.as_user(token).get(&export).await;
        assert_eq!(status, 404);
        let (status, _) = app
            .as_user(token)
            .post(&handover, json!({"registration_number": NUMBER}))
            .await;
        assert_eq!(status, 404);
    }
    let (status, _) = app
        .as_user(&c.caseworker)
        .post(&handover, json!({"registration_number": NUMBER}))
        .await;
    assert_eq!(status, 404, "caseworkers read, intake records");
    let denied: Vec<_> = app.audit_entries("report").await[before..]
        .iter()
        .filter(|(_, outcome, _)| outcome == "denied")
        .cloned()
        .collect();
    assert_eq!(denied.len(), 9, "{denied:?}");
    let (status, _) = app
        .as_user(&c.intake)
        .get("/api/v1/reports/okand/export")
        .await;
    assert_eq!(status, 404);

    // Bad input: 422 in Swedish per field.
    let (status, body) = app
        .as_user(&c.intake)
        .post(&handover, json!({"registration_number": "  "}))
        .await;
    assert_eq!(status, 422);
    assert_eq!(error_fields(&body), ["registration_number"]);
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("diarie"));
    let (status, body) = app
        .as_user(&c.intake)
        .post(
            &handover,
            json!({"registration_number": NUMBER, "handed_over_at": "2099-01-01T00:00:00"}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(error_fields(&body), ["handed_over_at"]);
    let (status, _) = app
        .as_user(&c.intake)
        .post(&handover, json!({"registration_number": NUMBER}))
        .await;
    assert_eq!(status, 201);
}

/// The intake officer records the hand-over on the report page; the page shows it, and a
/// mistake is shown beside the field with the input kept.
async fn the_report_page_records_and_shows_the_handover(app: TestApp) {
    let c = case(&app).await;
    app.login(&c.intake_login).await;
    let page = format!("/anmalningar/{}", c.report);
    let action = format!("{page}/overlamning");
    let html = app.page(&page).await;
    assert!(html.contains("Inte överlämnad ännu."));
    let response = app
        .submit(
            &page,
            &action,
            &[
                ("child_id", &c.child),
                ("registration_number", &"9".repeat(61)),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("högst 60 tecken"), "{html}");
    assert!(html.contains(&"9".repeat(61)), "input kept");
    let response = app
        .submit(
            &page,
            &action,
            &[("child_id", &c.child), ("registration_number", NUMBER)],
        )
        .await;
    assert_eq!(response.status(), 303);
    let html = app.page(&format!("{page}?sparat=overlamnad")).await;
    assert!(html.contains("Överlämningen till ärendesystemet är sparad."));
    assert!(html.contains(NUMBER));
    assert!(html.contains("Rätta numret"));
}

on_both_databases!(
    the_export_is_the_whole_case_and_matches_its_schema,
    only_social_services_of_the_municipality_take_it_over,
    the_report_page_records_and_shows_the_handover,
);
