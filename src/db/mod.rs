//! The database: one binary for SQLite (the zero-setup default) and PostgreSQL.
//!
//! Every write that must be all-or-nothing goes through [`write_tx`], which on SQLite takes the
//! write lock up front (`BEGIN IMMEDIATE`) so that two writers never deadlock on a lock upgrade.
//!
//! Lookups of one row by a unique key on the busy paths (filing, tokens, users, the audit trail)
//! use `get_result`, not `first`: `first` adds `LIMIT` with the 1 as a bound parameter, and the
//! bundled SQLite plans with that value, so it compiles the statement again every time it is
//! bound (`sqlite3Reprepare`), which was a fifth of the service's CPU while filing.

pub mod dialect;
pub mod schema;

use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

pub type DbPool = r2d2::Pool<ConnectionManager>;
pub type PooledConn = r2d2::PooledConnection<ConnectionManager>;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Which database a URL names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self, String> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("sqlite:// needs a file name, e.g. sqlite://samordna.db".into());
            }
            Ok(Backend::Sqlite(PathBuf::from(path)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres(url.to_string()))
        } else {
            Err(format!(
                "{:?} must start with sqlite:// or postgres://",
                redact_url(url)
            ))
        }
    }

    /// The folder where development files (generated key, mail folder) are kept.
    pub fn data_dir(&self) -> PathBuf {
        match self {
            Backend::Sqlite(path) => path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from(".")),
            Backend::Postgres(_) => PathBuf::from("."),
        }
    }
}

/// A URL with its password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// An r2d2 manager that picks the backend from the URL and passes on the real connection error
/// (the derived `AnyConnection::establish` would hide it behind "invalid connection url").
#[derive(Clone, Debug)]
pub struct ConnectionManager {
    backend: Backend,
}

impl ConnectionManager {
    pub fn new(url: &str) -> Result<Self, String> {
        Ok(Self {
            backend: Backend::from_url(url)?,
        })
    }
}

impl ManageConnection for ConnectionManager {
    type Connection = AnyConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<AnyConnection, r2d2::Error> {
        match &self.backend {
            Backend::Postgres(url) => diesel::PgConnection::establish(url)
                .map(AnyConnection::Postgresql)
                .map_err(r2d2::Error::ConnectionError),
            Backend::Sqlite(path) => {
                let mut conn = diesel::SqliteConnection::establish(&path.to_string_lossy())
                    .map_err(r2d2::Error::ConnectionError)?;
                // No automatic checkpoint: it would run inside COMMIT, while this process's
                // writers wait for the one committing (see `SQLITE_WRITER`); the service
                // checkpoints in the background instead (`checkpoints`), and SQLite checkpoints
                // when a command line run closes its connection.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 5000;
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = NORMAL;
                     PRAGMA foreign_keys = ON;
                     PRAGMA wal_autocheckpoint = 0;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        std::thread::panicking()
            || <AnyConnection as Connection>::TransactionManager::is_broken_transaction_manager(
                conn,
            )
    }
}

/// Whether the database still answers on this connection (false when the server went away).
pub fn answers(conn: &mut AnyConnection) -> bool {
    conn.batch_execute("SELECT 1").is_ok()
}

/// How long a pooled SQLite connection may stay unused before it is closed (r2d2 looks every
/// 30 s, so it goes 10–40 s after its last use; one is always kept). Each SQLite connection holds
/// its own page cache (up to 2 MB), schema and prepared statements in this process: after a load
/// the idle ones held 4–6 MB of the service's memory (docs/performance.md, issue 16). Opening
/// one again is a file open and a schema read. PostgreSQL connections keep r2d2's 10 minutes:
/// their memory is mostly in the server.
pub const SQLITE_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens one connection first, so that an unreachable database is reported with its real cause,
/// then builds the pool.
pub fn connect(url: &str, size: u32) -> Result<DbPool, String> {
    let manager = ConnectionManager::new(url)?;
    manager
        .connect()
        .map_err(|e| format!("cannot open database {}: {e}", redact_url(url)))?;
    let mut builder = r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(5));
    if matches!(manager.backend, Backend::Sqlite(_)) {
        builder = builder.idle_timeout(Some(SQLITE_IDLE_TIMEOUT));
    }
    builder
        .build(manager)
        .map_err(|e| format!("cannot open database {}: {e}", redact_url(url)))
}

/// Brings the schema up to date. On PostgreSQL an advisory lock makes two instances that start at
/// once take turns; SQLite serialises writers by itself.
pub fn run_migrations(conn: &mut AnyConnection) -> Result<usize, String> {
    const MIGRATION_LOCK: i64 = 0x5a4d_0001;
    let fail = |e: &dyn std::fmt::Display| format!("database migration failed: {e}");
    match conn {
        AnyConnection::Postgresql(pg) => {
            pg.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
                .map_err(|e| fail(&e))?;
            let result = pg
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|done| done.len())
                .map_err(|e| fail(&e));
            let _ = pg.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"));
            result
        }
        AnyConnection::Sqlite(sqlite) => sqlite
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|done| done.len())
            .map_err(|e| fail(&e)),
    }
}

/// SQLite has one writer at a time. Writers of this process take turns here rather than in
/// SQLite's busy handler, which polls with growing sleeps and gave filings a long tail under load.
static SQLITE_WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `f` in one transaction that holds the write lock from its start. Inside another
/// transaction it becomes a savepoint.
pub fn write_tx<T, E>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    type Tm = <AnyConnection as Connection>::TransactionManager;
    if in_transaction(conn) {
        // Already inside a write transaction (which holds the lock): a savepoint is enough.
        return conn.transaction(f);
    }
    let _turn = match conn {
        AnyConnection::Sqlite(sqlite) => {
            let turn = SQLITE_WRITER
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
            Some(turn)
        }
        AnyConnection::Postgresql(_) => {
            Tm::begin_transaction(conn)?;
            None
        }
    };
    match f(conn) {
        Ok(value) => match Tm::commit_transaction(conn) {
            Ok(()) => Ok(value),
            Err(e) => {
                let _ = Tm::rollback_transaction(conn);
                Err(e.into())
            }
        },
        Err(e) => {
            Tm::rollback_transaction(conn)?;
            Err(e)
        }
    }
}

/// Whether `conn` is inside a transaction (of [`write_tx`] or diesel's own).
fn in_transaction(conn: &mut AnyConnection) -> bool {
    type Tm = <AnyConnection as Connection>::TransactionManager;
    matches!(
        Tm::transaction_manager_status_mut(conn).transaction_depth(),
        Ok(Some(_))
    )
}

/// Runs `f` in the caller's transaction when there is one, else in its own [`write_tx`]. No
/// savepoint (on PostgreSQL a savepoint costs two more round trips), so every error of `f` must
/// reach the caller and fail its transaction: on SQLite a failed statement does not abort the
/// transaction, and a caller that swallowed the error would commit without what `f` was to write
/// (for `audit::Event::record`, a change without its audit entry).
pub fn in_write_tx<T, E>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    if in_transaction(conn) {
        f(conn)
    } else {
        write_tx(conn, f)
    }
}

/// How often the service checkpoints an SQLite database's write-ahead log.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);

/// Copies what the write-ahead log holds into the database file, without waiting for readers or
/// writers (`PASSIVE`): what the automatic checkpoint did inside a commit, here outside every
/// transaction and outside `SQLITE_WRITER`, so writers do not wait for it. Returns the frames in
/// the log and how many of them are now in the database file; nothing on PostgreSQL.
pub fn checkpoint(conn: &mut AnyConnection) -> Result<Option<(i64, i64)>, diesel::result::Error> {
    #[derive(QueryableByName)]
    struct Checkpointed {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        log: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        checkpointed: i64,
    }
    match conn {
        AnyConnection::Postgresql(_) => Ok(None),
        AnyConnection::Sqlite(sqlite) => {
            let done: Checkpointed =
                diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").get_result(sqlite)?;
            Ok(Some((done.log, done.checkpointed)))
        }
    }
}

/// The service's background checkpoint on SQLite (see [`checkpoint`]); returns at once on
/// PostgreSQL.
pub async fn checkpoints(pool: DbPool) {
    let sqlite = pool
        .get()
        .is_ok_and(|mut conn| matches!(&mut *conn, AnyConnection::Sqlite(_)));
    if !sqlite {
        return;
    }
    loop {
        tokio::time::sleep(CHECKPOINT_INTERVAL).await;
        let pool = pool.clone();
        let result = actix_web::web::block(move || -> Result<(), String> {
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            checkpoint(&mut conn).map(|_| ()).map_err(|e| e.to_string())
        })
        .await;
        if let Ok(Err(e)) = result {
            tracing::warn!(error = %e, "SQLite checkpoint failed; will retry");
        }
    }
}

/// The current time in UTC, to the microsecond (what both databases store).
pub fn now() -> chrono::NaiveDateTime {
    use chrono::{DurationRound, TimeDelta};
    chrono::Utc::now()
        .naive_utc()
        .duration_trunc(TimeDelta::microseconds(1))
        .expect("microsecond truncation never overflows")
}

/// Inserts a slice of rows: in one statement on PostgreSQL, where each statement is a round trip;
/// one statement per row on SQLite, which runs in the process (diesel's `MultiConnection` cannot
/// batch there). Evaluates to the number of rows inserted, or returns the error.
#[macro_export]
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            $crate::db::AnyConnection::Postgresql(pg) => {
                diesel::insert_into($table).values($rows).execute(pg)?
            }
            $crate::db::AnyConnection::Sqlite(sqlite) => {
                let mut inserted = 0;
                for row in $rows {
                    inserted += diesel::insert_into($table).values(row).execute(sqlite)?;
                }
                inserted
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_from_url() {
        assert_eq!(
            Backend::from_url("sqlite://samordna.db").unwrap(),
            Backend::Sqlite("samordna.db".into())
        );
        assert_eq!(
            Backend::from_url("sqlite://samordna.db")
                .unwrap()
                .data_dir(),
            PathBuf::from(".")
        );
        assert!(matches!(
            Backend::from_url("postgresql://u@h/db").unwrap(),
            Backend::Postgres(_)
        ));
        let err = Backend::from_url("mysql://root:hemligt@h/db").unwrap_err();
        assert!(
            err.contains("sqlite://") && !err.contains("hemligt"),
            "{err}"
        );
    }

    /// Commits on SQLite never checkpoint (that would run inside COMMIT, with the writers of
    /// this process waiting); `checkpoint`, which the service runs in the background, does.
    #[test]
    fn sqlite_checkpoints_only_when_asked() {
        #[derive(QueryableByName)]
        struct Setting {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            wal_autocheckpoint: i64,
        }
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let pool = connect(&url, 2).unwrap();
        let mut conn = pool.get().unwrap();
        let setting: Setting = diesel::sql_query("PRAGMA wal_autocheckpoint")
            .get_result(&mut *conn)
            .unwrap();
        assert_eq!(setting.wal_autocheckpoint, 0);
        conn.batch_execute("CREATE TABLE t (v TEXT)").unwrap();
        for _ in 0..2000 {
            write_tx(&mut conn, |c| {
                c.batch_execute("INSERT INTO t VALUES (hex(randomblob(200)))")
            })
            .unwrap();
        }
        // Well past the 1,000 pages at which SQLite would have checkpointed by itself.
        let wal = dir.path().join("t.db-wal");
        assert!(std::fs::metadata(&wal).unwrap().len() > 1000 * 4096);
        let (log, checkpointed) = checkpoint(&mut conn).unwrap().unwrap();
        assert!(log > 1000, "{log}");
        assert_eq!(checkpointed, log, "everything is copied when no one reads");
    }

    /// Idle SQLite connections are closed (each holds its page cache and statements in this
    /// process); PostgreSQL keeps r2d2's ten minutes.
    #[test]
    fn sqlite_pool_closes_idle_connections() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let pool = connect(&url, 2).unwrap();
        assert_eq!(pool.idle_timeout(), Some(SQLITE_IDLE_TIMEOUT));
        assert_eq!(pool.min_idle(), Some(1));
    }

    #[test]
    fn unreachable_postgres_gives_the_real_cause() {
        // Port 1 on loopback: nothing listens there, so the connection is refused.
        let err = connect("postgres://nobody:secret@127.0.0.1:1/none", 1).unwrap_err();
        assert!(err.contains("127.0.0.1"), "{err}");
        assert!(err.contains("refused"), "{err}");
        assert!(!err.contains("secret"), "password must not be shown: {err}");
    }
}
