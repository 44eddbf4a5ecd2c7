//! What *Mina utredningar* reads, in a few queries for the whole list: the caseworker's open
//! investigations (by their assignment), the open information requests of them (no sealed
//! column is read: only references, organisations and times), and the SIP meetings and plan
//! follow-ups of the SIPs about each investigation's child. The read is audited here, in one transaction.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::accounts::AuthUser;
use crate::audit::event::{Event, Object};
use crate::audit::AuditActor;
use crate::crypto::rows::SealedRow;
use crate::crypto::Keyring;
use crate::db::schema::{
    information_requests, investigations, meetings, organisations, plans, report_children, reports,
};
use crate::db::{now, write_tx, AnyConnection};
use crate::error::AppError;
use crate::information_requests::model::{self as request_model, Status};
use crate::reports::store::{self as report_store, Investigation, InvestigationId};
use crate::sip::store as sip_store;

/// An information request that waits for its answer.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct OpenRequest {
    pub id: String,
    pub reference: String,
    /// The organisation asked.
    pub organisation: String,
    pub due_on: NaiveDate,
    /// `sent`, `read` or `overdue`.
    pub status: Status,
}

/// One of the caseworker's open investigations with what is coming up in it.
#[derive(Clone, Debug)]
pub struct CaseLine {
    pub investigation: Investigation,
    pub reference: String,
    /// 1 for the first child of the report, …
    pub child: i32,
    pub requests: Vec<OpenRequest>,
    /// The next meeting of the SIPs about the investigation's child (UTC).
    pub next_meeting: Option<NaiveDateTime>,
    /// The earliest follow-up date of the latest plan of each SIP about the child.
    pub follow_up_on: Option<NaiveDate>,
}

/// The open investigations assigned to `user`, with their open requests, next SIP meeting and
/// next follow-up; the read is audited. Unordered: the caller orders by what is due.
pub fn caseload(
    conn: &mut AnyConnection,
    keys: &Keyring,
    user: &AuthUser,
    today: NaiveDate,
) -> Result<Vec<CaseLine>, AppError> {
    write_tx(conn, |conn| {
        let ids = report_store::assigned_to(conn, &user.id)?;
        let rows: Vec<(Investigation, String, i32)> = investigations::table
            .inner_join(reports::table)
            .inner_join(report_children::table.on(report_children::id.eq(investigations::child_id)))
            .filter(investigations::id.eq_any(&ids))
            .filter(investigations::closed_at.is_null())
            .select((
                Investigation::as_select(),
                reports::reference,
                report_children::position,
            ))
            .load(conn)?;
        let requests: Vec<(
            String,
            String,
            InvestigationId,
            String,
            NaiveDate,
            Option<NaiveDateTime>,
        )> = information_requests::table
            .filter(information_requests::investigation_id.eq_any(&ids))
            .filter(information_requests::replied_at.is_null())
            .order(information_requests::due_on)
            .select((
                information_requests::id,
                information_requests::reference,
                information_requests::investigation_id,
                information_requests::organisation_id,
                information_requests::due_on,
                information_requests::first_read_at,
            ))
            .load(conn)?;
        let organisation_names: HashMap<String, String> = organisations::table
            .filter(
                organisations::id.eq_any(
                    requests
                        .iter()
                        .map(|r| r.3.clone())
                        .collect::<Vec<String>>(),
                ),
            )
            .select((organisations::id, organisations::name))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect();
        // Only the SIPs about each investigation's own child count, not a sibling's from the
        // same report: the match is the SIPs' own ([`sip_store::children::sips_of_child`]).
        let mut own_sips: HashMap<InvestigationId, Vec<String>> = HashMap::new();
        for (i, _, _) in &rows {
            let found = sip_store::children::sips_of_child(conn, keys, &i.report_id, &i.child_id)?;
            own_sips.insert(i.id.clone(), found.into_iter().map(|s| s.id.0).collect());
        }
        let sip_ids: Vec<&String> = own_sips.values().flatten().collect();
        let upcoming: Vec<(String, NaiveDateTime)> = meetings::table
            .filter(meetings::sip_id.eq_any(&sip_ids))
            .filter(meetings::cancelled_at.is_null())
            .filter(meetings::starts_at.gt(now()))
            .select((meetings::sip_id, meetings::starts_at))
            .load(conn)?;
        let plan_rows: Vec<(String, i32, NaiveDate)> = plans::table
            .filter(plans::sip_id.eq_any(&sip_ids))
            .select((plans::sip_id, plans::version, plans::follow_up_on))
            .load(conn)?;
        // The latest plan of each SIP says when it is followed up.
        let mut latest: HashMap<String, (i32, NaiveDate)> = HashMap::new();
        for (sip, version, follow_up) in plan_rows {
            let newer = latest.get(&sip).is_none_or(|(v, _)| version > *v);
            if newer {
                latest.insert(sip, (version, follow_up));
            }
        }
        let lines: Vec<CaseLine> = rows
            .into_iter()
            .map(|(i, reference, position)| {
                let investigation = i.open(keys)?;
                let sips = own_sips.get(&investigation.id).cloned().unwrap_or_default();
                let own = requests
                    .iter()
                    .filter(|r| r.2 == investigation.id)
                    .map(
                        |(id, reference, _, organisation, due_on, first_read_at)| OpenRequest {
                            id: id.clone(),
                            reference: reference.clone(),
                            organisation: organisation_names
                                .get(organisation)
                                .cloned()
                                .unwrap_or_default(),
                            due_on: *due_on,
                            status: request_model::status(
                                today,
                                *due_on,
                                *first_read_at,
                                None,
                                None,
                            ),
                        },
                    )
                    .collect();
                Ok(CaseLine {
                    next_meeting: upcoming
                        .iter()
                        .filter(|(sip, _)| sips.contains(sip))
                        .map(|(_, at)| *at)
                        .min(),
                    follow_up_on: latest
                        .iter()
                        .filter(|(sip, _)| sips.contains(sip))
                        .map(|(_, (_, on))| *on)
                        .min(),
                    requests: own,
                    investigation,
                    reference,
                    child: position + 1,
                })
            })
            .collect::<Result<_, AppError>>()?;
        Event::success(
            &AuditActor::from(user),
            "investigation.list_own",
            Object::User(user.id.as_str()),
        )
        .detail(&format!("investigations={}", lines.len()))
        .record(conn)?;
        Ok(lines)
    })
}
