//! A signed journal entry is never changed (issue 19 §1), on both databases: not by any route —
//! the API's signing and corrections, methods no route takes, the page's sign and correction
//! forms — nor by a database write through the app's own store: `journal::store::sign` (the only
//! write an entry ever gets) is called directly, as its author and as someone else, and its guard
//! (`WHERE signed_at IS NULL AND author_id = …`) holds. The stored row is compared column by
//! column before and after.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use samordna::accounts::{load_auth_user, UserId};
use samordna::db::schema::journal_entries;
use samordna::error::AppError;
use samordna::journal::store::{self, EntryId};
use serde_json::json;

use crate::helpers::TestApp;
use crate::journal::{case, entry};
use crate::on_both_databases;

type Row = (
    String,
    String,
    String,
    NaiveDateTime,
    NaiveDateTime,
    Option<NaiveDateTime>,
    String,
    Option<String>,
    bool,
);

/// The stored row of an entry, as stored (sealed columns as ciphertext).
async fn stored(app: &TestApp, id: &str) -> Row {
    let id = id.to_string();
    app.conn(move |conn| {
        journal_entries::table
            .find(id)
            .select((
                journal_entries::kind,
                journal_entries::participants,
                journal_entries::text,
                journal_entries::happened_at,
                journal_entries::written_at,
                journal_entries::signed_at,
                journal_entries::author_id,
                journal_entries::corrects_id,
                journal_entries::after_closing,
            ))
            .get_result(conn)
            .unwrap()
    })
    .await
}

/// Calls the store's signing directly as `user_id`, as the app does after its access checks.
async fn sign_in_store(app: &TestApp, user_id: &str, id: &str) -> Result<(), AppError> {
    let keys = app.state.settings.keys.clone();
    let (user_id, id) = (UserId(user_id.to_string()), EntryId(id.to_string()));
    app.conn(move |conn| {
        let user = load_auth_user(conn, &user_id).unwrap().unwrap();
        store::sign(conn, &keys, &user, &id).map(|_| ())
    })
    .await
}

async fn a_signed_entry_is_changed_by_no_route_nor_the_store(app: TestApp) {
    let c = case(&app, true).await;
    let inv = c.investigation.clone().unwrap();
    let (status, written) = app
        .as_user(&c.caseworker)
        .post(
            &format!("/api/v1/investigations/{inv}/journal"),
            entry("hembesok", "Hembesök: rent och ordnat."),
        )
        .await;
    assert_eq!(status, 201, "{written}");
    let id = written["id"].as_str().unwrap().to_string();
    let author = c.caseworker_login.user_id.clone();
    let other = c.intake_login.user_id.clone();

    // The store's guard on a draft: someone else's signing changes nothing, the author's signs.
    let draft = stored(&app, &id).await;
    let refused = sign_in_store(&app, &other, &id).await;
    assert!(matches!(refused, Err(AppError::Conflict(_))), "{refused:?}");
    assert_eq!(stored(&app, &id).await, draft, "not signed by another user");
    sign_in_store(&app, &author, &id).await.unwrap();
    let signed = stored(&app, &id).await;
    assert!(signed.5.is_some(), "signed by its author");
    assert_eq!(
        (&signed.0, &signed.1, &signed.2, signed.3),
        (&draft.0, &draft.1, &draft.2, draft.3),
        "signing changes nothing but signed_at"
    );

    // The store again, on the signed entry: refused for the author and for anyone else.
    for user in [&author, &other] {
        let again = sign_in_store(&app, user, &id).await;
        match again {
            Err(AppError::Conflict(message)) => assert!(message.contains("redan signerad")),
            other => panic!("signing a signed entry in the store: {other:?}"),
        }
    }

    // Every route: signing again (API and page) is refused; methods no route takes change
    // nothing; a correction is a new entry.
    let (status, _) = app
        .as_user(&c.caseworker)
        .post(&format!("/api/v1/journal/{id}/sign"), json!({}))
        .await;
    assert_eq!(status, 409);
    for path in [
        format!("/api/v1/journal/{id}"),
        format!("/api/v1/journal/{id}/sign"),
        format!("/api/v1/journal/{id}/corrections"),
    ] {
        for method in ["PUT", "PATCH", "DELETE"] {
            let status = app
                .as_user(&c.caseworker)
                .request(method.parse().unwrap(), &path)
                .json(&entry("annat", "Ändrad text."))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
            assert!(status == 404 || status == 405, "{method} {path}: {status}");
        }
    }
    app.login(&c.caseworker_login).await;
    let page = format!("/utredningar/{inv}/journal");
    let response = app
        .submit(&page, &format!("/journal/{id}/signera"), &[])
        .await;
    assert_eq!(response.status(), 409);
    for method in ["PUT", "PATCH", "DELETE"] {
        let status = app
            .client
            .request(
                method.parse().unwrap(),
                app.url(&format!("/journal/{id}/signera")),
            )
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        assert_eq!(status, 405, "{method}");
    }
    let response = app
        .submit(
            &page,
            &format!("/journal/{id}/rattelse"),
            &[
                ("kind", "hembesok"),
                ("happened_at", "2026-11-30 10:15"),
                ("text", "Rättelse: köket var stökigt."),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (status, _) = app
        .as_user(&c.caseworker)
        .post(
            &format!("/api/v1/journal/{id}/corrections"),
            entry("hembesok", "Rättelse två."),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        stored(&app, &id).await,
        signed,
        "the signed row, column by column"
    );
    let count: i64 = app
        .conn(|conn| journal_entries::table.count().get_result(conn).unwrap())
        .await;
    assert_eq!(count, 3, "the corrections are new entries");
}

on_both_databases!(a_signed_entry_is_changed_by_no_route_nor_the_store);
