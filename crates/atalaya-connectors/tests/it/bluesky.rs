//! The Bluesky client and source kinds against a real local Bluesky network
//! (PLC + PDS + AppView from `@atproto/dev-env`): `scripts/peers/bluesky.sh
//! start`, then `eval "$(scripts/peers/bluesky.sh env)"`.
//!
//! Every test creates its own accounts (unique handles), so tests run in
//! parallel and re-run against one long-running network. The AppView indexes
//! what the PDS writes asynchronously: reads that depend on indexing poll with a
//! deadline instead of sleeping.

use atalaya_connectors::bluesky::{
    self, BlueskyClient, FacetFeature, FacetTarget, NewPost, ReplyRef, SearchQuery, StrongRef,
    ThreadNode, ThreadPost, detect_facets,
};
use atalaya_connectors::net::{ApiRequest, SafeHttpClient};
use atalaya_connectors::testing::{
    BlueskyTestAccount, TestSource, bluesky_pds_url, create_bluesky_account, eventually,
    loopback_client, sorted_texts, unique_word,
};
use atalaya_connectors::{AccountCredentials, AccountSession, SourceError};

async fn post(
    account: &BlueskyTestAccount,
    http: &SafeHttpClient,
    text: &str,
    reply: Option<ReplyRef>,
) -> StrongRef {
    BlueskyClient::new(http, &account.session)
        .create_post(&NewPost {
            text: text.to_owned(),
            langs: vec!["es".to_owned()],
            reply,
        })
        .await
        .unwrap()
}

/// Waits until a search for `word` returns at least `count` posts.
async fn wait_for_search(
    http: &SafeHttpClient,
    account: &BlueskyTestAccount,
    word: &str,
    count: usize,
) {
    let client = BlueskyClient::new(http, &account.session);
    eventually(
        &format!("search {word:?} finding {count} posts"),
        || async {
            let page = client
                .search_posts(&SearchQuery {
                    q: word.to_owned(),
                    ..SearchQuery::default()
                })
                .await
                .unwrap();
            (page.posts.len() >= count).then_some(())
        },
    )
    .await;
}

async fn thread(http: &SafeHttpClient, account: &BlueskyTestAccount, uri: &str) -> ThreadPost {
    let client = BlueskyClient::new(http, &account.session);
    eventually(&format!("thread of {uri}"), || async {
        match client.get_post_thread(uri, 4).await {
            Ok(ThreadNode::Post(post)) => Some(*post),
            Ok(_) | Err(SourceError::HttpStatus { status: 400 }) => None,
            Err(error) => panic!("getPostThread: {error}"),
        }
    })
    .await
}

#[tokio::test]
async fn create_session_and_a_wrong_password() {
    let http = loopback_client();
    let account = create_bluesky_account(&http, "s").await;
    let (credentials, profile) = bluesky::create_session(
        &http,
        &bluesky_pds_url(),
        &account.handle,
        &account.password,
    )
    .await
    .unwrap();
    assert_eq!(profile.handle, account.handle);
    assert!(profile.did.starts_with("did:plc:"), "{}", profile.did);
    let AccountCredentials::Bluesky {
        did,
        access_jwt,
        refresh_jwt,
        ..
    } = credentials
    else {
        panic!("not Bluesky credentials");
    };
    assert_eq!(did, profile.did);
    assert!(!access_jwt.is_empty() && !refresh_jwt.is_empty());

    let error = bluesky::create_session(
        &http,
        &bluesky_pds_url(),
        &account.handle,
        "not-the-password",
    )
    .await
    .unwrap_err();
    assert_eq!(error.code(), "unauthorized", "{error}");
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_once_and_a_dead_refresh_token_is_unauthorized() {
    let http = loopback_client();
    let account = create_bluesky_account(&http, "r").await;
    let AccountCredentials::Bluesky {
        did,
        handle,
        refresh_jwt,
        ..
    } = account.session.credentials()
    else {
        panic!("not Bluesky credentials");
    };
    let stale = AccountSession::new(
        &bluesky_pds_url(),
        AccountCredentials::Bluesky {
            did: did.clone(),
            handle: handle.clone(),
            access_jwt: "eyJhbGciOiJIUzI1NiJ9.garbage.garbage".to_owned(),
            refresh_jwt: refresh_jwt.clone(),
        },
    );
    let profile = BlueskyClient::new(&http, &stale)
        .get_session()
        .await
        .unwrap();
    assert_eq!(profile.did, did);
    let Some(AccountCredentials::Bluesky {
        access_jwt: new_access,
        refresh_jwt: new_refresh,
        ..
    }) = stale.take_refreshed()
    else {
        panic!("the refreshed session was not handed back");
    };
    assert!(new_access.starts_with("ey") && new_access != "eyJhbGciOiJIUzI1NiJ9.garbage.garbage");
    assert_ne!(new_refresh, refresh_jwt, "the refresh token rotates");
    // The rotated session works without another refresh.
    BlueskyClient::new(&http, &stale)
        .get_session()
        .await
        .unwrap();
    assert_eq!(stale.take_refreshed(), None);

    let dead = AccountSession::new(
        &bluesky_pds_url(),
        AccountCredentials::Bluesky {
            did,
            handle,
            access_jwt: "garbage".to_owned(),
            refresh_jwt: "also-garbage".to_owned(),
        },
    );
    let error = BlueskyClient::new(&http, &dead)
        .get_session()
        .await
        .unwrap_err();
    assert_eq!(error.code(), "unauthorized", "{error}");
}

#[tokio::test]
async fn posts_carry_byte_offset_facets_and_search_finds_them() {
    let http = loopback_client();
    let author = create_bluesky_account(&http, "a").await;
    let friend = create_bluesky_account(&http, "f").await;
    let word = unique_word("w");
    let text = format!(
        "Probé el café ☕ {word} con @{} y @nadie.invalid #CaféAurora: https://aurora.example/menú.",
        friend.handle
    );
    let created = post(&author, &http, &text, None).await;
    assert!(
        created
            .uri
            .starts_with(&format!("at://{}/app.bsky.feed.post/", author.did))
    );

    let stored = thread(&http, &author, &created.uri).await;
    let record = stored.post.post_record().unwrap();
    assert_eq!(record.text, text);
    assert_eq!(record.langs, ["es"]);
    let slices: Vec<(&str, FacetFeature)> = record
        .facets
        .iter()
        .map(|facet| {
            (
                &text[facet.index.byte_start..facet.index.byte_end],
                facet.features[0].clone(),
            )
        })
        .collect();
    let mention = format!("@{}", friend.handle);
    assert_eq!(
        slices,
        vec![
            (
                mention.as_str(),
                FacetFeature::Mention {
                    did: friend.did.clone()
                }
            ),
            (
                "#CaféAurora",
                FacetFeature::Tag {
                    tag: "CaféAurora".to_owned()
                }
            ),
            (
                "https://aurora.example/menú",
                FacetFeature::Link {
                    uri: "https://aurora.example/menú".to_owned()
                }
            ),
        ],
        "the unresolvable handle gets no facet"
    );
    // The detector found the same places, the unresolvable mention included.
    let detected = detect_facets(&text);
    assert_eq!(detected.len(), 4);
    assert_eq!(
        detected[1].target,
        FacetTarget::Mention("nadie.invalid".to_owned())
    );

    wait_for_search(&http, &friend, &word, 1).await;
    let page = BlueskyClient::new(&http, &friend.session)
        .search_posts(&SearchQuery {
            q: word.clone(),
            limit: Some(10),
            ..SearchQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.posts.len(), 1);
    assert_eq!(page.posts[0].uri, created.uri);
    assert_eq!(page.posts[0].author.handle, author.handle);
}

#[tokio::test]
async fn search_kind_returns_each_post_once() {
    let http = loopback_client();
    let author = create_bluesky_account(&http, "p").await;
    let listener = create_bluesky_account(&http, "l").await;
    let word = unique_word("q");
    post(
        &author,
        &http,
        &format!("Primer café {word} de la mañana"),
        None,
    )
    .await;
    post(
        &author,
        &http,
        &format!("Segundo {word}, ahora con tostadas"),
        None,
    )
    .await;
    wait_for_search(&http, &listener, &word, 2).await;

    let search = TestSource::new(
        &http,
        &listener.session,
        "bluesky_search",
        serde_json::json!({ "query": word }),
    );
    let first = search.poll(None).await.unwrap();
    assert_eq!(
        sorted_texts(&first),
        [
            format!("Primer café {word} de la mañana"),
            format!("Segundo {word}, ahora con tostadas")
        ]
    );
    let item = &first.items[0];
    assert!(
        item.external_id.starts_with("at://"),
        "{}",
        item.external_id
    );
    assert!(
        item.url
            .as_deref()
            .unwrap()
            .starts_with(&format!("https://bsky.app/profile/{}/post/", author.handle))
    );
    assert_eq!(item.author.as_ref().unwrap().handle, author.handle);
    assert_eq!(item.lang_hint.as_deref(), Some("es"));
    let cursor = first.new_cursor.unwrap();

    let again = search.poll(Some(&cursor)).await.unwrap();
    assert!(again.items.is_empty(), "{:?}", sorted_texts(&again));
    let cursor = again.new_cursor.unwrap();

    post(&author, &http, &format!("Tercer {word} y último"), None).await;
    wait_for_search(&http, &listener, &word, 3).await;
    let third = search.poll(Some(&cursor)).await.unwrap();
    assert_eq!(sorted_texts(&third), [format!("Tercer {word} y último")]);

    // from_topics searches each topic term; a term without posts adds nothing.
    let topics = TestSource::new(
        &http,
        &listener.session,
        "bluesky_search",
        serde_json::json!({ "from_topics": true }),
    )
    .with_topic_terms(vec![word.clone(), unique_word("none")]);
    let by_topics = topics.poll(None).await.unwrap();
    assert_eq!(by_topics.items.len(), 3, "{:?}", sorted_texts(&by_topics));
    let cursor = by_topics.new_cursor.unwrap();
    let nothing_new = topics.poll(Some(&cursor)).await.unwrap();
    assert!(nothing_new.items.is_empty());
}

#[tokio::test]
async fn notifications_kind_returns_mentions_and_replies_once() {
    let http = loopback_client();
    let brand = create_bluesky_account(&http, "b").await;
    let fan = create_bluesky_account(&http, "c").await;
    let notifications = TestSource::new(
        &http,
        &brand.session,
        "bluesky_notifications",
        serde_json::json!({}),
    );

    let announcement = post(&brand, &http, "Abrimos nueva cafetería el lunes", None).await;
    post(
        &fan,
        &http,
        &format!("¡Qué ganas, @{}!", brand.handle),
        None,
    )
    .await;
    let parent = StrongRef {
        uri: announcement.uri.clone(),
        cid: announcement.cid.clone(),
    };
    post(
        &fan,
        &http,
        "¿Abrís también los domingos?",
        Some(ReplyRef {
            root: parent.clone(),
            parent,
        }),
    )
    .await;

    let listener = BlueskyClient::new(&http, &brand.session);
    eventually("two notifications", || async {
        let page = listener.list_notifications(None, 50).await.unwrap();
        (page.notifications.len() >= 2).then_some(())
    })
    .await;
    let first = notifications.poll(None).await.unwrap();
    assert_eq!(
        sorted_texts(&first),
        [
            format!("¡Qué ganas, @{}!", brand.handle),
            "¿Abrís también los domingos?".to_owned(),
        ]
    );
    assert!(
        first
            .items
            .iter()
            .all(|item| item.author.as_ref().unwrap().handle == fan.handle)
    );
    let cursor = first.new_cursor.unwrap();
    let again = notifications.poll(Some(&cursor)).await.unwrap();
    assert!(again.items.is_empty(), "{:?}", sorted_texts(&again));
    let cursor = again.new_cursor.unwrap_or(cursor);

    post(
        &fan,
        &http,
        &format!("Ya estoy en la cola, @{}", brand.handle),
        None,
    )
    .await;
    eventually("the third notification", || async {
        let page = listener.list_notifications(None, 50).await.unwrap();
        (page.notifications.len() >= 3).then_some(())
    })
    .await;
    let third = notifications.poll(Some(&cursor)).await.unwrap();
    assert_eq!(
        sorted_texts(&third),
        [format!("Ya estoy en la cola, @{}", brand.handle)]
    );
}

#[tokio::test]
async fn a_reply_threads_under_its_parent() {
    let http = loopback_client();
    let brand = create_bluesky_account(&http, "t").await;
    let customer = create_bluesky_account(&http, "u").await;
    let question = post(&customer, &http, "¿Tenéis leche de avena?", None).await;
    let answer = post(
        &brand,
        &http,
        "¡Sí! Y también de almendra 🥛",
        Some(ReplyRef {
            root: question.clone(),
            parent: question.clone(),
        }),
    )
    .await;

    let root = eventually("the reply under the question", || async {
        let root = thread(&http, &customer, &question.uri).await;
        (!root.replies.is_empty()).then_some(root)
    })
    .await;
    let ThreadNode::Post(reply) = &root.replies[0] else {
        panic!("the reply is not a post: {:?}", root.replies[0]);
    };
    assert_eq!(reply.post.uri, answer.uri);
    assert_eq!(reply.post.author.did, brand.did);
    let record = reply.post.post_record().unwrap();
    assert_eq!(record.reply.unwrap().parent.uri, question.uri);

    let leaf = thread(&http, &brand, &answer.uri).await;
    let Some(ThreadNode::Post(parent)) = &leaf.parent else {
        panic!("no parent: {:?}", leaf.parent);
    };
    assert_eq!(parent.post.uri, question.uri);

    // Deleting the answer removes it from the thread.
    BlueskyClient::new(&http, &brand.session)
        .delete_post(&answer.uri)
        .await
        .unwrap();
    eventually("the deleted reply gone", || async {
        let root = thread(&http, &customer, &question.uri).await;
        root.replies.is_empty().then_some(())
    })
    .await;
}

/// `@atproto/dev-env`'s published HMAC secret for the PDS's session JWTs (its
/// `const.js`): lets the test mint an access token that expired an hour ago.
const DEV_ENV_JWT_SECRET: &[u8] = b"jwt-secret";

/// The same access token with `iat`/`exp` an hour in the past, re-signed.
fn expired_copy(access_jwt: &str) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac::Mac as _;
    let mut parts = access_jwt.split('.');
    let (header, payload) = (parts.next().unwrap(), parts.next().unwrap());
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    claims["iat"] = (now - 7200).into();
    claims["exp"] = (now - 3600).into();
    let signing_input = format!(
        "{header}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap())
    );
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(DEV_ENV_JWT_SECRET).unwrap();
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

#[tokio::test]
async fn a_truly_expired_access_token_answers_expired_token_and_is_refreshed() {
    let http = loopback_client();
    let account = create_bluesky_account(&http, "x").await;
    let AccountCredentials::Bluesky {
        did,
        handle,
        access_jwt,
        refresh_jwt,
    } = account.session.credentials()
    else {
        panic!("not Bluesky credentials");
    };
    let expired = expired_copy(&access_jwt);
    // The PDS itself says ExpiredToken (400), which is what triggers the refresh.
    let url = format!("{}/xrpc/com.atproto.server.getSession", bluesky_pds_url());
    let bearer = reqwest::header::HeaderValue::from_str(&format!("Bearer {expired}")).unwrap();
    let headers = [(reqwest::header::AUTHORIZATION, bearer)];
    let response = http.send(ApiRequest::get(&url, &headers)).await.unwrap();
    assert_eq!(
        (
            response.status,
            bluesky::xrpc_error_name(&response.body).as_deref()
        ),
        (400, Some("ExpiredToken")),
        "{}",
        String::from_utf8_lossy(&response.body)
    );

    let session = AccountSession::new(
        &bluesky_pds_url(),
        AccountCredentials::Bluesky {
            did: did.clone(),
            handle,
            access_jwt: expired,
            refresh_jwt,
        },
    );
    let word = unique_word("e");
    let created = BlueskyClient::new(&http, &session)
        .create_post(&NewPost {
            text: format!("Publicado tras renovar la sesión {word}"),
            ..NewPost::default()
        })
        .await
        .unwrap();
    assert!(
        session.take_refreshed().is_some(),
        "the rotated session is handed back to be saved"
    );
    assert!(created.uri.starts_with(&format!("at://{did}/")));
}
