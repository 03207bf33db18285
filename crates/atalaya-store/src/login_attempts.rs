//! Failed sign-ins, counted per key (`"user:ana"`, `"ip:192.0.2.7"`) so the web
//! layer can slow down password guessing. Rows are tiny and pruned by the
//! maintenance job.

use atalaya_domain::Timestamp;

use crate::{Store, StoreError};

/// The `login_attempts` table.
pub struct LoginAttempts<'s> {
    pub(crate) store: &'s Store,
}

impl LoginAttempts<'_> {
    pub async fn record_failure(&self, key: &str, now: Timestamp) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO login_attempts (attempt_key, attempted_at) VALUES ($1, $2)")
            .bind(key)
            .bind(now.millis())
            .execute(self.store.pool())
            .await?;
        Ok(())
    }

    /// How many failures `key` had at or after `since`.
    pub async fn failures_since(&self, key: &str, since: Timestamp) -> Result<i64, StoreError> {
        let count = sqlx::query_scalar(
            "SELECT COUNT(*) FROM login_attempts WHERE attempt_key = $1 AND attempted_at >= $2",
        )
        .bind(key)
        .bind(since.millis())
        .fetch_one(self.store.pool())
        .await?;
        Ok(count)
    }

    /// How many failures `key` had at or after `since`, and when the latest was.
    pub async fn recent(
        &self,
        key: &str,
        since: Timestamp,
    ) -> Result<(i64, Option<Timestamp>), StoreError> {
        let row: (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), MAX(attempted_at) FROM login_attempts \
             WHERE attempt_key = $1 AND attempted_at >= $2",
        )
        .bind(key)
        .bind(since.millis())
        .fetch_one(self.store.pool())
        .await?;
        Ok((row.0, row.1.map(Timestamp)))
    }

    /// Forgets the failures of `key` (after a successful sign-in).
    pub async fn clear(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_attempts WHERE attempt_key = $1")
            .bind(key)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }

    /// Deletes every failure older than `before`; returns how many.
    pub async fn prune(&self, before: Timestamp) -> Result<u64, StoreError> {
        let result = sqlx::query("DELETE FROM login_attempts WHERE attempted_at < $1")
            .bind(before.millis())
            .execute(self.store.pool())
            .await?;
        Ok(result.rows_affected())
    }
}
