//! Which columns are sealed, said once per table with [`sealed_row!`](crate::sealed_row) beside
//! the table's row struct, and the key rotation that re-seals them (`samordna keys rotate`).
//!
//! A row is sealed on its way in (`row.seal(keys)` before it is inserted) and opened on its way
//! out (`row.open(keys)?` right after it is loaded). What stays in clear is what SQL filters,
//! joins or sorts on: ids, references, dates and clocks, status, categories, birth dates.

use crate::audit::event::{Event, Object};
use crate::audit::AuditActor;
use crate::crypto::{Keyring, OpenError};
use crate::db::{write_tx, AnyConnection};
use crate::error::AppError;

/// How many rows one transaction of the rotation re-seals.
pub const BATCH: i64 = 500;

/// A row struct with sealed columns. Implemented by [`sealed_row!`](crate::sealed_row).
pub trait SealedRow: Sized {
    /// The table's name.
    const TABLE: &'static str;
    /// The sealed columns.
    const COLUMNS: &'static [&'static str];
    /// Seals the sealed columns (and sets the blind index from the plain value first).
    fn seal(self, keys: &Keyring) -> Self;
    /// Opens the sealed columns of a row as loaded.
    fn open(self, keys: &Keyring) -> Result<Self, OpenError>;
    /// Re-seals, in batches of [`BATCH`] rows with one transaction each, every value of the table
    /// that is not sealed under the current key (legacy plaintext too), and sets every blind
    /// index the index key gives. Each value is replaced only if it is still the one read, so a
    /// concurrent change is never overwritten. Returns how many rows changed.
    fn reseal_table(conn: &mut AnyConnection, keys: &Keyring) -> Result<u64, AppError>;
}

/// Says which columns of a row struct are sealed: `sealed_row!(Row, table by key_column:
/// [column, ...])`, with `, index index_column of column` for a blind index of a personnummer.
/// The struct's fields are named as the columns, and the struct is `Selectable`.
#[macro_export]
macro_rules! sealed_row {
    ($row:ty, $table:ident by $key:ident: [$($field:ident),+ $(,)?] $(, index $index:ident of $source:ident)?) => {
        impl $crate::crypto::rows::SealedRow for $row {
            const TABLE: &'static str = stringify!($table);
            const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),+];

            fn seal(mut self, keys: &$crate::crypto::Keyring) -> Self {
                $( self.$index = self.$source.as_deref().map(|n| keys.blind_index(n)); )?
                $(
                    self.$field = $crate::crypto::Sealable::seal(
                        self.$field,
                        keys,
                        concat!(stringify!($table), ".", stringify!($field)),
                    );
                )+
                self
            }

            fn open(
                mut self,
                keys: &$crate::crypto::Keyring,
            ) -> Result<Self, $crate::crypto::OpenError> {
                $(
                    self.$field = $crate::crypto::Sealable::open(
                        self.$field,
                        keys,
                        concat!(stringify!($table), ".", stringify!($field)),
                    )?;
                )+
                Ok(self)
            }

            fn reseal_table(
                conn: &mut $crate::db::AnyConnection,
                keys: &$crate::crypto::Keyring,
            ) -> Result<u64, $crate::error::AppError> {
                use diesel::prelude::*;
                use $crate::crypto::Sealable;
                use $crate::db::schema::$table;
                let mut after = String::new();
                let mut changed = 0u64;
                loop {
                    let (read, last) = $crate::db::write_tx(
                        conn,
                        |conn| -> Result<(usize, Option<String>), $crate::error::AppError> {
                            let batch: Vec<$row> = $table::table
                                .filter($table::$key.gt(&after))
                                .order($table::$key)
                                .limit($crate::crypto::rows::BATCH)
                                .select(<$row>::as_select())
                                .load(conn)?;
                            for row in &batch {
                                let mut row_changed = false;
                                // The index first: its update is conditioned on the
                                // stored number, which the re-sealing below replaces.
                                $(
                                    let column =
                                        concat!(stringify!($table), ".", stringify!($source));
                                    let index = row
                                        .$source
                                        .clone()
                                        .open(keys, column)?
                                        .map(|n| keys.blind_index(&n));
                                    if index != row.$index {
                                        row_changed |= diesel::update(
                                            $table::table
                                                .filter($table::$key.eq(&row.$key))
                                                .filter($table::$source.nullable().eq(&row.$source)),
                                        )
                                        .set($table::$index.eq(&index))
                                        .execute(conn)?
                                            > 0;
                                    }
                                )?
                                $(
                                    if row.$field.is_stale(keys) {
                                        let column =
                                            concat!(stringify!($table), ".", stringify!($field));
                                        let old = row.$field.clone();
                                        let new = old.clone().open(keys, column)?.seal(keys, column);
                                        row_changed |= diesel::update(
                                            $table::table
                                                .filter($table::$key.eq(&row.$key))
                                                .filter($table::$field.nullable().eq(old)),
                                        )
                                        .set($table::$field.eq(new))
                                        .execute(conn)?
                                            > 0;
                                    }
                                )+
                                if row_changed {
                                    changed += 1;
                                }
                            }
                            Ok((batch.len(), batch.last().map(|r| r.$key.to_string())))
                        },
                    )?;
                    match last {
                        Some(last) if read as i64 == $crate::crypto::rows::BATCH => after = last,
                        _ => return Ok(changed),
                    }
                }
            }
        }
    };
}

/// One table's share of a rotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resealed {
    pub table: &'static str,
    pub rows: u64,
}

type ResealTable = fn(&mut AnyConnection, &Keyring) -> Result<u64, AppError>;

/// Every table with sealed columns.
fn tables() -> Vec<(&'static str, ResealTable)> {
    use crate::reports::store::{
        ChildRow, DecisionRecord, GuardianRow, Investigation, Report, Reporter, SafetyAssessment,
    };
    use crate::schedule::sources::Address;
    use crate::sip::store::{Consent, Meeting, Participant, PlanRow, Sip};
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
        entry::<Sip>(),
        entry::<PlanRow>(),
        entry::<Consent>(),
        entry::<Participant>(),
        entry::<Meeting>(),
        entry::<Address>(),
        entry::<crate::accounts::two_factor::StoredSecret>(),
        entry::<crate::accounts::two_factor::PendingSecret>(),
        entry::<crate::mail::OutboxMessage>(),
    ]
}

/// Key rotation: re-seals every value not sealed under the current key, table by table, and sets
/// the blind indexes the current index key gives. One audit entry per table with the number of
/// rows changed (no values). Running it again changes nothing.
pub fn rotate(
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
