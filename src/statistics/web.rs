//! The page *Statistik* (`/statistik`) and each of its tables as CSV
//! (`/statistik/{table}.csv`), for the period chosen in the page's form.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::accounts::identity::{CurrentActor, Layout};
use crate::error::{AppError, PageError};
use crate::statistics::chart::{self, Series, LOOKS};
use crate::statistics::model::{self, month_label, Cell, Statistics, Table};
use crate::statistics::{statistics, PeriodQuery};
use crate::web::{render, AppState, FormErrors};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/statistik", web::get().to(get_statistics))
        .route("/statistik/{table}", web::get().to(get_csv));
}

/// A chart with what names it: the page shows the title as a heading and the summary beside it.
pub struct Chart {
    pub id: &'static str,
    pub title: String,
    pub summary: String,
    pub svg: String,
    /// (series name, how it looks).
    pub legend: Vec<(String, &'static str)>,
}

#[derive(Template)]
#[template(path = "statistics/statistics.html")]
struct StatisticsPage {
    layout: Layout,
    from: String,
    to: String,
    errors: FormErrors,
    shown: Option<Shown>,
}

struct Shown {
    period: String,
    months: Vec<String>,
    /// `?from=…&to=…` for the CSV links.
    query: String,
    summary: Vec<String>,
    /// Each table, with the charts drawn from it shown before it.
    sections: Vec<(Table, Vec<Chart>)>,
}

fn row_values(table: &Table, key: &str) -> Vec<Option<f64>> {
    table
        .rows
        .iter()
        .find(|r| r.key == key)
        .map(|r| {
            let months = r.cells.len().saturating_sub(1);
            r.cells[..months].iter().map(Cell::value).collect()
        })
        .unwrap_or_default()
}

fn total(table: &Table, key: &str) -> Cell {
    table
        .rows
        .iter()
        .find(|r| r.key == key)
        .map_or(Cell::Empty, model::Row::total)
}

fn legend(names: &[&str]) -> Vec<(String, &'static str)> {
    names
        .iter()
        .zip(LOOKS)
        .map(|(n, look)| ((*n).to_string(), look))
        .collect()
}

fn percent_chart(
    id: &'static str,
    title: &str,
    labels: &[String],
    table: &Table,
    keys: &[(&'static str, &'static str)],
    summary: String,
) -> Chart {
    let series: Vec<Series> = keys
        .iter()
        .map(|(key, name)| Series {
            name,
            values: row_values(table, key),
        })
        .collect();
    Chart {
        id,
        title: title.into(),
        summary,
        svg: chart::percent_lines(id, labels, &series),
        legend: legend(&series.iter().map(|s| s.name).collect::<Vec<_>>()),
    }
}

fn shown(stats: Statistics) -> Shown {
    let months: Vec<String> = stats.period.months().into_iter().map(month_label).collect();
    let received = total(&stats.intake, "reports_received");
    let safety = total(&stats.intake, "safety_assessments_in_time_percent");
    let decisions = total(&stats.intake, "decisions_within_14_days_percent");
    let median = total(&stats.intake, "median_days_to_decision");
    let investigated = total(&stats.intake, "led_to_investigation_percent");
    let closed_in_time = total(
        &stats.investigations,
        "investigations_within_4_months_percent",
    );
    let sip_in_time = total(&stats.sip, "sip_first_meeting_in_time_percent");
    let follow_ups = total(&stats.sip, "sip_follow_ups_held_percent");
    let summary = vec![
        format!("Inkomna anmälningar: {}.", received.text()),
        format!("Skyddsbedömning gjord i tid: {}.", safety.text()),
        format!(
            "Beslut inom 14 dagar: {} (median {} dagar).",
            decisions.text(),
            median.text()
        ),
        format!("Beslut som ledde till utredning: {}.", investigated.text()),
        format!(
            "Utredningar klara inom fyra månader: {}.",
            closed_in_time.text()
        ),
        format!(
            "Första SIP-mötet inom {} dagar: {}; uppföljningar hållna i tid: {}.",
            stats.sip_deadline_days,
            sip_in_time.text(),
            follow_ups.text()
        ),
    ];
    let busiest = stats
        .intake
        .rows
        .first()
        .and_then(|r| {
            r.cells[..months.len()]
                .iter()
                .enumerate()
                .filter_map(|(i, c)| c.value().map(|v| (i, v, *c)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
        })
        .filter(|(_, v, _)| *v > 0.0)
        .map(|(i, _, c)| format!(" Flest kom i {} ({}).", months[i], c.text()))
        .unwrap_or_default();
    let received_chart = Chart {
        id: "mottagna",
        title: "Inkomna anmälningar per månad".into(),
        summary: format!(
            "Under perioden kom {} anmälningar.{busiest} Månader med färre än fem visas utan stapel.",
            received.text()
        ),
        svg: chart::bars(
            "mottagna",
            &months,
            &[Series {
                name: "Inkomna anmälningar",
                values: row_values(&stats.intake, "reports_received"),
            }],
            "Anmälningar",
        ),
        legend: legend(&["Inkomna anmälningar"]),
    };
    let clocks_chart = percent_chart(
        "tider",
        "Andel i tid: skyddsbedömning och beslut inom 14 dagar",
        &months,
        &stats.intake,
        &[
            (
                "safety_assessments_in_time_percent",
                "Skyddsbedömning i tid",
            ),
            ("decisions_within_14_days_percent", "Beslut inom 14 dagar"),
        ],
        format!(
            "Hela perioden: skyddsbedömning i tid {}, beslut inom 14 dagar {}. Månader med färre \
             än fem fall saknar punkt.",
            safety.text(),
            decisions.text()
        ),
    );
    let investigations_chart = percent_chart(
        "utredningstid",
        "Andel utredningar klara inom fyra månader",
        &months,
        &stats.investigations,
        &[(
            "investigations_within_4_months_percent",
            "Klara inom fyra månader",
        )],
        format!(
            "Av utredningarna som avslutades under perioden var {} klara inom fyra månader; {} \
             hade förlängts.",
            closed_in_time.text(),
            total(&stats.investigations, "investigations_extended").text()
        ),
    );
    let sip_chart = percent_chart(
        "sip-tider",
        "SIP: första mötet och uppföljningar i tid",
        &months,
        &stats.sip,
        &[
            ("sip_first_meeting_in_time_percent", "Första mötet i tid"),
            ("sip_follow_ups_held_percent", "Uppföljning hållen i tid"),
        ],
        format!(
            "Första mötet hölls inom kommunens frist på {} dagar i {} av fallen, uppföljningarna \
             hölls senast sitt datum i {}.",
            stats.sip_deadline_days,
            sip_in_time.text(),
            follow_ups.text()
        ),
    );
    let query = format!(
        "?from={}&to={}",
        model::month_key(stats.period.from),
        model::month_key(stats.period.to)
    );
    let Statistics {
        period,
        reporters,
        categories,
        intake,
        investigations,
        sip,
        ..
    } = stats;
    Shown {
        period: period.text(),
        months,
        query,
        summary,
        sections: vec![
            (intake, vec![received_chart, clocks_chart]),
            (reporters, vec![]),
            (categories, vec![]),
            (investigations, vec![investigations_chart]),
            (sip, vec![sip_chart]),
        ],
    }
}

async fn get_statistics(
    req: HttpRequest,
    CurrentActor { user, actor }: CurrentActor,
    state: web::Data<AppState>,
    query: web::Query<PeriodQuery>,
) -> Result<HttpResponse, PageError> {
    let asked = query.into_inner();
    let (from, to) = (
        asked.from.clone().unwrap_or_default(),
        asked.to.clone().unwrap_or_default(),
    );
    let result = state.db(move |conn| statistics(conn, &actor, &asked)).await;
    let (status, errors, shown) = match result {
        Ok(stats) => (StatusCode::OK, FormErrors::default(), Some(shown(stats))),
        Err(AppError::Invalid(errors)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, FormErrors(errors), None)
        }
        Err(e) => return Err(e.into()),
    };
    // The form shows the months shown (or those typed, when wrong).
    let (from, to) = match &shown {
        Some(_) if from.is_empty() && to.is_empty() => (String::new(), String::new()),
        _ => (from, to),
    };
    let page = StatisticsPage {
        layout: Layout::new(&req, Some(user)),
        from,
        to,
        errors,
        shown,
    };
    render(status, &page)
}

/// `/statistik/{table}.csv`: one table for Swedish Excel.
async fn get_csv(
    CurrentActor { actor, .. }: CurrentActor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<PeriodQuery>,
) -> Result<HttpResponse, PageError> {
    let name = path.into_inner();
    let asked = query.into_inner();
    let stats = state
        .db(move |conn| statistics(conn, &actor, &asked))
        .await?;
    let table = name
        .strip_suffix(".csv")
        .and_then(|slug| stats.table(slug))
        .ok_or(AppError::NotFound)?;
    let body = model::csv(table, &stats.period.months()).map_err(AppError::internal)?;
    let file = format!(
        "statistik-{}-{}-{}.csv",
        table.slug,
        model::month_key(stats.period.from),
        model::month_key(stats.period.to)
    );
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file}\""),
        ))
        .body(body))
}
