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
use samordna::time::{local, to_utc};
use samordna::workdays::is_working_day;
use serde_json::{json, Value};

use crate::helpers::{Db, SipWithPartner, TestApp};
use crate::{on_both_databases, on_both_kinds};

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
    let SipWithPartner {
        cw,
        sip,
        partner: teacher,
        ..
    } = app.sip_with_partner("Ture Tidsson").await;
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
    let (status, body) = app.as_user(&cw).get(&query).await;
    assert_eq!(status, 200, "{body}");
    let found = starts(&body);
    assert_eq!(found.first(), Some(&at(day, 12)), "{body}");
    assert!(found.iter().all(|s| *s >= at(day, 12)), "{body}");
    assert_eq!(body["people"][1]["calendar"]["kind"], "read", "{body}");

    // The service's own meetings count too: a meeting at 12 moves the first slot to 13.
    app.book_meeting(
        &cw,
        &format!("/api/v1/sips/{sip}"),
        json!({"starts_at": format!("{day}T12:00"), "minutes": 60, "place": "Kommunhuset, rum 2"}),
    )
    .await;
    let (_, body) = app.as_user(&cw).get(&query).await;
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
    let (_, body) = app.as_user(&cw).get(&query).await;
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
    let (_, body) = app.as_user(&cw).get(&query).await;
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
    let SipWithPartner {
        caseworker,
        cw,
        sip,
        partner: teacher,
        ..
    } = app.sip_with_partner("Ture Tidsson").await;
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
    let (status, body) = app
        .as_user(&cw)
        .get(&format!(
            "/api/v1/sips/{sip}/slots?duration_minutes=60&from={day}&to={day}"
        ))
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
    let (status, body) = app
        .as_user(&cw)
        .get(&format!("/api/v1/sips/{sip}/slots?duration_minutes=abc"))
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
    let (status, _) = app
        .as_user(&other)
        .get(&format!("/api/v1/sips/{sip}/slots"))
        .await;
    assert_eq!(status, 404);
}

on_both_databases!(one_click_booking_checks_again);

/// A user's calendar sources as the profile lists them, oldest first: (fetched, error).
async fn sources_of(app: &TestApp, user: &str) -> Vec<(Option<NaiveDateTime>, Option<String>)> {
    let u = UserId(user.to_string());
    app.conn(move |c| {
        busy_sources::table
            .filter(busy_sources::user_id.eq(u))
            .order(busy_sources::created_at)
            .select((busy_sources::fetched_at, busy_sources::error))
            .load(c)
            .unwrap()
    })
    .await
}

/// A server on `listener` that answers every request with `answer` (after `delay`), counting
/// requests and the most it has had open at once.
struct Listening {
    requests: Arc<Mutex<usize>>,
    most_at_once: Arc<Mutex<(usize, usize)>>,
}

impl Listening {
    fn start(listener: TcpListener, answer: String, delay: Duration) -> Self {
        let requests = Arc::new(Mutex::new(0));
        let most_at_once = Arc::new(Mutex::new((0, 0)));
        let (r, m) = (requests.clone(), most_at_once.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (r, m, answer) = (r.clone(), m.clone(), answer.clone());
                std::thread::spawn(move || {
                    {
                        let mut open = m.lock().unwrap();
                        open.0 += 1;
                        open.1 = open.1.max(open.0);
                    }
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                        head.push(byte[0]);
                    }
                    *r.lock().unwrap() += 1;
                    std::thread::sleep(delay);
                    // No longer counted once the answer can reach the reader, so that its next
                    // request, which may follow at once, is not counted with this one.
                    m.lock().unwrap().0 -= 1;
                    let _ = stream.write_all(answer.as_bytes());
                });
            }
        });
        Listening {
            requests,
            most_at_once,
        }
    }

    fn requests(&self) -> usize {
        *self.requests.lock().unwrap()
    }

    fn most_at_once(&self) -> usize {
        self.most_at_once.lock().unwrap().1
    }
}

fn ok_calendar(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Waits until every source of `user` has been read or has failed, up to 30 seconds.
async fn all_sources_done(
    app: &TestApp,
    user: &str,
    count: usize,
) -> Vec<(Option<NaiveDateTime>, Option<String>)> {
    for _ in 0..300 {
        let sources = sources_of(app, user).await;
        if sources.len() == count && sources.iter().all(|(f, e)| f.is_some() || e.is_some()) {
            return sources;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the calendar sources were never all read: {:?}",
        sources_of(app, user).await
    );
}

/// Issue 15: with `SAMORDNA_BUSY_FETCH_PRIVATE` off, an address naming this machine by its own
/// (non-loopback) interface address, a redirect there from an allowed server, loopback, and an
/// allowed port where nothing listens all read the same, so the form cannot be used to scan;
/// the machine is never asked. An allowed IPv6 address is read.
async fn addresses_into_this_machine_read_as_unreachable(kind: Db) {
    let own = if_addrs::get_if_addrs()
        .unwrap()
        .into_iter()
        .map(|i| i.ip())
        .find(|ip| !ip.is_loopback());
    let body = calendar(target_day(), 8, 12);
    let bound = |at: &str| {
        let listener = TcpListener::bind(at).unwrap();
        let address = listener.local_addr().unwrap();
        (listener, address)
    };
    // The calendar listens on every interface, as a service bound to 0.0.0.0 would.
    let (listener, everywhere) = bound("0.0.0.0:0");
    let target = Listening::start(listener, ok_calendar(&body), Duration::ZERO);
    let own_url = own.map(|ip| {
        format!(
            "http://{}/kalender.ics",
            std::net::SocketAddr::new(ip, everywhere.port())
        )
    });
    // Allowed: a server that sends the reader on to the machine's own address, a port where
    // nothing listens, and a calendar on IPv6 loopback.
    let (listener, redirector_at) = bound("127.0.0.1:0");
    let redirector = Listening::start(
        listener,
        format!(
            "HTTP/1.1 302 Found\r\nLocation: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            own_url
                .clone()
                .unwrap_or_else(|| format!("http://127.0.0.1:{}/", everywhere.port()))
        ),
        Duration::ZERO,
    );
    let closed = bound("127.0.0.1:0").1;
    let (listener, v6_at) = bound("[::1]:0");
    let v6 = Listening::start(listener, ok_calendar(&body), Duration::ZERO);
    let allow = format!("{redirector_at},{closed},{v6_at}");
    let app = TestApp::spawn_with(
        kind,
        &[
            ("SAMORDNA_BUSY_FETCH_PRIVATE", "false"),
            ("SAMORDNA_BUSY_FETCH_ALLOW", &allow),
        ],
        true,
    )
    .await;
    let teacher = app.add_user("skola", &[Role::Reporter]).await;
    app.login(&teacher).await;
    let mut addresses = vec![
        format!("http://127.0.0.1:{}/kalender.ics", everywhere.port()),
        format!("http://{redirector_at}/kalender.ics"),
        format!("http://{closed}/kalender.ics"),
        format!("http://localhost:{}/kalender.ics", everywhere.port()),
        format!(
            "http://[::ffff:127.0.0.1]:{}/kalender.ics",
            everywhere.port()
        ),
    ];
    match &own_url {
        Some(url) => addresses.push(url.clone()),
        None => println!(
            "this machine has no interface address but loopback: the case of its own address \
             is left out"
        ),
    }
    addresses.push(format!("http://{v6_at}/kalender.ics"));
    for url in &addresses {
        let added = app
            .submit("/profil", "/profil/upptagen", &[("url", url)])
            .await;
        assert_eq!(added.status().as_u16(), 303, "{url}");
    }
    let sources = all_sources_done(&app, &teacher.user_id, addresses.len()).await;
    let (refused, read) = sources.split_at(addresses.len() - 1);
    for ((_, error), url) in refused.iter().zip(&addresses) {
        assert_eq!(
            error.as_deref(),
            Some("servern gick inte att nå"),
            "{url}: every refusal reads like an unreachable server"
        );
    }
    assert_eq!(read[0].1, None, "the IPv6 calendar is read");
    assert!(read[0].0.is_some());
    assert!(v6.requests() >= 1);
    assert!(
        redirector.requests() >= 1,
        "the allowed server was asked and its redirect refused"
    );
    assert_eq!(
        target.requests(),
        0,
        "this machine was read through an address"
    );
    let profile = app.page("/profil").await;
    assert!(profile.contains("servern gick inte att nå"), "{profile}");
}

on_both_kinds!(addresses_into_this_machine_read_as_unreachable);

/// Issue 15: calendars of hundreds of rules that repeat every second are refused as too big,
/// and while several are uploaded at once the service keeps its database connections for
/// others (the test pool has four): `/readyz` answers 200 all along.
async fn hostile_calendars_are_refused_without_taking_the_database(app: TestApp) {
    let teacher = app.add_user("skola", &[Role::Reporter]).await;
    app.login(&teacher).await;
    // The busy-time window begins a day before now; every event repeats each second from
    // 190,000 seconds before that until it begins.
    let window = samordna::db::now() - Days::days(1);
    let start = (window - Days::seconds(190_000)).format("%Y%m%dT%H%M%SZ");
    let until = window.format("%Y%m%dT%H%M%SZ");
    let hostile: String = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{}END:VCALENDAR\r\n",
        (0..300)
            .map(|i| format!(
                "BEGIN:VEVENT\r\nUID:h{i}\r\nDTSTART:{start}\r\nDURATION:PT1S\r\n\
                 RRULE:FREQ=SECONDLY;UNTIL={until}\r\nEND:VEVENT\r\n"
            ))
            .collect::<String>()
    );
    let token = app.csrf("/profil").await;
    let uploads: Vec<_> = (0..8)
        .map(|_| {
            let (app, token, hostile) = (app.clone(), token.clone(), hostile.clone());
            tokio::spawn(async move {
                let form = reqwest::multipart::Form::new()
                    .text("csrf_token", token)
                    .part(
                        "file",
                        reqwest::multipart::Part::bytes(hostile.into_bytes())
                            .file_name("kalender.ics")
                            .mime_str("text/calendar")
                            .unwrap(),
                    );
                let response = app
                    .client
                    .post(app.url("/profil/upptagen/fil"))
                    .multipart(form)
                    .send()
                    .await
                    .unwrap();
                (response.status().as_u16(), response.text().await.unwrap())
            })
        })
        .collect();
    let mut probes = 0;
    while uploads.iter().any(|u| !u.is_finished()) {
        let ready = reqwest::Client::new()
            .get(app.url("/readyz"))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status().as_u16(), 200, "/readyz during the uploads");
        probes += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        probes > 0,
        "the uploads were still running when /readyz was asked"
    );
    for upload in uploads {
        let (status, page) = upload.await.unwrap();
        assert_eq!(status, 422);
        assert!(
            page.contains("Filen kunde inte läsas: kalendern är för stor eller för komplicerad."),
            "{page}"
        );
    }
    assert!(
        sources_of(&app, &teacher.user_id).await.is_empty(),
        "nothing was kept"
    );
}

on_both_databases!(hostile_calendars_are_refused_without_taking_the_database);

/// Issue 15: a user has at most ten calendars; the eleventh, address or file, is refused with
/// the form kept.
async fn the_eleventh_calendar_is_refused(app: TestApp) {
    let teacher = app.add_user("skola", &[Role::Reporter]).await;
    app.login(&teacher).await;
    for i in 0..10 {
        let url = format!("http://127.0.0.1:9/kalender-{i}.ics");
        let added = app
            .submit("/profil", "/profil/upptagen", &[("url", &url)])
            .await;
        assert_eq!(added.status().as_u16(), 303);
    }
    let eleventh = app
        .submit(
            "/profil",
            "/profil/upptagen",
            &[("url", "http://127.0.0.1:9/kalender-11.ics")],
        )
        .await;
    assert_eq!(eleventh.status().as_u16(), 422);
    let page = eleventh.text().await.unwrap();
    assert!(
        page.contains("Du har redan 10 kalendrar, som är det högsta antalet."),
        "{page}"
    );
    assert!(
        page.contains("kalender-11.ics"),
        "the address typed is kept"
    );
    let token = app.csrf("/profil").await;
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", token)
        .part(
            "file",
            reqwest::multipart::Part::bytes(calendar(target_day(), 8, 9).into_bytes())
                .file_name("kalender.ics"),
        );
    let upload = app
        .client
        .post(app.url("/profil/upptagen/fil"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status().as_u16(), 422);
    assert!(upload
        .text()
        .await
        .unwrap()
        .contains("Du har redan 10 kalendrar"));
    assert_eq!(sources_of(&app, &teacher.user_id).await.len(), 10);
}

on_both_databases!(the_eleventh_calendar_is_refused);

/// Issue 15: calendar addresses are fetched a few at a time, however many are due: two users
/// add ten each, and the calendar server never has more than four requests open at once.
async fn calendar_addresses_are_fetched_a_few_at_a_time(app: TestApp) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let at = listener.local_addr().unwrap();
    let server = Listening::start(
        listener,
        ok_calendar(&calendar(target_day(), 8, 9)),
        Duration::from_millis(1000),
    );
    let mut users = Vec::new();
    for _ in 0..2 {
        let user = app.add_user("skola", &[Role::Reporter]).await;
        let browser = app.fresh_browser();
        browser.login(&user).await;
        for i in 0..10 {
            let url = format!("http://{at}/kalender-{i}.ics");
            let added = browser
                .submit("/profil", "/profil/upptagen", &[("url", &url)])
                .await;
            assert_eq!(added.status().as_u16(), 303);
        }
        users.push(user);
    }
    for user in &users {
        let sources = all_sources_done(&app, &user.user_id, 10).await;
        assert!(sources.iter().all(|(_, e)| e.is_none()), "{sources:?}");
    }
    assert!(server.requests() >= 20);
    assert!(
        server.most_at_once() <= samordna::schedule::sources::FETCH_CONCURRENCY,
        "{} fetches at once",
        server.most_at_once()
    );
}

on_both_databases!(calendar_addresses_are_fetched_a_few_at_a_time);

/// Issue 15: after a plan whose follow-up is six months away, "find a time" without parameters
/// searches the first three months instead of refusing its own default.
async fn the_default_search_after_a_plan_is_within_the_limit(app: TestApp) {
    let SipWithPartner {
        caseworker,
        cw,
        sip,
        school,
        ..
    } = app.sip_with_partner("Ture Tidsson").await;
    let day = target_day();
    let meeting = app
        .book_meeting(
            &cw,
            &format!("/api/v1/sips/{sip}"),
            json!({"starts_at": format!("{day}T14:15"), "minutes": 45, "place": "Rum 4"}),
        )
        .await;
    let (status, plan) = app
        .as_user(&cw)
        .put(
            &format!("/api/v1/meetings/{}/plan", meeting["id"].as_str().unwrap()),
            json!({
                "needs": "Stöd i skolan.",
                "goals": ["Jag vill trivas i skolan."],
                "measures": [{"description": "Samtal varje vecka", "organisation_id": school, "principal": "kommun"}],
                "lead_organisation_id": school
            }),
        )
        .await;
    assert_eq!(status, 201);
    let follow_up = day + chrono::Months::new(6);
    assert_eq!(plan["follow_up_on"], follow_up.to_string());

    let (status, body) = app
        .as_user(&cw)
        .get(&format!("/api/v1/sips/{sip}/slots"))
        .await;
    assert_eq!(status, 200, "{body}");
    let tomorrow = local(samordna::db::now()).date() + Days::days(1);
    assert_eq!(body["from"], tomorrow.to_string(), "{body}");
    assert_eq!(
        body["to"],
        (tomorrow + Days::days(91)).to_string(),
        "{body}"
    );
    let browser = app.fresh_browser();
    browser.login(&caseworker).await;
    let page = browser
        .client
        .get(app.url(&format!("/sip/{sip}/tider")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(!html.contains("Sök högst tre månader"), "{html}");
    assert!(
        html.contains(&format!("value=\"{}\"", tomorrow + Days::days(91))),
        "{html}"
    );
}

on_both_databases!(the_default_search_after_a_plan_is_within_the_limit);
