//! What the network connectors (Mastodon, Bluesky) share: an account's
//! credentials, the live [`AccountSession`] a poll borrows, reading the networks'
//! rate-limit headers and error bodies, and the per-account circuit breaker.
//!
//! ```text
//!  store: sealed credentials ──open──▶ AccountSession ──▶ client calls (may refresh the session)
//!                                          │
//!  worker after the poll ◀── take_refreshed() (seal + save, even when the poll failed)
//!                        ◀── next_account_state(failures, outcome) (connected / needs re-auth / rate limited)
//! ```
//!
//! Bluesky rotates its refresh token on every refresh, so a refreshed session is
//! saved whatever happens to the rest of the poll: losing it would log the
//! account out. Reconnecting merges credentials ([`AccountCredentials::merged_over`]):
//! a field the new grant left empty keeps the stored value.

use std::sync::Mutex;
use std::time::Duration;

use atalaya_domain::{AccountState, Network, Timestamp};
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};

use crate::error::SourceError;
use crate::net::HttpResponse;

/// An account's secrets. Serialized to JSON and sealed with the
/// [`crate::SecretBox`] before it reaches the store; `Debug` never prints them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "network", rename_all = "snake_case")]
pub enum AccountCredentials {
    /// An OAuth 2 bearer token from the authorization-code flow (Mastodon tokens
    /// do not expire; there is no refresh token).
    Mastodon {
        access_token: String,
        #[serde(default)]
        scope: String,
    },
    /// An app-password session: short-lived access JWT plus a refresh JWT that
    /// rotates on every refresh.
    Bluesky {
        did: String,
        handle: String,
        access_jwt: String,
        refresh_jwt: String,
    },
}

impl std::fmt::Debug for AccountCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AccountCredentials::Mastodon { scope, .. } => f
                .debug_struct("Mastodon")
                .field("scope", scope)
                .finish_non_exhaustive(),
            AccountCredentials::Bluesky { did, handle, .. } => f
                .debug_struct("Bluesky")
                .field("did", did)
                .field("handle", handle)
                .finish_non_exhaustive(),
        }
    }
}

/// Stored credential bytes that are not credentials we wrote.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable account credentials: {0}")]
pub struct CredentialsError(String);

impl AccountCredentials {
    pub fn network(&self) -> Network {
        match self {
            AccountCredentials::Mastodon { .. } => Network::Mastodon,
            AccountCredentials::Bluesky { .. } => Network::Bluesky,
        }
    }

    /// The bytes to seal.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<AccountCredentials, CredentialsError> {
        serde_json::from_slice(bytes).map_err(|error| CredentialsError(error.to_string()))
    }

    /// These (new) credentials over `previous` (stored): any field the new grant
    /// left empty keeps the previous value, so reconnecting never loses a
    /// refresh token or a scope the network did not repeat.
    #[must_use]
    pub fn merged_over(self, previous: Option<&AccountCredentials>) -> AccountCredentials {
        fn keep(new: String, old: &str) -> String {
            if new.is_empty() { old.to_owned() } else { new }
        }
        match (self, previous) {
            (
                AccountCredentials::Mastodon {
                    access_token,
                    scope,
                },
                Some(AccountCredentials::Mastodon {
                    access_token: old_token,
                    scope: old_scope,
                }),
            ) => AccountCredentials::Mastodon {
                access_token: keep(access_token, old_token),
                scope: keep(scope, old_scope),
            },
            (
                AccountCredentials::Bluesky {
                    did,
                    handle,
                    access_jwt,
                    refresh_jwt,
                },
                Some(AccountCredentials::Bluesky {
                    did: old_did,
                    handle: old_handle,
                    access_jwt: old_access,
                    refresh_jwt: old_refresh,
                }),
            ) => AccountCredentials::Bluesky {
                did: keep(did, old_did),
                handle: keep(handle, old_handle),
                access_jwt: keep(access_jwt, old_access),
                refresh_jwt: keep(refresh_jwt, old_refresh),
            },
            (new, _) => new,
        }
    }
}

/// A network's rate-limit budget as its last response reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitStatus {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    /// When the budget refills.
    pub reset_at: Option<Timestamp>,
}

impl RateLimitStatus {
    /// Whether the budget is spent: the next call would be refused.
    pub fn exhausted(&self) -> bool {
        self.remaining == Some(0)
    }
}

/// A server address as a person types it in a connect form (`mastodon.social`,
/// `https://PDS.example/`) in the one form we store: http(s) scheme (https when
/// none is given), lower-case host, port only when not the default, and no
/// path, query, fragment, credentials or trailing slash. `what` names the
/// server in the error's reason ("instance", "service"). Mastodon instances
/// and Bluesky services are both identified by such an origin.
pub fn normalize_origin(input: &str, what: &str) -> Result<String, SourceError> {
    let trimmed = input.trim();
    let invalid = |reason: String| SourceError::InvalidUrl {
        url: trimmed.to_owned(),
        reason,
    };
    if trimmed.is_empty() {
        return Err(invalid(format!("the {what} address is required")));
    }
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_owned()
    } else {
        format!("https://{trimmed}")
    };
    let url = url::Url::parse(&with_scheme).map_err(|error| invalid(error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!("the {what} must be an http(s) URL")));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid(format!("the {what} address has no host")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(format!(
            "the {what} address has no user name or password"
        )));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(format!(
            "the {what} address is only a host name, without a path"
        )));
    }
    // The url crate already lower-cases host names and drops default ports, so
    // the serialized origin is canonical.
    Ok(url.origin().ascii_serialization())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
}

/// Reads rate-limit headers: Mastodon's `X-RateLimit-{Limit,Remaining,Reset}`
/// (reset as an ISO 8601 time) and Bluesky's `RateLimit-{Limit,Remaining,Reset}`
/// (reset as Unix seconds). `None` when the response carries neither.
pub fn parse_rate_limit(headers: &HeaderMap) -> Option<RateLimitStatus> {
    let number = |name: &str| header(headers, name).and_then(|text| text.parse::<u64>().ok());
    let limit = number("x-ratelimit-limit").or_else(|| number("ratelimit-limit"));
    let remaining = number("x-ratelimit-remaining").or_else(|| number("ratelimit-remaining"));
    let reset_at = header(headers, "x-ratelimit-reset")
        .and_then(parse_time)
        .or_else(|| header(headers, "ratelimit-reset").and_then(parse_time));
    if limit.is_none() && remaining.is_none() && reset_at.is_none() {
        return None;
    }
    Some(RateLimitStatus {
        limit,
        remaining,
        reset_at,
    })
}

/// An ISO 8601 / RFC 3339 time, or Unix seconds.
fn parse_time(text: &str) -> Option<Timestamp> {
    if let Ok(seconds) = text.parse::<i64>() {
        return Some(Timestamp(seconds.saturating_mul(1000)));
    }
    let parsed =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(parsed.unix_timestamp_nanos() / 1_000_000)
        .ok()
        .map(Timestamp)
}

/// `Retry-After` as a delay: seconds, or an HTTP date.
fn retry_after(headers: &HeaderMap, now: Timestamp) -> Option<Duration> {
    let text = header(headers, "retry-after")?;
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc2822).ok()?;
    let millis = i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()?;
    Some(Duration::from_millis(
        u64::try_from(millis - now.millis()).unwrap_or(0),
    ))
}

/// The error an API response stands for, or `None` for 2xx. 401 (and 403 with an
/// invalid-token body) is [`SourceError::Unauthorized`] carrying the network's
/// own words; 429, or a spent budget on an error response, is
/// [`SourceError::RateLimited`] with the delay the headers ask for.
pub fn api_error(response: &HttpResponse, now: Timestamp) -> Option<SourceError> {
    let status = response.status;
    if (200..300).contains(&status) {
        return None;
    }
    let reason = error_message(&response.body).unwrap_or_else(|| format!("HTTP {status}"));
    if status == 401 || (status == 403 && looks_like_token_error(&reason)) {
        return Some(SourceError::Unauthorized { reason });
    }
    let limits = parse_rate_limit(&response.headers);
    if status == 429 || limits.is_some_and(|limits| limits.exhausted()) {
        let from_reset = limits.and_then(|limits| limits.reset_at).map(|at| {
            Duration::from_millis(u64::try_from(at.millis() - now.millis()).unwrap_or(0))
        });
        return Some(SourceError::RateLimited {
            retry_after: retry_after(&response.headers, now).or(from_reset),
        });
    }
    Some(SourceError::HttpStatus { status })
}

fn looks_like_token_error(reason: &str) -> bool {
    let lower = reason.to_ascii_lowercase();
    lower.contains("token") || lower.contains("auth")
}

/// The human part of a JSON error body: Mastodon's `error` (+ `error_description`),
/// Bluesky's `error` + `message`. Capped, so a hostile server cannot fill the UI.
pub fn error_message(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let text = |key: &str| value.get(key).and_then(serde_json::Value::as_str);
    let message = match (text("error"), text("message").or(text("error_description"))) {
        (Some(error), Some(detail)) if error != detail => format!("{error}: {detail}"),
        (Some(error), _) => error.to_owned(),
        (None, Some(detail)) => detail.to_owned(),
        (None, None) => return None,
    };
    Some(message.chars().take(300).collect())
}

/// A connected account, opened for one poll (or one write). Clients read its
/// credentials, replace them when they refresh a session, and note the rate-limit
/// budget they see; the worker persists what changed afterwards.
#[derive(Debug)]
pub struct AccountSession {
    server_url: String,
    credentials: Mutex<AccountCredentials>,
    refreshed: Mutex<bool>,
    rate_limit: Mutex<Option<RateLimitStatus>>,
}

impl AccountSession {
    /// `server_url` is the instance (Mastodon) or PDS (Bluesky), without a trailing slash.
    pub fn new(server_url: &str, credentials: AccountCredentials) -> AccountSession {
        AccountSession {
            server_url: server_url.trim_end_matches('/').to_owned(),
            credentials: Mutex::new(credentials),
            refreshed: Mutex::new(false),
            rate_limit: Mutex::new(None),
        }
    }

    pub fn server_url(&self) -> &str {
        &self.server_url
    }

    pub fn network(&self) -> Network {
        self.credentials().network()
    }

    pub fn credentials(&self) -> AccountCredentials {
        lock(&self.credentials).clone()
    }

    /// Called by a client that refreshed the session.
    pub fn replace_credentials(&self, credentials: AccountCredentials) {
        *lock(&self.credentials) = credentials;
        *lock(&self.refreshed) = true;
    }

    /// The refreshed credentials to save, once.
    pub fn take_refreshed(&self) -> Option<AccountCredentials> {
        let mut refreshed = lock(&self.refreshed);
        if !*refreshed {
            return None;
        }
        *refreshed = false;
        Some(self.credentials())
    }

    /// Called by clients with every response's headers.
    pub fn observe(&self, headers: &HeaderMap) {
        if let Some(status) = parse_rate_limit(headers) {
            *lock(&self.rate_limit) = Some(status);
        }
    }

    /// The budget the last response reported.
    pub fn rate_limit(&self) -> Option<RateLimitStatus> {
        *lock(&self.rate_limit)
    }
}

/// A poisoned lock only means another thread panicked mid-update of a value that
/// is always whole (we replace, never mutate in place): keep going.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Failed calls in a row after which the account's circuit opens.
pub const CIRCUIT_THRESHOLD: i32 = 5;
/// The first open period; doubles with each further failure.
pub const CIRCUIT_BASE: Duration = Duration::from_secs(60);
/// The longest the circuit stays open, and the longest rate-limit wait we honour.
pub const MAX_ACCOUNT_WAIT: Duration = Duration::from_secs(60 * 60);
/// When a 429 says nothing about when to come back.
pub const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(5 * 60);

/// What a call through an account ended with.
#[derive(Debug, Clone, Copy)]
pub enum AccountEvent<'a> {
    Succeeded,
    Failed(&'a SourceError),
}

/// An account's state after an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountTransition {
    pub state: AccountState,
    /// A stable code for the state's reason (`unauthorized`, `rate_limited`,
    /// `circuit_open`), `None` when connected.
    pub code: Option<&'static str>,
    pub blocked_until: Option<Timestamp>,
    pub consecutive_failures: i32,
}

/// The per-account state machine: success closes everything; refused
/// credentials need a person; a rate limit blocks until its reset; transport
/// failures count, and [`CIRCUIT_THRESHOLD`] of them in a row open the circuit for
/// a doubling period with ±10% jitter. A failure that is the source's own
/// (bad configuration, a 404 hashtag) leaves the account alone.
pub fn next_account_state(
    consecutive_failures: i32,
    event: AccountEvent<'_>,
    now: Timestamp,
    jitter_seed: u64,
) -> Option<AccountTransition> {
    let until = |wait: Duration| {
        Some(now.plus_millis(i64::try_from(wait.min(MAX_ACCOUNT_WAIT).as_millis()).unwrap_or(0)))
    };
    let error = match event {
        AccountEvent::Succeeded => {
            return Some(AccountTransition {
                state: AccountState::Connected,
                code: None,
                blocked_until: None,
                consecutive_failures: 0,
            });
        }
        AccountEvent::Failed(error) => error,
    };
    match error {
        SourceError::Unauthorized { .. } => Some(AccountTransition {
            state: AccountState::NeedsReauth,
            code: Some("unauthorized"),
            blocked_until: None,
            consecutive_failures: consecutive_failures + 1,
        }),
        SourceError::RateLimited { retry_after } => Some(AccountTransition {
            state: AccountState::RateLimited,
            code: Some("rate_limited"),
            blocked_until: until(
                retry_after
                    .unwrap_or(DEFAULT_RATE_LIMIT_WAIT)
                    .max(Duration::from_secs(1)),
            ),
            consecutive_failures,
        }),
        error if error.is_transient() && !matches!(error, SourceError::MalformedFeed { .. }) => {
            let failures = consecutive_failures + 1;
            if failures < CIRCUIT_THRESHOLD {
                return Some(AccountTransition {
                    state: AccountState::Connected,
                    code: None,
                    blocked_until: None,
                    consecutive_failures: failures,
                });
            }
            let doublings = u32::try_from(failures - CIRCUIT_THRESHOLD).unwrap_or(0);
            let wait = crate::schedule::next_poll(CIRCUIT_BASE, doublings, jitter_seed);
            Some(AccountTransition {
                state: AccountState::RateLimited,
                code: Some("circuit_open"),
                blocked_until: until(wait),
                consecutive_failures: failures,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn origins_are_normalized_and_refusals_name_the_server() {
        fn check(input: &str, expected: Result<&str, &str>) {
            let got = normalize_origin(input, "instance").map_err(|error| match error {
                SourceError::InvalidUrl { reason, .. } => reason,
                other => panic!("{input:?}: not an invalid URL: {other:?}"),
            });
            match expected {
                Ok(origin) => assert_eq!(got.as_deref(), Ok(origin), "{input:?}"),
                Err(part) => assert!(
                    got.as_ref().is_err_and(|reason| reason.contains(part)),
                    "{input:?}: {got:?}"
                ),
            }
        }
        check("Social.Example", Ok("https://social.example"));
        check("http://[::1]:3011/", Ok("http://[::1]:3011"));
        check("https://social.example:443", Ok("https://social.example"));
        check("  ", Err("the instance address is required"));
        check(
            "ftp://social.example",
            Err("the instance must be an http(s) URL"),
        );
        check("https://a:b@social.example", Err("user name or password"));
        check("https://social.example/@ana", Err("without a path"));
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn response(status: u16, pairs: &[(&'static str, &str)], body: &str) -> HttpResponse {
        HttpResponse {
            status,
            final_url: url::Url::parse("https://social.example/api").unwrap(),
            headers: headers(pairs),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn rate_limit_headers_of_both_networks() {
        let mastodon = parse_rate_limit(&headers(&[
            ("x-ratelimit-limit", "300"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "2026-11-22T10:00:00.000Z"),
        ]))
        .unwrap();
        assert_eq!(mastodon.limit, Some(300));
        assert!(mastodon.exhausted());
        assert_eq!(mastodon.reset_at, Some(Timestamp(1_795_341_600_000)));
        let bluesky = parse_rate_limit(&headers(&[
            ("ratelimit-limit", "3000"),
            ("ratelimit-remaining", "2999"),
            ("ratelimit-reset", "1795341600"),
        ]))
        .unwrap();
        assert_eq!(bluesky.reset_at, Some(Timestamp(1_795_341_600_000)));
        assert!(!bluesky.exhausted());
        assert_eq!(parse_rate_limit(&headers(&[("etag", "x")])), None);
    }

    #[test]
    fn api_errors_are_classified() {
        let now = Timestamp(1_795_341_000_000);
        fn check(response: &HttpResponse, now: Timestamp, expected: &Option<SourceError>) {
            assert_eq!(&api_error(response, now), expected);
        }
        check(&response(200, &[], "{}"), now, &None);
        check(
            &response(401, &[], r#"{"error":"The access token was revoked"}"#),
            now,
            &Some(SourceError::Unauthorized {
                reason: "The access token was revoked".to_owned(),
            }),
        );
        check(
            &response(
                400,
                &[],
                r#"{"error":"ExpiredToken","message":"Token has expired"}"#,
            ),
            now,
            &Some(SourceError::HttpStatus { status: 400 }),
        );
        check(
            &response(429, &[("retry-after", "30")], ""),
            now,
            &Some(SourceError::RateLimited {
                retry_after: Some(Duration::from_secs(30)),
            }),
        );
        // No Retry-After: the reset header gives the wait (600 s after `now`).
        check(
            &response(
                429,
                &[
                    ("x-ratelimit-remaining", "0"),
                    ("x-ratelimit-reset", "2026-11-22T10:00:00Z"),
                ],
                "",
            ),
            now,
            &Some(SourceError::RateLimited {
                retry_after: Some(Duration::from_secs(600)),
            }),
        );
        check(
            &response(404, &[], "not json"),
            now,
            &Some(SourceError::HttpStatus { status: 404 }),
        );
    }

    #[test]
    fn credentials_never_print_and_merge_keeps_refresh_data() {
        let stored = AccountCredentials::Bluesky {
            did: "did:plc:abc".to_owned(),
            handle: "aurora.test".to_owned(),
            access_jwt: "old-access".to_owned(),
            refresh_jwt: "old-refresh".to_owned(),
        };
        let reconnect = AccountCredentials::Bluesky {
            did: "did:plc:abc".to_owned(),
            handle: "aurora.test".to_owned(),
            access_jwt: "new-access".to_owned(),
            refresh_jwt: String::new(),
        };
        let merged = reconnect.merged_over(Some(&stored));
        let AccountCredentials::Bluesky {
            access_jwt,
            refresh_jwt,
            ..
        } = &merged
        else {
            panic!("network changed");
        };
        assert_eq!(
            (access_jwt.as_str(), refresh_jwt.as_str()),
            ("new-access", "old-refresh")
        );
        let printed = format!("{merged:?}");
        assert!(!printed.contains("access") || !printed.contains("new-access"));
        assert!(!printed.contains("old-refresh"), "{printed}");
        let round = AccountCredentials::from_bytes(&merged.to_bytes()).unwrap();
        assert_eq!(round, merged);
        assert!(AccountCredentials::from_bytes(b"{}").is_err());
    }

    #[test]
    fn session_hands_back_refreshed_credentials_once() {
        let session = AccountSession::new(
            "https://social.example/",
            AccountCredentials::Mastodon {
                access_token: "t1".to_owned(),
                scope: "read write".to_owned(),
            },
        );
        assert_eq!(session.server_url(), "https://social.example");
        assert_eq!(session.take_refreshed(), None);
        session.replace_credentials(AccountCredentials::Mastodon {
            access_token: "t2".to_owned(),
            scope: "read write".to_owned(),
        });
        assert!(session.take_refreshed().is_some());
        assert_eq!(session.take_refreshed(), None);
        session.observe(&headers(&[("x-ratelimit-remaining", "7")]));
        assert_eq!(session.rate_limit().unwrap().remaining, Some(7));
    }

    #[test]
    fn account_state_machine() {
        let now = Timestamp(1_000_000);
        let network = SourceError::Network {
            reason: "reset".to_owned(),
        };
        let mut failures = 0;
        for _ in 1..CIRCUIT_THRESHOLD {
            let step =
                next_account_state(failures, AccountEvent::Failed(&network), now, 7).unwrap();
            assert_eq!(step.state, AccountState::Connected);
            failures = step.consecutive_failures;
        }
        let open = next_account_state(failures, AccountEvent::Failed(&network), now, 7).unwrap();
        assert_eq!(
            (open.state, open.code),
            (AccountState::RateLimited, Some("circuit_open"))
        );
        let wait = open.blocked_until.unwrap().millis() - now.millis();
        assert!((54_000..=66_000).contains(&wait), "{wait}");
        let longer = next_account_state(
            open.consecutive_failures,
            AccountEvent::Failed(&network),
            now,
            7,
        )
        .unwrap();
        assert!(longer.blocked_until.unwrap() > open.blocked_until.unwrap());
        let revoked = SourceError::Unauthorized {
            reason: "revoked".to_owned(),
        };
        let step = next_account_state(0, AccountEvent::Failed(&revoked), now, 7).unwrap();
        assert_eq!(step.state, AccountState::NeedsReauth);
        let limited = SourceError::RateLimited { retry_after: None };
        let step = next_account_state(2, AccountEvent::Failed(&limited), now, 7).unwrap();
        assert_eq!(
            step.blocked_until,
            Some(now.plus_millis(DEFAULT_RATE_LIMIT_WAIT.as_millis() as i64))
        );
        assert_eq!(step.consecutive_failures, 2);
        let config = SourceError::Config {
            reason: "no hashtag".to_owned(),
        };
        assert_eq!(
            next_account_state(3, AccountEvent::Failed(&config), now, 7),
            None
        );
        let ok = next_account_state(9, AccountEvent::Succeeded, now, 7).unwrap();
        assert_eq!(
            (ok.state, ok.consecutive_failures),
            (AccountState::Connected, 0)
        );
    }
}
