//! What we send to calendars, checked by independent software that runs here: libical's
//! `restriction_check` (RFC 5546 per-method rules, no X-LIC-ERROR allowed), vobject and Python
//! icalendar (tests/calendar/check.py), ical.js (tests/calendar/check.mjs, Thunderbird's parser)
//! and a Radicale CalDAV server on loopback that must accept each object with 201.
//!
//! `scripts/test` installs them: Debian's python3-gi, gir1.2-ical-3.0, python3-vobject,
//! python3-icalendar and radicale; ical.js from `npm ci --prefix tests/browser`. A missing tool
//! fails the test.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use samordna::calendar::ics::{self, Attendee, MeetingEvent, Method, PartStat};
use serde_json::Value;

/// What every parser must read back from one VEVENT.
#[derive(Clone, Debug)]
pub struct Expected {
    pub summary: String,
    pub description: String,
    pub location: String,
    pub cns: Vec<String>,
    /// DTSTART as seconds since the epoch (UTC).
    pub start_utc: i64,
}

pub struct Object {
    pub label: String,
    pub ics: String,
    pub events: Vec<Expected>,
}

const PYTHON: &str = "/usr/bin/python3";

fn run(program: &str, script: &str, files: &[String]) -> Value {
    let root = env!("CARGO_MANIFEST_DIR");
    let output = Command::new(program)
        .arg(Path::new(root).join(script))
        .args(files)
        .current_dir(root)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} {script}: {e} (scripts/test installs it)")
        });
    assert!(
        output.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON from the checker")
}

fn compare(parser: &str, label: &str, seen: &Value, expected: &[Expected]) {
    let events = seen
        .as_array()
        .unwrap_or_else(|| panic!("{parser} could not read {label}: {seen}"));
    assert_eq!(events.len(), expected.len(), "{parser}: events in {label}");
    for (got, want) in events.iter().zip(expected) {
        assert_eq!(
            got["summary"],
            want.summary.as_str(),
            "{parser}: SUMMARY of {label}"
        );
        assert_eq!(
            got["description"],
            want.description.as_str(),
            "{parser}: DESCRIPTION of {label}"
        );
        assert_eq!(
            got["location"],
            want.location.as_str(),
            "{parser}: LOCATION of {label}"
        );
        let cns: Vec<&str> = got["cns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(cns, want.cns, "{parser}: CN of {label}");
        assert_eq!(
            got["start_utc"].as_i64(),
            Some(want.start_utc),
            "{parser}: DTSTART of {label}"
        );
    }
}

struct Radicale {
    process: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Radicale {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn radicale() -> Radicale {
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let process = Command::new(PYTHON)
        .args([
            "-m",
            "radicale",
            "--auth-type=none",
            "--logging-level=warning",
        ])
        .arg(format!(
            "--storage-filesystem-folder={}",
            dir.path().display()
        ))
        .arg(format!("--server-hosts=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start Radicale (Debian package radicale)");
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "Radicale did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Radicale {
        process,
        port,
        _dir: dir,
    }
}

/// Checks every object with every independent parser and Radicale; panics with what is wrong.
pub async fn verify(objects: Vec<Object>) {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<String> = objects
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let path = dir.path().join(format!("{i}.ics"));
            std::fs::write(&path, &o.ics).unwrap();
            path.display().to_string()
        })
        .collect();
    let (python, icaljs, server) = {
        let files = files.clone();
        actix_web::web::block(move || {
            (
                run(PYTHON, "tests/calendar/check.py", &files),
                run("node", "tests/calendar/check.mjs", &files),
                radicale(),
            )
        })
        .await
        .expect("checkers ran")
    };
    let client = reqwest::Client::new();
    for (object, file) in objects.iter().zip(&files) {
        let seen = &python[file];
        let label = &object.label;
        assert_eq!(
            seen["libical"],
            Value::Array(vec![]),
            "libical restriction_check on {label}:\n{}",
            object.ics
        );
        compare("vobject", label, &seen["vobject"], &object.events);
        compare(
            "python icalendar",
            label,
            &seen["icalendar"],
            &object.events,
        );
        compare("ical.js", label, &icaljs[file], &object.events);
        let url = format!(
            "http://127.0.0.1:{}/t/{}/",
            server.port,
            uuid::Uuid::new_v4()
        );
        let response = client
            .put(url)
            .basic_auth("t", Some("x"))
            .header("content-type", "text/calendar")
            .body(object.ics.clone())
            .send()
            .await
            .expect("Radicale answers");
        assert_eq!(
            response.status().as_u16(),
            201,
            "Radicale PUT of {label}: {:?}",
            response.text().await
        );
    }
}

/// The expected reading of an event we wrote.
pub fn expected_of(event: &MeetingEvent) -> Expected {
    Expected {
        summary: event.summary.clone(),
        description: event.description.replace("\r\n", "\n"),
        location: event.location.clone(),
        cns: event
            .attendees
            .iter()
            .map(|a| a.name.replace('"', ""))
            .collect(),
        start_utc: event.start.and_utc().timestamp(),
    }
}

fn meeting_on(date: NaiveDate, hour_utc: u32) -> MeetingEvent {
    MeetingEvent {
        uid: format!("{date}@samordna.test"),
        sequence: 0,
        stamp: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap().and_hms_opt(9, 0, 0).unwrap(),
        start: date.and_hms_opt(hour_utc, 0, 0).unwrap(),
        minutes: 90,
        summary: "SIP-möte (ref SIP-4KX9)".into(),
        location: "Kommunhuset, rum 2; ingång B \\ gården".into(),
        description: "Logga in för att läsa mer: https://samordna.test/login\nAv sekretesskäl står inget om ärendet här.".into(),
        url: "https://samordna.test/login".into(),
        cancelled: false,
        organizer_email: "samordna@kommun.test".into(),
        organizer_name: "Samordna".into(),
        attendees: vec![
            Attendee {
                email: "asa.oberg@kommun.test".into(),
                name: "Öberg, Åsa".into(),
                chair: true,
                required: true,
                partstat: PartStat::Accepted,
            },
            Attendee {
                email: "kim@skola.test".into(),
                name: "Kim Lind; lärare".into(),
                chair: false,
                required: false,
                partstat: PartStat::NeedsAction,
            },
        ],
    }
}

/// Meetings on both sides of both clock changes of 2026, as invitation, cancellation and feed.
#[actix_web::test]
async fn calendars_we_write_are_read_alike_by_independent_parsers_across_clock_changes() {
    let days = [(3, 28), (3, 30), (10, 24), (10, 26)];
    let meetings: Vec<MeetingEvent> = days
        .iter()
        .map(|(m, d)| meeting_on(NaiveDate::from_ymd_opt(2026, *m, *d).unwrap(), 8))
        .collect();
    let mut objects = Vec::new();
    for m in &meetings {
        objects.push(Object {
            label: format!("invitation {}", m.uid),
            ics: ics::calendar(Method::Request, std::slice::from_ref(m), None),
            events: vec![expected_of(m)],
        });
        let mut cancelled = m.clone();
        cancelled.sequence = 1;
        cancelled.cancelled = true;
        objects.push(Object {
            label: format!("cancellation {}", m.uid),
            ics: ics::calendar(Method::Cancel, &[cancelled], None),
            events: vec![expected_of(m)],
        });
    }
    objects.push(Object {
        label: "feed".into(),
        ics: ics::calendar(Method::Publish, &meetings, Some("Mina SIP-möten")),
        events: meetings
            .iter()
            .map(|m| Expected {
                cns: Vec::new(),
                ..expected_of(m)
            })
            .collect(),
    });
    // 10:00 local is 08:00 UTC in summer and 09:00 UTC in winter: our own conversion agrees.
    let local_ten = |m: &MeetingEvent| samordna::time::local(m.start).format("%H:%M").to_string();
    assert_eq!(
        local_ten(&meetings[0]),
        "09:00",
        "28 March is still winter time"
    );
    assert_eq!(local_ten(&meetings[1]), "10:00");
    assert_eq!(local_ten(&meetings[2]), "10:00");
    assert_eq!(local_ten(&meetings[3]), "09:00");
    verify(objects).await;
}
