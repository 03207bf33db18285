//! All of Atalaya's SQL: SQLite and PostgreSQL behind one [`Store`].
//!
//! The store runs on `sqlx::Any`, so every query is written once with `$1`
//! placeholders (SQLite accepts them as numbered parameters) and runtime binding.
//! The few statements that really differ between the backends live in the private
//! `dialect` module. Tables are grouped one module per noun — [`Users`],
//! [`Workspaces`], [`Sessions`], [`ApiTokens`], [`LoginAttempts`], [`Audit`],
//! [`Jobs`], and for listening [`Topics`] (with their [`Backfills`]), [`Sources`],
//! [`Mentions`] (with authors and topic hits), [`SavedViews`] and [`Invitations`] — each reached through a cheap
//! borrowed handle such as `store.users().create(..)`.
//!
//! Architecture invariant: no other crate contains SQL; they speak domain types.

mod accounts;
mod api_tokens;
mod audit;
mod backfills;
mod dialect;
mod invitations;
mod jobs;
mod login_attempts;
mod mentions;
mod saved_views;
mod sessions;
mod sources;
mod sqlite_writer;
mod topics;
mod users;
mod workspaces;

#[cfg(feature = "test-support")]
pub mod testing;

pub use accounts::{AccountStateUpdate, Accounts, NewAccount, OAuthApp, PendingAuthorization};
pub use api_tokens::{ApiTokenInfo, ApiTokens};
pub use audit::{Audit, AuditEntry, NewAuditEntry};
pub use backfills::{
    BACKFILL_JOB_KIND, BACKFILL_MAX_ATTEMPTS, BackfillCursor, BackfillRequest, BackfillRun,
    Backfills, MentionToMatch,
};
pub use invitations::{
    AcceptedInvitation, CreatedInvitation, InvitationLimits, Invitations, NewInvitation,
};
pub use jobs::{Job, JobStatus, Jobs, NewJob, UnknownJobStatus};
pub use login_attempts::LoginAttempts;
pub use mentions::{
    AuthorCache, DailyCount, InsertOutcome, MentionFilter, Mentions, NewAuthor, NewMention,
    SentimentBucket, TopicBucket,
};
pub use saved_views::{SavedView, SavedViews};
pub use sessions::{SessionRecord, Sessions};
pub use sources::{
    NewSource, POLL_SOURCE_JOB_KIND, PUSH_KINDS, PollFailure, Sources, WEBHOOK_TOKEN_HASH_KEY,
    poll_job_key,
};
pub use topics::{NewTopic, Topics};
pub use users::{NewUser, Users};
pub use workspaces::Workspaces;

use std::sync::{Arc, Mutex};

use sqlx::AnyPool;

use crate::sqlite_writer::SqliteWriter;

/// Which database server a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// What can go wrong in the store, named for what the caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The configured `database_url` is neither `sqlite:` nor `postgres(ql)://`.
    #[error(
        "unsupported database URL {url_redacted:?}: expected sqlite://PATH, sqlite::memory: or postgres://..."
    )]
    UnsupportedUrl { url_redacted: String },
    /// A unique value is already taken (a username, an email, a slug...).
    #[error("{what} is already taken")]
    Conflict { what: &'static str },
    /// An update or delete targeted a row that does not exist.
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// Applying the schema migrations failed.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A row holds a value this version cannot read (for example an unknown role).
    #[error("corrupt value in column {column}: {message}")]
    CorruptValue {
        column: &'static str,
        message: String,
    },
    /// Any other database failure.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A failure of SQLite's native batch writer (see `sqlite_writer`).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// The database behind every part of Atalaya. Cheap to clone: a pool is inside.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Keeps an in-memory SQLite database alive (see `dialect::Connected`).
    _in_memory_keeper: Option<Arc<Mutex<sqlx::AnyConnection>>>,
    /// SQLite's native connection for mention batches (see `sqlite_writer`).
    sqlite_writer: Option<Arc<SqliteWriter>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens a pool for `url`: `sqlite://path/file.db` (the file is created if missing;
    /// its directory must exist), `sqlite::memory:` (one connection, so one database)
    /// or `postgres://...`. Any other scheme is [`StoreError::UnsupportedUrl`].
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let connected = dialect::connect(url).await?;
        Ok(Store {
            pool: connected.pool,
            backend: connected.backend,
            _in_memory_keeper: connected
                .in_memory_keeper
                .map(|connection| Arc::new(Mutex::new(connection))),
            sqlite_writer: connected
                .writer_target
                .map(|target| Arc::new(SqliteWriter::new(target))),
        })
    }

    /// Applies the backend's pending migrations. Safe to run on every start.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        dialect::migrator(self.backend).run(&self.pool).await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A round trip to the database, for readiness probes.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection; later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
        if let Some(writer) = &self.sqlite_writer {
            writer.close();
        }
    }

    pub fn users(&self) -> Users<'_> {
        Users { store: self }
    }

    pub fn workspaces(&self) -> Workspaces<'_> {
        Workspaces { store: self }
    }

    pub fn sessions(&self) -> Sessions<'_> {
        Sessions { store: self }
    }

    pub fn api_tokens(&self) -> ApiTokens<'_> {
        ApiTokens { store: self }
    }

    pub fn login_attempts(&self) -> LoginAttempts<'_> {
        LoginAttempts { store: self }
    }

    pub fn audit(&self) -> Audit<'_> {
        Audit { store: self }
    }

    pub fn jobs(&self) -> Jobs<'_> {
        Jobs { store: self }
    }

    pub fn topics(&self) -> Topics<'_> {
        Topics { store: self }
    }

    pub fn sources(&self) -> Sources<'_> {
        Sources { store: self }
    }

    pub fn mentions(&self) -> Mentions<'_> {
        Mentions { store: self }
    }

    pub fn accounts(&self) -> Accounts<'_> {
        Accounts { store: self }
    }

    pub fn backfills(&self) -> Backfills<'_> {
        Backfills { store: self }
    }

    pub fn saved_views(&self) -> SavedViews<'_> {
        SavedViews { store: self }
    }

    pub fn invitations(&self) -> Invitations<'_> {
        Invitations { store: self }
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub(crate) fn sqlite_writer(&self) -> Option<&SqliteWriter> {
        self.sqlite_writer.as_deref()
    }
}

/// Turns a unique violation into [`StoreError::Conflict`] naming the first of
/// `columns` that appears in the violated constraint (PostgreSQL reports the index
/// name, e.g. `users_email_key`; SQLite the column, e.g. `users.email`).
pub(crate) fn map_conflict(error: sqlx::Error, columns: &[&'static str]) -> StoreError {
    if let sqlx::Error::Database(database_error) = &error
        && database_error.is_unique_violation()
    {
        let described = format!(
            "{} {}",
            database_error.constraint().unwrap_or_default(),
            database_error.message()
        );
        let what = columns
            .iter()
            .find(|column| described.contains(**column))
            .copied()
            .unwrap_or("value");
        return StoreError::Conflict { what };
    }
    StoreError::Database(error)
}
