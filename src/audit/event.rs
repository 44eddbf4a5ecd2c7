//! Typed audit events: what kind of object an entry is about is an [`Object`], not free text, so
//! the lookup of the municipality an entry belongs to ([`owner`]) is an exhaustive `match` and a
//! new kind of object cannot be forgotten there. What is stored (`object_type`, `object_id`,
//! `action`, `detail`) is the same text as before the types, so the hash chain is unchanged.

use diesel::prelude::*;

use super::{append, AuditActor, Entry, Outcome};
use crate::accounts::MunicipalityId;
use crate::db::{now, AnyConnection};
use crate::error::AppError;

/// The kind of object an entry is about, stored as its `object_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Report,
    Investigation,
    Sip,
    Meeting,
    Municipality,
    User,
    Organisation,
    ApiToken,
    /// A user's source of busy times (`schedule::sources`).
    BusySource,
    /// A sealed table, whose rows `keys.rotate` re-sealed.
    Table,
    /// The audit trail itself, when it is re-chained.
    Trail,
    /// A municipality's accounts as an admin sees them (a refusal names this).
    Accounts,
    /// A municipality's audit trail page (a refusal names this).
    AuditTrail,
    /// A municipality's outgoing mail (a refusal names this).
    MailOutbox,
    /// A municipality's queue of new reports (a refusal names this).
    IntakeQueue,
    /// A consultation without the child's name (`consultations`).
    Consultation,
    /// An entry of a child's journal (`journal_entries`).
    JournalEntry,
    /// A request for information to a partner (`information_requests`).
    InformationRequest,
}

impl Kind {
    /// The text stored in `object_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Report => "report",
            Kind::Investigation => "investigation",
            Kind::Sip => "sip",
            Kind::Meeting => "meeting",
            Kind::Municipality => "municipality",
            Kind::User => "user",
            Kind::Organisation => "organisation",
            Kind::ApiToken => "api_token",
            Kind::BusySource => "busy_source",
            Kind::Table => "table",
            Kind::Trail => "audit",
            Kind::Accounts => "accounts",
            Kind::AuditTrail => "audit_trail",
            Kind::MailOutbox => "mail_outbox",
            Kind::IntakeQueue => "intake_queue",
            Kind::Consultation => "consultation",
            Kind::JournalEntry => "journal_entry",
            Kind::InformationRequest => "information_request",
        }
    }
}

/// The object an entry is about. Ids are given as text, so that the audit trail, which every
/// capability writes to, does not import the capabilities whose id types they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Object<'a> {
    Report(&'a str),
    Investigation(&'a str),
    Sip(&'a str),
    Meeting(&'a str),
    Municipality(&'a str),
    User(&'a str),
    Organisation(&'a str),
    ApiToken(&'a str),
    BusySource(&'a str),
    Consultation(&'a str),
    JournalEntry(&'a str),
    InformationRequest(&'a str),
    /// A sealed table, by its name.
    Table(&'a str),
    /// The audit trail as a whole.
    Trail,
    /// What a refusal names: the kind of resource asked for and the id it was asked by, if any,
    /// which may name nothing that exists.
    Asked(Kind, Option<&'a str>),
}

impl<'a> Object<'a> {
    pub fn kind(&self) -> Kind {
        match self {
            Object::Report(_) => Kind::Report,
            Object::Investigation(_) => Kind::Investigation,
            Object::Sip(_) => Kind::Sip,
            Object::Meeting(_) => Kind::Meeting,
            Object::Municipality(_) => Kind::Municipality,
            Object::User(_) => Kind::User,
            Object::Organisation(_) => Kind::Organisation,
            Object::ApiToken(_) => Kind::ApiToken,
            Object::BusySource(_) => Kind::BusySource,
            Object::Consultation(_) => Kind::Consultation,
            Object::JournalEntry(_) => Kind::JournalEntry,
            Object::InformationRequest(_) => Kind::InformationRequest,
            Object::Table(_) => Kind::Table,
            Object::Trail => Kind::Trail,
            Object::Asked(kind, _) => *kind,
        }
    }

    /// The id stored in `object_id`.
    pub fn id(&self) -> Option<&'a str> {
        match *self {
            Object::Report(id)
            | Object::Investigation(id)
            | Object::Sip(id)
            | Object::Meeting(id)
            | Object::Municipality(id)
            | Object::User(id)
            | Object::Organisation(id)
            | Object::ApiToken(id)
            | Object::BusySource(id)
            | Object::Consultation(id)
            | Object::JournalEntry(id)
            | Object::InformationRequest(id)
            | Object::Table(id) => Some(id),
            Object::Trail => None,
            Object::Asked(_, id) => id,
        }
    }
}

/// One thing that happened, about to be recorded: made with [`Event::success`],
/// [`Event::denied`] or [`Event::failure`], given a detail with [`Event::detail`], and written
/// with [`Event::record`].
#[derive(Clone, Debug)]
pub struct Event<'a> {
    actor: &'a AuditActor,
    action: &'a str,
    object: Object<'a>,
    outcome: Outcome,
    detail: &'a str,
}

impl<'a> Event<'a> {
    /// `actor` did `action` (`object.verb`: `user.create`, `report.read`) to `object`.
    pub fn success(actor: &'a AuditActor, action: &'a str, object: Object<'a>) -> Self {
        Self::new(actor, action, object, Outcome::Success)
    }

    /// `actor` was refused `action` on `object`.
    pub fn denied(actor: &'a AuditActor, action: &'a str, object: Object<'a>) -> Self {
        Self::new(actor, action, object, Outcome::Denied)
    }

    /// `actor` tried `action` on `object`, and it failed (a wrong password, a wrong code).
    pub fn failure(actor: &'a AuditActor, action: &'a str, object: Object<'a>) -> Self {
        Self::new(actor, action, object, Outcome::Failure)
    }

    fn new(actor: &'a AuditActor, action: &'a str, object: Object<'a>, outcome: Outcome) -> Self {
        Self {
            actor,
            action,
            object,
            outcome,
            detail: "",
        }
    }

    /// Extra facts; never a child's name, personnummer or free text.
    pub fn detail(self, detail: &'a str) -> Self {
        Self { detail, ..self }
    }

    /// Appends the entry. Runs in the caller's transaction when there is one, so the entry is
    /// written together with the change it describes, or not at all. Entries are numbered
    /// without gaps: the update of the single head row serialises writers on both databases.
    ///
    /// One chain for the whole service, not one per municipality: an anchor then covers every
    /// entry, and most installations serve one municipality, where separate chains would
    /// serialise exactly as much. What is serialised is kept short instead: the head is taken as
    /// the last thing before the commit (see [`super::append`]), so a writer holds it for two
    /// statements and the commit. On PostgreSQL that commit's WAL flush, under the head's row
    /// lock, bounds the rate of audited writes at one flush each; lifting that would mean
    /// chaining entries after their transactions commit (a single chainer over a pending table),
    /// which leaves entries unchained for a moment and was not worth it at the rates measured
    /// (docs/performance.md).
    ///
    /// The entry belongs to the municipality whose data it is about (its object's), so that
    /// municipality's admins see who read or changed it, or was refused, whoever they work for;
    /// an entry whose object names no municipality belongs to the actor's.
    ///
    /// Inside a caller's transaction there is no savepoint: the caller must let an error of this
    /// propagate (`?`) and never carry on after it, or on SQLite the change would commit without
    /// its entry.
    pub fn record(&self, conn: &mut AnyConnection) -> Result<i64, AppError> {
        crate::db::in_write_tx(conn, |conn| {
            let municipality = owner(conn, self.object.kind(), self.object.id())?
                .or_else(|| self.actor.municipality.clone());
            self.append(conn, municipality)
        })
    }

    /// [`Event::record`] for a caller that knows the municipality whose data the entry is about
    /// (the one its object belongs to), which saves looking it up.
    pub fn record_in(
        &self,
        conn: &mut AnyConnection,
        municipality: &MunicipalityId,
    ) -> Result<i64, AppError> {
        crate::db::in_write_tx(conn, |conn| self.append(conn, Some(municipality.clone())))
    }

    pub(super) fn append(
        &self,
        conn: &mut AnyConnection,
        municipality: Option<MunicipalityId>,
    ) -> Result<i64, AppError> {
        append(conn, self, municipality)
    }

    /// The entry this event makes as number `seq` after the one hashed `prev_hash`, belonging
    /// to `municipality`; its own hash is left for the caller, which holds the key.
    pub(super) fn entry(
        &self,
        seq: i64,
        prev_hash: String,
        municipality: Option<MunicipalityId>,
    ) -> Entry {
        Entry {
            seq,
            at: now(),
            actor_id: self.actor.id.clone(),
            actor_label: self.actor.label.clone(),
            action: self.action.to_string(),
            object_type: self.object.kind().as_str().to_string(),
            object_id: self.object.id().map(str::to_string),
            outcome: self.outcome,
            detail: self.detail.to_string(),
            prev_hash,
            hash: String::new(),
            municipality_id: municipality,
        }
    }
}

/// The municipality whose data an entry is about, by its object: that of the report,
/// investigation, SIP, meeting, consultation, user, API token, organisation or municipality it names. `None`
/// for other objects, and for one that is gone.
pub(super) fn owner(
    conn: &mut AnyConnection,
    kind: Kind,
    object_id: Option<&str>,
) -> Result<Option<MunicipalityId>, AppError> {
    use crate::accounts::{tokens, OrganisationId, UserId};
    use crate::db::schema::{
        consultations, information_requests, investigations, journal_entries, meetings,
        municipalities, reports, sips,
    };
    let Some(id) = object_id else {
        return Ok(None);
    };
    // Lookups by key with `get_result`, not `first`: see `crate::db` on `LIMIT` binds.
    Ok(match kind {
        Kind::Report => reports::table
            .find(id)
            .select(reports::municipality_id)
            .get_result(conn),
        Kind::Investigation => investigations::table
            .find(id)
            .select(investigations::municipality_id)
            .get_result(conn),
        Kind::Sip => sips::table
            .find(id)
            .select(sips::municipality_id)
            .get_result(conn),
        Kind::Meeting => meetings::table
            .inner_join(sips::table)
            .filter(meetings::id.eq(id))
            .select(sips::municipality_id)
            .get_result(conn),
        Kind::Consultation => consultations::table
            .find(id)
            .select(consultations::municipality_id)
            .get_result(conn),
        Kind::JournalEntry => journal_entries::table
            .find(id)
            .select(journal_entries::municipality_id)
            .get_result(conn),
        Kind::InformationRequest => information_requests::table
            .find(id)
            .select(information_requests::municipality_id)
            .get_result(conn),
        Kind::Municipality => municipalities::table
            .find(id)
            .select(municipalities::id)
            .get_result(conn),
        Kind::User => return crate::accounts::municipality_of_user(conn, &UserId(id.into())),
        Kind::Organisation => {
            let organisation = OrganisationId(id.into());
            return crate::accounts::municipality_of_organisation(conn, &organisation);
        }
        Kind::ApiToken => return tokens::municipality_of(conn, &tokens::TokenId(id.into())),
        // Not looked up: a source's or a table's entry belongs to its actor's municipality,
        // the trail's to none, and a refusal of a whole page to the one the page is of, which
        // the actor names (`AuditActor::within`).
        Kind::BusySource
        | Kind::Table
        | Kind::Trail
        | Kind::Accounts
        | Kind::AuditTrail
        | Kind::MailOutbox
        | Kind::IntakeQueue => return Ok(None),
    }
    .optional()?)
}
