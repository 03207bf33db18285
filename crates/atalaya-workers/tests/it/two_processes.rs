//! Worker processes sharing one PostgreSQL queue: every job runs exactly once,
//! never twice at the same time, and a killed process's jobs are taken over once
//! their leases expire.
//!
//! The tests re-execute their own test binary, running only
//! [`child_worker_process`], with the database URL, a worker name and a mode in
//! the environment. Each child connects, prints `READY`, waits for `GO` on stdin
//! (so children start together, without sleeping), then runs a runner until the
//! queue is empty. Each attempt records its run in a log table; afterwards the
//! parent checks the log.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Lines, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use atalaya_domain::{JobId, Timestamp};
use atalaya_store::testing::{Run, RunLog};
use atalaya_store::{Job, JobStatus, NewJob, Store};
use atalaya_workers::{BoxFuture, JobError, JobHandler, Runner, RunnerConfig};
use serde_json::json;
use tokio_util::sync::CancellationToken;

const URL_VAR: &str = "ATALAYA_TEST_CHILD_DATABASE_URL";
const WORKER_VAR: &str = "ATALAYA_TEST_CHILD_WORKER";
/// `record` (default): run jobs and log them. `hang`: print `STARTED <id>` and
/// never finish, to be killed mid-job.
const MODE_VAR: &str = "ATALAYA_TEST_CHILD_MODE";
const LEASE_VAR: &str = "ATALAYA_TEST_CHILD_LEASE_MS";

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

/// Announces each job and never finishes it: the process is killed mid-job.
struct Hang;

impl JobHandler for Hang {
    fn kind(&self) -> &'static str {
        "test.record"
    }

    fn run(&self, job: Job) -> BoxFuture<Result<(), JobError>> {
        Box::pin(async move {
            println!("STARTED {}", job.id);
            std::future::pending::<()>().await;
            Ok(())
        })
    }
}

/// The children's entry point: does nothing unless started by a parent test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_worker_process() {
    let (Ok(url), Ok(worker)) = (std::env::var(URL_VAR), std::env::var(WORKER_VAR)) else {
        return;
    };
    let lease = std::env::var(LEASE_VAR).map_or(Duration::from_secs(30), |ms| {
        Duration::from_millis(ms.parse().unwrap())
    });
    let store = Store::connect(&url).await.unwrap();
    let config = RunnerConfig {
        concurrency: 4,
        poll_interval: Duration::from_millis(20),
        lease,
        heartbeat_interval: lease / 3,
        exit_when_idle: true,
        ..RunnerConfig::new(worker.clone())
    };
    let runner = Runner::new(store.clone(), config);
    let hang = std::env::var(MODE_VAR).is_ok_and(|mode| mode == "hang");
    let runner = if hang {
        runner.register(Hang)
    } else {
        runner.register(RecordRun {
            store: store.clone(),
            worker,
        })
    };
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

/// A child worker process and its output, line by line.
struct ChildWorker {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl ChildWorker {
    fn spawn(url: &str, worker: &str, extra_env: &[(&str, &str)]) -> ChildWorker {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "two_processes::child_worker_process",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(URL_VAR, url)
            .env(WORKER_VAR, worker)
            .envs(extra_env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        ChildWorker { child, lines }
    }

    /// Blocks until the child prints a line ending with `marker` (libtest may print
    /// `test NAME ... ` before the test's first output on the same line); returns
    /// what follows the marker.
    fn wait_for(&mut self, marker: &str) -> String {
        loop {
            let line = self
                .lines
                .next()
                .unwrap_or_else(|| panic!("child exited before {marker}"))
                .unwrap();
            if let Some((_, rest)) = line.split_once(marker) {
                return rest.trim().to_owned();
            }
        }
    }

    fn go(&mut self) {
        self.child
            .stdin
            .as_mut()
            .unwrap()
            .write_all(b"GO\n")
            .unwrap();
    }

    /// Waits for the child to exit, draining its output so it never blocks on a full pipe.
    fn wait(mut self) -> std::process::ExitStatus {
        for _ in self.lines.by_ref() {}
        self.child.wait().unwrap()
    }
}

async fn queue_with_jobs(count: usize) -> (String, Store) {
    let url = atalaya_store::testing::fresh_postgres_url().await;
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    RunLog::create(&store).await.unwrap();
    for index in 0..count {
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
    (url, store)
}

/// The runs in the log, grouped by job, after checking none ran twice.
async fn runs_once_each(store: &Store, jobs: usize) -> HashMap<JobId, Run> {
    let runs = RunLog::create(store).await.unwrap().all().await.unwrap();
    let mut per_job: HashMap<JobId, Vec<Run>> = HashMap::new();
    for run in runs {
        per_job.entry(run.job).or_default().push(run);
    }
    let repeated: Vec<_> = per_job.iter().filter(|(_, runs)| runs.len() > 1).collect();
    assert!(repeated.is_empty(), "jobs ran more than once: {repeated:?}");
    assert_eq!(per_job.len(), jobs, "every job ran");
    let counts = store.jobs().counts().await.unwrap();
    assert!(
        counts.contains(&(JobStatus::Succeeded, i64::try_from(jobs).unwrap())),
        "{counts:?}"
    );
    per_job
        .into_iter()
        .filter_map(|(job, mut runs)| Some((job, runs.pop()?)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_a_postgres_queue() {
    const JOBS: usize = 200;
    let (url, store) = queue_with_jobs(JOBS).await;

    let statuses = tokio::task::spawn_blocking(move || {
        let mut children = [
            ChildWorker::spawn(&url, "proc-a", &[]),
            ChildWorker::spawn(&url, "proc-b", &[]),
        ];
        for child in &mut children {
            child.wait_for("READY");
        }
        for child in &mut children {
            child.go();
        }
        children.map(ChildWorker::wait)
    })
    .await
    .unwrap();
    for status in statuses {
        assert!(status.success(), "a worker process failed: {status}");
    }

    let runs = runs_once_each(&store, JOBS).await;
    let mut per_worker: HashMap<&str, usize> = HashMap::new();
    for run in runs.values() {
        *per_worker.entry(run.worker.as_str()).or_default() += 1;
    }
    assert!(
        per_worker.len() == 2 && per_worker.values().all(|&count| count > 0),
        "both processes worked: {per_worker:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_process_jobs_are_taken_over_after_their_leases_expire() {
    const JOBS: usize = 20;
    let (url, store) = queue_with_jobs(JOBS).await;

    let (stranded, status) = tokio::task::spawn_blocking(move || {
        // The doomed process takes four jobs (its concurrency) and is killed mid-run.
        let mut doomed =
            ChildWorker::spawn(&url, "doomed", &[(MODE_VAR, "hang"), (LEASE_VAR, "600")]);
        doomed.wait_for("READY");
        doomed.go();
        let stranded: Vec<i64> = (0..4)
            .map(|_| doomed.wait_for("STARTED").parse().unwrap())
            .collect();
        doomed.child.kill().unwrap();
        doomed.wait();

        let mut survivor = ChildWorker::spawn(&url, "survivor", &[]);
        survivor.wait_for("READY");
        survivor.go();
        (stranded, survivor.wait())
    })
    .await
    .unwrap();
    assert!(status.success(), "the surviving worker failed: {status}");

    let runs = runs_once_each(&store, JOBS).await;
    assert!(runs.values().all(|run| run.worker == "survivor"));
    for id in stranded {
        let job = store.jobs().get(JobId(id)).await.unwrap().unwrap();
        assert_eq!(
            (job.status, job.attempts),
            (JobStatus::Succeeded, 2),
            "job {id} was retaken once"
        );
    }
}
