//! Listening: topics, sources, mentions (dedupe, filters, full text, pagination,
//! daily counts, corrections) and saved views.

use atalaya_domain::{
    MatchSpan, MentionId, SentimentLabel, SourceHealth, SourceId, Timestamp, TopicHit, TopicId,
    TopicKind, UserId, WorkspaceId,
};
use atalaya_store::{
    AuthorCache, InsertOutcome, MentionFilter, NewAuthor, NewMention, NewSource, NewTopic, NewUser,
    PollFailure, Store, StoreError,
};
use serde_json::json;

on_every_backend!(
    topics_crud_version_and_order,
    sources_lifecycle_and_schedule,
    insert_batch_is_idempotent,
    canonical_url_dedupes_across_sources,
    filters_each_narrow,
    full_text_is_accent_insensitive,
    keyset_pagination_walks_every_mention_once,
    daily_counts_per_topic,
    histograms_equal_a_recount_of_the_rows,
    authors_are_found_by_handle_or_name,
    sentiment_correction_keeps_the_model_label,
    a_failed_batch_leaves_nothing_and_a_retry_writes_once,
    the_author_cache_serves_no_stale_author,
    a_bulk_batch_spanning_many_statements_stores_each_row_once,
    deleting_a_topic_keeps_its_mentions,
    saved_views_round_trip,
);

pub(crate) const DAY: i64 = 86_400_000;
/// 2026-01-10 00:00:00 UTC.
pub(crate) const T0: i64 = 1_768_003_200_000;

pub(crate) async fn workspace(store: &Store, slug: &str) -> WorkspaceId {
    store
        .workspaces()
        .create(slug, slug, false)
        .await
        .unwrap()
        .id
}

async fn topic(store: &Store, workspace: WorkspaceId, name: &str, kind: TopicKind) -> TopicId {
    let new = NewTopic {
        name,
        kind,
        query: name,
        color: "#aa5500",
        active: true,
    };
    store
        .topics()
        .create(workspace, new, Timestamp(T0))
        .await
        .unwrap()
        .id
}

pub(crate) async fn source(
    store: &Store,
    workspace: WorkspaceId,
    kind: &str,
    name: &str,
) -> SourceId {
    let new = NewSource {
        account_id: None,
        kind,
        name,
        config: json!({}),
        sealed_secret: None,
        enabled: true,
    };
    store
        .sources()
        .create(workspace, new, Timestamp(T0))
        .await
        .unwrap()
        .id
}

async fn user(store: &Store, username: &str) -> UserId {
    let new = NewUser {
        username,
        email: &format!("{username}@example.org"),
        display_name: username,
        password_hash: "$argon2id$fake-hash",
        is_instance_admin: false,
    };
    store.users().create(new).await.unwrap().id
}

/// A mention with plain defaults; tests override what they look at.
pub(crate) fn mention<'a>(
    source_id: SourceId,
    external_id: &'a str,
    text: &'a str,
    topics: &'a [TopicHit],
) -> NewMention<'a> {
    NewMention {
        source_id,
        external_id,
        url: None,
        canonical_url: None,
        title: None,
        text,
        content_raw: text,
        author: None,
        lang: "es",
        lang_confidence: 0.9,
        sentiment: SentimentLabel::Neutral,
        sentiment_score: 0.0,
        sentiment_confidence: 0.5,
        topics,
        published_at: Timestamp(T0),
    }
}

pub(crate) fn hit(topic_id: TopicId, start: usize, end: usize) -> TopicHit {
    TopicHit {
        topic_id,
        spans: vec![MatchSpan { start, end }],
    }
}

fn filter() -> MentionFilter {
    MentionFilter {
        limit: 100,
        ..MentionFilter::default()
    }
}

async fn texts(store: &Store, workspace: WorkspaceId, filter: &MentionFilter) -> Vec<String> {
    let mentions = store.mentions().list(workspace, filter).await.unwrap();
    assert_eq!(
        store.mentions().count(workspace, filter).await.unwrap(),
        mentions.len() as i64,
        "count agrees with list"
    );
    mentions.into_iter().map(|mention| mention.text).collect()
}

async fn topics_crud_version_and_order(store: Store) {
    let ws = workspace(&store, "aurora").await;
    let other = workspace(&store, "other").await;
    assert_eq!(store.topics().version(ws).await.unwrap(), 0);
    let rival = topic(&store, ws, "Rival", TopicKind::Competitor).await;
    let brand = topic(&store, ws, "Aurora", TopicKind::Brand).await;
    topic(&store, ws, "Beans", TopicKind::Product).await;
    let after_creates = store.topics().version(ws).await.unwrap();
    assert!(after_creates > 0);
    assert_eq!(
        store.topics().version(other).await.unwrap(),
        0,
        "versions are per workspace"
    );

    let names: Vec<String> = store
        .topics()
        .list(ws)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(
        names,
        ["Aurora", "Beans", "Rival"],
        "brand, product, competitor"
    );

    let duplicate = NewTopic {
        name: "Aurora",
        kind: TopicKind::Brand,
        query: "x",
        color: "#000000",
        active: true,
    };
    assert!(matches!(
        store.topics().create(ws, duplicate, Timestamp(T0)).await,
        Err(StoreError::Conflict { what: "topic_name" })
    ));
    assert!(
        store
            .topics()
            .create(other, duplicate, Timestamp(T0))
            .await
            .is_ok(),
        "names are per workspace"
    );

    let changed = NewTopic {
        name: "Aurora café",
        kind: TopicKind::Brand,
        query: "aurora OR café",
        color: "#112233",
        active: false,
    };
    let updated = store
        .topics()
        .update(ws, brand, changed, Timestamp(T0 + 5))
        .await
        .unwrap();
    assert_eq!(
        (updated.query.as_str(), updated.active, updated.updated_at),
        ("aurora OR café", false, Timestamp(T0 + 5))
    );
    assert_eq!(store.topics().get(ws, brand).await.unwrap(), Some(updated));
    assert!(store.topics().version(ws).await.unwrap() > after_creates);
    assert!(matches!(
        store
            .topics()
            .update(other, brand, changed, Timestamp(T0))
            .await,
        Err(StoreError::NotFound { .. })
    ));

    let before_delete = store.topics().version(ws).await.unwrap();
    store.topics().delete(ws, rival).await.unwrap();
    assert!(store.topics().version(ws).await.unwrap() > before_delete);
    assert_eq!(store.topics().get(ws, rival).await.unwrap(), None);
    assert!(matches!(
        store.topics().delete(ws, rival).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn sources_lifecycle_and_schedule(store: Store) {
    let ws = workspace(&store, "aurora").await;
    let feed = store
        .sources()
        .create(
            ws,
            NewSource {
                account_id: None,
                kind: "rss",
                name: "Blog",
                config: json!({"url": "https://blog.example/feed"}),
                sealed_secret: Some(b"sealed"),
                enabled: true,
            },
            Timestamp(T0),
        )
        .await
        .unwrap();
    assert_eq!(
        (feed.health, feed.has_secret, feed.next_poll_at),
        (SourceHealth::Pending, true, Some(Timestamp(T0)))
    );
    let hook = store
        .sources()
        .create(
            ws,
            NewSource {
                account_id: None,
                kind: "webhook",
                name: "Hook",
                config: json!({"token_hash": "abc123"}),
                sealed_secret: None,
                enabled: true,
            },
            Timestamp(T0),
        )
        .await
        .unwrap();
    assert_eq!(hook.next_poll_at, None, "push sources are never polled");
    assert_eq!(
        store
            .sources()
            .find_by_webhook_token("abc123")
            .await
            .unwrap()
            .map(|s| s.id),
        Some(hook.id)
    );
    assert_eq!(
        store.sources().find_by_webhook_token("nope").await.unwrap(),
        None
    );

    assert_eq!(
        store
            .sources()
            .sealed_secret(feed.id)
            .await
            .unwrap()
            .as_deref(),
        Some(&b"sealed"[..])
    );
    store
        .sources()
        .set_sealed_secret(feed.id, None)
        .await
        .unwrap();
    assert_eq!(store.sources().sealed_secret(feed.id).await.unwrap(), None);

    let due: Vec<SourceId> = store
        .sources()
        .due(Timestamp(T0), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(due, [feed.id]);
    store
        .sources()
        .record_failure(
            feed.id,
            &PollFailure {
                code: "timeout",
                message: "no answer in 30 s",
                health: SourceHealth::Failing,
            },
            Timestamp(T0 + 1),
            Timestamp(T0 + 60_000),
        )
        .await
        .unwrap();
    let failing = store.sources().get(ws, feed.id).await.unwrap().unwrap();
    assert_eq!(
        (
            failing.health,
            failing.consecutive_failures,
            failing.last_error_code.as_deref()
        ),
        (SourceHealth::Failing, 1, Some("timeout"))
    );
    assert!(
        store
            .sources()
            .due(Timestamp(T0 + 59_999), 10)
            .await
            .unwrap()
            .is_empty(),
        "backed off"
    );

    store
        .sources()
        .record_success(
            feed.id,
            Some("etag-1"),
            4,
            Timestamp(T0 + 60_000),
            Timestamp(T0 + 120_000),
        )
        .await
        .unwrap();
    store
        .sources()
        .record_success(
            feed.id,
            None,
            0,
            Timestamp(T0 + 120_000),
            Timestamp(T0 + 180_000),
        )
        .await
        .unwrap();
    let ok = store.sources().get(ws, feed.id).await.unwrap().unwrap();
    assert_eq!(
        (ok.health, ok.consecutive_failures, ok.last_error),
        (SourceHealth::Ok, 0, None)
    );
    assert_eq!(
        store.sources().cursor(feed.id).await.unwrap().as_deref(),
        Some("etag-1"),
        "None keeps the cursor"
    );

    let renamed = store
        .sources()
        .update(
            ws,
            feed.id,
            "Blog (new)",
            json!({"url": "https://blog.example/atom"}),
            Timestamp(T0),
        )
        .await
        .unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.config["url"].as_str()),
        ("Blog (new)", Some("https://blog.example/atom"))
    );

    store
        .sources()
        .set_enabled(ws, feed.id, false)
        .await
        .unwrap();
    assert_eq!(
        store
            .sources()
            .get(ws, feed.id)
            .await
            .unwrap()
            .unwrap()
            .health,
        SourceHealth::Disabled
    );
    assert!(
        store
            .sources()
            .due(Timestamp(i64::MAX / 2), 10)
            .await
            .unwrap()
            .is_empty()
    );
    store
        .sources()
        .set_enabled(ws, feed.id, true)
        .await
        .unwrap();
    assert_eq!(
        store
            .sources()
            .due(Timestamp(i64::MAX / 2), 10)
            .await
            .unwrap()
            .len(),
        1
    );

    store.sources().archive(ws, hook.id).await.unwrap();
    let listed: Vec<SourceId> = store
        .sources()
        .list(ws)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, [feed.id], "archived sources are hidden");
    assert_eq!(
        store
            .sources()
            .find_by_webhook_token("abc123")
            .await
            .unwrap(),
        None
    );
    assert!(
        store.sources().get(ws, hook.id).await.unwrap().is_some(),
        "but their mentions can still name them"
    );
}

async fn insert_batch_is_idempotent(store: Store) {
    let ws = workspace(&store, "aurora").await;
    let brand = topic(&store, ws, "Aurora", TopicKind::Brand).await;
    let src = source(&store, ws, "import", "Import").await;
    let hits = [hit(brand, 0, 6)];
    let author = NewAuthor {
        network: "import",
        handle: "@ana",
        name: Some("Ana"),
        followers: Some(120),
        profile_url: Some("https://social.example/@ana"),
    };
    let batch = [
        NewMention {
            author: Some(author),
            ..mention(src, "1", "Aurora abrió otra tienda", &hits)
        },
        NewMention {
            author: Some(author),
            ..mention(src, "2", "Aurora tiene buen café", &hits)
        },
        mention(src, "3", "Sin marca aquí", &[]),
        mention(
            src,
            "1",
            "Aurora abrió otra tienda (repetida en el lote)",
            &hits,
        ),
    ];
    let first = store
        .mentions()
        .insert_batch(ws, &batch, Timestamp(T0))
        .await
        .unwrap();
    assert_eq!(
        first,
        InsertOutcome {
            inserted: 3,
            duplicates: 1
        }
    );
    let snapshot = store.mentions().list(ws, &filter()).await.unwrap();
    let source_total = store
        .sources()
        .get(ws, src)
        .await
        .unwrap()
        .unwrap()
        .mentions_total;
    assert_eq!(source_total, 3);

    let second = store
        .mentions()
        .insert_batch(ws, &batch, Timestamp(T0 + DAY))
        .await
        .unwrap();
    assert_eq!(
        second,
        InsertOutcome {
            inserted: 0,
            duplicates: 4
        }
    );
    assert_eq!(
        store.mentions().list(ws, &filter()).await.unwrap(),
        snapshot,
        "nothing changed"
    );
    assert_eq!(
        store
            .sources()
            .get(ws, src)
            .await
            .unwrap()
            .unwrap()
            .mentions_total,
        source_total
    );

    let with_author = snapshot.iter().find(|m| m.external_id == "2").unwrap();
    let stored_author = with_author.author.as_ref().unwrap();
    assert_eq!(
        (stored_author.handle.as_str(), stored_author.followers),
        ("@ana", Some(120))
    );
    assert_eq!(with_author.topics, vec![hit(brand, 0, 6)]);
    let same_author = snapshot
        .iter()
        .find(|m| m.external_id == "1")
        .unwrap()
        .author
        .as_ref()
        .unwrap()
        .id;
    assert_eq!(stored_author.id, same_author, "one author row per handle");
}

async fn canonical_url_dedupes_across_sources(store: Store) {
    let ws = workspace(&store, "aurora").await;
    let other_ws = workspace(&store, "other").await;
    let feed = source(&store, ws, "rss", "Feed").await;
    let hook = source(&store, ws, "webhook", "Hook").await;
    let other_feed = source(&store, other_ws, "rss", "Feed").await;
    let url = Some("https://news.example/story");
    let from_feed = [NewMention {
        canonical_url: url,
        ..mention(feed, "guid-1", "Una noticia", &[])
    }];
    let from_hook = [NewMention {
        canonical_url: url,
        ..mention(hook, "hook-9", "La misma noticia", &[])
    }];
    let elsewhere = [NewMention {
        canonical_url: url,
        ..mention(other_feed, "guid-1", "Una noticia", &[])
    }];
    assert_eq!(
        store
            .mentions()
            .insert_batch(ws, &from_feed, Timestamp(T0))
            .await
            .unwrap()
            .inserted,
        1
    );
    assert_eq!(
        store
            .mentions()
            .insert_batch(ws, &from_hook, Timestamp(T0))
            .await
            .unwrap(),
        InsertOutcome {
            inserted: 0,
            duplicates: 1
        }
    );
    assert_eq!(
        store
            .mentions()
            .insert_batch(other_ws, &elsewhere, Timestamp(T0))
            .await
            .unwrap()
            .inserted,
        1,
        "per workspace"
    );
    assert_eq!(texts(&store, ws, &filter()).await, ["Una noticia"]);
}

/// Seeds a workspace with mentions that differ in one dimension each.
async fn seeded(store: &Store) -> (WorkspaceId, TopicId, SourceId, SourceId) {
    let ws = workspace(store, "aurora").await;
    let brand = topic(store, ws, "Aurora", TopicKind::Brand).await;
    let feed = source(store, ws, "rss", "Feed").await;
    let hook = source(store, ws, "webhook", "Hook").await;
    let brand_hits = [hit(brand, 0, 6)];
    let luis = NewAuthor {
        network: "webhook",
        handle: "@luis",
        name: None,
        followers: None,
        profile_url: None,
    };
    let batch = [
        NewMention {
            published_at: Timestamp(T0),
            ..mention(
                feed,
                "a",
                "Aurora sirve el mejor Café de la ciudad",
                &brand_hits,
            )
        },
        NewMention {
            lang: "en",
            sentiment: SentimentLabel::Negative,
            published_at: Timestamp(T0 + DAY),
            ..mention(feed, "b", "The coffee was cold today", &[])
        },
        NewMention {
            sentiment: SentimentLabel::Positive,
            author: Some(luis),
            published_at: Timestamp(T0 + 2 * DAY),
            ..mention(hook, "c", "Qué rico el cafe de Aurora", &brand_hits)
        },
    ];
    store
        .mentions()
        .insert_batch(ws, &batch, Timestamp(T0))
        .await
        .unwrap();
    (ws, brand, feed, hook)
}

async fn filters_each_narrow(store: Store) {
    let (ws, brand, feed, hook) = seeded(&store).await;
    let all = [
        "Qué rico el cafe de Aurora",
        "The coffee was cold today",
        "Aurora sirve el mejor Café de la ciudad",
    ];
    let check = |filter: MentionFilter, expected: Vec<&'static str>| {
        let store = store.clone();
        async move { assert_eq!(texts(&store, ws, &filter).await, expected, "{filter:?}") }
    };
    check(filter(), all.to_vec()).await;
    check(
        MentionFilter {
            topic: Some(brand),
            ..filter()
        },
        vec![all[0], all[2]],
    )
    .await;
    check(
        MentionFilter {
            source: Some(feed),
            ..filter()
        },
        vec![all[1], all[2]],
    )
    .await;
    check(
        MentionFilter {
            source: Some(hook),
            ..filter()
        },
        vec![all[0]],
    )
    .await;
    check(
        MentionFilter {
            lang: Some("en".into()),
            ..filter()
        },
        vec![all[1]],
    )
    .await;
    check(
        MentionFilter {
            sentiment: Some(SentimentLabel::Negative),
            ..filter()
        },
        vec![all[1]],
    )
    .await;
    check(
        MentionFilter {
            from: Some(Timestamp(T0 + DAY)),
            ..filter()
        },
        vec![all[0], all[1]],
    )
    .await;
    check(
        MentionFilter {
            to: Some(Timestamp(T0 + DAY)),
            ..filter()
        },
        vec![all[2]],
    )
    .await;
    check(
        MentionFilter {
            author: Some("@luis".into()),
            ..filter()
        },
        vec![all[0]],
    )
    .await;
    check(
        MentionFilter {
            author: Some("@nadie".into()),
            ..filter()
        },
        vec![],
    )
    .await;
    check(
        MentionFilter {
            topic: Some(brand),
            sentiment: Some(SentimentLabel::Positive),
            ..filter()
        },
        vec![all[0]],
    )
    .await;
    assert_eq!(
        store
            .mentions()
            .sentiment_counts(ws, &filter())
            .await
            .unwrap(),
        [1, 1, 1]
    );
    assert_eq!(
        store
            .mentions()
            .sentiment_counts(
                ws,
                &MentionFilter {
                    topic: Some(brand),
                    ..filter()
                }
            )
            .await
            .unwrap(),
        [0, 1, 1]
    );
}

async fn full_text_is_accent_insensitive(store: Store) {
    let (ws, ..) = seeded(&store).await;
    let check = |search: &'static str, expected: Vec<&'static str>| {
        let store = store.clone();
        async move {
            let filter = MentionFilter {
                search: Some(search.to_owned()),
                ..filter()
            };
            assert_eq!(
                texts(&store, ws, &filter).await,
                expected,
                "search {search:?}"
            );
        }
    };
    check(
        "cafe",
        vec![
            "Qué rico el cafe de Aurora",
            "Aurora sirve el mejor Café de la ciudad",
        ],
    )
    .await;
    check(
        "CAFÉ",
        vec![
            "Qué rico el cafe de Aurora",
            "Aurora sirve el mejor Café de la ciudad",
        ],
    )
    .await;
    check("que rico", vec!["Qué rico el cafe de Aurora"]).await;
    // Punctuation around words is no phrase: the index keeps no positions.
    check("¿qué, rico?", vec!["Qué rico el cafe de Aurora"]).await;
    check("rico-cafe", vec!["Qué rico el cafe de Aurora"]).await;
    check("coffee cold", vec!["The coffee was cold today"]).await;
    check("coffee ciudad", vec![]).await;
    check("\"unbalanced OR *", vec![]).await;
}

async fn keyset_pagination_walks_every_mention_once(store: Store) {
    let ws = workspace(&store, "aurora").await;
    let src = source(&store, ws, "import", "Import").await;
    let ids: Vec<String> = (0..25).map(|index| format!("m{index}")).collect();
    // Pairs share a timestamp so the id breaks ties.
    let batch: Vec<NewMention<'_>> = ids
        .iter()
        .enumerate()
        .map(|(index, id)| NewMention {
            published_at: Timestamp(T0 + (index as i64 / 2) * 1000),
            ..mention(src, id, id, &[])
        })
        .collect();
    store
        .mentions()
        .insert_batch(ws, &batch, Timestamp(T0))
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut page_filter = MentionFilter {
        limit: 7,
        ..MentionFilter::default()
    };
    loop {
        let page = store.mentions().list(ws, &page_filter).await.unwrap();
        let Some(last) = page.last() else { break };
        page_filter.before = Some((last.published_at, last.id));
        seen.extend(page.iter().map(|m| (m.published_at, m.id, m.text.clone())));
    }
    assert_eq!(seen.len(), 25);
    let mut sorted = seen.clone();
    sorted.sort_by_key(|m| std::cmp::Reverse((m.0, m.1)));
    assert_eq!(seen, sorted, "newest first, no repeats");
    let distinct: std::collections::HashSet<MentionId> = seen.iter().map(|m| m.1).collect();
    assert_eq!(distinct.len(), 25);
}

async fn daily_counts_per_topic(store: Store) {
    let ws = workspace(&store, "aurora").await;
    let brand = topic(&store, ws, "Aurora", TopicKind::Brand).await;
    let rival = topic(&store, ws, "Rival", TopicKind::Competitor).await;
    let src = source(&store, ws, "import", "Import").await;
    let both = [hit(brand, 0, 1), hit(rival, 2, 3)];
    let only_brand = [hit(brand, 0, 1)];
    let batch = [
        NewMention {
            published_at: Timestamp(T0 + 10),
            ..mention(src, "1", "a b c", &both)
        },
        NewMention {
            published_at: Timestamp(T0 + DAY - 1),
            ..mention(src, "2", "a b c", &only_brand)
        },
        NewMention {
            published_at: Timestamp(T0 + DAY),
            ..mention(src, "3", "a b c", &only_brand)
        },
        NewMention {
            published_at: Timestamp(T0 + 5 * DAY),
            ..mention(src, "4", "a b c", &only_brand)
        },
    ];
    store
        .mentions()
        .insert_batch(ws, &batch, Timestamp(T0))
        .await
        .unwrap();
    let counts: Vec<(String, TopicId, i64)> = store
        .mentions()
        .daily_counts(ws, Timestamp(T0), Timestamp(T0 + 5 * DAY))
        .await
        .unwrap()
        .into_iter()
        .map(|count| (count.day, count.topic_id, count.count))
        .collect();
    assert_eq!(
        counts,
        [
            ("2026-01-10".to_owned(), brand, 2),
            ("2026-01-10".to_owned(), rival, 1),
            ("2026-01-11".to_owned(), brand, 1)
        ]
    );
}

async fn histograms_equal_a_recount_of_the_rows(store: Store) {
    let ws = workspace(&store, "aurora").await;
    let brand = topic(&store, ws, "Aurora", TopicKind::Brand).await;
    let rival = topic(&store, ws, "Rival", TopicKind::Competitor).await;
    let src = source(&store, ws, "import", "Import").await;
    let both = [hit(brand, 0, 1), hit(rival, 2, 3)];
    let only_brand = [hit(brand, 0, 1)];
    let labels = [
        SentimentLabel::Negative,
        SentimentLabel::Neutral,
        SentimentLabel::Positive,
    ];
    // 60 mentions spread over three days at uneven minutes, a third of each label.
    let ids: Vec<String> = (0..60).map(|n| format!("h{n}")).collect();
    let batch: Vec<NewMention<'_>> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| {
            let n = i64::try_from(n).unwrap();
            NewMention {
                sentiment: labels[usize::try_from(n % 3).unwrap()],
                published_at: Timestamp(T0 + n * 73 * 60_000),
                ..mention(
                    src,
                    id,
                    "a b c",
                    if n % 4 == 0 { &both } else { &only_brand },
                )
            }
        })
        .collect();
    store
        .mentions()
        .insert_batch(ws, &batch, Timestamp(T0))
        .await
        .unwrap();
    let hour = 3_600_000;
    let window = MentionFilter {
        from: Some(Timestamp(T0 + hour)),
        to: Some(Timestamp(T0 + 2 * DAY)),
        ..filter()
    };
    let in_window = |at: i64| at >= T0 + hour && at < T0 + 2 * DAY;
    // The same counts, recomputed from the batch itself.
    let mut expected_sentiment = std::collections::BTreeMap::new();
    let mut expected_topics = std::collections::BTreeMap::new();
    for new in &batch {
        let at = new.published_at.millis();
        if !in_window(at) {
            continue;
        }
        let bucket = at / hour * hour;
        *expected_sentiment
            .entry((bucket, new.sentiment.as_str()))
            .or_insert(0) += 1;
        for topic_hit in new.topics {
            *expected_topics
                .entry((bucket, topic_hit.topic_id.get()))
                .or_insert(0) += 1;
        }
    }
    let sentiment: std::collections::BTreeMap<(i64, &str), i64> = store
        .mentions()
        .sentiment_histogram(ws, &window, hour)
        .await
        .unwrap()
        .into_iter()
        .map(|bucket| {
            (
                (bucket.start.millis(), bucket.sentiment.as_str()),
                bucket.count,
            )
        })
        .collect();
    assert_eq!(sentiment, expected_sentiment);
    let topics: std::collections::BTreeMap<(i64, i64), i64> = store
        .mentions()
        .topic_histogram(ws, &window, hour)
        .await
        .unwrap()
        .into_iter()
        .map(|bucket| ((bucket.start.millis(), bucket.topic_id.get()), bucket.count))
        .collect();
    assert_eq!(topics, expected_topics);
    // A topic filter keeps only that topic's buckets.
    let rival_only = store
        .mentions()
        .topic_histogram(
            ws,
            &MentionFilter {
                topic: Some(rival),
                ..window.clone()
            },
            hour,
        )
        .await
        .unwrap();
    assert!(!rival_only.is_empty());
    assert!(rival_only.iter().all(|bucket| bucket.topic_id == rival));
    let negative_total: i64 = store
        .mentions()
        .sentiment_histogram(
            ws,
            &MentionFilter {
                sentiment: Some(SentimentLabel::Negative),
                ..window.clone()
            },
            15 * 60_000,
        )
        .await
        .unwrap()
        .iter()
        .map(|bucket| bucket.count)
        .sum();
    assert_eq!(
        negative_total,
        store
            .mentions()
            .count(
                ws,
                &MentionFilter {
                    sentiment: Some(SentimentLabel::Negative),
                    ..window
                }
            )
            .await
            .unwrap()
    );
}

async fn authors_are_found_by_handle_or_name(store: Store) {
    let ws = workspace(&store, "aurora").await;
    let other = workspace(&store, "other").await;
    let src = source(&store, ws, "webhook", "Hook").await;
    let elsewhere = source(&store, other, "webhook", "Hook").await;
    let author = |handle: &'static str, name: Option<&'static str>| NewAuthor {
        network: "webhook",
        handle,
        name,
        followers: Some(10),
        profile_url: None,
    };
    let batch = [
        NewMention {
            author: Some(author("@marta_gil", Some("Marta Gil"))),
            ..mention(src, "1", "uno", &[])
        },
        NewMention {
            author: Some(author("@marta_gil", Some("Marta Gil"))),
            ..mention(src, "2", "dos", &[])
        },
        NewMention {
            author: Some(author("@pablo", Some("Pablo MARTÍN"))),
            ..mention(src, "3", "tres", &[])
        },
        NewMention {
            author: Some(author("@100%_real", None)),
            ..mention(src, "4", "cuatro", &[])
        },
    ];
    store
        .mentions()
        .insert_batch(ws, &batch, Timestamp(T0))
        .await
        .unwrap();
    store
        .mentions()
        .insert_batch(
            other,
            &[NewMention {
                author: Some(author("@marta_other", None)),
                ..mention(elsewhere, "x", "fuera", &[])
            }],
            Timestamp(T0),
        )
        .await
        .unwrap();
    let found = |text: &str| {
        let store = store.clone();
        let text = text.to_owned();
        async move {
            store
                .mentions()
                .search_authors(ws, &text, 10)
                .await
                .unwrap()
                .into_iter()
                .map(|(author, count)| (author.handle, count))
                .collect::<Vec<_>>()
        }
    };
    // Most active first; names match too, case folded; other workspaces never.
    assert_eq!(
        found("MART").await,
        [("@marta_gil".to_owned(), 2), ("@pablo".to_owned(), 1)]
    );
    // `%` and `_` are literal characters, not wildcards.
    assert_eq!(found("0%_").await, [("@100%_real".to_owned(), 1)]);
    assert!(found("%").await.len() == 1);
    assert!(found("nobody").await.is_empty());
}

async fn sentiment_correction_keeps_the_model_label(store: Store) {
    let (ws, ..) = seeded(&store).await;
    let editor = user(&store, "editor").await;
    let coffee = store
        .mentions()
        .list(
            ws,
            &MentionFilter {
                lang: Some("en".into()),
                ..filter()
            },
        )
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        (
            coffee.sentiment,
            coffee.sentiment_model,
            coffee.sentiment_corrected
        ),
        (SentimentLabel::Negative, SentimentLabel::Negative, false)
    );
    store
        .mentions()
        .correct_sentiment(
            ws,
            coffee.id,
            SentimentLabel::Neutral,
            editor,
            Timestamp(T0 + 9),
        )
        .await
        .unwrap();
    let corrected = store.mentions().get(ws, coffee.id).await.unwrap().unwrap();
    assert_eq!(
        (
            corrected.sentiment,
            corrected.sentiment_model,
            corrected.sentiment_corrected
        ),
        (SentimentLabel::Neutral, SentimentLabel::Negative, true)
    );
    assert_eq!(
        store.mentions().corrections(ws).await.unwrap(),
        [(
            "The coffee was cold today".to_owned(),
            "en".to_owned(),
            SentimentLabel::Neutral
        )]
    );
    let negative = MentionFilter {
        sentiment: Some(SentimentLabel::Negative),
        ..filter()
    };
    assert_eq!(
        store.mentions().count(ws, &negative).await.unwrap(),
        0,
        "filters use the corrected label"
    );
    let other = workspace(&store, "other").await;
    assert!(matches!(
        store
            .mentions()
            .correct_sentiment(
                other,
                coffee.id,
                SentimentLabel::Positive,
                editor,
                Timestamp(T0)
            )
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn a_failed_batch_leaves_nothing_and_a_retry_writes_once(store: Store) {
    let ws = workspace(&store, "aurora").await;
    let brand = topic(&store, ws, "Aurora", TopicKind::Brand).await;
    let src = source(&store, ws, "import", "Import").await;
    let ids: Vec<String> = (0..40).map(|index| format!("row-{index}")).collect();
    let good = [hit(brand, 0, 1)];
    // Half-way through, a hit names a topic that does not exist (say, deleted while the
    // batch was being matched): the link insert fails after the mentions went in.
    let bad = [hit(TopicId(brand.get() + 1_000), 0, 1)];
    let failing: Vec<NewMention<'_>> = ids
        .iter()
        .enumerate()
        .map(|(index, id)| mention(src, id, "Aurora", if index == 20 { &bad } else { &good }))
        .collect();
    assert!(
        store
            .mentions()
            .insert_batch(ws, &failing, Timestamp(T0))
            .await
            .is_err()
    );
    assert_eq!(
        store.mentions().count(ws, &filter()).await.unwrap(),
        0,
        "rolled back"
    );
    assert_eq!(
        store
            .sources()
            .get(ws, src)
            .await
            .unwrap()
            .unwrap()
            .mentions_total,
        0
    );

    let retried: Vec<NewMention<'_>> = ids
        .iter()
        .map(|id| mention(src, id, "Aurora", &good))
        .collect();
    assert_eq!(
        store
            .mentions()
            .insert_batch(ws, &retried, Timestamp(T0))
            .await
            .unwrap(),
        InsertOutcome {
            inserted: 40,
            duplicates: 0
        }
    );
    assert_eq!(
        store
            .mentions()
            .insert_batch(ws, &retried, Timestamp(T0))
            .await
            .unwrap(),
        InsertOutcome {
            inserted: 0,
            duplicates: 40
        }
    );
    assert_eq!(store.mentions().count(ws, &filter()).await.unwrap(), 40);
    assert_eq!(
        store
            .mentions()
            .count(
                ws,
                &MentionFilter {
                    topic: Some(brand),
                    ..filter()
                }
            )
            .await
            .unwrap(),
        40
    );
}

/// The author of the one mention stored with `external_id`: (id, workspace, followers, name).
async fn stored_author(
    store: &Store,
    workspace: WorkspaceId,
    external_id: &str,
) -> Option<(i64, WorkspaceId, Option<i64>, Option<String>)> {
    let mentions = store.mentions().list(workspace, &filter()).await.unwrap();
    let found = mentions
        .into_iter()
        .find(|mention| mention.external_id == external_id)
        .unwrap();
    found.author.map(|author| {
        (
            author.id.get(),
            author.workspace_id,
            author.followers,
            author.name,
        )
    })
}

/// Stores one mention by `author` through `cache`.
async fn insert_by(
    store: &Store,
    cache: &mut AuthorCache,
    (workspace, source): (WorkspaceId, SourceId),
    external_id: &str,
    author: NewAuthor<'_>,
    topics: &[TopicHit],
) -> Result<InsertOutcome, StoreError> {
    let row = NewMention {
        author: Some(author),
        ..mention(source, external_id, "Aurora", topics)
    };
    store
        .mentions()
        .insert_batch_cached(workspace, &[row], Timestamp(T0), cache)
        .await
}

fn by<'a>(handle: &'a str, name: Option<&'a str>, followers: Option<i64>) -> NewAuthor<'a> {
    NewAuthor {
        network: "bluesky",
        handle,
        name,
        followers,
        profile_url: None,
    }
}

async fn the_author_cache_serves_no_stale_author(store: Store) {
    let first = workspace(&store, "aurora").await;
    let second = workspace(&store, "boreal").await;
    let first = (first, source(&store, first, "import", "Import").await);
    let second = (second, source(&store, second, "import", "Import").await);
    let mut cache = AuthorCache::new();

    insert_by(
        &store,
        &mut cache,
        first,
        "1",
        by("ana", Some("Ana"), Some(10)),
        &[],
    )
    .await
    .unwrap();
    assert_eq!(cache.len(), 1);
    let (ana_first, owner, _, _) = stored_author(&store, first.0, "1").await.unwrap();
    assert_eq!(owner, first.0);

    // The same handle in another workspace is another author.
    insert_by(&store, &mut cache, second, "2", by("ana", None, None), &[])
        .await
        .unwrap();
    let (ana_second, owner, followers, _) = stored_author(&store, second.0, "2").await.unwrap();
    assert_eq!(owner, second.0);
    assert_ne!(ana_second, ana_first);
    assert_eq!(followers, None);
    assert_eq!(cache.len(), 2);

    // Unchanged: served from the cache; a new value: upserted; an unstated one: kept.
    insert_by(
        &store,
        &mut cache,
        first,
        "3",
        by("ana", Some("Ana"), None),
        &[],
    )
    .await
    .unwrap();
    assert_eq!(
        stored_author(&store, first.0, "3").await,
        Some((ana_first, first.0, Some(10), Some("Ana".to_owned())))
    );
    insert_by(
        &store,
        &mut cache,
        first,
        "4",
        by("ana", None, Some(25)),
        &[],
    )
    .await
    .unwrap();
    assert_eq!(
        stored_author(&store, first.0, "4").await,
        Some((ana_first, first.0, Some(25), Some("Ana".to_owned())))
    );

    // A rolled-back batch leaves no author id behind in the cache.
    let missing_topic = [hit(TopicId(999_999), 0, 1)];
    assert!(
        insert_by(
            &store,
            &mut cache,
            first,
            "5",
            by("bruno", None, None),
            &missing_topic
        )
        .await
        .is_err()
    );
    assert!(cache.is_empty(), "a failure clears the cache");
    insert_by(
        &store,
        &mut cache,
        first,
        "5",
        by("bruno", None, Some(3)),
        &[],
    )
    .await
    .unwrap();
    let (bruno, owner, followers, _) = stored_author(&store, first.0, "5").await.unwrap();
    assert_eq!((owner, followers), (first.0, Some(3)));
    assert_ne!(bruno, ana_first);
}

async fn deleting_a_topic_keeps_its_mentions(store: Store) {
    let (ws, brand, ..) = seeded(&store).await;
    store.topics().delete(ws, brand).await.unwrap();
    let mentions = store.mentions().list(ws, &filter()).await.unwrap();
    assert_eq!(mentions.len(), 3);
    assert!(mentions.iter().all(|mention| mention.topics.is_empty()));
}

async fn saved_views_round_trip(store: Store) {
    let ws = workspace(&store, "aurora").await;
    let editor = user(&store, "editor").await;
    let negative = store
        .saved_views()
        .create(ws, editor, "Quejas", "sentiment=negative", Timestamp(T0))
        .await
        .unwrap();
    store
        .saved_views()
        .create(ws, editor, "English", "lang=en", Timestamp(T0))
        .await
        .unwrap();
    assert!(matches!(
        store
            .saved_views()
            .create(ws, editor, "Quejas", "x=y", Timestamp(T0))
            .await,
        Err(StoreError::Conflict {
            what: "saved_view_name"
        })
    ));
    let names: Vec<String> = store
        .saved_views()
        .list(ws)
        .await
        .unwrap()
        .into_iter()
        .map(|view| view.name)
        .collect();
    assert_eq!(names, ["English", "Quejas"]);
    assert_eq!(
        (negative.query_string.as_str(), negative.created_by),
        ("sentiment=negative", editor)
    );
    store.saved_views().delete(ws, negative.id).await.unwrap();
    assert!(matches!(
        store.saved_views().delete(ws, negative.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.saved_views().list(ws).await.unwrap().len(), 1);
}

/// A batch as big as the bulk import's (10,000 rows is the pipeline's default;
/// 2,345 already spans several multi-row statements for mentions, authors and
/// links): repeats inside the batch, rows already stored and shared canonical
/// URLs fall on statement boundaries, and every stored row keeps its own
/// author, topic link and search entry.
async fn a_bulk_batch_spanning_many_statements_stores_each_row_once(store: Store) {
    const ROWS: usize = 2_345;
    let ws = workspace(&store, "aurora").await;
    let brand = topic(&store, ws, "Aurora", TopicKind::Brand).await;
    let rival = topic(&store, ws, "Rival", TopicKind::Competitor).await;
    let src = source(&store, ws, "import", "Import").await;
    let brand_hits = [hit(brand, 0, 6)];
    let both_hits = [hit(brand, 0, 6), hit(rival, 7, 12)];
    let external_ids: Vec<String> = (0..ROWS).map(|index| format!("bulk-{index}")).collect();
    let texts: Vec<String> = (0..ROWS)
        .map(|index| format!("Aurora Rival pedido número{index} llegó tarde"))
        .collect();
    // Every 10th row links to the same article as the row before it.
    let shares_url = |index: usize| index > 0 && index.is_multiple_of(10);
    let urls: Vec<String> = (0..ROWS)
        .map(|index| {
            format!(
                "https://news.example/{}",
                index - usize::from(shares_url(index))
            )
        })
        .collect();
    let handles: Vec<String> = (0..ROWS)
        .map(|index| format!("@user{}", index % 700))
        .collect();
    let row = |index: usize| NewMention {
        url: Some(&urls[index]),
        canonical_url: Some(&urls[index]),
        author: Some(NewAuthor {
            network: "import",
            handle: &handles[index],
            name: None,
            followers: Some(index as i64 % 700),
            profile_url: None,
        }),
        published_at: Timestamp(T0 + index as i64),
        ..mention(
            src,
            &external_ids[index],
            &texts[index],
            if index.is_multiple_of(3) {
                &both_hits
            } else {
                &brand_hits
            },
        )
    };

    // Rows 1,001..=1,100 are stored first, so they come back as duplicates.
    let early: Vec<NewMention<'_>> = (1_001..=1_100).map(row).collect();
    let stored_early = store
        .mentions()
        .insert_batch(ws, &early, Timestamp(T0))
        .await
        .unwrap();
    assert_eq!(stored_early.inserted, 90, "10 of the 100 share a URL");

    let mut batch: Vec<NewMention<'_>> = (0..ROWS).map(row).collect();
    // The same items again inside the batch, near its end.
    batch.extend((498..503).map(row));
    let outcome = store
        .mentions()
        .insert_batch_cached(ws, &batch, Timestamp(T0), &mut AuthorCache::new())
        .await
        .unwrap();
    let unique_urls = ROWS - ROWS.div_ceil(10) + 1;
    assert_eq!(
        outcome,
        InsertOutcome {
            inserted: (unique_urls - 90) as u64,
            duplicates: (batch.len() - unique_urls + 90) as u64,
        }
    );
    let everything = MentionFilter {
        limit: 1_000,
        ..MentionFilter::default()
    };
    assert_eq!(
        store.mentions().count(ws, &everything).await.unwrap(),
        unique_urls as i64
    );
    let rival_only = MentionFilter {
        topic: Some(rival),
        ..everything.clone()
    };
    let expected_rival = (0..ROWS)
        .filter(|index| index.is_multiple_of(3) && !shares_url(*index))
        .count();
    assert_eq!(
        store.mentions().count(ws, &rival_only).await.unwrap(),
        expected_rival as i64
    );
    for index in [0, 499, 501, 1_099, 1_101, ROWS - 1] {
        let filter = MentionFilter {
            search: Some(format!("numero{index}")),
            ..everything.clone()
        };
        let found = store.mentions().list(ws, &filter).await.unwrap();
        assert_eq!(found.len(), 1, "row {index} is found once by its word");
        let found = &found[0];
        assert_eq!(found.external_id, external_ids[index]);
        assert_eq!(
            found.author.as_ref().map(|author| author.handle.as_str()),
            Some(handles[index].as_str())
        );
        let expected_topics = if index.is_multiple_of(3) { 2 } else { 1 };
        assert_eq!(found.topics.len(), expected_topics, "row {index}'s links");
    }
    assert_eq!(
        store
            .sources()
            .get(ws, src)
            .await
            .unwrap()
            .unwrap()
            .mentions_total,
        unique_urls as i64
    );
}

/// Stores mentions `n-{first}`..`n-{first + count - 1}` of `src` in one batch,
/// each linked to `topic` and searchable by the word "aurora".
async fn insert_numbered(
    store: &Store,
    ws: WorkspaceId,
    src: SourceId,
    topic: TopicId,
    first: usize,
    count: usize,
) -> InsertOutcome {
    let ids: Vec<String> = (first..first + count)
        .map(|index| format!("n-{index}"))
        .collect();
    let texts: Vec<String> = (first..first + count)
        .map(|index| format!("Aurora pedido {index}"))
        .collect();
    let hits = [hit(topic, 0, 6)];
    let rows: Vec<NewMention<'_>> = ids
        .iter()
        .zip(&texts)
        .map(|(id, text)| mention(src, id, text, &hits))
        .collect();
    store
        .mentions()
        .insert_batch(ws, &rows, Timestamp(T0))
        .await
        .unwrap()
}

/// Regression: on an in-memory database SQLite's native batch writer shares the
/// pool's database through a shared cache, whose table locks fail at once
/// instead of waiting. Reads running on other threads while batches are
/// written must neither fail nor make a batch fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_batches_and_concurrent_reads_do_not_collide() {
    let store = atalaya_store::testing::fresh_sqlite().await;
    let ws = workspace(&store, "aurora").await;
    let brand = topic(&store, ws, "Aurora", TopicKind::Brand).await;
    let src = source(&store, ws, "import", "Import").await;
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..100 {
                    store.mentions().list(ws, &filter()).await.unwrap();
                    store.mentions().count(ws, &filter()).await.unwrap();
                }
            })
        })
        .collect();
    for batch in 0..20 {
        let outcome = insert_numbered(&store, ws, src, brand, batch * 100, 100).await;
        assert_eq!(outcome.inserted, 100);
    }
    for reader in readers {
        reader.await.unwrap();
    }
    assert_eq!(store.mentions().count(ws, &filter()).await.unwrap(), 2_000);
}

/// Two stores on one SQLite file (as two processes would be) write batches at
/// the same time: each batch waits for the other's write lock instead of
/// failing, an item both of them bring is stored once, and the full-text index
/// and the source's counter agree with what was stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_sqlite_file_write_batches_side_by_side() {
    let (first, directory) = atalaya_store::testing::fresh_sqlite_file().await;
    let url = format!("sqlite://{}", directory.path().join("atalaya.db").display());
    let second = Store::connect(&url).await.unwrap();
    let ws = workspace(&first, "aurora").await;
    let brand = topic(&first, ws, "Aurora", TopicKind::Brand).await;
    let src = source(&first, ws, "import", "Import").await;
    // Both write n-0..n-1199; each brings 200 of them in every one of 6 batches.
    let writers: Vec<_> = [first.clone(), second.clone()]
        .into_iter()
        .map(|store| {
            tokio::spawn(async move {
                let mut total = InsertOutcome::default();
                for batch in 0..6 {
                    let outcome = insert_numbered(&store, ws, src, brand, batch * 200, 200).await;
                    total.inserted += outcome.inserted;
                    total.duplicates += outcome.duplicates;
                }
                total
            })
        })
        .collect();
    let mut inserted = 0;
    let mut duplicates = 0;
    for writer in writers {
        let outcome = writer.await.unwrap();
        inserted += outcome.inserted;
        duplicates += outcome.duplicates;
    }
    assert_eq!((inserted, duplicates), (1_200, 1_200));
    for store in [&first, &second] {
        assert_eq!(store.mentions().count(ws, &filter()).await.unwrap(), 1_200);
        let searched = MentionFilter {
            search: Some("aurora".into()),
            ..filter()
        };
        assert_eq!(store.mentions().count(ws, &searched).await.unwrap(), 1_200);
        let topic_only = MentionFilter {
            topic: Some(brand),
            ..filter()
        };
        assert_eq!(
            store.mentions().count(ws, &topic_only).await.unwrap(),
            1_200
        );
    }
    let stored = first.sources().get(ws, src).await.unwrap().unwrap();
    assert_eq!(stored.mentions_total, 1_200);
    second.close().await;
    first.close().await;
}
