//! Calendar replies arriving by mail. When a participant presses Accept in Outlook, Gmail, Apple
//! Calendar or Thunderbird, the client mails a `METHOD:REPLY` to the ORGANIZER address, which is the
//! service's mailbox. The mail server hands each message to `samordna ingest-mail` (pipe delivery)
//! or posts it to `POST /api/v1/inbound/mail`. A message that cannot be used gets a clear error
//! and is logged (never its content), not silently dropped.

use actix_web::{web, HttpResponse};
use mail_parser::{MessageParser, MimeHeaders};

use crate::accounts::identity::ApiActor;
use crate::authz::Actor;
use crate::calendar::reply::{parse_reply, ReplyError};
use crate::db::AnyConnection;
use crate::error::{ApiError, AppError};
use crate::sip::store::answers::{apply_reply, Applied};
use crate::web::AppState;

#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    #[error("the message could not be read as an e-mail")]
    NotMail,
    #[error("the message has no calendar part (text/calendar or .ics)")]
    NoCalendar,
    #[error("the calendar part is not a usable reply: {0}")]
    Reply(#[from] ReplyError),
    #[error("no meeting with this UID has this attendee")]
    NoMatch,
    /// The address is not named: errors are logged, and an address identifies a person.
    #[error("the sender is not the attendee the reply answers for")]
    SenderMismatch,
    #[error(transparent)]
    Storage(AppError),
}

/// Parses a message. mail-parser 0.11 panics on some malformed nested messages (found by
/// fuzzing: `tests/fixtures/fuzz/mail-parser-panic.eml`); such a message is read as not mail.
fn parse(raw: &[u8]) -> Option<mail_parser::Message<'_>> {
    std::panic::catch_unwind(|| MessageParser::default().parse(raw)).unwrap_or(None)
}

/// The first calendar in a message: an inline `text/calendar` part or an `.ics` attachment.
pub fn calendar_in(raw: &[u8]) -> Result<String, InboundError> {
    let message = parse(raw).ok_or(InboundError::NotMail)?;
    message
        .parts
        .iter()
        .find(|part| {
            let by_type = part.content_type().is_some_and(|c| {
                let sub = c.subtype().unwrap_or_default().to_ascii_lowercase();
                (c.ctype().eq_ignore_ascii_case("text") && sub == "calendar")
                    || (c.ctype().eq_ignore_ascii_case("application") && sub == "ics")
            });
            let by_name = part
                .attachment_name()
                .is_some_and(|n| n.to_ascii_lowercase().ends_with(".ics"));
            by_type || by_name
        })
        .map(|part| String::from_utf8_lossy(part.contents()).into_owned())
        .ok_or(InboundError::NoCalendar)
}

/// The address in the message's `From:` header, lower-cased.
fn sender(raw: &[u8]) -> Option<String> {
    let message = parse(raw)?;
    let from = message.from()?.first()?.address()?.to_ascii_lowercase();
    Some(from)
}

/// Reads one message and records the answer it carries. The sender must be the attendee the
/// reply answers for: a participant cannot answer for someone else by editing the calendar.
pub fn ingest(
    conn: &mut AnyConnection,
    keys: &crate::crypto::Keyring,
    raw: &[u8],
) -> Result<Applied, InboundError> {
    let reply = parse_reply(&calendar_in(raw)?)?;
    let from = sender(raw).unwrap_or_default();
    if from != reply.attendee {
        return Err(InboundError::SenderMismatch);
    }
    match apply_reply(conn, keys, &reply) {
        Ok(applied) => {
            tracing::info!(uid = %reply.uid, sequence = reply.sequence, ?applied, "calendar reply");
            Ok(applied)
        }
        Err(AppError::NotFound) => Err(InboundError::NoMatch),
        Err(e) => Err(InboundError::Storage(e)),
    }
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct InboundBody {
    /// `recorded`; `stale` when the reply answers an older version of the meeting; `cancelled`
    /// when the meeting has been cancelled since (the answer is not kept). None of them is an
    /// error: the message was read and needs no further delivery.
    pub result: String,
}

/// `POST /api/v1/inbound/mail` (an integration token): one raw RFC 822 message as the body.
#[utoipa::path(post, path = "/api/v1/inbound/mail", tag = "sip",
    request_body(content = String, content_type = "message/rfc822", description = "The raw message"),
    responses((status = 200, description = "The message was read: `recorded`, `stale` or `cancelled`", body = InboundBody),
              (status = 401, description = "No valid token", body = crate::error::ErrorResponse),
              (status = 403, description = "The token is not an integration's", body = crate::error::ErrorResponse),
              (status = 422, description = "Not a usable calendar reply, or it matches no meeting; the reason (in English) is in `errors[0].message`", body = crate::error::ErrorResponse)),
    security(("bearer" = [])))]
pub async fn post_inbound_mail(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if !matches!(actor, Actor::Integration(_)) {
        return Err(AppError::Forbidden.into());
    }
    let keys = state.settings.keys.clone();
    let outcome = state
        .db(move |conn| match ingest(conn, &keys, &body) {
            Ok(applied) => Ok(Ok(applied)),
            Err(InboundError::Storage(e)) => Err(e),
            Err(other) => Ok(Err(other)),
        })
        .await?;
    match outcome {
        Ok(applied) => Ok(HttpResponse::Ok().json(InboundBody {
            result: applied.as_str().into(),
        })),
        Err(problem) => {
            tracing::warn!(error = %problem, "inbound mail not used");
            Err(AppError::Invalid(vec![crate::error::FieldError::new(
                "message",
                problem.to_string(),
            )])
            .into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_that_makes_the_mail_parser_panic_is_not_mail() {
        // Found by fuzzing (scripts/fuzz, target inbound_mail): mail-parser 0.11.9 panics with
        // "Invalid part ID, could not find multipart" on this nested message.
        let raw = include_bytes!("../../tests/fixtures/fuzz/mail-parser-panic.eml");
        assert!(matches!(calendar_in(raw), Err(InboundError::NotMail)));
        assert_eq!(sender(raw), None);
    }
}
