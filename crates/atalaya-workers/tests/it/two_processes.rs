//! Two worker processes share one PostgreSQL queue: every job runs exactly once,
//! never twice at the same time.
//!
//! The test re-executes its own test binary twice, running only
//! [`child_worker_process`], with the database URL and a worker name in the
//! environment. Each child connects, prints `READY`, waits for `GO` on stdin (so
//! both start together, without sleeping), then runs a runner until the queue is
//! empty. Each attempt records its run in a log table; afterwards the parent
//! checks the log.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use atalaya_domain::Timestamp;
use atalaya_store::testing::{Run, RunLog};
use atalaya_store::{Job, JobStatus, NewJob, Store};
use atalaya_workers::{BoxFuture, JobError, JobHandler, Runner, RunnerConfig};
use serde_json::json;
use tokio_util::sync::CancellationToken;

const URL_VAR: &str = "ATALAYA_TEST_CHILD_DATABASE_URL";
const WORKER_VAR: &str = "ATALAYA_TEST_CHILD_WORKER";
const JOBS: usize = 200;

/// Records each attempt, with a little simulated work between start and finish so
/// that overlapping runs would show.
struct RecordRun {
    store: Store,
    worker: String,
}

impl JobHandler for RecordRun {
    fn kind(&self) -> &'static str {
        "test.record"
    }

    fn run(&self, job: Job) -> BoxFuture<Result<(), JobError>> {
        let store = self.store.clone();
        let worker = self.worker.clone();
        Box::pin(async move {
            let started_at = Timestamp::now();
            tokio::time::sleep(Duration::from_millis(2)).await;
            let run = Run {
                job: job.id,
                worker,
                started_at,
                finished_at: Timestamp::now(),
            };
            RunLog::create(&store).await?.record(&run).await?;
            Ok(())
        })
    }
}

/// The child's entry point: does nothing unless started by the parent test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_worker_process() {
    let (Ok(url), Ok(worker)) = (std::env::var(URL_VAR), std::env::var(WORKER_VAR)) else {
        return;
    };
    let store = Store::connect(&url).await.unwrap();
    let config = RunnerConfig {
        concurrency: 4,
        poll_interval: Duration::from_millis(20),
        exit_when_idle: true,
        ..RunnerConfig::new(worker.clone())
    };
    let runner = Runner::new(store.clone(), config).register(RecordRun {
        store: store.clone(),
        worker,
    });
    println!("READY");
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).unwrap();
    assert_eq!(go.trim(), "GO");
    let summary = runner.run(CancellationToken::new()).await;
    assert_eq!(
        (
            summary.retried,
            summary.dead,
            summary.lease_lost,
            summary.unrecorded
        ),
        (0, 0, 0, 0),
        "{summary:?}"
    );
}

fn spawn_child(url: &str, worker: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "two_processes::child_worker_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(URL_VAR, url)
        .env(WORKER_VAR, worker)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Blocks until the child prints `READY`.
fn wait_ready(child: &mut Child) {
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    loop {
        let line = lines.next().expect("child exited before READY").unwrap();
        // libtest prints `test NAME ... ` on the same line before the test's output.
        if line.ends_with("READY") {
            break;
        }
    }
    // Keep draining so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_a_postgres_queue() {
    let url = atalaya_store::testing::fresh_postgres_url().await;
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    RunLog::create(&store).await.unwrap();
    for index in 0..JOBS {
        let job = NewJob {
            kind: "test.record",
            payload: json!({"n": index}),
            run_after: Timestamp(0),
            unique_key: None,
            max_attempts: 3,
        };
        store
            .jobs()
            .enqueue(job, Timestamp::now())
            .await
            .unwrap()
            .unwrap();
    }

    let child_url = url.clone();
    let statuses = tokio::task::spawn_blocking(move || {
        let mut children = [
            spawn_child(&child_url, "proc-a"),
            spawn_child(&child_url, "proc-b"),
        ];
        for child in &mut children {
            wait_ready(child);
        }
        for child in &mut children {
            child.stdin.as_mut().unwrap().write_all(b"GO\n").unwrap();
        }
        children.map(|mut child| child.wait().unwrap())
    })
    .await
    .unwrap();
    for status in statuses {
        assert!(status.success(), "a worker process failed: {status}");
    }

    let runs = RunLog::create(&store).await.unwrap().all().await.unwrap();
    let mut per_job: HashMap<_, Vec<&Run>> = HashMap::new();
    for run in &runs {
        per_job.entry(run.job).or_default().push(run);
    }
    let repeated: Vec<_> = per_job.iter().filter(|(_, runs)| runs.len() > 1).collect();
    assert!(repeated.is_empty(), "jobs ran more than once: {repeated:?}");
    assert_eq!(per_job.len(), JOBS, "every job ran");
    let mut per_worker: HashMap<&str, usize> = HashMap::new();
    for run in &runs {
        *per_worker.entry(run.worker.as_str()).or_default() += 1;
    }
    assert!(
        per_worker.len() == 2 && per_worker.values().all(|&count| count > 0),
        "both processes worked: {per_worker:?}"
    );
    let counts = store.jobs().counts().await.unwrap();
    assert!(
        counts.contains(&(JobStatus::Succeeded, JOBS as i64)),
        "{counts:?}"
    );
}
