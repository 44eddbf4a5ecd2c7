//! API tokens: issued by an admin to a user or to an integration (such as a mail server that
//! delivers calendar replies), shown once, stored as a hash, revocable.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::accounts::{MunicipalityId, OrganisationId, UserId};
use crate::db::schema::{api_tokens, organisations, users};
use crate::db::{now, AnyConnection};
use crate::error::{AppError, FieldError};
use crate::secrets::{hash_token, random_token};
use crate::{string_id, text_enum};

string_id!(TokenId);

text_enum!(
    /// Whom a token speaks for.
    TokenKind {
        User => "user" : "Användare",
        Integration => "integration" : "Integration",
    }
);

/// Every token starts with this, so that a leaked one is easy to recognise in a scan.
pub const PREFIX: &str = "smd_";

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    pub id: TokenId,
    pub name: String,
    pub token_hash: String,
    pub kind: TokenKind,
    pub user_id: Option<UserId>,
    pub organisation_id: OrganisationId,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

/// Whom a new token is for.
pub enum Holder {
    User(UserId),
    Integration(OrganisationId),
}

/// Issues a token and returns it with the plain text, which is never stored.
pub fn issue(
    conn: &mut AnyConnection,
    name: &str,
    holder: Holder,
    created_by: &str,
) -> Result<(ApiToken, String), AppError> {
    let mut errors = Vec::new();
    let name = crate::accounts::required(&mut errors, "name", name, "ett namn på nyckeln");
    let (kind, user_id, organisation_id) = match holder {
        Holder::User(user_id) => {
            let org: Option<OrganisationId> = users::table
                .find(&user_id)
                .select(users::organisation_id)
                .first(conn)
                .optional()?;
            match org {
                Some(org) => (TokenKind::User, Some(user_id), org),
                None => {
                    errors.push(FieldError::new("holder", "Välj en användare i listan."));
                    (TokenKind::User, None, OrganisationId(String::new()))
                }
            }
        }
        Holder::Integration(org) => {
            if organisations::table
                .find(&org)
                .count()
                .get_result::<i64>(conn)?
                == 0
            {
                errors.push(FieldError::new("holder", "Välj en organisation i listan."));
            }
            (TokenKind::Integration, None, org)
        }
    };
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let plain = format!("{PREFIX}{}", random_token());
    let token = ApiToken {
        id: TokenId::generate(),
        name,
        token_hash: hash_token(&plain),
        kind,
        user_id,
        organisation_id,
        created_by: created_by.to_string(),
        created_at: now(),
        last_used_at: None,
        revoked_at: None,
    };
    diesel::insert_into(api_tokens::table)
        .values(&token)
        .execute(conn)?;
    Ok((token, plain))
}

/// The live token with this plain text, if any; records when it was last used (to the minute).
pub fn resolve(conn: &mut AnyConnection, plain: &str) -> Result<Option<ApiToken>, AppError> {
    if !plain.starts_with(PREFIX) {
        return Ok(None);
    }
    let token: Option<ApiToken> = api_tokens::table
        .filter(api_tokens::token_hash.eq(hash_token(plain)))
        .filter(api_tokens::revoked_at.is_null())
        .select(ApiToken::as_select())
        // At most one row (the hash is unique): no `first`, see `crate::db` on `LIMIT` binds.
        .get_result(conn)
        .optional()?;
    if let Some(token) = &token {
        let at = now();
        if token
            .last_used_at
            .is_none_or(|last| at - last > chrono::TimeDelta::minutes(1))
        {
            diesel::update(api_tokens::table.find(&token.id))
                .set(api_tokens::last_used_at.eq(at))
                .execute(conn)?;
        }
    }
    Ok(token)
}

pub fn revoke(conn: &mut AnyConnection, id: &TokenId) -> Result<(), AppError> {
    let changed = diesel::update(
        api_tokens::table
            .find(id)
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(now()))
    .execute(conn)?;
    if changed == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// The tokens of a municipality's users and organisations, newest first.
pub fn list(
    conn: &mut AnyConnection,
    municipality: &MunicipalityId,
) -> Result<Vec<ApiToken>, AppError> {
    Ok(api_tokens::table
        .inner_join(organisations::table)
        .filter(organisations::municipality_id.eq(municipality))
        .order(api_tokens::created_at.desc())
        .select(ApiToken::as_select())
        .load(conn)?)
}

/// The municipality a token's holder belongs to, if there is such a token.
pub fn municipality_of(
    conn: &mut AnyConnection,
    id: &TokenId,
) -> Result<Option<MunicipalityId>, AppError> {
    Ok(api_tokens::table
        .inner_join(organisations::table)
        .filter(api_tokens::id.eq(id))
        .select(organisations::municipality_id)
        .get_result(conn)
        .optional()?)
}

impl Holder {
    /// The municipality of the user or organisation a token would be issued to, if it exists.
    pub fn municipality(
        &self,
        conn: &mut AnyConnection,
    ) -> Result<Option<MunicipalityId>, AppError> {
        match self {
            Holder::User(user) => crate::accounts::municipality_of_user(conn, user),
            Holder::Integration(org) => crate::accounts::municipality_of_organisation(conn, org),
        }
    }
}
