//! Single sign-on with OpenID Connect (issue 20): staff sign in through their organisation's or
//! municipality's identity provider. Providers are added on the command line (`samordna idp`);
//! the login page shows a button per provider; the provider's answer is checked by the
//! `openidconnect` crate ([`client`]); the person is matched to an **existing** user of the
//! provider's municipality (or organisation) by the provider's chosen claim, and the link
//! (issuer + subject) is kept for later sign-ins. The session is the service's own; a provider
//! that shows a second factor (its `acr`/`amr` values) spares the local code.
//!
//! Layers: [`model`] (rules and the Swedish words of each failure), [`store`] (SQL), this file
//! (the flows, each with its audit entry in its transaction), [`client`] (OpenID Connect) and
//! [`web`] (the routes).

pub mod client;
pub mod model;
pub mod store;
pub mod web;

use crate::accounts::session::{self, SingleSignOn};
use crate::accounts::{self, two_factor, AuthUser, NewUser, OrganisationId, Role, UserId};
use crate::audit::event::{Event, Kind, Object};
use crate::audit::AuditActor;
use crate::db::{now, write_tx, AnyConnection};
use crate::error::AppError;
use client::Person;
use model::{Failure, IdentityProvider, NewProvider};

/// Adds a provider for a municipality (and an organisation of it, if named), audited as done
/// from the command line.
pub fn add_provider(
    conn: &mut AnyConnection,
    by: &AuditActor,
    municipality: &accounts::Municipality,
    organisation: Option<&OrganisationId>,
    input: &NewProvider,
) -> Result<IdentityProvider, AppError> {
    let errors = input.errors();
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    write_tx(conn, |conn| {
        if store::find_provider_by_name(conn, &input.name)?.is_some() {
            return Err(AppError::Invalid(vec![crate::error::FieldError::new(
                "--name",
                "a provider with that name exists already",
            )]));
        }
        let provider = IdentityProvider {
            id: uuid::Uuid::new_v4().simple().to_string(),
            name: input.name.trim().to_string(),
            municipality_id: municipality.id.clone(),
            organisation_id: organisation.map(|o| o.0.clone()),
            issuer: input.issuer.trim().trim_end_matches('/').to_string(),
            client_id: input.client_id.trim().to_string(),
            client_secret_env: input.client_secret_env.trim().to_string(),
            mfa_acr: input.mfa_acr.join(" "),
            claim: input.claim.clone(),
            create_users: input.create_users.clone().unwrap_or_default(),
            email_domain: input
                .email_domain
                .clone()
                .unwrap_or_default()
                .to_lowercase(),
            created_at: now(),
        };
        store::insert_provider(conn, &provider)?;
        Event::success(
            by,
            "municipality.idp_add",
            Object::Municipality(municipality.id.as_str()),
        )
        .detail(&format!("identity provider {}", provider.id))
        .record(conn)?;
        Ok(provider)
    })
}

pub fn remove_provider(
    conn: &mut AnyConnection,
    by: &AuditActor,
    provider: &IdentityProvider,
) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        store::delete_provider(conn, &provider.id)?;
        Event::success(
            by,
            "municipality.idp_remove",
            Object::Municipality(provider.municipality_id.as_str()),
        )
        .detail(&format!("identity provider {}", provider.id))
        .record(conn)
        .map(|_| ())
    })
}

/// Records a failed sign-in through a provider (nobody is signed in: the entry names no user).
pub fn record_failure(
    conn: &mut AnyConnection,
    provider: Option<&IdentityProvider>,
    failure: Failure,
) -> Result<(), AppError> {
    let detail = match provider {
        Some(p) => format!("single sign-on via provider {}: {}", p.id, failure.detail()),
        None => format!("single sign-on: {}", failure.detail()),
    };
    write_tx(conn, |conn| {
        Event::failure(
            &AuditActor::anonymous(),
            "session.login",
            Object::Asked(Kind::User, None),
        )
        .detail(&detail)
        .record(conn)
        .map(|_| ())
    })
}

/// A session started through a provider.
pub struct SignedIn {
    pub token: String,
    pub user: AuthUser,
    /// The local code is still to be asked (the provider showed no second factor and the user's
    /// roles need one).
    pub needs_code: bool,
}

/// Signs in the person the provider vouched for: the user linked to them before, else the user
/// of the provider's municipality (or organisation) that the chosen claim names, linked now; else
/// a new reporter when the provider is set to create them; else nobody (audited, `Failure`).
pub fn sign_in_person(
    conn: &mut AnyConnection,
    provider: &IdentityProvider,
    person: &Person,
) -> Result<Result<SignedIn, Failure>, AppError> {
    write_tx(conn, |conn| {
        let Some(user_id) = find_or_link(conn, provider, person)? else {
            Event::failure(
                &AuditActor::anonymous(),
                "session.login",
                Object::Asked(Kind::User, None),
            )
            .detail(&format!(
                "single sign-on via provider {}: {}",
                provider.id,
                Failure::NoAccount.detail()
            ))
            .record(conn)?;
            return Ok(Err(Failure::NoAccount));
        };
        let Some(user) = accounts::load_auth_user(conn, &user_id)? else {
            Event::failure(
                &AuditActor::anonymous(),
                "session.login",
                Object::Asked(Kind::User, Some(user_id.as_str())),
            )
            .detail(&format!(
                "single sign-on via provider {}: account turned off",
                provider.id
            ))
            .record(conn)?;
            return Ok(Err(Failure::NoAccount));
        };
        let second_factor = provider.second_factor_shown(person.acr.as_deref(), &person.amr);
        let needs_code = !second_factor && two_factor::required_for(&user.roles);
        let sso = SingleSignOn {
            provider_id: provider.id.clone(),
            sid: person.sid.clone(),
        };
        let token = session::start_sso(conn, &user.id, &sso, second_factor)?;
        store::record_sign_in(conn, &user.id, Some(&provider.id))?;
        Event::success(
            &AuditActor::from(&user),
            "session.login",
            Object::User(user.id.as_str()),
        )
        .detail(&format!(
            "single sign-on via provider {}{}",
            provider.id,
            if second_factor {
                "; second factor checked by the provider"
            } else if needs_code {
                "; local second step to follow"
            } else {
                ""
            }
        ))
        .record(conn)?;
        Ok(Ok(SignedIn {
            token,
            user,
            needs_code,
        }))
    })
}

fn find_or_link(
    conn: &mut AnyConnection,
    provider: &IdentityProvider,
    person: &Person,
) -> Result<Option<UserId>, AppError> {
    if let Some(id) = store::linked_user(conn, &provider.issuer, &person.subject)? {
        // Linked before: still the provider's to sign in, or nobody (never linked anew).
        return Ok(store::in_scope(conn, provider, &id)?.then_some(id));
    }
    let (email, value) = match provider.claim() {
        model::Claim::Email => (person.claim_value.as_deref(), None),
        _ => (None, person.claim_value.as_deref()),
    };
    let found = match store::user_for_claim(conn, provider, email, value)? {
        Some(id) => Some(id),
        None => match (
            provider.creates_reporters(),
            &provider.organisation_id,
            email,
        ) {
            (true, Some(org), Some(email)) => {
                Some(create_reporter(conn, provider, org, email, person)?)
            }
            _ => None,
        },
    };
    if let Some(id) = &found {
        store::link_user(conn, provider, &person.subject, id)?;
        Event::success(
            &AuditActor::system(),
            "user.idp_link",
            Object::User(id.as_str()),
        )
        .detail(&format!("linked to identity provider {}", provider.id))
        .record(conn)?;
    }
    Ok(found)
}

/// A new reporter account for a person the provider vouched for, when the provider is set to
/// create them (`--create-users reporter`): never any other role. Its password is random and
/// never shown, and no welcome mail is sent: the person signs in through the provider.
fn create_reporter(
    conn: &mut AnyConnection,
    provider: &IdentityProvider,
    organisation: &str,
    email: &str,
    person: &Person,
) -> Result<UserId, AppError> {
    let name = person
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| email.to_string());
    let user = accounts::create_user(
        conn,
        &NewUser {
            email: email.to_string(),
            name,
            title: "Anmälare".into(),
            phone: String::new(),
            organisation_id: organisation.to_string(),
            roles: vec![Role::Reporter],
            password: format!("{}-Aa1!", crate::secrets::random_token()),
        },
    )?;
    Event::success(
        &AuditActor::system(),
        "user.idp_create",
        Object::User(user.id.as_str()),
    )
    .detail(&format!(
        "created as reporter through identity provider {}",
        provider.id
    ))
    .record(conn)?;
    Ok(user.id)
}
