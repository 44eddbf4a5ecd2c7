//! Names as people have them and input as attackers send it, on both databases: any printable
//! name reaches the mail header and the calendar intact; control characters are refused at input
//! beside the field; a NUL anywhere answers 4xx before it reaches a database; the HTML part of an
//! invitation links to exactly the addresses it names; and calendar replies keep the documented
//! contract of `samordna ingest-mail` and `POST /api/v1/inbound/mail`.

use std::time::Duration;

use mail_parser::MessageParser;
use samordna::accounts::Role;
use samordna::calendar::reply::{param, parse_calendars};
use serde_json::{json, Value};

use crate::helpers::{inbound, ingest_by_pipe, reply_mail, Received, TestApp};
use crate::on_both_databases;

/// Guests' names with every character that used to break booking (`()`, `[]`, `:`, `;`, `@`,
/// `\`, quotes, commas) and a long UTF-8 name. `Sara Lind (mamma)` and her address are in
/// tests/identifying-values.txt: the log scan fails if either is ever logged.
const GUESTS: &[(&str, &str)] = &[
    ("Sara Lind (mamma)", "sara.lind.mamma@example.test"),
    ("Lind [vårdnadshavare]", "g1@example.test"),
    ("Pappa: Olle Lind", "g2@example.test"),
    ("Olle; Lind", "g3@example.test"),
    ("Olle @ hemma", "g4@example.test"),
    ("Olle \\ Lind", "g5@example.test"),
    ("Olle \"Lillen\" Lind", "g6@example.test"),
    ("Lind, Olle", "g7@example.test"),
    (
        "Åsa-Märta Öberg Ängström Ålänning Ödmjuk Ärlig Ögonsten Åkerlund Östlund Ärnström",
        "g8@example.test",
    ),
];

const VIDEO: &str = "https://video.example.test/m?x=1&y=2";

/// The text of a message's `text/calendar` part.
fn calendar_part(message: &mail_parser::Message) -> String {
    message
        .parts
        .iter()
        .find(|p| {
            mail_parser::MimeHeaders::content_type(*p)
                .is_some_and(|c| c.subtype() == Some("calendar"))
        })
        .and_then(|p| p.text_contents())
        .unwrap()
        .to_string()
}

/// A SIP in Ekby with consent covering a school; returns the caseworker's token, the SIP's API
/// path, and an integration token for inbound mail.
async fn sip_with_consent(app: &TestApp) -> (String, String, String) {
    let (_, cw) = app.caseworker_in("Ekby").await;
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let school = app.organisation_of(&teacher.user_id).await;
    let integration = app.integration_token(&school).await;
    let (base, _) = app
        .open_sip(&cw, json!({"child_name": "Kim Sipbarnsson"}))
        .await;
    app.give_consent(&cw, &base, "Förälder Sipsson", &[&school])
        .await;
    (cw, base, integration)
}

fn meeting_in() -> Value {
    let start = (samordna::db::now() + chrono::Duration::days(3)).date();
    json!({"starts_at": format!("{start}T10:00"), "minutes": 60, "place": "Stadshuset", "video_url": VIDEO})
}

/// The `href`s of an HTML part, as a browser reads them: the escaper writes `&` as `&#38;`
/// (or `&amp;`); no bare `&` may stand in an attribute.
fn links(html: &str) -> Vec<String> {
    html.split("<a href=\"")
        .skip(1)
        .map(|rest| {
            let raw = &rest[..rest.find('"').unwrap()];
            let decoded = raw.replace("&#38;", "&").replace("&amp;", "&");
            assert_eq!(
                raw.matches('&').count(),
                decoded.matches('&').count(),
                "every & escaped: {raw}"
            );
            decoded
        })
        .collect()
}

/// The message that went to `address`.
fn mail_to<'a>(received: &'a [Received], address: &str) -> &'a Received {
    received
        .iter()
        .find(|m| m.to.iter().any(|t| t.contains(address)))
        .unwrap_or_else(|| panic!("no mail to {address}"))
}

async fn guests_with_ordinary_names_are_invited_with_their_names_intact(app: TestApp) {
    let (cw, base, _) = sip_with_consent(&app).await;
    let welcome = app.smtp.wait_for(2, Duration::from_secs(10)).await.len();
    assert_eq!(welcome, 2);
    for (name, email) in GUESTS {
        let (status, body) = app
            .as_user(&cw)
            .post(
                &format!("{base}/participants"),
                json!({"name": name, "email": email, "required": false, "relation": "guardian"}),
            )
            .await;
        assert_eq!(status, 201, "{name}: {body}");
    }
    let meeting = app.book_meeting(&cw, &base, meeting_in()).await;
    let received = app
        .smtp
        .wait_for(welcome + 1 + GUESTS.len(), Duration::from_secs(20))
        .await;
    assert_eq!(received.len(), welcome + 1 + GUESTS.len());
    for (name, email) in GUESTS {
        let mail = mail_to(&received, email);
        let message = MessageParser::default().parse(&mail.data).unwrap();
        let to = message.to().unwrap().first().unwrap();
        assert_eq!(to.name(), Some(*name), "the name as typed");
        assert_eq!(to.address(), Some(*email));

        // The calendar names them too, readable by a calendar parser; a parameter value cannot
        // hold `"`, so that alone is left out.
        let calendar = calendar_part(&message);
        let parsed = parse_calendars(&calendar).expect("a valid calendar");
        let attendees: Vec<(String, String)> = parsed[0].events[0]
            .properties
            .iter()
            .filter(|p| p.name == "ATTENDEE")
            .map(|p| {
                (
                    param(p, "CN").unwrap().to_string(),
                    p.value.clone().unwrap().to_lowercase(),
                )
            })
            .collect();
        assert!(
            attendees.contains(&(name.replace('"', ""), format!("mailto:{email}"))),
            "{name}: {attendees:?}"
        );

        // Item 9: the HTML part links to exactly the video address, the answer link and the
        // login page, and nothing else.
        let html = message.body_html(0).unwrap().to_string();
        let found = links(&html);
        assert_eq!(found.len(), 3, "{html}");
        assert_eq!(found[0], VIDEO);
        assert!(
            found[1].starts_with(&format!("{}/svar/", app.address)),
            "{found:?}"
        );
        assert_eq!(found[2], format!("{}/mina-moten", app.address));
        let text = message.body_text(0).unwrap();
        assert!(text.contains(&format!("Plats: Stadshuset (eller video: {VIDEO})")));
        assert!(
            text.contains(&found[1]),
            "the same answer link in both parts"
        );
    }
    // The chair's own copy names everyone: libical, vobject, Python icalendar and ical.js read
    // every name alike, and Radicale accepts it.
    let chair = received[welcome..]
        .iter()
        .find(|m| {
            !GUESTS
                .iter()
                .any(|(_, email)| m.to.iter().any(|t| t.contains(email)))
        })
        .unwrap();
    let message = chair.parsed();
    let ics = calendar_part(&message);
    let cns: Vec<String> = parse_calendars(&ics).unwrap()[0].events[0]
        .properties
        .iter()
        .filter(|p| p.name == "ATTENDEE")
        .map(|p| param(p, "CN").unwrap().to_string())
        .collect();
    assert_eq!(cns.len(), 1 + GUESTS.len());
    for (name, _) in GUESTS {
        assert!(cns.contains(&name.replace('"', "")), "{name}: {cns:?}");
    }
    let start = chrono::NaiveDateTime::parse_from_str(
        meeting["starts_at"].as_str().unwrap(),
        "%Y-%m-%dT%H:%M:%S",
    )
    .unwrap();
    crate::calendar_interop::verify(vec![crate::calendar_interop::Object {
        label: "the chair's invitation naming every guest".into(),
        ics,
        events: vec![crate::calendar_interop::Expected {
            summary: message
                .subject()
                .unwrap()
                .trim_start_matches("Inbjudan: ")
                .to_string(),
            description: format!(
                "Logga in i Samordna för att läsa mer: {}\nAv sekretesskäl står inget om ärendet här.",
                app.state.settings.link("/mina-moten")
            ),
            location: format!("Stadshuset (eller video: {VIDEO})"),
            cns,
            start_utc: start.and_utc().timestamp(),
        }],
    }])
    .await;
}

async fn an_admin_adds_a_user_whose_name_has_parentheses(app: TestApp) {
    let admin = app.add_user("socialtjanst", &[Role::Admin]).await;
    app.smtp.wait_for(1, Duration::from_secs(10)).await;
    let org_id = app.organisation_of(&admin.user_id).await;
    let token = app.token_for(&admin).await;
    let (status, body) = app
        .as_user(&token)
        .post(
            "/api/v1/users",
            json!({"email": "lisa.lind@skola.test", "name": "Lisa Lind (kurator)", "title": "Kurator",
               "organisation_id": org_id, "roles": ["reporter"],
               "password": "Kuratorns-eget-langa-losen-7Q"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    app.login(&admin).await;
    let response = app
        .submit(
            "/admin/users",
            "/admin/users",
            &[
                ("email", "olle.lind@skola.test"),
                ("name", "Olle Lind [kurator]; \"Lillen\""),
                ("title", "Kurator"),
                ("organisation_id", &org_id),
                ("role_reporter", "on"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let received = app.smtp.wait_for(3, Duration::from_secs(10)).await;
    for (email, name) in [
        ("lisa.lind@skola.test", "Lisa Lind (kurator)"),
        ("olle.lind@skola.test", "Olle Lind [kurator]; \"Lillen\""),
    ] {
        let mail = mail_to(&received, email);
        let message = mail.parsed();
        assert_eq!(message.subject(), Some("Du har ett konto i Samordna"));
        let to = message.to().unwrap().first().unwrap();
        assert_eq!((to.name(), to.address()), (Some(name), Some(email)));
    }
}

/// Every kind of control character a name could carry.
const CONTROLS: &[&str] = &[
    "\r",
    "\n",
    "\r\nBcc: x@evil.test",
    "\t",
    "\u{1b}",
    "\u{7f}",
    "\u{85}",
    "\0",
];

/// A 422 naming `field`, with a Swedish message.
fn refused(status: u16, body: &Value, field: &str) {
    assert_eq!(status, 422, "{field}: {body}");
    assert_eq!(body["error"], "invalid_input", "{body}");
    let error = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["field"] == field)
        .unwrap_or_else(|| panic!("{field} in {body}"));
    let message = error["message"].as_str().unwrap().to_lowercase();
    assert!(
        message.contains("får inte innehålla") || message.contains("nolltecken"),
        "{message}"
    );
}

async fn names_with_control_characters_are_refused_at_input(app: TestApp) {
    let (cw, base, _) = sip_with_consent(&app).await;
    let admin = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Admin])
        .await;
    let admin_token = app.token_for(&admin).await;
    let org_id = app.organisation_of(&admin.user_id).await;
    let reporter = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let reporter_token = app.token_for(&reporter).await;
    let ekby = app.municipality_id("Ekby").await;
    for control in CONTROLS {
        let bad = format!("Sara{control}Lind");
        let (status, body) = app
            .as_user(&cw)
            .post(
                &format!("{base}/participants"),
                json!({"name": bad, "email": "sara@example.test", "relation": "guardian"}),
            )
            .await;
        refused(status, &body, "name");
        let (status, body) = app
            .as_user(&cw)
            .post("/api/v1/sips", json!({"child_name": bad}))
            .await;
        refused(status, &body, "child_name");
        let (status, body) = app
            .as_user(&cw)
            .post(
                &format!("{base}/consents"),
                json!({"given_by": bad, "relation": "guardian", "organisation_ids": [org_id]}),
            )
            .await;
        refused(status, &body, "given_by");
        let (status, body) = app
            .as_user(&admin_token)
            .post(
                "/api/v1/users",
                json!({"email": "sara@skola.test", "name": bad, "title": "Kurator",
                   "organisation_id": org_id, "roles": ["reporter"]}),
            )
            .await;
        refused(status, &body, "name");
        let mut report = crate::helpers::report_body(&ekby, "styrtecken");
        report["children"][0]["name"] = json!(bad);
        report["guardians"][0]["name"] = json!(bad);
        let (status, body) = app
            .as_user(&reporter_token)
            .post("/api/v1/reports", report)
            .await;
        refused(status, &body, "children[0].name");
        if *control != "\0" {
            // (A NUL is refused before the handler, at its first field.)
            refused(status, &body, "guardians[0].name");
        }
    }

    // On the web: the form comes back with the error beside the field (a NUL, which no browser
    // sends from a text field, gets a Swedish page of its own: see below).
    app.login(&admin).await;
    for control in CONTROLS.iter().filter(|c| **c != "\0") {
        let bad = format!("Sara{control}Lind");
        for (page, fields, field) in [
            (
                "/admin/users",
                vec![
                    ("email", "sara@skola.test"),
                    ("name", bad.as_str()),
                    ("title", "Kurator"),
                    ("organisation_id", org_id.as_str()),
                    ("role_reporter", "on"),
                ],
                "name",
            ),
            (
                "/admin/organisations",
                vec![
                    ("name", bad.as_str()),
                    ("kind", "skola"),
                    ("principal", "kommun"),
                ],
                "name",
            ),
        ] {
            let response = app.submit(page, page, &fields).await;
            assert_eq!(response.status().as_u16(), 422, "{page} {control:?}");
            let html = response.text().await.unwrap();
            assert!(
                html.contains(&format!(
                    "id=\"{field}-error\">Får inte innehålla radbrytningar"
                )),
                "{page}: {html}"
            );
        }
        let public = app.fresh_browser();
        let response = public
            .submit(
                "/anmalan",
                "/anmalan",
                &[
                    ("municipality_id", ekby.as_str()),
                    ("children[0].name", bad.as_str()),
                    ("children[0].birth_date", "2015-03-14"),
                    ("children[0].told", "yes"),
                    ("guardians[0].name", bad.as_str()),
                    ("guardians[0].told", "yes"),
                    ("concern", "Oro."),
                    ("categories", "neglect"),
                    ("acute_danger", "no"),
                    ("police_informed", "no"),
                    ("identity", "named"),
                    ("reporter.name", bad.as_str()),
                    ("reporter.phone", "070-111 22 33"),
                ],
            )
            .await;
        assert_eq!(response.status().as_u16(), 422);
        let html = response.text().await.unwrap();
        for field in ["children[0].name", "guardians[0].name", "reporter.name"] {
            assert!(
                html.contains(&format!(
                    "id=\"{field}-error\">Får inte innehålla radbrytningar"
                )),
                "{field} {control:?}"
            );
        }
    }
}

/// What a refused request answered: status, content type, body.
async fn answer(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, kind, response.text().await.unwrap())
}

async fn a_nul_anywhere_answers_4xx_without_reaching_the_database(app: TestApp) {
    let (cw, base, _) = sip_with_consent(&app).await;
    let client = reqwest::Client::new();

    // Without login: the login form, an id in the address, a report body.
    let browser = app.fresh_browser();
    let response = browser
        .submit(
            "/login",
            "/login",
            &[("email", "a\0b@test.se"), ("password", "x"), ("next", "/")],
        )
        .await;
    let (status, kind, html) = answer(response).await;
    assert_eq!(status, 422, "{html}");
    assert!(kind.starts_with("text/html"));
    assert!(html.contains("nolltecken"), "{html}");

    for path in [
        "/api/v1/reports/abc%00",
        "/api/v1/meetings/%00",
        "/api/v1/reports/%0d%0a",
    ] {
        let (status, kind, body) = answer(client.get(app.url(path)).send().await.unwrap()).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(kind.starts_with("application/json"), "{path}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()["error"],
            "not_found"
        );
    }
    let (status, kind, _) = answer(
        browser
            .client
            .get(app.url("/anmalningar/abc%00"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert!(kind.starts_with("text/html"));

    let ekby = app.municipality_id("Ekby").await;
    let mut report = crate::helpers::report_body(&ekby, "nul");
    report["concern"] = json!("Oro\u{0}");
    let (status, body) = app
        .as_user("no-token")
        .post("/api/v1/reports", report.clone())
        .await;
    refused(status, &body, "concern");
    let (status, body) = app.as_user(&cw).post("/api/v1/reports", report).await;
    refused(status, &body, "concern");

    // A query string, on the API and on a page.
    let (status, body) = app
        .as_user(&cw)
        .get(&format!("{base}/slots?from=2026-12-01%00"))
        .await;
    refused(status, &body, "from");
    let (status, kind, html) = answer(
        browser
            .client
            .get(app.url("/login?next=%2F%00"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    assert!(kind.starts_with("text/html") && html.contains("nolltecken"));

    // A SIP body: in a value, in a key, nested.
    let (status, body) = app
        .as_user(&cw)
        .post(
            &format!("{base}/participants"),
            json!({"name": "Sara Lind", "email": "sara\u{0}@example.test", "relation": "guardian"}),
        )
        .await;
    refused(status, &body, "email");
    let (status, body) = app
        .as_user(&cw)
        .post(
            &format!("{base}/meetings"),
            json!({"starts_at": "2030-01-01T10:00", "minutes": 60, "place": "Rum\u{0}2"}),
        )
        .await;
    refused(status, &body, "place");

    // Bodies that are not JSON or a form are not looked into here; a body that is not JSON still
    // gets its own explanation.
    let response = client
        .post(app.url("/api/v1/sips"))
        .bearer_auth(&cw)
        .header("content-type", "application/json")
        .body("{\"child_name\": \"Kim\0\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);

    // A compressed body would be decompressed by the extractors behind the check: it is refused.
    let gzip = |body: &[u8]| {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(body).unwrap();
        encoder.finish().unwrap()
    };
    let mut report = crate::helpers::report_body(&ekby, "gzip");
    report["concern"] = json!("Oro\u{0}");
    let response = client
        .post(app.url("/api/v1/reports"))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gzip(report.to_string().as_bytes()))
        .send()
        .await
        .unwrap();
    let (status, kind, body) = answer(response).await;
    assert_eq!(status, 415, "{body}");
    assert!(kind.starts_with("application/json"), "{kind}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "unsupported_media_type", "{body}");
    assert_eq!(body["message"], "Skicka innehållet okomprimerat.");
    let response = browser
        .client
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("content-encoding", "gzip")
        .body(gzip(b"email=a%00b%40test.se&password=x&next=%2F"))
        .send()
        .await
        .unwrap();
    let (status, kind, html) = answer(response).await;
    assert_eq!(status, 415, "{html}");
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(html.contains("okomprimerat"), "{html}");
}

/// A reply posted to the API by the integration and the same kind of reply piped to `samordna
/// ingest-mail`, both read as `result`; answers the API's status.
async fn both_ways(
    app: &TestApp,
    integration: &str,
    by_api: String,
    by_pipe: &str,
    result: &str,
) -> u16 {
    let (status, body) = inbound(app, integration, by_api).await;
    assert_eq!((status, body["result"].as_str()), (200, Some(result)));
    let out = ingest_by_pipe(app, by_pipe);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with(result));
    status
}

async fn a_late_reply_to_a_cancelled_meeting_keeps_the_documented_contract(app: TestApp) {
    let (cw, base, integration) = sip_with_consent(&app).await;
    let guardian = "foralder@example.test";
    let (status, _) = app
        .as_user(&cw)
        .post(
            &format!("{base}/participants"),
            json!({"name": "Förälder Sipsson", "email": guardian, "relation": "guardian"}),
        )
        .await;
    assert_eq!(status, 201);
    let meeting = app.book_meeting(&cw, &base, meeting_in()).await;
    let uid = meeting["uid"].as_str().unwrap().to_string();
    let meeting_path = format!("/api/v1/meetings/{}", meeting["id"].as_str().unwrap());

    // What the OpenAPI description promises for inbound mail.
    let (_, openapi) = app.as_user(&cw).get("/api/v1/openapi.json").await;
    let promised: Vec<u16> = openapi["paths"]["/api/v1/inbound/mail"]["post"]["responses"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.parse().unwrap())
        .collect();
    let mut seen = Vec::new();
    let mut api = |status: u16| {
        assert!(promised.contains(&status), "{status} not in {promised:?}");
        seen.push(status);
    };

    // Recorded (SEQUENCE 0), by API and by pipe.
    let by_api = reply_mail(&uid, 0, guardian, "ACCEPTED");
    let by_pipe = reply_mail(&uid, 0, guardian, "TENTATIVE");
    api(both_ways(&app, &integration, by_api, &by_pipe, "recorded").await);

    // Stale after a change.
    let (status, _) = app
        .as_user(&cw)
        .patch(
            &meeting_path,
            json!({"starts_at": meeting_in()["starts_at"].as_str().unwrap().replace("T10:00", "T13:00"),
                    "minutes": 60, "place": "Stadshuset"}),
        )
        .await;
    assert_eq!(status, 200);
    let by_api = reply_mail(&uid, 0, guardian, "ACCEPTED");
    api(both_ways(&app, &integration, by_api.clone(), &by_api, "stale").await);

    // Cancelled: a late reply, with the old SEQUENCE or the current one, is read and not kept.
    let (status, _) = app
        .as_user(&cw)
        .post(&format!("{meeting_path}/cancel"), json!({}))
        .await;
    assert_eq!(status, 204);
    for sequence in [0, 1, 2] {
        let (status, body) = inbound(
            &app,
            &integration,
            reply_mail(&uid, sequence, guardian, "ACCEPTED"),
        )
        .await;
        api(status);
        assert_eq!(
            (status, body["result"].as_str()),
            (200, Some("cancelled")),
            "SEQUENCE {sequence}: {body}"
        );
        let out = ingest_by_pipe(&app, &reply_mail(&uid, sequence, guardian, "DECLINED"));
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let said = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(said.starts_with("cancelled"), "{said}");
        assert!(
            said.is_ascii(),
            "machine-facing output in one language: {said}"
        );
    }

    // Not a usable reply: 422 and 65, with the reason in English and no address in it.
    let bad = [
        "Subject: inget\r\n\r\nhej".to_string(),
        reply_mail(&uid, 0, "someone.else@example.test", "ACCEPTED"),
        reply_mail("no-such-meeting@x", 0, guardian, "ACCEPTED"),
        reply_mail(&uid, 0, guardian, "MAYBE"),
        reply_mail(&uid, 0, guardian, "ACCEPTED").replace(
            "From: Förälder <foralder@example.test>",
            "From: Förälder <x@example.test>",
        ),
    ];
    for raw in &bad {
        let (status, body) = inbound(&app, &integration, raw.clone()).await;
        api(status);
        assert_eq!(status, 422, "{body}");
        assert!(!body.to_string().contains("example.test"), "{body}");
        let out = ingest_by_pipe(&app, raw);
        assert_eq!(out.status.code(), Some(65));
        let said = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!said.contains("example.test"), "{said}");
        let reason = said
            .lines()
            .find(|l| l.starts_with("samordna: "))
            .unwrap_or_else(|| panic!("{said}"));
        assert!(
            reason.is_ascii(),
            "machine-facing reasons in one language: {reason}"
        );
    }
    let (status, _) = inbound(&app, &cw, reply_mail(&uid, 0, guardian, "ACCEPTED")).await;
    api(status);
    assert_eq!(status, 403, "only integrations post mail");
    let (status, _) = inbound(&app, "no-token", reply_mail(&uid, 0, guardian, "ACCEPTED")).await;
    api(status);
    assert_eq!(status, 401);
    seen.sort();
    seen.dedup();
    assert_eq!(seen, [200, 401, 403, 422]);
    let results =
        &openapi["components"]["schemas"]["InboundBody"]["properties"]["result"]["description"];
    for result in ["recorded", "stale", "cancelled"] {
        assert!(results.as_str().unwrap().contains(result), "{results}");
    }
}

on_both_databases!(
    guests_with_ordinary_names_are_invited_with_their_names_intact,
    an_admin_adds_a_user_whose_name_has_parentheses,
    names_with_control_characters_are_refused_at_input,
    a_nul_anywhere_answers_4xx_without_reaching_the_database,
    a_late_reply_to_a_cancelled_meeting_keeps_the_documented_contract,
);
