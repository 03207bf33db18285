//! Workspaces (one per brand or organisation) and who belongs to each, with which
//! role. Roles are stored as their lower-case names; an unknown name read back is
//! an error, never silently downgraded.

use std::str::FromStr;

use atalaya_domain::{Membership, Role, Timestamp, User, UserId, Workspace, WorkspaceId};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::dialect::get_bool;
use crate::users::{user_columns, user_from_row};
use crate::{Store, StoreError, map_conflict};

macro_rules! workspace_columns {
    () => {
        "workspaces.id AS workspace_id, workspaces.slug, workspaces.name, workspaces.is_demo, \
         workspaces.time_zone, workspaces.created_at AS workspace_created_at, workspaces.languages AS workspace_languages"
    };
}

/// The `workspaces` and `memberships` tables.
pub struct Workspaces<'s> {
    pub(crate) store: &'s Store,
}

fn workspace_from_row(row: &AnyRow) -> Result<Workspace, StoreError> {
    Ok(Workspace {
        id: WorkspaceId(row.try_get("workspace_id")?),
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        is_demo: get_bool(row, "is_demo")?,
        time_zone: row.try_get("time_zone")?,
        created_at: Timestamp(row.try_get("workspace_created_at")?),
        languages: languages_from_text(&row.try_get::<String, _>("workspace_languages")?),
    })
}

/// `es,en` → `["es", "en"]`: the column holds comma-separated codes.
fn languages_from_text(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|code| !code.is_empty())
        .map(str::to_owned)
        .collect()
}

fn role_from_row(row: &AnyRow) -> Result<Role, StoreError> {
    let role: String = row.try_get("role")?;
    Role::from_str(&role).map_err(|error| StoreError::CorruptValue {
        column: "memberships.role",
        message: error.to_string(),
    })
}

impl Workspaces<'_> {
    /// Creates a workspace. A taken slug is `Conflict { what: "slug" }`.
    pub async fn create(
        &self,
        slug: &str,
        name: &str,
        is_demo: bool,
    ) -> Result<Workspace, StoreError> {
        let row = sqlx::query(concat!(
            "INSERT INTO workspaces (slug, name, is_demo, created_at) VALUES ($1, $2, $3, $4) RETURNING ",
            workspace_columns!()
        ))
        .bind(slug)
        .bind(name)
        .bind(is_demo)
        .bind(Timestamp::now().millis())
        .fetch_one(self.store.pool())
        .await
        .map_err(|error| map_conflict(error, &["slug"]))?;
        workspace_from_row(&row)
    }

    pub async fn get(&self, id: WorkspaceId) -> Result<Option<Workspace>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            workspace_columns!(),
            " FROM workspaces WHERE id = $1"
        ))
        .bind(id.get())
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(workspace_from_row).transpose()
    }

    pub async fn get_by_slug(&self, slug: &str) -> Result<Option<Workspace>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            workspace_columns!(),
            " FROM workspaces WHERE slug = $1"
        ))
        .bind(slug)
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(workspace_from_row).transpose()
    }

    /// Every workspace, by name.
    pub async fn list(&self) -> Result<Vec<Workspace>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            workspace_columns!(),
            " FROM workspaces ORDER BY name, id"
        ))
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(workspace_from_row).collect()
    }

    /// Renames a workspace and sets its time zone (an IANA name the caller has
    /// checked).
    pub async fn update_settings(
        &self,
        id: WorkspaceId,
        name: &str,
        time_zone: &str,
    ) -> Result<Workspace, StoreError> {
        let row = sqlx::query(concat!(
            "UPDATE workspaces SET name = $1, time_zone = $2 WHERE id = $3 RETURNING ",
            workspace_columns!()
        ))
        .bind(name)
        .bind(time_zone)
        .bind(id.get())
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref()
            .map(workspace_from_row)
            .transpose()?
            .ok_or(StoreError::NotFound { what: "workspace" })
    }

    /// Sets the languages of the workspace's mentions (codes the caller has
    /// validated, in order of preference). `NotFound` if there is no such workspace.
    pub async fn set_languages(
        &self,
        id: WorkspaceId,
        languages: &[String],
    ) -> Result<Workspace, StoreError> {
        let row = sqlx::query(concat!(
            "UPDATE workspaces SET languages = $1 WHERE id = $2 RETURNING ",
            workspace_columns!()
        ))
        .bind(languages.join(","))
        .bind(id.get())
        .fetch_optional(self.store.pool())
        .await?;
        match row {
            Some(row) => workspace_from_row(&row),
            None => Err(StoreError::NotFound { what: "workspace" }),
        }
    }

    /// Deletes a workspace and, through foreign keys, its memberships and audit entries.
    pub async fn delete(&self, id: WorkspaceId) -> Result<(), StoreError> {
        let result = sqlx::query("DELETE FROM workspaces WHERE id = $1")
            .bind(id.get())
            .execute(self.store.pool())
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "workspace" });
        }
        Ok(())
    }

    /// Gives `user` the `role` in `workspace`, adding the membership or changing it.
    pub async fn set_member(
        &self,
        workspace: WorkspaceId,
        user: UserId,
        role: Role,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = excluded.role",
        )
        .bind(workspace.get())
        .bind(user.get())
        .bind(role.as_str())
        .bind(Timestamp::now().millis())
        .execute(self.store.pool())
        .await
        .map_err(|error| map_foreign_key(error, "workspace or user"))?;
        Ok(())
    }

    /// Removes `user` from `workspace`; `NotFound` if they were not a member.
    pub async fn remove_member(
        &self,
        workspace: WorkspaceId,
        user: UserId,
    ) -> Result<(), StoreError> {
        let result =
            sqlx::query("DELETE FROM memberships WHERE workspace_id = $1 AND user_id = $2")
                .bind(workspace.get())
                .bind(user.get())
                .execute(self.store.pool())
                .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "membership" });
        }
        Ok(())
    }

    pub async fn role_of(
        &self,
        workspace: WorkspaceId,
        user: UserId,
    ) -> Result<Option<Role>, StoreError> {
        let row =
            sqlx::query("SELECT role FROM memberships WHERE workspace_id = $1 AND user_id = $2")
                .bind(workspace.get())
                .bind(user.get())
                .fetch_optional(self.store.pool())
                .await?;
        row.as_ref().map(role_from_row).transpose()
    }

    /// The workspaces `user` belongs to, ordered by workspace name.
    pub async fn memberships_of(&self, user: UserId) -> Result<Vec<Membership>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            workspace_columns!(),
            ", memberships.role FROM memberships JOIN workspaces ON workspaces.id = memberships.workspace_id \
             WHERE memberships.user_id = $1 ORDER BY workspaces.name, workspaces.id"
        ))
        .bind(user.get())
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Membership {
                    workspace: workspace_from_row(row)?,
                    role: role_from_row(row)?,
                })
            })
            .collect()
    }

    /// The members of `workspace` with their roles, by username.
    pub async fn members(&self, workspace: WorkspaceId) -> Result<Vec<(User, Role)>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            ", memberships.role FROM memberships JOIN users ON users.id = memberships.user_id \
             WHERE memberships.workspace_id = $1 ORDER BY users.username"
        ))
        .bind(workspace.get())
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|row| Ok((user_from_row(row)?, role_from_row(row)?)))
            .collect()
    }
}

/// A membership for a missing workspace or user is a `NotFound`, not a database failure.
fn map_foreign_key(error: sqlx::Error, what: &'static str) -> StoreError {
    if let sqlx::Error::Database(database_error) = &error
        && database_error.is_foreign_key_violation()
    {
        return StoreError::NotFound { what };
    }
    StoreError::Database(error)
}
