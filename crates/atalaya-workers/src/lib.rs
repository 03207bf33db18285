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

mod backoff;
pub mod ingest;
pub mod maintenance;
pub mod poll;
mod runner;

pub use backoff::Backoff;
pub use runner::{BoxFuture, JobError, JobHandler, RunSummary, Runner, RunnerConfig};
