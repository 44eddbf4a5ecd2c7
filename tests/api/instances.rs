//! Several instances against one PostgreSQL database, as behind a load balancer.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use samordna::accounts::Role;
use samordna::mail::{self, Email};

use crate::helpers::{test_settings, Db, TestApp, TestDatabase, TestSmtp};

#[actix_web::test]
async fn two_instances_send_each_queued_message_once_and_share_sessions() {
    let db = Arc::new(TestDatabase::create(Db::Postgres));
    let smtp = TestSmtp::reserve();

    // Both start at once on an empty database: the migrations must not collide.
    let starts: Vec<_> = (0..2)
        .map(|_| {
            let settings = test_settings(&db.url, 0, &smtp, &[]);
            std::thread::spawn(move || samordna::startup::prepare(&settings).map(|_| ()))
        })
        .collect();
    for start in starts {
        start.join().unwrap().expect("concurrent start-up succeeds");
    }

    let a = TestApp::spawn_on(db.clone(), smtp.clone(), Db::Postgres, &[]).await;
    let b = TestApp::spawn_on(db.clone(), smtp.clone(), Db::Postgres, &[]).await;
    const N: usize = 60;
    a.queue_mails(N, |i| {
        Ok(Email {
            to: mail::recipient("", &format!("p{i}@test.samordna.se"))?,
            subject: format!("M {i}"),
            text: "x".into(),
            html: None,
            calendar: None,
        })
    })
    .await;
    // The SMTP server comes up only now, so both workers race for the same backlog.
    smtp.start();
    a.state.mail_wake.notify_one();
    b.state.mail_wake.notify_one();
    let received = smtp.wait_for(N, Duration::from_secs(60)).await;
    actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
    let received = if received.len() >= N {
        smtp.received()
    } else {
        received
    };
    let mut counts: HashMap<String, usize> = HashMap::new();
    for m in &received {
        *counts
            .entry(m.parsed().message_id().unwrap().to_string())
            .or_default() += 1;
    }
    println!(
        "two instances: queued {N}, received {}, distinct {}",
        received.len(),
        counts.len()
    );
    assert_eq!(counts.len(), N, "every message arrived");
    assert_eq!(received.len(), N, "no message arrived twice");

    // A session started on one instance works on the other.
    let admin = a.add_user("socialtjanst", &[Role::Admin]).await;
    a.login(&admin).await;
    let on_b = TestApp {
        client: a.client.clone(),
        ..b.clone()
    };
    let page = on_b
        .client
        .get(on_b.url("/admin/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains(&admin.email));
}
