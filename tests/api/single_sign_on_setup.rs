//! Single sign-on set-up (issue 20): `samordna idp` on the command line, providers that create
//! reporter accounts, and providers that name people by an HSA-id, against the real provider.

use diesel::prelude::*;
use samordna::accounts::Role;

use crate::helpers::{location, real_provider, Person, TestApp, LOA3};
use crate::on_both_databases;

async fn providers_are_set_up_on_the_command_line(app: TestApp) {
    let teacher = app.add_user("skola", &[Role::Reporter]).await;
    let run = |args: &[&str]| {
        let out = app
            .samordna(args)
            .env(
                "SAMORDNA_MAIL_DIR",
                std::env::temp_dir().join("samordna-test-mail"),
            )
            .env("EKBY_OIDC_SECRET", "hemlig-klienthemlighet")
            .output()
            .unwrap();
        crate::helpers::outcome(&out)
    };
    let (code, out, err) = run(&[
        "idp",
        "add",
        "--municipality",
        "Testkommun",
        "--name",
        "Ekby kommuns inloggning",
        "--issuer",
        "https://login.ekby.se/realms/personal",
        "--client-id",
        "samordna",
        "--client-secret-env",
        "EKBY_OIDC_SECRET",
        "--mfa-acr",
        LOA3,
        "--email-domain",
        "ekby.se",
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("Added identity provider Ekby kommuns inloggning"));
    // Bad options are each named; nothing is added.
    let (code, _, err) = run(&[
        "idp",
        "add",
        "--municipality",
        "Testkommun",
        "--name",
        "Trasig",
        "--issuer",
        "http://idp.example.org",
        "--client-id",
        "x",
        "--client-secret-env",
        "NOT A NAME",
        "--claim",
        "namn",
    ]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("--issuer") && err.contains("--client-secret-env") && err.contains("--claim"),
        "{err}"
    );
    let (code, out, _) = run(&["idp", "list"]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("Ekby kommuns inloggning") && out.contains("secret in $EKBY_OIDC_SECRET"),
        "{out}"
    );
    assert!(!out.contains("Trasig"));
    // The secret is neither printed nor stored.
    assert!(!out.contains("hemlig-klienthemlighet"));
    let stored: Vec<String> = app
        .conn(|c| {
            use samordna::db::schema::identity_providers::dsl::*;
            identity_providers
                .select(client_secret_env)
                .load(c)
                .unwrap()
        })
        .await;
    assert_eq!(stored, ["EKBY_OIDC_SECRET"]);
    // An organisation that requires single sign-on, and back.
    let org = app
        .conn({
            let id = teacher.user_id.clone();
            move |c| {
                samordna::accounts::load_auth_user(c, &samordna::accounts::UserId(id))
                    .unwrap()
                    .unwrap()
                    .organisation
                    .name
            }
        })
        .await;
    let (code, out, err) = run(&["idp", "require-sso", "--org", &org]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("only through an identity provider"));
    assert_eq!(
        app.fresh_browser()
            .sign_in_status(&teacher.email, &teacher.password)
            .await,
        403
    );
    run(&["idp", "require-sso", "--org", &org, "--off"]);
    assert_eq!(
        app.fresh_browser()
            .sign_in_status(&teacher.email, &teacher.password)
            .await,
        303
    );
    let (code, out, _) = run(&["idp", "remove", "--name", "Ekby kommuns inloggning"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("Removed"));
    assert!(run(&["idp", "list"]).1.contains("No identity providers."));
    let audited: Vec<String> = app
        .audit_entries("municipality")
        .await
        .into_iter()
        .map(|(action, _, _)| action)
        .collect();
    assert!(audited.contains(&"municipality.idp_add".to_string()));
    assert!(audited.contains(&"municipality.idp_remove".to_string()));
}

/// `--create-users reporter`: someone the provider vouches for who has no account becomes a
/// reporter of the provider's organisation, and nothing more.
async fn a_provider_set_to_create_users_makes_reporters_only(app: TestApp) {
    let teacher = app.add_user("skola", &[Role::Reporter]).await;
    let idp = real_provider(
        &app,
        &[Person {
            login: "ny",
            email: "ny.larare@ekby.test",
            acr: LOA3,
        }],
    );
    let (issuer, user_id) = (idp.issuer.clone(), teacher.user_id.clone());
    let id = app
        .conn(move |c| {
            let m = crate::helpers::municipality_named(c, "Testkommun").unwrap();
            let org = samordna::accounts::load_auth_user(c, &samordna::accounts::UserId(user_id))
                .unwrap()
                .unwrap()
                .organisation
                .id;
            samordna::accounts::sso::add_provider(
                c,
                &samordna::audit::AuditActor::cli(),
                &m,
                Some(&org),
                &samordna::accounts::sso::model::NewProvider {
                    name: "Skolans inloggning".into(),
                    issuer,
                    client_id: "samordna".into(),
                    client_secret_env: "SAMORDNA_TEST_OIDC_SECRET".into(),
                    mfa_acr: vec![],
                    claim: "email".into(),
                    create_users: Some("reporter".into()),
                    email_domain: None,
                },
            )
            .unwrap()
            .id
        })
        .await;
    let response = app.sign_in_through(&id, Some("ny")).await;
    assert_eq!(location(&response), "/");
    let roles = app
        .conn(|c| {
            let user = samordna::accounts::find_user_by_email(c, "ny.larare@ekby.test")
                .unwrap()
                .expect("an account was made");
            samordna::accounts::roles_of(c, &user.id).unwrap()
        })
        .await;
    assert_eq!(roles, [Role::Reporter]);
}

/// A SITHS-like provider that names people by an HSA-id: only values the operator linked
/// (`samordna idp link`) lead to an account.
async fn hsa_ids_match_only_linked_users(app: TestApp) {
    let nurse = app.add_user("bvc", &[Role::Reporter]).await;
    let idp = crate::helpers::real_provider_with(
        &app,
        serde_json::json!([
            {"login": "bvc", "password": "provlosen", "sub": "sub-bvc", "email": "x@region.test",
             "hsa_id": "SE2321000016-AAAA", "acr": LOA3},
            {"login": "annan", "password": "provlosen", "sub": "sub-annan", "email": "y@region.test",
             "hsa_id": "SE2321000016-BBBB", "acr": LOA3},
        ]),
    );
    let id = app
        .add_identity_provider("Regionens SITHS-inloggning", &idp.issuer, &[LOA3])
        .await;
    let (provider, user) = (id.clone(), nurse.user_id.clone());
    app.conn(move |c| {
        use samordna::db::schema::identity_providers;
        diesel::update(identity_providers::table.find(&provider))
            .set(identity_providers::claim.eq("hsa_id"))
            .execute(c)
            .unwrap();
        samordna::accounts::sso::store::link_value(
            c,
            &provider,
            "SE2321000016-AAAA",
            &samordna::accounts::UserId(user),
        )
        .unwrap();
    })
    .await;
    let response = app.fresh_browser().sign_in_through(&id, Some("bvc")).await;
    assert_eq!(location(&response), "/");
    let response = app
        .fresh_browser()
        .sign_in_through(&id, Some("annan"))
        .await;
    assert_eq!(response.status(), 403);
}

on_both_databases!(
    hsa_ids_match_only_linked_users,
    a_provider_set_to_create_users_makes_reporters_only,
    providers_are_set_up_on_the_command_line,
);
