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

pub mod web;

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
use crate::db::{now, write_tx, AnyConnection, DbPool};
use crate::error::AppError;
use crate::text_enum;

text_enum!(
    Outcome {
        Success => "success" : "Genomfört",
        Denied => "denied" : "Nekat",
        Failure => "failure" : "Misslyckades",
    }
);

// re-export for the move in issue 17; removed when every caller uses the new path
pub use crate::crypto::AuditKey;

/// The key this process chains entries under, set once by [`open`]. A process keeps one trail,
/// and every entry of it goes through [`record`] from many places that need not carry the key.
static KEY: OnceLock<AuditKey> = OnceLock::new();

fn installed_key() -> Result<&'static AuditKey, AppError> {
    KEY.get().ok_or_else(|| {
        AppError::internal("the audit key is not set: audit::open runs at start, before any entry")
    })
}

/// Who acted: a user, an integration, the command line, or someone not logged in; and the
/// municipality whose admins see the entries of this actor that name no municipality's object
/// (see [`record`]): a user's own, or the one given with [`AuditActor::within`].
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

/// One thing that happened, about to be recorded.
#[derive(Clone, Debug)]
pub struct Event<'a> {
    pub actor: &'a AuditActor,
    /// What was done, as `object.verb`: `user.create`, `report.read`, `session.login`.
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: Option<&'a str>,
    pub outcome: Outcome,
    /// Extra facts; never a child's name, personnummer or free text.
    pub detail: &'a str,
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
        for field in fields
            .iter()
            .map(|f| f.as_ref())
            .chain(self.municipality_id.as_ref().map(|m| m.as_str()))
        {
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

/// The municipality whose data an entry is about, by its object: that of the report,
/// investigation, SIP, meeting, user, API token, organisation or municipality it names. `None`
/// for other objects, and for one that is gone.
fn owner(
    conn: &mut AnyConnection,
    object_type: &str,
    object_id: Option<&str>,
) -> Result<Option<MunicipalityId>, AppError> {
    use crate::accounts::{tokens, OrganisationId, UserId};
    use crate::db::schema::{investigations, meetings, municipalities, reports, sips};
    let Some(id) = object_id else {
        return Ok(None);
    };
    // Lookups by key with `get_result`, not `first`: see `crate::db` on `LIMIT` binds.
    Ok(match object_type {
        "report" => reports::table
            .find(id)
            .select(reports::municipality_id)
            .get_result(conn),
        "investigation" => investigations::table
            .find(id)
            .select(investigations::municipality_id)
            .get_result(conn),
        "sip" => sips::table
            .find(id)
            .select(sips::municipality_id)
            .get_result(conn),
        "meeting" => meetings::table
            .inner_join(sips::table)
            .filter(meetings::id.eq(id))
            .select(sips::municipality_id)
            .get_result(conn),
        "municipality" => municipalities::table
            .find(id)
            .select(municipalities::id)
            .get_result(conn),
        "user" => return crate::accounts::municipality_of_user(conn, &UserId(id.into())),
        "organisation" => {
            let organisation = OrganisationId(id.into());
            return crate::accounts::municipality_of_organisation(conn, &organisation);
        }
        "api_token" => return tokens::municipality_of(conn, &tokens::TokenId(id.into())),
        _ => return Ok(None),
    }
    .optional()?)
}

/// Appends an entry. Runs in the caller's transaction when there is one, so the entry is written
/// together with the change it describes, or not at all. Entries are numbered without gaps: the
/// update of the single head row serialises writers on both databases.
///
/// One chain for the whole service, not one per municipality: an anchor then covers every
/// entry, and most installations serve one municipality, where separate chains would serialise
/// exactly as much. What is serialised is kept short instead: the head is taken as the last
/// thing before the commit (see [`append`]), so a writer holds it for two statements and the
/// commit. On PostgreSQL that commit's WAL flush, under the head's row lock, bounds the rate of
/// audited writes at one flush each; lifting that would mean chaining entries after their
/// transactions commit (a single chainer over a pending table), which leaves entries unchained
/// for a moment and was not worth it at the rates measured (docs/performance.md).
///
/// The entry belongs to the municipality whose data it is about (its object's), so that
/// municipality's admins see who read or changed it, or was refused, whoever they work for; an
/// entry whose object names no municipality belongs to the actor's.
///
/// Inside a caller's transaction there is no savepoint: the caller must let an error of this
/// propagate (`?`) and never carry on after it, or on SQLite the change would commit without its
/// entry.
pub fn record(conn: &mut AnyConnection, event: &Event<'_>) -> Result<i64, AppError> {
    crate::db::in_write_tx(conn, |conn| {
        let municipality = owner(conn, event.object_type, event.object_id)?
            .or_else(|| event.actor.municipality.clone());
        append(conn, event, municipality)
    })
}

/// [`record`] for a caller that knows the municipality whose data the entry is about (the one
/// its object belongs to), which saves looking it up.
pub fn record_in(
    conn: &mut AnyConnection,
    event: &Event<'_>,
    municipality: &MunicipalityId,
) -> Result<i64, AppError> {
    crate::db::in_write_tx(conn, |conn| append(conn, event, Some(municipality.clone())))
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
    let mut entry = Entry {
        seq: head.last_seq,
        at: now(),
        actor_id: event.actor.id.clone(),
        actor_label: event.actor.label.clone(),
        action: event.action.to_string(),
        object_type: event.object_type.to_string(),
        object_id: event.object_id.map(str::to_string),
        outcome: event.outcome,
        detail: event.detail.to_string(),
        prev_hash: head.last_hash,
        hash: String::new(),
        municipality_id: municipality,
    };
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
            .bind::<Nullable<Text>, _>(entry.municipality_id.as_ref().map(|m| m.as_str()))
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

/// Records that `actor` did `action` to one object, successfully.
pub fn success(
    conn: &mut AnyConnection,
    actor: &crate::authz::Actor,
    action: &str,
    object_type: &str,
    id: &str,
    detail: &str,
) -> Result<(), AppError> {
    record(
        conn,
        &Event {
            actor: &actor.audit_actor(),
            action,
            object_type,
            object_id: Some(id),
            outcome: Outcome::Success,
            detail,
        },
    )
    .map(|_| ())
}

/// A point of the trail kept outside the database: an entry's number and hash, written
/// `SEQ:HASH`. The trail is intact up to it when that entry is there with that hash and every
/// link before it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anchor {
    pub seq: i64,
    pub hash: String,
}

impl std::str::FromStr for Anchor {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let wrong = || {
            format!(
                "{text:?} is not an anchor: write it as SEQ:HASH, the entry number and its 64 hex \
                 digits, as `samordna audit head` prints it"
            )
        };
        let (seq, hash) = text.trim().split_once(':').ok_or_else(wrong)?;
        let seq: i64 = seq.parse().map_err(|_| wrong())?;
        if seq < 1 || hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(wrong());
        }
        Ok(Self {
            seq,
            hash: hash.to_ascii_lowercase(),
        })
    }
}

impl std::fmt::Display for Anchor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

/// The newest entry as an anchor, from the head row; `None` while the trail is empty.
pub fn head(conn: &mut AnyConnection) -> Result<Option<Anchor>, AppError> {
    let (seq, hash): (i64, String) = audit_head::table
        .find(1)
        .select((audit_head::last_seq, audit_head::last_hash))
        .get_result(conn)?;
    Ok((seq > 0).then_some(Anchor { seq, hash }))
}

/// Logs the head every `interval`, so that anchors are kept outside the database, where whoever
/// can write to the database cannot reach them. The line holds an entry number and a hash only.
pub async fn log_head(pool: DbPool, interval: std::time::Duration) {
    loop {
        let pool = pool.clone();
        let result = actix_web::web::block(move || -> Result<Option<Anchor>, AppError> {
            head(&mut *pool.get()?)
        })
        .await;
        match result {
            Ok(Ok(Some(anchor))) => tracing::info!(
                seq = anchor.seq,
                hash = %anchor.hash,
                "audit trail head; keep it as an anchor for `samordna audit verify --anchor`"
            ),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot read the audit trail head"),
            Err(e) => tracing::warn!(error = %e, "cannot read the audit trail head"),
        }
        tokio::time::sleep(interval).await;
    }
}

/// What `audit verify` found.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Intact {
        entries: i64,
    },
    Broken {
        seq: i64,
        problem: String,
    },
    /// The trail holds entries but is not yet chained under the key (`audit_head.keyed` is not
    /// set): the service's next start, or `samordna migrate`, re-chains it. Nothing was checked.
    NotYetKeyed {
        entries: i64,
    },
}

/// Whether the trail is chained under the key: the marker is set, or there is nothing to chain.
/// Returns the marker and how many entries were written. Reads only.
pub fn keyed(conn: &mut AnyConnection) -> Result<(bool, i64), AppError> {
    let (keyed, written): (bool, i64) = audit_head::table
        .find(1)
        .select((audit_head::keyed, audit_head::last_seq))
        .get_result(conn)?;
    Ok((keyed || written == 0, written))
}

/// Walks the whole chain in order and checks every link under this process's key.
pub fn verify(conn: &mut AnyConnection) -> Result<Verdict, AppError> {
    verify_with(conn, installed_key()?, None)
}

/// Every entry in order, in batches, to `visit`; stops at the first `Some` it returns.
fn walk<T>(
    conn: &mut AnyConnection,
    mut visit: impl FnMut(&mut AnyConnection, &Entry) -> Result<Option<T>, AppError>,
) -> Result<Option<T>, AppError> {
    const BATCH: i64 = 1000;
    let mut after = 0i64;
    loop {
        let batch: Vec<Entry> = audit_log::table
            .filter(audit_log::seq.gt(after))
            .order(audit_log::seq)
            .limit(BATCH)
            .select(Entry::as_select())
            .load(conn)?;
        for entry in &batch {
            if let Some(found) = visit(conn, entry)? {
                return Ok(Some(found));
            }
            after = entry.seq;
        }
        if (batch.len() as i64) < BATCH {
            return Ok(None);
        }
    }
}

/// Checks every link under `key` and, with an anchor, that the anchor's entry is there with the
/// anchor's hash.
pub fn verify_with(
    conn: &mut AnyConnection,
    key: &AuditKey,
    anchor: Option<&Anchor>,
) -> Result<Verdict, AppError> {
    let (is_keyed, written) = keyed(conn)?;
    if !is_keyed {
        return Ok(Verdict::NotYetKeyed { entries: written });
    }
    let mut expected_seq = 1i64;
    let mut prev_hash = String::new();
    let broken = walk(conn, |_, entry| {
        let problem = if entry.seq != expected_seq {
            Some(format!(
                "entry {expected_seq} is missing (next present is {})",
                entry.seq
            ))
        } else if entry.prev_hash != prev_hash {
            Some("does not follow the entry before it".into())
        } else if !crate::secrets::same(&entry.keyed_hash(key), &entry.hash) {
            Some("has been altered".into())
        } else if anchor.is_some_and(|a| a.seq == entry.seq && a.hash != entry.hash) {
            Some("does not match the anchor".into())
        } else {
            None
        };
        if let Some(problem) = problem {
            return Ok(Some(Verdict::Broken {
                seq: expected_seq,
                problem,
            }));
        }
        prev_hash = entry.hash.clone();
        expected_seq += 1;
        Ok(None)
    })?;
    if let Some(verdict) = broken {
        return Ok(verdict);
    }
    let last = expected_seq - 1;
    if let Some(anchor) = anchor.filter(|a| a.seq > last) {
        return Ok(Verdict::Broken {
            seq: last + 1,
            problem: format!(
                "the trail ends at entry {last}, before the anchor's entry {}",
                anchor.seq
            ),
        });
    }
    let (head_seq, head_hash) = head(conn)?.map_or((0, String::new()), |a| (a.seq, a.hash));
    if head_seq != last || (last > 0 && head_hash != prev_hash) {
        return Ok(Verdict::Broken {
            seq: last + 1,
            problem: format!("the trail ends at entry {last} but {head_seq} were written"),
        });
    }
    Ok(Verdict::Intact { entries: last })
}

/// Sets the key this process chains the trail under, and re-chains a trail written before the
/// chain was keyed. Runs at the service's start and in `samordna migrate`, after the migrations;
/// never in the other commands (see [`open_without_rechain`]).
///
/// The re-chaining happens once per cleared marker: it holds the head row's lock (on SQLite the
/// write lock) from before it reads the marker `audit_head.keyed` to the commit that sets it, so
/// an instance that starts at the same time waits and then finds it done. It first checks the old
/// chain (plain SHA-256) and says in its own entry, `audit.rechain`, whether that held; missing
/// entries stay missing, so `verify` still finds them. Whoever can write to the database can also
/// clear the marker and so have the next start re-chain a trail they rewrote: every hash changes
/// then, which an anchor taken before shows (docs/security.md).
pub fn open(conn: &mut AnyConnection, key: &AuditKey) -> Result<(), String> {
    install_key(key)?;
    upgrade(conn, key).map_err(|e| format!("cannot re-chain the audit trail under its key: {e}"))
}

/// What a command that does not re-chain says about a trail that is not yet keyed.
pub const NOT_YET_KEYED: &str = "the audit trail is not yet chained under SAMORDNA_AUDIT_KEY: \
     start the service or run `samordna migrate` once (that re-chains it and records \
     audit.rechain), then try again";

/// Sets the key like [`open`] but never re-chains: on an empty trail it only sets the marker, on
/// a trail with entries that is not yet keyed it refuses with [`NOT_YET_KEYED`].
pub fn open_without_rechain(conn: &mut AnyConnection, key: &AuditKey) -> Result<(), String> {
    install_key(key)?;
    let opened = write_tx(conn, |conn| -> Result<bool, AppError> {
        let (keyed, written) = take_head(conn)?;
        if keyed {
            return Ok(true);
        }
        if written > 0 {
            return Ok(false);
        }
        diesel::update(audit_head::table.find(1))
            .set(audit_head::keyed.eq(true))
            .execute(conn)?;
        Ok(true)
    })
    .map_err(|e| format!("cannot read the audit trail head: {e}"))?;
    if opened {
        Ok(())
    } else {
        Err(NOT_YET_KEYED.into())
    }
}

/// Sets the key without touching the database: for commands that only read the trail.
pub fn install_key(key: &AuditKey) -> Result<(), String> {
    if KEY.get_or_init(|| key.clone()) != key {
        return Err(
            "SAMORDNA_AUDIT_KEY: this process already keeps a trail under another key".into(),
        );
    }
    Ok(())
}

fn upgrade(conn: &mut AnyConnection, key: &AuditKey) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        let (keyed, written) = take_head(conn)?;
        if keyed {
            return Ok(());
        }
        if written > 0 {
            rechain(
                conn,
                key,
                written,
                |entry| entry.plain_hash() == entry.hash,
                "audit.rechain",
            )?;
        }
        diesel::update(audit_head::table.find(1))
            .set(audit_head::keyed.eq(true))
            .execute(conn)?;
        Ok(())
    })
}

/// What a re-chaining did: how many entries, and where the chain they had was broken, if it was.
#[derive(Debug, PartialEq, Eq)]
pub struct Rechained {
    pub entries: i64,
    pub old_chain_broken_at: Option<i64>,
}

/// Moves the trail from the key `old` to this process's key (`SAMORDNA_AUDIT_KEY`): checks every
/// entry under the old key (or already under the new one, written by an instance restarted with
/// it), re-chains them all under the new key and records that as `audit.rekey`. Anchors taken
/// before no longer match; take a new one afterwards.
pub fn rekey(conn: &mut AnyConnection, old: &AuditKey) -> Result<Rechained, AppError> {
    let key = installed_key()?;
    write_tx(conn, |conn| {
        let (_, written) = take_head(conn)?;
        if written == 0 {
            return Ok(Rechained {
                entries: 0,
                old_chain_broken_at: None,
            });
        }
        rechain(
            conn,
            key,
            written,
            |entry| {
                crate::secrets::same(&entry.keyed_hash(old), &entry.hash)
                    || crate::secrets::same(&entry.keyed_hash(key), &entry.hash)
            },
            "audit.rekey",
        )
    })
}

/// Takes the head row's lock for the rest of the transaction; returns the marker and how many
/// entries were written.
fn take_head(conn: &mut AnyConnection) -> Result<(bool, i64), AppError> {
    diesel::update(audit_head::table.find(1))
        .set(audit_head::keyed.eq(audit_head::keyed))
        .execute(conn)?;
    Ok(audit_head::table
        .find(1)
        .select((audit_head::keyed, audit_head::last_seq))
        .get_result(conn)?)
}

/// Re-chains every entry under `key`, in the caller's transaction, which holds the head: checks
/// the chain the entries had with `held` (is this entry's stored hash right?), writes new links
/// and hashes with the append-only triggers lifted, points the head at the end and records
/// `action` with what it found.
fn rechain(
    conn: &mut AnyConnection,
    key: &AuditKey,
    written: i64,
    held: impl Fn(&Entry) -> bool,
    action: &str,
) -> Result<Rechained, AppError> {
    let guard = lift_guard(conn)?;
    let (mut entries, mut old_prev, mut new_prev) = (0i64, String::new(), String::new());
    let mut broken_at: Option<i64> = None;
    walk(conn, |conn, entry| {
        entries += 1;
        let intact = entry.seq == entries && entry.prev_hash == old_prev && held(entry);
        if !intact && broken_at.is_none() {
            broken_at = Some(entries);
        }
        old_prev = entry.hash.clone();
        let mut rechained = entry.clone();
        rechained.prev_hash = std::mem::take(&mut new_prev);
        rechained.hash = rechained.keyed_hash(key);
        diesel::update(audit_log::table.find(entry.seq))
            .set((
                audit_log::prev_hash.eq(&rechained.prev_hash),
                audit_log::hash.eq(&rechained.hash),
            ))
            .execute(conn)?;
        new_prev = rechained.hash;
        Ok(None::<()>)
    })?;
    if entries != written && broken_at.is_none() {
        broken_at = Some(entries + 1);
    }
    restore_guard(conn, guard)?;
    diesel::update(audit_head::table.find(1))
        .set(audit_head::last_hash.eq(&new_prev))
        .execute(conn)?;
    let detail = match broken_at {
        None => format!("entries={entries} old_chain=intact"),
        Some(seq) => format!("entries={entries} old_chain=broken_at={seq}"),
    };
    append(
        conn,
        &Event {
            actor: &AuditActor::system(),
            action,
            object_type: "audit",
            object_id: None,
            outcome: Outcome::Success,
            detail: &detail,
        },
        None,
    )?;
    match broken_at {
        None => tracing::info!(action, entries, "audit trail re-chained under its key"),
        Some(seq) => tracing::warn!(
            action,
            entries,
            broken_at = seq,
            "audit trail re-chained under its key; the chain it had was already broken"
        ),
    }
    Ok(Rechained {
        entries,
        old_chain_broken_at: broken_at,
    })
}

/// The append-only triggers, lifted for the re-chaining and put back in the same transaction.
pub enum Guard {
    /// PostgreSQL: the names of the triggers disabled (not dropped).
    Disabled(Vec<String>),
    /// SQLite has no disabling: the triggers' own SQL, to create them again.
    Dropped(Vec<String>),
}

#[derive(QueryableByName)]
struct Trigger {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    sql: String,
}

pub fn lift_guard(conn: &mut AnyConnection) -> Result<Guard, AppError> {
    use diesel::connection::SimpleConnection;
    match conn {
        AnyConnection::Postgresql(pg) => {
            let triggers: Vec<Trigger> = diesel::sql_query(
                "SELECT tgname::text AS name, '' AS sql FROM pg_trigger \
                 WHERE tgrelid = 'audit_log'::regclass AND NOT tgisinternal AND tgenabled <> 'D'",
            )
            .load(pg)?;
            for t in &triggers {
                pg.batch_execute(&format!(
                    "ALTER TABLE audit_log DISABLE TRIGGER \"{}\"",
                    t.name
                ))?;
            }
            Ok(Guard::Disabled(
                triggers.into_iter().map(|t| t.name).collect(),
            ))
        }
        AnyConnection::Sqlite(sqlite) => {
            let triggers: Vec<Trigger> = diesel::sql_query(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' \
                 AND tbl_name = 'audit_log'",
            )
            .load(sqlite)?;
            for t in &triggers {
                sqlite.batch_execute(&format!("DROP TRIGGER \"{}\"", t.name))?;
            }
            Ok(Guard::Dropped(
                triggers.into_iter().map(|t| t.sql).collect(),
            ))
        }
    }
}

pub fn restore_guard(conn: &mut AnyConnection, guard: Guard) -> Result<(), AppError> {
    use diesel::connection::SimpleConnection;
    let statements = match guard {
        Guard::Disabled(names) => names
            .iter()
            .map(|name| format!("ALTER TABLE audit_log ENABLE TRIGGER \"{name}\""))
            .collect(),
        Guard::Dropped(sqls) => sqls,
    };
    for statement in statements {
        conn.batch_execute(&statement)?;
    }
    Ok(())
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
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            seq: 7,
            at: chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
                .unwrap()
                .and_hms_micro_opt(10, 0, 0, 123_456)
                .unwrap(),
            actor_id: Some("u1".into()),
            actor_label: "anna@ekby.se".into(),
            action: "report.view".into(),
            object_type: "report".into(),
            object_id: Some("r1".into()),
            outcome: Outcome::Success,
            detail: String::new(),
            prev_hash: "ab".repeat(32),
            hash: String::new(),
            municipality_id: Some(MunicipalityId("m1".into())),
        }
    }

    #[test]
    fn the_hash_depends_on_the_key_and_on_every_field() {
        let (a, b) = (AuditKey::derived(b"one"), AuditKey::derived(b"two"));
        let e = entry();
        let keyed = e.keyed_hash(&a);
        assert_eq!(keyed.len(), 64);
        assert_eq!(keyed, e.keyed_hash(&AuditKey::derived(b"one")));
        assert_ne!(keyed, e.keyed_hash(&b));
        assert_ne!(keyed, e.plain_hash(), "not the unkeyed hash");
        let changes: [fn(&mut Entry); 8] = [
            |e| e.seq += 1,
            |e| e.prev_hash = "cd".repeat(32),
            |e| e.at += chrono::TimeDelta::microseconds(1),
            |e| e.actor_id = None,
            |e| e.outcome = Outcome::Denied,
            |e| e.detail = "x".into(),
            |e| e.municipality_id = Some(MunicipalityId("m2".into())),
            |e| e.object_id = None,
        ];
        for change in changes {
            let mut changed = entry();
            change(&mut changed);
            assert_ne!(changed.keyed_hash(&a), keyed);
        }
        // Fields are length-prefixed: text cannot move from one field into the next.
        let mut shifted = entry();
        shifted.object_type = "repor".into();
        shifted.object_id = Some("tr1".into());
        assert_ne!(shifted.keyed_hash(&a), keyed);
    }

    #[test]
    fn anchors_are_seq_colon_hash() {
        let hash = "0123456789abcdef".repeat(4);
        let anchor: Anchor = format!(" 42:{} ", hash.to_uppercase()).parse().unwrap();
        assert_eq!(
            anchor,
            Anchor {
                seq: 42,
                hash: hash.clone()
            }
        );
        assert_eq!(anchor.to_string(), format!("42:{hash}"));
        for bad in [
            String::new(),
            "42".into(),
            hash.clone(),
            format!("0:{hash}"),
            format!("-1:{hash}"),
            format!("x:{hash}"),
            format!("42:{}", &hash[1..]),
            format!("42:{hash}0"),
            format!("42:{}g", &hash[1..]),
            format!("42:{hash}:1"),
        ] {
            let err = bad.parse::<Anchor>().unwrap_err();
            assert!(err.contains("SEQ:HASH"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_key_is_base64_of_32_bytes_and_never_shown() {
        let key = AuditKey::parse("MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=").unwrap();
        assert_eq!(format!("{key:?}"), "AuditKey(..)");
        assert!(AuditKey::parse("c2hvcnQ=").is_err());
        assert!(AuditKey::parse("not base64").is_err());
    }
}
