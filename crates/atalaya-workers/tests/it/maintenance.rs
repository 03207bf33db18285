//! The prune job and its periodic schedule.

use std::time::Duration;

use atalaya_domain::{Role, Timestamp, UiLang};
use atalaya_store::{
    CreatedInvitation, InvitationLimits, JobStatus, NewInvitation, NewUser, Store,
};
use atalaya_workers::maintenance::{
    PRUNE_KIND, Prune, PruneReport, enqueue_once, schedule_periodic,
};
use atalaya_workers::{Runner, RunnerConfig};
use tokio_util::sync::CancellationToken;

on_both_backends!(
    prune_deletes_expired_sessions_old_attempts_and_invitations,
    the_schedule_never_piles_up_prune_jobs,
    a_runner_schedules_its_periodic_jobs,
    the_standard_runner_prunes,
);

const DAY: i64 = 24 * 3_600_000;

async fn prune_deletes_expired_sessions_old_attempts_and_invitations(store: Store) {
    let user = store
        .users()
        .create(NewUser {
            username: "ana",
            email: "ana@example.org",
            display_name: "Ana",
            password_hash: "h",
            is_instance_admin: false,
        })
        .await
        .unwrap();
    let now = Timestamp::now();
    let sessions = store.sessions();
    sessions
        .create(
            "expired",
            user.id,
            "c",
            now.plus_millis(-2 * DAY),
            now.plus_millis(-1),
        )
        .await
        .unwrap();
    sessions
        .create(
            "live",
            user.id,
            "c",
            now.plus_millis(-1),
            now.plus_millis(DAY),
        )
        .await
        .unwrap();
    store
        .login_attempts()
        .record_failure("user:ana", now.plus_millis(-3 * DAY))
        .await
        .unwrap();
    store
        .login_attempts()
        .record_failure("user:ana", now.plus_millis(-1_000))
        .await
        .unwrap();

    let workspace = store
        .workspaces()
        .create("acme", "Acme", false)
        .await
        .unwrap();
    for (hash, expired_days_ago) in [("long-expired", 31), ("recently-expired", 1)] {
        let created = store
            .invitations()
            .create(
                NewInvitation {
                    workspace: workspace.id,
                    token_hash: hash,
                    email: "nuria@example.org",
                    role: Role::Viewer,
                    lang: UiLang::Es,
                    invited_by: user.id,
                    expires_at: now.plus_millis(-expired_days_ago * DAY),
                },
                InvitationLimits {
                    max_pending: 10,
                    max_per_day: 10,
                },
                now.plus_millis(-(expired_days_ago + 7) * DAY),
            )
            .await
            .unwrap();
        assert!(matches!(created, CreatedInvitation::Created(_)));
    }

    let prune = Prune::new(store.clone(), Duration::from_secs(86_400));
    // Through the queue and the runner, as in production.
    let id = enqueue_once(&store, PRUNE_KIND, now)
        .await
        .unwrap()
        .unwrap();
    let config = RunnerConfig {
        exit_when_idle: true,
        poll_interval: Duration::from_millis(10),
        ..RunnerConfig::new("w")
    };
    let summary = Runner::new(store.clone(), config)
        .register(prune.clone())
        .run(CancellationToken::new())
        .await;
    assert_eq!(summary.succeeded, 1);
    assert_eq!(
        store.jobs().get(id).await.unwrap().unwrap().status,
        JobStatus::Succeeded
    );

    assert_eq!(
        sessions.find("expired", now.plus_millis(-2)).await.unwrap(),
        None,
        "deleted, not just expired"
    );
    assert!(sessions.find("live", now).await.unwrap().is_some());
    assert_eq!(
        store
            .login_attempts()
            .failures_since("user:ana", Timestamp(0))
            .await
            .unwrap(),
        1
    );
    let invitations = store.invitations();
    assert_eq!(
        invitations
            .find_by_token_hash("long-expired")
            .await
            .unwrap(),
        None
    );
    assert!(
        invitations
            .find_by_token_hash("recently-expired")
            .await
            .unwrap()
            .is_some(),
        "kept a while, so its link still says it expired"
    );
    // Nothing left to prune.
    assert_eq!(prune.prune(now).await.unwrap(), PruneReport::default());
}

async fn the_schedule_never_piles_up_prune_jobs(store: Store) {
    // The schedule enqueues at once, then every hour.
    let cancel = CancellationToken::new();
    let scheduler = tokio::spawn(schedule_periodic(
        store.clone(),
        PRUNE_KIND,
        Duration::from_secs(3_600),
        cancel.clone(),
    ));
    while store.jobs().list(None, 10).await.unwrap().is_empty() {
        tokio::task::yield_now().await;
    }
    cancel.cancel();
    scheduler.await.unwrap();

    // Schedulers of many processes ticking together add nothing while one is unfinished.
    let mut ticks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let store = store.clone();
        ticks.spawn(async move {
            enqueue_once(&store, PRUNE_KIND, Timestamp::now())
                .await
                .unwrap()
        });
    }
    while let Some(enqueued) = ticks.join_next().await {
        assert_eq!(enqueued.unwrap(), None);
    }
    let jobs = store.jobs().list(None, 10).await.unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0].unique_key.as_deref(), Some(PRUNE_KIND));
}

/// Counts its runs on a channel.
struct CountRuns(tokio::sync::mpsc::UnboundedSender<()>);

impl atalaya_workers::JobHandler for CountRuns {
    fn kind(&self) -> &'static str {
        "test.tick"
    }

    fn run(
        &self,
        _job: atalaya_store::Job,
    ) -> atalaya_workers::BoxFuture<Result<(), atalaya_workers::JobError>> {
        let runs = self.0.clone();
        Box::pin(async move {
            runs.send(()).unwrap();
            Ok(())
        })
    }
}

async fn a_runner_schedules_its_periodic_jobs(store: Store) {
    let (runs_tx, mut runs) = tokio::sync::mpsc::unbounded_channel();
    let config = RunnerConfig {
        poll_interval: Duration::from_secs(3_600),
        ..RunnerConfig::new("w")
    };
    // A one-hour poll: only the schedule's wake-up can get the jobs run quickly.
    let runner = Runner::new(store.clone(), config)
        .register(CountRuns(runs_tx))
        .every("test.tick", Duration::from_millis(20));
    let cancel = CancellationToken::new();
    let run = tokio::spawn(runner.run(cancel.clone()));
    // Two runs: the schedule enqueued again after the first job finished.
    runs.recv().await.unwrap();
    runs.recv().await.unwrap();
    cancel.cancel();
    let summary = run.await.unwrap();
    assert!(summary.succeeded >= 2, "{summary:?}");
    let jobs = store.jobs().list(None, 100).await.unwrap();
    assert!(
        jobs.iter()
            .all(|job| job.kind == "test.tick" && job.unique_key.as_deref() == Some("test.tick"))
    );
    let unfinished = jobs
        .iter()
        .filter(|job| matches!(job.status, JobStatus::Queued | JobStatus::Running))
        .count();
    assert!(unfinished <= 1, "{jobs:?}");
}

async fn the_standard_runner_prunes(store: Store) {
    let user = store
        .users()
        .create(NewUser {
            username: "ana",
            email: "ana@example.org",
            display_name: "Ana",
            password_hash: "h",
            is_instance_admin: false,
        })
        .await
        .unwrap();
    let now = Timestamp::now();
    store
        .sessions()
        .create(
            "expired",
            user.id,
            "c",
            now.plus_millis(-DAY),
            now.plus_millis(-1),
        )
        .await
        .unwrap();
    let settings = atalaya_workers::RunnerSettings {
        worker_name: Some("std".to_owned()),
        ..Default::default()
    };
    let runner = atalaya_workers::standard_runner(store.clone(), settings);
    assert_eq!(runner.kinds(), [PRUNE_KIND]);
    // The schedule enqueues a prune at start and wakes the runner.
    let cancel = CancellationToken::new();
    let run = tokio::spawn(runner.run(cancel.clone()));
    while !prune_succeeded(&store).await {
        tokio::task::yield_now().await;
    }
    cancel.cancel();
    assert_eq!(run.await.unwrap().succeeded, 1);
    assert_eq!(
        store
            .sessions()
            .find("expired", now.plus_millis(-DAY))
            .await
            .unwrap(),
        None
    );
}

async fn prune_succeeded(store: &Store) -> bool {
    store
        .jobs()
        .list(Some(JobStatus::Succeeded), 10)
        .await
        .unwrap()
        .iter()
        .any(|job| job.kind == PRUNE_KIND)
}
