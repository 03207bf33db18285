//! The Mastodon client and source kinds against a real peer: `mastodon-mock`
//! (start it with `scripts/peers/mastodon.sh start`), plus a tiny local SSE
//! server for the streaming reconnection paths the peer cannot break on demand.
//!
//! Every test makes its own accounts (`/api/v1/_mock/dev_user`) and its own
//! hashtags, so tests run in parallel and re-run against a long-lived peer.
//!
//! Where the mock differs from Mastodon's API documentation (the contract), the
//! test says so:
//! - `/oauth/authorize` is an account picker without a login, and the code it
//!   issues is `mockcode_<username>`: not single-use, not bound to the app or
//!   the redirect URI, and `client_secret` is not checked.
//! - A bad token's 401 says "This method requires an authenticated user"
//!   (Mastodon: "The access token is invalid").
//! - Local accounts' URLs use the host `localhost:<port>` whatever host the
//!   request used.

use atalaya_connectors::mastodon::{
    self, MastodonClient, NewStatus, NotificationQuery, Page, StreamConfig, StreamEvent,
    StreamKind, StreamingConnection, Visibility,
};
use atalaya_connectors::net::{ApiBody, ApiRequest};
use atalaya_connectors::source::{PollContext, PollOutcome, SourceRegistry};
use atalaya_connectors::testing::{
    TestSource, add_mastodon_fault, create_mastodon_account, eventually, loopback_client,
    mastodon_session, mastodon_url, sorted_texts, unique_word,
};
use atalaya_connectors::{AccountCredentials, AccountSession, SourceError};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

async fn post(client: &MastodonClient<'_>, text: &str) -> mastodon::Status {
    let status = NewStatus {
        text: text.to_owned(),
        ..NewStatus::default()
    };
    client
        .post_status(&status, &unique_word("key"))
        .await
        .unwrap()
}

/// The ids of what a poll returned, in the order it returned them.
fn external_ids(outcome: &PollOutcome) -> Vec<&str> {
    outcome
        .items
        .iter()
        .map(|item| item.external_id.as_str())
        .collect()
}

#[tokio::test]
async fn oauth_code_flow_connects_an_account_and_revoking_it_is_unauthorized() {
    let http = loopback_client();
    let server = mastodon_url();
    let username = create_mastodon_account(&http).await.username;
    let redirect = "http://127.0.0.1:9/accounts/mastodon/callback";
    let app = mastodon::register_app(&http, &server, "Atalaya test", redirect, None)
        .await
        .unwrap();
    assert_eq!(app.redirect_uri, redirect);
    let authorize = mastodon::authorize_url(&server, &app, "csrf-state-1");
    let page = http.send(ApiRequest::get(&authorize, &[])).await.unwrap();
    assert_eq!(page.status, 200);
    assert!(String::from_utf8_lossy(&page.body).contains("<form"));
    // The person picks their account: the POST their browser would send.
    let picked = [
        ("username", username.as_str()),
        ("client_id", app.client_id.as_str()),
        ("redirect_uri", redirect),
        ("scope", mastodon::SCOPES),
        ("state", "csrf-state-1"),
    ];
    let authorize_post = format!("{server}/oauth/authorize");
    let back = http
        .send(ApiRequest::post(
            &authorize_post,
            &[],
            ApiBody::Form(&picked),
        ))
        .await
        .unwrap();
    assert_eq!(back.status, 302);
    let location = url::Url::parse(back.header("location").unwrap()).unwrap();
    assert!(location.as_str().starts_with(redirect), "{location}");
    let param = |name: &str| {
        location
            .query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };
    assert_eq!(param("state").as_deref(), Some("csrf-state-1"));
    let code = param("code").unwrap();

    let credentials = mastodon::exchange_code(&http, &server, &app, &code)
        .await
        .unwrap();
    let AccountCredentials::Mastodon {
        access_token,
        scope,
    } = &credentials
    else {
        panic!("not Mastodon credentials: {credentials:?}")
    };
    assert!(scope.contains("read") && scope.contains("write"), "{scope}");
    let connected = AccountSession::new(&server, credentials.clone());
    let account = MastodonClient::new(&http, &connected)
        .verify_credentials()
        .await
        .unwrap();
    assert_eq!(account.username, username);
    assert_eq!(account.acct, username);
    assert!(account.url.is_some());
    assert_eq!(account.followers_count, Some(0));

    // Revoking the token (as a person does in their instance's settings) makes
    // every later call Unauthorized: the account needs re-authorization.
    let revoke = [
        ("token", access_token.as_str()),
        ("client_id", app.client_id.as_str()),
        ("client_secret", app.client_secret.as_str()),
    ];
    let revoke_url = format!("{server}/oauth/revoke");
    let revoked = http
        .send(ApiRequest::post(&revoke_url, &[], ApiBody::Form(&revoke)))
        .await
        .unwrap();
    assert_eq!(revoked.status, 200);
    let error = MastodonClient::new(&http, &connected)
        .verify_credentials()
        .await
        .unwrap_err();
    assert_eq!(error.code(), "unauthorized", "{error}");

    // A code the server never issued is refused.
    let error = mastodon::exchange_code(&http, &server, &app, "not-a-code")
        .await
        .unwrap_err();
    assert_eq!(error.code(), "unauthorized", "{error}");
}

#[tokio::test]
async fn a_bad_token_is_unauthorized_for_calls_and_polls() {
    let http = loopback_client();
    let bad = mastodon_session("no-such-token");
    let error = MastodonClient::new(&http, &bad)
        .verify_credentials()
        .await
        .unwrap_err();
    assert_eq!(error.code(), "unauthorized", "{error}");
    let error = TestSource::new(&http, &bad, "mastodon_notifications", serde_json::json!({}))
        .poll(None)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "unauthorized", "{error}");
}

#[tokio::test]
async fn a_polled_source_without_an_account_is_a_config_error() {
    let http = loopback_client();
    let config = serde_json::json!({"local": true});
    let error = SourceRegistry::standard()
        .get("mastodon_public")
        .unwrap()
        .poll(PollContext {
            config: &config,
            secret: None,
            cursor: None,
            client: &http,
            account: None,
            topic_terms: &[],
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), "config");
}

#[tokio::test]
async fn a_429_is_rate_limited_with_the_retry_delay_and_the_budget_is_recorded() {
    let http = loopback_client();
    let session = create_mastodon_account(&http).await.session;
    let client = MastodonClient::new(&http, &session);
    let tag = unique_word("limited");
    add_mastodon_fault(
        &http,
        &serde_json::json!({
            "match": {"methods": ["GET"], "path": format!("/api/v1/timelines/tag/{tag}")},
            "effect": {"type": "ratelimit", "headers": {"Retry-After": "120"}},
            "count": 1
        }),
    )
    .await;
    let error = client
        .hashtag_timeline(&tag, &Page::default(), false)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SourceError::RateLimited {
            retry_after: Some(Duration::from_secs(120))
        }
    );
    let budget = session.rate_limit().unwrap();
    assert_eq!((budget.limit, budget.remaining), (Some(300), Some(0)));
    // The rule fired once; the next call goes through.
    let page = client
        .hashtag_timeline(&tag, &Page::default(), false)
        .await
        .unwrap();
    assert!(page.items.is_empty());
}

#[tokio::test]
async fn a_malformed_body_is_a_bad_response() {
    let http = loopback_client();
    let session = create_mastodon_account(&http).await.session;
    let client = MastodonClient::new(&http, &session);
    let status = post(&client, "a status whose reading will break").await;
    add_mastodon_fault(
        &http,
        &serde_json::json!({
            "match": {"methods": ["GET"], "path": format!("/api/v1/statuses/{}", status.id)},
            "effect": {"type": "malformed"},
            "count": 1
        }),
    )
    .await;
    let error = client.status(&status.id).await.unwrap_err();
    assert_eq!(error.code(), "bad_response", "{error}");
    assert_eq!(client.status(&status.id).await.unwrap().uri, status.uri);
}

#[tokio::test]
async fn the_same_idempotency_key_publishes_once() {
    let http = loopback_client();
    let session = create_mastodon_account(&http).await.session;
    let client = MastodonClient::new(&http, &session);
    let status = NewStatus {
        text: "Our terrace opens on Friday".to_owned(),
        in_reply_to_id: None,
        visibility: Some(Visibility::Unlisted),
        language: Some("en".to_owned()),
        spoiler_text: Some("opening hours".to_owned()),
    };
    let key = unique_word("publish-");
    let first = client.post_status(&status, &key).await.unwrap();
    let retried = client.post_status(&status, &key).await.unwrap();
    assert_eq!(first.id, retried.id);
    let other = client
        .post_status(&status, &unique_word("publish-"))
        .await
        .unwrap();
    assert_ne!(first.id, other.id);
    assert_eq!(first.visibility, Some(Visibility::Unlisted));
    assert_eq!(first.language.as_deref(), Some("en"));
    assert_eq!(first.spoiler_text, "opening hours");
    assert!(first.content.contains("terrace"), "{}", first.content);
}

#[tokio::test]
async fn a_reply_threads_under_its_status() {
    let http = loopback_client();
    let ada = create_mastodon_account(&http).await.session;
    let grace = create_mastodon_account(&http).await.session;
    let ada_client = MastodonClient::new(&http, &ada);
    let grace_client = MastodonClient::new(&http, &grace);
    let question = post(&ada_client, "Is the bakery open on Sundays?").await;
    let reply = grace_client
        .post_status(
            &NewStatus {
                text: "Yes, from nine to two".to_owned(),
                in_reply_to_id: Some(question.id.clone()),
                ..NewStatus::default()
            },
            &unique_word("reply-"),
        )
        .await
        .unwrap();
    assert_eq!(reply.in_reply_to_id.as_deref(), Some(question.id.as_str()));
    let below = ada_client.context(&question.id).await.unwrap();
    assert_eq!(
        below.descendants.iter().map(|s| &s.id).collect::<Vec<_>>(),
        vec![&reply.id]
    );
    let above = grace_client.context(&reply.id).await.unwrap();
    assert_eq!(
        above.ancestors.iter().map(|s| &s.id).collect::<Vec<_>>(),
        vec![&question.id]
    );
    assert_eq!(grace_client.status(&reply.id).await.unwrap(), reply);
}

#[tokio::test]
async fn hashtag_polls_take_the_newest_page_then_only_what_is_new() {
    let http = loopback_client();
    let account = create_mastodon_account(&http).await;
    let (username, session) = (account.username, account.session);
    let client = MastodonClient::new(&http, &session);
    let tag = unique_word("cafe");
    let hashtag = TestSource::new(
        &http,
        &session,
        "mastodon_hashtag",
        serde_json::json!({ "hashtag": format!("#{tag}"), "local": false }),
    );
    for n in 0..42 {
        post(&client, &format!("early note {n} #{tag}")).await;
    }
    // First poll: the newest page (40) only, not the two oldest.
    let first = hashtag.poll(None).await.unwrap();
    assert_eq!(first.items.len(), 40);
    let first_texts = sorted_texts(&first);
    assert!(!first_texts.contains(&format!("early note 0 #{tag}")));
    assert!(!first_texts.contains(&format!("early note 1 #{tag}")));
    assert!(first.rejected.is_empty(), "{:?}", first.rejected);
    let item = &first.items[0];
    let author = item.author.as_ref().unwrap();
    assert!(
        author.handle.starts_with(&format!("@{username}@")),
        "{}",
        author.handle
    );
    assert!(item.external_id.starts_with("http"), "{}", item.external_id);
    assert!(item.url.is_some() && item.published_at.is_some());
    let cursor = first.new_cursor.unwrap();
    assert!(cursor.starts_with(r#"{"min_id":""#), "{cursor}");

    // Nothing new: nothing returned, the cursor stays.
    let again = hashtag.poll(Some(&cursor)).await.unwrap();
    assert!(again.items.is_empty());
    assert_eq!(again.new_cursor, None);

    // More than a page arrives: all of it, and nothing older.
    for n in 0..42 {
        post(&client, &format!("late note {n} #{tag}")).await;
    }
    let later = hashtag.poll(Some(&cursor)).await.unwrap();
    let mut expected: Vec<String> = (0..42).map(|n| format!("late note {n} #{tag}")).collect();
    expected.sort();
    assert_eq!(sorted_texts(&later), expected);
    let cursor = later.new_cursor.unwrap();
    let last = hashtag.poll(Some(&cursor)).await.unwrap();
    assert!(last.items.is_empty());
}

#[tokio::test]
async fn mentions_poll_returns_the_statuses_that_mention_the_account() {
    let http = loopback_client();
    let listener_account = create_mastodon_account(&http).await;
    let (listener_name, listener) = (listener_account.username, listener_account.session);
    let fan = create_mastodon_account(&http).await.session;
    let fan_client = MastodonClient::new(&http, &fan);
    let mentions = TestSource::new(
        &http,
        &listener,
        "mastodon_notifications",
        serde_json::json!({}),
    );
    let first = mentions.poll(None).await.unwrap();
    assert!(first.items.is_empty());
    let mention = post(&fan_client, &format!("@{listener_name} loved the new menu")).await;
    post(&fan_client, "a status that mentions nobody").await;
    let got = mentions.poll(None).await.unwrap();
    assert_eq!(external_ids(&got), [mention.uri.as_str()]);
    let cursor = got.new_cursor.unwrap();
    let second = post(&fan_client, &format!("@{listener_name} and the coffee too")).await;
    let next = mentions.poll(Some(&cursor)).await.unwrap();
    assert_eq!(external_ids(&next), [second.uri.as_str()]);
    // The raw call, with types as the docs describe them.
    let listener_client = MastodonClient::new(&http, &listener);
    let page = listener_client
        .notifications(&NotificationQuery {
            types: vec!["mention".to_owned()],
            ..NotificationQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
    assert!(page.items.iter().all(|n| n.kind == "mention"));
    assert!(page.links.prev_min_id.is_some());
}

#[tokio::test]
async fn public_local_poll_sees_new_statuses() {
    let http = loopback_client();
    let session = create_mastodon_account(&http).await.session;
    let client = MastodonClient::new(&http, &session);
    let public = TestSource::new(
        &http,
        &session,
        "mastodon_public",
        serde_json::json!({ "local": true }),
    );
    // Other tests post to the same public timeline: only check that ours arrives.
    let first = public.poll(None).await.unwrap();
    let cursor = first.new_cursor;
    let marker = unique_word("marker");
    let status = post(&client, &format!("public note {marker}")).await;
    let next = public.poll(cursor.as_deref()).await.unwrap();
    assert!(
        next.items.iter().any(|item| item.external_id == status.uri),
        "{:?}",
        sorted_texts(&next)
    );
    let page = client
        .public_timeline(true, &Page::default())
        .await
        .unwrap();
    assert!(page.links.next_max_id.is_some());
}

#[tokio::test]
async fn search_finds_a_new_status() {
    let http = loopback_client();
    let session = create_mastodon_account(&http).await.session;
    let client = MastodonClient::new(&http, &session);
    let word = unique_word("zqx");
    let status = post(&client, &format!("searching for {word} here")).await;
    // Search indexing is immediate on the mock, but a real instance indexes later.
    eventually("search finding the new status", || async {
        let found = client
            .search_statuses(&word, &Page::default())
            .await
            .unwrap();
        found.iter().any(|hit| hit.id == status.id).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_hashtag_stream_delivers_a_new_status() {
    let http = loopback_client();
    let session = create_mastodon_account(&http).await.session;
    let client = MastodonClient::new(&http, &session);
    let tag = unique_word("live");
    // The mock advertises `ws://127.0.0.1:<port>`: the same server, over http.
    let base = client.streaming_base_url().await.unwrap();
    assert_eq!(base, mastodon_url());
    let mut stream = StreamingConnection::with_base_url(
        &client,
        &base,
        &StreamKind::Hashtag {
            tag: tag.clone(),
            local: false,
        },
        StreamConfig::default(),
    )
    .unwrap();
    // Subscribed once the server has answered: no event can be missed after this.
    stream.open().await.unwrap();
    let status = post(&client, &format!("fresh bread now #{tag}")).await;
    let event = tokio::time::timeout(Duration::from_secs(20), stream.next_event())
        .await
        .unwrap()
        .unwrap();
    let StreamEvent::Update(got) = event else {
        panic!("expected an update, got {event:?}")
    };
    assert_eq!(got.uri, status.uri);
    assert_eq!(stream.connections(), 1);
}

#[tokio::test]
async fn a_stream_with_a_bad_token_ends_at_once() {
    let http = loopback_client();
    let bad = mastodon_session("no-such-token");
    let client = MastodonClient::new(&http, &bad);
    let mut stream =
        StreamingConnection::new(&client, &StreamKind::User, StreamConfig::default()).unwrap();
    let error = stream.next_event().await.unwrap_err();
    assert_eq!(error.code(), "unauthorized", "{error}");
    assert_eq!(stream.connections(), 1);
}

/// A server whose every stream sends one event and hangs up; from the third
/// connection on it answers 503 (or 401 when `refuse` is set).
async fn flaky_stream_server(refuse: bool) -> (String, Arc<AtomicU32>) {
    use axum::http::{StatusCode, header};
    let connections = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&connections);
    let app = axum::Router::new().route(
        "/api/v1/streaming/public",
        axum::routing::get(move || {
            let counter = Arc::clone(&counter);
            async move {
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                if n > 2 {
                    let status = if refuse {
                        StatusCode::UNAUTHORIZED
                    } else {
                        StatusCode::SERVICE_UNAVAILABLE
                    };
                    return (
                        status,
                        [(header::CONTENT_TYPE, "application/json")],
                        r#"{"error":"The access token is invalid"}"#.to_owned(),
                    );
                }
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "text/event-stream")],
                    format!(":connected\n\n:thump\n\nevent: delete\ndata: {n}\n\nevent: upd"),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}"), connections)
}

/// A session on [`flaky_stream_server`], which checks no token.
fn stream_server_session(base: &str) -> AccountSession {
    AccountSession::new(
        base,
        AccountCredentials::Mastodon {
            access_token: "t".to_owned(),
            scope: String::new(),
        },
    )
}

fn quick_retries() -> StreamConfig {
    StreamConfig {
        idle_timeout: Duration::from_secs(5),
        max_attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
    }
}

#[tokio::test]
async fn a_dropped_stream_reconnects_and_gives_up_after_bounded_attempts() {
    let http = loopback_client();
    let (base, connections) = flaky_stream_server(false).await;
    let session = stream_server_session(&base);
    let client = MastodonClient::new(&http, &session);
    let kind = StreamKind::Public { local: false };
    let mut stream = StreamingConnection::new(&client, &kind, quick_retries()).unwrap();
    assert_eq!(
        stream.next_event().await.unwrap(),
        StreamEvent::Delete("1".to_owned())
    );
    // The first stream ended mid-frame; the cut frame is dropped, not merged.
    assert_eq!(
        stream.next_event().await.unwrap(),
        StreamEvent::Delete("2".to_owned())
    );
    let error = stream.next_event().await.unwrap_err();
    assert_eq!(error, SourceError::HttpStatus { status: 503 });
    // Two good streams, then failures until three in a row (the drop counts as one).
    assert_eq!(connections.load(Ordering::SeqCst), 4);
    assert_eq!(stream.connections(), 4);
}

#[tokio::test]
async fn a_stream_refused_on_reconnect_ends_without_retrying() {
    let http = loopback_client();
    let (base, connections) = flaky_stream_server(true).await;
    let session = stream_server_session(&base);
    let client = MastodonClient::new(&http, &session);
    let kind = StreamKind::Public { local: false };
    let mut stream = StreamingConnection::new(&client, &kind, quick_retries()).unwrap();
    stream.next_event().await.unwrap();
    stream.next_event().await.unwrap();
    let error = stream.next_event().await.unwrap_err();
    assert_eq!(error.code(), "unauthorized", "{error}");
    assert_eq!(connections.load(Ordering::SeqCst), 3);
}
