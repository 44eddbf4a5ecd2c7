//! The messages about a meeting: an email per participant with the calendar object inside. They
//! carry a neutral title with the SIP's reference, the time, the place as typed, the participant's
//! own answer link and a link to log in — never the child's name or anything about the case.

use crate::calendar::ics::{self, Attendee, MeetingEvent, Method};
use crate::config::Settings;
use crate::db::AnyConnection;
use crate::error::AppError;
use crate::mail::{self, CalendarPart, Email};
use crate::sip::model::{swedish_time, Answer};
use crate::sip::store::answers::{active_invitees, rsvp_token};
use crate::sip::store::{is_chair, Meeting, Participant, Sip};

/// The neutral title every calendar shows.
pub fn title(sip: &Sip) -> String {
    format!("SIP-möte (ref {})", sip.reference)
}

/// Where the meeting is, as messages and pages show it.
pub fn place_line(meeting: &Meeting) -> String {
    place_text(&meeting.place, &meeting.video_url)
}

fn place_text(place: &str, video_url: &str) -> String {
    match (place.is_empty(), video_url.is_empty()) {
        (false, true) => place.to_string(),
        (true, false) => format!("Video: {video_url}"),
        _ => format!("{place} (eller video: {video_url})"),
    }
}

/// The meeting for a subscribed feed: the same neutral event, without attendees.
pub fn event_without_attendees(settings: &Settings, sip: &Sip, meeting: &Meeting) -> MeetingEvent {
    MeetingEvent {
        uid: meeting.uid.clone(),
        sequence: meeting.sequence,
        stamp: meeting.updated_at,
        start: meeting.starts_at,
        minutes: meeting.minutes.into(),
        summary: title(sip),
        location: place_line(meeting),
        description: description(settings),
        url: settings.link("/mina-moten"),
        cancelled: meeting.cancelled_at.is_some(),
        organizer_email: settings.mail_from.email.to_string(),
        organizer_name: settings
            .mail_from
            .name
            .clone()
            .unwrap_or_else(|| "Samordna".into()),
        attendees: Vec::new(),
    }
}

fn description(settings: &Settings) -> String {
    format!(
        "Logga in i Samordna för att läsa mer: {}\nAv sekretesskäl står inget om ärendet här.",
        settings.link("/mina-moten")
    )
}

/// What a message about a meeting tells its recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    /// You are invited (REQUEST).
    Invitation,
    /// The meeting changed, or who takes part did (REQUEST).
    Update,
    /// The meeting is cancelled for everyone (CANCEL, STATUS:CANCELLED).
    Cancelled,
    /// You are no longer invited (CANCEL naming only you, no STATUS).
    Uninvited,
}

impl Notice {
    pub fn method(self) -> Method {
        match self {
            Notice::Invitation | Notice::Update => Method::Request,
            Notice::Cancelled | Notice::Uninvited => Method::Cancel,
        }
    }

    fn subject_and_lead(self, title: &str) -> (String, &'static str) {
        match self {
            Notice::Invitation => (
                format!("Inbjudan: {title}"),
                "Du är inbjuden till ett SIP-möte.",
            ),
            Notice::Update => (
                format!("Ändrat: {title}"),
                "Mötet har ändrats. Här är de aktuella uppgifterna.",
            ),
            Notice::Cancelled => (format!("Inställt: {title}"), "Mötet är inställt."),
            Notice::Uninvited => (
                format!("Du är inte längre med: {title}"),
                "Du är inte längre inbjuden till mötet.",
            ),
        }
    }
}

fn attendee(sip: &Sip, participant: &Participant, answer: Answer) -> Attendee {
    Attendee {
        email: participant.email.clone(),
        name: participant.name.clone(),
        chair: is_chair(sip, participant),
        required: participant.required,
        partstat: answer.partstat(),
    }
}

/// The recipient's own copy of the meeting. Nobody learns from it who else takes part: the
/// chair's copy lists everyone invited; anyone else's lists the chair and themselves; a
/// cancellation for a removed person names only them.
pub fn event_for(
    conn: &mut AnyConnection,
    settings: &Settings,
    sip: &Sip,
    meeting: &Meeting,
    recipient: &Participant,
    notice: Notice,
) -> Result<MeetingEvent, AppError> {
    let attendees = if notice == Notice::Uninvited {
        vec![attendee(sip, recipient, Answer::NotComing)]
    } else {
        let recipient_is_chair = is_chair(sip, recipient);
        active_invitees(conn, &settings.keys, &meeting.id)?
            .into_iter()
            .filter(|(_, p)| recipient_is_chair || is_chair(sip, p) || p.id == recipient.id)
            .map(|(invitee, p)| attendee(sip, &p, invitee.status))
            .collect()
    };
    Ok(MeetingEvent {
        attendees,
        ..event_without_attendees(settings, sip, meeting)
    })
}

/// The words of a message about a meeting, for both its parts: the text part is written from
/// them here, the HTML part by its own template, where each address is a link of its own (never
/// words of the text turned into links).
#[derive(askama::Template)]
#[template(path = "mail/meeting.html")]
pub struct MeetingMail {
    pub lead: &'static str,
    pub when: String,
    pub place: String,
    pub video_url: String,
    /// The participant's own answer link, when there is something to answer.
    pub answer_link: Option<String>,
    pub login_link: String,
}

impl MeetingMail {
    pub fn text(&self) -> String {
        let mut text = format!(
            "Hej!\n\n{}\n\nTid: {}\nPlats: {}\n",
            self.lead,
            self.when,
            place_text(&self.place, &self.video_url)
        );
        if let Some(link) = &self.answer_link {
            text.push_str(&format!(
                "\nSvara om du kommer: {link}\n(Du kan också svara med knapparna i din kalender.)\n"
            ));
        }
        text.push_str(&format!(
            "\nLogga in för att läsa mer: {}\n\nAv sekretesskäl står inget om ärendet i det här meddelandet.\n",
            self.login_link
        ));
        text
    }
}

/// Queues the message about `meeting` for one participant: text, HTML and their own copy of the
/// calendar object, with their own answer link when there is something to answer.
pub fn send(
    conn: &mut AnyConnection,
    settings: &Settings,
    sip: &Sip,
    meeting: &Meeting,
    participant: &Participant,
    notice: Notice,
) -> Result<(), AppError> {
    use askama::Template;
    let event = event_for(conn, settings, sip, meeting, participant, notice)?;
    let method = notice.method();
    let (subject, lead) = notice.subject_and_lead(&title(sip));
    let words = MeetingMail {
        lead,
        when: swedish_time(meeting.starts_at, meeting.minutes),
        place: meeting.place.clone(),
        video_url: meeting.video_url.clone(),
        answer_link: (method == Method::Request && !is_chair(sip, participant)).then(|| {
            settings.link(&format!(
                "/svar/{}",
                rsvp_token(settings, &meeting.id, &participant.id)
            ))
        }),
        login_link: settings.link("/mina-moten"),
    };
    mail::enqueue(
        conn,
        &Email {
            to: mail::recipient(&participant.name, &participant.email)?,
            subject,
            html: Some(words.render().map_err(AppError::internal)?),
            text: words.text(),
            calendar: Some(CalendarPart {
                method: method.as_str().into(),
                ics: ics::calendar(method, std::slice::from_ref(&event), None),
            }),
        },
        &sip.municipality_id,
        settings,
    )?;
    Ok(())
}

/// Queues the message about `meeting` to everyone still invited.
pub fn send_to_all(
    conn: &mut AnyConnection,
    settings: &Settings,
    sip: &Sip,
    meeting: &Meeting,
    notice: Notice,
) -> Result<(), AppError> {
    for (_, participant) in active_invitees(conn, &settings.keys, &meeting.id)? {
        send(conn, settings, sip, meeting, &participant, notice)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use askama::Template;

    fn mail(place: &str, video_url: &str) -> MeetingMail {
        MeetingMail {
            lead: "Du är inbjuden till ett SIP-möte.",
            when: "tisdag 3 mars kl. 10.00–11.30".into(),
            place: place.into(),
            video_url: video_url.into(),
            answer_link: Some("https://samordna.test/svar/abc".into()),
            login_link: "https://samordna.test/mina-moten".into(),
        }
    }

    /// The links in an HTML part, as a browser reads them (character references decoded).
    fn links(html: &str) -> Vec<String> {
        html.split("<a href=\"")
            .skip(1)
            .map(|rest| decode(&rest[..rest.find('"').unwrap()]))
            .collect()
    }

    /// Decodes the character references an escaper writes (`&amp;`, `&#38;`, `&#x26;`, …); a
    /// bare `&` is not allowed.
    fn decode(text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find('&') {
            out.push_str(&rest[..at]);
            let end = rest[at..].find(';').expect("a complete reference") + at;
            let name = &rest[at + 1..end];
            out.push(match name {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                _ if name.starts_with("#x") => {
                    char::from_u32(u32::from_str_radix(&name[2..], 16).unwrap()).unwrap()
                }
                _ if name.starts_with('#') => char::from_u32(name[1..].parse().unwrap()).unwrap(),
                other => panic!("unknown reference {other}"),
            });
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }

    #[test]
    fn the_html_part_links_to_exactly_the_video_address() {
        let video = "https://video.test/m?x=1&y=2";
        let m = mail("Stadshuset", video);
        let html = m.render().unwrap();
        assert_eq!(
            links(&html),
            [
                video,
                "https://samordna.test/svar/abc",
                "https://samordna.test/mina-moten"
            ]
        );
        assert!(html.contains("Stadshuset (eller video: <a"), "{html}");
        assert!(m
            .text()
            .contains("Plats: Stadshuset (eller video: https://video.test/m?x=1&y=2)"));
        let only_video = mail("", video).render().unwrap();
        assert_eq!(links(&only_video)[0], video);
        assert!(!mail("Stadshuset", "").render().unwrap().contains("video"));
    }

    #[test]
    fn the_html_part_escapes_what_was_typed() {
        let html = mail("Rum <2> & \"3\"", "").render().unwrap();
        let line = html
            .lines()
            .find(|l| l.starts_with("Plats: "))
            .unwrap()
            .trim_end_matches("</p>");
        assert!(!line.contains(['<', '"']) && !line.contains("& "), "{line}");
        assert_eq!(decode(line), "Plats: Rum <2> & \"3\"");
    }
}
