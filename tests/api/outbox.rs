use std::collections::HashMap;
use std::time::Duration;

use diesel::prelude::*;
use samordna::db::schema::outbox;
use samordna::mail::{self, Email};

use crate::helpers::{Db, TestApp};

fn message_ids(received: &[crate::helpers::Received]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for m in received {
        let id = m.parsed().message_id().expect("Message-ID").to_string();
        *counts.entry(id).or_insert(0) += 1;
    }
    counts
}

/// Queues `n` messages about Testkommun's work (the municipality of `TestApp::add_user`).
async fn queue(app: &TestApp, n: usize) {
    app.queue_mails(n, |i| {
        Ok(Email {
            to: mail::recipient(
                &format!("Mottagare {i}"),
                &format!("mottagare{i}@test.samordna.se"),
            )?,
            subject: format!("Testmeddelande {i}"),
            text: format!("Meddelande nummer {i}.\nÅ, ä och ö kommer fram."),
            html: None,
            calendar: None,
        })
    })
    .await;
    app.state.mail_wake.notify_one();
}

async fn mail_waits_while_smtp_is_down_and_arrives_exactly_once(app: TestApp) {
    queue(&app, 5).await;
    // SMTP refuses connections: the messages stay queued, with the error for the admin to see.
    actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
    let rows: Vec<(String, i32, Option<String>)> = app
        .conn(|c| {
            outbox::table
                .select((outbox::status, outbox::attempts, outbox::last_error))
                .load(c)
                .unwrap()
        })
        .await;
    assert_eq!(rows.len(), 5);
    assert!(
        rows.iter()
            .all(|(status, attempts, error)| status == "queued"
                && *attempts >= 1
                && error.is_some()),
        "{rows:?}"
    );
    assert!(app.smtp.received().is_empty());

    app.signed_in_admin().await;
    let page = app.page("/admin/outbox").await;
    assert!(page.contains("I kö"), "{page}");
    assert!(
        page.contains("Connection refused") || page.contains("connection refused"),
        "the last error is shown: {page}"
    );

    // SMTP comes back: every message (5 + the admin's welcome mail) arrives, each once.
    app.smtp.start();
    let received = app.smtp.wait_for(6, Duration::from_secs(30)).await;
    actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
    let received_after = app.smtp.received();
    assert_eq!(received.len(), 6);
    assert_eq!(received_after.len(), 6, "nothing is sent twice");
    assert!(message_ids(&received_after).values().all(|&n| n == 1));
    let text = received_after
        .iter()
        .find(|m| m.parsed().subject() == Some("Testmeddelande 3"))
        .unwrap();
    assert!(text
        .parsed()
        .body_text(0)
        .unwrap()
        .contains("Å, ä och ö kommer fram."));
    assert_eq!(text.from, "samordna@test.samordna.se");
    let statuses: Vec<String> = app
        .conn(|c| outbox::table.select(outbox::status).load(c).unwrap())
        .await;
    assert!(statuses.iter().all(|s| s == "sent"), "{statuses:?}");
}

#[actix_web::test]
async fn smtp_down_then_up_on_sqlite() {
    mail_waits_while_smtp_is_down_and_arrives_exactly_once(
        TestApp::spawn_with(Db::Sqlite, &[], false).await,
    )
    .await;
}

#[actix_web::test]
async fn smtp_down_then_up_on_postgres() {
    mail_waits_while_smtp_is_down_and_arrives_exactly_once(
        TestApp::spawn_with(Db::Postgres, &[], false).await,
    )
    .await;
}

/// Mail queued while no instance runs is sent when one starts, and a restart sends nothing twice.
#[actix_web::test]
async fn a_restart_loses_nothing_and_resends_nothing() {
    let first = TestApp::spawn_with(Db::Sqlite, &[], true).await;
    queue(&first, 10).await;
    first.smtp.wait_for(10, Duration::from_secs(20)).await;
    // "Restart": a new instance on the same database and SMTP server.
    let second = TestApp::spawn_on(first.db.clone(), first.smtp.clone(), Db::Sqlite, &[]).await;
    queue(&second, 3).await;
    let received = second.smtp.wait_for(13, Duration::from_secs(20)).await;
    actix_web::rt::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(received.len(), 13);
    assert_eq!(second.smtp.received().len(), 13);
    assert!(message_ids(&received).values().all(|&n| n == 1));
}

/// A permanent refusal (5xx) is not retried; the admin sees it as given up, with the reason.
#[actix_web::test]
async fn a_message_that_cannot_be_built_is_given_up_with_the_reason() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let settings = app.state.settings.clone();
    app.conn(move |conn| {
        let email = Email {
            to: mail::recipient("", "a@b.se").unwrap(),
            subject: "Test".into(),
            text: "x".into(),
            html: None,
            calendar: None,
        };
        // Queue and corrupt in one transaction, so that the worker never sees the good message.
        samordna::db::write_tx(conn, |conn| {
            let municipality = crate::helpers::test_municipality(conn)?;
            mail::enqueue(conn, &email, &municipality, &settings)?;
            let mut corrupt = serde_json::to_value(&email).unwrap();
            corrupt["to"] = "not an address".into();
            let sealed = settings.keys.seal("outbox.message", &corrupt.to_string());
            diesel::update(outbox::table)
                .set(outbox::message.eq(sealed))
                .execute(conn)?;
            Ok::<_, samordna::error::AppError>(())
        })
        .unwrap();
    })
    .await;
    app.state.mail_wake.notify_one();
    let mut status = String::new();
    for _ in 0..100 {
        status = app
            .conn(|c| {
                outbox::table
                    .select(outbox::status)
                    .first::<String>(c)
                    .unwrap()
            })
            .await;
        if status == "failed" {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "failed");
    let error: Option<String> = app
        .conn(|c| outbox::table.select(outbox::last_error).first(c).unwrap())
        .await;
    assert!(error.unwrap().contains("cannot be read"));
}
