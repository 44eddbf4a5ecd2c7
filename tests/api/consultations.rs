//! Consultation without a name (konsultation), on both databases: a professional asks without
//! naming the child (a name or personnummer is refused), intake of that municipality answers and
//! the asker gets a content-free email over SMTP, the asker makes it into a report in one step
//! with the text carried over and the clocks starting then, and retention removes old ones by id.
//! Through the API and through the web pages.

use std::time::Duration;

use chrono::Months;
use diesel::prelude::*;
use samordna::accounts::Role;
use samordna::db::schema::{audit_log, consultations};
use serde_json::{json, Value};

use crate::helpers::{error_fields, outcome, TestApp};
use crate::on_both_databases;

const SITUATION: &str =
    "En elev i årskurs 3 kommer ofta hungrig och säger att det inte finns mat hemma.";
const UNIT: &str = "Ekbackens skola, åk 3";

fn consultation() -> Value {
    json!({"situation": SITUATION, "child_age": 9, "unit": UNIT})
}

async fn ask_answer_and_convert(app: TestApp) {
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let intake = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let elsewhere = app
        .add_user_in("Annanstad", "socialtjanst", &[Role::Intake])
        .await;
    let caseworker = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Caseworker])
        .await;
    let (teacher_t, intake_t, elsewhere_t, caseworker_t) = (
        app.token_for(&teacher).await,
        app.token_for(&intake).await,
        app.token_for(&elsewhere).await,
        app.token_for(&caseworker).await,
    );
    let ekby = app.municipality_id("Ekby").await;
    app.smtp.wait_for(4, Duration::from_secs(10)).await; // welcome mails
    let welcomed = app.smtp.received().len();

    // A name or a personnummer is refused beside the field, with what to do instead.
    for (field, text) in [
        ("situation", "Kim Testbarn i klass 3 kommer ofta hungrig."),
        ("situation", "Eleven heter Kim och är ofta hungrig."),
        ("situation", "Det gäller 20121212-1212, som är hungrig."),
        ("unit", "Björkskolan, 121212-1212"),
    ] {
        let mut body = consultation();
        body[field] = json!(text);
        let (status, answer) = app
            .as_user(&teacher_t)
            .post("/api/v1/consultations", &body)
            .await;
        assert_eq!(status, 422, "{text}: {answer}");
        assert_eq!(error_fields(&answer), [field], "{text}");
        let message = answer["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("namn") || message.contains("personnummer"),
            "{message}"
        );
    }
    let (status, answer) = app
        .as_user(&teacher_t)
        .post("/api/v1/consultations", json!({"child_age": 30}))
        .await;
    assert_eq!(status, 422);
    assert_eq!(error_fields(&answer), ["situation", "child_age", "unit"]);
    // Only professionals who report may ask.
    let (status, _) = app
        .as_user(&intake_t)
        .post("/api/v1/consultations", consultation())
        .await;
    assert_eq!(status, 403);
    let stored: i64 = app
        .conn(|c| consultations::table.count().get_result(c).unwrap())
        .await;
    assert_eq!(stored, 0, "nothing refused was stored");

    // Asked: the asker's own municipality unless another is named.
    let (status, asked) = app
        .as_user(&teacher_t)
        .post("/api/v1/consultations", consultation())
        .await;
    assert_eq!(status, 201, "{asked}");
    let id = asked["id"].as_str().unwrap().to_string();
    let reference = asked["reference"].as_str().unwrap().to_string();
    assert!(reference.starts_with("KO-") && reference.len() == 10);
    assert_eq!(asked["municipality_id"], ekby.as_str());
    assert!(asked["answer"].is_null());
    let path = format!("/api/v1/consultations/{id}");

    // The asker and Ekby's intake read it; another municipality, a caseworker and a guessed id
    // get 404.
    for token in [&teacher_t, &intake_t] {
        let (status, body) = app.as_user(token).get(&path).await;
        assert_eq!(status, 200);
        assert_eq!(body["situation"], SITUATION);
        assert_eq!(body["child_age"], 9);
        assert_eq!(body["asked_by"]["email"], teacher.email.as_str());
    }
    for (token, path) in [
        (&elsewhere_t, path.clone()),
        (&caseworker_t, path.clone()),
        (&intake_t, "/api/v1/consultations/gissat-id".to_string()),
    ] {
        let (status, _) = app.as_user(token).get(&path).await;
        assert_eq!(status, 404, "{path}");
    }

    // Intake answers, once; the asker may not answer, nor another municipality.
    let answer_path = format!("{path}/answer");
    let reply =
        json!({"answer": "Det du beskriver bör anmälas. Gör en anmälan.", "should_report": true});
    for token in [&teacher_t, &elsewhere_t] {
        let (status, _) = app.as_user(token).post(&answer_path, &reply).await;
        assert_eq!(status, 404);
    }
    let (status, body) = app.as_user(&intake_t).post(&answer_path, json!({})).await;
    assert_eq!(status, 422);
    assert_eq!(error_fields(&body), ["answer", "should_report"]);
    let (status, body) = app.as_user(&intake_t).post(&answer_path, &reply).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["should_report"], true);
    let (status, _) = app.as_user(&intake_t).post(&answer_path, &reply).await;
    assert_eq!(status, 409, "answered once");

    // The asker is told over SMTP that there is an answer, and nothing about it.
    let mails = app
        .smtp
        .wait_for(welcomed + 1, Duration::from_secs(10))
        .await;
    assert_eq!(mails.len(), welcomed + 1);
    let mail = mails.last().unwrap();
    assert!(
        mail.to.iter().any(|t| t.contains(&teacher.email)),
        "{:?}",
        mail.to
    );
    let raw = String::from_utf8_lossy(&mail.data).to_string();
    let parsed = mail.parsed();
    let text = parsed.body_text(0).unwrap().to_string();
    assert!(parsed.subject().unwrap().contains(&reference));
    assert!(text.contains("/konsultation"), "{text}");
    for secret in [SITUATION, UNIT, "hungrig", "anmälas", "9 år"] {
        assert!(!text.contains(secret) && !raw.contains(secret), "{secret}");
    }
    let (_, body) = app.as_user(&teacher_t).get(&path).await;
    assert_eq!(
        body["answer"],
        "Det du beskriver bör anmälas. Gör en anmälan."
    );

    // Made into a report by the asker only, in one step: the text and unit carried over, the
    // child named now, the clocks from now.
    let convert_path = format!("{path}/convert");
    let child = json!({
        "children": [{"personal_number": "20121212-1212", "name": "Kim Testbarn", "told": true}],
        "guardians": [{"name": "Vårdnadshavare Ett", "told": true}],
        "categories": ["neglect"], "acute_danger": false, "police_informed": false
    });
    for token in [&intake_t, &elsewhere_t] {
        let (status, _) = app.as_user(token).post(&convert_path, &child).await;
        assert_eq!(status, 404);
    }
    let (status, body) = app
        .as_user(&teacher_t)
        .post(&convert_path, json!({"categories": ["neglect"]}))
        .await;
    assert_eq!(status, 422, "the child must be named: {body}");
    assert!(error_fields(&body).contains(&"children[0].name"), "{body}");
    let before = samordna::db::now();
    let (status, filed) = app.as_user(&teacher_t).post(&convert_path, &child).await;
    assert_eq!(status, 201, "{filed}");
    assert!(filed["reference"].as_str().unwrap().starts_with("OA-"));
    let report_id = filed["id"].as_str().unwrap().to_string();
    let received: chrono::NaiveDateTime =
        serde_json::from_value(filed["received_at"].clone()).unwrap();
    assert!(received >= before, "the clocks start at conversion");
    let (status, report) = app
        .as_user(&intake_t)
        .get(&format!("/api/v1/reports/{report_id}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(report["concern"], SITUATION);
    assert_eq!(report["municipality_id"], ekby.as_str());
    assert_eq!(report["children"][0]["school"], UNIT);
    assert_eq!(report["reporter"]["email"], teacher.email.as_str());
    let (_, queue) = app.as_user(&intake_t).get("/api/v1/intake").await;
    assert_eq!(queue[0]["id"], report_id.as_str(), "in the intake queue");
    let (_, body) = app.as_user(&teacher_t).get(&path).await;
    assert_eq!(body["report_id"], report_id.as_str());
    assert!(body["converted_at"].is_string());
    let (status, _) = app.as_user(&teacher_t).post(&convert_path, &child).await;
    assert_eq!(status, 409, "converted once");
    let (_, own) = app.as_user(&teacher_t).get("/api/v1/my/reports").await;
    assert_eq!(own.as_array().unwrap().len(), 1, "one report, not two");

    // Every step is in the audit trail by id, with no text from the consultation.
    let entries = app.audit_entries("consultation").await;
    let actions: Vec<&str> = entries.iter().map(|(a, _, _)| a.as_str()).collect();
    for action in [
        "consultation.create",
        "consultation.read",
        "consultation.answer",
        "consultation.convert",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    assert!(
        entries.iter().filter(|(_, o, _)| o == "denied").count() >= 3,
        "{entries:?}"
    );
    for (_, _, detail) in &entries {
        assert!(
            !detail.contains("hungrig") && !detail.contains(UNIT),
            "{detail}"
        );
    }
}

async fn retention_removes_old_consultations_by_id(app: TestApp) {
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let token = app.token_for(&teacher).await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (status, body) = app
            .as_user(&token)
            .post("/api/v1/consultations", consultation())
            .await;
        assert_eq!(status, 201);
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    let old = ids[0].clone();
    let moved = old.clone();
    app.conn(move |c| {
        let at = samordna::db::now()
            .checked_sub_months(Months::new(13))
            .unwrap();
        diesel::update(consultations::table.find(moved))
            .set(consultations::asked_at.eq(at))
            .execute(c)
            .unwrap()
    })
    .await;
    // The command line lists it by id, and with a longer time set keeps it.
    let samordna = |args: &[&str], months: &str| {
        outcome(
            &app.samordna(args)
                .env("SAMORDNA_CONSULTATION_MONTHS", months)
                .output()
                .unwrap(),
        )
    };
    let (code, out, err) = samordna(&["retention", "run", "--dry-run"], "12");
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("Would remove 1 consultation(s) asked 12 months ago or more.")
            && out.contains(&old),
        "{out}"
    );
    let (_, out, _) = samordna(&["retention", "run"], "24");
    assert!(out.contains("Removed 0 consultation(s)"), "{out}");
    use samordna::consultations::store::remove_expired;
    let now = samordna::db::now();
    let listed = app
        .conn(move |c| remove_expired(c, now, 12, true).unwrap())
        .await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id.as_str(), old);
    let left: i64 = app
        .conn(|c| consultations::table.count().get_result(c).unwrap())
        .await;
    assert_eq!(left, 2, "a dry run removes nothing");
    let removed = app
        .conn(move |c| remove_expired(c, now, 12, false).unwrap())
        .await;
    assert_eq!(removed.len(), 1);
    let remaining: Vec<String> = app
        .conn(|c| {
            consultations::table
                .select(consultations::id)
                .load(c)
                .unwrap()
        })
        .await;
    assert_eq!(remaining, [ids[1].clone()], "the newer one is kept");
    let (status, _) = app
        .as_user(&token)
        .get(&format!("/api/v1/consultations/{old}"))
        .await;
    assert_eq!(status, 404);
    let audited: Vec<(Option<String>, String)> = app
        .conn(|c| {
            audit_log::table
                .filter(audit_log::action.eq("consultation.retention_removed"))
                .select((audit_log::object_id, audit_log::detail))
                .load(c)
                .unwrap()
        })
        .await;
    assert_eq!(audited, [(Some(old), "months=12".to_string())]);
}

/// The web flow: ask (a name is refused with the text kept), intake answers, the asker converts
/// with the report form filled in from the consultation.
async fn consultation_pages_from_question_to_report(app: TestApp) {
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let intake = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let ekby = app.municipality_id("Ekby").await;
    let asker = app.fresh_browser();
    asker.login(&teacher).await;
    let officer = app.fresh_browser();
    officer.login(&intake).await;

    let page = asker.page("/konsultation").await;
    assert!(page.contains("Skriv inte barnets namn eller personnummer"));
    let named = "Eleven heter Kim och kommer hungrig.";
    let response = asker
        .submit(
            "/konsultation",
            "/konsultation",
            &[("situation", named), ("child_age", "nio"), ("unit", UNIT)],
        )
        .await;
    assert_eq!(response.status().as_u16(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains(named), "the text is kept");
    assert!(html.contains("ser ut som ett namn") && html.contains("med siffror"));
    assert!(html.contains("aria-invalid=\"true\""));

    let response = asker
        .submit(
            "/konsultation",
            "/konsultation",
            &[
                ("situation", SITUATION),
                ("child_age", "9"),
                ("unit", UNIT),
                ("municipality_id", &ekby),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert!(location.ends_with("?sparat=skickad"), "{location}");
    let show = location.split('?').next().unwrap().to_string();
    let page = asker.page(&location).await;
    assert!(page.contains("Din fråga är skickad") && page.contains("Väntar på svar"));

    let list = officer.page("/konsultationer").await;
    assert!(
        list.contains(&show) && list.contains("1 väntar på svar"),
        "{list}"
    );
    let shown = officer.page(&show).await;
    assert!(
        shown.contains("Frågad av") && shown.contains(&teacher.email),
        "{shown}"
    );
    let response = officer
        .submit(
            &show,
            &format!("{show}/svar"),
            &[("answer", "Gör en anmälan.")],
        )
        .await;
    assert_eq!(
        response.status().as_u16(),
        422,
        "whether to report is asked"
    );
    let response = officer
        .submit(
            &show,
            &format!("{show}/svar"),
            &[("answer", "Gör en anmälan."), ("should_report", "yes")],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);

    let page = asker.page(&show).await;
    assert!(page.contains("Gör en anmälan.") && page.contains("bör bli en orosanmälan"));
    let form = asker.page(&format!("{show}/anmalan")).await;
    assert!(
        form.contains(SITUATION) && form.contains(UNIT),
        "carried over"
    );
    assert!(form.contains(&format!("action=\"{show}/anmalan\"")));
    let fields = [
        ("municipality_id", ekby.as_str()),
        ("children[0].name", "Kim Webbtestbarn"),
        ("children[0].birth_date", "2016-05-01"),
        ("children[0].school", UNIT),
        ("children[0].told", "yes"),
        ("concern", SITUATION),
        ("categories", "neglect"),
        ("acute_danger", "no"),
        ("police_informed", "no"),
    ];
    let response = asker
        .submit(
            &format!("{show}/anmalan"),
            &format!("{show}/anmalan"),
            &fields,
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let receipt = response.text().await.unwrap();
    assert!(receipt.contains("Din anmälan är skickad"), "{receipt}");
    let page = asker.page(&show).await;
    assert!(page.contains("Du har gjort en orosanmälan av den här konsultationen"));
    let again = asker.page(&format!("{show}/anmalan")).await;
    assert!(again.is_empty(), "a redirect to the reports: {again}");
}

/// An id that names no consultation or report answers 404 like one the caller may not see, and
/// the attempt is in the audit trail as a refusal (`authz::not_found`, shared by both).
async fn an_id_that_names_nothing_is_404_and_audited(app: TestApp) {
    let intake = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let intake_t = app.token_for(&intake).await;
    for (path, action, object_id) in [
        (
            "/api/v1/consultations/no-such-one",
            "consultation.access",
            "no-such-one",
        ),
        (
            "/api/v1/reports/no-such-one",
            "report.access",
            "no-such-one",
        ),
    ] {
        let (status, body) = app.as_user(&intake_t).get(path).await;
        assert_eq!(status, 404, "{path}: {body}");
        let rows: Vec<(String, String)> = app
            .conn(move |c| {
                audit_log::table
                    .filter(audit_log::action.eq(action))
                    .filter(audit_log::object_id.eq(object_id))
                    .select((audit_log::outcome, audit_log::detail))
                    .load(c)
                    .unwrap()
            })
            .await;
        assert_eq!(rows.len(), 1, "{action}: {rows:?}");
        assert_eq!(rows[0].0, "denied", "{rows:?}");
        assert!(rows[0].1.starts_with("no such "), "{rows:?}");
    }
}

on_both_databases!(
    ask_answer_and_convert,
    retention_removes_old_consultations_by_id,
    consultation_pages_from_question_to_report,
    an_id_that_names_nothing_is_404_and_audited,
);
