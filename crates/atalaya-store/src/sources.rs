//! Listening sources: where a workspace's mentions come from, with their health,
//! poll schedule, opaque cursor and sealed secret.
//!
//! Push kinds ([`PUSH_KINDS`]: webhooks and imports) are never polled, so they
//! get no `next_poll_at` and never appear in [`Sources::due`]. The sealed secret
//! is kept in its own column and never read by [`Sources::get`] or
//! [`Sources::list`]: only [`Sources::sealed_secret`] returns it.

use atalaya_domain::{AccountId, Source, SourceHealth, SourceId, Timestamp, WorkspaceId};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::dialect::get_bool;
use crate::{Store, StoreError, map_conflict};

/// Source kinds that receive mentions instead of polling for them.
pub const PUSH_KINDS: [&str; 2] = ["webhook", "import"];

/// The job that polls one source (the workers run it; the web queues it for
/// "check now").
pub const POLL_SOURCE_JOB_KIND: &str = "listening.poll_source";

/// The unique key of a source's poll job: at most one is queued or running per
/// source, whoever asked for it.
pub fn poll_job_key(id: SourceId) -> String {
    format!("{POLL_SOURCE_JOB_KIND}:{id}")
}

/// The config key whose value, when a string, is stored as the source's webhook
/// token hash (so [`Sources::find_by_webhook_token`] is an indexed lookup).
pub const WEBHOOK_TOKEN_HASH_KEY: &str = "token_hash";

const SOURCE_COLUMNS: &str = "id, workspace_id, kind, name, config, sealed_secret IS NOT NULL AS has_secret, account_id, enabled, \
     health, last_error_code, last_error, last_polled_at, next_poll_at, consecutive_failures, mentions_total, created_at";

/// A source to create.
#[derive(Debug, Clone)]
pub struct NewSource<'a> {
    pub kind: &'a str,
    pub name: &'a str,
    pub config: serde_json::Value,
    pub sealed_secret: Option<&'a [u8]>,
    /// The connected account a network kind listens through (must belong to the same workspace).
    pub account_id: Option<AccountId>,
    pub enabled: bool,
}

/// What [`Sources::record_failure`] records about a failed poll.
#[derive(Debug, Clone, Copy)]
pub struct PollFailure<'a> {
    /// A stable error code the UI translates, e.g. `timeout`.
    pub code: &'a str,
    pub message: &'a str,
    /// The health after this failure (see `atalaya_connectors::next_health`).
    pub health: SourceHealth,
}

/// The `sources` table.
pub struct Sources<'s> {
    pub(crate) store: &'s Store,
}

pub(crate) fn source_from_row(row: &AnyRow) -> Result<Source, StoreError> {
    let config: String = row.try_get("config")?;
    let health: String = row.try_get("health")?;
    Ok(Source {
        id: SourceId(row.try_get("id")?),
        workspace_id: WorkspaceId(row.try_get("workspace_id")?),
        kind: row.try_get("kind")?,
        name: row.try_get("name")?,
        config: serde_json::from_str(&config).map_err(|error| StoreError::CorruptValue {
            column: "sources.config",
            message: error.to_string(),
        })?,
        has_secret: get_bool(row, "has_secret")?,
        account_id: row.try_get::<Option<i64>, _>("account_id")?.map(AccountId),
        enabled: get_bool(row, "enabled")?,
        health: SourceHealth::from_code(&health).ok_or_else(|| StoreError::CorruptValue {
            column: "sources.health",
            message: format!("unknown health {health:?}"),
        })?,
        last_error_code: row.try_get("last_error_code")?,
        last_error: row.try_get("last_error")?,
        last_polled_at: row
            .try_get::<Option<i64>, _>("last_polled_at")?
            .map(Timestamp),
        next_poll_at: row
            .try_get::<Option<i64>, _>("next_poll_at")?
            .map(Timestamp),
        consecutive_failures: row.try_get("consecutive_failures")?,
        mentions_total: row.try_get("mentions_total")?,
        created_at: Timestamp(row.try_get("created_at")?),
    })
}

fn token_hash_of(config: &serde_json::Value) -> Option<&str> {
    config
        .get(WEBHOOK_TOKEN_HASH_KEY)
        .and_then(serde_json::Value::as_str)
}

fn is_push(kind: &str) -> bool {
    PUSH_KINDS.contains(&kind)
}

impl Sources<'_> {
    /// Creates a source. A polling source is due at once (health `pending`); a
    /// disabled one starts `disabled`. A webhook token hash already used by another
    /// source is `Conflict { what: "webhook_token_hash" }`.
    pub async fn create(
        &self,
        workspace: WorkspaceId,
        source: NewSource<'_>,
        now: Timestamp,
    ) -> Result<Source, StoreError> {
        let health = if source.enabled {
            SourceHealth::Pending
        } else {
            SourceHealth::Disabled
        };
        let next_poll_at = (!is_push(source.kind)).then_some(now.millis());
        let sql = format!(
            "INSERT INTO sources (workspace_id, kind, name, config, sealed_secret, webhook_token_hash, enabled, health, \
             next_poll_at, created_at, account_id) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 \
             WHERE $11 IS NULL OR EXISTS (SELECT 1 FROM network_accounts WHERE id = $11 AND workspace_id = $1) \
             RETURNING {SOURCE_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace.get())
            .bind(source.kind)
            .bind(source.name)
            .bind(source.config.to_string())
            .bind(source.sealed_secret.map(<[u8]>::to_vec))
            .bind(token_hash_of(&source.config))
            .bind(source.enabled)
            .bind(health.as_str())
            .bind(next_poll_at)
            .bind(now.millis())
            .bind(source.account_id.map(AccountId::get))
            .fetch_optional(self.store.pool())
            .await
            .map_err(|error| map_conflict(error, &["webhook_token_hash"]))?;
        // No row: the account is not this workspace's.
        let row = row.ok_or(StoreError::NotFound { what: "account" })?;
        source_from_row(&row)
    }

    /// A source of the workspace, archived ones included (their mentions still name them).
    pub async fn get(
        &self,
        workspace: WorkspaceId,
        id: SourceId,
    ) -> Result<Option<Source>, StoreError> {
        let sql =
            format!("SELECT {SOURCE_COLUMNS} FROM sources WHERE workspace_id = $1 AND id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace.get())
            .bind(id.get())
            .fetch_optional(self.store.pool())
            .await?;
        row.as_ref().map(source_from_row).transpose()
    }

    /// The workspace's sources that are not archived, by name.
    pub async fn list(&self, workspace: WorkspaceId) -> Result<Vec<Source>, StoreError> {
        let sql = format!(
            "SELECT {SOURCE_COLUMNS} FROM sources WHERE workspace_id = $1 AND archived = $2 ORDER BY name, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace.get())
            .bind(false)
            .fetch_all(self.store.pool())
            .await?;
        rows.iter().map(source_from_row).collect()
    }

    /// Renames a source and replaces its settings.
    pub async fn update(
        &self,
        workspace: WorkspaceId,
        id: SourceId,
        name: &str,
        config: serde_json::Value,
        now: Timestamp,
    ) -> Result<Source, StoreError> {
        // A changed configuration (say, a corrected feed URL) deserves a prompt poll.
        let sql = format!(
            "UPDATE sources SET name = $1, config = $2, webhook_token_hash = $3, \
             next_poll_at = CASE WHEN next_poll_at IS NULL THEN NULL ELSE $4 END \
             WHERE workspace_id = $5 AND id = $6 RETURNING {SOURCE_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .bind(config.to_string())
            .bind(token_hash_of(&config))
            .bind(now.millis())
            .bind(workspace.get())
            .bind(id.get())
            .fetch_optional(self.store.pool())
            .await
            .map_err(|error| map_conflict(error, &["webhook_token_hash"]))?;
        match row {
            Some(row) => source_from_row(&row),
            None => Err(StoreError::NotFound { what: "source" }),
        }
    }

    /// Switches a source on (health back to `pending`, failures forgotten, a
    /// polling source due at once) or off (`disabled`).
    pub async fn set_enabled(
        &self,
        workspace: WorkspaceId,
        id: SourceId,
        enabled: bool,
    ) -> Result<(), StoreError> {
        let health = if enabled {
            SourceHealth::Pending
        } else {
            SourceHealth::Disabled
        };
        let result = sqlx::query(
            "UPDATE sources SET enabled = $1, health = $2, \
             consecutive_failures = CASE WHEN $1 THEN 0 ELSE consecutive_failures END, \
             next_poll_at = CASE WHEN next_poll_at IS NULL THEN NULL WHEN $1 THEN $3 ELSE next_poll_at END \
             WHERE workspace_id = $4 AND id = $5 AND archived = $6",
        )
        .bind(enabled)
        .bind(health.as_str())
        .bind(Timestamp::now().millis())
        .bind(workspace.get())
        .bind(id.get())
        .bind(false)
        .execute(self.store.pool())
        .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "source" });
        }
        Ok(())
    }

    /// Disables and hides a source. Its mentions stay: nothing a user wrote is deleted.
    pub async fn archive(&self, workspace: WorkspaceId, id: SourceId) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE sources SET enabled = $1, archived = $2, health = $3, webhook_token_hash = NULL \
             WHERE workspace_id = $4 AND id = $5",
        )
        .bind(false)
        .bind(true)
        .bind(SourceHealth::Disabled.as_str())
        .bind(workspace.get())
        .bind(id.get())
        .execute(self.store.pool())
        .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "source" });
        }
        Ok(())
    }

    /// The sealed (encrypted) secret of a source, for the worker to open.
    pub async fn sealed_secret(&self, id: SourceId) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query("SELECT sealed_secret FROM sources WHERE id = $1")
            .bind(id.get())
            .fetch_optional(self.store.pool())
            .await?;
        match row {
            Some(row) => Ok(row.try_get::<Option<Vec<u8>>, _>("sealed_secret")?),
            None => Err(StoreError::NotFound { what: "source" }),
        }
    }

    pub async fn set_sealed_secret(
        &self,
        id: SourceId,
        sealed: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        let result = sqlx::query("UPDATE sources SET sealed_secret = $1 WHERE id = $2")
            .bind(sealed.map(<[u8]>::to_vec))
            .bind(id.get())
            .execute(self.store.pool())
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "source" });
        }
        Ok(())
    }

    /// The opaque state the last successful poll left (feed validators, since-ids).
    pub async fn cursor(&self, id: SourceId) -> Result<Option<String>, StoreError> {
        let cursor: Option<Option<String>> =
            sqlx::query_scalar("SELECT cursor FROM sources WHERE id = $1")
                .bind(id.get())
                .fetch_optional(self.store.pool())
                .await?;
        Ok(cursor.flatten())
    }

    /// Enabled polling sources of every workspace whose next poll is due, oldest first.
    pub async fn due(&self, now: Timestamp, limit: i64) -> Result<Vec<Source>, StoreError> {
        let sql = format!(
            "SELECT {SOURCE_COLUMNS} FROM sources WHERE enabled = $1 AND archived = $2 \
             AND next_poll_at IS NOT NULL AND next_poll_at <= $3 ORDER BY next_poll_at, id LIMIT $4"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(true)
            .bind(false)
            .bind(now.millis())
            .bind(limit)
            .fetch_all(self.store.pool())
            .await?;
        rows.iter().map(source_from_row).collect()
    }

    /// A poll worked: health `ok`, failures reset, the new cursor kept (`None`
    /// keeps the old one), next poll scheduled.
    pub async fn record_success(
        &self,
        id: SourceId,
        cursor: Option<&str>,
        items: i64,
        now: Timestamp,
        next_poll_at: Timestamp,
    ) -> Result<(), StoreError> {
        // A source disabled while its poll ran stays disabled: a late result must not revive it.
        let result = sqlx::query(
            "UPDATE sources SET cursor = COALESCE($1, cursor), last_poll_items = $2, last_polled_at = $3, \
             next_poll_at = $4, consecutive_failures = 0, last_error_code = NULL, last_error = NULL, \
             health = CASE WHEN enabled THEN 'ok' ELSE health END WHERE id = $5",
        )
        .bind(cursor)
        .bind(items)
        .bind(now.millis())
        .bind(next_poll_at.millis())
        .bind(id.get())
        .execute(self.store.pool())
        .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "source" });
        }
        Ok(())
    }

    /// A poll failed: one more consecutive failure, the stable error code and
    /// message kept for the UI, next (backed-off) poll scheduled, and the health
    /// the caller computed from the failure count. `Disabled` also switches the
    /// source off, so a feed dead for days stops being polled until a person
    /// looks at it. A source a person disabled keeps its health.
    pub async fn record_failure(
        &self,
        id: SourceId,
        failure: &PollFailure<'_>,
        now: Timestamp,
        next_poll_at: Timestamp,
    ) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE sources SET last_error_code = $1, last_error = $2, last_polled_at = $3, next_poll_at = $4, \
             consecutive_failures = consecutive_failures + 1, \
             health = CASE WHEN enabled THEN $5 ELSE health END, \
             enabled = CASE WHEN $5 = 'disabled' THEN $6 ELSE enabled END WHERE id = $7",
        )
        .bind(failure.code)
        .bind(failure.message)
        .bind(now.millis())
        .bind(next_poll_at.millis())
        .bind(failure.health.as_str())
        .bind(false)
        .bind(id.get())
        .execute(self.store.pool())
        .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "source" });
        }
        Ok(())
    }

    /// Moves the next poll of an enabled polling source to `until` without
    /// counting a failure: later when its account is rate limited or its circuit
    /// open (not the source's fault), or now when a person asks for a check.
    pub async fn reschedule(&self, id: SourceId, until: Timestamp) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE sources SET next_poll_at = $1 WHERE id = $2 AND next_poll_at IS NOT NULL",
        )
        .bind(until.millis())
        .bind(id.get())
        .execute(self.store.pool())
        .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "source" });
        }
        Ok(())
    }

    /// Queues a poll of the source ahead of every due job ("check now"): its
    /// `run_after` is the epoch, and claims take the earliest first. `false`
    /// when a poll of it is already queued or running (that one answers).
    /// `NotFound` for a source of another workspace or one that is not polled.
    pub async fn check_now(
        &self,
        workspace: WorkspaceId,
        id: SourceId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let polled = sqlx::query(
            "SELECT 1 FROM sources WHERE id = $1 AND workspace_id = $2 AND enabled = $3 \
             AND archived = $4 AND next_poll_at IS NOT NULL",
        )
        .bind(id.get())
        .bind(workspace.get())
        .bind(true)
        .bind(false)
        .fetch_optional(self.store.pool())
        .await?;
        if polled.is_none() {
            return Err(StoreError::NotFound { what: "source" });
        }
        let key = poll_job_key(id);
        let job = crate::NewJob {
            kind: POLL_SOURCE_JOB_KIND,
            payload: serde_json::json!({ "workspace_id": workspace, "source_id": id }),
            run_after: Timestamp(0),
            unique_key: Some(&key),
            max_attempts: 3,
        };
        Ok(crate::jobs::enqueue_on(self.store.pool(), job, now)
            .await?
            .is_some())
    }

    /// The sources of `workspace` with a poll queued or running now (a check
    /// asked for, or a due poll a worker has not finished).
    pub async fn being_checked(
        &self,
        workspace: WorkspaceId,
        now: Timestamp,
    ) -> Result<Vec<SourceId>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.id FROM sources s JOIN jobs j ON j.unique_key = $1 || s.id \
             WHERE s.workspace_id = $2 AND j.kind = $3 AND j.status IN ('queued', 'running') \
             AND j.run_after <= $4",
        )
        .bind(format!("{POLL_SOURCE_JOB_KIND}:"))
        .bind(workspace.get())
        .bind(POLL_SOURCE_JOB_KIND)
        .bind(now.millis())
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|row| Ok(SourceId(row.try_get("id")?)))
            .collect()
    }

    /// The enabled, non-archived source whose webhook token hashes to `token_hash`.
    pub async fn find_by_webhook_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<Source>, StoreError> {
        let sql = format!(
            "SELECT {SOURCE_COLUMNS} FROM sources WHERE webhook_token_hash = $1 AND enabled = $2 AND archived = $3"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token_hash)
            .bind(true)
            .bind(false)
            .fetch_optional(self.store.pool())
            .await?;
        row.as_ref().map(source_from_row).transpose()
    }
}
