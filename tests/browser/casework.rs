//! The caseworker's side of an investigation in the browser: taking it from the list, sending
//! an information request through the form (choosing the organisation, then two of its users,
//! without JavaScript), seeing it on the trail, and *Mina utredningar*. Axe finds nothing on
//! each page.

use super::*;

#[actix_web::test]
async fn a_caseworker_takes_an_investigation_sends_a_request_and_sees_it_in_mina_utredningar() {
    let axe = axe_source();
    let app = TestApp::spawn(Db::Sqlite).await;
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let intake = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let caseworker = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Caseworker])
        .await;
    let admin = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Admin])
        .await;
    let nurse = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let (teacher_t, intake_t, admin_t) = (
        app.token_for(&teacher).await,
        app.token_for(&intake).await,
        app.token_for(&admin).await,
    );
    // A second person of the nurse's school.
    let school = app.organisation_of(&nurse.user_id).await;
    let second = app
        .as_user(&admin_t)
        .post_ok(
            "/api/v1/users",
            serde_json::json!({"email": "kurator@skolan.test", "name": "Kim Kurator", "title": "Kurator",
                   "organisation_id": school, "roles": ["reporter"], "password": "ett-långt-lösenord-1"}),
        )
        .await;
    let second_id = second["id"].as_str().unwrap().to_string();

    // A report, assessed and decided: an investigation is opened.
    let ekby = app.municipality_id("Ekby").await;
    let filed = app
        .as_user(&teacher_t)
        .post_ok("/api/v1/reports", helpers::report_body(&ekby, "webb"))
        .await;
    let report = filed["id"].as_str().unwrap();
    let reference = filed["reference"].as_str().unwrap().to_string();
    app.as_user(&intake_t)
        .post_ok(
            &format!("/api/v1/reports/{report}/safety-assessment"),
            serde_json::json!({"protection_needed": false, "notes": ""}),
        )
        .await;
    app.as_user(&intake_t)
        .post_ok(
            &format!("/api/v1/reports/{report}/decision"),
            serde_json::json!({"decision": "open", "reason": "Behov av utredning."}),
        )
        .await;
    let (_, list) = app.as_user(&intake_t).get("/api/v1/investigations").await;
    let investigation = list[0]["id"].as_str().unwrap().to_string();

    let driver = chromedriver();
    let client = browser(&driver).await;
    log_in(&client, &app, &caseworker, "/utredningar").await;
    text_until(&client, "h1", |t| t == "Utredningar").await;
    assert_accessible(&client, &axe, "Utredningar").await;
    click(
        &client,
        &format!("form[action='/utredningar/{investigation}/tilldela'] button"),
    )
    .await;
    text_until(&client, &format!("#utredning-{investigation}"), |t| {
        t.contains(&caseworker_name(&caseworker))
    })
    .await;
    assert_accessible(&client, &axe, "Utredningar, taken").await;

    // The request form: the organisation first, then its people.
    click(
        &client,
        &format!("a[href='/utredningar/{investigation}/begaran']"),
    )
    .await;
    text_until(&client, "h1", |t| t.starts_with("Begäran om uppgifter")).await;
    assert!(client
        .source()
        .await
        .unwrap()
        .contains("Ingen begäran om uppgifter är skickad"));
    assert_accessible(&client, &axe, "requests of an investigation, none yet").await;
    click(
        &client,
        &format!("#organisation_id option[value='{school}']"),
    )
    .await;
    fill(&client, "questions", "Hur är elevens närvaro och mående?").await;
    click(&client, "button[name=intent][value=choose]").await;
    text_until(&client, "#recipients legend", |t| {
        t == "Vem ska få begäran?"
    })
    .await;
    assert_eq!(
        value_of(&client, "questions").await,
        "Hur är elevens närvaro och mående?"
    );
    assert_accessible(&client, &axe, "request form with the school's people").await;
    // Nobody ticked: the form says so beside the field, and keeps the text.
    click(&client, "button[name=intent][value=send]").await;
    text_until(&client, "#recipients-error", |t| {
        t.contains("Välj minst en person")
    })
    .await;
    assert_eq!(
        value_of(&client, "questions").await,
        "Hur är elevens närvaro och mående?"
    );
    assert_accessible(&client, &axe, "request form with an error").await;
    click_id(&client, &format!("recipient-{}", nurse.user_id)).await;
    click_id(&client, &format!("recipient-{second_id}")).await;
    click(&client, "button[name=intent][value=send]").await;
    text_until(&client, "[role=status]", |t| {
        t.contains("Begäran är skickad")
    })
    .await;
    let trail = text_of(&client, "table.trail tbody").await;
    assert!(trail.contains("Kim Kurator (Kurator)"), "{trail}");
    assert!(trail.contains(&caseworker_name(&nurse)), "{trail}");
    assert!(trail.contains("Skickad"), "{trail}");
    assert_accessible(&client, &axe, "requests of an investigation, one sent").await;
    screenshot(&client, "information-request-trail").await;

    // Mina utredningar, from the start page.
    client.goto(&app.url("/")).await.unwrap();
    click(&client, "a[href='/mina-utredningar']").await;
    text_until(&client, "h1", |t| t == "Mina utredningar").await;
    let page = client.source().await.unwrap();
    assert!(page.contains(&reference), "the report's reference");
    assert!(page.contains("UB-"), "the open request");
    assert_accessible(&client, &axe, "Mina utredningar").await;
    screenshot(&client, "mina-utredningar").await;
    client.close().await.unwrap();
}

/// The name `add_user_in` gives a user: "Test Person" and the start of their e-mail's tag.
fn caseworker_name(login: &helpers::Login) -> String {
    let tag = login
        .email
        .trim_start_matches("user-")
        .split('@')
        .next()
        .unwrap()
        .to_string();
    format!("Test Person {tag}")
}
