//! Connected network accounts, the part pages and API share: connecting a
//! Bluesky account with an app password, the Mastodon OAuth 2 authorization-code
//! flow (app registration per instance, one-use `state`, code exchange), and
//! disconnecting — each audited.
//!
//! Credentials are sealed with the configured key before they reach the store,
//! and a reconnection always merges the new grant over the stored one
//! ([`AccountCredentials::merged_over`]), so a network that does not repeat a
//! refresh token or a scope never makes us lose it. A network failure becomes a
//! translated field error keyed by the connector's stable code, never a 500.

use atalaya_connectors::mastodon::{self, AppRegistration, MastodonClient};
use atalaya_connectors::{
    AccountCredentials, AccountSession, SafeHttpClient, SecretBox, SourceError, bluesky,
};
use atalaya_domain::{AccountId, Network, NetworkAccount, Permission, Timestamp, User};
use atalaya_store::{NewAccount, OAuthApp, PendingAuthorization};
use axum::http::{HeaderMap, header};
use serde::Deserialize;

use super::audit;
use crate::AppState;
use crate::access::{WorkspaceAccess, require};
use crate::audit_actions;
use crate::auth::{random_token, token_digest};
use crate::error::{AppError, FieldError};

/// Where instances send the browser back after the person approved (or not).
pub const MASTODON_CALLBACK_PATH: &str = "/oauth/mastodon/callback";
/// How long a started authorization may take to come back.
const AUTHORIZATION_TTL_MILLIS: i64 = 10 * 60 * 1000;
/// The name instances show on their consent page and in the person's
/// authorized apps.
const APP_NAME: &str = "Atalaya";

/// The connector error codes with a translated message (`account_error.<code>`),
/// plus the codes this module and the worker add. A code not listed reads as
/// `account_error.other`.
const ERROR_KEYS: [(&str, &str); 20] = [
    ("ssrf_refused", "account_error.ssrf_refused"),
    ("invalid_url", "account_error.invalid_url"),
    ("dns", "account_error.dns"),
    ("connect", "account_error.connect"),
    ("tls", "account_error.tls"),
    ("timeout", "account_error.timeout"),
    ("too_large", "account_error.too_large"),
    ("http_status", "account_error.http_status"),
    ("redirect", "account_error.redirect"),
    ("network", "account_error.network"),
    ("bad_response", "account_error.bad_response"),
    ("unauthorized", "account_error.unauthorized"),
    ("rate_limited", "account_error.rate_limited"),
    ("circuit_open", "account_error.circuit_open"),
    ("wrong_password", "account_error.wrong_password"),
    ("unavailable", "account_error.unavailable"),
    ("oauth_denied", "account_error.oauth_denied"),
    ("oauth_state", "account_error.oauth_state"),
    ("no_public_url", "account_error.no_public_url"),
    ("other", "account_error.other"),
];

/// The catalogue key for an error code (`account_error.<code>`), for codes from
/// connectors, the worker's account states and this module alike.
pub fn error_key(code: &str) -> &'static str {
    ERROR_KEYS
        .iter()
        .find(|(known, _)| *known == code)
        .map_or("account_error.other", |(_, key)| key)
}

/// Whether `code` names a message: only those are shown from a query string.
pub fn is_known_error(code: &str) -> bool {
    ERROR_KEYS.iter().any(|(known, _)| *known == code)
}

/// A connector failure as a field error on `field`.
fn network_failure(field: &str, error: &SourceError) -> AppError {
    tracing::info!(code = error.code(), %error, "connecting an account failed");
    AppError::InvalidInput {
        fields: vec![FieldError::new(field, error_key(error.code()))],
        detail: Some(error.to_string()),
    }
}

/// The HTTP client and the sealing key, or the "unavailable" error: without
/// either, an account can be neither reached nor stored safely.
fn connect_tools(state: &AppState) -> Result<(&SafeHttpClient, &SecretBox), AppError> {
    let listening = state.listening();
    match (&listening.http, &listening.secrets) {
        (Some(http), Some(secrets)) => Ok((http, secrets)),
        _ => Err(AppError::field("network", error_key("unavailable"))),
    }
}

/// The credentials to store for `remote`: the new ones merged over what the
/// workspace already holds for the same account, then sealed.
async fn seal_merged(
    state: &AppState,
    secrets: &SecretBox,
    access: &WorkspaceAccess,
    network: Network,
    server_url: &str,
    remote_id: &str,
    credentials: AccountCredentials,
) -> Result<Vec<u8>, AppError> {
    let store = state.store().accounts();
    let previous = match store
        .find(access.workspace.id, network, server_url, remote_id)
        .await?
    {
        Some(existing) => match store.sealed_credentials(existing.id).await? {
            Some(sealed) => {
                // Unreadable old credentials (a rotated key) are replaced, not
                // fatal: the new grant is complete on its own.
                match secrets
                    .open(&sealed)
                    .map_err(|error| error.to_string())
                    .and_then(|bytes| {
                        AccountCredentials::from_bytes(&bytes).map_err(|error| error.to_string())
                    }) {
                    Ok(credentials) => Some(credentials),
                    Err(error) => {
                        tracing::warn!(account = %existing.id, %error, "stored credentials unreadable; replacing them");
                        None
                    }
                }
            }
            None => None,
        },
        None => None,
    };
    let merged = credentials.merged_over(previous.as_ref());
    secrets.seal(&merged.to_bytes()).map_err(AppError::internal)
}

/// A Bluesky sign-in as the form or the API gives it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct BlueskyInput {
    /// The handle (`name.bsky.social`) or the account's email.
    pub handle: String,
    /// An app password (Settings → App passwords), never the main password.
    pub app_password: String,
    /// The PDS or service; `https://bsky.social` when absent or empty.
    #[serde(default)]
    pub service: Option<String>,
}

/// Signs in to Bluesky with an app password and stores the session (not the
/// password). Reconnecting the same DID keeps the account's id and sources.
pub async fn connect_bluesky(
    state: &AppState,
    access: &WorkspaceAccess,
    actor: &User,
    input: &BlueskyInput,
) -> Result<NetworkAccount, AppError> {
    access.ensure(Permission::Configure)?;
    let (http, secrets) = connect_tools(state)?;
    let mut fields = Vec::new();
    if input.handle.trim().is_empty() {
        fields.push(FieldError::new("handle", "validation.empty"));
    }
    if input.app_password.trim().is_empty() {
        fields.push(FieldError::new("app_password", "validation.empty"));
    }
    let service_input = input
        .service
        .as_deref()
        .map(str::trim)
        .filter(|service| !service.is_empty())
        .unwrap_or(bluesky::DEFAULT_SERVICE);
    let service = match bluesky::normalize_service_url(service_input) {
        Ok(service) => Some(service),
        Err(error) => {
            fields.push(FieldError::new("service", error_key(error.code())));
            None
        }
    };
    if !fields.is_empty() {
        return Err(AppError::InvalidInput {
            fields,
            detail: None,
        });
    }
    let service = service.unwrap_or_default();
    let (credentials, profile) =
        match bluesky::create_session(http, &service, &input.handle, &input.app_password).await {
            Ok(session) => session,
            Err(SourceError::Unauthorized { reason }) => {
                return Err(AppError::InvalidInput {
                    fields: vec![FieldError::new("app_password", error_key("wrong_password"))],
                    detail: Some(reason),
                });
            }
            Err(error) => return Err(network_failure("service", &error)),
        };
    let sealed = seal_merged(
        state,
        secrets,
        access,
        Network::Bluesky,
        &service,
        &profile.did,
        credentials,
    )
    .await?;
    let account = state
        .store()
        .accounts()
        .connect(
            access.workspace.id,
            NewAccount {
                network: Network::Bluesky,
                server_url: &service,
                remote_id: &profile.did,
                handle: &profile.handle,
                display_name: profile.display_name.as_deref(),
                sealed_credentials: &sealed,
                connected_by: Some(actor.id),
            },
            Timestamp::now(),
        )
        .await?;
    audit_connect(state, access, actor, &account).await?;
    Ok(account)
}

async fn audit_connect(
    state: &AppState,
    access: &WorkspaceAccess,
    actor: &User,
    account: &NetworkAccount,
) -> Result<(), AppError> {
    audit(
        state,
        access,
        actor,
        audit_actions::ACCOUNT_CONNECTED,
        &account.handle,
        serde_json::json!({
            "account_id": account.id,
            "network": account.network,
            "server_url": account.server_url,
        }),
    )
    .await
}

/// The address this instance is reached at, for the OAuth redirect URI: the
/// configured public URL, else the request's `Host` (https when cookies are
/// marked secure, which is how the configuration says "behind HTTPS").
pub fn public_base(state: &AppState, headers: &HeaderMap) -> Result<String, AppError> {
    if let Some(url) = &state.settings().public_url {
        return Ok(url.trim_end_matches('/').to_owned());
    }
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|host| {
            !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .ok_or_else(|| AppError::field("instance", error_key("no_public_url")))?;
    let scheme = if state.settings().secure_cookies {
        "https"
    } else {
        "http"
    };
    Ok(format!("{scheme}://{host}"))
}

/// The OAuth app registered on `server_url` for `redirect_uri`: the stored one,
/// or a new registration (its secret sealed and kept for the next account).
async fn mastodon_app(
    state: &AppState,
    http: &SafeHttpClient,
    secrets: &SecretBox,
    server_url: &str,
    redirect_uri: &str,
) -> Result<AppRegistration, AppError> {
    let store = state.store().accounts();
    if let Some(app) = store.oauth_app(server_url, redirect_uri).await? {
        let secret = secrets
            .open(&app.sealed_client_secret)
            .map_err(AppError::internal)?;
        return Ok(AppRegistration {
            client_id: app.client_id,
            client_secret: String::from_utf8_lossy(&secret).into_owned(),
            redirect_uri: app.redirect_uri,
        });
    }
    let website = state.settings().public_url.clone();
    let app = mastodon::register_app(http, server_url, APP_NAME, redirect_uri, website.as_deref())
        .await
        .map_err(|error| network_failure("instance", &error))?;
    let sealed = secrets
        .seal(app.client_secret.as_bytes())
        .map_err(AppError::internal)?;
    store
        .save_oauth_app(
            &OAuthApp {
                server_url: server_url.to_owned(),
                redirect_uri: redirect_uri.to_owned(),
                client_id: app.client_id.clone(),
                sealed_client_secret: sealed,
            },
            Timestamp::now(),
        )
        .await?;
    Ok(app)
}

/// Starts connecting a Mastodon account: registers (or reuses) the app on the
/// instance, remembers a one-use random `state` (only its hash is stored) and
/// returns the instance's authorization URL to send the browser to.
pub async fn begin_mastodon(
    state: &AppState,
    access: &WorkspaceAccess,
    actor: &User,
    instance: &str,
    public_base: &str,
) -> Result<String, AppError> {
    access.ensure(Permission::Configure)?;
    let (http, secrets) = connect_tools(state)?;
    let server_url = mastodon::normalize_server_url(instance)
        .map_err(|error| AppError::field("instance", error_key(error.code())))?;
    let redirect_uri = format!("{public_base}{MASTODON_CALLBACK_PATH}");
    let app = mastodon_app(state, http, secrets, &server_url, &redirect_uri).await?;
    let oauth_state = random_token();
    let now = Timestamp::now();
    state
        .store()
        .accounts()
        .begin_authorization(
            &token_digest(&oauth_state),
            &PendingAuthorization {
                workspace_id: access.workspace.id,
                user_id: actor.id,
                network: Network::Mastodon,
                server_url: server_url.clone(),
                redirect_uri,
            },
            now,
            now.plus_millis(AUTHORIZATION_TTL_MILLIS),
        )
        .await?;
    Ok(mastodon::authorize_url(&server_url, &app, &oauth_state))
}

/// Where a finished authorization goes: the workspace's accounts page, with the
/// account or the code of what went wrong.
#[derive(Debug)]
pub struct MastodonOutcome {
    pub slug: String,
    pub result: Result<NetworkAccount, &'static str>,
}

/// Completes the flow when the browser comes back. An unknown, expired or
/// replayed `state` is refused (422), someone else's is forbidden (403); from
/// then on, failures (refusal on the instance, a bad code, an unreachable
/// instance) are reported on the workspace's accounts page.
pub async fn finish_mastodon(
    state: &AppState,
    user: &User,
    oauth_state: &str,
    code: Option<&str>,
    denied: Option<&str>,
) -> Result<MastodonOutcome, AppError> {
    let (http, secrets) = connect_tools(state)?;
    let refused_state = || AppError::field("state", error_key("oauth_state"));
    if oauth_state.is_empty() {
        return Err(refused_state());
    }
    let pending = state
        .store()
        .accounts()
        .take_authorization(&token_digest(oauth_state), Timestamp::now())
        .await?
        .filter(|pending| pending.network == Network::Mastodon)
        .ok_or_else(refused_state)?;
    if pending.user_id != user.id {
        return Err(AppError::Forbidden);
    }
    let workspace = state
        .store()
        .workspaces()
        .get(pending.workspace_id)
        .await?
        .ok_or(AppError::NotFound)?;
    // The person may have lost the role while they were on the instance.
    let access = require(state, user, &workspace.slug, Permission::Configure).await?;
    let slug = workspace.slug.clone();
    let code = match (denied, code) {
        (None, Some(code)) if !code.is_empty() => code,
        _ => {
            return Ok(MastodonOutcome {
                slug,
                result: Err("oauth_denied"),
            });
        }
    };
    let result = connect_mastodon(state, http, secrets, &access, user, &pending, code).await?;
    Ok(MastodonOutcome { slug, result })
}

/// Exchanges the code, learns who the account is and stores it. Network
/// failures are the outcome's error code; store failures are errors.
async fn connect_mastodon(
    state: &AppState,
    http: &SafeHttpClient,
    secrets: &SecretBox,
    access: &WorkspaceAccess,
    actor: &User,
    pending: &PendingAuthorization,
    code: &str,
) -> Result<Result<NetworkAccount, &'static str>, AppError> {
    let server_url = &pending.server_url;
    let Some(app) = state
        .store()
        .accounts()
        .oauth_app(server_url, &pending.redirect_uri)
        .await?
    else {
        return Ok(Err("oauth_state"));
    };
    let client_secret = secrets
        .open(&app.sealed_client_secret)
        .map_err(AppError::internal)?;
    let app = AppRegistration {
        client_id: app.client_id,
        client_secret: String::from_utf8_lossy(&client_secret).into_owned(),
        redirect_uri: app.redirect_uri,
    };
    let failed = |error: SourceError| {
        tracing::info!(code = error.code(), %error, "connecting a Mastodon account failed");
        error_code(error.code())
    };
    let credentials = match mastodon::exchange_code(http, server_url, &app, code).await {
        Ok(credentials) => credentials,
        Err(error) => return Ok(Err(failed(error))),
    };
    let session = AccountSession::new(server_url, credentials.clone());
    let remote = match MastodonClient::new(http, &session)
        .verify_credentials()
        .await
    {
        Ok(remote) => remote,
        Err(error) => return Ok(Err(failed(error))),
    };
    let handle = mastodon::author_handle(&remote, server_url);
    let display_name = Some(remote.display_name.trim()).filter(|name| !name.is_empty());
    let sealed = seal_merged(
        state,
        secrets,
        access,
        Network::Mastodon,
        server_url,
        &remote.id,
        credentials,
    )
    .await?;
    let account = state
        .store()
        .accounts()
        .connect(
            access.workspace.id,
            NewAccount {
                network: Network::Mastodon,
                server_url,
                remote_id: &remote.id,
                handle: &handle,
                display_name,
                sealed_credentials: &sealed,
                connected_by: Some(actor.id),
            },
            Timestamp::now(),
        )
        .await?;
    audit_connect(state, access, actor, &account).await?;
    Ok(Ok(account))
}

/// A known code (its `'static` form) for a connector error code.
fn error_code(code: &str) -> &'static str {
    ERROR_KEYS
        .iter()
        .find(|(known, _)| *known == code)
        .map_or("other", |(known, _)| known)
}

/// Removes an account and its credentials; its sources stay, without account.
pub async fn disconnect(
    state: &AppState,
    access: &WorkspaceAccess,
    actor: &User,
    id: AccountId,
) -> Result<(), AppError> {
    access.ensure(Permission::Configure)?;
    let store = state.store().accounts();
    let account = store
        .get(access.workspace.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    store.disconnect(access.workspace.id, id).await?;
    audit(
        state,
        access,
        actor,
        audit_actions::ACCOUNT_DISCONNECTED,
        &account.handle,
        serde_json::json!({ "account_id": id, "network": account.network }),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(code: &str, expected: &str) {
        assert_eq!(error_key(code), expected, "{code:?}");
    }

    #[test]
    fn error_codes_map_to_catalogue_keys() {
        check("unauthorized", "account_error.unauthorized");
        check("ssrf_refused", "account_error.ssrf_refused");
        check("circuit_open", "account_error.circuit_open");
        check("something_new", "account_error.other");
        check("", "account_error.other");
    }

    #[test]
    fn every_error_key_is_translated_in_both_languages() {
        for lang in [atalaya_domain::UiLang::En, atalaya_domain::UiLang::Es] {
            let t = crate::i18n::Translator::new(lang);
            for (code, key) in ERROR_KEYS {
                assert!(
                    t.lookup(key).is_some(),
                    "{key} missing for {code} in {lang:?}"
                );
            }
        }
    }
}
