//! Sign-in sessions, kept in our own store. The session token itself is never
//! stored: only its SHA-256 hex, so a copy of the database cannot sign anyone in.

use atalaya_domain::{Timestamp, User, UserId};
use sqlx::Row;

use crate::users::{user_columns, user_from_row};
use crate::{Store, StoreError};

/// A live session and the user it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub user: User,
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// The `sessions` table.
pub struct Sessions<'s> {
    pub(crate) store: &'s Store,
}

impl Sessions<'_> {
    pub async fn create(
        &self,
        token_hash: &str,
        user: UserId,
        csrf_token: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user.get())
        .bind(csrf_token)
        .bind(now.millis())
        .bind(expires_at.millis())
        .execute(self.store.pool())
        .await
        .map_err(|error| crate::map_conflict(error, &["token_hash"]))?;
        Ok(())
    }

    /// The session for `token_hash`, or `None` if there is none or it has expired.
    pub async fn find(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            ", sessions.csrf_token, sessions.created_at AS session_created_at, sessions.expires_at \
             FROM sessions JOIN users ON users.id = sessions.user_id \
             WHERE sessions.token_hash = $1 AND sessions.expires_at > $2"
        ))
        .bind(token_hash)
        .bind(now.millis())
        .fetch_optional(self.store.pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(SessionRecord {
            user: user_from_row(&row)?,
            csrf_token: row.try_get("csrf_token")?,
            created_at: Timestamp(row.try_get("session_created_at")?),
            expires_at: Timestamp(row.try_get("expires_at")?),
        }))
    }

    /// Ends one session (sign out). Deleting a missing session is not an error.
    pub async fn delete(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }

    /// Ends every session of `user` (password change, "sign out everywhere").
    pub async fn delete_for_user(&self, user: UserId) -> Result<u64, StoreError> {
        let result = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user.get())
            .execute(self.store.pool())
            .await?;
        Ok(result.rows_affected())
    }

    pub async fn delete_expired(&self, now: Timestamp) -> Result<u64, StoreError> {
        let result = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now.millis())
            .execute(self.store.pool())
            .await?;
        Ok(result.rows_affected())
    }
}
