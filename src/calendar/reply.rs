//! Reading iCalendar with the `ical` crate: the `REPLY` a calendar client mails to the organizer
//! when someone presses Accept or Decline. The crate unfolds lines and unquotes parameters but does
//! not unescape TEXT values; [`unescape`] does. Pure: no I/O.

use std::io::BufReader;

use ical::parser::ical::component::IcalCalendar;
use ical::property::Property;

use crate::calendar::ics::PartStat;

/// One answer from one attendee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub uid: String,
    pub sequence: i32,
    /// Lower-cased address from `mailto:`.
    pub attendee: String,
    pub partstat: PartStat,
}

/// Why a message could not be read as a reply. The messages are for logs and API callers.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("not valid iCalendar: {0}")]
    Unparseable(String),
    #[error("METHOD is {0:?}, not REPLY")]
    NotAReply(String),
    #[error("no VEVENT in the reply")]
    NoEvent,
    #[error("the reply has no {0}")]
    Missing(&'static str),
    #[error("unknown PARTSTAT {0:?}")]
    UnknownPartStat(String),
    /// A UID or address with a NUL or another control character matches no meeting, and
    /// PostgreSQL cannot even look one up.
    #[error("the reply's {0} holds a control character")]
    ControlCharacter(&'static str),
}

/// Reverses RFC 5545 TEXT escaping: `\\`, `\,`, `\;`, `\n`/`\N`.
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other @ ('\\' | ',' | ';' | ':')) => out.push(other),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Parses every calendar in `text`.
pub fn parse_calendars(text: &str) -> Result<Vec<IcalCalendar>, ReplyError> {
    ical::IcalParser::new(BufReader::new(text.as_bytes()))
        .map(|c| c.map_err(|e| ReplyError::Unparseable(e.to_string())))
        .collect()
}

/// The value of the first property called `name`.
pub fn value<'a>(properties: &'a [Property], name: &str) -> Option<&'a str> {
    properties
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
        .and_then(|p| p.value.as_deref())
}

/// The first value of a parameter of a property.
pub fn param<'a>(property: &'a Property, name: &str) -> Option<&'a str> {
    property
        .params
        .as_ref()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.first())
        .map(String::as_str)
}

/// Reads a `METHOD:REPLY` calendar: the meeting's UID and SEQUENCE, who answered and how.
pub fn parse_reply(text: &str) -> Result<Reply, ReplyError> {
    let calendars = parse_calendars(text)?;
    let calendar = calendars
        .first()
        .ok_or_else(|| ReplyError::Unparseable("no VCALENDAR".into()))?;
    let method = value(&calendar.properties, "METHOD").unwrap_or_default();
    if !method.eq_ignore_ascii_case("REPLY") {
        return Err(ReplyError::NotAReply(method.to_string()));
    }
    let event = calendar.events.first().ok_or(ReplyError::NoEvent)?;
    let uid = value(&event.properties, "UID")
        .map(unescape)
        .filter(|u| !u.trim().is_empty())
        .ok_or(ReplyError::Missing("UID"))?;
    if crate::input::has_control(&uid) {
        return Err(ReplyError::ControlCharacter("UID"));
    }
    let sequence = value(&event.properties, "SEQUENCE")
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let attendee = event
        .properties
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case("ATTENDEE"))
        .ok_or(ReplyError::Missing("ATTENDEE"))?;
    let address = attendee
        .value
        .as_deref()
        .map(|v| {
            let v = v.trim();
            v.get(..7)
                .filter(|p| p.eq_ignore_ascii_case("mailto:"))
                .map_or(v, |_| &v[7..])
                .to_ascii_lowercase()
        })
        .filter(|a| a.contains('@'))
        .ok_or(ReplyError::Missing("ATTENDEE address"))?;
    if crate::input::has_control(&address) {
        return Err(ReplyError::ControlCharacter("ATTENDEE address"));
    }
    let partstat_text = param(attendee, "PARTSTAT").ok_or(ReplyError::Missing("PARTSTAT"))?;
    let partstat = PartStat::parse(partstat_text)
        .ok_or_else(|| ReplyError::UnknownPartStat(partstat_text.to_string()))?;
    Ok(Reply {
        uid,
        sequence,
        attendee: address,
        partstat,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::ics::{calendar, Method};

    #[test]
    fn our_own_invitation_reads_back_exactly() {
        let meeting = crate::calendar::ics::tests::meeting();
        let text = calendar(Method::Request, std::slice::from_ref(&meeting), None);
        let parsed = parse_calendars(&text).unwrap();
        let event = &parsed[0].events[0];
        assert_eq!(
            unescape(value(&event.properties, "SUMMARY").unwrap()),
            meeting.summary
        );
        assert_eq!(
            unescape(value(&event.properties, "LOCATION").unwrap()),
            meeting.location
        );
        assert_eq!(
            unescape(value(&event.properties, "DESCRIPTION").unwrap()),
            meeting.description.replace("\r\n", "\n")
        );
        let names: Vec<&str> = event
            .properties
            .iter()
            .filter(|p| p.name == "ATTENDEE")
            .map(|p| param(p, "CN").unwrap())
            .collect();
        assert_eq!(names, ["Öberg, Åsa", "Lärare Kim Lind"]);
    }

    /// A reply as Outlook writes it: folded lines, quoted CN with a comma, upper-case MAILTO.
    const OUTLOOK: &str = "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nPRODID:Microsoft Exchange Server 2010\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nATTENDEE;PARTSTAT=ACCEPTED;CN=\"Lind, Kim\":MAILTO:Larare@Skola.test\r\nCOMMENT;LANGUAGE=sv-SE:Jag kommer\\, men blir sen.\r\nSUMMARY;LANGUAGE=sv-SE:Godkänd: SIP-möte (ref SIP-4KX9)\r\nDTSTART;TZID=W. Europe Standard Time:20260330T100000\r\nDTEND;TZID=W. Europe Standard Time:20260330T113000\r\nUID:sip-meeting-1@samordna.te\r\n st\r\nSEQUENCE:1\r\nDTSTAMP:20260302T091500Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    #[test]
    fn reads_a_reply_as_outlook_writes_it() {
        let reply = parse_reply(OUTLOOK).unwrap();
        assert_eq!(
            reply,
            Reply {
                uid: "sip-meeting-1@samordna.test".into(),
                sequence: 1,
                attendee: "larare@skola.test".into(),
                partstat: PartStat::Accepted,
            }
        );
    }

    #[test]
    fn explains_what_is_wrong() {
        assert_eq!(
            parse_reply(&OUTLOOK.replace("METHOD:REPLY", "METHOD:REQUEST")),
            Err(ReplyError::NotAReply("REQUEST".into()))
        );
        assert_eq!(
            parse_reply(&OUTLOOK.replace("PARTSTAT=ACCEPTED", "PARTSTAT=MAYBE")),
            Err(ReplyError::UnknownPartStat("MAYBE".into()))
        );
        assert!(matches!(
            parse_reply("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n"),
            Err(ReplyError::Unparseable(_))
        ));
        assert_eq!(
            parse_reply(&OUTLOOK.replace("UID:sip-meeting-1", "UID:sip\0meeting-1")),
            Err(ReplyError::ControlCharacter("UID"))
        );
    }

    #[test]
    fn unescapes_text() {
        assert_eq!(unescape(r"a\, b\; c\\n\nd\N"), "a, b; c\\n\nd\n");
        assert_eq!(unescape(r"trailing\"), "trailing\\");
    }
}
