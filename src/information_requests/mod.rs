//! Information requests to partners (begäran om uppgifter): within an open investigation a
//! caseworker asks named users of a partner organisation (school, BVC, …) for what they know
//! about the child. Each receiver is told by a content-free email, sees only the requests
//! addressed to them (never the case), and answers with text or declines with a reason; the
//! caseworker sees each request's trail (sent, first read, answered / declined / overdue).
//!
//! Who may do what: caseworkers of the investigation's municipality send, and read the trail
//! (intake officers read it too); the users a request is addressed to read, answer and decline
//! it, with files ([`files`] says which are taken), and may ask for more time, which a caseworker
//! may grant. An answer or a refusal is filed in the child's journal as a signed entry. Anyone
//! else is told it does not exist (404), and that is audited.

pub mod api;
pub mod caseworker_web;
pub mod files;
pub mod model;
pub mod store;
pub mod upload;
pub mod web;

use crate::audit::event::{Event, Object};
use crate::authz::{authorize, policy, Action, Actor, Resource};
use crate::config::Settings;
use crate::db::AnyConnection;
use crate::error::AppError;
use crate::error::FieldError;
use crate::reports;
use crate::reports::store::InvestigationId;
use files::RawFile;
use model::{AnswerInput, DeclineInput, GrantInput, MoreTimeInput, RequestInput};
use store::extensions::MoreTime;
use store::files::{FileId, FileInfo};
use store::{InformationRequest, InformationRequestId, Recipient, Sender};

/// Who is looking at a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Viewer {
    /// A user it is addressed to.
    Receiver,
    /// Social services of its municipality.
    SocialServices,
}

/// Sends a request within an open investigation (caseworkers of its municipality).
pub fn send(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    id: &InvestigationId,
    input: &RequestInput,
) -> Result<(InformationRequest, Vec<Recipient>), AppError> {
    let investigation =
        reports::investigation_access(conn, &settings.keys, actor, id, Action::Update)?;
    if investigation.closed_at.is_some() {
        return Err(AppError::Conflict(
            "Utredningen är avslutad. Du kan inte skicka en ny begäran om uppgifter i den.".into(),
        ));
    }
    let sender = actor.user().ok_or(AppError::NotFound)?;
    let valid = model::validate(
        input,
        crate::db::now().date(),
        settings.information_request_days,
    )
    .map_err(AppError::Invalid)?;
    store::create(conn, settings, sender, &investigation, &valid)
}

/// The requests of an investigation with their trails (social services of its municipality).
pub fn trail(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    id: &InvestigationId,
) -> Result<Vec<(InformationRequest, Vec<Recipient>)>, AppError> {
    let investigation =
        reports::investigation_access(conn, &settings.keys, actor, id, Action::View)?;
    let requests =
        store::of_investigation(conn, &settings.keys, &investigation, &actor.audit_actor())?;
    requests
        .into_iter()
        .map(|r| {
            let recipients = store::recipients_of(conn, &r.id)?;
            Ok((r, recipients))
        })
        .collect()
}

/// Finds a request and checks who `actor` is to it: a user it is addressed to, or (only when
/// `receiver_only` is false) social services of its municipality. One that does not exist and
/// one the caller may not see look the same (404), and both are audited.
pub fn access(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    id: &InformationRequestId,
    action: Action,
    receiver_only: bool,
) -> Result<(InformationRequest, Viewer), AppError> {
    let Some(request) = store::find(conn, &settings.keys, id)? else {
        Event::denied(
            &actor.audit_actor(),
            "information_request.access",
            Object::InformationRequest(id.as_str()),
        )
        .detail("no such information request")
        .record(conn)?;
        return Err(AppError::NotFound);
    };
    let addressed = match actor.user() {
        Some(user) => store::is_addressed_to(conn, id, &user.id)?,
        None => false,
    };
    let social_services = Resource::Investigations {
        municipality: &request.municipality_id,
    };
    if addressed || receiver_only || policy::decide(actor, Action::View, &social_services).is_err()
    {
        // A refusal names the request (kind `information_request`), not the investigation.
        authorize(
            conn,
            actor,
            action,
            Resource::AddressedRequest { addressed },
            Some(id.as_str()),
        )?;
        return Ok((request, Viewer::Receiver));
    }
    Ok((request, Viewer::SocialServices))
}

/// One request as shown: who it is to and from, its files and asks for more time.
pub struct Detail {
    pub request: InformationRequest,
    pub viewer: Viewer,
    pub recipients: Vec<Recipient>,
    pub sender: Sender,
    pub files: Vec<FileInfo>,
    pub more_time: Vec<MoreTime>,
}

/// Reads one request (a receiver, or social services of its municipality), audited; a
/// receiver's first read is kept on the request's trail.
pub fn read(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    id: &InformationRequestId,
) -> Result<Detail, AppError> {
    let (request, viewer) = access(conn, settings, actor, id, Action::View, false)?;
    let request = store::record_read(
        conn,
        &request,
        &actor.audit_actor(),
        viewer == Viewer::Receiver,
    )?;
    let recipients = store::recipients_of(conn, id)?;
    let sender = store::sender_of(conn, &request)?;
    let files = store::files::list(conn, &settings.keys, id)?;
    let more_time = store::extensions::of_request(conn, &settings.keys, &request)?;
    Ok(Detail {
        request,
        viewer,
        recipients,
        sender,
        files,
        more_time,
    })
}

/// Checks, before an answer's body is read, that `actor` may answer the request at all (a
/// receiver of an open request), so that nobody else can make the service read an upload.
pub fn may_answer(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    id: &InformationRequestId,
) -> Result<(), AppError> {
    let (request, _) = access(conn, settings, actor, id, Action::Update, true)?;
    if !request.is_open() {
        return Err(store::already_done());
    }
    Ok(())
}

/// Answers a request with text and files (a receiver, once). Every file is checked (name, size,
/// type by content) before anything is stored; one refused file stores nothing, and each
/// problem is named under `file`.
pub fn answer(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    id: &InformationRequestId,
    input: &AnswerInput,
    uploaded: Vec<RawFile>,
) -> Result<(InformationRequest, Vec<FileInfo>), AppError> {
    let (request, _) = access(conn, settings, actor, id, Action::Update, true)?;
    let receiver = actor.user().ok_or(AppError::NotFound)?;
    if !request.is_open() {
        return Err(store::already_done());
    }
    let mut errors = Vec::new();
    let text = match model::validate_text(&input.text, "text", "Skriv ditt svar.") {
        Ok(text) => Some(text),
        Err(e) => {
            errors.extend(e);
            None
        }
    };
    if uploaded.len() > files::MAX_FILES {
        errors.push(FieldError::new(
            "file",
            format!("Skicka högst {} filer i ett svar.", files::MAX_FILES),
        ));
    }
    let mut checked = Vec::new();
    for file in uploaded {
        match files::check(file) {
            Ok(file) => checked.push(file),
            Err(problem) => errors.push(FieldError::new("file", problem)),
        }
    }
    match text {
        Some(text) if errors.is_empty() => store::reply(
            conn,
            &settings.keys,
            receiver,
            &request,
            &text,
            false,
            &checked,
        ),
        _ => Err(AppError::Invalid(errors)),
    }
}

/// One file of a request's answer (a receiver, or social services of its municipality), its
/// read audited; 404 (audited) for a file the request does not have.
pub fn file(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    id: &InformationRequestId,
    file: &FileId,
) -> Result<(FileInfo, Vec<u8>), AppError> {
    let (request, _) = access(conn, settings, actor, id, Action::View, false)?;
    store::files::read(conn, &settings.keys, &actor.audit_actor(), &request, file)?
        .ok_or(AppError::NotFound)
}

/// A receiver asks for more time on an open request, with a reason and perhaps a wished date.
pub fn ask_more_time(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    id: &InformationRequestId,
    input: &MoreTimeInput,
) -> Result<InformationRequest, AppError> {
    let (request, _) = access(conn, settings, actor, id, Action::Update, true)?;
    let receiver = actor.user().ok_or(AppError::NotFound)?;
    if !request.is_open() {
        return Err(store::already_done());
    }
    let (reason, wished_on) =
        model::validate_more_time(input, request.due_on).map_err(AppError::Invalid)?;
    store::extensions::ask(conn, &settings.keys, receiver, &request, &reason, wished_on)?;
    Ok(request)
}

/// A caseworker of the municipality gives an open request a new last day (after an ask for more
/// time, or without one); its reminder follows the new day.
pub fn grant_more_time(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    id: &InformationRequestId,
    input: &GrantInput,
) -> Result<InformationRequest, AppError> {
    let (request, viewer) = access(conn, settings, actor, id, Action::View, false)?;
    if viewer != Viewer::SocialServices {
        // A receiver cannot move the last day: told it is not there, audited.
        return crate::authz::not_found(
            conn,
            actor,
            "information_request.grant_more_time",
            Object::InformationRequest(id.as_str()),
            "not social services of the request's municipality",
        );
    }
    reports::investigation_access(
        conn,
        &settings.keys,
        actor,
        &request.investigation_id,
        Action::Update,
    )?;
    let granter = actor.user().ok_or(AppError::NotFound)?;
    if !request.is_open() {
        return Err(store::already_done());
    }
    let due_on = model::validate_new_due_date(&input.due_on, crate::db::now().date())
        .map_err(AppError::Invalid)?;
    store::extensions::grant(conn, granter, &request, due_on)
}

/// Declines a request with a reason (a receiver, once).
pub fn decline(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
    id: &InformationRequestId,
    input: &DeclineInput,
) -> Result<InformationRequest, AppError> {
    let (request, _) = access(conn, settings, actor, id, Action::Update, true)?;
    let receiver = actor.user().ok_or(AppError::NotFound)?;
    if !request.is_open() {
        return Err(store::already_done());
    }
    let reason = model::validate_text(
        &input.reason,
        "reason",
        "Skriv varför du inte kan lämna uppgifterna.",
    )
    .map_err(AppError::Invalid)?;
    store::reply(conn, &settings.keys, receiver, &request, &reason, true, &[]).map(|(r, _)| r)
}

/// The requests addressed to the actor, newest first.
pub fn inbox(
    conn: &mut AnyConnection,
    settings: &Settings,
    actor: &Actor,
) -> Result<Vec<InformationRequest>, AppError> {
    let user = actor.user().ok_or(AppError::Forbidden)?;
    store::addressed_to(conn, &settings.keys, user)
}

/// Sends due-date reminders every `interval` in the background (every instance; a request is
/// reminded once whichever instance gets there first).
pub async fn schedule_reminders(
    pool: crate::db::DbPool,
    settings: std::sync::Arc<Settings>,
    interval: std::time::Duration,
) {
    loop {
        let pool = pool.clone();
        let settings = settings.clone();
        let result = actix_web::web::block(move || -> Result<usize, AppError> {
            let mut conn = pool.get()?;
            store::send_reminders(&mut conn, &settings, crate::db::now().date())
        })
        .await;
        match result {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(requests = n, "information requests: reminders queued"),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "information request reminders failed; will retry");
            }
            Err(e) => {
                tracing::warn!(error = %e, "information request reminder task failed; will retry");
            }
        }
        tokio::time::sleep(interval).await;
    }
}
