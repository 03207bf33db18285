//! Polling due sources: a real RSS feed served on loopback (admitted by the
//! allow-list) is fetched, analysed and stored once; a feed the SSRF guard
//! refuses and an unknown kind fail honestly, recorded on the source with a
//! stable code and a backed-off next poll. Issue 11: a connector that panics
//! fails its source with a reason and a backoff instead of killing the job
//! (which `listening.poll_due` then queued again, in a loop), and a UTF-16
//! feed with a byte-order mark, the body that made the parser panic, is stored
//! with its unreadable date left unknown.

use std::sync::Arc;

use atalaya_connectors::source::{
    BoxFuture, PollContext, PollOutcome, PollSource, SourceConfigError,
};
use atalaya_connectors::{AllowList, SafeHttpClient, SafeHttpConfig, SourceError, SourceRegistry};
use atalaya_domain::{SourceHealth, Timestamp, TopicKind, WorkspaceId};
use atalaya_store::{MentionFilter, NewSource, NewTopic, Store};
use atalaya_workers::ingest::Pipeline;
use atalaya_workers::poll::{PollResult, Poller};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

on_both_backends!(
    a_panicking_connector_fails_its_source_with_a_reason_and_backs_off,
    a_utf16_feed_with_a_byte_order_mark_is_stored_and_an_unreadable_date_stays_unknown,
);

const FEED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Barrio</title><link>https://barrio.example/</link><description>x</description>
<item><guid>post-1</guid><title>Nueva tostadora</title><link>https://barrio.example/1</link>
<description>&lt;p&gt;Café Aurora abre una tostadora en el barrio&lt;/p&gt;</description></item>
<item><guid>post-2</guid><title>Lluvia</title><link>https://barrio.example/2</link><description>Llueve toda la semana</description></item>
</channel></rss>"#;

/// Serves `FEED` to every connection on a loopback port; returns the feed URL.
async fn serve_feed() -> String {
    serve(FEED.as_bytes().to_vec(), "application/rss+xml").await
}

/// Serves `body` as `content_type` to every connection on a loopback port;
/// returns the feed URL.
async fn serve(body: Vec<u8>, content_type: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let body = std::sync::Arc::new(body);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut request = [0_u8; 4096];
                let _ = socket.read(&mut request).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&body).await;
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

/// A kind whose poll panics, as feed-rs' XML reader did on a UTF-16BE body
/// with a byte-order mark.
struct Panicking;

impl PollSource for Panicking {
    fn kind(&self) -> &'static str {
        "panicking"
    }

    fn validate_config(&self, _config: &serde_json::Value) -> Result<(), SourceConfigError> {
        Ok(())
    }

    fn poll<'a>(
        &'a self,
        _ctx: PollContext<'a>,
    ) -> BoxFuture<'a, Result<PollOutcome, SourceError>> {
        Box::pin(async { panic!("set_encoding() called after prefix buffer was drained") })
    }
}

async fn workspace_with_source(
    store: &Store,
    kind: &'static str,
    url: &str,
) -> (WorkspaceId, atalaya_domain::SourceId) {
    let workspace = store
        .workspaces()
        .create("aurora", "Café Aurora", false)
        .await
        .unwrap()
        .id;
    let source = store
        .sources()
        .create(
            workspace,
            NewSource {
                account_id: None,
                kind,
                name: "Barrio",
                config: json!({ "url": url }),
                sealed_secret: None,
                enabled: true,
            },
            Timestamp(1_000_000),
        )
        .await
        .unwrap()
        .id;
    (workspace, source)
}

async fn a_panicking_connector_fails_its_source_with_a_reason_and_backs_off(store: Store) {
    let (workspace, source) =
        workspace_with_source(&store, "panicking", "https://barrio.example/feed.xml").await;
    let mut registry = SourceRegistry::standard();
    registry.register(Arc::new(Panicking));
    let client = SafeHttpClient::new(SafeHttpConfig {
        allow_list: AllowList::none(),
        ..SafeHttpConfig::default()
    })
    .unwrap();
    let poller = Poller::new(
        Pipeline::with_shared_analyzer(store.clone()),
        registry,
        client,
        None,
    );
    let now = Timestamp(2_000_000);

    // The job itself succeeds (nothing for the queue to retry); the source failed.
    let result = poller.poll(workspace, source, now).await.unwrap();
    assert_eq!(
        result,
        PollResult::Failed {
            code: "crashed".to_owned()
        }
    );
    let failed = store
        .sources()
        .get(workspace, source)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(failed.last_error_code.as_deref(), Some("crashed"));
    let message = failed.last_error.clone().unwrap_or_default();
    assert!(
        message.contains("the panicking connector panicked")
            && message.contains("set_encoding() called after prefix buffer was drained"),
        "{message}"
    );
    assert_eq!(
        (failed.health, failed.consecutive_failures),
        (SourceHealth::Degraded, 1)
    );
    let next = failed.next_poll_at.unwrap();
    assert!(next > now, "backed off");

    // Not due again before its backoff: no new poll job, so no loop.
    assert_eq!(poller.enqueue_due(now.plus_millis(1)).await.unwrap(), 0);

    // Polled again when due, it fails again and backs off further.
    poller.poll(workspace, source, next).await.unwrap();
    let again = store
        .sources()
        .get(workspace, source)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.consecutive_failures, 2);
    assert_eq!(again.last_error_code.as_deref(), Some("crashed"));
    assert!(
        again.next_poll_at.unwrap().millis() - next.millis() > next.millis() - now.millis(),
        "the second backoff is longer than the first"
    );
}

/// `text` in UTF-16BE after a byte-order mark.
fn utf16be_with_bom(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xfe, 0xff];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_be_bytes());
    }
    bytes
}

async fn a_utf16_feed_with_a_byte_order_mark_is_stored_and_an_unreadable_date_stays_unknown(
    store: Store,
) {
    let feed = r#"<?xml version="1.0" encoding="UTF-16"?>
<rss version="2.0"><channel><title>Panadería Ñandú</title><link>https://barrio.example/</link><description>x</description>
<item><guid>dated</guid><title>Hogaza</title><pubDate>2004-01-07 19:48:21</pubDate><description>Pan de centeno, 2,50 €</description></item>
<item><guid>undated</guid><title>Horno</title><pubDate>ayer por la tarde</pubDate><description>El horno de leña vuelve el jueves</description></item>
</channel></rss>"#;
    let url = serve(utf16be_with_bom(feed), "application/rss+xml").await;
    let (workspace, source) = workspace_with_source(&store, "rss", &url).await;
    let now = Timestamp(2_000_000);
    let result = poller(&store, &["127.0.0.1"])
        .poll(workspace, source, now)
        .await
        .unwrap();
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
        .get(workspace, source)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(healthy.health, SourceHealth::Ok);
    let mentions = store
        .mentions()
        .list(
            workspace,
            &MentionFilter {
                limit: 10,
                ..MentionFilter::default()
            },
        )
        .await
        .unwrap();
    let find = |id: &str| {
        mentions
            .iter()
            .find(|mention| mention.external_id == id)
            .unwrap_or_else(|| panic!("{id} stored"))
    };
    let dated = find("dated");
    assert_eq!(dated.text, "Pan de centeno, 2,50 €");
    assert_eq!(dated.published_at, Timestamp(1_073_504_901_000));
    assert!(dated.published_at_known());
    // Not invented: stored as "unknown" (the ingestion time, exactly).
    let undated = find("undated");
    assert_eq!(undated.text, "El horno de leña vuelve el jueves");
    assert!(!undated.published_at_known());
    assert_eq!(undated.published_at, now);
}
