//! Saved views: a named set of mention filters, kept as the mentions page's URL
//! query so the page (not the store) decides what the filters mean.

use atalaya_domain::{SavedViewId, Timestamp, UserId, WorkspaceId};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, map_conflict};

/// A saved set of mention filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedView {
    pub id: SavedViewId,
    pub name: String,
    /// The mentions page's URL query, without the leading `?`.
    pub query_string: String,
    pub created_by: UserId,
}

/// The `saved_views` table.
pub struct SavedViews<'s> {
    pub(crate) store: &'s Store,
}

fn saved_view_from_row(row: &AnyRow) -> Result<SavedView, StoreError> {
    Ok(SavedView {
        id: SavedViewId(row.try_get("id")?),
        name: row.try_get("name")?,
        query_string: row.try_get("query_string")?,
        created_by: UserId(row.try_get("created_by")?),
    })
}

impl SavedViews<'_> {
    /// Saves a view. A name already used in the workspace is `Conflict { what: "saved_view_name" }`.
    pub async fn create(
        &self,
        workspace: WorkspaceId,
        created_by: UserId,
        name: &str,
        query_string: &str,
        now: Timestamp,
    ) -> Result<SavedView, StoreError> {
        let row = sqlx::query(
            "INSERT INTO saved_views (workspace_id, name, query_string, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id, name, query_string, created_by",
        )
        .bind(workspace.get())
        .bind(name)
        .bind(query_string)
        .bind(created_by.get())
        .bind(now.millis())
        .fetch_one(self.store.pool())
        .await
        .map_err(|error| match map_conflict(error, &["saved_view_name"]) {
            // SQLite names the columns, not the index: any unique violation here is the name.
            StoreError::Conflict { .. } => StoreError::Conflict {
                what: "saved_view_name",
            },
            other => other,
        })?;
        saved_view_from_row(&row)
    }

    /// The workspace's saved views, by name.
    pub async fn list(&self, workspace: WorkspaceId) -> Result<Vec<SavedView>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, query_string, created_by FROM saved_views WHERE workspace_id = $1 ORDER BY name, id",
        )
        .bind(workspace.get())
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(saved_view_from_row).collect()
    }

    pub async fn delete(&self, workspace: WorkspaceId, id: SavedViewId) -> Result<(), StoreError> {
        let result = sqlx::query("DELETE FROM saved_views WHERE workspace_id = $1 AND id = $2")
            .bind(workspace.get())
            .bind(id.get())
            .execute(self.store.pool())
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "saved view" });
        }
        Ok(())
    }
}
