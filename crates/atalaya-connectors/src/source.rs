//! The source abstraction: a polling source kind is one small module that
//! implements [`PollSource`], registered by one line in [`SourceRegistry::standard`].
//!
//! The worker owns scheduling and storage; a source kind only knows how to check
//! its configuration and how to turn (config, secret, cursor) into new items and
//! a new cursor. The cursor is opaque JSON kept by the store per source: feed
//! validators for RSS, a since-id for Mastodon, a pagination cursor for Bluesky.
//! Push kinds (webhook, import) have no poll loop; they are the parse functions
//! in [`crate::webhook`] and [`crate::import`].

use crate::error::SourceError;
use crate::item::IncomingMention;
use crate::net::SafeHttpClient;
use crate::network::AccountSession;
use atalaya_domain::Network;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed future, so the trait stays object-safe (no async-trait dependency).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A source's configuration is unusable; shown next to the form field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct SourceConfigError {
    /// The config key at fault (`url`), for the form to highlight.
    pub field: String,
    pub reason: String,
}

/// Everything one poll needs.
#[derive(Debug, Clone, Copy)]
pub struct PollContext<'a> {
    /// The source's non-secret settings, as validated by `validate_config`.
    pub config: &'a serde_json::Value,
    /// The opened (decrypted) secret, if the source has one.
    pub secret: Option<&'a [u8]>,
    /// The cursor the last successful poll returned, `None` on the first poll.
    pub cursor: Option<&'a str>,
    pub client: &'a SafeHttpClient,
    /// The connected account the source listens through (network kinds only).
    pub account: Option<&'a AccountSession>,
    /// Search terms derived from the workspace's topic queries, for kinds that
    /// search a network on the topics' behalf (Bluesky searches): every mention
    /// that can match a topic contains one of them. Empty for other kinds.
    pub topic_terms: &'a [String],
}

/// What one successful poll produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollOutcome {
    pub items: Vec<IncomingMention>,
    /// Items the source sent that could not be used, as `(item id, reason)`, for the source's log.
    pub rejected: Vec<(String, String)>,
    /// Items kept with something worth logging, as `(item id, note)` (a date
    /// that could not be read, so the item's date is unknown).
    pub notes: Vec<(String, String)>,
    /// The cursor to store for the next poll; `None` keeps the current one.
    pub new_cursor: Option<String>,
}

/// A polling source kind.
pub trait PollSource: Send + Sync {
    /// The kind stored in the source row (`rss`).
    fn kind(&self) -> &'static str;
    /// The network whose connected account this kind polls through; `None` for
    /// kinds that need no account (RSS).
    fn network(&self) -> Option<Network> {
        None
    }
    /// Checks a configuration before it is saved.
    fn validate_config(&self, config: &serde_json::Value) -> Result<(), SourceConfigError>;
    /// Fetches what is new since `ctx.cursor`.
    fn poll<'a>(&'a self, ctx: PollContext<'a>) -> BoxFuture<'a, Result<PollOutcome, SourceError>>;
}

/// Kind name → implementation.
#[derive(Clone, Default)]
pub struct SourceRegistry {
    kinds: BTreeMap<&'static str, Arc<dyn PollSource>>,
}

impl std::fmt::Debug for SourceRegistry {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_set().entries(self.kinds.keys()).finish()
    }
}

impl SourceRegistry {
    /// Every polling kind Atalaya ships. Adding a kind is one line here.
    pub fn standard() -> SourceRegistry {
        let mut registry = SourceRegistry::default();
        registry.register(Arc::new(crate::kinds::rss::RssSource));
        registry.register(Arc::new(crate::kinds::bluesky::BlueskySearchSource));
        registry.register(Arc::new(crate::kinds::bluesky::BlueskyNotificationsSource));
        registry.register(Arc::new(crate::kinds::mastodon::MastodonHashtagSource));
        registry.register(Arc::new(crate::kinds::mastodon::MastodonPublicSource));
        registry.register(Arc::new(
            crate::kinds::mastodon::MastodonNotificationsSource,
        ));
        registry
    }

    /// Adds (or replaces) a kind.
    pub fn register(&mut self, source: Arc<dyn PollSource>) {
        self.kinds.insert(source.kind(), source);
    }

    pub fn get(&self, kind: &str) -> Option<&Arc<dyn PollSource>> {
        self.kinds.get(kind)
    }

    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.kinds.keys().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_registry_has_rss() {
        let registry = SourceRegistry::standard();
        let kinds: Vec<_> = registry.kinds().collect();
        for kind in [
            "rss",
            "bluesky_search",
            "bluesky_notifications",
            "mastodon_hashtag",
            "mastodon_public",
            "mastodon_notifications",
        ] {
            assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
        }
        assert!(registry.get("rss").is_some());
        assert!(registry.get("gopher").is_none());
    }
}
