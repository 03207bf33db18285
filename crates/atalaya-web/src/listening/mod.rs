//! Listening, the part pages and API share: topics (validated queries, the live
//! query test), sources (feeds, webhooks, imports, with sealed secrets), mention
//! filters and highlighting. Handlers in [`crate::pages`] and [`crate::api`] only
//! translate between HTTP and these functions, so both surfaces validate, audit
//! and refuse the same way.

pub mod accounts;
pub mod languages;
pub mod mentions;
pub mod periods;
pub mod sources;
pub mod topics;

use atalaya_connectors::SecretBox;
use atalaya_domain::{Timestamp, User};
use atalaya_store::NewAuditEntry;

use crate::AppState;
use crate::access::WorkspaceAccess;
use crate::error::AppError;

/// Default cap of an uploaded import file.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 50 * 1024 * 1024;
/// Default look-back of a topic backfill, in days.
pub const DEFAULT_BACKFILL_DAYS: u32 = 90;
/// Default cap of a webhook request body: a full batch of
/// [`atalaya_connectors::webhook::MAX_BATCH_ITEMS`] short posts fits well under it.
pub const DEFAULT_MAX_WEBHOOK_BYTES: usize = 5 * 1024 * 1024;

/// What the configuration decides about listening. The binary builds it and
/// passes it to [`crate::AppState::with_listening`].
#[derive(Debug, Clone)]
pub struct ListeningSettings {
    /// Seals source secrets (webhook keys, feed credentials). Without it,
    /// sources that need a secret cannot be created: a secret is never stored
    /// in clear.
    pub secrets: Option<SecretBox>,
    /// Largest import file accepted by the upload page.
    pub max_upload_bytes: u64,
    /// Largest webhook body accepted; larger requests get 413.
    pub max_webhook_bytes: usize,
    /// Where uploads are spooled while they are imported (the system temporary
    /// directory when `None`).
    pub upload_dir: Option<std::path::PathBuf>,
    /// Reaches the networks when accounts are connected (Mastodon app
    /// registration and token exchange, Bluesky sessions), behind the same SSRF
    /// guard as sources. Without it, accounts cannot be connected.
    pub http: Option<atalaya_connectors::SafeHttpClient>,
    /// How far back a new, re-queried or re-activated topic re-matches the
    /// stored mentions (`listening.backfill_days`).
    pub backfill_days: u32,
}

impl Default for ListeningSettings {
    fn default() -> ListeningSettings {
        ListeningSettings {
            secrets: None,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            max_webhook_bytes: DEFAULT_MAX_WEBHOOK_BYTES,
            upload_dir: None,
            http: None,
            backfill_days: DEFAULT_BACKFILL_DAYS,
        }
    }
}

/// Records a workspace audit entry for a change `actor` made.
pub(crate) async fn audit(
    state: &AppState,
    access: &WorkspaceAccess,
    actor: &User,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> Result<(), AppError> {
    state
        .store()
        .audit()
        .record(
            NewAuditEntry {
                workspace: Some(access.workspace.id),
                actor: Some(actor.id),
                action,
                target,
                detail,
            },
            Timestamp::now(),
        )
        .await?;
    Ok(())
}

/// The link to a mention's original, only when it is an absolute http(s) URL:
/// a `javascript:` or `data:` URL from a stranger never becomes a link.
pub fn safe_link(url: Option<&str>) -> Option<String> {
    let url = url?.trim();
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let is_http = lower.starts_with("http://") || lower.starts_with("https://");
    let has_host = url
        .split_once("://")
        .is_some_and(|(_, rest)| !rest.is_empty() && !rest.starts_with('/'));
    (is_http && has_host && !url.chars().any(char::is_control)).then(|| url.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str, expected: Option<&str>) {
        assert_eq!(safe_link(Some(url)).as_deref(), expected, "{url:?}");
    }

    #[test]
    fn only_http_links_are_rendered() {
        check(
            "https://news.example/a?b=1",
            Some("https://news.example/a?b=1"),
        );
        check("HTTP://news.example/", Some("HTTP://news.example/"));
        check("javascript:alert(1)", None);
        check("data:text/html,<b>x</b>", None);
        check("//news.example/", None);
        check("https:///path", None);
        check("https://news.example/\nx", None);
        check("", None);
    }
}
