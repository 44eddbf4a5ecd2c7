//! Asking for more time: a receiver asks with a reason (and a wished date); the caseworker may
//! grant a new due date, which moves the request's last day and lets its reminder be sent again
//! before the new one. The reason is sealed at rest; each step audited in its transaction.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::accounts::{AuthUser, UserId};
use crate::audit::event::{Event, Object};
use crate::audit::AuditActor;
use crate::crypto::rows::SealedRow;
use crate::crypto::Keyring;
use crate::db::schema::{information_request_extensions, information_requests, users};
use crate::db::{now, write_tx, AnyConnection};
use crate::error::AppError;
use crate::information_requests::store::{already_done, InformationRequest};

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = information_request_extensions)]
pub struct ExtensionRow {
    pub id: String,
    pub request_id: crate::information_requests::store::InformationRequestId,
    pub asked_by: UserId,
    pub asked_at: NaiveDateTime,
    pub reason: String,
    pub wished_on: Option<NaiveDate>,
    pub granted_by: Option<UserId>,
    pub granted_at: Option<NaiveDateTime>,
    pub granted_on: Option<NaiveDate>,
}
crate::sealed_row!(ExtensionRow, information_request_extensions by id: [reason]);

/// One ask for more time, as shown to the receivers and to social services.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct MoreTime {
    pub asked_at: NaiveDateTime,
    /// Who asked (name).
    pub asked_by: String,
    pub reason: String,
    /// The date the receiver wished for, if any.
    pub wished_on: Option<NaiveDate>,
    /// When a new due date was granted (the last grant answers every ask before it).
    pub granted_at: Option<NaiveDateTime>,
    pub granted_on: Option<NaiveDate>,
}

/// Records that `asker` asks for more time on an open request.
pub fn ask(
    conn: &mut AnyConnection,
    keys: &Keyring,
    asker: &AuthUser,
    request: &InformationRequest,
    reason: &str,
    wished_on: Option<NaiveDate>,
) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        let open: i64 = information_requests::table
            .find(&request.id)
            .filter(information_requests::replied_at.is_null())
            .count()
            .get_result(conn)?;
        if open == 0 {
            return Err(already_done());
        }
        let row = ExtensionRow {
            id: uuid::Uuid::new_v4().to_string(),
            request_id: request.id.clone(),
            asked_by: asker.id.clone(),
            asked_at: now(),
            reason: reason.to_string(),
            wished_on,
            granted_by: None,
            granted_at: None,
            granted_on: None,
        };
        diesel::insert_into(information_request_extensions::table)
            .values(&row.seal(keys))
            .execute(conn)?;
        Event::success(
            &AuditActor::from(asker),
            "information_request.ask_more_time",
            Object::InformationRequest(request.id.as_str()),
        )
        .detail(&match wished_on {
            Some(d) => format!("wished_on={d}"),
            None => "wished_on=none".to_string(),
        })
        .record_in(conn, &request.municipality_id)?;
        Ok(())
    })
}

/// Grants an open request a new last day: `due_on` moves, every ask not yet answered is marked
/// granted, and the reminder may be sent again before the new day.
pub fn grant(
    conn: &mut AnyConnection,
    granter: &AuthUser,
    request: &InformationRequest,
    due_on: NaiveDate,
) -> Result<InformationRequest, AppError> {
    write_tx(conn, |conn| {
        let changed = diesel::update(
            information_requests::table
                .find(&request.id)
                .filter(information_requests::replied_at.is_null()),
        )
        .set((
            information_requests::due_on.eq(due_on),
            information_requests::reminded_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
        if changed == 0 {
            return Err(already_done());
        }
        let at = now();
        diesel::update(
            information_request_extensions::table
                .filter(information_request_extensions::request_id.eq(&request.id))
                .filter(information_request_extensions::granted_at.is_null()),
        )
        .set((
            information_request_extensions::granted_by.eq(Some(&granter.id)),
            information_request_extensions::granted_at.eq(Some(at)),
            information_request_extensions::granted_on.eq(Some(due_on)),
        ))
        .execute(conn)?;
        Event::success(
            &AuditActor::from(granter),
            "information_request.grant_more_time",
            Object::InformationRequest(request.id.as_str()),
        )
        .detail(&format!("due_on={due_on}"))
        .record_in(conn, &request.municipality_id)?;
        Ok(InformationRequest {
            due_on,
            reminded_at: None,
            ..request.clone()
        })
    })
}

/// The asks for more time of a request, oldest first (read with the request, whose read is
/// audited).
pub fn of_request(
    conn: &mut AnyConnection,
    keys: &Keyring,
    request: &InformationRequest,
) -> Result<Vec<MoreTime>, AppError> {
    let rows: Vec<(ExtensionRow, String)> = information_request_extensions::table
        .inner_join(users::table.on(users::id.eq(information_request_extensions::asked_by)))
        .filter(information_request_extensions::request_id.eq(&request.id))
        .order(information_request_extensions::asked_at)
        .select((ExtensionRow::as_select(), users::name))
        .load(conn)?;
    rows.into_iter()
        .map(|(row, name)| {
            let row = row.open(keys)?;
            Ok(MoreTime {
                asked_at: row.asked_at,
                asked_by: name,
                reason: row.reason,
                wished_on: row.wished_on,
                granted_at: row.granted_at,
                granted_on: row.granted_on,
            })
        })
        .collect()
}
