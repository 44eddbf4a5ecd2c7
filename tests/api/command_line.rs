use std::process::{Command, Output};

use samordna::accounts::Role;

use crate::helpers::{samordna_command, Db, Login, TestApp, TestDatabase};

fn samordna(db_url: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = samordna_command(db_url, args);
    command.env(
        "SAMORDNA_MAIL_DIR",
        std::env::temp_dir().join("samordna-test-mail"),
    );
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run samordna")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_wrong_setting_stops_the_start_with_one_line_naming_it() {
    let db = TestDatabase::create(Db::Sqlite);
    for (name, value, expected) in [
        (
            "SAMORDNA_BIND",
            "localhost",
            "SAMORDNA_BIND: \"localhost\" is not an address and port like 127.0.0.1:8080",
        ),
        (
            "SAMORDNA_SMTP_URL",
            "mail.kommun.se",
            "SAMORDNA_SMTP_URL: not a valid SMTP URL",
        ),
        (
            "SAMORDNA_SECRET_KEY",
            "kort",
            "SAMORDNA_SECRET_KEY: must be at least 32 characters, got 4",
        ),
    ] {
        let out = samordna(&db.url, &["serve"], &[(name, value)]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with(&format!("samordna: {expected}")), "{err}");
    }
}

#[test]
fn an_unreachable_database_gives_the_real_cause() {
    let out = samordna(
        "postgres://samordna:hemligt@127.0.0.1:1/samordna",
        &["migrate"],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("cannot open database postgres://samordna:***@127.0.0.1:1/samordna"),
        "{err}"
    );
    assert!(
        err.contains("127.0.0.1") && err.contains("port 1") && err.contains("refused"),
        "{err}"
    );
    assert!(
        !err.contains("hemligt") && !err.to_lowercase().contains("invalid connection url"),
        "{err}"
    );
}

#[actix_web::test]
async fn accounts_can_be_set_up_from_the_command_line() {
    let db = TestDatabase::create(Db::Sqlite);
    let run = |args: &[&str]| {
        let out = samordna(&db.url, args, &[]);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    run(&[
        "municipality",
        "add",
        "--name",
        "Ekby kommun",
        "--phone",
        "010-111 22 33",
    ]);
    run(&[
        "org",
        "add",
        "--name",
        "Ekbyskolan",
        "--kind",
        "skola",
        "--principal",
        "kommun",
        "--municipality",
        "Ekby kommun",
    ]);
    let out = run(&[
        "user",
        "add",
        "--email",
        "lisa@ekby.test",
        "--name",
        "Lisa Lind",
        "--title",
        "Lärare",
        "--org",
        "Ekbyskolan",
        "--role",
        "reporter",
    ]);
    let password = out
        .lines()
        .find_map(|l| l.strip_prefix("Password (shown once): "))
        .expect(&out)
        .to_string();
    let out = run(&[
        "token",
        "add",
        "--name",
        "Import",
        "--user",
        "lisa@ekby.test",
    ]);
    assert!(out.lines().last().unwrap().starts_with("smd_"), "{out}");
    assert_eq!(
        run(&["audit", "verify"]),
        "Audit trail intact: 4 entries, every link checked.\n"
    );

    // A mistake is explained, in the words of the form.
    let out = samordna(
        &db.url,
        &[
            "org",
            "add",
            "--name",
            "X",
            "--kind",
            "skolan",
            "--principal",
            "kommun",
            "--municipality",
            "Ekby kommun",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("kind: Välj vilken sorts verksamhet det är."),
        "{}",
        stderr(&out)
    );

    // The account made on the command line works in the web service.
    let app = service_on(db).await;
    app.login(&Login::new("lisa@ekby.test", &password, ""))
        .await;
    let home = app.page("/").await;
    assert!(home.contains("Välkommen, Lisa Lind"));
}

/// The web service on a database the command line has set up (SQLite), with its own SMTP server.
async fn service_on(db: TestDatabase) -> TestApp {
    TestApp::spawn_on(
        std::sync::Arc::new(db),
        crate::helpers::TestSmtp::reserve(),
        Db::Sqlite,
        &[],
    )
    .await
}

/// The (email, password) pairs that `samordna demo` printed.
fn demo_logins(printed: &str) -> Vec<(String, String)> {
    printed
        .lines()
        .filter(|l| l.contains("@demo.samordna.se"))
        .map(|l| {
            let parts: Vec<&str> = l.split_whitespace().collect();
            (
                parts[parts.len() - 2].to_string(),
                parts[parts.len() - 1].to_string(),
            )
        })
        .collect()
}

#[actix_web::test]
async fn the_demo_prints_logins_that_work_for_every_role() {
    let db = TestDatabase::create(Db::Sqlite);
    let out = samordna(&db.url, &["demo"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let logins = demo_logins(&text);
    assert_eq!(logins.len(), 7, "{text}");
    for role in Role::ALL {
        assert!(text.contains(role.label()), "{role:?} missing: {text}");
    }
    // Running it again is safe and gives new passwords.
    let again = stdout(&samordna(&db.url, &["demo"], &[]));
    assert_ne!(again, text);
    let logins = demo_logins(&again);

    let app = service_on(db).await;
    for (email, password) in logins {
        let app = app.fresh_browser();
        app.login(&Login::new(&email, &password, "")).await;
        let home = app.page("/").await;
        assert!(home.contains("Välkommen"), "{email}");
    }
}

/// An anonymous report leaves nothing identifying in the service's log: no address, no user
/// agent, no name or personnummer (log level debug, so every request span is written).
#[actix_web::test]
async fn an_anonymous_report_leaves_no_trace_in_the_log() {
    let db = TestDatabase::create(Db::Sqlite);
    assert!(
        samordna(&db.url, &["municipality", "add", "--name", "Ekby"], &[])
            .status
            .success()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_samordna"))
        .env("SAMORDNA_DATABASE_URL", &db.url)
        .env("SAMORDNA_SECRET_KEY", crate::helpers::SECRET)
        .env("SAMORDNA_BIND", format!("127.0.0.1:{port}"))
        .env(
            "SAMORDNA_MAIL_DIR",
            std::env::temp_dir().join("samordna-test-mail"),
        )
        .env("RUST_LOG", "debug")
        .stderr(log.reopen().unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .user_agent("Fingeravtryck/9.9 (granne)")
        .build()
        .unwrap();
    for _ in 0..100 {
        if client.get(format!("{base}/readyz")).send().await.is_ok() {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let app_db = samordna::db::connect(&db.url, 1).unwrap();
    let ekby = samordna::accounts::find_municipality_by_name(&mut app_db.get().unwrap(), "Ekby")
        .unwrap()
        .unwrap()
        .id
        .0;
    let response = client
        .post(format!("{base}/api/v1/reports"))
        .json(&serde_json::json!({
            "municipality_id": ekby,
            "children": [{"personal_number": "20121212-1212", "name": "Lova Spårlös", "told": true}],
            "concern": "Hemlig oro om Lova.",
            "categories": ["other"], "acute_danger": false, "police_informed": false
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let _ = server.kill();
    let _ = server.wait();
    let text = std::fs::read_to_string(log.path()).unwrap();
    assert!(
        text.contains("/api/v1/reports"),
        "the request was logged: {text}"
    );
    for secret in [
        "Fingeravtryck",
        "Lova",
        "20121212",
        "Hemlig",
        "user_agent",
        "client_ip",
    ] {
        assert!(!text.contains(secret), "{secret} in the log:\n{text}");
    }
}

/// The first-meeting deadline is a regional agreement: set per municipality, within 1–90 days.
#[test]
fn the_sip_deadline_is_set_per_municipality() {
    for kind in [Db::Sqlite, Db::Postgres] {
        let db = TestDatabase::create(kind);
        assert!(
            samordna(&db.url, &["municipality", "add", "--name", "Ekby"], &[])
                .status
                .success()
        );
        let out = samordna(
            &db.url,
            &["municipality", "sip-days", "--name", "Ekby", "--days", "10"],
            &[],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("10 days"));
        let out = samordna(
            &db.url,
            &["municipality", "sip-days", "--name", "Ekby", "--days", "0"],
            &[],
        );
        assert!(!out.status.success());
        let out = samordna(
            &db.url,
            &["municipality", "sip-days", "--name", "Okänd", "--days", "7"],
            &[],
        );
        assert!(!out.status.success() && stderr(&out).contains("Okänd"));
        use diesel::prelude::*;
        let mut conn = samordna::db::connect(&db.url, 1).unwrap().get().unwrap();
        let days: i32 = samordna::db::schema::municipalities::table
            .select(samordna::db::schema::municipalities::sip_first_meeting_days)
            .first(&mut conn)
            .unwrap();
        assert_eq!(days, 10, "{kind:?}");
    }
}

/// Office hours, socialjour's number and the alert addresses of acute reports are set per
/// municipality; options left out stay as they are, each wrong value is named, nothing is changed
/// (or audited) when one is wrong.
#[test]
fn intake_contacts_are_set_per_municipality() {
    for kind in [Db::Sqlite, Db::Postgres] {
        let db = TestDatabase::create(kind);
        assert!(
            samordna(&db.url, &["municipality", "add", "--name", "Ekby"], &[])
                .status
                .success()
        );
        let set = |args: &[&str]| {
            let mut all = vec!["municipality", "set", "--name", "Ekby"];
            all.extend_from_slice(args);
            samordna(&db.url, &all, &[])
        };
        let out = set(&[
            "--office-hours",
            "7:30-16:00",
            "--socialjour-phone",
            "010-222 33 44",
            "--socialjour-alert-email",
            "jour@ekby.se",
            "--intake-alert-email",
            "mottagningen@ekby.se",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let printed = stdout(&out);
        for shown in [
            "07:30-16:00",
            "010-222 33 44",
            "jour@ekby.se",
            "mottagningen@ekby.se",
        ] {
            assert!(printed.contains(shown), "{printed}");
        }
        // One option: the others stay; "default" goes back to SAMORDNA_OFFICE_HOURS.
        let out = set(&["--office-hours", "default"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("(default, SAMORDNA_OFFICE_HOURS)"));
        assert!(stdout(&out).contains("jour@ekby.se"));
        // Wrong values are named, and change nothing.
        let out = set(&[
            "--office-hours",
            "9-5",
            "--socialjour-alert-email",
            "jour.ekby.se",
            "--socialjour-phone",
            "",
        ]);
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        assert!(
            err.contains("office_hours:") && err.contains("socialjour_alert_email:"),
            "{err}"
        );
        assert!(
            !err.contains("socialjour_phone"),
            "an empty number clears it: {err}"
        );
        let out = set(&[]);
        assert_eq!(out.status.code(), Some(1), "nothing to set");
        let out = samordna(
            &db.url,
            &[
                "municipality",
                "set",
                "--name",
                "Okänd",
                "--socialjour-phone",
                "1",
            ],
            &[],
        );
        assert!(!out.status.success() && stderr(&out).contains("Okänd"));

        use diesel::prelude::*;
        use samordna::db::schema::{audit_log, municipalities};
        let mut conn = samordna::db::connect(&db.url, 1).unwrap().get().unwrap();
        let row: (Option<String>, String, String, String) = municipalities::table
            .select((
                municipalities::office_hours,
                municipalities::socialjour_phone,
                municipalities::socialjour_alert_email,
                municipalities::intake_alert_email,
            ))
            .first(&mut conn)
            .unwrap();
        assert_eq!(
            row,
            (
                None,
                "010-222 33 44".into(),
                "jour@ekby.se".into(),
                "mottagningen@ekby.se".into()
            ),
            "{kind:?}"
        );
        let audited: i64 = audit_log::table
            .filter(audit_log::action.eq("municipality.intake_contacts"))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(audited, 2, "the two changes, not the refusals");
    }
}

/// A name an organisation of another municipality has is added only when confirmed, as in the
/// admin's form (issue 15 item 8); nothing is added or audited without the confirmation.
#[test]
fn a_name_used_in_another_municipality_needs_confirming_on_the_command_line() {
    for kind in [Db::Sqlite, Db::Postgres] {
        let db = TestDatabase::create(kind);
        for name in ["Ekby", "Åby"] {
            let out = samordna(&db.url, &["municipality", "add", "--name", name], &[]);
            assert!(out.status.success(), "{}", stderr(&out));
        }
        let add = |name: &str, municipality: &str, confirm: bool| {
            let mut args = vec![
                "org",
                "add",
                "--name",
                name,
                "--kind",
                "skola",
                "--principal",
                "kommun",
                "--municipality",
                municipality,
            ];
            if confirm {
                args.push("--confirm-duplicate-name");
            }
            samordna(&db.url, &args, &[])
        };
        assert!(add("Centralskolan", "Ekby", false).status.success());
        let out = add("centralskolan ", "Åby", false);
        assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
        let err = stderr(&out);
        assert!(err.contains("--confirm-duplicate-name"), "{err}");
        assert!(err.contains("Ekby"), "{err}");
        assert_eq!(
            stdout(&samordna(&db.url, &["audit", "verify"], &[])),
            "Audit trail intact: 3 entries, every link checked.\n",
            "nothing added or audited"
        );
        let out = add("Centralskolan", "Åby", true);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(
            stdout(&samordna(&db.url, &["audit", "verify"], &[])),
            "Audit trail intact: 4 entries, every link checked.\n"
        );
    }
}
