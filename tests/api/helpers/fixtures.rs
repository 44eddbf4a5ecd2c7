//! The set-ups many tests start from: a signed-in admin, a caseworker with a token, whose
//! organisation a user is in, an integration's token, a SIP with a guardian's consent and a
//! partner on it, a meeting booked on it, and messages queued in the outbox.

use diesel::prelude::*;
use samordna::accounts::{tokens, OrganisationId, Role};
use samordna::db::schema::{organisations, users};
use samordna::db::write_tx;
use samordna::error::AppError;
use samordna::mail::{self, Email};
use serde_json::{json, Value};

use super::{Login, TestApp};

/// A SIP in Ekby as most SIP tests need it: opened by a caseworker, with a guardian's consent
/// covering a school, and a teacher of that school on it.
pub struct SipWithPartner {
    pub caseworker: Login,
    /// The caseworker's API token.
    pub cw: String,
    /// The SIP's id, and its API path `/api/v1/sips/{id}`.
    pub sip: String,
    pub base: String,
    /// The consent as the API answered it.
    pub consent: Value,
    /// The teacher on the SIP, and their school's organisation id.
    pub partner: Login,
    pub school: String,
}

impl TestApp {
    /// An admin at social services in Testkommun (the municipality of [`TestApp::add_user`]),
    /// signed in in this browser.
    pub async fn signed_in_admin(&self) -> Login {
        self.signed_in_admin_in("Testkommun").await
    }

    /// An admin at social services in `municipality`, signed in in this browser.
    pub async fn signed_in_admin_in(&self, municipality: &str) -> Login {
        let admin = self
            .add_user_in(municipality, "socialtjanst", &[Role::Admin])
            .await;
        self.login(&admin).await;
        admin
    }

    /// A caseworker at social services in `municipality`, and their API token.
    pub async fn caseworker_in(&self, municipality: &str) -> (Login, String) {
        let caseworker = self
            .add_user_in(municipality, "socialtjanst", &[Role::Caseworker])
            .await;
        let token = self.token_for(&caseworker).await;
        (caseworker, token)
    }

    /// The id of the first organisation the database returns: for tests with one organisation,
    /// the one [`TestApp::add_user`] made.
    pub async fn first_organisation(&self) -> String {
        self.conn(|c| {
            organisations::table
                .select(organisations::id)
                .first(c)
                .unwrap()
        })
        .await
    }

    /// The organisation a user belongs to.
    pub async fn organisation_of(&self, user_id: &str) -> String {
        let id = user_id.to_string();
        self.conn(move |c| {
            users::table
                .find(id)
                .select(users::organisation_id)
                .first::<String>(c)
                .unwrap()
        })
        .await
    }

    /// A token for the organisation's mail integration (`POST /api/v1/inbound/mail`), issued
    /// directly.
    pub async fn integration_token(&self, organisation_id: &str) -> String {
        let org = organisation_id.to_string();
        self.conn(move |c| {
            let holder = tokens::Holder::Integration(OrganisationId(org));
            tokens::issue(c, "e-post in", holder, "test").unwrap().1
        })
        .await
    }

    /// Queues `n` messages about Testkommun's work (the municipality of [`TestApp::add_user`]) in
    /// one transaction, the `i`th made by `email(i)`; the outbox worker is not woken.
    pub async fn queue_mails<F>(&self, n: usize, email: F)
    where
        F: Fn(usize) -> Result<Email, AppError> + Send + 'static,
    {
        let settings = self.state.settings.clone();
        self.conn(move |conn| {
            write_tx(conn, |conn| {
                let municipality = super::test_municipality(conn)?;
                for i in 0..n {
                    mail::enqueue(conn, &email(i)?, &municipality, &settings)?;
                }
                Ok::<_, AppError>(())
            })
            .unwrap();
        })
        .await;
    }

    /// Opens a SIP with `body` as the caseworker with token `cw`; answers its API path and the
    /// SIP as the API answered it.
    pub async fn open_sip(&self, cw: &str, body: Value) -> (String, Value) {
        let (status, sip) = self.as_user(cw).post("/api/v1/sips", body).await;
        assert_eq!(status, 201, "{sip}");
        (format!("/api/v1/sips/{}", sip["id"].as_str().unwrap()), sip)
    }

    /// Records a guardian's consent, given by `given_by`, covering `organisations`, on the SIP at
    /// `base`; answers the consent.
    pub async fn give_consent(
        &self,
        cw: &str,
        base: &str,
        given_by: &str,
        organisations: &[&str],
    ) -> Value {
        let body = json!({"given_by": given_by, "relation": "guardian", "organisation_ids": organisations});
        let (status, consent) = self
            .as_user(cw)
            .post(&format!("{base}/consents"), body)
            .await;
        assert_eq!(status, 201, "{consent}");
        consent
    }

    /// Adds the user to the SIP at `base`; answers the participant.
    pub async fn add_participant(&self, cw: &str, base: &str, user_id: &str) -> Value {
        let (status, participant) = self
            .as_user(cw)
            .post(&format!("{base}/participants"), json!({"user_id": user_id}))
            .await;
        assert_eq!(status, 201, "{participant}");
        participant
    }

    /// Books a meeting with `body` on the SIP at `base`; answers the meeting as the API answered
    /// it.
    pub async fn book_meeting(&self, cw: &str, base: &str, body: Value) -> Value {
        let (status, meeting) = self
            .as_user(cw)
            .post(&format!("{base}/meetings"), body)
            .await;
        assert_eq!(status, 201, "{meeting}");
        meeting
    }

    /// A SIP about `child` with the partner `partner` on it, consent from "Förälder" covering
    /// their organisation, opened by the caseworker with token `cw`; answers the SIP's API path,
    /// the SIP and the consent as the API answered them, and the partner's organisation.
    pub async fn sip_with(
        &self,
        cw: &str,
        child: &str,
        partner: &Login,
    ) -> (String, Value, Value, String) {
        let org = self.organisation_of(&partner.user_id).await;
        let (base, sip) = self.open_sip(cw, json!({"child_name": child})).await;
        let consent = self.give_consent(cw, &base, "Förälder", &[&org]).await;
        self.add_participant(cw, &base, &partner.user_id).await;
        (base, sip, consent, org)
    }

    /// A caseworker and a teacher in Ekby (added in that order), and a SIP about `child` with
    /// consent from "Förälder" covering the school and the teacher on it.
    pub async fn sip_with_partner(&self, child: &str) -> SipWithPartner {
        let (caseworker, cw) = self.caseworker_in("Ekby").await;
        let partner = self.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
        let (base, _, consent, school) = self.sip_with(&cw, child, &partner).await;
        SipWithPartner {
            sip: base["/api/v1/sips/".len()..].to_string(),
            base,
            caseworker,
            cw,
            consent,
            partner,
            school,
        }
    }
}
