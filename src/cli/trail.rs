//! `samordna audit verify`, `audit head` and `audit rekey`: checking the audit trail against
//! tampering, the anchor to keep outside the database, and moving the trail to a new key.

use clap::Subcommand;

use super::explain;
use crate::audit;
use crate::config::Settings;
use crate::crypto::AuditKey;
use crate::db::AnyConnection;

#[derive(Subcommand)]
pub(super) enum AuditCommand {
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

pub(super) fn run(
    command: AuditCommand,
    conn: &mut AnyConnection,
    settings: &Settings,
) -> Result<i32, String> {
    match command {
        AuditCommand::Head => {
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
        AuditCommand::Rekey { old_key } => {
            let old = match old_key.trim() {
                "derived" => AuditKey::derived(&settings.secret_key),
                text => {
                    AuditKey::parse(text).map_err(|e| format!("SAMORDNA_OLD_AUDIT_KEY: {e}"))?
                }
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
        AuditCommand::Verify { anchor } => {
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
