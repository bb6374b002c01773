//! The one error enum of the store.

/// Errors of the durable store. Texts name the operation and the kind of failure, never
/// envelope contents.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store address is neither `sqlite:PATH` nor `postgres://…`/`postgresql://…`.
    #[error("unsupported store address (expected sqlite:PATH or postgres://…)")]
    Address,
    /// A schema name for PostgreSQL is not `[a-z_][a-z0-9_]*` (at most 63 bytes).
    #[error("invalid PostgreSQL schema name")]
    SchemaName,
    /// SQLite reported an error.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL reported an error.
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// No PostgreSQL connection could be taken from the pool.
    #[error("postgres pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// The PostgreSQL pool could not be built from the configuration.
    #[error("postgres pool configuration: {0}")]
    PoolBuild(#[from] deadpool_postgres::BuildError),
    /// Reading an attachment source or writing a blob failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory involved (or `<reader>` for a stream).
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The database was migrated by a newer poststelle (an unknown schema version is applied).
    #[error("database schema version {found} is newer than this binary knows ({known})")]
    SchemaFromFuture {
        /// The highest version found in the database.
        found: i64,
        /// The highest version this binary knows.
        known: i64,
    },
    /// The store was opened without migrating ([`super::AnyStore::open_existing`]) and holds
    /// no poststelle schema: nothing is created by inspecting.
    #[error(
        "not a poststelle store: it has no schema_migrations table (`poststelle serve` creates the tables)"
    )]
    NotInitialised,
    /// The store was opened without migrating and is at an older schema version than this
    /// binary reads and writes.
    #[error(
        "database schema version {found} is older than this binary's ({known}): start `poststelle serve` once to migrate it"
    )]
    NotMigrated {
        /// The highest version found in the database.
        found: i64,
        /// The highest version this binary knows.
        known: i64,
    },
    /// The PostgreSQL server has no database of the name the store address gives.
    #[error(
        "PostgreSQL database {name:?} does not exist: create it (`createdb {name}`) or fix the store address"
    )]
    NoDatabase {
        /// The database name from the address.
        name: String,
    },
    /// A row holds a value no version of poststelle writes (manual edits or corruption).
    #[error("corrupt store: unexpected {what}")]
    Corrupt {
        /// Which column or value was unexpected.
        what: &'static str,
    },
    /// A JSON column could not be encoded or decoded.
    #[error("store JSON column: {0}")]
    Json(#[from] serde_json::Error),
    /// The asked submission or attachment does not exist.
    #[error("not found: {what}")]
    NotFound {
        /// What was looked for (`submission`, `attachment`).
        what: &'static str,
    },
    /// A blocking store task panicked or was cancelled.
    #[error("store task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl StoreError {
    pub(crate) fn io(path: impl std::fmt::Display, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_string(),
            source,
        }
    }
}
