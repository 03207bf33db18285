//! Housekeeping jobs. `maintenance.prune` deletes expired sessions, old
//! sign-in failures and invitations long expired, which otherwise grow
//! without bound.
//!
//! ```text
//!  schedule_periodic (every process, every `every`)
//!      └─ enqueue(kind, unique_key = kind) ── one queued/running job at most ──▶ Prune::run
//! ```
//!
//! Every process may run the scheduler: the unique key makes the queue keep at
//! most one unfinished prune job, so schedules from several processes never pile
//! up duplicates.

use std::time::Duration;

use atalaya_domain::{JobId, Timestamp};
use atalaya_store::{Job, NewJob, Store, StoreError};
use tokio_util::sync::CancellationToken;

use crate::{BoxFuture, JobError, JobHandler};

/// The kind of the prune job.
pub const PRUNE_KIND: &str = "maintenance.prune";

/// How long an invitation is kept after its expiry (used, revoked or not), so
/// that the accept page can still say "used" or "expired" for a while rather
/// than "not valid". The audit log keeps its history for good.
pub const INVITATION_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// How much was deleted by one prune.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneReport {
    pub expired_sessions: u64,
    pub old_login_attempts: u64,
    pub old_invitations: u64,
}

/// Deletes expired sessions and sign-in failures older than the retention.
#[derive(Clone)]
pub struct Prune {
    store: Store,
    login_attempt_retention: Duration,
}

impl Prune {
    /// `login_attempt_retention` must exceed the sign-in rate-limit window, or
    /// pruning would forgive failures the limiter still counts.
    pub fn new(store: Store, login_attempt_retention: Duration) -> Prune {
        Prune {
            store,
            login_attempt_retention,
        }
    }

    /// Prunes as of `now`.
    pub async fn prune(&self, now: Timestamp) -> Result<PruneReport, StoreError> {
        let retention = i64::try_from(self.login_attempt_retention.as_millis()).unwrap_or(i64::MAX);
        let expired_sessions = self.store.sessions().delete_expired(now).await?;
        let old_login_attempts = self
            .store
            .login_attempts()
            .prune(now.plus_millis(-retention))
            .await?;
        let invitation_retention =
            i64::try_from(INVITATION_RETENTION.as_millis()).unwrap_or(i64::MAX);
        let old_invitations = self
            .store
            .invitations()
            .prune(now.plus_millis(-invitation_retention))
            .await?;
        Ok(PruneReport {
            expired_sessions,
            old_login_attempts,
            old_invitations,
        })
    }
}

impl JobHandler for Prune {
    fn kind(&self) -> &'static str {
        PRUNE_KIND
    }

    fn run(&self, _job: Job) -> BoxFuture<Result<(), JobError>> {
        let prune = self.clone();
        Box::pin(async move {
            let report = prune.prune(Timestamp::now()).await?;
            tracing::info!(
                expired_sessions = report.expired_sessions,
                old_login_attempts = report.old_login_attempts,
                old_invitations = report.old_invitations,
                "pruned"
            );
            Ok(())
        })
    }
}

/// Enqueues a payload-less job of `kind` due at `now`, keyed by its kind so at most
/// one is unfinished. `None` when one is already queued or running.
pub async fn enqueue_once(
    store: &Store,
    kind: &str,
    now: Timestamp,
) -> Result<Option<JobId>, StoreError> {
    let job = NewJob {
        kind,
        payload: serde_json::json!({}),
        run_after: now,
        unique_key: Some(kind),
        max_attempts: 3,
    };
    store.jobs().enqueue(job, now).await
}

/// Enqueues a `kind` job now and then every `every`, until `cancel` fires. Safe to
/// run in every process (see the module docs). Store failures are logged and the
/// next tick tries again.
pub async fn schedule_periodic(
    store: Store,
    kind: &'static str,
    every: Duration,
    cancel: CancellationToken,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = ticks.tick() => {}
        }
        match enqueue_once(&store, kind, Timestamp::now()).await {
            Ok(Some(id)) => tracing::debug!(job = %id, kind, "scheduled"),
            Ok(None) => tracing::debug!(kind, "already scheduled"),
            Err(error) => tracing::warn!(kind, %error, "scheduling failed"),
        }
    }
}
