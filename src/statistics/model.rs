//! The statistics' pure rules: the period asked for, how a figure is shown so that no child can be
//! recognised (any count, or the basis of a share or median, of 1–4 is "<5"), the median from a
//! histogram, and the tables built from the store's raw counts. No I/O.

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime};

use crate::error::FieldError;

/// Counts from 1 up to this (not included) are shown as "<5".
pub const SMALL: i64 = 5;
/// The longest period that may be asked for, in months.
pub const MAX_MONTHS: u32 = 60;

/// One figure as shown on the page, in the CSV and in the API.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell {
    /// A count: 0, or at least [`SMALL`].
    Count(i64),
    /// A count, or the basis of a share or a median, of 1–4: shown as "<5".
    Few,
    /// A count of at least [`SMALL`] hidden because, shown, it would let a "<5" beside it be
    /// worked out from a sum (see [`protect`]): shown as "..".
    Hidden,
    /// A share in whole percent, from a basis of at least [`SMALL`].
    Percent(i64),
    /// A median number of days, from at least [`SMALL`] cases.
    Days(f64),
    /// Nothing to show: no cases at all.
    Empty,
}

impl Cell {
    /// A count as shown.
    pub fn count(n: i64) -> Cell {
        if n > 0 && n < SMALL {
            Cell::Few
        } else {
            Cell::Count(n)
        }
    }

    /// `part` of `basis` in whole percent, as shown.
    pub fn share(part: i64, basis: i64) -> Cell {
        if basis <= 0 {
            Cell::Empty
        } else if basis < SMALL {
            Cell::Few
        } else {
            // Rounded half up, in integers: (200 * part + basis) / (2 * basis).
            Cell::Percent((200 * part + basis) / (2 * basis))
        }
    }

    /// The median of a histogram of days, as shown.
    pub fn median(histogram: &[(i64, i64)]) -> Cell {
        let cases: i64 = histogram.iter().map(|(_, n)| n).sum();
        if cases <= 0 {
            Cell::Empty
        } else if cases < SMALL {
            Cell::Few
        } else {
            median(histogram).map_or(Cell::Empty, Cell::Days)
        }
    }

    /// As the page shows it (Swedish: decimal comma, "67 %").
    pub fn text(&self) -> String {
        match self {
            Cell::Count(n) => n.to_string(),
            Cell::Few => "<5".into(),
            Cell::Hidden => "..".into(),
            Cell::Percent(p) => format!("{p} %"),
            Cell::Days(d) => days_text(*d),
            Cell::Empty => "–".into(),
        }
    }

    /// As the CSV holds it: numbers without unit (the column says it), "<5", or empty.
    pub fn csv(&self) -> String {
        match self {
            Cell::Count(n) | Cell::Percent(n) => n.to_string(),
            Cell::Few => "<5".into(),
            Cell::Hidden => "..".into(),
            Cell::Days(d) => days_text(*d),
            Cell::Empty => String::new(),
        }
    }

    /// The number a chart draws; none for a figure that is not shown.
    pub fn value(&self) -> Option<f64> {
        match self {
            #[allow(clippy::cast_precision_loss)]
            Cell::Count(n) | Cell::Percent(n) => Some(*n as f64),
            Cell::Days(d) => Some(*d),
            Cell::Few | Cell::Hidden | Cell::Empty => None,
        }
    }
}

fn days_text(d: f64) -> String {
    if d.fract() == 0.0 {
        format!("{d:.0}")
    } else {
        format!("{d:.1}").replace('.', ",")
    }
}

/// In the API: a number, "<5", "..", or null.
impl serde::Serialize for Cell {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Cell::Count(n) | Cell::Percent(n) => s.serialize_i64(*n),
            Cell::Days(d) => s.serialize_f64(*d),
            Cell::Few => s.serialize_str("<5"),
            Cell::Hidden => s.serialize_str(".."),
            Cell::Empty => s.serialize_none(),
        }
    }
}

impl utoipa::PartialSchema for Cell {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, SchemaType, Type};
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(SchemaType::Type(Type::Number)))
            .item(
                ObjectBuilder::new()
                    .schema_type(SchemaType::Type(Type::String))
                    .enum_values(Some(["<5", ".."])),
            )
            .item(ObjectBuilder::new().schema_type(SchemaType::Type(Type::Null)))
            .description(Some(
                "A count, a share in whole percent, or a median of days; \"<5\" where the count \
                 (or the number of cases behind a share or median) is 1–4; \"..\" where a count \
                 is hidden so that a \"<5\" cannot be worked out from a sum; null where there \
                 are no cases.",
            ))
            .into()
    }
}

impl utoipa::ToSchema for Cell {}

/// The median of a histogram `(value, how many)`; none when it is empty.
pub fn median(histogram: &[(i64, i64)]) -> Option<f64> {
    let mut sorted: Vec<(i64, i64)> = histogram.iter().copied().filter(|(_, n)| *n > 0).collect();
    sorted.sort_unstable();
    let total: i64 = sorted.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    // The values at positions (total - 1) / 2 and total / 2 (0-based), averaged.
    let at = |position: i64| {
        let mut seen = 0;
        for (value, n) in &sorted {
            seen += n;
            if position < seen {
                return *value;
            }
        }
        sorted.last().map_or(0, |(v, _)| *v)
    };
    #[allow(clippy::cast_precision_loss)]
    let middle = (at((total - 1) / 2) + at(total / 2)) as f64 / 2.0;
    Some(middle)
}

/// The months asked for, both included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    /// The first day of the first month.
    pub from: NaiveDate,
    /// The first day of the last month.
    pub to: NaiveDate,
}

fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).expect("every month has a first day")
}

/// "2026-01" or "2026-01-15" (the month it is in).
fn parse_month(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%Y-%m-%d"))
        .ok()
        .map(first_of_month)
}

impl Period {
    /// The last twelve months, this one included.
    pub fn last_twelve_months(today: NaiveDate) -> Period {
        let to = first_of_month(today);
        Period {
            from: to - Months::new(11),
            to,
        }
    }

    /// The period of a request: `from` and `to` as `YYYY-MM` (or a date in the month), each
    /// defaulting to the last twelve months; `group` only `month`.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        group: Option<&str>,
        today: NaiveDate,
    ) -> Result<Period, Vec<FieldError>> {
        let default = Period::last_twelve_months(today);
        let mut errors = Vec::new();
        let mut month = |field: &str, text: Option<&str>, fallback: NaiveDate| match text
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            None => fallback,
            Some(text) => parse_month(text).unwrap_or_else(|| {
                errors.push(FieldError::new(
                    field,
                    "Skriv månaden som år och månad, till exempel 2026-01.",
                ));
                fallback
            }),
        };
        let to = month("to", to, default.to);
        let from = match from.map(str::trim).filter(|t| !t.is_empty()) {
            // Without a start: the twelve months up to the end asked for.
            None => to - Months::new(11),
            some => month("from", some, default.from),
        };
        if let Some(group) = group.map(str::trim).filter(|g| !g.is_empty()) {
            if group != "month" {
                errors.push(FieldError::new(
                    "group",
                    "Statistiken kan bara delas upp per månad (group=month).",
                ));
            }
        }
        if errors.is_empty() {
            if from > to {
                errors.push(FieldError::new(
                    "from",
                    "Första månaden måste komma före den sista.",
                ));
            } else if months_between(from, to) >= MAX_MONTHS {
                errors.push(FieldError::new(
                    "from",
                    "Välj högst 60 månader (fem år) åt gången.",
                ));
            }
        }
        if errors.is_empty() {
            Ok(Period { from, to })
        } else {
            Err(errors)
        }
    }

    /// The first day of each month, in order.
    pub fn months(&self) -> Vec<NaiveDate> {
        let mut months = Vec::new();
        let mut month = self.from;
        while month <= self.to {
            months.push(month);
            month = month + Months::new(1);
        }
        months
    }

    /// The first moment of the period.
    pub fn start(&self) -> NaiveDateTime {
        self.from.and_hms_opt(0, 0, 0).expect("midnight exists")
    }

    /// The first day after the period.
    pub fn end_day(&self) -> NaiveDate {
        self.to + Months::new(1)
    }

    /// The first moment after the period.
    pub fn end(&self) -> NaiveDateTime {
        self.end_day()
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
    }

    /// "2025-12 – 2026-11".
    pub fn text(&self) -> String {
        format!("{} – {}", month_key(self.from), month_key(self.to))
    }
}

fn months_between(from: NaiveDate, to: NaiveDate) -> u32 {
    let months = (to.year() - from.year()) * 12 + to.month0() as i32 - from.month0() as i32;
    u32::try_from(months).unwrap_or(0)
}

/// "2026-01", as the store groups by.
pub fn month_key(month: NaiveDate) -> String {
    month.format("%Y-%m").to_string()
}

const MONTH_NAMES: [&str; 12] = [
    "jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec",
];

/// "jan 2026", as the page's tables and charts show a month.
pub fn month_label(month: NaiveDate) -> String {
    format!("{} {}", MONTH_NAMES[month.month0() as usize], month.year())
}

/// The store's counts, before anything is hidden. Months as "YYYY-MM".
#[derive(Clone, Debug, Default)]
pub struct Raw {
    /// (month, kind of reporter — an organisation kind, `private` or `anonymous` —, reports).
    pub reporters: Vec<(String, String, i64)>,
    /// (month, category code, reports).
    pub categories: Vec<(String, String, i64)>,
    /// Per month of receipt.
    pub intake: Vec<IntakeCounts>,
    /// (month of receipt, days from receipt to the decision, decisions (per child)).
    pub decision_days: Vec<(String, i64, i64)>,
    /// Per month of closing.
    pub closings: Vec<ClosingCounts>,
    /// (month of the first consent, days from it to the first meeting, whether the deadline has
    /// passed without a meeting, SIPs).
    pub sip_first: Vec<(String, Option<i64>, bool, i64)>,
    /// The municipality's deadline for the first SIP meeting, in days after consent.
    pub sip_deadline_days: i64,
    /// (month of the follow-up date, plans due for follow-up, followed up by that date).
    pub follow_ups: Vec<(String, i64, i64)>,
}

#[derive(Clone, Debug, Default)]
pub struct IntakeCounts {
    pub month: String,
    pub received: i64,
    /// Safety assessments made, or due and not made.
    pub safety_due: i64,
    pub safety_in_time: i64,
    /// Decisions (one per child).
    pub decided: i64,
    /// Of those, decisions that opened an investigation or joined one under way.
    pub investigated: i64,
}

#[derive(Clone, Debug, Default)]
pub struct ClosingCounts {
    pub month: String,
    pub closed: i64,
    pub within_four_months: i64,
    pub extended: i64,
}

/// A table as shown: rows of figures, one column per month and a last one for the whole period.
#[derive(Clone, Debug)]
pub struct Table {
    /// The CSV's name (`/statistik/{slug}.csv`).
    pub slug: &'static str,
    pub title: &'static str,
    /// What the rows are (the first column's heading).
    pub rows_are: &'static str,
    pub rows: Vec<Row>,
}

#[derive(Clone, Debug)]
pub struct Row {
    /// The API's name of the figure.
    pub key: String,
    pub label: String,
    /// One per month, then the whole period.
    pub cells: Vec<Cell>,
}

impl Row {
    /// The whole period's figure.
    pub fn total(&self) -> Cell {
        self.cells.last().copied().unwrap_or(Cell::Empty)
    }
}

/// Every table of a period.
#[derive(Clone, Debug)]
pub struct Statistics {
    pub period: Period,
    pub sip_deadline_days: i64,
    pub reporters: Table,
    pub categories: Table,
    pub intake: Table,
    pub investigations: Table,
    pub sip: Table,
}

impl Statistics {
    pub fn tables(&self) -> [&Table; 5] {
        [
            &self.intake,
            &self.reporters,
            &self.categories,
            &self.investigations,
            &self.sip,
        ]
    }

    pub fn table(&self, slug: &str) -> Option<&Table> {
        self.tables().into_iter().find(|t| t.slug == slug)
    }
}

/// Counts as shown, with nothing hidden that a sum would give away. Each count of 1–4 is "<5";
/// then, wherever a line of cells that add up — a row's months and its period total, and where
/// `columns_add_up` also a column's rows and the first row (their sum) — holds exactly one
/// hidden cell, that cell is the shown sum less the shown parts, so the smallest other non-zero
/// cell of the line is hidden too (".."), until no line has a hidden cell alone.
/// `counts[row][column]`; the last column is the period's total.
pub fn protect(counts: &[Vec<i64>], columns_add_up: bool) -> Vec<Vec<Cell>> {
    let rows = counts.len();
    let columns = counts.first().map_or(0, Vec::len);
    let mut lines: Vec<Vec<(usize, usize)>> = (0..rows)
        .map(|r| (0..columns).map(|c| (r, c)).collect())
        .collect();
    if columns_add_up {
        lines.extend((0..columns).map(|c| (0..rows).map(|r| (r, c)).collect()));
    }
    let mut hidden: Vec<Vec<bool>> = counts
        .iter()
        .map(|row| row.iter().map(|&n| n > 0 && n < SMALL).collect())
        .collect();
    loop {
        let mut changed = false;
        for line in &lines {
            if line.iter().filter(|&&(r, c)| hidden[r][c]).count() != 1 {
                continue;
            }
            let next = line
                .iter()
                .filter(|&&(r, c)| !hidden[r][c] && counts[r][c] > 0)
                .min_by_key(|&&(r, c)| counts[r][c]);
            if let Some(&(r, c)) = next {
                hidden[r][c] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    counts
        .iter()
        .zip(&hidden)
        .map(|(row, hidden)| {
            row.iter()
                .zip(hidden)
                .map(|(&n, &hidden)| match Cell::count(n) {
                    Cell::Count(_) if hidden => Cell::Hidden,
                    cell => cell,
                })
                .collect()
        })
        .collect()
}

/// A count per month key, summed over `rows` whose key is `key`.
fn counts_of<'a>(rows: impl Iterator<Item = (&'a str, i64)>, months: &[String]) -> (Vec<i64>, i64) {
    let mut per_month = vec![0; months.len()];
    let mut total = 0;
    for (month, n) in rows {
        if let Some(i) = months.iter().position(|m| m == month) {
            per_month[i] += n;
            total += n;
        }
    }
    (per_month, total)
}

fn count_row(key: &str, label: &str, per_month: &[i64], total: i64) -> Row {
    let counts: Vec<i64> = per_month.iter().copied().chain([total]).collect();
    Row {
        key: key.into(),
        label: label.into(),
        cells: protect(&[counts], false).remove(0),
    }
}

fn share_row(key: &str, label: &str, parts: &[(i64, i64)]) -> Row {
    let total = parts
        .iter()
        .fold((0, 0), |(p, b), (part, basis)| (p + part, b + basis));
    Row {
        key: key.into(),
        label: label.into(),
        cells: parts
            .iter()
            .chain(std::iter::once(&total))
            .map(|(part, basis)| Cell::share(*part, *basis))
            .collect(),
    }
}

/// Rows by a key (kind of reporter, category), in the order of `keys` (code, label); rows with
/// nothing in the period left out. The first row is `sum` when given (the same received reports
/// in every table that shows them); otherwise the sum of the rows, which then add up to it in
/// each month, and are protected together with it (see [`protect`]).
fn breakdown(
    raw: &[(String, String, i64)],
    keys: &[(String, String)],
    months: &[String],
    total_label: &str,
    sum: Option<&Row>,
) -> Vec<Row> {
    let mut found: Vec<(&str, &str, Vec<i64>)> = Vec::new();
    for (code, label) in keys {
        let (mut per_month, total) = counts_of(
            raw.iter()
                .filter(|(_, k, _)| k == code)
                .map(|(m, _, n)| (m.as_str(), *n)),
            months,
        );
        if total > 0 {
            per_month.push(total);
            found.push((code, label, per_month));
        }
    }
    let mut counts: Vec<Vec<i64>> = Vec::new();
    if sum.is_none() {
        let (mut all, total) = counts_of(raw.iter().map(|(m, _, n)| (m.as_str(), *n)), months);
        all.push(total);
        counts.push(all);
    }
    counts.extend(found.iter().map(|(_, _, c)| c.clone()));
    let cells = protect(&counts, sum.is_none());
    let mut rows: Vec<Row> = found
        .iter()
        .zip(cells.iter().skip(usize::from(sum.is_none())))
        .map(|((code, label, _), cells)| Row {
            key: (*code).into(),
            label: (*label).into(),
            cells: cells.clone(),
        })
        .collect();
    rows.insert(
        0,
        match sum {
            Some(row) => Row {
                label: total_label.into(),
                ..row.clone()
            },
            None => Row {
                key: "total".into(),
                label: total_label.into(),
                cells: cells[0].clone(),
            },
        },
    );
    rows
}

/// Builds the tables from the store's counts.
pub fn build(period: Period, raw: &Raw) -> Statistics {
    use crate::accounts::OrgKind;
    use crate::reports::model::{Category, ReporterKind};

    let months: Vec<String> = period.months().into_iter().map(month_key).collect();
    let mut reporter_kinds: Vec<(String, String)> = OrgKind::ALL
        .iter()
        .map(|k| (k.as_str().to_string(), k.label().to_string()))
        .collect();
    for kind in [ReporterKind::Private, ReporterKind::Anonymous] {
        reporter_kinds.push((kind.as_str().into(), kind.label().into()));
    }
    let categories: Vec<(String, String)> = Category::ALL
        .iter()
        .map(|c| (c.as_str().to_string(), c.label().to_string()))
        .collect();

    let intake_of = |month: &str| raw.intake.iter().find(|r| r.month == month);
    let per_month = |f: &dyn Fn(&IntakeCounts) -> (i64, i64)| -> Vec<(i64, i64)> {
        months
            .iter()
            .map(|m| intake_of(m).map_or((0, 0), f))
            .collect()
    };
    let received: Vec<i64> = months
        .iter()
        .map(|m| intake_of(m).map_or(0, |r| r.received))
        .collect();
    let days_of = |month: Option<&str>| -> Vec<(i64, i64)> {
        raw.decision_days
            .iter()
            .filter(|(m, _, _)| month.is_none_or(|month| m == month) && months.contains(m))
            .map(|(_, d, n)| (*d, *n))
            .collect()
    };
    let decisions: Vec<(i64, i64)> = months
        .iter()
        .map(|m| {
            let days = days_of(Some(m));
            let all: i64 = days.iter().map(|(_, n)| n).sum();
            let within: i64 = days.iter().filter(|(d, _)| *d <= 14).map(|(_, n)| n).sum();
            (within, all)
        })
        .collect();
    let medians: Vec<Cell> = months
        .iter()
        .map(|m| Cell::median(&days_of(Some(m))))
        .chain(std::iter::once(Cell::median(&days_of(None))))
        .collect();
    let decision_counts: Vec<i64> = decisions.iter().map(|(_, all)| *all).collect();
    // The reports received by kind of reporter add up to those received: protected together, and
    // the same cells shown wherever the received reports are (the intake table, the categories').
    let reporters = breakdown(
        &raw.reporters,
        &reporter_kinds,
        &months,
        "Alla anmälningar",
        None,
    );
    let received_total: i64 = received.iter().sum();
    let by_reporters = counts_of(
        raw.reporters.iter().map(|(m, _, n)| (m.as_str(), *n)),
        &months,
    );
    let reporters_sum = if by_reporters == (received.clone(), received_total) {
        reporters[0].clone()
    } else {
        count_row("total", "Alla anmälningar", &received, received_total)
    };
    let intake = Table {
        slug: "handlaggning",
        title: "Anmälningar och förhandsbedömning",
        rows_are: "Mått (anmälningar inkomna under månaden)",
        rows: vec![
            Row {
                key: "reports_received".into(),
                label: "Inkomna anmälningar".into(),
                ..reporters_sum.clone()
            },
            share_row(
                "safety_assessments_in_time_percent",
                "Skyddsbedömning gjord i tid (andel i procent)",
                &per_month(&|r| (r.safety_in_time, r.safety_due)),
            ),
            count_row(
                "decisions",
                "Beslut om utredning eller inte (antal barn)",
                &decision_counts,
                decision_counts.iter().sum(),
            ),
            share_row(
                "decisions_within_14_days_percent",
                "Beslut inom 14 dagar (andel i procent)",
                &decisions,
            ),
            Row {
                key: "median_days_to_decision".into(),
                label: "Dagar till beslut (median)".into(),
                cells: medians,
            },
            share_row(
                "led_to_investigation_percent",
                "Beslut som ledde till utredning (andel av barnens beslut, procent)",
                &per_month(&|r| (r.investigated, r.decided)),
            ),
        ],
    };

    let closing_of = |month: &str| raw.closings.iter().find(|r| r.month == month);
    let closings = |f: &dyn Fn(&ClosingCounts) -> i64| -> Vec<i64> {
        months.iter().map(|m| closing_of(m).map_or(0, f)).collect()
    };
    let closed = closings(&|r| r.closed);
    let within = closings(&|r| r.within_four_months);
    let extended = closings(&|r| r.extended);
    let investigations = Table {
        slug: "utredningar",
        title: "Avslutade utredningar",
        rows_are: "Mått (utredningar avslutade under månaden)",
        rows: vec![
            count_row(
                "investigations_closed",
                "Avslutade utredningar",
                &closed,
                closed.iter().sum(),
            ),
            share_row(
                "investigations_within_4_months_percent",
                "Klara inom fyra månader (andel i procent)",
                &within
                    .iter()
                    .zip(&closed)
                    .map(|(w, c)| (*w, *c))
                    .collect::<Vec<_>>(),
            ),
            count_row(
                "investigations_extended",
                "Förlängda (antal)",
                &extended,
                extended.iter().sum(),
            ),
        ],
    };

    let first_of = |month: Option<&str>| -> Vec<&(String, Option<i64>, bool, i64)> {
        raw.sip_first
            .iter()
            .filter(|(m, ..)| month.is_none_or(|month| m == month) && months.contains(m))
            .collect()
    };
    let sip_cells = |month: Option<&str>| {
        let rows = first_of(month);
        let started: i64 = rows.iter().map(|r| r.3).sum();
        let histogram: Vec<(i64, i64)> = rows
            .iter()
            .filter_map(|(_, days, _, n)| days.map(|d| (d, *n)))
            .collect();
        let met_in_time: i64 = histogram
            .iter()
            .filter(|(d, _)| *d <= raw.sip_deadline_days)
            .map(|(_, n)| n)
            .sum();
        // Judged: those with a first meeting, and those whose deadline has passed without one.
        let judged: i64 = histogram.iter().map(|(_, n)| n).sum::<i64>()
            + rows
                .iter()
                .filter(|(_, days, overdue, _)| days.is_none() && *overdue)
                .map(|r| r.3)
                .sum::<i64>();
        (
            Cell::count(started),
            Cell::median(&histogram),
            Cell::share(met_in_time, judged),
        )
    };
    let mut sip_rows: [Vec<Cell>; 3] = Default::default();
    for month in months.iter().map(|m| Some(m.as_str())).chain([None]) {
        let (started, median, share) = sip_cells(month);
        sip_rows[0].push(started);
        sip_rows[1].push(median);
        sip_rows[2].push(share);
    }
    let [started, median, in_time] = sip_rows;
    let follow: Vec<(i64, i64)> = months
        .iter()
        .map(|m| {
            raw.follow_ups
                .iter()
                .filter(|(month, ..)| month == m)
                .fold((0, 0), |(h, d), (_, due, held)| (h + held, d + due))
        })
        .collect();
    let follow_due: Vec<i64> = follow.iter().map(|(_, due)| *due).collect();
    let sip = Table {
        slug: "sip",
        title: "SIP",
        rows_are: "Mått (SIP efter månaden för första samtycket; uppföljningar efter datum)",
        rows: vec![
            Row {
                key: "sips_with_consent".into(),
                label: "SIP med samtycke".into(),
                cells: started,
            },
            Row {
                key: "sip_median_days_to_first_meeting".into(),
                label: "Dagar från samtycke till första mötet (median)".into(),
                cells: median,
            },
            Row {
                key: "sip_first_meeting_in_time_percent".into(),
                label: format!(
                    "Första mötet inom kommunens frist på {} dagar (andel i procent)",
                    raw.sip_deadline_days
                ),
                cells: in_time,
            },
            count_row(
                "sip_follow_ups_due",
                "Uppföljningar som skulle hållas",
                &follow_due,
                follow_due.iter().sum(),
            ),
            share_row(
                "sip_follow_ups_held_percent",
                "Uppföljningar hållna senast sitt datum (andel i procent)",
                &follow,
            ),
        ],
    };

    Statistics {
        period,
        sip_deadline_days: raw.sip_deadline_days,
        reporters: Table {
            slug: "anmalare",
            title: "Inkomna anmälningar efter anmälare",
            rows_are: "Anmälarens verksamhet",
            rows: reporters,
        },
        categories: Table {
            slug: "kategorier",
            title: "Inkomna anmälningar efter kategori",
            rows_are: "Kategori (en anmälan kan ha flera)",
            rows: breakdown(
                &raw.categories,
                &categories,
                &months,
                "Alla anmälningar",
                Some(&reporters_sum),
            ),
        },
        intake,
        investigations,
        sip,
    }
}

/// The figures of one month (or the whole period) by name, as the API gives them.
pub fn figures(stats: &Statistics, column: usize) -> BTreeMap<String, Cell> {
    let mut figures = BTreeMap::new();
    for table in [&stats.intake, &stats.investigations, &stats.sip] {
        for row in &table.rows {
            figures.insert(row.key.clone(), row.cells[column]);
        }
    }
    figures
}

/// One breakdown's figures of one month (or the whole period) by code, without the sum row.
pub fn breakdown_figures(table: &Table, column: usize) -> BTreeMap<String, Cell> {
    table
        .rows
        .iter()
        .skip(1)
        .map(|row| (row.key.clone(), row.cells[column]))
        .collect()
}

/// A table as CSV for Swedish Excel: UTF-8 with a byte order mark, `;` between fields, CRLF.
pub fn csv(table: &Table, months: &[NaiveDate]) -> Result<Vec<u8>, csv::Error> {
    let mut out = Vec::from("\u{feff}".as_bytes());
    {
        let mut writer = csv::WriterBuilder::new()
            .delimiter(b';')
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut out);
        let mut heading = vec![table.rows_are.to_string()];
        heading.extend(months.iter().map(|m| month_key(*m)));
        heading.push("Hela perioden".into());
        writer.write_record(&heading)?;
        for row in &table.rows {
            let mut record = vec![row.label.clone()];
            record.extend(row.cells.iter().map(Cell::csv));
            writer.write_record(&record)?;
        }
        writer.flush()?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn counts_of_one_to_four_are_hidden() {
        assert_eq!(Cell::count(0), Cell::Count(0));
        for n in 1..5 {
            assert_eq!(Cell::count(n), Cell::Few);
            assert_eq!(Cell::count(n).text(), "<5");
            assert_eq!(Cell::count(n).csv(), "<5");
            assert_eq!(serde_json::to_value(Cell::count(n)).unwrap(), "<5");
        }
        assert_eq!(Cell::count(5), Cell::Count(5));
    }

    #[test]
    fn shares_and_medians_of_few_cases_are_hidden() {
        assert_eq!(Cell::share(0, 0), Cell::Empty);
        assert_eq!(Cell::share(3, 4), Cell::Few);
        assert_eq!(Cell::share(2, 3), Cell::Few);
        assert_eq!(Cell::share(2, 6), Cell::Percent(33));
        assert_eq!(Cell::share(1, 8), Cell::Percent(13));
        assert_eq!(Cell::median(&[(3, 2), (9, 2)]), Cell::Few);
        assert_eq!(Cell::median(&[(3, 2), (9, 3)]), Cell::Days(9.0));
    }

    #[test]
    fn median_of_a_histogram() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[(7, 1)]), Some(7.0));
        assert_eq!(median(&[(10, 1), (2, 1)]), Some(6.0));
        assert_eq!(median(&[(1, 3), (5, 1), (20, 2)]), Some(3.0));
        assert_eq!(Cell::Days(6.5).text(), "6,5");
    }

    #[test]
    fn the_period_defaults_to_the_last_twelve_months() {
        let today = day(2026, 12, 2);
        let period = Period::parse(None, None, None, today).unwrap();
        assert_eq!(period.from, day(2026, 1, 1));
        assert_eq!(period.to, day(2026, 12, 1));
        assert_eq!(period.months().len(), 12);
        assert_eq!(period.end(), day(2027, 1, 1).and_hms_opt(0, 0, 0).unwrap());
        let asked = Period::parse(Some("2025-03"), Some("2025-05-20"), Some("month"), today);
        assert_eq!(
            asked.unwrap(),
            Period {
                from: day(2025, 3, 1),
                to: day(2025, 5, 1)
            }
        );
    }

    #[test]
    fn a_wrong_period_is_refused_by_field() {
        let today = day(2026, 12, 2);
        let fields = |r: Result<Period, Vec<FieldError>>| -> Vec<String> {
            r.unwrap_err().into_iter().map(|e| e.field).collect()
        };
        assert_eq!(
            fields(Period::parse(Some("mars"), None, None, today)),
            ["from"]
        );
        assert_eq!(
            fields(Period::parse(Some("2026-05"), Some("2026-01"), None, today)),
            ["from"]
        );
        assert_eq!(
            fields(Period::parse(None, None, Some("week"), today)),
            ["group"]
        );
        assert_eq!(
            fields(Period::parse(Some("2010-01"), Some("2026-01"), None, today)),
            ["from"]
        );
    }

    #[test]
    fn csv_is_for_swedish_excel() {
        let period =
            Period::parse(Some("2026-01"), Some("2026-02"), None, day(2026, 3, 1)).unwrap();
        let raw = Raw {
            reporters: vec![
                ("2026-01".into(), "skola".into(), 3),
                ("2026-02".into(), "skola".into(), 7),
                ("2026-02".into(), "anonymous".into(), 6),
            ],
            sip_deadline_days: 30,
            ..Raw::default()
        };
        let stats = build(period, &raw);
        let bytes = csv(&stats.reporters, &period.months()).unwrap();
        assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]));
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "Anmälarens verksamhet;2026-01;2026-02;Hela perioden"
        );
        // January's 3 is "<5" in both rows; shown, February would give it away (10 - 7,
        // 16 - 13), so February is hidden in both rows as well.
        assert_eq!(lines[1], "Alla anmälningar;<5;..;16");
        assert_eq!(lines[2], "Skola;<5;..;10");
        assert_eq!(lines[3], "Anonym;0;6;6");
    }

    /// No hidden cell can be worked out from one line's sum: every line that adds up has no
    /// hidden cell or at least two.
    fn no_line_gives_one_away(counts: &[Vec<i64>], cells: &[Vec<Cell>], columns_add_up: bool) {
        let hidden = |c: &Cell| matches!(c, Cell::Few | Cell::Hidden);
        for row in cells {
            assert_ne!(
                row.iter().filter(|c| hidden(c)).count(),
                1,
                "{counts:?} {cells:?}"
            );
        }
        if columns_add_up {
            for c in 0..cells[0].len() {
                let n = cells.iter().filter(|row| hidden(&row[c])).count();
                assert_ne!(n, 1, "column {c}: {counts:?} {cells:?}");
            }
        }
        for (row, counts) in cells.iter().zip(counts) {
            for (cell, &n) in row.iter().zip(counts) {
                match cell {
                    Cell::Few => assert!((1..SMALL).contains(&n)),
                    Cell::Hidden => assert!(n >= SMALL),
                    Cell::Count(shown) => assert_eq!(*shown, n),
                    other => panic!("{other:?}"),
                }
            }
        }
    }

    #[test]
    fn what_a_sum_would_give_away_is_hidden_too() {
        // A sum row, then two kinds; columns: two months and the period.
        let counts = vec![vec![9, 20, 29], vec![2, 12, 14], vec![7, 8, 15]];
        let cells = protect(&counts, true);
        no_line_gives_one_away(&counts, &cells, true);
        assert_eq!(cells[1][0], Cell::Few);
        // Every table of a small generator of counts, with and without column sums.
        let mut seed = 7_u64;
        for _ in 0..2_000 {
            let mut next = || {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                i64::try_from((seed >> 33) % 12).unwrap()
            };
            let parts: Vec<Vec<i64>> = (0..3)
                .map(|_| {
                    let mut row: Vec<i64> = (0..4).map(|_| next()).collect();
                    row.push(row.iter().sum());
                    row
                })
                .collect();
            let sum: Vec<i64> = (0..5).map(|c| parts.iter().map(|r| r[c]).sum()).collect();
            let with_sum: Vec<Vec<i64>> = std::iter::once(sum).chain(parts.clone()).collect();
            no_line_gives_one_away(&with_sum, &protect(&with_sum, true), true);
            no_line_gives_one_away(&parts, &protect(&parts, false), false);
        }
    }
}
