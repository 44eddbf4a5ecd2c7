//! Two-factor sign-in for every role that can read a child's data: set up at the first login from
//! a QR page, a code from the app afterwards (each code once), recovery codes, throttling of
//! guesses, and the admin's reset. Codes are computed by the tests' own RFC 6238 implementation
//! (`helpers::totp_code`), not by the crate the service uses.

use diesel::prelude::*;
use samordna::accounts::Role;
use samordna::db::schema::{audit_log, recovery_codes, sessions, users};

use crate::helpers::{csrf_from, totp_code, unix_now, Login, TestApp};
use crate::on_both_databases;

/// Posts the login form and returns where it sends the browser.
async fn password_step(app: &TestApp, login: &Login, next: &str) -> String {
    let response = app
        .submit(
            "/login",
            "/login",
            &[
                ("email", &login.email),
                ("password", &login.password),
                ("next", next),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    response.headers()["location"].to_str().unwrap().to_string()
}

/// Posts a code on the second step's page; returns status, location (if any) and body.
async fn code_step(app: &TestApp, code: &str, next: &str) -> (u16, String, String) {
    let response = app
        .submit(
            "/login/kod",
            "/login/kod",
            &[("code", code), ("next", next)],
        )
        .await;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, location, response.text().await.unwrap())
}

async fn status_of(app: &TestApp, path: &str) -> (u16, String) {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (response.status().as_u16(), location)
}

async fn log_out(app: &TestApp) {
    let out = app.submit("/", "/logout", &[]).await;
    assert_eq!(out.status().as_u16(), 303);
}

fn recovery_codes_on(page: &str) -> Vec<String> {
    page.split("<li><code>")
        .skip(1)
        .map(|part| part[..part.find("</code>").unwrap()].to_string())
        .collect()
}

async fn audit_actions(app: &TestApp, user_id: &str) -> Vec<(String, String)> {
    let id = user_id.to_string();
    app.conn(move |conn| {
        audit_log::table
            .filter(audit_log::object_id.eq(id))
            .order(audit_log::seq)
            .select((audit_log::action, audit_log::outcome))
            .load(conn)
            .unwrap()
    })
    .await
}

async fn staff_set_up_the_app_at_first_login_and_type_a_code_after(app: TestApp) {
    let login = app.add_user("socialtjanst", &[Role::Intake]).await;
    assert_eq!(
        password_step(&app, &login, "/mottagning").await,
        "/login/kod?next=%2Fmottagning"
    );

    // The password alone opens nothing that needs a login: every page sends to the second step.
    for path in ["/mottagning", "/profil", "/sip"] {
        let (status, location) = status_of(&app, path).await;
        assert_eq!(status, 303, "{path}");
        assert!(
            location.starts_with("/login/kod?next="),
            "{path}: {location}"
        );
    }
    let home = app.page("/").await;
    assert!(!home.contains("Välkommen"), "not signed in yet: {home}");
    for form in ["/profil/reservkoder", "/sip"] {
        let response = app.submit("/login/kod", form, &[]).await;
        assert_eq!(response.status().as_u16(), 303, "{form}");
        assert_eq!(
            response.headers()["location"],
            "/login/kod?next=%2F",
            "{form}"
        );
    }

    // The set-up page: a QR code and the secret to type by hand; reloading keeps the secret.
    let page = app.page("/login/kod?next=%2Fmottagning").await;
    assert!(page.contains("Skydda ditt konto med en app"), "{page}");
    assert!(page.contains("src=\"data:image/svg+xml;base64,"), "QR code");
    let secret = login.app.scan(&page);
    assert_eq!(secret.len(), 32);
    // Someone else with the password gets a secret of their own, never this session's.
    let intruder = app.fresh_browser();
    password_step(&intruder, &login, "/").await;
    let theirs = intruder.page("/login/kod").await;
    let their_secret = crate::helpers::Authenticator::default().scan(&theirs);
    assert_ne!(their_secret, secret, "a half-done set-up is not shared");
    let again = app.page("/login/kod?next=%2Fmottagning").await;
    let grouped: Vec<String> = secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    assert!(
        again.contains(&grouped.join(" ")),
        "the same secret after a reload"
    );

    // A wrong code: the page again with a Swedish message, still in set-up.
    let wrong = format!(
        "{:06}",
        (totp_code(&secret, unix_now()).parse::<u32>().unwrap() + 1) % 1_000_000
    );
    let (status, _, body) = code_step(&app, &wrong, "/mottagning").await;
    assert_eq!(status, 401);
    assert!(body.contains("Koden stämmer inte"), "{body}");
    assert!(body.contains("totp-secret"));
    let (status, _, body) = code_step(&app, "", "/mottagning").await;
    assert_eq!(status, 422);
    assert!(body.contains("Fyll i koden."), "{body}");

    // The right code: the recovery codes, once, and a link on to where the user was going.
    let session_before = app
        .conn({
            let id = login.user_id.clone();
            move |conn| {
                sessions::table
                    .filter(sessions::user_id.eq(id))
                    .select(sessions::id)
                    .load::<String>(conn)
                    .unwrap()
            }
        })
        .await;
    assert_eq!(session_before.len(), 2, "this browser's and the intruder's");
    let (status, _, body) = code_step(&app, &login.app.next_code().await, "/mottagning").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Spara dina reservkoder"), "{body}");
    assert!(body.contains("href=\"/mottagning\""));
    let codes = recovery_codes_on(&body);
    assert_eq!(codes.len(), 10, "{body}");
    let (status, _) = status_of(&app, "/mottagning").await;
    assert_eq!(status, 200);

    // The session got a new id at the second step; the one from the password step is gone.
    let (session_after, stored_secret, stored_hashes) = app
        .conn({
            let id = login.user_id.clone();
            move |conn| {
                (
                    sessions::table
                        .filter(sessions::user_id.eq(&id))
                        .select(sessions::id)
                        .load::<String>(conn)
                        .unwrap(),
                    users::table
                        .find(&id)
                        .select(users::totp_secret)
                        .first::<Option<String>>(conn)
                        .unwrap(),
                    recovery_codes::table
                        .filter(recovery_codes::user_id.eq(&id))
                        .select(recovery_codes::code_hash)
                        .load::<String>(conn)
                        .unwrap(),
                )
            }
        })
        .await;
    let replaced: Vec<&String> = session_before
        .iter()
        .filter(|id| !session_after.contains(id))
        .collect();
    assert_eq!(replaced.len(), 1, "only this browser's session changed");
    assert_eq!(session_after.len(), 2);
    // The secret is sealed like a child's data, not stored as the app shows it.
    let stored_secret = stored_secret.expect("a secret");
    assert!(stored_secret.starts_with("enc1:"), "{stored_secret}");
    assert!(!stored_secret.contains(&secret));
    assert_eq!(stored_hashes.len(), 10);
    // Only keyed hashes: neither the codes nor their plain SHA-256 (which a copy of the database
    // would let anyone reverse by trying all 40-bit codes).
    for code in &codes {
        let plain = code.replace('-', "");
        let unkeyed = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(plain.as_bytes()));
        assert!(
            stored_hashes
                .iter()
                .all(|h| !h.contains(&plain) && *h != unkeyed),
            "{code} is stored in clear or unkeyed"
        );
    }

    // Next login: no set-up, a code; the code just used does not work twice.
    log_out(&app).await;
    assert_eq!(
        password_step(&app, &login, "/mottagning").await,
        "/login/kod?next=%2Fmottagning"
    );
    let page = app.page("/login/kod?next=%2Fmottagning").await;
    assert!(page.contains("Skriv in koden från appen"), "{page}");
    assert!(
        !page.contains("totp-secret"),
        "the secret is shown only at set-up"
    );
    let code = login.app.next_code().await;
    let (status, location, _) = code_step(&app, &code, "/mottagning").await;
    assert_eq!((status, location.as_str()), (303, "/mottagning"));
    log_out(&app).await;
    password_step(&app, &login, "/mottagning").await;
    let (status, _, body) = code_step(&app, &code, "/mottagning").await;
    assert_eq!(status, 401, "a code works once");
    assert!(body.contains("Koden stämmer inte"));

    let actions = audit_actions(&app, &login.user_id).await;
    for expected in [
        ("session.two_factor_setup", "failure"),
        ("session.two_factor_setup", "success"),
        ("session.second_factor", "success"),
        ("session.second_factor", "failure"),
    ] {
        assert!(
            actions.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?} in {actions:?}"
        );
    }
}

async fn recovery_codes_work_once_and_can_be_replaced(app: TestApp) {
    let login = app.add_user("socialtjanst", &[Role::Caseworker]).await;
    password_step(&app, &login, "/").await;
    login.app.scan(&app.page("/login/kod").await);
    let (_, _, body) = code_step(&app, &login.app.next_code().await, "/").await;
    let codes = recovery_codes_on(&body);
    log_out(&app).await;

    // A recovery code as someone might type it: upper case, with spaces.
    password_step(&app, &login, "/sip").await;
    let typed = format!(" {} ", codes[0].to_uppercase().replace('-', " - "));
    let (status, location, _) = code_step(&app, &typed, "/sip").await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/profil?sparat=reservkod#inloggning")
    );
    let profile = app.page(&location).await;
    assert!(
        profile.contains("Du loggade in med en reservkod"),
        "{profile}"
    );
    assert!(
        profile.contains("<strong>9</strong> oanvända reservkoder"),
        "{profile}"
    );
    log_out(&app).await;
    password_step(&app, &login, "/").await;
    let (status, _, _) = code_step(&app, &codes[0], "/").await;
    assert_eq!(status, 401, "a recovery code works once");

    // New codes: the old ones stop working, the new ones work.
    let (status, _, _) = code_step(&app, &codes[1], "/").await;
    assert_eq!(status, 303);
    let replaced = app.submit("/profil", "/profil/reservkoder", &[]).await;
    assert_eq!(replaced.status().as_u16(), 200);
    let new_codes = recovery_codes_on(&replaced.text().await.unwrap());
    assert_eq!(new_codes.len(), 10);
    log_out(&app).await;
    password_step(&app, &login, "/").await;
    let (status, _, _) = code_step(&app, &codes[2], "/").await;
    assert_eq!(status, 401, "replaced codes are void");
    let (status, _, _) = code_step(&app, &new_codes[0], "/").await;
    assert_eq!(status, 303);
    let actions = audit_actions(&app, &login.user_id).await;
    assert!(actions.contains(&("user.recovery_codes_replaced".into(), "success".into())));
}

async fn reporters_sign_in_with_the_password_alone(app: TestApp) {
    let login = app.add_user("skola", &[Role::Reporter]).await;
    assert_eq!(
        password_step(&app, &login, "/mina-anmalningar").await,
        "/mina-anmalningar"
    );
    let (status, _) = status_of(&app, "/mina-anmalningar").await;
    assert_eq!(status, 200);
    // Nothing to set up, and no recovery codes to make.
    let (status, location) = status_of(&app, "/login/kod").await;
    assert_eq!((status, location.as_str()), (303, "/"));
    let refused = app.submit("/profil", "/profil/reservkoder", &[]).await;
    assert_eq!(refused.status().as_u16(), 403);
}

async fn guessing_codes_is_stopped(app: TestApp) {
    let login = app.signed_in_admin().await;
    log_out(&app).await;
    password_step(&app, &login, "/").await;
    let right = login.app.next_code().await;
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..5 {
        let (status, _, _) = code_step(&app, wrong, "/").await;
        assert_eq!(status, 401);
    }
    // Even the right code is refused now, with a message that says to wait.
    let (status, _, body) = code_step(&app, &right, "/").await;
    assert_eq!(status, 429);
    assert!(
        body.contains("För många felaktiga koder. Vänta 15 minuter"),
        "{body}"
    );
    let (status, _) = status_of(&app, "/admin/users").await;
    assert_eq!(status, 303, "still not signed in");
}

async fn an_admin_resets_a_lost_app(app: TestApp) {
    let admin = app.add_user("socialtjanst", &[Role::Admin]).await;
    let user = app.add_user("socialtjanst", &[Role::Caseworker]).await;
    let theirs = app.fresh_browser();
    theirs.login(&user).await;
    let (status, _) = status_of(&theirs, "/sip").await;
    assert_eq!(status, 200);

    app.login(&admin).await;
    let page = app.page("/admin/users").await;
    assert!(page.contains(&format!("/admin/users/{}/tvastegs", user.user_id)));
    let reset = app
        .client
        .post(app.url(&format!("/admin/users/{}/tvastegs", user.user_id)))
        .form(&[("csrf_token", csrf_from(&page).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status().as_u16(), 200);
    let body = reset.text().await.unwrap();
    assert!(
        body.contains("Inloggningen med app är nollställd för"),
        "{body}"
    );

    // Their session ended, and the next login sets up a new app (a new secret).
    let (status, _) = status_of(&theirs, "/sip").await;
    assert_eq!(status, 303);
    let old_secret = user.app.secret().unwrap();
    password_step(&theirs, &user, "/").await;
    let page = theirs.page("/login/kod").await;
    assert!(page.contains("Skydda ditt konto med en app"));
    assert_ne!(user.app.scan(&page), old_secret);
    let actions = audit_actions(&app, &user.user_id).await;
    assert!(actions.contains(&("user.two_factor_reset".into(), "success".into())));
    let id = user.user_id.clone();
    let codes_left: i64 = app
        .conn(move |conn| {
            recovery_codes::table
                .filter(recovery_codes::user_id.eq(id))
                .count()
                .get_result(conn)
                .unwrap()
        })
        .await;
    assert_eq!(codes_left, 0, "the old recovery codes went with the app");
}

on_both_databases!(
    staff_set_up_the_app_at_first_login_and_type_a_code_after,
    recovery_codes_work_once_and_can_be_replaced,
    reporters_sign_in_with_the_password_alone,
    guessing_codes_is_stopped,
    an_admin_resets_a_lost_app,
);

#[test]
fn the_tests_own_totp_matches_rfc_6238() {
    // RFC 6238 appendix B, SHA-1, key "12345678901234567890" (base32 below); last 6 of 8 digits.
    let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    for (time, rfc) in [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1234567890, "89005924"),
        (20000000000, "65353130"),
    ] {
        assert_eq!(totp_code(secret, time), rfc[2..]);
    }
}
