//! A thin Mastodon API client over [`SafeHttpClient`]: connecting an account
//! (app registration and the OAuth authorization-code flow), reading (timelines,
//! notifications, search, threads), writing (statuses) and the streaming API.
//!
//! ```text
//!  connect:  register_app ──▶ authorize_url (browser) ──▶ exchange_code ──▶ AccountCredentials::Mastodon
//!  use:      MastodonClient::new(http, &AccountSession) ──▶ verify_credentials / post_status / timelines …
//!  listen:   kinds::mastodon (polls, cursor {"min_id"}) · streaming::StreamingConnection (SSE, reconnects)
//! ```
//!
//! Mastodon's own API documentation is the contract. Every call goes through the
//! SSRF guard, reports its rate-limit headers to the [`AccountSession`] and maps
//! errors with [`crate::network::api_error`], so a revoked token is
//! [`SourceError::Unauthorized`] and a 429 is [`SourceError::RateLimited`].
//!
//! [`SafeHttpClient`]: crate::net::SafeHttpClient
//! [`AccountSession`]: crate::network::AccountSession

mod client;
mod mention;
pub mod streaming;

pub use client::{
    Account, Context, MastodonClient, NewStatus, Notification, NotificationQuery, Page, PageLinks,
    Paged, Status, Visibility, parse_link_header,
};
pub use mention::{author_handle, status_to_fields};
pub use streaming::{StreamConfig, StreamEvent, StreamKind, StreamingConnection};

use crate::error::SourceError;
use crate::net::{ApiBody, ApiRequest, SafeHttpClient};
use crate::network::{AccountCredentials, api_error, normalize_origin};
use atalaya_domain::Timestamp;
use serde::{Deserialize, Serialize};

/// The scopes Atalaya asks for: reading to listen, writing to answer and publish.
pub const SCOPES: &str = "read write";

/// The redirect URI for apps that show the code instead of redirecting (OAuth "out of band").
pub const OUT_OF_BAND_REDIRECT: &str = "urn:ietf:wg:oauth:2.0:oob";

/// An instance address as a person types it (`mastodon.social`,
/// `https://Mastodon.social/`) in the one form we store, as
/// [`normalize_origin`] makes it.
pub fn normalize_server_url(input: &str) -> Result<String, SourceError> {
    normalize_origin(input, "instance")
}

/// An OAuth application registered on one instance; stored per instance and
/// reused for every account connected there.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRegistration {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
}

impl std::fmt::Debug for AppRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppRegistration")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("redirect_uri", &self.redirect_uri)
            .finish()
    }
}

fn endpoint(server_url: &str, path: &str) -> String {
    format!("{}{path}", server_url.trim_end_matches('/'))
}

fn decode<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, SourceError> {
    serde_json::from_slice(body).map_err(|error| SourceError::BadResponse {
        reason: format!("{what}: {error}"),
    })
}

/// Registers Atalaya as an OAuth application (`POST /api/v1/apps`).
pub async fn register_app(
    http: &SafeHttpClient,
    server_url: &str,
    app_name: &str,
    redirect_uri: &str,
    website: Option<&str>,
) -> Result<AppRegistration, SourceError> {
    #[derive(Deserialize)]
    struct Registered {
        client_id: String,
        client_secret: String,
    }
    let mut form = vec![
        ("client_name", app_name),
        ("redirect_uris", redirect_uri),
        ("scopes", SCOPES),
    ];
    if let Some(website) = website {
        form.push(("website", website));
    }
    let url = endpoint(server_url, "/api/v1/apps");
    let response = http
        .send(ApiRequest::post(&url, &[], ApiBody::Form(&form)))
        .await?;
    if let Some(error) = api_error(&response, Timestamp::now()) {
        return Err(error);
    }
    let registered: Registered = decode(&response.body, "app registration")?;
    Ok(AppRegistration {
        client_id: registered.client_id,
        client_secret: registered.client_secret,
        redirect_uri: redirect_uri.to_owned(),
    })
}

/// Where to send the person's browser to grant access: `/oauth/authorize` with
/// the code response type, our scopes, and `state` (the caller's CSRF token,
/// checked when the browser comes back).
pub fn authorize_url(server_url: &str, app: &AppRegistration, state: &str) -> String {
    let mut url = endpoint(server_url, "/oauth/authorize");
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", &app.client_id)
        .append_pair("redirect_uri", &app.redirect_uri)
        .append_pair("scope", SCOPES)
        .append_pair("state", state)
        .finish();
    url.push('?');
    url.push_str(&query);
    url
}

/// Trades the authorization code the browser brought back for an access token
/// (`POST /oauth/token`, grant type `authorization_code`).
pub async fn exchange_code(
    http: &SafeHttpClient,
    server_url: &str,
    app: &AppRegistration,
    code: &str,
) -> Result<AccountCredentials, SourceError> {
    #[derive(Deserialize)]
    struct Token {
        access_token: String,
        #[serde(default)]
        scope: String,
    }
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("client_id", app.client_id.as_str()),
        ("client_secret", app.client_secret.as_str()),
        ("redirect_uri", app.redirect_uri.as_str()),
        ("scope", SCOPES),
    ];
    let url = endpoint(server_url, "/oauth/token");
    let response = http
        .send(ApiRequest::post(&url, &[], ApiBody::Form(&form)))
        .await?;
    // A refused code is a 400/401 `invalid_grant`: the person has to start over,
    // which is what Unauthorized tells the connect flow.
    if matches!(response.status, 400 | 401) {
        return Err(SourceError::Unauthorized {
            reason: crate::network::error_message(&response.body)
                .unwrap_or_else(|| format!("HTTP {}", response.status)),
        });
    }
    if let Some(error) = api_error(&response, Timestamp::now()) {
        return Err(error);
    }
    let token: Token = decode(&response.body, "token")?;
    if token.access_token.is_empty() {
        return Err(SourceError::BadResponse {
            reason: "empty access token".to_owned(),
        });
    }
    Ok(AccountCredentials::Mastodon {
        access_token: token.access_token,
        scope: token.scope,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_are_normalized() {
        fn check(input: &str, expected: Option<&str>) {
            assert_eq!(
                normalize_server_url(input).ok().as_deref(),
                expected,
                "input: {input:?}"
            );
        }
        check("mastodon.social", Some("https://mastodon.social"));
        check("https://Mastodon.social/", Some("https://mastodon.social"));
        check("  MASTODON.social  ", Some("https://mastodon.social"));
        check(
            "https://mastodon.social:443",
            Some("https://mastodon.social"),
        );
        check("http://127.0.0.1:3011/", Some("http://127.0.0.1:3011"));
        check("https://social.example/@ana", None);
        check("https://social.example/?x=1", None);
        check("ftp://social.example", None);
        check("https://user:pw@social.example", None);
        check("", None);
    }

    #[test]
    fn authorize_url_carries_the_flow_parameters() {
        let app = AppRegistration {
            client_id: "abc".to_owned(),
            client_secret: "s3cret".to_owned(),
            redirect_uri: "https://atalaya.example/accounts/mastodon/callback".to_owned(),
        };
        let url = url::Url::parse(&authorize_url("https://social.example/", &app, "xyz")).unwrap();
        assert_eq!(url.path(), "/oauth/authorize");
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let get = |key: &str| {
            pairs
                .iter()
                .find(|(name, _)| name == key)
                .map(|(_, value)| value.as_str())
        };
        assert_eq!(get("response_type"), Some("code"));
        assert_eq!(get("client_id"), Some("abc"));
        assert_eq!(get("redirect_uri"), Some(app.redirect_uri.as_str()));
        assert_eq!(get("scope"), Some("read write"));
        assert_eq!(get("state"), Some("xyz"));
        assert!(!format!("{app:?}").contains("s3cret"));
    }
}
