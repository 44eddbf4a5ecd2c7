use std::process::Command;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use samordna::accounts::Role;
use samordna::audit::{self, Verdict};
use samordna::db::schema::audit_log;
use samordna::db::AnyConnection;

use crate::helpers::{Db, TestApp};
use crate::on_both_databases;

/// `samordna audit verify` against the test database: exit code and output.
fn verify_cli(app: &TestApp) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_samordna"))
        .args(["audit", "verify"])
        .env("SAMORDNA_DATABASE_URL", &app.db.url)
        .env("SAMORDNA_SECRET_KEY", crate::helpers::SECRET)
        .output()
        .expect("run samordna");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn drop_guard(conn: &mut AnyConnection) {
    // What an attacker with database rights would do first: remove the append-only trigger.
    match conn {
        AnyConnection::Postgresql(_) => conn
            .batch_execute("DROP TRIGGER audit_log_no_change ON audit_log")
            .unwrap(),
        AnyConnection::Sqlite(_) => conn
            .batch_execute("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")
            .unwrap(),
    }
}

async fn the_trail_is_append_only_and_tampering_is_detected(app: TestApp) {
    for _ in 0..3 {
        let user = app.add_user("skola", &[Role::Reporter]).await;
        app.fresh_browser().login(&user).await;
    }
    assert_eq!(
        app.conn(|c| audit::verify(c).unwrap()).await,
        Verdict::Intact { entries: 6 }
    );
    assert_eq!(
        verify_cli(&app),
        (
            0,
            "Audit trail intact: 6 entries, every link checked.\n".into()
        )
    );

    // The database itself refuses changes and removals.
    let refused = app
        .conn(|c| {
            let update = diesel::update(audit_log::table.find(2))
                .set(audit_log::detail.eq("x"))
                .execute(c)
                .is_err();
            let delete = diesel::delete(audit_log::table.find(2)).execute(c).is_err();
            update && delete
        })
        .await;
    assert!(refused, "audit_log must be append-only");

    // Past the trigger, an altered row is found...
    app.conn(|c| {
        drop_guard(c);
        diesel::update(audit_log::table.find(3))
            .set(audit_log::outcome.eq("failure"))
            .execute(c)
            .unwrap();
    })
    .await;
    let (code, out) = verify_cli(&app);
    assert_eq!(code, 1);
    assert_eq!(out, "AUDIT TRAIL BROKEN at entry 3: has been altered.\n");
    app.conn(|c| {
        diesel::update(audit_log::table.find(3))
            .set(audit_log::outcome.eq("success"))
            .execute(c)
            .unwrap()
    })
    .await;
    assert_eq!(verify_cli(&app).0, 0, "restored row verifies again");

    // ...so is a removed one in the middle...
    let saved: audit::Entry = app
        .conn(|c| {
            audit_log::table
                .find(4)
                .select(audit::Entry::as_select())
                .first(c)
                .unwrap()
        })
        .await;
    app.conn(|c| diesel::delete(audit_log::table.find(4)).execute(c).unwrap())
        .await;
    assert_eq!(
        app.conn(|c| audit::verify(c).unwrap()).await,
        Verdict::Broken {
            seq: 4,
            problem: "entry 4 is missing (next present is 5)".into()
        }
    );
    app.conn(move |c| {
        diesel::insert_into(audit_log::table)
            .values(&saved)
            .execute(c)
            .unwrap()
    })
    .await;

    // ...and one cut off the end.
    app.conn(|c| diesel::delete(audit_log::table.find(6)).execute(c).unwrap())
        .await;
    let (code, out) = verify_cli(&app);
    assert_eq!(code, 1);
    assert!(
        out.contains("the trail ends at entry 5 but 6 were written"),
        "{out}"
    );
}

/// An entry belongs to the municipality whose data it is about, whoever acted: a teacher of
/// Grannby who files into Testkommun, and an officer of Grannby refused Testkommun's report, are
/// on Testkommun's audit page, not on Grannby's.
async fn entries_belong_to_the_municipality_whose_data_they_are_about(app: TestApp) {
    let admin_here = app.add_user("socialtjanst", &[Role::Admin]).await;
    let admin_there = app
        .add_user_in("Grannby", "socialtjanst", &[Role::Admin])
        .await;
    let teacher = app.add_user_in("Grannby", "skola", &[Role::Reporter]).await;
    let officer_there = app
        .add_user_in("Grannby", "socialtjanst", &[Role::Intake])
        .await;
    let testkommun = app.municipality_id("Testkommun").await;
    let token = app.token_for(&teacher).await;
    let filed: serde_json::Value = app
        .client
        .post(app.url("/api/v1/reports"))
        .bearer_auth(&token)
        .json(&crate::helpers::report_body(&testkommun, "grannby"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let report = filed["id"].as_str().expect("filed").to_string();
    let read = |token: String| {
        let (client, url) = (
            app.client.clone(),
            app.url(&format!("/api/v1/reports/{report}")),
        );
        async move {
            let response = client.get(url).bearer_auth(token).send().await.unwrap();
            response.status().as_u16()
        }
    };
    assert_eq!(
        read(token.clone()).await,
        200,
        "the outcome, for the teacher"
    );
    assert_eq!(read(app.token_for(&officer_there).await).await, 404);

    let id = report.clone();
    let entries: Vec<(String, String, Option<String>)> = app
        .conn(move |conn| {
            audit_log::table
                .filter(audit_log::object_id.eq(id))
                .select((
                    audit_log::action,
                    audit_log::outcome,
                    audit_log::municipality_id,
                ))
                .load(conn)
                .unwrap()
        })
        .await;
    let here = Some(testkommun.clone());
    assert_eq!(
        entries,
        [
            (
                "report.create".to_string(),
                "success".to_string(),
                here.clone()
            ),
            ("report.view".to_string(), "denied".to_string(), here),
        ]
    );
    let path = format!("/admin/audit?object_id={report}");
    let (here, there) = (app.fresh_browser(), app.fresh_browser());
    here.login(&admin_here).await;
    there.login(&admin_there).await;
    let here = here.page(&path).await;
    assert!(here.contains(&teacher.email) && here.contains(&officer_there.email));
    assert!(here.contains("Nekat"));
    let there = there.page(&path).await;
    assert!(!there.contains(&teacher.email) && !there.contains(&officer_there.email));
}

/// Reads that are audited, sent in parallel, all succeed: each entry is written after the trail's
/// head is taken (on SQLite a transaction that reads first cannot wait for another writer).
async fn audited_reads_in_parallel_all_succeed(app: TestApp) {
    let officer = app.add_user("socialtjanst", &[Role::Intake]).await;
    let token = app.token_for(&officer).await;
    let mut readers = Vec::new();
    for _ in 0..6 {
        let (client, url, token) = (
            reqwest::Client::new(),
            app.url("/api/v1/intake"),
            token.clone(),
        );
        readers.push(actix_web::rt::spawn(async move {
            let mut statuses = Vec::new();
            for _ in 0..25 {
                let response = client.get(&url).bearer_auth(&token).send().await.unwrap();
                statuses.push(response.status().as_u16());
            }
            statuses
        }));
    }
    let mut statuses = Vec::new();
    for reader in readers {
        statuses.extend(reader.await.unwrap());
    }
    assert_eq!(statuses, vec![200; 150]);
    let verdict = app.conn(|conn| audit::verify(conn).unwrap()).await;
    assert!(matches!(verdict, Verdict::Intact { .. }), "{verdict:?}");
}

on_both_databases!(
    audited_reads_in_parallel_all_succeed,
    the_trail_is_append_only_and_tampering_is_detected,
    entries_belong_to_the_municipality_whose_data_they_are_about,
);

#[actix_web::test]
async fn entries_are_numbered_without_gaps_under_concurrent_writers() {
    let app = TestApp::spawn(Db::Postgres).await;
    let mut handles = Vec::new();
    for i in 0..8 {
        let pool = app.state.pool.clone();
        handles.push(std::thread::spawn(move || {
            let mut conn = pool.get().unwrap();
            for j in 0..25 {
                let actor = audit::AuditActor::system();
                audit::record(
                    &mut conn,
                    &audit::Event {
                        actor: &actor,
                        action: "test.write",
                        object_type: "test",
                        object_id: Some(&format!("{i}-{j}")),
                        outcome: audit::Outcome::Success,
                        detail: "",
                    },
                )
                .unwrap();
            }
        }));
    }
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(
        app.conn(|c| audit::verify(c).unwrap()).await,
        Verdict::Intact { entries: 200 }
    );
}
