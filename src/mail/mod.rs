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
use lettre::message::Mailbox;
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    /// One recipient, name and address kept apart (see [`recipient`]): lettre quotes or encodes
    /// the name as RFC 5322 and RFC 2047 say when it writes the header.
    #[serde(with = "mailbox_parts")]
    pub to: Mailbox,
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

/// The recipient `name <address>`, built from its parts: any printable name is carried as it is
/// (lettre quotes or encodes it when it writes the header), so a name is never parsed back out of
/// a string. Control characters cannot be carried in a header; names are refused with them at
/// input, and any that an older row still holds are turned into spaces here. Fails (without
/// naming the address: errors are logged) only when the address itself is not one.
pub fn recipient(name: &str, address: &str) -> Result<Mailbox, AppError> {
    let email = address.trim().parse::<lettre::Address>().map_err(|_| {
        AppError::internal("cannot queue mail: the recipient's address is not a valid address")
    })?;
    let name: String = name
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    Ok(Mailbox::new((!name.is_empty()).then_some(name), email))
}

/// How a recipient is shown on the admins' outbox page: the name and address as typed.
pub fn recipient_label(to: &Mailbox) -> String {
    match &to.name {
        Some(name) => format!("{name} <{}>", to.email),
        None => to.email.to_string(),
    }
}

/// The recipient in the outbox's JSON as `{"name": …, "email": …}`, so nothing has to be parsed
/// back out of a header string. Reading also takes the older form, one `Name <address>` string.
mod mailbox_parts {
    use lettre::message::Mailbox;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize)]
    struct Parts<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<&'a str>,
        email: &'a str,
    }

    pub fn serialize<S: Serializer>(to: &Mailbox, serializer: S) -> Result<S::Ok, S::Error> {
        Parts {
            name: to.name.as_deref(),
            email: to.email.as_ref(),
        }
        .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Mailbox, D::Error> {
        Mailbox::deserialize(deserializer)
    }
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
        serde_json::from_str(&self.message)
            .map_err(|e| AppError::internal(format!("the queued message cannot be read: {e}")))
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
    let id = OutboxId::generate();
    let at = now();
    diesel::insert_into(outbox::table)
        .values(
            &OutboxMessage {
                message_id: format!("<{id}@{}>", settings.mail_from.email.domain()),
                id: id.clone(),
                created_at: at,
                recipient: recipient_label(&email.to),
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

/// Where one message is: its status and, once sent, when. `None` if there is no such message.
pub fn delivery(
    conn: &mut AnyConnection,
    id: &OutboxId,
) -> Result<Option<(OutboxStatus, Option<NaiveDateTime>)>, AppError> {
    Ok(outbox::table
        .find(id)
        .select((outbox::status, outbox::sent_at))
        .first(conn)
        .optional()?)
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
    use super::*;

    #[test]
    fn a_recipient_keeps_any_printable_name_and_reads_back_from_the_outbox() {
        for name in [
            "Sara Lind (mamma)",
            "Lind, Sara [vårdnadshavare]",
            "Sara: mamma; pappa @ hemma \\ \"Lind\"",
            "Åsa Öberg-Ängström",
            &"Långt namn med ÅÄÖ ".repeat(10),
        ] {
            let to = recipient(name, "Sara@Example.test").unwrap();
            assert_eq!(to.name.as_deref(), Some(name.trim()));
            let email = Email {
                to,
                subject: "Ämne".into(),
                text: "Hej".into(),
                html: None,
                calendar: None,
            };
            let stored = serde_json::to_string(&email).unwrap();
            let back: Email = serde_json::from_str(&stored).unwrap();
            assert_eq!(back, email, "{name}");
        }
    }

    #[test]
    fn a_recipient_without_a_name_or_with_control_characters() {
        let to = recipient("  ", "kim@skola.test").unwrap();
        assert_eq!(to.name, None);
        let to = recipient("Kim\r\nBcc: x@evil.test\0", "kim@skola.test").unwrap();
        assert_eq!(to.name.as_deref(), Some("Kim Bcc: x@evil.test"));
        let error = recipient("Kim", "kim.at.skola.test")
            .unwrap_err()
            .to_string();
        assert!(
            !error.contains("kim"),
            "the address is not in the error: {error}"
        );
    }

    #[test]
    fn an_outbox_row_written_before_names_were_kept_apart_still_reads() {
        let old = r#"{"to":"Kim Lind <kim@skola.test>","subject":"s","text":"t"}"#;
        let email: Email = serde_json::from_str(old).unwrap();
        assert_eq!(email.to.name.as_deref(), Some("Kim Lind"));
        assert_eq!(email.to.email.to_string(), "kim@skola.test");
    }
}
