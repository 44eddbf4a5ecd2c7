//! The statistics page (issue 21 §1) in a real browser: a manager opens *Statistik*, sees the
//! charts and the tables with "<5" for the small counts, and the form shows a wrong month again
//! with its error; axe-core finds nothing on either page.

use super::*;
use serde_json::json;

#[actix_web::test]
async fn a_manager_reads_the_statistics_page_and_it_passes_axe() {
    let axe = axe_source();
    let app = TestApp::spawn(Db::Sqlite).await;
    let teacher = app.add_user("skola", &[Role::Reporter]).await;
    let nurse = app.add_user("bvc", &[Role::Reporter]).await;
    let intake = app.add_user("socialtjanst", &[Role::Intake]).await;
    let manager = app.add_user("socialtjanst", &[Role::Manager]).await;
    let municipality = app.municipality_id("Testkommun").await;
    let (teacher, nurse, intake) = (
        app.token_for(&teacher).await,
        app.token_for(&nurse).await,
        app.token_for(&intake).await,
    );
    // Three reports from a school, six from a BVC; those six assessed and decided.
    for (token, n) in [(&teacher, 3), (&nurse, 6)] {
        for i in 0..n {
            let filed = app
                .as_user(token)
                .post_ok(
                    "/api/v1/reports",
                    helpers::report_body(&municipality, &format!("statistik {i}")),
                )
                .await;
            if token == &nurse {
                let id = filed["id"].as_str().unwrap();
                let officer = app.as_user(&intake);
                officer
                    .post_ok(
                        &format!("/api/v1/reports/{id}/safety-assessment"),
                        json!({"protection_needed": false, "notes": ""}),
                    )
                    .await;
                officer
                    .post_ok(
                        &format!("/api/v1/reports/{id}/decision"),
                        json!({"decision": "not_open", "reason": "Inget behov av utredning."}),
                    )
                    .await;
            }
        }
    }

    let driver = chromedriver();
    let client = browser(&driver).await;
    log_in(&client, &app, &manager, "/").await;
    // From the start page, as a manager finds it.
    click(&client, "main a[href='/statistik']").await;
    text_until(&client, "h1", |t| t == "Statistik").await;
    assert_accessible(&client, &axe, "statistics").await;
    let charts = client
        .find_all(Locator::Css("svg.chart[role=img]"))
        .await
        .unwrap();
    assert_eq!(
        charts.len(),
        4,
        "four charts, each an image named by its title"
    );
    let school = text_of(&client, "#anmalare ~ .table-wrap tbody tr:nth-child(2)").await;
    let cells: Vec<&str> = school.split_whitespace().collect();
    assert_eq!(cells[0], "Skola", "{school}");
    assert_eq!(
        cells[cells.len() - 2..],
        ["<5", "<5"],
        "three reports shown as <5, this month and the period: {school}"
    );
    let bvc = text_of(&client, "#anmalare ~ .table-wrap tbody tr:nth-child(3)").await;
    let cells: Vec<&str> = bvc.split_whitespace().collect();
    // Shown, BVC's 6 would give the school's 3 away from the sum row: hidden too, as "..".
    assert_eq!(cells[cells.len() - 2..], ["..", ".."], "{bvc}");
    client.set_window_size(1280, 1900).await.unwrap();
    screenshot(&client, "statistics").await;

    // A month that is not one: the form again, the input kept, the error beside it.
    client
        .goto(&app.url("/statistik?from=mars&to="))
        .await
        .unwrap();
    let error = text_of(&client, "#from-error").await;
    assert!(error.contains("Skriv månaden som år och månad"), "{error}");
    assert_accessible(&client, &axe, "statistics with a wrong month").await;
}
