//! The outbox page for admins: their municipality's queued, sent and failing messages with the
//! last error.

use actix_web::{web, HttpRequest, Responder};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::accounts::identity::{CurrentActor, Layout};
use crate::authz::{authorize, Action, Resource};
use crate::error::PageError;
use crate::mail::{self, OutboxMessage, OutboxStatus};
use crate::web::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/outbox", web::get().to(get_outbox));
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/outbox.html")]
struct OutboxPage {
    layout: Layout,
    counts: Vec<(OutboxStatus, i64)>,
    messages: Vec<OutboxMessage>,
}

#[derive(Deserialize)]
struct OutboxQuery {
    status: Option<String>,
}

async fn get_outbox(
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<OutboxQuery>,
) -> Result<impl Responder, PageError> {
    let status = query.status.as_deref().and_then(|s| s.parse().ok());
    let (municipality, keys) = (
        user.organisation.municipality_id.clone(),
        state.settings.keys.clone(),
    );
    let (counts, messages) = state
        .db(move |conn| {
            authorize(
                conn,
                &actor,
                Action::View,
                Resource::MailOutbox {
                    municipality: &municipality,
                },
                None,
            )?;
            Ok((
                mail::counts(conn, &municipality)?,
                mail::list(conn, &municipality, status, 200, &keys)?,
            ))
        })
        .await?;
    Ok(OutboxPage {
        layout: Layout::new(&req, Some(user)),
        counts,
        messages,
    })
}
