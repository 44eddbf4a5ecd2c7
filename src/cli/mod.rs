//! The command line: `serve` (the default), `migrate`, `demo`, adding municipalities,
//! organisations, users, identity providers (`idp`) and API tokens, `audit verify` and `audit head`, and `keys rotate`.
//!
//! This module parses the arguments, opens the database and dispatches; the commands that set up
//! accounts are in `setup`, those of the audit trail in `trail`, and key rotation (with the list
//! of every sealed table, which only the command line may know) in `keys`.

mod idp;
mod keys;
mod setup;
mod trail;

use std::net::TcpListener;

use clap::{Parser, Subcommand};

use crate::accounts;
use crate::audit::event::{Event, Object};
use crate::audit::{self, AuditActor};
use crate::config::{MailTransportSetting, Settings};
use crate::db::{self, write_tx, AnyConnection};
use crate::error::AppError;

#[derive(Parser)]
#[command(
    name = "samordna",
    version,
    about = "Orosanmälan och SIP-möten för socialtjänst, skola och vård"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web service (the default).
    Serve,
    /// Bring the database schema up to date and stop.
    Migrate,
    /// Create a demo municipality with a social services office, a school, a BVC and a BUP, one
    /// account per role, and print the logins. Safe to run again: it resets the demo passwords.
    Demo,
    /// Municipalities.
    #[command(subcommand)]
    Municipality(setup::MunicipalityCommand),
    /// Organisations (social services, schools, BVC, BUP, ...).
    #[command(subcommand)]
    Org(setup::OrgCommand),
    /// User accounts.
    #[command(subcommand)]
    User(setup::UserCommand),
    /// Identity providers for single sign-on (OpenID Connect).
    #[command(subcommand)]
    Idp(idp::IdpCommand),
    /// API tokens for users and integrations.
    #[command(subcommand)]
    Token(setup::TokenCommand),
    /// The audit trail.
    #[command(subcommand)]
    Audit(trail::AuditCommand),
    /// Retention (gallring) of reports that did not lead to an investigation, and of consultations
    /// older than SAMORDNA_CONSULTATION_MONTHS.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// The keys that seal the child's data at rest.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Read one e-mail (RFC 822) on standard input and record the calendar reply it carries:
    /// for a mail server's pipe delivery to the organizer mailbox. Exits 0 when the message was
    /// read (`recorded`, `stale`, or `cancelled` when the meeting has been cancelled since), 65
    /// (EX_DATAERR) with the reason when the message is not a usable reply, so the mail server
    /// bounces or logs it, and 1 only when the service itself fails (the database).
    IngestMail,
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// Remove what is due now (the service also does this every SAMORDNA_RETENTION_HOURS).
    Run {
        /// Only list what would be removed.
        #[arg(long)]
        dry_run: bool,
    },
    /// Set how many months a municipality keeps reports decided under a law version
    /// ("SoL 2001:453" before 1 July 2025, "SoL 2025:400" from then; default 60 months).
    Set {
        #[arg(long)]
        municipality: String,
        #[arg(long)]
        law: String,
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1200))]
        months: u32,
    },
}

/// Runs the command line; returns the process exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("samordna: {e}");
            return 2;
        }
    };
    crate::telemetry::init(settings.log_json);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings),
        command => {
            let opening = match &command {
                Command::Migrate => Opening::Rechain,
                Command::Audit(trail::AuditCommand::Verify { .. } | trail::AuditCommand::Head) => {
                    Opening::ReadOnly
                }
                _ => Opening::NoRechain,
            };
            with_database(&settings, opening, |conn| {
                run_command(command, conn, &settings)
            })
        }
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("samordna: {message}");
            1
        }
    }
}

/// How a command opens the audit trail. Only `migrate` (and the service's start) re-chains a trail
/// that is not yet keyed; `audit verify` and `audit head` only read it, so they can never bless a
/// rewritten trail by re-chaining it.
enum Opening {
    Rechain,
    NoRechain,
    ReadOnly,
}

fn with_database(
    settings: &Settings,
    opening: Opening,
    f: impl FnOnce(&mut AnyConnection) -> Result<i32, String>,
) -> Result<i32, String> {
    let pool = db::connect(&settings.database_url, 1)?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    db::run_migrations(&mut conn)?;
    match opening {
        Opening::Rechain => audit::open(&mut conn, &settings.audit_key)?,
        Opening::NoRechain => audit::open_without_rechain(&mut conn, &settings.audit_key)?,
        Opening::ReadOnly => audit::install_key(&settings.audit_key)?,
    }
    f(&mut conn)
}

fn explain(e: AppError) -> String {
    match e {
        AppError::Invalid(errors) => errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

fn audit_cli(conn: &mut AnyConnection, action: &str, object: Object<'_>) -> Result<(), AppError> {
    Event::success(&AuditActor::cli(), action, object)
        .record(conn)
        .map(|_| ())
}

fn run_command(
    command: Command,
    conn: &mut AnyConnection,
    settings: &Settings,
) -> Result<i32, String> {
    match command {
        Command::Serve => unreachable!("handled by run"),
        Command::Migrate => {
            println!("The database is up to date.");
            Ok(0)
        }
        Command::Demo => crate::demo::create(conn, settings)
            .map(|_| 0)
            .map_err(explain),
        Command::Municipality(command) => setup::municipality(command, conn),
        Command::Org(command) => setup::organisation(command, conn),
        Command::User(command) => setup::user(command, conn, settings),
        Command::Token(command) => setup::token(command, conn),
        Command::Idp(command) => idp::run(command, conn),
        Command::Keys(command) => keys::run(command, conn, settings),
        Command::Audit(command) => trail::run(command, conn, settings),
        Command::IngestMail => {
            use std::io::Read;
            let mut raw = Vec::new();
            std::io::stdin()
                .take(10 * 1024 * 1024)
                .read_to_end(&mut raw)
                .map_err(|e| format!("cannot read the message on standard input: {e}"))?;
            match crate::sip::inbound::ingest(conn, &settings.keys, &raw) {
                Ok(applied) => {
                    use crate::sip::store::answers::Applied;
                    println!(
                        "{}: {}",
                        applied.as_str(),
                        match applied {
                            Applied::Recorded => "the reply was recorded.",
                            Applied::Stale =>
                                "the reply answers an older version of the meeting; ignored.",
                            Applied::Cancelled => "the meeting has been cancelled; ignored.",
                        }
                    );
                    Ok(0)
                }
                Err(crate::sip::inbound::InboundError::Storage(e)) => Err(explain(e)),
                Err(problem) => {
                    eprintln!("samordna: {problem}");
                    Ok(65)
                }
            }
        }
        Command::Retention(RetentionCommand::Run { dry_run }) => {
            let removals =
                crate::reports::retention::run(conn, crate::db::now(), dry_run).map_err(explain)?;
            let verb = if dry_run { "Would remove" } else { "Removed" };
            println!(
                "{verb} {} report(s) that did not lead to an investigation.",
                removals.len()
            );
            for r in &removals {
                println!(
                    "{}  decided {}  {} {} months",
                    r.report_id,
                    r.decided_at.format("%Y-%m-%d"),
                    r.law_version,
                    r.months
                );
            }
            let months = settings.consultation_months;
            let consultations = crate::consultations::store::remove_expired(
                conn,
                crate::db::now(),
                months,
                dry_run,
            )
            .map_err(explain)?;
            println!(
                "{verb} {} consultation(s) asked {months} months ago or more.",
                consultations.len()
            );
            for c in &consultations {
                println!("{}  asked {}", c.id, c.asked_at.format("%Y-%m-%d"));
            }
            Ok(0)
        }
        Command::Retention(RetentionCommand::Set {
            municipality,
            law,
            months,
        }) => {
            let known = crate::reports::retention::LAWS;
            if !known.contains(&law.as_str()) {
                return Err(format!("--law must be one of {known:?}"));
            }
            let m = accounts::find_municipality_by_name(conn, &municipality)
                .map_err(explain)?
                .ok_or_else(|| format!("no municipality named {municipality:?}"))?;
            write_tx(conn, |conn| {
                crate::reports::retention::set_rule(conn, &m.id, &law, months)?;
                audit_cli(
                    conn,
                    "municipality.retention",
                    Object::Municipality(m.id.as_str()),
                )
            })
            .map_err(explain)?;
            println!(
                "{}: reports decided under {law} that did not lead to an investigation are kept {months} months.",
                m.name
            );
            Ok(0)
        }
    }
}

fn serve(settings: Settings) -> Result<i32, String> {
    if let Some(path) = &settings.secret_key_generated {
        tracing::warn!(
            path = %path.display(),
            "SAMORDNA_SECRET_KEY is not set: using a generated key kept in this file. Set it in production; every instance must share it."
        );
    }
    if !settings.keys_derived.is_empty() {
        tracing::warn!(
            settings = %settings.keys_derived.join(", "),
            "not set: these keys (sealing the child's data at rest, the blind index, the audit chain) are derived from the secret key. Set them in production, the same on every instance, and keep them apart from database backups."
        );
    }
    if let MailTransportSetting::Folder(dir) = &settings.mail {
        tracing::info!(folder = %dir.display(), "SAMORDNA_SMTP_URL is not set: outgoing mail is written as .eml files to this folder");
    }
    let (pool, transport) = crate::startup::prepare(&settings)?;
    let listener = TcpListener::bind(settings.bind)
        .map_err(|e| format!("SAMORDNA_BIND: cannot listen on {}: {e}", settings.bind))?;
    let base = settings.base_url.clone();
    actix_web::rt::System::new()
        .block_on(async move {
            let app = crate::startup::start(settings, pool, transport, listener)?;
            tracing::info!(address = %base, "samordna is running; open {base} in a browser");
            app.server.await
        })
        .map_err(|e| format!("the web server stopped: {e}"))?;
    Ok(0)
}
