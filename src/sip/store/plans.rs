//! The plan written after each meeting, kept as versions: a new one never replaces an old.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::{Meeting, MeetingId, Sip, SipId};
use crate::accounts::AuthUser;
use crate::audit::event::{Event, Object};
use crate::authz::Actor;
use crate::crypto::rows::SealedRow;
use crate::crypto::Keyring;
use crate::db::schema::{organisations, plans, sips};
use crate::db::{now, write_tx, AnyConnection};
use crate::error::AppError;
use crate::ids::{MunicipalityId, OrganisationId, UserId};
use crate::sip::model::{self, ValidPlan};

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = plans)]
pub struct PlanRow {
    pub id: String,
    pub sip_id: SipId,
    pub version: i32,
    pub meeting_id: MeetingId,
    pub needs: String,
    /// JSON list of strings.
    pub goals: String,
    /// JSON list of measures.
    pub measures: String,
    pub lead_organisation_id: OrganisationId,
    pub follow_up_on: NaiveDate,
    pub recorded_by: UserId,
    pub recorded_at: NaiveDateTime,
}
crate::sealed_row!(PlanRow, plans by id: [needs, goals, measures]);

/// A plan version as read.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Plan {
    pub version: i32,
    pub meeting_id: String,
    pub needs: String,
    pub goals: Vec<String>,
    pub measures: Vec<model::MeasureInput>,
    pub lead_organisation_id: String,
    pub follow_up_on: NaiveDate,
    pub recorded_at: NaiveDateTime,
}

impl From<PlanRow> for Plan {
    fn from(row: PlanRow) -> Self {
        Plan {
            version: row.version,
            meeting_id: row.meeting_id.0,
            needs: row.needs,
            goals: serde_json::from_str(&row.goals).unwrap_or_default(),
            measures: serde_json::from_str(&row.measures).unwrap_or_default(),
            lead_organisation_id: row.lead_organisation_id.0,
            follow_up_on: row.follow_up_on,
            recorded_at: row.recorded_at,
        }
    }
}

/// The ids of every organisation, which a plan's measures may name.
pub fn organisation_ids(conn: &mut AnyConnection) -> Result<Vec<String>, AppError> {
    Ok(organisations::table.select(organisations::id).load(conn)?)
}

/// The organisations that may have the overall responsibility in `sip`'s plan
/// ([`model::may_lead`]): the calling organisation and those of the participants still taking
/// part, whose principal is a kommun or a region. Ids only: nothing sealed is read.
pub fn lead_candidates(conn: &mut AnyConnection, sip: &Sip) -> Result<Vec<String>, AppError> {
    use crate::db::schema::participants;
    let mut taking_part: Vec<String> = participants::table
        .filter(participants::sip_id.eq(&sip.id))
        .filter(participants::removed_at.is_null())
        .filter(participants::organisation_id.is_not_null())
        .select(participants::organisation_id.assume_not_null())
        .load(conn)?;
    taking_part.push(sip.calling_organisation_id.0.clone());
    let found: Vec<(String, crate::accounts::Principal)> = organisations::table
        .filter(organisations::id.eq_any(&taking_part))
        .select((organisations::id, organisations::principal))
        .load(conn)?;
    Ok(found
        .into_iter()
        .filter(|(_, principal)| model::may_lead(*principal, true))
        .map(|(id, _)| id)
        .collect())
}

/// Records the plan made at `meeting` as the next version.
pub fn insert(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &Actor,
    user: &AuthUser,
    sip: &Sip,
    meeting: &Meeting,
    valid: &ValidPlan,
) -> Result<Plan, AppError> {
    write_tx(conn, |conn| {
        let last: Option<i32> = plans::table
            .filter(plans::sip_id.eq(&sip.id))
            .select(diesel::dsl::max(plans::version))
            .first(conn)?;
        let row = PlanRow {
            id: uuid::Uuid::new_v4().to_string(),
            sip_id: sip.id.clone(),
            version: last.unwrap_or(0) + 1,
            meeting_id: meeting.id.clone(),
            needs: valid.needs.clone(),
            goals: serde_json::to_string(&valid.goals).map_err(AppError::internal)?,
            measures: serde_json::to_string(&valid.measures).map_err(AppError::internal)?,
            lead_organisation_id: OrganisationId(valid.lead_organisation_id.clone()),
            follow_up_on: valid.follow_up_on,
            recorded_by: user.id.clone(),
            recorded_at: now(),
        };
        diesel::insert_into(plans::table)
            .values(&row.clone().seal(keys))
            .execute(conn)
            .map_err(|e| match e {
                diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                ) => AppError::Conflict(
                    "Någon annan sparade planen samtidigt. Ladda om sidan och försök igen.".into(),
                ),
                other => other.into(),
            })?;
        // The report (and its child, when the SIP is about exactly one) let the case system
        // fetch the export; a SIP not started from a report has neither.
        let child = super::children::child_of_sip(conn, keys, sip)?;
        let mut ids = vec![("sip_id", sip.id.as_str()), ("plan_id", row.id.as_str())];
        if let Some(report) = &sip.report_id {
            ids.push(("report_id", report.as_str()));
        }
        if let Some(child) = &child {
            ids.push(("child_id", child.as_str()));
        }
        crate::webhooks::queue(
            conn,
            &sip.municipality_id,
            crate::webhooks::EventType::SipPlanSaved,
            &ids,
        )?;
        Event::success(
            &actor.audit_actor(),
            "sip.plan",
            Object::Sip(sip.id.as_str()),
        )
        .detail(&format!("version={}", row.version))
        .record(conn)?;
        Ok(Plan::from(row))
    })
}

/// Every version of a SIP's plan, newest first (access already checked).
pub fn plans_of(
    conn: &mut AnyConnection,
    keys: &Keyring,
    sip: &SipId,
) -> Result<Vec<Plan>, AppError> {
    let rows: Vec<PlanRow> = plans::table
        .filter(plans::sip_id.eq(sip))
        .order(plans::version.desc())
        .select(PlanRow::as_select())
        .load(conn)?;
    rows.into_iter()
        .map(|row| Ok(Plan::from(row.open(keys)?)))
        .collect()
}

/// The follow-up date of a SIP's latest plan.
pub fn latest_follow_up(
    conn: &mut AnyConnection,
    sip: &SipId,
) -> Result<Option<NaiveDate>, AppError> {
    Ok(plans::table
        .filter(plans::sip_id.eq(sip))
        .order(plans::version.desc())
        .select(plans::follow_up_on)
        .first(conn)
        .optional()?)
}

/// [`latest_follow_up`] of every SIP of a municipality that has a plan, in one query.
pub fn latest_follow_ups_in(
    conn: &mut AnyConnection,
    municipality: &MunicipalityId,
) -> Result<HashMap<SipId, NaiveDate>, AppError> {
    let of_municipality = sips::table
        .filter(sips::municipality_id.eq(municipality))
        .select(sips::id);
    let rows: Vec<(SipId, NaiveDate)> = plans::table
        .filter(plans::sip_id.eq_any(of_municipality))
        .order(plans::version)
        .select((plans::sip_id, plans::follow_up_on))
        .load(conn)?;
    // In version order: the latest of each SIP is the one left.
    Ok(rows.into_iter().collect())
}

/// The SIPs started from a report, opened, each with every version of its plan, oldest first
/// (access checked and the read audited by the caller: the report's export).
pub fn plans_of_report(
    conn: &mut AnyConnection,
    keys: &Keyring,
    report_id: &str,
) -> Result<Vec<(Sip, Vec<Plan>)>, AppError> {
    let found: Vec<Sip> = sips::table
        .filter(sips::report_id.eq(report_id))
        .order(sips::created_at)
        .select(Sip::as_select())
        .load(conn)?;
    let mut out = Vec::with_capacity(found.len());
    for sip in found {
        let sip = sip.open(keys)?;
        let mut versions = plans_of(conn, keys, &sip.id)?;
        versions.reverse();
        out.push((sip, versions));
    }
    Ok(out)
}
