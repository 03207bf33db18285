//! The runner against a real queue: success, retries, dead jobs, panics, lost
//! leases and graceful shutdown. Handlers report through channels, so tests wait
//! for events, never for time to pass.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use atalaya_domain::{JobId, Timestamp};
use atalaya_store::{Job, JobStatus, NewJob, Store};
use atalaya_workers::{Backoff, BoxFuture, JobError, JobHandler, RunSummary, Runner, RunnerConfig};
use serde_json::json;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

on_both_backends!(
    runs_jobs_to_completion,
    retries_with_backoff_then_dead,
    permanent_errors_and_panics,
    shutdown_waits_for_the_job_in_flight,
    shutdown_releases_unfinished_jobs_to_the_queue_after_the_timeout,
    a_lost_lease_stops_the_attempt,
);

/// What a test handler does with each attempt.
#[derive(Clone, Copy)]
enum Behaviour {
    Succeed,
    FailRetry,
    FailPermanent,
    Panic,
    /// Wait until the test sends on the release channel.
    WaitForRelease,
}

/// Reports `(job, attempt)` when an attempt starts and `job` when its future is dropped.
struct TestHandler {
    behaviour: Behaviour,
    started: mpsc::UnboundedSender<(JobId, i32)>,
    dropped: mpsc::UnboundedSender<JobId>,
    release: Arc<Mutex<Option<oneshot::Receiver<()>>>>,
}

struct DropReporter(JobId, mpsc::UnboundedSender<JobId>);

impl Drop for DropReporter {
    fn drop(&mut self) {
        let _ = self.1.send(self.0);
    }
}

impl JobHandler for TestHandler {
    fn kind(&self) -> &'static str {
        "test.job"
    }

    fn run(&self, job: Job) -> BoxFuture<Result<(), JobError>> {
        let behaviour = self.behaviour;
        let started = self.started.clone();
        let guard = DropReporter(job.id, self.dropped.clone());
        let release = self.release.lock().unwrap().take();
        Box::pin(async move {
            let _guard = guard;
            started.send((job.id, job.attempts)).unwrap();
            match behaviour {
                Behaviour::Succeed => Ok(()),
                Behaviour::FailRetry => Err(JobError::retry(format!(
                    "peer down on attempt {}",
                    job.attempts
                ))),
                Behaviour::FailPermanent => Err(JobError::permanent("malformed payload")),
                Behaviour::Panic => panic!("handler bug"),
                Behaviour::WaitForRelease => {
                    release.expect("one release per test").await.unwrap();
                    Ok(())
                }
            }
        })
    }
}

struct Harness {
    started: mpsc::UnboundedReceiver<(JobId, i32)>,
    dropped: mpsc::UnboundedReceiver<JobId>,
    release: oneshot::Sender<()>,
    cancel: CancellationToken,
    run: tokio::task::JoinHandle<RunSummary>,
}

fn quick_config(name: &str) -> RunnerConfig {
    RunnerConfig {
        poll_interval: Duration::from_millis(10),
        lease: Duration::from_secs(30),
        heartbeat_interval: Duration::from_millis(20),
        shutdown_timeout: Duration::from_secs(10),
        backoff: Backoff {
            base: Duration::from_millis(2),
            cap: Duration::from_millis(4),
        },
        ..RunnerConfig::new(name)
    }
}

fn start(store: &Store, behaviour: Behaviour, config: RunnerConfig) -> Harness {
    let (started_tx, started) = mpsc::unbounded_channel();
    let (dropped_tx, dropped) = mpsc::unbounded_channel();
    let (release, release_rx) = oneshot::channel();
    let handler = TestHandler {
        behaviour,
        started: started_tx,
        dropped: dropped_tx,
        release: Arc::new(Mutex::new(Some(release_rx))),
    };
    let cancel = CancellationToken::new();
    let runner = Runner::new(store.clone(), config).register(handler);
    let run = tokio::spawn(runner.run(cancel.clone()));
    Harness {
        started,
        dropped,
        release,
        cancel,
        run,
    }
}

async fn enqueue(store: &Store, max_attempts: i32) -> JobId {
    let job = NewJob {
        kind: "test.job",
        payload: json!({}),
        run_after: Timestamp(0),
        unique_key: None,
        max_attempts,
    };
    store
        .jobs()
        .enqueue(job, Timestamp::now())
        .await
        .unwrap()
        .unwrap()
}

async fn runs_jobs_to_completion(store: Store) {
    let ids = [
        enqueue(&store, 3).await,
        enqueue(&store, 3).await,
        enqueue(&store, 3).await,
    ];
    let mut harness = start(&store, Behaviour::Succeed, quick_config("w1"));
    let mut seen = Vec::new();
    for _ in ids {
        seen.push(harness.started.recv().await.unwrap().0);
    }
    seen.sort();
    assert_eq!(seen, ids);
    harness.cancel.cancel();
    let summary = harness.run.await.unwrap();
    assert_eq!(
        summary,
        RunSummary {
            succeeded: 3,
            ..RunSummary::default()
        }
    );
    for id in ids {
        let job = store.jobs().get(id).await.unwrap().unwrap();
        assert_eq!((job.status, job.attempts), (JobStatus::Succeeded, 1));
    }
}

async fn retries_with_backoff_then_dead(store: Store) {
    let id = enqueue(&store, 3).await;
    let config = RunnerConfig {
        exit_when_idle: true,
        ..quick_config("w1")
    };
    let mut harness = start(&store, Behaviour::FailRetry, config);
    for attempt in 1..=3 {
        assert_eq!(harness.started.recv().await.unwrap(), (id, attempt));
    }
    let summary = harness.run.await.unwrap();
    assert_eq!(
        summary,
        RunSummary {
            retried: 2,
            dead: 1,
            ..RunSummary::default()
        }
    );
    let job = store.jobs().get(id).await.unwrap().unwrap();
    assert_eq!((job.status, job.attempts), (JobStatus::Dead, 3));
    assert_eq!(job.last_error.as_deref(), Some("peer down on attempt 3"));
}

async fn permanent_errors_and_panics(store: Store) {
    let id = enqueue(&store, 5).await;
    let config = RunnerConfig {
        exit_when_idle: true,
        ..quick_config("w1")
    };
    let summary = start(&store, Behaviour::FailPermanent, config.clone())
        .run
        .await
        .unwrap();
    assert_eq!(
        summary,
        RunSummary {
            dead: 1,
            ..RunSummary::default()
        }
    );
    let job = store.jobs().get(id).await.unwrap().unwrap();
    assert_eq!(
        (job.status, job.attempts),
        (JobStatus::Dead, 1),
        "no retry for a permanent error"
    );

    // A panicking handler is a failed attempt, retried, not a job stuck running.
    let id = enqueue(&store, 2).await;
    let summary = start(&store, Behaviour::Panic, config).run.await.unwrap();
    assert_eq!(
        summary,
        RunSummary {
            retried: 1,
            dead: 1,
            ..RunSummary::default()
        }
    );
    let job = store.jobs().get(id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Dead);
    assert_eq!(job.last_error.as_deref(), Some("the job handler panicked"));
}

async fn shutdown_waits_for_the_job_in_flight(store: Store) {
    let id = enqueue(&store, 3).await;
    let mut harness = start(&store, Behaviour::WaitForRelease, quick_config("w1"));
    assert_eq!(harness.started.recv().await.unwrap(), (id, 1));
    harness.cancel.cancel();
    let still_running = tokio::time::timeout(Duration::from_millis(200), &mut harness.run).await;
    assert!(
        still_running.is_err(),
        "run() returned while a job was in flight"
    );
    harness.release.send(()).unwrap();
    let summary = harness.run.await.unwrap();
    assert_eq!(
        summary,
        RunSummary {
            succeeded: 1,
            ..RunSummary::default()
        }
    );
    assert_eq!(
        store.jobs().get(id).await.unwrap().unwrap().status,
        JobStatus::Succeeded
    );
}

/// Regression: a job still running at the shutdown deadline was left to its
/// lease, so nobody ran it until the lease expired (a minute by default).
async fn shutdown_releases_unfinished_jobs_to_the_queue_after_the_timeout(store: Store) {
    let id = enqueue(&store, 3).await;
    let config = RunnerConfig {
        shutdown_timeout: Duration::from_millis(50),
        ..quick_config("w1")
    };
    let mut harness = start(&store, Behaviour::WaitForRelease, config);
    assert_eq!(harness.started.recv().await.unwrap(), (id, 1));
    harness.cancel.cancel();
    let summary = harness.run.await.unwrap();
    assert_eq!(
        summary,
        RunSummary {
            abandoned: 1,
            ..RunSummary::default()
        }
    );
    // The handler was stopped, and the job is queued again at once, its
    // interrupted attempt not counted: the next worker takes it now.
    assert_eq!(harness.dropped.recv().await.unwrap(), id);
    let job = store.jobs().get(id).await.unwrap().unwrap();
    assert_eq!(
        (job.status, job.lease_owner.as_deref(), job.attempts),
        (JobStatus::Queued, None, 0)
    );
    let now = Timestamp::now();
    let next = store
        .jobs()
        .claim("w2", &["test.job"], now, now.plus_millis(1_000))
        .await
        .unwrap();
    assert_eq!(next.map(|job| (job.id, job.attempts)), Some((id, 1)));
}

async fn a_lost_lease_stops_the_attempt(store: Store) {
    let id = enqueue(&store, 3).await;
    let mut harness = start(&store, Behaviour::WaitForRelease, quick_config("w1"));
    assert_eq!(harness.started.recv().await.unwrap(), (id, 1));
    // Another worker takes the job as if w1's lease had expired.
    let far_future = Timestamp::now().plus_millis(3_600_000);
    let stolen = store
        .jobs()
        .claim(
            "thief",
            &["test.job"],
            far_future,
            far_future.plus_millis(1_000),
        )
        .await
        .unwrap();
    assert_eq!(stolen.map(|job| job.id), Some(id));
    // w1's next heartbeat notices and drops its attempt.
    assert_eq!(harness.dropped.recv().await.unwrap(), id);
    harness.cancel.cancel();
    let summary = harness.run.await.unwrap();
    assert_eq!(
        summary,
        RunSummary {
            lease_lost: 1,
            ..RunSummary::default()
        }
    );
    let job = store.jobs().get(id).await.unwrap().unwrap();
    assert_eq!(
        (job.status, job.lease_owner.as_deref(), job.attempts),
        (JobStatus::Running, Some("thief"), 2)
    );
}
