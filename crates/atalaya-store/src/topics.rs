//! Listening topics: a name, a kind and a query per workspace.
//!
//! Every change also bumps the workspace's row in `topic_versions`, in the same
//! transaction, so the ingest pipeline can keep one compiled matcher per
//! workspace and recompile it only when [`Topics::version`] moves. That bump is
//! each change's first write, so changes to one workspace's topics take turns.
//!
//! A change that makes the topic match differently also settles its backfills
//! in the same transaction (see [`crate::Backfills`]): a new query, or a topic
//! switched off, supersedes the unfinished ones (they re-match a stale query);
//! with a [`BackfillRequest`], a topic created active, given a new query or
//! switched back on gets a new backfill and its job.

use atalaya_domain::{Timestamp, Topic, TopicBackfill, TopicId, TopicKind, WorkspaceId};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::backfills::{BackfillRequest, request_in, supersede_unfinished_in};
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
        Ok(self.save(workspace, None, topic, None, now).await?.0)
    }

    /// [`Topics::create`], and when the topic is active a backfill of the
    /// stored mentions in `request`'s window, queued with its job.
    pub async fn create_backfilled(
        &self,
        workspace: WorkspaceId,
        topic: NewTopic<'_>,
        request: BackfillRequest,
        now: Timestamp,
    ) -> Result<(Topic, Option<TopicBackfill>), StoreError> {
        self.save(workspace, None, topic, Some(request), now).await
    }

    /// Replaces a topic's name, kind, query, colour and state. `NotFound` if the
    /// topic is not in the workspace; `Conflict` as for [`Topics::create`].
    /// A new query or a topic switched off supersedes its unfinished backfills.
    pub async fn update(
        &self,
        workspace: WorkspaceId,
        id: TopicId,
        topic: NewTopic<'_>,
        now: Timestamp,
    ) -> Result<Topic, StoreError> {
        Ok(self.save(workspace, Some(id), topic, None, now).await?.0)
    }

    /// [`Topics::update`], and when the query changed or the topic was switched
    /// back on (and it is active), a backfill in `request`'s window.
    pub async fn update_backfilled(
        &self,
        workspace: WorkspaceId,
        id: TopicId,
        topic: NewTopic<'_>,
        request: BackfillRequest,
        now: Timestamp,
    ) -> Result<(Topic, Option<TopicBackfill>), StoreError> {
        self.save(workspace, Some(id), topic, Some(request), now)
            .await
    }

    async fn save(
        &self,
        workspace: WorkspaceId,
        id: Option<TopicId>,
        topic: NewTopic<'_>,
        request: Option<BackfillRequest>,
        now: Timestamp,
    ) -> Result<(Topic, Option<TopicBackfill>), StoreError> {
        let mut transaction = self.store.pool().begin().await?;
        bump_version(&mut transaction, workspace).await?;
        let (saved, needs_backfill) = match id {
            None => {
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
                let active = created.active;
                (created, active)
            }
            Some(id) => {
                let sql = format!(
                    "SELECT {TOPIC_COLUMNS} FROM topics WHERE workspace_id = $1 AND id = $2"
                );
                let before = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(workspace.get())
                    .bind(id.get())
                    .fetch_optional(&mut *transaction)
                    .await?;
                let Some(before) = before.as_ref().map(topic_from_row).transpose()? else {
                    return Err(StoreError::NotFound { what: "topic" });
                };
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
                    .fetch_one(&mut *transaction)
                    .await
                    .map_err(map_topic_conflict)?;
                let updated = topic_from_row(&row)?;
                let new_query = updated.query != before.query;
                if new_query || !updated.active {
                    supersede_unfinished_in(&mut transaction, updated.id, now).await?;
                }
                let needs = updated.active && (new_query || !before.active);
                (updated, needs)
            }
        };
        let backfill = match request {
            Some(request) if needs_backfill => {
                Some(request_in(&mut transaction, &saved, request, now).await?)
            }
            _ => None,
        };
        transaction.commit().await?;
        Ok((saved, backfill))
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
