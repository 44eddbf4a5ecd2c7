//! Acute reports (issue 18 §2) and the feedback time limit (§7), on both databases: the alert
//! over real SMTP to socialjour out of hours and to intake in them, content-free; the acute
//! report first in the queue with its mark; the receipt with socialjour's number and 112 first;
//! the feedback's last day and whether it was sent.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use samordna::accounts::Role;
use samordna::db::schema::{audit_log, intake_queue, reports};
use serde_json::{json, Value};

use crate::helpers::{
    office_hours_closed_now, report_body, TestApp, INTAKE_ALERT, SOCIALJOUR_ALERT, SOCIALJOUR_PHONE,
};
use crate::on_both_databases;

/// What the report of [`report_body`] says about the child: none of it may be in any mail.
const CHILD_DATA: &[&str] = &[
    "Kim Testbarn",
    "20121212-1212",
    "201212121212",
    "121212-1212",
    "Björkskolan",
    "hungrigt",
    "Vårdnadshavare Ett",
];

fn time_of(value: &Value) -> NaiveDateTime {
    serde_json::from_value(value.clone()).unwrap()
}

async fn audit_details(app: &TestApp, action: &'static str) -> Vec<String> {
    app.conn(move |c| {
        audit_log::table
            .filter(audit_log::action.eq(action))
            .order(audit_log::seq)
            .select(audit_log::detail)
            .load::<String>(c)
            .unwrap()
    })
    .await
}

/// The case: an acute report at night (here: after the municipality's office hours)
/// alerts socialjour at once, with nothing about the child in the mail, and stands first in the
/// queue with its mark, ahead even of an overdue report, until its safety assessment is made.
async fn an_acute_report_out_of_hours_alerts_socialjour_and_leads_the_queue(app: TestApp) {
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let intake = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let (teacher_t, intake_t) = (app.token_for(&teacher).await, app.token_for(&intake).await);
    let ekby = app.municipality_id("Ekby").await;
    app.set_intake_contacts("Ekby", Some(&office_hours_closed_now()), true)
        .await;
    app.smtp.wait_for(2, Duration::from_secs(10)).await; // welcome mails
    let before = app.smtp.received().len();

    // An ordinary report whose clock has run out.
    let (status, ordinary) = app
        .as_user(&teacher_t)
        .post("/api/v1/reports", report_body(&ekby, "vanlig"))
        .await;
    assert_eq!(status, 201, "{ordinary}");
    assert_eq!(ordinary["acute"], false);
    assert!(ordinary.get("socialjour_phone").is_none());
    let ordinary_id = ordinary["id"].as_str().unwrap().to_string();
    let past = samordna::db::now() - chrono::Duration::hours(30);
    let id = ordinary_id.clone();
    app.conn(move |c| {
        diesel::update(reports::table.find(&id))
            .set(reports::safety_due_at.eq(past))
            .execute(c)
            .unwrap();
        diesel::update(intake_queue::table.find(&id))
            .set(intake_queue::due_at.eq(past))
            .execute(c)
            .unwrap();
    })
    .await;

    // The acute report: due within two hours, socialjour's number in the answer.
    let mut body = report_body(&ekby, "akut");
    body["acute_danger"] = json!(true);
    let (status, filed) = app.as_user(&teacher_t).post("/api/v1/reports", &body).await;
    assert_eq!(status, 201, "{filed}");
    assert_eq!(filed["acute"], true);
    assert_eq!(filed["socialjour_phone"], SOCIALJOUR_PHONE);
    let (id, reference) = (
        filed["id"].as_str().unwrap().to_string(),
        filed["reference"].as_str().unwrap().to_string(),
    );
    assert_eq!(
        time_of(&filed["safety_assessment_due_at"]) - time_of(&filed["received_at"]),
        chrono::Duration::hours(2)
    );

    // The alert reaches socialjour over SMTP within the wait, and says nothing about the child.
    let mail = app.smtp.wait_for(before + 1, Duration::from_secs(10)).await;
    let alerts: Vec<_> = mail
        .iter()
        .filter(|m| {
            m.parsed()
                .subject()
                .is_some_and(|s| s.starts_with("Akut anmälan"))
        })
        .collect();
    assert_eq!(alerts.len(), 1, "one alert: {} mails", mail.len());
    let alert = alerts[0];
    assert_eq!(alert.to.len(), 1);
    assert!(alert.to[0].contains(SOCIALJOUR_ALERT), "{:?}", alert.to);
    assert_eq!(
        alert.parsed().subject(),
        Some(format!("Akut anmälan {reference}").as_str())
    );
    let text = alert.parsed().body_text(0).unwrap().to_string();
    assert!(
        text.contains(&format!(
            "En akut anmälan har kommit in, ref {reference}; logga in"
        )),
        "{text}"
    );
    assert!(text.contains(&format!("/anmalningar/{id}")), "{text}");
    let raw = String::from_utf8_lossy(&alert.data);
    for secret in CHILD_DATA.iter().chain(&["Prov akut"]) {
        assert!(!raw.contains(secret), "{secret} in the alert:\n{raw}");
    }
    assert!(
        !mail
            .iter()
            .any(|m| m.to.iter().any(|t| t.contains(INTAKE_ALERT))),
        "intake is not alerted out of hours"
    );
    assert!(audit_details(&app, "report.create")
        .await
        .iter()
        .any(|d| d.ends_with("acute alert=socialjour")));

    // First in the queue, ahead of the overdue report, and marked in words.
    let (_, queue) = app.as_user(&intake_t).get("/api/v1/intake").await;
    assert_eq!(queue[0]["id"], id.as_str(), "{queue}");
    assert_eq!(queue[0]["acute"], true);
    assert_eq!(queue[1]["id"], ordinary_id.as_str());
    assert_eq!(queue[1]["urgency"], "overdue");
    app.login(&intake).await;
    let page = app.page("/mottagning").await;
    let (at_acute, at_ordinary) = (
        page.find(&reference).unwrap(),
        page.find(ordinary["reference"].as_str().unwrap()).unwrap(),
    );
    assert!(at_acute < at_ordinary);
    assert!(page[at_acute..at_ordinary].contains("AKUT: akut fara"));
    let report_page = app.page(&format!("/anmalningar/{id}")).await;
    assert!(report_page.contains("AKUT anmälan."), "{report_page}");
    let (_, full) = app
        .as_user(&intake_t)
        .get(&format!("/api/v1/reports/{id}"))
        .await;
    assert_eq!(full["acute"], true);

    // Once its safety assessment is made it waits on its decision clock like any other.
    let (status, _) = app
        .as_user(&intake_t)
        .post(
            &format!("/api/v1/reports/{id}/safety-assessment"),
            json!({"protection_needed": true, "notes": "Placerad hos släkting i natt."}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, queue) = app.as_user(&intake_t).get("/api/v1/intake").await;
    assert_eq!(queue[0]["id"], ordinary_id.as_str(), "{queue}");
    assert_eq!(queue[1]["id"], id.as_str());
    assert_eq!(queue[1]["acute"], true, "still marked");
}

/// The receipt of an acute report filed out of hours gives socialjour's number and 112 first;
/// an ordinary report's receipt does not.
async fn the_receipt_out_of_hours_gives_socialjour_and_112_first(app: TestApp) {
    app.add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let ekby = app.municipality_id("Ekby").await;
    app.set_intake_contacts("Ekby", Some(&office_hours_closed_now()), true)
        .await;
    let form = |acute: &str| {
        vec![
            ("municipality_id", ekby.clone()),
            ("identity", "anonymous".to_string()),
            ("children[0].name", "Kim Testbarn".to_string()),
            ("children[0].birth_date", "2015-03-14".to_string()),
            ("children[0].told", "yes".to_string()),
            (
                "concern",
                "Grannens barn skriker och ingen vuxen svarar.".to_string(),
            ),
            ("categories", "neglect".to_string()),
            ("acute_danger", acute.to_string()),
            ("police_informed", "no".to_string()),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let app = app.clone();
        async move {
            let borrowed: Vec<(&str, &str)> =
                fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let response = app.submit("/anmalan", "/anmalan", &borrowed).await;
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let (status, receipt) = post(form("yes")).await;
    assert_eq!(status, 200, "{receipt}");
    let (at_jour, at_reference) = (
        receipt
            .find("id=\"socialjour\"")
            .expect("the socialjour notice"),
        receipt.find("class=\"reference\"").unwrap(),
    );
    assert!(at_jour < at_reference, "socialjour first");
    let notice = &receipt[at_jour..at_reference];
    assert!(notice.contains("Ring 112") && notice.contains(SOCIALJOUR_PHONE));
    assert!(notice.contains("tel:0102223344"), "{notice}");

    let (status, receipt) = post(form("no")).await;
    assert_eq!(status, 200);
    assert!(!receipt.contains("id=\"socialjour\"") && !receipt.contains(SOCIALJOUR_PHONE));
    assert!(receipt.contains("Ring 112"), "112 is always on the receipt");
}

/// In office hours the alert goes to intake's address (the violence rule makes this report acute
/// without acute danger); a municipality with no alert address still receives the report.
async fn an_acute_report_in_office_hours_alerts_intake(app: TestApp) {
    app.add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    app.add_user_in("Åby", "socialtjanst", &[Role::Intake])
        .await;
    let (ekby, aby) = (
        app.municipality_id("Ekby").await,
        app.municipality_id("Åby").await,
    );
    let all_day = "00:00-23:59";
    app.set_intake_contacts("Ekby", Some(all_day), true).await;
    app.set_intake_contacts("Åby", Some(all_day), false).await;
    app.smtp.wait_for(2, Duration::from_secs(10)).await;
    let before = app.smtp.received().len();
    // Tests cannot move the clock: on a weekend or holiday (or in the last minute of the day)
    // the office is closed, and then socialjour is the right recipient.
    let open = samordna::reports::deadlines::in_office_hours(
        samordna::db::now(),
        &all_day.parse().unwrap(),
    );

    let mut body = report_body(&ekby, "våld");
    body["categories"] = json!(["violence_in_home"]);
    let (status, filed) = app.anon().post("/api/v1/reports", &body).await;
    assert_eq!(status, 201, "{filed}");
    assert_eq!(filed["acute"], true);
    assert_eq!(
        filed.get("socialjour_phone").is_some(),
        !open,
        "socialjour's number only out of hours: {filed}"
    );
    let reference = filed["reference"].as_str().unwrap();
    let mail = app.smtp.wait_for(before + 1, Duration::from_secs(10)).await;
    let alert = mail
        .iter()
        .find(|m| m.parsed().subject() == Some(format!("Akut anmälan {reference}").as_str()))
        .expect("the alert");
    let expected = if open { INTAKE_ALERT } else { SOCIALJOUR_ALERT };
    assert!(
        alert.to.len() == 1 && alert.to[0].contains(expected),
        "{:?}",
        alert.to
    );
    let raw = String::from_utf8_lossy(&alert.data);
    for secret in CHILD_DATA {
        assert!(!raw.contains(secret), "{secret} in the alert");
    }

    // No address set: the report is received all the same, and the trail says no one was alerted.
    let mut body = report_body(&aby, "utan adress");
    body["acute_danger"] = json!(true);
    let (status, filed) = app.anon().post("/api/v1/reports", &body).await;
    assert_eq!(status, 201, "{filed}");
    assert_eq!(filed["acute"], true);
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.smtp.received().len(), before + 1, "no second alert");
    assert!(audit_details(&app, "report.create")
        .await
        .iter()
        .any(|d| d.ends_with("acute alert=none")));
}

/// Feedback to a reporter with a duty to report: due `SAMORDNA_FEEDBACK_DAYS` (14) after the
/// decision, sent automatically with it, and shown to intake with whether it has been sent.
async fn feedback_is_due_after_the_decision_and_shown_as_sent(app: TestApp) {
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let intake = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let (teacher_t, intake_t) = (app.token_for(&teacher).await, app.token_for(&intake).await);
    let ekby = app.municipality_id("Ekby").await;
    let (_, filed) = app
        .as_user(&teacher_t)
        .post("/api/v1/reports", report_body(&ekby, "återkoppling"))
        .await;
    let id = filed["id"].as_str().unwrap().to_string();
    let (_, anonymous) = app
        .anon()
        .post("/api/v1/reports", report_body(&ekby, "anonym"))
        .await;
    let anonymous_id = anonymous["id"].as_str().unwrap().to_string();

    app.login(&intake).await;
    let page = app.page(&format!("/anmalningar/{id}")).await;
    assert!(
        page.contains("Senast 14 dagar efter beslutet."),
        "before the decision: {page}"
    );
    let page = app.page(&format!("/anmalningar/{anonymous_id}")).await;
    assert!(
        !page.contains("Återkoppling till anmälaren"),
        "no duty to give feedback to an anonymous reporter"
    );

    for report in [&id, &anonymous_id] {
        app.as_user(&intake_t)
            .post(
                &format!("/api/v1/reports/{report}/safety-assessment"),
                json!({"protection_needed": false}),
            )
            .await;
        let (status, decided) = app
            .as_user(&intake_t)
            .post(
                &format!("/api/v1/reports/{report}/decision"),
                json!({"decision": "not_open", "reason": "Stöd via skolan räcker."}),
            )
            .await;
        assert_eq!(status, 201, "{decided}");
    }
    let (_, full) = app
        .as_user(&intake_t)
        .get(&format!("/api/v1/reports/{id}"))
        .await;
    let decided_on =
        samordna::time::local(time_of(&full["children"][0]["decision"]["decided_at"])).date();
    let due = decided_on + chrono::Days::new(14);
    assert_eq!(full["feedback"]["due_on"], due.to_string(), "{full}");

    // Sent by the outbox: the API and the report page say so.
    let mut sent = Value::Null;
    for _ in 0..100 {
        let (_, full) = app
            .as_user(&intake_t)
            .get(&format!("/api/v1/reports/{id}"))
            .await;
        sent = full["feedback"].clone();
        if sent["sent"] == true {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sent["sent"], true, "{sent}");
    assert_eq!(sent["status"], "sent");
    assert!(sent["sent_at"].is_string());
    let page = app.page(&format!("/anmalningar/{id}")).await;
    let at = page.find("id=\"aterkoppling\"").expect("the feedback line");
    let line = &page[at..at + page[at..].find("</dd>").unwrap()];
    assert!(
        line.contains(&format!("Senast {due}.")) && line.contains("Skickad "),
        "{line}"
    );
    let (_, anonymous) = app
        .as_user(&intake_t)
        .get(&format!("/api/v1/reports/{anonymous_id}"))
        .await;
    assert!(anonymous["feedback"].is_null(), "{anonymous}");
}

on_both_databases!(
    an_acute_report_out_of_hours_alerts_socialjour_and_leads_the_queue,
    the_receipt_out_of_hours_gives_socialjour_and_112_first,
    an_acute_report_in_office_hours_alerts_intake,
    feedback_is_due_after_the_decision_and_shown_as_sent,
);
