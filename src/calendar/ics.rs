//! Writing iCalendar (RFC 5545 / 5546) that Outlook, Gmail, Apple Calendar and Thunderbird accept.
//!
//! Written straight into one buffer, line by line: TEXT values are cleaned (CRLF and CR to LF, no
//! other control characters) and escaped (`\\`, `\;`, `\,`, `\n`); parameter values lose control
//! characters and `"` (which cannot be escaped) and are quoted when they hold `:`, `;` or `,`;
//! every content line is folded at 75 octets, never inside a UTF-8 character, and ends with CRLF.
//! A fixed PRODID and a fixed `VTIMEZONE` for Europe/Stockholm, the only TZID we use. Pure: no I/O.

use std::fmt::Write as _;

use chrono::{Datelike, Duration, NaiveDateTime, Timelike};

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

/// The longest content line, in octets, without its CRLF (RFC 5545, 3.1).
const LINE_OCTETS: usize = 75;

/// Appends `line` to `out` folded at 75 octets, with CRLF after each physical line. A fold never
/// splits a UTF-8 character, and where it can (within a few octets) it does not fall next to a
/// space: a continuation line that starts with one loses it in some readers, and mail may strip
/// one at the end of a line.
fn fold_into(out: &mut String, line: &str) {
    let bytes = line.as_bytes();
    let mut start = 0;
    // The first line holds 75 octets; each continuation holds its leading space and 74 more.
    let mut room = LINE_OCTETS;
    while bytes.len() - start > room {
        let last = start + room;
        let at_boundary = |cut: usize| line.is_char_boundary(cut);
        let clear =
            |cut: usize| !bytes[cut].is_ascii_whitespace() && !bytes[cut - 1].is_ascii_whitespace();
        let cut = (last.saturating_sub(8).max(start + 1)..=last)
            .rev()
            .find(|&cut| at_boundary(cut) && clear(cut))
            .or_else(|| (start + 1..=last).rev().find(|&cut| at_boundary(cut)))
            .expect("a character is at most 4 octets");
        out.push_str(&line[start..cut]);
        out.push_str("\r\n ");
        start = cut;
        room = LINE_OCTETS - 1;
    }
    out.push_str(&line[start..]);
    out.push_str("\r\n");
}

/// Appends `text` as an escaped TEXT value: CRLF and CR become LF, other control characters are
/// dropped, and `\`, `;`, `,` and LF are escaped.
fn push_text(line: &mut String, text: &str) {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => line.push_str("\\\\"),
            ';' => line.push_str("\\;"),
            ',' => line.push_str("\\,"),
            '\n' => line.push_str("\\n"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                line.push_str("\\n");
            }
            c if c.is_control() => {}
            c => line.push(c),
        }
    }
}

/// `text` without control characters and `"` (which cannot be escaped in a parameter), trimmed.
fn clean_param(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() && *c != '"')
        .collect::<String>()
        .trim()
        .to_string()
}

/// Appends `;KEY=value`, the value cleaned and quoted when it holds `:`, `;` or `,`.
fn push_param(line: &mut String, key: &str, value: &str) {
    line.push(';');
    line.push_str(key);
    line.push('=');
    let value = clean_param(value);
    if value.contains([':', ';', ',']) {
        line.push('"');
        line.push_str(&value);
        line.push('"');
    } else {
        line.push_str(&value);
    }
}

/// A date-time as `YYYYMMDDTHHMMSS`.
fn push_stamp(line: &mut String, at: NaiveDateTime) {
    let _ = write!(
        line,
        "{:04}{:02}{:02}T{:02}{:02}{:02}",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
}

/// Writes one calendar object into one buffer: [`Writer::new`], an [`Writer::event`] per
/// meeting, [`Writer::finish`].
pub struct Writer {
    out: String,
    /// The content line being written, before it is folded into `out`.
    line: String,
    method: Method,
}

impl Writer {
    /// Starts a calendar object with the given method. A feed (`Publish`) also gets a name and the
    /// refresh hints that subscribing clients read. `events` sizes the buffer.
    pub fn new(method: Method, feed_name: Option<&str>, events: usize) -> Self {
        let mut writer = Self {
            out: String::with_capacity(1_200 + events * 640),
            line: String::with_capacity(256),
            method,
        };
        writer.out.push_str("BEGIN:VCALENDAR\r\n");
        writer.out.push_str("PRODID:");
        writer.out.push_str(PRODID);
        writer
            .out
            .push_str("\r\nVERSION:2.0\r\nCALSCALE:GREGORIAN\r\n");
        if method != Method::Publish {
            writer.out.push_str("METHOD:");
            writer.out.push_str(method.as_str());
            writer.out.push_str("\r\n");
        }
        if let Some(name) = feed_name {
            writer.text("X-WR-CALNAME", name);
            writer.out.push_str("X-WR-TIMEZONE:");
            writer.out.push_str(TZID);
            writer
                .out
                .push_str("\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H\r\nX-PUBLISHED-TTL:PT1H\r\n");
        }
        writer.out.push_str(VTIMEZONE);
        writer
    }

    /// Folds the finished content line into the output.
    fn end_line(&mut self) {
        fold_into(&mut self.out, &self.line);
        self.line.clear();
    }

    /// A property with a TEXT value.
    fn text(&mut self, name: &str, value: &str) {
        self.line.push_str(name);
        self.line.push(':');
        push_text(&mut self.line, value);
        self.end_line();
    }

    /// A date-time in our one time zone.
    fn local_time(&mut self, name: &str, utc: NaiveDateTime) {
        self.line.push_str(name);
        self.line.push_str(";TZID=");
        self.line.push_str(TZID);
        self.line.push(':');
        push_stamp(&mut self.line, crate::time::local(utc));
        self.end_line();
    }

    /// A person: `mailto:` with their name (and the rest of `params`) as parameters.
    fn person(&mut self, name: &str, email: &str, common_name: &str, params: &[(&str, &str)]) {
        self.line.push_str(name);
        push_param(&mut self.line, "CN", common_name);
        for (key, value) in params {
            push_param(&mut self.line, key, value);
        }
        self.line.push_str(":mailto:");
        self.line
            .extend(email.chars().filter(|c| !c.is_control() && *c != '"'));
        self.end_line();
    }

    /// One meeting as a VEVENT.
    pub fn event(&mut self, meeting: &MeetingEvent) {
        let method = self.method;
        self.out.push_str("BEGIN:VEVENT\r\n");
        self.text("UID", &clean_param(&meeting.uid));
        let _ = write!(self.line, "SEQUENCE:{}", meeting.sequence);
        self.end_line();
        self.line.push_str("DTSTAMP:");
        push_stamp(&mut self.line, meeting.stamp);
        self.line.push('Z');
        self.end_line();
        self.local_time("DTSTART", meeting.start);
        self.local_time("DTEND", meeting.start + Duration::minutes(meeting.minutes));
        self.text("SUMMARY", &meeting.summary);
        if !meeting.location.trim().is_empty() {
            self.text("LOCATION", &meeting.location);
        }
        self.text("DESCRIPTION", &meeting.description);
        if !meeting.url.is_empty() {
            self.line.push_str("URL;VALUE=URI:");
            self.line.push_str(&clean_param(&meeting.url));
            self.end_line();
        }
        // A cancelled meeting says so; a CANCEL that only uninvites one attendee carries no
        // STATUS (RFC 5546, 3.2.5).
        match (meeting.cancelled, method) {
            (true, _) => self.out.push_str("STATUS:CANCELLED\r\n"),
            (false, Method::Cancel) => {}
            (false, _) => self.out.push_str("STATUS:CONFIRMED\r\n"),
        }
        self.out.push_str("TRANSP:OPAQUE\r\n");
        if method != Method::Publish {
            self.person(
                "ORGANIZER",
                &meeting.organizer_email,
                &meeting.organizer_name,
                &[],
            );
            for a in &meeting.attendees {
                let role = match (a.chair, a.required) {
                    (true, _) => "CHAIR",
                    (false, true) => "REQ-PARTICIPANT",
                    (false, false) => "OPT-PARTICIPANT",
                };
                let partstat = a.partstat.as_str();
                let rsvp = method == Method::Request && !a.chair;
                let params: &[(&str, &str)] = if rsvp {
                    &[
                        ("CUTYPE", "INDIVIDUAL"),
                        ("ROLE", role),
                        ("PARTSTAT", partstat),
                        ("RSVP", "TRUE"),
                    ]
                } else {
                    &[
                        ("CUTYPE", "INDIVIDUAL"),
                        ("ROLE", role),
                        ("PARTSTAT", partstat),
                    ]
                };
                self.person("ATTENDEE", &a.email, &a.name, params);
            }
        }
        self.out.push_str("END:VEVENT\r\n");
    }

    /// The finished calendar object.
    pub fn finish(mut self) -> String {
        self.out.push_str("END:VCALENDAR\r\n");
        self.out
    }
}

/// A calendar object with the given method and events. A feed (`Publish`) also gets a name and
/// the refresh hints that subscribing clients read.
pub fn calendar(method: Method, events: &[MeetingEvent], feed_name: Option<&str>) -> String {
    let mut writer = Writer::new(method, feed_name, events.len());
    for meeting in events {
        writer.event(meeting);
    }
    writer.finish()
}

#[cfg(test)]
pub(crate) mod tests;
