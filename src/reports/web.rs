//! Web pages for reports. So far: "Mina anmälningar", where a professional reporter reads the
//! outcome of their reports.

use actix_web::{web, HttpRequest, Responder};
use askama::Template;
use askama_web::WebTemplate;

use crate::authz::{authorize, Action, Actor, Resource};
use crate::error::PageError;
use crate::reports::store::{self, OwnReport};
use crate::web::csrf::token_for;
use crate::web::identity::CurrentUser;
use crate::web::{AppState, Layout};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/mina-anmalningar", web::get().to(get_my_reports));
}

impl OwnReport {
    /// When it came in, Swedish local time.
    pub fn received_local(&self) -> String {
        crate::reports::deadlines::local(self.received_at)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "my_reports.html")]
struct MyReportsPage {
    layout: Layout,
    reports: Vec<OwnReport>,
}

async fn get_my_reports(
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<impl Responder, PageError> {
    let actor = Actor::User(user.clone());
    let reports = state
        .db(move |conn| {
            authorize(
                conn,
                &actor,
                Action::View,
                Resource::ProfessionalReporting,
                None,
            )?;
            let id = actor.user().map(|u| u.id.clone()).expect("a user");
            store::own_reports(conn, &id)
        })
        .await?;
    Ok(MyReportsPage {
        layout: Layout {
            user: Some(user),
            csrf: token_for(&req),
        },
        reports,
    })
}
