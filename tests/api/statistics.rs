//! Statistics (issue 21 §1): managers and admins read their own municipality's counts and
//! shares per month; every count of 1–4 is "<5" on the page, in the CSV and in the API; others
//! are refused, and every reading and refusal is audited.

use samordna::accounts::Role;
use serde_json::{json, Value};

use crate::helpers::{error_fields, report_body, TestApp};
use crate::on_both_databases;

on_both_databases!(
    small_counts_are_hidden_everywhere,
    only_managers_and_admins_see_their_own_municipality,
    closed_investigations_and_sips_are_counted,
);

/// This month as the API names it.
fn this_month() -> String {
    samordna::time::local(samordna::db::now())
        .format("%Y-%m")
        .to_string()
}

/// Files `n` reports as `reporter`; returns their ids.
async fn file(app: &TestApp, token: &str, municipality: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let body = app
            .as_user(token)
            .post_ok(
                "/api/v1/reports",
                report_body(municipality, &format!("statistik {i}")),
            )
            .await;
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    ids
}

async fn small_counts_are_hidden_everywhere(app: TestApp) {
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let nurse = app.add_user_in("Ekby", "bvc", &[Role::Reporter]).await;
    let intake = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let manager = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Manager])
        .await;
    let ekby = app.municipality_id("Ekby").await;
    let (teacher, nurse, intake_token, manager_token) = (
        app.token_for(&teacher).await,
        app.token_for(&nurse).await,
        app.token_for(&intake).await,
        app.token_for(&manager).await,
    );
    // Three from a school (hidden: "<5"), six from a BVC (shown).
    file(&app, &teacher, &ekby, 3).await;
    let from_bvc = file(&app, &nurse, &ekby, 6).await;
    // The six from the BVC assessed and decided at once: in time, within 14 days, 0 days.
    for id in &from_bvc {
        let officer = app.as_user(&intake_token);
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

    // The API.
    let (status, body) = app
        .as_user(&manager_token)
        .get("/api/v1/statistics?group=month")
        .await;
    assert_eq!(status, 200, "{body}");
    let months = body["months"].as_array().unwrap();
    assert_eq!(months.len(), 12, "the last twelve months by default");
    let now = months
        .iter()
        .find(|m| m["month"] == this_month())
        .expect("this month is in the period");
    for figures in [now, &body["total"]] {
        assert_eq!(figures["by_reporter"]["skola"], "<5", "{figures}");
        // Shown, BVC's 6 would give the school's 3 away (9 received - 6): it is hidden as well,
        // as "..", in the month and in the period.
        assert_eq!(figures["by_reporter"]["bvc"], "..", "{figures}");
        assert_eq!(figures["by_category"]["neglect"], 9, "{figures}");
        let f = &figures["figures"];
        assert_eq!(f["reports_received"], 9, "{f}");
        assert_eq!(f["decisions"], 6, "{f}");
        assert_eq!(f["safety_assessments_in_time_percent"], 100, "{f}");
        assert_eq!(f["decisions_within_14_days_percent"], 100, "{f}");
        assert_eq!(f["median_days_to_decision"], 0.0, "{f}");
        assert_eq!(f["led_to_investigation_percent"], 0, "{f}");
        assert_eq!(f["investigations_closed"], 0, "{f}");
        assert!(f["investigations_within_4_months_percent"].is_null(), "{f}");
    }
    // A month without reports has zeros, never "<5".
    let other = months.iter().find(|m| m["month"] != this_month()).unwrap();
    assert_eq!(other["figures"]["reports_received"], 0);
    assert!(
        !body.to_string().contains(":3"),
        "no count of 3 anywhere: {body}"
    );

    // The page, as the manager signed in.
    let web = app.fresh_browser();
    web.login(&manager).await;
    let page = web.page("/statistik").await;
    assert!(page.contains("<h1>Statistik</h1>"), "{page}");
    let school_row = page
        .split("<tr>")
        .find(|row| row.contains("<th scope=\"row\">Skola</th>"))
        .expect("a row for reports from schools");
    assert!(school_row.contains("<td>&#60;5</td>"), "{school_row}");
    assert!(!school_row.contains("<td>3</td>"), "{school_row}");
    let bvc_row = page
        .split("<tr>")
        .find(|row| row.contains("<th scope=\"row\">BVC (barnavårdscentral)</th>"))
        .expect("a row for reports from BVC");
    assert!(bvc_row.contains("<td>..</td>"), "{bvc_row}");
    assert!(!bvc_row.contains("<td>6</td>"), "{bvc_row}");
    assert!(page.contains("<svg role=\"img\" aria-labelledby=\"mottagna-title mottagna-summary\""));
    assert!(
        page.contains("/statistik/anmalare.csv?from="),
        "a CSV link per table"
    );

    // The CSV: UTF-8 with BOM, `;`-separated, "<5" for the school.
    let response = web
        .client
        .get(web.url("/statistik/anmalare.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"statistik-anmalare-"));
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "a byte order mark");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("Anmälarens verksamhet;"), "{text}");
    let school = lines.iter().find(|l| l.starts_with("Skola;")).unwrap();
    assert!(
        school.ends_with(";<5;<5"),
        "this month and the period: {school}"
    );
    assert!(!school.split(';').any(|cell| cell == "3"), "{school}");
    let bvc = lines
        .iter()
        .find(|l| l.starts_with("BVC (barnavårdscentral);"))
        .unwrap();
    assert!(bvc.ends_with(";..;.."), "{bvc}");
    assert!(!bvc.split(';').any(|cell| cell == "6"), "{bvc}");
    assert_eq!(
        lines[1].split(';').count(),
        14,
        "label, 12 months, the period"
    );
    // Every table has its CSV; an unknown one is 404.
    for slug in [
        "handlaggning",
        "anmalare",
        "kategorier",
        "utredningar",
        "sip",
    ] {
        let status = web
            .client
            .get(web.url(&format!("/statistik/{slug}.csv")))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200, "{slug}");
    }
    let status = web
        .client
        .get(web.url("/statistik/okand.csv"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 404);

    // Every reading is audited, with the period; nothing names a child.
    let entries = app.audit_entries("municipality").await;
    let views: Vec<_> = entries
        .iter()
        .filter(|(action, outcome, _)| action == "statistics.view" && outcome == "success")
        .collect();
    assert!(views.len() >= 3, "{entries:?}");
}

async fn only_managers_and_admins_see_their_own_municipality(app: TestApp) {
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let teacher_token = app.token_for(&teacher).await;
    let ekby = app.municipality_id("Ekby").await;
    file(&app, &teacher_token, &ekby, 5).await;

    for roles in [&[Role::Reporter][..], &[Role::Intake], &[Role::Caseworker]] {
        let user = app.add_user_in("Ekby", "socialtjanst", roles).await;
        let token = app.token_for(&user).await;
        let (status, body) = app.as_user(&token).get("/api/v1/statistics").await;
        assert_eq!(status, 403, "{roles:?}: {body}");
        let web = app.fresh_browser();
        web.login(&user).await;
        let status = web
            .client
            .get(web.url("/statistik"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 403, "{roles:?}");
    }
    let refusals = app.audit_entries("municipality").await;
    assert!(
        refusals
            .iter()
            .filter(|(action, outcome, _)| action == "municipality.view" && outcome == "denied")
            .count()
            >= 3,
        "{refusals:?}"
    );

    // An admin of Ekby sees Ekby's five; a manager of another municipality sees none of them.
    let admin = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Admin])
        .await;
    let admin_token = app.token_for(&admin).await;
    let (status, body) = app.as_user(&admin_token).get("/api/v1/statistics").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"]["figures"]["reports_received"], 5, "{body}");
    assert_eq!(body["municipality_id"], ekby.as_str());
    let elsewhere = app
        .add_user_in("Annanstad", "socialtjanst", &[Role::Manager])
        .await;
    let elsewhere_token = app.token_for(&elsewhere).await;
    let (status, body) = app
        .as_user(&elsewhere_token)
        .get("/api/v1/statistics")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"]["figures"]["reports_received"], 0, "{body}");

    // A wrong period: 422 per field in the API, the form again with the error on the page.
    let (status, body) = app
        .as_user(&admin_token)
        .get("/api/v1/statistics?from=2026-05&to=2026-01")
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["from"]);
    let (status, body) = app
        .as_user(&admin_token)
        .get("/api/v1/statistics?group=week")
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["group"]);
    let (status, body): (u16, Value) = app
        .as_user(&admin_token)
        .get("/api/v1/statistics?from=2025-01&to=2025-03")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["months"].as_array().unwrap().len(), 3);
    let web = app.fresh_browser();
    web.login(&admin).await;
    let response = web
        .client
        .get(web.url("/statistik?from=mars&to=2026-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("Skriv månaden som år och månad"), "{page}");
    assert!(page.contains("value=\"mars\""), "the input is kept: {page}");
}

async fn closed_investigations_and_sips_are_counted(app: TestApp) {
    let sip = app.sip_with_partner("Kim Statistikbarn").await;
    let ekby = app.municipality_id("Ekby").await;
    let teacher = app.token_for(&sip.partner).await;
    let intake = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let intake = app.token_for(&intake).await;
    let manager = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Manager])
        .await;
    let manager = app.token_for(&manager).await;
    // One report: assessed, an investigation opened, then closed today.
    let id = file(&app, &teacher, &ekby, 1).await.remove(0);
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
            json!({"decision": "open", "reason": "Behov av utredning."}),
        )
        .await;
    let (_, investigations) = app.as_user(&sip.cw).get("/api/v1/investigations").await;
    let investigation = investigations[0]["id"].as_str().unwrap().to_string();
    let today = samordna::time::local(samordna::db::now())
        .date()
        .to_string();
    let (status, closed) = app
        .as_user(&sip.cw)
        .post(
            &format!("/api/v1/investigations/{investigation}/close"),
            json!({"outcome": "no_support", "closed_on": today, "reason": "Inget behov."}),
        )
        .await;
    assert_eq!(status, 201, "{closed}");

    let (status, body) = app.as_user(&manager).get("/api/v1/statistics").await;
    assert_eq!(status, 200, "{body}");
    let f = &body["total"]["figures"];
    // One of each: counted, and shown as "<5".
    assert_eq!(f["reports_received"], "<5", "{f}");
    assert_eq!(f["led_to_investigation_percent"], "<5", "{f}");
    assert_eq!(f["investigations_closed"], "<5", "{f}");
    assert_eq!(f["investigations_within_4_months_percent"], "<5", "{f}");
    assert_eq!(f["investigations_extended"], 0, "{f}");
    assert_eq!(f["sips_with_consent"], "<5", "{f}");
    // No meeting yet and the deadline not passed: nothing to judge.
    assert!(f["sip_first_meeting_in_time_percent"].is_null(), "{f}");
    assert_eq!(f["sip_follow_ups_due"], 0, "{f}");
    assert!(body["sip_first_meeting_days"].as_i64().unwrap() > 0);
}

/// The load benchmark's data (`benches/seed.rs`), for the measurement below.
#[path = "../../benches/seed.rs"]
mod seed;

/// Not part of the suite (`--ignored`): the statistics of a municipality holding 1,000,000
/// reports (`SAMORDNA_STATISTICS_REPORTS` to change), through the API and the page, timed in this
/// debug build (the SQL runs in the database, so the figure is close to a release build's; the
/// release figure is `LOAD_STATISTICS_ONLY=1 scripts/perf`'s). Prints the median of 5 of each.
/// `cargo test --test api statistics_at_a_million -- --ignored --nocapture --test-threads=1`
async fn statistics_at_a_million_reports(kind: crate::helpers::Db) {
    use std::time::{Duration, Instant};
    let app = TestApp::spawn(kind).await;
    let officer = app
        .add_user_in("Kölunda", "socialtjanst", &[Role::Intake])
        .await;
    let manager = app
        .add_user_in("Kölunda", "socialtjanst", &[Role::Manager])
        .await;
    let kolunda = app.municipality_id("Kölunda").await;
    let total: u64 = std::env::var("SAMORDNA_STATISTICS_REPORTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let keys = app.state.settings.keys.clone();
    let officer_id = officer.user_id.clone();
    let start = Instant::now();
    app.conn(move |c| seed::seed_reports(c, &keys, &kolunda, &officer_id, 0, total))
        .await;
    println!(
        "{kind:?}: seeded {total} reports in {:.0} s",
        start.elapsed().as_secs_f64()
    );
    let token = app.token_for(&manager).await;
    let web = app.fresh_browser();
    web.login(&manager).await;
    let median = |mut times: Vec<Duration>| {
        times.sort();
        times[times.len() / 2].as_secs_f64() * 1000.0
    };
    for (label, query) in [
        ("last 12 months", ""),
        ("60 months", "?from=2022-01&to=2026-12"),
    ] {
        let mut api = Vec::new();
        let mut page = Vec::new();
        let mut received = Value::Null;
        for _ in 0..5 {
            let t = Instant::now();
            let (status, body) = app
                .as_user(&token)
                .get(&format!("/api/v1/statistics{query}"))
                .await;
            api.push(t.elapsed());
            assert_eq!(status, 200, "{body}");
            received = body["total"]["figures"]["reports_received"].clone();
            let t = Instant::now();
            let html = web.page(&format!("/statistik{query}")).await;
            page.push(t.elapsed());
            assert!(html.contains("<svg role=\"img\""));
        }
        println!(
            "{kind:?}, {total} reports, {label} ({received} received): API median {:.0} ms, page median {:.0} ms",
            median(api),
            median(page)
        );
    }
}

mod statistics_at_a_million {
    #[actix_web::test]
    #[ignore = "heavy: seeds 1,000,000 reports"]
    async fn sqlite() {
        super::statistics_at_a_million_reports(crate::helpers::Db::Sqlite).await;
    }
    #[actix_web::test]
    #[ignore = "heavy: seeds 1,000,000 reports"]
    async fn postgres() {
        super::statistics_at_a_million_reports(crate::helpers::Db::Postgres).await;
    }
}
