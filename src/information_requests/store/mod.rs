//! Information requests in the database. Callers check access first; every function that reads
//! or changes one writes the audit entry itself, in the same transaction. The questions, the
//! answer and the reason for declining are sealed at rest; so are the files of an answer
//! ([`files`]) and the reasons of asks for more time ([`extensions`]). An answer or a refusal is
//! filed in the child's journal in its own transaction ([`filing`]).

pub mod extensions;
pub mod files;
pub mod filing;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::accounts::{AuthUser, MunicipalityId, UserId};
use crate::audit::event::{Event, Object};
use crate::audit::AuditActor;
use crate::config::Settings;
use crate::crypto::rows::SealedRow;
use crate::crypto::Keyring;
use crate::db::schema::{
    information_request_recipients, information_requests, municipalities, organisations, users,
};
use crate::db::{now, write_tx, AnyConnection};
use crate::error::{AppError, FieldError};
use crate::information_requests::files::CheckedFile;
use crate::information_requests::model::{self, Status, ValidRequest, LEGAL_BASIS};
use crate::mail::{self, Email};
use crate::reports::store::{Investigation, InvestigationId};
use crate::string_id;

string_id!(InformationRequestId);

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = information_requests)]
pub struct InformationRequest {
    pub id: InformationRequestId,
    /// Quoted in mail and on the phone, e.g. `UB-7K3F-Q9`.
    pub reference: String,
    pub investigation_id: InvestigationId,
    pub municipality_id: MunicipalityId,
    /// The partner organisation asked.
    pub organisation_id: String,
    pub sent_by: UserId,
    pub sent_at: NaiveDateTime,
    pub due_on: NaiveDate,
    pub questions: String,
    pub legal_basis: String,
    /// When a receiver first opened it.
    pub first_read_at: Option<NaiveDateTime>,
    /// When a receiver answered or declined.
    pub replied_at: Option<NaiveDateTime>,
    pub replied_by: Option<UserId>,
    /// The answer, or the reason for declining when `declined`.
    pub reply: Option<String>,
    pub declined: bool,
    /// When the receivers were reminded of the due date.
    pub reminded_at: Option<NaiveDateTime>,
}
crate::sealed_row!(InformationRequest, information_requests by id: [questions, reply]);

impl InformationRequest {
    pub fn status(&self, today: NaiveDate) -> Status {
        model::status(
            today,
            self.due_on,
            self.first_read_at,
            self.answered_at(),
            self.declined_at(),
        )
    }

    /// Whether it still waits for an answer or a refusal.
    pub fn is_open(&self) -> bool {
        self.replied_at.is_none()
    }

    pub fn answered_at(&self) -> Option<NaiveDateTime> {
        self.replied_at.filter(|_| !self.declined)
    }

    pub fn declined_at(&self) -> Option<NaiveDateTime> {
        self.replied_at.filter(|_| self.declined)
    }

    /// The answer's text, once answered.
    pub fn answer(&self) -> Option<&str> {
        self.reply.as_deref().filter(|_| !self.declined)
    }

    /// The reason for declining, once declined.
    pub fn decline_reason(&self) -> Option<&str> {
        self.reply.as_deref().filter(|_| self.declined)
    }
}

/// A person a request is addressed to.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Recipient {
    pub user_id: String,
    pub name: String,
    pub title: String,
}

/// A reference code like `UB-7K3F-Q9`.
pub fn new_reference() -> String {
    crate::ids::reference("UB", &[4, 2])
}

/// Stores a checked request of `investigation` sent by `sender`, addressed to users of the
/// organisation it names (each checked to be of it), and queues a content-free email to each,
/// with its audit entry, in one transaction.
pub fn create(
    conn: &mut AnyConnection,
    settings: &Settings,
    sender: &AuthUser,
    investigation: &Investigation,
    input: &ValidRequest,
) -> Result<(InformationRequest, Vec<Recipient>), AppError> {
    write_tx(conn, |conn| {
        let known: i64 = organisations::table
            .find(&input.organisation_id)
            .count()
            .get_result(conn)?;
        if known == 0 {
            return Err(AppError::Invalid(vec![FieldError::new(
                "organisation_id",
                "Verksamheten finns inte i tjänsten. Välj en i listan.",
            )]));
        }
        let people: Vec<(String, String, String, String)> = users::table
            .filter(users::id.eq_any(&input.recipients))
            .filter(users::organisation_id.eq(&input.organisation_id))
            .select((users::id, users::name, users::title, users::email))
            .load(conn)?;
        if people.len() != input.recipients.len() {
            return Err(AppError::Invalid(vec![FieldError::new(
                "recipients",
                "Välj personer som arbetar i den verksamhet du begär uppgifter från.",
            )]));
        }
        let mut reference = new_reference();
        while information_requests::table
            .filter(information_requests::reference.eq(&reference))
            .count()
            .get_result::<i64>(conn)?
            > 0
        {
            reference = new_reference();
        }
        let request = InformationRequest {
            id: InformationRequestId::generate(),
            reference,
            investigation_id: investigation.id.clone(),
            municipality_id: investigation.municipality_id.clone(),
            organisation_id: input.organisation_id.clone(),
            sent_by: sender.id.clone(),
            sent_at: now(),
            due_on: input.due_on,
            questions: input.questions.clone(),
            legal_basis: LEGAL_BASIS.to_string(),
            first_read_at: None,
            replied_at: None,
            replied_by: None,
            reply: None,
            declined: false,
            reminded_at: None,
        };
        diesel::insert_into(information_requests::table)
            .values(&request.clone().seal(&settings.keys))
            .execute(conn)?;
        let municipality_name: String = municipalities::table
            .find(&investigation.municipality_id)
            .select(municipalities::name)
            .get_result(conn)?;
        for (user_id, name, _, email) in &people {
            diesel::insert_into(information_request_recipients::table)
                .values((
                    information_request_recipients::request_id.eq(&request.id),
                    information_request_recipients::user_id.eq(user_id),
                ))
                .execute(conn)?;
            mail::enqueue(
                conn,
                &request_email(
                    &request.id,
                    &request.reference,
                    &municipality_name,
                    name,
                    email,
                    settings,
                )?,
                &investigation.municipality_id,
                settings,
            )?;
        }
        Event::success(
            &AuditActor::from(sender),
            "information_request.send",
            Object::InformationRequest(request.id.as_str()),
        )
        .detail(&format!(
            "investigation={} organisation={} recipients={}",
            investigation.id,
            input.organisation_id,
            people.len()
        ))
        .record_in(conn, &investigation.municipality_id)?;
        let recipients = people
            .into_iter()
            .map(|(user_id, name, title, _)| Recipient {
                user_id,
                name,
                title,
            })
            .collect();
        Ok((request, recipients))
    })
}

/// Tells a receiver there is a request, its reference and nothing else; the link holds only the
/// request's id.
fn request_email(
    id: &InformationRequestId,
    reference: &str,
    municipality: &str,
    name: &str,
    email: &str,
    settings: &Settings,
) -> Result<Email, AppError> {
    Ok(Email {
        to: mail::recipient(name, email)?,
        subject: format!("Begäran om uppgifter {reference}"),
        text: format!(
            "Hej!\n\nSocialtjänsten i {municipality} kommun har en begäran om uppgifter till dig, ref {reference}. \
             Logga in för att läsa och svara:\n{}\n\n\
             Av sekretesskäl står ingenting om ärendet i det här meddelandet.\n\
             Meddelandet skickades automatiskt. Svara inte på det.\n",
            settings.link(&format!("/begaran/{id}")),
        ),
        html: None,
        calendar: None,
    })
}

/// The request, opened, for access checks before anything is shown (no audit entry: the caller
/// records the read once access is granted).
pub fn find(
    conn: &mut AnyConnection,
    keys: &Keyring,
    id: &InformationRequestId,
) -> Result<Option<InformationRequest>, AppError> {
    let found: Option<InformationRequest> = information_requests::table
        .find(id)
        .select(InformationRequest::as_select())
        .get_result(conn)
        .optional()?;
    Ok(found.map(|r| r.open(keys)).transpose()?)
}

/// Whether the request is addressed to `user`.
pub fn is_addressed_to(
    conn: &mut AnyConnection,
    id: &InformationRequestId,
    user: &UserId,
) -> Result<bool, AppError> {
    let n: i64 = information_request_recipients::table
        .filter(information_request_recipients::request_id.eq(id))
        .filter(information_request_recipients::user_id.eq(user))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Who the request is addressed to.
pub fn recipients_of(
    conn: &mut AnyConnection,
    id: &InformationRequestId,
) -> Result<Vec<Recipient>, AppError> {
    let rows: Vec<(String, String, String)> = information_request_recipients::table
        .inner_join(users::table)
        .filter(information_request_recipients::request_id.eq(id))
        .order(users::name)
        .select((users::id, users::name, users::title))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(user_id, name, title)| Recipient {
            user_id,
            name,
            title,
        })
        .collect())
}

/// The active users of an organisation, by name: whom a request to it may be addressed to.
pub fn people_of(conn: &mut AnyConnection, organisation: &str) -> Result<Vec<Recipient>, AppError> {
    let rows: Vec<(String, String, String)> = users::table
        .filter(users::organisation_id.eq(organisation))
        .filter(users::active.eq(true))
        .order(users::name)
        .select((users::id, users::name, users::title))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(user_id, name, title)| Recipient {
            user_id,
            name,
            title,
        })
        .collect())
}

/// Who asks, as the receiver is told: the municipality's social services and the caseworker.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Sender {
    /// E.g. "Socialtjänsten i Ekby kommun".
    pub from: String,
    pub name: String,
    pub title: String,
    pub phone: String,
    pub email: String,
}

pub fn sender_of(
    conn: &mut AnyConnection,
    request: &InformationRequest,
) -> Result<Sender, AppError> {
    let municipality: String = municipalities::table
        .find(&request.municipality_id)
        .select(municipalities::name)
        .get_result(conn)?;
    let (name, title, phone, email): (String, String, String, String) = users::table
        .find(&request.sent_by)
        .select((users::name, users::title, users::phone, users::email))
        .get_result(conn)?;
    Ok(Sender {
        from: format!("Socialtjänsten i {municipality} kommun"),
        name,
        title,
        phone,
        email,
    })
}

/// Records that `reader` read the request; the first read by a receiver is kept as read.
pub fn record_read(
    conn: &mut AnyConnection,
    request: &InformationRequest,
    reader: &AuditActor,
    by_receiver: bool,
) -> Result<InformationRequest, AppError> {
    write_tx(conn, |conn| {
        let mut request = request.clone();
        if by_receiver && request.first_read_at.is_none() {
            let at = now();
            let changed = diesel::update(
                information_requests::table
                    .find(&request.id)
                    .filter(information_requests::first_read_at.is_null()),
            )
            .set(information_requests::first_read_at.eq(at))
            .execute(conn)?;
            if changed > 0 {
                request.first_read_at = Some(at);
            }
        }
        Event::success(
            reader,
            "information_request.read",
            Object::InformationRequest(request.id.as_str()),
        )
        .record_in(conn, &request.municipality_id)?;
        Ok(request)
    })
}

/// Records the reply (once): the answer with its checked files, or when `declined` the reason
/// for not answering; files it in the child's journal as a signed entry; with its audit entry;
/// all in one transaction, so a refusal stores nothing.
pub fn reply(
    conn: &mut AnyConnection,
    keys: &Keyring,
    receiver: &AuthUser,
    request: &InformationRequest,
    text: &str,
    declined: bool,
    files: &[CheckedFile],
) -> Result<(InformationRequest, Vec<files::FileInfo>), AppError> {
    write_tx(conn, |conn| {
        let at = now();
        let changed = diesel::update(
            information_requests::table
                .find(&request.id)
                .filter(information_requests::replied_at.is_null()),
        )
        .set((
            information_requests::reply.eq(keys.seal("information_requests.reply", text)),
            information_requests::replied_at.eq(at),
            information_requests::replied_by.eq(&receiver.id),
            information_requests::declined.eq(declined),
        ))
        .execute(conn)?;
        if changed == 0 {
            return Err(already_done());
        }
        let stored = files::insert(conn, keys, &receiver.id, request, files)?;
        let entry = filing::file(conn, keys, receiver, request, text, declined, &stored)?;
        let (report_id, child_id): (String, String) = crate::db::schema::investigations::table
            .find(&request.investigation_id)
            .select((
                crate::db::schema::investigations::report_id,
                crate::db::schema::investigations::child_id,
            ))
            .get_result(conn)?;
        crate::webhooks::queue(
            conn,
            &request.municipality_id,
            if declined {
                crate::webhooks::EventType::InformationRequestDeclined
            } else {
                crate::webhooks::EventType::InformationRequestAnswered
            },
            &[
                ("information_request_id", request.id.as_str()),
                ("investigation_id", request.investigation_id.as_str()),
                ("report_id", report_id.as_str()),
                ("child_id", child_id.as_str()),
            ],
        )?;
        Event::success(
            &AuditActor::from(receiver),
            if declined {
                "information_request.decline"
            } else {
                "information_request.answer"
            },
            Object::InformationRequest(request.id.as_str()),
        )
        .detail(&format!(
            "files={} journal_entry={}",
            stored.len(),
            entry.id
        ))
        .record_in(conn, &request.municipality_id)?;
        Ok((
            InformationRequest {
                reply: Some(text.to_string()),
                replied_at: Some(at),
                replied_by: Some(receiver.id.clone()),
                declined,
                ..request.clone()
            },
            stored,
        ))
    })
}

pub fn already_done() -> AppError {
    AppError::Conflict("Begäran är redan besvarad eller avböjd.".into())
}

/// How many requests are addressed to `user`, and how many of them wait for a reply (for the
/// start page: numbers only, nothing of a request).
pub fn count_addressed(conn: &mut AnyConnection, user: &UserId) -> Result<(i64, i64), AppError> {
    let all: i64 = information_request_recipients::table
        .filter(information_request_recipients::user_id.eq(user))
        .count()
        .get_result(conn)?;
    let open: i64 = information_requests::table
        .inner_join(information_request_recipients::table)
        .filter(information_request_recipients::user_id.eq(user))
        .filter(information_requests::replied_at.is_null())
        .count()
        .get_result(conn)?;
    Ok((all, open))
}

/// The requests addressed to `user`, newest first; the list read is audited.
pub fn addressed_to(
    conn: &mut AnyConnection,
    keys: &Keyring,
    user: &AuthUser,
) -> Result<Vec<InformationRequest>, AppError> {
    let rows = information_requests::table
        .inner_join(information_request_recipients::table)
        .filter(information_request_recipients::user_id.eq(&user.id))
        .order(information_requests::sent_at.desc())
        .select(InformationRequest::as_select())
        .load::<InformationRequest>(conn)?
        .into_iter()
        .map(|r| r.open(keys))
        .collect::<Result<Vec<_>, _>>()?;
    Event::success(
        &AuditActor::from(user),
        "information_request.list_own",
        Object::User(user.id.as_str()),
    )
    .detail(&format!("requests={}", rows.len()))
    .record(conn)?;
    Ok(rows)
}

/// The requests of an investigation, oldest first; the read is audited.
pub fn of_investigation(
    conn: &mut AnyConnection,
    keys: &Keyring,
    investigation: &Investigation,
    reader: &AuditActor,
) -> Result<Vec<InformationRequest>, AppError> {
    let rows = information_requests::table
        .filter(information_requests::investigation_id.eq(&investigation.id))
        .order(information_requests::sent_at)
        .select(InformationRequest::as_select())
        .load::<InformationRequest>(conn)?
        .into_iter()
        .map(|r| r.open(keys))
        .collect::<Result<Vec<_>, _>>()?;
    Event::success(
        reader,
        "information_request.list",
        Object::Investigation(investigation.id.as_str()),
    )
    .detail(&format!("requests={}", rows.len()))
    .record_in(conn, &investigation.municipality_id)?;
    Ok(rows)
}

/// Reminds the receivers of every unanswered request whose last day is within
/// [`model::REMIND_DAYS_BEFORE`] days of `today` (and not past), once, by a content-free email;
/// each request in its own transaction with its audit entry. Safe to race: a request reminded
/// meanwhile by another instance is skipped. Returns how many requests were reminded.
pub fn send_reminders(
    conn: &mut AnyConnection,
    settings: &Settings,
    today: NaiveDate,
) -> Result<usize, AppError> {
    let Some(horizon) = today.checked_add_days(chrono::Days::new(model::REMIND_DAYS_BEFORE)) else {
        return Ok(0);
    };
    let due: Vec<(InformationRequestId, String, MunicipalityId, NaiveDate)> =
        information_requests::table
            .filter(information_requests::replied_at.is_null())
            .filter(information_requests::reminded_at.is_null())
            .filter(information_requests::due_on.ge(today))
            .filter(information_requests::due_on.le(horizon))
            .select((
                information_requests::id,
                information_requests::reference,
                information_requests::municipality_id,
                information_requests::due_on,
            ))
            .load(conn)?;
    let mut reminded = 0;
    for (id, reference, municipality, due_on) in due {
        let done = write_tx(conn, |conn| {
            let changed = diesel::update(
                information_requests::table
                    .find(&id)
                    .filter(information_requests::reminded_at.is_null())
                    .filter(information_requests::replied_at.is_null()),
            )
            .set(information_requests::reminded_at.eq(now()))
            .execute(conn)?;
            if changed == 0 {
                return Ok::<_, AppError>(false);
            }
            let municipality_name: String = municipalities::table
                .find(&municipality)
                .select(municipalities::name)
                .get_result(conn)?;
            let people: Vec<(String, String)> = information_request_recipients::table
                .inner_join(users::table)
                .filter(information_request_recipients::request_id.eq(&id))
                .select((users::name, users::email))
                .load(conn)?;
            for (name, email) in &people {
                mail::enqueue(
                    conn,
                    &reminder_email(
                        &id,
                        &reference,
                        &municipality_name,
                        due_on,
                        name,
                        email,
                        settings,
                    )?,
                    &municipality,
                    settings,
                )?;
            }
            Event::success(
                &AuditActor::system().within(&municipality),
                "information_request.remind",
                Object::InformationRequest(id.as_str()),
            )
            .detail(&format!("recipients={}", people.len()))
            .record_in(conn, &municipality)?;
            Ok(true)
        })?;
        if done {
            reminded += 1;
        }
    }
    Ok(reminded)
}

/// Reminds a receiver of the last day, with the reference and nothing else.
fn reminder_email(
    id: &InformationRequestId,
    reference: &str,
    municipality: &str,
    due_on: NaiveDate,
    name: &str,
    email: &str,
    settings: &Settings,
) -> Result<Email, AppError> {
    Ok(Email {
        to: mail::recipient(name, email)?,
        subject: format!("Påminnelse: begäran om uppgifter {reference}"),
        text: format!(
            "Hej!\n\nSocialtjänsten i {municipality} kommun väntar på ditt svar på begäran om uppgifter, ref {reference}. \
             Sista dag att svara är {due_on}. Logga in för att läsa och svara:\n{}\n\n\
             Av sekretesskäl står ingenting om ärendet i det här meddelandet.\n\
             Meddelandet skickades automatiskt. Svara inte på det.\n",
            settings.link(&format!("/begaran/{id}")),
        ),
        html: None,
        calendar: None,
    })
}
