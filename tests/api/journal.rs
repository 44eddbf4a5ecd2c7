//! The journal of a child's case (issue 19 §1): intake writes during the förhandsbedömning,
//! caseworkers during the investigation; the author signs; a signed entry is never changed by any
//! route nor by the store; a correction is a new entry shown beside the original; text sealed at
//! rest; another municipality gets 404, audited. On both databases.

use diesel::prelude::*;
use samordna::accounts::Role;
use samordna::db::schema::{audit_log, journal_entries};
use serde_json::{json, Value};

use crate::helpers::{error_fields, report_body, Login, TestApp};
use crate::on_both_databases;

const TEXT: &str = "Samtal med Kim om hur det är hemma.";

pub(crate) struct Case {
    pub caseworker_login: Login,
    pub intake_login: Login,
    pub intake: String,
    pub caseworker: String,
    pub report: String,
    pub child: String,
    pub investigation: Option<String>,
}

pub(crate) fn entry(kind: &str, text: &str) -> Value {
    json!({"kind": kind, "happened_at": "2026-11-30T10:15", "participants": "Kim, mentor", "text": text})
}

/// A report about one child, assessed; decided to open an investigation when `open`.
pub(crate) async fn case(app: &TestApp, open: bool) -> Case {
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let teacher = app.token_for(&teacher).await;
    let intake_login = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let intake = app.token_for(&intake_login).await;
    let caseworker = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Caseworker])
        .await;
    let caseworker_login = caseworker;
    let caseworker = app.token_for(&caseworker_login).await;
    let municipality = app.municipality_id("Ekby").await;
    let (status, filed) = app
        .as_user(&teacher)
        .post("/api/v1/reports", report_body(&municipality, "journal"))
        .await;
    assert_eq!(status, 201, "{filed}");
    let report = filed["id"].as_str().unwrap().to_string();
    let (status, body) = app
        .as_user(&intake)
        .post(
            &format!("/api/v1/reports/{report}/safety-assessment"),
            json!({"protection_needed": false, "notes": ""}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (_, full) = app
        .as_user(&intake)
        .get(&format!("/api/v1/reports/{report}"))
        .await;
    let child = full["children"][0]["id"].as_str().unwrap().to_string();
    let mut investigation = None;
    if open {
        let (status, body) = app
            .as_user(&intake)
            .post(
                &format!("/api/v1/reports/{report}/decision"),
                json!({"children": [{"child_id": child, "decision": "open",
                                     "reason": "Behöver utredas.", "siblings_note": ""}]}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let (_, full) = app
            .as_user(&intake)
            .get(&format!("/api/v1/reports/{report}"))
            .await;
        investigation = full["children"][0]["investigation"]["id"]
            .as_str()
            .map(String::from);
        assert!(investigation.is_some(), "{full}");
    }
    Case {
        caseworker_login,
        intake_login,
        intake,
        caseworker,
        report,
        child,
        investigation,
    }
}

async fn stored_texts(app: &TestApp) -> Vec<(String, String)> {
    app.conn(|conn| {
        journal_entries::table
            .select((journal_entries::text, journal_entries::participants))
            .load(conn)
            .unwrap()
    })
    .await
}

/// Intake writes during the förhandsbedömning; the author signs; signed is locked; a correction
/// shows beside the original; the caseworker continues in the same journal once it is opened.
async fn write_sign_and_correct(app: TestApp) {
    let c = case(&app, false).await;
    let path = format!("/api/v1/reports/{}/children/{}/journal", c.report, c.child);
    // Bad input: 422 per field, in Swedish; nothing stored.
    let (status, body) = app
        .as_user(&c.intake)
        .post(
            &path,
            json!({"kind": "fika", "happened_at": "igår", "text": " "}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["kind", "happened_at", "text"]);
    // A caseworker does not write before the decision.
    let (status, _) = app
        .as_user(&c.caseworker)
        .post(&path, entry("analys", "x"))
        .await;
    assert_eq!(status, 403);
    let (status, written) = app
        .as_user(&c.intake)
        .post(&path, entry("samtal_barn", TEXT))
        .await;
    assert_eq!(status, 201, "{written}");
    assert!(written["signed_at"].is_null(), "a draft");
    assert_eq!(written["kind_label"], "Samtal med barnet");
    let id = written["id"].as_str().unwrap().to_string();
    // Sealed at rest: neither text nor participants in clear.
    for (text, participants) in stored_texts(&app).await {
        assert!(text.starts_with("enc1:"), "{text}");
        assert!(participants.starts_with("enc1:"), "{participants}");
    }
    // Only the author signs.
    let sign = format!("/api/v1/journal/{id}/sign");
    let (status, _) = app.as_user(&c.caseworker).post(&sign, json!({})).await;
    assert_eq!(status, 403);
    let (status, signed) = app.as_user(&c.intake).post(&sign, json!({})).await;
    assert_eq!(status, 200, "{signed}");
    assert!(signed["signed_at"].is_string());
    // Signed is locked: signing again is refused, and no route changes it.
    let (status, _) = app.as_user(&c.intake).post(&sign, json!({})).await;
    assert_eq!(status, 409);
    for method in ["PUT", "PATCH", "DELETE"] {
        let status = app
            .as_user(&c.intake)
            .request(method.parse().unwrap(), &format!("/api/v1/journal/{id}"))
            .json(&entry("annat", "ändrat"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        assert!(status == 404 || status == 405, "{method}: {status}");
    }
    let before = stored_texts(&app).await;
    // A correction is a new entry naming the original.
    let (status, correction) = app
        .as_user(&c.intake)
        .post(
            &format!("/api/v1/journal/{id}/corrections"),
            entry("samtal_barn", "Rättelse: samtalet var med Kim och mentorn."),
        )
        .await;
    assert_eq!(status, 201, "{correction}");
    assert_eq!(correction["corrects"], id.as_str());
    let (status, journal) = app.as_user(&c.caseworker).get(&path).await;
    assert_eq!(status, 200, "{journal}");
    let entries = journal["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let original = entries.iter().find(|e| e["id"] == id.as_str()).unwrap();
    assert_eq!(original["text"], TEXT, "the original stays as signed");
    assert_eq!(original["signed_at"], signed["signed_at"]);
    assert_eq!(original["corrected_by"][0], correction["id"]);
    // The chronology page, once opened: the correction beside the original, with the case's events.
    let (status, body) = app
        .as_user(&c.intake)
        .post(
            &format!("/api/v1/reports/{}/decision", c.report),
            json!({"children": [{"child_id": c.child, "decision": "open",
                                 "reason": "Behöver utredas.", "siblings_note": ""}]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (_, full) = app
        .as_user(&c.intake)
        .get(&format!("/api/v1/reports/{}", c.report))
        .await;
    let inv = full["children"][0]["investigation"]["id"].as_str().unwrap();
    let browser = app.fresh_browser();
    browser.login(&c.caseworker_login).await;
    let page = browser
        .client
        .get(browser.url(&format!("/utredningar/{inv}/journal")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let page = page.text().await.unwrap();
    let original_at = page.find(TEXT).expect("the original on the page");
    let correction_at = page.find("Rättelse: samtalet").expect("the correction");
    assert!(correction_at > original_at);
    assert!(
        page[original_at..correction_at].contains("<strong>Rättelse</strong>"),
        "beside it"
    );
    assert!(page.contains("Orosanmälan kom in") && page.contains("Beslut: utredning inleds"));
    assert!(!page.contains("<script"), "no JavaScript");
    let after = stored_texts(&app).await;
    assert!(
        after.iter().any(|row| row == &before[0]),
        "stored row unchanged"
    );
    // Once decided, the förhandsbedömning's journal takes no more entries.
    let (status, _) = app
        .as_user(&c.intake)
        .post(&path, entry("annat", "sent"))
        .await;
    assert_eq!(status, 409);
}

/// During the investigation the caseworker writes; the journal carries on from the
/// förhandsbedömning; intake may read but not write.
async fn the_investigation_journal(app: TestApp) {
    let c = case(&app, true).await;
    let inv = c.investigation.clone().unwrap();
    let path = format!("/api/v1/investigations/{inv}/journal");
    let (status, _) = app
        .as_user(&c.intake)
        .post(&path, entry("hembesok", "x"))
        .await;
    assert_eq!(status, 403);
    let (status, written) = app
        .as_user(&c.caseworker)
        .post(&path, entry("hembesok", "Hembesök hos familjen."))
        .await;
    assert_eq!(status, 201, "{written}");
    assert_eq!(written["investigation_id"], inv.as_str());
    let (status, journal) = app.as_user(&c.intake).get(&path).await;
    assert_eq!(status, 200);
    assert_eq!(journal["entries"].as_array().unwrap().len(), 1);
    let report_path = format!("/api/v1/reports/{}/children/{}/journal", c.report, c.child);
    let (_, same) = app.as_user(&c.caseworker).get(&report_path).await;
    assert_eq!(same["entries"], journal["entries"], "one journal per child");
}

/// Another municipality, a reporter and unknown ids: 404, and each refusal audited.
async fn others_get_404_audited(app: TestApp) {
    let c = case(&app, true).await;
    let inv = c.investigation.clone().unwrap();
    let path = format!("/api/v1/investigations/{inv}/journal");
    let (_, written) = app
        .as_user(&c.caseworker)
        .post(&path, entry("analys", "Analys."))
        .await;
    let id = written["id"].as_str().unwrap().to_string();
    let other = app
        .add_user_in("Grannby", "socialtjanst", &[Role::Caseworker, Role::Intake])
        .await;
    let other = app.token_for(&other).await;
    let reporter = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let reporter = app.token_for(&reporter).await;
    let report_path = format!("/api/v1/reports/{}/children/{}/journal", c.report, c.child);
    for token in [&other, &reporter] {
        for (status, body) in [
            app.as_user(token).get(&path).await,
            app.as_user(token).post(&path, entry("annat", "x")).await,
            app.as_user(token).get(&report_path).await,
            app.as_user(token)
                .post(&format!("/api/v1/journal/{id}/sign"), json!({}))
                .await,
            app.as_user(token)
                .post(
                    &format!("/api/v1/journal/{id}/corrections"),
                    entry("annat", "x"),
                )
                .await,
        ] {
            assert_eq!(status, 404, "{body}");
            assert!(!body.to_string().contains("Analys"));
        }
    }
    let (status, _) = app
        .as_user(&c.caseworker)
        .post("/api/v1/journal/no-such-entry/sign", json!({}))
        .await;
    assert_eq!(status, 404);
    let denied: i64 = app
        .conn(|conn| {
            audit_log::table
                .filter(audit_log::outcome.eq("denied"))
                .filter(audit_log::object_type.eq_any(["journal_entry", "report"]))
                .count()
                .get_result(conn)
                .unwrap()
        })
        .await;
    assert!(denied >= 11, "every refusal audited: {denied}");
}

on_both_databases!(
    write_sign_and_correct,
    the_investigation_journal,
    others_get_404_audited,
);
