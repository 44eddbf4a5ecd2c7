//! HTTP as monitors and clients expect it: HEAD wherever GET works (same status and headers, no
//! body, same access checks and audit), 405 with `Allow` for a method an address does not take,
//! 404 for an address that does not exist; and no concrete request path in the log at any level.

use diesel::prelude::*;
use samordna::accounts::Role;
use samordna::db::schema::audit_log;
use serde_json::Value;

use crate::helpers::{report_body, TestApp};
use crate::on_both_databases;

/// The headers a HEAD must answer exactly as the GET does (the date and a fresh CSRF cookie may
/// differ between two requests).
const COMPARED: [&str; 7] = [
    "content-type",
    "content-length",
    "etag",
    "cache-control",
    "location",
    "www-authenticate",
    "content-security-policy",
];

/// Sends GET and HEAD for `path` (with `token` as bearer, if any) and checks that HEAD answers
/// like GET without a body. Returns the status.
async fn head_like_get(app: &TestApp, path: &str, token: Option<&str>) -> u16 {
    let send = |method: reqwest::Method| {
        let request = app.client.request(method, app.url(path));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
        .send()
    };
    let get = send(reqwest::Method::GET).await.unwrap();
    let head = send(reqwest::Method::HEAD).await.unwrap();
    assert_eq!(head.status(), get.status(), "HEAD {path}");
    for name in COMPARED {
        assert_eq!(
            head.headers().get(name),
            get.headers().get(name),
            "HEAD {path}: {name}"
        );
    }
    let status = get.status().as_u16();
    let get_body = get.bytes().await.unwrap();
    if status == 200 {
        assert!(!get_body.is_empty(), "GET {path} has a body");
        assert_eq!(
            head.headers()["content-length"].to_str().unwrap(),
            get_body.len().to_string(),
            "HEAD {path}: the length of the GET's body"
        );
    }
    assert!(head.bytes().await.unwrap().is_empty(), "HEAD {path}");
    status
}

/// One request as bytes on the wire, read to the end (the connection is closed after it).
async fn raw(app: &TestApp, request: &str) -> Vec<u8> {
    use std::io::{Read, Write};
    let address = app.address.trim_start_matches("http://").to_string();
    let request = request.to_string();
    actix_web::web::block(move || {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut out = Vec::new();
        stream.read_to_end(&mut out).unwrap();
        out
    })
    .await
    .unwrap()
}

async fn report_reads(app: &TestApp, report: &str) -> i64 {
    let report = report.to_string();
    app.conn(move |c| {
        audit_log::table
            .filter(audit_log::object_id.eq(report))
            .filter(audit_log::action.eq("report.read"))
            .count()
            .get_result(c)
            .unwrap()
    })
    .await
}

async fn head_is_answered_like_get(app: TestApp) {
    // Health checks, pages, the style sheet and the API's description, without login.
    for path in [
        "/healthz",
        "/readyz",
        "/",
        "/anmalan",
        "/static/style.css",
        "/api/v1/openapi.json",
    ] {
        assert_eq!(head_like_get(&app, path, None).await, 200, "{path}");
    }

    // On the wire: the GET's status line and length, and nothing after the headers.
    let answer = raw(
        &app,
        "HEAD /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    let text = String::from_utf8(answer).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(head.contains("content-length: 15"), "{head}");
    assert_eq!(body, "", "no body after HEAD");

    // Without login: the same redirect to the login page, the same 401 on the API.
    assert_eq!(head_like_get(&app, "/mina-anmalningar", None).await, 303);
    assert_eq!(head_like_get(&app, "/api/v1/me", None).await, 401);

    // A report through the API: HEAD passes the same access checks as GET and is audited as a
    // read like it; from another municipality both are 404.
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let ekby = app.municipality_id("Ekby").await;
    let intake = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let outsider = app
        .add_user_in("Annanstad", "socialtjanst", &[Role::Intake])
        .await;
    let (teacher_token, intake_token, outsider_token) = (
        app.token_for(&teacher).await,
        app.token_for(&intake).await,
        app.token_for(&outsider).await,
    );
    let (_, filed) = app
        .as_user(&teacher_token)
        .in_browser()
        .post("/api/v1/reports", report_body(&ekby, "huvud"))
        .await;
    let report = filed["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/reports/{report}");
    let before = report_reads(&app, &report).await;
    assert_eq!(head_like_get(&app, &path, Some(&intake_token)).await, 200);
    assert_eq!(
        report_reads(&app, &report).await,
        before + 2,
        "the HEAD is audited as a read like the GET"
    );
    assert_eq!(head_like_get(&app, &path, Some(&outsider_token)).await, 404);
    assert_eq!(head_like_get(&app, &path, None).await, 401);

    // A page signed in, and the calendar feed with its ETag.
    let browser = app.fresh_browser();
    browser.login(&teacher).await;
    assert_eq!(
        head_like_get(&browser, "/mina-anmalningar", None).await,
        200
    );
    let response = browser.submit("/profil", "/profil/kalender", &[]).await;
    let address = crate::helpers::shown_once(&response.text().await.unwrap());
    let feed = &address[address.find("/calendar/").unwrap()..];
    assert_eq!(head_like_get(&app, feed, None).await, 200);
    assert!(app
        .client
        .head(app.url(feed))
        .send()
        .await
        .unwrap()
        .headers()
        .contains_key("etag"));
    assert_eq!(
        head_like_get(&app, "/calendar/okand.ics", None).await,
        404,
        "an unknown feed"
    );
}

on_both_databases!(head_is_answered_like_get);

/// Sends `method` to `path`; returns the status, the `Allow` header and the body.
async fn ask(app: &TestApp, method: &str, path: &str) -> (u16, Option<String>, String) {
    let response = app
        .client
        .request(method.parse().unwrap(), app.url(path))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let allow = response
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_string());
    (status, allow, response.text().await.unwrap())
}

async fn wrong_methods_are_405_with_allow(app: TestApp) {
    for (method, path, allow) in [
        ("DELETE", "/healthz", "GET, HEAD"),
        ("POST", "/healthz", "GET, HEAD"),
        ("PUT", "/readyz", "GET, HEAD"),
        ("DELETE", "/", "GET, HEAD"),
        ("PUT", "/svar/okand", "GET, HEAD, POST"),
        ("DELETE", "/sip/nagot/tider", "GET, HEAD, POST"),
        ("GET", "/logout", "POST"),
        ("HEAD", "/logout", "POST"),
        ("OPTIONS", "/anmalan", "GET, HEAD, POST"),
    ] {
        let (status, allowed, body) = ask(&app, method, path).await;
        assert_eq!(status, 405, "{method} {path}");
        assert_eq!(allowed.as_deref(), Some(allow), "{method} {path}");
        if method != "HEAD" {
            assert!(
                body.contains("<html") && body.contains("Det går inte att göra så här"),
                "{method} {path}: a Swedish page: {body}"
            );
        }
    }
    for (method, path, allow) in [
        ("PUT", "/api/v1/reports", "POST"),
        ("DELETE", "/api/v1/reports/abc", "GET, HEAD"),
        ("DELETE", "/api/v1/meetings/abc", "GET, HEAD, PATCH"),
        ("GET", "/api/v1/users", "POST"),
    ] {
        let (status, allowed, body) = ask(&app, method, path).await;
        assert_eq!(status, 405, "{method} {path}");
        assert_eq!(allowed.as_deref(), Some(allow), "{method} {path}");
        let body: Value = serde_json::from_str(&body).expect("JSON on the API");
        assert_eq!(body["error"], "method_not_allowed", "{method} {path}");
        assert!(body["message"].as_str().unwrap().contains("Adressen finns"));
    }
    // Addresses that do not exist stay 404, whatever the method.
    for (method, path) in [
        ("GET", "/finns-inte"),
        ("DELETE", "/finns-inte"),
        ("HEAD", "/finns-inte"),
        ("GET", "/sip/nagot/okand"),
        ("POST", "/api/v1/finns-inte"),
        ("GET", "/api/v2/reports"),
    ] {
        let (status, allowed, body) = ask(&app, method, path).await;
        assert_eq!(status, 404, "{method} {path}");
        assert_eq!(allowed, None, "{method} {path}");
        if method != "HEAD" {
            if path.starts_with("/api/") {
                let body: Value = serde_json::from_str(&body).unwrap();
                assert_eq!(body["error"], "not_found");
            } else {
                assert!(body.contains("Sidan finns inte"), "{body}");
            }
        }
    }
}

on_both_databases!(wrong_methods_are_405_with_allow);

/// At debug level for actix's own code too, nothing logs a concrete request path: actix-web's
/// extractors would (`"Failed to deserialize Json from payload. Request path: …"`), and so would
/// tracing-actix-web's error events (the Debug form of a login redirect holds the path).
async fn debug_logs_hold_no_concrete_path(app: TestApp) {
    let (_, token) = app.caseworker_in("Ekby").await;
    let marker = format!(
        "sparbar{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    // A body that is not JSON (actix-web's extractor logs the path at debug), an answer form
    // without its token.
    let response = app
        .client
        .post(app.url(&format!("/api/v1/sips/{marker}/consents")))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{inte json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let response = app
        .client
        .post(app.url(&format!("/svar/{marker}")))
        .form(&[("answer", "coming")])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error());

    // A page without login: the redirect to the login page carries the path in `next`.
    let response = app
        .client
        .get(app.url(&format!("/anmalningar/{marker}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-logs");
    let log = std::fs::read_to_string(dir.join(format!("api-{}.log", std::process::id())))
        .expect("the test log");
    assert!(
        log.contains("/api/v1/sips/{id}/consents"),
        "the requests are in the log, by route"
    );
    let leaked: Vec<&str> = log.lines().filter(|l| l.contains(&marker)).collect();
    assert!(leaked.is_empty(), "concrete paths in the log: {leaked:?}");
}

on_both_databases!(debug_logs_hold_no_concrete_path);
