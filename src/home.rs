//! The start page: who is signed in, and a way into each capability their roles open. It gathers
//! every capability's entry, so it sits above them (as `profile.rs` does), not in `web`.

use actix_web::{web, HttpRequest, Responder};
use askama::Template;
use askama_web::WebTemplate;

use crate::accounts::identity::{Layout, MaybeUser};
use crate::error::PageError;
use crate::web::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(get_home));
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    /// The requests for information addressed to the user: how many, and how many open.
    requests: (i64, i64),
}

async fn get_home(
    MaybeUser(user): MaybeUser,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<impl Responder, PageError> {
    let requests = match &user {
        Some(u) => {
            let id = u.id.clone();
            state
                .db(move |conn| crate::information_requests::store::count_addressed(conn, &id))
                .await?
        }
        None => (0, 0),
    };
    Ok(HomePage {
        layout: Layout::new(&req, user),
        requests,
    })
}
