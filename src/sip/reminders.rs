//! Reminders before SIP meetings, and consents that run out. Reminders: a background task on every instance finds meetings that start
//! within `SAMORDNA_REMINDER_HOURS` (default 24) and have had no reminder, claims each with a
//! conditional update (so two instances never both send), and queues one plain message per
//! invitee in the same transaction.

use std::sync::Arc;

use askama::Template;
use chrono::Duration;
use diesel::prelude::*;

use crate::config::Settings;
use crate::crypto::rows::SealedRow;
use crate::db::schema::{meetings, sips};
use crate::db::{now, write_tx, AnyConnection, DbPool};
use crate::error::AppError;
use crate::mail::{self, Email};
use crate::sip::invitations::title;
use crate::sip::model::swedish_time;
use crate::sip::store::answers::active_invitees;
use crate::sip::store::{Meeting, Sip};

/// Sends the reminders that are due; returns how many meetings got one.
pub fn send_due(conn: &mut AnyConnection, settings: &Settings) -> Result<usize, AppError> {
    let at = now();
    let horizon = at + Duration::from_std(settings.reminder_before).unwrap_or_default();
    let due: Vec<(Meeting, Sip)> = meetings::table
        .inner_join(sips::table)
        .filter(meetings::cancelled_at.is_null())
        .filter(meetings::reminder_sent_at.is_null())
        .filter(meetings::starts_at.gt(at))
        .filter(meetings::starts_at.le(horizon))
        .select((Meeting::as_select(), Sip::as_select()))
        .load::<(Meeting, Sip)>(conn)?
        .into_iter()
        .map(|(m, s)| Ok((m.open(&settings.keys)?, s.open(&settings.keys)?)))
        .collect::<Result<_, AppError>>()?;
    let mut sent = 0;
    for (meeting, sip) in due {
        sent += write_tx(conn, |conn| {
            let claimed = diesel::update(
                meetings::table
                    .filter(meetings::id.eq(&meeting.id))
                    .filter(meetings::reminder_sent_at.is_null())
                    .filter(meetings::cancelled_at.is_null()),
            )
            .set(meetings::reminder_sent_at.eq(now()))
            .execute(conn)?;
            if claimed == 0 {
                return Ok::<usize, AppError>(0);
            }
            let words = ReminderMail {
                title: title(&sip),
                when: swedish_time(meeting.starts_at, meeting.minutes),
                login_link: settings.link("/mina-moten"),
            };
            let html = words.render().map_err(AppError::internal)?;
            for (invitee, participant) in active_invitees(conn, &settings.keys, &meeting.id)? {
                if invitee.status == crate::sip::model::Answer::NotComing {
                    continue;
                }
                mail::enqueue(
                    conn,
                    &Email {
                        to: mail::recipient(&participant.name, &participant.email)?,
                        subject: format!("Påminnelse: {}", words.title),
                        html: Some(html.clone()),
                        text: words.text(),
                        calendar: None,
                    },
                    &sip.municipality_id,
                    settings,
                )?;
            }
            Ok(1)
        })?;
    }
    Ok(sent)
}

/// The words of a reminder: the text part is written here, the HTML part by its own template.
#[derive(askama::Template)]
#[template(path = "mail/reminder.html")]
struct ReminderMail {
    title: String,
    when: String,
    login_link: String,
}

impl ReminderMail {
    fn text(&self) -> String {
        format!(
            "Hej!\n\nPåminnelse: {} är {}.\n\nLogga in för att läsa mer: {}\n\n\
             Av sekretesskäl står inget om ärendet i det här meddelandet.\n",
            self.title, self.when, self.login_link
        )
    }
}

/// Every `reminder_poll_interval` until the process ends: removes partners whose consent has run
/// out (they get a cancellation), then runs [`send_due`].
pub async fn run(pool: DbPool, settings: Arc<Settings>, mail_wake: Arc<tokio::sync::Notify>) {
    loop {
        let (pool, s) = (pool.clone(), settings.clone());
        let result = actix_web::web::block(move || -> Result<usize, AppError> {
            let mut conn = pool.get()?;
            let expired = crate::sip::expire_consents(&mut conn, &s)?;
            if expired > 0 {
                tracing::info!(
                    participants = expired,
                    "consent ran out: participants removed"
                );
            }
            Ok(send_due(&mut conn, &s)? + expired)
        })
        .await;
        match result {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => {
                tracing::info!(messages = n, "meeting reminders and cancellations queued");
                mail_wake.notify_one();
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "meeting reminders failed; will retry"),
            Err(e) => tracing::warn!(error = %e, "meeting reminders task failed; will retry"),
        }
        tokio::time::sleep(settings.reminder_poll_interval).await;
    }
}
