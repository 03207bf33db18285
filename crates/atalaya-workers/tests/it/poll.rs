//! Polling due sources: a real RSS feed served on loopback (admitted by the
//! allow-list) is fetched, analysed and stored once; a feed the SSRF guard
//! refuses and an unknown kind fail honestly, recorded on the source with a
//! stable code and a backed-off next poll.

use atalaya_connectors::{AllowList, SafeHttpClient, SafeHttpConfig, SourceRegistry};
use atalaya_domain::{SourceHealth, Timestamp, TopicKind};
use atalaya_store::{MentionFilter, NewSource, NewTopic, Store};
use atalaya_workers::ingest::Pipeline;
use atalaya_workers::poll::{PollResult, Poller};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const FEED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Barrio</title><link>https://barrio.example/</link><description>x</description>
<item><guid>post-1</guid><title>Nueva tostadora</title><link>https://barrio.example/1</link>
<description>&lt;p&gt;Café Aurora abre una tostadora en el barrio&lt;/p&gt;</description></item>
<item><guid>post-2</guid><title>Lluvia</title><link>https://barrio.example/2</link><description>Llueve toda la semana</description></item>
</channel></rss>"#;

/// Serves `FEED` to every connection on a loopback port; returns the feed URL.
async fn serve_feed() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0_u8; 4096];
                let _ = socket.read(&mut request).await;
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{FEED}",
                    FEED.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    format!("http://{address}/feed.xml")
}

fn poller(store: &Store, allow: &[&str]) -> Poller {
    let config = SafeHttpConfig {
        allow_list: AllowList::parse(allow).unwrap(),
        ..SafeHttpConfig::default()
    };
    let client = SafeHttpClient::new(config).unwrap();
    Poller::new(
        Pipeline::with_shared_analyzer(store.clone()),
        SourceRegistry::standard(),
        client,
        None,
    )
}

#[tokio::test]
async fn due_feeds_are_polled_stored_once_and_failures_recorded() {
    let store = atalaya_store::testing::fresh_sqlite().await;
    let workspace = store
        .workspaces()
        .create("aurora", "Café Aurora", false)
        .await
        .unwrap()
        .id;
    let brand = NewTopic {
        name: "Café Aurora",
        kind: TopicKind::Brand,
        query: "\"cafe aurora\"",
        color: "#884400",
        active: true,
    };
    let brand = store
        .topics()
        .create(workspace, brand, Timestamp::now())
        .await
        .unwrap()
        .id;
    let url = serve_feed().await;
    let source = |name: &'static str, kind: &'static str, url: &str| NewSource {
        account_id: None,
        kind,
        name,
        config: json!({ "url": url }),
        sealed_secret: None,
        enabled: true,
    };
    let now = Timestamp::now();
    let feed = store
        .sources()
        .create(workspace, source("Barrio", "rss", &url), now)
        .await
        .unwrap();
    let gopher = store
        .sources()
        .create(workspace, source("Old", "gopher", &url), now)
        .await
        .unwrap();

    // Without an allow-list entry, loopback is refused: the source records why.
    let guarded = poller(&store, &[]);
    assert!(
        matches!(guarded.poll(workspace, feed.id, now).await.unwrap(), PollResult::Failed { code } if code == "ssrf_refused")
    );
    let refused = store
        .sources()
        .get(workspace, feed.id)
        .await
        .unwrap()
        .unwrap();
    // One failure is probably transient: degraded, not yet failing.
    assert_eq!(
        (refused.health, refused.consecutive_failures),
        (SourceHealth::Degraded, 1)
    );
    assert!(refused.next_poll_at.unwrap() > now, "backed off");
    assert!(
        matches!(guarded.poll(workspace, gopher.id, now).await.unwrap(), PollResult::Failed { code } if code == "unknown_kind")
    );

    let allowed = poller(&store, &["127.0.0.1"]);
    let result = allowed.poll(workspace, feed.id, now).await.unwrap();
    assert_eq!(
        result,
        PollResult::Polled {
            inserted: 2,
            duplicates: 0,
            rejected: 0
        }
    );
    let healthy = store
        .sources()
        .get(workspace, feed.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            healthy.health,
            healthy.consecutive_failures,
            healthy.mentions_total
        ),
        (SourceHealth::Ok, 0, 2)
    );
    let matched = MentionFilter {
        topic: Some(brand),
        limit: 10,
        ..MentionFilter::default()
    };
    let mentions = store.mentions().list(workspace, &matched).await.unwrap();
    assert_eq!(mentions.len(), 1);
    assert_eq!(
        mentions[0].text,
        "Café Aurora abre una tostadora en el barrio"
    );

    assert_eq!(
        allowed.poll(workspace, feed.id, now).await.unwrap(),
        PollResult::Polled {
            inserted: 0,
            duplicates: 2,
            rejected: 0
        }
    );

    // Due sources become one queued poll job each, and only once.
    let later = Timestamp(i64::MAX / 4);
    assert_eq!(allowed.enqueue_due(later).await.unwrap(), 2);
    assert_eq!(allowed.enqueue_due(later).await.unwrap(), 0);
}
