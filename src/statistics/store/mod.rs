//! The statistics' SQL: counts grouped by month, over a municipality's rows in a period; no
//! report is loaded into memory. The reports' figures (received, the safety clock, days to each
//! decision) are read from the monthly roll-up kept by the reports' flows (`reports::store::rollup`), so a
//! request reads a few rows per month, not the period's reports; the others through indexes
//! (`investigation_closings_closed_at`, `plans_follow_up`). One statement per figure group, written once with
//! placeholders for the dialect: `{m}` (the municipality), `{from}`/`{to}` (the period's
//! first moment and the first after it), `{from_day}`/`{to_day}` (the same as dates), `{today}`,
//! and the per-dialect expressions `{month(…)}` etc. filled in by [`Dialect`].
//!
//! Months are calendar months of the stored times (UTC); a report received in the hour around
//! midnight at a month's turn may count in the neighbouring month.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Date, Nullable, Text, Timestamp};

use crate::accounts::MunicipalityId;
use crate::audit::event::{Event, Object};
use crate::authz::Actor;
use crate::db::dialect::{self, Dialect};
use crate::db::schema::municipalities;
use crate::db::AnyConnection;
use crate::error::AppError;
use crate::statistics::model::{ClosingCounts, IntakeCounts, Period, Raw};

/// The placeholders, in the order of [`Binds`].
const PLACEHOLDERS: [&str; 8] = [
    "{m}",
    "{from}",
    "{to}",
    "{from_day}",
    "{to_day}",
    "{today}",
    "{from_month}",
    "{to_month}",
];

/// A statement of the statistics for `dialect`, its placeholders numbered.
fn sql(dialect: Dialect, template: &str) -> String {
    dialect.sql(template, &PLACEHOLDERS)
}

/// Which placeholders a statement uses (indexes into [`PLACEHOLDERS`]): only those are bound,
/// as both databases refuse a value for a parameter the statement does not have.
fn used(template: &str) -> Vec<usize> {
    dialect::used(template, &PLACEHOLDERS)
}

/// The values bound to the placeholders.
struct Binds<'a> {
    municipality: &'a str,
    from: NaiveDateTime,
    to: NaiveDateTime,
    from_day: NaiveDate,
    to_day: NaiveDate,
    today: NaiveDate,
    /// The period's first month and the first after it, `YYYY-MM` (the roll-up's months).
    from_month: String,
    to_month: String,
}

/// Runs `template` on either database with the placeholders it uses bound.
fn load<T>(conn: &mut AnyConnection, template: &str, b: &Binds) -> Result<Vec<T>, AppError>
where
    T: QueryableByName<diesel::pg::Pg> + QueryableByName<diesel::sqlite::Sqlite> + 'static,
{
    macro_rules! run {
        ($conn:expr, $dialect:expr, $db:ty) => {{
            let mut query = diesel::sql_query(sql($dialect, template)).into_boxed::<$db>();
            for i in used(template) {
                query = match i {
                    0 => query.bind::<Text, _>(b.municipality),
                    1 => query.bind::<Timestamp, _>(b.from),
                    2 => query.bind::<Timestamp, _>(b.to),
                    3 => query.bind::<Date, _>(b.from_day),
                    4 => query.bind::<Date, _>(b.to_day),
                    5 => query.bind::<Date, _>(b.today),
                    6 => query.bind::<Text, _>(b.from_month.clone()),
                    _ => query.bind::<Text, _>(b.to_month.clone()),
                };
            }
            query.load::<T>($conn)?
        }};
    }
    Ok(match conn {
        AnyConnection::Postgresql(pg) => run!(pg, Dialect::Postgres, diesel::pg::Pg),
        AnyConnection::Sqlite(sqlite) => run!(sqlite, Dialect::Sqlite, diesel::sqlite::Sqlite),
    })
}

#[derive(QueryableByName)]
struct Received {
    #[diesel(sql_type = Text)]
    month: String,
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = Text)]
    categories: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Intake {
    #[diesel(sql_type = Text)]
    month: String,
    #[diesel(sql_type = BigInt)]
    received: i64,
    #[diesel(sql_type = BigInt)]
    safety_due: i64,
    #[diesel(sql_type = BigInt)]
    safety_in_time: i64,
}

#[derive(QueryableByName)]
struct Days {
    #[diesel(sql_type = Text)]
    month: String,
    #[diesel(sql_type = BigInt)]
    days: i64,
    #[diesel(sql_type = Text)]
    decision: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Closings {
    #[diesel(sql_type = Text)]
    month: String,
    #[diesel(sql_type = BigInt)]
    closed: i64,
    #[diesel(sql_type = BigInt)]
    within: i64,
    #[diesel(sql_type = BigInt)]
    extended: i64,
}

#[derive(QueryableByName)]
struct FirstMeetings {
    #[diesel(sql_type = Text)]
    month: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    days: Option<i64>,
    #[diesel(sql_type = Bool)]
    overdue: bool,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct FollowUps {
    #[diesel(sql_type = Text)]
    month: String,
    #[diesel(sql_type = BigInt)]
    due: i64,
    #[diesel(sql_type = BigInt)]
    held: i64,
}

/// The roll-up's rows of the municipality in the period's months (see `reports::store::rollup`).
const IN_MONTHS: &str = "municipality_id = {m} AND month >= {from_month} AND month < {to_month}";

/// Reports received, by kind of reporter — a professional's organisation kind (through the
/// reporter's account; one filed by an integration without an account counts as `annan`),
/// `private` or `anonymous` — and by the set of categories (stored comma-separated; split and
/// summed per category in [`counts`], the sets being few). From the roll-up.
const RECEIVED: &str = "SELECT month, reporter_key AS key, categories, n \
     FROM statistics_received WHERE {in_months} AND n > 0";

/// The safety assessments, by month of receipt: one counts once it is made or overdue ({to} is
/// never later than now, see [`counts`]); in time when made by its deadline. Those made come
/// from the roll-up; those not made are in the intake queue (a report leaves it only when every
/// child is decided, which needs the assessment), and few. The report and its assessment are
/// looked up per queued report by key (scalar subqueries: PostgreSQL would otherwise hash-join
/// the whole of `safety_assessments`, 0.3 s at 1,000,000 reports).
const INTAKE: &str = "WITH rec AS (SELECT month, SUM(n) AS received FROM statistics_received \
       WHERE {in_months} GROUP BY month HAVING SUM(n) > 0), \
     overdue AS (SELECT MONTH(q.received_at) AS month, COUNT(*) AS n FROM intake_queue q \
       WHERE q.municipality_id = {m} AND q.received_at >= {from} AND q.received_at < {to} \
       AND (SELECT r.safety_due_at FROM reports r WHERE r.id = q.report_id) < {to} \
       AND (SELECT COUNT(*) FROM safety_assessments s WHERE s.report_id = q.report_id) = 0 \
       GROUP BY 1) \
     SELECT rec.month AS month, CAST(rec.received AS BIGINT) AS received, \
       CAST(COALESCE(sa.assessed, 0) + COALESCE(o.n, 0) AS BIGINT) AS safety_due, \
       CAST(COALESCE(sa.in_time, 0) AS BIGINT) AS safety_in_time \
     FROM rec LEFT JOIN statistics_safety sa ON sa.municipality_id = {m} AND sa.month = rec.month \
     LEFT JOIN overdue o ON o.month = rec.month";

/// Each child's decision by month of receipt: days from receipt to it, and what was decided
/// (an investigation opened or joined, or not). From the roll-up.
const DECISION_DAYS: &str = "SELECT month, days, decision, n \
     FROM statistics_decisions WHERE {in_months} AND n > 0";

/// Investigations closed in the period, by month of closing: within four months of opening,
/// and extended.
const CLOSINGS: &str = "SELECT MONTH(c.closed_at) AS month, CAST(COUNT(*) AS BIGINT) AS closed, \
     CAST(SUM(CASE WHEN c.closed_on <= PLUS_MONTHS(i.opened_on; 4) THEN 1 ELSE 0 END) AS BIGINT) AS within, \
     CAST(SUM(CASE WHEN i.extended_at IS NOT NULL OR EXISTS (SELECT 1 FROM investigation_extensions e \
       WHERE e.investigation_id = i.id) THEN 1 ELSE 0 END) AS BIGINT) AS extended \
     FROM investigation_closings c JOIN investigations i ON i.id = c.investigation_id \
     WHERE i.municipality_id = {m} AND c.closed_at >= {from} AND c.closed_at < {to} GROUP BY 1";

/// Each SIP by the month of its first consent: days to its first meeting that was not
/// cancelled (none yet: null, and whether the municipality's deadline has passed).
const FIRST_MEETINGS: &str = "WITH firsts AS (SELECT s.id, MIN(c.given_on) AS consent_on, \
       (SELECT MIN(mt.starts_at) FROM meetings mt WHERE mt.sip_id = s.id AND mt.cancelled_at IS NULL) AS first_meeting \
       FROM sips s JOIN consents c ON c.sip_id = s.id WHERE s.municipality_id = {m} GROUP BY s.id) \
     SELECT MONTH(f.consent_on) AS month, CAST(DAYS(f.consent_on; f.first_meeting) AS BIGINT) AS days, \
       (f.first_meeting IS NULL AND PLUS_DAYS(f.consent_on; mu.sip_first_meeting_days) < {today}) AS overdue, \
       CAST(COUNT(*) AS BIGINT) AS n \
     FROM firsts f JOIN municipalities mu ON mu.id = {m} \
     WHERE f.consent_on >= {from_day} AND f.consent_on < {to_day} GROUP BY 1, 2, 3";

/// Plans whose follow-up date has come, by month of that date: held when a meeting of the SIP
/// (not cancelled) took place after the plan was recorded and by the date.
const FOLLOW_UPS: &str = "SELECT MONTH(p.follow_up_on) AS month, CAST(COUNT(*) AS BIGINT) AS due, \
     CAST(SUM(CASE WHEN EXISTS (SELECT 1 FROM meetings mt WHERE mt.sip_id = p.sip_id \
       AND mt.cancelled_at IS NULL AND mt.starts_at > p.recorded_at AND DAY(mt.starts_at) <= p.follow_up_on) \
       THEN 1 ELSE 0 END) AS BIGINT) AS held \
     FROM plans p JOIN sips s ON s.id = p.sip_id \
     WHERE s.municipality_id = {m} AND p.follow_up_on >= {from_day} AND p.follow_up_on < {to_day} \
       AND p.follow_up_on < {today} GROUP BY 1";

fn with_common(template: &str) -> String {
    template.replace("{in_months}", IN_MONTHS)
}

/// Every count of the period, and the audit entry of the reading (`statistics.view`, with the
/// period; the figures name no child).
pub fn counts(
    conn: &mut AnyConnection,
    actor: &Actor,
    municipality: &MunicipalityId,
    period: Period,
    now: NaiveDateTime,
) -> Result<Raw, AppError> {
    let today = now.date();
    let binds = Binds {
        municipality: municipality.as_str(),
        from: period.start(),
        // Never past now: a safety clock counts as run out only once it has (and nothing is
        // received or closed after now).
        to: period.end().min(now),
        from_day: period.from,
        to_day: period.end_day(),
        today,
        from_month: period.start().format("%Y-%m").to_string(),
        to_month: period.end().format("%Y-%m").to_string(),
    };
    let mut reporters = Vec::new();
    let mut categories = Vec::new();
    for row in load::<Received>(conn, &with_common(RECEIVED), &binds)? {
        for code in row.categories.split(',').filter(|c| !c.is_empty()) {
            categories.push((row.month.clone(), code.to_string(), row.n));
        }
        reporters.push((row.month, row.key, row.n));
    }
    let decisions = load::<Days>(conn, &with_common(DECISION_DAYS), &binds)?;
    let intake = load::<Intake>(conn, &with_common(INTAKE), &binds)?
        .into_iter()
        .map(|r| {
            let of_month = decisions.iter().filter(|d| d.month == r.month);
            let (decided, investigated) = of_month.fold((0, 0), |(all, inv), d| {
                let opened = matches!(d.decision.as_str(), "open" | "join");
                (all + d.n, inv + if opened { d.n } else { 0 })
            });
            IntakeCounts {
                month: r.month,
                received: r.received,
                safety_due: r.safety_due,
                safety_in_time: r.safety_in_time,
                decided,
                investigated,
            }
        })
        .collect();
    let decision_days = decisions
        .into_iter()
        .map(|r| (r.month, r.days, r.n))
        .collect();
    let closings = load::<Closings>(conn, &with_common(CLOSINGS), &binds)?
        .into_iter()
        .map(|r| ClosingCounts {
            month: r.month,
            closed: r.closed,
            within_four_months: r.within,
            extended: r.extended,
        })
        .collect();
    let sip_first = load::<FirstMeetings>(conn, &with_common(FIRST_MEETINGS), &binds)?
        .into_iter()
        .map(|r| (r.month, r.days, r.overdue, r.n))
        .collect();
    let follow_ups = load::<FollowUps>(conn, &with_common(FOLLOW_UPS), &binds)?
        .into_iter()
        .map(|r| (r.month, r.due, r.held))
        .collect();
    let sip_deadline_days = municipalities::table
        .find(municipality)
        .select(municipalities::sip_first_meeting_days)
        .get_result::<i32>(conn)?;
    crate::db::write_tx(conn, |conn| {
        Event::success(
            &actor.audit_actor(),
            "statistics.view",
            Object::Municipality(municipality.as_str()),
        )
        .detail(&format!("{} – {}", period.from, period.to))
        .record(conn)
    })?;
    Ok(Raw {
        reporters,
        categories,
        intake,
        decision_days,
        closings,
        sip_first,
        sip_deadline_days: i64::from(sip_deadline_days),
        follow_ups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_written_for_each_database() {
        let text = sql(Dialect::Postgres, &with_common(INTAKE));
        assert!(text.contains("to_char(q.received_at, 'YYYY-MM')"), "{text}");
        assert!(text.contains("q.municipality_id = $1"), "{text}");
        assert!(text.contains("month >= $4 AND month < $5"), "{text}");
        let text = sql(Dialect::Sqlite, &with_common(FIRST_MEETINGS));
        assert!(
            text.contains("date(f.consent_on, '+' || (mu.sip_first_meeting_days) || ' days') < ?4"),
            "{text}"
        );
        assert!(!text.contains("PLUS_") && !text.contains("DAYS("), "{text}");
    }
}
