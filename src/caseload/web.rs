//! The page *Mina utredningar* (`/mina-utredningar`): the caseworker's open investigations, the
//! ones with something due within the coming week first, each with its clock, open information
//! requests, next SIP meeting and next follow-up. Read-only; assigning is on `/utredningar`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::accounts::identity::{CurrentActor, Layout};
use crate::caseload::{my_investigations, Case};
use crate::error::PageError;
use crate::reports::deadlines::{self, Urgency};
use crate::web::{render, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/mina-utredningar", web::get().to(get_mine));
}

/// A date with how urgent it is, as `reports/clock.html` shows it.
pub struct Clock {
    pub due: String,
    pub urgency: Urgency,
}

impl Case {
    pub fn clock(&self) -> Clock {
        Clock {
            due: self.line.investigation.due_on.to_string(),
            urgency: deadlines::urgency(
                self.line.investigation.due_on,
                crate::time::local(crate::db::now()).date(),
            ),
        }
    }

    pub fn next_meeting_local(&self) -> String {
        self.line
            .next_meeting
            .as_ref()
            .map(crate::time::local_text)
            .unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "caseload/mine.html")]
struct MinePage {
    layout: Layout,
    this_week: Vec<Case>,
    later: Vec<Case>,
}

async fn get_mine(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let today = crate::time::local(crate::db::now()).date();
    let cases = state
        .db_with_settings(move |conn, settings| {
            my_investigations(conn, &settings.keys, &actor, today)
        })
        .await?;
    let (this_week, later) = cases.into_iter().partition(|c| c.due_this_week);
    let page = MinePage {
        layout: Layout::new(&req, Some(user)),
        this_week,
        later,
    };
    render(StatusCode::OK, &page)
}
