//! The durable job queue: claiming, leases, retries, unique keys, concurrency.

use std::collections::HashSet;

use atalaya_domain::{JobId, Timestamp};
use atalaya_store::{JobStatus, NewJob, Store, StoreError};
use serde_json::json;

on_both_backends!(
    enqueue_claim_complete,
    claims_only_due_jobs_of_the_asked_kinds_oldest_first,
    unique_key_dedupes_unfinished_jobs,
    failures_retry_then_die_after_max_attempts,
    a_failure_without_retry_is_dead_at_once,
    a_crashed_workers_job_is_reclaimed_after_its_lease,
    heartbeat_extends_the_lease,
    an_expired_lease_on_the_last_attempt_is_dead,
    dead_jobs_can_be_retried,
    counts_and_list,
    next_due_is_the_earliest_run_or_lease_expiry,
    concurrent_claimers_never_share_a_job,
);

fn job(kind: &str, run_after: i64) -> NewJob<'_> {
    NewJob {
        kind,
        payload: json!({"n": run_after}),
        run_after: Timestamp(run_after),
        unique_key: None,
        max_attempts: 3,
    }
}

async fn enqueue(store: &Store, new_job: NewJob<'_>) -> JobId {
    store
        .jobs()
        .enqueue(new_job, Timestamp(0))
        .await
        .unwrap()
        .unwrap()
}

async fn enqueue_claim_complete(store: Store) {
    let id = enqueue(&store, job("mail.send", 100)).await;
    let queued = store.jobs().get(id).await.unwrap().unwrap();
    assert_eq!(
        (
            queued.status,
            queued.attempts,
            queued.lease_owner.as_deref()
        ),
        (JobStatus::Queued, 0, None)
    );

    let claimed = store
        .jobs()
        .claim("w1", &["mail.send"], Timestamp(100), Timestamp(1_100))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, id);
    assert_eq!(claimed.kind, "mail.send");
    assert_eq!(claimed.payload, json!({"n": 100}));
    assert_eq!(claimed.status, JobStatus::Running);
    assert_eq!(claimed.attempts, 1);
    assert_eq!(claimed.lease_owner.as_deref(), Some("w1"));
    assert_eq!(claimed.lease_expires_at, Some(Timestamp(1_100)));
    assert_eq!(
        store
            .jobs()
            .claim("w2", &["mail.send"], Timestamp(100), Timestamp(1_100))
            .await
            .unwrap(),
        None
    );

    assert!(
        store
            .jobs()
            .complete(id, "w1", Timestamp(150))
            .await
            .unwrap()
    );
    let done = store.jobs().get(id).await.unwrap().unwrap();
    assert_eq!(done.status, JobStatus::Succeeded);
    assert_eq!(done.finished_at, Some(Timestamp(150)));
    // Completing twice is refused: the job is no longer running.
    assert!(
        !store
            .jobs()
            .complete(id, "w1", Timestamp(160))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .jobs()
            .claim("w2", &["mail.send"], Timestamp(9_999), Timestamp(99_999))
            .await
            .unwrap(),
        None
    );
}

async fn claims_only_due_jobs_of_the_asked_kinds_oldest_first(store: Store) {
    let later = enqueue(&store, job("a", 300)).await;
    let other_kind = enqueue(&store, job("b", 100)).await;
    let earlier = enqueue(&store, job("a", 200)).await;
    let claim = async |kinds: &[&str], now: i64| {
        store
            .jobs()
            .claim("w", kinds, Timestamp(now), Timestamp(now + 1_000))
            .await
            .unwrap()
            .map(|j| j.id)
    };
    assert_eq!(
        claim(&["a"], 199).await,
        None,
        "nothing of kind a is due yet"
    );
    assert_eq!(claim(&[], 10_000).await, None, "no kinds, no claim");
    assert_eq!(claim(&["a"], 1_000).await, Some(earlier));
    assert_eq!(claim(&["a"], 1_000).await, Some(later));
    assert_eq!(claim(&["a"], 1_000).await, None);
    assert_eq!(claim(&["a", "b"], 1_000).await, Some(other_kind));
}

async fn unique_key_dedupes_unfinished_jobs(store: Store) {
    let keyed = NewJob {
        unique_key: Some("prune"),
        ..job("maintenance.prune", 0)
    };
    let first = store
        .jobs()
        .enqueue(keyed.clone(), Timestamp(0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .jobs()
            .enqueue(keyed.clone(), Timestamp(1))
            .await
            .unwrap(),
        None,
        "queued blocks"
    );
    store
        .jobs()
        .claim("w", &["maintenance.prune"], Timestamp(5), Timestamp(100))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .jobs()
            .enqueue(keyed.clone(), Timestamp(6))
            .await
            .unwrap(),
        None,
        "running blocks"
    );
    // Another key, or no key, is not affected.
    let other = NewJob {
        unique_key: Some("other"),
        ..job("maintenance.prune", 0)
    };
    assert!(
        store
            .jobs()
            .enqueue(other, Timestamp(6))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .jobs()
            .enqueue(job("maintenance.prune", 0), Timestamp(6))
            .await
            .unwrap()
            .is_some()
    );

    assert!(
        store
            .jobs()
            .complete(first, "w", Timestamp(7))
            .await
            .unwrap()
    );
    let second = store.jobs().enqueue(keyed, Timestamp(8)).await.unwrap();
    assert!(
        second.is_some_and(|id| id != first),
        "a finished job frees its key"
    );
    assert_eq!(
        store
            .jobs()
            .get(first)
            .await
            .unwrap()
            .unwrap()
            .unique_key
            .as_deref(),
        Some("prune")
    );
}

async fn failures_retry_then_die_after_max_attempts(store: Store) {
    let id = enqueue(&store, job("flaky", 0)).await;
    let jobs = store.jobs();
    let mut now = 0;
    for attempt in 1..=3 {
        let claimed = jobs
            .claim("w", &["flaky"], Timestamp(now), Timestamp(now + 1_000))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((claimed.id, claimed.attempts), (id, attempt));
        let retry_at = Timestamp(now + 500);
        let status = jobs
            .fail(
                id,
                "w",
                &format!("boom {attempt}"),
                Some(retry_at),
                Timestamp(now + 10),
            )
            .await
            .unwrap();
        let stored = jobs.get(id).await.unwrap().unwrap();
        assert_eq!(stored.last_error, Some(format!("boom {attempt}")));
        if attempt < 3 {
            assert_eq!(status, JobStatus::Queued);
            assert_eq!(stored.run_after, retry_at);
            assert_eq!(stored.finished_at, None);
            assert_eq!(
                jobs.claim(
                    "w",
                    &["flaky"],
                    Timestamp(now + 499),
                    Timestamp(now + 2_000)
                )
                .await
                .unwrap(),
                None
            );
            now += 500;
        } else {
            assert_eq!(status, JobStatus::Dead);
            assert_eq!(stored.status, JobStatus::Dead);
            assert_eq!(stored.finished_at, Some(Timestamp(now + 10)));
        }
    }
    assert_eq!(
        jobs.claim("w", &["flaky"], Timestamp(1_000_000), Timestamp(1_001_000))
            .await
            .unwrap(),
        None
    );
}

async fn a_failure_without_retry_is_dead_at_once(store: Store) {
    let id = enqueue(&store, job("strict", 0)).await;
    store
        .jobs()
        .claim("w", &["strict"], Timestamp(0), Timestamp(100))
        .await
        .unwrap()
        .unwrap();
    let status = store
        .jobs()
        .fail(id, "w", "bad payload", None, Timestamp(1))
        .await
        .unwrap();
    assert_eq!(status, JobStatus::Dead);
    assert_eq!(store.jobs().get(id).await.unwrap().unwrap().attempts, 1);
}

async fn a_crashed_workers_job_is_reclaimed_after_its_lease(store: Store) {
    let id = enqueue(&store, job("ingest", 0)).await;
    let jobs = store.jobs();
    // w1 claims and then "crashes": it never heartbeats again.
    jobs.claim("w1", &["ingest"], Timestamp(0), Timestamp(1_000))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        jobs.claim("w2", &["ingest"], Timestamp(999), Timestamp(2_000))
            .await
            .unwrap(),
        None
    );
    let reclaimed = jobs
        .claim("w2", &["ingest"], Timestamp(1_000), Timestamp(2_000))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reclaimed.id, id);
    assert_eq!(reclaimed.attempts, 2);
    assert_eq!(reclaimed.lease_owner.as_deref(), Some("w2"));

    // The old owner has lost the lease: it can neither extend nor finish the job.
    assert!(!jobs.heartbeat(id, "w1", Timestamp(5_000)).await.unwrap());
    assert!(!jobs.complete(id, "w1", Timestamp(1_100)).await.unwrap());
    assert!(matches!(
        jobs.fail(id, "w1", "late", Some(Timestamp(0)), Timestamp(1_100))
            .await,
        Err(StoreError::NotFound { what: "job lease" })
    ));
    assert!(jobs.complete(id, "w2", Timestamp(1_200)).await.unwrap());
}

async fn heartbeat_extends_the_lease(store: Store) {
    let id = enqueue(&store, job("long", 0)).await;
    let jobs = store.jobs();
    jobs.claim("w1", &["long"], Timestamp(0), Timestamp(1_000))
        .await
        .unwrap()
        .unwrap();
    assert!(jobs.heartbeat(id, "w1", Timestamp(5_000)).await.unwrap());
    assert_eq!(
        jobs.get(id).await.unwrap().unwrap().lease_expires_at,
        Some(Timestamp(5_000))
    );
    assert_eq!(
        jobs.claim("w2", &["long"], Timestamp(2_000), Timestamp(9_000))
            .await
            .unwrap(),
        None
    );
    assert!(
        jobs.claim("w2", &["long"], Timestamp(5_000), Timestamp(9_000))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        !jobs
            .heartbeat(JobId(id.get() + 1000), "w2", Timestamp(9_000))
            .await
            .unwrap()
    );
}

async fn an_expired_lease_on_the_last_attempt_is_dead(store: Store) {
    let id = enqueue(
        &store,
        NewJob {
            max_attempts: 1,
            ..job("once", 0)
        },
    )
    .await;
    let jobs = store.jobs();
    jobs.claim("w1", &["once"], Timestamp(0), Timestamp(1_000))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        jobs.claim("w2", &["once"], Timestamp(1_000), Timestamp(2_000))
            .await
            .unwrap(),
        None
    );
    let dead = jobs.get(id).await.unwrap().unwrap();
    assert_eq!(dead.status, JobStatus::Dead);
    assert_eq!(
        dead.last_error.as_deref(),
        Some("lease expired on the last attempt")
    );
}

async fn dead_jobs_can_be_retried(store: Store) {
    let keyed = NewJob {
        unique_key: Some("k"),
        max_attempts: 1,
        ..job("once", 0)
    };
    let id = enqueue(&store, keyed.clone()).await;
    let jobs = store.jobs();
    assert!(
        matches!(
            jobs.retry_dead(id, Timestamp(0)).await,
            Err(StoreError::NotFound { .. })
        ),
        "not dead yet"
    );
    jobs.claim("w", &["once"], Timestamp(0), Timestamp(100))
        .await
        .unwrap()
        .unwrap();
    jobs.fail(id, "w", "boom", Some(Timestamp(10)), Timestamp(5))
        .await
        .unwrap();
    assert_eq!(jobs.get(id).await.unwrap().unwrap().status, JobStatus::Dead);

    jobs.retry_dead(id, Timestamp(50)).await.unwrap();
    let requeued = jobs.get(id).await.unwrap().unwrap();
    assert_eq!(
        (requeued.status, requeued.attempts, requeued.run_after),
        (JobStatus::Queued, 0, Timestamp(50))
    );
    assert_eq!(requeued.finished_at, None);
    assert!(
        jobs.claim("w", &["once"], Timestamp(50), Timestamp(150))
            .await
            .unwrap()
            .is_some()
    );

    // While it runs, a new job took the key: retrying the old dead one would duplicate it.
    jobs.fail(id, "w", "boom", None, Timestamp(60))
        .await
        .unwrap();
    enqueue(&store, keyed).await;
    assert!(matches!(
        jobs.retry_dead(id, Timestamp(70)).await,
        Err(StoreError::Conflict { what: "unique_key" })
    ));
}

async fn counts_and_list(store: Store) {
    let jobs = store.jobs();
    let ids = [
        enqueue(&store, job("x", 0)).await,
        enqueue(&store, job("x", 0)).await,
        enqueue(&store, job("x", 0)).await,
    ];
    let first = jobs
        .claim("w", &["x"], Timestamp(0), Timestamp(100))
        .await
        .unwrap()
        .unwrap();
    jobs.complete(first.id, "w", Timestamp(1)).await.unwrap();
    jobs.claim("w", &["x"], Timestamp(0), Timestamp(100))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        jobs.counts().await.unwrap(),
        [
            (JobStatus::Queued, 1),
            (JobStatus::Running, 1),
            (JobStatus::Succeeded, 1),
            (JobStatus::Dead, 0)
        ]
    );
    let all: Vec<JobId> = jobs
        .list(None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(all, [ids[2], ids[1], ids[0]]);
    let queued: Vec<JobId> = jobs
        .list(Some(JobStatus::Queued), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(queued, [ids[2]]);
    assert_eq!(jobs.list(None, 2).await.unwrap().len(), 2);
}

async fn next_due_is_the_earliest_run_or_lease_expiry(store: Store) {
    let jobs = store.jobs();
    assert_eq!(jobs.next_due(&["a"]).await.unwrap(), None);
    assert_eq!(jobs.next_due(&[]).await.unwrap(), None);
    let first = enqueue(&store, job("a", 500)).await;
    enqueue(&store, job("a", 900)).await;
    enqueue(&store, job("b", 100)).await;
    assert_eq!(jobs.next_due(&["a"]).await.unwrap(), Some(Timestamp(500)));
    assert_eq!(
        jobs.next_due(&["a", "b"]).await.unwrap(),
        Some(Timestamp(100))
    );
    // A running job is due again when its lease expires.
    jobs.claim("w", &["a"], Timestamp(600), Timestamp(700))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(jobs.next_due(&["a"]).await.unwrap(), Some(Timestamp(700)));
    jobs.complete(first, "w", Timestamp(650)).await.unwrap();
    assert_eq!(jobs.next_due(&["a"]).await.unwrap(), Some(Timestamp(900)));
}

/// Claimers on separate connections (tasks here; processes in the workers' tests)
/// race for the same rows. Without `FOR UPDATE SKIP LOCKED` PostgreSQL lets two of
/// them take the same job.
async fn concurrent_claimers_never_share_a_job(store: Store) {
    const JOBS: usize = 60;
    for _ in 0..JOBS {
        enqueue(&store, job("race", 0)).await;
    }
    let mut claimers = tokio::task::JoinSet::new();
    for worker in 0..6 {
        let store = store.clone();
        claimers.spawn(async move {
            let name = format!("w{worker}");
            let mut claimed = Vec::new();
            while let Some(job) = store
                .jobs()
                .claim(&name, &["race"], Timestamp(1), Timestamp(1_000_000))
                .await
                .unwrap()
            {
                claimed.push(job.id);
            }
            claimed
        });
    }
    let mut all = Vec::new();
    while let Some(claimed) = claimers.join_next().await {
        all.extend(claimed.unwrap());
    }
    let distinct: HashSet<JobId> = all.iter().copied().collect();
    assert_eq!(all.len(), JOBS, "every job claimed exactly once");
    assert_eq!(distinct.len(), JOBS);
}

/// The same race on one SQLite file opened by two independent stores, as two
/// processes would: SQLite's single writer makes each claim atomic.
#[tokio::test]
async fn two_stores_on_one_sqlite_file_never_share_a_job() {
    let directory = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", directory.path().join("queue.db").display());
    let first = Store::connect(&url).await.unwrap();
    first.migrate().await.unwrap();
    let second = Store::connect(&url).await.unwrap();
    for _ in 0..40 {
        enqueue(&first, job("race", 0)).await;
    }
    let claim_all = async |store: Store, name: &'static str| {
        let mut claimed = Vec::new();
        while let Some(job) = store
            .jobs()
            .claim(name, &["race"], Timestamp(1), Timestamp(1_000_000))
            .await
            .unwrap()
        {
            claimed.push(job.id);
            tokio::task::yield_now().await;
        }
        claimed
    };
    let (a, b) = tokio::join!(claim_all(first, "a"), claim_all(second, "b"));
    let all: HashSet<JobId> = a.iter().chain(&b).copied().collect();
    assert_eq!(a.len() + b.len(), 40);
    assert_eq!(all.len(), 40);
}
