//! The load benchmark's data: reports added in SQL, in batches, as the service would store them.
//! Shared by `benches/load.rs` (the intake queue and the statistics at 10k/100k/1M reports).

use diesel::prelude::*;
use samordna::crypto::Keyring;
use samordna::db::{write_tx, AnyConnection};
use samordna::error::AppError;

/// Adds reports to `municipality` until it holds `total`: one child each, received over the last
/// years, every hundredth still undecided (in the queue, half of them safety-assessed), the rest
/// assessed and decided. Done in SQL, in batches. The sealed columns get values sealed as the
/// service seals them, so that reading them costs what it costs in use; one sealed value per
/// column is reused for every row (the same ciphertext, harmless for made-up data).
pub fn seed_reports(
    conn: &mut AnyConnection,
    keys: &Keyring,
    municipality: &str,
    officer: &str,
    from: u64,
    total: u64,
) {
    let sqlite = matches!(conn, AnyConnection::Sqlite(_));
    let series = |lo: u64, hi: u64| {
        if sqlite {
            format!("WITH RECURSIVE s(i) AS (SELECT {lo} UNION ALL SELECT i + 1 FROM s WHERE i < {hi}) ")
        } else {
            format!("WITH s(i) AS (SELECT generate_series({lo}::bigint, {hi}::bigint)) ")
        }
    };
    let ts = |expr: &str| {
        if sqlite {
            format!("datetime('2026-11-23 08:00:00', (-({expr})) || ' minutes')")
        } else {
            format!("(TIMESTAMP '2026-11-23 08:00:00' - ({expr}) * INTERVAL '1 minute')")
        }
    };
    let day = |expr: &str| {
        if sqlite {
            format!("date('2026-12-07', (-({expr})) || ' days')")
        } else {
            format!("(DATE '2026-12-07' - ({expr})::int)")
        }
    };
    let (f, t) = (
        if sqlite { "0" } else { "false" },
        if sqlite { "1" } else { "true" },
    );
    let sealed = |column: &str, plain: &str| format!("'{}'", keys.seal(column, plain));
    let concern = sealed("reports.concern", "Orosanmälan från lastprovet");
    let (language, agencies) = (
        sealed("reports.interpreter_language", ""),
        sealed("reports.other_agencies", ""),
    );
    let child = sealed("report_children.name", "Barn i lastprovet");
    let (address, school, not_told) = (
        sealed("report_children.address", ""),
        sealed("report_children.school", ""),
        sealed("report_children.not_told_reason", ""),
    );
    let notes = sealed("safety_assessments.notes", "");
    let reason = sealed("report_decisions.reason", "Inget behov av utredning");
    let (late, siblings) = (
        sealed("report_decisions.late_reason", ""),
        sealed("report_decisions.siblings_note", ""),
    );
    let mut lo = from + 1;
    while lo <= total {
        let hi = (lo + 99_999).min(total);
        let statements = [
            format!(
                "{}INSERT INTO reports (id, reference, municipality_id, received_at, reporter_kind, reporter_user_id, \
                 concern, categories, acute_danger, police_informed, interpreter_language, other_agencies, \
                 safety_due_at, decision_due_on) \
                 SELECT 'seed-' || i, 'SEED-' || i, '{municipality}', {}, 'anonymous', NULL, \
                 {concern}, 'neglect', {f}, {f}, {language}, {agencies}, {}, {} FROM s",
                series(lo, hi),
                ts("i * 3"),
                ts("i * 3 - 480"),
                day("i / 480"),
            ),
            format!(
                "{}INSERT INTO report_children (id, report_id, position, personal_number, name, birth_date, \
                 address, school, child_told, not_told_reason) \
                 SELECT 'seed-child-' || i, 'seed-' || i, 0, NULL, {child}, NULL, {address}, {school}, {t}, \
                 {not_told} FROM s",
                series(lo, hi)
            ),
            format!(
                "{}INSERT INTO safety_assessments (report_id, assessed_at, assessed_by, protection_needed, notes) \
                 SELECT 'seed-' || i, {}, '{officer}', {f}, {notes} FROM s WHERE i % 200 <> 0",
                series(lo, hi),
                ts("i * 3 - 60")
            ),
            format!(
                "{}INSERT INTO report_decisions (child_id, report_id, decided_at, decided_by, decision, reason, \
                 late_reason, siblings_note) SELECT 'seed-child-' || i, 'seed-' || i, {}, '{officer}', 'not_open', \
                 {reason}, {late}, {siblings} FROM s WHERE i % 100 <> 0",
                series(lo, hi),
                ts("i * 3 - 1440")
            ),
            format!(
                "{}INSERT INTO intake_queue (report_id, municipality_id, due_at, received_at) \
                 SELECT 'seed-' || i, '{municipality}', {}, {} FROM s WHERE i % 100 = 0",
                series(lo, hi),
                ts("i * 3 - 480"),
                ts("i * 3")
            ),
        ];
        write_tx(conn, |conn| {
            for statement in &statements {
                diesel::sql_query(statement.as_str()).execute(conn)?;
            }
            Ok::<_, AppError>(())
        })
        .unwrap();
        lo = hi + 1;
    }
    // Written around the flows: the statistics' roll-up computed from the rows, as the
    // migration's backfill does.
    samordna::reports::store::rollup::rebuild(conn, municipality).unwrap();
    if !sqlite {
        diesel::sql_query("ANALYZE").execute(conn).unwrap();
    }
}
