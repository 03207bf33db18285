//! Polling a real network source (the local Bluesky network) through the
//! worker, with the process "killed" at the two moments that matter: after
//! the posts were fetched but before they were stored (nothing stored, the
//! cursor not moved: the next poll fetches them again), and after they were
//! stored but before the cursor was saved (the next poll fetches them again
//! and dedupe keeps one copy). Nothing is lost and nothing is duplicated.

use atalaya_connectors::bluesky::{BlueskyClient, NewPost, SearchQuery};
use atalaya_connectors::source::PollContext;
use atalaya_connectors::testing::{
    BlueskyTestAccount, create_bluesky_account, eventually, loopback_client, unique_word,
};
use atalaya_connectors::{SafeHttpClient, SecretBox, SourceRegistry};
use atalaya_domain::{Network, Timestamp, TopicKind};
use atalaya_store::{MentionFilter, NewAccount, NewSource, NewTopic, Store};
use atalaya_workers::ingest::Pipeline;
use atalaya_workers::poll::{PollResult, Poller};
use serde_json::json;

on_both_backends!(a_poll_killed_before_or_after_storing_neither_loses_nor_duplicates);

async fn post_and_wait(
    http: &SafeHttpClient,
    author: &BlueskyTestAccount,
    word: &str,
    texts: &[String],
    total: usize,
) {
    let client = BlueskyClient::new(http, &author.session);
    for text in texts {
        client
            .create_post(&NewPost {
                text: text.clone(),
                langs: vec!["es".to_owned()],
                reply: None,
            })
            .await
            .unwrap();
    }
    eventually(&format!("search finding {total} posts"), || async {
        let page = client
            .search_posts(&SearchQuery {
                q: word.to_owned(),
                limit: Some(100),
                ..SearchQuery::default()
            })
            .await
            .unwrap();
        (page.posts.len() >= total).then_some(())
    })
    .await;
}

async fn a_poll_killed_before_or_after_storing_neither_loses_nor_duplicates(store: Store) {
    let http = loopback_client();
    let secrets = SecretBox::from_key(&[9; 32]);
    let brand = create_bluesky_account(&http, "brand").await;
    let fan = create_bluesky_account(&http, "fan").await;
    let word = unique_word("aurora");

    let workspace = store
        .workspaces()
        .create("aurora", "Café Aurora", false)
        .await
        .unwrap()
        .id;
    let topic = NewTopic {
        name: "Aurora",
        kind: TopicKind::Brand,
        query: &word,
        color: "#884400",
        active: true,
    };
    store
        .topics()
        .create(workspace, topic, Timestamp(1))
        .await
        .unwrap();
    let sealed = secrets
        .seal(&brand.session.credentials().to_bytes())
        .unwrap();
    let account = store
        .accounts()
        .connect(
            workspace,
            NewAccount {
                network: Network::Bluesky,
                server_url: brand.session.server_url(),
                remote_id: &brand.did,
                handle: &brand.handle,
                display_name: None,
                sealed_credentials: &sealed,
                connected_by: None,
            },
            Timestamp(1),
        )
        .await
        .unwrap();
    let config = json!({ "query": word });
    let source = store
        .sources()
        .create(
            workspace,
            NewSource {
                account_id: Some(account.id),
                kind: "bluesky_search",
                name: "search",
                config: config.clone(),
                sealed_secret: None,
                enabled: true,
            },
            Timestamp(1),
        )
        .await
        .unwrap();
    let pipeline = Pipeline::with_shared_analyzer(store.clone());
    let registry = SourceRegistry::standard();
    let poller = Poller::new(
        pipeline.clone(),
        registry.clone(),
        http.clone(),
        Some(secrets),
    );
    let kind = registry.get("bluesky_search").unwrap();
    let fetch = |cursor: Option<String>| {
        let config = config.clone();
        let http = http.clone();
        let kind = kind.clone();
        let session = &brand.session;
        async move {
            kind.poll(PollContext {
                config: &config,
                secret: None,
                cursor: cursor.as_deref(),
                client: &http,
                account: Some(session),
                topic_terms: &[],
            })
            .await
            .unwrap()
        }
    };

    let first: Vec<String> = (0..3)
        .map(|n| format!("Me encanta {word} número {n}"))
        .collect();
    post_and_wait(&http, &fan, &word, &first, 3).await;

    // Killed after fetching, before storing: nothing stored, cursor unchanged.
    let lost = fetch(None).await;
    assert_eq!(lost.items.len(), 3);
    drop(lost);
    let mut now = Timestamp::now();
    let result = poller.poll(workspace, source.id, now).await.unwrap();
    assert_eq!(
        result,
        PollResult::Polled {
            inserted: 3,
            duplicates: 0,
            rejected: 0
        }
    );

    // Killed after storing, before the cursor was saved.
    let second: Vec<String> = (3..5)
        .map(|n| format!("Otra vez {word} número {n}"))
        .collect();
    post_and_wait(&http, &fan, &word, &second, 5).await;
    let cursor = store.sources().cursor(source.id).await.unwrap();
    let fetched = fetch(cursor).await;
    assert_eq!(fetched.items.len(), 2);
    let stored_source = store
        .sources()
        .get(workspace, source.id)
        .await
        .unwrap()
        .unwrap();
    let stored = pipeline
        .ingest(&stored_source, fetched.items, now)
        .await
        .unwrap();
    assert_eq!(stored.inserted, 2);
    now = now.plus_millis(16 * 60 * 1000);
    let result = poller.poll(workspace, source.id, now).await.unwrap();
    assert_eq!(
        result,
        PollResult::Polled {
            inserted: 0,
            duplicates: 2,
            rejected: 0
        },
        "the re-fetched posts are recognised, not stored again"
    );
    // And a healthy poll afterwards finds nothing new.
    now = now.plus_millis(16 * 60 * 1000);
    let result = poller.poll(workspace, source.id, now).await.unwrap();
    assert_eq!(
        result,
        PollResult::Polled {
            inserted: 0,
            duplicates: 0,
            rejected: 0
        }
    );

    let mentions = store
        .mentions()
        .list(
            workspace,
            &MentionFilter {
                limit: 100,
                ..MentionFilter::default()
            },
        )
        .await
        .unwrap();
    let mut texts: Vec<&str> = mentions
        .iter()
        .map(|mention| mention.text.as_str())
        .collect();
    texts.sort_unstable();
    let mut expected: Vec<&str> = first.iter().chain(&second).map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(texts, expected, "every post exactly once");
    assert!(mentions.iter().all(|mention| !mention.topics.is_empty()));
    assert_eq!(mentions[0].author.as_ref().unwrap().network, "bluesky");
}
