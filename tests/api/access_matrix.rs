//! Access control, proven as one matrix: every route and API endpoint × every role, no login, and
//! a user of another municipality, with the status each must get. The routes are read from the
//! source (`.route("…", web::method()…)`), so a new route without a line here fails the test.
//!
//! Requests carry a valid session or token and, for forms, a valid CSRF token, but an empty body:
//! an allowed caller gets past the access check to the input check (422/400) or the page, a
//! refused one gets 403 (404 for another municipality's objects, 303 to the login page for a page
//! without login, 401 for the API). `MATRIX_PRINT=1` prints the statuses actually seen in this
//! file's format, for review when a route is added.
//!
//! Every GET line is asked with HEAD too, by every caller, and must answer the same; every route
//! is asked with DELETE (which no route takes) and must answer 405 with `Allow` listing the
//! methods the source registers for its path.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use samordna::accounts::Role;
use serde_json::{json, Value};

use crate::helpers::{csrf_from, report_body, Db, TestApp};

/// Who asks, in the order of the status columns below.
const ACTORS: [&str; 6] = ["none", "reporter", "intake", "caseworker", "admin", "other"];

/// (method, route as in the source, path asked with `{…}` filled in, statuses per actor).
/// Routes that change what later lines see (withdrawing, removing, cancelling, logging out) last.
#[rustfmt::skip]
const MATRIX: &[(&str, &str, &str, [u16; 6])] = &[
    // Open to everyone.
    ("GET", "/", "/", [200, 200, 200, 200, 200, 200]),
    ("GET", "/static/style.css", "/static/style.css", [200, 200, 200, 200, 200, 200]),
    ("GET", "/healthz", "/healthz", [200, 200, 200, 200, 200, 200]),
    ("GET", "/readyz", "/readyz", [200, 200, 200, 200, 200, 200]),
    ("GET", "/login", "/login", [200, 303, 303, 303, 303, 303]),
    ("POST", "/login", "/login", [422, 422, 422, 422, 422, 422]),
    // The second step of signing in: nothing to do without a password-checked session, and
    // nothing more to do once signed in (both send the browser on).
    ("GET", "/login/kod", "/login/kod", [303, 303, 303, 303, 303, 303]),
    ("POST", "/login/kod", "/login/kod", [303, 303, 303, 303, 303, 303]),
    // Single sign-on: no provider named (404), and an answer that names no sign-in (400), for
    // anyone.
    ("GET", "/login/oidc", "/login/oidc", [404, 404, 404, 404, 404, 404]),
    ("GET", "/login/oidc/callback", "/login/oidc/callback", [400, 400, 400, 400, 400, 400]),
    ("GET", "/anmalan", "/anmalan", [200, 200, 200, 200, 200, 200]),
    ("POST", "/anmalan", "/anmalan", [422, 422, 422, 422, 422, 422]),
    ("GET", "/calendar/{file}", "/calendar/okand.ics", [404, 404, 404, 404, 404, 404]),
    ("GET", "/svar/{token}", "/svar/okand", [404, 404, 404, 404, 404, 404]),
    ("POST", "/svar/{token}", "/svar/okand", [400, 400, 400, 400, 400, 400]),
    // Reports: hidden (404) from roles that may not see them, as from another municipality.
    ("GET", "/anmalan/yrkesverksam", "/anmalan/yrkesverksam", [303, 200, 403, 403, 403, 403]),
    ("POST", "/anmalan/yrkesverksam", "/anmalan/yrkesverksam", [401, 422, 403, 403, 403, 403]),
    ("GET", "/mina-anmalningar", "/mina-anmalningar", [303, 200, 403, 403, 403, 403]),
    ("GET", "/mottagning", "/mottagning", [303, 403, 200, 403, 403, 200]),
    ("GET", "/anmalningar/{id}", "/anmalningar/{report}", [303, 303, 200, 200, 404, 404]),
    ("POST", "/anmalningar/{id}/skyddsbedomning", "/anmalningar/{report}/skyddsbedomning", [303, 404, 422, 404, 404, 404]),
    ("POST", "/anmalningar/{id}/beslut", "/anmalningar/{report}/beslut", [303, 404, 422, 404, 404, 404]),
    ("POST", "/anmalningar/{id}/syskon", "/anmalningar/{report}/syskon", [303, 404, 422, 404, 404, 404]),
    ("POST", "/anmalningar/{id}/overlamning", "/anmalningar/{report}/overlamning", [303, 404, 422, 404, 404, 404]),
    ("GET", "/utredningar", "/utredningar", [303, 403, 200, 200, 403, 200]),
    ("GET", "/utredningar/{id}/journal", "/utredningar/{investigation}/journal", [303, 404, 200, 200, 404, 404]),
    // Information requests: the receiver's pages (the teacher is the receiver), and social
    // services' view of the same request.
    ("GET", "/begaran", "/begaran", [303, 200, 200, 200, 200, 200]),
    ("GET", "/begaran/{id}", "/begaran/{information_request}", [303, 200, 200, 200, 404, 404]),
    ("POST", "/begaran/{id}/svar", "/begaran/{information_request}/svar", [303, 422, 404, 404, 404, 404]),
    ("POST", "/begaran/{id}/avboj", "/begaran/{information_request}/avboj", [303, 422, 404, 404, 404, 404]),
    ("POST", "/begaran/{id}/mer-tid", "/begaran/{information_request}/mer-tid", [303, 422, 404, 404, 404, 404]),
    ("POST", "/begaran/{id}/ny-svarsdag", "/begaran/{information_request}/ny-svarsdag", [303, 404, 404, 422, 404, 404]),
    ("GET", "/begaran/{id}/filer/{file_id}", "/begaran/{information_request}/filer/okand", [303, 404, 404, 404, 404, 404]),
    ("POST", "/utredningar/{id}/forlangning", "/utredningar/{investigation}/forlangning", [303, 404, 404, 422, 404, 404]),
    ("GET", "/utredningar/{id}/avsluta", "/utredningar/{investigation}/avsluta", [303, 404, 200, 200, 404, 404]),
    ("POST", "/utredningar/{id}/avsluta", "/utredningar/{investigation}/avsluta", [303, 404, 404, 422, 404, 404]),
    ("GET", "/utredningar/{id}/begaran", "/utredningar/{investigation}/begaran", [303, 404, 200, 200, 404, 404]),
    ("POST", "/utredningar/{id}/begaran", "/utredningar/{investigation}/begaran", [303, 404, 404, 422, 404, 404]),
    // An empty form: an intake officer cannot take an investigation (422), a caseworker takes it.
    ("POST", "/utredningar/{id}/tilldela", "/utredningar/{investigation}/tilldela", [303, 404, 422, 303, 404, 404]),
    ("GET", "/mina-utredningar", "/mina-utredningar", [303, 403, 403, 200, 403, 200]),
    ("GET", "/api/v1/my/investigations", "/api/v1/my/investigations", [401, 403, 403, 200, 403, 200]),
    ("POST", "/api/v1/investigations/{id}/assignment", "/api/v1/investigations/{investigation}/assignment", [401, 404, 422, 200, 404, 404]),
    ("POST", "/api/v1/reports", "/api/v1/reports", [422, 422, 403, 403, 403, 403]),
    ("GET", "/api/v1/reports/{id}", "/api/v1/reports/{report}", [401, 200, 200, 200, 404, 404]),
    ("POST", "/api/v1/reports/{id}/safety-assessment", "/api/v1/reports/{report}/safety-assessment", [401, 404, 422, 404, 404, 404]),
    ("POST", "/api/v1/reports/{id}/decision", "/api/v1/reports/{report}/decision", [401, 404, 422, 404, 404, 404]),
    ("POST", "/api/v1/reports/{id}/children", "/api/v1/reports/{report}/children", [401, 404, 422, 404, 404, 404]),
    ("GET", "/api/v1/my/reports", "/api/v1/my/reports", [401, 200, 200, 200, 200, 200]),
    // The case system's export and hand-over: social services of the municipality (hand-over:
    // intake); integration tokens are tested in tests/api/case_system.rs.
    ("GET", "/api/v1/reports/{id}/export", "/api/v1/reports/{report}/export", [401, 404, 200, 200, 404, 404]),
    ("POST", "/api/v1/reports/{id}/handover", "/api/v1/reports/{report}/handover", [401, 404, 422, 404, 404, 404]),
    ("GET", "/api/v1/intake", "/api/v1/intake", [401, 403, 200, 403, 403, 200]),
    ("GET", "/api/v1/investigations", "/api/v1/investigations", [401, 403, 200, 200, 403, 200]),
    ("POST", "/api/v1/investigations/{id}/extension", "/api/v1/investigations/{investigation}/extension", [401, 404, 404, 422, 404, 404]),
    ("GET", "/api/v1/investigations/{id}", "/api/v1/investigations/{investigation}", [401, 404, 200, 200, 404, 404]),
    ("POST", "/api/v1/investigations/{id}/close", "/api/v1/investigations/{investigation}/close", [401, 404, 404, 422, 404, 404]),
    // Journal: social services of the municipality read; intake writes before the decision,
    // caseworkers during the investigation; only the author signs.
    ("GET", "/api/v1/investigations/{id}/journal", "/api/v1/investigations/{investigation}/journal", [401, 404, 200, 200, 404, 404]),
    ("POST", "/api/v1/investigations/{id}/journal", "/api/v1/investigations/{investigation}/journal", [401, 404, 403, 422, 404, 404]),
    ("GET", "/api/v1/reports/{id}/children/{child_id}/journal", "/api/v1/reports/{report}/children/{child}/journal", [401, 404, 200, 200, 404, 404]),
    ("POST", "/api/v1/reports/{id}/children/{child_id}/journal", "/api/v1/reports/{report}/children/{child}/journal", [401, 404, 422, 403, 404, 404]),
    ("POST", "/api/v1/journal/{entry_id}/corrections", "/api/v1/journal/{entry}/corrections", [401, 404, 403, 422, 404, 404]),
    ("POST", "/api/v1/journal/{entry_id}/sign", "/api/v1/journal/{entry}/sign", [401, 404, 403, 200, 404, 404]),
    // The journal's pages: the same rules; the entry is signed by the line above (409).
    ("GET", "/anmalningar/{id}/barn/{child_id}/journal", "/anmalningar/{report}/barn/{child}/journal", [303, 404, 200, 200, 404, 404]),
    ("POST", "/anmalningar/{id}/barn/{child_id}/journal", "/anmalningar/{report}/barn/{child}/journal", [303, 404, 422, 403, 404, 404]),
    ("POST", "/utredningar/{id}/journal", "/utredningar/{investigation}/journal", [303, 404, 403, 422, 404, 404]),
    ("POST", "/journal/{entry_id}/rattelse", "/journal/{entry}/rattelse", [303, 404, 403, 422, 404, 404]),
    ("POST", "/journal/{entry_id}/signera", "/journal/{entry}/signera", [303, 404, 403, 409, 404, 404]),
    // SIP: caseworkers only; the rest get 404, as for an object that is not theirs.
    ("GET", "/sip", "/sip", [303, 404, 404, 200, 404, 200]),
    ("POST", "/sip", "/sip", [303, 404, 404, 422, 404, 422]),
    ("GET", "/sip/{id}", "/sip/{sip}", [303, 404, 404, 200, 404, 404]),
    ("POST", "/sip/{id}/samtycke", "/sip/{sip}/samtycke", [303, 404, 404, 422, 404, 404]),
    ("POST", "/sip/{id}/deltagare", "/sip/{sip}/deltagare", [303, 404, 404, 422, 404, 404]),
    ("POST", "/sip/{id}/moten", "/sip/{sip}/moten", [303, 404, 404, 422, 404, 404]),
    ("GET", "/sip/{id}/tider", "/sip/{sip}/tider", [303, 404, 404, 200, 404, 404]),
    ("POST", "/sip/{id}/tider", "/sip/{sip}/tider", [303, 404, 404, 422, 404, 404]),
    ("GET", "/sip/{id}/moten/{mid}/plan", "/sip/{sip}/moten/{meeting}/plan", [303, 404, 404, 200, 404, 404]),
    ("POST", "/sip/{id}/moten/{mid}/plan", "/sip/{sip}/moten/{meeting}/plan", [303, 404, 404, 422, 404, 404]),
    ("GET", "/sip/{id}/plan", "/sip/{sip}/plan", [303, 404, 404, 200, 404, 404]),
    ("POST", "/sip/{id}/uppfoljning", "/sip/{sip}/uppfoljning", [303, 404, 404, 409, 404, 404]),
    ("GET", "/mina-moten", "/mina-moten", [303, 200, 200, 200, 200, 200]),
    ("GET", "/mina-moten/{id}/plan", "/mina-moten/{meeting}/plan", [303, 404, 404, 404, 404, 404]),
    ("POST", "/api/v1/sips", "/api/v1/sips", [401, 404, 404, 422, 404, 422]),
    ("POST", "/api/v1/sips/{id}/consents", "/api/v1/sips/{sip}/consents", [401, 404, 404, 422, 404, 404]),
    ("POST", "/api/v1/sips/{id}/participants", "/api/v1/sips/{sip}/participants", [401, 404, 404, 422, 404, 404]),
    ("POST", "/api/v1/sips/{id}/meetings", "/api/v1/sips/{sip}/meetings", [401, 404, 404, 422, 404, 404]),
    ("GET", "/api/v1/meetings/{id}", "/api/v1/meetings/{meeting}", [401, 404, 404, 200, 404, 404]),
    ("PATCH", "/api/v1/meetings/{id}", "/api/v1/meetings/{meeting}", [401, 404, 404, 422, 404, 404]),
    ("PUT", "/api/v1/meetings/{id}/plan", "/api/v1/meetings/{meeting}/plan", [401, 404, 404, 422, 404, 404]),
    ("GET", "/api/v1/sips/{id}/plans", "/api/v1/sips/{sip}/plans", [401, 404, 404, 200, 404, 404]),
    ("GET", "/api/v1/sips/{id}/slots", "/api/v1/sips/{sip}/slots", [401, 404, 404, 200, 404, 404]),
    ("POST", "/api/v1/inbound/mail", "/api/v1/inbound/mail", [401, 403, 403, 403, 403, 403]),
    // Consultations: the asker (a reporter) and intake of the municipality; the rest 404.
    ("GET", "/konsultation", "/konsultation", [303, 200, 403, 403, 403, 403]),
    ("POST", "/konsultation", "/konsultation", [303, 422, 403, 403, 403, 403]),
    ("GET", "/konsultation/{id}", "/konsultation/{consultation}", [303, 200, 200, 404, 404, 404]),
    ("POST", "/konsultation/{id}/svar", "/konsultation/{consultation}/svar", [303, 404, 422, 404, 404, 404]),
    ("GET", "/konsultation/{id}/anmalan", "/konsultation/{consultation}/anmalan", [303, 200, 404, 404, 404, 404]),
    ("POST", "/konsultation/{id}/anmalan", "/konsultation/{consultation}/anmalan", [303, 422, 404, 404, 404, 404]),
    ("GET", "/konsultationer", "/konsultationer", [303, 403, 200, 403, 403, 200]),
    ("POST", "/api/v1/consultations", "/api/v1/consultations", [401, 422, 403, 403, 403, 403]),
    ("GET", "/api/v1/consultations/{id}", "/api/v1/consultations/{consultation}", [401, 200, 200, 404, 404, 404]),
    ("POST", "/api/v1/consultations/{id}/answer", "/api/v1/consultations/{consultation}/answer", [401, 404, 422, 404, 404, 404]),
    ("POST", "/api/v1/consultations/{id}/convert", "/api/v1/consultations/{consultation}/convert", [401, 422, 404, 404, 404, 404]),
    // Information requests: caseworkers send, social services read the trail; only the users a
    // request is addressed to (here the reporter, a teacher) read their own, answer and decline.
    ("POST", "/api/v1/investigations/{id}/information-requests", "/api/v1/investigations/{investigation}/information-requests", [401, 404, 404, 422, 404, 404]),
    ("GET", "/api/v1/investigations/{id}/information-requests", "/api/v1/investigations/{investigation}/information-requests", [401, 404, 200, 200, 404, 404]),
    ("GET", "/api/v1/information-requests", "/api/v1/information-requests", [401, 200, 200, 200, 200, 200]),
    ("GET", "/api/v1/information-requests/{id}", "/api/v1/information-requests/{information_request}", [401, 200, 200, 200, 404, 404]),
    ("POST", "/api/v1/information-requests/{id}/answer", "/api/v1/information-requests/{information_request}/answer", [401, 422, 404, 404, 404, 404]),
    ("POST", "/api/v1/information-requests/{id}/decline", "/api/v1/information-requests/{information_request}/decline", [401, 422, 404, 404, 404, 404]),
    ("POST", "/api/v1/information-requests/{id}/more-time", "/api/v1/information-requests/{information_request}/more-time", [401, 422, 404, 404, 404, 404]),
    ("POST", "/api/v1/information-requests/{id}/due-date", "/api/v1/information-requests/{information_request}/due-date", [401, 404, 404, 422, 404, 404]),
    ("GET", "/api/v1/information-requests/{id}/files/{file_id}", "/api/v1/information-requests/{information_request}/files/okand", [401, 404, 404, 404, 404, 404]),
    // Statistics: managers and admins, their own municipality's (no id: the other
    // municipality's admin sees their own).
    ("GET", "/statistik", "/statistik", [303, 403, 403, 403, 200, 200]),
    ("GET", "/statistik/{table}", "/statistik/handlaggning.csv", [303, 403, 403, 403, 200, 200]),
    ("GET", "/api/v1/statistics", "/api/v1/statistics", [401, 403, 403, 403, 200, 200]),
    // Profile, accounts and administration.
    ("GET", "/profil", "/profil", [303, 200, 200, 200, 200, 200]),
    ("POST", "/profil/arbetstid", "/profil/arbetstid", [303, 422, 422, 422, 422, 422]),
    ("POST", "/profil/upptagen", "/profil/upptagen", [303, 422, 422, 422, 422, 422]),
    ("POST", "/profil/upptagen/fil", "/profil/upptagen/fil", [303, 400, 400, 400, 400, 400]),
    ("POST", "/profil/reservkoder", "/profil/reservkoder", [303, 403, 200, 200, 200, 200]),
    ("POST", "/profil/losenord", "/profil/losenord", [303, 422, 422, 422, 422, 422]),
    ("POST", "/profil/upptagen/{id}/ta-bort", "/profil/upptagen/okand/ta-bort", [303, 404, 404, 404, 404, 404]),
    ("POST", "/profil/kalender", "/profil/kalender", [303, 200, 200, 200, 200, 200]),
    ("POST", "/profil/kalender/stang", "/profil/kalender/stang", [303, 303, 303, 303, 303, 303]),
    ("GET", "/admin", "/admin", [303, 403, 403, 403, 303, 303]),
    ("GET", "/admin/users", "/admin/users", [303, 403, 403, 403, 200, 200]),
    ("POST", "/admin/users", "/admin/users", [303, 403, 403, 403, 422, 422]),
    ("GET", "/admin/organisations", "/admin/organisations", [303, 403, 403, 403, 200, 200]),
    ("POST", "/admin/organisations", "/admin/organisations", [303, 403, 403, 403, 422, 422]),
    ("GET", "/admin/tokens", "/admin/tokens", [303, 403, 403, 403, 200, 200]),
    ("POST", "/admin/tokens", "/admin/tokens", [303, 403, 403, 403, 422, 422]),
    ("POST", "/admin/users/{id}/tvastegs", "/admin/users/okand/tvastegs", [303, 403, 403, 403, 404, 404]),
    ("POST", "/admin/tokens/{id}/revoke", "/admin/tokens/okand/revoke", [303, 403, 403, 403, 404, 404]),
    ("GET", "/admin/audit", "/admin/audit", [303, 403, 403, 403, 200, 200]),
    ("GET", "/admin/outbox", "/admin/outbox", [303, 403, 403, 403, 200, 200]),
    ("GET", "/admin/webhooks", "/admin/webhooks", [303, 403, 403, 403, 200, 200]),
    ("POST", "/admin/webhooks", "/admin/webhooks", [303, 403, 403, 403, 422, 422]),
    ("POST", "/admin/webhooks/{id}/ta-bort", "/admin/webhooks/okand/ta-bort", [303, 403, 403, 403, 404, 404]),
    ("GET", "/api/v1/openapi.json", "/api/v1/openapi.json", [200, 200, 200, 200, 200, 200]),
    ("GET", "/api/v1/me", "/api/v1/me", [401, 200, 200, 200, 200, 200]),
    ("POST", "/api/v1/users", "/api/v1/users", [401, 403, 403, 403, 422, 422]),
    // Last: these change what the lines above would see (the API lines then find it done).
    ("POST", "/sip/{id}/moten/{mid}/installa", "/sip/{sip}/moten/{meeting}/installa", [303, 404, 404, 303, 404, 404]),
    ("POST", "/api/v1/meetings/{id}/cancel", "/api/v1/meetings/{meeting}/cancel", [401, 404, 404, 409, 404, 404]),
    ("POST", "/sip/{id}/deltagare/{pid}/ta-bort", "/sip/{sip}/deltagare/{participant}/ta-bort", [303, 404, 404, 303, 404, 404]),
    ("POST", "/api/v1/sips/{id}/participants/{pid}/remove", "/api/v1/sips/{sip}/participants/{participant}/remove", [401, 404, 404, 404, 404, 404]),
    ("POST", "/sip/{id}/samtycke/{cid}/aterkalla", "/sip/{sip}/samtycke/{consent}/aterkalla", [303, 404, 404, 303, 404, 404]),
    ("POST", "/api/v1/sips/{id}/consents/{cid}/withdraw", "/api/v1/sips/{sip}/consents/{consent}/withdraw", [401, 404, 404, 404, 404, 404]),
    ("POST", "/logout", "/logout", [303, 303, 303, 303, 303, 303]),
];

/// Every `.route("path", web::method()…)` in the source; routes in an `api.rs` live under `/api/v1`.
fn routes_in_source() -> BTreeSet<(String, String)> {
    fn walk(dir: &Path, found: &mut BTreeSet<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let prefix = if path.file_name().unwrap() == "api.rs" {
                "/api/v1"
            } else {
                ""
            };
            for (at, _) in text.match_indices(".route(") {
                let rest = text[at + 7..].trim_start();
                let Some(rest) = rest.strip_prefix('"') else {
                    continue;
                };
                let route = &rest[..rest.find('"').unwrap()];
                let after = &rest[route.len()..];
                let method = after[after.find("web::").unwrap() + 5..]
                    .split('(')
                    .next()
                    .unwrap();
                found.insert((method.to_uppercase(), format!("{prefix}{route}")));
            }
        }
    }
    let mut found = BTreeSet::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut found,
    );
    found
}

/// One caller: a browser-like client with its session (none for `none`) and an API token.
struct Caller {
    web: TestApp,
    token: Option<String>,
    /// This browser's CSRF token, for forms.
    csrf: String,
}

impl Caller {
    async fn new(web: TestApp, token: Option<String>) -> Self {
        // The login page has a form; a signed-in browser is sent on from it, to the start page,
        // whose sign-out form carries the same token.
        let page = web.page("/login").await;
        let page = if page.contains("csrf_token") {
            page
        } else {
            web.page("/").await
        };
        Self {
            csrf: csrf_from(&page),
            web,
            token,
        }
    }
}

async fn send(app: &TestApp, caller: &Caller, method: &str, path: &str) -> u16 {
    answer(app, caller, method, path).await.status().as_u16()
}

async fn answer(app: &TestApp, caller: &Caller, method: &str, path: &str) -> reqwest::Response {
    let client = &caller.web.client;
    let url = app.url(path);
    let request = if path.starts_with("/api/") {
        let request = match method {
            "GET" => client.get(&url),
            "HEAD" => client.head(&url),
            "DELETE" => client.delete(&url),
            "POST" => client.post(&url).json(&json!({})),
            "PUT" => client.put(&url).json(&json!({})),
            "PATCH" => client.patch(&url).json(&json!({})),
            other => panic!("{other}"),
        };
        match &caller.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    } else if method == "GET" {
        client.get(&url)
    } else if method == "HEAD" {
        client.head(&url)
    } else if method == "DELETE" {
        client.delete(&url)
    } else {
        // A form with this browser's CSRF token and nothing else.
        client
            .post(&url)
            .form(&[("csrf_token", caller.csrf.as_str())])
    };
    request.send().await.unwrap()
}

#[actix_web::test]
async fn every_route_answers_every_role_as_the_matrix_says() {
    // The matrix and the source name the same routes.
    let in_source = routes_in_source();
    let in_matrix: BTreeSet<(String, String)> = MATRIX
        .iter()
        .map(|(m, r, _, _)| (m.to_string(), r.to_string()))
        .collect();
    let missing: Vec<_> = in_source.difference(&in_matrix).collect();
    let stale: Vec<_> = in_matrix.difference(&in_source).collect();
    assert!(
        missing.is_empty(),
        "routes without a line in the access matrix: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "matrix lines for routes that no longer exist: {stale:?}"
    );
    assert_eq!(in_matrix.len(), MATRIX.len(), "one line per route");

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
    let other = app
        .add_user_in(
            "Annanstad",
            "socialtjanst",
            &[Role::Intake, Role::Caseworker, Role::Admin],
        )
        .await;
    let ekby = app.municipality_id("Ekby").await;

    let mut callers = vec![Caller::new(app.fresh_browser(), None).await];
    for login in [&teacher, &intake, &caseworker, &admin, &other] {
        let web = app.fresh_browser();
        web.login(login).await;
        callers.push(Caller::new(web, Some(app.token_for(login).await)).await);
    }
    let api = |method: &'static str, path: String, token: String, body: Value| {
        let app = app.clone();
        async move {
            let request = match method {
                "POST" => app.client.post(app.url(&path)),
                _ => app.client.get(app.url(&path)),
            };
            let response = request.bearer_auth(token).json(&body).send().await.unwrap();
            assert!(
                response.status().is_success(),
                "{method} {path}: {}",
                response.status()
            );
            response.json::<Value>().await.unwrap()
        }
    };
    let token = |i: usize| callers[i].token.clone().unwrap();

    // Objects of Ekby for the paths: a report with an opened investigation, a second report still
    // waiting, and a SIP with consent, a participant and a meeting.
    let report_body = report_body(&ekby, "matris");
    let opened = api(
        "POST",
        "/api/v1/reports".into(),
        token(1),
        report_body.clone(),
    )
    .await;
    let opened = opened["id"].as_str().unwrap().to_string();
    api(
        "POST",
        format!("/api/v1/reports/{opened}/safety-assessment"),
        token(2),
        json!({"protection_needed": false, "notes": ""}),
    )
    .await;
    api(
        "POST",
        format!("/api/v1/reports/{opened}/decision"),
        token(2),
        json!({"decision": "open", "reason": "Behov av utredning."}),
    )
    .await;
    let investigations = api(
        "GET",
        "/api/v1/investigations".into(),
        token(2),
        Value::Null,
    )
    .await;
    let investigation = investigations[0]["id"].as_str().unwrap().to_string();
    let waiting = api("POST", "/api/v1/reports".into(), token(1), report_body).await;
    let report = waiting["id"].as_str().unwrap().to_string();
    let full = api(
        "GET",
        format!("/api/v1/reports/{report}"),
        token(2),
        Value::Null,
    )
    .await;
    let child = full["children"][0]["id"].as_str().unwrap().to_string();
    let entry = api(
        "POST",
        format!("/api/v1/investigations/{investigation}/journal"),
        token(3),
        json!({"kind": "analys", "happened_at": "2026-11-30T10:00", "text": "Analys."}),
    )
    .await;
    let sip = api(
        "POST",
        "/api/v1/sips".into(),
        token(3),
        json!({"child_name": "Kim Testbarn"}),
    )
    .await;
    let sip = sip["id"].as_str().unwrap().to_string();
    let school = app.organisation_of(&teacher.user_id).await;
    let consent = api("POST", format!("/api/v1/sips/{sip}/consents"), token(3),
        json!({"given_by": "Förälder Testsson", "relation": "guardian", "organisation_ids": [school]})).await;
    let participant = api(
        "POST",
        format!("/api/v1/sips/{sip}/participants"),
        token(3),
        json!({"user_id": teacher.user_id}),
    )
    .await;
    let day = samordna::time::local(samordna::db::now()).date() + chrono::Days::new(7);
    let meeting = api(
        "POST",
        format!("/api/v1/sips/{sip}/meetings"),
        token(3),
        json!({"starts_at": format!("{day}T10:00"), "minutes": 60, "place": "Kommunhuset"}),
    )
    .await;
    let consultation = api(
        "POST",
        "/api/v1/consultations".into(),
        token(1),
        json!({"situation": "Eleven är ofta ledsen.", "child_age": 9, "unit": "Skolan"}),
    )
    .await;
    let information_request = api(
        "POST",
        format!("/api/v1/investigations/{investigation}/information-requests"),
        token(3),
        json!({"organisation_id": school, "recipients": [teacher.user_id],
               "questions": "Hur är elevens närvaro?"}),
    )
    .await;
    let ids: BTreeMap<&str, String> = BTreeMap::from([
        (
            "{information_request}",
            information_request["id"].as_str().unwrap().to_string(),
        ),
        (
            "{consultation}",
            consultation["id"].as_str().unwrap().to_string(),
        ),
        ("{report}", report),
        ("{child}", child),
        ("{entry}", entry["id"].as_str().unwrap().to_string()),
        ("{investigation}", investigation),
        ("{sip}", sip),
        ("{consent}", consent["id"].as_str().unwrap().to_string()),
        (
            "{participant}",
            participant["id"].as_str().unwrap().to_string(),
        ),
        ("{meeting}", meeting["id"].as_str().unwrap().to_string()),
    ]);

    let print = std::env::var("MATRIX_PRINT").is_ok();
    let mut wrong = Vec::new();
    for (method, route, template, expected) in MATRIX {
        let mut path = template.to_string();
        for (placeholder, id) in &ids {
            path = path.replace(placeholder, id);
        }
        let mut seen = [0u16; 6];
        for (i, caller) in callers.iter().enumerate() {
            seen[i] = send(&app, caller, method, &path).await;
        }
        if print {
            println!("    (\"{method}\", \"{route}\", \"{template}\", {seen:?}),");
        }
        if seen != *expected {
            wrong.push(format!(
                "{method} {route}: expected {expected:?}, got {seen:?} (callers {ACTORS:?})"
            ));
        }
        // Wherever GET works, HEAD answers the same to everyone, through the same checks.
        if *method == "GET" {
            let mut head = [0u16; 6];
            for (i, caller) in callers.iter().enumerate() {
                head[i] = send(&app, caller, "HEAD", &path).await;
            }
            if head != *expected {
                wrong.push(format!(
                    "HEAD {route}: expected {expected:?} as for GET, got {head:?}"
                ));
            }
        }
        // A method no route of this path takes (none takes DELETE): 405 with the path's methods.
        let mut methods: Vec<&str> = MATRIX
            .iter()
            .filter(|(_, r, _, _)| r == route)
            .map(|(m, _, _, _)| *m)
            .collect();
        if methods.contains(&"GET") {
            methods.push("HEAD");
        }
        let order = ["GET", "HEAD", "POST", "PUT", "PATCH"];
        methods.sort_by_key(|m| order.iter().position(|o| o == m));
        let allow = methods.join(", ");
        let response = answer(&app, &callers[0], "DELETE", &path).await;
        let got = (
            response.status().as_u16(),
            response
                .headers()
                .get("allow")
                .map(|v| v.to_str().unwrap().to_string()),
        );
        if got != (405, Some(allow.clone())) {
            wrong.push(format!(
                "DELETE {route}: expected 405 with Allow: {allow}, got {got:?}"
            ));
        }
    }
    println!(
        "access matrix: {} routes × {} callers",
        MATRIX.len(),
        ACTORS.len()
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
