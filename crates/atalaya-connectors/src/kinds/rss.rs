//! The `rss` source kind: one RSS or Atom feed URL, polled conditionally.
//!
//! Config: `{"url": "https://blog.example/feed"}`. Secret (optional):
//! `user:password` for feeds behind HTTP Basic authentication. Cursor: the feed's
//! [`Validators`] as JSON (`{"etag": "…", "last_modified": "…"}`).

use crate::error::SourceError;
use crate::feed::{FeedPoll, Validators, poll_feed_with_credentials};
use crate::item::validate_http_url;
use crate::source::{BoxFuture, PollContext, PollOutcome, PollSource, SourceConfigError};

/// The RSS/Atom polling source.
#[derive(Debug, Clone, Copy, Default)]
pub struct RssSource;

impl RssSource {
    fn feed_url(config: &serde_json::Value) -> Result<String, SourceConfigError> {
        let raw = config
            .get("url")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| SourceConfigError {
                field: "url".to_owned(),
                reason: "a feed URL is required".to_owned(),
            })?;
        validate_http_url("url", raw).map_err(|error| SourceConfigError {
            field: "url".to_owned(),
            reason: error.to_string(),
        })
    }
}

impl PollSource for RssSource {
    fn kind(&self) -> &'static str {
        "rss"
    }

    fn validate_config(&self, config: &serde_json::Value) -> Result<(), SourceConfigError> {
        RssSource::feed_url(config).map(|_| ())
    }

    fn poll<'a>(&'a self, ctx: PollContext<'a>) -> BoxFuture<'a, Result<PollOutcome, SourceError>> {
        Box::pin(async move {
            let url = RssSource::feed_url(ctx.config).map_err(|error| SourceError::Config {
                reason: error.to_string(),
            })?;
            // A cursor we cannot read (written by an older version) only costs
            // one unconditional fetch; it is not worth failing the source for.
            let validators: Validators = ctx
                .cursor
                .and_then(|cursor| serde_json::from_str(cursor).ok())
                .unwrap_or_default();
            match poll_feed_with_credentials(ctx.client, &url, &validators, ctx.secret).await? {
                FeedPoll::NotModified => Ok(PollOutcome {
                    items: Vec::new(),
                    rejected: Vec::new(),
                    notes: Vec::new(),
                    new_cursor: None,
                }),
                FeedPoll::Fetched {
                    items,
                    rejected,
                    notes,
                    validators,
                } => Ok(PollOutcome {
                    items,
                    rejected: rejected
                        .into_iter()
                        .map(|rejection| (rejection.entry_id, rejection.error.to_string()))
                        .collect(),
                    notes: notes
                        .into_iter()
                        .map(|note| (note.entry_id, note.note))
                        .collect(),
                    new_cursor: serde_json::to_string(&validators).ok(),
                }),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_validation() {
        fn check(config: &serde_json::Value, expected_ok: bool) {
            assert_eq!(
                RssSource.validate_config(config).is_ok(),
                expected_ok,
                "config: {config}"
            );
        }
        check(
            &serde_json::json!({"url": "https://blog.example/feed"}),
            true,
        );
        check(&serde_json::json!({"url": "file:///etc/passwd"}), false);
        check(&serde_json::json!({"url": 3}), false);
        check(&serde_json::json!({}), false);
    }
}
