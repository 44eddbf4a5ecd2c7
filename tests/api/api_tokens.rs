use diesel::prelude::*;
use samordna::accounts::Role;
use samordna::db::schema::{api_tokens, organisations};

use crate::helpers::{shown_once, TestApp};
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
    let admin = app.add_user("socialtjanst", &[Role::Admin]).await;
    app.login(&admin).await;
    let plain = issue(
        &app,
        "Skript för kontoimport",
        &format!("user:{}", admin.user_id),
    )
    .await;
    assert!(plain.starts_with("smd_") && plain.len() > 40, "{plain}");

    let me: serde_json::Value = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(&plain)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
    let org_id: String = app
        .conn(|conn| {
            organisations::table
                .select(organisations::id)
                .first(conn)
                .unwrap()
        })
        .await;
    let integration = issue(&app, "E-postserver", &format!("org:{org_id}")).await;
    let me: serde_json::Value = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(&integration)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
    let response = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(&integration)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
}

async fn api_errors_are_json_and_say_what_is_wrong(app: TestApp) {
    let admin = app.add_user("socialtjanst", &[Role::Admin]).await;
    app.login(&admin).await;
    let token = issue(&app, "API-test", &format!("user:{}", admin.user_id)).await;
    let client = reqwest::Client::new();

    // No token, and a wrong token.
    for auth in [None, Some("smd_not-a-real-token")] {
        let mut request = client.get(app.url("/api/v1/me"));
        if let Some(t) = auth {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401);
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "unauthenticated");
    }

    // Malformed JSON.
    let response = client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&token)
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
    let response = client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&token)
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
    let response = client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"email": "inte-en-adress", "name": "", "title": "Kurator", "organisation_id": "nope", "roles": ["reporter"], "password": "kort"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let body: serde_json::Value = response.json().await.unwrap();
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["email", "name", "organisation_id", "password"],
        "{body}"
    );
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("E-postadressen"));

    let response = client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"email": "a@b.se", "name": "A", "title": "B", "organisation_id": "x", "roles": ["boss"], "password": "långt nog lösenord"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "roles");

    // And a correct one.
    let org_id: String = app
        .conn(|conn| {
            organisations::table
                .select(organisations::id)
                .first(conn)
                .unwrap()
        })
        .await;
    let response = client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"email": "Ny.Person@Skola.test", "name": "Ny Person", "title": "Lärare", "organisation_id": org_id, "roles": ["reporter"], "password": "ett långt lösenord"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["email"], "ny.person@skola.test");

    // A reporter's token may not add users: 403, as JSON.
    let teacher = app.add_user("skola", &[Role::Reporter]).await;
    let teacher_token = issue(
        &app,
        "Lärarens nyckel",
        &format!("user:{}", teacher.user_id),
    )
    .await;
    let response = client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&teacher_token)
        .json(&serde_json::json!({"email": "x@y.se"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "forbidden");
}

on_both_databases!(
    admin_issues_tokens_that_work_until_revoked,
    api_errors_are_json_and_say_what_is_wrong
);
