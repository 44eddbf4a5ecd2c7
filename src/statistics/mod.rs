//! Statistics for managers (enhetschefer) and admins: how fast a municipality's reports are
//! handled, by month — reports received by kind of reporter and by category, the clocks of the
//! förhandsbedömning, investigations finished in time, SIP first meetings and follow-ups.
//!
//! Only counts and shares, never names or ids; a count of 1–4, or a share or median resting on
//! 1–4 cases, is shown as "<5" on the page, in the CSV and in the API ([`model::Cell`]). Every
//! figure is an SQL aggregate ([`store`]); the page draws charts as SVG on the server
//! ([`chart`]), each with a text summary and a table of the same numbers.
//!
//! Who may read ([`crate::authz::Resource::Statistics`]): managers and admins, each their own
//! municipality's; others are refused (403), and that is audited. Each reading is audited too.

pub mod api;
pub mod chart;
pub mod model;
pub mod store;
pub mod web;

use crate::authz::{authorize, Action, Actor, Resource};
use crate::db::{now, AnyConnection};
use crate::error::AppError;
use model::{Period, Statistics};

/// The statistics of the asker's municipality for the period asked for (`from`, `to`, `group`
/// as in [`Period::parse`]): access is checked first, then the period (422 per field).
pub fn statistics(
    conn: &mut AnyConnection,
    actor: &Actor,
    asked: &PeriodQuery,
) -> Result<Statistics, AppError> {
    let municipality = actor
        .municipality()
        .cloned()
        .unwrap_or_else(|| crate::accounts::MunicipalityId(String::new()));
    authorize(
        conn,
        actor,
        Action::View,
        Resource::Statistics {
            municipality: &municipality,
        },
        None,
    )?;
    let now = now();
    let today = crate::time::local(now).date();
    let period = Period::parse(
        asked.from.as_deref(),
        asked.to.as_deref(),
        asked.group.as_deref(),
        today,
    )
    .map_err(AppError::Invalid)?;
    let raw = store::counts(conn, actor, &municipality, period, now)?;
    Ok(model::build(period, &raw))
}

/// The period asked for, as typed (the page's form and the API's query).
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// The first month, `YYYY-MM` (default: eleven months before `to`).
    pub from: Option<String>,
    /// The last month, `YYYY-MM` (default: this month).
    pub to: Option<String>,
    /// Only `month`.
    pub group: Option<String>,
}
