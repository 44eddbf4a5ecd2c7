//! Writing iCalendar (RFC 5545 / 5546) that Outlook, Gmail, Apple Calendar and Thunderbird accept.
//!
//! Built with the `icalendar` crate, which escapes TEXT, quotes parameter values and folds lines
//! by octets. This wrapper adds what it does not do: it cleans text (CRLF to LF, no control
//! characters, no `"` in parameters), writes a fixed PRODID, and puts in a fixed `VTIMEZONE` for
//! Europe/Stockholm, the only TZID we use. Pure: no I/O.

use chrono::{Duration, NaiveDateTime};
use icalendar::{Calendar, Component, Event, Property};

pub const PRODID: &str = "-//Samordna//SIP-moten//SV";
pub const TZID: &str = "Europe/Stockholm";

/// CET/CEST as in force since 1996: the last Sunday of March and of October.
const VTIMEZONE: &str = "BEGIN:VTIMEZONE\r\n\
TZID:Europe/Stockholm\r\n\
BEGIN:DAYLIGHT\r\n\
TZOFFSETFROM:+0100\r\n\
TZOFFSETTO:+0200\r\n\
TZNAME:CEST\r\n\
DTSTART:19700329T020000\r\n\
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n\
END:DAYLIGHT\r\n\
BEGIN:STANDARD\r\n\
TZOFFSETFROM:+0200\r\n\
TZOFFSETTO:+0100\r\n\
TZNAME:CET\r\n\
DTSTART:19701025T030000\r\n\
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n\
END:STANDARD\r\n\
END:VTIMEZONE\r\n";

/// The iTIP method of a calendar object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// An invitation, or an update of one.
    Request,
    /// A cancellation, for everyone or for one removed participant.
    Cancel,
    /// A subscribed feed: no method, nothing to answer.
    Publish,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Request => "REQUEST",
            Method::Cancel => "CANCEL",
            Method::Publish => "PUBLISH",
        }
    }
}

/// A participant's answer, as iCalendar writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartStat {
    NeedsAction,
    Accepted,
    Tentative,
    Declined,
}

impl PartStat {
    pub fn as_str(self) -> &'static str {
        match self {
            PartStat::NeedsAction => "NEEDS-ACTION",
            PartStat::Accepted => "ACCEPTED",
            PartStat::Tentative => "TENTATIVE",
            PartStat::Declined => "DECLINED",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_uppercase().as_str() {
            "NEEDS-ACTION" => Some(PartStat::NeedsAction),
            "ACCEPTED" => Some(PartStat::Accepted),
            "TENTATIVE" => Some(PartStat::Tentative),
            "DECLINED" => Some(PartStat::Declined),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attendee {
    pub email: String,
    pub name: String,
    /// The caseworker who calls the meeting chairs it and has accepted.
    pub chair: bool,
    pub required: bool,
    pub partstat: PartStat,
}

/// One meeting as calendars see it: neutral title, time, place, a link. Nothing about the child.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeetingEvent {
    pub uid: String,
    pub sequence: i32,
    /// When this version of the event was made (UTC).
    pub stamp: NaiveDateTime,
    /// Start in UTC.
    pub start: NaiveDateTime,
    pub minutes: i64,
    pub summary: String,
    pub location: String,
    pub description: String,
    pub url: String,
    pub cancelled: bool,
    /// The service's own mailbox, which receives the replies.
    pub organizer_email: String,
    pub organizer_name: String,
    pub attendees: Vec<Attendee>,
}

/// Text as calendars should get it: LF line ends, no other control characters.
fn clean_text(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|c| *c == '\n' || !c.is_control())
        .collect()
}

/// A parameter value: no control characters, no `"` (which cannot be escaped in a parameter).
fn clean_param(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() && *c != '"')
        .collect::<String>()
        .trim()
        .to_string()
}

fn utc_stamp(at: NaiveDateTime) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

fn local_stamp(utc: NaiveDateTime) -> String {
    crate::reports::deadlines::local(utc)
        .format("%Y%m%dT%H%M%S")
        .to_string()
}

fn event(meeting: &MeetingEvent, method: Method) -> Event {
    let mut event = Event::new();
    let end = meeting.start + Duration::minutes(meeting.minutes);
    event
        .append_property(Property::new("UID", clean_param(&meeting.uid)))
        .append_property(Property::new("SEQUENCE", meeting.sequence.to_string()))
        .append_property(Property::new("DTSTAMP", utc_stamp(meeting.stamp)))
        .append_property(
            Property::new("DTSTART", local_stamp(meeting.start))
                .add_parameter("TZID", TZID)
                .done(),
        )
        .append_property(
            Property::new("DTEND", local_stamp(end))
                .add_parameter("TZID", TZID)
                .done(),
        )
        .append_property(Property::new("SUMMARY", clean_text(&meeting.summary)))
        .append_property(Property::new(
            "DESCRIPTION",
            clean_text(&meeting.description),
        ))
        .append_property(Property::new("TRANSP", "OPAQUE"));
    // A cancelled meeting says so; a CANCEL that only uninvites one attendee carries no STATUS
    // (RFC 5546, 3.2.5).
    match (meeting.cancelled, method) {
        (true, _) => {
            event.append_property(Property::new("STATUS", "CANCELLED"));
        }
        (false, Method::Cancel) => {}
        (false, _) => {
            event.append_property(Property::new("STATUS", "CONFIRMED"));
        }
    }
    if !meeting.location.trim().is_empty() {
        event.append_property(Property::new("LOCATION", clean_text(&meeting.location)));
    }
    if !meeting.url.is_empty() {
        event.append_property(
            Property::new("URL", clean_param(&meeting.url))
                .add_parameter("VALUE", "URI")
                .done(),
        );
    }
    if method != Method::Publish {
        event.append_property(
            Property::new("ORGANIZER", format!("mailto:{}", meeting.organizer_email))
                .add_parameter("CN", &clean_param(&meeting.organizer_name))
                .done(),
        );
        for a in &meeting.attendees {
            let mut property = Property::new("ATTENDEE", format!("mailto:{}", a.email));
            property
                .add_parameter("CN", &clean_param(&a.name))
                .add_parameter("CUTYPE", "INDIVIDUAL")
                .add_parameter(
                    "ROLE",
                    match (a.chair, a.required) {
                        (true, _) => "CHAIR",
                        (false, true) => "REQ-PARTICIPANT",
                        (false, false) => "OPT-PARTICIPANT",
                    },
                )
                .add_parameter("PARTSTAT", a.partstat.as_str());
            if method == Method::Request && !a.chair {
                property.add_parameter("RSVP", "TRUE");
            }
            event.append_multi_property(property.done());
        }
    }
    event.done()
}

/// A calendar object with the given method and events. A feed (`Publish`) also gets a name and
/// the refresh hints that subscribing clients read.
pub fn calendar(method: Method, events: &[MeetingEvent], feed_name: Option<&str>) -> String {
    let mut calendar = Calendar::empty();
    calendar
        .append_property(Property::new("PRODID", PRODID))
        .append_property(Property::new("VERSION", "2.0"))
        .append_property(Property::new("CALSCALE", "GREGORIAN"));
    if method != Method::Publish {
        calendar.append_property(Property::new("METHOD", method.as_str()));
    }
    if let Some(name) = feed_name {
        calendar
            .append_property(Property::new("X-WR-CALNAME", clean_text(name)))
            .append_property(Property::new("X-WR-TIMEZONE", TZID))
            .append_property(
                Property::new("REFRESH-INTERVAL", "PT1H")
                    .add_parameter("VALUE", "DURATION")
                    .done(),
            )
            .append_property(Property::new("X-PUBLISHED-TTL", "PT1H"));
    }
    for meeting in events {
        calendar.push(event(meeting, method));
    }
    let text = calendar.done().to_string();
    // The fixed VTIMEZONE goes before the first component (or the end, for an empty feed).
    let at = text
        .find("BEGIN:VEVENT\r\n")
        .or_else(|| text.find("END:VCALENDAR"))
        .expect("a calendar ends");
    format!("{}{VTIMEZONE}{}", &text[..at], &text[at..])
}

#[cfg(test)]
pub(crate) mod tests {
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
}
