//! # support-sqlx
//!
//! [`support_core::Storage`] on SQLite (the embedded default: one file,
//! nothing to install) and PostgreSQL (for hosts that run several nodes),
//! on sqlx. Migrations ship inside the crate, per dialect, tracked in the
//! crate's own `support_migrations` table so a host's `_sqlx_migrations`
//! stays untouched.
//!
//! ```no_run
//! use std::sync::Arc;
//! use support_core::Support;
//! use support_sqlx::SqliteStorage;
//!
//! # async fn example() -> Result<(), support_sqlx::SetupError> {
//! let storage = SqliteStorage::connect("sqlite:support.db").await?;
//! let support = Support::new(Arc::new(storage));
//! # let _ = support;
//! # Ok(())
//! # }
//! ```
//!
//! A host that already has a pool passes it to [`SqliteStorage::new`] or
//! [`PostgresStorage::new`] and calls `migrate()` once at startup.
//!
//! On SQLite, write transactions run on a writer connection of the
//! storage's own (rusqlite, on the same SQLite library as sqlx), inline on
//! the calling task and committed in groups; reads use the sqlx pool.
//! [`connect`] picks the backend from a URL.
#![forbid(unsafe_code)]

mod error;
mod outbox;
mod rows;
mod signal;
mod sql;
mod store;

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;

use std::sync::Arc;

#[cfg(feature = "postgres")]
pub use postgres::{PostgresStorage, PostgresWriteTx};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteStorage, SqliteWriteTx};

/// The table that records which of this crate's migrations ran.
pub const MIGRATIONS_TABLE: &str = "support_migrations";

/// Failure to open or migrate a database.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The URL is malformed or the database cannot be reached.
    #[error("cannot connect to the database")]
    Connect(#[source] sqlx::Error),
    /// A migration failed.
    #[error("cannot migrate the database")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// SQLite: the storage's writer connection cannot be opened.
    #[cfg(feature = "sqlite")]
    #[error("cannot open the SQLite writer connection")]
    OpenWriter(#[source] rusqlite::Error),
    /// SQLite: a pool of an in-memory database was passed to
    /// `SqliteStorage::new`; the writer cannot open that database.
    #[error(
        "an in-memory SQLite pool cannot be shared with the writer connection \
         (open `sqlite::memory:` with SqliteStorage::connect instead)"
    )]
    InMemoryPool,
    /// A file or directory for the database cannot be created.
    #[error("cannot prepare the database files")]
    Io(#[source] std::io::Error),
    /// The URL names a backend this build does not include.
    #[error("unsupported database URL scheme in {0:?} (expected sqlite: or postgres:)")]
    UnsupportedUrl(String),
}

/// Opens the database a URL names (`sqlite:...` or `postgres://...`) and
/// migrates it.
pub async fn connect(url: &str) -> Result<Arc<dyn support_core::Storage>, SetupError> {
    #[cfg(feature = "sqlite")]
    if url.starts_with("sqlite:") {
        return Ok(Arc::new(SqliteStorage::connect(url).await?));
    }
    #[cfg(feature = "postgres")]
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        return Ok(Arc::new(PostgresStorage::connect(url).await?));
    }
    let scheme = url.split(':').next().unwrap_or_default();
    Err(SetupError::UnsupportedUrl(scheme.to_owned()))
}
