//! The start page: who is signed in, and a way into each capability their roles open. It gathers
//! every capability's entry, so it sits above them (as `profile.rs` does), not in `web`.

use actix_web::{web, HttpRequest, Responder};
use askama::Template;
use askama_web::WebTemplate;

use crate::accounts::identity::{Layout, MaybeUser};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(get_home));
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
}

async fn get_home(MaybeUser(user): MaybeUser, req: HttpRequest) -> impl Responder {
    HomePage {
        layout: Layout::new(&req, user),
    }
}
