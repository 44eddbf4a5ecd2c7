//! Turns a queued [`Email`] into a MIME message and hands it to SMTP or to the mail folder.

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Attachment, Body, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::MailTransportSetting;
use crate::mail::Email;

#[derive(Clone)]
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder(AsyncFileTransport<Tokio1Executor>),
}

/// Why a message could not be sent, and whether trying again may help.
#[derive(Debug)]
pub struct SendError {
    pub message: String,
    pub permanent: bool,
}

impl Transport {
    pub fn from_setting(setting: &MailTransportSetting) -> Result<Self, String> {
        match setting {
            MailTransportSetting::Smtp(url) => AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map(|b| {
                    Transport::Smtp(b.timeout(Some(std::time::Duration::from_secs(30))).build())
                })
                .map_err(|e| format!("SAMORDNA_SMTP_URL: {e}")),
            MailTransportSetting::Folder(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    format!("SAMORDNA_MAIL_DIR: cannot create {}: {e}", dir.display())
                })?;
                Ok(Transport::Folder(AsyncFileTransport::new(dir)))
            }
        }
    }

    pub async fn send(&self, message: Message) -> Result<(), SendError> {
        match self {
            Transport::Smtp(smtp) => smtp.send(message).await.map(|_| ()).map_err(|e| SendError {
                permanent: e.is_permanent(),
                message: e.to_string(),
            }),
            Transport::Folder(folder) => {
                folder
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| SendError {
                        permanent: false,
                        message: e.to_string(),
                    })
            }
        }
    }
}

/// Builds the MIME message: plain text, or text and HTML as alternatives. With a calendar part,
/// the shape calendar clients need: `multipart/mixed` › `multipart/alternative` [`text/plain`,
/// `text/html`, `text/calendar; method=…`] plus the same calendar as an `invite.ics` attachment.
pub fn build_message(email: &Email, from: &Mailbox, message_id: &str) -> Result<Message, String> {
    let builder = Message::builder()
        .from(from.clone())
        .to(email.to.clone())
        .subject(&email.subject)
        .message_id(Some(message_id.to_string()));
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(email.text.clone());
    let html = |html: &String| {
        SinglePart::builder()
            .header(ContentType::TEXT_HTML)
            .body(html.clone())
    };
    let result = match (&email.html, &email.calendar) {
        (None, None) => builder.singlepart(text),
        (Some(h), None) => builder.multipart(
            MultiPart::alternative()
                .singlepart(text)
                .singlepart(html(h)),
        ),
        (html_part, Some(calendar)) => {
            let inline: ContentType =
                format!("text/calendar; charset=UTF-8; method={}", calendar.method)
                    .parse()
                    .map_err(|e| format!("bad calendar method {:?}: {e}", calendar.method))?;
            let mut alternative = MultiPart::alternative().singlepart(text);
            if let Some(h) = html_part {
                alternative = alternative.singlepart(html(h));
            }
            alternative = alternative.singlepart(
                SinglePart::builder()
                    .header(inline)
                    .header(ContentTransferEncoding::QuotedPrintable)
                    .body(calendar.ics.clone()),
            );
            let attachment = Attachment::new("invite.ics".into()).body(
                Body::new_with_encoding(
                    calendar.ics.clone().into_bytes(),
                    ContentTransferEncoding::Base64,
                )
                .map_err(|_| "cannot encode the calendar".to_string())?,
                "application/ics".parse().expect("a valid content type"),
            );
            builder.multipart(
                MultiPart::mixed()
                    .multipart(alternative)
                    .singlepart(attachment),
            )
        }
    };
    result.map_err(|e| format!("cannot build message: {e}"))
}

#[cfg(test)]
mod calendar_mail_tests {
    use super::*;
    use crate::mail::CalendarPart;
    use mail_parser::{MessageParser, MimeHeaders, PartType};

    #[test]
    fn an_invitation_has_the_shape_calendar_clients_need() {
        let ics = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nSUMMARY:SIP-möte\r\nEND:VCALENDAR\r\n";
        let email = Email {
            to: crate::mail::recipient("Kim Lind", "kim@skola.test").unwrap(),
            subject: "Inbjudan: SIP-möte (ref SIP-4KX9)".into(),
            text: "Hej".into(),
            html: Some("<p>Hej</p>".into()),
            calendar: Some(CalendarPart {
                method: "REQUEST".into(),
                ics: ics.into(),
            }),
        };
        let from: Mailbox = "Samordna <samordna@kommun.test>".parse().unwrap();
        let raw = build_message(&email, &from, "<1@kommun.test>")
            .unwrap()
            .formatted();
        let message = MessageParser::default().parse(&raw).unwrap();
        let ctype = |part: &mail_parser::MessagePart| {
            let c = part.content_type().unwrap();
            format!("{}/{}", c.ctype(), c.subtype().unwrap_or_default())
        };
        assert_eq!(ctype(&message.parts[0]), "multipart/mixed");
        let PartType::Multipart(top) = &message.parts[0].body else {
            panic!("mixed")
        };
        assert_eq!(
            ctype(&message.parts[top[0] as usize]),
            "multipart/alternative"
        );
        let PartType::Multipart(alternatives) = &message.parts[top[0] as usize].body else {
            panic!("alternative")
        };
        let kinds: Vec<String> = alternatives
            .iter()
            .map(|i| ctype(&message.parts[*i as usize]))
            .collect();
        assert_eq!(kinds, ["text/plain", "text/html", "text/calendar"]);
        let inline = &message.parts[alternatives[2] as usize];
        assert_eq!(
            inline.content_type().unwrap().attribute("method"),
            Some("REQUEST")
        );
        assert_eq!(inline.text_contents(), Some(ics));
        let attachment = &message.parts[top[1] as usize];
        assert_eq!(ctype(attachment), "application/ics");
        assert_eq!(attachment.attachment_name(), Some("invite.ics"));
        assert_eq!(attachment.content_transfer_encoding(), Some("base64"));
        assert_eq!(attachment.contents(), ics.as_bytes());
    }
}
