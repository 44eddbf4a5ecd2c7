//! The audit trail: an append-only, hash-chained record of who did what to which object, when,
//! and with what outcome. Each entry carries the hash of the one before it, so an altered, removed
//! or inserted row breaks the chain and `samordna audit verify` finds it.
//!
//! The chain is keyed: an entry's hash is an HMAC-SHA-256 under the audit key
//! (`SAMORDNA_AUDIT_KEY`, derived from the secret key when not set), which is never stored in the
//! database. Someone who can write to the database but does not hold the key cannot compute the
//! hash of an entry they change or add, so they cannot re-chain the entries after it. Cutting off
//! the newest entries and rewinding the head, which needs no key, is found only against an anchor
//! kept outside the database: `samordna audit head` prints one, the service logs one every
//! `SAMORDNA_AUDIT_HEAD_SECONDS`, and `samordna audit verify --anchor SEQ:HASH` checks the trail
//! against it. docs/security.md says what is found and what is not.

mod chain;
pub mod event;
pub mod web;

pub use chain::{
    head, install_key, keyed, lift_guard, log_head, open, open_without_rechain, rekey,
    restore_guard, verify, verify_with, Anchor, Guard, Rechained, Verdict, NOT_YET_KEYED,
};
pub use event::{Event, Kind, Object};

use std::borrow::Cow;
use std::sync::OnceLock;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use hmac::digest::Update;
use hmac::Mac;
use sha2::Sha256;

use crate::accounts::MunicipalityId;
use crate::db::schema::{audit_head, audit_log};
use crate::db::AnyConnection;
use crate::error::AppError;
use crate::text_enum;

text_enum!(
    Outcome {
        Success => "success" : "Genomfört",
        Denied => "denied" : "Nekat",
        Failure => "failure" : "Misslyckades",
    }
);

use crate::crypto::AuditKey;

/// The key this process chains entries under, set once by [`open`]. A process keeps one trail,
/// and every entry of it goes through [`Event::record`] from many places that need not carry the key.
static KEY: OnceLock<AuditKey> = OnceLock::new();

fn installed_key() -> Result<&'static AuditKey, AppError> {
    KEY.get().ok_or_else(|| {
        AppError::internal("the audit key is not set: audit::open runs at start, before any entry")
    })
}

/// Who acted: a user, an integration, the command line, or someone not logged in; and the
/// municipality whose admins see the entries of this actor that name no municipality's object
/// (see [`Event::record`]): a user's own, or the one given with [`AuditActor::within`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditActor {
    pub id: Option<String>,
    pub label: String,
    pub municipality: Option<MunicipalityId>,
}

impl AuditActor {
    fn named(label: &str) -> Self {
        Self {
            id: None,
            label: label.into(),
            municipality: None,
        }
    }
    pub fn cli() -> Self {
        Self::named("kommandoraden")
    }
    pub fn anonymous() -> Self {
        Self::named("ej inloggad")
    }
    pub fn system() -> Self {
        Self::named("systemet")
    }

    /// The same actor, acting on `municipality`'s data where the entry cannot name it by its
    /// object (a removed report, a refusal to list another municipality's accounts).
    pub fn within(self, municipality: &MunicipalityId) -> Self {
        Self {
            municipality: Some(municipality.clone()),
            ..self
        }
    }
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_log)]
pub struct Entry {
    pub seq: i64,
    pub at: NaiveDateTime,
    pub actor_id: Option<String>,
    pub actor_label: String,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<String>,
    pub outcome: Outcome,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
    /// Whose admins see it (see [`AuditActor`]); entries written before municipalities were kept
    /// apart have none.
    pub municipality_id: Option<MunicipalityId>,
}

impl Entry {
    /// Feeds what the hash covers, each field prefixed with its length: the hash before it and
    /// every column but the hash itself.
    fn feed(&self, sink: &mut impl Update) {
        let at = self.at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
        let fields: [Cow<'_, str>; 10] = [
            Cow::Borrowed(&self.prev_hash),
            Cow::Owned(self.seq.to_string()),
            Cow::Owned(at),
            Cow::Borrowed(self.actor_id.as_deref().unwrap_or("\u{0}")),
            Cow::Borrowed(&self.actor_label),
            Cow::Borrowed(&self.action),
            Cow::Borrowed(&self.object_type),
            Cow::Borrowed(self.object_id.as_deref().unwrap_or("\u{0}")),
            Cow::Borrowed(self.outcome.as_str()),
            Cow::Borrowed(&self.detail),
        ];
        // The municipality was added later: entries without one keep the hash they were written
        // with, and one that has it cannot be moved to another municipality's view unnoticed.
        for field in fields.iter().map(std::convert::AsRef::as_ref).chain(
            self.municipality_id
                .as_ref()
                .map(super::ids::MunicipalityId::as_str),
        ) {
            sink.update(&(field.len() as u64).to_be_bytes());
            sink.update(field.as_bytes());
        }
    }

    /// The entry's hash: HMAC-SHA-256 under `key`, hex.
    pub fn keyed_hash(&self, key: &AuditKey) -> String {
        let mut mac = key.mac();
        self.feed(&mut mac);
        hex::encode(mac.finalize().into_bytes())
    }

    /// The hash entries had before the chain was keyed (plain SHA-256, hex): what [`open`] checks
    /// an older trail with before it re-chains it.
    pub fn plain_hash(&self) -> String {
        let mut digest = Sha256::default();
        self.feed(&mut digest);
        hex::encode(sha2::Digest::finalize(digest))
    }
}

/// What the head row holds: the last entry's number and hash.
#[derive(QueryableByName)]
struct Head {
    #[diesel(sql_type = BigInt)]
    last_seq: i64,
    #[diesel(sql_type = Text)]
    last_hash: String,
}

/// Writes the entry. The head row is taken here, as the last thing the transaction does before
/// it commits, so that its lock, which every writer waits for, is held as briefly as possible:
/// one statement numbers the entry and returns the hash before it, one more writes the entry (and
/// on PostgreSQL, in the same statement, the head's new hash), then the caller commits. On
/// SQLite the transaction already holds the write lock (`BEGIN IMMEDIATE`, see
/// [`crate::db::write_tx`]), so reading before this cannot make the update fail as busy.
fn append(
    conn: &mut AnyConnection,
    event: &Event<'_>,
    municipality: Option<MunicipalityId>,
) -> Result<i64, AppError> {
    let key = installed_key()?;
    // RETURNING gives the row as updated, after waiting for its lock: on PostgreSQL this is the
    // committed head of the writer before, where a separate read could see an older snapshot.
    let head: Head = diesel::sql_query(
        "UPDATE audit_head SET last_seq = last_seq + 1 WHERE id = 1 \
         RETURNING last_seq, last_hash",
    )
    .get_result(conn)?;
    let mut entry = event.entry(head.last_seq, head.last_hash, municipality);
    entry.hash = entry.keyed_hash(key);
    match conn {
        AnyConnection::Postgresql(pg) => {
            diesel::sql_query(
                "WITH entry AS (INSERT INTO audit_log (seq, at, actor_id, actor_label, action, \
                 object_type, object_id, outcome, detail, prev_hash, hash, municipality_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING hash) \
                 UPDATE audit_head SET last_hash = entry.hash FROM entry WHERE audit_head.id = 1",
            )
            .bind::<BigInt, _>(entry.seq)
            .bind::<Timestamp, _>(entry.at)
            .bind::<Nullable<Text>, _>(&entry.actor_id)
            .bind::<Text, _>(&entry.actor_label)
            .bind::<Text, _>(&entry.action)
            .bind::<Text, _>(&entry.object_type)
            .bind::<Nullable<Text>, _>(&entry.object_id)
            .bind::<Text, _>(entry.outcome.as_str())
            .bind::<Text, _>(&entry.detail)
            .bind::<Text, _>(&entry.prev_hash)
            .bind::<Text, _>(&entry.hash)
            .bind::<Nullable<Text>, _>(
                entry
                    .municipality_id
                    .as_ref()
                    .map(super::ids::MunicipalityId::as_str),
            )
            .execute(pg)?;
        }
        AnyConnection::Sqlite(_) => {
            diesel::insert_into(audit_log::table)
                .values(&entry)
                .execute(conn)?;
            diesel::update(audit_head::table.find(1))
                .set(audit_head::last_hash.eq(&entry.hash))
                .execute(conn)?;
        }
    }
    Ok(entry.seq)
}

/// What an admin asks the audit trail for.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct Filter {
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub actor_id: Option<String>,
    pub before: Option<i64>,
}

/// A page of the entries that belong to `municipality`, newest first.
pub fn list(
    conn: &mut AnyConnection,
    municipality: &MunicipalityId,
    filter: &Filter,
    limit: i64,
) -> Result<Vec<Entry>, AppError> {
    let mut query = audit_log::table
        .filter(audit_log::municipality_id.eq(municipality))
        .into_boxed();
    if let Some(t) = filter.object_type.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(audit_log::object_type.eq(t.to_string()));
    }
    if let Some(id) = filter.object_id.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(audit_log::object_id.eq(id.to_string()));
    }
    if let Some(id) = filter.actor_id.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(audit_log::actor_id.eq(id.to_string()));
    }
    if let Some(before) = filter.before {
        query = query.filter(audit_log::seq.lt(before));
    }
    Ok(query
        .order(audit_log::seq.desc())
        .limit(limit)
        .select(Entry::as_select())
        .load(conn)?)
}

#[cfg(test)]
mod tests;
