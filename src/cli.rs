//! The command line: `serve` (the default), `migrate`, `demo`, adding municipalities,
//! organisations, users and API tokens, `audit verify` and `audit head`, and `keys rotate`.

use std::net::TcpListener;

use clap::{Args, Parser, Subcommand};

use crate::accounts::tokens::{self, Holder};
use crate::accounts::{self, NewOrganisation, NewUser, Organisation, Role};
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
    Municipality(MunicipalityCommand),
    /// Organisations (social services, schools, BVC, BUP, ...).
    #[command(subcommand)]
    Org(OrgCommand),
    /// User accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// API tokens for users and integrations.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Retention (gallring) of reports that did not lead to an investigation.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// The keys that seal the child's data at rest.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Read one e-mail (RFC 822) on standard input and record the calendar reply it carries:
    /// for a mail server's pipe delivery to the organizer mailbox. Exits 0 when the message was
    /// read (`recorded`, `stale`, or `cancelled` when the meeting has been cancelled since), 65
    /// (EX_DATAERR) with the reason when the message is not a usable reply, so the mail server
    /// bounces or logs it, and 1 only when the service itself fails (the database).
    IngestMail,
}

#[derive(Subcommand)]
enum MunicipalityCommand {
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
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Add an organisation.
    Add {
        #[arg(long)]
        name: String,
        /// socialtjanst, skola, forskola, bvc, bup, vardcentral, habilitering, polis or annan.
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
enum UserCommand {
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
struct UserAdd {
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
enum TokenCommand {
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

#[derive(Subcommand)]
enum KeysCommand {
    /// Re-seal every value not sealed under the current key (the first of SAMORDNA_DATA_KEYS),
    /// legacy plaintext included, and set every blind index from SAMORDNA_INDEX_KEY. Safe to run
    /// again and while the service runs; afterwards the older keys can be removed.
    Rotate,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check that no entry has been altered, removed or inserted. Exits 0 when the trail is
    /// intact, 1 when it is broken or does not reach the anchor, 2 for a malformed anchor.
    Verify {
        /// An anchor kept outside the database (SEQ:HASH, from `audit head` or the service's
        /// log): also check that the trail reaches that entry and that it has that hash.
        #[arg(long, value_name = "SEQ:HASH", value_parser = clap::value_parser!(audit::Anchor))]
        anchor: Option<audit::Anchor>,
    },
    /// Print the newest entry's number and hash as SEQ:HASH, an anchor to keep outside the
    /// database for `audit verify --anchor`.
    Head,
    /// Move the trail to a new SAMORDNA_AUDIT_KEY: check every entry under the old key and
    /// re-chain them all under the new one. Anchors taken before no longer match.
    Rekey {
        /// The key the trail is chained under now: base64, or `derived` for the key derived from
        /// the secret key (what chains it while SAMORDNA_AUDIT_KEY is not set).
        #[arg(long, env = "SAMORDNA_OLD_AUDIT_KEY", hide_env_values = true)]
        old_key: String,
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
                Command::Audit(AuditCommand::Verify { .. } | AuditCommand::Head) => {
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

fn find_organisation(
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
        Command::Municipality(MunicipalityCommand::Add { name, phone }) => {
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
        Command::Municipality(MunicipalityCommand::SipDays { name, days }) => {
            let m = accounts::find_municipality_by_name(conn, &name)
                .map_err(explain)?
                .ok_or_else(|| format!("no municipality named {name:?}"))?;
            write_tx(conn, |conn| {
                crate::sip::store::set_first_meeting_days(conn, &m.id, days)?;
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
        Command::Org(OrgCommand::Add {
            name,
            kind,
            principal,
            municipality,
            confirm_duplicate_name,
        }) => {
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
        Command::User(UserCommand::Add(args)) => {
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
                accounts::add_user(conn, &AuditActor::cli(), &input, settings).map_err(explain)?;
            println!("Added user {} <{}> ({})", user.name, user.email, user.id);
            if generated {
                println!("Password (shown once): {password}");
            }
            Ok(0)
        }
        Command::User(UserCommand::ResetTwoFactor { email }) => {
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
        Command::Token(TokenCommand::Add {
            name,
            user,
            integration_org,
            municipality,
        }) => {
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
        Command::IngestMail => {
            use std::io::Read;
            let mut raw = Vec::new();
            std::io::stdin()
                .take(10 * 1024 * 1024)
                .read_to_end(&mut raw)
                .map_err(|e| format!("cannot read the message on standard input: {e}"))?;
            match crate::sip::inbound::ingest(conn, &settings.keys, &raw) {
                Ok(applied) => {
                    use crate::sip::store::Applied;
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
        Command::Keys(KeysCommand::Rotate) => {
            let done = crate::crypto::rows::rotate(conn, &settings.keys, &AuditActor::cli())
                .map_err(explain)?;
            let total: u64 = done.iter().map(|d| d.rows).sum();
            for d in &done {
                println!("{:<20} {} row(s) re-sealed", d.table, d.rows);
            }
            println!(
                "{total} row(s) changed in all; every value is now sealed under key {:?}.",
                settings.keys.current_id()
            );
            Ok(0)
        }
        Command::Audit(AuditCommand::Head) => {
            if !audit::keyed(conn).map_err(explain)?.0 {
                eprintln!("samordna: {}", audit::NOT_YET_KEYED);
                return Ok(1);
            }
            match audit::head(conn).map_err(explain)? {
                Some(anchor) => println!("{anchor}"),
                None => eprintln!("The audit trail is empty."),
            }
            Ok(0)
        }
        Command::Audit(AuditCommand::Rekey { old_key }) => {
            let old = match old_key.trim() {
                "derived" => audit::AuditKey::derived(&settings.secret_key),
                text => audit::AuditKey::parse(text)
                    .map_err(|e| format!("SAMORDNA_OLD_AUDIT_KEY: {e}"))?,
            };
            if old == settings.audit_key {
                return Err("SAMORDNA_OLD_AUDIT_KEY is the key the trail is kept under now (SAMORDNA_AUDIT_KEY): set the new key there".into());
            }
            let done = audit::rekey(conn, &old).map_err(explain)?;
            match done.old_chain_broken_at {
                None => println!(
                    "Re-chained {} entries under SAMORDNA_AUDIT_KEY; every link held under the old key.",
                    done.entries
                ),
                Some(seq) => println!(
                    "Re-chained {} entries under SAMORDNA_AUDIT_KEY; under the old key the trail was broken at entry {seq}.",
                    done.entries
                ),
            }
            Ok(0)
        }
        Command::Audit(AuditCommand::Verify { anchor }) => {
            match audit::verify_with(conn, &settings.audit_key, anchor.as_ref()).map_err(explain)? {
                audit::Verdict::Intact { entries } => {
                    match anchor {
                    None => println!("Audit trail intact: {entries} entries, every link checked."),
                    Some(a) => println!(
                        "Audit trail intact: {entries} entries, every link checked; entry {} matches the anchor.",
                        a.seq
                    ),
                }
                    Ok(0)
                }
                audit::Verdict::Broken { seq, problem } => {
                    println!("AUDIT TRAIL BROKEN at entry {seq}: {problem}.");
                    Ok(1)
                }
                audit::Verdict::NotYetKeyed { entries } => {
                    println!(
                        "Not verified: {entries} entries, and {}. Nothing was changed.",
                        audit::NOT_YET_KEYED
                    );
                    Ok(1)
                }
            }
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
