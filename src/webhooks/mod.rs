//! Webhooks for the municipality's case system (issue 21 §2): an admin registers an endpoint and
//! gets its signing secret once; each change the case system should know of queues a delivery to
//! every endpoint of the municipality **in the transaction of the change** ([`queue`], one line at
//! the place of the change), and the [`worker`] posts it, signed as the Standard Webhooks
//! specification says (<https://www.standardwebhooks.com/>): headers `webhook-id`,
//! `webhook-timestamp` and `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of
//! `id.timestamp.body` under the secret).
//!
//! A body holds only the event's type, ids and times, never a child's data: the receiver fetches
//! the rest through the API with its own token, which reads `GET /api/v1/reports/{id}/export
//! ?child_id=`. So every event that concerns one child names its `report_id` and `child_id`; a
//! decision is one event per child decided (README, "Hand-over to the case system").

pub mod web;
pub mod worker;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::accounts::{MunicipalityId, UserId};
use crate::audit::event::{Event, Object};
use crate::authz::Actor;
use crate::crypto::rows::SealedRow;
use crate::crypto::Keyring;
use crate::db::schema::{webhook_deliveries, webhook_endpoints};
use crate::db::{now, write_tx, AnyConnection};
use crate::error::{AppError, FieldError};
use crate::{string_id, text_enum};

string_id!(EndpointId);
string_id!(DeliveryId);

text_enum!(
    /// The events a case system can be told of.
    EventType {
        ReportReceived => "report.received" : "Anmälan har kommit in",
        ReportDecided => "report.decided" : "Beslut om anmälan",
        InvestigationClosed => "investigation.closed" : "Utredningen är avslutad",
        SipPlanSaved => "sip.plan_saved" : "SIP-planen är sparad",
        InformationRequestAnswered => "information_request.answered" : "Begäran om uppgifter är besvarad",
        InformationRequestDeclined => "information_request.declined" : "Begäran om uppgifter är avböjd",
    }
);

text_enum!(
    /// Where a delivery is on its way out.
    DeliveryStatus {
        Queued => "queued" : "I kö",
        Sending => "sending" : "Skickas",
        Delivered => "delivered" : "Levererad",
        Failed => "failed" : "Gav upp",
    }
);

/// An endpoint as stored; `secret` is sealed at rest and opened for signing.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_endpoints)]
pub struct Endpoint {
    pub id: EndpointId,
    pub municipality_id: MunicipalityId,
    pub url: String,
    /// `whsec_` and the base64 of 24 random bytes.
    pub secret: String,
    pub created_by: UserId,
    pub created_at: NaiveDateTime,
    pub removed_at: Option<NaiveDateTime>,
}
crate::sealed_row!(Endpoint, webhook_endpoints by id: [secret]);

/// One event on its way to one endpoint.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct Delivery {
    /// Sent as `webhook-id`: the same on every attempt, so the receiver can take it once.
    pub id: DeliveryId,
    pub endpoint_id: EndpointId,
    pub municipality_id: MunicipalityId,
    pub event_type: EventType,
    /// The JSON body, exactly as signed and sent.
    pub payload: String,
    pub created_at: NaiveDateTime,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub delivered_at: Option<NaiveDateTime>,
}

/// The body of a delivery: `{"type", "timestamp", "data"}` as Standard Webhooks suggests, `data`
/// holding only ids (and the time of the change as `timestamp`).
pub fn payload(event: EventType, at: NaiveDateTime, ids: &[(&str, &str)]) -> String {
    let data: serde_json::Map<String, serde_json::Value> = ids
        .iter()
        .map(|(k, v)| ((*k).to_string(), serde_json::Value::from(*v)))
        .collect();
    serde_json::json!({
        "type": event.as_str(),
        "timestamp": at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": data,
    })
    .to_string()
}

/// Queues `event` (with its `ids`, e.g. `[("report_id", id)]`) for every endpoint of
/// `municipality`. Call it inside the transaction of the change, so that the event is queued if
/// and only if the change is made.
pub fn queue(
    conn: &mut AnyConnection,
    municipality: &MunicipalityId,
    event: EventType,
    ids: &[(&str, &str)],
) -> Result<(), AppError> {
    let endpoints: Vec<EndpointId> = webhook_endpoints::table
        .filter(webhook_endpoints::municipality_id.eq(municipality))
        .filter(webhook_endpoints::removed_at.is_null())
        .select(webhook_endpoints::id)
        .load(conn)?;
    let at = now();
    let body = payload(event, at, ids);
    for endpoint_id in endpoints {
        diesel::insert_into(webhook_deliveries::table)
            .values(&Delivery {
                id: DeliveryId(format!("msg_{}", uuid::Uuid::new_v4().simple())),
                endpoint_id,
                municipality_id: municipality.clone(),
                event_type: event,
                payload: body.clone(),
                created_at: at,
                status: DeliveryStatus::Queued,
                attempts: 0,
                next_attempt_at: at,
                locked_until: None,
                last_error: None,
                delivered_at: None,
            })
            .execute(conn)?;
    }
    Ok(())
}

/// A new signing secret: `whsec_` and the base64 of 24 random bytes, as Standard Webhooks says.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("whsec_{}", BASE64.encode(bytes))
}

/// The `webhook-signature` header of `body` sent as `id` at `timestamp` (Unix seconds):
/// `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body` under the secret's bytes.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String, AppError> {
    let key = BASE64
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| AppError::internal("a webhook secret is not base64"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(AppError::internal)?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!("v1,{}", BASE64.encode(mac.finalize().into_bytes())))
}

/// The Swedish message for an endpoint address that cannot be used, or the parsed address.
/// Only `https`, or `http` where private addresses are allowed (a test or an internal network).
pub fn check_url(text: &str, private: bool) -> Result<url::Url, AppError> {
    let invalid = |message: &str| AppError::Invalid(vec![FieldError::new("url", message)]);
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid("Skriv adressen som händelserna ska skickas till."));
    }
    let url = url::Url::parse(text).map_err(|_| {
        invalid("Skriv en hel webbadress, till exempel https://arende.kommun.se/webhook.")
    })?;
    match url.scheme() {
        "https" => {}
        "http" if private => {}
        _ => return Err(invalid("Adressen måste börja med https://.")),
    }
    if url.host().is_none() || !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "Skriv en webbadress med ett servernamn och utan användarnamn eller lösenord.",
        ));
    }
    if text.len() > 2000 {
        return Err(invalid("Adressen får vara högst 2000 tecken."));
    }
    Ok(url)
}

/// Registers an endpoint for `municipality` (the admin's access already checked, the address
/// checked with [`check_url`] and its reach); returns it with its secret in clear, to be shown once.
pub fn register(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    municipality: &MunicipalityId,
    created_by: &UserId,
    url: &url::Url,
) -> Result<Endpoint, AppError> {
    let endpoint = Endpoint {
        id: EndpointId::generate(),
        municipality_id: municipality.clone(),
        url: url.to_string(),
        secret: new_secret(),
        created_by: created_by.clone(),
        created_at: now(),
        removed_at: None,
    };
    write_tx(conn, |conn| {
        diesel::insert_into(webhook_endpoints::table)
            .values(&endpoint.clone().seal(keys))
            .execute(conn)?;
        Event::success(
            &actor.audit_actor(),
            "webhook.register",
            Object::Municipality(municipality.as_str()),
        )
        .detail(&format!("endpoint={}", endpoint.id.as_str()))
        .record(conn)?;
        Ok::<_, AppError>(())
    })?;
    Ok(endpoint)
}

/// Removes an endpoint of `municipality`: nothing more is queued for it, and what waits is given
/// up. `false` when it names no endpoint of the municipality.
pub fn remove(
    conn: &mut AnyConnection,
    actor: &Actor,
    municipality: &MunicipalityId,
    id: &EndpointId,
) -> Result<bool, AppError> {
    write_tx(conn, |conn| {
        let changed = diesel::update(
            webhook_endpoints::table
                .find(id)
                .filter(webhook_endpoints::municipality_id.eq(municipality))
                .filter(webhook_endpoints::removed_at.is_null()),
        )
        .set(webhook_endpoints::removed_at.eq(now()))
        .execute(conn)?;
        if changed == 0 {
            return Ok(false);
        }
        diesel::update(
            webhook_deliveries::table
                .filter(webhook_deliveries::endpoint_id.eq(id))
                .filter(webhook_deliveries::status.eq(DeliveryStatus::Queued)),
        )
        .set((
            webhook_deliveries::status.eq(DeliveryStatus::Failed),
            webhook_deliveries::last_error.eq("mottagaren är borttagen"),
        ))
        .execute(conn)?;
        Event::success(
            &actor.audit_actor(),
            "webhook.remove",
            Object::Municipality(municipality.as_str()),
        )
        .detail(&format!("endpoint={}", id.as_str()))
        .record(conn)?;
        Ok(true)
    })
}

/// The endpoints of `municipality` in use, oldest first (secrets left sealed: never shown again).
pub fn endpoints(
    conn: &mut AnyConnection,
    municipality: &MunicipalityId,
) -> Result<Vec<Endpoint>, AppError> {
    Ok(webhook_endpoints::table
        .filter(webhook_endpoints::municipality_id.eq(municipality))
        .filter(webhook_endpoints::removed_at.is_null())
        .order(webhook_endpoints::created_at)
        .select(Endpoint::as_select())
        .load(conn)?)
}

/// `municipality`'s newest deliveries, with the address each went to, for the admin page.
pub fn deliveries(
    conn: &mut AnyConnection,
    municipality: &MunicipalityId,
    limit: i64,
) -> Result<Vec<(Delivery, String)>, AppError> {
    Ok(webhook_deliveries::table
        .inner_join(webhook_endpoints::table)
        .filter(webhook_deliveries::municipality_id.eq(municipality))
        .order(webhook_deliveries::created_at.desc())
        .limit(limit)
        .select((Delivery::as_select(), webhook_endpoints::url))
        .load(conn)?)
}

/// How many of `municipality`'s deliveries there are in each status.
pub fn counts(
    conn: &mut AnyConnection,
    municipality: &MunicipalityId,
) -> Result<Vec<(DeliveryStatus, i64)>, AppError> {
    use diesel::dsl::count_star;
    Ok(webhook_deliveries::table
        .filter(webhook_deliveries::municipality_id.eq(municipality))
        .group_by(webhook_deliveries::status)
        .select((webhook_deliveries::status, count_star()))
        .load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks reference libraries' own tests.
    #[test]
    fn signs_as_the_specification_does() {
        assert_eq!(
            sign(
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                r#"{"test": 2432232314}"#
            )
            .unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_secret_is_whsec_and_24_bytes() {
        let secret = new_secret();
        let bytes = BASE64
            .decode(secret.strip_prefix("whsec_").unwrap())
            .unwrap();
        assert_eq!(bytes.len(), 24);
        assert_ne!(secret, new_secret());
    }

    #[test]
    fn the_body_holds_the_type_ids_and_time_only() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 12, 2)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap();
        let body: serde_json::Value = serde_json::from_str(&payload(
            EventType::ReportReceived,
            at,
            &[("report_id", "r1")],
        ))
        .unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "type": "report.received",
                "timestamp": "2026-12-02T09:00:00.000Z",
                "data": {"report_id": "r1"},
            })
        );
    }

    #[test]
    fn an_address_must_be_https_unless_private_addresses_are_allowed() {
        assert!(check_url("https://arende.example.se/hook", false).is_ok());
        assert!(check_url("http://arende.example.se/hook", false).is_err());
        assert!(check_url("http://127.0.0.1:9000/hook", true).is_ok());
        assert!(check_url("", false).is_err());
        assert!(check_url("inte en adress", false).is_err());
        assert!(check_url("ftp://example.se/", true).is_err());
        assert!(check_url("https://user:pw@example.se/", false).is_err());
    }
}
