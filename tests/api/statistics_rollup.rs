//! The statistics' monthly roll-up (migration 61) is kept by the flows in their transactions:
//! after every filing, safety assessment, child's decision, refused second attempt and removal by
//! retention it equals what the reports' rows give, the statistics read from it agree, and the
//! migration's backfill from the rows gives the same.

use samordna::accounts::Role;
use samordna::db::AnyConnection;
use samordna::reports::store::rollup;
use serde_json::{json, Value};

use crate::helpers::{report_body, TestApp};
use crate::on_both_databases;

on_both_databases!(the_rollup_equals_the_rows_after_every_flow);

/// Asserts that the kept roll-up equals the figures computed from the rows; returns it.
async fn same_as_rows(app: &TestApp, municipality: &str, step: &str) -> Vec<rollup::Row> {
    let m = municipality.to_string();
    let (kept, from_rows) = app
        .conn(move |c| rollup::kept_and_from_rows(c, &m).unwrap())
        .await;
    assert_eq!(kept, from_rows, "after {step}");
    kept
}

fn three_children(municipality: &str) -> Value {
    let mut body = report_body(municipality, "syskon");
    body["children"] = json!([
        {"personal_number": "20121212-1212", "name": "Kim Syskon", "told": true},
        {"personal_number": "20140305-1236", "name": "Ada Syskon", "told": true},
        {"personal_number": "20160712-4565", "name": "Bo Syskon", "told": true},
    ]);
    body["categories"] = json!(["neglect", "school_absence"]);
    body
}

fn decision(child: &str, decision: &str) -> Value {
    json!({"child_id": child, "decision": decision, "reason": "Skäl.", "siblings_note": "Syskon."})
}

async fn the_rollup_equals_the_rows_after_every_flow(app: TestApp) {
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let intake = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let manager = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Manager])
        .await;
    let ekby = app.municipality_id("Ekby").await;
    let (teacher, intake, manager) = (
        app.token_for(&teacher).await,
        app.token_for(&intake).await,
        app.token_for(&manager).await,
    );
    let officer = app.as_user(&intake);
    assert!(same_as_rows(&app, &ekby, "nothing").await.is_empty());

    // Filings: one child, three children, one left unassessed.
    let mut ids = Vec::new();
    for body in [
        report_body(&ekby, "ett barn"),
        three_children(&ekby),
        report_body(&ekby, "obedömd"),
    ] {
        let filed = app.as_user(&teacher).post_ok("/api/v1/reports", body).await;
        ids.push(filed["id"].as_str().unwrap().to_string());
    }
    let kept = same_as_rows(&app, &ekby, "the filings").await;
    let received: i64 = kept
        .iter()
        .filter(|r| r.figure == "received")
        .map(|r| r.a)
        .sum();
    assert_eq!(received, 3);
    let (one, siblings) = (&ids[0], &ids[1]);

    // Safety assessments, and a second one refused without counting twice.
    for id in [one, siblings] {
        officer
            .post_ok(
                &format!("/api/v1/reports/{id}/safety-assessment"),
                json!({"protection_needed": false, "notes": ""}),
            )
            .await;
    }
    let before = same_as_rows(&app, &ekby, "the assessments").await;
    let (status, _) = officer
        .post(
            &format!("/api/v1/reports/{one}/safety-assessment"),
            json!({"protection_needed": true, "notes": ""}),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(
        same_as_rows(&app, &ekby, "a second assessment").await,
        before
    );

    // Decisions: the one child; then the siblings one at a time and two together.
    officer
        .post_ok(
            &format!("/api/v1/reports/{one}/decision"),
            json!({"decision": "not_open", "reason": "Inget behov av utredning."}),
        )
        .await;
    same_as_rows(&app, &ekby, "the first decision").await;
    let (_, full) = officer.get(&format!("/api/v1/reports/{siblings}")).await;
    let children: Vec<String> = full["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(children.len(), 3, "{full}");
    let path = format!("/api/v1/reports/{siblings}/decision");
    officer
        .post_ok(&path, json!({"children": [decision(&children[0], "open")]}))
        .await;
    same_as_rows(&app, &ekby, "one sibling's decision").await;
    officer
        .post_ok(
            &path,
            json!({"children": [decision(&children[1], "not_open"), decision(&children[2], "open")]}),
        )
        .await;
    let decided = same_as_rows(&app, &ekby, "the other siblings' decisions").await;
    // A decision is made once: deciding a child again is refused and changes nothing.
    let (status, _) = officer
        .post(
            &path,
            json!({"children": [decision(&children[0], "not_open")]}),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(
        same_as_rows(&app, &ekby, "a second decision").await,
        decided
    );
    let decisions: i64 = decided
        .iter()
        .filter(|r| r.figure == "decisions")
        .map(|r| r.a)
        .sum();
    assert_eq!(decisions, 4);

    // The statistics read from the roll-up say the same.
    let (status, body) = app
        .as_user(&manager)
        .get("/api/v1/statistics?group=month")
        .await;
    assert_eq!(status, 200, "{body}");
    let f = &body["total"]["figures"];
    assert_eq!(f["reports_received"], "<5", "{f}");
    assert_eq!(body["total"]["by_reporter"]["skola"], "<5", "{body}");

    // Retention, years on, removes the report decided without an investigation: its counts go
    // with it; the siblings' report, with investigations, stays.
    let later = samordna::db::now() + chrono::Duration::days(366 * 6);
    let removed = app
        .conn(move |c| samordna::reports::retention::run(c, later, false).unwrap())
        .await;
    let removed: Vec<&str> = removed.iter().map(|r| r.report_id.as_str()).collect();
    assert_eq!(removed, [one.as_str()]);
    let kept = same_as_rows(&app, &ekby, "the removal").await;
    let received: i64 = kept
        .iter()
        .filter(|r| r.figure == "received")
        .map(|r| r.a)
        .sum();
    assert_eq!(received, 2);

    // The migration's backfill from the rows gives the same roll-up as the flows kept.
    let dir = if app.db.url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    };
    let file = |name: &str| {
        std::fs::read_to_string(format!(
            "{}/migrations/{dir}/2026-12-02-000061_statistics_rollup/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    let (down, up) = (file("down.sql"), file("up.sql"));
    app.conn(move |conn| {
        use diesel::connection::SimpleConnection;
        for sql in [&down, &up] {
            match conn {
                AnyConnection::Sqlite(c) => c.batch_execute(sql),
                AnyConnection::Postgresql(c) => c.batch_execute(sql),
            }
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    })
    .await;
    assert_eq!(same_as_rows(&app, &ekby, "the backfill").await, kept);
}
