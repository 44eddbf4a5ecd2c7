//! Single sign-on with OpenID Connect (issue 20), against a real, certified provider
//! (`oidc-provider` on loopback: its own login and consent pages) and, for the tokens a real
//! provider never makes, a forged one that signs them with a key it publishes. Every failure is a
//! Swedish page, audited, never a 500.

use diesel::prelude::*;
use samordna::accounts::Role;

use crate::helpers::{forged_provider, location, real_provider, Person, TestApp, LOA2, LOA3};
use crate::on_both_databases;

/// The audit entries of sign-ins: (outcome, detail).
async fn logins(app: &TestApp) -> Vec<(String, String)> {
    app.audit_entries("user")
        .await
        .into_iter()
        .filter(|(action, _, _)| action == "session.login")
        .map(|(_, outcome, detail)| (outcome, detail))
        .collect()
}

async fn provider_vouches_and_its_second_factor_counts(app: TestApp) {
    let intake = app.add_user("socialtjanst", &[Role::Intake]).await;
    let intake_one_factor = app.add_user("socialtjanst", &[Role::Intake]).await;
    let teacher = app.add_user("skola", &[Role::Reporter]).await;
    let idp = real_provider(
        &app,
        &[
            Person {
                login: "handlaggare",
                email: &intake.email,
                acr: LOA3,
            },
            Person {
                login: "handlaggare2",
                email: &intake_one_factor.email,
                acr: LOA2,
            },
            Person {
                login: "larare",
                email: &teacher.email,
                acr: LOA2,
            },
        ],
    );
    let id = app
        .add_identity_provider("Ekby kommuns inloggning", &idp.issuer, &[LOA3])
        .await;
    let login_page = app.page("/login").await;
    assert!(
        login_page.contains("Logga in med Ekby kommuns inloggning"),
        "{login_page}"
    );

    // The intake officer: two factors at the provider, so no local code.
    let response = app.sign_in_through(&id, Some("handlaggare")).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/");
    let queue = app.client.get(app.url("/mottagning")).send().await.unwrap();
    assert_eq!(
        queue.status(),
        200,
        "signed in with the provider's second factor"
    );
    let (outcome, detail) = logins(&app).await.pop().unwrap();
    assert_eq!(outcome, "success");
    assert!(
        detail.contains("second factor checked by the provider"),
        "{detail}"
    );

    // The same person later, after their address changed: the stored link (issuer + subject)
    // is what counts now.
    let user_id = intake.user_id.clone();
    app.conn(move |c| {
        use samordna::db::schema::users;
        diesel::update(users::table.find(user_id))
            .set(users::email.eq("ny-adress@test.samordna.se"))
            .execute(c)
            .unwrap()
    })
    .await;
    let later = app.fresh_browser();
    let response = later.sign_in_through(&id, Some("handlaggare")).await;
    assert_eq!(location(&response), "/");

    // An intake officer with one factor at the provider: the local code is still asked.
    let browser = app.fresh_browser();
    let response = browser.sign_in_through(&id, Some("handlaggare2")).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/login/kod?next=%2F");
    let queue = browser
        .client
        .get(app.url("/mottagning"))
        .send()
        .await
        .unwrap();
    assert_ne!(queue.status(), 200, "not signed in before the code");

    // A teacher (reporter): no second factor needed.
    let browser = app.fresh_browser();
    let response = browser.sign_in_through(&id, Some("larare")).await;
    assert_eq!(location(&response), "/");
    assert!(browser.page("/").await.contains("Logga ut"));

    // The admin page says how each signs in, and when they last did.
    let admin = app.add_user("socialtjanst", &[Role::Admin]).await;
    let admin_browser = app.fresh_browser();
    admin_browser.login(&admin).await;
    let users = admin_browser.page("/admin/users").await;
    assert!(users.contains("Loggar in med") && users.contains("Senast inloggad"));
    assert!(
        users.contains("<td>Ekby kommuns inloggning</td>"),
        "{users}"
    );
    assert!(users.contains("<td>Lösenord</td>"));
}

async fn failures_at_the_real_provider_are_explained(app: TestApp) {
    let teacher = app.add_user("skola", &[Role::Reporter]).await;
    let idp = real_provider(
        &app,
        &[
            Person {
                login: "larare",
                email: &teacher.email,
                acr: LOA2,
            },
            Person {
                login: "okand",
                email: "okand@ekby.test",
                acr: LOA2,
            },
        ],
    );
    let id = app
        .add_identity_provider("Ekby kommuns inloggning", &idp.issuer, &[LOA3])
        .await;

    // Someone the provider knows but who has no account.
    let browser = app.fresh_browser();
    let response = browser.sign_in_through(&id, Some("okand")).await;
    assert_eq!(response.status(), 403);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Du har inget konto i Samordna"));
    let (outcome, detail) = logins(&app).await.pop().unwrap();
    assert_eq!(
        (outcome.as_str(), detail.contains("no account")),
        ("failure", true)
    );

    // Cancelled at the provider.
    let browser = app.fresh_browser();
    let response = browser.sign_in_through(&id, None).await;
    assert_eq!(response.status(), 403);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Inloggningen avbröts"));
    assert!(logins(&app)
        .await
        .pop()
        .unwrap()
        .1
        .contains("access_denied"));

    // A successful answer used twice (replayed state), and its code with a new state.
    let browser = app.fresh_browser();
    let (callback, response) = browser.sign_in_at(&id, Some("larare")).await;
    assert_eq!(location(&response), "/");
    let again = browser.client.get(&callback).send().await.unwrap();
    assert_eq!(again.status(), 400);
    assert!(again.text().await.unwrap().contains("redan använts"));
    assert!(logins(&app)
        .await
        .pop()
        .unwrap()
        .1
        .contains("replayed state"));
    let start = browser
        .client
        .get(app.url(&format!("/login/oidc?provider={id}&next=%2F")))
        .send()
        .await
        .unwrap();
    let to_provider = url::Url::parse(&location(&start)).unwrap();
    let new_state = to_provider
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .to_string();
    let old = url::Url::parse(&callback).unwrap();
    let old_code = old
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .to_string();
    let replay = browser
        .client
        .get(app.url(&format!(
            "/login/oidc/callback?code={old_code}&state={new_state}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 400);
    assert!(replay
        .text()
        .await
        .unwrap()
        .contains("godtog inte svaret en gång till"));
    assert!(logins(&app).await.pop().unwrap().1.contains("code refused"));

    // The answer brought to another browser than the one that started.
    let other = app.fresh_browser();
    let response = other.client.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("annan webbläsare"));

    // A provider that does not answer.
    let down = app
        .add_identity_provider("Nere", "http://127.0.0.1:9", &[])
        .await;
    let response = app
        .fresh_browser()
        .client
        .get(app.url(&format!("/login/oidc?provider={down}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    assert!(response.text().await.unwrap().contains("svarar inte"));
    assert!(logins(&app).await.pop().unwrap().1.contains("unreachable"));
}

async fn forged_tokens_are_refused(app: TestApp) {
    let teacher = app.add_user("skola", &[Role::Reporter]).await;
    let forged = forged_provider(&app, &teacher.email);
    let id = app
        .add_identity_provider("Förfalskad", &forged.issuer, &[])
        .await;
    for (fault, detail) in [
        ("wrong_audience", "another audience"),
        ("wrong_issuer", "another issuer"),
        ("expired", "expired"),
        ("not_yet_valid", "not yet valid"),
        ("bad_signature", "signature invalid"),
        ("wrong_nonce", "nonce mismatch"),
    ] {
        forged.fault(fault).await;
        let response = app.fresh_browser().sign_in_through(&id, None).await;
        assert_eq!(response.status(), 400, "{fault}");
        let page = response.text().await.unwrap();
        assert!(
            page.contains("Inloggningen kunde inte kontrolleras"),
            "{fault}: {page}"
        );
        let last = logins(&app).await.pop().unwrap();
        assert!(last.1.contains(detail), "{fault}: {last:?}");
    }
    // An address the provider has not verified names nobody, and links nobody.
    forged.fault("unverified_email").await;
    let response = app.fresh_browser().sign_in_through(&id, None).await;
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("inget konto"));
    assert!(logins(&app).await.pop().unwrap().1.contains("no account"));

    // A key the service has not seen: the keys are fetched again, and the token is good.
    forged.fault("rotated_key").await;
    let response = app.fresh_browser().sign_in_through(&id, None).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/");

    // The person is linked now; once their account is turned off, the link signs in nobody.
    let teacher_id = teacher.user_id.clone();
    app.conn(move |c| {
        use samordna::db::schema::users;
        diesel::update(users::table.find(teacher_id))
            .set(users::active.eq(false))
            .execute(c)
            .unwrap()
    })
    .await;
    forged.fault("none").await;
    let response = app.fresh_browser().sign_in_through(&id, None).await;
    assert_eq!(response.status(), 403);
    assert!(logins(&app).await.pop().unwrap().1.contains("no account"));

    // A discovery document that is not one, and a provider that answers 500: each a provider
    // not asked before (discovery is kept per provider).
    for (fault, status, words) in [
        ("bad_discovery", 502, "felinställd"),
        ("error_page", 502, "svarar inte"),
    ] {
        forged.fault(fault).await;
        let fresh = app.add_identity_provider(fault, &forged.issuer, &[]).await;
        let response = app
            .fresh_browser()
            .client
            .get(app.url(&format!("/login/oidc?provider={fresh}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{fault}");
        assert!(response.text().await.unwrap().contains(words), "{fault}");
    }
}

async fn sso_only_organisations_and_logout(app: TestApp) {
    let teacher = app.add_user("skola", &[Role::Reporter]).await;
    let idp = real_provider(
        &app,
        &[Person {
            login: "larare",
            email: &teacher.email,
            acr: LOA2,
        }],
    );
    let id = app
        .add_identity_provider("Ekby kommuns inloggning", &idp.issuer, &[LOA3])
        .await;

    // An address of the provider's domain typed without a password goes to the provider.
    let response = app
        .submit(
            "/login",
            "/login",
            &[
                ("email", "vem-som-helst@ekby.test"),
                ("password", ""),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("http-equiv=\"refresh\"") && page.contains(&format!("provider={id}")),
        "{page}"
    );

    // The organisation requires single sign-on: the right password is refused.
    let user_id = teacher.user_id.clone();
    app.conn(move |c| {
        let org = samordna::accounts::load_auth_user(c, &samordna::accounts::UserId(user_id))
            .unwrap()
            .unwrap()
            .organisation
            .id;
        samordna::accounts::sso::store::set_requires_sso(c, &org, true).unwrap();
    })
    .await;
    let browser = app.fresh_browser();
    assert_eq!(
        browser
            .sign_in_status(&teacher.email, &teacher.password)
            .await,
        403
    );
    let page = browser
        .submit(
            "/login",
            "/login",
            &[("email", &teacher.email), ("password", &teacher.password)],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("inte med lösenord"), "{page}");

    // Through the provider it works; logging out sends the browser to the provider's
    // end-session page.
    let response = browser.sign_in_through(&id, Some("larare")).await;
    assert_eq!(location(&response), "/");
    let response = browser.submit("/", "/logout", &[]).await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    let marker = "content=\"0;url=";
    let start = page.find(marker).expect("a refresh to the provider") + marker.len();
    let end_session = page[start..start + page[start..].find('"').unwrap()].replace("&amp;", "&");
    assert!(
        end_session.starts_with(&format!("{}/session/end", idp.issuer)),
        "{end_session}"
    );
    assert!(end_session.contains("post_logout_redirect_uri="));
    let provider_page = browser.client.get(&end_session).send().await.unwrap();
    assert_eq!(provider_page.status(), 200);
    assert!(provider_page.text().await.unwrap().contains("<form"));
    assert!(
        !browser.page("/").await.contains("Logga ut"),
        "signed out of the service"
    );
}

on_both_databases!(
    provider_vouches_and_its_second_factor_counts,
    failures_at_the_real_provider_are_explained,
    forged_tokens_are_refused,
    sso_only_organisations_and_logout,
);
