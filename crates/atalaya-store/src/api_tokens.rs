//! Personal API tokens. Only the SHA-256 hex of a token is stored; the token is
//! shown to its owner once, at creation, by the caller.

use atalaya_domain::{ApiTokenId, Timestamp, User, UserId};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::users::{user_columns, user_from_row};
use crate::{Store, StoreError, map_conflict};

/// What may be shown about a token: never the token or its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenInfo {
    pub id: ApiTokenId,
    pub user_id: UserId,
    pub name: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

/// The `api_tokens` table.
pub struct ApiTokens<'s> {
    pub(crate) store: &'s Store,
}

fn info_from_row(row: &AnyRow) -> Result<ApiTokenInfo, StoreError> {
    Ok(ApiTokenInfo {
        id: ApiTokenId(row.try_get("id")?),
        user_id: UserId(row.try_get("user_id")?),
        name: row.try_get("name")?,
        created_at: Timestamp(row.try_get("created_at")?),
        last_used_at: row
            .try_get::<Option<i64>, _>("last_used_at")?
            .map(Timestamp),
    })
}

impl ApiTokens<'_> {
    pub async fn create(
        &self,
        user: UserId,
        name: &str,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<ApiTokenInfo, StoreError> {
        let row = sqlx::query(
            "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id, user_id, name, created_at, last_used_at",
        )
        .bind(user.get())
        .bind(name)
        .bind(token_hash)
        .bind(now.millis())
        .fetch_one(self.store.pool())
        .await
        .map_err(|error| map_conflict(error, &["token_hash"]))?;
        info_from_row(&row)
    }

    /// The owner of the token whose hash is `token_hash`, recording that it was used.
    pub async fn authenticate(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<User>, StoreError> {
        let user_id: Option<i64> = sqlx::query_scalar(
            "UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2 RETURNING user_id",
        )
        .bind(now.millis())
        .bind(token_hash)
        .fetch_optional(self.store.pool())
        .await?;
        let Some(user_id) = user_id else {
            return Ok(None);
        };
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE id = $1"
        ))
        .bind(user_id)
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// The tokens of `user`, newest first.
    pub async fn list_for_user(&self, user: UserId) -> Result<Vec<ApiTokenInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, user_id, name, created_at, last_used_at FROM api_tokens WHERE user_id = $1 ORDER BY id DESC",
        )
        .bind(user.get())
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(info_from_row).collect()
    }

    /// Deletes token `id` of `user`; `NotFound` if there is no such token of theirs.
    pub async fn revoke(&self, user: UserId, id: ApiTokenId) -> Result<(), StoreError> {
        let result = sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2")
            .bind(id.get())
            .bind(user.get())
            .execute(self.store.pool())
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "api token" });
        }
        Ok(())
    }
}
