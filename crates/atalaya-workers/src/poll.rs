//! Polling: every due pull source (RSS today) is fetched through its kind in the
//! connectors' [`SourceRegistry`], its new items go through the ingest
//! [`Pipeline`], and its next poll is scheduled.
//!
//! ```text
//!  listening.poll_due (periodic) ──▶ sources().due(now) ──▶ one listening.poll_source job per source
//!                                                            (unique key per source: never polled twice at once)
//!  listening.poll_source ──▶ kind.poll(config, secret, cursor) ──ok──▶ ingest ─▶ record_success(cursor, next poll)
//!                                                              └─err─▶ record_failure(code, next poll with backoff)
//! ```
//!
//! Polling one source per job lets several processes share the polling on
//! PostgreSQL. A failed poll is the source's news, not the job's: it is recorded
//! on the source (health, stable error code, backed-off next poll) and the job
//! succeeds; only store failures make the job retry. That includes a connector
//! that panics on a source's data ([`SourceError::Crashed`]): were the panic to
//! kill the job, the queue would retry it, give up, and `listening.poll_due`
//! would queue the still-due source again, in a loop. A panic while analysing
//! the polled items is recorded the same way.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use atalaya_connectors::network::{AccountEvent, next_account_state};
use atalaya_connectors::schedule::HealthEvent;
use atalaya_connectors::{
    AccountCredentials, AccountSession, PollContext, SafeHttpClient, SecretBox, SourceError,
    SourceRegistry, next_health, next_poll, panic_message,
};
use atalaya_domain::{
    AccountState, Network, NetworkAccount, Source, SourceId, Timestamp, WorkspaceId,
};
use atalaya_store::{AccountStateUpdate, Job, NewJob, PollFailure, StoreError};
use serde::{Deserialize, Serialize};

use crate::ingest::{IngestError, Pipeline};
use crate::{BoxFuture, JobError, JobHandler};

/// The periodic job that finds due sources.
pub const POLL_DUE_KIND: &str = "listening.poll_due";
/// The job that polls one source (the web queues it too, for "check now").
pub const POLL_SOURCE_KIND: &str = atalaya_store::POLL_SOURCE_JOB_KIND;
/// Between two polls of a healthy source, unless its config says `poll_interval_secs`.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(15 * 60);
/// The shortest interval a config may ask for: feeds are polite peers' servers.
pub const MIN_POLL_INTERVAL: Duration = Duration::from_secs(60);
/// Sources taken per `listening.poll_due` run.
const DUE_PER_RUN: i64 = 200;

/// The payload of a `listening.poll_source` job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollPayload {
    pub workspace_id: WorkspaceId,
    pub source_id: SourceId,
}

/// What polling one source did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollResult {
    /// The source is gone, disabled or archived since it was found due.
    Skipped,
    Polled {
        inserted: u64,
        duplicates: u64,
        rejected: usize,
    },
    /// The poll failed; recorded on the source with this stable code.
    Failed { code: String },
    /// Its account is rate limited (or its circuit open): moved to `until`, no failure counted.
    Postponed { until: Timestamp },
}

/// Everything polling needs. Cheap to clone.
#[derive(Clone)]
pub struct Poller {
    pipeline: Pipeline,
    registry: SourceRegistry,
    client: SafeHttpClient,
    secrets: Option<SecretBox>,
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller")
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

/// The source's interval from `poll_interval_secs` in its config, within bounds.
pub fn poll_interval(source: &Source) -> Duration {
    source
        .config
        .get("poll_interval_secs")
        .and_then(serde_json::Value::as_u64)
        .map_or(DEFAULT_POLL_INTERVAL, |seconds| {
            Duration::from_secs(seconds).max(MIN_POLL_INTERVAL)
        })
}

fn after(now: Timestamp, delay: Duration) -> Timestamp {
    now.plus_millis(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2))
}

impl Poller {
    /// `secrets` opens sealed source secrets; without it, a source that has one fails
    /// with `secret_unavailable` rather than polling without its credentials.
    pub fn new(
        pipeline: Pipeline,
        registry: SourceRegistry,
        client: SafeHttpClient,
        secrets: Option<SecretBox>,
    ) -> Poller {
        Poller {
            pipeline,
            registry,
            client,
            secrets,
        }
    }

    /// Queues a `listening.poll_source` job for every due source; returns how many were queued
    /// (a source whose poll is already queued or running is not queued again).
    pub async fn enqueue_due(&self, now: Timestamp) -> Result<usize, StoreError> {
        let store = self.pipeline.store();
        let mut queued = 0;
        for source in store.sources().due(now, DUE_PER_RUN).await? {
            let key = atalaya_store::poll_job_key(source.id);
            let payload = PollPayload {
                workspace_id: source.workspace_id,
                source_id: source.id,
            };
            let job = NewJob {
                kind: POLL_SOURCE_KIND,
                payload: serde_json::to_value(payload).unwrap_or_default(),
                run_after: now,
                unique_key: Some(&key),
                max_attempts: 3,
            };
            if store.jobs().enqueue(job, now).await?.is_some() {
                queued += 1;
            }
        }
        Ok(queued)
    }

    /// Polls one source now and records the outcome on it.
    pub async fn poll(
        &self,
        workspace: WorkspaceId,
        id: SourceId,
        now: Timestamp,
    ) -> Result<PollResult, JobError> {
        let store = self.pipeline.store();
        let Some(source) = store.sources().get(workspace, id).await? else {
            return Ok(PollResult::Skipped);
        };
        if !source.enabled || source.next_poll_at.is_none() {
            return Ok(PollResult::Skipped);
        }
        let interval = poll_interval(&source);
        let failures = u32::try_from(source.consecutive_failures).unwrap_or(0);
        let seed = rand::random::<u64>();
        let failed = |code: &str, message: String| {
            let code = code.to_owned();
            async move {
                let next = after(now, next_poll(interval, failures + 1, seed));
                let health = next_health(
                    source.health,
                    HealthEvent::PollFailed {
                        consecutive_failures: failures + 1,
                    },
                );
                let failure = PollFailure {
                    code: &code,
                    message: &message,
                    health,
                };
                store
                    .sources()
                    .record_failure(id, &failure, now, next)
                    .await?;
                tracing::warn!(source = %id, %code, %message, "poll failed");
                Ok::<_, JobError>(PollResult::Failed { code })
            }
        };

        let Some(kind) = self.registry.get(&source.kind) else {
            return failed(
                "unknown_kind",
                format!("no polling connector for kind {:?}", source.kind),
            )
            .await;
        };
        let secret = match (store.sources().sealed_secret(id).await?, &self.secrets) {
            (None, _) => None,
            (Some(sealed), Some(secrets)) => match secrets.open(&sealed) {
                Ok(secret) => Some(secret),
                Err(error) => return failed("secret_unavailable", error.to_string()).await,
            },
            (Some(_), None) => {
                return failed(
                    "secret_unavailable",
                    "no secret key is configured".to_owned(),
                )
                .await;
            }
        };
        let account = match kind.network() {
            None => None,
            Some(network) => match self.open_account(&source, network, now).await? {
                AccountGate::Open(account) => Some(account),
                AccountGate::Postponed(until) => {
                    store.sources().reschedule(id, until).await?;
                    return Ok(PollResult::Postponed { until });
                }
                AccountGate::Refused { code, message } => return failed(code, message).await,
            },
        };
        // From the workspace's cached model: no topic reads or parsing per poll.
        let topic_terms: Vec<String> = if account.is_some() {
            let model = self.pipeline.model(source.workspace_id).await?;
            let terms = model.search_terms();
            terms[..terms.len().min(MAX_TOPIC_TERMS)].to_vec()
        } else {
            Vec::new()
        };
        let cursor = store.sources().cursor(id).await?;
        let context = PollContext {
            config: &source.config,
            secret: secret.as_deref(),
            cursor: cursor.as_deref(),
            client: &self.client,
            account: account.as_ref().map(|open| &open.session),
            topic_terms: &topic_terms,
        };
        let polled = match CatchPanic(kind.poll(context)).await {
            Ok(polled) => polled,
            Err(message) => Err(SourceError::Crashed {
                reason: format!("the {} connector panicked: {message}", source.kind),
            }),
        };
        if let Some(open) = &account {
            self.settle_account(open, polled.as_ref().err(), now, seed)
                .await?;
        }
        let outcome = match polled {
            Ok(outcome) => outcome,
            // The account is blocked until the network's reset: not the source's failure.
            Err(SourceError::RateLimited { retry_after }) if account.is_some() => {
                let wait =
                    retry_after.unwrap_or(atalaya_connectors::network::DEFAULT_RATE_LIMIT_WAIT);
                let until = after(now, wait.max(Duration::from_secs(1)));
                store.sources().reschedule(id, until).await?;
                return Ok(PollResult::Postponed { until });
            }
            Err(error) => return failed(error.code(), error.to_string()).await,
        };
        for (item, reason) in &outcome.rejected {
            tracing::info!(source = %id, %item, %reason, "item rejected");
        }
        for (item, note) in &outcome.notes {
            tracing::info!(source = %id, %item, %note, "item kept with a note");
        }
        let items = i64::try_from(outcome.items.len()).unwrap_or(i64::MAX);
        let stored = if kind.network().is_some() {
            // Network posts are stored only when they match a topic: a hashtag or
            // a search brings neighbours our exact matcher does not want.
            self.pipeline
                .ingest_matching(&source, outcome.items, now)
                .await
        } else {
            self.pipeline.ingest(&source, outcome.items, now).await
        };
        let stored = match stored {
            Ok(stored) => stored,
            // The analysis of this source's items panicked: retrying the job
            // would panic again on the same items, so it is the source's failure.
            Err(IngestError::Pipeline(reason)) => {
                let error = SourceError::Crashed {
                    reason: format!("analysing its items panicked: {reason}"),
                };
                return failed(error.code(), error.to_string()).await;
            }
            Err(error) => return Err(error.into()),
        };
        let next = after(now, next_poll(interval, 0, seed));
        store
            .sources()
            .record_success(id, outcome.new_cursor.as_deref(), items, now, next)
            .await?;
        Ok(PollResult::Polled {
            inserted: stored.inserted,
            duplicates: stored.duplicates,
            rejected: outcome.rejected.len(),
        })
    }

    /// Opens the source's account, or says why it cannot be used now.
    async fn open_account(
        &self,
        source: &Source,
        network: Network,
        now: Timestamp,
    ) -> Result<AccountGate, JobError> {
        let store = self.pipeline.store();
        let refused =
            |code: &'static str, message: String| Ok(AccountGate::Refused { code, message });
        let Some(account_id) = source.account_id else {
            return refused(
                "account_missing",
                format!("this source needs a connected {network} account"),
            );
        };
        let Some(account) = store
            .accounts()
            .get(source.workspace_id, account_id)
            .await?
        else {
            return refused(
                "account_missing",
                format!("this source needs a connected {network} account"),
            );
        };
        if account.network != network {
            return refused(
                "config",
                format!(
                    "this source needs a {network} account, not {}",
                    account.network
                ),
            );
        }
        if account.state == AccountState::NeedsReauth {
            let reason = account.state_reason.clone().unwrap_or_default();
            return refused(
                "account_needs_reauth",
                format!("{} needs to be reconnected: {reason}", account.handle),
            );
        }
        if let Some(until) = account.blocked_until
            && until > now
        {
            return Ok(AccountGate::Postponed(until));
        }
        let Some(secrets) = &self.secrets else {
            return refused(
                "secret_unavailable",
                "no secret key is configured".to_owned(),
            );
        };
        let Some(sealed) = store.accounts().sealed_credentials(account.id).await? else {
            return refused("account_missing", "the account was disconnected".to_owned());
        };
        let credentials = match secrets
            .open(&sealed)
            .map_err(|error| error.to_string())
            .and_then(|bytes| {
                AccountCredentials::from_bytes(&bytes).map_err(|error| error.to_string())
            }) {
            Ok(credentials) => credentials,
            Err(message) => return refused("secret_unavailable", message),
        };
        let session = AccountSession::new(&account.server_url, credentials);
        Ok(AccountGate::Open(Box::new(OpenAccount {
            account,
            session,
        })))
    }

    /// After a call through an account: saves a refreshed session (even when the
    /// call failed: Bluesky rotates refresh tokens) and the account's new state.
    async fn settle_account(
        &self,
        open: &OpenAccount,
        error: Option<&SourceError>,
        now: Timestamp,
        seed: u64,
    ) -> Result<(), JobError> {
        let store = self.pipeline.store();
        let account = &open.account;
        if let Some(refreshed) = open.session.take_refreshed() {
            let Some(secrets) = &self.secrets else {
                return Err(JobError::permanent(
                    "a refreshed session cannot be saved: no secret key",
                ));
            };
            let sealed = secrets
                .seal(&refreshed.to_bytes())
                .map_err(JobError::permanent)?;
            store
                .accounts()
                .set_credentials(account.id, &sealed, now)
                .await?;
        }
        let event = match error {
            None => AccountEvent::Succeeded,
            Some(error) => AccountEvent::Failed(error),
        };
        let Some(mut transition) =
            next_account_state(account.consecutive_failures, event, now, seed)
        else {
            return Ok(());
        };
        let mut reason = error.map(ToString::to_string);
        // A success that spent the budget: wait for the reset instead of being refused.
        if error.is_none()
            && let Some(limits) = open.session.rate_limit()
            && limits.exhausted()
            && let Some(reset) = limits.reset_at.filter(|reset| *reset > now)
        {
            transition.state = AccountState::RateLimited;
            transition.code = Some("rate_limited");
            transition.blocked_until = Some(reset);
            reason = Some("the network's rate-limit budget is spent until its reset".to_owned());
        }
        let unchanged = transition.state == account.state
            && transition.code == account.state_code.as_deref()
            && transition.blocked_until == account.blocked_until
            && transition.consecutive_failures == account.consecutive_failures;
        if unchanged && error.is_some() {
            return Ok(());
        }
        if transition.state != account.state {
            tracing::warn!(account = %account.id, from = account.state.as_str(), to = transition.state.as_str(),
                reason = reason.as_deref().unwrap_or(""), "network account state changed");
        }
        let update = AccountStateUpdate {
            state: transition.state,
            code: transition.code,
            reason: reason.as_deref(),
            blocked_until: transition.blocked_until,
            consecutive_failures: transition.consecutive_failures,
        };
        store
            .accounts()
            .record_state(account.id, &update, now)
            .await?;
        Ok(())
    }
}

/// Polls a future, turning a panic inside it into `Err(message)`.
struct CatchPanic<F>(F);

impl<F: Future + Unpin> Future for CatchPanic<F> {
    type Output = Result<F::Output, String>;

    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.get_mut().0;
        // The future is dropped right after a panic, never polled again, so
        // whatever state the panic left it in is never observed.
        match catch_unwind(AssertUnwindSafe(|| Pin::new(&mut *inner).poll(context))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => Poll::Ready(Err(panic_message(&*panic))),
        }
    }
}

/// Terms searched per poll on the topics' behalf, at most.
pub const MAX_TOPIC_TERMS: usize = 20;

/// A source's account, opened for one poll.
struct OpenAccount {
    account: NetworkAccount,
    session: AccountSession,
}

enum AccountGate {
    Open(Box<OpenAccount>),
    /// Rate limited or circuit open: try again at this time.
    Postponed(Timestamp),
    Refused {
        code: &'static str,
        message: String,
    },
}

/// The `listening.poll_due` job handler (schedule it periodically).
#[derive(Debug, Clone)]
pub struct PollDueHandler(pub Poller);

impl JobHandler for PollDueHandler {
    fn kind(&self) -> &'static str {
        POLL_DUE_KIND
    }

    fn run(&self, _job: Job) -> BoxFuture<Result<(), JobError>> {
        let poller = self.0.clone();
        Box::pin(async move {
            let queued = poller.enqueue_due(Timestamp::now()).await?;
            if queued > 0 {
                tracing::info!(queued, "source polls queued");
            }
            Ok(())
        })
    }
}

/// The `listening.poll_source` job handler.
#[derive(Debug, Clone)]
pub struct PollSourceHandler(pub Poller);

impl JobHandler for PollSourceHandler {
    fn kind(&self) -> &'static str {
        POLL_SOURCE_KIND
    }

    fn run(&self, job: Job) -> BoxFuture<Result<(), JobError>> {
        let poller = self.0.clone();
        Box::pin(async move {
            let payload = PollPayload::deserialize(&job.payload).map_err(JobError::permanent)?;
            let result = poller
                .poll(payload.workspace_id, payload.source_id, Timestamp::now())
                .await?;
            tracing::debug!(source = %payload.source_id, ?result, "source polled");
            Ok(())
        })
    }
}

/// Registers the listening jobs — `listening.ingest`, `listening.backfill`,
/// `listening.poll_due`, `listening.poll_source` — on `runner`. Schedule `listening.poll_due`
/// periodically (e.g. every minute with `maintenance::schedule_periodic`).
pub fn register_listening(
    runner: crate::Runner,
    store: atalaya_store::Store,
    client: SafeHttpClient,
    secrets: Option<SecretBox>,
) -> crate::Runner {
    let pipeline = Pipeline::with_shared_analyzer(store);
    let poller = Poller::new(
        pipeline.clone(),
        SourceRegistry::standard(),
        client,
        secrets,
    );
    let backfiller = crate::backfill::Backfiller::new(pipeline.store().clone());
    runner
        .register(crate::ingest::IngestHandler::new(pipeline))
        .register(crate::backfill::BackfillHandler::new(backfiller))
        .register(PollDueHandler(poller.clone()))
        .register(PollSourceHandler(poller))
}
