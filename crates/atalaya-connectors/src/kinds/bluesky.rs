//! The Bluesky source kinds, polled through the source's connected account.
//!
//! - `bluesky_search`, config `{"query": "cafe aurora"}` or `{"from_topics": true}`:
//!   `app.bsky.feed.searchPosts` for one query, or for each of the terms the worker
//!   derives from the workspace's topics (at most [`MAX_TOPIC_SEARCHES`] per poll;
//!   the pipeline then matches the posts exactly with our own matcher).
//! - `bluesky_notifications`, config `{}`: the account's mentions, replies and
//!   quotes, read from its notifications.
//!
//! Both APIs page backwards in time, so the cursor is a high-water mark rather
//! than the API's page cursor: the newest `indexedAt` seen (milliseconds) and the
//! URIs seen at exactly that instant, per search query:
//! `{"marks": {"cafe aurora": {"at": 1795341600000, "uris": ["at://…"]}}}` for
//! searches, `{"at": …, "uris": […]}` for notifications. A poll pages from the
//! newest item down until it reaches the mark (at most [`MAX_PAGES`] pages), so a
//! restart neither repeats (items at or under the mark are skipped) nor misses
//! (the worker stores the cursor only after the items). The first poll takes the
//! newest page only: a new source starts listening now, it does not backfill.
//! Posts the AppView indexes with an older sort time than the mark (a backdated
//! `createdAt`) are not seen: the API orders by that time, not by `indexedAt`.

use std::collections::{BTreeMap, HashSet};

use atalaya_domain::Network;
use serde::{Deserialize, Serialize};

use crate::bluesky::mapping::{parse_datetime, post_fields};
use crate::bluesky::{Author, BlueskyClient, PostRecord, SearchQuery};
use crate::error::SourceError;
use crate::item::IncomingMention;
use crate::network::AccountSession;
use crate::source::{BoxFuture, PollContext, PollOutcome, PollSource, SourceConfigError};

/// Most searches one `from_topics` poll runs (the rest wait for the topics to shrink).
pub const MAX_TOPIC_SEARCHES: usize = 20;
/// Most pages one query (or the notifications) reads per poll to reach its mark.
pub const MAX_PAGES: usize = 5;
/// Items per page (the APIs allow 1–100).
pub const PAGE_SIZE: u32 = 50;
/// Longest search query accepted in a config.
pub const MAX_QUERY_CHARS: usize = 300;

/// The newest instant seen, with the URIs seen at exactly that instant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    /// Milliseconds since the epoch of the newest `indexedAt` seen.
    pub at: i64,
    pub uris: Vec<String>,
}

impl Mark {
    /// Whether an item (URI, `indexedAt` in ms) is newer than the mark.
    pub fn is_new(&self, uri: &str, at: i64) -> bool {
        at > self.at || (at == self.at && !self.uris.iter().any(|seen| seen == uri))
    }

    /// The mark after seeing `items`: the newest instant, and every URI at it.
    #[must_use]
    pub fn advanced<'a>(
        mark: Option<&Mark>,
        items: impl IntoIterator<Item = (&'a str, i64)>,
    ) -> Option<Mark> {
        let mut next = mark.cloned();
        for (uri, at) in items {
            match &mut next {
                Some(current) if at < current.at => {}
                Some(current) if at == current.at => {
                    if !current.uris.iter().any(|seen| seen == uri) {
                        current.uris.push(uri.to_owned());
                    }
                }
                _ => {
                    next = Some(Mark {
                        at,
                        uris: vec![uri.to_owned()],
                    });
                }
            }
        }
        next
    }
}

/// The `bluesky_search` cursor: a mark per query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchCursor {
    pub marks: BTreeMap<String, Mark>,
}

/// A cursor we cannot read (written by an older version) costs one first-poll
/// page; it is not worth failing the source for.
fn read_cursor<T: serde::de::DeserializeOwned + Default>(cursor: Option<&str>) -> T {
    cursor
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default()
}

fn write_cursor<T: Serialize>(cursor: &T) -> Result<String, SourceError> {
    serde_json::to_string(cursor).map_err(|error| SourceError::BadResponse {
        reason: error.to_string(),
    })
}

fn account<'a>(ctx: &PollContext<'a>) -> Result<&'a AccountSession, SourceError> {
    let account = ctx.account.ok_or_else(|| SourceError::Config {
        reason: "this source needs a connected Bluesky account".to_owned(),
    })?;
    if account.network() != Network::Bluesky {
        return Err(SourceError::Config {
            reason: "the source's account is not a Bluesky account".to_owned(),
        });
    }
    Ok(account)
}

/// Collects new posts into the outcome, once per URI per poll.
#[derive(Default)]
struct Collector {
    items: Vec<IncomingMention>,
    rejected: Vec<(String, String)>,
    seen: HashSet<String>,
}

impl Collector {
    fn add(&mut self, uri: &str, author: &Author, record: &serde_json::Value) {
        if !self.seen.insert(uri.to_owned()) {
            return;
        }
        let Some(post) = PostRecord::from_value(record) else {
            self.rejected
                .push((uri.to_owned(), "not a post record".to_owned()));
            return;
        };
        match post_fields(uri, author, &post).into_mention() {
            Ok(mention) => self.items.push(mention),
            Err(error) => self.rejected.push((uri.to_owned(), error.to_string())),
        }
    }
}

/// What a search configuration asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SearchTarget {
    Query(String),
    FromTopics,
}

/// The `bluesky_search` source.
#[derive(Debug, Clone, Copy, Default)]
pub struct BlueskySearchSource;

impl BlueskySearchSource {
    fn target(config: &serde_json::Value) -> Result<SearchTarget, SourceConfigError> {
        let error = |field: &str, reason: &str| SourceConfigError {
            field: field.to_owned(),
            reason: reason.to_owned(),
        };
        let object = config
            .as_object()
            .ok_or_else(|| error("query", "the configuration must be an object"))?;
        let from_topics = match object.get("from_topics") {
            None | Some(serde_json::Value::Null) => false,
            Some(serde_json::Value::Bool(flag)) => *flag,
            Some(_) => return Err(error("from_topics", "must be true or false")),
        };
        let query = match object.get("query") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(text)) => Some(text.trim().to_owned()),
            Some(_) => return Err(error("query", "must be text")),
        };
        match (query, from_topics) {
            (Some(_), true) => Err(error(
                "query",
                "give either a query or from_topics, not both",
            )),
            (Some(query), false) if query.is_empty() => {
                Err(error("query", "a search query is required"))
            }
            (Some(query), false) if query.chars().count() > MAX_QUERY_CHARS => Err(error(
                "query",
                &format!("at most {MAX_QUERY_CHARS} characters"),
            )),
            (Some(query), false) => Ok(SearchTarget::Query(query)),
            (None, true) => Ok(SearchTarget::FromTopics),
            (None, false) => Err(error(
                "query",
                "a search query (or from_topics: true) is required",
            )),
        }
    }

    /// The queries one poll runs.
    fn queries(target: &SearchTarget, topic_terms: &[String]) -> Vec<String> {
        match target {
            SearchTarget::Query(query) => vec![query.clone()],
            SearchTarget::FromTopics => {
                let mut seen = HashSet::new();
                topic_terms
                    .iter()
                    .map(|term| term.trim())
                    .filter(|term| !term.is_empty() && seen.insert(term.to_lowercase()))
                    .take(MAX_TOPIC_SEARCHES)
                    .map(str::to_owned)
                    .collect()
            }
        }
    }
}

impl PollSource for BlueskySearchSource {
    fn kind(&self) -> &'static str {
        "bluesky_search"
    }

    fn network(&self) -> Option<Network> {
        Some(Network::Bluesky)
    }

    fn validate_config(&self, config: &serde_json::Value) -> Result<(), SourceConfigError> {
        BlueskySearchSource::target(config).map(|_| ())
    }

    fn poll<'a>(&'a self, ctx: PollContext<'a>) -> BoxFuture<'a, Result<PollOutcome, SourceError>> {
        Box::pin(async move {
            let target =
                BlueskySearchSource::target(ctx.config).map_err(|error| SourceError::Config {
                    reason: error.to_string(),
                })?;
            let client = BlueskyClient::new(ctx.client, account(&ctx)?);
            let old: SearchCursor = read_cursor(ctx.cursor);
            // Marks of queries no longer asked for are dropped with the old cursor.
            let mut next = SearchCursor::default();
            let mut collector = Collector::default();
            for query in BlueskySearchSource::queries(&target, ctx.topic_terms) {
                let mark = old.marks.get(&query);
                let mut page_cursor = None;
                let mut seen_times = Vec::new();
                for _ in 0..if mark.is_some() { MAX_PAGES } else { 1 } {
                    let page = client
                        .search_posts(&SearchQuery {
                            q: query.clone(),
                            limit: Some(PAGE_SIZE),
                            cursor: page_cursor.take(),
                            ..SearchQuery::default()
                        })
                        .await?;
                    let mut reached_mark = page.posts.is_empty();
                    for post in &page.posts {
                        let Some(at) = parse_datetime(&post.indexed_at) else {
                            collector
                                .rejected
                                .push((post.uri.clone(), "unreadable indexedAt".to_owned()));
                            continue;
                        };
                        let at = at.millis();
                        if mark.is_none_or(|mark| mark.is_new(&post.uri, at)) {
                            collector.add(&post.uri, &post.author, &post.record);
                            seen_times.push((post.uri.clone(), at));
                        }
                        if mark.is_some_and(|mark| at <= mark.at) {
                            reached_mark = true;
                        }
                    }
                    match page.cursor {
                        Some(cursor) if !reached_mark => page_cursor = Some(cursor),
                        _ => break,
                    }
                }
                let advanced =
                    Mark::advanced(mark, seen_times.iter().map(|(uri, at)| (uri.as_str(), *at)));
                if let Some(advanced) = advanced {
                    next.marks.insert(query, advanced);
                }
            }
            Ok(PollOutcome {
                items: collector.items,
                rejected: collector.rejected,
                notes: Vec::new(),
                new_cursor: Some(write_cursor(&next)?),
            })
        })
    }
}

/// Notification reasons that point at a post about the account.
pub const LISTENED_REASONS: [&str; 3] = ["mention", "reply", "quote"];

/// The `bluesky_notifications` source.
#[derive(Debug, Clone, Copy, Default)]
pub struct BlueskyNotificationsSource;

impl PollSource for BlueskyNotificationsSource {
    fn kind(&self) -> &'static str {
        "bluesky_notifications"
    }

    fn network(&self) -> Option<Network> {
        Some(Network::Bluesky)
    }

    fn validate_config(&self, config: &serde_json::Value) -> Result<(), SourceConfigError> {
        if config.is_object() || config.is_null() {
            Ok(())
        } else {
            Err(SourceConfigError {
                field: "config".to_owned(),
                reason: "the configuration must be an object".to_owned(),
            })
        }
    }

    fn poll<'a>(&'a self, ctx: PollContext<'a>) -> BoxFuture<'a, Result<PollOutcome, SourceError>> {
        Box::pin(async move {
            let client = BlueskyClient::new(ctx.client, account(&ctx)?);
            let mark: Option<Mark> = ctx.cursor.and_then(|text| serde_json::from_str(text).ok());
            let mut collector = Collector::default();
            let mut seen_times = Vec::new();
            let mut page_cursor: Option<String> = None;
            for _ in 0..if mark.is_some() { MAX_PAGES } else { 1 } {
                let page = client
                    .list_notifications(page_cursor.as_deref(), PAGE_SIZE)
                    .await?;
                let mut reached_mark = page.notifications.is_empty();
                for notification in &page.notifications {
                    let Some(at) = parse_datetime(&notification.indexed_at) else {
                        collector
                            .rejected
                            .push((notification.uri.clone(), "unreadable indexedAt".to_owned()));
                        continue;
                    };
                    let at = at.millis();
                    if mark
                        .as_ref()
                        .is_none_or(|mark| mark.is_new(&notification.uri, at))
                    {
                        // Likes, reposts and follows move the mark too, so they
                        // are not paged through again.
                        seen_times.push((notification.uri.clone(), at));
                        if LISTENED_REASONS.contains(&notification.reason.as_str()) {
                            collector.add(
                                &notification.uri,
                                &notification.author,
                                &notification.record,
                            );
                        }
                    }
                    if mark.as_ref().is_some_and(|mark| at <= mark.at) {
                        reached_mark = true;
                    }
                }
                match page.cursor {
                    Some(cursor) if !reached_mark => page_cursor = Some(cursor),
                    _ => break,
                }
            }
            let advanced = Mark::advanced(
                mark.as_ref(),
                seen_times.iter().map(|(uri, at)| (uri.as_str(), *at)),
            );
            Ok(PollOutcome {
                items: collector.items,
                rejected: collector.rejected,
                notes: Vec::new(),
                new_cursor: match advanced {
                    Some(mark) => Some(write_cursor(&mark)?),
                    None => None,
                },
            })
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn search_configs() {
        fn check(config: &serde_json::Value, expected: Result<SearchTarget, &str>) {
            assert_eq!(
                BlueskySearchSource::target(config).map_err(|error| error.field),
                expected.map_err(str::to_owned),
                "{config}"
            );
        }
        check(
            &serde_json::json!({"query": " cafe aurora "}),
            Ok(SearchTarget::Query("cafe aurora".to_owned())),
        );
        check(
            &serde_json::json!({"from_topics": true}),
            Ok(SearchTarget::FromTopics),
        );
        check(
            &serde_json::json!({"query": "x", "from_topics": true}),
            Err("query"),
        );
        check(&serde_json::json!({"query": "  "}), Err("query"));
        check(&serde_json::json!({"query": 3}), Err("query"));
        check(
            &serde_json::json!({"from_topics": "yes"}),
            Err("from_topics"),
        );
        check(&serde_json::json!({"from_topics": false}), Err("query"));
        check(&serde_json::json!({}), Err("query"));
        check(&serde_json::json!("cafe"), Err("query"));
        check(
            &serde_json::json!({"query": "a".repeat(MAX_QUERY_CHARS + 1)}),
            Err("query"),
        );
        let notifications = BlueskyNotificationsSource;
        assert!(
            notifications
                .validate_config(&serde_json::json!({}))
                .is_ok()
        );
        assert!(
            notifications
                .validate_config(&serde_json::json!([1]))
                .is_err()
        );
    }

    #[test]
    fn topic_queries_are_deduplicated_and_capped() {
        let terms: Vec<String> = ["Aurora", "aurora", " ", "café"]
            .iter()
            .map(|term| (*term).to_owned())
            .chain((0..40).map(|index| format!("term{index}")))
            .collect();
        let queries = BlueskySearchSource::queries(&SearchTarget::FromTopics, &terms);
        assert_eq!(queries.len(), MAX_TOPIC_SEARCHES);
        assert_eq!(&queries[..3], ["Aurora", "café", "term0"]);
        assert_eq!(
            BlueskySearchSource::queries(&SearchTarget::Query("x".to_owned()), &terms),
            vec!["x"]
        );
    }

    #[test]
    fn marks_skip_what_was_seen_and_keep_same_instant_uris() {
        let mark = Mark {
            at: 100,
            uris: vec!["at://a".to_owned()],
        };
        fn check(mark: &Mark, item: (&str, i64), expected: bool) {
            assert_eq!(mark.is_new(item.0, item.1), expected, "{item:?}");
        }
        check(&mark, ("at://a", 100), false);
        check(&mark, ("at://b", 100), true);
        check(&mark, ("at://c", 99), false);
        check(&mark, ("at://d", 101), true);

        let advanced = Mark::advanced(Some(&mark), [("at://b", 100), ("at://c", 50)]).unwrap();
        assert_eq!(advanced.at, 100);
        assert_eq!(advanced.uris, ["at://a", "at://b"]);
        let advanced = Mark::advanced(Some(&mark), [("at://e", 120), ("at://f", 120)]).unwrap();
        assert_eq!(
            advanced,
            Mark {
                at: 120,
                uris: vec!["at://e".to_owned(), "at://f".to_owned()]
            }
        );
        assert_eq!(Mark::advanced(None, []), None);
        assert_eq!(Mark::advanced(Some(&mark), []), Some(mark.clone()));
    }

    #[test]
    fn unreadable_cursors_start_over() {
        let cursor: SearchCursor = read_cursor(Some("not json"));
        assert_eq!(cursor, SearchCursor::default());
        let written = write_cursor(&SearchCursor {
            marks: BTreeMap::from([(
                "cafe".to_owned(),
                Mark {
                    at: 5,
                    uris: vec!["at://x".to_owned()],
                },
            )]),
        })
        .unwrap();
        assert_eq!(written, r#"{"marks":{"cafe":{"at":5,"uris":["at://x"]}}}"#);
        let back: SearchCursor = read_cursor(Some(&written));
        assert_eq!(back.marks["cafe"].at, 5);
    }
}
