//! SQL of single sign-on: providers, the sign-ins waiting for a provider's answer, the links
//! between a provider's people and users, organisations that require it, and how each user last
//! signed in. Audit entries are written by the flows in `sso` (they know the actor and outcome).

use std::collections::HashMap;

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use super::model::{Failure, IdentityProvider, LOGIN_MINUTES};
use crate::accounts::{OrganisationId, UserId};
use crate::db::schema::{
    identity_providers, last_sign_ins, organisations, provider_user_values, sso_logins,
    sso_required, user_identities, users,
};
use crate::db::{now, AnyConnection};
use crate::error::AppError;
use crate::ids::MunicipalityId;
use crate::secrets::hash_token;

pub fn insert_provider(conn: &mut AnyConnection, p: &IdentityProvider) -> Result<(), AppError> {
    diesel::insert_into(identity_providers::table)
        .values(p)
        .execute(conn)?;
    Ok(())
}

pub fn all_providers(conn: &mut AnyConnection) -> Result<Vec<IdentityProvider>, AppError> {
    Ok(identity_providers::table
        .order(identity_providers::name)
        .select(IdentityProvider::as_select())
        .load(conn)?)
}

pub fn find_provider(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<IdentityProvider>, AppError> {
    Ok(identity_providers::table
        .find(id)
        .select(IdentityProvider::as_select())
        .get_result(conn)
        .optional()?)
}

pub fn find_provider_by_name(
    conn: &mut AnyConnection,
    name: &str,
) -> Result<Option<IdentityProvider>, AppError> {
    Ok(identity_providers::table
        .filter(identity_providers::name.eq(name.trim()))
        .select(IdentityProvider::as_select())
        .get_result(conn)
        .optional()?)
}

/// Removes a provider with its links and waiting sign-ins; users who last signed in through it
/// are shown as having no provider.
pub fn delete_provider(conn: &mut AnyConnection, id: &str) -> Result<(), AppError> {
    diesel::delete(user_identities::table.filter(user_identities::provider_id.eq(id)))
        .execute(conn)?;
    diesel::delete(provider_user_values::table.filter(provider_user_values::provider_id.eq(id)))
        .execute(conn)?;
    diesel::delete(sso_logins::table.filter(sso_logins::provider_id.eq(id))).execute(conn)?;
    diesel::update(last_sign_ins::table.filter(last_sign_ins::provider_id.eq(id)))
        .set(last_sign_ins::provider_id.eq(None::<String>))
        .execute(conn)?;
    diesel::delete(identity_providers::table.find(id)).execute(conn)?;
    Ok(())
}

/// Links a claim value (an HSA-id, a sub) of a provider to a user, replacing an earlier link of
/// that value.
pub fn link_value(
    conn: &mut AnyConnection,
    provider: &str,
    value: &str,
    user: &UserId,
) -> Result<(), AppError> {
    diesel::delete(
        provider_user_values::table
            .filter(provider_user_values::provider_id.eq(provider))
            .filter(provider_user_values::claim_value.eq(value)),
    )
    .execute(conn)?;
    diesel::insert_into(provider_user_values::table)
        .values((
            provider_user_values::provider_id.eq(provider),
            provider_user_values::claim_value.eq(value),
            provider_user_values::user_id.eq(user),
        ))
        .execute(conn)?;
    Ok(())
}

/// A sign-in sent to a provider, waiting for its answer.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = sso_logins)]
pub struct PendingLogin {
    pub state_hash: String,
    pub provider_id: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub next: String,
    pub created_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

/// Keeps a sign-in sent to a provider; forgets those older than a day.
pub fn insert_login(
    conn: &mut AnyConnection,
    provider: &str,
    state: &str,
    nonce: &str,
    verifier: &str,
    next: &str,
) -> Result<(), AppError> {
    let at = now();
    diesel::delete(sso_logins::table.filter(sso_logins::created_at.lt(at - TimeDelta::days(1))))
        .execute(conn)?;
    diesel::insert_into(sso_logins::table)
        .values((
            sso_logins::state_hash.eq(hash_token(state)),
            sso_logins::provider_id.eq(provider),
            sso_logins::nonce.eq(nonce),
            sso_logins::pkce_verifier.eq(verifier),
            sso_logins::next.eq(next),
            sso_logins::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Takes the sign-in that `state` names, once: a state used before, unknown or older than
/// [`LOGIN_MINUTES`] is refused. Call it in a write transaction.
pub fn take_login(
    conn: &mut AnyConnection,
    state: &str,
) -> Result<Result<PendingLogin, Failure>, AppError> {
    let hash = hash_token(state);
    let Some(login) = sso_logins::table
        .find(&hash)
        .select(PendingLogin::as_select())
        .get_result(conn)
        .optional()?
    else {
        return Ok(Err(Failure::UnknownState));
    };
    let at = now();
    let taken = diesel::update(
        sso_logins::table
            .find(&hash)
            .filter(sso_logins::used_at.is_null()),
    )
    .set(sso_logins::used_at.eq(at))
    .execute(conn)?;
    if taken == 0 || at - login.created_at > TimeDelta::minutes(LOGIN_MINUTES) {
        return Ok(Err(Failure::UnknownState));
    }
    Ok(Ok(login))
}

/// The user linked to `(issuer, subject)`, if any.
pub fn linked_user(
    conn: &mut AnyConnection,
    issuer: &str,
    subject: &str,
) -> Result<Option<UserId>, AppError> {
    Ok(user_identities::table
        .find((issuer, subject))
        .select(user_identities::user_id)
        .get_result(conn)
        .optional()?)
}

/// Whether `user` is one the provider may sign in: active, of its municipality, and of its
/// organisation if it names one. A stored link is checked so at every sign-in, as people move
/// between organisations and leave.
pub fn in_scope(
    conn: &mut AnyConnection,
    provider: &IdentityProvider,
    user: &UserId,
) -> Result<bool, AppError> {
    let (municipality, organisation, active): (MunicipalityId, String, bool) = users::table
        .inner_join(organisations::table)
        .filter(users::id.eq(user))
        .select((
            organisations::municipality_id,
            users::organisation_id,
            users::active,
        ))
        .first(conn)?;
    Ok(active
        && municipality == provider.municipality_id
        && provider
            .organisation_id
            .as_ref()
            .is_none_or(|org| *org == organisation))
}

/// An active user of the provider's municipality (and organisation, if it names one) whose
/// email address is `email`, or whom the operator linked to `value`.
pub fn user_for_claim(
    conn: &mut AnyConnection,
    provider: &IdentityProvider,
    email: Option<&str>,
    value: Option<&str>,
) -> Result<Option<UserId>, AppError> {
    let mut query = users::table
        .inner_join(organisations::table)
        .filter(organisations::municipality_id.eq(&provider.municipality_id))
        .filter(users::active.eq(true))
        .select(users::id)
        .into_boxed();
    if let Some(org) = &provider.organisation_id {
        query = query.filter(users::organisation_id.eq(org));
    }
    if let Some(email) = email {
        query = query.filter(users::email.eq(email.trim().to_lowercase()));
    } else if let Some(value) = value {
        let linked = provider_user_values::table
            .filter(provider_user_values::provider_id.eq(&provider.id))
            .filter(provider_user_values::claim_value.eq(value))
            .select(provider_user_values::user_id);
        query = query.filter(users::id.eq_any(linked));
    } else {
        return Ok(None);
    }
    Ok(query.load::<UserId>(conn)?.into_iter().next())
}

pub fn link_user(
    conn: &mut AnyConnection,
    provider: &IdentityProvider,
    subject: &str,
    user: &UserId,
) -> Result<(), AppError> {
    diesel::insert_into(user_identities::table)
        .values((
            user_identities::issuer.eq(&provider.issuer),
            user_identities::subject.eq(subject),
            user_identities::user_id.eq(user),
            user_identities::provider_id.eq(&provider.id),
            user_identities::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Notes how and when a user signed in (`provider` `None`: with a password).
pub fn record_sign_in(
    conn: &mut AnyConnection,
    user: &UserId,
    provider: Option<&str>,
) -> Result<(), AppError> {
    diesel::delete(last_sign_ins::table.find(user)).execute(conn)?;
    diesel::insert_into(last_sign_ins::table)
        .values((
            last_sign_ins::user_id.eq(user),
            last_sign_ins::provider_id.eq(provider),
            last_sign_ins::at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// How the users of a municipality last signed in: the provider's name (`None`: a password)
/// and when.
pub fn last_sign_ins(
    conn: &mut AnyConnection,
    municipality: &MunicipalityId,
) -> Result<HashMap<UserId, (Option<String>, NaiveDateTime)>, AppError> {
    let rows: Vec<(UserId, Option<String>, NaiveDateTime)> = last_sign_ins::table
        .inner_join(users::table.inner_join(organisations::table))
        .left_join(
            identity_providers::table
                .on(last_sign_ins::provider_id.eq(identity_providers::id.nullable())),
        )
        .filter(organisations::municipality_id.eq(municipality))
        .select((
            last_sign_ins::user_id,
            identity_providers::name.nullable(),
            last_sign_ins::at,
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(|(u, p, at)| (u, (p, at))).collect())
}

/// The names of the providers users of a municipality are linked to, per user.
pub fn linked_providers(
    conn: &mut AnyConnection,
    municipality: &MunicipalityId,
) -> Result<HashMap<UserId, String>, AppError> {
    let rows: Vec<(UserId, String)> = user_identities::table
        .inner_join(identity_providers::table)
        .filter(identity_providers::municipality_id.eq(municipality))
        .select((user_identities::user_id, identity_providers::name))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

pub fn requires_sso(conn: &mut AnyConnection, org: &OrganisationId) -> Result<bool, AppError> {
    Ok(sso_required::table
        .find(org)
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

pub fn set_requires_sso(
    conn: &mut AnyConnection,
    org: &OrganisationId,
    required: bool,
) -> Result<(), AppError> {
    diesel::delete(sso_required::table.find(org)).execute(conn)?;
    if required {
        diesel::insert_into(sso_required::table)
            .values(sso_required::organisation_id.eq(org))
            .execute(conn)?;
    }
    Ok(())
}
