//! Shared by the test suites of every crate that talks to the network peers
//! (behind the `test-support` feature): where the local Bluesky network and
//! the Mastodon API peer are, an HTTP client that may reach them on loopback,
//! fresh Bluesky and Mastodon accounts, the Mastodon peer's fault injection,
//! polling a source kind once, and waiting for eventually consistent reads
//! with a deadline instead of a sleep.
//!
//! Like the PostgreSQL suites, tests that need a peer fail loudly when its
//! environment variable is unset: `scripts/test.sh` starts them all.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::error::SourceError;
use crate::net::{AllowList, ApiBody, ApiRequest, SafeHttpClient, SafeHttpConfig};
use crate::network::{AccountCredentials, AccountSession};
use crate::source::{PollContext, PollOutcome, SourceRegistry};

/// The local Bluesky network's PDS, from `scripts/peers/bluesky.sh env`.
pub const BLUESKY_ENV: &str = "ATALAYA_TEST_BLUESKY_PDS_URL";
/// The Mastodon API peer, from `scripts/peers/mastodon.sh env`.
pub const MASTODON_ENV: &str = "ATALAYA_TEST_MASTODON_URL";
/// How long a peer may take to make a write visible to reads (search indexing).
pub const EVENTUALLY_DEADLINE: Duration = Duration::from_secs(30);

fn peer_url(name: &str, script: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: start the peer with `scripts/peers/{script}.sh install && \
             scripts/peers/{script}.sh start` and `eval \"$(scripts/peers/{script}.sh env)\"` \
             (scripts/test.sh does all of it)"
        )
    })
}

/// The local Bluesky PDS URL; panics with how to start it when unset.
pub fn bluesky_pds_url() -> String {
    peer_url(BLUESKY_ENV, "bluesky")
}

/// The Mastodon API peer URL; panics with how to start it when unset.
pub fn mastodon_url() -> String {
    peer_url(MASTODON_ENV, "mastodon")
}

/// A client whose allow-list admits the peers on loopback (and nothing else private).
pub fn loopback_client() -> SafeHttpClient {
    SafeHttpClient::new(SafeHttpConfig {
        allow_list: AllowList::parse(&["127.0.0.1/32", "::1/128", "localhost"]).unwrap(),
        ..SafeHttpConfig::default()
    })
    .unwrap()
}

/// A string no other test or earlier run used: lowercase letters and digits,
/// short enough for a Bluesky handle label (the PDS allows 18 characters).
pub fn unique_word(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let stamp = format!(
        "{:x}",
        (nanos / 1000) ^ (u128::from(count) << 40) ^ u128::from(std::process::id())
    );
    let tail = &stamp[stamp.len().saturating_sub(10)..];
    format!("{prefix}{tail}{count}")
}

/// Posts `body` as JSON to a peer's URL and returns the response body; panics
/// (naming `what`) unless the peer answers 200, since every caller is test setup.
async fn post_json_ok(
    http: &SafeHttpClient,
    url: &str,
    body: &serde_json::Value,
    what: &str,
) -> Vec<u8> {
    let body = serde_json::to_vec(body).unwrap();
    let response = http
        .send(ApiRequest::post(url, &[], ApiBody::Json(body)))
        .await
        .unwrap();
    assert_eq!(
        response.status,
        200,
        "{what}: {}",
        String::from_utf8_lossy(&response.body)
    );
    response.body
}

/// Creates an account on the local PDS (no invite needed there) without
/// opening a session; returns its `(handle, password)`. For tests that sign in
/// the way a person does, through the code under test.
pub async fn register_bluesky_account(http: &SafeHttpClient, prefix: &str) -> (String, String) {
    let handle = format!("{}.test", unique_word(prefix));
    let password = format!("pw-{handle}");
    let body = serde_json::json!({
        "handle": handle,
        "email": format!("{}@example.com", handle.replace('.', "-")),
        "password": password,
    });
    let url = format!(
        "{}/xrpc/com.atproto.server.createAccount",
        bluesky_pds_url()
    );
    post_json_ok(http, &url, &body, "createAccount").await;
    (handle, password)
}

/// A fresh account on the local Bluesky network.
pub struct BlueskyTestAccount {
    pub handle: String,
    pub password: String,
    pub did: String,
    pub session: AccountSession,
}

/// Creates an account on the local PDS and opens a session.
pub async fn create_bluesky_account(http: &SafeHttpClient, prefix: &str) -> BlueskyTestAccount {
    let pds = bluesky_pds_url();
    let (handle, password) = register_bluesky_account(http, prefix).await;
    let (credentials, profile) = crate::bluesky::create_session(http, &pds, &handle, &password)
        .await
        .unwrap();
    BlueskyTestAccount {
        handle,
        password,
        did: profile.did,
        session: AccountSession::new(&pds, credentials),
    }
}

/// A fresh account on the Mastodon peer, with a token of all scopes.
pub struct MastodonTestAccount {
    pub username: String,
    pub session: AccountSession,
}

/// Creates an account on the Mastodon peer through mastodon-mock's
/// `/api/v1/_mock/dev_user` (a real instance has no such shortcut).
pub async fn create_mastodon_account(http: &SafeHttpClient) -> MastodonTestAccount {
    let url = format!("{}/api/v1/_mock/dev_user", mastodon_url());
    let body = serde_json::json!({ "username": unique_word("user") });
    let user: serde_json::Value =
        serde_json::from_slice(&post_json_ok(http, &url, &body, "dev_user").await).unwrap();
    MastodonTestAccount {
        username: user["username"].as_str().unwrap().to_owned(),
        session: mastodon_session(user["access_token"].as_str().unwrap()),
    }
}

/// A session on the Mastodon peer for `access_token` (which need not be valid).
pub fn mastodon_session(access_token: &str) -> AccountSession {
    AccountSession::new(
        &mastodon_url(),
        AccountCredentials::Mastodon {
            access_token: access_token.to_owned(),
            scope: crate::mastodon::SCOPES.to_owned(),
        },
    )
}

/// Adds a fault rule on the Mastodon peer (`/api/v1/_mock/faults`), for the
/// failures a healthy instance cannot be asked to produce.
pub async fn add_mastodon_fault(http: &SafeHttpClient, rule: &serde_json::Value) {
    let url = format!("{}/api/v1/_mock/faults", mastodon_url());
    post_json_ok(http, &url, rule, "faults").await;
}

/// A source of the standard registry's `kind` as a test sets it up: polled
/// through one account with one config, cursor by cursor, as the worker does.
pub struct TestSource<'a> {
    pub http: &'a SafeHttpClient,
    pub account: &'a AccountSession,
    pub kind: &'a str,
    pub config: serde_json::Value,
    pub topic_terms: Vec<String>,
}

impl<'a> TestSource<'a> {
    /// A source without topic terms; panics when `config` is not valid for `kind`.
    pub fn new(
        http: &'a SafeHttpClient,
        account: &'a AccountSession,
        kind: &'a str,
        config: serde_json::Value,
    ) -> Self {
        SourceRegistry::standard()
            .get(kind)
            .unwrap()
            .validate_config(&config)
            .unwrap();
        TestSource {
            http,
            account,
            kind,
            config,
            topic_terms: Vec::new(),
        }
    }

    /// The same source, told to search for these topic terms.
    #[must_use]
    pub fn with_topic_terms(self, topic_terms: Vec<String>) -> Self {
        TestSource {
            topic_terms,
            ..self
        }
    }

    /// Polls once from `cursor` (`None`: the first poll).
    pub async fn poll(&self, cursor: Option<&str>) -> Result<PollOutcome, SourceError> {
        let registry = SourceRegistry::standard();
        registry
            .get(self.kind)
            .unwrap()
            .poll(PollContext {
                config: &self.config,
                secret: None,
                cursor,
                client: self.http,
                account: Some(self.account),
                topic_terms: &self.topic_terms,
            })
            .await
    }
}

/// The texts a poll returned, sorted: the networks do not promise an order
/// within a page.
pub fn sorted_texts(outcome: &PollOutcome) -> Vec<String> {
    let mut texts: Vec<String> = outcome.items.iter().map(|item| item.text.clone()).collect();
    texts.sort();
    texts
}

/// Retries `attempt` until it yields a value; panics after [`EVENTUALLY_DEADLINE`].
pub async fn eventually<T, F, Fut>(what: &str, mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = attempt().await {
            return value;
        }
        assert!(
            started.elapsed() < EVENTUALLY_DEADLINE,
            "{what}: not seen within {EVENTUALLY_DEADLINE:?}"
        );
        // The interval between checks, not a wait for readiness.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
