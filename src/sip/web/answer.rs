//! The answer page behind the link in every invitation: no login, the token answers only for its
//! own participant and meeting. Opening the link changes nothing (mail scanners open links); the
//! answer is a button press.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::accounts::identity::{Layout, MaybeUser};
use crate::accounts::AuthUser;
use crate::error::{AppError, PageError};
use crate::sip::invitations::place_line;
use crate::sip::model::{swedish_time, Answer};
use crate::sip::store::{answers, Invitee, Meeting};
use crate::web::csrf::CsrfForm;
use crate::web::{render, AppState};

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/svar/{token}", web::get().to(get_answer))
        .route("/svar/{token}", web::post().to(post_answer));
}

#[derive(Template)]
#[template(path = "sip/answer.html")]
struct AnswerPage {
    layout: Layout,
    when: String,
    place: String,
    cancelled: bool,
    current: Answer,
    saved: bool,
    answers: [Answer; 3],
}

fn page(
    req: &HttpRequest,
    user: Option<AuthUser>,
    meeting: &Meeting,
    invitee: &Invitee,
    saved: bool,
) -> AnswerPage {
    AnswerPage {
        layout: Layout::new(req, user),
        when: swedish_time(meeting.starts_at, meeting.minutes),
        place: place_line(meeting),
        cancelled: meeting.cancelled_at.is_some(),
        current: invitee.status,
        saved,
        answers: [Answer::Coming, Answer::Maybe, Answer::NotComing],
    }
}

async fn get_answer(
    req: HttpRequest,
    MaybeUser(user): MaybeUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let (token, keys) = (path.into_inner(), state.settings.keys.clone());
    let (meeting, invitee) = state
        .db(move |conn| answers::find_by_token(conn, &keys, &token))
        .await?
        .ok_or(AppError::NotFound)?;
    render(StatusCode::OK, &page(&req, user, &meeting, &invitee, false))
}

#[derive(Deserialize)]
struct AnswerForm {
    #[serde(default)]
    answer: String,
}

async fn post_answer(
    req: HttpRequest,
    MaybeUser(user): MaybeUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<AnswerForm>,
) -> Result<HttpResponse, PageError> {
    let token = path.into_inner();
    let answer = match form.answer.parse::<Answer>() {
        Ok(a) if a != Answer::NoAnswer => a,
        _ => return Err(AppError::BadRequest("Välj ett av svaren.".into()).into()),
    };
    let keys = state.settings.keys.clone();
    let (meeting, invitee) = state
        .db(move |conn| {
            answers::answer_by_token(conn, &keys, &token, answer)?;
            answers::find_by_token(conn, &keys, &token)?.ok_or(AppError::NotFound)
        })
        .await?;
    render(StatusCode::OK, &page(&req, user, &meeting, &invitee, true))
}
