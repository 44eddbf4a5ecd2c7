//! Consent limits every SIP participant (issue 18 §5), on both databases: someone without an
//! account is the family, or belongs to an organisation a valid consent covers (from the list, or
//! an outside one named in it); refusals are 422 naming the consent, through the API and the
//! form; withdrawal and expiry take them out as they do account holders. The overall
//! responsibility lies with a kommun or region taking part, and a late first meeting stays
//! marked late once booked.

use diesel::prelude::*;
use samordna::accounts::Role;
use samordna::db::schema::{consents, municipalities, organisations};
use serde_json::{json, Value};

use crate::helpers::{error_fields, Db, TestApp, BACKGROUND_PASS_OFF};
use crate::on_both_databases;

const THERAPIST: &str = "eva.terapeut@lugnet.test";

/// The message of a 422's first error, after checking its field.
fn refusal<'a>(status: u16, body: &'a Value, field: &str) -> &'a str {
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(body), [field], "{body}");
    body["errors"][0]["message"].as_str().unwrap()
}

async fn the_outside_therapist_needs_a_consent_that_names_them(app: TestApp) {
    let caseworker = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Caseworker])
        .await;
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let psychologist = app.add_user_in("Ekby", "bup", &[Role::Reporter]).await;
    let cw = app.token_for(&caseworker).await;
    let school = app.organisation_of(&teacher.user_id).await;
    let bup = app.organisation_of(&psychologist.user_id).await;
    let (base, sip) = app
        .open_sip(&cw, json!({"child_name": "Kim Samtyckesson"}))
        .await;
    let sip_id = sip["id"].as_str().unwrap().to_string();
    let participants = format!("{base}/participants");

    // No consent yet: not even the family.
    let guardian =
        json!({"name": "Karin Berg", "email": "karin@example.test", "relation": "guardian"});
    let (status, body) = app.as_user(&cw).post(&participants, guardian.clone()).await;
    assert!(refusal(status, &body, "relation").contains("inget giltigt samtycke"));

    // A consent that covers the school only.
    app.give_consent(&cw, &base, "Karin Berg", &[&school]).await;
    let today = samordna::time::local(samordna::db::now()).date();

    // The outside therapist: refused, naming the consent and what it does not cover.
    let therapist = json!({"name": "Eva Terapeut", "email": THERAPIST, "outside_organisation": "Lugnets terapi"});
    let (status, body) = app
        .as_user(&cw)
        .post(&participants, therapist.clone())
        .await;
    let message = refusal(status, &body, "outside_organisation");
    assert!(
        message.contains(&format!("Samtycket från Karin Berg ({today})"))
            && message.contains("omfattar inte Lugnets terapi"),
        "{message}"
    );
    // Nor can they come in as someone without a say, or from BUP without an account.
    let (status, body) = app
        .as_user(&cw)
        .post(
            &participants,
            json!({"name": "Eva Terapeut", "email": THERAPIST}),
        )
        .await;
    assert!(refusal(status, &body, "relation").contains("vem personen är"));
    let (status, body) = app
        .as_user(&cw)
        .post(
            &participants,
            json!({"name": "Eva Terapeut", "email": THERAPIST, "organisation_id": bup}),
        )
        .await;
    let message = refusal(status, &body, "organisation_id");
    assert!(
        message.contains("Samtycket från Karin Berg") && message.contains("(BUP, Ekby)"),
        "{message}"
    );
    // An account holder of an uncovered organisation is refused the same way.
    let (status, body) = app
        .as_user(&cw)
        .post(&participants, json!({"user_id": psychologist.user_id}))
        .await;
    assert!(refusal(status, &body, "user_id").contains("Samtycket från Karin Berg"));

    // The same through the form: the error beside its field, what was typed kept.
    app.login(&caseworker).await;
    let page = format!("/sip/{sip_id}");
    let response = app
        .submit(
            &page,
            &format!("{page}/deltagare"),
            &[
                ("name", "Eva Terapeut"),
                ("email", THERAPIST),
                ("covered_as", "outside"),
                ("outside_organisation", "Lugnets terapi"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 422);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("id=\"outside_organisation-error\""),
        "beside the field"
    );
    assert!(
        html.contains("Samtycket från Karin Berg") && html.contains("omfattar inte Lugnets terapi")
    );
    assert!(
        html.contains("value=\"Eva Terapeut\"")
            && html.contains(&format!("value=\"{THERAPIST}\""))
            && html.contains("value=\"Lugnets terapi\""),
        "input kept"
    );
    // The form's one choice without anything chosen: the error beside the choice.
    let response = app
        .submit(
            &page,
            &format!("{page}/deltagare"),
            &[("name", "Eva Terapeut"), ("email", THERAPIST)],
        )
        .await;
    assert_eq!(response.status().as_u16(), 422);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("id=\"covered_as-error\""));

    // The family and someone of the covered school without an account are accepted.
    let (status, body) = app.as_user(&cw).post(&participants, guardian).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .as_user(&cw)
        .post(
            &participants,
            json!({"name": "Alva Samtyckesson", "email": "alva@example.test", "relation": "child"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .as_user(&cw)
        .post(
            &participants,
            json!({"name": "Sam Mentor", "email": "sam@skolan.test", "organisation_id": school}),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    // A second consent, through the form, names the outside practice: now the therapist may come.
    let response = app
        .submit(
            &page,
            &format!("{page}/samtycke"),
            &[
                ("given_by", "Ali Berg"),
                ("relation", "guardian"),
                ("outside_organisations", "Lugnets terapi\r\n"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let response = app
        .submit(
            &page,
            &format!("{page}/deltagare"),
            &[
                ("name", "Eva Terapeut"),
                ("email", THERAPIST),
                ("covered_as", "outside"),
                ("outside_organisation", "lugnets terapi"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let html = app.page(&page).await;
    assert!(
        html.contains("Lugnets terapi (utomstående)"),
        "on the consent"
    );
    assert!(
        html.contains("Eva Terapeut, lugnets terapi (utomstående)"),
        "on the participant"
    );

    // Withdrawing the consent that named them takes the therapist (only) out.
    let of_sip = sip_id.clone();
    let consents: Vec<String> = app
        .conn(move |c| {
            consents::table
                .filter(consents::sip_id.eq(of_sip))
                .order(consents::recorded_at)
                .select(consents::id)
                .load(c)
                .unwrap()
        })
        .await;
    assert_eq!(consents.len(), 2);
    let (status, body) = app
        .as_user(&cw)
        .post(
            &format!("{base}/consents/{}/withdraw", consents[1]),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["removed_participants"], 1, "{body}");
    let day = (samordna::db::now() + chrono::Duration::days(3)).date();
    let (status, meeting) = app
        .as_user(&cw)
        .post(
            &format!("{base}/meetings"),
            json!({"starts_at": format!("{day}T10:00"), "minutes": 60, "place": "Kommunhuset, rum 2"}),
        )
        .await;
    assert_eq!(status, 201, "{meeting}");
    let invited: Vec<String> = meeting["invitees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        invited.len(),
        4,
        "caseworker, guardian, child, mentor: {invited:?}"
    );
    assert!(!invited.iter().any(|n| n == "Eva Terapeut"), "{invited:?}");
}

on_both_databases!(the_outside_therapist_needs_a_consent_that_names_them);

/// With the background pass off, so that it cannot take the therapist out first.
async fn expiry_takes_out_participants_without_an_account(kind: Db) {
    let app = TestApp::spawn_with(kind, &[BACKGROUND_PASS_OFF], true).await;
    let caseworker = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Caseworker])
        .await;
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let cw = app.token_for(&caseworker).await;
    let school = app.organisation_of(&teacher.user_id).await;
    let (base, sip) = app
        .open_sip(&cw, json!({"child_name": "Kim Utgångsson"}))
        .await;
    let sip_id = sip["id"].as_str().unwrap().to_string();
    app.give_consent(&cw, &base, "Karin Berg", &[&school]).await;
    // A consent for the outside practice that runs out today.
    let today = samordna::time::local(samordna::db::now()).date();
    let (status, body) = app
        .as_user(&cw)
        .post(
            &format!("{base}/consents"),
            json!({"given_by": "Ali Berg", "relation": "guardian", "valid_until": today.to_string(),
                   "outside_organisations": ["Lugnets terapi"]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let consent_id = body["id"].as_str().unwrap().to_string();
    for guest in [
        json!({"name": "Eva Terapeut", "email": THERAPIST, "outside_organisation": "Lugnets terapi"}),
        json!({"name": "Karin Berg", "email": "karin@example.test", "relation": "guardian"}),
    ] {
        let (status, body) = app
            .as_user(&cw)
            .post(&format!("{base}/participants"), guest)
            .await;
        assert_eq!(status, 201, "{body}");
    }
    // The day after: the background pass takes out whom no consent covers any more.
    let yesterday = today - chrono::Duration::days(1);
    let settings = app.state.settings.clone();
    let removed = app
        .conn(move |c| {
            diesel::update(consents::table.find(consent_id))
                .set(consents::valid_until.eq(Some(yesterday)))
                .execute(c)
                .unwrap();
            samordna::sip::expire_consents(c, &settings).unwrap()
        })
        .await;
    assert_eq!(removed, 1, "the therapist, not the guardian");
    app.login(&caseworker).await;
    let html = app.page(&format!("/sip/{sip_id}")).await;
    assert!(!html.contains("Eva Terapeut") && html.contains("Karin Berg, vårdnadshavare"));
}

crate::on_both_kinds!(expiry_takes_out_participants_without_an_account);

async fn the_overall_responsibility_lies_with_a_kommun_or_region_taking_part(app: TestApp) {
    let caseworker = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Caseworker])
        .await;
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let psychologist = app.add_user_in("Ekby", "bup", &[Role::Reporter]).await;
    let nurse = app.add_user_in("Ekby", "bvc", &[Role::Reporter]).await;
    let cw = app.token_for(&caseworker).await;
    let school = app.organisation_of(&teacher.user_id).await;
    let bup = app.organisation_of(&psychologist.user_id).await;
    let bvc = app.organisation_of(&nurse.user_id).await;
    let soc = app.organisation_of(&caseworker.user_id).await;
    // A private school (principal "annan") and a region's BUP.
    let (private, region) = (school.clone(), bup.clone());
    app.conn(move |c| {
        diesel::update(organisations::table.find(private))
            .set(organisations::principal.eq("annan"))
            .execute(c)
            .unwrap();
        diesel::update(organisations::table.find(region))
            .set(organisations::principal.eq("region"))
            .execute(c)
            .unwrap();
    })
    .await;
    let (base, _) = app
        .open_sip(&cw, json!({"child_name": "Kim Ansvarsson"}))
        .await;
    app.give_consent(&cw, &base, "Förälder", &[&school, &bup, &bvc])
        .await;
    app.add_participant(&cw, &base, &teacher.user_id).await;
    app.add_participant(&cw, &base, &psychologist.user_id).await;
    let day = (samordna::db::now() + chrono::Duration::days(4)).date();
    let (_, meeting) = app
        .as_user(&cw)
        .post(
            &format!("{base}/meetings"),
            json!({"starts_at": format!("{day}T09:00"), "minutes": 60, "place": "Rum 4"}),
        )
        .await;
    let plan_path = format!("/api/v1/meetings/{}/plan", meeting["id"].as_str().unwrap());
    let plan = |lead: &str| {
        json!({
            "needs": "Stöd i skolan.",
            "goals": ["Jag vill gå till skolan."],
            "measures": [{"description": "Samtal", "organisation_id": bup, "principal": "region"}],
            "lead_organisation_id": lead
        })
    };
    // The private school takes part but is no principal; BVC is a kommun's but takes no part.
    for lead in [&school, &bvc] {
        let (status, body) = app.as_user(&cw).put(&plan_path, plan(lead)).await;
        assert!(
            refusal(status, &body, "lead_organisation_id").contains("kommunen eller regionen"),
            "{lead}"
        );
    }
    for lead in [&bup, &soc] {
        let (status, body) = app.as_user(&cw).put(&plan_path, plan(lead)).await;
        assert_eq!(status, 201, "{lead}: {body}");
    }
}

on_both_databases!(the_overall_responsibility_lies_with_a_kommun_or_region_taking_part);

async fn a_late_first_meeting_stays_marked_late_once_booked(app: TestApp) {
    let caseworker = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Caseworker])
        .await;
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let cw = app.token_for(&caseworker).await;
    let school = app.organisation_of(&teacher.user_id).await;
    let days = app
        .conn(|c| {
            municipalities::table
                .filter(municipalities::name.eq("Ekby"))
                .select(municipalities::sip_first_meeting_days)
                .first::<i32>(c)
                .unwrap()
        })
        .await;
    let (base, sip) = app
        .open_sip(&cw, json!({"child_name": "Kim Senhetsson"}))
        .await;
    let sip_id = sip["id"].as_str().unwrap().to_string();
    // Consent given long enough ago that the first meeting is 5 days overdue today.
    let today = samordna::time::local(samordna::db::now()).date();
    let given = today - chrono::Duration::days(i64::from(days) + 5);
    let due = given + chrono::Duration::days(i64::from(days));
    let (status, body) = app
        .as_user(&cw)
        .post(
            &format!("{base}/consents"),
            json!({"given_by": "Förälder", "relation": "guardian", "given_on": given.to_string(),
                   "organisation_ids": [school]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    app.login(&caseworker).await;
    let page = format!("/sip/{sip_id}");
    let html = app.page(&page).await;
    assert!(
        html.contains(&format!(
            "Försenat: första mötet skulle ha hållits senast {due}, för 5 dagar sedan"
        )),
        "before booking"
    );
    // Booked three days from now: 8 days after the deadline, and it stays so.
    let day = today + chrono::Duration::days(3);
    let (status, body) = app
        .as_user(&cw)
        .post(
            &format!("{base}/meetings"),
            json!({"starts_at": format!("{day}T10:00"), "minutes": 60, "place": "Rum 4"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let mark = format!("Försenat: första mötet {day} ligger 8 dagar efter sista dagen {due}");
    assert!(app.page(&page).await.contains(&mark), "on the SIP's page");
    assert!(app.page("/sip").await.contains(&mark), "on the list");
}

on_both_databases!(a_late_first_meeting_stays_marked_late_once_booked);
