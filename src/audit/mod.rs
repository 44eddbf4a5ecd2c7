//! The audit trail: an append-only, hash-chained record of who did what to which object, when,
//! and with what outcome. Each entry carries the hash of the one before it, so an altered, removed
//! or inserted row breaks the chain and `samordna audit verify` finds it.

pub mod web;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::accounts::MunicipalityId;
use crate::db::schema::{audit_head, audit_log};
use crate::db::{now, AnyConnection};
use crate::error::AppError;
use crate::text_enum;

text_enum!(
    Outcome {
        Success => "success" : "Genomfört",
        Denied => "denied" : "Nekat",
        Failure => "failure" : "Misslyckades",
    }
);

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
    fn compute_hash(&self) -> String {
        let mut h = Sha256::new();
        let at = self.at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
        let fields: [&str; 10] = [
            &self.prev_hash,
            &self.seq.to_string(),
            &at,
            self.actor_id.as_deref().unwrap_or("\u{0}"),
            &self.actor_label,
            &self.action,
            &self.object_type,
            self.object_id.as_deref().unwrap_or("\u{0}"),
            self.outcome.as_str(),
            &self.detail,
        ];
        // The municipality was added later: entries without one keep the hash they were written
        // with, and one that has it cannot be moved to another municipality's view unnoticed.
        for field in fields
            .into_iter()
            .chain(self.municipality_id.as_ref().map(|m| m.as_str()))
        {
            h.update((field.len() as u64).to_be_bytes());
            h.update(field.as_bytes());
        }
        hex::encode(h.finalize())
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
    Ok(match object_type {
        "report" => reports::table
            .find(id)
            .select(reports::municipality_id)
            .first(conn),
        "investigation" => investigations::table
            .find(id)
            .select(investigations::municipality_id)
            .first(conn),
        "sip" => sips::table
            .find(id)
            .select(sips::municipality_id)
            .first(conn),
        "meeting" => meetings::table
            .inner_join(sips::table)
            .filter(meetings::id.eq(id))
            .select(sips::municipality_id)
            .first(conn),
        "municipality" => municipalities::table
            .find(id)
            .select(municipalities::id)
            .first(conn),
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
/// The entry belongs to the municipality whose data it is about (its object's), so that
/// municipality's admins see who read or changed it, or was refused, whoever they work for; an
/// entry whose object names no municipality belongs to the actor's.
pub fn record(conn: &mut AnyConnection, event: &Event<'_>) -> Result<i64, AppError> {
    conn.transaction(|conn| {
        // The write comes first: on SQLite a transaction that read before writing cannot wait
        // for another writer and fails at once as busy.
        diesel::update(audit_head::table.find(1))
            .set(audit_head::last_seq.eq(audit_head::last_seq + 1))
            .execute(conn)?;
        let municipality = owner(conn, event.object_type, event.object_id)?
            .or_else(|| event.actor.municipality.clone());
        let (seq, prev_hash): (i64, String) = audit_head::table
            .find(1)
            .select((audit_head::last_seq, audit_head::last_hash))
            .first(conn)?;
        let mut entry = Entry {
            seq,
            at: now(),
            actor_id: event.actor.id.clone(),
            actor_label: event.actor.label.clone(),
            action: event.action.to_string(),
            object_type: event.object_type.to_string(),
            object_id: event.object_id.map(str::to_string),
            outcome: event.outcome,
            detail: event.detail.to_string(),
            prev_hash,
            hash: String::new(),
            municipality_id: municipality,
        };
        entry.hash = entry.compute_hash();
        diesel::insert_into(audit_log::table)
            .values(&entry)
            .execute(conn)?;
        diesel::update(audit_head::table.find(1))
            .set(audit_head::last_hash.eq(&entry.hash))
            .execute(conn)?;
        Ok::<_, AppError>(seq)
    })
}

/// What `audit verify` found.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Intact { entries: i64 },
    Broken { seq: i64, problem: String },
}

/// Walks the whole chain in order and checks every link.
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

pub fn verify(conn: &mut AnyConnection) -> Result<Verdict, AppError> {
    const BATCH: i64 = 1000;
    let mut expected_seq = 1i64;
    let mut prev_hash = String::new();
    loop {
        let batch: Vec<Entry> = audit_log::table
            .filter(audit_log::seq.ge(expected_seq))
            .order(audit_log::seq)
            .limit(BATCH)
            .select(Entry::as_select())
            .load(conn)?;
        for entry in &batch {
            if entry.seq != expected_seq {
                return Ok(Verdict::Broken {
                    seq: expected_seq,
                    problem: format!(
                        "entry {expected_seq} is missing (next present is {})",
                        entry.seq
                    ),
                });
            }
            if entry.prev_hash != prev_hash {
                return Ok(Verdict::Broken {
                    seq: entry.seq,
                    problem: "does not follow the entry before it".into(),
                });
            }
            if entry.compute_hash() != entry.hash {
                return Ok(Verdict::Broken {
                    seq: entry.seq,
                    problem: "has been altered".into(),
                });
            }
            prev_hash = entry.hash.clone();
            expected_seq += 1;
        }
        if (batch.len() as i64) < BATCH {
            break;
        }
    }
    let (head_seq, head_hash): (i64, String) = audit_head::table
        .find(1)
        .select((audit_head::last_seq, audit_head::last_hash))
        .first(conn)?;
    let last = expected_seq - 1;
    if head_seq != last || head_hash != prev_hash {
        return Ok(Verdict::Broken {
            seq: last + 1,
            problem: format!("the trail ends at entry {last} but {head_seq} were written"),
        });
    }
    Ok(Verdict::Intact { entries: last })
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
