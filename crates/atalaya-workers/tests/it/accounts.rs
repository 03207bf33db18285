//! Polling through connected accounts: the worker's side of the contract with
//! network kinds, driven by a scripted kind (the real Mastodon and Bluesky
//! kinds are tested against their peers in atalaya-connectors). Checked here: a
//! revoked token flips the account to "needs re-authorization" and stops
//! polling; a rate limit postpones without counting failures; a refreshed
//! session is saved even when the poll then fails; repeated failures open the
//! circuit; only posts that match a topic are stored, authored on the network.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atalaya_connectors::item::MentionFields;
use atalaya_connectors::source::{
    BoxFuture, PollContext, PollOutcome, PollSource, SourceConfigError,
};
use atalaya_connectors::{
    AccountCredentials, AllowList, SafeHttpClient, SafeHttpConfig, SecretBox, SourceError,
    SourceRegistry,
};
use atalaya_domain::{AccountState, Network, Timestamp, TopicKind, WorkspaceId};
use atalaya_store::{MentionFilter, NewAccount, NewSource, NewTopic, Store};
use atalaya_workers::ingest::Pipeline;
use atalaya_workers::poll::{PollResult, Poller};
use serde_json::json;

on_both_backends!(
    a_revoked_token_needs_reauthorization_and_stops_polling,
    a_rate_limit_postpones_without_failing_the_source,
    a_refreshed_session_is_saved_even_when_the_poll_fails,
    repeated_failures_open_the_circuit,
    only_matching_posts_are_stored_under_the_network,
);

/// What one poll received: the account's token and the search terms.
struct Call {
    token: String,
    terms: Vec<String>,
}

enum Step {
    Items(Vec<&'static str>),
    Fail(SourceError),
    RefreshThenFail(SourceError),
}

/// A network kind that plays a script and records what the worker gave it.
#[derive(Clone, Default)]
struct Scripted {
    steps: Arc<Mutex<VecDeque<Step>>>,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Scripted {
    fn push(&self, step: Step) {
        self.steps.lock().unwrap().push_back(step);
    }

    fn calls(&self) -> usize {
        self.calls.lock().unwrap().len()
    }
}

impl PollSource for Scripted {
    fn kind(&self) -> &'static str {
        "mastodon_scripted"
    }

    fn network(&self) -> Option<Network> {
        Some(Network::Mastodon)
    }

    fn validate_config(&self, _config: &serde_json::Value) -> Result<(), SourceConfigError> {
        Ok(())
    }

    fn poll<'a>(&'a self, ctx: PollContext<'a>) -> BoxFuture<'a, Result<PollOutcome, SourceError>> {
        Box::pin(async move {
            let session = ctx.account.expect("network kinds get their account");
            let AccountCredentials::Mastodon { access_token, .. } = session.credentials() else {
                panic!("wrong network");
            };
            self.calls.lock().unwrap().push(Call {
                token: access_token,
                terms: ctx.topic_terms.to_vec(),
            });
            let step = self
                .steps
                .lock()
                .unwrap()
                .pop_front()
                .expect("a scripted step");
            match step {
                Step::Items(texts) => Ok(PollOutcome {
                    items: texts
                        .into_iter()
                        .map(|text| {
                            MentionFields {
                                external_id: Some(format!(
                                    "https://social.example/statuses/{text}"
                                )),
                                content: Some(text.to_owned()),
                                author_handle: Some("@ana@social.example".to_owned()),
                                ..MentionFields::default()
                            }
                            .into_mention()
                            .unwrap()
                        })
                        .collect(),
                    rejected: Vec::new(),
                    notes: Vec::new(),
                    new_cursor: Some("{\"min_id\":\"9\"}".to_owned()),
                }),
                Step::Fail(error) => Err(error),
                Step::RefreshThenFail(error) => {
                    session.replace_credentials(AccountCredentials::Mastodon {
                        access_token: "rotated".to_owned(),
                        scope: "read write".to_owned(),
                    });
                    Err(error)
                }
            }
        })
    }
}

struct Fixture {
    store: Store,
    secrets: SecretBox,
    workspace: WorkspaceId,
    account: atalaya_domain::AccountId,
    source: atalaya_domain::SourceId,
    script: Scripted,
    poller: Poller,
}

async fn fixture(store: Store) -> Fixture {
    let secrets = SecretBox::from_key(&[7; 32]);
    let workspace = store
        .workspaces()
        .create("aurora", "Café Aurora", false)
        .await
        .unwrap()
        .id;
    let topic = NewTopic {
        name: "Aurora",
        kind: TopicKind::Brand,
        query: "(cafe OR coffee) AND aurora",
        color: "#884400",
        active: true,
    };
    store
        .topics()
        .create(workspace, topic, Timestamp(1))
        .await
        .unwrap();
    let credentials = AccountCredentials::Mastodon {
        access_token: "first".to_owned(),
        scope: "read write".to_owned(),
    };
    let sealed = secrets.seal(&credentials.to_bytes()).unwrap();
    let account = store
        .accounts()
        .connect(
            workspace,
            NewAccount {
                network: Network::Mastodon,
                server_url: "https://social.example",
                remote_id: "1",
                handle: "@aurora@social.example",
                display_name: None,
                sealed_credentials: &sealed,
                connected_by: None,
            },
            Timestamp(1),
        )
        .await
        .unwrap()
        .id;
    let source = store
        .sources()
        .create(
            workspace,
            NewSource {
                account_id: Some(account),
                kind: "mastodon_scripted",
                name: "#aurora",
                config: json!({}),
                sealed_secret: None,
                enabled: true,
            },
            Timestamp(1),
        )
        .await
        .unwrap()
        .id;
    let script = Scripted::default();
    let mut registry = SourceRegistry::standard();
    registry.register(Arc::new(script.clone()));
    let client = SafeHttpClient::new(SafeHttpConfig {
        allow_list: AllowList::none(),
        ..SafeHttpConfig::default()
    })
    .unwrap();
    let poller = Poller::new(
        Pipeline::with_shared_analyzer(store.clone()),
        registry,
        client,
        Some(secrets.clone()),
    );
    Fixture {
        store,
        secrets,
        workspace,
        account,
        source,
        script,
        poller,
    }
}

impl Fixture {
    /// Polls the source once at `now`, as the worker's due loop does.
    async fn poll_at(&self, now: Timestamp) -> PollResult {
        self.poller
            .poll(self.workspace, self.source, now)
            .await
            .unwrap()
    }

    /// The account as stored now.
    async fn stored_account(&self) -> atalaya_domain::NetworkAccount {
        self.store
            .accounts()
            .get(self.workspace, self.account)
            .await
            .unwrap()
            .unwrap()
    }

    /// The source as stored now.
    async fn stored_source(&self) -> atalaya_domain::Source {
        self.store
            .sources()
            .get(self.workspace, self.source)
            .await
            .unwrap()
            .unwrap()
    }
}

async fn a_revoked_token_needs_reauthorization_and_stops_polling(store: Store) {
    let f = fixture(store).await;
    f.script.push(Step::Fail(SourceError::Unauthorized {
        reason: "The access token was revoked".to_owned(),
    }));
    let now = Timestamp(10_000);
    let result = f.poll_at(now).await;
    assert!(
        matches!(result, PollResult::Failed { ref code } if code == "unauthorized"),
        "{result:?}"
    );
    let account = f.stored_account().await;
    assert_eq!(account.state, AccountState::NeedsReauth);
    assert_eq!(account.state_code.as_deref(), Some("unauthorized"));
    assert!(account.state_reason.unwrap().contains("revoked"));
    assert_eq!(
        f.store
            .accounts()
            .needing_attention(f.workspace)
            .await
            .unwrap(),
        1
    );

    // The next poll does not call the network at all: a person must reconnect.
    let result = f.poll_at(Timestamp(20_000)).await;
    assert!(
        matches!(result, PollResult::Failed { ref code } if code == "account_needs_reauth"),
        "{result:?}"
    );
    assert_eq!(f.script.calls(), 1);
}

async fn a_rate_limit_postpones_without_failing_the_source(store: Store) {
    let f = fixture(store).await;
    f.script.push(Step::Fail(SourceError::RateLimited {
        retry_after: Some(Duration::from_secs(30)),
    }));
    let now = Timestamp(10_000);
    let result = f.poll_at(now).await;
    assert_eq!(
        result,
        PollResult::Postponed {
            until: Timestamp(40_000)
        }
    );
    let source = f.stored_source().await;
    assert_eq!(source.consecutive_failures, 0);
    assert_eq!(source.next_poll_at, Some(Timestamp(40_000)));
    let account = f.stored_account().await;
    assert_eq!(account.state, AccountState::RateLimited);
    assert_eq!(account.blocked_until, Some(Timestamp(40_000)));

    // Before the reset: postponed again without a call (no tight retry loop).
    let result = f.poll_at(Timestamp(20_000)).await;
    assert_eq!(
        result,
        PollResult::Postponed {
            until: Timestamp(40_000)
        }
    );
    assert_eq!(f.script.calls(), 1);
    // After it: polled, and the account is connected again.
    f.script.push(Step::Items(vec!["Coffee at Aurora"]));
    let result = f.poll_at(Timestamp(41_000)).await;
    assert!(
        matches!(result, PollResult::Polled { inserted: 1, .. }),
        "{result:?}"
    );
    let account = f.stored_account().await;
    assert_eq!(
        (account.state, account.blocked_until),
        (AccountState::Connected, None)
    );
}

async fn a_refreshed_session_is_saved_even_when_the_poll_fails(store: Store) {
    let f = fixture(store).await;
    f.script.push(Step::RefreshThenFail(SourceError::Network {
        reason: "connection reset".to_owned(),
    }));
    let result = f.poll_at(Timestamp(10_000)).await;
    assert!(
        matches!(result, PollResult::Failed { ref code } if code == "network"),
        "{result:?}"
    );
    let sealed = f
        .store
        .accounts()
        .sealed_credentials(f.account)
        .await
        .unwrap()
        .unwrap();
    let saved = AccountCredentials::from_bytes(&f.secrets.open(&sealed).unwrap()).unwrap();
    assert_eq!(
        saved,
        AccountCredentials::Mastodon {
            access_token: "rotated".to_owned(),
            scope: "read write".to_owned()
        }
    );
    // The next poll uses the rotated credentials.
    f.script.push(Step::Items(vec![]));
    let source = f.stored_source().await;
    f.poll_at(source.next_poll_at.unwrap()).await;
    assert_eq!(f.script.calls.lock().unwrap()[1].token, "rotated");
}

async fn repeated_failures_open_the_circuit(store: Store) {
    let f = fixture(store).await;
    let mut now = Timestamp(10_000);
    for _ in 0..atalaya_connectors::network::CIRCUIT_THRESHOLD {
        f.script.push(Step::Fail(SourceError::Network {
            reason: "connection reset".to_owned(),
        }));
        let result = f.poll_at(now).await;
        assert!(matches!(result, PollResult::Failed { .. }), "{result:?}");
        now = now.plus_millis(1);
    }
    let account = f.stored_account().await;
    assert_eq!(account.state, AccountState::RateLimited);
    assert_eq!(account.state_code.as_deref(), Some("circuit_open"));
    let until = account.blocked_until.unwrap();
    assert!(until > now);
    let result = f.poll_at(now).await;
    assert_eq!(result, PollResult::Postponed { until });
    assert_eq!(
        f.script.calls(),
        atalaya_connectors::network::CIRCUIT_THRESHOLD as usize
    );
}

async fn only_matching_posts_are_stored_under_the_network(store: Store) {
    let f = fixture(store).await;
    f.script.push(Step::Items(vec![
        "Best coffee in town at Aurora",
        "Aurora borealis tonight",
        "Café Aurora abre temprano",
    ]));
    let result = f.poll_at(Timestamp(10_000)).await;
    assert!(
        matches!(result, PollResult::Polled { inserted: 2, .. }),
        "{result:?}"
    );
    // The kind was told what to search for: the cover of the topic's query.
    assert_eq!(
        f.script.calls.lock().unwrap()[0].terms,
        vec!["aurora".to_owned()]
    );
    let page = f
        .store
        .mentions()
        .list(
            f.workspace,
            &MentionFilter {
                limit: 50,
                ..MentionFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.len(), 2);
    let author = page[0].author.as_ref().unwrap();
    assert_eq!(author.network, "mastodon");
    assert_eq!(
        f.store.sources().cursor(f.source).await.unwrap().as_deref(),
        Some("{\"min_id\":\"9\"}")
    );
}
