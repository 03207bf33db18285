//! Listening topics: a name, a kind and a query per workspace.
//!
//! Every change also bumps the workspace's row in `topic_versions`, in the same
//! transaction, so the ingest pipeline can keep one compiled matcher per
//! workspace and recompile it only when [`Topics::version`] moves.

use atalaya_domain::{Timestamp, Topic, TopicId, TopicKind, WorkspaceId};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::dialect::get_bool;
use crate::{Store, StoreError};

const TOPIC_COLUMNS: &str =
    "id, workspace_id, name, kind, query, color, active, created_at, updated_at";

/// A topic to create, or the new values of one to update.
#[derive(Debug, Clone, Copy)]
pub struct NewTopic<'a> {
    pub name: &'a str,
    pub kind: TopicKind,
    pub query: &'a str,
    pub color: &'a str,
    pub active: bool,
}

/// The `topics` and `topic_versions` tables.
pub struct Topics<'s> {
    pub(crate) store: &'s Store,
}

fn topic_from_row(row: &AnyRow) -> Result<Topic, StoreError> {
    let kind: String = row.try_get("kind")?;
    Ok(Topic {
        id: TopicId(row.try_get("id")?),
        workspace_id: WorkspaceId(row.try_get("workspace_id")?),
        name: row.try_get("name")?,
        kind: TopicKind::from_code(&kind).ok_or_else(|| StoreError::CorruptValue {
            column: "topics.kind",
            message: format!("unknown topic kind {kind:?}"),
        })?,
        query: row.try_get("query")?,
        color: row.try_get("color")?,
        active: get_bool(row, "active")?,
        created_at: Timestamp(row.try_get("created_at")?),
        updated_at: Timestamp(row.try_get("updated_at")?),
    })
}

/// The only unique index on topics is the name within a workspace.
fn map_topic_conflict(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(database_error) = &error
        && database_error.is_unique_violation()
    {
        return StoreError::Conflict { what: "topic_name" };
    }
    StoreError::Database(error)
}

async fn bump_version(
    transaction: &mut Transaction<'_, Any>,
    workspace: WorkspaceId,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO topic_versions (workspace_id, version) VALUES ($1, 1) \
         ON CONFLICT (workspace_id) DO UPDATE SET version = topic_versions.version + 1",
    )
    .bind(workspace.get())
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

impl Topics<'_> {
    /// Creates a topic. A name already used in the workspace is `Conflict { what: "topic_name" }`.
    pub async fn create(
        &self,
        workspace: WorkspaceId,
        topic: NewTopic<'_>,
        now: Timestamp,
    ) -> Result<Topic, StoreError> {
        let mut transaction = self.store.pool().begin().await?;
        let sql = format!(
            "INSERT INTO topics (workspace_id, name, kind, query, color, active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {TOPIC_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace.get())
            .bind(topic.name)
            .bind(topic.kind.as_str())
            .bind(topic.query)
            .bind(topic.color)
            .bind(topic.active)
            .bind(now.millis())
            .fetch_one(&mut *transaction)
            .await
            .map_err(map_topic_conflict)?;
        let created = topic_from_row(&row)?;
        bump_version(&mut transaction, workspace).await?;
        transaction.commit().await?;
        Ok(created)
    }

    /// Replaces a topic's name, kind, query, colour and state. `NotFound` if the
    /// topic is not in the workspace; `Conflict` as for [`Topics::create`].
    pub async fn update(
        &self,
        workspace: WorkspaceId,
        id: TopicId,
        topic: NewTopic<'_>,
        now: Timestamp,
    ) -> Result<Topic, StoreError> {
        let mut transaction = self.store.pool().begin().await?;
        let sql = format!(
            "UPDATE topics SET name = $1, kind = $2, query = $3, color = $4, active = $5, updated_at = $6 \
             WHERE workspace_id = $7 AND id = $8 RETURNING {TOPIC_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(topic.name)
            .bind(topic.kind.as_str())
            .bind(topic.query)
            .bind(topic.color)
            .bind(topic.active)
            .bind(now.millis())
            .bind(workspace.get())
            .bind(id.get())
            .fetch_optional(&mut *transaction)
            .await
            .map_err(map_topic_conflict)?;
        let Some(row) = row else {
            return Err(StoreError::NotFound { what: "topic" });
        };
        let updated = topic_from_row(&row)?;
        bump_version(&mut transaction, workspace).await?;
        transaction.commit().await?;
        Ok(updated)
    }

    /// Deletes a topic and its links to mentions; the mentions themselves stay.
    pub async fn delete(&self, workspace: WorkspaceId, id: TopicId) -> Result<(), StoreError> {
        let mut transaction = self.store.pool().begin().await?;
        let result = sqlx::query("DELETE FROM topics WHERE workspace_id = $1 AND id = $2")
            .bind(workspace.get())
            .bind(id.get())
            .execute(&mut *transaction)
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "topic" });
        }
        bump_version(&mut transaction, workspace).await?;
        transaction.commit().await?;
        Ok(())
    }

    pub async fn get(
        &self,
        workspace: WorkspaceId,
        id: TopicId,
    ) -> Result<Option<Topic>, StoreError> {
        let sql = format!("SELECT {TOPIC_COLUMNS} FROM topics WHERE workspace_id = $1 AND id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace.get())
            .bind(id.get())
            .fetch_optional(self.store.pool())
            .await?;
        row.as_ref().map(topic_from_row).transpose()
    }

    /// The workspace's topics, ordered by kind (brand first, as [`TopicKind::ALL`]) then name.
    pub async fn list(&self, workspace: WorkspaceId) -> Result<Vec<Topic>, StoreError> {
        let sql =
            format!("SELECT {TOPIC_COLUMNS} FROM topics WHERE workspace_id = $1 ORDER BY name, id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace.get())
            .fetch_all(self.store.pool())
            .await?;
        let mut topics = rows
            .iter()
            .map(topic_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        // Sorting by kind here keeps the kind's order defined in one place (the enum),
        // not in a SQL CASE; the sort is stable, so names stay ordered within a kind.
        topics.sort_by_key(|topic| TopicKind::ALL.iter().position(|kind| *kind == topic.kind));
        Ok(topics)
    }

    /// A number that changes whenever the workspace's topics change (0 before any topic).
    pub async fn version(&self, workspace: WorkspaceId) -> Result<i64, StoreError> {
        let version: Option<i64> =
            sqlx::query_scalar("SELECT version FROM topic_versions WHERE workspace_id = $1")
                .bind(workspace.get())
                .fetch_optional(self.store.pool())
                .await?;
        Ok(version.unwrap_or(0))
    }
}
