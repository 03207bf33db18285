//! Shared by the test suites of every crate that talks to the network peers
//! (behind the `test-support` feature): where the local Bluesky network and
//! the Mastodon API peer are, an HTTP client that may reach them on loopback,
//! fresh Bluesky accounts, and waiting for eventually consistent reads with a
//! deadline instead of a sleep.
//!
//! Like the PostgreSQL suites, tests that need a peer fail loudly when its
//! environment variable is unset: `scripts/test.sh` starts them all.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::net::{AllowList, ApiBody, ApiRequest, SafeHttpClient, SafeHttpConfig};
use crate::network::AccountSession;

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

/// A fresh account on the local Bluesky network.
pub struct BlueskyTestAccount {
    pub handle: String,
    pub password: String,
    pub did: String,
    pub session: AccountSession,
}

/// Creates an account on the local PDS (no invite needed there) and opens a session.
pub async fn create_bluesky_account(http: &SafeHttpClient, prefix: &str) -> BlueskyTestAccount {
    let pds = bluesky_pds_url();
    let handle = format!("{}.test", unique_word(prefix));
    let password = format!("pw-{handle}");
    let body = serde_json::to_vec(&serde_json::json!({
        "handle": handle,
        "email": format!("{}@example.com", handle.replace('.', "-")),
        "password": password,
    }))
    .unwrap();
    let url = format!("{pds}/xrpc/com.atproto.server.createAccount");
    let response = http
        .send(ApiRequest::post(&url, &[], ApiBody::Json(body)))
        .await
        .unwrap();
    assert_eq!(
        response.status,
        200,
        "createAccount: {}",
        String::from_utf8_lossy(&response.body)
    );
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
