//! The audit trail page for admins: the entries of their own municipality.

use actix_web::{web, HttpRequest, Responder};
use askama::Template;
use askama_web::WebTemplate;

use crate::accounts::identity::{CurrentActor, Layout};
use crate::audit::{self, Entry, Filter};
use crate::authz::{authorize, Action, Resource};
use crate::error::PageError;
use crate::web::AppState;

const PAGE_SIZE: i64 = 100;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/audit", web::get().to(get_audit));
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    layout: Layout,
    filter: Filter,
    entries: Vec<Entry>,
    /// Where the next page of older entries starts, if there is one.
    older: Option<i64>,
}

async fn get_audit(
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<Filter>,
) -> Result<impl Responder, PageError> {
    let filter = query.into_inner();
    let wanted = filter.clone();
    let municipality = user.organisation.municipality_id.clone();
    let entries = state
        .db(move |conn| {
            authorize(
                conn,
                &actor,
                Action::View,
                Resource::AuditTrail {
                    municipality: &municipality,
                },
                None,
            )?;
            audit::list(conn, &municipality, &wanted, PAGE_SIZE)
        })
        .await?;
    let older = (entries.len() as i64 == PAGE_SIZE)
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    Ok(AuditPage {
        layout: Layout::new(&req, Some(user)),
        filter,
        entries,
        older,
    })
}
