//! The job runner: claims jobs, runs their handlers with a heartbeat, records the
//! outcome, and shuts down gracefully.
//!
//! Each claimed job runs in its own task, at most `concurrency` at a time. The
//! handler itself runs in a further task so that a panic becomes a failed attempt
//! rather than a job stuck in `running`, and so that it can be aborted when the
//! lease is lost (another worker reclaimed the job) or at the shutdown deadline.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use atalaya_domain::{JobId, Timestamp};
use atalaya_store::{Job, JobStatus, Store, StoreError};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::Backoff;

/// A boxed, sendable future, as returned by [`JobHandler::run`].
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Why a job's attempt failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// A transient failure (a peer down, a timeout): retried with backoff until
    /// the job's attempts run out.
    #[error("{0}")]
    Retry(String),
    /// Retrying cannot help (a malformed payload, a deleted target): dead at once.
    #[error("{0}")]
    Permanent(String),
}

impl JobError {
    pub fn retry(error: impl std::fmt::Display) -> JobError {
        JobError::Retry(error.to_string())
    }

    pub fn permanent(error: impl std::fmt::Display) -> JobError {
        JobError::Permanent(error.to_string())
    }
}

/// A database failure during a job is usually transient: retry it.
impl From<StoreError> for JobError {
    fn from(error: StoreError) -> JobError {
        JobError::Retry(error.to_string())
    }
}

/// Runs the jobs of one kind. Handlers must be idempotent: after a crash, a job
/// runs again.
pub trait JobHandler: Send + Sync + 'static {
    /// The job kind this handler runs, e.g. `"maintenance.prune"`.
    fn kind(&self) -> &'static str;
    /// Runs one attempt of `job`.
    fn run(&self, job: Job) -> BoxFuture<Result<(), JobError>>;
}

/// How a [`Runner`] behaves. [`RunnerConfig::new`] gives production defaults.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Unique per process: leases are owned by name.
    pub worker_name: String,
    /// Jobs run at the same time.
    pub concurrency: usize,
    /// How long to wait before looking again when no job is due.
    pub poll_interval: Duration,
    /// How long a claim lasts without a heartbeat.
    pub lease: Duration,
    /// How often a running job's lease is extended; well below `lease`.
    pub heartbeat_interval: Duration,
    /// How long shutdown waits for in-flight jobs before abandoning them.
    pub shutdown_timeout: Duration,
    pub backoff: Backoff,
    /// Stop once no job of the runner's kinds is queued or running anywhere
    /// (batch runs and tests), instead of waiting for cancellation.
    pub exit_when_idle: bool,
}

impl RunnerConfig {
    /// Defaults for a long-running server process.
    pub fn new(worker_name: impl Into<String>) -> RunnerConfig {
        RunnerConfig {
            worker_name: worker_name.into(),
            concurrency: 4,
            poll_interval: Duration::from_secs(2),
            lease: Duration::from_secs(60),
            heartbeat_interval: Duration::from_secs(15),
            shutdown_timeout: Duration::from_secs(30),
            backoff: Backoff::default(),
            exit_when_idle: false,
        }
    }

    /// The configuration with its timings made safe: a heartbeat at most half the
    /// lease (otherwise leases lapse while jobs still run) and no zero periods.
    fn normalized(mut self) -> RunnerConfig {
        let longest_heartbeat = (self.lease / 2).max(Duration::from_millis(1));
        if self.heartbeat_interval > longest_heartbeat {
            tracing::warn!(
                heartbeat = ?self.heartbeat_interval,
                lease = ?self.lease,
                "heartbeat interval above half the lease; using half the lease"
            );
        }
        self.heartbeat_interval = self
            .heartbeat_interval
            .clamp(Duration::from_millis(1), longest_heartbeat);
        self.concurrency = self.concurrency.max(1);
        self
    }

    /// A worker name unique to this process: `prefix-PID-RANDOM`.
    pub fn unique_worker_name(prefix: &str) -> String {
        format!(
            "{prefix}-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        )
    }
}

/// What a [`Runner::run`] did, for logs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub succeeded: u64,
    /// Attempts that failed and were queued again.
    pub retried: u64,
    /// Jobs declared dead.
    pub dead: u64,
    /// Jobs whose lease was lost to another worker mid-run.
    pub lease_lost: u64,
    /// Attempts whose outcome could not be recorded (the store failed).
    pub unrecorded: u64,
    /// In-flight jobs abandoned at the shutdown deadline (their leases expire).
    pub abandoned: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Succeeded,
    Retried,
    Dead,
    LeaseLost,
    Unrecorded,
}

impl RunSummary {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Succeeded => self.succeeded += 1,
            Outcome::Retried => self.retried += 1,
            Outcome::Dead => self.dead += 1,
            Outcome::LeaseLost => self.lease_lost += 1,
            Outcome::Unrecorded => self.unrecorded += 1,
        }
    }
}

/// Polls the queue and runs jobs with the registered handlers.
pub struct Runner {
    store: Store,
    config: RunnerConfig,
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
    /// Kinds enqueued periodically while the runner runs.
    schedules: Vec<(&'static str, Duration)>,
    wake: Arc<Notify>,
}

/// What every job task needs, shared.
struct Shared {
    store: Store,
    config: RunnerConfig,
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
}

/// Aborts the handler task if the job task is dropped (lease lost, shutdown
/// deadline), so an abandoned handler does not keep running detached.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Runner {
    pub fn new(store: Store, config: RunnerConfig) -> Runner {
        Runner {
            store,
            config,
            handlers: HashMap::new(),
            schedules: Vec::new(),
            wake: Arc::new(Notify::new()),
        }
    }

    /// Adds the handler for its kind (replacing an earlier one of the same kind).
    #[must_use]
    pub fn register(mut self, handler: impl JobHandler) -> Runner {
        self.handlers.insert(handler.kind(), Arc::new(handler));
        self
    }

    /// Enqueues a payload-less `kind` job now and every `interval` while the runner
    /// runs, keyed by its kind so that at most one is unfinished however many
    /// processes schedule it (see [`crate::maintenance::enqueue_once`]).
    #[must_use]
    pub fn every(mut self, kind: &'static str, interval: Duration) -> Runner {
        self.schedules.push((kind, interval.max(MIN_WAIT)));
        self
    }

    /// The kinds this runner claims, sorted.
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut kinds: Vec<&'static str> = self.handlers.keys().copied().collect();
        kinds.sort_unstable();
        kinds
    }

    /// A handle to wake the runner at once, e.g. right after enqueueing a job in
    /// this process, instead of waiting for the next poll.
    pub fn waker(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }

    /// Runs until `cancel` fires (or, with `exit_when_idle`, until nothing is left),
    /// then waits up to `shutdown_timeout` for in-flight jobs.
    pub async fn run(self, cancel: CancellationToken) -> RunSummary {
        let kinds = self.kinds();
        let wake = Arc::clone(&self.wake);
        let schedules_cancel = cancel.child_token();
        let mut schedules = JoinSet::new();
        for (kind, interval) in self.schedules {
            schedules.spawn(schedule(
                self.store.clone(),
                kind,
                interval,
                Arc::clone(&wake),
                schedules_cancel.clone(),
            ));
        }
        let shared = Arc::new(Shared {
            store: self.store,
            config: self.config.normalized(),
            handlers: self.handlers,
        });
        let config = &shared.config;
        let permits = Arc::new(Semaphore::new(config.concurrency));
        let mut in_flight: JoinSet<Outcome> = JoinSet::new();
        let mut summary = RunSummary::default();
        tracing::info!(worker = %config.worker_name, ?kinds, "job runner started");

        loop {
            while let Some(finished) = in_flight.try_join_next() {
                record(&mut summary, finished);
            }
            let permit = tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                permit = Arc::clone(&permits).acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_closed) => break,
                },
            };
            let now = Timestamp::now();
            let lease_until = now.plus_millis(millis(config.lease));
            let claimed = shared
                .store
                .jobs()
                .claim(&config.worker_name, &kinds, now, lease_until)
                .await;
            let wait = match claimed {
                Ok(Some(job)) => {
                    tracing::debug!(job = %job.id, kind = %job.kind, attempt = job.attempts, "job claimed");
                    in_flight.spawn(run_job(Arc::clone(&shared), job, permit));
                    // Something was due: look again at once rather than after a poll.
                    continue;
                }
                Ok(None) => {
                    drop(permit);
                    while let Some(finished) = in_flight.try_join_next() {
                        record(&mut summary, finished);
                    }
                    match shared.store.jobs().next_due(&kinds).await {
                        Ok(None) if config.exit_when_idle && in_flight.is_empty() => break,
                        Ok(None) => config.poll_interval,
                        Ok(Some(due)) => wait_until(due, config.poll_interval),
                        Err(error) => {
                            tracing::warn!(%error, "reading the queue failed; retrying after the poll interval");
                            config.poll_interval
                        }
                    }
                }
                Err(error) => {
                    drop(permit);
                    tracing::warn!(%error, "claiming a job failed; retrying after the poll interval");
                    config.poll_interval
                }
            };
            tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep(wait) => {}
                () = wake.notified() => {}
                // A finished job frees a slot and, with `exit_when_idle`, may end the run.
                Some(finished) = in_flight.join_next(), if !in_flight.is_empty() => record(&mut summary, finished),
            }
        }

        schedules_cancel.cancel();
        while schedules.join_next().await.is_some() {}
        tracing::info!(worker = %config.worker_name, in_flight = in_flight.len(), "job runner stopping");
        let deadline = tokio::time::sleep(config.shutdown_timeout);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                finished = in_flight.join_next() => match finished {
                    Some(finished) => record(&mut summary, finished),
                    None => break,
                },
                () = &mut deadline => {
                    summary.abandoned = in_flight.len() as u64;
                    // Aborting drops each handler at its next await: an open
                    // transaction rolls back, and jobs are idempotent.
                    in_flight.shutdown().await;
                    match shared.store.jobs().release_held(&config.worker_name, Timestamp::now()).await {
                        Ok(released) => tracing::warn!(
                            abandoned = summary.abandoned, released,
                            "shutdown timeout: unfinished jobs go back to the queue"
                        ),
                        Err(error) => tracing::warn!(
                            abandoned = summary.abandoned, %error,
                            "shutdown timeout: releasing the unfinished jobs failed; their leases will expire"
                        ),
                    }
                    break;
                }
            }
        }
        tracing::info!(worker = %config.worker_name, ?summary, "job runner stopped");
        summary
    }
}

/// Enqueues `kind` at once and then every `interval` until `cancel`, waking the
/// runner when a job was added.
async fn schedule(
    store: Store,
    kind: &'static str,
    interval: Duration,
    wake: Arc<Notify>,
    cancel: CancellationToken,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = ticks.tick() => {}
        }
        match crate::maintenance::enqueue_once(&store, kind, Timestamp::now()).await {
            Ok(Some(id)) => {
                tracing::debug!(job = %id, kind, "scheduled");
                wake.notify_one();
            }
            Ok(None) => tracing::debug!(kind, "already scheduled"),
            Err(error) => tracing::warn!(kind, %error, "scheduling failed"),
        }
    }
}

fn record(summary: &mut RunSummary, finished: Result<Outcome, tokio::task::JoinError>) {
    match finished {
        Ok(outcome) => summary.add(outcome),
        // Job tasks catch handler panics themselves; this is a bug in the runner.
        Err(error) => {
            tracing::error!(%error, "job task failed");
            summary.add(Outcome::Unrecorded);
        }
    }
}

/// The shortest wait between two empty claims, so a job that is due but not
/// claimable (locked by another worker for an instant) cannot make the loop spin.
const MIN_WAIT: Duration = Duration::from_millis(10);

/// How long to sleep for a job due at `due`: wake for a retry due before the next
/// poll, but never spin.
fn wait_until(due: Timestamp, poll_interval: Duration) -> Duration {
    let until_due =
        u64::try_from(due.millis().saturating_sub(Timestamp::now().millis())).unwrap_or(0);
    Duration::from_millis(until_due).clamp(MIN_WAIT, poll_interval.max(MIN_WAIT))
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Runs one claimed job to an outcome, holding `permit` until done.
async fn run_job(shared: Arc<Shared>, job: Job, permit: OwnedSemaphorePermit) -> Outcome {
    let _permit = permit;
    let config = &shared.config;
    let jobs = shared.store.jobs();
    let (id, attempt, kind) = (job.id, job.attempts, job.kind.clone());
    let Some(handler) = shared.handlers.get(kind.as_str()) else {
        // Claims only ask for registered kinds, so this cannot happen; fail loudly anyway.
        return finish_failed(
            &shared,
            id,
            attempt,
            &JobError::permanent(format!("no handler for {kind}")),
        )
        .await;
    };
    let mut work = AbortOnDrop(tokio::spawn(handler.run(job)));
    let mut heartbeat = tokio::time::interval_at(
        tokio::time::Instant::now() + config.heartbeat_interval,
        config.heartbeat_interval,
    );
    let result = loop {
        tokio::select! {
            joined = &mut work.0 => break match joined {
                Ok(result) => result,
                Err(error) if error.is_panic() => Err(JobError::retry("the job handler panicked")),
                Err(error) => Err(JobError::retry(format!("the job handler was cancelled: {error}"))),
            },
            _ = heartbeat.tick() => {
                let lease_until = Timestamp::now().plus_millis(millis(config.lease));
                match jobs.heartbeat(id, &config.worker_name, lease_until).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(job = %id, %kind, "lease lost to another worker; abandoning this attempt");
                        return Outcome::LeaseLost;
                    }
                    // Keep working: the next heartbeat may succeed before the lease runs out.
                    Err(error) => tracing::warn!(job = %id, %error, "heartbeat failed"),
                }
            }
        }
    };
    match result {
        Ok(()) => match jobs
            .complete(id, &config.worker_name, Timestamp::now())
            .await
        {
            Ok(true) => {
                tracing::debug!(job = %id, %kind, "job succeeded");
                Outcome::Succeeded
            }
            Ok(false) => {
                tracing::warn!(job = %id, %kind, "job finished after its lease was lost");
                Outcome::LeaseLost
            }
            Err(error) => {
                tracing::error!(job = %id, %error, "recording a job's success failed");
                Outcome::Unrecorded
            }
        },
        Err(error) => finish_failed(&shared, id, attempt, &error).await,
    }
}

async fn finish_failed(shared: &Shared, id: JobId, attempt: i32, error: &JobError) -> Outcome {
    let config = &shared.config;
    let now = Timestamp::now();
    let retry_at = match error {
        JobError::Retry(_) => Some(now.plus_millis(millis(config.backoff.delay_for(attempt)))),
        JobError::Permanent(_) => None,
    };
    match shared
        .store
        .jobs()
        .fail(id, &config.worker_name, &error.to_string(), retry_at, now)
        .await
    {
        Ok(JobStatus::Dead) => {
            tracing::error!(job = %id, attempt, %error, "job is dead");
            Outcome::Dead
        }
        Ok(_) => {
            tracing::warn!(job = %id, attempt, %error, "job failed; will retry");
            Outcome::Retried
        }
        Err(StoreError::NotFound { .. }) => Outcome::LeaseLost,
        Err(store_error) => {
            tracing::error!(job = %id, %store_error, "recording a job's failure failed");
            Outcome::Unrecorded
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(lease_ms: u64, heartbeat_ms: u64, expected_heartbeat_ms: u64) {
        let config = RunnerConfig {
            lease: Duration::from_millis(lease_ms),
            heartbeat_interval: Duration::from_millis(heartbeat_ms),
            ..RunnerConfig::new("w")
        };
        assert_eq!(
            config.normalized().heartbeat_interval,
            Duration::from_millis(expected_heartbeat_ms),
            "lease {lease_ms} ms, heartbeat {heartbeat_ms} ms"
        );
    }

    #[test]
    fn heartbeats_stay_within_half_the_lease() {
        check(60_000, 15_000, 15_000);
        check(60_000, 60_000, 30_000);
        check(60_000, 0, 1);
        check(0, 10, 1);
    }

    #[test]
    fn waits_for_the_next_due_job_without_spinning() {
        let poll = Duration::from_secs(2);
        let now = Timestamp::now();
        assert_eq!(wait_until(now.plus_millis(-5_000), poll), MIN_WAIT);
        assert_eq!(wait_until(now.plus_millis(3_600_000), poll), poll);
        let soon = wait_until(now.plus_millis(500), poll);
        assert!(
            soon > Duration::from_millis(400) && soon <= Duration::from_millis(500),
            "{soon:?}"
        );
    }

    #[test]
    fn worker_names_differ() {
        assert_ne!(
            RunnerConfig::unique_worker_name("atalaya"),
            RunnerConfig::unique_worker_name("atalaya")
        );
    }
}
