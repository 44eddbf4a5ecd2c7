//! `samordna idp`: the identity providers staff sign in through (single sign-on with OpenID
//! Connect), and which organisations may sign in only through them. The client secret is never
//! given on the command line nor stored: only the name of the environment variable that holds it
//! on the server.

use clap::Subcommand;

use super::setup::find_organisation;
use super::{audit_cli, explain};
use crate::accounts::sso::{self, model::NewProvider, store};
use crate::accounts::{self};
use crate::audit::event::Object;
use crate::audit::AuditActor;
use crate::db::{write_tx, AnyConnection};

#[derive(Subcommand)]
pub(super) enum IdpCommand {
    /// Add an identity provider for a municipality (or one organisation of it). Register
    /// {SAMORDNA_BASE_URL}/login/oidc/callback as the redirect URI at the provider, and
    /// {SAMORDNA_BASE_URL}/login?logged_out=1 as the post-logout redirect URI.
    Add {
        /// The municipality whose users sign in through it.
        #[arg(long)]
        municipality: String,
        /// Shown on the login button: "Logga in med <name>".
        #[arg(long)]
        name: String,
        /// The issuer, e.g. https://login.ekby.se/realms/personal (its
        /// /.well-known/openid-configuration is read).
        #[arg(long)]
        issuer: String,
        #[arg(long)]
        client_id: String,
        /// The environment variable that holds the client secret on every instance.
        #[arg(long)]
        client_secret_env: String,
        /// Only users of this organisation of the municipality.
        #[arg(long)]
        org: Option<String>,
        /// An acr or amr value that means the provider checked a second factor (e.g.
        /// http://id.elegnamnden.se/loa/1.0/loa3); may be given more than once. With one of them,
        /// no local code is asked.
        #[arg(long = "mfa-acr")]
        mfa_acr: Vec<String>,
        /// Which ID-token claim names the user: email (matched to the account's address),
        /// hsa_id or sub (matched to values linked with `idp link`).
        #[arg(long, default_value = "email")]
        claim: String,
        /// Create an account for someone the provider vouches for who has none: only "reporter"
        /// is allowed (needs --org).
        #[arg(long)]
        create_users: Option<String>,
        /// Addresses of this domain typed on the login form go straight to this provider.
        #[arg(long)]
        email_domain: Option<String>,
    },
    /// List the identity providers.
    List,
    /// Remove an identity provider; its users' links go with it.
    Remove {
        #[arg(long)]
        name: String,
    },
    /// Link a user to the value of the provider's claim (an HSA-id, or a sub), for providers set
    /// up with --claim hsa_id or --claim sub.
    Link {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        value: String,
    },
    /// Require that an organisation's users sign in through an identity provider (no password),
    /// or allow passwords again with --off.
    RequireSso {
        #[arg(long)]
        org: String,
        #[arg(long)]
        municipality: Option<String>,
        #[arg(long)]
        off: bool,
    },
}

pub(super) fn run(command: IdpCommand, conn: &mut AnyConnection) -> Result<i32, String> {
    match command {
        IdpCommand::Add {
            municipality,
            name,
            issuer,
            client_id,
            client_secret_env,
            org,
            mfa_acr,
            claim,
            create_users,
            email_domain,
        } => {
            let m = accounts::find_municipality_by_name(conn, &municipality)
                .map_err(explain)?
                .ok_or_else(|| format!("no municipality named {municipality:?}"))?;
            let org = match &org {
                Some(name) => Some(find_organisation(conn, name, Some(&m.name))?.id),
                None => None,
            };
            if create_users.is_some() && org.is_none() {
                return Err(
                    "--create-users needs --org: the organisation new accounts join".into(),
                );
            }
            let input = NewProvider {
                name,
                issuer,
                client_id,
                client_secret_env,
                mfa_acr,
                claim,
                create_users,
                email_domain,
            };
            let p = sso::add_provider(conn, &AuditActor::cli(), &m, org.as_ref(), &input)
                .map_err(explain)?;
            println!("Added identity provider {} ({})", p.name, p.id);
            if std::env::var(&p.client_secret_env).map_or(true, |s| s.is_empty()) {
                println!(
                    "Note: {} is not set here; set it on every instance that serves the web pages.",
                    p.client_secret_env
                );
            }
            Ok(0)
        }
        IdpCommand::List => {
            let providers = store::all_providers(conn).map_err(explain)?;
            let municipalities = accounts::list_municipalities(conn).map_err(explain)?;
            if providers.is_empty() {
                println!("No identity providers.");
            }
            for p in providers {
                let m = municipalities
                    .iter()
                    .find(|m| m.id == p.municipality_id)
                    .map_or("?", |m| m.name.as_str());
                println!(
                    "{}\n  id {}\n  municipality {m}{}\n  issuer {}\n  client id {}, secret in ${}\n  claim {}{}{}{}",
                    p.name,
                    p.id,
                    p.organisation_id.as_deref().map(|o| format!(", organisation {o}")).unwrap_or_default(),
                    p.issuer,
                    p.client_id,
                    p.client_secret_env,
                    p.claim,
                    if p.mfa_acr.is_empty() { String::new() } else { format!(", second factor: {}", p.mfa_acr) },
                    if p.create_users.is_empty() { String::new() } else { format!(", creates {}s", p.create_users) },
                    if p.email_domain.is_empty() { String::new() } else { format!(", addresses @{}", p.email_domain) },
                );
            }
            Ok(0)
        }
        IdpCommand::Remove { name } => {
            let p = store::find_provider_by_name(conn, &name)
                .map_err(explain)?
                .ok_or_else(|| format!("no identity provider named {name:?}"))?;
            sso::remove_provider(conn, &AuditActor::cli(), &p).map_err(explain)?;
            println!("Removed identity provider {}", p.name);
            Ok(0)
        }
        IdpCommand::Link { name, email, value } => {
            let p = store::find_provider_by_name(conn, &name)
                .map_err(explain)?
                .ok_or_else(|| format!("no identity provider named {name:?}"))?;
            let user = accounts::find_user_by_email(conn, &email)
                .map_err(explain)?
                .ok_or_else(|| format!("no user with the address {email:?}"))?;
            write_tx(conn, |conn| {
                store::link_value(conn, &p.id, value.trim(), &user.id)?;
                audit_cli(conn, "user.idp_link", Object::User(user.id.as_str()))
            })
            .map_err(explain)?;
            println!("Linked {} to {} at {}", user.email, value.trim(), p.name);
            Ok(0)
        }
        IdpCommand::RequireSso {
            org,
            municipality,
            off,
        } => {
            let o = find_organisation(conn, &org, municipality.as_deref())?;
            write_tx(conn, |conn| {
                store::set_requires_sso(conn, &o.id, !off)?;
                audit_cli(
                    conn,
                    if off {
                        "organisation.sso_optional"
                    } else {
                        "organisation.sso_required"
                    },
                    Object::Organisation(o.id.as_str()),
                )
            })
            .map_err(explain)?;
            println!(
                "{}: {}",
                o.name,
                if off {
                    "users may sign in with a password again"
                } else {
                    "users sign in only through an identity provider"
                }
            );
            Ok(0)
        }
    }
}
