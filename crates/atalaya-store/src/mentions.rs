//! Mentions: what the sources heard, analysed and matched, with their authors
//! and topic hits; the filters, full-text search, counts and sentiment
//! corrections that the mentions view and the API need.
//!
//! [`Mentions::insert_batch`] is the pipeline's single write: one transaction per
//! batch, so a crash mid-batch leaves nothing behind and the retried job writes
//! everything once. Dedupe is done by the database's unique indexes —
//! `(source_id, external_id)` and `(workspace_id, canonical_url)` — with
//! `ON CONFLICT DO NOTHING`, so two processes ingesting the same item race
//! harmlessly. On SQLite the batch is written by the store's native connection
//! (`sqlite_writer`: prepared statements, values bound by reference), and the
//! batch's new rows then enter the full-text index in one statement (there is
//! no insert trigger: this is the only `INSERT` into `mentions`). On PostgreSQL
//! rows go in as multi-row `INSERT`s of a few hundred rows through `sqlx::Any`.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use atalaya_domain::{
    Author, AuthorId, MatchSpan, Mention, MentionId, SentimentLabel, SourceId, Timestamp, TopicHit,
    TopicId, UserId, WorkspaceId,
};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, Arguments, Row, Transaction};

use crate::dialect;
use crate::{Backend, Store, StoreError};

/// Rows per multi-row `INSERT` on PostgreSQL: about 10,000 bound values, well
/// under its limit of 65,535.
const MENTION_CHUNK: usize = 500;
const AUTHOR_CHUNK: usize = 1_000;
const LINK_CHUNK: usize = 2_000;

/// The author of a mention as the pipeline found them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NewAuthor<'a> {
    pub network: &'a str,
    pub handle: &'a str,
    pub name: Option<&'a str>,
    pub followers: Option<i64>,
    pub profile_url: Option<&'a str>,
}

/// A mention ready to store: normalized, analysed and matched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NewMention<'a> {
    pub source_id: SourceId,
    pub external_id: &'a str,
    pub url: Option<&'a str>,
    pub canonical_url: Option<&'a str>,
    pub title: Option<&'a str>,
    pub text: &'a str,
    pub content_raw: &'a str,
    pub author: Option<NewAuthor<'a>>,
    pub lang: &'a str,
    pub lang_confidence: f32,
    pub sentiment: SentimentLabel,
    pub sentiment_score: f32,
    pub sentiment_confidence: f32,
    pub topics: &'a [TopicHit],
    pub published_at: Timestamp,
}

/// Authors a writer has already stored, so a bulk import does not upsert the
/// same 50,000 people again in every batch (the upsert was about a third of
/// the insert time).
///
/// An entry remembers the author's row as the database returned it after the
/// upsert; an author is skipped only when upserting it again would change
/// nothing (every value it states equals the remembered one). Entries are keyed
/// by workspace, so an id is never served to another workspace, and they are
/// added only after their transaction commits, so a rolled-back batch leaves
/// no id behind. Any failed batch clears the cache: if an author was deleted
/// meanwhile, the retry upserts it afresh. The cache empties itself when it
/// reaches [`AuthorCache::CAPACITY`] entries, which keeps memory flat.
///
/// Another process updating a cached author (a new display name, say) is not
/// seen; the next mention stating a different value upserts it again.
#[derive(Debug, Default)]
pub struct AuthorCache {
    /// By [`AuthorCache::key`]: one string, so a lookup can reuse a buffer.
    entries: HashMap<String, CachedAuthor>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CachedAuthor {
    pub(crate) id: i64,
    pub(crate) name: Option<String>,
    pub(crate) followers: Option<i64>,
    pub(crate) profile_url: Option<String>,
}

impl AuthorCache {
    /// Entries kept before the cache starts over: a few tens of MB at most.
    pub const CAPACITY: usize = 200_000;

    pub fn new() -> AuthorCache {
        AuthorCache::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// The entry key of `author` in `workspace`, written into `key`: the
    /// network's length comes first, so no network and handle pair can be
    /// mistaken for another.
    fn write_key(key: &mut String, workspace: WorkspaceId, author: &NewAuthor<'_>) {
        key.clear();
        let _ = write!(
            key,
            "{}:{}:{}{}",
            workspace.get(),
            author.network.len(),
            author.network,
            author.handle
        );
    }

    pub(crate) fn key(workspace: WorkspaceId, author: &NewAuthor<'_>) -> String {
        let mut key = String::new();
        AuthorCache::write_key(&mut key, workspace, author);
        key
    }

    /// The stored id of `author`, when upserting it again would change nothing.
    /// `scratch` holds the key, so a lookup allocates nothing.
    pub(crate) fn unchanged(
        &self,
        workspace: WorkspaceId,
        author: &NewAuthor<'_>,
        scratch: &mut String,
    ) -> Option<i64> {
        AuthorCache::write_key(scratch, workspace, author);
        let cached = self.entries.get(scratch.as_str())?;
        let same = author
            .name
            .is_none_or(|name| cached.name.as_deref() == Some(name))
            && author
                .followers
                .is_none_or(|followers| cached.followers == Some(followers))
            && author
                .profile_url
                .is_none_or(|url| cached.profile_url.as_deref() == Some(url));
        same.then_some(cached.id)
    }

    /// Remembers rows of a committed transaction.
    fn absorb(&mut self, rows: Vec<(String, CachedAuthor)>) {
        if self.entries.len() + rows.len() > AuthorCache::CAPACITY {
            self.entries.clear();
        }
        self.entries.extend(rows);
    }
}

/// What [`Mentions::insert_batch`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InsertOutcome {
    pub inserted: u64,
    /// Items already stored (same source and external id, or same canonical URL
    /// in the workspace), including repeats within the batch.
    pub duplicates: u64,
}

/// Which mentions to list or count. Every field narrows; the default is everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MentionFilter {
    pub topic: Option<TopicId>,
    pub source: Option<SourceId>,
    pub lang: Option<String>,
    /// The effective label (the correction when there is one).
    pub sentiment: Option<SentimentLabel>,
    /// Published at or after.
    pub from: Option<Timestamp>,
    /// Published strictly before.
    pub to: Option<Timestamp>,
    /// An author handle, exactly.
    pub author: Option<String>,
    /// Words that must all appear, accent- and case-insensitive.
    pub search: Option<String>,
    /// Keyset pagination: only mentions older than this `(published_at, id)`,
    /// i.e. the last mention of the previous page.
    pub before: Option<(Timestamp, MentionId)>,
    /// Page size for [`Mentions::list`] (ignored by counts); at most 1,000.
    pub limit: i64,
}

/// Mentions of one topic on one UTC day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyCount {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub topic_id: TopicId,
    pub count: i64,
}

/// Mentions in one time bucket with one effective sentiment (see
/// [`Mentions::sentiment_histogram`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentimentBucket {
    /// The bucket's first instant: a multiple of the bucket width since the epoch.
    pub start: Timestamp,
    pub sentiment: SentimentLabel,
    pub count: i64,
}

/// Mentions of one topic in one time bucket (see [`Mentions::topic_histogram`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicBucket {
    pub start: Timestamp,
    pub topic_id: TopicId,
    pub count: i64,
}

/// The `mentions`, `mention_topics` and `authors` tables.
pub struct Mentions<'s> {
    pub(crate) store: &'s Store,
}

const MENTION_COLUMNS: &str = "m.id, m.workspace_id, m.source_id, m.external_id, m.url, m.title, m.text, m.lang, \
     m.sentiment, m.sentiment_model, m.sentiment_score, m.sentiment_confidence, m.sentiment_corrected_at, \
     m.published_at, m.ingested_at, a.id AS author_id, a.network AS author_network, a.handle AS author_handle, \
     a.name AS author_name, a.followers AS author_followers, a.profile_url AS author_profile_url";

fn label_from_text(column: &'static str, text: &str) -> Result<SentimentLabel, StoreError> {
    SentimentLabel::from_code(text).ok_or_else(|| StoreError::CorruptValue {
        column,
        message: format!("unknown sentiment {text:?}"),
    })
}

#[allow(clippy::cast_possible_truncation)] // Scores and confidences are in [-1, 1]: f32 holds them.
fn mention_from_row(row: &AnyRow) -> Result<Mention, StoreError> {
    let workspace_id = WorkspaceId(row.try_get("workspace_id")?);
    let author = match row.try_get::<Option<i64>, _>("author_id")? {
        Some(author_id) => Some(Author {
            id: AuthorId(author_id),
            workspace_id,
            network: row.try_get("author_network")?,
            handle: row.try_get("author_handle")?,
            name: row.try_get("author_name")?,
            followers: row.try_get("author_followers")?,
            profile_url: row.try_get("author_profile_url")?,
        }),
        None => None,
    };
    let sentiment: String = row.try_get("sentiment")?;
    let sentiment_model: String = row.try_get("sentiment_model")?;
    Ok(Mention {
        id: MentionId(row.try_get("id")?),
        workspace_id,
        source_id: SourceId(row.try_get("source_id")?),
        external_id: row.try_get("external_id")?,
        url: row.try_get("url")?,
        title: row.try_get("title")?,
        text: row.try_get("text")?,
        author,
        lang: row.try_get("lang")?,
        sentiment: label_from_text("mentions.sentiment", &sentiment)?,
        sentiment_score: row.try_get::<f64, _>("sentiment_score")? as f32,
        sentiment_confidence: row.try_get::<f64, _>("sentiment_confidence")? as f32,
        sentiment_model: label_from_text("mentions.sentiment_model", &sentiment_model)?,
        sentiment_corrected: row
            .try_get::<Option<i64>, _>("sentiment_corrected_at")?
            .is_some(),
        topics: Vec::new(),
        published_at: Timestamp(row.try_get("published_at")?),
        ingested_at: Timestamp(row.try_get("ingested_at")?),
    })
}

/// Spans as compact JSON: `[[start,end],...]`.
pub(crate) fn spans_json(spans: &[MatchSpan]) -> String {
    let mut json = String::with_capacity(spans.len() * 10 + 2);
    write_spans_json(&mut json, spans);
    json
}

/// Appends [`spans_json`] to `json`.
pub(crate) fn write_spans_json(json: &mut String, spans: &[MatchSpan]) {
    json.push('[');
    for (index, span) in spans.iter().enumerate() {
        if index > 0 {
            json.push(',');
        }
        let _ = write!(json, "[{},{}]", span.start, span.end);
    }
    json.push(']');
}

fn spans_from_json(json: &str) -> Result<Vec<MatchSpan>, StoreError> {
    let pairs: Vec<(usize, usize)> =
        serde_json::from_str(json).map_err(|error| StoreError::CorruptValue {
            column: "mention_topics.spans",
            message: error.to_string(),
        })?;
    Ok(pairs
        .into_iter()
        .map(|(start, end)| MatchSpan { start, end })
        .collect())
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

/// A `WHERE` clause under construction with its bind values, numbered in order.
struct Conditions {
    sql: String,
    arguments: AnyArguments,
    count: usize,
}

impl Conditions {
    fn new(workspace: WorkspaceId) -> Result<Conditions, StoreError> {
        let mut conditions = Conditions {
            sql: String::from("m.workspace_id = $1"),
            arguments: AnyArguments::default(),
            count: 1,
        };
        push(&mut conditions.arguments, workspace.get())?;
        Ok(conditions)
    }

    /// Binds `value` and returns its placeholder.
    fn bind<'q, T>(&mut self, value: T) -> Result<String, StoreError>
    where
        T: sqlx::Encode<'q, Any> + sqlx::Type<Any>,
    {
        push(&mut self.arguments, value)?;
        self.count += 1;
        Ok(format!("${}", self.count))
    }

    fn and(&mut self, condition: &str) {
        self.sql.push_str(" AND ");
        self.sql.push_str(condition);
    }

    /// Every filter except pagination.
    fn filter(
        workspace: WorkspaceId,
        filter: &MentionFilter,
        backend: Backend,
    ) -> Result<Conditions, StoreError> {
        let mut conditions = Conditions::new(workspace)?;
        if let Some(topic) = filter.topic {
            let topic = conditions.bind(topic.get())?;
            conditions.and(&format!(
                "EXISTS (SELECT 1 FROM mention_topics mt WHERE mt.mention_id = m.id AND mt.topic_id = {topic})"
            ));
        }
        if let Some(source) = filter.source {
            let source = conditions.bind(source.get())?;
            conditions.and(&format!("m.source_id = {source}"));
        }
        if let Some(lang) = &filter.lang {
            let lang = conditions.bind(lang.clone())?;
            conditions.and(&format!("m.lang = {lang}"));
        }
        if let Some(sentiment) = filter.sentiment {
            let sentiment = conditions.bind(sentiment.as_str())?;
            conditions.and(&format!("m.sentiment = {sentiment}"));
        }
        if let Some(from) = filter.from {
            let from = conditions.bind(from.millis())?;
            conditions.and(&format!("m.published_at >= {from}"));
        }
        if let Some(to) = filter.to {
            let to = conditions.bind(to.millis())?;
            conditions.and(&format!("m.published_at < {to}"));
        }
        if let Some(author) = &filter.author {
            let author = conditions.bind(author.clone())?;
            conditions.and(&format!(
                "m.author_id IN (SELECT id FROM authors WHERE workspace_id = $1 AND handle = {author})"
            ));
        }
        if let Some(search) = filter
            .search
            .as_deref()
            .and_then(|search| dialect::search_argument(backend, search))
        {
            let search = conditions.bind(search)?;
            conditions.and(&dialect::search_condition(backend, &search));
        }
        Ok(conditions)
    }
}

impl Mentions<'_> {
    /// Stores a batch in one transaction: upserts the authors, inserts the new
    /// mentions (skipping duplicates), links them to their topics and adds them
    /// to their sources' counters. Storing the same batch again changes nothing
    /// and counts every item as a duplicate.
    pub async fn insert_batch(
        &self,
        workspace: WorkspaceId,
        batch: &[NewMention<'_>],
        now: Timestamp,
    ) -> Result<InsertOutcome, StoreError> {
        self.insert_batch_cached(workspace, batch, now, &mut AuthorCache::new())
            .await
    }

    /// [`Mentions::insert_batch`] for a writer that stores many batches: authors
    /// already in `authors` are not upserted again. A failure clears the cache.
    pub async fn insert_batch_cached(
        &self,
        workspace: WorkspaceId,
        batch: &[NewMention<'_>],
        now: Timestamp,
        authors: &mut AuthorCache,
    ) -> Result<InsertOutcome, StoreError> {
        let result = self
            .insert_batch_inner(workspace, batch, now, authors)
            .await;
        if result.is_err() {
            authors.clear();
        }
        result
    }

    async fn insert_batch_inner(
        &self,
        workspace: WorkspaceId,
        batch: &[NewMention<'_>],
        now: Timestamp,
        cache: &mut AuthorCache,
    ) -> Result<InsertOutcome, StoreError> {
        // Repeats inside the batch are dropped here: PostgreSQL's upsert refuses to
        // touch one row twice in a statement, and the first occurrence wins anyway.
        let mut seen_ids = HashSet::with_capacity(batch.len());
        let mut seen_urls = HashSet::with_capacity(batch.len());
        let unique: Vec<&NewMention<'_>> = batch
            .iter()
            .filter(|mention| {
                let new_id = seen_ids.insert((mention.source_id, mention.external_id));
                let new_url = mention
                    .canonical_url
                    .is_none_or(|url| seen_urls.insert(url));
                new_id && new_url
            })
            .collect();
        let mut outcome = InsertOutcome {
            inserted: 0,
            duplicates: (batch.len() - unique.len()) as u64,
        };
        if unique.is_empty() {
            return Ok(outcome);
        }

        if let Some(writer) = self.store.sqlite_writer() {
            // A shared-cache database's table locks do not wait: with the pool's
            // only connection held, nothing else touches it during the batch.
            let _exclusive = if writer.exclusive() {
                Some(self.store.pool().acquire().await?)
            } else {
                None
            };
            let written = writer.write(workspace, &unique, now, cache)?;
            cache.absorb(written.authors);
            outcome.inserted = written.inserted;
            outcome.duplicates += unique.len() as u64 - written.inserted;
            return Ok(outcome);
        }

        // PostgreSQL: multi-row statements, the new ids from `RETURNING`.
        let mut transaction = self.store.pool().begin().await?;
        let (author_ids, new_authors) =
            upsert_authors(&mut transaction, workspace, &unique, now, cache).await?;

        let backend = self.store.backend();
        let mut inserted_ids: HashMap<(i64, String), i64> = HashMap::with_capacity(unique.len());
        for chunk in unique.chunks(MENTION_CHUNK) {
            let mut arguments = AnyArguments::default();
            for mention in chunk {
                let author_id = mention
                    .author
                    .and_then(|author| author_ids.get(&(author.network, author.handle)).copied());
                push(&mut arguments, workspace.get())?;
                push(&mut arguments, mention.source_id.get())?;
                push(&mut arguments, mention.external_id)?;
                push(&mut arguments, mention.url)?;
                push(&mut arguments, mention.canonical_url)?;
                push(&mut arguments, mention.title)?;
                push(&mut arguments, mention.text)?;
                push(&mut arguments, mention.content_raw)?;
                push(&mut arguments, author_id)?;
                push(&mut arguments, mention.lang)?;
                push(&mut arguments, f64::from(mention.lang_confidence))?;
                push(&mut arguments, mention.sentiment.as_str())?;
                push(&mut arguments, mention.sentiment.as_str())?;
                push(&mut arguments, f64::from(mention.sentiment_score))?;
                push(&mut arguments, f64::from(mention.sentiment_confidence))?;
                push(&mut arguments, mention.published_at.millis())?;
                push(&mut arguments, now.millis())?;
                push(&mut arguments, dialect::fold(mention.text))?;
            }
            let sql = format!(
                "INSERT INTO mentions (workspace_id, source_id, external_id, url, canonical_url, title, text, content_raw, \
                 author_id, lang, lang_confidence, sentiment, sentiment_model, sentiment_score, sentiment_confidence, \
                 published_at, ingested_at, search_text) VALUES {} ON CONFLICT DO NOTHING RETURNING id, source_id, external_id",
                dialect::value_rows(backend, chunk.len(), 18),
            );
            let rows = sqlx::query_with(sqlx::AssertSqlSafe(sql), arguments)
                .fetch_all(&mut *transaction)
                .await?;
            for row in &rows {
                inserted_ids.insert(
                    (row.try_get("source_id")?, row.try_get("external_id")?),
                    row.try_get("id")?,
                );
            }
        }

        let mut links: Vec<(i64, i64, String)> = Vec::new();
        let mut per_source: HashMap<i64, i64> = HashMap::new();
        for mention in &unique {
            let key = (mention.source_id.get(), mention.external_id.to_owned());
            let Some(&mention_id) = inserted_ids.get(&key) else {
                continue;
            };
            *per_source.entry(mention.source_id.get()).or_default() += 1;
            for hit in mention.topics {
                links.push((mention_id, hit.topic_id.get(), spans_json(&hit.spans)));
            }
        }
        for chunk in links.chunks(LINK_CHUNK) {
            let mut arguments = AnyArguments::default();
            for (mention_id, topic_id, spans) in chunk {
                push(&mut arguments, *mention_id)?;
                push(&mut arguments, *topic_id)?;
                push(&mut arguments, spans.as_str())?;
            }
            let sql = format!(
                "INSERT INTO mention_topics (mention_id, topic_id, spans) VALUES {} ON CONFLICT DO NOTHING",
                dialect::value_rows(backend, chunk.len(), 3)
            );
            sqlx::query_with(sqlx::AssertSqlSafe(sql), arguments)
                .execute(&mut *transaction)
                .await?;
        }
        for (source_id, count) in &per_source {
            sqlx::query("UPDATE sources SET mentions_total = mentions_total + $1 WHERE id = $2")
                .bind(*count)
                .bind(*source_id)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        cache.absorb(new_authors);

        outcome.inserted = inserted_ids.len() as u64;
        outcome.duplicates += (unique.len() - inserted_ids.len()) as u64;
        Ok(outcome)
    }

    /// A page of mentions, newest first, with authors and topic hits.
    pub async fn list(
        &self,
        workspace: WorkspaceId,
        filter: &MentionFilter,
    ) -> Result<Vec<Mention>, StoreError> {
        let mut conditions = Conditions::filter(workspace, filter, self.store.backend())?;
        if let Some((published_at, id)) = filter.before {
            let published_at = conditions.bind(published_at.millis())?;
            let id = conditions.bind(id.get())?;
            conditions.and(&format!(
                "(m.published_at < {published_at} OR (m.published_at = {published_at} AND m.id < {id}))"
            ));
        }
        let limit = conditions.bind(filter.limit.clamp(1, 1_000))?;
        let sql = format!(
            "SELECT {MENTION_COLUMNS} FROM mentions m LEFT JOIN authors a ON a.id = m.author_id WHERE {} \
             ORDER BY m.published_at DESC, m.id DESC LIMIT {limit}",
            conditions.sql
        );
        let rows = sqlx::query_with(sqlx::AssertSqlSafe(sql), conditions.arguments)
            .fetch_all(self.store.pool())
            .await?;
        let mut mentions = rows
            .iter()
            .map(mention_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        self.attach_topics(&mut mentions).await?;
        Ok(mentions)
    }

    pub async fn get(
        &self,
        workspace: WorkspaceId,
        id: MentionId,
    ) -> Result<Option<Mention>, StoreError> {
        let sql = format!(
            "SELECT {MENTION_COLUMNS} FROM mentions m LEFT JOIN authors a ON a.id = m.author_id \
             WHERE m.workspace_id = $1 AND m.id = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace.get())
            .bind(id.get())
            .fetch_optional(self.store.pool())
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut mentions = vec![mention_from_row(&row)?];
        self.attach_topics(&mut mentions).await?;
        Ok(mentions.pop())
    }

    /// How many mentions match the filter (pagination and limit ignored).
    pub async fn count(
        &self,
        workspace: WorkspaceId,
        filter: &MentionFilter,
    ) -> Result<i64, StoreError> {
        let conditions = Conditions::filter(workspace, filter, self.store.backend())?;
        let sql = format!("SELECT COUNT(*) FROM mentions m WHERE {}", conditions.sql);
        let count: i64 = sqlx::query_scalar_with(sqlx::AssertSqlSafe(sql), conditions.arguments)
            .fetch_one(self.store.pool())
            .await?;
        Ok(count)
    }

    /// Mentions matching the filter per effective sentiment: `[negative, neutral, positive]`.
    pub async fn sentiment_counts(
        &self,
        workspace: WorkspaceId,
        filter: &MentionFilter,
    ) -> Result<[i64; 3], StoreError> {
        let conditions = Conditions::filter(workspace, filter, self.store.backend())?;
        let sql = format!(
            "SELECT m.sentiment, COUNT(*) AS mentions FROM mentions m WHERE {} GROUP BY m.sentiment",
            conditions.sql
        );
        let rows = sqlx::query_with(sqlx::AssertSqlSafe(sql), conditions.arguments)
            .fetch_all(self.store.pool())
            .await?;
        let mut counts = [0; 3];
        for row in &rows {
            let label: String = row.try_get("sentiment")?;
            let index = match label_from_text("mentions.sentiment", &label)? {
                SentimentLabel::Negative => 0,
                SentimentLabel::Neutral => 1,
                SentimentLabel::Positive => 2,
            };
            counts[index] = row.try_get("mentions")?;
        }
        Ok(counts)
    }

    /// Sets a person's label on a mention. The model's label stays in
    /// `sentiment_model`; the caller writes the audit entry.
    pub async fn correct_sentiment(
        &self,
        workspace: WorkspaceId,
        id: MentionId,
        label: SentimentLabel,
        actor: UserId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE mentions SET sentiment = $1, sentiment_corrected_by = $2, sentiment_corrected_at = $3 \
             WHERE workspace_id = $4 AND id = $5",
        )
        .bind(label.as_str())
        .bind(actor.get())
        .bind(now.millis())
        .bind(workspace.get())
        .bind(id.get())
        .execute(self.store.pool())
        .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "mention" });
        }
        Ok(())
    }

    /// Every corrected mention of the workspace as `(text, lang, label)`, oldest
    /// correction first, for `atalaya_text`'s corrections.
    pub async fn corrections(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Vec<(String, String, SentimentLabel)>, StoreError> {
        let rows = sqlx::query(
            "SELECT text, lang, sentiment FROM mentions WHERE workspace_id = $1 AND sentiment_corrected_at IS NOT NULL \
             ORDER BY sentiment_corrected_at, id",
        )
        .bind(workspace.get())
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let label: String = row.try_get("sentiment")?;
                Ok((
                    row.try_get("text")?,
                    row.try_get("lang")?,
                    label_from_text("mentions.sentiment", &label)?,
                ))
            })
            .collect()
    }

    /// Mentions matching `filter` per time bucket of `bucket_millis` (a
    /// divisor of a day: hours or quarter hours, so callers can fold the
    /// buckets into days of any time zone) and effective sentiment, oldest
    /// first. Buckets without mentions are absent.
    pub async fn sentiment_histogram(
        &self,
        workspace: WorkspaceId,
        filter: &MentionFilter,
        bucket_millis: i64,
    ) -> Result<Vec<SentimentBucket>, StoreError> {
        let bucket_millis = bucket_millis.max(60_000);
        let mut conditions = Conditions::filter(workspace, filter, self.store.backend())?;
        let width = conditions.bind(bucket_millis)?;
        let sql = format!(
            "SELECT m.published_at / {width} AS bucket, m.sentiment, COUNT(*) AS mentions FROM mentions m \
             WHERE {} GROUP BY bucket, m.sentiment ORDER BY bucket, m.sentiment",
            conditions.sql
        );
        let rows = sqlx::query_with(sqlx::AssertSqlSafe(sql), conditions.arguments)
            .fetch_all(self.store.pool())
            .await?;
        rows.iter()
            .map(|row| {
                let bucket: i64 = row.try_get("bucket")?;
                let label: String = row.try_get("sentiment")?;
                Ok(SentimentBucket {
                    start: Timestamp(bucket * bucket_millis),
                    sentiment: label_from_text("mentions.sentiment", &label)?,
                    count: row.try_get("mentions")?,
                })
            })
            .collect()
    }

    /// Like [`Mentions::sentiment_histogram`], per topic instead of sentiment:
    /// a mention of two topics counts once for each.
    pub async fn topic_histogram(
        &self,
        workspace: WorkspaceId,
        filter: &MentionFilter,
        bucket_millis: i64,
    ) -> Result<Vec<TopicBucket>, StoreError> {
        let bucket_millis = bucket_millis.max(60_000);
        let mut conditions = Conditions::filter(workspace, filter, self.store.backend())?;
        let width = conditions.bind(bucket_millis)?;
        let topic_condition = match filter.topic {
            Some(topic) => format!(" AND mt.topic_id = {}", conditions.bind(topic.get())?),
            None => String::new(),
        };
        let sql = format!(
            "SELECT m.published_at / {width} AS bucket, mt.topic_id, COUNT(*) AS mentions \
             FROM mentions m JOIN mention_topics mt ON mt.mention_id = m.id \
             WHERE {}{topic_condition} GROUP BY bucket, mt.topic_id ORDER BY bucket, mt.topic_id",
            conditions.sql
        );
        let rows = sqlx::query_with(sqlx::AssertSqlSafe(sql), conditions.arguments)
            .fetch_all(self.store.pool())
            .await?;
        rows.iter()
            .map(|row| {
                let bucket: i64 = row.try_get("bucket")?;
                Ok(TopicBucket {
                    start: Timestamp(bucket * bucket_millis),
                    topic_id: TopicId(row.try_get("topic_id")?),
                    count: row.try_get("mentions")?,
                })
            })
            .collect()
    }

    /// Authors of the workspace whose handle or name contains `text` (case
    /// folded; `%` and `_` match themselves), with how many stored mentions
    /// each has, the most active first.
    pub async fn search_authors(
        &self,
        workspace: WorkspaceId,
        text: &str,
        limit: i64,
    ) -> Result<Vec<(Author, i64)>, StoreError> {
        let escaped: String = text
            .trim()
            .to_lowercase()
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                other => vec![other],
            })
            .collect();
        let pattern = format!("%{escaped}%");
        let rows = sqlx::query(
            "SELECT a.id, a.network, a.handle, a.name, a.followers, a.profile_url, \
             (SELECT COUNT(*) FROM mentions m WHERE m.author_id = a.id) AS mentions \
             FROM authors a WHERE a.workspace_id = $1 \
             AND (LOWER(a.handle) LIKE $2 ESCAPE '\\' OR LOWER(COALESCE(a.name, '')) LIKE $2 ESCAPE '\\') \
             ORDER BY mentions DESC, a.id LIMIT $3",
        )
        .bind(workspace.get())
        .bind(pattern)
        .bind(limit.clamp(1, 100))
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    Author {
                        id: AuthorId(row.try_get("id")?),
                        workspace_id: workspace,
                        network: row.try_get("network")?,
                        handle: row.try_get("handle")?,
                        name: row.try_get("name")?,
                        followers: row.try_get("followers")?,
                        profile_url: row.try_get("profile_url")?,
                    },
                    row.try_get("mentions")?,
                ))
            })
            .collect()
    }

    /// Mentions per UTC day and topic, published in `[from, to)`, by day then topic.
    pub async fn daily_counts(
        &self,
        workspace: WorkspaceId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<DailyCount>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.published_at / 86400000 AS day_number, mt.topic_id, COUNT(*) AS mentions \
             FROM mention_topics mt JOIN mentions m ON m.id = mt.mention_id \
             WHERE m.workspace_id = $1 AND m.published_at >= $2 AND m.published_at < $3 \
             GROUP BY m.published_at / 86400000, mt.topic_id ORDER BY day_number, mt.topic_id",
        )
        .bind(workspace.get())
        .bind(from.millis())
        .bind(to.millis())
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DailyCount {
                    day: utc_day(row.try_get("day_number")?)?,
                    topic_id: TopicId(row.try_get("topic_id")?),
                    count: row.try_get("mentions")?,
                })
            })
            .collect()
    }

    /// Loads the topic hits of `mentions` in one query.
    async fn attach_topics(&self, mentions: &mut [Mention]) -> Result<(), StoreError> {
        if mentions.is_empty() {
            return Ok(());
        }
        let mut arguments = AnyArguments::default();
        for mention in mentions.iter() {
            push(&mut arguments, mention.id.get())?;
        }
        let placeholders = dialect::value_list(self.store.backend(), mentions.len());
        let sql = format!(
            "SELECT mention_id, topic_id, spans FROM mention_topics WHERE mention_id IN ({placeholders}) \
             ORDER BY mention_id, topic_id"
        );
        let rows = sqlx::query_with(sqlx::AssertSqlSafe(sql), arguments)
            .fetch_all(self.store.pool())
            .await?;
        let mut hits: HashMap<i64, Vec<TopicHit>> = HashMap::new();
        for row in &rows {
            let spans: String = row.try_get("spans")?;
            hits.entry(row.try_get("mention_id")?)
                .or_default()
                .push(TopicHit {
                    topic_id: TopicId(row.try_get("topic_id")?),
                    spans: spans_from_json(&spans)?,
                });
        }
        for mention in mentions {
            mention.topics = hits.remove(&mention.id.get()).unwrap_or_default();
        }
        Ok(())
    }
}

/// Upserted authors as `(cache key, row)`, to remember once committed.
type UpsertedAuthors = Vec<(String, CachedAuthor)>;

/// Upserts the authors of `mentions` (each once, skipping those `cache` knows
/// unchanged) and returns their ids by `(network, handle)`, with the rows the
/// upsert returned. A known author keeps values the new mention does not state.
async fn upsert_authors<'m>(
    transaction: &mut Transaction<'_, Any>,
    workspace: WorkspaceId,
    mentions: &[&NewMention<'m>],
    now: Timestamp,
    cache: &AuthorCache,
) -> Result<(HashMap<(&'m str, &'m str), i64>, UpsertedAuthors), StoreError> {
    let mut seen = HashSet::new();
    let mut ids = HashMap::with_capacity(mentions.len());
    let mut scratch = String::new();
    let authors: Vec<NewAuthor<'m>> = mentions
        .iter()
        .filter_map(|mention| mention.author)
        .filter(|author| seen.insert((author.network, author.handle)))
        .filter(
            |author| match cache.unchanged(workspace, author, &mut scratch) {
                Some(id) => {
                    ids.insert((author.network, author.handle), id);
                    false
                }
                None => true,
            },
        )
        .collect();
    let mut upserted = Vec::with_capacity(authors.len());
    for chunk in authors.chunks(AUTHOR_CHUNK) {
        let mut arguments = AnyArguments::default();
        for author in chunk {
            push(&mut arguments, workspace.get())?;
            push(&mut arguments, author.network)?;
            push(&mut arguments, author.handle)?;
            push(&mut arguments, author.name)?;
            push(&mut arguments, author.followers)?;
            push(&mut arguments, author.profile_url)?;
            push(&mut arguments, now.millis())?;
        }
        let sql = format!(
            "INSERT INTO authors (workspace_id, network, handle, name, followers, profile_url, created_at) VALUES {} \
             ON CONFLICT (workspace_id, network, handle) DO UPDATE SET \
             name = COALESCE(excluded.name, authors.name), followers = COALESCE(excluded.followers, authors.followers), \
             profile_url = COALESCE(excluded.profile_url, authors.profile_url) \
             RETURNING id, network, handle, name, followers, profile_url",
            dialect::value_rows(Backend::Postgres, chunk.len(), 7)
        );
        let rows = sqlx::query_with(sqlx::AssertSqlSafe(sql), arguments)
            .fetch_all(&mut **transaction)
            .await?;
        let mut by_key: HashMap<(String, String), CachedAuthor> = rows
            .iter()
            .map(|row| {
                Ok((
                    (row.try_get("network")?, row.try_get("handle")?),
                    CachedAuthor {
                        id: row.try_get("id")?,
                        name: row.try_get("name")?,
                        followers: row.try_get("followers")?,
                        profile_url: row.try_get("profile_url")?,
                    },
                ))
            })
            .collect::<Result<_, sqlx::Error>>()?;
        for author in chunk {
            let key = (author.network.to_owned(), author.handle.to_owned());
            if let Some(row) = by_key.remove(&key) {
                ids.insert((author.network, author.handle), row.id);
                upserted.push((AuthorCache::key(workspace, author), row));
            }
        }
    }
    Ok((ids, upserted))
}

/// `YYYY-MM-DD` of the UTC day numbered `day_number` since 1970-01-01.
fn utc_day(day_number: i64) -> Result<String, StoreError> {
    let date = time::OffsetDateTime::from_unix_timestamp(day_number * 86_400)
        .map_err(|error| StoreError::CorruptValue {
            column: "mentions.published_at",
            message: error.to_string(),
        })?
        .date();
    Ok(format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite's full-text index is written by `insert_batch`, not by a trigger
    /// (migration 0102): after batches with repeats, a text edit and a delete,
    /// FTS5's own check finds it in step with the mentions it indexes.
    #[tokio::test]
    #[allow(clippy::unwrap_used)]
    async fn the_sqlite_full_text_index_matches_the_stored_mentions() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        let workspace = store
            .workspaces()
            .create("fts", "FTS", false)
            .await
            .unwrap()
            .id;
        let source = crate::NewSource {
            kind: "import",
            name: "Import",
            config: serde_json::json!({}),
            sealed_secret: None,
            account_id: None,
            enabled: true,
        };
        let source = store
            .sources()
            .create(workspace, source, Timestamp(0))
            .await
            .unwrap()
            .id;
        let ids: Vec<String> = (0..1_200).map(|index| format!("item-{index}")).collect();
        let texts: Vec<String> = (0..1_200)
            .map(|index| format!("Pedido {index} llegó con el café frío"))
            .collect();
        let row = |index: usize| NewMention {
            source_id: source,
            external_id: &ids[index],
            url: None,
            canonical_url: None,
            title: None,
            text: &texts[index],
            content_raw: &texts[index],
            author: None,
            lang: "es",
            lang_confidence: 1.0,
            sentiment: SentimentLabel::Neutral,
            sentiment_score: 0.0,
            sentiment_confidence: 1.0,
            topics: &[],
            published_at: Timestamp(0),
        };
        let first: Vec<NewMention<'_>> = (0..700).map(row).collect();
        let second: Vec<NewMention<'_>> = (600..1_200).map(row).collect();
        for batch in [&first, &second] {
            store
                .mentions()
                .insert_batch(workspace, batch, Timestamp(0))
                .await
                .unwrap();
        }
        sqlx::query(
            "UPDATE mentions SET text = 'Pedido editado: té caliente' WHERE external_id = 'item-5'",
        )
        .execute(store.pool())
        .await
        .unwrap();
        sqlx::query("DELETE FROM mentions WHERE external_id = 'item-900'")
            .execute(store.pool())
            .await
            .unwrap();

        // With rank 1, the check also compares the index with the content table.
        sqlx::query("INSERT INTO mentions_fts (mentions_fts, rank) VALUES ('integrity-check', 1)")
            .execute(store.pool())
            .await
            .unwrap();
        let count = |search: &str| {
            let filter = MentionFilter {
                search: Some(search.to_owned()),
                ..MentionFilter::default()
            };
            let store = store.clone();
            async move { store.mentions().count(workspace, &filter).await.unwrap() }
        };
        assert_eq!(
            count("cafe").await,
            1_198,
            "every stored row but the edited and the deleted"
        );
        assert_eq!(count("te caliente").await, 1);
        assert_eq!(count("1199").await, 1);
    }

    #[test]
    fn spans_round_trip() {
        let spans = vec![
            MatchSpan { start: 0, end: 4 },
            MatchSpan { start: 10, end: 15 },
        ];
        assert_eq!(spans_json(&spans), "[[0,4],[10,15]]");
        assert_eq!(spans_from_json(&spans_json(&spans)).ok(), Some(spans));
        assert_eq!(spans_json(&[]), "[]");
    }

    #[test]
    fn utc_days() {
        fn check(day_number: i64, expected: &str) {
            assert_eq!(
                utc_day(day_number).ok().as_deref(),
                Some(expected),
                "{day_number}"
            );
        }
        check(0, "1970-01-01");
        check(20_000, "2024-10-04");
        check(1_776_816_000_000 / 86_400_000, "2026-04-22");
    }
}
