//! Backfills: re-matching a topic's stored mentions after the topic was created,
//! its query changed or it was switched back on, so that its counts cover the
//! past and not only what arrives later.
//!
//! ```text
//!  Topics::create_backfilled / update_backfilled (one transaction):
//!      topic row ─▶ older unfinished backfills of the topic → superseded
//!                ─▶ topic_backfills row (queued, cursor at the window's start)
//!                ─▶ listening.backfill job row
//!  the job, batch after batch (each its own transaction):
//!      mentions_after(cursor) ─▶ (workers match them) ─▶ apply_batch:
//!          cursor moves only if still running and unmoved (compare and swap)
//!          ─▶ links of scanned mentions that no longer match: deleted
//!          ─▶ links of those that match: inserted or their spans replaced
//!      no mention left ─▶ finish (done)
//! ```
//!
//! A batch's links and its cursor commit together, so a job that crashes
//! resumes at the first mention it had not stored, and a batch that runs twice
//! writes the same links. Superseding a backfill updates its row, which a
//! running batch also updates first: on PostgreSQL the two wait for each other
//! on that row lock, on SQLite writes are serial anyway, so an older query's
//! batch never lands after the newer backfill began. The per-day counts
//! (`Mentions::daily_counts`) are read from the links themselves, so they
//! follow every batch with nothing to recompute. Links of mentions published
//! before the window are never touched.

use atalaya_domain::{
    BackfillId, BackfillState, MatchSpan, MentionId, Timestamp, Topic, TopicBackfill, TopicId,
    WorkspaceId,
};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, Arguments, Row, Transaction};

use crate::jobs::enqueue_on;
use crate::mentions::spans_json;
use crate::{NewJob, Store, StoreError, dialect};

/// The job kind that runs backfills, queued by the store itself (the web and
/// the workers both read it from here).
pub const BACKFILL_JOB_KIND: &str = "listening.backfill";
/// Attempts of a backfill job before it is dead and its backfill `failed`.
pub const BACKFILL_MAX_ATTEMPTS: i32 = 5;
/// Links written per statement.
const LINK_CHUNK: usize = 2_000;

const BACKFILL_COLUMNS: &str = "id, workspace_id, topic_id, query, state, window_from, total, scanned, matched, \
     removed, cursor_published_at, cursor_id, error, created_at, started_at, finished_at";

/// What a topic change asks of the stored mentions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackfillRequest {
    /// Mentions published at or after this time are re-matched.
    pub window_from: Timestamp,
    /// The job is not claimed before this time.
    pub run_after: Timestamp,
}

/// The last mention a backfill re-matched, in `(published_at, id)` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackfillCursor {
    pub published_at: Timestamp,
    /// 0 before the first mention.
    pub mention_id: MentionId,
}

/// A backfill with where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackfillRun {
    pub backfill: TopicBackfill,
    pub cursor: BackfillCursor,
}

/// A stored mention as the topic matcher reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MentionToMatch {
    pub id: MentionId,
    pub published_at: Timestamp,
    pub text: String,
    pub url: Option<String>,
    pub lang: String,
    pub author_handle: Option<String>,
    /// The kind of the source it came through (`rss`, `mastodon_hashtag`, ...).
    pub source_kind: String,
}

/// The `topic_backfills` table.
pub struct Backfills<'s> {
    pub(crate) store: &'s Store,
}

fn backfill_from_row(row: &AnyRow) -> Result<BackfillRun, StoreError> {
    let state: String = row.try_get("state")?;
    let optional_time = |column: &str| -> Result<Option<Timestamp>, sqlx::Error> {
        Ok(row.try_get::<Option<i64>, _>(column)?.map(Timestamp))
    };
    Ok(BackfillRun {
        backfill: TopicBackfill {
            id: BackfillId(row.try_get("id")?),
            workspace_id: WorkspaceId(row.try_get("workspace_id")?),
            topic_id: TopicId(row.try_get("topic_id")?),
            state: BackfillState::from_code(&state).ok_or_else(|| StoreError::CorruptValue {
                column: "topic_backfills.state",
                message: format!("unknown backfill state {state:?}"),
            })?,
            query: row.try_get("query")?,
            window_from: Timestamp(row.try_get("window_from")?),
            total: row.try_get("total")?,
            scanned: row.try_get("scanned")?,
            matched: row.try_get("matched")?,
            removed: row.try_get("removed")?,
            error: row.try_get("error")?,
            created_at: Timestamp(row.try_get("created_at")?),
            started_at: optional_time("started_at")?,
            finished_at: optional_time("finished_at")?,
        },
        cursor: BackfillCursor {
            published_at: Timestamp(row.try_get("cursor_published_at")?),
            mention_id: MentionId(row.try_get("cursor_id")?),
        },
    })
}

/// Marks the topic's queued and running backfills superseded; returns how many.
pub(crate) async fn supersede_unfinished_in(
    transaction: &mut Transaction<'_, Any>,
    topic: TopicId,
    now: Timestamp,
) -> Result<u64, StoreError> {
    let result = sqlx::query(
        "UPDATE topic_backfills SET state = 'superseded', finished_at = $1 \
         WHERE topic_id = $2 AND state IN ('queued', 'running')",
    )
    .bind(now.millis())
    .bind(topic.get())
    .execute(&mut **transaction)
    .await?;
    Ok(result.rows_affected())
}

/// Supersedes the topic's unfinished backfills, then queues a new one for its
/// current query with its job.
pub(crate) async fn request_in(
    transaction: &mut Transaction<'_, Any>,
    topic: &Topic,
    request: BackfillRequest,
    now: Timestamp,
) -> Result<TopicBackfill, StoreError> {
    supersede_unfinished_in(transaction, topic.id, now).await?;
    let sql = format!(
        "INSERT INTO topic_backfills (workspace_id, topic_id, query, state, window_from, cursor_published_at, \
         cursor_id, created_at) VALUES ($1, $2, $3, 'queued', $4, $4, 0, $5) RETURNING {BACKFILL_COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(topic.workspace_id.get())
        .bind(topic.id.get())
        .bind(topic.query.as_str())
        .bind(request.window_from.millis())
        .bind(now.millis())
        .fetch_one(&mut **transaction)
        .await?;
    let backfill = backfill_from_row(&row)?.backfill;
    let key = format!("{BACKFILL_JOB_KIND}:{}", backfill.id);
    let job = NewJob {
        kind: BACKFILL_JOB_KIND,
        payload: serde_json::json!({ "backfill_id": backfill.id }),
        run_after: request.run_after,
        unique_key: Some(&key),
        max_attempts: BACKFILL_MAX_ATTEMPTS,
    };
    enqueue_on(&mut **transaction, job, now).await?;
    Ok(backfill)
}

/// Adds a bind value, mapping the (practically impossible) encode failure to a database error.
fn push<'q, T>(arguments: &mut AnyArguments, value: T) -> Result<(), StoreError>
where
    T: sqlx::Encode<'q, Any> + sqlx::Type<Any>,
{
    arguments
        .add(value)
        .map_err(|error| StoreError::Database(sqlx::Error::Encode(error)))
}

impl Backfills<'_> {
    pub async fn get(&self, id: BackfillId) -> Result<Option<BackfillRun>, StoreError> {
        let sql = format!("SELECT {BACKFILL_COLUMNS} FROM topic_backfills WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.get())
            .fetch_optional(self.store.pool())
            .await?;
        row.as_ref().map(backfill_from_row).transpose()
    }

    /// The topic's most recent backfill, whatever its state.
    pub async fn latest(
        &self,
        workspace: WorkspaceId,
        topic: TopicId,
    ) -> Result<Option<TopicBackfill>, StoreError> {
        let sql = format!(
            "SELECT {BACKFILL_COLUMNS} FROM topic_backfills WHERE workspace_id = $1 AND topic_id = $2 \
             ORDER BY id DESC LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace.get())
            .bind(topic.get())
            .fetch_optional(self.store.pool())
            .await?;
        Ok(row
            .as_ref()
            .map(backfill_from_row)
            .transpose()?
            .map(|run| run.backfill))
    }

    /// The most recent backfill of each of the workspace's topics that has one, by topic.
    pub async fn latest_per_topic(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Vec<TopicBackfill>, StoreError> {
        let sql = format!(
            "SELECT {BACKFILL_COLUMNS} FROM topic_backfills WHERE workspace_id = $1 AND id IN \
             (SELECT MAX(id) FROM topic_backfills WHERE workspace_id = $1 GROUP BY topic_id) ORDER BY topic_id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace.get())
            .fetch_all(self.store.pool())
            .await?;
        rows.iter()
            .map(|row| backfill_from_row(row).map(|run| run.backfill))
            .collect()
    }

    /// Moves a queued backfill to running, counting the stored mentions in its
    /// window as its total. Returns the backfill as it now stands (a running
    /// one is returned unchanged: the job resumed after a crash).
    pub async fn start(
        &self,
        id: BackfillId,
        now: Timestamp,
    ) -> Result<Option<BackfillRun>, StoreError> {
        sqlx::query(
            "UPDATE topic_backfills SET state = 'running', started_at = $1, total = \
             (SELECT COUNT(*) FROM mentions m WHERE m.workspace_id = topic_backfills.workspace_id \
              AND m.published_at >= topic_backfills.window_from) \
             WHERE id = $2 AND state = 'queued'",
        )
        .bind(now.millis())
        .bind(id.get())
        .execute(self.store.pool())
        .await?;
        self.get(id).await
    }

    /// The next `limit` mentions of the backfill's workspace after its cursor,
    /// in `(published_at, id)` order, all within its window.
    pub async fn mentions_after(
        &self,
        run: &BackfillRun,
        limit: i64,
    ) -> Result<Vec<MentionToMatch>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.id, m.published_at, m.text, m.url, m.lang, s.kind AS source_kind, a.handle AS author_handle \
             FROM mentions m JOIN sources s ON s.id = m.source_id LEFT JOIN authors a ON a.id = m.author_id \
             WHERE m.workspace_id = $1 AND m.published_at >= $2 \
             AND (m.published_at > $3 OR (m.published_at = $3 AND m.id > $4)) \
             ORDER BY m.published_at, m.id LIMIT $5",
        )
        .bind(run.backfill.workspace_id.get())
        .bind(run.backfill.window_from.millis())
        .bind(run.cursor.published_at.millis())
        .bind(run.cursor.mention_id.get())
        .bind(limit.clamp(1, 10_000))
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(MentionToMatch {
                    id: MentionId(row.try_get("id")?),
                    published_at: Timestamp(row.try_get("published_at")?),
                    text: row.try_get("text")?,
                    url: row.try_get("url")?,
                    lang: row.try_get("lang")?,
                    author_handle: row.try_get("author_handle")?,
                    source_kind: row.try_get("source_kind")?,
                })
            })
            .collect()
    }

    /// Stores one batch in one transaction: the topic's links of `scanned`
    /// become exactly `hits` (each a mention of `scanned` and its spans), and
    /// the cursor moves to `next`. Applied only if the backfill is still
    /// running with its cursor where `run` saw it; `false` (nothing written)
    /// otherwise: it was superseded, or another attempt already moved it.
    pub async fn apply_batch(
        &self,
        run: &BackfillRun,
        scanned: &[MentionId],
        hits: &[(MentionId, Vec<MatchSpan>)],
        next: BackfillCursor,
    ) -> Result<bool, StoreError> {
        let backend = self.store.backend();
        let topic = run.backfill.topic_id.get();
        let mut transaction = self.store.pool().begin().await?;
        // First statement, and a write: it takes the row's lock (PostgreSQL)
        // or the database's write lock (SQLite) before anything is read.
        let moved = sqlx::query(
            "UPDATE topic_backfills SET scanned = scanned + $1, matched = matched + $2, \
             cursor_published_at = $3, cursor_id = $4 \
             WHERE id = $5 AND state = 'running' AND cursor_published_at = $6 AND cursor_id = $7",
        )
        .bind(i64::try_from(scanned.len()).unwrap_or(i64::MAX))
        .bind(i64::try_from(hits.len()).unwrap_or(i64::MAX))
        .bind(next.published_at.millis())
        .bind(next.mention_id.get())
        .bind(run.backfill.id.get())
        .bind(run.cursor.published_at.millis())
        .bind(run.cursor.mention_id.get())
        .execute(&mut *transaction)
        .await?;
        if moved.rows_affected() == 0 {
            transaction.rollback().await?;
            return Ok(false);
        }

        let matched: std::collections::HashSet<MentionId> =
            hits.iter().map(|(mention, _)| *mention).collect();
        let stale: Vec<MentionId> = scanned
            .iter()
            .copied()
            .filter(|mention| !matched.contains(mention))
            .collect();
        let mut removed = 0;
        for chunk in stale.chunks(LINK_CHUNK) {
            let mut arguments = AnyArguments::default();
            push(&mut arguments, topic)?;
            for mention in chunk {
                push(&mut arguments, mention.get())?;
            }
            let placeholders = dialect::numbered(backend, 0, chunk.len() + 1);
            let (topic_placeholder, mention_placeholders) =
                placeholders.split_once(", ").unwrap_or((&placeholders, ""));
            let sql = format!(
                "DELETE FROM mention_topics WHERE topic_id = {topic_placeholder} \
                 AND mention_id IN ({mention_placeholders})"
            );
            removed += sqlx::query_with(sqlx::AssertSqlSafe(sql), arguments)
                .execute(&mut *transaction)
                .await?
                .rows_affected();
        }
        for chunk in hits.chunks(LINK_CHUNK) {
            let mut arguments = AnyArguments::default();
            for (mention, spans) in chunk {
                push(&mut arguments, mention.get())?;
                push(&mut arguments, topic)?;
                push(&mut arguments, spans_json(spans))?;
            }
            let sql = format!(
                "INSERT INTO mention_topics (mention_id, topic_id, spans) VALUES {} \
                 ON CONFLICT (mention_id, topic_id) DO UPDATE SET spans = excluded.spans",
                dialect::value_rows(backend, chunk.len(), 3)
            );
            sqlx::query_with(sqlx::AssertSqlSafe(sql), arguments)
                .execute(&mut *transaction)
                .await?;
        }
        if removed > 0 {
            sqlx::query("UPDATE topic_backfills SET removed = removed + $1 WHERE id = $2")
                .bind(i64::try_from(removed).unwrap_or(i64::MAX))
                .bind(run.backfill.id.get())
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(true)
    }

    /// Marks a running backfill done; its total becomes what it scanned.
    /// `false` if it was not running (superseded meanwhile).
    pub async fn finish(&self, id: BackfillId, now: Timestamp) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE topic_backfills SET state = 'done', finished_at = $1, total = scanned \
             WHERE id = $2 AND state = 'running'",
        )
        .bind(now.millis())
        .bind(id.get())
        .execute(self.store.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Marks an unfinished backfill failed with `error`. `false` if it had finished.
    pub async fn fail(
        &self,
        id: BackfillId,
        error: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE topic_backfills SET state = 'failed', error = $1, finished_at = $2 \
             WHERE id = $3 AND state IN ('queued', 'running')",
        )
        .bind(error)
        .bind(now.millis())
        .bind(id.get())
        .execute(self.store.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }
}
