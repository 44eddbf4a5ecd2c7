use samordna::accounts::Role;

use crate::helpers::{csrf_from, new_client, Db, Login, TestApp};
use crate::on_both_databases;

async fn login_and_logout_through_the_form(app: TestApp) {
    let login = app.add_user("skola", &[Role::Reporter]).await;

    // A page that needs a login sends the browser to the login page, and back afterwards.
    let guarded = app
        .client
        .get(app.url("/admin/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(guarded.status().as_u16(), 303);
    assert_eq!(
        guarded.headers()["location"],
        "/login?next=%2Fadmin%2Fusers"
    );
    let response = app
        .submit(
            "/login",
            "/login",
            &[
                ("email", &login.email.to_uppercase()),
                ("password", &login.password),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("samordna_session="))
        .expect("session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    assert!(
        !session.contains("Secure"),
        "plain http in tests: {session}"
    );
    assert!(
        cookies.iter().any(|c| c.starts_with("samordna_csrf=")),
        "CSRF cookie rotated at login"
    );

    let home = app.page("/").await;
    assert!(home.contains("Välkommen, Test Person"), "{home}");
    assert!(home.contains("Anmälare"));

    // Logout ends the session in the database: the old cookie is worthless afterwards.
    let session_value = session.split(';').next().unwrap().to_string();
    let token = csrf_from(&home);
    let out = app
        .client
        .post(app.url("/logout"))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 303);
    assert_eq!(out.headers()["location"], "/login?logged_out=1");
    let replay = new_client()
        .get(app.url("/"))
        .header("cookie", session_value)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !replay.contains("Välkommen"),
        "a logged-out session must not work again"
    );
}

async fn wrong_password_and_unknown_user_get_the_same_clear_answer(app: TestApp) {
    let login = app.add_user("skola", &[Role::Reporter]).await;
    let mut bodies = Vec::new();
    for (email, password) in [
        (login.email.as_str(), "fel-lösenord-123"),
        ("ingen@test.samordna.se", "fel-lösenord-123"),
    ] {
        let response = app
            .submit(
                "/login",
                "/login",
                &[("email", email), ("password", password)],
            )
            .await;
        assert_eq!(response.status().as_u16(), 401);
        let body = response.text().await.unwrap();
        assert!(
            body.contains("E-postadressen eller lösenordet stämmer inte"),
            "{body}"
        );
        assert!(
            body.contains(&format!("value=\"{email}\"")),
            "the email is kept: {body}"
        );
        bodies.push(body.replace(email, "EMAIL"));
    }
    let strip = |b: &str| {
        b.lines()
            .filter(|l| !l.contains("csrf_token"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        strip(&bodies[0]),
        strip(&bodies[1]),
        "no hint whether the account exists"
    );

    // Empty fields: each error next to its field.
    let response = app
        .submit("/login", "/login", &[("email", ""), ("password", "")])
        .await;
    assert_eq!(response.status().as_u16(), 422);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("id=\"email-error\">Fyll i din e-postadress."),
        "{body}"
    );
    assert!(
        body.contains("id=\"password-error\">Fyll i ditt lösenord."),
        "{body}"
    );
}

async fn forms_without_a_valid_csrf_token_are_refused(app: TestApp) {
    let login = app.add_user("skola", &[Role::Reporter]).await;
    let _ = app.csrf("/login").await;
    for token in [None, Some("forged")] {
        let mut form = vec![
            ("email", login.email.as_str()),
            ("password", login.password.as_str()),
        ];
        if let Some(t) = token {
            form.push(("csrf_token", t));
        }
        let response = app
            .client
            .post(app.url("/login"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 403);
        let body = response.text().await.unwrap();
        assert!(body.contains("Formuläret har gått ut"), "{body}");
        assert!(response_has_no_session(&body));
    }
    // A cross-site post is refused even with a valid token.
    let token = app.csrf("/login").await;
    for (header, value) in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ] {
        let response = app
            .client
            .post(app.url("/login"))
            .header(header, value)
            .form(&[
                ("csrf_token", token.as_str()),
                ("email", &login.email),
                ("password", &login.password),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 403);
    }
}

fn response_has_no_session(body: &str) -> bool {
    !body.contains("Välkommen")
}

/// Five wrong passwords lock the account out for 15 minutes, with the same answer for an address
/// that has no account; twenty failures lock out the client's address.
async fn repeated_failures_are_throttled_without_telling_whether_the_account_exists(app: TestApp) {
    let login = app.add_user("skola", &[Role::Reporter]).await;
    let attempt = |email: String, password: &str| {
        let password = password.to_string();
        // A new browser each time: a signed-in one would be sent on from the login page.
        let app = app.fresh_browser();
        async move {
            let response = app
                .submit(
                    "/login",
                    "/login",
                    &[("email", &email), ("password", &password), ("next", "/")],
                )
                .await;
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let unknown = "finns.inte@skola.test".to_string();
    for _ in 0..5 {
        assert_eq!(
            attempt(login.email.clone(), "fel-lösenord-igen").await.0,
            401
        );
        assert_eq!(attempt(unknown.clone(), "fel-lösenord-igen").await.0, 401);
    }
    // Now even the right password is refused, in words that do not say whether the account exists.
    let (status, known_page) = attempt(login.email.to_uppercase(), &login.password).await;
    assert_eq!(status, 429, "{known_page}");
    assert!(known_page.contains("För många misslyckade inloggningsförsök. Vänta 15 minuter"));
    let (status, unknown_page) = attempt(unknown.clone(), "fel-lösenord-igen").await;
    assert_eq!(status, 429);
    let message = |page: &str| {
        let at = page.find("För många").unwrap();
        page[at..at + page[at..].find('<').unwrap()].to_string()
    };
    assert_eq!(message(&known_page), message(&unknown_page));
    // Another account from the same address still gets in (10 failures so far, limit 20)...
    let other = app.add_user("skola", &[Role::Reporter]).await;
    assert_eq!(attempt(other.email.clone(), &other.password).await.0, 303);
    // ...until the address itself has failed twenty times.
    for i in 0..10 {
        assert_eq!(
            attempt(format!("gissning{i}@skola.test"), "fel-lösenord-igen")
                .await
                .0,
            401
        );
    }
    assert_eq!(attempt(other.email.clone(), &other.password).await.0, 429);
}

/// Twenty failed sign-ins from one client behind the service's reverse proxy: that client is
/// refused, others behind the same proxy are not, and a client cannot escape by writing its own
/// `X-Forwarded-For`.
async fn behind_a_trusted_proxy_each_client_has_its_own_limit(kind: Db) {
    let app = TestApp::spawn_with(kind, &[("SAMORDNA_TRUSTED_PROXIES", "127.0.0.1")], true).await;
    let login = app.add_user("skola", &[Role::Reporter]).await;
    let attempt = |forwarded_for: &str, email: String, password: &str| {
        let (browser, password) = (app.through_proxy(forwarded_for), password.to_string());
        async move { browser.sign_in_status(&email, &password).await }
    };
    // Twenty guesses at twenty addresses (so no account reaches its own limit of five).
    for i in 0..20 {
        let status = attempt(
            "198.51.100.1",
            format!("gissning{i}@skola.test"),
            "fel-lösenord",
        )
        .await;
        assert_eq!(status, 401, "guess {i}");
    }
    assert_eq!(
        attempt("198.51.100.1", login.email.clone(), &login.password).await,
        429
    );
    // What the client wrote before the proxy's own entry does not change who it is.
    let spoofed = attempt(
        "203.0.113.50, 198.51.100.1",
        login.email.clone(),
        &login.password,
    )
    .await;
    assert_eq!(spoofed, 429);
    // Another client behind the same proxy signs in.
    assert_eq!(
        attempt("198.51.100.2", login.email.clone(), &login.password).await,
        303
    );

    // Without trusted proxies the header is the client's own words, and ignored.
    let direct = TestApp::spawn(kind).await;
    let login = direct.add_user("skola", &[Role::Reporter]).await;
    for i in 0..20 {
        let browser = direct.through_proxy(&format!("198.51.100.{i}"));
        let status = browser
            .sign_in_status(&format!("gissning{i}@skola.test"), "fel-lösenord")
            .await;
        assert_eq!(status, 401);
    }
    let browser = direct.through_proxy("198.51.100.99");
    assert_eq!(
        browser.sign_in_status(&login.email, &login.password).await,
        429
    );
}

/// The limits are kept in the database: ten wrong passwords sent at once, half to each of two
/// instances, get five answers and five refusals; the account is then locked on both until the
/// window has passed. Only keyed hashes are stored, never the typed address or the client's.
async fn limits_hold_across_instances_and_parallel_guesses(kind: Db) {
    let a = TestApp::spawn(kind).await;
    let b = TestApp::spawn_on(a.db.clone(), a.smtp.clone(), kind, &[]).await;
    let login = a.add_user("skola", &[Role::Reporter]).await;
    let mut guesses = Vec::new();
    for i in 0..10 {
        let browser = if i % 2 == 0 {
            a.fresh_browser()
        } else {
            b.fresh_browser()
        };
        let email = login.email.clone();
        // The form first, so the guesses go out together.
        let token = browser.csrf("/login").await;
        guesses.push(actix_web::rt::spawn(async move {
            let fields = [
                ("csrf_token", token.as_str()),
                ("email", &email),
                ("password", "fel-lösenord-igen"),
            ];
            let response = browser
                .client
                .post(browser.url("/login"))
                .form(&fields)
                .send()
                .await
                .unwrap();
            response.status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for guess in guesses {
        statuses.push(guess.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429, 429, 429]);
    let right = |app: &TestApp| {
        let (browser, login) = (app.fresh_browser(), &login);
        async move { browser.sign_in_status(&login.email, &login.password).await }
    };
    assert_eq!(right(&b).await, 429, "locked on the other instance too");

    let stored: Vec<String> = a
        .conn(|conn| {
            use diesel::prelude::*;
            use samordna::db::schema::sign_in_attempts;
            sign_in_attempts::table
                .select(sign_in_attempts::key)
                .load(conn)
                .unwrap()
        })
        .await;
    assert_eq!(
        stored.len(),
        10,
        "five for the account, five for the address"
    );
    assert!(
        stored
            .iter()
            .all(|key| key.len() == 64 && key.chars().all(|c| c.is_ascii_hexdigit())),
        "only keyed hashes: {stored:?}"
    );

    // Fifteen minutes later the account opens again.
    a.conn(|conn| {
        use diesel::prelude::*;
        use samordna::db::schema::sign_in_attempts;
        diesel::update(sign_in_attempts::table)
            .set(sign_in_attempts::at.eq(samordna::db::now() - chrono::TimeDelta::minutes(16)))
            .execute(conn)
            .unwrap();
    })
    .await;
    assert_eq!(right(&a).await, 303);
}

crate::on_both_kinds!(
    limits_hold_across_instances_and_parallel_guesses,
    behind_a_trusted_proxy_each_client_has_its_own_limit,
);

/// A user changes their password on *Min profil*: mistakes come back beside their fields; the
/// change ends every session of the user (this browser's and another's), the old password stops
/// working and the new one works; the change is audited. Each login also starts a new session id.
async fn changing_the_password_ends_every_session(app: TestApp) {
    let login = app.add_user("socialtjanst", &[Role::Caseworker]).await;
    let other = app.fresh_browser();
    app.login(&login).await;
    other.login(&login).await;
    let session = |browser: &TestApp| {
        let url = browser.url("/");
        let jar = browser.client.clone();
        async move {
            // The cookie store is not readable; the session is told by the start page's greeting.
            let page = jar.get(url).send().await.unwrap().text().await.unwrap();
            page.contains("Välkommen, Test Person")
        }
    };
    assert!(session(&app).await && session(&other).await);
    let (ids_before, _) = session_ids(&app, &login.user_id).await;
    assert_eq!(ids_before, 2, "one session per login");

    let change = |current: &str, new: &str, repeat: &str| {
        let fields = [
            ("current_password", current.to_string()),
            ("new_password", new.to_string()),
            ("repeat_password", repeat.to_string()),
        ];
        let app = app.clone();
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let response = app.submit("/profil", "/profil/losenord", &fields).await;
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_string());
            (status, location, response.text().await.unwrap())
        }
    };
    let new = "en ny och lång lösenfras";
    let (status, _, page) = change("fel gammalt lösenord", new, new).await;
    assert_eq!(status, 422);
    assert!(
        page.contains("id=\"current_password-error\">Lösenordet stämmer inte."),
        "{page}"
    );
    let (status, _, page) = change(&login.password, "kort", "kort").await;
    assert_eq!(status, 422);
    assert!(page.contains("id=\"new_password-error\">Lösenordet behöver vara minst 10 tecken."));
    let (status, _, page) = change(&login.password, new, "en ny och lång lösenfraz").await;
    assert_eq!(status, 422);
    assert!(page.contains("id=\"repeat_password-error\">Lösenorden är inte lika."));
    assert!(session(&app).await, "mistakes change nothing");

    let (status, location, _) = change(&login.password, new, new).await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/login?losenord=bytt"))
    );
    assert!(app
        .page("/login?losenord=bytt")
        .await
        .contains("Ditt lösenord är bytt och du är utloggad överallt."));
    assert!(
        !session(&app).await && !session(&other).await,
        "both sessions ended"
    );
    assert_eq!(session_ids(&app, &login.user_id).await.0, 0);

    let attempt = |password: &str| {
        let (browser, email, password) = (
            app.fresh_browser(),
            login.email.clone(),
            password.to_string(),
        );
        async move { browser.sign_in_status(&email, &password).await }
    };
    assert_eq!(
        attempt(&login.password).await,
        401,
        "the old password is refused"
    );
    assert_eq!(attempt(new).await, 303, "the new one works");
    let (ids, audited) = session_ids(&app, &login.user_id).await;
    assert_eq!(ids, 1);
    assert_eq!(
        audited
            .iter()
            .filter(|a| *a == "user.password_change")
            .count(),
        2,
        "the wrong current password and the change: {audited:?}"
    );

    // Guessing the current password from a session counts as guessing at the login: an empty one
    // does not count, five wrong ones lock both the form and the login for the window.
    let browser = app.fresh_browser();
    let renewed = Login {
        password: new.to_string(),
        app: login.app.clone(),
        ..Login::new(&login.email, new, &login.user_id)
    };
    browser.login(&renewed).await;
    let guess = |current: &str| {
        let fields = [
            ("current_password", current.to_string()),
            ("new_password", "ännu en lång lösenfras".to_string()),
            ("repeat_password", "ännu en lång lösenfras".to_string()),
        ];
        let browser = browser.clone();
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let response = browser.submit("/profil", "/profil/losenord", &fields).await;
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    for _ in 0..5 {
        assert!(guess("").await.1.contains("Fyll i lösenordet du har nu."));
    }
    for i in 0..5 {
        assert!(guess(&format!("gissning nummer {i}"))
            .await
            .1
            .contains("stämmer inte"));
    }
    let (status, page) = guess(new).await;
    assert_eq!(status, 422);
    assert!(
        page.contains("För många felaktiga försök. Vänta 15 minuter"),
        "{page}"
    );
    assert_eq!(attempt(new).await, 429, "the login is locked too");
}

/// How many sessions a user has, and the actions audited for them.
async fn session_ids(app: &TestApp, user_id: &str) -> (i64, Vec<String>) {
    let id = user_id.to_string();
    app.conn(move |conn| {
        use diesel::prelude::*;
        use samordna::db::schema::{audit_log, sessions};
        (
            sessions::table
                .filter(sessions::user_id.eq(&id))
                .count()
                .get_result(conn)
                .unwrap(),
            audit_log::table
                .filter(audit_log::object_id.eq(&id))
                .select(audit_log::action)
                .load(conn)
                .unwrap(),
        )
    })
    .await
}

on_both_databases!(
    a_busy_session_ends_after_its_lifetime,
    changing_the_password_ends_every_session,
    repeated_failures_are_throttled_without_telling_whether_the_account_exists,
    login_and_logout_through_the_form,
    wrong_password_and_unknown_user_get_the_same_clear_answer,
    forms_without_a_valid_csrf_token_are_refused,
);

#[actix_web::test]
async fn an_idle_session_expires_with_a_clear_message() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let login = app.add_user("skola", &[Role::Admin]).await;
    // Make the session look idle for 31 minutes (the default timeout is 30), then come back.
    app.login(&login).await;
    let user_id = login.user_id.clone();
    app.conn(move |conn| {
        use diesel::prelude::*;
        use samordna::db::schema::sessions;
        let long_ago = samordna::db::now() - chrono::TimeDelta::minutes(31);
        diesel::update(sessions::table.filter(sessions::user_id.eq(user_id)))
            .set(sessions::last_seen_at.eq(long_ago))
            .execute(conn)
            .unwrap();
    })
    .await;
    let response = app
        .client
        .get(app.url("/admin/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(location, "/login?next=%2Fadmin%2Fusers&expired=1");
    let page = app.page(&location).await;
    assert!(
        page.contains("Du har varit inaktiv en stund och har loggats ut"),
        "{page}"
    );
}

/// A session in use all the time still ends after its absolute lifetime (12 hours by default),
/// and one a minute younger does not.
async fn a_busy_session_ends_after_its_lifetime(app: TestApp) {
    let login = app.add_user("socialtjanst", &[Role::Caseworker]).await;
    app.login(&login).await;
    let started = |minutes_ago: i64| {
        let user_id = login.user_id.clone();
        app.conn(move |conn| {
            use diesel::prelude::*;
            use samordna::db::schema::sessions;
            let now = samordna::db::now();
            diesel::update(sessions::table.filter(sessions::user_id.eq(user_id)))
                .set((
                    sessions::created_at.eq(now - chrono::TimeDelta::minutes(minutes_ago)),
                    sessions::last_seen_at.eq(now),
                ))
                .execute(conn)
                .unwrap();
        })
    };
    let status = || async {
        let response = app.client.get(app.url("/sip")).send().await.unwrap();
        response.status().as_u16()
    };
    started(12 * 60 - 1).await;
    assert_eq!(status().await, 200, "eleven hours and 59 minutes");
    started(12 * 60 + 1).await;
    assert_eq!(status().await, 303, "twelve hours and a minute");
    assert!(!app.page("/").await.contains("Välkommen"));
}

#[actix_web::test]
async fn cookies_are_secure_when_served_over_https() {
    let app = TestApp::spawn_with(
        Db::Sqlite,
        &[("SAMORDNA_BASE_URL", "https://samordna.test/")],
        true,
    )
    .await;
    let login = app.add_user("skola", &[Role::Reporter]).await;
    let response = app
        .submit(
            "/login",
            "/login",
            &[("email", &login.email), ("password", &login.password)],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    for cookie in response.headers().get_all("set-cookie") {
        let cookie = cookie.to_str().unwrap();
        assert!(cookie.contains("; Secure"), "{cookie}");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
    }
}
