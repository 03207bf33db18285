//! The Mastodon source kinds: listening through a connected Mastodon account.
//!
//! - `mastodon_hashtag` `{"hashtag": "cafeaurora", "local": false}`: public statuses with a hashtag;
//! - `mastodon_public` `{"local": true}`: the instance's (or the federated) public timeline;
//! - `mastodon_notifications` `{}`: statuses that mention the account.
//!
//! Cursor: `{"min_id": "<newest id seen>"}` (a notification id for
//! `mastodon_notifications`, a status id otherwise). The first poll takes only
//! the newest page, so connecting an account does not flood the inbox with
//! history; later polls page forward from `min_id` (Mastodon's "the page right
//! after this id"), at most [`MAX_PAGES`] pages of [`PAGE_LIMIT`], and return
//! the newest id seen. The worker stores the cursor only after the items, so a
//! crash re-fetches (deduplicated by the status `uri`) and never skips.

use crate::error::SourceError;
use crate::mastodon::{MastodonClient, NotificationQuery, Page, Status, status_to_fields};
use crate::source::{BoxFuture, PollContext, PollOutcome, PollSource, SourceConfigError};
use atalaya_domain::Network;
use serde::{Deserialize, Serialize};

/// Statuses per request: Mastodon's maximum for timelines.
pub const PAGE_LIMIT: u32 = 40;
/// Pages per poll: a burst larger than this is caught up over the next polls.
pub const MAX_PAGES: usize = 10;
/// Longest hashtag accepted (Mastodon's own limit is lower in practice).
const MAX_HASHTAG_CHARS: usize = 100;

/// What the cursor remembers between polls.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MastodonCursor {
    /// The newest id seen (status or notification id, per kind).
    pub min_id: Option<String>,
}

/// Mastodon ids are decimal strings of growing length ("snowflakes"); compare
/// them as numbers without parsing (they may exceed what a client assumes).
fn newer(left: &str, right: &str) -> bool {
    (left.len(), left) > (right.len(), right)
}

fn config_error(field: &str, reason: &str) -> SourceConfigError {
    SourceConfigError {
        field: field.to_owned(),
        reason: reason.to_owned(),
    }
}

fn local_flag(config: &serde_json::Value) -> Result<bool, SourceConfigError> {
    match config.get("local") {
        None | Some(serde_json::Value::Null) => Ok(false),
        Some(serde_json::Value::Bool(local)) => Ok(*local),
        Some(_) => Err(config_error("local", "must be true or false")),
    }
}

fn object(config: &serde_json::Value) -> Result<(), SourceConfigError> {
    if config.is_object() {
        Ok(())
    } else {
        Err(config_error("config", "must be a JSON object"))
    }
}

/// A hashtag as typed (`#CafeAurora`, `cafe_aurora`) without the `#`; letters,
/// digits and `_` only, as Mastodon's hashtag syntax allows.
pub fn normalize_hashtag(input: &str) -> Result<String, SourceConfigError> {
    let tag = input.trim();
    let tag = tag.strip_prefix('#').unwrap_or(tag);
    if tag.is_empty() {
        return Err(config_error("hashtag", "a hashtag is required"));
    }
    if tag.chars().count() > MAX_HASHTAG_CHARS {
        return Err(config_error("hashtag", "too long"));
    }
    if !tag
        .chars()
        .all(|character| character.is_alphanumeric() || character == '_' || character == '\u{b7}')
    {
        return Err(config_error(
            "hashtag",
            "only letters, digits and _ (no spaces or punctuation)",
        ));
    }
    if tag.chars().all(|character| character.is_ascii_digit()) {
        return Err(config_error("hashtag", "a hashtag cannot be only digits"));
    }
    Ok(tag.to_owned())
}

/// What a kind reads.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Feed {
    Hashtag { tag: String, local: bool },
    Public { local: bool },
    Notifications,
}

impl Feed {
    /// One page as `(paging id, status)`, newest first.
    async fn fetch(
        &self,
        client: &MastodonClient<'_>,
        page: &Page,
    ) -> Result<Vec<(String, Status)>, SourceError> {
        let with_ids = |statuses: Vec<Status>| {
            statuses
                .into_iter()
                .map(|status| (status.id.clone(), status))
                .collect()
        };
        Ok(match self {
            Feed::Hashtag { tag, local } => {
                with_ids(client.hashtag_timeline(tag, page, *local).await?.items)
            }
            Feed::Public { local } => with_ids(client.public_timeline(*local, page).await?.items),
            Feed::Notifications => {
                let query = NotificationQuery {
                    types: vec!["mention".to_owned()],
                    exclude_types: Vec::new(),
                    page: page.clone(),
                };
                client
                    .notifications(&query)
                    .await?
                    .items
                    .into_iter()
                    // Servers that ignore `types[]` still send other kinds: keep mentions only.
                    .filter(|notification| notification.kind == "mention")
                    .filter_map(|notification| {
                        notification.status.map(|status| (notification.id, status))
                    })
                    .collect()
            }
        })
    }
}

/// Polls `feed` from `cursor`: see the module documentation.
async fn poll_feed(ctx: PollContext<'_>, feed: &Feed) -> Result<PollOutcome, SourceError> {
    let session = ctx.account.ok_or_else(|| SourceError::Config {
        reason: "this source needs a connected Mastodon account".to_owned(),
    })?;
    let client = MastodonClient::new(ctx.client, session);
    // An unreadable cursor (hand-edited, older format) starts over like a first
    // poll: one newest page, never a flood.
    let cursor: MastodonCursor = ctx
        .cursor
        .and_then(|cursor| serde_json::from_str(cursor).ok())
        .unwrap_or_default();
    let mut newest = cursor.min_id.clone();
    let mut statuses = Vec::new();
    let pages = if cursor.min_id.is_some() {
        MAX_PAGES
    } else {
        1
    };
    for _ in 0..pages {
        let page = Page {
            min_id: newest.clone(),
            limit: Some(PAGE_LIMIT),
            ..Page::default()
        };
        let batch = feed.fetch(&client, &page).await?;
        let full = batch.len() >= PAGE_LIMIT as usize;
        let mut advanced = false;
        for (id, status) in batch {
            if newest.as_deref().is_none_or(|seen| newer(&id, seen)) {
                newest = Some(id);
                advanced = true;
            }
            statuses.push(status);
        }
        // A server that ignored min_id would hand back the same page forever.
        if !full || !advanced {
            break;
        }
    }
    let mut items = Vec::new();
    let mut rejected = Vec::new();
    for status in statuses {
        match status_to_fields(&status, session.server_url()).into_mention() {
            Ok(mention) => items.push(mention),
            Err(error) => rejected.push((status.uri.clone(), error.to_string())),
        }
    }
    let new_cursor = if newest == cursor.min_id {
        None
    } else {
        serde_json::to_string(&MastodonCursor { min_id: newest }).ok()
    };
    Ok(PollOutcome {
        items,
        rejected,
        notes: Vec::new(),
        new_cursor,
    })
}

fn config_for_poll<T>(result: Result<T, SourceConfigError>) -> Result<T, SourceError> {
    result.map_err(|error| SourceError::Config {
        reason: error.to_string(),
    })
}

/// `mastodon_hashtag`.
#[derive(Debug, Clone, Copy, Default)]
pub struct MastodonHashtagSource;

impl MastodonHashtagSource {
    fn feed(config: &serde_json::Value) -> Result<Feed, SourceConfigError> {
        object(config)?;
        let raw = config
            .get("hashtag")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| config_error("hashtag", "a hashtag is required"))?;
        Ok(Feed::Hashtag {
            tag: normalize_hashtag(raw)?,
            local: local_flag(config)?,
        })
    }
}

impl PollSource for MastodonHashtagSource {
    fn kind(&self) -> &'static str {
        "mastodon_hashtag"
    }

    fn network(&self) -> Option<Network> {
        Some(Network::Mastodon)
    }

    fn validate_config(&self, config: &serde_json::Value) -> Result<(), SourceConfigError> {
        MastodonHashtagSource::feed(config).map(|_| ())
    }

    fn poll<'a>(&'a self, ctx: PollContext<'a>) -> BoxFuture<'a, Result<PollOutcome, SourceError>> {
        Box::pin(async move {
            let feed = config_for_poll(MastodonHashtagSource::feed(ctx.config))?;
            poll_feed(ctx, &feed).await
        })
    }
}

/// `mastodon_public`.
#[derive(Debug, Clone, Copy, Default)]
pub struct MastodonPublicSource;

impl MastodonPublicSource {
    fn feed(config: &serde_json::Value) -> Result<Feed, SourceConfigError> {
        object(config)?;
        Ok(Feed::Public {
            local: local_flag(config)?,
        })
    }
}

impl PollSource for MastodonPublicSource {
    fn kind(&self) -> &'static str {
        "mastodon_public"
    }

    fn network(&self) -> Option<Network> {
        Some(Network::Mastodon)
    }

    fn validate_config(&self, config: &serde_json::Value) -> Result<(), SourceConfigError> {
        MastodonPublicSource::feed(config).map(|_| ())
    }

    fn poll<'a>(&'a self, ctx: PollContext<'a>) -> BoxFuture<'a, Result<PollOutcome, SourceError>> {
        Box::pin(async move {
            let feed = config_for_poll(MastodonPublicSource::feed(ctx.config))?;
            poll_feed(ctx, &feed).await
        })
    }
}

/// `mastodon_notifications`.
#[derive(Debug, Clone, Copy, Default)]
pub struct MastodonNotificationsSource;

impl PollSource for MastodonNotificationsSource {
    fn kind(&self) -> &'static str {
        "mastodon_notifications"
    }

    fn network(&self) -> Option<Network> {
        Some(Network::Mastodon)
    }

    fn validate_config(&self, config: &serde_json::Value) -> Result<(), SourceConfigError> {
        object(config)
    }

    fn poll<'a>(&'a self, ctx: PollContext<'a>) -> BoxFuture<'a, Result<PollOutcome, SourceError>> {
        Box::pin(async move {
            config_for_poll(object(ctx.config))?;
            poll_feed(ctx, &Feed::Notifications).await
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hashtags() {
        fn check(input: &str, expected: Option<&str>) {
            assert_eq!(
                normalize_hashtag(input).ok().as_deref(),
                expected,
                "input: {input:?}"
            );
        }
        check("cafeaurora", Some("cafeaurora"));
        check("#CafeAurora", Some("CafeAurora"));
        check(" #café_2026 ", Some("café_2026"));
        check("#", None);
        check("two words", None);
        check("#tag#tag", None);
        check("a-b", None);
        check("2026", None);
        check(&"a".repeat(101), None);
    }

    #[test]
    fn configs() {
        fn check(source: &dyn PollSource, config: &serde_json::Value, ok: bool) {
            assert_eq!(
                source.validate_config(config).is_ok(),
                ok,
                "{} {config}",
                source.kind()
            );
        }
        check(&MastodonHashtagSource, &json!({"hashtag": "#cafe"}), true);
        check(
            &MastodonHashtagSource,
            &json!({"hashtag": "cafe", "local": true}),
            true,
        );
        check(
            &MastodonHashtagSource,
            &json!({"hashtag": "cafe", "local": "yes"}),
            false,
        );
        check(&MastodonHashtagSource, &json!({}), false);
        check(&MastodonHashtagSource, &json!({"hashtag": "no way"}), false);
        check(&MastodonPublicSource, &json!({"local": true}), true);
        check(&MastodonPublicSource, &json!({}), true);
        check(&MastodonPublicSource, &json!([]), false);
        check(&MastodonNotificationsSource, &json!({}), true);
        check(&MastodonNotificationsSource, &json!("x"), false);
        assert_eq!(MastodonPublicSource.network(), Some(Network::Mastodon));
    }

    #[test]
    fn ids_compare_as_numbers() {
        fn check(left: &str, right: &str, expected: bool) {
            assert_eq!(newer(left, right), expected, "{left} > {right}");
        }
        check("110", "99", true);
        check("99", "110", false);
        check("111", "110", true);
        check("110", "110", false);
    }

    #[test]
    fn cursor_json_shape() {
        let cursor = MastodonCursor {
            min_id: Some("1795".to_owned()),
        };
        assert_eq!(
            serde_json::to_string(&cursor).unwrap(),
            r#"{"min_id":"1795"}"#
        );
    }
}
