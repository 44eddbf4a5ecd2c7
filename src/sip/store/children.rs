//! Which child of a report a SIP started from it is about. A SIP names its child (name and
//! personnummer, sealed) but not the report's child row, so the match is made here, once, for
//! every reader that gathers a child's SIPs: the export ([`crate::case_system`]), *Mina
//! utredningar* ([`crate::caseload`]), the chronology ([`crate::journal`]) and the webhook of a
//! saved plan.

use diesel::prelude::*;

use super::Sip;
use crate::crypto::rows::SealedRow;
use crate::crypto::Keyring;
use crate::db::schema::sips;
use crate::db::AnyConnection;
use crate::error::AppError;
use crate::reports::store::{ChildRow, ReportId};

/// Whether `sip` (opened) is about `child` (opened): the same personnummer (the last ten digits
/// compared, so with or without century and dash), or else the same name; with one child in
/// the report (`only_child`), every SIP from it is.
pub fn is_about(sip: &Sip, child: &ChildRow, only_child: bool) -> bool {
    if only_child {
        return true;
    }
    let key = |s: &str| {
        let digits: Vec<char> = s.chars().filter(char::is_ascii_digit).collect();
        digits[digits.len().saturating_sub(10)..]
            .iter()
            .collect::<String>()
    };
    match (&sip.child_personal_number, &child.personal_number) {
        (Some(a), Some(b)) if !key(a).is_empty() => key(a) == key(b),
        _ => !child.name.trim().is_empty() && sip.child_name.trim() == child.name.trim(),
    }
}

/// The SIPs started from `report` that are about the child `child_id` of it, oldest first,
/// opened. The caller audits the read it is part of.
pub fn sips_of_child(
    conn: &mut AnyConnection,
    keys: &Keyring,
    report: &ReportId,
    child_id: &str,
) -> Result<Vec<Sip>, AppError> {
    let found: Vec<Sip> = sips::table
        .filter(sips::report_id.eq(report.as_str()))
        .order(sips::created_at)
        .select(Sip::as_select())
        .load(conn)?;
    if found.is_empty() {
        return Ok(found);
    }
    let children = crate::reports::store::children_of(conn, keys, report)?;
    let Some(child) = children.iter().find(|c| c.id == child_id) else {
        return Ok(Vec::new());
    };
    let only_child = children.len() == 1;
    let mut about = Vec::new();
    for sip in found {
        let sip = sip.open(keys)?;
        if is_about(&sip, child, only_child) {
            about.push(sip);
        }
    }
    Ok(about)
}

/// The child of `sip`'s report it is about, when exactly one is; `None` for a SIP not started
/// from a report, or when none or several children match.
pub fn child_of_sip(
    conn: &mut AnyConnection,
    keys: &Keyring,
    sip: &Sip,
) -> Result<Option<String>, AppError> {
    let Some(report) = &sip.report_id else {
        return Ok(None);
    };
    let children = crate::reports::store::children_of(conn, keys, &ReportId(report.clone()))?;
    let only_child = children.len() == 1;
    let mut matching = children.iter().filter(|c| is_about(sip, c, only_child));
    match (matching.next(), matching.next()) {
        (Some(child), None) => Ok(Some(child.id.clone())),
        _ => Ok(None),
    }
}
