//! The only place where SQLite and PostgreSQL are told apart.
//!
//! Everything else in the store is written once. What differs lives here: how a
//! pool is opened (SQLite's pragmas, the single connection of an in-memory
//! database), which migrations apply, how a boolean column reads back through
//! `sqlx::Any` (SQLite stores 0/1 integers, PostgreSQL real booleans), the
//! job-claim statement, where PostgreSQL needs `FOR UPDATE SKIP LOCKED` so that
//! several processes never claim the same row, and full-text search (SQLite's
//! FTS5 index, fed once per stored batch; PostgreSQL's folded `search_text`).

use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor, Row};

use crate::sqlite_writer::WriterTarget;
use crate::{Backend, StoreError};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Pragmas run on every new SQLite connection. `busy_timeout` comes first so the
/// others wait rather than fail while another connection holds the write lock.
/// A 32 MB page cache (the default is 2 MB) keeps the mentions' indexes and the
/// full-text index's hot pages in memory during big imports.
///
/// The WAL is checkpointed after 10,000 pages (40 MB) instead of 1,000: one bulk
/// transaction of 10,000 mentions writes several thousand pages, so the default
/// made every commit copy its pages into the database file at once (and fsync
/// it), and index pages that the next batch rewrites anyway were copied again and
/// again. Durability is unchanged: a commit is in the WAL either way.
pub(crate) const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -32768; \
     PRAGMA wal_autocheckpoint = 10000;";

pub(crate) fn backend_of(url: &str) -> Option<Backend> {
    if url.starts_with("sqlite:") {
        Some(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Some(Backend::Postgres)
    } else {
        None
    }
}

/// Hides a password in `scheme://user:password@host/...` so the URL can be shown.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// An open database: the pool, and for an in-memory SQLite database a
/// connection held outside the pool.
///
/// sqlx names each `sqlite::memory:` database uniquely and shares it between
/// the pool's connections, but the database lives only while one of them is
/// open. sqlx closes a pooled connection whose query future was dropped midway
/// (a job aborted at shutdown, say), and with the pool's single connection that
/// silently erased every table. The keeper, detached from the pool and never
/// used, keeps the database alive for as long as the `Store` lives.
pub(crate) struct Connected {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
    pub(crate) in_memory_keeper: Option<sqlx::AnyConnection>,
    /// For SQLite, where the native batch writer connects (`sqlite_writer`).
    pub(crate) writer_target: Option<WriterTarget>,
}

static IN_MEMORY_SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub(crate) async fn connect(url: &str) -> Result<Connected, StoreError> {
    sqlx::any::install_default_drivers();
    let backend = backend_of(url).ok_or_else(|| StoreError::UnsupportedUrl {
        url_redacted: redact_url(url),
    })?;
    let mut writer_target = None;
    let pool = match backend {
        Backend::Sqlite => {
            let in_memory = is_in_memory(url);
            let url = if url.contains(":memory:") {
                // Name the database ourselves: the `Any` driver re-parses the URL
                // for every new connection, and each parse of `:memory:` would
                // otherwise open a different, empty database.
                let sequence =
                    IN_MEMORY_SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                format!(
                    "sqlite:file:atalaya-memory-{}-{sequence}?mode=memory&cache=shared",
                    std::process::id()
                )
            } else if in_memory || url.contains("mode=") {
                url.to_owned()
            } else {
                // Create the file on first run, as `SqliteConnectOptions::create_if_missing` would.
                let separator = if url.contains('?') { '&' } else { '?' };
                format!("{url}{separator}mode=rwc")
            };
            // An in-memory database exists per connection: one connection keeps it one database.
            // A file database has one writer anyway; a few connections let readers proceed.
            let max_connections = if in_memory { 1 } else { 4 };
            if in_memory {
                let uri = url.trim_start_matches("sqlite:").trim_start_matches("//");
                writer_target = Some(WriterTarget::Memory(uri.to_owned()));
            }
            AnyPoolOptions::new()
                .max_connections(max_connections)
                .min_connections(if in_memory { 1 } else { 0 })
                .idle_timeout(if in_memory {
                    None
                } else {
                    Some(Duration::from_secs(600))
                })
                .max_lifetime(if in_memory {
                    None
                } else {
                    Some(Duration::from_secs(1800))
                })
                .after_connect(|connection, _meta| {
                    Box::pin(async move {
                        connection.execute(SQLITE_PRAGMAS).await?;
                        Ok(())
                    })
                })
                .connect(&url)
                .await?
        }
        Backend::Postgres => {
            AnyPoolOptions::new()
                .max_connections(10)
                .connect(url)
                .await?
        }
    };
    let in_memory_keeper = if backend == Backend::Sqlite && is_in_memory(url) {
        Some(pool.acquire().await?.detach())
    } else {
        None
    };
    if backend == Backend::Sqlite && writer_target.is_none() {
        // The file as SQLite resolved it, whatever form the URL took.
        let file: String =
            sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
                .fetch_one(&pool)
                .await?;
        writer_target = Some(WriterTarget::File(file.into()));
    }
    Ok(Connected {
        pool,
        backend,
        in_memory_keeper,
        writer_target,
    })
}

fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

pub(crate) fn migrator(backend: Backend) -> &'static Migrator {
    match backend {
        Backend::Sqlite => &SQLITE_MIGRATIONS,
        Backend::Postgres => &POSTGRES_MIGRATIONS,
    }
}

/// Reads a boolean column: PostgreSQL returns a `BOOLEAN`, SQLite an integer 0/1.
pub(crate) fn get_bool(row: &AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    match row.try_get::<bool, _>(column) {
        Ok(value) => Ok(value),
        Err(sqlx::Error::ColumnDecode { .. }) => Ok(row.try_get::<i64, _>(column)? != 0),
        Err(other) => Err(other),
    }
}

/// The claim statement, with `kinds` placeholders starting at `$4`.
///
/// The inner `SELECT` picks the oldest due job (queued and due, or running with an
/// expired lease). On PostgreSQL `FOR UPDATE SKIP LOCKED` makes concurrent claimers
/// skip a row another transaction is taking instead of both taking it. SQLite has
/// one writer at a time, so the single `UPDATE ... RETURNING` is already atomic.
pub(crate) fn claim_sql(backend: Backend, columns: &str, kind_count: usize) -> String {
    let kinds = (0..kind_count)
        .map(|index| format!("${}", index + 4))
        .collect::<Vec<_>>()
        .join(", ");
    let locking = match backend {
        Backend::Sqlite => "",
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
    };
    format!(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = $1, lease_expires_at = $2 \
         WHERE id = (SELECT id FROM jobs WHERE kind IN ({kinds}) \
           AND ((status = 'queued' AND run_after <= $3) OR (status = 'running' AND lease_expires_at <= $3)) \
           ORDER BY run_after, id LIMIT 1{locking}) \
         RETURNING {columns}"
    )
}

/// `rows` groups of `columns` placeholders for a multi-row `VALUES`, numbered in
/// order. PostgreSQL needs `$n`. SQLite gets anonymous `?`: it treats `$n` as a
/// *named* parameter, and looking a name up scans the statement's whole list of
/// names, which makes binding a 10,000-value insert quadratic (measured: ~5 µs per
/// value, 20× slower than the insert itself).
pub(crate) fn value_rows(backend: Backend, rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 7);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        sql.push_str(&numbered(backend, row * columns, columns));
        sql.push(')');
    }
    sql
}

/// `count` placeholders separated by commas, for `IN (...)`; as [`value_rows`].
pub(crate) fn value_list(backend: Backend, count: usize) -> String {
    numbered(backend, 0, count)
}

/// `count` placeholders numbered from `first + 1`, as [`value_rows`]: for a
/// statement that binds other values before a list.
pub(crate) fn numbered(backend: Backend, first: usize, count: usize) -> String {
    (first + 1..=first + count)
        .map(|number| match backend {
            Backend::Sqlite => "?".to_owned(),
            Backend::Postgres => format!("${number}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The value bound for a full-text search of `search`, or `None` when it has no
/// words. SQLite gets an FTS5 query of quoted words (so user input is never FTS5
/// syntax); PostgreSQL gets the folded words for `plainto_tsquery`.
pub(crate) fn search_argument(backend: Backend, search: &str) -> Option<String> {
    let words: Vec<&str> = search
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect();
    if words.is_empty() {
        return None;
    }
    Some(match backend {
        Backend::Sqlite => words
            .iter()
            .map(|word| format!("\"{word}\""))
            .collect::<Vec<_>>()
            .join(" "),
        Backend::Postgres => fold(&words.join(" ")),
    })
}

/// The condition on mention `m` for the search argument bound at `placeholder`.
/// SQLite asks the FTS5 index (its tokenizer removes diacritics); PostgreSQL
/// matches the application-folded `search_text`, which needs no extension.
pub(crate) fn search_condition(backend: Backend, placeholder: &str) -> String {
    match backend {
        Backend::Sqlite => format!(
            "m.id IN (SELECT rowid FROM mentions_fts WHERE mentions_fts MATCH {placeholder})"
        ),
        Backend::Postgres => {
            format!(
                "to_tsvector('simple', m.search_text) @@ plainto_tsquery('simple', {placeholder})"
            )
        }
    }
}

/// Lower case without accents (`"Café"` → `"cafe"`), as SQLite's
/// `remove_diacritics` tokenizer sees text: PostgreSQL's `search_text`.
pub(crate) fn fold(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    text.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Option<Backend>) {
        assert_eq!(backend_of(input), expected, "{input}");
    }

    /// Regression: a job aborted mid-query made sqlx close the in-memory
    /// database's only pooled connection, and every table vanished with it.
    #[tokio::test]
    #[allow(clippy::unwrap_used)]
    async fn an_in_memory_database_survives_its_pooled_connection_closing() {
        let store = crate::Store::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        store.pool().acquire().await.unwrap().close().await.unwrap();
        assert_eq!(store.users().count().await.unwrap(), 0);
    }

    #[test]
    fn url_schemes() {
        check("sqlite://data/atalaya.db", Some(Backend::Sqlite));
        check("sqlite::memory:", Some(Backend::Sqlite));
        check("postgres://u@h/db", Some(Backend::Postgres));
        check("postgresql://u@h/db", Some(Backend::Postgres));
        check("mysql://u@h/db", None);
        check("data/atalaya.db", None);
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("mysql://ana:secret@db:3306/x"),
            "mysql://ana:***@db:3306/x"
        );
        assert_eq!(redact_url("mysql://db/x"), "mysql://db/x");
    }

    #[test]
    fn only_postgres_claims_skip_locked_rows() {
        assert!(claim_sql(Backend::Postgres, "id", 2).contains("IN ($4, $5)"));
        assert!(claim_sql(Backend::Postgres, "id", 1).contains("SKIP LOCKED"));
        assert!(!claim_sql(Backend::Sqlite, "id", 1).contains("SKIP LOCKED"));
    }

    #[test]
    fn search_words_are_quoted_or_folded() {
        fn check(backend: Backend, input: &str, expected: Option<&str>) {
            assert_eq!(
                search_argument(backend, input).as_deref(),
                expected,
                "{input}"
            );
        }
        check(Backend::Sqlite, "Café  aurora", Some("\"Café\" \"aurora\""));
        check(Backend::Sqlite, "a\" OR b*", Some("\"a\" \"OR\" \"b\""));
        check(Backend::Sqlite, " -- ", None);
        check(Backend::Postgres, "Café AURORA", Some("cafe aurora"));
        check(Backend::Postgres, "Cafe\u{301}", Some("cafe"));
    }

    #[test]
    fn value_rows_number_in_order() {
        assert_eq!(
            value_rows(Backend::Postgres, 2, 3),
            "($1, $2, $3), ($4, $5, $6)"
        );
        assert_eq!(value_rows(Backend::Sqlite, 2, 2), "(?, ?), (?, ?)");
        assert_eq!(value_list(Backend::Postgres, 3), "$1, $2, $3");
    }
}
