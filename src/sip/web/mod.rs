//! The SIP's pages, one file per audience: the caseworker's ([`caseworker`]), the partner's
//! ([`partner`]), the answer page behind every invitation's link ([`answer`]), the plan
//! ([`plan`]) and finding a time ([`times`]). Thin: each handler reads the form, calls
//! [`crate::sip`] and renders.

mod answer;
mod caseworker;
mod partner;
mod plan;
mod times;

use actix_web::web;

/// The routes anyone with a link may use: the answer page, which needs no login.
pub fn routes(cfg: &mut web::ServiceConfig) {
    answer::routes(cfg);
}

/// The routes of logged-in users: caseworkers' SIPs, and partners' meetings and plans.
pub fn caseworker_routes(cfg: &mut web::ServiceConfig) {
    caseworker::routes(cfg);
    times::routes(cfg);
    plan::routes(cfg);
    partner::routes(cfg);
}

/// "Mål 1", "Mål 2", ...
pub fn goal_label(n: impl std::fmt::Display) -> String {
    format!("Mål {n}")
}
