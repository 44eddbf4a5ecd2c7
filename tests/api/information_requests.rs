//! Information requests to partners (issue 19 §2), on both databases: a caseworker asks a BVC
//! nurse and a school nurse within an open investigation; each gets a content-free email; each
//! sees only the request addressed to them (others get 404, audited); one answers with text, one
//! declines with a reason; the caseworker follows the trail (sent, first read, answered /
//! declined / overdue); the questions and the reply are sealed at rest; a closed investigation
//! takes no new request; receivers of an unanswered request are reminded once before its last day.

use std::time::Duration;

use diesel::prelude::*;
use samordna::accounts::Role;
use samordna::db::schema::{audit_log, information_requests, investigations};
use serde_json::{json, Value};

use crate::helpers::{error_fields, TestApp};
use crate::on_both_databases;

pub(crate) const KIM: &str = "20121212-1212";
pub(crate) const CHILD_NAME: &str = "Kim Testbarn";
const QUESTIONS: &str = "Hur ser barnets tillväxt och hälsa ut? Har ni sett något som oroar er?";
const ANSWER: &str = "Barnet väger mindre än förväntat och har missat två besök.";
const DECLINE: &str = "Eleven har inte varit hos skolsköterskan, så jag har inga uppgifter.";

/// Files a report on Kim, assesses it and opens an investigation; returns its id.
pub(crate) async fn open_investigation(
    app: &TestApp,
    teacher: &str,
    intake: &str,
    cw: &str,
) -> String {
    let ekby = app.municipality_id("Ekby").await;
    let (status, filed) = app
        .as_user(teacher)
        .post(
            "/api/v1/reports",
            json!({
                "municipality_id": ekby,
                "children": [{"personal_number": KIM, "name": CHILD_NAME, "told": false,
                              "not_told_reason": "Barnet är rädd."}],
                "guardians": [{"name": "Pappa Testsson", "told": false, "not_told_reason": "Risk för våld."}],
                "concern": "Kim är ofta hungrig och har blåmärken.",
                "categories": ["neglect"],
                "acute_danger": false,
                "police_informed": false
            }),
        )
        .await;
    assert_eq!(status, 201, "{filed}");
    let id = filed["id"].as_str().unwrap();
    let (status, _) = app
        .as_user(intake)
        .post(
            &format!("/api/v1/reports/{id}/safety-assessment"),
            json!({"protection_needed": false, "notes": ""}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, report) = app
        .as_user(intake)
        .get(&format!("/api/v1/reports/{id}"))
        .await;
    let child = report["children"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = app
        .as_user(intake)
        .post(
            &format!("/api/v1/reports/{id}/decision"),
            json!({"children": [{"child_id": child, "decision": "open",
                   "reason": "Uppgifter om försummelse.", "siblings_note": "Inga syskon."}]}),
        )
        .await;
    assert!(
        status == 200 || status == 201 || status == 204,
        "{status} {body}"
    );
    let (_, list) = app.as_user(cw).get("/api/v1/investigations").await;
    list[0]["id"].as_str().unwrap().to_string()
}

async fn request_answer_decline_and_trail(app: TestApp) {
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let intake = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let caseworker = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Caseworker])
        .await;
    let nurse = app.add_user_in("Ekby", "bvc", &[Role::Reporter]).await;
    let school_nurse = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let elsewhere = app
        .add_user_in("Annanstad", "socialtjanst", &[Role::Caseworker])
        .await;
    let (teacher_t, intake_t, cw, nurse_t, school_t, elsewhere_t) = (
        app.token_for(&teacher).await,
        app.token_for(&intake).await,
        app.token_for(&caseworker).await,
        app.token_for(&nurse).await,
        app.token_for(&school_nurse).await,
        app.token_for(&elsewhere).await,
    );
    let bvc = app.organisation_of(&nurse.user_id).await;
    let school = app.organisation_of(&school_nurse.user_id).await;
    let investigation = open_investigation(&app, &teacher_t, &intake_t, &cw).await;
    let path = format!("/api/v1/investigations/{investigation}/information-requests");
    // Welcome mails, and the reporter's feedback on the decision.
    app.smtp.wait_for(7, Duration::from_secs(10)).await;
    let before = app.smtp.received().len();

    // Bad input: every field named, in Swedish; a person outside the organisation refused.
    let (status, body) = app.as_user(&cw).post(&path, json!({})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        error_fields(&body),
        ["organisation_id", "recipients", "questions"]
    );
    let (status, body) = app
        .as_user(&cw)
        .post(
            &path,
            json!({"organisation_id": bvc, "recipients": [school_nurse.user_id],
                   "questions": QUESTIONS}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["recipients"]);
    let (status, body) = app
        .as_user(&cw)
        .post(
            &path,
            json!({"organisation_id": bvc, "recipients": [nurse.user_id],
                   "questions": QUESTIONS, "due_on": "i morgon"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["due_on"]);
    // Only caseworkers of the municipality send; others are told it does not exist.
    for token in [&intake_t, &elsewhere_t, &nurse_t] {
        let (status, _) = app
            .as_user(token)
            .post(
                &path,
                json!({"organisation_id": bvc, "recipients": [nurse.user_id], "questions": QUESTIONS}),
            )
            .await;
        assert_eq!(status, 404);
    }

    // Sent: to the BVC nurse (default due date) and to the school nurse.
    let (status, to_bvc) = app
        .as_user(&cw)
        .post(
            &path,
            json!({"organisation_id": bvc, "recipients": [nurse.user_id], "questions": QUESTIONS}),
        )
        .await;
    assert_eq!(status, 201, "{to_bvc}");
    let today = samordna::db::now().date();
    assert_eq!(
        to_bvc["due_on"],
        (today + chrono::Days::new(14)).to_string(),
        "14 days by default"
    );
    assert_eq!(to_bvc["status"], "sent");
    assert!(to_bvc["legal_basis"]
        .as_str()
        .unwrap()
        .contains("socialtjänstlagen"));
    let reference = to_bvc["reference"].as_str().unwrap().to_string();
    assert!(reference.starts_with("UB-"), "{reference}");
    let bvc_id = to_bvc["id"].as_str().unwrap().to_string();
    let (status, to_school) = app
        .as_user(&cw)
        .post(
            &path,
            json!({"organisation_id": school, "recipients": [school_nurse.user_id],
                   "questions": "Hur är närvaron?", "due_on": (today + chrono::Days::new(7)).to_string()}),
        )
        .await;
    assert_eq!(status, 201, "{to_school}");
    let school_id = to_school["id"].as_str().unwrap().to_string();

    // Each receiver gets one content-free email with the reference only.
    let mails = app.smtp.wait_for(before + 2, Duration::from_secs(10)).await;
    let mails: Vec<_> = mails[before..]
        .iter()
        .filter(|m| {
            m.parsed()
                .subject()
                .is_some_and(|s| s.starts_with("Begäran om uppgifter"))
        })
        .cloned()
        .collect();
    assert_eq!(mails.len(), 2);
    for mail in &mails {
        let raw = String::from_utf8_lossy(&mail.data).to_string();
        let parsed = mail.parsed();
        let text = parsed.body_text(0).unwrap().to_string();
        assert!(
            text.contains(
                "Socialtjänsten i Ekby kommun har en begäran om uppgifter till dig, ref UB-"
            ),
            "{text}"
        );
        // The link is the receiver's page of the request, holding only its id.
        let lines: Vec<&str> = text.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.ends_with("Logga in för att läsa och svara:"))
            .expect("the line asking to log in");
        let link = lines[at + 1];
        let id = link.rsplit('/').next().unwrap();
        assert!(
            link.starts_with("http")
                && link.ends_with(&format!("/begaran/{id}"))
                && [bvc_id.as_str(), school_id.as_str()].contains(&id),
            "{text}"
        );
        for secret in [KIM, "121212-1212", CHILD_NAME, "Kim", QUESTIONS, "närvaron"] {
            assert!(
                !text.contains(secret) && !raw.contains(secret),
                "{secret} in mail"
            );
        }
    }
    let to_nurse = mails
        .iter()
        .find(|m| m.to.iter().any(|t| t.contains(&nurse.email)))
        .expect("mail to the BVC nurse");
    assert!(to_nurse.parsed().subject().unwrap().contains(&reference));

    // Each receiver sees only what is addressed to them, never the investigation.
    let (status, own) = app
        .as_user(&nurse_t)
        .get("/api/v1/information-requests")
        .await;
    assert_eq!(status, 200);
    let own = own.as_array().unwrap();
    assert_eq!(own.len(), 1);
    assert_eq!(own[0]["id"], bvc_id.as_str());
    assert!(own[0].get("investigation_id").is_none(), "{}", own[0]);
    let (_, none) = app
        .as_user(&teacher_t)
        .get("/api/v1/information-requests")
        .await;
    assert_eq!(none, json!([]));
    let bvc_path = format!("/api/v1/information-requests/{bvc_id}");
    let school_path = format!("/api/v1/information-requests/{school_id}");
    for (token, path) in [
        (&school_t, &bvc_path),
        (&nurse_t, &school_path),
        (&teacher_t, &bvc_path),
        (&elsewhere_t, &bvc_path),
    ] {
        let (status, _) = app.as_user(token).get(path).await;
        assert_eq!(status, 404, "{path}");
    }
    let (status, _) = app
        .as_user(&nurse_t)
        .get("/api/v1/information-requests/gissat-id")
        .await;
    assert_eq!(status, 404);
    let (status, _) = app.as_user(&elsewhere_t).get(&path).await;
    assert_eq!(status, 404, "another municipality's trail");

    // Reading it (the receiver) is kept as its first read; social services reading does not count.
    let (_, trail) = app.as_user(&cw).get(&path).await;
    assert_eq!(trail[0]["status"], "sent");
    assert!(trail[0]["first_read_at"].is_null());
    let (status, read) = app.as_user(&nurse_t).get(&bvc_path).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["questions"], QUESTIONS);
    assert_eq!(read["sender"]["from"], "Socialtjänsten i Ekby kommun");
    assert_eq!(read["status"], "read");
    let first = read["first_read_at"].clone();
    assert!(first.is_string());
    let (_, again) = app.as_user(&nurse_t).get(&bvc_path).await;
    assert_eq!(again["first_read_at"], first, "the first read is kept");

    // The BVC nurse answers; the school nurse declines with a reason; each once.
    let (status, body) = app
        .as_user(&nurse_t)
        .post(&format!("{bvc_path}/answer"), json!({"text": "  "}))
        .await;
    assert_eq!(status, 422);
    assert_eq!(error_fields(&body), ["text"]);
    let (status, _) = app
        .as_user(&cw)
        .post(&format!("{bvc_path}/answer"), json!({"text": ANSWER}))
        .await;
    assert_eq!(status, 404, "only a receiver answers");
    let (status, _) = app
        .as_user(&school_t)
        .post(&format!("{bvc_path}/answer"), json!({"text": ANSWER}))
        .await;
    assert_eq!(status, 404, "not addressed to her");
    let (status, answered) = app
        .as_user(&nurse_t)
        .post(&format!("{bvc_path}/answer"), json!({"text": ANSWER}))
        .await;
    assert_eq!(status, 201, "{answered}");
    assert_eq!(answered["status"], "answered");
    for (suffix, body) in [
        ("answer", json!({"text": "Mer"})),
        ("decline", json!({"reason": "x"})),
    ] {
        let (status, _) = app
            .as_user(&nurse_t)
            .post(&format!("{bvc_path}/{suffix}"), body)
            .await;
        assert_eq!(status, 409, "{suffix} after the answer");
    }
    let (status, body) = app
        .as_user(&school_t)
        .post(&format!("{school_path}/decline"), json!({}))
        .await;
    assert_eq!(status, 422);
    assert_eq!(error_fields(&body), ["reason"]);
    let (status, declined) = app
        .as_user(&school_t)
        .post(
            &format!("{school_path}/decline"),
            json!({"reason": DECLINE}),
        )
        .await;
    assert_eq!(status, 201, "{declined}");
    assert_eq!(declined["status"], "declined");

    // The caseworker's trail: both, with times and what was said; intake may read it too.
    let (status, trail) = app.as_user(&cw).get(&path).await;
    assert_eq!(status, 200, "{trail}");
    let by_id = |id: &str| -> Value {
        trail
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap()
    };
    let bvc_line = by_id(&bvc_id);
    assert_eq!(bvc_line["status"], "answered");
    assert_eq!(bvc_line["answer"], ANSWER);
    assert_eq!(bvc_line["first_read_at"], first);
    assert!(bvc_line["answered_at"].is_string() && bvc_line["sent_at"].is_string());
    assert_eq!(bvc_line["recipients"][0]["user_id"], nurse.user_id.as_str());
    let school_line = by_id(&school_id);
    assert_eq!(school_line["status"], "declined");
    assert_eq!(school_line["decline_reason"], DECLINE);
    assert!(school_line["declined_at"].is_string());
    let (status, _) = app.as_user(&intake_t).get(&path).await;
    assert_eq!(status, 200);

    // Overdue: past its due date without a reply.
    let (status, late) = app
        .as_user(&cw)
        .post(
            &path,
            json!({"organisation_id": bvc, "recipients": [nurse.user_id], "questions": "Fler frågor."}),
        )
        .await;
    assert_eq!(status, 201);
    let late_id = late["id"].as_str().unwrap().to_string();
    let moved = late_id.clone();
    let past = today - chrono::Days::new(1);
    app.conn(move |c| {
        diesel::update(information_requests::table.find(moved))
            .set(information_requests::due_on.eq(past))
            .execute(c)
            .unwrap()
    })
    .await;
    let (_, late) = app
        .as_user(&cw)
        .get(&format!("/api/v1/information-requests/{late_id}"))
        .await;
    assert_eq!(late["status"], "overdue");

    // Sealed at rest: neither the questions nor the reply are in the database as typed.
    let stored: Vec<(String, Option<String>)> = app
        .conn(|c| {
            information_requests::table
                .select((information_requests::questions, information_requests::reply))
                .load(c)
                .unwrap()
        })
        .await;
    for (questions, reply) in &stored {
        assert!(!questions.contains("barnets") && !questions.contains("närvaro"));
        let reply = reply.clone().unwrap_or_default();
        assert!(!reply.contains("väger") && !reply.contains("skolsköterskan"));
    }

    // A closed investigation takes no new request.
    let closing = investigation.clone();
    app.conn(move |c| {
        diesel::update(investigations::table.find(closing))
            .set(investigations::closed_at.eq(Some(samordna::db::now())))
            .execute(c)
            .unwrap()
    })
    .await;
    let (status, _) = app
        .as_user(&cw)
        .post(
            &path,
            json!({"organisation_id": bvc, "recipients": [nurse.user_id], "questions": QUESTIONS}),
        )
        .await;
    assert_eq!(status, 409);

    // Everything in the audit trail by id, refusals included, and no text from the request.
    let entries = app.audit_entries("information_request").await;
    let actions: Vec<&str> = entries.iter().map(|(a, _, _)| a.as_str()).collect();
    for action in [
        "information_request.send",
        "information_request.read",
        "information_request.answer",
        "information_request.decline",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    assert!(
        entries.iter().filter(|(_, o, _)| o == "denied").count() >= 5,
        "{entries:?}"
    );
    for (_, _, detail) in &entries {
        assert!(
            !detail.contains("barnets") && !detail.contains("väger") && !detail.contains("Kim"),
            "{detail}"
        );
    }
}

/// Receivers of an unanswered request are reminded once, by a content-free email, shortly before
/// its last day; an answered one is not.
async fn reminders_before_the_due_date(app: TestApp) {
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let intake = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let caseworker = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Caseworker])
        .await;
    let nurse = app.add_user_in("Ekby", "bvc", &[Role::Reporter]).await;
    let (teacher_t, intake_t, cw, nurse_t) = (
        app.token_for(&teacher).await,
        app.token_for(&intake).await,
        app.token_for(&caseworker).await,
        app.token_for(&nurse).await,
    );
    let bvc = app.organisation_of(&nurse.user_id).await;
    let investigation = open_investigation(&app, &teacher_t, &intake_t, &cw).await;
    let path = format!("/api/v1/investigations/{investigation}/information-requests");
    let today = samordna::db::now().date();
    let send = |days: u64| {
        let body = json!({"organisation_id": bvc, "recipients": [nurse.user_id],
            "questions": QUESTIONS, "due_on": (today + chrono::Days::new(days)).to_string()});
        let (app, cw, path) = (&app, &cw, &path);
        async move {
            let (status, sent) = app.as_user(cw).post(path, body).await;
            assert_eq!(status, 201, "{sent}");
            sent["id"].as_str().unwrap().to_string()
        }
    };
    // One answered, then due tomorrow: no reminder. One not yet near its last day: none yet.
    let answered = send(10).await;
    let (status, _) = app
        .as_user(&nurse_t)
        .post(
            &format!("/api/v1/information-requests/{answered}/answer"),
            json!({"text": ANSWER}),
        )
        .await;
    assert_eq!(status, 201);
    let tomorrow = today + chrono::Days::new(1);
    app.conn(move |c| {
        diesel::update(information_requests::table.find(answered))
            .set(information_requests::due_on.eq(tomorrow))
            .execute(c)
            .unwrap()
    })
    .await;
    send(10).await;
    // Due tomorrow, unanswered: the background pass reminds its receiver.
    send(1).await;
    let reminder = loop {
        let found = app.smtp.received().into_iter().find(|m| {
            m.parsed()
                .subject()
                .is_some_and(|s| s.starts_with("Påminnelse: begäran om uppgifter"))
        });
        if let Some(found) = found {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(reminder.to.iter().any(|t| t.contains(&nurse.email)));
    let raw = String::from_utf8_lossy(&reminder.data).to_string();
    let text = reminder.parsed().body_text(0).unwrap().to_string();
    assert!(text.contains("ref UB-"), "{text}");
    for secret in [KIM, "121212-1212", CHILD_NAME, "Kim", QUESTIONS] {
        assert!(
            !text.contains(secret) && !raw.contains(secret),
            "{secret} in mail"
        );
    }
    // Once: another pass finds nothing more to remind of.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let settings = app.state.settings.clone();
    let again = app
        .conn(move |c| {
            samordna::information_requests::store::send_reminders(c, &settings, today).unwrap()
        })
        .await;
    assert_eq!(again, 0, "once");
    let remind_entries: i64 = app
        .conn(|c| {
            audit_log::table
                .filter(audit_log::action.eq("information_request.remind"))
                .count()
                .get_result(c)
                .unwrap()
        })
        .await;
    assert_eq!(remind_entries, 1);
}

on_both_databases!(
    request_answer_decline_and_trail,
    reminders_before_the_due_date
);
