//! The receiver's pages: *Begäran om uppgifter* (`/begaran`, the requests addressed to me, open
//! and newest first) and one request (`/begaran/{id}`: the questions, the last day, the legal
//! basis, who asks, and forms to answer with text and files, to decline, to ask for more time).
//! Made to be used on a phone. The same `/begaran/{id}` shows social services of the
//! municipality the trail and the answer with its files, and lets a caseworker set a new last
//! day. Files are downloaded from `/begaran/{id}/filer/{file_id}`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::accounts::identity::{CurrentActor, Layout};
use crate::authz::Actor;
use crate::error::{AppError, FieldError, PageError};
use crate::information_requests::files::MAX_FILES;
use crate::information_requests::model::{
    AnswerInput, DeclineInput, GrantInput, MoreTimeInput, Status,
};
use crate::information_requests::store::extensions::MoreTime;
use crate::information_requests::store::files::{FileId, FileInfo};
use crate::information_requests::store::{
    InformationRequest, InformationRequestId, Recipient, Sender,
};
use crate::information_requests::{self as requests, upload, Detail, Viewer};
use crate::time::local_text;
use crate::web::csrf::{check_token, CsrfForm};
use crate::web::{render, see_other, AppState, FormErrors, Saved, SavedOn, SavedQuery};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/begaran", web::get().to(get_inbox))
        .route("/begaran/{id}", web::get().to(get_request))
        .route("/begaran/{id}/svar", web::post().to(post_answer))
        .route("/begaran/{id}/avboj", web::post().to(post_decline))
        .route("/begaran/{id}/mer-tid", web::post().to(post_more_time))
        .route("/begaran/{id}/ny-svarsdag", web::post().to(post_due_date))
        .route("/begaran/{id}/filer/{file_id}", web::get().to(get_file));
}

impl InformationRequest {
    /// Where it stands today, in words.
    pub fn status_label(&self) -> &'static str {
        self.status(crate::db::now().date()).label()
    }

    /// Whether it is past its last day without a reply.
    pub fn is_overdue(&self) -> bool {
        self.status(crate::db::now().date()) == Status::Overdue
    }

    pub fn sent_local(&self) -> String {
        local_text(&self.sent_at)
    }

    pub fn first_read_local(&self) -> String {
        self.first_read_at
            .as_ref()
            .map(local_text)
            .unwrap_or_default()
    }

    pub fn replied_local(&self) -> String {
        self.replied_at.as_ref().map(local_text).unwrap_or_default()
    }
}

impl MoreTime {
    pub fn asked_local(&self) -> String {
        local_text(&self.asked_at)
    }
}

/// One line of the receiver's list.
struct Line {
    request: InformationRequest,
    from: String,
}

#[derive(Template)]
#[template(path = "information_requests/inbox.html")]
struct InboxPage {
    layout: Layout,
    lines: Vec<Line>,
}

async fn get_inbox(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let lines = state
        .db_with_settings(move |conn, settings| {
            let mut list = requests::inbox(conn, settings, &actor)?;
            // Open first, then newest first (the list comes newest first).
            list.sort_by_key(|r| !r.is_open());
            list.into_iter()
                .map(|request| {
                    let from = requests::store::sender_of(conn, &request)?.from;
                    Ok(Line { request, from })
                })
                .collect::<Result<Vec<_>, AppError>>()
        })
        .await?;
    let page = InboxPage {
        layout: Layout::new(&req, Some(user)),
        lines,
    };
    render(StatusCode::OK, &page)
}

/// What the forms of the page held, kept when one is shown again.
#[derive(Clone, Debug, Default, Deserialize)]
struct Typed {
    #[serde(default)]
    text: String,
    #[serde(default)]
    decline_reason: String,
    #[serde(default)]
    more_time_reason: String,
    #[serde(default)]
    wished_on: String,
    #[serde(default)]
    due_on: String,
}

#[derive(Template)]
#[template(path = "information_requests/show.html")]
struct RequestPage {
    layout: Layout,
    r: InformationRequest,
    viewer: Viewer,
    sender: Sender,
    recipients: Vec<Recipient>,
    files: Vec<FileInfo>,
    more_time: Vec<MoreTime>,
    typed: Typed,
    errors: FormErrors,
    saved: &'static str,
    max_files: usize,
    max_mb: usize,
}

impl RequestPage {
    fn is_receiver(&self) -> bool {
        self.viewer == Viewer::Receiver
    }

    /// Whether a caseworker may set a new last day here.
    fn may_move_due_date(&self) -> bool {
        self.viewer == Viewer::SocialServices
            && self.r.is_open()
            && self.layout.user.as_ref().is_some_and(|u| {
                u.has_role(crate::accounts::Role::Caseworker)
                    && u.organisation.municipality_id == self.r.municipality_id
            })
    }

    fn files_hint(&self) -> String {
        format!(
            "PDF, bilder (PNG, JPEG) eller Word-dokument. Högst {} MB per fil och högst {} filer.",
            self.max_mb, self.max_files
        )
    }
}

async fn request_page(
    req: &HttpRequest,
    state: &AppState,
    user: crate::accounts::AuthUser,
    id: InformationRequestId,
    typed: Typed,
    errors: Vec<FieldError>,
    saved: &'static str,
) -> Result<RequestPage, AppError> {
    let actor = Actor::User(user.clone());
    let detail = state
        .db_with_settings(move |conn, settings| requests::read(conn, settings, &actor, &id))
        .await?;
    let Detail {
        request,
        viewer,
        recipients,
        sender,
        files,
        more_time,
    } = detail;
    Ok(RequestPage {
        layout: Layout::new(req, Some(user)),
        r: request,
        viewer,
        sender,
        recipients,
        files,
        more_time,
        typed,
        errors: FormErrors(errors),
        saved,
        max_files: MAX_FILES,
        max_mb: crate::information_requests::files::MAX_FILE_BYTES / 1024 / 1024,
    })
}

async fn get_request(
    req: HttpRequest,
    CurrentActor { user, .. }: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<SavedQuery>,
) -> Result<HttpResponse, PageError> {
    let saved = Saved::message_on(SavedOn::InformationRequest, &query);
    let id = InformationRequestId(path.into_inner());
    let page = request_page(&req, &state, user, id, Typed::default(), Vec::new(), saved).await?;
    render(StatusCode::OK, &page)
}

/// What a form's handler got: the result, the confirmation on success, and how the flow's field
/// names map to the page's (two forms on the page have a `reason`).
struct Outcome {
    result: Result<(), AppError>,
    saved: Saved,
    rename: &'static [(&'static str, &'static str)],
}

/// After a form: on to the page with its confirmation, or the page again with the input kept
/// and the errors beside the fields (named as the page's fields by `rename`).
async fn done_or_again(
    req: &HttpRequest,
    state: &AppState,
    user: crate::accounts::AuthUser,
    id: InformationRequestId,
    typed: Typed,
    Outcome {
        result,
        saved,
        rename,
    }: Outcome,
) -> Result<HttpResponse, PageError> {
    match result {
        Ok(()) => Ok(see_other(format!("/begaran/{id}?sparat={}", saved.word()))),
        Err(AppError::Invalid(errors)) => {
            let mut errors: Vec<FieldError> = errors
                .into_iter()
                .map(|mut e| {
                    if let Some((_, to)) = rename.iter().find(|(from, _)| *from == e.field) {
                        e.field = (*to).to_string();
                    }
                    e
                })
                .collect();
            // Several refused files: one message beside the file input, each file named.
            let files: Vec<String> = errors
                .iter()
                .filter(|e| e.field == "file")
                .map(|e| e.message.clone())
                .collect();
            if files.len() > 1 {
                errors.retain(|e| e.field != "file");
                errors.push(FieldError::new("file", files.join(" ")));
            }
            let page = request_page(req, state, user, id, typed, errors, "").await?;
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}

/// The answer form: `multipart/form-data` with `csrf_token`, `text` and `file` parts (or, with
/// no files, a plain form).
async fn post_answer(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let id = InformationRequestId(path.into_inner());
    let (asker, request) = (actor.clone(), id.clone());
    state
        .db_with_settings(move |conn, settings| {
            requests::may_answer(conn, settings, &asker, &request)
        })
        .await?;
    let (typed, result) = match upload::read_form(req.headers(), payload).await {
        Ok(upload) => {
            check_token(&req, Some(&upload.field(crate::web::csrf::FIELD)))?;
            let typed = Typed {
                text: upload.field("text"),
                ..Typed::default()
            };
            let input = AnswerInput {
                text: typed.text.clone(),
            };
            let files = upload.files;
            let request = id.clone();
            let result = state
                .db_with_settings(move |conn, settings| {
                    requests::answer(conn, settings, &actor, &request, &input, files)
                })
                .await
                .map(|_| ());
            (typed, result)
        }
        // Too large to read: nothing was kept, the text neither.
        Err(e @ AppError::Invalid(_)) => (Typed::default(), Err(e)),
        Err(e) => return Err(e.into()),
    };
    done_or_again(
        &req,
        &state,
        user,
        id,
        typed,
        Outcome {
            result,
            saved: Saved::RequestAnswered,
            rename: &[],
        },
    )
    .await
}

/// A form of the request's page (not the answer, which carries files): `flow` runs on what was
/// typed, then on to the page with `saved`, or the page again (see [`done_or_again`]).
#[allow(clippy::too_many_arguments)]
async fn act<T: Send + 'static>(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    typed: Typed,
    saved: Saved,
    rename: &'static [(&'static str, &'static str)],
    flow: impl FnOnce(
            &mut crate::db::AnyConnection,
            &crate::config::Settings,
            &Actor,
            &InformationRequestId,
            &Typed,
        ) -> Result<T, AppError>
        + Send
        + 'static,
) -> Result<HttpResponse, PageError> {
    let id = InformationRequestId(path.into_inner());
    let (request, input) = (id.clone(), typed.clone());
    let result = state
        .db_with_settings(move |conn, settings| flow(conn, settings, &actor, &request, &input))
        .await
        .map(|_| ());
    done_or_again(
        &req,
        &state,
        user,
        id,
        typed,
        Outcome {
            result,
            saved,
            rename,
        },
    )
    .await
}

async fn post_decline(
    req: HttpRequest,
    current: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    CsrfForm(typed): CsrfForm<Typed>,
) -> Result<HttpResponse, PageError> {
    let rename = &[("reason", "decline_reason")];
    act(
        req,
        current,
        state,
        path,
        typed,
        Saved::RequestDeclined,
        rename,
        |conn, settings, actor, id, typed| {
            let input = DeclineInput {
                reason: typed.decline_reason.clone(),
            };
            requests::decline(conn, settings, actor, id, &input)
        },
    )
    .await
}

async fn post_more_time(
    req: HttpRequest,
    current: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    CsrfForm(typed): CsrfForm<Typed>,
) -> Result<HttpResponse, PageError> {
    let rename = &[("reason", "more_time_reason")];
    act(
        req,
        current,
        state,
        path,
        typed,
        Saved::MoreTimeAsked,
        rename,
        |conn, settings, actor, id, typed| {
            let input = MoreTimeInput {
                reason: typed.more_time_reason.clone(),
                wished_on: typed.wished_on.clone(),
            };
            requests::ask_more_time(conn, settings, actor, id, &input)
        },
    )
    .await
}

async fn post_due_date(
    req: HttpRequest,
    current: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    CsrfForm(typed): CsrfForm<Typed>,
) -> Result<HttpResponse, PageError> {
    act(
        req,
        current,
        state,
        path,
        typed,
        Saved::DueDateMoved,
        &[],
        |conn, settings, actor, id, typed| {
            let input = GrantInput {
                due_on: typed.due_on.clone(),
            };
            requests::grant_more_time(conn, settings, actor, id, &input)
        },
    )
    .await
}

async fn get_file(
    CurrentActor { actor, .. }: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (id, file_id) = path.into_inner();
    let (id, file_id) = (InformationRequestId(id), FileId(file_id));
    let found = state
        .db_with_settings(move |conn, settings| {
            requests::file(conn, settings, &actor, &id, &file_id)
        })
        .await?;
    Ok(crate::information_requests::api::attachment(found))
}
