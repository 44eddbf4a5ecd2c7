//! `samordna municipality`, `org`, `user` and `token`: what an operator sets up before anyone can
//! log in, each change audited as done from the command line.

use clap::{Args, Subcommand};

use super::{audit_cli, explain};
use crate::accounts::tokens::{self, Holder};
use crate::accounts::{self, NewOrganisation, NewUser, Organisation, Role};
use crate::audit::event::Object;
use crate::audit::AuditActor;
use crate::config::Settings;
use crate::db::{write_tx, AnyConnection};
use crate::reports::model::{validate_intake_contacts, IntakeContactsInput};
use crate::reports::store;

#[derive(Subcommand)]
pub(super) enum MunicipalityCommand {
    /// Add a municipality.
    Add {
        #[arg(long)]
        name: String,
        /// Social services' phone number, shown to people who file a report.
        #[arg(long, default_value = "")]
        phone: String,
    },
    /// Set how many days after consent the first SIP meeting must be held (regional agreement;
    /// default 14).
    SipDays {
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = clap::value_parser!(i32).range(1..=90))]
        days: i32,
    },
    /// Set a municipality's intake settings: its office hours, the socialjour's phone number,
    /// and where the alert of an acute report goes (the intake's address in office hours, the
    /// socialjour's outside them). Options left out stay as they are; an empty value clears one.
    Set {
        #[arg(long)]
        name: String,
        /// Intake's office hours, Stockholm time, e.g. 08:00-16:30; "default" for
        /// SAMORDNA_OFFICE_HOURS. After closing, and on days the office is closed, socialjour is
        /// responsible.
        #[arg(long)]
        office_hours: Option<String>,
        /// The socialjour's phone number, shown to whoever files an acute report out of hours.
        #[arg(long)]
        socialjour_phone: Option<String>,
        /// Where the alert of an acute report goes outside office hours.
        #[arg(long)]
        socialjour_alert_email: Option<String>,
        /// Where the alert of an acute report goes in office hours.
        #[arg(long)]
        intake_alert_email: Option<String>,
    },
}

#[derive(Subcommand)]
pub(super) enum OrgCommand {
    /// Add an organisation.
    Add {
        #[arg(long)]
        name: String,
        /// socialtjanst, skola, forskola, bvc, bup, vardcentral, habilitering, polis, tandvard,
        /// kriminalvard, migrationsverket, ordningsvakt, bevakning, annan_myndighet or annan.
        #[arg(long)]
        kind: String,
        /// kommun, region or annan.
        #[arg(long)]
        principal: String,
        /// The municipality's name, as added with `municipality add`.
        #[arg(long)]
        municipality: String,
        /// Add it even though an organisation of another municipality has that name.
        #[arg(long)]
        confirm_duplicate_name: bool,
    },
}

#[derive(Subcommand)]
pub(super) enum UserCommand {
    /// Add a user. Without --password a password is generated and printed once.
    Add(UserAdd),
    /// Turn off a user's two-factor sign-in (lost phone and recovery codes): their sessions end
    /// and the next login sets the app up again.
    ResetTwoFactor {
        #[arg(long)]
        email: String,
    },
}

#[derive(Args)]
pub(super) struct UserAdd {
    #[arg(long)]
    email: String,
    #[arg(long)]
    name: String,
    #[arg(long)]
    title: String,
    #[arg(long, default_value = "")]
    phone: String,
    /// The organisation's name.
    #[arg(long)]
    org: String,
    /// Needed only when two municipalities have an organisation with that name.
    #[arg(long)]
    municipality: Option<String>,
    /// reporter, intake, caseworker or admin; repeat for several.
    #[arg(long = "role", required = true)]
    roles: Vec<Role>,
    #[arg(long, env = "SAMORDNA_NEW_PASSWORD", hide_env_values = true)]
    password: Option<String>,
}

#[derive(Subcommand)]
pub(super) enum TokenCommand {
    /// Issue an API token and print it once.
    Add {
        /// What the token is for.
        #[arg(long)]
        name: String,
        /// Issue it to this user (by email)...
        #[arg(
            long,
            conflicts_with = "integration_org",
            required_unless_present = "integration_org"
        )]
        user: Option<String>,
        /// ...or to an integration (such as a mail server) of this organisation.
        #[arg(long)]
        integration_org: Option<String>,
        #[arg(long)]
        municipality: Option<String>,
    },
}

pub(super) fn find_organisation(
    conn: &mut AnyConnection,
    name: &str,
    municipality: Option<&str>,
) -> Result<Organisation, String> {
    let matches: Vec<(Organisation, String)> = accounts::list_organisations(conn, None)
        .map_err(explain)?
        .into_iter()
        .filter(|(o, m)| o.name == name.trim() && municipality.is_none_or(|want| m == want.trim()))
        .collect();
    match matches.len() {
        1 => Ok(matches.into_iter().next().expect("one").0),
        0 => Err(format!(
            "no organisation named {name:?}; add it with `samordna org add`"
        )),
        _ => Err(format!(
            "several organisations are named {name:?}; say which with --municipality"
        )),
    }
}

/// `municipality add`, `municipality sip-days` and `municipality set`.
pub(super) fn municipality(
    command: MunicipalityCommand,
    conn: &mut AnyConnection,
) -> Result<i32, String> {
    match command {
        MunicipalityCommand::Add { name, phone } => {
            let m = write_tx(conn, |conn| {
                let m = accounts::create_municipality(conn, &name, &phone)?;
                audit_cli(
                    conn,
                    "municipality.create",
                    Object::Municipality(m.id.as_str()),
                )?;
                Ok(m)
            })
            .map_err(explain)?;
            println!("Added municipality {} ({})", m.name, m.id);
            Ok(0)
        }
        MunicipalityCommand::SipDays { name, days } => {
            let m = accounts::find_municipality_by_name(conn, &name)
                .map_err(explain)?
                .ok_or_else(|| format!("no municipality named {name:?}"))?;
            write_tx(conn, |conn| {
                crate::sip::store::sips::set_first_meeting_days(conn, &m.id, days)?;
                audit_cli(
                    conn,
                    "municipality.sip_days",
                    Object::Municipality(m.id.as_str()),
                )
            })
            .map_err(explain)?;
            println!(
                "The first SIP meeting in {} is now due {days} days after consent.",
                m.name
            );
            Ok(0)
        }
        MunicipalityCommand::Set {
            name,
            office_hours,
            socialjour_phone,
            socialjour_alert_email,
            intake_alert_email,
        } => {
            let input = IntakeContactsInput {
                office_hours,
                socialjour_phone,
                socialjour_alert_email,
                intake_alert_email,
            };
            let change = validate_intake_contacts(&input)
                .map_err(|errors| explain(crate::error::AppError::Invalid(errors)))?;
            let m = accounts::find_municipality_by_name(conn, &name)
                .map_err(explain)?
                .ok_or_else(|| format!("no municipality named {name:?}"))?;
            let now = write_tx(conn, |conn| {
                let now = store::set_intake_contacts(conn, &m.id, &change)?;
                audit_cli(
                    conn,
                    "municipality.intake_contacts",
                    Object::Municipality(m.id.as_str()),
                )?;
                Ok(now)
            })
            .map_err(explain)?;
            let shown = |text: &str| {
                if text.is_empty() {
                    "(not set)".to_string()
                } else {
                    text.to_string()
                }
            };
            println!("{}:", m.name);
            println!(
                "  office hours            {}",
                now.office_hours
                    .clone()
                    .unwrap_or_else(|| "(default, SAMORDNA_OFFICE_HOURS)".into())
            );
            println!("  socialjour phone        {}", shown(&now.socialjour_phone));
            println!(
                "  socialjour alert email  {}",
                shown(&now.socialjour_alert_email)
            );
            println!(
                "  intake alert email      {}",
                shown(&now.intake_alert_email)
            );
            if now.socialjour_alert_email.is_empty() && now.intake_alert_email.is_empty() {
                println!(
                    "Warning: no alert address is set, so acute reports alert no one by e-mail."
                );
            }
            Ok(0)
        }
    }
}

/// `org add`.
pub(super) fn organisation(command: OrgCommand, conn: &mut AnyConnection) -> Result<i32, String> {
    match command {
        OrgCommand::Add {
            name,
            kind,
            principal,
            municipality,
            confirm_duplicate_name,
        } => {
            let m = accounts::find_municipality_by_name(conn, &municipality)
                .map_err(explain)?
                .ok_or_else(|| format!("no municipality named {municipality:?}; add it with `samordna municipality add`"))?;
            let input = NewOrganisation {
                name,
                kind,
                principal,
                municipality_id: m.id.0.clone(),
            };
            let added = write_tx(conn, |conn| {
                let added = accounts::create_organisation_unless_named_elsewhere(
                    conn,
                    &input,
                    confirm_duplicate_name,
                )?;
                if let Ok(org) = &added {
                    audit_cli(
                        conn,
                        "organisation.create",
                        Object::Organisation(org.id.as_str()),
                    )?;
                }
                Ok(added)
            })
            .map_err(explain)?;
            let org = added.map_err(|elsewhere| {
                format!(
                    "an organisation named {:?} exists in another municipality ({}); check that it is not the one you mean, and add it with --confirm-duplicate-name if it is another",
                    input.name.trim(),
                    elsewhere.join("; ")
                )
            })?;
            println!("Added organisation {} ({})", org.name, org.id);
            Ok(0)
        }
    }
}

/// `user add` and `user reset-two-factor`.
pub(super) fn user(
    command: UserCommand,
    conn: &mut AnyConnection,
    settings: &Settings,
) -> Result<i32, String> {
    match command {
        UserCommand::Add(args) => {
            let org = find_organisation(conn, &args.org, args.municipality.as_deref())?;
            let generated = args.password.is_none();
            let password = args.password.unwrap_or_else(accounts::password::generate);
            let input = NewUser {
                email: args.email,
                name: args.name,
                title: args.title,
                phone: args.phone,
                organisation_id: org.id.0.clone(),
                roles: args.roles,
                password: password.clone(),
            };
            let user =
                accounts::add_user(conn, settings, &AuditActor::cli(), &input).map_err(explain)?;
            println!("Added user {} <{}> ({})", user.name, user.email, user.id);
            if generated {
                println!("Password (shown once): {password}");
            }
            Ok(0)
        }
        UserCommand::ResetTwoFactor { email } => {
            let user = accounts::find_user_by_email(conn, &email)
                .map_err(explain)?
                .ok_or_else(|| format!("no user with the email address {email:?}"))?;
            write_tx(conn, |conn| {
                accounts::two_factor::reset(conn, &user.id)?;
                audit_cli(
                    conn,
                    "user.two_factor_reset",
                    Object::User(user.id.as_str()),
                )
            })
            .map_err(explain)?;
            println!(
                "Two-factor sign-in reset for {} <{}>: their next login sets it up again.",
                user.name, user.email
            );
            Ok(0)
        }
    }
}

/// `token add`.
pub(super) fn token(command: TokenCommand, conn: &mut AnyConnection) -> Result<i32, String> {
    match command {
        TokenCommand::Add {
            name,
            user,
            integration_org,
            municipality,
        } => {
            let holder = match (user, integration_org) {
                (Some(email), _) => Holder::User(
                    accounts::find_user_by_email(conn, &email)
                        .map_err(explain)?
                        .ok_or_else(|| format!("no user with email {email:?}"))?
                        .id,
                ),
                (None, Some(org)) => {
                    Holder::Integration(find_organisation(conn, &org, municipality.as_deref())?.id)
                }
                (None, None) => unreachable!("clap requires one"),
            };
            let plain = write_tx(conn, |conn| {
                let (token, plain) = tokens::issue(conn, &name, holder, "kommandoraden")?;
                audit_cli(
                    conn,
                    "api_token.create",
                    Object::ApiToken(token.id.as_str()),
                )?;
                Ok(plain)
            })
            .map_err(explain)?;
            println!("Token (shown once; send it as 'Authorization: Bearer …'):\n{plain}");
            Ok(0)
        }
    }
}
