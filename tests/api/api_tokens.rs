use diesel::prelude::*;
use reqwest::Method;
use samordna::accounts::Role;
use samordna::db::schema::api_tokens;

use crate::helpers::{error_fields, shown_once, TestApp};
use crate::on_both_databases;

/// Issues a token through the admin page and returns its plain text.
async fn issue(app: &TestApp, name: &str, holder: &str) -> String {
    let response = app
        .submit(
            "/admin/tokens",
            "/admin/tokens",
            &[("name", name), ("holder", holder)],
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    shown_once(&response.text().await.unwrap())
}

async fn admin_issues_tokens_that_work_until_revoked(app: TestApp) {
    let admin = app.signed_in_admin().await;
    let plain = issue(
        &app,
        "Skript för kontoimport",
        &format!("user:{}", admin.user_id),
    )
    .await;
    assert!(plain.starts_with("smd_") && plain.len() > 40, "{plain}");

    let (_, me) = app.as_user(&plain).in_browser().get("/api/v1/me").await;
    assert_eq!(me["kind"], "user");
    assert_eq!(me["email"], admin.email.as_str());
    assert_eq!(me["roles"], serde_json::json!(["admin"]));

    // Only a hash is stored.
    let stored: Vec<String> = app
        .conn(|conn| {
            api_tokens::table
                .select(api_tokens::token_hash)
                .load(conn)
                .unwrap()
        })
        .await;
    assert!(stored
        .iter()
        .all(|h| h.len() == 64 && !plain.contains(h.as_str())));

    // An integration token speaks for its organisation, not for a person.
    let org_id = app.first_organisation().await;
    let integration = issue(&app, "E-postserver", &format!("org:{org_id}")).await;
    let (_, me) = app
        .as_user(&integration)
        .in_browser()
        .get("/api/v1/me")
        .await;
    assert_eq!(me["kind"], "integration");
    assert_eq!(me["organisation_id"], org_id.as_str());

    // Revoked: refused from then on.
    let id: String = app
        .conn(|conn| {
            api_tokens::table
                .filter(api_tokens::name.eq("E-postserver"))
                .select(api_tokens::id)
                .first(conn)
                .unwrap()
        })
        .await;
    let revoke = format!("/admin/tokens/{id}/revoke");
    let response = app.submit("/admin/tokens", &revoke, &[]).await;
    assert_eq!(response.status().as_u16(), 200);
    let (status, _) = app
        .as_user(&integration)
        .in_browser()
        .get("/api/v1/me")
        .await;
    assert_eq!(status, 401);
}

async fn api_errors_are_json_and_say_what_is_wrong(app: TestApp) {
    let admin = app.signed_in_admin().await;
    let token = issue(&app, "API-test", &format!("user:{}", admin.user_id)).await;

    // No token, and a wrong token.
    for auth in [None, Some("smd_not-a-real-token")] {
        let request = app.with_token(auth).request(Method::GET, "/api/v1/me");
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401);
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "unauthenticated");
    }

    // Malformed JSON.
    let response = app
        .as_user(&token)
        .request(Method::POST, "/api/v1/users")
        .header("content-type", "application/json")
        .body("{\"email\": \"anna@skola.test\",")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "bad_request");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("Felaktig JSON"),
        "{body}"
    );

    // Not JSON at all.
    let response = app
        .as_user(&token)
        .request(Method::POST, "/api/v1/users")
        .body("email=x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("application/json"),
        "{body}"
    );

    // Valid JSON with mistakes: 422 with one entry per field, nothing written.
    let (status, body) = app
        .as_user(&token)
        .post("/api/v1/users", serde_json::json!({"email": "inte-en-adress", "name": "", "title": "Kurator", "organisation_id": "nope", "roles": ["reporter"], "password": "kort"}))
        .await;
    assert_eq!(status, 422);
    let fields = error_fields(&body);
    assert_eq!(
        fields,
        ["email", "name", "organisation_id", "password"],
        "{body}"
    );
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("E-postadressen"));

    let (status, body) = app
        .as_user(&token)
        .post("/api/v1/users", serde_json::json!({"email": "a@b.se", "name": "A", "title": "B", "organisation_id": "x", "roles": ["boss"], "password": "långt nog lösenord"}))
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "roles");

    // And a correct one.
    let org_id = app.first_organisation().await;
    let (status, body) = app
        .as_user(&token)
        .post("/api/v1/users", serde_json::json!({"email": "Ny.Person@Skola.test", "name": "Ny Person", "title": "Lärare", "organisation_id": org_id, "roles": ["reporter"], "password": "ett långt lösenord"}))
        .await;
    assert_eq!(status, 201);
    assert_eq!(body["email"], "ny.person@skola.test");

    // A reporter's token may not add users: 403, as JSON.
    let teacher = app.add_user("skola", &[Role::Reporter]).await;
    let teacher_token = issue(
        &app,
        "Lärarens nyckel",
        &format!("user:{}", teacher.user_id),
    )
    .await;
    let (status, body) = app
        .as_user(&teacher_token)
        .post("/api/v1/users", serde_json::json!({"email": "x@y.se"}))
        .await;
    assert_eq!(status, 403);
    assert_eq!(body["error"], "forbidden");
}

on_both_databases!(
    admin_issues_tokens_that_work_until_revoked,
    api_errors_are_json_and_say_what_is_wrong
);
