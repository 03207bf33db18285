//! Connected network accounts, Mastodon app registrations and pending OAuth
//! authorizations.
//!
//! Credentials arrive sealed (the caller owns the key) and live in their own
//! column: [`Accounts::get`] and [`Accounts::list`] never read them, only
//! [`Accounts::sealed_credentials`] does. Connecting the same remote account
//! again updates it in place ([`Accounts::connect`] is an upsert on
//! workspace + network + server + remote id), so its sources keep working and
//! nothing stored about it is lost.

use atalaya_domain::{
    AccountId, AccountState, Network, NetworkAccount, Timestamp, UserId, WorkspaceId,
};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

const ACCOUNT_COLUMNS: &str = "id, workspace_id, network, server_url, remote_id, handle, display_name, state, \
     state_code, state_reason, blocked_until, consecutive_failures, connected_by, connected_at, last_ok_at";

/// An account to connect (or reconnect).
#[derive(Debug, Clone)]
pub struct NewAccount<'a> {
    pub network: Network,
    pub server_url: &'a str,
    pub remote_id: &'a str,
    pub handle: &'a str,
    pub display_name: Option<&'a str>,
    /// Already merged with what was stored (see `AccountCredentials::merged_over`) and sealed.
    pub sealed_credentials: &'a [u8],
    pub connected_by: Option<UserId>,
}

/// An account's state after a call through it (see `atalaya_connectors::network::next_account_state`).
#[derive(Debug, Clone, Copy)]
pub struct AccountStateUpdate<'a> {
    pub state: AccountState,
    pub code: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub blocked_until: Option<Timestamp>,
    pub consecutive_failures: i32,
}

/// A registered OAuth client on a Mastodon instance, per redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthApp {
    pub server_url: String,
    pub redirect_uri: String,
    pub client_id: String,
    pub sealed_client_secret: Vec<u8>,
}

/// An authorization the user started and the network has not called back yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAuthorization {
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub network: Network,
    pub server_url: String,
    pub redirect_uri: String,
}

/// The `network_accounts`, `oauth_apps` and `oauth_pending` tables.
pub struct Accounts<'s> {
    pub(crate) store: &'s Store,
}

fn account_from_row(row: &AnyRow) -> Result<NetworkAccount, StoreError> {
    let network: String = row.try_get("network")?;
    let state: String = row.try_get("state")?;
    Ok(NetworkAccount {
        id: AccountId(row.try_get("id")?),
        workspace_id: WorkspaceId(row.try_get("workspace_id")?),
        network: Network::from_code(&network).ok_or_else(|| StoreError::CorruptValue {
            column: "network_accounts.network",
            message: format!("unknown network {network:?}"),
        })?,
        server_url: row.try_get("server_url")?,
        remote_id: row.try_get("remote_id")?,
        handle: row.try_get("handle")?,
        display_name: row.try_get("display_name")?,
        state: AccountState::from_code(&state).ok_or_else(|| StoreError::CorruptValue {
            column: "network_accounts.state",
            message: format!("unknown state {state:?}"),
        })?,
        state_code: row.try_get("state_code")?,
        state_reason: row.try_get("state_reason")?,
        blocked_until: row
            .try_get::<Option<i64>, _>("blocked_until")?
            .map(Timestamp),
        consecutive_failures: row.try_get("consecutive_failures")?,
        connected_by: row.try_get::<Option<i64>, _>("connected_by")?.map(UserId),
        connected_at: Timestamp(row.try_get("connected_at")?),
        last_ok_at: row.try_get::<Option<i64>, _>("last_ok_at")?.map(Timestamp),
    })
}

impl Accounts<'_> {
    /// Connects an account, or reconnects it: the same remote account in the same
    /// workspace keeps its id (and so its sources), gets the new credentials and
    /// is `connected` again with its problems cleared.
    pub async fn connect(
        &self,
        workspace: WorkspaceId,
        account: NewAccount<'_>,
        now: Timestamp,
    ) -> Result<NetworkAccount, StoreError> {
        let sql = format!(
            "INSERT INTO network_accounts (workspace_id, network, server_url, remote_id, handle, display_name, \
             sealed_credentials, state, connected_by, connected_at, last_ok_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $10) \
             ON CONFLICT (workspace_id, network, server_url, remote_id) DO UPDATE SET \
             handle = excluded.handle, display_name = excluded.display_name, \
             sealed_credentials = excluded.sealed_credentials, state = excluded.state, state_code = NULL, \
             state_reason = NULL, blocked_until = NULL, consecutive_failures = 0, \
             connected_by = excluded.connected_by, last_ok_at = excluded.last_ok_at, updated_at = excluded.updated_at \
             RETURNING {ACCOUNT_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace.get())
            .bind(account.network.as_str())
            .bind(account.server_url)
            .bind(account.remote_id)
            .bind(account.handle)
            .bind(account.display_name)
            .bind(account.sealed_credentials.to_vec())
            .bind(AccountState::Connected.as_str())
            .bind(account.connected_by.map(UserId::get))
            .bind(now.millis())
            .fetch_one(self.store.pool())
            .await?;
        account_from_row(&row)
    }

    pub async fn get(
        &self,
        workspace: WorkspaceId,
        id: AccountId,
    ) -> Result<Option<NetworkAccount>, StoreError> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM network_accounts WHERE workspace_id = $1 AND id = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace.get())
            .bind(id.get())
            .fetch_optional(self.store.pool())
            .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    /// The stored account for a remote identity, if this workspace has it.
    pub async fn find(
        &self,
        workspace: WorkspaceId,
        network: Network,
        server_url: &str,
        remote_id: &str,
    ) -> Result<Option<NetworkAccount>, StoreError> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM network_accounts WHERE workspace_id = $1 AND network = $2 \
             AND server_url = $3 AND remote_id = $4"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace.get())
            .bind(network.as_str())
            .bind(server_url)
            .bind(remote_id)
            .fetch_optional(self.store.pool())
            .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    /// The workspace's accounts, by network and handle.
    pub async fn list(&self, workspace: WorkspaceId) -> Result<Vec<NetworkAccount>, StoreError> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM network_accounts WHERE workspace_id = $1 ORDER BY network, handle, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace.get())
            .fetch_all(self.store.pool())
            .await?;
        rows.iter().map(account_from_row).collect()
    }

    /// How many of the workspace's accounts are not `connected` (for the dashboard).
    pub async fn needing_attention(&self, workspace: WorkspaceId) -> Result<i64, StoreError> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM network_accounts WHERE workspace_id = $1 AND state <> $2",
        )
        .bind(workspace.get())
        .bind(AccountState::Connected.as_str())
        .fetch_one(self.store.pool())
        .await?;
        Ok(count)
    }

    pub async fn sealed_credentials(&self, id: AccountId) -> Result<Option<Vec<u8>>, StoreError> {
        let sealed: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT sealed_credentials FROM network_accounts WHERE id = $1")
                .bind(id.get())
                .fetch_optional(self.store.pool())
                .await?;
        Ok(sealed)
    }

    /// Replaces the credentials after a session refresh (state untouched).
    pub async fn set_credentials(
        &self,
        id: AccountId,
        sealed_credentials: &[u8],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE network_accounts SET sealed_credentials = $1, updated_at = $2 WHERE id = $3",
        )
        .bind(sealed_credentials.to_vec())
        .bind(now.millis())
        .bind(id.get())
        .execute(self.store.pool())
        .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "account" });
        }
        Ok(())
    }

    /// Records the account's state after a call; a `connected` state also stamps `last_ok_at`.
    pub async fn record_state(
        &self,
        id: AccountId,
        update: &AccountStateUpdate<'_>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let ok = update.state == AccountState::Connected && update.consecutive_failures == 0;
        let result = sqlx::query(
            "UPDATE network_accounts SET state = $1, state_code = $2, state_reason = $3, blocked_until = $4, \
             consecutive_failures = $5, last_ok_at = CASE WHEN $6 THEN $7 ELSE last_ok_at END, updated_at = $7 \
             WHERE id = $8",
        )
        .bind(update.state.as_str())
        .bind(update.code)
        .bind(update.reason)
        .bind(update.blocked_until.map(Timestamp::millis))
        .bind(update.consecutive_failures)
        .bind(ok)
        .bind(now.millis())
        .bind(id.get())
        .execute(self.store.pool())
        .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "account" });
        }
        Ok(())
    }

    /// Removes an account and its credentials. Its sources stay (their mentions
    /// name them) but lose the account, and fail visibly until given another one.
    pub async fn disconnect(
        &self,
        workspace: WorkspaceId,
        id: AccountId,
    ) -> Result<(), StoreError> {
        let result =
            sqlx::query("DELETE FROM network_accounts WHERE workspace_id = $1 AND id = $2")
                .bind(workspace.get())
                .bind(id.get())
                .execute(self.store.pool())
                .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "account" });
        }
        Ok(())
    }

    /// The registered OAuth client for an instance and redirect URI, if any.
    pub async fn oauth_app(
        &self,
        server_url: &str,
        redirect_uri: &str,
    ) -> Result<Option<OAuthApp>, StoreError> {
        let row = sqlx::query(
            "SELECT server_url, redirect_uri, client_id, sealed_client_secret FROM oauth_apps \
             WHERE server_url = $1 AND redirect_uri = $2",
        )
        .bind(server_url)
        .bind(redirect_uri)
        .fetch_optional(self.store.pool())
        .await?;
        row.map(|row| {
            Ok(OAuthApp {
                server_url: row.try_get("server_url")?,
                redirect_uri: row.try_get("redirect_uri")?,
                client_id: row.try_get("client_id")?,
                sealed_client_secret: row.try_get("sealed_client_secret")?,
            })
        })
        .transpose()
    }

    /// Keeps a registration (replacing one for the same instance and redirect URI).
    pub async fn save_oauth_app(&self, app: &OAuthApp, now: Timestamp) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth_apps (server_url, redirect_uri, client_id, sealed_client_secret, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (server_url, redirect_uri) DO UPDATE SET \
             client_id = excluded.client_id, sealed_client_secret = excluded.sealed_client_secret, \
             created_at = excluded.created_at",
        )
        .bind(&app.server_url)
        .bind(&app.redirect_uri)
        .bind(&app.client_id)
        .bind(app.sealed_client_secret.clone())
        .bind(now.millis())
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// Remembers an authorization in flight under the hash of its `state` parameter.
    pub async fn begin_authorization(
        &self,
        state_hash: &str,
        pending: &PendingAuthorization,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        // Expired leftovers are swept here, so the table never grows unbounded.
        sqlx::query("DELETE FROM oauth_pending WHERE expires_at < $1")
            .bind(now.millis())
            .execute(self.store.pool())
            .await?;
        sqlx::query(
            "INSERT INTO oauth_pending (state_hash, workspace_id, user_id, network, server_url, redirect_uri, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(state_hash)
        .bind(pending.workspace_id.get())
        .bind(pending.user_id.get())
        .bind(pending.network.as_str())
        .bind(&pending.server_url)
        .bind(&pending.redirect_uri)
        .bind(now.millis())
        .bind(expires_at.millis())
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// Takes (and deletes) an unexpired authorization: each `state` works once.
    pub async fn take_authorization(
        &self,
        state_hash: &str,
        now: Timestamp,
    ) -> Result<Option<PendingAuthorization>, StoreError> {
        let row = sqlx::query(
            "DELETE FROM oauth_pending WHERE state_hash = $1 \
             RETURNING workspace_id, user_id, network, server_url, redirect_uri, expires_at",
        )
        .bind(state_hash)
        .fetch_optional(self.store.pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        if row.try_get::<i64, _>("expires_at")? < now.millis() {
            return Ok(None);
        }
        let network: String = row.try_get("network")?;
        Ok(Some(PendingAuthorization {
            workspace_id: WorkspaceId(row.try_get("workspace_id")?),
            user_id: UserId(row.try_get("user_id")?),
            network: Network::from_code(&network).ok_or_else(|| StoreError::CorruptValue {
                column: "oauth_pending.network",
                message: format!("unknown network {network:?}"),
            })?,
            server_url: row.try_get("server_url")?,
            redirect_uri: row.try_get("redirect_uri")?,
        }))
    }
}
