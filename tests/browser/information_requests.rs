//! Information requests in the browser: the school nurse answers from a phone-sized window with
//! a PDF chosen through the real file input; the caseworker reads it in the journal.

use super::*;

#[actix_web::test]
async fn a_school_nurse_answers_a_request_with_a_pdf_and_the_caseworker_reads_it_in_the_journal() {
    use serde_json::json;
    let axe = axe_source();
    let app = TestApp::spawn(Db::Sqlite).await;
    let teacher = app.add_user("skola", &[Role::Reporter]).await;
    let intake = app.add_user("socialtjanst", &[Role::Intake]).await;
    let caseworker = app.add_user("socialtjanst", &[Role::Caseworker]).await;
    let nurse = app.add_user("skola", &[Role::Reporter]).await;
    let (teacher_t, intake_t, cw_t) = (
        app.token_for(&teacher).await,
        app.token_for(&intake).await,
        app.token_for(&caseworker).await,
    );
    // A report, assessed and decided, and an investigation with a request to the school nurse.
    let municipality = app.municipality_id("Testkommun").await;
    let filed = app
        .as_user(&teacher_t)
        .post_ok(
            "/api/v1/reports",
            json!({"municipality_id": municipality,
                   "children": [{"personal_number": "20121212-1212", "name": "Kim Webbtest", "told": true}],
                   "concern": "Kim är ofta hungrig.", "categories": ["neglect"],
                   "acute_danger": false, "police_informed": false}),
        )
        .await;
    let report = filed["id"].as_str().unwrap().to_string();
    app.as_user(&intake_t)
        .post_ok(
            &format!("/api/v1/reports/{report}/safety-assessment"),
            json!({"protection_needed": false, "notes": ""}),
        )
        .await;
    let (_, read) = app
        .as_user(&intake_t)
        .get(&format!("/api/v1/reports/{report}"))
        .await;
    let child = read["children"][0]["id"].as_str().unwrap().to_string();
    app.as_user(&intake_t)
        .post_ok(
            &format!("/api/v1/reports/{report}/decision"),
            json!({"children": [{"child_id": child, "decision": "open",
                   "reason": "Uppgifter om försummelse.", "siblings_note": "Inga syskon."}]}),
        )
        .await;
    let (_, list) = app.as_user(&cw_t).get("/api/v1/investigations").await;
    let investigation = list[0]["id"].as_str().unwrap().to_string();
    let school = app.organisation_of(&nurse.user_id).await;
    let request = app
        .as_user(&cw_t)
        .post_ok(
            &format!("/api/v1/investigations/{investigation}/information-requests"),
            json!({"organisation_id": school, "recipients": [nurse.user_id],
                   "questions": "Hur är elevens närvaro och hälsa?"}),
        )
        .await;
    let id = request["id"].as_str().unwrap().to_string();
    let reference = request["reference"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("Narvaro ht 2026.pdf");
    std::fs::write(
        &pdf,
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n",
    )
    .unwrap();

    let driver = chromedriver();
    let client = browser(&driver).await;
    // The school nurse: the start page leads to her requests, and on to the one to answer.
    log_in(&client, &app, &nurse, "/").await;
    client
        .find(Locator::LinkText("Begäran om uppgifter"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    text_until(&client, "h1", |t| t == "Begäran om uppgifter").await;
    assert_accessible(&client, &axe, "the receiver's requests").await;
    client
        .find(Locator::LinkText(&reference))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    text_until(&client, "main", |t| {
        t.contains("Hur är elevens närvaro och hälsa?")
    })
    .await;
    assert_accessible(&client, &axe, "a request with its forms").await;
    screenshot(&client, "information-request").await;
    // Sent without text: the error beside the field.
    click(&client, "form[action$='/svar'] button").await;
    text_until(&client, "[id='text-error']", |t| {
        t.contains("Skriv ditt svar")
    })
    .await;
    assert_accessible(&client, &axe, "the answer form with an error").await;
    fill(
        &client,
        "text",
        "Eleven har varit frånvarande mycket sedan oktober.",
    )
    .await;
    client
        .find(Locator::Id("file"))
        .await
        .unwrap()
        .send_keys(pdf.to_str().unwrap())
        .await
        .unwrap();
    click(&client, "form[action$='/svar'] button").await;
    text_until(&client, "[role=status]", |t| {
        t.contains("Ditt svar är skickat")
    })
    .await;
    text_until(&client, "main", |t| t.contains("Narvaro ht 2026.pdf")).await;
    assert_accessible(&client, &axe, "the request answered").await;
    log_out(&client).await;

    // The caseworker reads the answer in the child's journal, with the file linked.
    let journal = format!("/utredningar/{investigation}/journal");
    log_in(&client, &app, &caseworker, &journal).await;
    let main = text_until(&client, "main", |t| {
        t.contains("Eleven har varit frånvarande mycket sedan oktober.")
    })
    .await;
    assert!(main.contains(&reference), "{main}");
    assert!(main.contains("Signerad"), "{main}");
    client
        .find(Locator::LinkText("Narvaro ht 2026.pdf"))
        .await
        .expect("the file linked from the journal");
    assert_accessible(&client, &axe, "the journal with the answer").await;
    // And the request's own page, as social services see it.
    client
        .goto(&app.url(&format!("/begaran/{id}")))
        .await
        .unwrap();
    text_until(&client, "main", |t| t.contains("Först läst")).await;
    assert_accessible(&client, &axe, "the request as social services see it").await;
    client.close().await.unwrap();
}
