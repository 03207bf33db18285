//! Bluesky (AT Protocol): a thin XRPC client for the few calls Atalaya needs —
//! connecting an account with an app password, refreshing its session, searching
//! posts, reading notifications and threads, and publishing posts and replies.
//!
//! ```text
//!  connect:  create_session(service, handle, app password) ─▶ AccountCredentials::Bluesky + Profile
//!  poll:     AccountSession ─▶ BlueskyClient ─▶ PDS /xrpc/… ─(app.bsky.* proxied)─▶ AppView
//!                 ▲                 │ 400 ExpiredToken / 401: refresh once, retry once
//!                 └─ replace_credentials(rotated pair) ◀─ com.atproto.server.refreshSession
//! ```
//!
//! Every call goes to the account's PDS, as the official app does: the PDS
//! answers `com.atproto.*` itself and proxies `app.bsky.*` to its AppView. All
//! traffic goes through [`SafeHttpClient`] (SSRF guard, body cap, timeouts); every
//! response's rate-limit headers are recorded with [`AccountSession::observe`].

mod client;
pub mod facets;
pub mod mapping;
pub mod types;

pub use client::BlueskyClient;
pub use facets::{DetectedFacet, FacetTarget, detect_facets};
pub use types::{
    Author, ByteSlice, Facet, FacetFeature, NewPost, Notification, NotificationPage, PostRecord,
    PostView, ReplyRef, SearchPage, SearchQuery, StrongRef, ThreadNode, ThreadPost,
};

use atalaya_domain::Timestamp;
use serde::Deserialize;

use crate::error::SourceError;
use crate::net::{ApiBody, ApiRequest, HttpResponse, SafeHttpClient};
use crate::network::{AccountCredentials, api_error, error_message, normalize_origin};

/// The service people sign in to unless they run their own PDS.
pub const DEFAULT_SERVICE: &str = "https://bsky.social";

/// Who an account is, as shown on the connect page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub did: String,
    pub handle: String,
    pub display_name: Option<String>,
}

/// A service URL as typed in the connect form (`bsky.social`,
/// `https://pds.example/`) made canonical, as [`normalize_origin`] does.
pub fn normalize_service_url(input: &str) -> Result<String, SourceError> {
    normalize_origin(input, "service")
}

/// The session fields `createSession` and `refreshSession` return.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionResponse {
    did: String,
    handle: String,
    access_jwt: String,
    refresh_jwt: String,
}

impl SessionResponse {
    fn into_credentials(self) -> AccountCredentials {
        AccountCredentials::Bluesky {
            did: self.did,
            handle: self.handle,
            access_jwt: self.access_jwt,
            refresh_jwt: self.refresh_jwt,
        }
    }
}

/// Signs in with a handle (or email) and an app password
/// (`com.atproto.server.createSession`). A wrong password is
/// [`SourceError::Unauthorized`]. The profile's display name is read from the
/// AppView when it has indexed the account.
pub async fn create_session(
    http: &SafeHttpClient,
    service_url: &str,
    identifier: &str,
    app_password: &str,
) -> Result<(AccountCredentials, Profile), SourceError> {
    let service = normalize_service_url(service_url)?;
    let body = serde_json::to_vec(&serde_json::json!({
        "identifier": identifier.trim(),
        "password": app_password,
    }))
    .map_err(|error| SourceError::BadResponse {
        reason: error.to_string(),
    })?;
    let url = format!("{service}/xrpc/com.atproto.server.createSession");
    let response = http
        .send(ApiRequest::post(&url, &[], ApiBody::Json(body)))
        .await?;
    if let Some(error) = classify(&response, Timestamp::now()) {
        return Err(error);
    }
    let session: SessionResponse = read_json(&response)?;
    let mut profile = Profile {
        did: session.did.clone(),
        handle: session.handle.clone(),
        display_name: None,
    };
    let credentials = session.into_credentials();
    let account = crate::network::AccountSession::new(&service, credentials.clone());
    // The AppView answers 400 "Profile not found" until it has indexed a
    // brand-new account; the session alone is enough to connect it.
    match BlueskyClient::new(http, &account).get_profile().await {
        Ok(view) => profile.display_name = view.display_name,
        Err(SourceError::HttpStatus { status: 400 | 404 }) => {}
        Err(error) => return Err(error),
    }
    Ok((credentials, profile))
}

/// The error a Bluesky response stands for, or `None` for 2xx: the shared
/// [`api_error`], plus Bluesky's token errors, which come as HTTP 400
/// (`ExpiredToken`, `InvalidToken`) and mean the credentials were refused.
pub fn classify(response: &HttpResponse, now: Timestamp) -> Option<SourceError> {
    let error = api_error(response, now)?;
    if response.status == 400
        && let Some(name) = xrpc_error_name(&response.body)
        && is_token_error(&name)
    {
        return Some(SourceError::Unauthorized {
            reason: error_message(&response.body).unwrap_or(name),
        });
    }
    Some(error)
}

/// The XRPC error name of a body (`{"error": "ExpiredToken", "message": …}`).
pub fn xrpc_error_name(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value
        .get("error")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

fn is_token_error(name: &str) -> bool {
    matches!(
        name,
        "ExpiredToken" | "InvalidToken" | "AuthenticationRequired" | "AuthMissing"
    )
}

/// Whether a failed authenticated call may succeed with a fresh access token:
/// an expired (400 `ExpiredToken`) or unreadable/refused (401) access JWT.
pub(crate) fn needs_refresh(response: &HttpResponse) -> bool {
    match response.status {
        401 => true,
        400 => xrpc_error_name(&response.body).is_some_and(|name| is_token_error(&name)),
        _ => false,
    }
}

fn read_json<T: serde::de::DeserializeOwned>(response: &HttpResponse) -> Result<T, SourceError> {
    serde_json::from_slice(&response.body).map_err(|error| SourceError::BadResponse {
        reason: format!("{}: {error}", response.final_url.path()),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn service_urls() {
        fn check(input: &str, expected: Result<&str, ()>) {
            assert_eq!(
                normalize_service_url(input).map_err(|_| ()),
                expected.map(str::to_owned),
                "{input:?}"
            );
        }
        check("bsky.social", Ok("https://bsky.social"));
        check(" https://BSKY.social/ ", Ok("https://bsky.social"));
        check("http://localhost:2583", Ok("http://localhost:2583"));
        check("https://pds.example:8443/", Ok("https://pds.example:8443"));
        check("", Err(()));
        check("ftp://pds.example", Err(()));
        check("https://pds.example/xrpc", Err(()));
        check("https://user:pw@pds.example", Err(()));
        check("https://pds.example/?a=1", Err(()));
        assert_eq!(
            normalize_service_url(DEFAULT_SERVICE).unwrap(),
            DEFAULT_SERVICE
        );
    }

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            final_url: url::Url::parse("http://localhost:2583/xrpc/x").unwrap(),
            headers: reqwest::header::HeaderMap::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn token_errors() {
        fn check(status: u16, body: &str, refresh: bool, code: Option<&str>) {
            let response = response(status, body);
            assert_eq!(needs_refresh(&response), refresh, "{status} {body}");
            assert_eq!(
                classify(&response, Timestamp(0)).map(|error| error.code()),
                code,
                "{status} {body}"
            );
        }
        check(200, "{}", false, None);
        check(
            400,
            r#"{"error":"ExpiredToken","message":"Token has expired"}"#,
            true,
            Some("unauthorized"),
        );
        check(
            401,
            r#"{"error":"AuthenticationRequired","message":"Invalid identifier or password"}"#,
            true,
            Some("unauthorized"),
        );
        check(
            400,
            r#"{"error":"InvalidRequest","message":"Input/q must be a string"}"#,
            false,
            Some("http_status"),
        );
        check(429, "", false, Some("rate_limited"));
        check(502, "<html>bad gateway</html>", false, Some("http_status"));
    }
}
