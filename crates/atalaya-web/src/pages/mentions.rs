//! The mentions feed: a dense, scannable list (author, network, time, language,
//! sentiment, topics in their colours, matches highlighted) with filters in
//! the query string (so a saved view is that string), chips for the active
//! filters, a per-day chart of exactly the filtered mentions, sentiment
//! corrected in place (htmx swaps the one mention; without scripts the form
//! posts and comes back to the same place), and older pages loaded as the
//! reader scrolls (a plain link without scripts).

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use atalaya_domain::{
    Mention, MentionId, Permission, SavedViewId, SentimentLabel, Source, SourceId, Timestamp,
    Topic, TopicId,
};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::Shell;
use super::charts::{Chart, ChartSeries};
use crate::AppState;
use crate::access::{WorkspaceAccess, require};
use crate::error::AppError;
use crate::extract::{ApiPath, ApiQuery, Context, CurrentUser, WebForm};
use crate::formats::{Formats, TimeLabel};
use crate::i18n::Translator;
use crate::listening::mentions::{
    self, MentionQuery, PAGE_SIZE, Segment, cursor_of, highlight, spans_of,
};
use crate::listening::periods::{bucket_width, fold_sentiment, range_of};
use crate::listening::safe_link;
use crate::listening::sources::kind_network;
use crate::session::RequestContext;

/// Languages offered in the filter, in this order (the detector's, then "unknown").
const LANGUAGES: [&str; 10] = ["es", "en", "pt", "fr", "it", "de", "ca", "ar", "hi", "und"];
/// Days the chart covers when the filters name none.
const CHART_DAYS: i64 = 30;

pub struct TopicChip {
    pub id: i64,
    pub name: String,
}

/// One mention as the feed shows it.
pub struct MentionRow {
    pub id: i64,
    pub title: Option<String>,
    pub segments: Vec<Segment>,
    pub author_name: String,
    /// The handle, when it adds something to the name.
    pub author_handle: Option<String>,
    pub author_key: String,
    pub author_filter: Option<String>,
    /// "12.400 seguidores", when the network tells.
    pub reach: Option<String>,
    /// `mastodon`, `bluesky`, `rss`, `webhook` or `import` (also the icon's name).
    pub network: &'static str,
    pub network_label: String,
    pub link: Option<String>,
    pub published: TimeLabel,
    pub lang: String,
    pub lang_label: String,
    pub sentiment: &'static str,
    pub sentiment_label: &'static str,
    pub corrected: bool,
    pub model_label: &'static str,
    pub topics: Vec<TopicChip>,
}

pub struct ChoiceOption {
    pub value: String,
    pub label: String,
}

pub struct ViewRow {
    pub id: i64,
    pub name: String,
    pub query_string: String,
    pub current: bool,
}

/// An active filter, with the link that removes it.
pub struct ActiveFilter {
    pub label: String,
    pub remove: String,
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
    languages: Vec<ChoiceOption>,
    active: Vec<ActiveFilter>,
    more_open: bool,
    feed: Feed,
    total: String,
    chart: Chart,
    chart_title: String,
    views: Vec<ViewRow>,
}

/// The list itself: a page of mentions and the link to the next.
pub struct Feed {
    pub slug: String,
    pub csrf: String,
    pub mentions: Vec<MentionRow>,
    pub older: Option<String>,
    pub can_correct: bool,
    /// The feed's own URL (with filters), where corrections come back to.
    pub back: String,
    pub sentiments: Vec<ChoiceOption>,
}

/// The next page of the feed, appended by htmx as the reader scrolls.
#[derive(Template, WebTemplate)]
#[template(path = "mentions/_page.html")]
pub struct FeedPage {
    t: Translator,
    feed: Feed,
}

/// One mention, swapped in place after a correction.
#[derive(Template, WebTemplate)]
#[template(path = "mentions/_one.html")]
pub struct MentionFragment {
    t: Translator,
    feed: Feed,
    mention: MentionRow,
}

pub fn sentiment_label(t: Translator, label: SentimentLabel) -> &'static str {
    t.lookup(&format!("sentiment.{}", label.as_str()))
        .unwrap_or(label.as_str())
}

fn lang_label(t: Translator, code: &str) -> String {
    t.lookup(&format!("lang.{code}"))
        .map_or_else(|| code.to_uppercase(), str::to_owned)
}

/// The network a source's mentions come from, as an icon name.
pub fn network_of(kind: &str) -> &'static str {
    match kind_network(kind) {
        Some(network) => network.as_str(),
        None => match kind {
            "rss" => "rss",
            "webhook" => "webhook",
            _ => "import",
        },
    }
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    #[serde(flatten)]
    filters: MentionQuery,
    #[serde(default)]
    done: Option<String>,
    /// `page`: only the next page of the feed (infinite scroll).
    #[serde(default)]
    fragment: Option<String>,
}

struct Lookups<'a> {
    topics: HashMap<TopicId, &'a Topic>,
    sources: HashMap<SourceId, &'a Source>,
}

pub async fn list(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Response, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Read).await?;
    let t = context.t();
    let formats = Formats::new(t, &access.workspace.time_zone, Timestamp::now());
    let mut filters = query.filters;
    // The page size is fixed on the page; only the API takes `limit`.
    filters.limit = None;
    let filter = filters.to_filter(PAGE_SIZE, &formats)?;
    let store = state.store();
    let workspace = access.workspace.id;
    let topics = store.topics().list(workspace).await?;
    let sources = store.sources().list(workspace).await?;
    let lookups = Lookups {
        topics: topics.iter().map(|topic| (topic.id, topic)).collect(),
        sources: sources.iter().map(|source| (source.id, source)).collect(),
    };
    let list = store.mentions().list(workspace, &filter).await?;
    let filters_query = filters.filters_query_string();
    let feed = feed(
        t,
        &formats,
        &context,
        &access,
        &filters_query,
        filter.topic,
        &list,
        (i64::try_from(list.len()).unwrap_or(i64::MAX) >= filter.limit)
            .then(|| list.last().map(cursor_of))
            .flatten(),
        &lookups,
    );
    if query.fragment.as_deref() == Some("page") {
        return Ok(FeedPage { t, feed }.into_response());
    }

    let total = store
        .mentions()
        .count(
            workspace,
            &atalaya_store::MentionFilter {
                before: None,
                ..filter.clone()
            },
        )
        .await?;
    // The chart counts exactly the filtered mentions, per day of the
    // workspace's zone, over the filter's days (the last 30 when it names none).
    let range = range_of(
        filters.from.as_deref(),
        filters.to.as_deref(),
        &formats,
        CHART_DAYS,
    )
    .or_else(|_| range_of(None, None, &formats, CHART_DAYS))?;
    let (from, to) = range.bounds(&formats);
    let chart_filter = atalaya_store::MentionFilter {
        from: Some(from),
        to: Some(to),
        before: None,
        ..filter.clone()
    };
    let buckets = store
        .mentions()
        .sentiment_histogram(workspace, &chart_filter, bucket_width(&formats, range))
        .await?;
    let [negative, neutral, positive] = fold_sentiment(&formats, range, &buckets);
    let chart = Chart {
        kind: "stacked",
        days: range.days(),
        series: vec![
            ChartSeries {
                label: t.get("sentiment.negative").to_owned(),
                values: negative,
                tone: "negative",
                color: None,
            },
            ChartSeries {
                label: t.get("sentiment.neutral").to_owned(),
                values: neutral,
                tone: "neutral",
                color: None,
            },
            ChartSeries {
                label: t.get("sentiment.positive").to_owned(),
                values: positive,
                tone: "positive",
                color: None,
            },
        ],
        date_label: t.get("chart.day").to_owned(),
        legend: true,
    };
    let chart_title = if filters.from.is_some() || filters.to.is_some() {
        t.fill(
            "mentions.chart_range",
            &[
                ("from", &formats.day(range.from)),
                ("to", &formats.day(range.to)),
            ],
        )
    } else {
        t.count("mentions.chart_last_days", CHART_DAYS)
    };

    let views = store.saved_views().list(workspace).await?;
    let active = active_filters(t, &filters, &lookups, &slug);
    let more_open = [
        &filters.source,
        &filters.lang,
        &filters.author,
        &filters.from,
        &filters.to,
    ]
    .iter()
    .any(|value| {
        value
            .as_deref()
            .is_some_and(|value| !value.trim().is_empty())
    });
    let page = MentionsPage {
        t,
        shell: Shell::workspace(&state, &context, &access, "mentions")
            .await?
            .with_toast(t, query.done.as_deref()),
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
        sentiments: sentiment_options(t),
        languages: LANGUAGES
            .iter()
            .map(|code| ChoiceOption {
                value: (*code).to_owned(),
                label: lang_label(t, code),
            })
            .collect(),
        active,
        more_open,
        total: t.count("mentions.total", total),
        chart,
        chart_title,
        views: views
            .into_iter()
            .map(|view| ViewRow {
                current: view.query_string == filters_query && !filters_query.is_empty(),
                id: view.id.get(),
                name: view.name,
                query_string: view.query_string,
            })
            .collect(),
        filters,
        filters_query,
        feed,
    };
    Ok(page.into_response())
}

fn sentiment_options(t: Translator) -> Vec<ChoiceOption> {
    SentimentLabel::ALL
        .into_iter()
        .map(|label| ChoiceOption {
            value: label.as_str().to_owned(),
            label: sentiment_label(t, label).to_owned(),
        })
        .collect()
}

#[allow(clippy::too_many_arguments)] // One call site each; a struct would only rename them.
fn feed(
    t: Translator,
    formats: &Formats,
    context: &RequestContext,
    access: &WorkspaceAccess,
    filters_query: &str,
    topic: Option<TopicId>,
    list: &[Mention],
    cursor: Option<String>,
    lookups: &Lookups<'_>,
) -> Feed {
    let slug = &access.workspace.slug;
    let separator = if filters_query.is_empty() { "" } else { "&" };
    Feed {
        slug: slug.clone(),
        csrf: context.csrf_token.clone(),
        mentions: list
            .iter()
            .map(|mention| row(t, formats, mention, topic, lookups))
            .collect(),
        older: cursor
            .map(|cursor| format!("/w/{slug}/mentions?{filters_query}{separator}before={cursor}")),
        can_correct: access.allows(Permission::Engage),
        back: if filters_query.is_empty() {
            format!("/w/{slug}/mentions")
        } else {
            format!("/w/{slug}/mentions?{filters_query}")
        },
        sentiments: sentiment_options(t),
    }
}

/// When the mention was published; when its source gave no date, or one that
/// could not be read, it is listed where it arrived and its title says so.
fn published_label(t: Translator, formats: &Formats, mention: &Mention) -> TimeLabel {
    let label = formats.label(mention.published_at);
    if mention.published_at_known() {
        return label;
    }
    TimeLabel {
        exact: t.fill("mentions.date_unknown", &[("received", &label.exact)]),
        ..label
    }
}

fn row(
    t: Translator,
    formats: &Formats,
    mention: &Mention,
    topic: Option<TopicId>,
    lookups: &Lookups<'_>,
) -> MentionRow {
    let kind = lookups
        .sources
        .get(&mention.source_id)
        .map_or("import", |source| source.kind.as_str());
    let network = network_of(kind);
    let source_name = lookups
        .sources
        .get(&mention.source_id)
        .map(|source| source.name.clone());
    let (author_name, author_handle, author_key) = match &mention.author {
        Some(author) => {
            let name = author
                .name
                .clone()
                .filter(|name| !name.trim().is_empty())
                .unwrap_or_else(|| author.handle.clone());
            let handle = (name != author.handle).then(|| author.handle.clone());
            (name, handle, author.handle.clone())
        }
        None => (
            source_name
                .clone()
                .unwrap_or_else(|| t.get("mentions.no_author").to_owned()),
            None,
            source_name.clone().unwrap_or_default(),
        ),
    };
    MentionRow {
        id: mention.id.get(),
        title: mention.title.clone(),
        segments: highlight(&mention.text, &spans_of(mention, topic)),
        author_filter: mention.author.as_ref().map(|author| author.handle.clone()),
        reach: mention
            .author
            .as_ref()
            .and_then(|author| author.followers)
            .filter(|followers| *followers > 0)
            .map(|followers| t.count("mentions.followers", followers)),
        author_name,
        author_handle,
        author_key,
        network,
        network_label: match network {
            "rss" | "webhook" | "import" => source_name.unwrap_or_else(|| {
                t.lookup(&format!("source_kind.{kind}"))
                    .unwrap_or(kind)
                    .to_owned()
            }),
            other => t
                .lookup(&format!("network.{other}"))
                .unwrap_or(other)
                .to_owned(),
        },
        link: safe_link(mention.url.as_deref()),
        published: published_label(t, formats, mention),
        lang_label: lang_label(t, &mention.lang),
        lang: mention.lang.clone(),
        sentiment: mention.sentiment.as_str(),
        sentiment_label: sentiment_label(t, mention.sentiment),
        corrected: mention.sentiment_corrected,
        model_label: sentiment_label(t, mention.sentiment_model),
        topics: mention
            .topics
            .iter()
            .filter_map(|hit| {
                lookups.topics.get(&hit.topic_id).map(|topic| TopicChip {
                    id: topic.id.get(),
                    name: topic.name.clone(),
                })
            })
            .collect(),
    }
}

/// A chip per active filter; each links to the same page without it.
fn active_filters(
    t: Translator,
    filters: &MentionQuery,
    lookups: &Lookups<'_>,
    slug: &str,
) -> Vec<ActiveFilter> {
    let mut active = Vec::new();
    let without = |clear: fn(&mut MentionQuery)| {
        let mut rest = filters.clone();
        clear(&mut rest);
        rest.before = None;
        let query = rest.filters_query_string();
        if query.is_empty() {
            format!("/w/{slug}/mentions")
        } else {
            format!("/w/{slug}/mentions?{query}")
        }
    };
    let value = |field: &Option<String>| {
        field
            .as_deref()
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
    };
    if let Some(q) = value(&filters.q) {
        active.push(ActiveFilter {
            label: t.fill("mentions.chip_search", &[("value", &q)]),
            remove: without(|f| f.q = None),
        });
    }
    if let Some(topic) = value(&filters.topic) {
        let name = topic
            .parse()
            .ok()
            .and_then(|id| lookups.topics.get(&TopicId(id)))
            .map_or(topic.clone(), |topic| topic.name.clone());
        active.push(ActiveFilter {
            label: t.fill("mentions.chip_topic", &[("value", &name)]),
            remove: without(|f| f.topic = None),
        });
    }
    if let Some(sentiment) = value(&filters.sentiment) {
        let label = SentimentLabel::from_code(&sentiment).map_or(sentiment.clone(), |label| {
            sentiment_label(t, label).to_owned()
        });
        active.push(ActiveFilter {
            label: t.fill("mentions.chip_sentiment", &[("value", &label)]),
            remove: without(|f| f.sentiment = None),
        });
    }
    if let Some(source) = value(&filters.source) {
        let name = source
            .parse()
            .ok()
            .and_then(|id| lookups.sources.get(&SourceId(id)))
            .map_or(source.clone(), |source| source.name.clone());
        active.push(ActiveFilter {
            label: t.fill("mentions.chip_source", &[("value", &name)]),
            remove: without(|f| f.source = None),
        });
    }
    if let Some(lang) = value(&filters.lang) {
        active.push(ActiveFilter {
            label: t.fill("mentions.chip_lang", &[("value", &lang_label(t, &lang))]),
            remove: without(|f| f.lang = None),
        });
    }
    if let Some(author) = value(&filters.author) {
        active.push(ActiveFilter {
            label: t.fill("mentions.chip_author", &[("value", &author)]),
            remove: without(|f| f.author = None),
        });
    }
    if let Some(from) = value(&filters.from) {
        active.push(ActiveFilter {
            label: t.fill("mentions.chip_from", &[("value", &from)]),
            remove: without(|f| f.from = None),
        });
    }
    if let Some(to) = value(&filters.to) {
        active.push(ActiveFilter {
            label: t.fill("mentions.chip_to", &[("value", &to)]),
            remove: without(|f| f.to = None),
        });
    }
    active
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
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
    headers: HeaderMap,
    WebForm(form): WebForm<CorrectionForm>,
) -> Result<Response, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Engage).await?;
    let label = SentimentLabel::from_code(form.sentiment.trim())
        .ok_or_else(|| AppError::field("sentiment", "validation.sentiment"))?;
    let mention = mentions::correct(&state, &access, &caller.user, MentionId(id), label).await?;
    if headers.contains_key("hx-request") {
        // htmx replaces this one mention and shows a toast: no reload, no scroll.
        let t = context.t();
        let formats = Formats::new(t, &access.workspace.time_zone, Timestamp::now());
        let topics = state.store().topics().list(access.workspace.id).await?;
        let sources = state.store().sources().list(access.workspace.id).await?;
        let lookups = Lookups {
            topics: topics.iter().map(|topic| (topic.id, topic)).collect(),
            sources: sources.iter().map(|source| (source.id, source)).collect(),
        };
        let back = form
            .back
            .as_deref()
            .and_then(super::local_path)
            .unwrap_or_default();
        let filters_query = back.split_once('?').map_or("", |(_, query)| query);
        let feed = feed(
            t,
            &formats,
            &context,
            &access,
            filters_query,
            None,
            &[],
            None,
            &lookups,
        );
        let fragment = MentionFragment {
            t,
            mention: row(t, &formats, &mention, None, &lookups),
            feed,
        };
        let mut response = fragment.into_response();
        let message = t.fill(
            "mentions.corrected_toast",
            &[("label", sentiment_label(t, label))],
        );
        let trigger = serde_json::json!({ "atalaya:toast": { "message": message } }).to_string();
        if let Ok(value) = HeaderValue::from_str(&trigger) {
            response.headers_mut().insert("hx-trigger", value);
        }
        return Ok(response);
    }
    Ok(Redirect::to(&back_to(
        &slug,
        form.back.as_deref(),
        "sentiment_corrected",
        id,
    ))
    .into_response())
}

/// The stream URL to return to: only our own mentions page, never elsewhere,
/// scrolled back to the mention that was corrected.
fn back_to(slug: &str, back: Option<&str>, done: &str, id: i64) -> String {
    let base = format!("/w/{slug}/mentions");
    let query = back
        .and_then(super::local_path)
        .and_then(|path| path.strip_prefix(&base))
        .and_then(|rest| rest.strip_prefix('?'))
        .unwrap_or_default();
    if query.is_empty() {
        format!("{base}?done={done}#mention-{id}")
    } else {
        format!("{base}?{query}&done={done}#mention-{id}")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrections_come_back_to_the_same_mention() {
        assert_eq!(
            back_to(
                "acme",
                Some("/w/acme/mentions?topic=3"),
                "sentiment_corrected",
                9
            ),
            "/w/acme/mentions?topic=3&done=sentiment_corrected#mention-9"
        );
        assert_eq!(
            back_to(
                "acme",
                Some("https://evil.example/"),
                "sentiment_corrected",
                9
            ),
            "/w/acme/mentions?done=sentiment_corrected#mention-9"
        );
    }

    #[test]
    fn a_mention_whose_date_could_not_be_read_says_so() {
        let mention = |published_at: i64| -> Mention {
            serde_json::from_value(serde_json::json!({
                "id": 1, "workspace_id": 1, "source_id": 1, "external_id": "x", "url": null,
                "title": null, "text": "t", "author": null, "lang": "es", "sentiment": "neutral",
                "sentiment_score": 0.0, "sentiment_confidence": 0.0, "sentiment_model": "neutral",
                "sentiment_corrected": false, "topics": [], "published_at": published_at,
                "ingested_at": 1_700_000_000_000_i64
            }))
            .expect("a mention")
        };
        let t = Translator::new(atalaya_domain::UiLang::Es);
        let formats = Formats::new(t, "Europe/Madrid", Timestamp(1_700_000_600_000));
        let known = published_label(t, &formats, &mention(1_699_999_000_000));
        assert_eq!(known, formats.label(Timestamp(1_699_999_000_000)));
        let unknown = published_label(t, &formats, &mention(1_700_000_000_000));
        assert!(
            unknown
                .exact
                .starts_with("Fecha de publicación desconocida; recibida el "),
            "{}",
            unknown.exact
        );
        assert_eq!(
            unknown.shown,
            formats.label(Timestamp(1_700_000_000_000)).shown
        );
    }

    #[test]
    fn sources_name_their_network() {
        assert_eq!(network_of("rss"), "rss");
        assert_eq!(network_of("webhook"), "webhook");
        assert_eq!(network_of("import"), "import");
        assert_eq!(network_of("mastodon_hashtag"), "mastodon");
        assert_eq!(network_of("bluesky_search"), "bluesky");
    }
}
