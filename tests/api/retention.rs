//! Retention (gallring), on both databases: a report that did not lead to an investigation goes
//! when its time has passed, with everything about the child; the audit trail keeps its history
//! and records the removal by id; a dry run changes nothing.

use chrono::Months;
use diesel::prelude::*;
use samordna::accounts::{MunicipalityId, Role};
use samordna::audit::{self, Verdict};
use samordna::db::schema::{
    audit_log, report_children, report_decisions, report_guardians, report_reporters, reports,
};
use samordna::reports::retention;
use serde_json::json;

use crate::helpers::{outcome, report_body, Db, TestApp};
use crate::on_both_databases;

async fn decided(app: &TestApp, teacher: &str, intake: &str, ekby: &str, decision: &str) -> String {
    let (_, filed) = app
        .as_user(teacher)
        .post("/api/v1/reports", report_body(ekby, "gallring"))
        .await;
    let id = filed["id"].as_str().unwrap().to_string();
    let (intake, path) = (app.as_user(intake), format!("/api/v1/reports/{id}"));
    let assessment = json!({"protection_needed": false, "notes": ""});
    let (assessed, _) = intake
        .post(&format!("{path}/safety-assessment"), assessment)
        .await;
    assert_eq!(assessed, 201);
    let decision = json!({"decision": decision, "reason": "Skäl."});
    let (decision, _) = intake.post(&format!("{path}/decision"), decision).await;
    assert_eq!(decision, 201);
    id
}

async fn decided_months_ago(app: &TestApp, id: &str, months: u32) {
    let id = id.to_string();
    app.conn(move |c| {
        let at = samordna::db::now()
            .checked_sub_months(Months::new(months))
            .unwrap();
        diesel::update(report_decisions::table.filter(report_decisions::report_id.eq(id)))
            .set(report_decisions::decided_at.eq(at))
            .execute(c)
            .unwrap()
    })
    .await;
}

/// How many rows about the report are left: report, children, guardians, reporter, decision.
async fn rows_about(app: &TestApp, id: &str) -> [i64; 5] {
    let id = id.to_string();
    app.conn(move |c| {
        [
            reports::table.find(&id).count().get_result(c).unwrap(),
            report_children::table
                .filter(report_children::report_id.eq(&id))
                .count()
                .get_result(c)
                .unwrap(),
            report_guardians::table
                .filter(report_guardians::report_id.eq(&id))
                .count()
                .get_result(c)
                .unwrap(),
            report_reporters::table
                .find(&id)
                .count()
                .get_result(c)
                .unwrap(),
            report_decisions::table
                .filter(report_decisions::report_id.eq(&id))
                .count()
                .get_result(c)
                .unwrap(),
        ]
    })
    .await
}

async fn reports_without_investigation_go_when_their_time_has_passed(app: TestApp) {
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let intake = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let (teacher, intake) = (app.token_for(&teacher).await, app.token_for(&intake).await);
    let ekby = app.municipality_id("Ekby").await;
    let old = decided(&app, &teacher, &intake, &ekby, "not_open").await;
    let recent = decided(&app, &teacher, &intake, &ekby, "not_open").await;
    let investigated = decided(&app, &teacher, &intake, &ekby, "open").await;
    decided_months_ago(&app, &old, 61).await;
    decided_months_ago(&app, &recent, 59).await;
    decided_months_ago(&app, &investigated, 100).await;
    // Handed over to the case system: the hand-over goes with the report.
    let (status, _) = app
        .as_user(&intake)
        .post(
            &format!("/api/v1/reports/{old}/handover"),
            json!({"registration_number": "SN 2021/77"}),
        )
        .await;
    assert_eq!(status, 201);

    // A dry run lists the one due (60 months by default) and removes nothing.
    let listed = app
        .conn(|c| retention::run(c, samordna::db::now(), true).unwrap())
        .await;
    let ids: Vec<&str> = listed.iter().map(|r| r.report_id.as_str()).collect();
    assert_eq!(ids, [old.as_str()]);
    assert_eq!(listed[0].months, 60);
    assert_eq!(rows_about(&app, &old).await, [1, 1, 1, 1, 1]);

    // The real run removes it with everything about the child, and says so in the audit trail.
    let removed = app
        .conn(|c| retention::run(c, samordna::db::now(), false).unwrap())
        .await;
    assert_eq!(removed.len(), 1);
    assert_eq!(rows_about(&app, &old).await, [0, 0, 0, 0, 0]);
    let handovers: i64 = app
        .conn(|c| {
            samordna::db::schema::report_handovers::table
                .count()
                .get_result(c)
                .unwrap()
        })
        .await;
    assert_eq!(handovers, 0, "the hand-over is removed with the report");
    assert_eq!(rows_about(&app, &recent).await, [1, 1, 1, 1, 1]);
    assert_eq!(
        rows_about(&app, &investigated).await[0],
        1,
        "an investigated report stays"
    );
    let trail = {
        let old = old.clone();
        app.conn(move |c| {
            audit_log::table
                .filter(audit_log::object_id.eq(&old))
                .select((audit_log::action, audit_log::actor_label, audit_log::detail))
                .load::<(String, String, String)>(c)
                .unwrap()
        })
        .await
    };
    let actions: Vec<&str> = trail.iter().map(|(a, _, _)| a.as_str()).collect();
    assert!(
        actions.contains(&"report.create"),
        "the history stays: {actions:?}"
    );
    let (_, actor, detail) = trail
        .iter()
        .find(|(a, _, _)| a == "report.retention_removed")
        .expect("the removal is audited");
    assert_eq!(actor, "systemet");
    assert_eq!(detail, "law=SoL 2001:453 months=60");
    // Running again finds nothing more.
    let again = app
        .conn(|c| retention::run(c, samordna::db::now(), false).unwrap())
        .await;
    assert!(again.is_empty());

    // A municipality's own, shorter time for that law takes the recent one too.
    let municipality = MunicipalityId(ekby.clone());
    app.conn(move |c| retention::set_rule(c, &municipality, "SoL 2001:453", 24).unwrap())
        .await;
    let removed = app
        .conn(|c| retention::run(c, samordna::db::now(), false).unwrap())
        .await;
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].report_id.as_str(), recent);
    assert_eq!(rows_about(&app, &recent).await, [0, 0, 0, 0, 0]);

    let verdict = app.conn(|c| audit::verify(c).unwrap()).await;
    assert!(matches!(verdict, Verdict::Intact { .. }), "{verdict:?}");
}

on_both_databases!(reports_without_investigation_go_when_their_time_has_passed);

/// The schedule: an instance started with retention on removes a report that is due, and with
/// it sign-in attempts older than their window.
async fn the_scheduled_run_removes_what_is_due(kind: Db) {
    let first = TestApp::spawn(kind).await;
    let teacher = first.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let intake = first
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let (teacher, intake) = (
        first.token_for(&teacher).await,
        first.token_for(&intake).await,
    );
    let ekby = first.municipality_id("Ekby").await;
    let old = decided(&first, &teacher, &intake, &ekby, "not_open").await;
    decided_months_ago(&first, &old, 61).await;
    first
        .conn(|c| {
            use samordna::db::schema::sign_in_attempts;
            diesel::insert_into(sign_in_attempts::table)
                .values((
                    sign_in_attempts::id.eq("gammal"),
                    sign_in_attempts::key.eq("0".repeat(64)),
                    sign_in_attempts::at.eq(samordna::db::now() - chrono::TimeDelta::hours(1)),
                ))
                .execute(c)
                .unwrap();
        })
        .await;
    assert_eq!(rows_about(&first, &old).await[0], 1);

    let scheduled = TestApp::spawn_on(
        first.db.clone(),
        first.smtp.clone(),
        kind,
        &[("SAMORDNA_RETENTION_HOURS", "24")],
    )
    .await;
    let mut left = [1; 5];
    for _ in 0..100 {
        left = rows_about(&scheduled, &old).await;
        if left == [0; 5] {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(left, [0; 5], "removed at start-up");
    let attempts: i64 = scheduled
        .conn(|c| {
            use samordna::db::schema::sign_in_attempts;
            sign_in_attempts::table.count().get_result(c).unwrap()
        })
        .await;
    assert_eq!(attempts, 0, "old sign-in attempts swept");
}

crate::on_both_kinds!(the_scheduled_run_removes_what_is_due);

#[actix_web::test]
async fn the_command_line_lists_and_sets_retention() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let intake = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let (teacher, intake) = (app.token_for(&teacher).await, app.token_for(&intake).await);
    let ekby = app.municipality_id("Ekby").await;
    let old = decided(&app, &teacher, &intake, &ekby, "not_open").await;
    decided_months_ago(&app, &old, 61).await;
    let samordna = |args: &[&str]| outcome(&app.samordna(args).output().unwrap());
    let (code, out, _) = samordna(&["retention", "run", "--dry-run"]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("Would remove 1 report(s)") && out.contains(&old),
        "{out}"
    );
    assert_eq!(rows_about(&app, &old).await[0], 1);
    let (code, _, err) = samordna(&[
        "retention",
        "set",
        "--municipality",
        "Ekby",
        "--law",
        "SoL 1980:620",
        "--months",
        "12",
    ]);
    assert_ne!(code, Some(0));
    assert!(err.contains("--law must be one of"), "{err}");
    let (code, out, _) = samordna(&[
        "retention",
        "set",
        "--municipality",
        "Ekby",
        "--law",
        "SoL 2001:453",
        "--months",
        "120",
    ]);
    assert_eq!(code, Some(0), "{out}");
    let (_, out, _) = samordna(&["retention", "run"]);
    assert!(
        out.contains("Removed 0 report(s)"),
        "kept 120 months now: {out}"
    );
    assert_eq!(rows_about(&app, &old).await[0], 1);
}
