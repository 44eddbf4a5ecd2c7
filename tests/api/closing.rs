//! Closing an investigation (issue 19 §3), on both databases: the outcome is recorded, the clock
//! stops (the investigation leaves the open list), closing after the last day is kept as late with
//! the days, a closed investigation can be read but not extended nor closed again (409), bad
//! input is 422 in Swedish per field, and another municipality gets 404 (audited).

use chrono::{Days, NaiveDate};
use diesel::prelude::*;
use samordna::accounts::Role;
use samordna::db::schema::{audit_log, investigation_closings, investigations};
use serde_json::{json, Value};

use crate::helpers::{error_fields, report_body, TestApp};
use crate::on_both_databases;

const REASON: &str = "Familjen har tackat ja till stöd; behovet är utrett.";
const SUPPORT: &str = "Kontaktfamilj varannan helg";

struct Case {
    caseworker_login: crate::helpers::Login,
    caseworker: String,
    intake: String,
    other: String,
    investigation: String,
}

/// A report in Ekby decided to open an investigation; a caseworker of Ekby and one of Annanstad.
async fn opened(app: &TestApp) -> Case {
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let teacher = app.token_for(&teacher).await;
    let intake = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let intake = app.token_for(&intake).await;
    let caseworker_login = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Caseworker])
        .await;
    let caseworker = app.token_for(&caseworker_login).await;
    let other = app
        .add_user_in("Annanstad", "socialtjanst", &[Role::Caseworker])
        .await;
    let other = app.token_for(&other).await;
    let ekby = app.municipality_id("Ekby").await;
    let (status, filed) = app
        .as_user(&teacher)
        .post("/api/v1/reports", report_body(&ekby, "avslut"))
        .await;
    assert_eq!(status, 201, "{filed}");
    let id = filed["id"].as_str().unwrap().to_string();
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
    Case {
        caseworker_login,
        caseworker,
        intake,
        other,
        investigation,
    }
}

fn today() -> NaiveDate {
    samordna::time::local(samordna::db::now()).date()
}

async fn read(app: &TestApp, token: &str, investigation: &str) -> Value {
    let (status, body) = app
        .as_user(token)
        .get(&format!("/api/v1/investigations/{investigation}"))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Closing stops the clock: the outcome is recorded, the investigation leaves the open list and
/// is still read in full; it cannot be extended nor closed again.
async fn closing_stops_the_clock_and_a_closed_one_is_read_not_changed(app: TestApp) {
    let c = opened(&app).await;
    let path = format!("/api/v1/investigations/{}", c.investigation);
    let before = read(&app, &c.caseworker, &c.investigation).await;
    assert_eq!(before["state"], "open");
    assert!(before["closing"].is_null());

    let (status, closed) = app
        .as_user(&c.caseworker)
        .post(
            &format!("{path}/close"),
            json!({"outcome": "support_granted", "support": SUPPORT,
                   "closed_on": today().to_string(), "reason": REASON}),
        )
        .await;
    assert_eq!(status, 201, "{closed}");
    assert_eq!(closed["outcome"], "support_granted");
    assert_eq!(closed["late"], false);
    assert_eq!(closed["days_late"], 0);

    // Read by the caseworker and by intake: closed, with its outcome, support and reason.
    for token in [&c.caseworker, &c.intake] {
        let after = read(&app, token, &c.investigation).await;
        assert_eq!(after["state"], "closed");
        assert_eq!(after["urgency"], "closed");
        assert_eq!(after["closing"]["outcome"], "support_granted");
        assert_eq!(after["closing"]["support"], SUPPORT);
        assert_eq!(after["closing"]["reason"], REASON);
        assert_eq!(after["closing"]["closed_on"], today().to_string());
        assert_eq!(after["extensions"], json!([]));
    }
    // The clock stopped: no longer among the open investigations.
    let (_, list) = app
        .as_user(&c.caseworker)
        .get("/api/v1/investigations")
        .await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|i| i["id"] != c.investigation.as_str()),
        "{list}"
    );

    // Not changed any more: extension and a second closing are refused, and change nothing.
    let later = today() + Days::new(200);
    let (status, body) = app
        .as_user(&c.caseworker)
        .post(
            &format!("{path}/extension"),
            json!({"due_on": later.to_string(), "reason": "Väntar på BUP."}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = app
        .as_user(&c.caseworker)
        .post(
            &format!("{path}/close"),
            json!({"outcome": "no_support", "closed_on": today().to_string(), "reason": "Igen."}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let after = read(&app, &c.caseworker, &c.investigation).await;
    assert_eq!(after["closing"]["outcome"], "support_granted");
    assert_eq!(after["due_on"], before["due_on"]);

    // Audited by id; no text of the reason or support in the trail; the text sealed at rest.
    let entries: Vec<(String, String)> = app
        .conn(|c| {
            audit_log::table
                .filter(audit_log::object_type.eq("investigation"))
                .select((audit_log::action, audit_log::detail))
                .load(c)
                .unwrap()
        })
        .await;
    let actions: Vec<&str> = entries.iter().map(|(a, _)| a.as_str()).collect();
    assert!(actions.contains(&"investigation.close"), "{actions:?}");
    assert!(actions.contains(&"investigation.read"), "{actions:?}");
    for (_, detail) in &entries {
        assert!(!detail.contains("Kontaktfamilj") && !detail.contains("tackat"));
    }
    let stored: (String, String) = app
        .conn(|c| {
            investigation_closings::table
                .select((
                    investigation_closings::support,
                    investigation_closings::reason,
                ))
                .first(c)
                .unwrap()
        })
        .await;
    assert!(!stored.0.contains("Kontaktfamilj") && !stored.1.contains("tackat"));
}

/// Closed after the last day: kept on record as late, with the days.
async fn a_late_closing_is_recorded_with_its_days(app: TestApp) {
    let c = opened(&app).await;
    let id = c.investigation.clone();
    let due = today() - Days::new(10);
    let opened_on = today() - Days::new(130);
    app.conn(move |conn| {
        diesel::update(investigations::table.filter(investigations::id.eq(&id)))
            .set((
                investigations::opened_on.eq(opened_on),
                investigations::due_on.eq(due),
            ))
            .execute(conn)
            .unwrap()
    })
    .await;
    let (status, closed) = app
        .as_user(&c.caseworker)
        .post(
            &format!("/api/v1/investigations/{}/close", c.investigation),
            json!({"outcome": "transferred", "closed_on": today().to_string(), "reason": REASON}),
        )
        .await;
    assert_eq!(status, 201, "{closed}");
    assert_eq!(closed["late"], true);
    assert_eq!(closed["days_late"], 10);
    assert_eq!(closed["due_on"], due.to_string());
    assert_eq!(closed["support"], "", "support only for support granted");
    let after = read(&app, &c.caseworker, &c.investigation).await;
    assert_eq!(after["closing"]["late"], true);
    assert_eq!(after["closing"]["days_late"], 10);
}

/// Bad input: 422 with a Swedish message beside each field, nothing recorded; another
/// municipality's caseworker and intake get 404 (audited as denied).
async fn bad_input_and_access_when_closing(app: TestApp) {
    let c = opened(&app).await;
    let path = format!("/api/v1/investigations/{}/close", c.investigation);
    let (status, body) = app.as_user(&c.caseworker).post(&path, json!({})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["outcome", "closed_on", "reason"]);
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("Välj"));
    let tomorrow = today() + Days::new(1);
    let (status, body) = app
        .as_user(&c.caseworker)
        .post(
            &path,
            json!({"outcome": "support_granted", "support": " ",
                   "closed_on": tomorrow.to_string(), "reason": REASON}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["support", "closed_on"]);
    assert_eq!(
        body["errors"][1]["message"],
        "Datumet kan inte ligga i framtiden."
    );
    let (status, body) = app
        .as_user(&c.caseworker)
        .post(
            &path,
            json!({"outcome": "kanske", "closed_on": "1 maj", "reason": REASON}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["outcome", "closed_on"]);

    // Another municipality, and intake (who does not close): 404, and nothing closed.
    let good = json!({"outcome": "no_support", "closed_on": today().to_string(), "reason": REASON});
    for token in [&c.other, &c.intake] {
        let (status, _) = app.as_user(token).post(&path, good.clone()).await;
        assert_eq!(status, 404);
    }
    let (status, _) = app
        .as_user(&c.other)
        .get(&format!("/api/v1/investigations/{}", c.investigation))
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .as_user(&c.other)
        .get("/api/v1/investigations/no-such-id")
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        read(&app, &c.caseworker, &c.investigation).await["state"],
        "open"
    );
    let denied: i64 = app
        .conn(|c| {
            audit_log::table
                .filter(audit_log::object_type.eq("investigation"))
                .filter(audit_log::outcome.eq("denied"))
                .count()
                .get_result(c)
                .unwrap()
        })
        .await;
    assert!(denied >= 4, "{denied} denied entries");
}

/// The closing page: a form with mistakes comes back with the input kept and Swedish errors
/// beside the fields (422); closed, it shows the outcome, the SIP pointer and no form.
async fn closing_through_the_page(app: TestApp) {
    let c = opened(&app).await;
    app.login(&c.caseworker_login).await;
    let page = format!("/utredningar/{}/avsluta", c.investigation);
    let html = app.page("/utredningar").await;
    assert!(html.contains(&page), "linked from the list");
    let html = app.page(&page).await;
    assert!(html.contains("Avsluta utredningen") && html.contains("inget mer besked"));
    assert!(html.contains("SIP"));
    let response = app
        .submit(
            &page,
            &page,
            &[
                ("outcome", "support_granted"),
                ("support", ""),
                ("closed_on", "igår"),
                ("reason", REASON),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("Skriv vilken insats eller vilket bistånd som beviljats."));
    assert!(html.contains("Skriv datumet som år-månad-dag"));
    assert!(html.contains("value=\"igår\""), "the input is kept");
    assert!(html.contains(
        "id=\"outcome-support_granted\" name=\"outcome\" value=\"support_granted\" checked"
    ));
    let today = today().to_string();
    let response = app
        .submit(
            &page,
            &page,
            &[
                ("outcome", "no_support"),
                ("support", ""),
                ("closed_on", &today),
                ("reason", REASON),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let html = app.page(&page).await;
    assert!(
        html.contains("Utredningen är avslutad") && html.contains("Inget stöd"),
        "{html}"
    );
    assert!(!html.contains("<form method=\"post\" action=\"/utredningar/"));
    assert_eq!(
        read(&app, &c.caseworker, &c.investigation).await["state"],
        "closed"
    );
}

on_both_databases!(
    closing_through_the_page,
    closing_stops_the_clock_and_a_closed_one_is_read_not_changed,
    a_late_closing_is_recorded_with_its_days,
    bad_input_and_access_when_closing,
);
