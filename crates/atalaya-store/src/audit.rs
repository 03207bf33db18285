//! The audit log: who did what, where, when. The actor's display name is copied
//! into the entry when it is recorded, so the log still reads correctly after the
//! user is renamed or deleted.

use atalaya_domain::{AuditId, Timestamp, UserId, WorkspaceId};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

/// An entry to record. `workspace` is `None` for instance-wide actions.
#[derive(Debug, Clone)]
pub struct NewAuditEntry<'a> {
    pub workspace: Option<WorkspaceId>,
    pub actor: Option<UserId>,
    pub action: &'a str,
    pub target: &'a str,
    pub detail: serde_json::Value,
}

/// A recorded entry.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: AuditId,
    pub workspace: Option<WorkspaceId>,
    pub actor: Option<UserId>,
    pub actor_name: Option<String>,
    pub action: String,
    pub target: String,
    pub detail: serde_json::Value,
    pub at: Timestamp,
}

/// The `audit_log` table.
pub struct Audit<'s> {
    pub(crate) store: &'s Store,
}

fn entry_from_row(row: &AnyRow) -> Result<AuditEntry, StoreError> {
    let detail: String = row.try_get("detail")?;
    let detail = serde_json::from_str(&detail).map_err(|error| StoreError::CorruptValue {
        column: "audit_log.detail",
        message: error.to_string(),
    })?;
    Ok(AuditEntry {
        id: AuditId(row.try_get("id")?),
        workspace: row
            .try_get::<Option<i64>, _>("workspace_id")?
            .map(WorkspaceId),
        actor: row.try_get::<Option<i64>, _>("actor_id")?.map(UserId),
        actor_name: row.try_get("actor_name")?,
        action: row.try_get("action")?,
        target: row.try_get("target")?,
        detail,
        at: Timestamp(row.try_get("at")?),
    })
}

impl Audit<'_> {
    pub async fn record(
        &self,
        entry: NewAuditEntry<'_>,
        now: Timestamp,
    ) -> Result<AuditId, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO audit_log (workspace_id, actor_id, actor_name, action, target, detail, at) \
             VALUES ($1, $2, (SELECT display_name FROM users WHERE id = $2), $3, $4, $5, $6) RETURNING id",
        )
        .bind(entry.workspace.map(WorkspaceId::get))
        .bind(entry.actor.map(UserId::get))
        .bind(entry.action)
        .bind(entry.target)
        .bind(entry.detail.to_string())
        .bind(now.millis())
        .fetch_one(self.store.pool())
        .await?;
        Ok(AuditId(id))
    }

    /// The latest `limit` entries of `workspace`, newest first.
    pub async fn list(
        &self,
        workspace: WorkspaceId,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, workspace_id, actor_id, actor_name, action, target, detail, at FROM audit_log \
             WHERE workspace_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(workspace.get())
        .bind(limit)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(entry_from_row).collect()
    }
}
