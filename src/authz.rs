//! Who is asking, and whether they may. Every handler calls [`authorize`] with the resource it is
//! about to touch; the rules for each kind of resource live in one function each in [`policy`], and
//! every refusal is audited.

use crate::accounts::tokens::ApiToken;
use crate::accounts::{AuthUser, Role};
use crate::audit::{self, AuditActor, Outcome};
use crate::db::AnyConnection;
use crate::error::AppError;

/// The one making a request: a signed-in user (by session or by their API token), or an
/// integration holding its own token.
#[derive(Clone, Debug)]
pub enum Actor {
    User(AuthUser),
    Integration(ApiToken),
}

impl Actor {
    pub fn user(&self) -> Option<&AuthUser> {
        match self {
            Actor::User(user) => Some(user),
            Actor::Integration(_) => None,
        }
    }

    pub fn audit_actor(&self) -> AuditActor {
        match self {
            Actor::User(user) => AuditActor {
                id: Some(user.id.to_string()),
                label: format!("{} <{}>", user.name, user.email),
            },
            Actor::Integration(token) => AuditActor {
                id: Some(format!("token:{}", token.id)),
                label: format!("integration {}", token.name),
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    View,
    Create,
    Update,
}

/// What is being touched. Later capabilities add their own variants (reports, SIPs, meetings).
#[derive(Clone, Copy, Debug)]
pub enum Resource {
    /// Municipalities, organisations, users and API tokens.
    Accounts,
    AuditTrail,
    MailOutbox,
}

impl Resource {
    fn object_type(&self) -> &'static str {
        match self {
            Resource::Accounts => "accounts",
            Resource::AuditTrail => "audit_trail",
            Resource::MailOutbox => "mail_outbox",
        }
    }
}

/// How a refusal is answered: 403, or 404 where even the existence of the object is secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denial {
    Forbidden,
    Hidden,
}

/// The rules, one function per kind of resource. Pure: no I/O.
pub mod policy {
    use super::*;

    pub fn decide(actor: &Actor, action: Action, resource: &Resource) -> Result<(), Denial> {
        match resource {
            Resource::Accounts | Resource::AuditTrail | Resource::MailOutbox => {
                administration(actor, action)
            }
        }
    }

    /// Only admins manage accounts and read the audit trail and the outbox.
    fn administration(actor: &Actor, _action: Action) -> Result<(), Denial> {
        match actor.user() {
            Some(user) if user.has_role(Role::Admin) => Ok(()),
            _ => Err(Denial::Forbidden),
        }
    }
}

/// Checks the policy; a refusal is written to the audit trail and answered as 403 or 404.
pub fn authorize(
    conn: &mut AnyConnection,
    actor: &Actor,
    action: Action,
    resource: Resource,
    object_id: Option<&str>,
) -> Result<(), AppError> {
    match policy::decide(actor, action, &resource) {
        Ok(()) => Ok(()),
        Err(denial) => {
            audit::record(
                conn,
                &audit::Event {
                    actor: &actor.audit_actor(),
                    action: &format!("{}.{}", resource.object_type(), action_name(action)),
                    object_type: resource.object_type(),
                    object_id,
                    outcome: Outcome::Denied,
                    detail: "",
                },
            )?;
            Err(match denial {
                Denial::Forbidden => AppError::Forbidden,
                Denial::Hidden => AppError::NotFound,
            })
        }
    }
}

fn action_name(action: Action) -> &'static str {
    match action {
        Action::View => "view",
        Action::Create => "create",
        Action::Update => "update",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::*;

    pub(crate) fn user_with(roles: &[Role]) -> Actor {
        let at = chrono::NaiveDateTime::default();
        Actor::User(AuthUser {
            id: UserId("u".into()),
            email: "a@b.se".into(),
            name: "A".into(),
            title: "T".into(),
            phone: String::new(),
            organisation: Organisation {
                id: OrganisationId("o".into()),
                name: "O".into(),
                kind: OrgKind::Socialtjanst,
                principal: Principal::Kommun,
                municipality_id: MunicipalityId("m".into()),
                created_at: at,
            },
            municipality_name: "M".into(),
            roles: roles.to_vec(),
        })
    }

    #[test]
    fn only_admins_administer() {
        for resource in [
            Resource::Accounts,
            Resource::AuditTrail,
            Resource::MailOutbox,
        ] {
            assert_eq!(
                policy::decide(&user_with(&[Role::Admin]), Action::View, &resource),
                Ok(())
            );
            for role in [Role::Reporter, Role::Intake, Role::Caseworker] {
                assert_eq!(
                    policy::decide(&user_with(&[role]), Action::Create, &resource),
                    Err(Denial::Forbidden),
                    "{role:?} on {resource:?}"
                );
            }
        }
    }
}
