//! The `samordna` command as an operator runs it against a test's database.

use std::process::{Command, Output};

use super::{TestApp, SECRET};

/// `samordna <args>` against the database at `database_url` with the tests' secret key; the
/// caller adds any other setting and runs it.
pub fn samordna_command(database_url: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_samordna"));
    command
        .args(args)
        .env("SAMORDNA_DATABASE_URL", database_url)
        .env("SAMORDNA_SECRET_KEY", SECRET);
    command
}

impl TestApp {
    /// `samordna <args>` against this instance's database.
    pub fn samordna(&self, args: &[&str]) -> Command {
        samordna_command(&self.db.url, args)
    }
}

/// What a finished command gave: exit code, standard output and standard error, as text.
pub fn outcome(out: &Output) -> (Option<i32>, String, String) {
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
