//! The monthly roll-up of the reports' figures (migration `2026-12-02-000061_statistics_rollup`):
//! per municipality and month of receipt, the reports received by kind of reporter and category
//! set (`statistics_received`), the safety assessments made and made in time
//! (`statistics_safety`) and each child's decision by days to it and what was decided
//! (`statistics_decisions`). The statistics read these few rows instead of scanning a period's
//! reports.
//!
//! Kept by the flows that change the figures, each in its own transaction with one call: filing
//! ([`received`]), the safety assessment ([`assessed`]), each child's decision ([`decided`]) and
//! retention's removal of a report ([`removed`], before its rows go). Each change is derived in
//! SQL from the rows just written, with the same expressions as the migration's backfill and
//! [`rebuild`], so that the roll-up always equals what the rows give (`tests/api/statistics.rs`
//! proves it). A safety assessment and a child's decision are made once (a second is refused), so
//! no correction has to be undone; a count brought to 0 by a removal stays as a row of 0, which
//! the statistics skip.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::db::dialect::Dialect;
use crate::db::AnyConnection;
use crate::error::AppError;

/// The kind of reporter, as the statistics group it.
const REPORTER_KEY: &str =
    "CASE WHEN r.reporter_kind = 'professional' THEN COALESCE(o.kind, 'annan') \
     ELSE r.reporter_kind END";

/// A report's count in `statistics_received`, times `{sign}`.
const RECEIVED: &str =
    "INSERT INTO statistics_received (municipality_id, month, reporter_key, categories, n) \
     SELECT r.municipality_id, MONTH(r.received_at), {reporter_key}, r.categories, {sign} \
     FROM reports r LEFT JOIN users u ON u.id = r.reporter_user_id \
     LEFT JOIN organisations o ON o.id = u.organisation_id WHERE {which} \
     {group} ON CONFLICT (municipality_id, month, reporter_key, categories) \
     DO UPDATE SET n = statistics_received.n + excluded.n";

/// A report's safety assessment (if made) in `statistics_safety`, times `{sign}`.
const SAFETY: &str = "INSERT INTO statistics_safety (municipality_id, month, assessed, in_time) \
     SELECT r.municipality_id, MONTH(r.received_at), {sign}, \
     {sign} * SUM(CASE WHEN s.assessed_at <= r.safety_due_at THEN 1 ELSE 0 END) \
     FROM reports r JOIN safety_assessments s ON s.report_id = r.id WHERE {which} \
     GROUP BY r.municipality_id, MONTH(r.received_at) \
     ON CONFLICT (municipality_id, month) DO UPDATE SET \
     assessed = statistics_safety.assessed + excluded.assessed, \
     in_time = statistics_safety.in_time + excluded.in_time";

/// A report's children's decisions (or one child's) in `statistics_decisions`, times `{sign}`.
const DECISIONS: &str = "INSERT INTO statistics_decisions (municipality_id, month, days, decision, n) \
     SELECT r.municipality_id, MONTH(r.received_at), CAST(DAYS(r.received_at; d.decided_at) AS BIGINT), \
     d.decision, {sign} \
     FROM reports r JOIN report_decisions d ON d.report_id = r.id WHERE {which} \
     GROUP BY r.municipality_id, MONTH(r.received_at), DAYS(r.received_at; d.decided_at), d.decision \
     ON CONFLICT (municipality_id, month, days, decision) DO UPDATE SET \
     n = statistics_decisions.n + excluded.n";

/// The statement for `which` rows, adding or taking back: `{sign}` is `COUNT(*)` or `-COUNT(*)`;
/// in the safety statement its second use is the factor 1 or -1 of the in-time count.
fn statement(template: &str, which: &str, add: bool) -> String {
    let per_row = if add { "COUNT(*)" } else { "-COUNT(*)" };
    let sql = if template == SAFETY {
        template
            .replacen("{sign}", per_row, 1)
            .replace("{sign}", if add { "1" } else { "-1" })
    } else {
        template.replace("{sign}", per_row)
    };
    sql.replace("{reporter_key}", REPORTER_KEY)
        .replace(
            "{group}",
            &format!(
                "GROUP BY r.municipality_id, MONTH(r.received_at), {REPORTER_KEY}, r.categories"
            ),
        )
        .replace("{which}", which)
}

/// Runs `sql` (placeholders `{report}` and maybe `{child}`, in that order) on either database.
fn apply(
    conn: &mut AnyConnection,
    sql: &str,
    report: &str,
    child: Option<&str>,
) -> Result<(), AppError> {
    macro_rules! run {
        ($conn:expr, $dialect:expr, $db:ty, $first:expr, $second:expr) => {{
            let sql = $dialect
                .sql(sql, &[])
                .replace("{report}", $first)
                .replace("{child}", $second);
            let mut query = diesel::sql_query(sql).into_boxed::<$db>();
            query = query.bind::<Text, _>(report.to_string());
            if let Some(child) = child {
                query = query.bind::<Text, _>(child.to_string());
            }
            query.execute($conn)?;
        }};
    }
    match conn {
        AnyConnection::Postgresql(pg) => run!(pg, Dialect::Postgres, diesel::pg::Pg, "$1", "$2"),
        AnyConnection::Sqlite(sqlite) => {
            run!(sqlite, Dialect::Sqlite, diesel::sqlite::Sqlite, "?1", "?2");
        }
    }
    Ok(())
}

const REPORT: &str = "r.id = {report}";

/// A report was filed: counts it as received (call in the filing's transaction, after its row).
pub fn received(conn: &mut AnyConnection, report: &str) -> Result<(), AppError> {
    apply(conn, &statement(RECEIVED, REPORT, true), report, None)
}

/// A report's safety assessment was recorded (in its transaction, after its row).
pub fn assessed(conn: &mut AnyConnection, report: &str) -> Result<(), AppError> {
    apply(conn, &statement(SAFETY, REPORT, true), report, None)
}

/// Children of a report were decided (in the decision's transaction, after the rows).
pub fn decided<'a>(
    conn: &mut AnyConnection,
    report: &str,
    children: impl IntoIterator<Item = &'a str>,
) -> Result<(), AppError> {
    let sql = statement(DECISIONS, "r.id = {report} AND d.child_id = {child}", true);
    for child in children {
        apply(conn, &sql, report, Some(child))?;
    }
    Ok(())
}

/// A report is about to be removed (retention): takes back everything it counted (in the
/// removal's transaction, before its rows go).
pub fn removed(conn: &mut AnyConnection, report: &str) -> Result<(), AppError> {
    // The report's row locked first (on PostgreSQL; SQLite has one writer): if another instance
    // removed it meanwhile, there is nothing to take back, and nothing is taken back twice.
    let locked = match conn {
        AnyConnection::Postgresql(pg) => {
            diesel::sql_query("UPDATE reports SET id = id WHERE id = $1")
                .bind::<Text, _>(report)
                .execute(pg)?
        }
        AnyConnection::Sqlite(_) => 1,
    };
    if locked == 0 {
        return Ok(());
    }
    for template in [RECEIVED, SAFETY, DECISIONS] {
        apply(conn, &statement(template, REPORT, false), report, None)?;
    }
    Ok(())
}

/// Computes a municipality's roll-up again from its rows (for data written around the flows,
/// such as the load benchmark's seed), in one transaction.
pub fn rebuild(conn: &mut AnyConnection, municipality: &str) -> Result<(), AppError> {
    crate::db::write_tx(conn, |conn| {
        for table in [
            "statistics_received",
            "statistics_safety",
            "statistics_decisions",
        ] {
            apply(
                conn,
                &format!("DELETE FROM {table} WHERE municipality_id = {{report}}"),
                municipality,
                None,
            )?;
        }
        for template in [RECEIVED, SAFETY, DECISIONS] {
            apply(
                conn,
                &statement(template, "r.municipality_id = {report}", true),
                municipality,
                None,
            )?;
        }
        Ok(())
    })
}

/// One row of the roll-up or of the same figures computed from the reports' rows: the table,
/// month, key (kind of reporter and categories; or days and decision) and counts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, QueryableByName)]
pub struct Row {
    #[diesel(sql_type = Text)]
    pub figure: String,
    #[diesel(sql_type = Text)]
    pub month: String,
    #[diesel(sql_type = Text)]
    pub key: String,
    #[diesel(sql_type = BigInt)]
    pub a: i64,
    #[diesel(sql_type = BigInt)]
    pub b: i64,
}

const KEPT: &str = "SELECT 'received' AS figure, month, reporter_key || '|' || categories AS key, n AS a, \
     CAST(0 AS BIGINT) AS b FROM statistics_received WHERE municipality_id = {report} AND n <> 0 \
     UNION ALL SELECT 'safety', month, '', assessed, in_time FROM statistics_safety \
     WHERE municipality_id = {report} AND (assessed <> 0 OR in_time <> 0) \
     UNION ALL SELECT 'decisions', month, CAST(days AS TEXT) || '|' || decision, n, CAST(0 AS BIGINT) \
     FROM statistics_decisions WHERE municipality_id = {report} AND n <> 0";

const FROM_ROWS: &str = "SELECT 'received' AS figure, MONTH(r.received_at) AS month, \
     {reporter_key} || '|' || r.categories AS key, CAST(COUNT(*) AS BIGINT) AS a, CAST(0 AS BIGINT) AS b \
     FROM reports r LEFT JOIN users u ON u.id = r.reporter_user_id \
     LEFT JOIN organisations o ON o.id = u.organisation_id WHERE r.municipality_id = {report} \
     GROUP BY 1, 2, 3 \
     UNION ALL SELECT 'safety', MONTH(r.received_at), '', CAST(COUNT(*) AS BIGINT), \
     CAST(SUM(CASE WHEN s.assessed_at <= r.safety_due_at THEN 1 ELSE 0 END) AS BIGINT) \
     FROM reports r JOIN safety_assessments s ON s.report_id = r.id WHERE r.municipality_id = {report} \
     GROUP BY 1, 2, 3 \
     UNION ALL SELECT 'decisions', MONTH(r.received_at), \
     CAST(DAYS(r.received_at; d.decided_at) AS TEXT) || '|' || d.decision, CAST(COUNT(*) AS BIGINT), \
     CAST(0 AS BIGINT) FROM reports r JOIN report_decisions d ON d.report_id = r.id \
     WHERE r.municipality_id = {report} GROUP BY 1, 2, 3";

/// A municipality's roll-up as kept (rows of 0 left out) and as its rows give it, each sorted:
/// equal when the flows kept it right.
pub fn kept_and_from_rows(
    conn: &mut AnyConnection,
    municipality: &str,
) -> Result<(Vec<Row>, Vec<Row>), AppError> {
    let mut out = Vec::new();
    for template in [
        KEPT.to_string(),
        FROM_ROWS.replace("{reporter_key}", REPORTER_KEY),
    ] {
        macro_rules! run {
            ($conn:expr, $dialect:expr, $db:ty, $param:expr) => {{
                let sql = $dialect.sql(&template, &[]).replace("{report}", $param);
                diesel::sql_query(sql)
                    .into_boxed::<$db>()
                    .bind::<Text, _>(municipality.to_string())
                    .load::<Row>($conn)?
            }};
        }
        let mut rows = match conn {
            AnyConnection::Postgresql(pg) => run!(pg, Dialect::Postgres, diesel::pg::Pg, "$1"),
            AnyConnection::Sqlite(sqlite) => {
                run!(sqlite, Dialect::Sqlite, diesel::sqlite::Sqlite, "?1")
            }
        };
        rows.sort();
        out.push(rows);
    }
    let from_rows = out.pop().unwrap_or_default();
    Ok((out.pop().unwrap_or_default(), from_rows))
}

#[cfg(test)]
mod tests {
    use crate::reports::store::rollup::*;

    #[test]
    fn rollup_statements_are_written_for_each_database() {
        let sql = Dialect::Postgres.sql(&statement(DECISIONS, REPORT, false), &[]);
        assert!(sql.contains("to_char(r.received_at, 'YYYY-MM')"), "{sql}");
        assert!(
            sql.contains("(CAST(d.decided_at AS DATE) - CAST(r.received_at AS DATE))"),
            "{sql}"
        );
        assert!(sql.contains("-COUNT(*)"), "{sql}");
        let sql = Dialect::Sqlite.sql(&statement(SAFETY, REPORT, true), &[]);
        assert!(
            sql.contains("strftime('%Y-%m', r.received_at), COUNT(*), 1 * SUM("),
            "{sql}"
        );
        assert!(!sql.contains("{sign}") && !sql.contains("{which}"), "{sql}");
    }
}
