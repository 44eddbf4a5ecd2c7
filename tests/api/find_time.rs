//! Finding a time, on both databases: busy times from a partner's calendar address (read over
//! HTTP with ETag, kept when the calendar breaks, shown as stale with the line) and from uploaded
//! files, the service's own meetings, working hours, the slots API, and the one-click booking
//! that checks the calendars again. No calendar content reaches the database.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{Duration as Days, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use samordna::accounts::{Role, UserId};
use samordna::db::schema::{busy_sources, meetings};
use samordna::reports::deadlines::{local, to_utc};
use samordna::workdays::is_working_day;
use serde_json::{json, Value};

use crate::helpers::{Db, Login, TestApp};
use crate::on_both_databases;

const SECRET_TITLE: &str = "Samtal om familjen Hemligsson";
const SECRET_PLACE: &str = "Avdelning Ekorren";

/// A calendar served over HTTP on loopback, with an ETag; answers 304 to a matching
/// If-None-Match and records every request's head.
struct CalendarServer {
    url: String,
    served: Arc<Mutex<(String, String, Vec<String>)>>,
}

impl CalendarServer {
    fn start(body: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/kalender/hemlig-123.ics",
            listener.local_addr().unwrap()
        );
        let served = Arc::new(Mutex::new((body, "\"v1\"".to_string(), Vec::new())));
        let shared = served.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).to_string();
                let (body, etag) = {
                    let mut s = shared.lock().unwrap();
                    s.2.push(head.clone());
                    (s.0.clone(), s.1.clone())
                };
                let unchanged = head.lines().any(|l| {
                    l.to_ascii_lowercase().starts_with("if-none-match:") && l.contains(&etag)
                });
                let response = if unchanged {
                    format!(
                        "HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nConnection: close\r\n\r\n"
                    )
                } else {
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\nETag: {etag}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                };
                let _ = stream.write_all(response.as_bytes());
            }
        });
        CalendarServer { url, served }
    }

    fn replace(&self, body: String, etag: &str) {
        let mut s = self.served.lock().unwrap();
        s.0 = body;
        s.1 = etag.to_string();
    }

    fn requests(&self) -> Vec<String> {
        self.served.lock().unwrap().2.clone()
    }
}

/// The first working day at least two days ahead, so that it is inside a search from tomorrow.
fn target_day() -> NaiveDate {
    let mut d = local(samordna::db::now()).date() + Days::days(2);
    while !is_working_day(d) {
        d += Days::days(1);
    }
    d
}

fn next_working_day(d: NaiveDate) -> NaiveDate {
    let mut d = d + Days::days(1);
    while !is_working_day(d) {
        d += Days::days(1);
    }
    d
}

/// A calendar, as Outlook publishes one, with one busy event on `day` from `from` to `to`
/// (local hours) whose title and place must never be stored.
fn calendar(day: NaiveDate, from: u32, to: u32) -> String {
    let d = day.format("%Y%m%d");
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:Microsoft Exchange Server 2010\r\n\
         BEGIN:VEVENT\r\nUID:busy-{d}-{from}\r\nSUMMARY:{SECRET_TITLE}\r\nLOCATION:{SECRET_PLACE}\r\n\
         DTSTART;TZID=W. Europe Standard Time:{d}T{from:02}0000\r\n\
         DTEND;TZID=W. Europe Standard Time:{d}T{to:02}0000\r\nEND:VEVENT\r\n\
         BEGIN:VEVENT\r\nUID:free-{d}\r\nSUMMARY:Lunchpromenad\r\nTRANSP:TRANSPARENT\r\n\
         DTSTART;TZID=W. Europe Standard Time:{d}T130000\r\n\
         DTEND;TZID=W. Europe Standard Time:{d}T140000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

async fn api(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

/// A SIP in Ekby with consent covering the partner's organisation and the partner added;
/// returns the caseworker, their token, the SIP id and the partner.
async fn sip_with_partner(app: &TestApp) -> (Login, String, String, Login) {
    let caseworker = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Caseworker])
        .await;
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let cw = app.token_for(&caseworker).await;
    let id = teacher.user_id.clone();
    let school: String = app
        .conn(move |c| {
            samordna::db::schema::users::table
                .find(id)
                .select(samordna::db::schema::users::organisation_id)
                .first(c)
                .unwrap()
        })
        .await;
    let (_, sip) = post(
        app,
        "/api/v1/sips",
        &cw,
        json!({"child_name": "Ture Tidsson"}),
    )
    .await;
    let sip = sip["id"].as_str().unwrap().to_string();
    let (status, _) = post(
        app,
        &format!("/api/v1/sips/{sip}/consents"),
        &cw,
        json!({"given_by": "Förälder", "relation": "guardian", "organisation_ids": [school]}),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = post(
        app,
        &format!("/api/v1/sips/{sip}/participants"),
        &cw,
        json!({"user_id": teacher.user_id}),
    )
    .await;
    assert_eq!(status, 201);
    (caseworker, cw, sip, teacher)
}

/// Local start times of the suggested slots.
fn starts(body: &Value) -> Vec<NaiveDateTime> {
    body["slots"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|s| local(serde_json::from_value::<NaiveDateTime>(s["start"].clone()).unwrap()))
        .collect()
}

fn at(day: NaiveDate, hour: u32) -> NaiveDateTime {
    day.and_hms_opt(hour, 0, 0).unwrap()
}

/// Polls until `check` holds for the user's first source, up to 20 seconds.
async fn source_until(
    app: &TestApp,
    user: &str,
    check: impl Fn(&(Option<NaiveDateTime>, Option<String>)) -> bool,
) -> (Option<NaiveDateTime>, Option<String>) {
    for _ in 0..200 {
        let u = UserId(user.to_string());
        let row: Option<(Option<NaiveDateTime>, Option<String>)> = app
            .conn(move |c| {
                busy_sources::table
                    .filter(busy_sources::user_id.eq(u))
                    .select((busy_sources::fetched_at, busy_sources::error))
                    .first(c)
                    .optional()
                    .unwrap()
            })
            .await;
        if let Some(row) = row.filter(|r| check(r)) {
            return row;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the calendar source never reached the expected state");
}

/// Everything the database holds, as text: the SQLite files, or a dump of the PostgreSQL database.
fn database_text(app: &TestApp) -> String {
    let url = app.db.url.clone();
    if let Some(path) = url.strip_prefix("sqlite://") {
        let mut all = Vec::new();
        for file in [path.to_string(), format!("{path}-wal")] {
            all.extend(std::fs::read(&file).unwrap_or_default());
        }
        String::from_utf8_lossy(&all).into_owned()
    } else {
        let out = std::process::Command::new("pg_dump")
            .args(["--data-only", &url])
            .output()
            .expect("pg_dump runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

async fn busy_times_from_a_calendar_address(app: TestApp) {
    let (_, cw, sip, teacher) = sip_with_partner(&app).await;
    let day = target_day();
    let server = CalendarServer::start(calendar(day, 8, 12));
    let partner = app.fresh_browser();
    partner.login(&teacher).await;
    let added = partner
        .submit("/profil", "/profil/upptagen", &[("url", &server.url)])
        .await;
    assert_eq!(added.status().as_u16(), 303);
    source_until(&app, &teacher.user_id, |(fetched, _)| fetched.is_some()).await;
    let profile = partner.page("/profil").await;
    assert!(
        profile.contains("Kalenderadress hos 127.0.0.1"),
        "{profile}"
    );
    assert!(profile.contains("Fungerar"), "{profile}");
    assert!(
        !profile.contains("hemlig-123"),
        "the secret address is shown again"
    );

    // Busy 08–12 (the free lunch walk 13–14 does not count): the first hour is 12:00.
    let query = format!("/api/v1/sips/{sip}/slots?duration_minutes=60&from={day}&to={day}");
    let (status, body) = api(&app, &query, &cw).await;
    assert_eq!(status, 200, "{body}");
    let found = starts(&body);
    assert_eq!(found.first(), Some(&at(day, 12)), "{body}");
    assert!(found.iter().all(|s| *s >= at(day, 12)), "{body}");
    assert_eq!(body["people"][1]["calendar"]["kind"], "read", "{body}");

    // The service's own meetings count too: a meeting at 12 moves the first slot to 13.
    let (status, meeting) = post(
        &app,
        &format!("/api/v1/sips/{sip}/meetings"),
        &cw,
        json!({"starts_at": format!("{day}T12:00"), "minutes": 60, "place": "Kommunhuset, rum 2"}),
    )
    .await;
    assert_eq!(status, 201, "{meeting}");
    let (_, body) = api(&app, &query, &cw).await;
    assert_eq!(starts(&body).first(), Some(&at(day, 13)), "{body}");

    // Read again with the ETag: the server answers 304 and the source stays fresh.
    for _ in 0..100 {
        if server.requests().iter().any(|r| r.contains("\"v1\"")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.to_ascii_lowercase().contains("if-none-match: \"v1\"")),
        "no conditional request: {:?}",
        server.requests()
    );

    // The calendar breaks: the source is shown stale with the line, the old busy times stay.
    server.replace(
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:igår\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n".into(),
        "\"v2\"",
    );
    let (fetched, error) = source_until(&app, &teacher.user_id, |(_, e)| e.is_some()).await;
    assert!(fetched.is_some());
    assert!(error.as_deref().unwrap().contains("rad 4"), "{error:?}");
    let profile = partner.page("/profil").await;
    assert!(profile.contains("Inaktuell"), "{profile}");
    assert!(profile.contains("rad 4"), "{profile}");
    assert!(profile.contains("senast läst"), "{profile}");
    let (_, body) = api(&app, &query, &cw).await;
    assert_eq!(body["people"][1]["calendar"]["kind"], "stale", "{body}");
    assert_eq!(starts(&body).first(), Some(&at(day, 13)), "{body}");

    // Working hours: from 14:00 the first slot is 14:00; a mistake keeps what was typed.
    let wrong = partner
        .submit(
            "/profil",
            "/profil/arbetstid",
            &[
                ("days", "1"),
                ("days", "2"),
                ("start", "15:00"),
                ("end", "14:00"),
            ],
        )
        .await;
    assert_eq!(wrong.status().as_u16(), 422);
    let page = wrong.text().await.unwrap();
    assert!(
        page.contains("Arbetsdagen måste sluta efter att den börjar."),
        "{page}"
    );
    assert!(page.contains("value=\"15:00\""), "{page}");
    let saved = partner
        .submit(
            "/profil",
            "/profil/arbetstid",
            &[
                ("days", "1"),
                ("days", "2"),
                ("days", "3"),
                ("days", "4"),
                ("days", "5"),
                ("start", "14:00"),
                ("end", "16:30"),
            ],
        )
        .await;
    assert_eq!(saved.status().as_u16(), 303);
    let (_, body) = api(&app, &query, &cw).await;
    assert_eq!(starts(&body).first(), Some(&at(day, 14)), "{body}");

    // Nothing of the calendar's content is in the database; the address only where it must be.
    let everything = database_text(&app);
    assert!(
        everything.contains(&teacher.email),
        "the dump holds the data"
    );
    for secret in [SECRET_TITLE, SECRET_PLACE, "Lunchpromenad"] {
        assert!(
            !everything.contains(secret),
            "{secret} reached the database"
        );
    }
}

on_both_databases!(busy_times_from_a_calendar_address);

async fn one_click_booking_checks_again(app: TestApp) {
    let (caseworker, cw, sip, teacher) = sip_with_partner(&app).await;
    let day = target_day();
    let partner = app.fresh_browser();
    partner.login(&teacher).await;
    let upload = |text: String| {
        let partner = partner.clone();
        async move {
            let token = partner.csrf("/profil").await;
            let form = reqwest::multipart::Form::new()
                .text("csrf_token", token)
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(text.into_bytes())
                        .file_name("kalender.ics")
                        .mime_str("text/calendar")
                        .unwrap(),
                );
            partner
                .client
                .post(partner.url("/profil/upptagen/fil"))
                .multipart(form)
                .send()
                .await
                .unwrap()
        }
    };

    // A broken file is refused with its line, and nothing is kept.
    let refused = upload(
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART:imorgon\nEND:VEVENT\nEND:VCALENDAR\n".into(),
    )
    .await;
    assert_eq!(refused.status().as_u16(), 422);
    let page = refused.text().await.unwrap();
    assert!(page.contains("rad 4"), "{page}");
    let u = UserId(teacher.user_id.clone());
    let kept: i64 = app
        .conn(move |c| {
            busy_sources::table
                .filter(busy_sources::user_id.eq(u))
                .count()
                .get_result(c)
                .unwrap()
        })
        .await;
    assert_eq!(kept, 0);

    assert_eq!(upload(calendar(day, 8, 12)).await.status().as_u16(), 303);
    let caseworker_browser = app.fresh_browser();
    caseworker_browser.login(&caseworker).await;
    let times = format!("/sip/{sip}/tider?duration_minutes=60&from={day}&to={day}");
    let page = caseworker_browser.page(&times).await;
    assert!(page.contains(&format!("value=\"{day} 12:00\"")), "{page}");
    assert!(!page.contains(&format!("value=\"{day} 08:00\"")), "{page}");

    // The partner becomes busy 12–13 after the suggestion was shown: booking 12:00 is refused.
    assert_eq!(upload(calendar(day, 12, 13)).await.status().as_u16(), 303);
    let book = |start: String, place: &'static str| {
        let browser = caseworker_browser.clone();
        let times = times.clone();
        let sip = sip.clone();
        let from = day.to_string();
        async move {
            browser
                .submit(
                    &times,
                    &format!("/sip/{sip}/tider"),
                    &[
                        ("starts_at", &start),
                        ("duration_minutes", "60"),
                        ("from", &from),
                        ("to", &from),
                        ("place", place),
                    ],
                )
                .await
        }
    };
    let taken = book(format!("{day} 12:00"), "Kommunhuset, rum 2").await;
    assert_eq!(taken.status().as_u16(), 409);
    let page = taken.text().await.unwrap();
    assert!(page.contains("inte längre ledig"), "{page}");
    assert!(
        page.contains(&format!("value=\"{day} 13:00\"")),
        "fresh suggestions: {page}"
    );
    let no_place = book(format!("{day} 13:00"), "").await;
    assert_eq!(no_place.status().as_u16(), 422);
    let booked = book(format!("{day} 13:00"), "Kommunhuset, rum 2").await;
    assert_eq!(booked.status().as_u16(), 303);
    assert_eq!(
        booked.headers()["location"].to_str().unwrap(),
        format!("/sip/{sip}?sparat=mote")
    );
    let s = sip.clone();
    let starts_at: Vec<NaiveDateTime> = app
        .conn(move |c| {
            meetings::table
                .filter(meetings::sip_id.eq(s))
                .select(meetings::starts_at)
                .load(c)
                .unwrap()
        })
        .await;
    assert_eq!(starts_at, vec![to_utc(at(day, 13))]);

    // Busy all day: no slot; the partner blocks, and the next working day is suggested.
    assert_eq!(upload(calendar(day, 0, 23)).await.status().as_u16(), 303);
    let (status, body) = api(
        &app,
        &format!("/api/v1/sips/{sip}/slots?duration_minutes=60&from={day}&to={day}"),
        &cw,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["slots"], json!([]));
    assert!(
        body["blockers"][0]["name"]
            .as_str()
            .unwrap()
            .starts_with("Test Person"),
        "{body}"
    );
    assert_eq!(
        body["nearest_day"],
        json!(next_working_day(day).to_string()),
        "{body}"
    );

    // Bad input: 422 naming the parameter; a stranger: 404.
    let (status, body) = api(
        &app,
        &format!("/api/v1/sips/{sip}/slots?duration_minutes=abc"),
        &cw,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("duration_minutes"), "{body}");
    let page = caseworker_browser
        .page(&format!("/sip/{sip}/tider?from=tisdag"))
        .await;
    assert!(page.contains("Skriv datumet som 2026-12-03."), "{page}");
    let stranger = app
        .add_user_in("Västby", "socialtjanst", &[Role::Caseworker])
        .await;
    let other = app.token_for(&stranger).await;
    let (status, _) = api(&app, &format!("/api/v1/sips/{sip}/slots"), &other).await;
    assert_eq!(status, 404);
}

on_both_databases!(one_click_booking_checks_again);

/// Without `SAMORDNA_BUSY_FETCH_PRIVATE`, a calendar address into this machine or a private
/// network is not read.
#[actix_web::test]
async fn addresses_into_internal_networks_are_not_read() {
    let app = TestApp::spawn_with(
        Db::Sqlite,
        &[("SAMORDNA_BUSY_FETCH_PRIVATE", "false")],
        true,
    )
    .await;
    let server = CalendarServer::start(calendar(target_day(), 8, 12));
    let teacher = app.add_user("skola", &[Role::Reporter]).await;
    app.login(&teacher).await;
    let added = app
        .submit("/profil", "/profil/upptagen", &[("url", &server.url)])
        .await;
    assert_eq!(added.status().as_u16(), 303);
    let (_, error) = source_until(&app, &teacher.user_id, |(_, e)| e.is_some()).await;
    assert!(error.unwrap().contains("internt nät"));
    assert!(
        server.requests().is_empty(),
        "the internal address was fetched"
    );
}
