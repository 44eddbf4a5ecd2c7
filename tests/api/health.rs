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

on_both_databases!(
    health_and_readiness_answer,
    pages_are_swedish_and_unknown_paths_are_404
);
