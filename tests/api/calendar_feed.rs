//! The calendar feed's ETag and its cache, on both databases: the ETag changes whenever anything
//! the feed shows changes (a meeting moved, its place changed, cancelled, the person removed,
//! someone else removed, a consent withdrawn or run out), a 304 is given only while nothing has,
//! and a second instance that kept an older rendering never serves it after a change.

use std::time::Duration;

use diesel::prelude::*;
use samordna::accounts::Role;
use samordna::db::schema::consents;
use serde_json::{json, Value};

use crate::helpers::{Db, TestApp, BACKGROUND_PASS_OFF};
use crate::on_both_kinds;

const CHILD_NAME: &str = "Kim Flödesbarn";
const CHILD_PN: &str = "20121212-1212";

/// One read of the feed: status, ETag and body.
async fn read(app: &TestApp, path: &str, etag: Option<&str>) -> (u16, String, String) {
    let mut request = app.anon().request(reqwest::Method::GET, path);
    if let Some(etag) = etag {
        request = request.header("if-none-match", etag);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    (status, etag, response.text().await.unwrap())
}

/// The feed and its ETag after a change: the old ETag no longer gives 304 but the new feed, on
/// both instances (the other one kept the feed from before the change), and the new ETag gives
/// 304 again.
async fn changed(
    apps: [&TestApp; 2],
    path: [&str; 2],
    etags: &mut [String; 2],
    what: &str,
) -> String {
    let mut body = String::new();
    for i in 0..2 {
        let (status, etag, text) = read(apps[i], path[i], Some(&etags[i])).await;
        assert_eq!(status, 200, "instance {i}: {what} must change the ETag");
        assert_ne!(etag, etags[i], "instance {i}: {what}");
        let (again, same, _) = read(apps[i], path[i], Some(&etag)).await;
        assert_eq!((again, same.as_str()), (304, etag.as_str()), "instance {i}");
        if i == 0 {
            body = text;
        } else {
            // The same feed, but for the address of the instance in its links.
            let text = text.replace(&apps[1].address, &apps[0].address);
            assert_eq!(text, body, "both instances send the same feed after {what}");
        }
        etags[i] = etag;
    }
    assert!(!body.contains(CHILD_NAME) && !body.contains("Flödesbarn"));
    body
}

fn line<'a>(calendar: &'a str, uid: &str, name: &str) -> Option<&'a str> {
    let event = calendar
        .split("BEGIN:VEVENT\r\n")
        .find(|e| e.contains(&format!("UID:{uid}\r\n")))?;
    event
        .split("\r\n")
        .find(|l| l.starts_with(name))
        .map(|l| &l[name.len()..])
}

async fn feed_etag_changes_with_everything_the_feed_shows(kind: Db) {
    // Two instances on one database, each keeping its own rendered feeds; neither runs the
    // background pass during the test, which would take the partner whose consent runs out (at
    // the end) off their meetings at a moment of its own choosing and change the feed again.
    let app = TestApp::spawn_with(kind, &[BACKGROUND_PASS_OFF], true).await;
    let other = TestApp::spawn_on(
        app.db.clone(),
        app.smtp.clone(),
        kind,
        &[BACKGROUND_PASS_OFF],
    )
    .await;
    let (_, cw) = app.caseworker_in("Ekby").await;
    let nurse = app.add_user_in("Ekby", "bvc", &[Role::Reporter]).await;
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let (bvc, school) = (
        app.organisation_of(&nurse.user_id).await,
        app.organisation_of(&teacher.user_id).await,
    );
    let start = (samordna::time::local(samordna::db::now()) + chrono::Duration::days(20)).date();
    let mut consent_ids = Vec::new();
    let mut nurse_in = Vec::new();
    let mut teacher_in = Vec::new();
    let mut meetings: Vec<Value> = Vec::new();
    // Four SIPs: one for changes to meetings, one each for removing the nurse, withdrawing the
    // consent and letting it run out.
    let mut bases = Vec::new();
    for s in 0..4 {
        let sip = app
            .as_user(&cw)
            .post_ok(
                "/api/v1/sips",
                json!({"child_name": CHILD_NAME, "child_personal_number": CHILD_PN}),
            )
            .await;
        let base = format!("/api/v1/sips/{}", sip["id"].as_str().unwrap());
        let consent = app
            .as_user(&cw)
            .post_ok(
                &format!("{base}/consents"),
                json!({"given_by": "Förälder", "relation": "guardian", "organisation_ids": [bvc, school]}),
            )
            .await;
        consent_ids.push(consent["id"].as_str().unwrap().to_string());
        let p = app
            .as_user(&cw)
            .post_ok(
                &format!("{base}/participants"),
                json!({"user_id": nurse.user_id}),
            )
            .await;
        nurse_in.push(p["id"].as_str().unwrap().to_string());
        let p = app
            .as_user(&cw)
            .post_ok(
                &format!("{base}/participants"),
                json!({"user_id": teacher.user_id}),
            )
            .await;
        teacher_in.push(p["id"].as_str().unwrap().to_string());
        for m in 0..if s == 0 { 3 } else { 1 } {
            meetings.push(
                app
                    .as_user(&cw)
                    .post_ok(
                        &format!("{base}/meetings"),
                        json!({"starts_at": format!("{}T{:02}:00", start + chrono::Days::new(s * 3 + m), 9 + m), "minutes": 60, "place": format!("Rum {s}{m}")}),
                    )
                    .await,
            );
        }
        bases.push(base);
    }
    let uid = |i: usize| meetings[i]["uid"].as_str().unwrap().to_string();
    let meeting_path =
        |i: usize| format!("/api/v1/meetings/{}", meetings[i]["id"].as_str().unwrap());

    let browser = app.fresh_browser();
    browser.login(&nurse).await;
    let html = browser
        .submit("/profil", "/profil/kalender", &[])
        .await
        .text()
        .await
        .unwrap();
    let address = crate::helpers::shown_once(&html);
    let path = address[address.find("/calendar/").unwrap()..].to_string();
    let apps = [&app, &other];
    let paths = [path.as_str(), path.as_str()];
    let mut etags = [String::new(), String::new()];
    let mut first = String::new();
    for i in 0..2 {
        let (status, etag, body) = read(apps[i], &path, None).await;
        assert_eq!(status, 200);
        assert_eq!(body.matches("BEGIN:VEVENT").count(), 6, "{body}");
        // Nothing changed: the same ETag, 304, and the same body from the cache.
        let (again, same, _) = read(apps[i], &path, Some(&etag)).await;
        assert_eq!((again, same.as_str()), (304, etag.as_str()));
        let (status, same, cached) = read(apps[i], &path, Some("\"something-else\"")).await;
        assert_eq!(
            (status, same.as_str(), cached.as_str()),
            (200, etag.as_str(), body.as_str())
        );
        if i == 0 {
            first = body;
        } else {
            assert_eq!(
                body.replace(&other.address, &app.address),
                first,
                "both instances write the same feed"
            );
        }
        etags[i] = etag;
    }
    assert_eq!(line(&first, &uid(1), "LOCATION:"), Some("Rum 01"));

    // A meeting moved.
    let moved_to = format!("{}T14:30", start + chrono::Days::new(1));
    app.as_user(&cw)
        .send_ok(
            reqwest::Method::PATCH,
            &meeting_path(0),
            json!({"starts_at": moved_to, "minutes": 45, "place": "Rum 00"}),
        )
        .await;
    let body = changed(apps, paths, &mut etags, "moving a meeting").await;
    let local = format!("{}00", moved_to.replace(['-', ':'], ""));
    assert_eq!(
        line(&body, &uid(0), "DTSTART;TZID=Europe/Stockholm:"),
        Some(local.as_str())
    );
    assert_eq!(line(&body, &uid(0), "SEQUENCE:"), Some("1"));

    // Only the place changed.
    let same_time = format!("{}T10:00", start + chrono::Days::new(1));
    app.as_user(&cw)
        .send_ok(
            reqwest::Method::PATCH,
            &meeting_path(1),
            json!({"starts_at": same_time, "minutes": 60, "place": "Stadshuset"}),
        )
        .await;
    let body = changed(apps, paths, &mut etags, "a new place").await;
    assert_eq!(line(&body, &uid(1), "LOCATION:"), Some("Stadshuset"));

    // Someone else removed from the first SIP: the nurse's events get a new DTSTAMP.
    let stamp_before = line(&body, &uid(1), "DTSTAMP:").unwrap().to_string();
    actix_web::rt::time::sleep(Duration::from_millis(1100)).await;
    app.as_user(&cw)
        .post_ok(
            &format!("{}/participants/{}/remove", bases[0], teacher_in[0]),
            json!({}),
        )
        .await;
    let body = changed(apps, paths, &mut etags, "removing another participant").await;
    assert_ne!(line(&body, &uid(1), "DTSTAMP:").unwrap(), stamp_before);

    // A meeting cancelled.
    app.as_user(&cw)
        .post_ok(&format!("{}/cancel", meeting_path(2)), json!({}))
        .await;
    let body = changed(apps, paths, &mut etags, "cancelling a meeting").await;
    assert!(!body.contains(&uid(2)) && body.contains(&uid(1)));

    // The nurse removed from the second SIP.
    app.as_user(&cw)
        .post_ok(
            &format!("{}/participants/{}/remove", bases[1], nurse_in[1]),
            json!({}),
        )
        .await;
    let body = changed(apps, paths, &mut etags, "removing the person").await;
    assert!(!body.contains(&uid(3)));

    // The consent of the third SIP withdrawn.
    app.as_user(&cw)
        .post_ok(
            &format!("{}/consents/{}/withdraw", bases[2], consent_ids[2]),
            json!({}),
        )
        .await;
    let body = changed(apps, paths, &mut etags, "withdrawing a consent").await;
    assert!(!body.contains(&uid(4)));

    // The consent of the fourth SIP ran out yesterday, and the background pass that removes its
    // participants has not run yet: the feed stops showing its meeting all the same.
    let consent = consent_ids[3].clone();
    let yesterday = samordna::time::local(samordna::db::now()).date() - chrono::Days::new(1);
    app.conn(move |c| {
        diesel::update(consents::table.find(consent))
            .set((
                consents::given_on.eq(yesterday - chrono::Days::new(30)),
                consents::valid_until.eq(Some(yesterday)),
            ))
            .execute(c)
            .unwrap()
    })
    .await;
    let body = changed(apps, paths, &mut etags, "a consent running out").await;
    assert!(!body.contains(&uid(5)));
    assert_eq!(body.matches("BEGIN:VEVENT").count(), 2, "{body}");
}

on_both_kinds!(feed_etag_changes_with_everything_the_feed_shows);
