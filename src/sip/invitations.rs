//! The messages about a meeting: an email per participant with the calendar object inside. They
//! carry a neutral title with the SIP's reference, the time, the place as typed, the participant's
//! own answer link and a link to log in — never the child's name or anything about the case.

use crate::crypto::rows::SealedRow;
use crate::crypto::Keyring;
use diesel::prelude::*;

use crate::calendar::ics::{self, Attendee, MeetingEvent, Method};
use crate::config::Settings;
use crate::db::schema::{invitees, participants};
use crate::db::AnyConnection;
use crate::error::AppError;
use crate::mail::{self, CalendarPart, Email};
use crate::sip::model::swedish_time;
use crate::sip::store::{rsvp_token, Invitee, Meeting, MeetingId, Participant, Sip};

/// The responsible caseworker chairs every meeting: already accepted, never asked to answer.
pub fn is_chair(sip: &Sip, participant: &Participant) -> bool {
    participant.user_id.as_ref() == Some(&sip.responsible_user_id)
}

/// The neutral title every calendar shows.
pub fn title(sip: &Sip) -> String {
    format!("SIP-möte (ref {})", sip.reference)
}

pub fn active_invitees(
    conn: &mut AnyConnection,
    keys: &Keyring,
    meeting: &MeetingId,
) -> Result<Vec<(Invitee, Participant)>, AppError> {
    let rows: Vec<(Invitee, Participant)> = invitees::table
        .inner_join(participants::table)
        .filter(invitees::meeting_id.eq(meeting))
        .filter(invitees::removed_at.is_null())
        .order(participants::added_at)
        .select((Invitee::as_select(), Participant::as_select()))
        .load(conn)?;
    rows.into_iter()
        .map(|(invitee, p)| Ok((invitee, p.open(keys)?)))
        .collect()
}

/// Where the meeting is, as messages and pages show it.
pub fn place_line(meeting: &Meeting) -> String {
    match (meeting.place.is_empty(), meeting.video_url.is_empty()) {
        (false, true) => meeting.place.clone(),
        (true, false) => format!("Video: {}", meeting.video_url),
        _ => format!("{} (eller video: {})", meeting.place, meeting.video_url),
    }
}

/// The meeting for a subscribed feed: the same neutral event, without attendees.
pub fn event_without_attendees(sip: &Sip, meeting: &Meeting, settings: &Settings) -> MeetingEvent {
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

fn attendee(sip: &Sip, participant: &Participant, answer: crate::sip::model::Answer) -> Attendee {
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
    sip: &Sip,
    meeting: &Meeting,
    recipient: &Participant,
    notice: Notice,
    settings: &Settings,
) -> Result<MeetingEvent, AppError> {
    let attendees = if notice == Notice::Uninvited {
        vec![attendee(
            sip,
            recipient,
            crate::sip::model::Answer::NotComing,
        )]
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
        ..event_without_attendees(sip, meeting, settings)
    })
}

/// Queues the message about `meeting` for one participant: text, HTML and their own copy of the
/// calendar object, with their own answer link when there is something to answer.
pub fn send(
    conn: &mut AnyConnection,
    sip: &Sip,
    meeting: &Meeting,
    participant: &Participant,
    notice: Notice,
    settings: &Settings,
) -> Result<(), AppError> {
    let event = event_for(conn, sip, meeting, participant, notice, settings)?;
    let method = notice.method();
    let when = swedish_time(meeting.starts_at, meeting.minutes);
    let (subject, lead) = notice.subject_and_lead(&title(sip));
    let mut text = format!(
        "Hej!\n\n{lead}\n\nTid: {when}\nPlats: {}\n",
        place_line(meeting)
    );
    if method == Method::Request && !is_chair(sip, participant) {
        let link = settings.link(&format!(
            "/svar/{}",
            rsvp_token(settings, &meeting.id, &participant.id)
        ));
        text.push_str(&format!(
            "\nSvara om du kommer: {link}\n(Du kan också svara med knapparna i din kalender.)\n"
        ));
    }
    text.push_str(&format!(
        "\nLogga in för att läsa mer: {}\n\nAv sekretesskäl står inget om ärendet i det här meddelandet.\n",
        settings.link("/mina-moten")
    ));
    let to = format!(
        "{} <{}>",
        participant.name.replace(['<', '>', '"', ','], " ").trim(),
        participant.email
    );
    mail::enqueue(
        conn,
        &Email {
            to,
            subject,
            html: Some(mail::html_from_text(&text)),
            text,
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
    sip: &Sip,
    meeting: &Meeting,
    notice: Notice,
    settings: &Settings,
) -> Result<(), AppError> {
    for (_, participant) in active_invitees(conn, &settings.keys, &meeting.id)? {
        send(conn, sip, meeting, &participant, notice, settings)?;
    }
    Ok(())
}
