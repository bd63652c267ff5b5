//! Durable state behind one type, two backends.
//!
//! * **SQLite** (embedded default): one file in WAL mode, one process. All writes go through a
//!   single connection (SQLite allows one writer anyway; queueing in the pool is cheaper than
//!   `SQLITE_BUSY` retries); reads use a small pool of read-only connections.
//! * **PostgreSQL** (several nodes): the exclusion constraint `busy_no_overlap` makes two active
//!   overlapping intervals of one staff member impossible, whatever the nodes' actors believe.
//!
//! The store keeps invariant BK-1 as the last line of defence (the calendar actor is the first):
//! every staff-busy interval of a hold or booking is a row in `busy_intervals`, and inserting an
//! overlapping active row fails as [`StoreError::SlotTaken`] — never as a 500 (PostgreSQL uses
//! `ON CONFLICT ON CONSTRAINT … DO NOTHING`, which cannot deadlock like a plain insert can).
//! Every state change a caller was told about is committed before the answer (BK-2).
//!
//! Most SQL is shared: it is written once with `$n` placeholders (which sqlx accepts for SQLite
//! too) and expanded for both pool types by [`with_write!`]/[`with_read!`]. Only what truly
//! differs (conflict handling, job claiming, notifications) has per-backend code.

pub mod admin;
pub mod appointments;
mod busy;
mod calendar;
mod catalogue;
mod claims;
mod mirrors;
mod nodes;
mod notify;
mod outbox;
mod records;
pub mod report;
mod row;
mod signals;
mod types;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

pub use appointments::PhaseUpdate;
pub use calendar::{Conversion, ConvertResult, DueHold, HoldInsert};
pub use claims::Claim;
pub use mirrors::MirrorRecord;
pub use notify::CalendarNotice;
pub use outbox::{Fence, OutboxJob, OutboxKind, OutboxStatus, OutboxSummary};
pub use records::{CallRecord, FlagChange, FlagRow, IdempotencyKey, REPLAY_WINDOW_SECS};
pub use types::*;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// Errors of the persistence layer, already sorted by what the caller should do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An active interval of the same staff member overlaps: a domain answer ("taken").
    #[error("slot taken")]
    SlotTaken,
    /// A unique key exists already (e.g. a second outbox row for one job).
    #[error("duplicate: {0}")]
    Duplicate(String),
    /// The database cannot be reached or is overloaded; retry later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A row could not be read back into our types.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A write made under an outbox claim that another claim has taken over since (its fencing
    /// token is stale): the database matched no row, nothing was written.
    #[error("stale fencing token: outbox job {0} was claimed again")]
    Fenced(i64),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("database error: {0}")]
    Other(String),
}

impl StoreError {
    pub fn corrupt(what: impl std::fmt::Display) -> Self {
        Self::Corrupt(what.to_string())
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) => {
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                if code == "23P01" || db.message().contains("slot_taken") {
                    StoreError::SlotTaken
                } else if db.is_unique_violation() {
                    StoreError::Duplicate(db.message().to_owned())
                } else if code == "40P01" || code == "40001" || code == "57P01" || code == "5" || code == "517" {
                    // deadlock / serialization failure / admin shutdown / SQLITE_BUSY(_SNAPSHOT)
                    StoreError::Unavailable(db.message().to_owned())
                } else {
                    StoreError::Other(db.message().to_owned())
                }
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
                StoreError::Unavailable(err.to_string())
            }
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) | sqlx::Error::ColumnNotFound(_) => {
                StoreError::Corrupt(err.to_string())
            }
            _ => StoreError::Other(err.to_string()),
        }
    }
}

pub(crate) enum Backend {
    Sqlite { write: SqlitePool, read: SqlitePool },
    Postgres { pool: PgPool },
}

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

pub(crate) struct Inner {
    pub(crate) backend: Backend,
    pub(crate) node_id: String,
    pub(crate) signals: signals::Signals,
}

/// The store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

/// How to open the store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub url: String,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// Names this process in PostgreSQL (`application_name`), so notices from it can be told apart.
    pub node_id: String,
}

/// Runs `$body` with `$pool` bound to the pool that takes writes, for either backend.
macro_rules! with_write {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.inner.backend {
            $crate::store::Backend::Sqlite { write: $pool, .. } => $body,
            $crate::store::Backend::Postgres { pool: $pool } => $body,
        }
    };
}

/// Runs `$body` with `$pool` bound to a pool for reads, for either backend.
macro_rules! with_read {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.inner.backend {
            $crate::store::Backend::Sqlite { read: $pool, .. } => $body,
            $crate::store::Backend::Postgres { pool: $pool } => $body,
        }
    };
}

pub(crate) use {with_read, with_write};

impl Store {
    /// Opens (and for SQLite creates) the database. Does not run migrations: see [`Store::migrate`].
    pub async fn connect(options: &StoreOptions) -> Result<Self, StoreError> {
        let backend = if options.url.starts_with("sqlite:") {
            Self::open_sqlite(options).await?
        } else if options.url.starts_with("postgres:") || options.url.starts_with("postgresql:") {
            Self::open_postgres(options).await?
        } else {
            return Err(StoreError::Other(format!(
                "unsupported database url scheme in {:?}",
                redact_url(&options.url)
            )));
        };
        Ok(Self { inner: Arc::new(Inner { backend, node_id: options.node_id.clone(), signals: Default::default() }) })
    }

    async fn open_sqlite(options: &StoreOptions) -> Result<Backend, StoreError> {
        let connect = SqliteConnectOptions::from_str(&options.url)
            .map_err(|e| StoreError::Other(format!("bad sqlite url: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode: a commit survives a process crash (kill -9); only an OS crash or
            // power loss can lose the last transactions.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        if let Some(parent) = connect.get_filename().parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", parent.display())))?;
        }
        let pool_options = |max: u32| {
            SqlitePoolOptions::new()
                .max_connections(max)
                .min_connections(1)
                .acquire_timeout(options.acquire_timeout)
                // A local file has no stale connections: no pings, no reaper timers.
                .test_before_acquire(false)
                .idle_timeout(None)
                .max_lifetime(None)
        };
        let write = pool_options(1).connect_with(connect.clone()).await?;
        let read = pool_options(options.max_connections.clamp(1, 8)).connect_with(connect.read_only(true)).await?;
        Ok(Backend::Sqlite { write, read })
    }

    async fn open_postgres(options: &StoreOptions) -> Result<Backend, StoreError> {
        let connect = PgConnectOptions::from_str(&options.url)
            .map_err(|e| StoreError::Other(format!("bad postgres url: {e}")))?
            .application_name(&format!("slotkeeper-{}", options.node_id));
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .test_before_acquire(false)
            .connect_with(connect)
            .await?;
        Ok(Backend::Postgres { pool })
    }

    pub fn kind(&self) -> BackendKind {
        match self.inner.backend {
            Backend::Sqlite { .. } => BackendKind::Sqlite,
            Backend::Postgres { .. } => BackendKind::Postgres,
        }
    }

    pub fn node_id(&self) -> &str {
        &self.inner.node_id
    }

    /// Runs pending migrations (idempotent; PostgreSQL takes an advisory lock, so nodes starting
    /// together do not race).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let result = match &self.inner.backend {
            Backend::Sqlite { write, .. } => SQLITE_MIGRATIONS.run(write).await,
            Backend::Postgres { pool } => POSTGRES_MIGRATIONS.run(pool).await,
        };
        result.map_err(|e| StoreError::Migration(e.to_string()))
    }

    /// Reverts the newest `steps` applied migrations (their `.down.sql`).
    pub async fn migrate_down(&self, steps: usize) -> Result<Vec<i64>, StoreError> {
        let migrator = match self.kind() {
            BackendKind::Sqlite => &SQLITE_MIGRATIONS,
            BackendKind::Postgres => &POSTGRES_MIGRATIONS,
        };
        let applied = self.applied_migrations().await?;
        let reverted: Vec<i64> = applied.iter().rev().take(steps).copied().collect();
        let target = applied.iter().rev().nth(steps).copied().unwrap_or(0);
        let result = match &self.inner.backend {
            Backend::Sqlite { write, .. } => migrator.undo(write, target).await,
            Backend::Postgres { pool } => migrator.undo(pool, target).await,
        };
        result.map_err(|e| StoreError::Migration(e.to_string()))?;
        Ok(reverted)
    }

    /// Versions of applied migrations, ascending.
    pub async fn applied_migrations(&self) -> Result<Vec<i64>, StoreError> {
        let sql = "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version";
        let versions: Vec<i64> = with_read!(self, pool => sqlx::query_scalar(sql).fetch_all(pool).await)?;
        Ok(versions)
    }

    /// Cheap liveness check used by `/health/ready`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        with_read!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Closes every connection (graceful shutdown; SQLite checkpoints its WAL).
    pub async fn close(&self) {
        match &self.inner.backend {
            Backend::Sqlite { write, read } => {
                read.close().await;
                write.close().await;
            }
            Backend::Postgres { pool } => pool.close().await,
        }
    }

    pub(crate) fn postgres_pool(&self) -> Option<&PgPool> {
        match &self.inner.backend {
            Backend::Postgres { pool } => Some(pool),
            Backend::Sqlite { .. } => None,
        }
    }
}

/// A database URL with any password removed, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            let user = credentials.split(':').next().unwrap_or("");
            format!("{}://{}:***@{}", &url[..scheme_end], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_leave_the_store_in_messages() {
        assert_eq!(redact_url("postgres://app:s3cret@db:5432/x"), "postgres://app:***@db:5432/x");
        assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
    }
}
