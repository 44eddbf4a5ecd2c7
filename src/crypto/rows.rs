//! Which columns are sealed, said once per table with [`sealed_row!`](crate::sealed_row) beside
//! the table's row struct, and how a table is re-sealed under the current key. Which tables there
//! are is said above the capabilities, where `samordna keys rotate` lists them
//! ([`crate::cli`]), so that this module imports none of them.
//!
//! A row is sealed on its way in (`row.seal(keys)` before it is inserted) and opened on its way
//! out (`row.open(keys)?` right after it is loaded). What stays in clear is what SQL filters,
//! joins or sorts on: ids, references, dates and clocks, status, categories, birth dates.

use crate::crypto::{Keyring, OpenError};
use crate::db::AnyConnection;
use crate::error::AppError;

/// How many rows one transaction of the rotation re-seals.
pub const BATCH: i64 = 500;

/// How many rows one transaction of the rotation re-seals for a table: [`BATCH`], or fewer for a
/// table of large rows (`sealed_row!(…, batch N)`), so that a batch's rows fit in memory.
pub const fn batch(given: &[i64]) -> i64 {
    match given {
        [n] => *n,
        _ => BATCH,
    }
}

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
/// [column, ...])`, with `, index index_column of column` for a blind index of a personnummer,
/// and `, batch N` for a table of large rows that rotation re-seals N at a time.
/// The struct's fields are named as the columns, and the struct is `Selectable`.
#[macro_export]
macro_rules! sealed_row {
    ($row:ty, $table:ident by $key:ident: [$($field:ident),+ $(,)?] $(, index $index:ident of $source:ident)? $(, batch $batch:expr)?) => {
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
                                .limit($crate::crypto::rows::batch(&[$($batch)?]))
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
                        Some(last) if read as i64 == $crate::crypto::rows::batch(&[$($batch)?]) => {
                            after = last
                        }
                        _ => return Ok(changed),
                    }
                }
            }
        }
    };
}
