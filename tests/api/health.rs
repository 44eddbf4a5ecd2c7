use crate::helpers::TestApp;
use crate::on_both_databases;

async fn health_and_readiness_answer(app: TestApp) {
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
}

async fn pages_are_swedish_and_unknown_paths_are_404(app: TestApp) {
    let home = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(home.status().as_u16(), 200);
    let html = home.text().await.unwrap();
    assert!(html.contains("<html lang=\"sv\">"));
    assert!(html.contains("Logga in"));

    let page = app.client.get(app.url("/finns-inte")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 404);
    assert!(page.text().await.unwrap().contains("Sidan finns inte"));

    let api = app
        .client
        .get(app.url("/api/v1/finns-inte"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status().as_u16(), 404);
    let body: serde_json::Value = api.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
}

/// Every kind of response carries the security headers; HSTS only over https.
async fn every_response_carries_the_security_headers(app: TestApp) {
    for path in [
        "/",
        "/login",
        "/anmalan",
        "/api/v1/me",
        "/finns-inte",
        "/static/style.css",
        "/healthz",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        let h = response.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(
            csp.contains("default-src 'none'") && !csp.contains("unsafe"),
            "{path}: {csp}"
        );
        assert!(
            !csp.contains("script-src"),
            "no script is allowed from anywhere: {csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert!(
            h.get("strict-transport-security").is_none(),
            "{path}: not over http"
        );
        if path != "/static/style.css" {
            assert_eq!(h["cache-control"], "no-store", "{path}");
        }
    }
    // No page may need what the policy forbids: no script, inline handler or inline style.
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/templates")).unwrap() {
        let path = entry.unwrap().path();
        let files: Vec<std::path::PathBuf> = if path.is_dir() {
            std::fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect()
        } else {
            vec![path]
        };
        for file in files {
            let html = std::fs::read_to_string(&file).unwrap().to_lowercase();
            for forbidden in [
                "<script",
                " onclick=",
                " onchange=",
                " onsubmit=",
                " onload=",
                " style=\"",
                "javascript:",
            ] {
                assert!(!html.contains(forbidden), "{file:?} has {forbidden}");
            }
        }
    }
}

#[actix_web::test]
async fn hsts_when_served_over_https() {
    let app = TestApp::spawn_with(
        crate::helpers::Db::Sqlite,
        &[("SAMORDNA_BASE_URL", "https://samordna.kommun.test")],
        true,
    )
    .await;
    let response = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
}

on_both_databases!(
    every_response_carries_the_security_headers,
    health_and_readiness_answer,
    pages_are_swedish_and_unknown_paths_are_404
);
