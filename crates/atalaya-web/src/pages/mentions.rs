//! The mentions stream: filters in the query string (so a saved view is that
//! string), highlighted matches, one-click sentiment correction for agents,
//! links to originals, saved views, keyset pagination and the per-day chart
//! (a static script reads the daily-stats API; the CSP forbids inline code).

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use atalaya_domain::{Mention, MentionId, Permission, SavedViewId, SentimentLabel, Topic, TopicId};
use axum::extract::State;
use axum::response::Redirect;
use serde::Deserialize;

use super::{Shell, done_notice, format_time};
use crate::AppState;
use crate::access::require;
use crate::error::AppError;
use crate::extract::{ApiPath, ApiQuery, Context, CurrentUser, WebForm};
use crate::i18n::Translator;
use crate::listening::mentions::{
    self, MentionQuery, PAGE_SIZE, Segment, cursor_of, highlight, spans_of,
};
use crate::listening::safe_link;

pub struct MentionRow {
    id: i64,
    title: Option<String>,
    segments: Vec<Segment>,
    author: Option<String>,
    link: Option<String>,
    published: String,
    lang: String,
    sentiment: &'static str,
    sentiment_label: &'static str,
    corrected: bool,
    topics: Vec<String>,
}

pub struct ChoiceOption {
    value: String,
    label: String,
}

pub struct ViewRow {
    id: i64,
    name: String,
    query_string: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "mentions.html")]
pub struct MentionsPage {
    t: Translator,
    shell: Shell,
    slug: String,
    filters: MentionQuery,
    filters_query: String,
    topics: Vec<ChoiceOption>,
    sources: Vec<ChoiceOption>,
    sentiments: Vec<ChoiceOption>,
    mentions: Vec<MentionRow>,
    total: i64,
    older: Option<String>,
    views: Vec<ViewRow>,
    can_correct: bool,
    notice: Option<String>,
}

fn sentiment_label(t: Translator, label: SentimentLabel) -> &'static str {
    t.lookup(&format!("sentiment.{}", label.as_str()))
        .unwrap_or(label.as_str())
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    #[serde(flatten)]
    filters: MentionQuery,
    #[serde(default)]
    done: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<MentionsPage, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Read).await?;
    let t = context.t();
    let mut filters = query.filters;
    // The page size is fixed on the page; only the API takes `limit`.
    filters.limit = None;
    let filter = filters.to_filter(PAGE_SIZE)?;
    let store = state.store();
    let workspace = access.workspace.id;
    let topics = store.topics().list(workspace).await?;
    let topic_names: HashMap<TopicId, &Topic> =
        topics.iter().map(|topic| (topic.id, topic)).collect();
    let sources = store.sources().list(workspace).await?;
    let list = store.mentions().list(workspace, &filter).await?;
    let total = store
        .mentions()
        .count(workspace, &without_cursor(&filter))
        .await?;
    let filters_query = filters.filters_query_string();
    let older = (i64::try_from(list.len()).unwrap_or(i64::MAX) >= filter.limit)
        .then(|| list.last().map(cursor_of))
        .flatten()
        .map(|cursor| {
            let separator = if filters_query.is_empty() { "" } else { "&" };
            format!("/w/{slug}/mentions?{filters_query}{separator}before={cursor}")
        });
    let rows = list
        .iter()
        .map(|mention| row(t, mention, filter.topic, &topic_names))
        .collect();
    let views = store.saved_views().list(workspace).await?;
    Ok(MentionsPage {
        t,
        shell: Shell::from_context(&context).in_workspace(&access, "mentions"),
        slug: access.workspace.slug.clone(),
        topics: topics
            .iter()
            .map(|topic| ChoiceOption {
                value: topic.id.get().to_string(),
                label: topic.name.clone(),
            })
            .collect(),
        sources: sources
            .iter()
            .map(|source| ChoiceOption {
                value: source.id.get().to_string(),
                label: source.name.clone(),
            })
            .collect(),
        sentiments: SentimentLabel::ALL
            .into_iter()
            .map(|label| ChoiceOption {
                value: label.as_str().to_owned(),
                label: sentiment_label(t, label).to_owned(),
            })
            .collect(),
        filters,
        filters_query,
        mentions: rows,
        total,
        older,
        views: views
            .into_iter()
            .map(|view| ViewRow {
                id: view.id.get(),
                name: view.name,
                query_string: view.query_string,
            })
            .collect(),
        can_correct: access.allows(Permission::Engage),
        notice: done_notice(t, query.done.as_deref()),
    })
}

/// The same filter over all pages, for the total count.
fn without_cursor(filter: &atalaya_store::MentionFilter) -> atalaya_store::MentionFilter {
    atalaya_store::MentionFilter {
        before: None,
        ..filter.clone()
    }
}

fn row(
    t: Translator,
    mention: &Mention,
    topic: Option<TopicId>,
    topics: &HashMap<TopicId, &Topic>,
) -> MentionRow {
    MentionRow {
        id: mention.id.get(),
        title: mention.title.clone(),
        segments: highlight(&mention.text, &spans_of(mention, topic)),
        author: mention.author.as_ref().map(|author| match &author.name {
            Some(name) if name != &author.handle => format!("{name} ({})", author.handle),
            _ => author.handle.clone(),
        }),
        link: safe_link(mention.url.as_deref()),
        published: format_time(mention.published_at),
        lang: mention.lang.clone(),
        sentiment: mention.sentiment.as_str(),
        sentiment_label: sentiment_label(t, mention.sentiment),
        corrected: mention.sentiment_corrected,
        topics: mention
            .topics
            .iter()
            .filter_map(|hit| topics.get(&hit.topic_id).map(|topic| topic.name.clone()))
            .collect(),
    }
}

#[derive(Debug, Deserialize)]
pub struct CorrectionForm {
    sentiment: String,
    /// Where to come back to (the stream with its filters).
    #[serde(default)]
    back: Option<String>,
}

pub async fn correct(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
    WebForm(form): WebForm<CorrectionForm>,
) -> Result<Redirect, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Engage).await?;
    let label = SentimentLabel::from_code(form.sentiment.trim())
        .ok_or_else(|| AppError::field("sentiment", "validation.sentiment"))?;
    mentions::correct(&state, &access, &caller.user, MentionId(id), label).await?;
    Ok(Redirect::to(&back_to(
        &slug,
        form.back.as_deref(),
        "sentiment_corrected",
    )))
}

/// The stream URL to return to: only our own mentions page, never elsewhere.
fn back_to(slug: &str, back: Option<&str>, done: &str) -> String {
    let base = format!("/w/{slug}/mentions");
    let query = back
        .and_then(super::local_path)
        .and_then(|path| path.strip_prefix(&base))
        .and_then(|rest| rest.strip_prefix('?'))
        .unwrap_or_default();
    if query.is_empty() {
        format!("{base}?done={done}")
    } else {
        format!("{base}?{query}&done={done}")
    }
}

#[derive(Debug, Deserialize)]
pub struct ViewForm {
    name: String,
    #[serde(default)]
    query_string: String,
}

pub async fn save_view(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    WebForm(form): WebForm<ViewForm>,
) -> Result<Redirect, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Read).await?;
    let view = crate::api::mentions::save_view(
        &state,
        &access,
        &caller.user,
        &form.name,
        &form.query_string,
    )
    .await?;
    let separator = if view.query_string.is_empty() {
        ""
    } else {
        "&"
    };
    Ok(Redirect::to(&format!(
        "/w/{slug}/mentions?{}{separator}done=view_saved",
        view.query_string
    )))
}

pub async fn delete_view(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
) -> Result<Redirect, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Read).await?;
    crate::api::mentions::delete_saved_view(&state, &access, &caller.user, SavedViewId(id)).await?;
    Ok(Redirect::to(&format!(
        "/w/{slug}/mentions?done=view_deleted"
    )))
}
