//! Atalaya's background workers: the job runner and one module per job.
//!
//! Jobs are rows in the store's durable queue. A [`Runner`] claims due jobs of
//! the kinds it has a [`JobHandler`] for, runs each with a heartbeat that keeps
//! its lease, and records the outcome:
//!
//! ```text
//!            claim (lease)            handler Ok          complete
//!  queue ───────────────▶ running ─────────────────▶ ─────────────▶ succeeded
//!    ▲                      │ │ heartbeat every few seconds extends the lease
//!    │ fail(retry_at =      │ └─ handler Err(Retry) ──┐
//!    │  now + backoff)      └─── handler Err(Permanent), or last attempt ──▶ dead
//!    └──────────────────────────────────────────────────┘
//! ```
//!
//! Several processes may run runners against one PostgreSQL: the store's claim
//! never hands one job to two of them, and a crashed process's lease expires so
//! another takes its jobs. Every job must therefore be idempotent: it may run
//! again after a crash. Shutdown goes through a `CancellationToken`: the runner
//! stops claiming, waits for in-flight jobs up to a timeout, then abandons the
//! rest to lease expiry.
//!
//! Architecture invariant: this crate contains no SQL; it speaks to the store.

pub mod backfill;
mod backoff;
pub mod ingest;
pub mod mail;
pub mod maintenance;
pub mod poll;
mod runner;

pub use backoff::Backoff;
pub use runner::{BoxFuture, JobError, JobHandler, RunSummary, Runner, RunnerConfig};

use std::time::Duration;

use atalaya_store::Store;

/// What the binary configures about the workers of one process; the rest has
/// safe defaults.
#[derive(Debug, Clone)]
pub struct RunnerSettings {
    /// Leases are owned by name; `None` picks one unique to the process.
    pub worker_name: Option<String>,
    pub concurrency: usize,
    pub poll_interval: Duration,
    pub shutdown_timeout: Duration,
    /// How long a claim lasts without a heartbeat (the heartbeat runs at a
    /// quarter of it): after a crash, the job runs again once it has passed.
    pub lease: Duration,
    /// How often expired sessions and old sign-in failures are pruned.
    pub prune_every: Duration,
    /// How long sign-in failures are kept; longer than the rate-limit window.
    pub login_attempt_retention: Duration,
}

impl Default for RunnerSettings {
    fn default() -> Self {
        RunnerSettings {
            worker_name: None,
            concurrency: 4,
            poll_interval: Duration::from_secs(1),
            shutdown_timeout: Duration::from_secs(20),
            lease: Duration::from_secs(60),
            prune_every: Duration::from_secs(3600),
            login_attempt_retention: Duration::from_secs(24 * 3600),
        }
    }
}

/// The runner `atalaya serve` starts: the maintenance jobs, with `maintenance.prune`
/// scheduled every `prune_every`. Other job families register on the result (for
/// example [`poll::register_listening`]).
pub fn standard_runner(store: Store, settings: RunnerSettings) -> Runner {
    let worker_name = settings
        .worker_name
        .unwrap_or_else(|| RunnerConfig::unique_worker_name("atalaya"));
    let config = RunnerConfig {
        concurrency: settings.concurrency,
        poll_interval: settings.poll_interval,
        shutdown_timeout: settings.shutdown_timeout,
        lease: settings.lease,
        heartbeat_interval: settings.lease / 4,
        ..RunnerConfig::new(worker_name)
    };
    let prune = maintenance::Prune::new(store.clone(), settings.login_attempt_retention);
    Runner::new(store, config)
        .register(prune)
        .every(maintenance::PRUNE_KIND, settings.prune_every)
}
