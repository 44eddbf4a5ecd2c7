//! `samordna keys rotate`: re-seals every sealed table under the current key. The list of those
//! tables is here, above every capability, because it names a row type of each of them; the
//! sealing itself is [`crate::crypto::rows`], which imports no capability.

use clap::Subcommand;

use crate::audit::event::{Event, Object};
use crate::audit::AuditActor;
use crate::config::Settings;
use crate::crypto::rows::SealedRow;
use crate::crypto::Keyring;
use crate::db::{write_tx, AnyConnection};
use crate::error::AppError;

#[derive(Subcommand)]
pub(super) enum KeysCommand {
    /// Re-seal every value not sealed under the current key (the first of SAMORDNA_DATA_KEYS),
    /// legacy plaintext included, and set every blind index from SAMORDNA_INDEX_KEY. Safe to run
    /// again and while the service runs; afterwards the older keys can be removed.
    Rotate,
}

pub(super) fn run(
    command: KeysCommand,
    conn: &mut AnyConnection,
    settings: &Settings,
) -> Result<i32, String> {
    match command {
        KeysCommand::Rotate => {
            let done = rotate(conn, &settings.keys, &AuditActor::cli()).map_err(super::explain)?;
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
    }
}

/// One table's share of a rotation.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Resealed {
    table: &'static str,
    rows: u64,
}

type ResealTable = fn(&mut AnyConnection, &Keyring) -> Result<u64, AppError>;

/// Every table with sealed columns.
fn tables() -> Vec<(&'static str, ResealTable)> {
    use crate::accounts::two_factor::{PendingSecret, StoredSecret};
    use crate::consultations::store::Consultation;
    use crate::information_requests::store::extensions::ExtensionRow as MoreTimeRow;
    use crate::information_requests::store::files::FileRow;
    use crate::information_requests::store::InformationRequest;
    use crate::journal::store::Entry as JournalEntry;
    use crate::mail::OutboxMessage;
    use crate::reports::store::{
        ChildRow, Closing, DecisionRecord, Extension, GuardianRow, Investigation, Report, Reporter,
        SafetyAssessment,
    };
    use crate::schedule::sources::Address;
    use crate::sip::store::plans::PlanRow;
    use crate::sip::store::{Consent, Meeting, Participant, Sip};
    use crate::webhooks::Endpoint as WebhookEndpoint;
    fn entry<R: SealedRow>() -> (&'static str, ResealTable) {
        (R::TABLE, R::reseal_table)
    }
    vec![
        entry::<Report>(),
        entry::<ChildRow>(),
        entry::<GuardianRow>(),
        entry::<Reporter>(),
        entry::<SafetyAssessment>(),
        entry::<DecisionRecord>(),
        entry::<Investigation>(),
        entry::<Extension>(),
        entry::<Closing>(),
        entry::<Sip>(),
        entry::<PlanRow>(),
        entry::<Consent>(),
        entry::<Participant>(),
        entry::<Meeting>(),
        entry::<Address>(),
        entry::<StoredSecret>(),
        entry::<PendingSecret>(),
        entry::<OutboxMessage>(),
        entry::<Consultation>(),
        entry::<JournalEntry>(),
        entry::<InformationRequest>(),
        entry::<WebhookEndpoint>(),
        entry::<FileRow>(),
        entry::<MoreTimeRow>(),
    ]
}

/// Key rotation: re-seals every value not sealed under the current key, table by table, and sets
/// the blind indexes the current index key gives. One audit entry per table with the number of
/// rows changed (no values). Running it again changes nothing.
fn rotate(
    conn: &mut AnyConnection,
    keys: &Keyring,
    actor: &AuditActor,
) -> Result<Vec<Resealed>, AppError> {
    let mut done = Vec::new();
    for (table, reseal) in tables() {
        let rows = reseal(conn, keys)?;
        write_tx(conn, |conn| {
            Event::success(actor, "keys.rotate", Object::Table(table))
                .detail(&format!("rows={rows} key={}", keys.current_id()))
                .record(conn)
        })?;
        done.push(Resealed { table, rows });
    }
    Ok(done)
}
