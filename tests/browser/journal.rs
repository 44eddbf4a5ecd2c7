//! The journal in a real browser (issue 19 §1 and §3): a caseworker writes an entry through the
//! chronology page's form (a mistake first), signs it, writes a correction and sees it beside the
//! original, closes the investigation through its page, and writes an efteranteckning that the
//! page marks so. axe-core finds nothing on any page on the way.

use fantoccini::{Client, Locator};
use serde_json::json;

use super::helpers::report_body;
use super::*;

/// A report in the municipality decided to open an investigation; its id and the report's.
async fn opened_investigation(app: &TestApp) -> (String, String) {
    let teacher = app.add_user("skola", &[Role::Reporter]).await;
    let teacher = app.token_for(&teacher).await;
    let intake = app.add_user("socialtjanst", &[Role::Intake]).await;
    let intake = app.token_for(&intake).await;
    let municipality = app.municipality_id("Testkommun").await;
    let (status, filed) = app
        .as_user(&teacher)
        .post("/api/v1/reports", report_body(&municipality, "webbjournal"))
        .await;
    assert_eq!(status, 201, "{filed}");
    let report = filed["id"].as_str().unwrap().to_string();
    let (status, _) = app
        .as_user(&intake)
        .post(
            &format!("/api/v1/reports/{report}/safety-assessment"),
            json!({"protection_needed": false, "notes": ""}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, body) = app
        .as_user(&intake)
        .post(
            &format!("/api/v1/reports/{report}/decision"),
            json!({"decision": "open", "reason": "Behöver utredas."}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (_, full) = app
        .as_user(&intake)
        .get(&format!("/api/v1/reports/{report}"))
        .await;
    let investigation = full["children"][0]["investigation"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    (investigation, report)
}

async fn choose(client: &Client, select: &str, value: &str) {
    click(client, &format!("#{select} option[value='{value}']")).await;
}

async fn replace(client: &Client, id: &str, text: &str) {
    let field = client.find(Locator::Id(id)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// The text of the article of the entry whose text contains `marker`.
async fn article_with(client: &Client, marker: &str) -> String {
    article_and_id(client, marker).await.0
}

/// The text and the element id of the article of the entry whose text contains `marker`.
async fn article_and_id(client: &Client, marker: &str) -> (String, String) {
    let articles = client
        .find_all(Locator::Css("article.journal-entry"))
        .await
        .unwrap();
    for article in articles {
        let text = article.text().await.unwrap();
        if text.contains(marker) {
            let id = article.attr("id").await.unwrap().unwrap();
            return (text, id);
        }
    }
    panic!("no entry with {marker:?}");
}

#[actix_web::test]
async fn a_caseworker_keeps_the_journal_corrects_it_and_writes_after_closing() {
    let axe = axe_source();
    let app = TestApp::spawn(Db::Sqlite).await;
    let caseworker = app.add_user("socialtjanst", &[Role::Caseworker]).await;
    let (investigation, report) = opened_investigation(&app).await;
    let page = format!("/utredningar/{investigation}/journal");
    let driver = chromedriver();
    let client = browser(&driver).await;
    log_in(&client, &app, &caseworker, &page).await;
    text_until(&client, "h1", |t| t == "Journal och händelser").await;
    text_until(&client, "ol.chronology", |t| {
        t.contains("Beslut: utredning inleds")
    })
    .await;
    assert_accessible(&client, &axe, "chronology with the entry form").await;

    // A mistake: the page says so beside the field and keeps what was typed.
    fill(&client, "participants", "Kim och mentorn").await;
    click(&client, "#skriv form button[type=submit]").await;
    text_until(&client, "#kind-error", |t| t.contains("Välj vad som hände")).await;
    text_until(&client, "#text-error", |t| {
        t.contains("Skriv vad som hände")
    })
    .await;
    assert_eq!(value_of(&client, "participants").await, "Kim och mentorn");
    assert_accessible(&client, &axe, "entry form with errors").await;

    // Written as a draft, then signed.
    choose(&client, "kind", "samtal_barn").await;
    replace(&client, "happened_at", "2026-11-30 10:15").await;
    fill(&client, "text", "Kim berättade om veckan i skolan.").await;
    click(&client, "#skriv form button[type=submit]").await;
    text_until(&client, "[role=status]", |t| {
        t.contains("sparad som utkast")
    })
    .await;
    let draft = article_with(&client, "Kim berättade").await;
    assert!(draft.contains("Utkast, inte signerad."), "{draft}");
    assert_accessible(&client, &axe, "chronology with a draft").await;
    click(&client, "article.journal-entry form button").await;
    text_until(&client, "[role=status]", |t| t.contains("signerad")).await;
    let signed = article_with(&client, "Kim berättade").await;
    assert!(
        signed.contains("Signerad ") && !signed.contains("Utkast"),
        "{signed}"
    );
    screenshot(&client, "journal-signed").await;

    // A correction, beside the original, which stays as signed.
    click(&client, "article.journal-entry a[href^='?ratta=']").await;
    text_until(&client, "#skriv-rubrik", |t| {
        t.starts_with("Rätta anteckningen")
    })
    .await;
    assert_eq!(value_of(&client, "kind").await, "samtal_barn");
    assert_accessible(&client, &axe, "correction form").await;
    fill(&client, "text", "Rättelse: samtalet hölls hemma.").await;
    click(&client, "#skriv form button[type=submit]").await;
    text_until(&client, "[role=status]", |t| {
        t.contains("Rättelsen är sparad")
    })
    .await;
    let (with_correction, original) = article_and_id(&client, "Kim berättade").await;
    assert!(
        with_correction.contains("Rättelse: samtalet hölls hemma."),
        "the correction inside the original's article: {with_correction}"
    );
    assert!(with_correction.contains("Signerad "), "{with_correction}");
    assert_accessible(&client, &axe, "chronology with a correction").await;
    scroll_to(&client, &original).await;
    screenshot(&client, "journal-correction").await;

    // Closing the investigation through its page.
    client
        .goto(&app.url(&format!("/utredningar/{investigation}/avsluta")))
        .await
        .unwrap();
    text_until(&client, "h2", |t| t == "Avsluta utredningen").await;
    click_id(&client, "outcome-no_support").await;
    fill(
        &client,
        "reason",
        "Behovet är utrett; familjen klarar sig själv.",
    )
    .await;
    click(&client, "main form button[type=submit]").await;
    text_until(&client, "h2", |t| t == "Utredningen är avslutad").await;
    assert_accessible(&client, &axe, "closed investigation").await;

    // An efteranteckning, marked so.
    client.goto(&app.url(&page)).await.unwrap();
    text_until(&client, "#avslutad", |t| t.contains("efteranteckning")).await;
    text_until(&client, "#skriv-rubrik", |t| {
        t == "Skriv en efteranteckning"
    })
    .await;
    choose(&client, "kind", "telefonsamtal").await;
    fill(&client, "text", "Mamma ringde och tackade.").await;
    click(&client, "#skriv form button[type=submit]").await;
    text_until(&client, "[role=status]", |t| {
        t.contains("sparad som utkast")
    })
    .await;
    let (after, after_id) = article_and_id(&client, "Mamma ringde").await;
    assert!(after.contains("Efteranteckning"), "{after}");
    let before = article_with(&client, "Kim berättade").await;
    assert!(!before.contains("Efteranteckning"), "{before}");
    text_until(&client, "ol.chronology", |t| {
        t.contains("Utredningen avslutad")
    })
    .await;
    assert_accessible(&client, &axe, "chronology with an efteranteckning").await;
    scroll_to(&client, &after_id).await;
    screenshot(&client, "journal-efteranteckning").await;

    // The report page shows the closing and links to the journal.
    client
        .goto(&app.url(&format!("/anmalningar/{report}")))
        .await
        .unwrap();
    text_until(&client, "#utredning", |t| t.contains("Inget stöd")).await;
    client
        .find(Locator::Css(&format!("#utredning a[href='{page}']")))
        .await
        .unwrap();
    assert_accessible(&client, &axe, "report page with a closed investigation").await;
}
