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
    let admin = app.add_user("socialtjanst", &[Role::Admin]).await;
    app.login(&admin).await;

    // No kind chosen and no municipality: the page comes back with the name kept and errors beside the fields.
    let response = app
        .submit(
            "/admin/organisations",
            "/admin/organisations",
            &[
                ("name", "Ekskolan"),
                ("kind", ""),
                ("principal", "kommun"),
                ("municipality_id", ""),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 422);
    let body = response.text().await.unwrap();
    assert!(body.contains("value=\"Ekskolan\""), "name kept");
    assert!(
        body.contains("id=\"kind-error\">Välj vilken sorts verksamhet det är."),
        "{body}"
    );
    assert!(body.contains("id=\"municipality_id-error\">Välj en kommun i listan."));
    assert!(
        body.contains("<option value=\"kommun\" selected>"),
        "choice kept"
    );

    let municipality_id: String = app
        .conn(|conn| {
            samordna::db::schema::municipalities::table
                .select(samordna::db::schema::municipalities::id)
                .first(conn)
                .unwrap()
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
                ("municipality_id", &municipality_id),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Ekskolan är tillagd."));
    let kind: String = app
        .conn(|conn| {
            organisations::table
                .filter(organisations::name.eq("Ekskolan"))
                .select(organisations::kind)
                .first(conn)
                .unwrap()
        })
        .await;
    assert_eq!(kind, "skola");
}

async fn admin_adds_a_user_who_gets_a_welcome_email_and_can_log_in(app: TestApp) {
    let admin = app.add_user("socialtjanst", &[Role::Admin]).await;
    app.smtp.wait_for(1, Duration::from_secs(10)).await; // the admin's own welcome mail
    app.login(&admin).await;
    let org_id: String = app
        .conn(|conn| {
            organisations::table
                .select(organisations::id)
                .first(conn)
                .unwrap()
        })
        .await;

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

on_both_databases!(
    admin_pages_are_refused_to_other_roles_and_the_refusal_is_audited,
    admin_adds_an_organisation_keeping_input_on_mistakes,
    admin_adds_a_user_who_gets_a_welcome_email_and_can_log_in,
);
