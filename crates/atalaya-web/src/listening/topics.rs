//! Topics: validating what a person typed (name, kind, colour, and a query that
//! must parse, with the parser's positioned message in their language), saving
//! it with an audit entry, and the live "test this query" over stored mentions.

use std::collections::HashMap;

use atalaya_domain::{Mention, Permission, Timestamp, Topic, TopicId, TopicKind, UiLang, User};
use atalaya_store::{MentionFilter, NewTopic};
use atalaya_text::query::{Document, MatchScratch, MessageLang, QuerySet, parse};
use serde::Deserialize;

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
    let error = parse(query).err()?;
    let mut field = FieldError::new("query", "validation.query");
    field
        .args
        .push(("message", error.message(message_lang(lang))));
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

pub async fn create(
    state: &AppState,
    access: &WorkspaceAccess,
    actor: &User,
    input: &TopicInput,
    lang: UiLang,
) -> Result<Topic, AppError> {
    access.ensure(Permission::Configure)?;
    validate(input, lang)?;
    let topic = state
        .store()
        .topics()
        .create(access.workspace.id, new_topic(input), Timestamp::now())
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
    Ok(topic)
}

pub async fn update(
    state: &AppState,
    access: &WorkspaceAccess,
    actor: &User,
    id: TopicId,
    input: &TopicInput,
    lang: UiLang,
) -> Result<Topic, AppError> {
    access.ensure(Permission::Configure)?;
    validate(input, lang)?;
    let topic = state
        .store()
        .topics()
        .update(access.workspace.id, id, new_topic(input), Timestamp::now())
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
    Ok(topic)
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

/// Runs `query` over the newest stored mentions of the workspace (and over
/// `sample`, a text the person typed, when given).
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
    let set = QuerySet::compile([(0_u8, parsed)]);
    let store = state.store();
    let workspace = access.workspace.id;
    let source_kinds: HashMap<_, _> = store
        .sources()
        .list(workspace)
        .await?
        .into_iter()
        .map(|source| (source.id, source.kind))
        .collect();
    let mut scratch = MatchScratch::new();
    let mut result = TestResult {
        scanned: 0,
        matched: 0,
        examples: Vec::new(),
        sample: None,
    };
    let mut filter = MentionFilter {
        limit: 1_000,
        ..MentionFilter::default()
    };
    while result.scanned < TEST_WINDOW {
        let page = store.mentions().list(workspace, &filter).await?;
        let Some(last) = page.last() else { break };
        filter.before = Some((last.published_at, last.id));
        let page_len = page.len();
        for mention in page.into_iter().take(TEST_WINDOW - result.scanned) {
            result.scanned += 1;
            let document = Document {
                text: &mention.text,
                author: mention.author.as_ref().map(|author| author.handle.as_str()),
                url: mention.url.as_deref(),
                lang: Some(&mention.lang),
                source: source_kinds.get(&mention.source_id).map(String::as_str),
            };
            let Some(found) = set
                .matches_with(&document, &mut scratch)
                .found
                .into_iter()
                .next()
            else {
                continue;
            };
            result.matched += 1;
            if result.examples.len() < TEST_SHOWN {
                let spans: Vec<(usize, usize)> = found
                    .spans
                    .iter()
                    .map(|span| (span.range.start, span.range.end))
                    .collect();
                result.examples.push(TestMatch {
                    segments: highlight(&mention.text, &spans),
                    spans,
                    matched: true,
                    mention: Some(mention),
                });
            }
        }
        if page_len < 1_000 {
            break;
        }
    }
    if let Some(text) = sample.map(str::trim).filter(|text| !text.is_empty()) {
        let found = set.matches_with(&Document::new(text), &mut scratch).found;
        let spans: Vec<(usize, usize)> = found
            .first()
            .map(|hit| {
                hit.spans
                    .iter()
                    .map(|span| (span.range.start, span.range.end))
                    .collect()
            })
            .unwrap_or_default();
        result.sample = Some(TestMatch {
            mention: None,
            matched: !found.is_empty(),
            segments: highlight(text, &spans),
            spans,
        });
    }
    Ok(TestOutcome::Valid(Box::new(result)))
}
