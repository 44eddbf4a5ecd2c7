use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use samordna::accounts::Role;
use samordna::audit::{self, Entry, Verdict};
use samordna::crypto::AuditKey;
use samordna::db::schema::{audit_head, audit_log};
use samordna::db::AnyConnection;

use crate::helpers::{outcome, test_settings, Db, TestApp};
use crate::{on_both_databases, on_both_kinds};

/// `samordna audit …` against the test database: exit code, standard output and error.
fn audit_cli(app: &TestApp, args: &[&str]) -> (i32, String, String) {
    audit_cli_with(app, args, &[])
}

/// [`audit_cli`] with more settings in its environment.
fn audit_cli_with(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = app.samordna(&["audit"]);
    command.args(args).envs(env.iter().copied());
    let (code, out, err) = outcome(&command.output().expect("run samordna"));
    (code.unwrap_or(-1), out, err)
}

/// `samordna audit verify` against the test database: exit code and output.
fn verify_cli(app: &TestApp) -> (i32, String) {
    let (code, out, _) = audit_cli(app, &["verify"]);
    (code, out)
}

/// The detail of the one audit entry with `action`.
async fn detail_of(app: &TestApp, action: &'static str) -> String {
    app.conn(move |c| {
        audit_log::table
            .filter(audit_log::action.eq(action))
            .select(audit_log::detail)
            .get_result(c)
            .unwrap()
    })
    .await
}

fn drop_guard(conn: &mut AnyConnection) {
    // What an attacker with database rights would do first: remove the append-only trigger.
    match conn {
        AnyConnection::Postgresql(_) => conn
            .batch_execute("DROP TRIGGER audit_log_no_change ON audit_log")
            .unwrap(),
        AnyConnection::Sqlite(_) => conn
            .batch_execute("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")
            .unwrap(),
    }
}

async fn the_trail_is_append_only_and_tampering_is_detected(app: TestApp) {
    six_entries(&app).await;
    assert_eq!(
        verify_cli(&app),
        (
            0,
            "Audit trail intact: 6 entries, every link checked.\n".into()
        )
    );

    // The database itself refuses changes and removals.
    let refused = app
        .conn(|c| {
            let update = diesel::update(audit_log::table.find(2))
                .set(audit_log::detail.eq("x"))
                .execute(c)
                .is_err();
            let delete = diesel::delete(audit_log::table.find(2)).execute(c).is_err();
            update && delete
        })
        .await;
    assert!(refused, "audit_log must be append-only");

    // Past the trigger, an altered row is found...
    app.conn(|c| {
        drop_guard(c);
        diesel::update(audit_log::table.find(3))
            .set(audit_log::outcome.eq("failure"))
            .execute(c)
            .unwrap();
    })
    .await;
    let (code, out) = verify_cli(&app);
    assert_eq!(code, 1);
    assert_eq!(out, "AUDIT TRAIL BROKEN at entry 3: has been altered.\n");
    app.conn(|c| {
        diesel::update(audit_log::table.find(3))
            .set(audit_log::outcome.eq("success"))
            .execute(c)
            .unwrap()
    })
    .await;
    assert_eq!(verify_cli(&app).0, 0, "restored row verifies again");

    // ...so is a removed one in the middle...
    let saved: audit::Entry = app
        .conn(|c| {
            audit_log::table
                .find(4)
                .select(audit::Entry::as_select())
                .first(c)
                .unwrap()
        })
        .await;
    app.conn(|c| diesel::delete(audit_log::table.find(4)).execute(c).unwrap())
        .await;
    assert_eq!(
        app.conn(|c| audit::verify(c).unwrap()).await,
        Verdict::Broken {
            seq: 4,
            problem: "entry 4 is missing (next present is 5)".into()
        }
    );
    app.conn(move |c| {
        diesel::insert_into(audit_log::table)
            .values(&saved)
            .execute(c)
            .unwrap()
    })
    .await;

    // ...and one cut off the end.
    app.conn(|c| diesel::delete(audit_log::table.find(6)).execute(c).unwrap())
        .await;
    let (code, out) = verify_cli(&app);
    assert_eq!(code, 1);
    assert!(
        out.contains("the trail ends at entry 5 but 6 were written"),
        "{out}"
    );
}

/// An entry belongs to the municipality whose data it is about, whoever acted: a teacher of
/// Grannby who files into Testkommun, and an officer of Grannby refused Testkommun's report, are
/// on Testkommun's audit page, not on Grannby's.
async fn entries_belong_to_the_municipality_whose_data_they_are_about(app: TestApp) {
    let admin_here = app.add_user("socialtjanst", &[Role::Admin]).await;
    let admin_there = app
        .add_user_in("Grannby", "socialtjanst", &[Role::Admin])
        .await;
    let teacher = app.add_user_in("Grannby", "skola", &[Role::Reporter]).await;
    let officer_there = app
        .add_user_in("Grannby", "socialtjanst", &[Role::Intake])
        .await;
    let testkommun = app.municipality_id("Testkommun").await;
    let token = app.token_for(&teacher).await;
    let (_, filed) = app
        .as_user(&token)
        .in_browser()
        .post(
            "/api/v1/reports",
            crate::helpers::report_body(&testkommun, "grannby"),
        )
        .await;
    let report = filed["id"].as_str().expect("filed").to_string();
    let read = |token: String| {
        let (client, url) = (
            app.client.clone(),
            app.url(&format!("/api/v1/reports/{report}")),
        );
        async move {
            let response = client.get(url).bearer_auth(token).send().await.unwrap();
            response.status().as_u16()
        }
    };
    assert_eq!(
        read(token.clone()).await,
        200,
        "the outcome, for the teacher"
    );
    assert_eq!(read(app.token_for(&officer_there).await).await, 404);

    let id = report.clone();
    let entries: Vec<(String, String, Option<String>)> = app
        .conn(move |conn| {
            audit_log::table
                .filter(audit_log::object_id.eq(id))
                .select((
                    audit_log::action,
                    audit_log::outcome,
                    audit_log::municipality_id,
                ))
                .load(conn)
                .unwrap()
        })
        .await;
    let here = Some(testkommun.clone());
    assert_eq!(
        entries,
        [
            (
                "report.create".to_string(),
                "success".to_string(),
                here.clone()
            ),
            ("report.view".to_string(), "denied".to_string(), here),
        ]
    );
    let path = format!("/admin/audit?object_id={report}");
    let (here, there) = (app.fresh_browser(), app.fresh_browser());
    here.login(&admin_here).await;
    there.login(&admin_there).await;
    let here = here.page(&path).await;
    assert!(here.contains(&teacher.email) && here.contains(&officer_there.email));
    assert!(here.contains("Nekat"));
    let there = there.page(&path).await;
    assert!(!there.contains(&teacher.email) && !there.contains(&officer_there.email));
}

/// Reads that are audited, sent in parallel, all succeed: each entry is written after the trail's
/// head is taken (on SQLite a transaction that reads first cannot wait for another writer).
async fn audited_reads_in_parallel_all_succeed(app: TestApp) {
    let officer = app.add_user("socialtjanst", &[Role::Intake]).await;
    let token = app.token_for(&officer).await;
    let mut readers = Vec::new();
    for _ in 0..6 {
        let (client, url, token) = (
            reqwest::Client::new(),
            app.url("/api/v1/intake"),
            token.clone(),
        );
        readers.push(actix_web::rt::spawn(async move {
            let mut statuses = Vec::new();
            for _ in 0..25 {
                let response = client.get(&url).bearer_auth(&token).send().await.unwrap();
                statuses.push(response.status().as_u16());
            }
            statuses
        }));
    }
    let mut statuses = Vec::new();
    for reader in readers {
        statuses.extend(reader.await.unwrap());
    }
    assert_eq!(statuses, vec![200; 150]);
    let verdict = app.conn(|conn| audit::verify(conn).unwrap()).await;
    assert!(matches!(verdict, Verdict::Intact { .. }), "{verdict:?}");
}

/// Points the chain from entry `from` on at `hash` and the head at its end: what someone who can
/// write to the database does after changing an entry, so that every link still holds.
fn rechain_from(conn: &mut AnyConnection, from: i64, hash: impl Fn(&Entry) -> String) {
    let entries: Vec<Entry> = audit_log::table
        .filter(audit_log::seq.ge(from - 1))
        .order(audit_log::seq)
        .select(Entry::as_select())
        .load(conn)
        .unwrap();
    let mut prev = String::new();
    for mut entry in entries {
        if entry.seq >= from {
            entry.prev_hash = prev;
            entry.hash = hash(&entry);
            diesel::update(audit_log::table.find(entry.seq))
                .set((
                    audit_log::prev_hash.eq(&entry.prev_hash),
                    audit_log::hash.eq(&entry.hash),
                ))
                .execute(conn)
                .unwrap();
        }
        prev = entry.hash;
    }
    diesel::update(audit_head::table.find(1))
        .set(audit_head::last_hash.eq(prev))
        .execute(conn)
        .unwrap();
}

/// Six entries: three users added, each signed in once.
async fn six_entries(app: &TestApp) {
    for _ in 0..3 {
        let user = app.add_user("skola", &[Role::Reporter]).await;
        app.fresh_browser().login(&user).await;
    }
    assert_eq!(
        app.conn(|c| audit::verify(c).unwrap()).await,
        Verdict::Intact { entries: 6 }
    );
}

/// Someone who can write to the database but does not hold the audit key changes an entry and
/// computes every later link again, with plain SHA-256 as the chain was before, or under a key
/// of their own: the trail is found broken at the changed entry.
async fn rewriting_the_trail_without_the_key_is_detected(app: TestApp) {
    six_entries(&app).await;
    let altered = Verdict::Broken {
        seq: 3,
        problem: "has been altered".into(),
    };
    app.conn(|c| {
        drop_guard(c);
        diesel::update(audit_log::table.find(3))
            .set(audit_log::outcome.eq("failure"))
            .execute(c)
            .unwrap();
        rechain_from(c, 3, Entry::plain_hash);
    })
    .await;
    assert_eq!(app.conn(|c| audit::verify(c).unwrap()).await, altered);
    assert_eq!(
        verify_cli(&app),
        (
            1,
            "AUDIT TRAIL BROKEN at entry 3: has been altered.\n".into()
        )
    );

    let made_up = AuditKey::derived(b"a key the attacker made up, not the service's");
    app.conn(move |c| rechain_from(c, 3, |e| e.keyed_hash(&made_up)))
        .await;
    assert_eq!(app.conn(|c| audit::verify(c).unwrap()).await, altered);
    assert_eq!(verify_cli(&app).0, 1);

    // The key is what they lack: with it, the same rewrite passes (docs/security.md says so).
    let key = app.state.settings.audit_key.clone();
    app.conn(move |c| rechain_from(c, 3, |e| e.keyed_hash(&key)))
        .await;
    assert_eq!(
        app.conn(|c| audit::verify(c).unwrap()).await,
        Verdict::Intact { entries: 6 }
    );
}

/// `audit head` prints an anchor; `audit verify --anchor` finds the newest entries cut off and
/// the head rewound, which the chain alone cannot show.
async fn an_anchor_finds_a_cut_off_tail(app: TestApp) {
    six_entries(&app).await;
    let (code, out, _) = audit_cli(&app, &["head"]);
    assert_eq!(code, 0);
    let (seq, hash) = out.strip_suffix('\n').unwrap().split_once(':').unwrap();
    assert_eq!(seq, "6");
    assert!(
        hash.len() == 64
            && hash
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "{out}"
    );
    let anchor = out.trim().to_string();
    let hashes: Vec<String> = app
        .conn(|c| {
            audit_log::table
                .order(audit_log::seq)
                .select(audit_log::hash)
                .load(c)
                .unwrap()
        })
        .await;
    assert_eq!(hash, hashes[5]);
    assert_eq!(
        audit_cli(&app, &["verify", "--anchor", &anchor]),
        (
            0,
            "Audit trail intact: 6 entries, every link checked; entry 6 matches the anchor.\n"
                .into(),
            String::new()
        )
    );
    let earlier = format!("3:{}", hashes[2].to_uppercase());
    assert_eq!(audit_cli(&app, &["verify", "--anchor", &earlier]).0, 0);

    // Entries 5 and 6 removed and the head rewound to entry 4: every link that is left holds.
    let fourth = hashes[3].clone();
    app.conn(move |c| {
        drop_guard(c);
        diesel::delete(audit_log::table.filter(audit_log::seq.ge(5)))
            .execute(c)
            .unwrap();
        diesel::update(audit_head::table.find(1))
            .set((audit_head::last_seq.eq(4), audit_head::last_hash.eq(fourth)))
            .execute(c)
            .unwrap();
    })
    .await;
    // Without an anchor this cannot be told from a trail of four entries.
    assert_eq!(
        verify_cli(&app),
        (
            0,
            "Audit trail intact: 4 entries, every link checked.\n".into()
        )
    );
    assert_eq!(
        audit_cli(&app, &["verify", "--anchor", &anchor]),
        (
            1,
            "AUDIT TRAIL BROKEN at entry 5: the trail ends at entry 4, before the anchor's entry 6.\n"
                .into(),
            String::new()
        )
    );
    let (code, out, _) = audit_cli(
        &app,
        &["verify", "--anchor", &format!("4:{}", "0".repeat(64))],
    );
    assert_eq!(
        (code, out.as_str()),
        (
            1,
            "AUDIT TRAIL BROKEN at entry 4: does not match the anchor.\n"
        )
    );

    for bad in [
        "6".to_string(),
        format!("x:{}", "0".repeat(64)),
        format!("0:{}", "0".repeat(64)),
        format!("6:{}", "0".repeat(63)),
        format!("6:{}", "g".repeat(64)),
    ] {
        let (code, out, err) = audit_cli(&app, &["verify", "--anchor", &bad]);
        assert_eq!(code, 2, "{bad}: {out}{err}");
        assert!(out.is_empty() && err.contains("SEQ:HASH"), "{bad}: {err}");
    }
}

/// The service logs the head every `SAMORDNA_AUDIT_HEAD_SECONDS`: an entry number and a hash,
/// nothing that names anyone.
async fn the_head_is_logged_at_an_interval(kind: Db) {
    let app = TestApp::spawn_with(kind, &[("SAMORDNA_AUDIT_HEAD_SECONDS", "1")], true).await;
    let user = app.add_user("skola", &[Role::Reporter]).await;
    app.fresh_browser().login(&user).await;
    let head = app
        .conn(|c| audit::head(c).unwrap().expect("entries"))
        .await;
    let log = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("target/test-logs/api-{}.log", std::process::id()));
    let mut found = None;
    for _ in 0..50 {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        found = text
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .find(|line| line["fields"]["hash"] == head.hash.as_str());
        if found.is_some() {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let line = found.expect("the head is logged within five seconds");
    let fields = line["fields"].as_object().unwrap();
    let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, ["hash", "message", "seq"], "{line}");
    assert_eq!(fields["seq"], head.seq);
    assert!(
        line.get("span").is_none() && line.get("spans").is_none(),
        "{line}"
    );
    let text = line.to_string();
    for identifying in [&user.email, &user.user_id] {
        assert!(!text.contains(identifying.as_str()), "{text}");
    }
}

/// Makes the trail what a database written before the chain was keyed holds: plain SHA-256
/// links and no marker. The append-only triggers are lifted for it and put back.
fn as_before_keying(conn: &mut AnyConnection) {
    let guard = audit::lift_guard(conn).unwrap();
    rechain_from(conn, 1, Entry::plain_hash);
    diesel::update(audit_head::table.find(1))
        .set(audit_head::keyed.eq(false))
        .execute(conn)
        .unwrap();
    audit::restore_guard(conn, guard).unwrap();
}

fn hashes(conn: &mut AnyConnection) -> Vec<(i64, String, String)> {
    audit_log::table
        .order(audit_log::seq)
        .select((audit_log::seq, audit_log::prev_hash, audit_log::hash))
        .load(conn)
        .unwrap()
}

/// `audit verify` and `audit head` only read: on a trail that is not yet keyed they say so and
/// change nothing. Whoever can write to the database can still clear the marker so that the next
/// start re-chains a trail they rewrote; an anchor taken before catches that.
async fn verify_never_rechains_and_an_earlier_anchor_catches_a_rechain(app: TestApp) {
    six_entries(&app).await;
    let (code, anchor, _) = audit_cli(&app, &["head"]);
    assert_eq!(code, 0);
    let anchor = anchor.trim().to_string();

    // The rewrite: entry 2 changed, the plain chain computed again, the marker cleared.
    app.conn(|c| {
        as_before_keying(c);
        let guard = audit::lift_guard(c).unwrap();
        diesel::update(audit_log::table.find(2))
            .set(audit_log::detail.eq("rewritten"))
            .execute(c)
            .unwrap();
        rechain_from(c, 2, Entry::plain_hash);
        audit::restore_guard(c, guard).unwrap();
    })
    .await;
    let before = app.conn(hashes).await;
    let (code, out) = verify_cli(&app);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not yet chained"), "{out}");
    assert!(out.contains("samordna migrate"), "{out}");
    let (code, _, err) = audit_cli(&app, &["head"]);
    assert_eq!(code, 1);
    assert!(err.contains("not yet chained"), "{err}");
    assert_eq!(
        app.conn(hashes).await,
        before,
        "verify and head change nothing"
    );
    assert_eq!(
        app.conn(|c| audit::verify(c).unwrap()).await,
        Verdict::NotYetKeyed { entries: 6 }
    );

    // The next start re-chains what it finds; the anchor taken before no longer matches.
    let settings = test_settings(&app.db.url, 0, &app.smtp, &[]);
    samordna::startup::prepare(&settings).expect("start-up succeeds");
    let (code, out, _) = audit_cli(&app, &["verify", "--anchor", &anchor]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("does not match the anchor"), "{out}");
}

/// A trail written before the chain was keyed is re-chained at the next start, once, even when
/// two instances start at the same moment; the re-chaining is an entry of its own, and the trail
/// verifies under the key afterwards and stays append-only.
async fn an_older_trail_is_rechained_once_and_that_is_recorded(app: TestApp) {
    six_entries(&app).await;
    app.conn(as_before_keying).await;
    assert_eq!(
        app.conn(|c| audit::verify(c).unwrap()).await,
        Verdict::NotYetKeyed { entries: 6 },
        "plain SHA-256 links are not checked under the key"
    );

    let start_twice = |app: &TestApp| {
        let starts: Vec<_> = (0..2)
            .map(|_| {
                let settings = test_settings(&app.db.url, 0, &app.smtp, &[]);
                std::thread::spawn(move || samordna::startup::prepare(&settings).map(|_| ()))
            })
            .collect();
        for start in starts {
            start.join().unwrap().expect("start-up succeeds");
        }
    };
    start_twice(&app);
    assert_eq!(
        app.conn(|c| audit::verify(c).unwrap()).await,
        Verdict::Intact { entries: 7 }
    );
    let rechained: Vec<(i64, String, String)> = app
        .conn(|c| {
            audit_log::table
                .filter(audit_log::action.eq("audit.rechain"))
                .select((audit_log::seq, audit_log::actor_label, audit_log::detail))
                .load(c)
                .unwrap()
        })
        .await;
    assert_eq!(
        rechained,
        [(7, "systemet".into(), "entries=6 old_chain=intact".into())]
    );
    let (keyed, refused) = app
        .conn(|c| {
            let keyed: bool = audit_head::table
                .find(1)
                .select(audit_head::keyed)
                .get_result(c)
                .unwrap();
            let refused = diesel::update(audit_log::table.find(2))
                .set(audit_log::detail.eq("x"))
                .execute(c)
                .is_err();
            (keyed, refused)
        })
        .await;
    assert!(keyed, "the marker is set");
    assert!(refused, "the trail is append-only again");

    start_twice(&app);
    assert_eq!(
        app.conn(|c| audit::verify(c).unwrap()).await,
        Verdict::Intact { entries: 7 },
        "a later start changes nothing"
    );
}

/// An older trail that was already broken is re-chained all the same (the service must start),
/// and the re-chaining entry says where the old chain broke.
async fn rechaining_a_broken_older_trail_says_where_it_broke(app: TestApp) {
    six_entries(&app).await;
    app.conn(|c| {
        as_before_keying(c);
        drop_guard(c);
        diesel::update(audit_log::table.find(2))
            .set(audit_log::detail.eq("changed"))
            .execute(c)
            .unwrap();
    })
    .await;
    let settings = test_settings(&app.db.url, 0, &app.smtp, &[]);
    samordna::startup::prepare(&settings).expect("start-up succeeds");
    let detail = detail_of(&app, "audit.rechain").await;
    assert_eq!(detail, "entries=6 old_chain=broken_at=2");
}

/// `samordna audit rekey` moves the trail from the key derived from the secret key to a
/// configured one: afterwards it verifies under the new key only, and the move is an entry.
async fn the_trail_moves_to_a_new_key(app: TestApp) {
    six_entries(&app).await;
    let new_key = "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=";
    let with_key = |args: &[&str], old: Option<&str>| {
        let mut env = vec![("SAMORDNA_AUDIT_KEY", new_key)];
        env.extend(old.map(|old| ("SAMORDNA_OLD_AUDIT_KEY", old)));
        let (code, out, _) = audit_cli_with(&app, args, &env);
        (code, out)
    };
    assert_eq!(
        with_key(&["verify"], None),
        (
            1,
            "AUDIT TRAIL BROKEN at entry 1: has been altered.\n".into()
        ),
        "the new key does not verify the old chain"
    );
    assert_eq!(
        with_key(&["rekey"], Some(new_key)).0,
        1,
        "old key = new key"
    );
    assert_eq!(
        with_key(&["rekey"], Some("derived")),
        (
            0,
            "Re-chained 6 entries under SAMORDNA_AUDIT_KEY; every link held under the old key.\n"
                .into()
        )
    );
    assert_eq!(
        with_key(&["verify"], None),
        (
            0,
            "Audit trail intact: 7 entries, every link checked.\n".into()
        )
    );
    assert_eq!(verify_cli(&app).0, 1, "the old key no longer verifies it");
    let detail = detail_of(&app, "audit.rekey").await;
    assert_eq!(detail, "entries=6 old_chain=intact");
}

/// A filing's statements: no `LIMIT` bound as a parameter (SQLite compiles such a statement again
/// at every bind), one statement per table, and the audit head taken last, right before the
/// commit, so that its lock, which every filing waits for, is held for as little as possible.
async fn filing_takes_the_audit_head_last_and_binds_no_limit(app: TestApp) {
    use diesel::connection::{Instrumentation, InstrumentationEvent};
    use std::sync::{Arc, Mutex};
    let teacher = app.add_user("skola", &[Role::Reporter]).await;
    let token = app.token_for(&teacher).await;
    let municipality = app.municipality_id("Testkommun").await;
    let settings = app.state.settings.clone();
    let (lookups, filing) = app
        .conn(move |conn| {
            let log = Arc::new(Mutex::new(Vec::<String>::new()));
            let sink = log.clone();
            conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
                let line = match event {
                    InstrumentationEvent::StartQuery { query, .. } => query.to_string(),
                    InstrumentationEvent::CommitTransaction { .. } => "COMMIT".into(),
                    _ => return,
                };
                sink.lock().unwrap().push(line);
            });
            let token = samordna::accounts::tokens::resolve(conn, &token)
                .unwrap()
                .unwrap();
            let user = samordna::accounts::load_auth_user(conn, token.user_id.as_ref().unwrap())
                .unwrap()
                .unwrap();
            let lookups = std::mem::take(&mut *log.lock().unwrap());
            let input =
                serde_json::from_value(crate::helpers::report_body(&municipality, "x")).unwrap();
            samordna::reports::file_report(
                conn,
                &settings,
                Some(&samordna::authz::Actor::User(user)),
                &input,
                Vec::new(),
                || true,
            )
            .unwrap();
            conn.set_instrumentation(None::<Box<dyn Instrumentation>>);
            let filing = std::mem::take(&mut *log.lock().unwrap());
            (lookups, filing)
        })
        .await;
    for statement in lookups.iter().chain(&filing) {
        assert!(
            !statement.to_uppercase().contains("LIMIT"),
            "a LIMIT bound per call: {statement}"
        );
    }
    let commit = filing.iter().position(|s| s == "COMMIT").expect("commits");
    let head = filing
        .iter()
        .position(|s| s.contains("audit_head"))
        .expect("takes the head");
    let held = &filing[head..commit];
    assert!(
        held.iter()
            .all(|s| s.contains("audit_log") || s.contains("audit_head")),
        "only the audit entry is written while the head is held: {held:#?}"
    );
    let most = if app.db.url.starts_with("postgres") {
        2
    } else {
        3
    };
    assert!(held.len() <= most, "{held:#?}");
    if app.db.url.starts_with("postgres") {
        // Municipality, reference, report, reporter, children, guardians, queue place, the
        // municipality's webhook endpoints (none here, so no delivery to insert), the statistics'
        // roll-up (one upsert), then the two audit statements: one round trip each.
        let statements = filing[..commit]
            .iter()
            .filter(|s| !s.starts_with("BEGIN"))
            .count();
        assert!(statements <= 11, "{statements} statements: {filing:#?}");
    }
}

on_both_kinds!(the_head_is_logged_at_an_interval);

on_both_databases!(
    verify_never_rechains_and_an_earlier_anchor_catches_a_rechain,
    rewriting_the_trail_without_the_key_is_detected,
    an_anchor_finds_a_cut_off_tail,
    an_older_trail_is_rechained_once_and_that_is_recorded,
    rechaining_a_broken_older_trail_says_where_it_broke,
    the_trail_moves_to_a_new_key,
    filing_takes_the_audit_head_last_and_binds_no_limit,
    audited_reads_in_parallel_all_succeed,
    the_trail_is_append_only_and_tampering_is_detected,
    entries_belong_to_the_municipality_whose_data_they_are_about,
);

#[actix_web::test]
async fn entries_are_numbered_without_gaps_under_concurrent_writers() {
    let app = TestApp::spawn(Db::Postgres).await;
    let mut handles = Vec::new();
    for i in 0..8 {
        let pool = app.state.pool.clone();
        handles.push(std::thread::spawn(move || {
            let mut conn = pool.get().unwrap();
            for j in 0..25 {
                let actor = audit::AuditActor::system();
                let id = format!("{i}-{j}");
                audit::Event::success(&actor, "test.write", audit::Object::Table(&id))
                    .record(&mut conn)
                    .unwrap();
            }
        }));
    }
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(
        app.conn(|c| audit::verify(c).unwrap()).await,
        Verdict::Intact { entries: 200 }
    );
}
