//! Retention (gallring): a report that did not lead to an investigation is removed, with its
//! children, guardians, reporter and the officer's records, when the time set for its
//! municipality and the law it was decided under has passed since the decision. Each removal is
//! written to the audit trail (the report's id only); the audit trail itself is never removed. A
//! dry run lists what would go and changes nothing.

use std::collections::HashMap;

use chrono::{Months, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::accounts::MunicipalityId;
use crate::audit::event::{Event, Object};
use crate::audit::AuditActor;
use crate::db::schema::{
    intake_queue, report_children, report_decisions, report_feedback, report_guardians,
    report_reporters, reports, retention_rules, safety_assessments,
};
use crate::db::{write_tx, AnyConnection, DbPool};
use crate::error::AppError;
use crate::reports::model::Decision;
use crate::reports::store::ReportId;

/// Months a report that did not lead to an investigation is kept after the decision, unless the
/// municipality has set its own time for that law (`samordna retention set`).
pub const DEFAULT_MONTHS: u32 = 60;

/// The law versions a retention time can be set for, oldest first.
pub const LAWS: [&str; 2] = ["SoL 2001:453", "SoL 2025:400"];

/// The law a decision was made under: the new Socialtjänstlag (2025:400) from 1 July 2025, the
/// old one (2001:453) before.
pub fn law_version(decided_on: NaiveDate) -> &'static str {
    if decided_on >= NaiveDate::from_ymd_opt(2025, 7, 1).expect("valid date") {
        LAWS[1]
    } else {
        LAWS[0]
    }
}

/// Whether a report decided at `decided_at` and kept `months` is due for removal at `now`.
pub fn is_due(decided_at: NaiveDateTime, months: u32, now: NaiveDateTime) -> bool {
    decided_at
        .checked_add_months(Months::new(months))
        .is_some_and(|end| end <= now)
}

/// One report that goes (or would go), and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Removal {
    pub report_id: ReportId,
    pub municipality_id: MunicipalityId,
    pub decided_at: NaiveDateTime,
    pub law_version: &'static str,
    pub months: u32,
}

/// Sets how many months reports decided under `law` are kept in a municipality.
pub fn set_rule(
    conn: &mut AnyConnection,
    municipality: &MunicipalityId,
    law: &str,
    months: u32,
) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        diesel::delete(
            retention_rules::table
                .filter(retention_rules::municipality_id.eq(municipality))
                .filter(retention_rules::law_version.eq(law)),
        )
        .execute(conn)?;
        diesel::insert_into(retention_rules::table)
            .values((
                retention_rules::municipality_id.eq(municipality),
                retention_rules::law_version.eq(law),
                retention_rules::months.eq(months as i32),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// The reports due for removal at `now`, oldest decision first.
pub fn due(conn: &mut AnyConnection, now: NaiveDateTime) -> Result<Vec<Removal>, AppError> {
    let rules: HashMap<(String, String), u32> = retention_rules::table
        .select((
            retention_rules::municipality_id,
            retention_rules::law_version,
            retention_rules::months,
        ))
        .load::<(String, String, i32)>(conn)?
        .into_iter()
        .map(|(m, law, months)| ((m, law), months.max(0) as u32))
        .collect();
    // Only decisions older than the shortest time of any rule can be due: the rest stay in SQL.
    let shortest = rules.values().copied().chain([DEFAULT_MONTHS]).min();
    let Some(cutoff) = shortest.and_then(|m| now.checked_sub_months(Months::new(m))) else {
        return Ok(Vec::new());
    };
    // Each child is its own case: a report goes only when every child in it was decided not to
    // open, and the time runs from the last of those decisions.
    let (other, own) = diesel::alias!(
        report_decisions as other_decisions,
        report_decisions as own_decisions
    );
    let blocked = other
        .filter(
            other
                .field(report_decisions::decision)
                .ne(Decision::NotOpen)
                .or(other.field(report_decisions::decided_at).gt(cutoff)),
        )
        .select(other.field(report_decisions::report_id));
    let undecided = report_children::table
        .left_join(
            own.on(own
                .field(report_decisions::child_id)
                .eq(report_children::id)),
        )
        .filter(own.field(report_decisions::child_id).nullable().is_null())
        .select(report_children::report_id);
    let rows: Vec<(ReportId, MunicipalityId, NaiveDateTime)> = reports::table
        .inner_join(report_decisions::table)
        .filter(report_decisions::decision.eq(Decision::NotOpen))
        .filter(report_decisions::decided_at.le(cutoff))
        .filter(diesel::dsl::not(reports::id.eq_any(blocked)))
        .filter(diesel::dsl::not(reports::id.eq_any(undecided)))
        .order(report_decisions::decided_at)
        .select((
            reports::id,
            reports::municipality_id,
            report_decisions::decided_at,
        ))
        .load(conn)?;
    // One line per report, at its last decision (the rows come oldest first).
    let mut candidates: Vec<(ReportId, MunicipalityId, NaiveDateTime)> = Vec::new();
    let mut at: HashMap<ReportId, usize> = HashMap::new();
    for row in rows {
        match at.get(&row.0) {
            Some(&i) => candidates[i].2 = row.2,
            None => {
                at.insert(row.0.clone(), candidates.len());
                candidates.push(row);
            }
        }
    }
    candidates.sort_by_key(|(_, _, at)| *at);
    Ok(candidates
        .into_iter()
        .filter_map(|(report_id, municipality, decided_at)| {
            let law = law_version(crate::time::local(decided_at).date());
            let months = rules
                .get(&(municipality.0.clone(), law.to_string()))
                .copied()
                .unwrap_or(DEFAULT_MONTHS);
            is_due(decided_at, months, now).then_some(Removal {
                report_id,
                municipality_id: municipality,
                decided_at,
                law_version: law,
                months,
            })
        })
        .collect())
}

/// Removes what is due at `now` (or, as a dry run, only lists it). Each report goes in its own
/// transaction with its audit entry; one that another instance removed meanwhile is skipped.
pub fn run(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    dry_run: bool,
) -> Result<Vec<Removal>, AppError> {
    let due = due(conn, now)?;
    if dry_run {
        return Ok(due);
    }
    let mut removed = Vec::with_capacity(due.len());
    for removal in due {
        let id = &removal.report_id;
        let gone = write_tx(conn, |conn| {
            // Its figures go with it, taken back while its rows are there.
            crate::reports::store::rollup::removed(conn, id.as_str())?;
            // The decisions and hand-overs first: each names its child.
            crate::reports::store::handover::remove_of_report(conn, id)?;
            diesel::delete(report_decisions::table.filter(report_decisions::report_id.eq(id)))
                .execute(conn)?;
            diesel::delete(report_children::table.filter(report_children::report_id.eq(id)))
                .execute(conn)?;
            diesel::delete(report_guardians::table.filter(report_guardians::report_id.eq(id)))
                .execute(conn)?;
            diesel::delete(report_reporters::table.find(id)).execute(conn)?;
            diesel::delete(safety_assessments::table.find(id)).execute(conn)?;
            diesel::delete(intake_queue::table.find(id)).execute(conn)?;
            diesel::delete(report_feedback::table.find(id)).execute(conn)?;
            if diesel::delete(reports::table.find(id)).execute(conn)? == 0 {
                return Ok(false);
            }
            Event::success(
                &AuditActor::system().within(&removal.municipality_id),
                "report.retention_removed",
                Object::Report(id.as_str()),
            )
            .detail(&format!(
                "law={} months={}",
                removal.law_version, removal.months
            ))
            .record(conn)?;
            Ok::<_, AppError>(true)
        })?;
        if gone {
            removed.push(removal);
        }
    }
    Ok(removed)
}

/// Runs retention every `interval` in the background (every instance; removal is safe to race),
/// and with it removes sign-in attempts older than their window.
pub async fn schedule(pool: DbPool, interval: std::time::Duration) {
    loop {
        let pool = pool.clone();
        let result = actix_web::web::block(move || -> Result<usize, AppError> {
            let mut conn = pool.get()?;
            let now = crate::db::now();
            crate::accounts::throttle::sweep(&mut conn, now)?;
            Ok(run(&mut conn, now, false)?.len())
        })
        .await;
        match result {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(reports = n, "retention: reports removed"),
            Ok(Err(e)) => tracing::warn!(error = %e, "retention failed; will retry"),
            Err(e) => tracing::warn!(error = %e, "retention task failed; will retry"),
        }
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
    }

    #[test]
    fn the_law_follows_the_decision_date() {
        assert_eq!(law_version(at(2025, 6, 30).date()), "SoL 2001:453");
        assert_eq!(law_version(at(2025, 7, 1).date()), "SoL 2025:400");
    }

    #[test]
    fn a_report_is_due_when_its_months_have_passed() {
        let decided = at(2021, 11, 23);
        assert!(!is_due(decided, 60, at(2026, 11, 22)));
        assert!(is_due(decided, 60, at(2026, 11, 23)));
        assert!(is_due(decided, 12, at(2022, 11, 23)));
        // The end of a short month: 31 January + 1 month is the last day of February.
        assert!(is_due(at(2026, 1, 31), 1, at(2026, 2, 28)));
        assert!(!is_due(decided, u32::MAX, at(2026, 11, 23)));
    }
}
