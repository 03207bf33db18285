//! Fresh, migrated stores for tests, on both backends (feature `test-support`).
//!
//! SQLite runs in memory, or in a temporary file where a test needs what only
//! a file has (WAL, several connections). PostgreSQL is a real server — never a mock — named by
//! `ATALAYA_TEST_POSTGRES_URL`; each call creates a new database on it, so tests
//! never share state. `scripts/test-postgres.sh start` starts a throwaway server.
//! When the variable is unset the PostgreSQL tests fail loudly rather than skip.

use std::sync::atomic::{AtomicU64, Ordering};

use atalaya_domain::{JobId, Timestamp};
use sqlx::Row;

use crate::{Store, StoreError};

pub const POSTGRES_URL_VAR: &str = "ATALAYA_TEST_POSTGRES_URL";

/// A migrated in-memory SQLite store.
///
/// # Panics
/// If the store cannot be opened or migrated: a test cannot proceed without it.
pub async fn fresh_sqlite() -> Store {
    let store = Store::connect("sqlite::memory:")
        .await
        .expect("opening in-memory SQLite");
    store.migrate().await.expect("migrating in-memory SQLite");
    store
}

/// A migrated SQLite store on a new file in a temporary directory, which is
/// removed when the returned guard drops: keep it alive as long as the store.
///
/// # Panics
/// If the directory or the store cannot be created.
pub async fn fresh_sqlite_file() -> (Store, tempfile::TempDir) {
    let directory = tempfile::tempdir().expect("creating a temporary directory");
    let url = format!("sqlite://{}", directory.path().join("atalaya.db").display());
    let store = Store::connect(&url).await.expect("opening the SQLite file");
    store.migrate().await.expect("migrating the SQLite file");
    (store, directory)
}

/// A migrated store on a new database of the server at `ATALAYA_TEST_POSTGRES_URL`.
///
/// # Panics
/// If the variable is unset or the server refuses: run `scripts/test-postgres.sh start`.
pub async fn fresh_postgres() -> Store {
    let url = fresh_postgres_url().await;
    let store = Store::connect(&url)
        .await
        .expect("connecting to the fresh PostgreSQL database");
    store
        .migrate()
        .await
        .expect("migrating the fresh PostgreSQL database");
    store
}

/// Creates a new, empty database on the test server and returns its URL, for tests
/// that open the store from several processes.
///
/// # Panics
/// As [`fresh_postgres`].
pub async fn fresh_postgres_url() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let server_url = std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{POSTGRES_URL_VAR} is not set: the PostgreSQL tests need a real server. Run \
             `scripts/test-postgres.sh start` and `eval \"$(scripts/test-postgres.sh env)\"`"
        )
    });
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or_default();
    let name = format!(
        "atalaya_test_{}_{}_{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let admin = Store::connect(&server_url).await.unwrap_or_else(|error| {
        panic!("connecting to {POSTGRES_URL_VAR}: {error}; run `scripts/test-postgres.sh start`")
    });
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(admin.pool())
        .await
        .expect("creating the test database");
    admin.close().await;
    database_url(&server_url, &name)
}

/// `server_url` with its database name replaced by `database`.
fn database_url(server_url: &str, database: &str) -> String {
    let (base, query) = match server_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server_url, None),
    };
    let authority_start = base.find("://").map_or(0, |index| index + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

/// Runs one raw statement, for tests that must put the database in a state the
/// store's API refuses to create (a corrupt value, a forged timestamp).
pub async fn execute_for_test(store: &Store, sql: &str) -> Result<u64, StoreError> {
    let result = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(store.pool())
        .await?;
    Ok(result.rows_affected())
}

/// The text values of the first column of `sql`'s rows, for tests that must
/// see what is really stored (that a token's digest is there, and not the token).
pub async fn text_column_for_test(store: &Store, sql: &str) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_all(store.pool())
        .await?;
    rows.iter()
        .map(|row| row.try_get::<String, _>(0).map_err(StoreError::from))
        .collect()
}

/// The value of SQLite pragma `name` as seen by one of the store's connections.
pub async fn sqlite_pragma(store: &Store, name: &str) -> Result<String, StoreError> {
    assert!(
        name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
        "pragma names only"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA {name}")))
        .fetch_one(store.pool())
        .await?;
    match row.try_get::<String, _>(0) {
        Ok(text) => Ok(text),
        Err(_) => Ok(row.try_get::<i64, _>(0)?.to_string()),
    }
}

/// A log of job executions kept in the database, so that tests running workers in
/// several processes can check afterwards that every job ran exactly once and that
/// no two runs of a job overlapped.
pub struct RunLog<'s> {
    store: &'s Store,
}

/// One execution of a job by a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub job: JobId,
    pub worker: String,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
}

impl<'s> RunLog<'s> {
    /// Creates the log's table if it does not exist yet.
    pub async fn create(store: &'s Store) -> Result<RunLog<'s>, StoreError> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS test_job_runs (job_id BIGINT NOT NULL, worker TEXT NOT NULL, \
             started_at BIGINT NOT NULL, finished_at BIGINT NOT NULL)",
        )
        .execute(store.pool())
        .await?;
        Ok(RunLog { store })
    }

    pub async fn record(&self, run: &Run) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO test_job_runs (job_id, worker, started_at, finished_at) VALUES ($1, $2, $3, $4)")
            .bind(run.job.get())
            .bind(run.worker.as_str())
            .bind(run.started_at.millis())
            .bind(run.finished_at.millis())
            .execute(self.store.pool())
            .await?;
        Ok(())
    }

    /// Every recorded run, by job then start.
    pub async fn all(&self) -> Result<Vec<Run>, StoreError> {
        let rows = sqlx::query(
            "SELECT job_id, worker, started_at, finished_at FROM test_job_runs ORDER BY job_id, started_at",
        )
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Run {
                    job: JobId(row.try_get("job_id")?),
                    worker: row.try_get("worker")?,
                    started_at: Timestamp(row.try_get("started_at")?),
                    finished_at: Timestamp(row.try_get("finished_at")?),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        assert_eq!(database_url(input, "fresh"), expected, "{input}");
    }

    #[test]
    fn database_is_replaced_in_server_urls() {
        check(
            "postgres://postgres@127.0.0.1:54329/postgres",
            "postgres://postgres@127.0.0.1:54329/fresh",
        );
        check(
            "postgres://u:p@h/db?sslmode=disable",
            "postgres://u:p@h/fresh?sslmode=disable",
        );
        check("postgres://u@h:5432", "postgres://u@h:5432/fresh");
    }
}
