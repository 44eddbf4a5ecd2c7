//! Who an investigation is assigned to (the caseworker whose *Mina utredningar* it is on). One
//! caseworker at a time: assigning again replaces the row, and every assignment is in the audit
//! trail, written here in the same transaction.

use super::*;
use crate::db::schema::{investigation_assignments, organisations, user_roles, users};

/// A caseworker, as lists and the assignment form show them.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Assignee {
    pub user_id: String,
    pub name: String,
    pub title: String,
}

/// Assigns `investigation` to `assignee` (checked by the caller to be one of its
/// municipality's caseworkers), replacing any earlier assignment, with its audit entry.
pub fn assign(
    conn: &mut AnyConnection,
    by: &AuthUser,
    investigation: &Investigation,
    assignee: &Assignee,
) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        diesel::delete(investigation_assignments::table.find(&investigation.id)).execute(conn)?;
        diesel::insert_into(investigation_assignments::table)
            .values((
                investigation_assignments::investigation_id.eq(&investigation.id),
                investigation_assignments::user_id.eq(&assignee.user_id),
                investigation_assignments::assigned_by.eq(&by.id),
                investigation_assignments::assigned_at.eq(now()),
            ))
            .execute(conn)?;
        Event::success(
            &AuditActor::from(by),
            "investigation.assign",
            Object::Investigation(investigation.id.as_str()),
        )
        .detail(&format!("assignee={}", assignee.user_id))
        .record_in(conn, &investigation.municipality_id)?;
        Ok(())
    })
}

/// The active caseworkers of social services in `municipality`, by name: who an investigation
/// of it may be assigned to.
pub fn caseworkers_of(
    conn: &mut AnyConnection,
    municipality: &MunicipalityId,
) -> Result<Vec<Assignee>, AppError> {
    let rows: Vec<(String, String, String)> = users::table
        .inner_join(organisations::table)
        .inner_join(user_roles::table)
        .filter(organisations::municipality_id.eq(municipality))
        .filter(organisations::kind.eq(crate::accounts::OrgKind::Socialtjanst))
        .filter(users::active.eq(true))
        .filter(user_roles::role.eq(crate::accounts::Role::Caseworker))
        .order(users::name)
        .select((users::id, users::name, users::title))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(user_id, name, title)| Assignee {
            user_id,
            name,
            title,
        })
        .collect())
}

/// Who each open investigation of `municipality` is assigned to.
pub fn assignees_in(
    conn: &mut AnyConnection,
    municipality: &MunicipalityId,
) -> Result<Vec<(InvestigationId, Assignee)>, AppError> {
    let rows: Vec<(InvestigationId, String)> = investigation_assignments::table
        .inner_join(investigations::table)
        .filter(investigations::municipality_id.eq(municipality))
        .select((
            investigation_assignments::investigation_id,
            investigation_assignments::user_id,
        ))
        .load(conn)?;
    let people: Vec<(String, String, String)> = users::table
        .filter(users::id.eq_any(rows.iter().map(|(_, u)| u.clone()).collect::<Vec<_>>()))
        .select((users::id, users::name, users::title))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(investigation, user)| {
            people
                .iter()
                .find(|(id, _, _)| *id == user)
                .map(|(user_id, name, title)| {
                    (
                        investigation,
                        Assignee {
                            user_id: user_id.clone(),
                            name: name.clone(),
                            title: title.clone(),
                        },
                    )
                })
        })
        .collect())
}

/// Who one investigation is assigned to, if anyone.
pub fn assignee_of(
    conn: &mut AnyConnection,
    investigation: &InvestigationId,
) -> Result<Option<Assignee>, AppError> {
    let row: Option<(String, String, String)> = investigation_assignments::table
        .inner_join(users::table.on(users::id.eq(investigation_assignments::user_id)))
        .filter(investigation_assignments::investigation_id.eq(investigation))
        .select((users::id, users::name, users::title))
        .get_result(conn)
        .optional()?;
    Ok(row.map(|(user_id, name, title)| Assignee {
        user_id,
        name,
        title,
    }))
}

/// The ids of the open investigations assigned to `user`.
pub fn assigned_to(
    conn: &mut AnyConnection,
    user: &UserId,
) -> Result<Vec<InvestigationId>, AppError> {
    Ok(investigation_assignments::table
        .inner_join(investigations::table)
        .filter(investigation_assignments::user_id.eq(user))
        .filter(investigations::closed_at.is_null())
        .select(investigation_assignments::investigation_id)
        .load(conn)?)
}
