//! Keeping the chain: anchors and the head, verifying the chain, keying it at start and moving it
//! to a new key (re-chaining with the append-only triggers lifted). Appending is in the module
//! above, this is everything that reads or rewrites the chain as a whole.

use diesel::prelude::*;
use diesel::sql_types::Text;

use super::event::{Event, Object};
use super::{installed_key, AuditActor, AuditKey, Entry, KEY};
use crate::db::schema::{audit_head, audit_log};
use crate::db::{write_tx, AnyConnection, DbPool};
use crate::error::AppError;

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
    Event::success(&AuditActor::system(), action, Object::Trail)
        .detail(&detail)
        .append(conn, None)?;
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
