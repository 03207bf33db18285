//! The global search of the top bar: topics by name, authors by handle or
//! name, and mentions by their words (accent-insensitive), in one page, each
//! group linking on to the full list.

use askama::Template;
use askama_web::WebTemplate;
use atalaya_domain::{Permission, Timestamp};
use atalaya_store::MentionFilter;
use axum::extract::State;
use serde::Deserialize;

use super::Shell;
use super::figures::preview;
use crate::AppState;
use crate::access::require;
use crate::error::AppError;
use crate::extract::{ApiPath, ApiQuery, Context, CurrentUser};
use crate::formats::{Formats, TimeLabel};
use crate::i18n::Translator;
use crate::session::encode_query_value;

const SHOWN: i64 = 8;

pub struct TopicResult {
    id: i64,
    name: String,
    kind: &'static str,
}

pub struct AuthorResult {
    handle: String,
    name: String,
    mentions: String,
    reach: Option<String>,
    link: String,
}

pub struct MentionResult {
    author: String,
    author_key: String,
    text: String,
    when: TimeLabel,
    link: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "search.html")]
pub struct SearchPage {
    t: Translator,
    shell: Shell,
    slug: String,
    q: String,
    topics: Vec<TopicResult>,
    authors: Vec<AuthorResult>,
    mentions: Vec<MentionResult>,
    mentions_total: String,
    all_mentions: String,
}

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// Case and accents folded, for matching names typed loosely.
fn fold(text: &str) -> String {
    atalaya_text::normalize::fold(text)
}

pub async fn show(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<SearchPage, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Read).await?;
    let t = context.t();
    let formats = Formats::new(t, &access.workspace.time_zone, Timestamp::now());
    let q: String = query.q.trim().chars().take(200).collect();
    let store = state.store();
    let workspace = access.workspace.id;
    let mut page = SearchPage {
        t,
        shell: Shell::workspace(&state, &context, &access, "search").await?,
        slug: slug.clone(),
        topics: Vec::new(),
        authors: Vec::new(),
        mentions: Vec::new(),
        mentions_total: String::new(),
        all_mentions: format!("/w/{slug}/mentions?q={}", encode_query_value(&q)),
        q: q.clone(),
    };
    if q.is_empty() {
        return Ok(page);
    }
    let needle = fold(&q);
    page.topics = store
        .topics()
        .list(workspace)
        .await?
        .into_iter()
        .filter(|topic| fold(&topic.name).contains(&needle) || fold(&topic.query).contains(&needle))
        .take(usize::try_from(SHOWN).unwrap_or(8))
        .map(|topic| TopicResult {
            id: topic.id.get(),
            kind: t
                .lookup(&format!("topic_kind.{}", topic.kind.as_str()))
                .unwrap_or(topic.kind.as_str()),
            name: topic.name,
        })
        .collect();
    page.authors = store
        .mentions()
        .search_authors(workspace, &q, SHOWN)
        .await?
        .into_iter()
        .map(|(author, count)| AuthorResult {
            link: format!(
                "/w/{slug}/mentions?author={}",
                encode_query_value(&author.handle)
            ),
            name: author.name.clone().unwrap_or_else(|| author.handle.clone()),
            reach: author
                .followers
                .filter(|followers| *followers > 0)
                .map(|followers| t.count("mentions.followers", followers)),
            mentions: t.count("search.author_mentions", count),
            handle: author.handle,
        })
        .collect();
    let filter = MentionFilter {
        search: Some(q.clone()),
        limit: SHOWN,
        ..MentionFilter::default()
    };
    let total = store.mentions().count(workspace, &filter).await?;
    page.mentions_total = t.count("search.mentions_found", total);
    page.mentions = store
        .mentions()
        .list(workspace, &filter)
        .await?
        .into_iter()
        .map(|mention| {
            let (author, author_key) = mention.author.as_ref().map_or_else(
                || (t.get("mentions.no_author").to_owned(), String::new()),
                |author| {
                    (
                        author.name.clone().unwrap_or_else(|| author.handle.clone()),
                        author.handle.clone(),
                    )
                },
            );
            MentionResult {
                author,
                author_key,
                text: preview(&mention.text, 220),
                when: formats.label(mention.published_at),
                link: format!(
                    "/w/{slug}/mentions?q={}#mention-{}",
                    encode_query_value(&q),
                    mention.id
                ),
            }
        })
        .collect();
    Ok(page)
}
