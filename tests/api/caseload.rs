//! *Mina utredningar* and assigning investigations (issue 19 §3), on both databases: an intake
//! officer assigns an investigation to a caseworker, a caseworker takes one; only social services
//! of the municipality may (others 404, audited), only to one of its caseworkers (422), never a
//! closed one (409). The caseworker's list holds their open investigations with the clock, open
//! information requests and their status, the next SIP meeting and the next follow-up, what is
//! due within the week first.

use serde_json::{json, Value};

use samordna::accounts::Role;

use crate::helpers::{error_fields, report_body, Login, TestApp};
use crate::on_both_databases;

fn today() -> chrono::NaiveDate {
    samordna::time::local(samordna::db::now()).date()
}

/// Files a report (marked `marker`), assesses it and opens an investigation for its child;
/// returns (report id, investigation id).
async fn open_investigation(
    app: &TestApp,
    teacher: &str,
    intake: &str,
    marker: &str,
) -> (String, String) {
    let ekby = app.municipality_id("Ekby").await;
    let filed = app
        .as_user(teacher)
        .post_ok("/api/v1/reports", report_body(&ekby, marker))
        .await;
    let report = filed["id"].as_str().unwrap().to_string();
    let reference = filed["reference"].as_str().unwrap().to_string();
    app.as_user(intake)
        .post_ok(
            &format!("/api/v1/reports/{report}/safety-assessment"),
            json!({"protection_needed": false, "notes": ""}),
        )
        .await;
    let (status, body) = app
        .as_user(intake)
        .post(
            &format!("/api/v1/reports/{report}/decision"),
            json!({"decision": "open", "reason": "Behov av utredning."}),
        )
        .await;
    assert!((200..300).contains(&status), "{status} {body}");
    let (_, list) = app.as_user(intake).get("/api/v1/investigations").await;
    let investigation = list
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["report_reference"] == reference.as_str())
        .expect("the report's investigation")["id"]
        .as_str()
        .unwrap()
        .to_string();
    (report, investigation)
}

struct People {
    teacher: Login,
    intake: String,
    cw: String,
    caseworker: Login,
    other_cw: Login,
    teacher_t: String,
    elsewhere_t: String,
}

async fn people(app: &TestApp) -> People {
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let intake = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let caseworker = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Caseworker])
        .await;
    let other_cw = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Caseworker])
        .await;
    let elsewhere = app
        .add_user_in(
            "Annanstad",
            "socialtjanst",
            &[Role::Caseworker, Role::Intake],
        )
        .await;
    People {
        teacher_t: app.token_for(&teacher).await,
        intake: app.token_for(&intake).await,
        cw: app.token_for(&caseworker).await,
        elsewhere_t: app.token_for(&elsewhere).await,
        teacher,
        caseworker,
        other_cw,
    }
}

async fn only_social_services_of_the_municipality_assign(app: TestApp) {
    let p = people(&app).await;
    let (_, investigation) = open_investigation(&app, &p.teacher_t, &p.intake, "tilldelning").await;
    let path = format!("/api/v1/investigations/{investigation}/assignment");

    // Another municipality's caseworker, a reporter, and an id that names nothing: 404, audited.
    let before = app.audit_entries("investigation").await.len();
    for token in [&p.elsewhere_t, &p.teacher_t] {
        let (status, body) = app.as_user(token).post(&path, json!({})).await;
        assert_eq!(status, 404, "{body}");
    }
    let (status, _) = app
        .as_user(&p.cw)
        .post("/api/v1/investigations/finns-inte/assignment", json!({}))
        .await;
    assert_eq!(status, 404);
    let refusals: Vec<_> = app.audit_entries("investigation").await[before..]
        .iter()
        .filter(|(action, outcome, _)| action == "investigation.update" && outcome == "denied")
        .cloned()
        .collect();
    assert_eq!(refusals.len(), 3, "{refusals:?}");

    // Only to a caseworker of the municipality; an intake officer cannot take it themselves.
    for (token, user_id) in [
        (&p.intake, p.teacher.user_id.as_str()),
        (&p.intake, ""),
        (&p.cw, "okand"),
    ] {
        let (status, body) = app
            .as_user(token)
            .post(&path, json!({"user_id": user_id}))
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(error_fields(&body), ["user_id"]);
    }

    // The intake officer assigns it; a caseworker then takes it over; both audited.
    let assigned = app
        .as_user(&p.intake)
        .send_ok(
            reqwest::Method::POST,
            &path,
            json!({"user_id": p.other_cw.user_id}),
        )
        .await;
    assert_eq!(assigned["assignee"]["user_id"], p.other_cw.user_id.as_str());
    let taken = app
        .as_user(&p.cw)
        .send_ok(reqwest::Method::POST, &path, json!({}))
        .await;
    assert_eq!(taken["assignee"]["user_id"], p.caseworker.user_id.as_str());
    let assignments: Vec<String> = app
        .audit_entries("investigation")
        .await
        .into_iter()
        .filter(|(action, outcome, _)| action == "investigation.assign" && outcome == "success")
        .map(|(_, _, detail)| detail)
        .collect();
    assert_eq!(
        assignments,
        [
            format!("assignee={}", p.other_cw.user_id),
            format!("assignee={}", p.caseworker.user_id)
        ]
    );
    let other = app.token_for(&p.other_cw).await;
    let (_, theirs) = app.as_user(&other).get("/api/v1/my/investigations").await;
    assert_eq!(theirs, json!([]), "taken over: no longer theirs");

    // Closed: read-only.
    let (status, body) = app
        .as_user(&p.cw)
        .post(
            &format!("/api/v1/investigations/{investigation}/close"),
            json!({"outcome": "no_support", "closed_on": today().to_string(),
                   "reason": "Inget behov av stöd."}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app.as_user(&p.cw).post(&path, json!({})).await;
    assert_eq!(status, 409, "{body}");
    let (_, mine) = app.as_user(&p.cw).get("/api/v1/my/investigations").await;
    assert_eq!(mine, json!([]), "a closed investigation leaves the list");

    // Only caseworkers have a list of their own.
    for token in [&p.intake, &p.teacher_t] {
        let (status, _) = app.as_user(token).get("/api/v1/my/investigations").await;
        assert_eq!(status, 403);
    }
    let page = app.fresh_browser();
    page.login(&p.caseworker).await;
    let html = page.page("/mina-utredningar").await;
    assert!(html.contains("Du har inga pågående utredningar."), "{html}");
}

async fn my_investigations_put_what_is_due_this_week_first(app: TestApp) {
    let p = people(&app).await;
    let (_, plain) = open_investigation(&app, &p.teacher_t, &p.intake, "utan-datum").await;
    let (_, asked) = open_investigation(&app, &p.teacher_t, &p.intake, "begaran").await;
    let (met_report, met) = open_investigation(&app, &p.teacher_t, &p.intake, "sip").await;
    let (_, someone_elses) = open_investigation(&app, &p.teacher_t, &p.intake, "annan").await;
    for (investigation, body) in [
        (&plain, json!({})),
        (&asked, json!({"user_id": p.caseworker.user_id})),
        (&met, json!({})),
        (&someone_elses, json!({"user_id": p.other_cw.user_id})),
    ] {
        let token = if body["user_id"].is_null() {
            &p.cw
        } else {
            &p.intake
        };
        app.as_user(token)
            .send_ok(
                reqwest::Method::POST,
                &format!("/api/v1/investigations/{investigation}/assignment"),
                body,
            )
            .await;
    }
    // An information request due in ten days, and a SIP meeting of the report in two.
    let school = app.organisation_of(&p.teacher.user_id).await;
    let in_ten = today() + chrono::Days::new(10);
    let request = app
        .as_user(&p.cw)
        .post_ok(
            &format!("/api/v1/investigations/{asked}/information-requests"),
            json!({"organisation_id": school, "recipients": [p.teacher.user_id],
                   "questions": "Hur är närvaron?", "due_on": in_ten.to_string()}),
        )
        .await;
    let (base, _) = app
        .open_sip(
            &p.cw,
            json!({"child_name": "Kim Testbarn", "report_id": met_report}),
        )
        .await;
    app.give_consent(&p.cw, &base, "Förälder", &[&school]).await;
    app.add_participant(&p.cw, &base, &p.teacher.user_id).await;
    let in_two = today() + chrono::Days::new(2);
    let meeting = app
        .book_meeting(
            &p.cw,
            &base,
            json!({"starts_at": format!("{in_two}T10:00"), "minutes": 60, "place": "Kommunhuset"}),
        )
        .await;
    // The plan recorded at it says when to follow up.
    let follow_up = today() + chrono::Days::new(40);
    let (status, plan) = app
        .as_user(&p.cw)
        .put(
            &format!("/api/v1/meetings/{}/plan", meeting["id"].as_str().unwrap()),
            json!({"needs": "Stöd i skolan.", "goals": ["Trivas i skolan."],
                   "measures": [{"description": "Samtal varje vecka", "organisation_id": school,
                                 "principal": "kommun"}],
                   "lead_organisation_id": school, "follow_up_on": follow_up.to_string()}),
        )
        .await;
    assert!((200..300).contains(&status), "{status} {plan}");

    let (status, list) = app.as_user(&p.cw).get("/api/v1/my/investigations").await;
    assert_eq!(status, 200, "{list}");
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [met.as_str(), asked.as_str(), plain.as_str()],
        "{list:#}"
    );
    let [first, second, third] = [&list[0], &list[1], &list[2]];
    assert_eq!(first["due_this_week"], true);
    assert_eq!(
        first["next_sip_meeting"],
        format!("{in_two}T10:00:00"),
        "local time"
    );
    assert_eq!(first["next_due"], in_two.to_string());
    assert_eq!(first["next_follow_up_on"], follow_up.to_string());
    assert_eq!(second["due_this_week"], false);
    assert_eq!(second["next_due"], in_ten.to_string());
    let open: &Value = &second["open_requests"][0];
    assert_eq!(open["id"], request["id"]);
    assert_eq!(open["status"], "sent");
    assert_eq!(open["due_on"], in_ten.to_string());
    assert_eq!(third["open_requests"], json!([]));
    assert_eq!(third["next_due"], third["due_on"]);
    assert!(third["days_left"].as_i64().unwrap() > 100);

    // Read by the receiver: the status follows; answered: no longer open.
    app.as_user(&p.teacher_t)
        .get(&format!(
            "/api/v1/information-requests/{}",
            request["id"].as_str().unwrap()
        ))
        .await;
    let (_, list) = app.as_user(&p.cw).get("/api/v1/my/investigations").await;
    assert_eq!(list[1]["open_requests"][0]["status"], "read");

    // The page shows the same, this week's first; the read is audited.
    let page = app.fresh_browser();
    page.login(&p.caseworker).await;
    let html = page.page("/mina-utredningar").await;
    let week = html.find("Inom en vecka").unwrap();
    let later = html.find("<h2>Senare</h2>").unwrap();
    let at = |id: &str| html.find(&format!("/utredningar/{id}/journal")).unwrap();
    assert!(week < at(&met) && at(&met) < later, "{html}");
    assert!(later < at(&asked) && at(&asked) < at(&plain));
    assert!(!html.contains(&format!("/utredningar/{someone_elses}/journal")));
    assert!(html.contains(request["reference"].as_str().unwrap()));
    // The investigation's request page shows the trail: read, with the time of the first read.
    let trail = page.page(&format!("/utredningar/{asked}/begaran")).await;
    let reference = request["reference"].as_str().unwrap();
    let row = &trail[trail[..trail.find(reference).unwrap()]
        .rfind("<tr>")
        .unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("<strong>Läst</strong>"), "{row}");
    assert!(
        row.contains(&format!("/begaran/{}", request["id"].as_str().unwrap())),
        "{row}"
    );
    assert!(
        row.contains(&today().to_string()),
        "sent and first read today: {row}"
    );

    // Both routes are in the OpenAPI document.
    let (_, openapi) = app.anon().get("/api/v1/openapi.json").await;
    assert!(openapi["paths"]["/api/v1/my/investigations"]["get"].is_object());
    assert!(openapi["paths"]["/api/v1/investigations/{id}/assignment"]["post"].is_object());

    let reads = app.audit_entries("user").await;
    assert!(reads
        .iter()
        .any(|(action, _, detail)| action == "investigation.list_own"
            && detail == "investigations=3"));
}

/// The list of investigations assigns through its forms: an intake officer chooses the
/// caseworker (a wrong choice is told beside the field), and a closed investigation's request
/// page has no form.
async fn the_pages_assign_and_a_closed_investigation_takes_no_request(app: TestApp) {
    let p = people(&app).await;
    let officer = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let (_, investigation) = open_investigation(&app, &p.teacher_t, &p.intake, "sidor").await;
    let browser = app.fresh_browser();
    browser.login(&officer).await;
    let list = browser.page("/utredningar").await;
    assert!(list.contains("Ingen än"), "{list}");
    assert!(
        !list.contains("Ta utredningen"),
        "an intake officer does not take one"
    );
    let action = format!("/utredningar/{investigation}/tilldela");
    let field = format!("user_id-{investigation}");
    for (user_id, message) in [
        ("", "Bara en handläggare kan ta en utredning."),
        (
            p.teacher.user_id.as_str(),
            "Välj en handläggare i socialtjänsten i kommunen.",
        ),
    ] {
        let response = browser
            .submit("/utredningar", &action, &[("user_id", user_id)])
            .await;
        assert_eq!(response.status().as_u16(), 422);
        let html = response.text().await.unwrap();
        assert!(
            html.contains(&format!(
                "<p class=\"error\" id=\"{field}-error\">{message}"
            )),
            "{html}"
        );
    }
    let response = browser
        .submit(
            "/utredningar",
            &action,
            &[("user_id", p.caseworker.user_id.as_str())],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let html = browser.page("/utredningar").await;
    let row = &html[html
        .find(&format!("id=\"utredning-{investigation}\""))
        .unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    let name = p.caseworker.email.trim_start_matches("user-");
    let name = format!("Test Person {}", &name[..name.find('@').unwrap()]);
    assert!(row.contains(&name), "{row}");

    // The caseworker's request page has the form while the investigation is open, not after.
    let caseworker = app.fresh_browser();
    caseworker.login(&p.caseworker).await;
    let page = format!("/utredningar/{investigation}/begaran");
    assert!(caseworker.page(&page).await.contains("Skicka begäran"));
    app.as_user(&p.cw)
        .post_ok(
            &format!("/api/v1/investigations/{investigation}/close"),
            json!({"outcome": "no_support", "closed_on": today().to_string(),
                   "reason": "Inget behov av stöd."}),
        )
        .await;
    let html = caseworker.page(&page).await;
    assert!(!html.contains("Skicka begäran"), "{html}");
    assert!(html.contains("Utredningen är avslutad."), "{html}");
    let response = caseworker
        .submit(&page, &page, &[("questions", "Fler frågor?")])
        .await;
    assert_eq!(response.status().as_u16(), 409);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Utredningen är avslutad."));
}

/// Two siblings of one report each have an investigation; only Kim has a SIP (started from the
/// report, naming Kim). Kim's line shows its meeting and follow-up, Ada's shows none, and only
/// Kim's chronology shows the SIP's meeting and plan (times and reference, no plan text).
async fn a_sibling_does_not_show_the_other_childs_sip(app: TestApp) {
    let p = people(&app).await;
    let ekby = app.municipality_id("Ekby").await;
    let mut body = report_body(&ekby, "syskon");
    body["children"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "Ada Testbarn", "birth_date": "2015-05-05", "school": "Björkskolan", "told": true}));
    let filed = app
        .as_user(&p.teacher_t)
        .post_ok("/api/v1/reports", body)
        .await;
    let report = filed["id"].as_str().unwrap().to_string();
    let reference = filed["reference"].as_str().unwrap().to_string();
    app.as_user(&p.intake)
        .post_ok(
            &format!("/api/v1/reports/{report}/safety-assessment"),
            json!({"protection_needed": false, "notes": ""}),
        )
        .await;
    let (_, full) = app
        .as_user(&p.intake)
        .get(&format!("/api/v1/reports/{report}"))
        .await;
    let children: Vec<Value> = full["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            json!({"child_id": c["id"], "decision": "open", "reason": "Behov av utredning.",
                        "siblings_note": "Båda syskonen utreds."})
        })
        .collect();
    let (status, decided) = app
        .as_user(&p.intake)
        .post(
            &format!("/api/v1/reports/{report}/decision"),
            json!({ "children": children }),
        )
        .await;
    assert!((200..300).contains(&status), "{status} {decided}");
    let (_, list) = app.as_user(&p.intake).get("/api/v1/investigations").await;
    let of = |child: i64| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|i| i["report_reference"] == reference.as_str() && i["child"] == child)
            .expect("each sibling's investigation")["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (kim, ada) = (of(1), of(2));
    for investigation in [&kim, &ada] {
        app.as_user(&p.cw)
            .send_ok(
                reqwest::Method::POST,
                &format!("/api/v1/investigations/{investigation}/assignment"),
                json!({}),
            )
            .await;
    }
    let school = app.organisation_of(&p.teacher.user_id).await;
    let (base, _) = app
        .open_sip(
            &p.cw,
            json!({"child_name": "Kim Testbarn", "child_personal_number": "201212121212",
                   "report_id": report}),
        )
        .await;
    app.give_consent(&p.cw, &base, "Förälder", &[&school]).await;
    app.add_participant(&p.cw, &base, &p.teacher.user_id).await;
    let in_two = today() + chrono::Days::new(2);
    let meeting = app
        .book_meeting(
            &p.cw,
            &base,
            json!({"starts_at": format!("{in_two}T10:00"), "minutes": 60, "place": "Kommunhuset"}),
        )
        .await;
    let follow_up = today() + chrono::Days::new(40);
    let (status, plan) = app
        .as_user(&p.cw)
        .put(
            &format!("/api/v1/meetings/{}/plan", meeting["id"].as_str().unwrap()),
            json!({"needs": "Stöd i skolan.", "goals": ["Trivas i skolan."],
                   "measures": [{"description": "Samtal varje vecka", "organisation_id": school,
                                 "principal": "kommun"}],
                   "lead_organisation_id": school, "follow_up_on": follow_up.to_string()}),
        )
        .await;
    assert!((200..300).contains(&status), "{status} {plan}");

    let (status, mine) = app.as_user(&p.cw).get("/api/v1/my/investigations").await;
    assert_eq!(status, 200, "{mine}");
    let line = |id: &str| {
        mine.as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == id)
            .cloned()
            .expect("the line")
    };
    assert_eq!(line(&kim)["next_sip_meeting"], format!("{in_two}T10:00:00"));
    assert_eq!(line(&kim)["next_follow_up_on"], follow_up.to_string());
    assert!(line(&ada)["next_sip_meeting"].is_null(), "{mine:#}");
    assert!(line(&ada)["next_follow_up_on"].is_null(), "{mine:#}");

    // The chronology of Kim's investigation shows the SIP's meeting and plan; Ada's does not.
    let page = app.fresh_browser();
    page.login(&p.caseworker).await;
    let kims = page.page(&format!("/utredningar/{kim}/journal")).await;
    assert!(kims.contains("SIP-möte bokat"), "{kims}");
    assert!(kims.contains("SIP-plan sparad"), "{kims}");
    assert!(kims.contains(&format!("{in_two} 10:00")), "{kims}");
    assert!(
        !kims.contains("Stöd i skolan"),
        "no plan text in the chronology"
    );
    let adas = page.page(&format!("/utredningar/{ada}/journal")).await;
    assert!(
        !adas.contains("SIP-möte bokat") && !adas.contains("SIP-plan sparad"),
        "{adas}"
    );
}

on_both_databases!(
    only_social_services_of_the_municipality_assign,
    the_pages_assign_and_a_closed_investigation_takes_no_request,
    my_investigations_put_what_is_due_this_week_first,
    a_sibling_does_not_show_the_other_childs_sip,
);
