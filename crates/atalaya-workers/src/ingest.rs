//! The listening pipeline: from normalized items to stored, analysed, matched mentions.
//!
//! ```text
//!  IncomingMention (connectors: HTML → safe text, entities, NFC, validated)
//!        │ analyse (CPU, pure): canonical URL → language → sentiment
//!        │                      (workspace corrections applied) → every topic matched, with spans
//!        ▼
//!  AnalysedMention ──store──▶ Mentions::insert_batch: one transaction per batch —
//!                             author upsert, dedupe on (source, external id) and
//!                             (workspace, canonical URL), topic links, counters
//! ```
//!
//! Two ways in. Pushed items (webhooks) arrive as `listening.ingest` jobs whose
//! payload carries the items: any process may run them, a crash mid-batch rolls
//! the transaction back and the retried job writes each mention once, and a
//! repeat changes nothing. Bulk imports (`atalaya import`, `atalaya bench ingest`)
//! call [`ingest_stream`] in-process: a reader thread, an analysis thread and the
//! database writer connected by bounded channels, so parsing and analysis (CPU)
//! overlap the writes and memory stays flat whatever the file size.
//!
//! Each workspace's topics are compiled once into a [`QuerySet`] and recompiled
//! only when [`atalaya_store::Topics::version`] moves. What the matcher reads of
//! a mention ([`mention_document`]) and how its matches become topic hits
//! ([`topic_hits`]) are shared with the backfill job ([`crate::backfill`]), so a
//! stored mention re-matched later gets exactly the links it would have got here.
//!
//! The language is the one the source declared when the model knows it;
//! otherwise it is detected, and a short text is placed among the workspace's
//! languages (`atalaya_text::language::SHORT_TEXT_MAX_LETTERS`). Sentiment is
//! read in that language.
//!
//! Matching is bounded (`atalaya_text::query::MatchLimits`): a topic whose
//! query needs more work on a mention than its budget is skipped for that
//! mention only. The mention is still stored with its other topics; the skip
//! is logged (topic, mention) and counted ([`Pipeline::topic_matches_skipped`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use atalaya_connectors::IncomingMention;
use atalaya_connectors::import::RowError;
use atalaya_domain::{
    MatchSpan, SentimentLabel, Source, SourceId, Timestamp, TopicHit, TopicId, WorkspaceId,
};
use atalaya_store::{AuthorCache, InsertOutcome, Job, NewAuthor, NewMention, Store, StoreError};
use atalaya_text::corrections::Corrections;
use atalaya_text::query::{Document, MatchScratch, Query, QuerySet, parse, search_cover};
use atalaya_text::{Analyzer, Lang, LanguageHints, Polarity};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::{BoxFuture, JobError, JobHandler};

/// The job kind for pushed items.
pub const INGEST_KIND: &str = "listening.ingest";

/// How long a workspace's compiled topics are trusted before their version is
/// checked again. Topic edits are rare; a version query per batch is cheap, but
/// per mention of a big import it is not.
const VERSION_CHECK_EVERY: Duration = Duration::from_secs(2);
/// How long a workspace's sentiment corrections are reused before reloading.
const CORRECTIONS_RELOAD_EVERY: Duration = Duration::from_secs(60);

/// The payload of a `listening.ingest` job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestPayload {
    pub workspace_id: WorkspaceId,
    pub source_id: SourceId,
    pub items: Vec<IncomingMention>,
}

/// Why ingesting failed.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The source was deleted, archived or never existed: its items have no home.
    #[error("source {0} not found in the workspace")]
    SourceNotFound(SourceId),
    #[error("malformed ingest payload: {0}")]
    BadPayload(String),
    /// A pipeline thread stopped unexpectedly (a panic in a parser or model).
    #[error("the ingest pipeline stopped: {0}")]
    Pipeline(String),
}

impl From<IngestError> for JobError {
    fn from(error: IngestError) -> JobError {
        match error {
            IngestError::Store(_) | IngestError::Pipeline(_) => JobError::retry(error),
            IngestError::SourceNotFound(_) | IngestError::BadPayload(_) => {
                JobError::permanent(error)
            }
        }
    }
}

/// Re-exported from the domain, where the web's live query test finds it too.
pub use atalaya_domain::network_of;

/// A mention after analysis, owning everything [`NewMention`] borrows.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysedMention {
    pub item: IncomingMention,
    pub canonical_url: Option<String>,
    pub lang: String,
    pub lang_confidence: f32,
    pub sentiment: SentimentLabel,
    pub sentiment_score: f32,
    pub sentiment_confidence: f32,
    pub topics: Vec<TopicHit>,
    /// Topics not matched on this mention because their query needed more
    /// work than its budget: neither matched nor known not to match.
    pub skipped_topics: Vec<TopicId>,
    /// When the source says it was published; `None` when it gave no date or
    /// one that could not be read (see [`stored_published_at`]).
    pub published_at: Option<Timestamp>,
}

/// The `published_at` stored for a mention ingested at `ingested_at`.
///
/// An unknown date is stored as the ingestion time, exactly: the mention list
/// sorts by `published_at`, so the mention sits where it arrived, and
/// `published_at == ingested_at` is how a stored mention says "date unknown"
/// (`Mention::published_at_known`). A known date that happens to equal the
/// ingestion time to the millisecond is stored one millisecond earlier, so the
/// equality never lies.
pub fn stored_published_at(known: Option<Timestamp>, ingested_at: Timestamp) -> Timestamp {
    match known {
        Some(date) if date == ingested_at => date.plus_millis(-1),
        Some(date) => date,
        None => ingested_at,
    }
}

impl AnalysedMention {
    /// The row to store, ingested at `now`; `network` names the author's
    /// network (the source kind).
    pub fn as_new_mention<'a>(
        &'a self,
        source_id: SourceId,
        network: &'a str,
        now: Timestamp,
    ) -> NewMention<'a> {
        NewMention {
            source_id,
            external_id: &self.item.external_id,
            url: self.item.url.as_deref(),
            canonical_url: self.canonical_url.as_deref(),
            title: self.item.title.as_deref(),
            text: &self.item.text,
            content_raw: &self.item.content_raw,
            author: self.item.author.as_ref().map(|author| NewAuthor {
                network,
                handle: &author.handle,
                name: author.name.as_deref(),
                followers: author.followers,
                profile_url: author.profile_url.as_deref(),
            }),
            lang: &self.lang,
            lang_confidence: self.lang_confidence,
            sentiment: self.sentiment,
            sentiment_score: self.sentiment_score,
            sentiment_confidence: self.sentiment_confidence,
            topics: &self.topics,
            published_at: stored_published_at(self.published_at, now),
        }
    }
}

fn label_of(polarity: Polarity) -> SentimentLabel {
    match polarity {
        Polarity::Negative => SentimentLabel::Negative,
        Polarity::Neutral => SentimentLabel::Neutral,
        Polarity::Positive => SentimentLabel::Positive,
    }
}

fn polarity_of(label: SentimentLabel) -> Polarity {
    match label {
        SentimentLabel::Negative => Polarity::Negative,
        SentimentLabel::Neutral => Polarity::Neutral,
        SentimentLabel::Positive => Polarity::Positive,
    }
}

/// What the topic matcher reads of a mention, built the same way for an item
/// being ingested and for a stored mention being re-matched: the author's
/// handle, the URL, the language as stored, and the source kind's network
/// (`mastodon_hashtag` → `mastodon`) for the query language's `source:` field.
pub fn mention_document<'a>(
    text: &'a str,
    author_handle: Option<&'a str>,
    url: Option<&'a str>,
    lang: &'a str,
    source_kind: &'a str,
) -> Document<'a> {
    Document {
        text,
        author: author_handle,
        url,
        lang: Some(lang),
        source: Some(network_of(source_kind)),
    }
}

/// What matching one mention against a workspace's topics found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicHits {
    /// Every topic the mention matches, with the byte spans that made it
    /// match (stored for highlighting).
    pub hits: Vec<TopicHit>,
    /// Topics whose query ran out of work budget on this mention: neither
    /// matched nor known not to match.
    pub too_expensive: Vec<TopicId>,
    /// Bytes of the text that were matched (a long text's bounded prefix).
    pub analysed_bytes: usize,
}

/// Matches `document` against every topic of `topics`.
pub fn topic_hits(
    topics: &QuerySet<TopicId>,
    document: &Document<'_>,
    scratch: &mut MatchScratch,
) -> TopicHits {
    let matches = topics.matches_with(document, scratch);
    TopicHits {
        hits: matches
            .found
            .into_iter()
            .map(|found| TopicHit {
                topic_id: found.key,
                spans: found
                    .spans
                    .iter()
                    .map(|span| MatchSpan {
                        start: span.range.start,
                        end: span.range.end,
                    })
                    .collect(),
            })
            .collect(),
        too_expensive: matches.too_expensive,
        analysed_bytes: matches.analysed_bytes,
    }
}

/// A workspace's compiled topics and sentiment corrections: everything analysis needs.
#[derive(Debug)]
pub struct WorkspaceModel {
    version: i64,
    topics: QuerySet<TopicId>,
    /// The workspace's languages, among which a short text is placed.
    languages: Arc<[Lang]>,
    /// Words that find every post the topics can match (see
    /// `atalaya_text::query::search_cover`), for network searches.
    search_terms: Arc<[String]>,
    corrections: Corrections,
    checked_at: Instant,
    corrections_loaded_at: Instant,
}

impl WorkspaceModel {
    /// The search terms covering the active topics, sorted and deduplicated:
    /// a network searched for each of them returns every post a topic can match.
    pub fn search_terms(&self) -> &[String] {
        &self.search_terms
    }

    /// How many active topics are compiled.
    pub fn topic_count(&self) -> usize {
        self.topics.len()
    }

    /// Analyses one item: language (the source's declared one when the model
    /// knows it, else detected, a short text among the workspace's languages),
    /// sentiment in that language with the workspace's corrections, then every
    /// topic. `match_time`, when given, receives the time spent matching.
    pub fn analyse(
        &self,
        analyzer: &Analyzer,
        item: IncomingMention,
        source_kind: &str,
        scratch: &mut MatchScratch,
        match_time: Option<&mut Duration>,
    ) -> AnalysedMention {
        let hints = LanguageHints {
            declared: item.lang_hint.as_deref(),
            workspace: &self.languages,
        };
        let analysis = analyzer.analyze_in(&item.text, &self.corrections, hints);
        let lang = match (analysis.lang, item.lang_hint.as_deref()) {
            // A declared language the model does not know (`ja`) beats `und`.
            (Lang::Unknown, Some(hint)) => hint.to_owned(),
            (lang, _) => lang.code().to_owned(),
        };
        let document = mention_document(
            &item.text,
            item.author.as_ref().map(|author| author.handle.as_str()),
            item.url.as_deref(),
            &lang,
            source_kind,
        );
        let started = match_time.is_some().then(Instant::now);
        let matches = topic_hits(&self.topics, &document, scratch);
        if let (Some(total), Some(started)) = (match_time, started) {
            *total += started.elapsed();
        }
        for topic in &matches.too_expensive {
            tracing::warn!(
                topic = %topic,
                mention = %item.external_id,
                analysed_bytes = matches.analysed_bytes,
                "topic query too expensive for this mention: stored without that topic"
            );
        }
        let skipped_topics = matches.too_expensive;
        let topics = matches.hits;
        AnalysedMention {
            canonical_url: item.canonical_url(),
            published_at: item.published_at,
            lang,
            lang_confidence: analysis.lang_confidence,
            sentiment: label_of(analysis.sentiment.label),
            sentiment_score: analysis.sentiment.score,
            sentiment_confidence: analysis.sentiment.confidence,
            topics,
            skipped_topics,
            item,
        }
    }
}

/// The pipeline: the store, the analyzer and a per-workspace model cache.
/// Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct Pipeline {
    store: Store,
    analyzer: &'static Analyzer,
    models: Arc<Mutex<HashMap<WorkspaceId, Arc<WorkspaceModel>>>>,
    /// (mention, topic) pairs stored without that topic because its query was
    /// too expensive on the mention, since the process started.
    skipped: Arc<AtomicU64>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    pub fn new(store: Store, analyzer: &'static Analyzer) -> Pipeline {
        Pipeline {
            store,
            analyzer,
            models: Arc::default(),
            skipped: Arc::default(),
        }
    }

    /// How many (mention, topic) pairs were stored without the topic because
    /// its query was too expensive on the mention (shared by clones).
    pub fn topic_matches_skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    /// With the analyzer embedded in `atalaya-text`.
    pub fn with_shared_analyzer(store: Store) -> Pipeline {
        Pipeline::new(store, atalaya_text::shared())
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn analyzer(&self) -> &'static Analyzer {
        self.analyzer
    }

    /// The workspace's model, recompiled when its topics changed and its
    /// corrections reloaded when stale.
    pub async fn model(&self, workspace: WorkspaceId) -> Result<Arc<WorkspaceModel>, StoreError> {
        let cached = self
            .models
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&workspace)
            .cloned();
        if let Some(model) = &cached
            && model.checked_at.elapsed() < VERSION_CHECK_EVERY
        {
            return Ok(Arc::clone(model));
        }
        let version = self.store.topics().version(workspace).await?;
        let fresh = match cached {
            Some(model)
                if model.version == version
                    && model.corrections_loaded_at.elapsed() < CORRECTIONS_RELOAD_EVERY =>
            {
                Arc::new(WorkspaceModel {
                    version,
                    topics: model.topics.clone(),
                    languages: Arc::clone(&model.languages),
                    search_terms: Arc::clone(&model.search_terms),
                    corrections: model.corrections.clone(),
                    checked_at: Instant::now(),
                    corrections_loaded_at: model.corrections_loaded_at,
                })
            }
            _ => Arc::new(self.load_model(workspace, version).await?),
        };
        self.models
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(workspace, Arc::clone(&fresh));
        Ok(fresh)
    }

    async fn load_model(
        &self,
        workspace: WorkspaceId,
        version: i64,
    ) -> Result<WorkspaceModel, StoreError> {
        let topics = self.store.topics().list(workspace).await?;
        let compiled: Vec<(TopicId, Query)> = topics.iter().filter(|topic| topic.active).filter_map(|topic| match parse(&topic.query) {
            Ok(query) => Some((topic.id, query)),
            Err(error) => {
                // Queries are checked when saved; one that no longer parses (a stricter
                // parser after an upgrade) must not stop the others from matching.
                tracing::warn!(topic = %topic.id, %error, "topic query does not parse; skipped");
                None
            }
        }).collect();
        let mut search_terms: Vec<String> = compiled
            .iter()
            .filter_map(|(_, query)| search_cover(query))
            .flatten()
            .collect();
        search_terms.sort();
        search_terms.dedup();
        let topics = QuerySet::compile(compiled);
        let mut corrections = Corrections::new();
        for (text, lang, label) in self.store.mentions().corrections(workspace).await? {
            corrections.add(
                self.analyzer.sentiment_model(),
                &text,
                Lang::from_code(&lang),
                polarity_of(label),
            );
        }
        let languages: Arc<[Lang]> = self
            .store
            .workspaces()
            .get(workspace)
            .await?
            .map(|workspace| {
                workspace
                    .languages
                    .iter()
                    .map(|code| Lang::from_code(code))
                    .filter(|lang| *lang != Lang::Unknown)
                    .collect()
            })
            .unwrap_or_default();
        Ok(WorkspaceModel {
            version,
            topics,
            languages,
            search_terms: search_terms.into(),
            corrections,
            checked_at: Instant::now(),
            corrections_loaded_at: Instant::now(),
        })
    }

    /// Analyses and stores `items` from `source` in one transaction.
    pub async fn ingest(
        &self,
        source: &Source,
        items: Vec<IncomingMention>,
        now: Timestamp,
    ) -> Result<InsertOutcome, IngestError> {
        self.ingest_where(source, items, now, |_| true).await
    }

    /// [`Pipeline::ingest`], keeping only the mentions that match at least one
    /// topic: network searches and timelines bring neighbours no query wants.
    pub async fn ingest_matching(
        &self,
        source: &Source,
        items: Vec<IncomingMention>,
        now: Timestamp,
    ) -> Result<InsertOutcome, IngestError> {
        self.ingest_where(source, items, now, |mention| !mention.topics.is_empty())
            .await
    }

    async fn ingest_where(
        &self,
        source: &Source,
        items: Vec<IncomingMention>,
        now: Timestamp,
        keep: fn(&AnalysedMention) -> bool,
    ) -> Result<InsertOutcome, IngestError> {
        let model = self.model(source.workspace_id).await?;
        let analyzer = self.analyzer;
        let network = network_of(&source.kind).to_owned();
        let analysed = tokio::task::spawn_blocking(move || {
            let mut scratch = MatchScratch::new();
            items
                .into_iter()
                .map(|item| model.analyse(analyzer, item, &network, &mut scratch, None))
                .filter(keep)
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|error| IngestError::Pipeline(error.to_string()))?;
        self.store_batch(source, &analysed, now).await
    }

    /// Stores analysed mentions of `source` in one transaction.
    ///
    /// A failure also drops the workspace's cached model: if it failed because a
    /// topic was deleted after the model was compiled (its links then violate a
    /// foreign key), the retry must match against the topics as they are now.
    pub async fn store_batch(
        &self,
        source: &Source,
        analysed: &[AnalysedMention],
        now: Timestamp,
    ) -> Result<InsertOutcome, IngestError> {
        self.store_batch_cached(source, analysed, now, &mut AuthorCache::new())
            .await
    }

    /// [`Pipeline::store_batch`] for a writer storing many batches: `authors`
    /// remembers the authors already stored, so they are not upserted again.
    pub async fn store_batch_cached(
        &self,
        source: &Source,
        analysed: &[AnalysedMention],
        now: Timestamp,
        authors: &mut AuthorCache,
    ) -> Result<InsertOutcome, IngestError> {
        let rows: Vec<NewMention<'_>> = analysed
            .iter()
            .map(|mention| mention.as_new_mention(source.id, network_of(&source.kind), now))
            .collect();
        match self
            .store
            .mentions()
            .insert_batch_cached(source.workspace_id, &rows, now, authors)
            .await
        {
            Ok(outcome) => {
                let skipped: usize = analysed
                    .iter()
                    .map(|mention| mention.skipped_topics.len())
                    .sum();
                if skipped > 0 {
                    self.skipped.fetch_add(skipped as u64, Ordering::Relaxed);
                    tracing::warn!(source = %source.id, skipped, "stored mentions without topics too expensive to match on them");
                }
                Ok(outcome)
            }
            Err(error) => {
                self.models
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&source.workspace_id);
                Err(error.into())
            }
        }
    }

    /// Runs one `listening.ingest` job's payload.
    pub async fn run_payload(
        &self,
        payload: &serde_json::Value,
        now: Timestamp,
    ) -> Result<InsertOutcome, IngestError> {
        let payload = IngestPayload::deserialize(payload)
            .map_err(|error| IngestError::BadPayload(error.to_string()))?;
        let source = self
            .store
            .sources()
            .get(payload.workspace_id, payload.source_id)
            .await?
            .ok_or(IngestError::SourceNotFound(payload.source_id))?;
        self.ingest(&source, payload.items, now).await
    }
}

/// The `listening.ingest` job handler.
#[derive(Debug, Clone)]
pub struct IngestHandler {
    pipeline: Pipeline,
}

impl IngestHandler {
    pub fn new(pipeline: Pipeline) -> IngestHandler {
        IngestHandler { pipeline }
    }
}

impl JobHandler for IngestHandler {
    fn kind(&self) -> &'static str {
        INGEST_KIND
    }

    fn run(&self, job: Job) -> BoxFuture<Result<(), JobError>> {
        let pipeline = self.pipeline.clone();
        Box::pin(async move {
            let outcome = pipeline.run_payload(&job.payload, Timestamp::now()).await?;
            tracing::info!(job = %job.id, inserted = outcome.inserted, duplicates = outcome.duplicates, "ingested");
            Ok(())
        })
    }
}

/// Settings of [`ingest_stream`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamOptions {
    /// Rows per transaction. Bigger transactions amortise SQLite's per-commit
    /// work (the full-text index writes one segment per commit, and merges them
    /// later): on 200k rows 5,000 ingested ~1.4× faster than 1,000, and in a
    /// scratch run of the same statements 10,000 used ~10% less CPU per row
    /// than 5,000.
    pub batch_size: usize,
    /// Batches waiting between two stages: bounds memory. Two batches of 10,000
    /// hold the writer's next second or so of work.
    pub queue_depth: usize,
    /// Measure the time spent matching (for `atalaya bench ingest`).
    pub time_matching: bool,
    /// Threads analysing batches side by side. The writer spends most of its
    /// time waiting in SQLite's C code, so on two cores two analysers keep it fed.
    pub analysis_workers: usize,
}

impl Default for StreamOptions {
    fn default() -> StreamOptions {
        StreamOptions {
            batch_size: 10_000,
            queue_depth: 2,
            time_matching: false,
            analysis_workers: 2,
        }
    }
}

/// Where a running [`ingest_stream`] is, after each stored batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamProgress {
    pub rows_read: u64,
    pub inserted: u64,
    pub duplicates: u64,
    pub rejected: u64,
}

/// What [`ingest_stream`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamReport {
    pub inserted: u64,
    pub duplicates: u64,
    /// Rejected rows (line: reason), in file order; the count is `rejected.len()`
    /// up to the caller's cap plus `rejected_unlisted`.
    pub rejected: Vec<RowError>,
    pub rejected_unlisted: u64,
    /// Matching time per mention, in nanoseconds, for one mention in
    /// [`MATCH_SAMPLE_EVERY`] (only with `time_matching`).
    pub match_nanos: Vec<u32>,
}

/// With `time_matching`, one mention in this many is timed on its own.
pub const MATCH_SAMPLE_EVERY: u64 = 16;
/// Rejected rows listed in a [`StreamReport`]; the rest are counted.
pub const MAX_LISTED_REJECTIONS: usize = 1_000;

struct RawBatch {
    /// Position in the stream: analysers may finish out of order, the writer
    /// stores batches in this order (first occurrence of a duplicate wins).
    sequence: u64,
    items: Vec<IncomingMention>,
    rejected: Vec<RowError>,
}

struct AnalysedBatch {
    sequence: u64,
    mentions: Vec<AnalysedMention>,
    rejected: Vec<RowError>,
    rows: u64,
    match_nanos: Vec<u32>,
}

/// Ingests a stream of parsed rows into `source`, in batches:
///
/// ```text
///  rows ─▶ [reader thread] ─batches─▶ [analysis thread] ─analysed─▶ [writer: insert_batch per batch]
///            (parse, validate)  bounded   (language, sentiment,  bounded   (one transaction each)
///                                          topics)
/// ```
///
/// A rejected row is reported and never stops the others. A database failure
/// stops the stream with an error; batches already stored stay stored, and
/// running the same import again only adds what is missing.
pub async fn ingest_stream<I>(
    pipeline: &Pipeline,
    source: &Source,
    rows: I,
    options: StreamOptions,
    mut progress: impl FnMut(StreamProgress) + Send,
) -> Result<StreamReport, IngestError>
where
    I: Iterator<Item = Result<IncomingMention, RowError>> + Send + 'static,
{
    let batch_size = options.batch_size.max(1);
    let (raw_sender, raw_receiver) = mpsc::channel::<RawBatch>(options.queue_depth.max(1));
    let (analysed_sender, mut analysed_receiver) =
        mpsc::channel::<AnalysedBatch>(options.queue_depth.max(1));

    let reader = tokio::task::spawn_blocking(move || {
        let mut sequence = 0;
        let empty = |sequence| RawBatch {
            sequence,
            items: Vec::with_capacity(batch_size),
            rejected: Vec::new(),
        };
        let mut batch = empty(sequence);
        for row in rows {
            match row {
                Ok(item) => batch.items.push(item),
                Err(error) => batch.rejected.push(error),
            }
            if batch.items.len() + batch.rejected.len() >= batch_size {
                sequence += 1;
                let full = std::mem::replace(&mut batch, empty(sequence));
                if raw_sender.blocking_send(full).is_err() {
                    // The writer stopped (a database error): nothing more to do.
                    return;
                }
            }
        }
        if !batch.items.is_empty() || !batch.rejected.is_empty() {
            let _ = raw_sender.blocking_send(batch);
        }
    });

    let model = pipeline.model(source.workspace_id).await?;
    let analyzer = pipeline.analyzer();
    let time_matching = options.time_matching;
    // The analysers take turns at the one receiver: whoever is free takes the next batch.
    let raw_receiver = Arc::new(Mutex::new(raw_receiver));
    let analysers: Vec<_> = (0..options.analysis_workers.max(1))
        .map(|_| {
            let model = Arc::clone(&model);
            let kind = network_of(&source.kind).to_owned();
            let raw_receiver = Arc::clone(&raw_receiver);
            let analysed_sender = analysed_sender.clone();
            tokio::task::spawn_blocking(move || {
                let mut scratch = MatchScratch::new();
                loop {
                    let next = raw_receiver
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .blocking_recv();
                    let Some(raw) = next else { return };
                    let batch = analyse_batch(
                        &model,
                        analyzer,
                        &kind,
                        raw,
                        batch_size,
                        time_matching,
                        &mut scratch,
                    );
                    if analysed_sender.blocking_send(batch).is_err() {
                        return;
                    }
                }
            })
        })
        .collect();
    // Only the analysers' clones remain: the channel closes when the last one ends.
    drop(analysed_sender);

    let mut report = StreamReport::default();
    let mut state = StreamProgress::default();
    let mut failure = None;
    // An import repeats its authors across batches: upsert each once.
    let mut authors = AuthorCache::new();
    let mut waiting: BTreeMap<u64, AnalysedBatch> = BTreeMap::new();
    let mut next_sequence = 0;
    'receive: while let Some(arrived) = analysed_receiver.recv().await {
        waiting.insert(arrived.sequence, arrived);
        while let Some(batch) = waiting.remove(&next_sequence) {
            next_sequence += 1;
            let outcome = match pipeline
                .store_batch_cached(source, &batch.mentions, Timestamp::now(), &mut authors)
                .await
            {
                Ok(outcome) => outcome,
                Err(error) => {
                    failure = Some(error);
                    break 'receive;
                }
            };
            report.inserted += outcome.inserted;
            report.duplicates += outcome.duplicates;
            report.match_nanos.extend(batch.match_nanos);
            for rejection in batch.rejected {
                state.rejected += 1;
                if report.rejected.len() < MAX_LISTED_REJECTIONS {
                    report.rejected.push(rejection);
                } else {
                    report.rejected_unlisted += 1;
                }
            }
            state.rows_read += batch.rows;
            state.inserted = report.inserted;
            state.duplicates = report.duplicates;
            progress(state);
        }
    }
    // Closing the receiver makes the other stages stop at their next send.
    drop(analysed_receiver);
    let mut joined = vec![reader.await];
    for analyser in analysers {
        joined.push(analyser.await);
    }
    if let Some(error) = failure {
        return Err(error);
    }
    if let Some(Err(error)) = joined.into_iter().find(Result::is_err) {
        return Err(IngestError::Pipeline(error.to_string()));
    }
    Ok(report)
}

/// Analyses one batch; with `time_matching`, times one mention in
/// [`MATCH_SAMPLE_EVERY`] (by its position in the stream, so the sample does not
/// depend on how batches were shared out).
fn analyse_batch(
    model: &WorkspaceModel,
    analyzer: &Analyzer,
    kind: &str,
    raw: RawBatch,
    batch_size: usize,
    time_matching: bool,
    scratch: &mut MatchScratch,
) -> AnalysedBatch {
    let rows = (raw.items.len() + raw.rejected.len()) as u64;
    let first = raw.sequence * batch_size as u64;
    let mut match_nanos = Vec::new();
    let mentions = raw
        .items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            let position = first + index as u64 + 1;
            if time_matching && position.is_multiple_of(MATCH_SAMPLE_EVERY) {
                let mut elapsed = Duration::ZERO;
                let analysed = model.analyse(analyzer, item, kind, scratch, Some(&mut elapsed));
                match_nanos.push(u32::try_from(elapsed.as_nanos()).unwrap_or(u32::MAX));
                analysed
            } else {
                model.analyse(analyzer, item, kind, scratch, None)
            }
        })
        .collect();
    AnalysedBatch {
        sequence: raw.sequence,
        mentions,
        rejected: raw.rejected,
        rows,
        match_nanos,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_date_is_stored_as_the_ingestion_time_and_a_known_one_never_is() {
        let now = Timestamp(1_700_000_000_000);
        assert_eq!(stored_published_at(None, now), now);
        let earlier = Timestamp(1_600_000_000_000);
        assert_eq!(stored_published_at(Some(earlier), now), earlier);
        // A real date equal to the ingestion time must not read as "unknown".
        assert_eq!(stored_published_at(Some(now), now), now.plus_millis(-1));
    }

    #[test]
    fn labels_round_trip() {
        for label in SentimentLabel::ALL {
            assert_eq!(label_of(polarity_of(label)), label);
        }
    }
}
