//! Connected network accounts: a workspace's accounts on Mastodon (any instance)
//! and Bluesky (any PDS), through which it listens today and will answer and
//! publish later.
//!
//! An account's credentials are sealed in the store and never part of these
//! types; what is here is what the interface shows: who the account is, and
//! whether it works — connected, needing re-authorization (a revoked token or a
//! changed app password, with the network's reason) or rate limited until a time.

use serde::{Deserialize, Serialize};

use crate::{AccountId, Timestamp, UserId, WorkspaceId};

/// A network Atalaya can connect accounts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    Mastodon,
    Bluesky,
}

impl Network {
    pub const ALL: [Network; 2] = [Network::Mastodon, Network::Bluesky];

    pub fn as_str(self) -> &'static str {
        match self {
            Network::Mastodon => "mastodon",
            Network::Bluesky => "bluesky",
        }
    }

    pub fn from_code(code: &str) -> Option<Network> {
        Network::ALL
            .into_iter()
            .find(|network| network.as_str() == code)
    }
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an account works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    /// The last call with its credentials worked.
    Connected,
    /// The network refused its credentials (revoked token, changed app
    /// password, expired refresh): a person must reconnect it. Its sources are
    /// not polled until then.
    NeedsReauth,
    /// The network asked us to slow down, or repeated failures opened the
    /// account's circuit breaker: nothing is sent before `blocked_until`.
    RateLimited,
}

impl AccountState {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountState::Connected => "connected",
            AccountState::NeedsReauth => "needs_reauth",
            AccountState::RateLimited => "rate_limited",
        }
    }

    pub fn from_code(code: &str) -> Option<AccountState> {
        [
            AccountState::Connected,
            AccountState::NeedsReauth,
            AccountState::RateLimited,
        ]
        .into_iter()
        .find(|state| state.as_str() == code)
    }
}

/// A workspace's account on a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NetworkAccount {
    pub id: AccountId,
    pub workspace_id: WorkspaceId,
    pub network: Network,
    /// The instance (Mastodon) or PDS (Bluesky) base URL, e.g. `https://mastodon.social`.
    pub server_url: String,
    /// The network's stable id for the account (Mastodon account id, Bluesky DID).
    pub remote_id: String,
    /// `@name@instance` on Mastodon, `name.bsky.social` on Bluesky.
    pub handle: String,
    pub display_name: Option<String>,
    pub state: AccountState,
    /// A stable code for the last problem (`unauthorized`, `rate_limited`, `circuit_open`, …).
    pub state_code: Option<String>,
    /// The network's own words about the last problem.
    pub state_reason: Option<String>,
    /// No calls before this time (rate limit reset, open circuit).
    pub blocked_until: Option<Timestamp>,
    /// Failed calls in a row, for the circuit breaker.
    pub consecutive_failures: i32,
    pub connected_by: Option<UserId>,
    pub connected_at: Timestamp,
    pub last_ok_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for network in Network::ALL {
            assert_eq!(Network::from_code(network.as_str()), Some(network));
        }
        for state in [
            AccountState::Connected,
            AccountState::NeedsReauth,
            AccountState::RateLimited,
        ] {
            assert_eq!(AccountState::from_code(state.as_str()), Some(state));
        }
        assert_eq!(Network::from_code("twitter"), None);
        assert_eq!(AccountState::from_code(""), None);
    }
}
