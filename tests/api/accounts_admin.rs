use std::time::Duration;

use diesel::prelude::*;
use samordna::accounts::Role;
use samordna::db::schema::{audit_log, organisations, users};

use crate::helpers::{shown_once, Login, TestApp};
use crate::on_both_databases;

async fn admin_pages_are_refused_to_other_roles_and_the_refusal_is_audited(app: TestApp) {
    let teacher = app
        .add_user("skola", &[Role::Reporter, Role::Caseworker, Role::Intake])
        .await;
    app.login(&teacher).await;
    for path in [
        "/admin/users",
        "/admin/organisations",
        "/admin/tokens",
        "/admin/audit",
        "/admin/outbox",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 403, "{path}");
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("Du har inte behörighet"));
    }
    let id = teacher.user_id.clone();
    let denied: i64 = app
        .conn(move |conn| {
            audit_log::table
                .filter(audit_log::actor_id.eq(id))
                .filter(audit_log::outcome.eq("denied"))
                .count()
                .get_result(conn)
                .unwrap()
        })
        .await;
    assert_eq!(denied, 5);
}

async fn admin_adds_an_organisation_keeping_input_on_mistakes(app: TestApp) {
    app.signed_in_admin().await;

    // No kind chosen: the page comes back with the name kept and the error beside the field.
    let response = app
        .submit(
            "/admin/organisations",
            "/admin/organisations",
            &[("name", "Ekskolan"), ("kind", ""), ("principal", "kommun")],
        )
        .await;
    assert_eq!(response.status().as_u16(), 422);
    let body = response.text().await.unwrap();
    assert!(body.contains("value=\"Ekskolan\""), "name kept");
    assert!(
        body.contains("id=\"kind-error\">Välj vilken sorts verksamhet det är."),
        "{body}"
    );
    assert!(
        body.contains("<option value=\"kommun\" selected>"),
        "choice kept"
    );

    // Another municipality named in the form: the organisation still goes to the admin's own.
    let elsewhere: String = app
        .conn(|conn| {
            crate::helpers::municipality_named(conn, "Annan kommun")
                .unwrap()
                .id
                .0
        })
        .await;
    let response = app
        .submit(
            "/admin/organisations",
            "/admin/organisations",
            &[
                ("name", "Ekskolan"),
                ("kind", "skola"),
                ("principal", "kommun"),
                ("municipality_id", &elsewhere),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Ekskolan är tillagd."));
    let (kind, municipality): (String, String) = app
        .conn(|conn| {
            organisations::table
                .filter(organisations::name.eq("Ekskolan"))
                .select((organisations::kind, organisations::municipality_id))
                .first(conn)
                .unwrap()
        })
        .await;
    assert_eq!(kind, "skola");
    assert_eq!(municipality, app.municipality_id("Testkommun").await);
}

async fn admin_adds_a_user_who_gets_a_welcome_email_and_can_log_in(app: TestApp) {
    let admin = app.add_user("socialtjanst", &[Role::Admin]).await;
    app.smtp.wait_for(1, Duration::from_secs(10)).await; // the admin's own welcome mail
    app.login(&admin).await;
    let org_id = app.first_organisation().await;

    // A bad email and no role: both errors shown, the rest kept.
    let response = app
        .submit(
            "/admin/users",
            "/admin/users",
            &[
                ("email", "anna.skola.se"),
                ("name", "Anna Ek"),
                ("title", "Kurator"),
                ("organisation_id", &org_id),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 422);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("id=\"email-error\">E-postadressen ser inte rätt ut."),
        "{body}"
    );
    assert!(body.contains("id=\"roles-error\">Välj minst en roll."));
    assert!(body.contains("value=\"Anna Ek\"") && body.contains("value=\"Kurator\""));

    let response = app
        .submit(
            "/admin/users",
            "/admin/users",
            &[
                ("email", "anna.ek@skola.test"),
                ("name", "Anna Ek"),
                ("title", "Kurator"),
                ("organisation_id", &org_id),
                ("role_reporter", "on"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let body = response.text().await.unwrap();
    let password = shown_once(&body);
    assert_eq!(password.len(), 19, "{password}");

    // The welcome email arrives over SMTP, says where to log in, and carries no password.
    let mail = app.smtp.wait_for(2, Duration::from_secs(10)).await;
    let welcome = mail
        .iter()
        .find(|m| m.to.iter().any(|t| t.contains("anna.ek@skola.test")))
        .expect("welcome mail");
    let parsed = welcome.parsed();
    assert_eq!(parsed.subject(), Some("Du har ett konto i Samordna"));
    let text = parsed.body_text(0).unwrap();
    assert!(text.contains(&format!("{}/login", app.address)), "{text}");
    assert!(!text.contains(&password));

    // The new user logs in with it.
    let anna = Login::new("anna.ek@skola.test", &password, "");
    let other = app.fresh_browser();
    other.login(&anna).await;
    let home = other.page("/").await;
    assert!(home.contains("Välkommen, Anna Ek"));
    let stored: String = other
        .conn(|conn| {
            users::table
                .filter(users::email.eq("anna.ek@skola.test"))
                .select(users::password_hash)
                .first(conn)
                .unwrap()
        })
        .await;
    assert!(stored.starts_with("$argon2id$"), "{stored}");
}

/// Two municipalities share the service: each one's admin sees and changes only its own
/// accounts, tokens, audit entries and outgoing mail. A reach into the other's (a form or an API
/// call naming its organisation, user or token) is answered as if it did not exist, and audited.
async fn an_admin_manages_only_their_own_municipality(app: TestApp) {
    let admin_here = app.add_user("socialtjanst", &[Role::Admin]).await;
    let officer = app.add_user("socialtjanst", &[Role::Intake]).await;
    let admin_there = app
        .add_user_in("Grannkommun", "socialtjanst", &[Role::Admin])
        .await;
    // The officer signs in (audited in Testkommun, with the app set up) and has a token.
    app.fresh_browser().login(&officer).await;
    let officer_token = app.token_for(&officer).await;
    let officer_id = officer.user_id.clone();
    let (officer_org, officer_org_name, secret_before): (String, String, Option<String>) = app
        .conn(move |conn| {
            users::table
                .inner_join(organisations::table)
                .filter(users::id.eq(officer_id))
                .select((organisations::id, organisations::name, users::totp_secret))
                .first(conn)
                .unwrap()
        })
        .await;
    assert!(secret_before.is_some());

    let there = app.fresh_browser();
    there.login(&admin_there).await;
    let users_page = there.page("/admin/users").await;
    assert!(users_page.contains(&admin_there.email), "own users listed");
    assert!(!users_page.contains(&officer.email) && !users_page.contains(&admin_here.email));
    let orgs_page = there.page("/admin/organisations").await;
    assert!(
        orgs_page.contains("Organisationer i Grannkommun"),
        "{orgs_page}"
    );
    assert!(!orgs_page.contains(&officer_org_name));
    let tokens_page = there.page("/admin/tokens").await;
    assert!(!tokens_page.contains(&officer.email) && !tokens_page.contains(&officer_org));

    // An intake account in the other municipality's social services: not by the form...
    let response = there
        .submit(
            "/admin/users",
            "/admin/users",
            &[
                ("email", "inkraktare@grannkommun.test"),
                ("name", "In Kräktare"),
                ("title", "Handläggare"),
                ("organisation_id", &officer_org),
                ("role_intake", "on"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 404);
    // ...nor by the API.
    let token_there = app.token_for(&admin_there).await;
    let (status, body) = app
        .as_user(&token_there)
        .in_browser()
        .post(
            "/api/v1/users",
            serde_json::json!({
                "email": "inkraktare@grannkommun.test", "name": "In Kräktare", "title": "Handläggare",
                "organisation_id": officer_org, "roles": ["intake"], "password": "ett-långt-lösenord-1"
            }),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"], "not_found");
    // No token for the other municipality's officer, no reset of their app, no revoking theirs.
    let response = there
        .submit(
            "/admin/tokens",
            "/admin/tokens",
            &[
                ("name", "bakdörr"),
                ("holder", &format!("user:{}", officer.user_id)),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 404);
    let response = there
        .submit(
            "/admin/users",
            &format!("/admin/users/{}/tvastegs", officer.user_id),
            &[],
        )
        .await;
    assert_eq!(response.status().as_u16(), 404);
    let officer_id = officer.user_id.clone();
    let token_id: String = app
        .conn(move |conn| {
            use samordna::db::schema::api_tokens;
            api_tokens::table
                .filter(api_tokens::user_id.eq(officer_id))
                .select(api_tokens::id)
                .first(conn)
                .unwrap()
        })
        .await;
    let response = there
        .submit(
            "/admin/tokens",
            &format!("/admin/tokens/{token_id}/revoke"),
            &[],
        )
        .await;
    assert_eq!(response.status().as_u16(), 404);

    // Nothing of it happened.
    let (officer_id, officer_org_id) = (officer.user_id.clone(), officer_org.clone());
    let (intruders, officer_tokens, live_tokens, secret_after): (i64, i64, i64, Option<String>) =
        app.conn(move |conn| {
            use samordna::db::schema::api_tokens;
            (
                users::table
                    .filter(users::email.eq("inkraktare@grannkommun.test"))
                    .count()
                    .get_result(conn)
                    .unwrap(),
                api_tokens::table
                    .filter(api_tokens::user_id.eq(&officer_id))
                    .count()
                    .get_result(conn)
                    .unwrap(),
                api_tokens::table
                    .filter(api_tokens::organisation_id.eq(&officer_org_id))
                    .filter(api_tokens::revoked_at.is_null())
                    .count()
                    .get_result(conn)
                    .unwrap(),
                users::table
                    .find(&officer_id)
                    .select(users::totp_secret)
                    .first(conn)
                    .unwrap(),
            )
        })
        .await;
    assert_eq!(intruders, 0);
    assert_eq!(officer_tokens, 1, "only the officer's own token");
    assert_eq!(live_tokens, 1, "and it still works");
    assert_eq!(
        secret_after, secret_before,
        "the officer's app is untouched"
    );
    let (me, _) = app
        .as_user(&officer_token)
        .in_browser()
        .get("/api/v1/me")
        .await;
    assert_eq!(me, 200);

    // Each refusal is in the audit trail, for the admins of the municipality whose accounts were
    // reached for, under the intruding admin's name.
    let intruder = admin_there.user_id.clone();
    let denied: Vec<Option<String>> = app
        .conn(move |conn| {
            audit_log::table
                .filter(audit_log::actor_id.eq(intruder))
                .filter(audit_log::outcome.eq("denied"))
                .select(audit_log::municipality_id)
                .load(conn)
                .unwrap()
        })
        .await;
    let testkommun = app.municipality_id("Testkommun").await;
    assert_eq!(
        denied,
        vec![Some(testkommun); 5],
        "user by form and API, token, reset, revoke"
    );

    // The audit trail and the outbox: each admin sees their own municipality's only.
    let audit_there = there.page("/admin/audit?object_type=user").await;
    assert!(audit_there.contains(&admin_there.email));
    assert!(!audit_there.contains(&officer.email), "{audit_there}");
    let filtered = there
        .page(&format!("/admin/audit?actor_id={}", officer.user_id))
        .await;
    assert!(!filtered.contains("session.login"), "{filtered}");
    let outbox_there = there.page("/admin/outbox").await;
    assert!(
        outbox_there.contains(&admin_there.email),
        "own welcome mail"
    );
    assert!(!outbox_there.contains(&officer.email));

    let here = app.fresh_browser();
    here.login(&admin_here).await;
    let audit_here = here.page("/admin/audit?object_type=user").await;
    assert!(audit_here.contains(&officer.email) && audit_here.contains("session.login"));
    let intrusions = here
        .page(&format!("/admin/audit?actor_id={}", admin_there.user_id))
        .await;
    assert_eq!(intrusions.matches("Nekat").count(), 5, "{intrusions}");
    assert!(intrusions.contains(&admin_there.email));
    let own_view = there
        .page(&format!("/admin/audit?actor_id={}", admin_there.user_id))
        .await;
    assert!(own_view.contains("session.login") && !own_view.contains("Nekat"));
    let outbox_here = here.page("/admin/outbox").await;
    assert!(
        outbox_here.contains(&officer.email),
        "the recipient, opened"
    );
    assert!(!outbox_here.contains(&admin_there.email));

    // At rest the outbox keeps the recipient and the message sealed; the chain is intact.
    let stored: Vec<(String, String)> = app
        .conn(|conn| {
            samordna::db::schema::outbox::table
                .select((
                    samordna::db::schema::outbox::recipient,
                    samordna::db::schema::outbox::message,
                ))
                .load(conn)
                .unwrap()
        })
        .await;
    assert!(stored.len() >= 3);
    for (recipient, message) in &stored {
        assert!(recipient.starts_with("enc1:") && message.starts_with("enc1:"));
    }
    let verdict = app
        .conn(|conn| samordna::audit::verify(conn).unwrap())
        .await;
    assert!(
        matches!(verdict, samordna::audit::Verdict::Intact { .. }),
        "{verdict:?}"
    );
}

on_both_databases!(
    an_admin_manages_only_their_own_municipality,
    admin_pages_are_refused_to_other_roles_and_the_refusal_is_audited,
    admin_adds_an_organisation_keeping_input_on_mistakes,
    admin_adds_a_user_who_gets_a_welcome_email_and_can_log_in,
);
