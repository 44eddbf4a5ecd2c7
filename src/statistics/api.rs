//! `GET /api/v1/statistics`: the caller's municipality's statistics per month, as on the page.

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts::identity::ApiActor;
use crate::error::ApiError;
use crate::statistics::model::{breakdown_figures, figures, month_key, Cell, Statistics};
use crate::statistics::{statistics, PeriodQuery};
use crate::web::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/statistics", web::get().to(get_statistics));
}

/// The figures of one month, or of the whole period (`month` left out).
#[derive(Serialize, ToSchema)]
pub struct FiguresBody {
    /// `YYYY-MM`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub month: Option<String>,
    /// By name: `reports_received`, `safety_assessments_in_time_percent`, `decisions`,
    /// `decisions_within_14_days_percent`, `median_days_to_decision`,
    /// `led_to_investigation_percent` (reports by month of receipt); `investigations_closed`,
    /// `investigations_within_4_months_percent`, `investigations_extended` (by month of
    /// closing); `sips_with_consent`, `sip_median_days_to_first_meeting`,
    /// `sip_first_meeting_in_time_percent` (by month of the first consent),
    /// `sip_follow_ups_due`, `sip_follow_ups_held_percent` (by month of the follow-up date).
    pub figures: BTreeMap<String, Cell>,
    /// Reports received by the reporter's kind of organisation (`skola`, `bvc`, …), `private`
    /// or `anonymous`; a kind with no report in the whole period is left out.
    pub by_reporter: BTreeMap<String, Cell>,
    /// Reports received by category (a report may have several); as `by_reporter`.
    pub by_category: BTreeMap<String, Cell>,
}

#[derive(Serialize, ToSchema)]
pub struct StatisticsBody {
    pub municipality_id: String,
    /// `YYYY-MM`.
    pub from: String,
    /// `YYYY-MM`, included.
    pub to: String,
    pub group: String,
    /// The municipality's deadline for the first SIP meeting, days after consent.
    pub sip_first_meeting_days: i64,
    pub months: Vec<FiguresBody>,
    pub total: FiguresBody,
}

impl StatisticsBody {
    pub fn new(municipality_id: String, stats: &Statistics) -> Self {
        let months = stats.period.months();
        let column = |i: usize, month: Option<String>| FiguresBody {
            month,
            figures: figures(stats, i),
            by_reporter: breakdown_figures(&stats.reporters, i),
            by_category: breakdown_figures(&stats.categories, i),
        };
        StatisticsBody {
            municipality_id,
            from: month_key(stats.period.from),
            to: month_key(stats.period.to),
            group: "month".into(),
            sip_first_meeting_days: stats.sip_deadline_days,
            months: months
                .iter()
                .enumerate()
                .map(|(i, m)| column(i, Some(month_key(*m))))
                .collect(),
            total: column(months.len(), None),
        }
    }
}

/// `GET /api/v1/statistics`: managers and admins, their own municipality's. Every count of 1–4
/// (and every share or median resting on 1–4 cases) is `"<5"`.
#[utoipa::path(get, path = "/api/v1/statistics", tag = "statistics",
    params(PeriodQuery),
    responses(
        (status = 200, description = "Counts and shares per month; no child can be recognised", body = StatisticsBody),
        (status = 403, description = "Not a manager or admin", body = crate::error::ErrorResponse),
        (status = 422, description = "A wrong period, per field", body = crate::error::ErrorResponse),
    ),
    security(("bearer" = [])))]
pub async fn get_statistics(
    ApiActor(actor): ApiActor,
    state: web::Data<AppState>,
    query: web::Query<PeriodQuery>,
) -> Result<HttpResponse, ApiError> {
    let asked = query.into_inner();
    let municipality = actor
        .municipality()
        .map(ToString::to_string)
        .unwrap_or_default();
    let stats = state
        .db(move |conn| statistics(conn, &actor, &asked))
        .await?;
    Ok(HttpResponse::Ok().json(StatisticsBody::new(municipality, &stats)))
}
