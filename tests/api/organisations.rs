//! Organisations of the same name in two municipalities cannot be taken for each other: lists of
//! organisations of more than one municipality name each with its kind and municipality, and an
//! admin adding a name that another municipality uses is warned and must confirm.

use diesel::prelude::*;
use samordna::accounts::{self, NewOrganisation, Role};
use samordna::db::schema::organisations;
use serde_json::json;

use crate::helpers::{municipality_named, TestApp};
use crate::on_both_databases;

/// Adds an organisation named `name` of `kind` in `municipality`; returns its id.
async fn organisation(app: &TestApp, municipality: &str, name: &str, kind: &str) -> String {
    let (municipality, name, kind) = (municipality.to_string(), name.to_string(), kind.to_string());
    app.conn(move |c| {
        let m = municipality_named(c, &municipality).unwrap();
        accounts::create_organisation(
            c,
            &NewOrganisation {
                name,
                kind,
                principal: "kommun".into(),
                municipality_id: m.id.0,
            },
        )
        .unwrap()
        .id
        .0
    })
    .await
}

async fn named_in(app: &TestApp, name: &str) -> i64 {
    let name = name.to_string();
    app.conn(move |c| {
        organisations::table
            .filter(organisations::name.eq(name))
            .count()
            .get_result(c)
            .unwrap()
    })
    .await
}

async fn consent_and_participant_lists_name_the_municipality(app: TestApp) {
    let (caseworker, cw) = app.caseworker_in("Ekby").await;
    let ours = organisation(&app, "Ekby", "Björkskolan", "skola").await;
    let theirs = organisation(&app, "Annanstad", "Björkskolan", "skola").await;
    let bvc = organisation(&app, "Annanstad", "BVC Centrum", "bvc").await;
    // A user at the other municipality's Björkskolan.
    let settings = app.state.settings.clone();
    let other_school = theirs.clone();
    app.conn(move |c| {
        accounts::add_user(
            c,
            &settings,
            &samordna::audit::AuditActor::cli(),
            &accounts::NewUser {
                email: "lars.larare@annanstad.test".into(),
                name: "Lars Lärare".into(),
                title: "Lärare".into(),
                phone: String::new(),
                organisation_id: other_school,
                roles: vec![Role::Reporter],
                password: "ett-langt-losenord-for-prov".into(),
            },
        )
        .unwrap()
    })
    .await;
    let (_, sip) = app
        .as_user(&cw)
        .post("/api/v1/sips", json!({"child_name": "Kim Testbarn"}))
        .await;
    let sip = sip["id"].as_str().unwrap().to_string();

    // The consent form: each Björkskolan with its kind and municipality.
    app.login(&caseworker).await;
    let page = app.page(&format!("/sip/{sip}")).await;
    for (id, label) in [
        (&ours, "Björkskolan (Skola, Ekby)"),
        (&theirs, "Björkskolan (Skola, Annanstad)"),
        (&bvc, "BVC Centrum (BVC, Annanstad)"),
    ] {
        assert!(
            page.contains(&format!("<label for=\"org-{id}\">{label}</label>")),
            "{label} in the consent form"
        );
    }

    // Consent for the other municipality's school: the consent list, the people to add and the
    // participant list say which Björkskolan.
    let (status, _) = app
        .as_user(&cw)
        .post(
            &format!("/api/v1/sips/{sip}/consents"),
            json!({"given_by": "Förälder", "relation": "guardian", "organisation_ids": [theirs]}),
        )
        .await;
    assert_eq!(status, 201);
    let page = app.page(&format!("/sip/{sip}")).await;
    assert!(
        page.contains("Björkskolan (Skola, Annanstad)."),
        "the consent names the municipality"
    );
    assert!(
        page.contains("Lars Lärare, Björkskolan (Skola, Annanstad)</option>"),
        "the person to add names the municipality"
    );
    let user_id: String = app
        .conn(|c| {
            samordna::db::schema::users::table
                .filter(samordna::db::schema::users::name.eq("Lars Lärare"))
                .select(samordna::db::schema::users::id)
                .first(c)
                .unwrap()
        })
        .await;
    let (status, _) = app
        .as_user(&cw)
        .post(
            &format!("/api/v1/sips/{sip}/participants"),
            json!({"user_id": user_id}),
        )
        .await;
    assert_eq!(status, 201);
    let page = app.page(&format!("/sip/{sip}")).await;
    assert!(
        page.contains("Lars Lärare, Björkskolan (Skola, Annanstad)"),
        "the participant list names the municipality"
    );
}

on_both_databases!(consent_and_participant_lists_name_the_municipality);

async fn a_name_used_elsewhere_needs_confirming(app: TestApp) {
    organisation(&app, "Annanstad", "Björkskolan", "skola").await;
    app.signed_in_admin_in("Ekby").await;
    let fields = [
        ("name", " björkskolan "),
        ("kind", "skola"),
        ("principal", "kommun"),
    ];

    // Warned, with where the name is used; nothing added yet.
    let response = app
        .submit("/admin/organisations", "/admin/organisations", &fields)
        .await;
    assert_eq!(response.status().as_u16(), 422);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("id=\"name-error\">Det finns redan en organisation som heter björkskolan i en annan kommun: Björkskolan (Skola, Annanstad)."),
        "{body}"
    );
    assert!(
        body.contains("name=\"same_name\" value=\"ja\""),
        "a box to confirm"
    );
    assert!(body.contains("value=\" björkskolan \""), "the name kept");
    assert_eq!(
        named_in(&app, " björkskolan ").await + named_in(&app, "björkskolan").await,
        0
    );

    // Confirmed: added to Ekby.
    let mut confirmed = fields.to_vec();
    confirmed.push(("same_name", "ja"));
    let response = app
        .submit("/admin/organisations", "/admin/organisations", &confirmed)
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.text().await.unwrap().contains("är tillagd"));
    assert_eq!(named_in(&app, "björkskolan").await, 1);

    // A name no other municipality uses needs no confirmation.
    let response = app
        .submit(
            "/admin/organisations",
            "/admin/organisations",
            &[
                ("name", "Ekbacken"),
                ("kind", "forskola"),
                ("principal", "kommun"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
}

on_both_databases!(a_name_used_elsewhere_needs_confirming);
