//! SIP meetings through the API, on both databases: consent gates who can be invited; every
//! invitation, update and cancellation is real mail in the shape calendar clients need and carries
//! nothing about the child; answers come by link and by calendar reply.

use std::time::Duration;

use diesel::prelude::*;
use mail_parser::{MessageParser, MimeHeaders, PartType};
use samordna::accounts::Role;
use serde_json::{json, Value};

use crate::helpers::{
    error_fields, fixture, inbound, ingest_by_pipe, reply_mail, Received, SipWithPartner, TestApp,
};
use crate::on_both_databases;

const CHILD_NAME: &str = "Kim Sipbarnsson";
const CHILD_PN: &str = "20121212-1212";

/// Every message's decoded parts, as text, and the calendar inside.
struct Invitation {
    to: String,
    subject: String,
    text: String,
    calendar: String,
}

fn open(mail: &Received) -> Invitation {
    let raw = String::from_utf8_lossy(&mail.data);
    for secret in [CHILD_NAME, CHILD_PN, "Sipbarnsson"] {
        assert!(!raw.contains(secret), "{secret} in a raw message");
    }
    let message = MessageParser::default().parse(&mail.data).unwrap();
    let kind = |i: usize| {
        let c = message.parts[i].content_type().unwrap();
        format!("{}/{}", c.ctype(), c.subtype().unwrap_or_default())
    };
    assert_eq!(kind(0), "multipart/mixed");
    let PartType::Multipart(top) = &message.parts[0].body else {
        panic!("mixed")
    };
    let PartType::Multipart(alternative) = &message.parts[top[0] as usize].body else {
        panic!("alternative")
    };
    let kinds: Vec<String> = alternative.iter().map(|i| kind(*i as usize)).collect();
    assert_eq!(kinds, ["text/plain", "text/html", "text/calendar"]);
    let inline = &message.parts[alternative[2] as usize];
    let calendar = inline.text_contents().unwrap().to_string();
    let method = calendar
        .lines()
        .find_map(|l| l.strip_prefix("METHOD:"))
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(
        inline.content_type().unwrap().attribute("method"),
        Some(method.as_str()),
        "method= equals METHOD"
    );
    let attachment = &message.parts[top[1] as usize];
    assert_eq!(attachment.attachment_name(), Some("invite.ics"));
    assert_eq!(attachment.contents(), calendar.as_bytes());
    let text = message.body_text(0).unwrap().to_string();
    let html = message.body_html(0).unwrap().to_string();
    for part in [&text, &html, &calendar] {
        for secret in [CHILD_NAME, CHILD_PN, "Sipbarnsson"] {
            assert!(!part.contains(secret), "{secret} in a message part");
        }
    }
    Invitation {
        to: mail.to.join(","),
        subject: message.subject().unwrap().to_string(),
        text,
        calendar,
    }
}

fn line<'a>(calendar: &'a str, name: &str) -> &'a str {
    calendar
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .unwrap_or_else(|| panic!("{name} in {calendar}"))
        .trim()
}

/// The messages received after the first `seen`, opened and checked.
async fn next_mails(app: &TestApp, seen: &mut usize, count: usize) -> Vec<Invitation> {
    let all = app
        .smtp
        .wait_for(*seen + count, Duration::from_secs(15))
        .await;
    assert_eq!(all.len(), *seen + count, "expected {count} new messages");
    let new = all[*seen..].iter().map(open).collect();
    *seen = all.len();
    new
}

fn invitee<'a>(meeting: &'a Value, email: &str) -> Option<&'a Value> {
    meeting["invitees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["email"] == email)
}

fn status_of(meeting: &Value, email: &str) -> String {
    invitee(meeting, email)
        .map(|i| i["status"].as_str().unwrap().to_string())
        .unwrap_or_else(|| "gone".into())
}

async fn from_consent_to_meeting_with_answers(app: TestApp) {
    let (caseworker, cw) = app.caseworker_in("Ekby").await;
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let psychologist = app.add_user_in("Ekby", "bup", &[Role::Reporter]).await;
    let elsewhere = app
        .add_user_in("Annanstad", "socialtjanst", &[Role::Caseworker])
        .await;
    let cw_api = app.as_user(&cw);
    let other = app.token_for(&elsewhere).await;
    let school = app.organisation_of(&teacher.user_id).await;
    let integration = app.integration_token(&school).await;
    let mut seen = 0;
    seen += app.smtp.wait_for(4, Duration::from_secs(10)).await.len(); // welcome mails
    assert_eq!(seen, 4);

    let (status, sip) = cw_api
        .post(
            "/api/v1/sips",
            json!({"child_name": CHILD_NAME, "child_personal_number": CHILD_PN}),
        )
        .await;
    assert_eq!(status, 201, "{sip}");
    let reference = sip["reference"].as_str().unwrap().to_string();
    assert!(reference.starts_with("SIP-") && reference.len() == 8);
    let base = format!("/api/v1/sips/{}", sip["id"].as_str().unwrap());

    // Without consent no one from a partner can be invited and no meeting booked.
    let teacher_in = json!({"user_id": teacher.user_id});
    let (status, body) = cw_api
        .post(&format!("{base}/participants"), teacher_in.clone())
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("samtycke"));
    let start = (samordna::db::now() + chrono::Duration::days(3)).date();
    let meeting_in = json!({"starts_at": format!("{start}T10:00"), "minutes": 90, "place": "Kommunhuset, rum 2"});
    let (status, _) = cw_api
        .post(&format!("{base}/meetings"), meeting_in.clone())
        .await;
    assert_eq!(status, 409);

    // Consent from a guardian covering the school (not BUP).
    let (status, body) = cw_api
        .post(
            &format!("{base}/consents"),
            json!({"given_by": "", "relation": "aunt"}),
        )
        .await;
    assert_eq!(status, 422);
    let fields = error_fields(&body);
    assert_eq!(fields, ["given_by", "relation", "organisation_ids"]);
    let (status, consent) = cw_api
        .post(
            &format!("{base}/consents"),
            json!({"given_by": "Förälder Sipsson", "relation": "guardian", "organisation_ids": [school]}),
        )
        .await;
    assert_eq!(status, 201, "{consent}");
    let (status, _) = cw_api
        .post(&format!("{base}/participants"), teacher_in)
        .await;
    assert_eq!(status, 201);
    let (status, _) = cw_api
        .post(
            &format!("{base}/participants"),
            json!({"user_id": psychologist.user_id}),
        )
        .await;
    assert_eq!(status, 422, "BUP is not covered");
    // Someone with an account cannot be added as an outsider to get round the consent.
    let (status, body) = cw_api
        .post(
            &format!("{base}/participants"),
            json!({"name": "BUP-psykolog", "email": psychologist.email}),
        )
        .await;
    assert_eq!(status, 422);
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("konto"));
    let guardian = "foralder@example.test";
    let (status, _) = cw_api
        .post(
            &format!("{base}/participants"),
            json!({"name": "Sipsson, Förälder", "email": guardian, "required": false, "relation": "guardian"}),
        )
        .await;
    assert_eq!(status, 201);

    // Booking invites everyone: caseworker (chair), teacher, guardian.
    let (status, meeting) = cw_api.post(&format!("{base}/meetings"), meeting_in).await;
    assert_eq!(status, 201, "{meeting}");
    assert_eq!(meeting["invitees"].as_array().unwrap().len(), 3);
    let meeting_path = format!("/api/v1/meetings/{}", meeting["id"].as_str().unwrap());
    let invitations = next_mails(&app, &mut seen, 3).await;
    let first_start = meeting["starts_at"].as_str().unwrap().to_string();
    let mut sent: Vec<(String, String)> = invitations
        .iter()
        .map(|i| (i.calendar.clone(), first_start.clone()))
        .collect();
    let uid = line(&invitations[0].calendar, "UID:").to_string();
    for inv in &invitations {
        assert_eq!(inv.subject, format!("Inbjudan: SIP-möte (ref {reference})"));
        assert_eq!(line(&inv.calendar, "METHOD:"), "REQUEST");
        assert_eq!(line(&inv.calendar, "SEQUENCE:"), "0");
        assert_eq!(line(&inv.calendar, "UID:"), uid);
        assert!(inv.calendar.contains(&format!(
            "DTSTART;TZID=Europe/Stockholm:{}T100000",
            start.format("%Y%m%d")
        )));
        assert!(inv.text.contains("kl. 10.00–11.30"));
    }
    let teacher_mail = invitations
        .iter()
        .find(|i| i.to.contains(&teacher.email))
        .unwrap();
    assert!(
        !teacher_mail.calendar.contains(guardian) && !teacher_mail.calendar.contains("Sipsson"),
        "no one learns from their invitation who else takes part"
    );
    assert!(teacher_mail.calendar.contains("RSVP=TRUE"));
    let chair = invitations
        .iter()
        .find(|i| i.to.contains(&caseworker.email))
        .unwrap();
    assert!(!chair.text.contains("/svar/"), "the chair does not answer");

    // The teacher answers through the link, without logging in.
    let link = teacher_mail
        .text
        .split_whitespace()
        .find(|w| w.contains("/svar/"))
        .unwrap();
    let path = &link[link.find("/svar/").unwrap()..];
    let browser = app.fresh_browser();
    let page = browser.page(path).await;
    assert!(page.contains("kl. 10.00–11.30") && !page.contains(CHILD_NAME));
    let response = browser.submit(path, path, &[("answer", "accepted")]).await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Ditt svar är sparat"));
    let response = browser
        .client
        .get(app.url("/svar/not-a-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);

    // The guardian answers from their calendar: a REPLY mailed to the organizer.
    let (status, body) = inbound(
        &app,
        &integration,
        reply_mail(&uid, 0, guardian, "DECLINED"),
    )
    .await;
    assert_eq!(
        (status, body["result"].as_str()),
        (200, Some("recorded")),
        "{body}"
    );
    let (_, now) = app.as_user(&cw).get(&meeting_path).await;
    assert_eq!(status_of(&now, &caseworker.email), "accepted", "the chair");
    assert_eq!(status_of(&now, guardian), "declined");
    assert_eq!(status_of(&now, &teacher.email), "accepted");
    assert!(invitee(&now, &teacher.email).unwrap()["status_changed_at"].is_string());

    // Bad inbound mail: a clear 422, nothing changed; only integrations may post.
    for (raw, says) in [
        (
            "Subject: hej\r\n\r\nInget här".to_string(),
            "no calendar part",
        ),
        (
            reply_mail("okand-uid@x", 0, guardian, "ACCEPTED"),
            "no meeting",
        ),
        (
            reply_mail(&uid, 0, guardian, "ACCEPTED").replace("METHOD:REPLY", "METHOD:COUNTER"),
            "not REPLY",
        ),
        (
            reply_mail(&uid, 0, guardian, "ACCEPTED").replacen(
                &format!("<{guardian}>"),
                "<nagon.annan@example.test>",
                1,
            ),
            "not the attendee",
        ),
    ] {
        let (status, body) = inbound(&app, &integration, raw).await;
        assert_eq!(status, 422);
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(says),
            "{body}"
        );
    }
    let (status, _) = inbound(&app, &cw, reply_mail(&uid, 0, guardian, "ACCEPTED")).await;
    assert_eq!(status, 403);

    // Moving the meeting: same UID, SEQUENCE 1, to all.
    let (status, moved) = cw_api
        .patch(
            &meeting_path,
            json!({"starts_at": format!("{start}T13:00"), "minutes": 60, "place": "Kommunhuset, rum 2"}),
        )
        .await;
    assert_eq!(
        (status, moved["sequence"].as_i64()),
        (200, Some(1)),
        "{moved}"
    );
    let moved_start = moved["starts_at"].as_str().unwrap().to_string();
    let updates = next_mails(&app, &mut seen, 3).await;
    sent.extend(
        updates
            .iter()
            .map(|i| (i.calendar.clone(), moved_start.clone())),
    );
    for inv in updates {
        assert!(inv.subject.starts_with("Ändrat:"));
        assert_eq!(
            (
                line(&inv.calendar, "UID:"),
                line(&inv.calendar, "SEQUENCE:")
            ),
            (uid.as_str(), "1")
        );
    }
    // Answers were to the old time: everyone but the chair is asked again.
    let (_, now) = app.as_user(&cw).get(&meeting_path).await;
    assert_eq!(status_of(&now, &teacher.email), "needs_action");
    assert_eq!(status_of(&now, &caseworker.email), "accepted");
    // A late answer to the old version is ignored.
    let (_, body) = inbound(
        &app,
        &integration,
        reply_mail(&uid, 0, guardian, "ACCEPTED"),
    )
    .await;
    assert_eq!(body["result"], "stale");

    // Removing the guardian: a cancellation to them, an update to the rest.
    let guardian_id = invitee(&moved, guardian).unwrap()["participant_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = cw_api
        .post(
            &format!("{base}/participants/{guardian_id}/remove"),
            json!({}),
        )
        .await;
    assert_eq!(status, 204);
    let mails = next_mails(&app, &mut seen, 3).await;
    sent.extend(
        mails
            .iter()
            .map(|i| (i.calendar.clone(), moved_start.clone())),
    );
    let to_guardian = mails.iter().find(|m| m.to.contains(guardian)).unwrap();
    assert_eq!(line(&to_guardian.calendar, "METHOD:"), "CANCEL");
    assert!(
        !to_guardian.calendar.contains("STATUS:") && !to_guardian.calendar.contains(&teacher.email),
        "an uninvitation names only the one uninvited"
    );
    assert!(mails
        .iter()
        .filter(|m| !m.to.contains(guardian))
        .all(|m| line(&m.calendar, "METHOD:") == "REQUEST" && !m.calendar.contains(guardian)));

    // Withdrawing the consent takes the school out at once.
    let path = format!(
        "{base}/consents/{}/withdraw",
        consent["id"].as_str().unwrap()
    );
    let (status, body) = app.as_user(&cw).post(&path, json!({})).await;
    assert_eq!(
        (status, body["removed_participants"].as_u64()),
        (200, Some(1))
    );
    let mails = next_mails(&app, &mut seen, 2).await;
    sent.extend(
        mails
            .iter()
            .map(|i| (i.calendar.clone(), moved_start.clone())),
    );
    let to_teacher = mails
        .iter()
        .find(|m| m.to.contains(&teacher.email))
        .unwrap();
    assert_eq!(line(&to_teacher.calendar, "METHOD:"), "CANCEL");
    let (_, now) = app.as_user(&cw).get(&meeting_path).await;
    assert_eq!(now["invitees"].as_array().unwrap().len(), 1, "{now}");

    // Another municipality's caseworker sees nothing.
    let (status, _) = app.as_user(&other).get(&meeting_path).await;
    assert_eq!(status, 404);
    let (status, _) = app
        .as_user(&other)
        .post(&format!("{base}/consents"), json!({}))
        .await;
    assert_eq!(status, 404);

    // Cancelling: METHOD:CANCEL with STATUS:CANCELLED to whoever is left.
    let (status, _) = cw_api
        .post(&format!("{meeting_path}/cancel"), json!({}))
        .await;
    assert_eq!(status, 204);
    let mails = next_mails(&app, &mut seen, 1).await;
    sent.extend(
        mails
            .iter()
            .map(|i| (i.calendar.clone(), moved_start.clone())),
    );
    assert!(mails[0].subject.starts_with("Inställt:"));
    assert_eq!(line(&mails[0].calendar, "STATUS:"), "CANCELLED");
    assert_eq!(
        line(&mails[0].calendar, "SEQUENCE:"),
        "2",
        "the move and the cancellation; changes of who takes part keep SEQUENCE"
    );

    // Every calendar object sent reads the same in libical, vobject, Python icalendar and
    // ical.js, and Radicale accepts it.
    let description = format!(
        "Logga in i Samordna för att läsa mer: {}\nAv sekretesskäl står inget om ärendet här.",
        app.state.settings.link("/mina-moten")
    );
    let objects = sent
        .into_iter()
        .enumerate()
        .map(|(n, (ics, start))| {
            let ours = samordna::calendar::reply::parse_calendars(&ics).unwrap();
            let cns = ours[0].events[0]
                .properties
                .iter()
                .filter(|p| p.name == "ATTENDEE")
                .map(|p| {
                    samordna::calendar::reply::param(p, "CN")
                        .unwrap()
                        .to_string()
                })
                .collect();
            let start = chrono::NaiveDateTime::parse_from_str(&start, "%Y-%m-%dT%H:%M:%S").unwrap();
            crate::calendar_interop::Object {
                label: format!("message {n}"),
                ics,
                events: vec![crate::calendar_interop::Expected {
                    summary: format!("SIP-möte (ref {reference})"),
                    description: description.clone(),
                    location: "Kommunhuset, rum 2".into(),
                    cns,
                    start_utc: start.and_utc().timestamp(),
                }],
            }
        })
        .collect();
    crate::calendar_interop::verify(objects).await;
}

on_both_databases!(from_consent_to_meeting_with_answers);

async fn feed_reminder_and_piped_replies(app: TestApp) {
    let (_, cw) = app.caseworker_in("Ekby").await;
    let nurse = app.add_user_in("Ekby", "bvc", &[Role::Reporter]).await;
    let mut seen = app.smtp.wait_for(2, Duration::from_secs(10)).await.len();
    let (base, sip, _, _) = app.sip_with(&cw, CHILD_NAME, &nurse).await;

    // A meeting in two hours: invitations at once, and the reminder (due 24 h before) right after.
    let soon = samordna::time::local(samordna::db::now() + chrono::Duration::hours(2));
    let meeting = app
        .book_meeting(
            &cw,
            &base,
            json!({"starts_at": soon.format("%Y-%m-%dT%H:%M").to_string(), "minutes": 60, "place": "Familjecentralen"}),
        )
        .await;
    let all = app.smtp.wait_for(seen + 4, Duration::from_secs(15)).await;
    assert_eq!(all.len(), seen + 4, "two invitations and two reminders");
    let reminders: Vec<&Received> = all[seen..]
        .iter()
        .filter(|m| {
            m.parsed()
                .subject()
                .unwrap_or_default()
                .starts_with("Påminnelse:")
        })
        .collect();
    assert_eq!(reminders.len(), 2);
    for r in &reminders {
        let text = r.parsed().body_text(0).unwrap().to_string();
        assert!(!text.contains(CHILD_NAME) && text.contains("SIP-möte (ref SIP-"));
    }
    seen += 4;
    actix_web::rt::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(app.smtp.received().len(), seen, "one reminder only");

    // The nurse's calendar feed: made on the profile page, shown once, neutral, cached by ETag.
    let browser = app.fresh_browser();
    browser.login(&nurse).await;
    let response = browser.submit("/profil", "/profil/kalender", &[]).await;
    let html = response.text().await.unwrap();
    let address = crate::helpers::shown_once(&html);
    let path = &address[address.find("/calendar/").unwrap()..];
    let feed = reqwest::get(app.url(path)).await.unwrap();
    assert_eq!(feed.status().as_u16(), 200);
    assert_eq!(
        feed.headers()["content-type"],
        "text/calendar; charset=utf-8"
    );
    let etag = feed.headers()["etag"].to_str().unwrap().to_string();
    let body = feed.text().await.unwrap();
    assert!(
        body.contains("REFRESH-INTERVAL;VALUE=DURATION:PT1H")
            && body.contains("X-PUBLISHED-TTL:PT1H")
    );
    assert!(body.contains(&format!("UID:{}", meeting["uid"].as_str().unwrap())));
    assert!(!body.contains(CHILD_NAME) && !body.contains("ATTENDEE"));
    let again = reqwest::Client::new()
        .get(app.url(path))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 304);
    let start = chrono::NaiveDateTime::parse_from_str(
        meeting["starts_at"].as_str().unwrap(),
        "%Y-%m-%dT%H:%M:%S",
    )
    .unwrap();
    crate::calendar_interop::verify(vec![crate::calendar_interop::Object {
        label: "feed".into(),
        ics: body,
        events: vec![crate::calendar_interop::Expected {
            summary: format!("SIP-möte (ref {})", sip["reference"].as_str().unwrap()),
            description: format!(
                "Logga in i Samordna för att läsa mer: {}\nAv sekretesskäl står inget om ärendet här.",
                app.state.settings.link("/mina-moten")
            ),
            location: "Familjecentralen".into(),
            cns: Vec::new(),
            start_utc: start.and_utc().timestamp(),
        }],
    }])
    .await;

    // Replaced: the old address stops working. Turned off: no address works.
    let response = browser.submit("/profil", "/profil/kalender", &[]).await;
    let newer = crate::helpers::shown_once(&response.text().await.unwrap());
    let newer_path = newer[newer.find("/calendar/").unwrap()..].to_string();
    assert_eq!(
        reqwest::get(app.url(path)).await.unwrap().status().as_u16(),
        404
    );
    assert_eq!(
        reqwest::get(app.url(&newer_path))
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    browser
        .submit("/profil", "/profil/kalender/stang", &[])
        .await;
    assert_eq!(
        reqwest::get(app.url(&newer_path))
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );

    // A calendar reply delivered by pipe to `samordna ingest-mail`.
    let uid = meeting["uid"].as_str().unwrap();
    let out = ingest_by_pipe(&app, &reply_mail(uid, 0, &nurse.email, "TENTATIVE"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("recorded"));
    let meeting_path = format!("/api/v1/meetings/{}", meeting["id"].as_str().unwrap());
    let (_, now) = app.as_user(&cw).get(&meeting_path).await;
    assert_eq!(status_of(&now, &nurse.email), "tentative");
    let out = ingest_by_pipe(&app, "Subject: inget\r\n\r\nhej");
    assert_eq!(
        out.status.code(),
        Some(65),
        "a bad message is refused, not dropped"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no calendar part"));
}

on_both_databases!(feed_reminder_and_piped_replies);

async fn sip_pages_keep_input_and_hide_other_municipalities(app: TestApp) {
    let caseworker = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Caseworker])
        .await;
    let elsewhere = app
        .add_user_in("Annanstad", "socialtjanst", &[Role::Caseworker])
        .await;
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    app.login(&caseworker).await;

    let response = app
        .submit(
            "/sip",
            "/sip",
            &[("child_personal_number", "20121212-1213")],
        )
        .await;
    assert_eq!(response.status().as_u16(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"child_name-error\"") && html.contains("kontrollsiffran"));
    assert!(html.contains("value=\"20121212-1213\""));
    let response = app
        .submit(
            "/sip",
            "/sip",
            &[
                ("child_name", CHILD_NAME),
                ("child_personal_number", CHILD_PN),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let page = response.headers()["location"].to_str().unwrap().to_string();
    let html = app.page(&page).await;
    assert!(html.contains(CHILD_NAME) && html.contains("Inget samtycke"));

    // A consent with mistakes comes back with what was typed.
    let response = app
        .submit(
            &page,
            &format!("{page}/samtycke"),
            &[("given_by", "Förälder Ett"), ("valid_until", "snart")],
        )
        .await;
    assert_eq!(response.status().as_u16(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("value=\"Förälder Ett\"") && html.contains("value=\"snart\""));
    assert!(html.contains("id=\"relation-error\"") && html.contains("id=\"valid_until-error\""));

    // Booking before consent says why.
    let day = (samordna::db::now() + chrono::Duration::days(4))
        .date()
        .to_string();
    let response = app
        .submit(
            &page,
            &format!("{page}/moten"),
            &[
                ("starts_at", &format!("{day} 09:00")),
                ("minutes", "60"),
                ("place", "Rum 2"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 409);
    assert!(response.text().await.unwrap().contains("samtycke"));
    let list = app.page("/sip").await;
    assert!(list.contains("Inget möte bokat"));

    // Others see nothing, and the refusal is audited like any other.
    for login in [&elsewhere, &teacher] {
        let browser = app.fresh_browser();
        browser.login(login).await;
        let response = browser.client.get(app.url(&page)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 404);
        assert!(!response.text().await.unwrap().contains(CHILD_NAME));
    }
}

on_both_databases!(sip_pages_keep_input_and_hide_other_municipalities);

async fn the_plan_keeps_every_version_and_books_its_follow_up(app: TestApp) {
    let (caseworker, cw) = app.caseworker_in("Ekby").await;
    let psychologist = app.add_user_in("Ekby", "bup", &[Role::Reporter]).await;
    let bup = app.organisation_of(&psychologist.user_id).await;
    let soc = app.organisation_of(&caseworker.user_id).await;
    let (base, sip) = app.open_sip(&cw, json!({"child_name": CHILD_NAME})).await;
    let sip_id = sip["id"].as_str().unwrap().to_string();
    app.give_consent(&cw, &base, "Förälder", &[&bup]).await;
    let day = (samordna::db::now() + chrono::Duration::days(6)).date();
    let (_, meeting) = app
        .as_user(&cw)
        .post(
            &format!("{base}/meetings"),
            json!({"starts_at": format!("{day}T14:15"), "minutes": 45, "place": "Rum 4"}),
        )
        .await;
    let plan_path = format!("/api/v1/meetings/{}/plan", meeting["id"].as_str().unwrap());

    let (status, body) = app
        .as_user(&cw)
        .put(&plan_path, json!({"goals": ["", " "]}))
        .await;
    assert_eq!(status, 422);
    let fields = error_fields(&body);
    assert_eq!(
        fields,
        [
            "needs",
            "goals[0]",
            "measures[0].description",
            "lead_organisation_id"
        ]
    );

    let plan = json!({
        "needs": "Stöd i skolan; trygghet hemma.",
        "goals": ["Jag vill kunna sova hela natten."],
        "measures": [{"description": "Samtal varannan vecka", "organisation_id": bup, "principal": "region"}],
        "lead_organisation_id": soc
    });
    let (status, first) = app.as_user(&cw).put(&plan_path, plan.clone()).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["version"], 1);
    assert_eq!(
        first["follow_up_on"],
        (day + chrono::Months::new(6)).to_string(),
        "six months by default"
    );
    let mut second = plan.clone();
    second["goals"] = json!([
        "Jag vill kunna sova hela natten.",
        "Jag vill gå till skolan."
    ]);
    second["follow_up_on"] = json!((day + chrono::Months::new(3)).to_string());
    let (status, _) = app.as_user(&cw).put(&plan_path, second).await;
    assert_eq!(status, 201);
    let (_, versions) = app.as_user(&cw).get(&format!("{base}/plans")).await;
    let numbers: Vec<i64> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [2, 1], "earlier versions stay");
    assert_eq!(versions[1]["goals"].as_array().unwrap().len(), 1);

    // The family's copy, and the follow-up in one step from the SIP's page.
    app.login(&caseworker).await;
    let print = app.page(&format!("/sip/{sip_id}/plan")).await;
    assert!(
        print.contains("Version 2")
            && print.contains("Jag vill gå till skolan.")
            && print.contains("Region")
    );
    let old = app.page(&format!("/sip/{sip_id}/plan?version=1")).await;
    assert!(old.contains("Version 1") && !old.contains("Jag vill gå till skolan."));
    let list = app.page("/sip").await;
    let follow = (day + chrono::Months::new(3)).to_string();
    assert!(list.contains(&follow), "the follow-up date on the list");
    let page = format!("/sip/{sip_id}");
    let response = app.submit(&page, &format!("{page}/uppfoljning"), &[]).await;
    assert_eq!(response.status().as_u16(), 303);
    let html = app
        .page(response.headers()["location"].to_str().unwrap())
        .await;
    assert!(html.contains("Uppföljningsmötet är bokat"));
    let id = sip_id.clone();
    let starts: Vec<chrono::NaiveDateTime> = app
        .conn(move |c| {
            samordna::db::schema::meetings::table
                .filter(samordna::db::schema::meetings::sip_id.eq(id))
                .order(samordna::db::schema::meetings::starts_at)
                .select(samordna::db::schema::meetings::starts_at)
                .load(c)
                .unwrap()
        })
        .await;
    let local: Vec<String> = starts
        .iter()
        .map(|s| {
            samordna::time::local(*s)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .collect();
    assert_eq!(
        local,
        [format!("{day} 14:15"), format!("{follow} 14:15")],
        "same time of day, on the follow-up date"
    );
}

on_both_databases!(the_plan_keeps_every_version_and_books_its_follow_up);

async fn replies_as_real_calendar_clients_send_them(app: TestApp) {
    let SipWithPartner {
        cw,
        base,
        partner: teacher,
        school,
        ..
    } = app.sip_with_partner(CHILD_NAME).await;
    let integration = app.integration_token(&school).await;
    let day = (samordna::db::now() + chrono::Duration::days(9)).date();
    let (_, meeting) = app
        .as_user(&cw)
        .post(
            &format!("{base}/meetings"),
            json!({"starts_at": format!("{day}T09:30"), "minutes": 90, "place": "Rum 2"}),
        )
        .await;
    let uid = meeting["uid"].as_str().unwrap();
    let meeting_path = format!("/api/v1/meetings/{}", meeting["id"].as_str().unwrap());

    for (client, partstat) in [
        ("outlook", "accepted"),
        ("apple", "tentative"),
        ("gmail", "accepted"),
        ("thunderbird", "declined"),
    ] {
        // Outlook writes the address as the user typed it in their address book.
        let email = if client == "outlook" {
            teacher.email.to_uppercase()
        } else {
            teacher.email.clone()
        };
        let raw = fixture(client, uid, 0, &email);
        let (status, body) = inbound(&app, &integration, raw).await;
        assert_eq!(
            (status, body["result"].as_str()),
            (200, Some("recorded")),
            "{client}: {body}"
        );
        let (_, now) = app.as_user(&cw).get(&meeting_path).await;
        assert_eq!(status_of(&now, &teacher.email), partstat, "{client}");
    }
    // A reply for someone not invited matches nothing, and says so.
    let (status, body) = inbound(
        &app,
        &integration,
        fixture("gmail", uid, 0, "nagon.annan@example.test"),
    )
    .await;
    assert_eq!(status, 422);
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("no meeting"));
}

on_both_databases!(replies_as_real_calendar_clients_send_them);

async fn partners_see_their_sip_only_while_consent_lasts(app: TestApp) {
    let (_, cw) = app.caseworker_in("Ekby").await;
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let outsider = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let school = app.organisation_of(&teacher.user_id).await;
    let mut seen = app.smtp.wait_for(3, Duration::from_secs(10)).await.len();
    let (_, sip) = app
        .as_user(&cw)
        .post("/api/v1/sips", json!({"child_name": CHILD_NAME}))
        .await;
    let sip_id = sip["id"].as_str().unwrap().to_string();
    let base = format!("/api/v1/sips/{sip_id}");
    let today = samordna::time::local(samordna::db::now()).date();
    let (status, consent) = app
        .as_user(&cw)
        .post(
            &format!("{base}/consents"),
            json!({"given_by": "Förälder", "relation": "guardian", "organisation_ids": [school],
               "valid_until": today.to_string()}),
        )
        .await;
    assert_eq!(status, 201, "{consent}");
    app.as_user(&cw)
        .post(
            &format!("{base}/participants"),
            json!({"user_id": teacher.user_id}),
        )
        .await;
    let day = (samordna::db::now() + chrono::Duration::days(8)).date();
    app.as_user(&cw)
        .post(
            &format!("{base}/meetings"),
            json!({"starts_at": format!("{day}T10:00"), "minutes": 60, "place": "Rum 1"}),
        )
        .await;
    seen += app
        .smtp
        .wait_for(seen + 2, Duration::from_secs(10))
        .await
        .len()
        - seen;

    // The teacher sees the SIP and its plan page; a colleague at the same school does not.
    let partner = app.fresh_browser();
    partner.login(&teacher).await;
    let mine = partner.page("/mina-moten").await;
    assert!(mine.contains(CHILD_NAME) && mine.contains("Inget svar") && mine.contains("/svar/"));
    let plan = format!("/mina-moten/{sip_id}/plan");
    let response = partner.client.get(app.url(&plan)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let colleague = app.fresh_browser();
    colleague.login(&outsider).await;
    assert!(!colleague.page("/mina-moten").await.contains(CHILD_NAME));
    let response = colleague.client.get(app.url(&plan)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 404);

    // The consent runs out (its last day was yesterday): access ends and a cancellation goes out.
    let id = consent["id"].as_str().unwrap().to_string();
    let yesterday = today - chrono::Days::new(1);
    app.conn(move |c| {
        diesel::update(samordna::db::schema::consents::table.find(id))
            .set(samordna::db::schema::consents::valid_until.eq(yesterday))
            .execute(c)
            .unwrap()
    })
    .await;
    let all = app.smtp.wait_for(seen + 2, Duration::from_secs(10)).await;
    assert_eq!(
        all.len(),
        seen + 2,
        "a cancellation to the teacher, an update to the caseworker"
    );
    let to_teacher = all[seen..]
        .iter()
        .find(|m| m.to.iter().any(|t| t.contains(&teacher.email)))
        .map(open)
        .expect("the teacher is told");
    assert_eq!(line(&to_teacher.calendar, "METHOD:"), "CANCEL");
    assert!(!partner.page("/mina-moten").await.contains(CHILD_NAME));
    let response = partner.client.get(app.url(&plan)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 404);
}

on_both_databases!(partners_see_their_sip_only_while_consent_lasts);

/// The plan written on its page: the caseworker is sent on to the plan, which says it was saved
/// (the page's confirmation, `?sparat=plan`); without that word the plan shows no confirmation.
async fn a_plan_written_on_its_page_is_confirmed_there(app: TestApp) {
    let given = app.sip_with_partner(CHILD_NAME).await;
    let (sip, school) = (&given.sip, &given.school);
    let day = (samordna::db::now() + chrono::Duration::days(3)).date();
    let meeting = json!({"starts_at": format!("{day}T10:00"), "minutes": 60, "place": "Rum 1"});
    let meeting = app.book_meeting(&given.cw, &given.base, meeting).await;
    app.login(&given.caseworker).await;
    let form = format!("/sip/{sip}/moten/{}/plan", meeting["id"].as_str().unwrap());
    let response = app
        .submit(
            &form,
            &form,
            &[
                ("needs", "Stöd i skolan."),
                ("goals[0]", "Jag vill trivas i skolan."),
                ("measures[0].description", "Samtal varje vecka"),
                ("measures[0].organisation_id", school),
                ("measures[0].principal", "kommun"),
                ("lead_organisation_id", school),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(location, format!("/sip/{sip}/plan?sparat=plan"));
    let page = app.page(&location).await;
    assert!(page.contains("Planen är sparad."), "{page}");
    assert!(page.contains("Samtal varje vecka"), "{page}");
    let page = app.page(&format!("/sip/{sip}/plan")).await;
    assert!(!page.contains("Planen är sparad."), "{page}");
}

on_both_databases!(a_plan_written_on_its_page_is_confirmed_there);
