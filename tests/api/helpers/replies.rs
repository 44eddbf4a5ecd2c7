//! Calendar replies as they reach the service: a reply mail written here, the replies real
//! calendar clients send (tests/fixtures/replies), and the two ways in, the API and the pipe.

use serde_json::Value;

use super::{status_and_json, TestApp};

/// A calendar reply as Outlook-like clients send it: `attendee` answers `partstat` to the
/// meeting `uid` at `sequence`.
pub fn reply_mail(uid: &str, sequence: i32, attendee: &str, partstat: &str) -> String {
    format!(
        "From: Förälder <{attendee}>\r\nTo: samordna@test.samordna.se\r\nSubject: Accepted\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSvar\r\n\
         --b1\r\nContent-Type: text/calendar; charset=utf-8; method=REPLY\r\n\r\n\
         BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nPRODID:-//Test//Outlook-like//EN\r\nVERSION:2.0\r\n\
         BEGIN:VEVENT\r\nATTENDEE;PARTSTAT={partstat};CN=\"Sipsson, Förälder\":MAILTO:{attendee}\r\n\
         UID:{uid}\r\nSEQUENCE:{sequence}\r\nDTSTAMP:20261124T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n\
         --b1--\r\n"
    )
}

/// Posts a raw message to `POST /api/v1/inbound/mail` with an integration's token.
pub async fn inbound(app: &TestApp, token: &str, raw: String) -> (u16, Value) {
    let response = app
        .as_user(token)
        .request(reqwest::Method::POST, "/api/v1/inbound/mail")
        .header("content-type", "message/rfc822")
        .body(raw)
        .send()
        .await
        .unwrap();
    status_and_json(response).await
}

/// `samordna ingest-mail` with the message on standard input, as a mail server's pipe delivers it.
pub fn ingest_by_pipe(app: &TestApp, raw: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = app
        .samordna(&["ingest-mail"])
        .env(
            "SAMORDNA_MAIL_DIR",
            std::env::temp_dir().join("samordna-test-mail"),
        )
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run samordna");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(raw.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Quoted-printable, as Apple Mail encodes a calendar attachment.
fn quoted_printable(text: &str) -> String {
    let mut out = String::new();
    for line in text.split("\r\n") {
        let mut current = String::new();
        for byte in line.bytes() {
            let piece = if byte == b'=' || !(32..=126).contains(&byte) {
                format!("={byte:02X}")
            } else {
                (byte as char).to_string()
            };
            if current.len() + piece.len() > 75 {
                out.push_str(&current);
                out.push_str("=\r\n");
                current.clear();
            }
            current.push_str(&piece);
        }
        out.push_str(&current);
        out.push_str("\r\n");
    }
    out
}

/// A reply fixture filled in for one meeting and attendee, encoded as its client encodes it.
pub fn fixture(name: &str, uid: &str, sequence: i64, email: &str) -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replies");
    let fill = |text: String| {
        text.replace("{UID}", uid)
            .replace("{SEQUENCE}", &sequence.to_string())
            .replace("{EMAIL}", email)
    };
    let mut message = fill(std::fs::read_to_string(dir.join(format!("{name}.eml"))).unwrap());
    if let Ok(calendar) = std::fs::read_to_string(dir.join(format!("{name}.ics"))) {
        use base64::Engine;
        let calendar = fill(calendar);
        let encoded = base64::engine::general_purpose::STANDARD.encode(calendar.as_bytes());
        let wrapped: Vec<&str> = encoded
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        message = message
            .replace("{CALENDAR_BASE64}", &wrapped.join("\r\n"))
            .replace("{CALENDAR_QP}", quoted_printable(&calendar).trim_end());
    }
    message
}
