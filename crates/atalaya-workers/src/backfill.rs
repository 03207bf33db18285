//! The topic backfill: after a topic is created, given a new query or switched
//! back on, its workspace's stored mentions within the look-back window are
//! matched against its query again, so the topic's counts cover the past.
//!
//! ```text
//!  listening.backfill job {backfill_id}
//!    └─ start (queued → running, total = stored mentions in the window)
//!       loop: mentions_after(cursor, 1,000) ─▶ match (blocking thread: the
//!             pipeline's mention_document + topic_hits) ─▶ apply_batch (links +
//!             cursor, one transaction) ─▶ … ─▶ no mention left ─▶ done
//! ```
//!
//! Each batch is its own short transaction, so ingest is never held up for
//! long. The store refuses a batch once the backfill was superseded (the query
//! changed again, or the topic was switched off), and the job then ends
//! quietly: the newer backfill has its own job. A crash loses at most the
//! batch in flight; the retried job resumes from the saved cursor, and since a
//! batch replaces the topic's links of the mentions it scanned, running it
//! twice leaves the same links. When the job runs out of attempts the
//! backfill is marked `failed` with the error.

use std::sync::Arc;

use atalaya_domain::{
    BackfillId, BackfillState, MatchSpan, MentionId, Timestamp, TopicBackfill, TopicId,
};
use atalaya_store::{BACKFILL_JOB_KIND, BackfillCursor, Job, MentionToMatch, Store, StoreError};
use atalaya_text::query::{MatchScratch, QuerySet, parse};
use serde::{Deserialize, Serialize};

use crate::ingest::{mention_document, topic_hits};
use crate::{BoxFuture, JobError, JobHandler};

/// The job kind, as the store queues it.
pub const BACKFILL_KIND: &str = BACKFILL_JOB_KIND;
/// Mentions re-matched per transaction.
pub const DEFAULT_BATCH_SIZE: usize = 1_000;

/// The payload of a `listening.backfill` job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillPayload {
    pub backfill_id: BackfillId,
}

/// Why a backfill step failed.
#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("malformed backfill payload: {0}")]
    BadPayload(String),
    /// The matching thread stopped unexpectedly (a panic in the matcher).
    #[error("the matcher stopped: {0}")]
    Matcher(String),
}

/// Where a backfill stands after one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A batch was stored; there may be more.
    Continue(TopicBackfill),
    /// Finished: done, failed, superseded. The backfill as it ended.
    Finished(TopicBackfill),
    /// No such backfill any more (its topic was deleted).
    Gone,
}

/// Runs backfills. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Backfiller {
    store: Store,
    batch_size: usize,
}

impl Backfiller {
    pub fn new(store: Store) -> Backfiller {
        Backfiller::with_batch_size(store, DEFAULT_BATCH_SIZE)
    }

    pub fn with_batch_size(store: Store, batch_size: usize) -> Backfiller {
        Backfiller {
            store,
            batch_size: batch_size.max(1),
        }
    }

    /// Runs the backfill to its end (or until it is superseded).
    pub async fn run(&self, id: BackfillId) -> Result<Option<TopicBackfill>, BackfillError> {
        loop {
            match self.step(id).await? {
                Step::Continue(_) => {}
                Step::Finished(backfill) => return Ok(Some(backfill)),
                Step::Gone => return Ok(None),
            }
        }
    }

    /// Re-matches the next batch of the backfill (starting it first if it is
    /// queued), or finishes it when no mention is left.
    pub async fn step(&self, id: BackfillId) -> Result<Step, BackfillError> {
        let backfills = self.store.backfills();
        let mut run = backfills.get(id).await?;
        if let Some(queued) = &run
            && queued.backfill.state == BackfillState::Queued
        {
            run = backfills.start(id, Timestamp::now()).await?;
        }
        let Some(run) = run else {
            return Ok(Step::Gone);
        };
        if !run.backfill.state.is_unfinished() {
            return Ok(Step::Finished(run.backfill));
        }
        let query = match parse(&run.backfill.query) {
            Ok(query) => query,
            Err(error) => {
                // Queries are checked when saved; one that no longer parses (a
                // stricter parser after an upgrade) cannot be re-matched.
                let message = format!("the topic's query does not parse: {error}");
                backfills.fail(id, &message, Timestamp::now()).await?;
                return self.current(id).await;
            }
        };
        let limit = i64::try_from(self.batch_size).unwrap_or(i64::MAX);
        let page = backfills.mentions_after(&run, limit).await?;
        let Some(last) = page.last() else {
            backfills.finish(id, Timestamp::now()).await?;
            return self.current(id).await;
        };
        let next = BackfillCursor {
            published_at: last.published_at,
            mention_id: last.id,
        };
        let topic = run.backfill.topic_id;
        let topics = Arc::new(QuerySet::compile([(topic, query)]));
        let (scanned, hits) =
            tokio::task::spawn_blocking(move || match_page(&topics, topic, &page))
                .await
                .map_err(|error| BackfillError::Matcher(error.to_string()))?;
        // Not applied: superseded meanwhile, or another attempt moved the
        // cursor first; either way the stored row says what happens next.
        backfills.apply_batch(&run, &scanned, &hits, next).await?;
        self.current(id).await
    }

    /// The backfill as stored: `Continue` while it is unfinished.
    async fn current(&self, id: BackfillId) -> Result<Step, BackfillError> {
        Ok(match self.store.backfills().get(id).await? {
            Some(run) if run.backfill.state.is_unfinished() => Step::Continue(run.backfill),
            Some(run) => Step::Finished(run.backfill),
            None => Step::Gone,
        })
    }

    /// Runs one `listening.backfill` job's payload to the end.
    pub async fn run_payload(
        &self,
        payload: &serde_json::Value,
    ) -> Result<Option<TopicBackfill>, BackfillError> {
        let payload = BackfillPayload::deserialize(payload)
            .map_err(|error| BackfillError::BadPayload(error.to_string()))?;
        self.run(payload.backfill_id).await
    }
}

/// The scanned mentions and those that match, with their spans.
type Matched = (Vec<MentionId>, Vec<(MentionId, Vec<MatchSpan>)>);

///
/// A mention on which the topic's query ran out of work budget is left out of
/// the scanned ones, so its links stay as they were (it is neither known to
/// match nor known not to), and logged.
fn match_page(topics: &QuerySet<TopicId>, topic: TopicId, page: &[MentionToMatch]) -> Matched {
    let mut scratch = MatchScratch::new();
    let mut hits = Vec::new();
    let mut scanned = Vec::with_capacity(page.len());
    for mention in page {
        let document = mention_document(
            &mention.text,
            mention.author_handle.as_deref(),
            mention.url.as_deref(),
            &mention.lang,
            &mention.source_kind,
        );
        let found = topic_hits(topics, &document, &mut scratch);
        if found.too_expensive.contains(&topic) {
            tracing::warn!(
                topic = %topic,
                mention = %mention.id,
                analysed_bytes = found.analysed_bytes,
                "topic query too expensive for this mention: its links are kept as they were"
            );
            continue;
        }
        scanned.push(mention.id);
        if let Some(hit) = found.hits.into_iter().find(|hit| hit.topic_id == topic) {
            hits.push((mention.id, hit.spans));
        }
    }
    (scanned, hits)
}

/// The `listening.backfill` job handler.
#[derive(Debug, Clone)]
pub struct BackfillHandler {
    backfiller: Backfiller,
}

impl BackfillHandler {
    pub fn new(backfiller: Backfiller) -> BackfillHandler {
        BackfillHandler { backfiller }
    }
}

impl JobHandler for BackfillHandler {
    fn kind(&self) -> &'static str {
        BACKFILL_KIND
    }

    fn run(&self, job: Job) -> BoxFuture<Result<(), JobError>> {
        let backfiller = self.backfiller.clone();
        Box::pin(async move {
            match backfiller.run_payload(&job.payload).await {
                Ok(Some(backfill)) => {
                    tracing::info!(
                        job = %job.id, backfill = %backfill.id, topic = %backfill.topic_id,
                        state = backfill.state.as_str(), scanned = backfill.scanned,
                        matched = backfill.matched, removed = backfill.removed, "backfill ended"
                    );
                    Ok(())
                }
                Ok(None) => Ok(()),
                Err(error) => {
                    let permanent = matches!(error, BackfillError::BadPayload(_));
                    if permanent || job.attempts >= job.max_attempts {
                        record_failure(&backfiller.store, &job, &error).await;
                    }
                    Err(if permanent {
                        JobError::permanent(error)
                    } else {
                        JobError::retry(error)
                    })
                }
            }
        })
    }
}

/// Marks the job's backfill failed, so the topic shows why it stopped. The
/// job's own failure is recorded by the runner whatever happens here.
async fn record_failure(store: &Store, job: &Job, error: &BackfillError) {
    let Ok(payload) = BackfillPayload::deserialize(&job.payload) else {
        return;
    };
    if let Err(store_error) = store
        .backfills()
        .fail(payload.backfill_id, &error.to_string(), Timestamp::now())
        .await
    {
        tracing::error!(job = %job.id, %store_error, "recording a backfill's failure failed");
    }
}
