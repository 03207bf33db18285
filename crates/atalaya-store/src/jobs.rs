//! The durable job queue: jobs are rows.
//!
//! ```text
//!  enqueue ──▶ queued ──claim──▶ running ──complete──▶ succeeded
//!                ▲                 │  │
//!                └──fail(retry_at)─┘  └──fail(no retry / last attempt)──▶ dead ──retry_dead──▶ queued
//! ```
//!
//! A claim takes a lease until `lease_until`; the worker extends it with
//! [`Jobs::heartbeat`]. If the worker dies, the lease expires and the next claim
//! takes the job again (and counts another attempt), so work survives crashes.
//! Every finishing call checks that the caller still holds the lease: a worker
//! whose job was reclaimed cannot complete it behind the new owner's back.
//! A `unique_key` allows at most one unfinished job per key (a partial unique
//! index), so periodic jobs scheduled by several processes do not pile up.
//!
//! Times (`now`, `lease_until`, `run_after`) come from the caller's clock, not the
//! database's, so both backends behave alike and tests can pass any time they
//! like. Processes sharing one database therefore need synchronised clocks (NTP):
//! a skew of N seconds shortens or lengthens another process's leases by N.

use std::str::FromStr;

use atalaya_domain::{JobId, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::dialect::claim_sql;
use crate::{Store, StoreError, map_conflict};

macro_rules! job_columns {
    () => {
        "id, kind, payload, status, attempts, max_attempts, run_after, lease_owner, lease_expires_at, \
         last_error, unique_key, created_at, finished_at"
    };
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub kind: &'a str,
    pub payload: serde_json::Value,
    /// Not claimed before this time.
    pub run_after: Timestamp,
    /// At most one queued or running job may hold a given key.
    pub unique_key: Option<&'a str>,
    /// Attempts before the job is declared dead (at least 1).
    pub max_attempts: i32,
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Dead,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown job status {0:?}: expected queued, running, succeeded or dead")]
pub struct UnknownJobStatus(pub String);

impl JobStatus {
    pub const ALL: [JobStatus; 4] = [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Succeeded,
        JobStatus::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Dead => "dead",
        }
    }
}

impl FromStr for JobStatus {
    type Err = UnknownJobStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownJobStatus(s.to_owned()))
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub payload: serde_json::Value,
    pub status: JobStatus,
    /// Claims so far, including the current one.
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_after: Timestamp,
    /// The worker that claimed the job last.
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub unique_key: Option<String>,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

/// The `jobs` table.
pub struct Jobs<'s> {
    pub(crate) store: &'s Store,
}

fn status_from_text(status: &str) -> Result<JobStatus, StoreError> {
    JobStatus::from_str(status).map_err(|error| StoreError::CorruptValue {
        column: "jobs.status",
        message: error.to_string(),
    })
}

fn job_from_row(row: &AnyRow) -> Result<Job, StoreError> {
    let payload: String = row.try_get("payload")?;
    let payload = serde_json::from_str(&payload).map_err(|error| StoreError::CorruptValue {
        column: "jobs.payload",
        message: error.to_string(),
    })?;
    let status: String = row.try_get("status")?;
    Ok(Job {
        id: JobId(row.try_get("id")?),
        kind: row.try_get("kind")?,
        payload,
        status: status_from_text(&status)?,
        attempts: row.try_get("attempts")?,
        max_attempts: row.try_get("max_attempts")?,
        run_after: Timestamp(row.try_get("run_after")?),
        lease_owner: row.try_get("lease_owner")?,
        lease_expires_at: row
            .try_get::<Option<i64>, _>("lease_expires_at")?
            .map(Timestamp),
        last_error: row.try_get("last_error")?,
        unique_key: row.try_get("unique_key")?,
        created_at: Timestamp(row.try_get("created_at")?),
        finished_at: row.try_get::<Option<i64>, _>("finished_at")?.map(Timestamp),
    })
}

/// [`Jobs::enqueue`] on any executor, so another table's write can queue its
/// job in the same transaction.
pub(crate) async fn enqueue_on<'e, E>(
    executor: E,
    job: NewJob<'_>,
    now: Timestamp,
) -> Result<Option<JobId>, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    // `ON CONFLICT DO NOTHING` without a target covers the partial unique index on
    // both backends; the conflicting insert then returns no row.
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO jobs (kind, payload, status, attempts, max_attempts, run_after, unique_key, created_at) \
         VALUES ($1, $2, 'queued', 0, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(job.kind)
    .bind(job.payload.to_string())
    .bind(job.max_attempts.max(1))
    .bind(job.run_after.millis())
    .bind(job.unique_key)
    .bind(now.millis())
    .fetch_optional(executor)
    .await?;
    Ok(id.map(JobId))
}

impl Jobs<'_> {
    /// Queues a job. Returns `None`, without queueing, when an unfinished job with the
    /// same `unique_key` already exists.
    pub async fn enqueue(
        &self,
        job: NewJob<'_>,
        now: Timestamp,
    ) -> Result<Option<JobId>, StoreError> {
        enqueue_on(self.store.pool(), job, now).await
    }

    /// Claims the oldest due job of one of `kinds` for `worker` until `lease_until`:
    /// a queued job whose `run_after` has come, or a running job whose lease expired
    /// (its worker died). The claim counts an attempt. A running job whose lease
    /// expired on its last attempt is declared dead instead of being run again.
    pub async fn claim(
        &self,
        worker: &str,
        kinds: &[&str],
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Option<Job>, StoreError> {
        if kinds.is_empty() {
            return Ok(None);
        }
        sqlx::query(
            "UPDATE jobs SET status = 'dead', finished_at = $1, lease_expires_at = NULL, \
             last_error = COALESCE(last_error, 'lease expired on the last attempt') \
             WHERE status = 'running' AND lease_expires_at <= $1 AND attempts >= max_attempts",
        )
        .bind(now.millis())
        .execute(self.store.pool())
        .await?;

        let sql = claim_sql(self.store.backend(), job_columns!(), kinds.len());
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(worker)
            .bind(lease_until.millis())
            .bind(now.millis());
        for kind in kinds {
            query = query.bind(*kind);
        }
        let row = query.fetch_optional(self.store.pool()).await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// When a job of `kinds` next needs a worker: the earliest `run_after` of a
    /// queued job or lease expiry of a running one. `None` when no job of these
    /// kinds is unfinished, which is how a batch runner knows it is done.
    pub async fn next_due(&self, kinds: &[&str]) -> Result<Option<Timestamp>, StoreError> {
        if kinds.is_empty() {
            return Ok(None);
        }
        let placeholders = (1..=kinds.len())
            .map(|index| format!("${index}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT MIN(CASE WHEN status = 'queued' THEN run_after ELSE lease_expires_at END) FROM jobs \
             WHERE kind IN ({placeholders}) AND status IN ('queued', 'running')"
        );
        let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
        for kind in kinds {
            query = query.bind(*kind);
        }
        let due: Option<i64> = query.fetch_one(self.store.pool()).await?;
        Ok(due.map(Timestamp))
    }

    /// Extends the lease of a running job. `false` if `worker` no longer holds it.
    pub async fn heartbeat(
        &self,
        id: JobId,
        worker: &str,
        lease_until: Timestamp,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET lease_expires_at = $1 WHERE id = $2 AND lease_owner = $3 AND status = 'running'",
        )
        .bind(lease_until.millis())
        .bind(id.get())
        .bind(worker)
        .execute(self.store.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Marks a running job succeeded. `false` if `worker` no longer holds its lease.
    pub async fn complete(
        &self,
        id: JobId,
        worker: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET status = 'succeeded', finished_at = $1, lease_expires_at = NULL, last_error = NULL \
             WHERE id = $2 AND lease_owner = $3 AND status = 'running'",
        )
        .bind(now.millis())
        .bind(id.get())
        .bind(worker)
        .execute(self.store.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Gives back every job `worker` holds, as if never claimed: queued again
    /// for `now`, the attempt not counted. For a shutdown that could not wait
    /// for them, so that another process (or the restarted one) runs them at
    /// once instead of after their leases expire. Returns how many.
    pub async fn release_held(&self, worker: &str, now: Timestamp) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, \
             run_after = $1, attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END \
             WHERE status = 'running' AND lease_owner = $2",
        )
        .bind(now.millis())
        .bind(worker)
        .execute(self.store.pool())
        .await?;
        Ok(result.rows_affected())
    }

    /// Records a failed attempt. With `retry_at` and attempts left, the job is queued
    /// again for `retry_at`; otherwise it is dead. Returns the new status.
    /// `NotFound { what: "job lease" }` if `worker` no longer holds the job's lease.
    pub async fn fail(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        retry_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<JobStatus, StoreError> {
        let wants_retry = i32::from(retry_at.is_some());
        let status: Option<String> = sqlx::query_scalar(
            "UPDATE jobs SET \
               status = CASE WHEN $1 = 1 AND attempts < max_attempts THEN 'queued' ELSE 'dead' END, \
               run_after = CASE WHEN $1 = 1 AND attempts < max_attempts THEN $2 ELSE run_after END, \
               finished_at = CASE WHEN $1 = 1 AND attempts < max_attempts THEN NULL ELSE $3 END, \
               lease_expires_at = NULL, last_error = $4 \
             WHERE id = $5 AND lease_owner = $6 AND status = 'running' RETURNING status",
        )
        .bind(wants_retry)
        .bind(retry_at.unwrap_or(now).millis())
        .bind(now.millis())
        .bind(error)
        .bind(id.get())
        .bind(worker)
        .fetch_optional(self.store.pool())
        .await?;
        match status {
            Some(status) => status_from_text(&status),
            None => Err(StoreError::NotFound { what: "job lease" }),
        }
    }

    pub async fn get(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            job_columns!(),
            " FROM jobs WHERE id = $1"
        ))
        .bind(id.get())
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// How many jobs are in each status, every status listed (zero included).
    pub async fn counts(&self) -> Result<Vec<(JobStatus, i64)>, StoreError> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS jobs FROM jobs GROUP BY status")
            .fetch_all(self.store.pool())
            .await?;
        let mut counts: Vec<(JobStatus, i64)> =
            JobStatus::ALL.iter().map(|status| (*status, 0)).collect();
        for row in &rows {
            let status = status_from_text(&row.try_get::<String, _>("status")?)?;
            let jobs: i64 = row.try_get("jobs")?;
            if let Some(entry) = counts.iter_mut().find(|(known, _)| *known == status) {
                entry.1 = jobs;
            }
        }
        Ok(counts)
    }

    /// The latest `limit` jobs, optionally of one status, newest first.
    pub async fn list(
        &self,
        status: Option<JobStatus>,
        limit: i64,
    ) -> Result<Vec<Job>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            job_columns!(),
            " FROM jobs WHERE ($1 = '' OR status = $1) ORDER BY id DESC LIMIT $2"
        ))
        .bind(status.map_or("", JobStatus::as_str))
        .bind(limit)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// Queues a dead job again from scratch (attempts reset), due at `now`.
    /// `NotFound` if the job is missing or not dead; `Conflict { what: "unique_key" }`
    /// if another unfinished job now holds its unique key.
    pub async fn retry_dead(&self, id: JobId, now: Timestamp) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET status = 'queued', attempts = 0, run_after = $1, finished_at = NULL, \
             lease_owner = NULL, lease_expires_at = NULL WHERE id = $2 AND status = 'dead'",
        )
        .bind(now.millis())
        .bind(id.get())
        .execute(self.store.pool())
        .await
        .map_err(|error| map_conflict(error, &["unique_key"]))?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "dead job" });
        }
        Ok(())
    }
}
