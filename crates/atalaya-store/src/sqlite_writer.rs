//! SQLite's write path for mention batches: one native connection per store.
//!
//! Through `sqlx::Any` every bound text is copied three times on its way to
//! SQLite, and every row an `INSERT ... RETURNING` gives back crosses from sqlx's
//! connection thread to the caller as its own message: in `atalaya bench ingest`
//! that overhead cost about as much CPU as SQLite's own work. The batch write is
//! the one hot statement sequence of the store, so on SQLite it runs here, on a
//! `rusqlite` connection to the same database (the same libsqlite3 that sqlx
//! links), with statements prepared once and values bound by reference. Every
//! other query keeps using the pool.
//!
//! - **Which database.** A file database is opened by the path SQLite itself
//!   reports for the pool's connection (`PRAGMA database_list`), so every URL
//!   form sqlx accepts resolves to the same file. An in-memory database is a
//!   shared-cache URI (see `dialect::connect`), opened by that URI.
//! - **Concurrency.** The connection sits behind a mutex: one batch at a time
//!   per store, which is all SQLite allows anyway. A batch begins with
//!   `BEGIN IMMEDIATE`, so it takes the write lock before reading anything and
//!   waits (`busy_timeout`) rather than failing when another connection — the
//!   pool, another process — is writing. An in-memory database lives in a shared
//!   cache, whose table locks do not wait; there the caller holds the pool's only
//!   connection for the duration of the batch (see [`SqliteWriter::exclusive`]).
//! - **Blocking.** The work is synchronous. On a multi-threaded runtime it runs in
//!   [`tokio::task::block_in_place`], so the other tasks of this worker move on;
//!   on a current-thread runtime (tests) it simply runs.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use atalaya_domain::{Timestamp, WorkspaceId};
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};

use crate::StoreError;
use crate::mentions::{AuthorCache, CachedAuthor, NewMention, write_spans_json};

/// Where the writer's connection points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WriterTarget {
    /// A database file, by the absolute path SQLite reported.
    File(PathBuf),
    /// A shared-cache in-memory database, by its `file:` URI.
    Memory(String),
}

const UPSERT_AUTHOR: &str = "INSERT INTO authors (workspace_id, network, handle, name, followers, profile_url, created_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
     ON CONFLICT (workspace_id, network, handle) DO UPDATE SET \
     name = COALESCE(excluded.name, authors.name), followers = COALESCE(excluded.followers, authors.followers), \
     profile_url = COALESCE(excluded.profile_url, authors.profile_url) \
     RETURNING id, name, followers, profile_url";

const INSERT_MENTION: &str = "INSERT INTO mentions (workspace_id, source_id, external_id, url, canonical_url, title, text, \
     content_raw, author_id, lang, lang_confidence, sentiment, sentiment_model, sentiment_score, sentiment_confidence, \
     published_at, ingested_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13, ?14, ?15, ?16) \
     ON CONFLICT DO NOTHING";

/// FTS5 is fed once per batch rather than by an insert trigger (migration 0102):
/// FTS5 writes each statement's pending terms as a segment of its own, so
/// row-by-row writes would make a segment per row. The id range is
/// exactly the batch's new rows: mention ids are `AUTOINCREMENT`, so every id this
/// transaction gives out is larger than any id used before, and the transaction
/// holds the write lock from its first statement.
const INDEX_NEW_MENTIONS: &str = "INSERT INTO mentions_fts (rowid, text) SELECT id, text FROM mentions WHERE id BETWEEN ?1 AND ?2";

const LINK_TOPIC: &str = "INSERT INTO mention_topics (mention_id, topic_id, spans) VALUES (?1, ?2, ?3) \
     ON CONFLICT DO NOTHING";

const COUNT_SOURCE: &str = "UPDATE sources SET mentions_total = mentions_total + ?1 WHERE id = ?2";

/// What one batch wrote.
#[derive(Debug)]
pub(crate) struct WrittenBatch {
    pub(crate) inserted: u64,
    /// Authors upserted by the batch, for the caller's [`AuthorCache`] once committed.
    pub(crate) authors: Vec<(String, CachedAuthor)>,
}

/// The native connection of a SQLite [`Store`](crate::Store), opened on first use.
#[derive(Debug)]
pub(crate) struct SqliteWriter {
    target: WriterTarget,
    connection: Mutex<Option<Connection>>,
}

impl SqliteWriter {
    pub(crate) fn new(target: WriterTarget) -> SqliteWriter {
        SqliteWriter {
            target,
            connection: Mutex::new(None),
        }
    }

    /// Whether the caller must hold the pool's connection while a batch is
    /// written: true for a shared-cache in-memory database, whose table locks
    /// fail at once instead of waiting.
    pub(crate) fn exclusive(&self) -> bool {
        matches!(self.target, WriterTarget::Memory(_))
    }

    fn open(&self) -> Result<Connection, rusqlite::Error> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = match &self.target {
            WriterTarget::File(path) => Connection::open_with_flags(path, flags)?,
            WriterTarget::Memory(uri) => Connection::open_with_flags(uri, flags)?,
        };
        // The pool's pragmas: the same lock wait, foreign keys, cache and checkpoints.
        connection.execute_batch(crate::dialect::SQLITE_PRAGMAS)?;
        Ok(connection)
    }

    /// Closes the connection; the next batch opens a new one.
    pub(crate) fn close(&self) {
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }

    /// Writes `mentions` (already free of repeats) in one transaction: upserts
    /// their authors except those `cache` knows unchanged, inserts the mentions
    /// that are not stored yet, indexes them for full-text search, links them to
    /// their topics and counts them on their sources.
    pub(crate) fn write(
        &self,
        workspace: WorkspaceId,
        mentions: &[&NewMention<'_>],
        now: Timestamp,
        cache: &AuthorCache,
    ) -> Result<WrittenBatch, StoreError> {
        run_blocking(|| {
            let mut guard = self
                .connection
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let connection = match &mut *guard {
                Some(connection) => connection,
                empty => empty.insert(self.open()?),
            };
            let result = write_batch(connection, workspace, mentions, now, cache);
            if result.is_err() && !connection.is_autocommit() {
                // The transaction's drop could not roll back: the connection is in
                // an unknown state, so the next batch starts on a new one.
                guard.take();
            }
            result
        })
    }
}

fn write_batch(
    connection: &mut Connection,
    workspace: WorkspaceId,
    mentions: &[&NewMention<'_>],
    now: Timestamp,
    cache: &AuthorCache,
) -> Result<WrittenBatch, StoreError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;

    let mut author_ids: HashMap<(&str, &str), i64> = HashMap::new();
    let mut authors = Vec::new();
    {
        let mut upsert = transaction.prepare_cached(UPSERT_AUTHOR)?;
        let mut key = String::new();
        for author in mentions
            .iter()
            .filter_map(|mention| mention.author.as_ref())
        {
            if author_ids.contains_key(&(author.network, author.handle)) {
                continue;
            }
            if let Some(id) = cache.unchanged(workspace, author, &mut key) {
                author_ids.insert((author.network, author.handle), id);
                continue;
            }
            let row = upsert.query_row(
                params![
                    workspace.get(),
                    author.network,
                    author.handle,
                    author.name,
                    author.followers,
                    author.profile_url,
                    now.millis(),
                ],
                |row| {
                    Ok(CachedAuthor {
                        id: row.get(0)?,
                        name: row.get(1)?,
                        followers: row.get(2)?,
                        profile_url: row.get(3)?,
                    })
                },
            )?;
            author_ids.insert((author.network, author.handle), row.id);
            authors.push((AuthorCache::key(workspace, author), row));
        }
    }

    // (index in `mentions`, new id), in insertion order: ids increase.
    let mut inserted: Vec<(usize, i64)> = Vec::with_capacity(mentions.len());
    {
        let mut insert = transaction.prepare_cached(INSERT_MENTION)?;
        for (index, mention) in mentions.iter().enumerate() {
            let author_id = mention
                .author
                .and_then(|author| author_ids.get(&(author.network, author.handle)).copied());
            let changed = insert.execute(params![
                workspace.get(),
                mention.source_id.get(),
                mention.external_id,
                mention.url,
                mention.canonical_url,
                mention.title,
                mention.text,
                mention.content_raw,
                author_id,
                mention.lang,
                f64::from(mention.lang_confidence),
                mention.sentiment.as_str(),
                f64::from(mention.sentiment_score),
                f64::from(mention.sentiment_confidence),
                mention.published_at.millis(),
                now.millis(),
            ])?;
            if changed == 1 {
                inserted.push((index, transaction.last_insert_rowid()));
            }
        }
    }

    if let (Some(&(_, first)), Some(&(_, last))) = (inserted.first(), inserted.last()) {
        transaction
            .prepare_cached(INDEX_NEW_MENTIONS)?
            .execute(params![first, last])?;
    }

    let mut per_source: HashMap<i64, i64> = HashMap::new();
    {
        let mut link = transaction.prepare_cached(LINK_TOPIC)?;
        let mut spans = String::new();
        for &(index, mention_id) in &inserted {
            let mention = mentions[index];
            *per_source.entry(mention.source_id.get()).or_default() += 1;
            for hit in mention.topics {
                spans.clear();
                write_spans_json(&mut spans, &hit.spans);
                link.execute(params![mention_id, hit.topic_id.get(), spans.as_str()])?;
            }
        }
    }
    {
        let mut count = transaction.prepare_cached(COUNT_SOURCE)?;
        for (source_id, added) in &per_source {
            count.execute(params![added, source_id])?;
        }
    }
    transaction.commit()?;
    Ok(WrittenBatch {
        inserted: inserted.len() as u64,
        authors,
    })
}

/// Runs synchronous database work from async code without stalling the
/// runtime's other tasks where that is possible (see the module docs).
fn run_blocking<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}
