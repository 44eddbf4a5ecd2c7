//! Outgoing mail through a transactional outbox: a message is written to the `outbox` table in the
//! same transaction as the change that causes it, and a background [`worker`] sends it.
//!
//! Email is an open channel: a message carries no name, personnummer or reason, only a neutral
//! subject, a reference code, a time and a link to log in.

pub mod transport;
pub mod web;
pub mod worker;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::accounts::MunicipalityId;
use crate::crypto::rows::SealedRow;
use crate::crypto::Keyring;
use crate::db::schema::outbox;
use crate::db::{now, AnyConnection};
use crate::error::AppError;
use crate::{string_id, text_enum};

string_id!(OutboxId);

text_enum!(
    /// Where a message is on its way out.
    OutboxStatus {
        Queued => "queued" : "I kö",
        Sending => "sending" : "Skickas",
        Sent => "sent" : "Skickat",
        Failed => "failed" : "Gav upp",
    }
);

/// A message to send. Stored as JSON in the outbox, so the worker sends exactly what was queued.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    /// One recipient, as `Name <address>` or a bare address.
    pub to: String,
    pub subject: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// A calendar object (an invitation, update or cancellation) sent the way calendar clients
    /// expect it: inline as `text/calendar` and as an `invite.ics` attachment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<CalendarPart>,
}

/// The iCalendar part of a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarPart {
    /// `REQUEST` or `CANCEL`: the `method=` parameter, equal to the calendar's `METHOD`.
    pub method: String,
    pub ics: String,
}

/// The HTML twin of a plain-text message: escaped, paragraphs kept, addresses made links.
pub fn html_from_text(text: &str) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let line = |l: &str| {
        l.split(' ')
            .map(|word| {
                if word.starts_with("https://") || word.starts_with("http://") {
                    format!("<a href=\"{0}\">{0}</a>", escape(word))
                } else {
                    escape(word)
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let paragraphs: Vec<String> = text
        .trim()
        .split("\n\n")
        .map(|p| {
            format!(
                "<p>{}</p>",
                p.lines().map(line).collect::<Vec<_>>().join("<br>")
            )
        })
        .collect();
    format!(
        "<!doctype html><html lang=\"sv\"><body>{}</body></html>",
        paragraphs.join("\n")
    )
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = outbox)]
pub struct OutboxMessage {
    pub id: OutboxId,
    pub created_at: NaiveDateTime,
    pub recipient: String,
    pub subject: String,
    pub message: String,
    /// Fixed when queued, so a message sent twice after a crash is recognisably the same one.
    pub message_id: String,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub sent_at: Option<NaiveDateTime>,
    /// Whose admins see it on the outbox page.
    pub municipality_id: Option<MunicipalityId>,
}

// The recipient's name and address, and the whole message (it names the recipient, and an
// invitation's calendar names the others invited), are sealed: the subject is neutral and stays
// readable for the outbox page.
crate::sealed_row!(OutboxMessage, outbox by id: [recipient, message]);

impl OutboxMessage {
    pub fn email(&self) -> Result<Email, AppError> {
        serde_json::from_str(&self.message).map_err(AppError::internal)
    }
}

/// Queues a message about `municipality`'s work. Call it inside the transaction of the change that
/// causes the message.
pub fn enqueue(
    conn: &mut AnyConnection,
    email: &Email,
    municipality: &MunicipalityId,
    settings: &crate::config::Settings,
) -> Result<OutboxId, AppError> {
    email
        .to
        .parse::<lettre::message::Mailbox>()
        .map_err(|e| AppError::internal(format!("cannot queue mail to {:?}: {e}", email.to)))?;
    let id = OutboxId::generate();
    let at = now();
    diesel::insert_into(outbox::table)
        .values(
            &OutboxMessage {
                message_id: format!("<{id}@{}>", settings.mail_from.email.domain()),
                id: id.clone(),
                created_at: at,
                recipient: email.to.clone(),
                subject: email.subject.clone(),
                message: serde_json::to_string(email).map_err(AppError::internal)?,
                status: OutboxStatus::Queued,
                attempts: 0,
                next_attempt_at: at,
                locked_until: None,
                last_error: None,
                sent_at: None,
                municipality_id: Some(municipality.clone()),
            }
            .seal(&settings.keys),
        )
        .execute(conn)?;
    Ok(id)
}

/// `municipality`'s newest messages, optionally of one status, for the admin page.
pub fn list(
    conn: &mut AnyConnection,
    municipality: &MunicipalityId,
    status: Option<OutboxStatus>,
    limit: i64,
    keys: &Keyring,
) -> Result<Vec<OutboxMessage>, AppError> {
    let mut query = outbox::table
        .filter(outbox::municipality_id.eq(municipality))
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(outbox::status.eq(status));
    }
    let rows: Vec<OutboxMessage> = query
        .order(outbox::created_at.desc())
        .limit(limit)
        .select(OutboxMessage::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| row.open(keys))
        .collect::<Result<_, _>>()?)
}

/// How many of `municipality`'s messages there are in each status.
pub fn counts(
    conn: &mut AnyConnection,
    municipality: &MunicipalityId,
) -> Result<Vec<(OutboxStatus, i64)>, AppError> {
    use diesel::dsl::count_star;
    Ok(outbox::table
        .filter(outbox::municipality_id.eq(municipality))
        .group_by(outbox::status)
        .select((outbox::status, count_star()))
        .load(conn)?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn html_twin_escapes_and_links() {
        let html = super::html_from_text("Hej <du>!\n\nSvara: https://x.test/svar/a&b\nTack");
        assert!(html.contains("<p>Hej &lt;du&gt;!</p>"));
        assert!(html.contains(
            "<a href=\"https://x.test/svar/a&amp;b\">https://x.test/svar/a&amp;b</a><br>Tack"
        ));
    }
}
