//! HTTP behaviour against the local server: SSRF guard, conditional GET,
//! redirects, errors, timeouts, caps and broken compression.

use crate::server::{self, WORDPRESS_ETAG, loopback_client, loopback_config};
use atalaya_connectors::feed::{FeedPoll, Validators, poll_feed, poll_feed_with_credentials};
use atalaya_connectors::net::{SafeHttpClient, SafeHttpConfig};
use atalaya_connectors::source::{PollContext, SourceRegistry};
use std::time::Duration;

async fn poll(
    client: &SafeHttpClient,
    url: &str,
) -> Result<FeedPoll, atalaya_connectors::SourceError> {
    poll_feed(client, url, &Validators::default()).await
}

fn error_code(result: Result<FeedPoll, atalaya_connectors::SourceError>) -> &'static str {
    result.unwrap_err().code()
}

#[tokio::test]
async fn loopback_is_refused_without_the_allow_list() {
    let base = server::start().await;
    let client = SafeHttpClient::new(SafeHttpConfig::default()).unwrap();
    let error = poll(&client, &format!("{base}/wordpress.xml"))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "ssrf_refused", "{error}");
    // Through a host name the check happens in the resolver instead.
    let by_name = base.replace("127.0.0.1", "localhost");
    let error = poll(&client, &format!("{by_name}/wordpress.xml"))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "ssrf_refused", "{error}");
}

#[tokio::test]
async fn allow_listed_loopback_is_fetched_by_address_and_by_name() {
    let base = server::start().await;
    let client = loopback_client();
    assert!(matches!(
        poll(&client, &format!("{base}/wordpress.xml"))
            .await
            .unwrap(),
        FeedPoll::Fetched { .. }
    ));
    // localhost may resolve to ::1 and 127.0.0.1: the resolver keeps only the allowed one.
    let by_name = base.replace("127.0.0.1", "localhost");
    assert!(matches!(
        poll(&client, &format!("{by_name}/wordpress.xml"))
            .await
            .unwrap(),
        FeedPoll::Fetched { .. }
    ));
}

#[tokio::test]
async fn etag_round_trip_gives_not_modified() {
    let base = server::start().await;
    let client = loopback_client();
    let url = format!("{base}/wordpress.xml");
    let FeedPoll::Fetched {
        validators, items, ..
    } = poll(&client, &url).await.unwrap()
    else {
        panic!("first poll must fetch")
    };
    assert_eq!(validators.etag.as_deref(), Some(WORDPRESS_ETAG));
    assert_eq!(items.len(), 2);
    assert_eq!(
        poll_feed(&client, &url, &validators).await.unwrap(),
        FeedPoll::NotModified
    );
    let stale = Validators {
        etag: Some("\"old\"".to_owned()),
        last_modified: None,
    };
    assert!(matches!(
        poll_feed(&client, &url, &stale).await.unwrap(),
        FeedPoll::Fetched { .. }
    ));
}

#[tokio::test]
async fn last_modified_round_trip_gives_not_modified() {
    let base = server::start().await;
    let client = loopback_client();
    let url = format!("{base}/rdf.xml");
    let FeedPoll::Fetched { validators, .. } = poll(&client, &url).await.unwrap() else {
        panic!("first poll must fetch")
    };
    assert_eq!(
        validators.last_modified.as_deref(),
        Some(server::LAST_MODIFIED)
    );
    assert_eq!(validators.etag, None);
    assert_eq!(
        poll_feed(&client, &url, &validators).await.unwrap(),
        FeedPoll::NotModified
    );
}

#[tokio::test]
async fn the_rss_kind_keeps_its_cursor_between_polls() {
    let base = server::start().await;
    let client = loopback_client();
    let registry = SourceRegistry::standard();
    let rss = registry.get("rss").unwrap();
    let config = serde_json::json!({ "url": format!("{base}/wordpress.xml") });
    rss.validate_config(&config).unwrap();
    let first = rss
        .poll(PollContext {
            config: &config,
            secret: None,
            cursor: None,
            client: &client,
            account: None,
            topic_terms: &[],
        })
        .await
        .unwrap();
    assert_eq!(first.items.len(), 2);
    assert_eq!(first.rejected.len(), 1);
    let cursor = first.new_cursor.unwrap();
    let second = rss
        .poll(PollContext {
            config: &config,
            secret: None,
            cursor: Some(&cursor),
            client: &client,
            account: None,
            topic_terms: &[],
        })
        .await
        .unwrap();
    assert!(second.items.is_empty());
    assert_eq!(
        second.new_cursor, None,
        "not modified keeps the stored cursor"
    );
}

#[tokio::test]
async fn redirects_are_followed_and_rechecked() {
    fn check(result: Result<FeedPoll, atalaya_connectors::SourceError>, expected: &str) {
        match result {
            Ok(FeedPoll::Fetched { items, .. }) => {
                assert_eq!(expected, "ok", "fetched {} items", items.len());
            }
            Ok(FeedPoll::NotModified) => panic!("unexpected 304"),
            Err(error) => assert_eq!(error.code(), expected, "{error}"),
        }
    }
    let base = server::start().await;
    let client = loopback_client();
    check(poll(&client, &format!("{base}/moved")).await, "ok");
    check(poll(&client, &format!("{base}/moved-twice")).await, "ok");
    check(
        poll(&client, &format!("{base}/to-private")).await,
        "ssrf_refused",
    );
    check(
        poll(&client, &format!("{base}/to-metadata")).await,
        "ssrf_refused",
    );
    check(
        poll(&client, &format!("{base}/to-ipv6-loopback")).await,
        "ssrf_refused",
    );
    check(
        poll(&client, &format!("{base}/to-file")).await,
        "invalid_url",
    );
    check(poll(&client, &format!("{base}/loop")).await, "redirect");
}

#[tokio::test]
async fn error_statuses_are_typed() {
    let base = server::start().await;
    let client = loopback_client();
    let error = poll(&client, &format!("{base}/error")).await.unwrap_err();
    assert_eq!(
        error,
        atalaya_connectors::SourceError::HttpStatus { status: 500 }
    );
    assert!(error.is_transient());
    let gone = poll(&client, &format!("{base}/gone")).await.unwrap_err();
    assert!(!gone.is_transient());
    assert_eq!(
        error_code(poll(&client, &format!("{base}/missing")).await),
        "http_status"
    );
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let base = server::start().await;
    let config = SafeHttpConfig {
        read_timeout: Duration::from_millis(300),
        total_timeout: Duration::from_millis(600),
        ..loopback_config()
    };
    let client = SafeHttpClient::new(config).unwrap();
    let started = std::time::Instant::now();
    assert_eq!(
        error_code(poll(&client, &format!("{base}/slow")).await),
        "timeout"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn total_timeout_bounds_the_whole_fetch() {
    let base = server::start().await;
    let config = SafeHttpConfig {
        total_timeout: Duration::from_millis(300),
        ..loopback_config()
    };
    let client = SafeHttpClient::new(config).unwrap();
    let error = poll(&client, &format!("{base}/slow")).await.unwrap_err();
    assert_eq!(
        error,
        atalaya_connectors::SourceError::Timeout {
            after: Duration::from_millis(300)
        }
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused_even_when_compressed() {
    let base = server::start().await;
    let client = loopback_client();
    assert_eq!(
        error_code(poll(&client, &format!("{base}/big.xml")).await),
        "too_large"
    );
    // A small gzip body that inflates past the cap: only the streaming count can catch it.
    assert_eq!(
        error_code(poll(&client, &format!("{base}/bomb.xml")).await),
        "too_large"
    );
}

#[tokio::test]
async fn compression_works_and_truncated_gzip_is_typed() {
    let base = server::start().await;
    let client = loopback_client();
    let FeedPoll::Fetched { items, .. } = poll(&client, &format!("{base}/gzip.xml")).await.unwrap()
    else {
        panic!("gzip feed must fetch")
    };
    assert_eq!(items.len(), 2);
    assert_eq!(
        error_code(poll(&client, &format!("{base}/truncated-gzip.xml")).await),
        "bad_compression"
    );
}

#[tokio::test]
async fn malformed_and_misencoded_feeds_are_typed() {
    let base = server::start().await;
    let client = loopback_client();
    assert_eq!(
        error_code(poll(&client, &format!("{base}/malformed.xml")).await),
        "malformed_feed"
    );
    assert_eq!(
        error_code(poll(&client, &format!("{base}/not-a-feed.html")).await),
        "malformed_feed"
    );
    assert_eq!(
        error_code(poll(&client, &format!("{base}/invalid-utf8.xml")).await),
        "bad_encoding"
    );
}

#[tokio::test]
async fn requests_carry_the_product_user_agent() {
    let base = server::start().await;
    let client = loopback_client();
    let FeedPoll::Fetched { items, .. } = poll(&client, &format!("{base}/user-agent.xml"))
        .await
        .unwrap()
    else {
        panic!("must fetch")
    };
    assert_eq!(items[0].text, atalaya_connectors::net::USER_AGENT);
}

#[tokio::test]
async fn feed_credentials_stay_with_their_origin() {
    let base = server::start().await;
    let client = loopback_client();
    let credentials = Some(server::PRIVATE_FEED_CREDENTIALS);
    let none = Validators::default();
    let text_of = |poll: FeedPoll| match poll {
        FeedPoll::Fetched { items, .. } => items[0].text.clone(),
        FeedPoll::NotModified => panic!("unexpected 304"),
    };
    let url = |path: &str| format!("{base}{path}");

    let anonymous = poll(&client, &url("/private.xml")).await.unwrap_err();
    assert_eq!(
        anonymous,
        atalaya_connectors::SourceError::HttpStatus { status: 401 }
    );
    let authorized = poll_feed_with_credentials(&client, &url("/private.xml"), &none, credentials)
        .await
        .unwrap();
    assert_eq!(
        text_of(authorized),
        "La Espiga took first place for its sourdough this year."
    );

    let same_origin =
        poll_feed_with_credentials(&client, &url("/private-same-origin"), &none, credentials)
            .await
            .unwrap();
    assert_eq!(text_of(same_origin), "credentials received");
    // localhost:PORT is another origin than 127.0.0.1:PORT: the password must not follow.
    let other_origin =
        poll_feed_with_credentials(&client, &url("/private-other-origin"), &none, credentials)
            .await
            .unwrap();
    assert_eq!(text_of(other_origin), "no credentials");
}
