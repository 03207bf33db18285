//! Sources: creating feeds (URL checked the way the poller will check it),
//! webhooks (a random URL token, stored only as a hash, and a random signing
//! secret sealed with the configured key — both shown once), import sources and
//! network sources (Mastodon hashtags and timelines, Bluesky searches and
//! notifications), which listen through one of the workspace's connected
//! accounts of the kind's network; renaming, pausing and archiving them, each
//! audited.

use atalaya_connectors::SourceRegistry;
use atalaya_domain::{AccountId, Network, Permission, Source, SourceId, Timestamp, User};
use atalaya_store::{NewSource, WEBHOOK_TOKEN_HASH_KEY};
use serde::Deserialize;

use super::audit;
use crate::AppState;
use crate::access::WorkspaceAccess;
use crate::audit_actions;
use crate::auth::{random_token, token_digest};
use crate::error::{AppError, FieldError};

/// The kinds a person can create here without an account; network kinds
/// ([`network_kinds`]) come on top when the workspace has an account.
pub const CREATABLE_KINDS: [&str; 3] = ["rss", "webhook", "import"];
/// Poll interval bounds offered for feeds, in minutes (the poller enforces its own floor too).
pub const MIN_INTERVAL_MINUTES: u32 = 5;
pub const MAX_INTERVAL_MINUTES: u32 = 24 * 60;
pub const DEFAULT_INTERVAL_MINUTES: u32 = 30;

/// A new source as a form or a JSON body gives it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SourceInput {
    /// `rss`, `webhook`, `import`, or a network kind: `mastodon_hashtag`,
    /// `mastodon_public`, `mastodon_notifications`, `bluesky_search`,
    /// `bluesky_notifications` (those need `account_id`).
    pub kind: String,
    pub name: String,
    /// Network kinds: the workspace's connected account of the kind's network.
    #[serde(default)]
    pub account_id: Option<i64>,
    /// `mastodon_hashtag`: the tag, with or without `#`.
    #[serde(default)]
    pub hashtag: Option<String>,
    /// `bluesky_search`: the search words (unless `from_topics`).
    #[serde(default)]
    pub query: Option<String>,
    /// `bluesky_search`: search for the words of the workspace's topics instead.
    #[serde(default)]
    pub from_topics: Option<bool>,
    /// `mastodon_hashtag`, `mastodon_public`: only posts of the account's instance.
    #[serde(default)]
    pub local: Option<bool>,
    /// The feed URL (`rss` only).
    #[serde(default)]
    pub url: Option<String>,
    /// Minutes between polls (`rss` only), 5 to 1440; 30 when absent.
    #[serde(default)]
    pub interval_minutes: Option<u32>,
}

/// A change to a source: any field given is applied.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct SourceChange {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub interval_minutes: Option<u32>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// What creating a source returns. The webhook URL path and secret exist only
/// here: the store keeps the token's hash and the sealed secret.
#[derive(Debug, Clone)]
pub struct CreatedSource {
    pub source: Source,
    pub webhook: Option<WebhookCredentials>,
}

#[derive(Debug, Clone)]
pub struct WebhookCredentials {
    /// `/hooks/<token>`.
    pub path: String,
    /// The HMAC-SHA256 signing key the sender uses.
    pub secret: String,
}

fn validate_name(name: &str, fields: &mut Vec<FieldError>) {
    let name = name.trim();
    if name.is_empty() {
        fields.push(FieldError::new("name", "validation.empty"));
    } else if name.chars().count() > 120 || name.chars().any(char::is_control) {
        fields.push(FieldError::new("name", "validation.source_name"));
    }
}

fn feed_config(
    url: Option<&str>,
    interval_minutes: Option<u32>,
    fields: &mut Vec<FieldError>,
) -> serde_json::Value {
    let url = url.map(str::trim).unwrap_or_default();
    let interval = interval_minutes.unwrap_or(DEFAULT_INTERVAL_MINUTES);
    let config = serde_json::json!({
        "url": url,
        "poll_interval_secs": u64::from(interval) * 60,
    });
    if url.is_empty() {
        fields.push(FieldError::new("url", "validation.empty"));
    } else if let Some(rss) = SourceRegistry::standard().get("rss")
        && rss.validate_config(&config).is_err()
    {
        fields.push(FieldError::new("url", "validation.feed_url"));
    }
    if !(MIN_INTERVAL_MINUTES..=MAX_INTERVAL_MINUTES).contains(&interval) {
        fields.push(FieldError::new("interval_minutes", "validation.interval"));
    }
    config
}

/// The network a registered kind listens on, if it is a network kind.
pub fn kind_network(kind: &str) -> Option<Network> {
    SourceRegistry::standard()
        .get(kind)
        .and_then(|registered| registered.network())
}

/// The registered network kinds, each with its network, in a stable order.
pub fn network_kinds() -> Vec<(&'static str, Network)> {
    let registry = SourceRegistry::standard();
    let mut kinds: Vec<(&'static str, Network)> = registry
        .kinds()
        .filter_map(|kind| Some((kind, kind_network(kind)?)))
        .collect();
    kinds.sort_unstable_by_key(|(kind, _)| *kind);
    kinds
}

/// The account a network source listens through: it must be this
/// workspace's and of the kind's network. `None` with a field error recorded
/// when it is not.
async fn network_account(
    state: &AppState,
    access: &WorkspaceAccess,
    network: Network,
    account_id: Option<i64>,
    fields: &mut Vec<FieldError>,
) -> Result<Option<AccountId>, AppError> {
    let Some(id) = account_id else {
        fields.push(FieldError::new("account_id", "validation.account_required"));
        return Ok(None);
    };
    match state
        .store()
        .accounts()
        .get(access.workspace.id, AccountId(id))
        .await?
    {
        None => fields.push(FieldError::new("account_id", "validation.account_unknown")),
        Some(account) if account.network != network => {
            fields.push(FieldError::new("account_id", "validation.account_network"));
        }
        Some(account) => return Ok(Some(account.id)),
    }
    Ok(None)
}

/// A network kind's configuration from the form's fields, checked by the kind
/// itself (the same check the poller makes).
fn network_config(
    kind: &str,
    input: &SourceInput,
    fields: &mut Vec<FieldError>,
) -> serde_json::Value {
    let local = input.local.unwrap_or(false);
    let text = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .unwrap_or_default()
            .to_owned()
    };
    let config = match kind {
        "mastodon_hashtag" => {
            let hashtag = text(&input.hashtag).trim_start_matches('#').to_owned();
            if hashtag.is_empty() {
                fields.push(FieldError::new("hashtag", "validation.empty"));
                return serde_json::Value::Null;
            }
            serde_json::json!({ "hashtag": hashtag, "local": local })
        }
        "mastodon_public" => serde_json::json!({ "local": local }),
        "bluesky_search" if input.from_topics.unwrap_or(false) => {
            serde_json::json!({ "from_topics": true })
        }
        "bluesky_search" => {
            let query = text(&input.query);
            if query.is_empty() {
                fields.push(FieldError::new("query", "validation.empty"));
                return serde_json::Value::Null;
            }
            serde_json::json!({ "query": query })
        }
        _ => serde_json::json!({}),
    };
    if let Some(registered) = SourceRegistry::standard().get(kind)
        && let Err(error) = registered.validate_config(&config)
    {
        tracing::debug!(kind, %error, "network source configuration refused");
        let field = match kind {
            "mastodon_hashtag" => "hashtag",
            "bluesky_search" => "query",
            _ => "kind",
        };
        fields.push(FieldError::new(field, "validation.source_config"));
    }
    config
}

fn invalid(fields: Vec<FieldError>) -> Result<(), AppError> {
    if fields.is_empty() {
        Ok(())
    } else {
        Err(AppError::InvalidInput {
            fields,
            detail: None,
        })
    }
}

pub async fn create(
    state: &AppState,
    access: &WorkspaceAccess,
    actor: &User,
    input: &SourceInput,
) -> Result<CreatedSource, AppError> {
    access.ensure(Permission::Configure)?;
    let mut fields = Vec::new();
    validate_name(&input.name, &mut fields);
    let kind = input.kind.trim();
    let mut webhook = None;
    let mut sealed = None;
    let mut account_id = None;
    let config = match kind {
        "rss" => feed_config(input.url.as_deref(), input.interval_minutes, &mut fields),
        "import" => serde_json::json!({}),
        "webhook" => {
            let Some(secrets) = &state.listening().secrets else {
                fields.push(FieldError::new("kind", "validation.no_secret_key"));
                invalid(fields)?;
                return Err(AppError::NotFound);
            };
            let token = random_token();
            let secret = random_token();
            sealed = Some(
                secrets
                    .seal(secret.as_bytes())
                    .map_err(AppError::internal)?,
            );
            webhook = Some(WebhookCredentials {
                path: format!("/hooks/{token}"),
                secret,
            });
            serde_json::json!({ WEBHOOK_TOKEN_HASH_KEY: token_digest(&token) })
        }
        other => match kind_network(other) {
            Some(network) => {
                account_id = Some(
                    network_account(state, access, network, input.account_id, &mut fields).await?,
                );
                network_config(other, input, &mut fields)
            }
            None => {
                fields.push(FieldError::new("kind", "validation.source_kind"));
                serde_json::Value::Null
            }
        },
    };
    invalid(fields)?;
    let source = state
        .store()
        .sources()
        .create(
            access.workspace.id,
            NewSource {
                account_id: account_id.flatten(),
                kind,
                name: input.name.trim(),
                config,
                sealed_secret: sealed.as_deref(),
                enabled: true,
            },
            Timestamp::now(),
        )
        .await?;
    audit(
        state,
        access,
        actor,
        audit_actions::SOURCE_CREATED,
        &source.name,
        serde_json::json!({ "source_id": source.id, "kind": source.kind }),
    )
    .await?;
    Ok(CreatedSource { source, webhook })
}

/// Applies `change`; feeds keep their other settings.
pub async fn change(
    state: &AppState,
    access: &WorkspaceAccess,
    actor: &User,
    id: SourceId,
    change: &SourceChange,
) -> Result<Source, AppError> {
    access.ensure(Permission::Configure)?;
    let store = state.store();
    let source = store
        .sources()
        .get(access.workspace.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut fields = Vec::new();
    let name = change
        .name
        .as_deref()
        .unwrap_or(&source.name)
        .trim()
        .to_owned();
    validate_name(&name, &mut fields);
    let mut config = source.config.clone();
    if source.kind == "rss" && (change.url.is_some() || change.interval_minutes.is_some()) {
        let url = change.url.clone().or_else(|| {
            source
                .config
                .get("url")
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        });
        let interval = change.interval_minutes.or_else(|| {
            source
                .config
                .get("poll_interval_secs")
                .and_then(serde_json::Value::as_u64)
                .and_then(|secs| u32::try_from(secs / 60).ok())
        });
        config = feed_config(url.as_deref(), interval, &mut fields);
    } else if change.url.is_some() || change.interval_minutes.is_some() {
        fields.push(FieldError::new("url", "validation.not_a_feed"));
    }
    invalid(fields)?;
    let mut updated = store
        .sources()
        .update(access.workspace.id, id, &name, config, Timestamp::now())
        .await?;
    if let Some(enabled) = change.enabled
        && enabled != updated.enabled
    {
        store
            .sources()
            .set_enabled(access.workspace.id, id, enabled)
            .await?;
        updated = store
            .sources()
            .get(access.workspace.id, id)
            .await?
            .ok_or(AppError::NotFound)?;
    }
    audit(
        state,
        access,
        actor,
        audit_actions::SOURCE_UPDATED,
        &updated.name,
        serde_json::json!({ "source_id": id, "enabled": updated.enabled, "config_changed": updated.config != source.config }),
    )
    .await?;
    Ok(updated)
}

/// Disables and hides the source; its mentions stay.
pub async fn archive(
    state: &AppState,
    access: &WorkspaceAccess,
    actor: &User,
    id: SourceId,
) -> Result<(), AppError> {
    access.ensure(Permission::Configure)?;
    let store = state.store();
    let source = store
        .sources()
        .get(access.workspace.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    store.sources().archive(access.workspace.id, id).await?;
    audit(
        state,
        access,
        actor,
        audit_actions::SOURCE_ARCHIVED,
        &source.name,
        serde_json::json!({ "source_id": id }),
    )
    .await
}

/// Asks for a poll as soon as the workers next look for due sources (a
/// polling source that is enabled; webhooks and imports have nothing to check).
pub async fn check_now(
    state: &AppState,
    access: &WorkspaceAccess,
    id: SourceId,
) -> Result<(), AppError> {
    access.ensure(Permission::Configure)?;
    let store = state.store();
    let source = store
        .sources()
        .get(access.workspace.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !source.enabled || source.next_poll_at.is_none() {
        return Err(AppError::field("source", "validation.source_not_polled"));
    }
    // A poll already queued or running answers this check too.
    store
        .sources()
        .check_now(access.workspace.id, id, Timestamp::now())
        .await?;
    Ok(())
}

/// The config as shown to members: the webhook token hash is an internal key
/// and stays out of pages and API answers.
pub fn public_config(source: &Source) -> serde_json::Value {
    let mut config = source.config.clone();
    if let Some(object) = config.as_object_mut() {
        object.remove(WEBHOOK_TOKEN_HASH_KEY);
    }
    config
}
