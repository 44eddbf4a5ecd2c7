//! A partner's access rests on consent, checked when the request is made: the moment a consent
//! runs out or is withdrawn, the answer link, the partner's pages, the plan, the calendar feed and
//! calendar replies refuse, without waiting for the background pass that takes partners off their meetings.
//! These instances run with that pass off, so what refuses is the request's own check.

use diesel::prelude::*;
use samordna::db::schema::{consents, participants};
use serde_json::json;

use crate::helpers::{
    fixture, inbound, shown_once, Db, SipWithPartner, TestApp, BACKGROUND_PASS_OFF,
};

const CHILD: &str = "Alva Samtyckesdotter";

/// How a consent stops being valid.
#[derive(Clone, Copy)]
enum Ending {
    /// Its last day was yesterday.
    Expired,
    /// Withdrawn (recorded directly, as the withdrawal's own clean-up is not what is tested).
    Withdrawn,
}

async fn partner_refused_at_once(kind: Db, ending: Ending) {
    let app = TestApp::spawn_with(kind, &[BACKGROUND_PASS_OFF], true).await;
    let SipWithPartner {
        cw,
        sip: sip_id,
        base,
        consent,
        partner: teacher,
        school,
        ..
    } = app.sip_with_partner(CHILD).await;
    let day = (samordna::db::now() + chrono::Duration::days(8)).date();
    let meeting = app
        .book_meeting(
            &cw,
            &base,
            json!({"starts_at": format!("{day}T10:00"), "minutes": 60, "place": "Rum 1"}),
        )
        .await;
    let uid = format!("UID:{}", meeting["uid"].as_str().unwrap());
    let integration = app.integration_token(&school).await;
    let reply = fixture("gmail", meeting["uid"].as_str().unwrap(), 0, &teacher.email);

    // While consent covers the school: the teacher's pages, answer link, plan and feed work.
    let partner = app.fresh_browser();
    partner.login(&teacher).await;
    let mine = partner.page("/mina-moten").await;
    assert!(mine.contains(CHILD), "{mine}");
    let at = mine.find("/svar/").expect("an answer link");
    let answer = mine[at..at + mine[at..].find('"').unwrap()].to_string();
    let plan = format!("/mina-moten/{sip_id}/plan");
    let status = |path: String| {
        let client = partner.client.clone();
        let url = app.url(&path);
        async move { client.get(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status(answer.clone()).await, 200);
    let token = partner.csrf("/mina-moten").await;
    let posted = partner
        .client
        .post(app.url(&answer))
        .form(&[("csrf_token", token.as_str()), ("answer", "tentative")])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status().as_u16(), 200, "answering by the link");
    assert_eq!(status(plan.clone()).await, 200);
    let response = partner.submit("/profil", "/profil/kalender", &[]).await;
    let address = shown_once(&response.text().await.unwrap());
    let feed = address[address.find("/calendar/").unwrap()..].to_string();
    let feed_text = |path: String| {
        let url = app.url(&path);
        async move { reqwest::get(url).await.unwrap().text().await.unwrap() }
    };
    assert!(feed_text(feed.clone()).await.contains(&uid));

    // The consent ends; nothing else happens (the background pass is off).
    let id = consent["id"].as_str().unwrap().to_string();
    let today = samordna::time::local(samordna::db::now()).date();
    app.conn(move |c| {
        let row = consents::table.find(id);
        match ending {
            Ending::Expired => diesel::update(row)
                .set((
                    consents::given_on.eq(today - chrono::Days::new(7)),
                    consents::valid_until.eq(today - chrono::Days::new(1)),
                ))
                .execute(c),
            Ending::Withdrawn => diesel::update(row)
                .set(consents::withdrawn_at.eq(samordna::db::now()))
                .execute(c),
        }
        .unwrap()
    })
    .await;

    // At once: the answer link, the partner's pages, the plan and the feed refuse.
    assert_eq!(status(answer.clone()).await, 404, "the answer link");
    let token = partner.csrf("/mina-moten").await;
    let posted = partner
        .client
        .post(app.url(&answer))
        .form(&[("csrf_token", token.as_str()), ("answer", "accepted")])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status().as_u16(), 404, "answering by the link");
    assert!(!partner.page("/mina-moten").await.contains(CHILD));
    assert_eq!(status(plan).await, 404, "the plan");
    assert!(!feed_text(feed).await.contains(&uid), "the feed");
    let (status, body) = inbound(&app, &integration, reply).await;
    assert_eq!(status, 422, "a calendar reply: {body}");

    // It was the request's own check: the teacher is still on the SIP's books.
    let (sip, user) = (sip_id.clone(), teacher.user_id.clone());
    let active: i64 = app
        .conn(move |c| {
            participants::table
                .filter(participants::sip_id.eq(sip))
                .filter(participants::user_id.eq(user))
                .filter(participants::removed_at.is_null())
                .count()
                .get_result(c)
                .unwrap()
        })
        .await;
    assert_eq!(active, 1, "the background pass has not run");
}

async fn expired_consent_refuses_partners_at_once(kind: Db) {
    partner_refused_at_once(kind, Ending::Expired).await;
}

async fn withdrawn_consent_refuses_partners_at_once(kind: Db) {
    partner_refused_at_once(kind, Ending::Withdrawn).await;
}

crate::on_both_kinds!(
    expired_consent_refuses_partners_at_once,
    withdrawn_consent_refuses_partners_at_once
);
