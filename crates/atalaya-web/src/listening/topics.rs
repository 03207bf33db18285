//! Topics: validating what a person typed (name, kind, colour, and a query that
//! must parse and stay within the matching budget, with the message in their
//! language), saving it with an audit entry, and the live "test this query"
//! over stored mentions.
//!
//! Saving a topic that will match differently (created active, a new query,
//! switched back on) also queues a backfill of the stored mentions of the last
//! [`ListeningSettings::backfill_days`](super::ListeningSettings) days, in the
//! same transaction (the store does it); [`backfill_state`] and
//! [`backfill_states`] tell the pages how far it got.
//!
//! The live test's matching is CPU work on texts strangers wrote, so it runs
//! on a blocking thread, a page of mentions at a time, and stops as soon as
//! the request is dropped (the client went away): [`CancelOnDrop`] raises a
//! flag the matching loop checks between mentions, and every mention's match
//! is bounded by the matcher's work budget.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use atalaya_domain::{
    Mention, Permission, SourceId, Timestamp, Topic, TopicBackfill, TopicId, TopicKind, UiLang,
    User,
};
use atalaya_store::{BackfillRequest, MentionFilter, NewTopic};
use atalaya_text::query::{
    Document, MatchScratch, MessageLang, QuerySet, TooExpensive, check_cost, parse,
};
use serde::{Deserialize, Serialize};

use super::audit;
use super::mentions::{Segment, highlight};
use crate::AppState;
use crate::access::WorkspaceAccess;
use crate::audit_actions;
use crate::error::{AppError, FieldError};

/// How many of the newest stored mentions the live query test looks at: enough
/// to judge a query, few enough to answer while the person types.
pub const TEST_WINDOW: usize = 2_000;
/// How many matching mentions the test shows.
pub const TEST_SHOWN: usize = 10;
const MAX_NAME_CHARS: usize = 80;
const MAX_QUERY_CHARS: usize = 4_000;
/// How long a backfill waits before it starts: the ingest pipeline trusts a
/// workspace's compiled topics for up to 2 s, so mentions it stores in that
/// time with the old query are already stored when the backfill scans.
const BACKFILL_DELAY_MILLIS: i64 = 3_000;
const DAY_MILLIS: i64 = 86_400_000;

/// A topic with its latest backfill, as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TopicWithBackfill {
    #[serde(flatten)]
    pub topic: Topic,
    /// The latest re-matching of the stored mentions, if the topic ever had one:
    /// `scanned` of `total` while it runs, `matched` in the window once done.
    pub backfill: Option<TopicBackfill>,
}

/// A topic as a form or a JSON body gives it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct TopicInput {
    pub name: String,
    pub kind: TopicKind,
    /// A query in the listening query language.
    pub query: String,
    /// `#rrggbb`; a colour per kind is chosen when absent.
    #[serde(default)]
    pub color: Option<String>,
    #[serde(default = "default_true")]
    pub active: bool,
}

fn default_true() -> bool {
    true
}

pub fn message_lang(lang: UiLang) -> MessageLang {
    match lang {
        UiLang::Es => MessageLang::Es,
        UiLang::En => MessageLang::En,
    }
}

/// The field error for a query that does not parse: the parser's message, in
/// the caller's language, naming the column and what was expected.
pub fn query_error(query: &str, lang: UiLang) -> Option<FieldError> {
    if query.trim().is_empty() {
        return Some(FieldError::new("query", "validation.empty"));
    }
    if query.chars().count() > MAX_QUERY_CHARS {
        let mut error = FieldError::new("query", "validation.too_long");
        error.args.push(("max", MAX_QUERY_CHARS.to_string()));
        return Some(error);
    }
    let message = match parse(query) {
        Err(error) => error.message(message_lang(lang)),
        // A query that parses must also be affordable on a long mention of
        // its own words, or the pipeline would skip it there.
        Ok(parsed) => check_cost(&parsed).err()?.message(message_lang(lang)),
    };
    let mut field = FieldError::new("query", "validation.query");
    field.args.push(("message", message));
    Some(field)
}

fn default_color(kind: TopicKind) -> &'static str {
    match kind {
        TopicKind::Brand => "#1f6feb",
        TopicKind::Product => "#2da44e",
        TopicKind::Competitor => "#cf222e",
        TopicKind::Campaign => "#bf8700",
        TopicKind::Sector => "#8250df",
    }
}

fn is_color(text: &str) -> bool {
    text.len() == 7
        && text.starts_with('#')
        && text[1..].bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// Checks every field, reporting all problems at once.
pub fn validate(input: &TopicInput, lang: UiLang) -> Result<(), AppError> {
    let mut fields = Vec::new();
    let name = input.name.trim();
    if name.is_empty() {
        fields.push(FieldError::new("name", "validation.empty"));
    } else if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        fields.push(FieldError::new("name", "validation.topic_name"));
    }
    if let Some(color) = input.color.as_deref().map(str::trim)
        && !color.is_empty()
        && !is_color(color)
    {
        fields.push(FieldError::new("color", "validation.color"));
    }
    fields.extend(query_error(&input.query, lang));
    if fields.is_empty() {
        Ok(())
    } else {
        Err(AppError::InvalidInput {
            fields,
            detail: None,
        })
    }
}

fn new_topic(input: &TopicInput) -> NewTopic<'_> {
    let color = input
        .color
        .as_deref()
        .map(str::trim)
        .filter(|color| !color.is_empty())
        .unwrap_or(default_color(input.kind));
    NewTopic {
        name: input.name.trim(),
        kind: input.kind,
        query: input.query.trim(),
        color,
        active: input.active,
    }
}

/// The backfill a change made now asks for: the configured look-back window,
/// starting after [`BACKFILL_DELAY_MILLIS`].
fn backfill_request(state: &AppState, now: Timestamp) -> BackfillRequest {
    let days = i64::from(state.listening().backfill_days);
    BackfillRequest {
        window_from: now.plus_millis(-days * DAY_MILLIS),
        run_after: now.plus_millis(BACKFILL_DELAY_MILLIS),
    }
}

pub async fn create(
    state: &AppState,
    access: &WorkspaceAccess,
    actor: &User,
    input: &TopicInput,
    lang: UiLang,
) -> Result<TopicWithBackfill, AppError> {
    access.ensure(Permission::Configure)?;
    validate(input, lang)?;
    let now = Timestamp::now();
    let (topic, backfill) = state
        .store()
        .topics()
        .create_backfilled(
            access.workspace.id,
            new_topic(input),
            backfill_request(state, now),
            now,
        )
        .await?;
    audit(
        state,
        access,
        actor,
        audit_actions::TOPIC_CREATED,
        &topic.name,
        serde_json::json!({ "topic_id": topic.id, "kind": topic.kind, "query": topic.query }),
    )
    .await?;
    Ok(TopicWithBackfill { topic, backfill })
}

pub async fn update(
    state: &AppState,
    access: &WorkspaceAccess,
    actor: &User,
    id: TopicId,
    input: &TopicInput,
    lang: UiLang,
) -> Result<TopicWithBackfill, AppError> {
    access.ensure(Permission::Configure)?;
    validate(input, lang)?;
    let now = Timestamp::now();
    let (topic, started) = state
        .store()
        .topics()
        .update_backfilled(
            access.workspace.id,
            id,
            new_topic(input),
            backfill_request(state, now),
            now,
        )
        .await?;
    audit(
        state,
        access,
        actor,
        audit_actions::TOPIC_UPDATED,
        &topic.name,
        serde_json::json!({ "topic_id": topic.id, "kind": topic.kind, "query": topic.query, "active": topic.active }),
    )
    .await?;
    // An unchanged query keeps the previous backfill as the latest one.
    let backfill = match started {
        Some(backfill) => Some(backfill),
        None => {
            state
                .store()
                .backfills()
                .latest(access.workspace.id, topic.id)
                .await?
        }
    };
    Ok(TopicWithBackfill { topic, backfill })
}

/// The latest backfill of one topic of the workspace (`None` if it never had
/// one), for a page that shows "Re-analysing 3,200 of 12,000 stored mentions"
/// or "812 mentions found in the last 90 days".
pub async fn backfill_state(
    state: &AppState,
    access: &WorkspaceAccess,
    topic: TopicId,
) -> Result<Option<TopicBackfill>, AppError> {
    access.ensure(Permission::Read)?;
    Ok(state
        .store()
        .backfills()
        .latest(access.workspace.id, topic)
        .await?)
}

/// The latest backfill of every topic of the workspace that had one, by topic.
pub async fn backfill_states(
    state: &AppState,
    access: &WorkspaceAccess,
) -> Result<HashMap<TopicId, TopicBackfill>, AppError> {
    access.ensure(Permission::Read)?;
    Ok(state
        .store()
        .backfills()
        .latest_per_topic(access.workspace.id)
        .await?
        .into_iter()
        .map(|backfill| (backfill.topic_id, backfill))
        .collect())
}

/// The workspace's topics with their latest backfills, as the API lists them.
pub async fn list_with_backfills(
    state: &AppState,
    access: &WorkspaceAccess,
) -> Result<Vec<TopicWithBackfill>, AppError> {
    let mut backfills = backfill_states(state, access).await?;
    Ok(state
        .store()
        .topics()
        .list(access.workspace.id)
        .await?
        .into_iter()
        .map(|topic| TopicWithBackfill {
            backfill: backfills.remove(&topic.id),
            topic,
        })
        .collect())
}

pub async fn delete(
    state: &AppState,
    access: &WorkspaceAccess,
    actor: &User,
    id: TopicId,
) -> Result<(), AppError> {
    access.ensure(Permission::Configure)?;
    let topic = state
        .store()
        .topics()
        .get(access.workspace.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    state
        .store()
        .topics()
        .delete(access.workspace.id, id)
        .await?;
    audit(
        state,
        access,
        actor,
        audit_actions::TOPIC_DELETED,
        &topic.name,
        serde_json::json!({ "topic_id": topic.id }),
    )
    .await
}

/// What the live query test found.
#[derive(Debug, Clone)]
pub enum TestOutcome {
    /// The query does not parse: the message and the query with a caret line.
    Invalid {
        message: String,
        caret: String,
    },
    Valid(Box<TestResult>),
}

#[derive(Debug, Clone)]
pub struct TestResult {
    /// Mentions looked at (at most [`TEST_WINDOW`]).
    pub scanned: usize,
    /// How many of them match.
    pub matched: usize,
    /// The newest matches, at most [`TEST_SHOWN`], with their highlighted text.
    pub examples: Vec<TestMatch>,
    /// Whether the optional sample text matches, with its highlighting.
    pub sample: Option<TestMatch>,
}

#[derive(Debug, Clone)]
pub struct TestMatch {
    pub mention: Option<Mention>,
    pub matched: bool,
    pub segments: Vec<Segment>,
    pub spans: Vec<(usize, usize)>,
}

/// Raises its flag when dropped: held by a request's future, it tells the
/// blocking work started for the request that nobody waits for it any more.
#[derive(Debug, Default)]
pub struct CancelOnDrop(Arc<AtomicBool>);

impl CancelOnDrop {
    pub fn new() -> CancelOnDrop {
        CancelOnDrop::default()
    }

    /// The flag, for the blocking work to check.
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// What matching one page of mentions found.
#[derive(Debug, Default)]
pub struct PageOutcome {
    pub scanned: usize,
    pub matched: usize,
    pub examples: Vec<TestMatch>,
    /// The query was too expensive on one of the mentions (matching stopped there).
    pub too_expensive: Option<TooExpensive>,
    /// The flag was raised: the page was abandoned.
    pub cancelled: bool,
}

/// Matches `mentions` (at most `limit` of them) against `set`, keeping at
/// most `room` examples; stops when `cancelled` is raised or the query turns
/// out too expensive. CPU-bound: call it on a blocking thread.
pub fn match_page(
    set: &QuerySet<u8>,
    mentions: Vec<Mention>,
    source_kinds: &HashMap<SourceId, String>,
    limit: usize,
    room: usize,
    cancelled: &AtomicBool,
) -> PageOutcome {
    let mut outcome = PageOutcome::default();
    let mut scratch = MatchScratch::new();
    for mention in mentions.into_iter().take(limit) {
        if cancelled.load(Ordering::Relaxed) {
            outcome.cancelled = true;
            return outcome;
        }
        outcome.scanned += 1;
        let document = Document {
            text: &mention.text,
            author: mention.author.as_ref().map(|author| author.handle.as_str()),
            url: mention.url.as_deref(),
            lang: Some(&mention.lang),
            // The network, as ingest and backfills match `source:` against.
            source: source_kinds
                .get(&mention.source_id)
                .map(|kind| atalaya_domain::network_of(kind)),
        };
        let matches = set.matches_with(&document, &mut scratch);
        if !matches.too_expensive.is_empty() {
            outcome.too_expensive = Some(too_expensive(set, &mention.text, matches.analysed_bytes));
            return outcome;
        }
        let Some(found) = matches.found.into_iter().next() else {
            continue;
        };
        outcome.matched += 1;
        if outcome.examples.len() < room {
            let spans: Vec<(usize, usize)> = found
                .spans
                .iter()
                .map(|span| (span.range.start, span.range.end))
                .collect();
            outcome.examples.push(TestMatch {
                segments: highlight(&mention.text, &spans),
                spans,
                matched: true,
                mention: Some(mention),
            });
        }
    }
    outcome
}

fn too_expensive(set: &QuerySet<u8>, text: &str, analysed_bytes: usize) -> TooExpensive {
    let chars = text[..analysed_bytes].chars().count();
    TooExpensive {
        limit: set.limits().work_limit(chars),
        chars,
    }
}

/// Matches the sample text a person typed: the example, or why it cannot be.
fn match_sample(set: &QuerySet<u8>, text: &str) -> Result<TestMatch, TooExpensive> {
    let matches = set.matches(&Document::new(text));
    if !matches.too_expensive.is_empty() {
        return Err(too_expensive(set, text, matches.analysed_bytes));
    }
    let spans: Vec<(usize, usize)> = matches
        .found
        .first()
        .map(|hit| {
            hit.spans
                .iter()
                .map(|span| (span.range.start, span.range.end))
                .collect()
        })
        .unwrap_or_default();
    Ok(TestMatch {
        mention: None,
        matched: !matches.found.is_empty(),
        segments: highlight(text, &spans),
        spans,
    })
}

fn expensive_outcome(error: &TooExpensive, lang: UiLang) -> TestOutcome {
    TestOutcome::Invalid {
        message: error.message(message_lang(lang)),
        caret: String::new(),
    }
}

/// Runs `query` over the newest stored mentions of the workspace (and over
/// `sample`, a text the person typed, when given). Matching runs on blocking
/// threads and stops when this future is dropped.
pub async fn test_query(
    state: &AppState,
    access: &WorkspaceAccess,
    query: &str,
    sample: Option<&str>,
    lang: UiLang,
) -> Result<TestOutcome, AppError> {
    let parsed = match parse(query) {
        Ok(parsed) => parsed,
        Err(error) => {
            return Ok(TestOutcome::Invalid {
                message: error.message(message_lang(lang)),
                caret: error.render_caret(query),
            });
        }
    };
    let set = Arc::new(QuerySet::compile([(0_u8, parsed)]));
    let cancel = CancelOnDrop::new();
    let mut result = TestResult {
        scanned: 0,
        matched: 0,
        examples: Vec::new(),
        sample: None,
    };
    // The sample first: it is what the person is looking at.
    if let Some(text) = sample.map(str::trim).filter(|text| !text.is_empty()) {
        let (set, text) = (Arc::clone(&set), text.to_owned());
        let sample = tokio::task::spawn_blocking(move || match_sample(&set, &text))
            .await
            .map_err(AppError::internal)?;
        match sample {
            Ok(sample) => result.sample = Some(sample),
            Err(error) => return Ok(expensive_outcome(&error, lang)),
        }
    }
    let store = state.store();
    let workspace = access.workspace.id;
    let source_kinds: Arc<HashMap<SourceId, String>> = Arc::new(
        store
            .sources()
            .list(workspace)
            .await?
            .into_iter()
            .map(|source| (source.id, source.kind))
            .collect(),
    );
    let mut filter = MentionFilter {
        limit: 1_000,
        ..MentionFilter::default()
    };
    while result.scanned < TEST_WINDOW {
        let page = store.mentions().list(workspace, &filter).await?;
        let Some(last) = page.last() else { break };
        filter.before = Some((last.published_at, last.id));
        let page_len = page.len();
        let (set, kinds, flag) = (Arc::clone(&set), Arc::clone(&source_kinds), cancel.flag());
        let (limit, room) = (
            TEST_WINDOW - result.scanned,
            TEST_SHOWN - result.examples.len(),
        );
        let outcome =
            tokio::task::spawn_blocking(move || match_page(&set, page, &kinds, limit, room, &flag))
                .await
                .map_err(AppError::internal)?;
        if let Some(error) = outcome.too_expensive {
            return Ok(expensive_outcome(&error, lang));
        }
        result.scanned += outcome.scanned;
        result.matched += outcome.matched;
        result.examples.extend(outcome.examples);
        if page_len < 1_000 {
            break;
        }
    }
    Ok(TestOutcome::Valid(Box::new(result)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn mention(text: &str) -> Mention {
        serde_json::from_value(serde_json::json!({
            "id": 1, "workspace_id": 1, "source_id": 1, "external_id": "x", "url": null,
            "title": null, "text": text, "author": null, "lang": "es", "sentiment": "neutral",
            "sentiment_score": 0.0, "sentiment_confidence": 0.0, "sentiment_model": "neutral",
            "sentiment_corrected": false, "topics": [], "published_at": 0, "ingested_at": 0
        }))
        .unwrap()
    }

    #[test]
    fn dropping_the_request_raises_the_flag_and_the_page_stops() {
        let cancel = CancelOnDrop::new();
        let flag = cancel.flag();
        assert!(!flag.load(Ordering::Relaxed));
        drop(cancel);
        assert!(flag.load(Ordering::Relaxed));
        let set = QuerySet::compile([(0_u8, parse("lumen").unwrap())]);
        let page = vec![mention("lumen"), mention("lumen otra vez")];
        let outcome = match_page(&set, page.clone(), &HashMap::new(), 10, 10, &flag);
        assert!(outcome.cancelled);
        assert_eq!(outcome.scanned, 0);
        let running = AtomicBool::new(false);
        let outcome = match_page(&set, page, &HashMap::new(), 10, 1, &running);
        assert_eq!(
            (outcome.scanned, outcome.matched, outcome.examples.len()),
            (2, 2, 1)
        );
    }

    #[test]
    fn a_query_too_expensive_on_a_mention_stops_the_page() {
        let set = QuerySet::compile([(
            0_u8,
            parse("(lumen NEAR/1000000 cafe) NEAR/0 lumen").unwrap(),
        )]);
        let page = vec![
            mention("lumen cafe lumen"),
            mention(&"lumen cafe ".repeat(2_000)),
        ];
        let outcome = match_page(&set, page, &HashMap::new(), 10, 10, &AtomicBool::new(false));
        assert_eq!((outcome.scanned, outcome.matched), (2, 1));
        assert!(outcome.too_expensive.is_some());
    }
}
