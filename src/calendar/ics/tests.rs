//! Invitations, updates and cancellations as calendar clients read them: escaping, folding,
//! local times and attendees.

use super::*;
use chrono::NaiveDate;

pub fn meeting() -> MeetingEvent {
    let at = |d: u32, h: u32| {
        NaiveDate::from_ymd_opt(2026, 3, d)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
    };
    MeetingEvent {
        uid: "sip-meeting-1@samordna.test".into(),
        sequence: 0,
        stamp: at(1, 8),
        start: at(30, 8), // 10:00 CEST, the day after the change to summer time
        minutes: 90,
        summary: "SIP-möte (ref SIP-4KX9)".into(),
        location: "Kommunhuset, rum 2; ingång B".into(),
        description: "Logga in för att läsa mer:\r\nhttps://samordna.test/m/1".into(),
        url: "https://samordna.test/m/1".into(),
        cancelled: false,
        organizer_email: "samordna@kommun.test".into(),
        organizer_name: "Samordna".into(),
        attendees: vec![
            Attendee {
                email: "handlaggare@kommun.test".into(),
                name: "Öberg, Åsa".into(),
                chair: true,
                required: true,
                partstat: PartStat::Accepted,
            },
            Attendee {
                email: "larare@skola.test".into(),
                name: "Lärare \"Kim\" Lind".into(),
                chair: false,
                required: false,
                partstat: PartStat::NeedsAction,
            },
        ],
    }
}

/// Reverses folding and TEXT escaping, as a reader does.
fn unfold(text: &str) -> String {
    text.replace("\r\n ", "")
}

fn unescape(value: &str) -> String {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(other) => out.push(other),
                None => panic!("a lone backslash at the end of {value:?}"),
            },
            (c, false) => out.push(c),
        }
    }
    out
}

/// Every physical line of `text` is at most 75 octets, ends with CRLF, and no CR or LF
/// stands alone.
fn assert_lines_valid(text: &str) {
    assert!(text.ends_with("\r\n"), "ends with CRLF");
    let body = &text[..text.len() - 2];
    for line in body.split("\r\n") {
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
        assert!(!line.contains(['\r', '\n']), "a lone CR or LF in {line:?}");
    }
}

#[test]
fn folding_counts_octets_and_never_splits_a_character() {
    // Each multi-byte character in turn straddles the 75th octet, and later folds too.
    for filler in ["ö", "€", "😀"] {
        for shift in 0..8 {
            let line = format!("SUMMARY:{}{}", "a".repeat(60 + shift), filler.repeat(80));
            let mut out = String::new();
            fold_into(&mut out, &line);
            assert_lines_valid(&out);
            assert_eq!(unfold(&out), format!("{line}\r\n"), "folding loses nothing");
            // The first line is as long as it may be without splitting a character.
            let first = out.split("\r\n").next().unwrap();
            assert!(first.len() > 75 - filler.len(), "{} octets", first.len());
        }
    }
    let mut short = String::new();
    fold_into(&mut short, &format!("SUMMARY:{}", "x".repeat(67)));
    assert_eq!(
        short.len(),
        77,
        "a line of exactly 75 octets stays one line"
    );
}

#[test]
fn folding_does_not_fall_beside_a_space() {
    let line = format!(
        "DESCRIPTION:{} b c d e f g h i j k l m n o p q r s t u v",
        "a".repeat(62)
    );
    let mut out = String::new();
    fold_into(&mut out, &line);
    assert_lines_valid(&out);
    for (i, l) in out.trim_end().split("\r\n").enumerate() {
        assert!(!l.ends_with(' '), "line {i} ends with a space: {l:?}");
        if i > 0 {
            assert!(!l.starts_with("  "), "line {i} starts with two spaces");
        }
    }
    assert_eq!(unfold(&out), format!("{line}\r\n"));
    // Only spaces: folded all the same.
    let mut spaces = String::new();
    fold_into(&mut spaces, &format!("X:{}", " ".repeat(200)));
    assert_lines_valid(&spaces);
    assert_eq!(unfold(&spaces), format!("X:{}\r\n", " ".repeat(200)));
}

#[test]
fn text_is_escaped_and_cleaned() {
    let mut line = String::new();
    push_text(&mut line, "a,b;c\\d\ne\r\nf\rg\u{7}h\u{0}i\tj\u{85}k");
    assert_eq!(line, "a\\,b\\;c\\\\d\\ne\\nf\\ng".to_string() + "hijk");
    assert_eq!(unescape(&line), "a,b;c\\d\ne\nf\nghijk");
    let mut ends = String::new();
    push_text(&mut ends, "slut\\");
    assert_eq!(unescape(&ends), "slut\\", "a trailing backslash is escaped");
}

#[test]
fn parameters_are_quoted_when_they_must_be() {
    let mut line = String::new();
    push_param(&mut line, "CN", "Öberg, Åsa");
    push_param(&mut line, "CN", " Lärare \"Kim\" Lind\r\n");
    push_param(&mut line, "CN", "mailto:x");
    push_param(&mut line, "CN", "a;b");
    assert_eq!(
        line,
        ";CN=\"Öberg, Åsa\";CN=Lärare Kim Lind;CN=\"mailto:x\";CN=\"a;b\""
    );
}

#[test]
fn every_line_is_crlf_and_folded_in_a_long_feed() {
    let mut m = meeting();
    m.summary = "SIP-möte ".repeat(20);
    m.location = "Kommunhuset, rum 2; ingång B \\ gården\nvåning 3 ".repeat(5);
    m.description = "Rad ett\r\nrad två\rrad tre\n".repeat(10);
    let feed = calendar(
        Method::Publish,
        &[m.clone(), m.clone()],
        Some("Mina, möten; 😀"),
    );
    assert_lines_valid(&feed);
    let unfolded = unfold(&feed);
    let value = |name: &str| -> String {
        let line = unfolded
            .split("\r\n")
            .find(|l| l.starts_with(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name}"));
        unescape(&line[name.len() + 1..])
    };
    assert_eq!(value("SUMMARY"), m.summary);
    assert_eq!(value("LOCATION"), m.location);
    assert_eq!(
        value("DESCRIPTION"),
        m.description.replace("\r\n", "\n").replace('\r', "\n")
    );
    assert_eq!(value("X-WR-CALNAME"), "Mina, möten; 😀");
    assert_eq!(feed.matches("BEGIN:VEVENT\r\n").count(), 2);
}

#[test]
fn an_invitation_has_what_clients_need() {
    let text = calendar(Method::Request, &[meeting()], None);
    let unfolded = text.replace("\r\n ", "");
    for line in [
        "METHOD:REQUEST",
        "PRODID:-//Samordna//SIP-moten//SV",
        "TZID:Europe/Stockholm",
        "DTSTART;TZID=Europe/Stockholm:20260330T100000",
        "DTEND;TZID=Europe/Stockholm:20260330T113000",
        "DTSTAMP:20260301T080000Z",
        "SEQUENCE:0",
        "UID:sip-meeting-1@samordna.test",
        "SUMMARY:SIP-möte (ref SIP-4KX9)",
        "LOCATION:Kommunhuset\\, rum 2\\; ingång B",
        "DESCRIPTION:Logga in för att läsa mer:\\nhttps://samordna.test/m/1",
        "ORGANIZER;CN=Samordna:mailto:samordna@kommun.test",
        "STATUS:CONFIRMED",
    ] {
        assert!(
            unfolded.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    let chair = unfolded
        .lines()
        .find(|l| l.contains("handlaggare@"))
        .unwrap();
    assert!(chair.contains("CN=\"Öberg, Åsa\"") && chair.contains("ROLE=CHAIR"));
    assert!(chair.contains("PARTSTAT=ACCEPTED") && !chair.contains("RSVP"));
    let guest = unfolded.lines().find(|l| l.contains("larare@")).unwrap();
    assert!(guest.contains("CN=Lärare Kim Lind"), "{guest}");
    assert!(guest.contains("ROLE=OPT-PARTICIPANT") && guest.contains("RSVP=TRUE"));
    assert!(guest.contains("PARTSTAT=NEEDS-ACTION"));
    assert!(text.ends_with("END:VCALENDAR\r\n"));
    assert!(
        text.split("\r\n").all(|l| l.len() <= 75),
        "folded by octets"
    );
    assert!(!text.replace("\r\n", "").contains('\n'), "CRLF only");
    let vtimezone = text.find("BEGIN:VTIMEZONE").unwrap();
    assert!(vtimezone < text.find("BEGIN:VEVENT").unwrap());
    assert_eq!(text.matches("DTSTAMP").count(), 1, "none in VTIMEZONE");
}

#[test]
fn a_winter_meeting_is_in_cet() {
    let mut m = meeting();
    m.start = NaiveDate::from_ymd_opt(2026, 10, 26)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap();
    let text = calendar(Method::Request, &[m], None);
    assert!(text.contains("DTSTART;TZID=Europe/Stockholm:20261026T100000"));
}

#[test]
fn a_cancellation_and_a_feed() {
    let mut m = meeting();
    m.sequence = 2;
    let uninvite = calendar(Method::Cancel, std::slice::from_ref(&m), None);
    assert!(
        !uninvite.contains("STATUS:"),
        "an uninvitation has no STATUS"
    );
    m.cancelled = true;
    let cancel = calendar(Method::Cancel, &[m.clone()], None);
    assert!(cancel.contains("METHOD:CANCEL\r\n") && cancel.contains("STATUS:CANCELLED\r\n"));
    assert!(cancel.contains("SEQUENCE:2\r\n") && !cancel.contains("RSVP"));

    let feed = calendar(Method::Publish, &[m], Some("Mina SIP-möten"));
    assert!(!feed.contains("METHOD:") && !feed.contains("ATTENDEE"));
    assert!(feed.contains("REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n"));
    assert!(feed.contains("X-PUBLISHED-TTL:PT1H\r\n"));
    let empty = calendar(Method::Publish, &[], Some("Mina SIP-möten"));
    assert!(empty.contains("BEGIN:VTIMEZONE") && empty.ends_with("END:VCALENDAR\r\n"));
}
