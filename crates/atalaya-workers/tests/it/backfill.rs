//! The topic backfill end to end on a fresh store: mentions stored by the ingest
//! pipeline, a topic added afterwards, the job run by a real runner; the links
//! equal those the pipeline would have written had the topic existed, an edited
//! query drops its stale links, and a job stopped after one batch resumes.

use std::collections::BTreeMap;
use std::time::Duration;

use atalaya_connectors::IncomingMention;
use atalaya_connectors::webhook::parse_payload;
use atalaya_domain::{
    BackfillState, MatchSpan, Source, Timestamp, TopicBackfill, TopicId, TopicKind, WorkspaceId,
};
use atalaya_store::{BackfillRequest, MentionFilter, NewSource, NewTopic, Store};
use atalaya_workers::backfill::{BackfillHandler, Backfiller, Step};
use atalaya_workers::ingest::Pipeline;
use atalaya_workers::{Runner, RunnerConfig};
use serde_json::json;
use tokio_util::sync::CancellationToken;

on_both_backends!(
    a_new_topic_finds_the_stored_mentions_as_ingest_would,
    an_edited_query_drops_its_stale_links,
    a_backfill_stopped_after_one_batch_resumes_to_the_same_links,
);

const DAY: i64 = 86_400_000;

async fn workspace_with_source(store: &Store, slug: &str) -> (WorkspaceId, Source) {
    let workspace = store
        .workspaces()
        .create(slug, slug, false)
        .await
        .unwrap()
        .id;
    let new = NewSource {
        account_id: None,
        kind: "webhook",
        name: "Hook",
        config: json!({}),
        sealed_secret: None,
        enabled: true,
    };
    let source = store
        .sources()
        .create(workspace, new, Timestamp::now())
        .await
        .unwrap();
    (workspace, source)
}

fn topic(query: &str) -> NewTopic<'_> {
    NewTopic {
        name: "Aurora",
        kind: TopicKind::Brand,
        query,
        color: "#884400",
        active: true,
    }
}

/// 30 posts over the last 60 days (some about Aurora, some with `@aurora`, one
/// from `@brisa`), and two from 200 days ago, outside a 90-day window.
fn items(now: Timestamp) -> Vec<IncomingMention> {
    let mut mentions: Vec<serde_json::Value> = (0..30)
        .map(|index| {
            let text = match index % 4 {
                0 => format!("Me encanta el Café Aurora, visita {index}"),
                1 => format!("Aurora abre un local nuevo, el número {index}"),
                2 => format!("Hoy llueve en el barrio ({index})"),
                _ => format!("Brisa café frío otra vez {index}"),
            };
            json!({
                "id": format!("m-{index}"),
                "text": text,
                "author": {"handle": if index == 7 { "@brisa" } else { "@vecina" }},
                "published_at": (now.millis() - (index * 2 + 1) * DAY) / 1000,
            })
        })
        .collect();
    for index in 0..2 {
        mentions.push(json!({
            "id": format!("old-{index}"),
            "text": "Aurora, hace mucho tiempo",
            "published_at": (now.millis() - 200 * DAY) / 1000,
        }));
    }
    let batch = parse_payload(json!({ "mentions": mentions }).to_string().as_bytes()).unwrap();
    assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
    batch.accepted
}

fn window(now: Timestamp) -> BackfillRequest {
    BackfillRequest {
        window_from: now.plus_millis(-90 * DAY),
        run_after: now,
    }
}

/// The topic's links by external id, with their spans as highlighted text.
async fn links(
    store: &Store,
    workspace: WorkspaceId,
    topic: TopicId,
) -> BTreeMap<String, Vec<String>> {
    let filter = MentionFilter {
        topic: Some(topic),
        limit: 1_000,
        ..MentionFilter::default()
    };
    store
        .mentions()
        .list(workspace, &filter)
        .await
        .unwrap()
        .into_iter()
        .map(|mention| {
            let spans: Vec<MatchSpan> = mention
                .topics
                .iter()
                .find(|hit| hit.topic_id == topic)
                .map(|hit| hit.spans.clone())
                .unwrap_or_default();
            let marked = spans
                .iter()
                .map(|span| mention.text[span.start..span.end].to_owned())
                .collect();
            (mention.external_id, marked)
        })
        .collect()
}

async fn daily(store: &Store, workspace: WorkspaceId, now: Timestamp) -> Vec<(String, i64)> {
    store
        .mentions()
        .daily_counts(workspace, now.plus_millis(-400 * DAY), now.plus_millis(DAY))
        .await
        .unwrap()
        .into_iter()
        .map(|count| (count.day, count.count))
        .collect()
}

async fn run_jobs(store: &Store, backfiller: &Backfiller) -> atalaya_workers::RunSummary {
    let config = RunnerConfig {
        exit_when_idle: true,
        poll_interval: Duration::from_millis(10),
        ..RunnerConfig::new("backfill-test")
    };
    Runner::new(store.clone(), config)
        .register(BackfillHandler::new(backfiller.clone()))
        .run(CancellationToken::new())
        .await
}

async fn latest(store: &Store, workspace: WorkspaceId, topic: TopicId) -> TopicBackfill {
    store
        .backfills()
        .latest(workspace, topic)
        .await
        .unwrap()
        .unwrap()
}

async fn a_new_topic_finds_the_stored_mentions_as_ingest_would(store: Store) {
    let now = Timestamp::now();
    let pipeline = Pipeline::with_shared_analyzer(store.clone());
    // Where the topic exists before the mentions arrive: ingest matches them.
    let (reference, reference_source) = workspace_with_source(&store, "reference").await;
    let query = "aurora OR author:@brisa";
    let (reference_topic, _) = store
        .topics()
        .create_backfilled(reference, topic(query), window(now), now)
        .await
        .unwrap();
    // Where the mentions come first, and the topic after.
    let (workspace, source) = workspace_with_source(&store, "aurora").await;
    pipeline
        .ingest(&reference_source, items(now), now)
        .await
        .unwrap();
    pipeline.ingest(&source, items(now), now).await.unwrap();
    let (added, backfill) = store
        .topics()
        .create_backfilled(workspace, topic(query), window(now), now)
        .await
        .unwrap();
    assert_eq!(
        links(&store, workspace, added.id).await,
        BTreeMap::new(),
        "nothing before the job"
    );
    assert_eq!(backfill.unwrap().state, BackfillState::Queued);

    let backfiller = Backfiller::with_batch_size(store.clone(), 7);
    let summary = run_jobs(&store, &backfiller).await;
    assert_eq!(
        (summary.succeeded, summary.dead),
        (2, 0),
        "both topics' jobs ran"
    );

    let done = latest(&store, workspace, added.id).await;
    assert_eq!(done.state, BackfillState::Done);
    assert_eq!(
        (done.total, done.scanned, done.matched, done.removed),
        (30, 30, 17, 0)
    );
    let found = links(&store, workspace, added.id).await;
    let mut ingested = links(&store, reference, reference_topic.id).await;
    // The reference also matched the two old posts at ingest: outside the window here.
    assert_eq!(ingested.remove("old-0"), Some(vec!["Aurora".to_owned()]));
    assert_eq!(ingested.remove("old-1"), Some(vec!["Aurora".to_owned()]));
    assert_eq!(found, ingested, "a backfilled match equals an ingested one");
    assert_eq!(found["m-0"], ["Aurora"]);
    assert_eq!(
        found["m-7"],
        Vec::<String>::new(),
        "author:@brisa matches without a span"
    );
    assert_eq!(found.len(), 17);
    assert_eq!(
        daily(&store, workspace, now)
            .await
            .iter()
            .map(|(_, count)| count)
            .sum::<i64>(),
        17
    );
}

async fn an_edited_query_drops_its_stale_links(store: Store) {
    let now = Timestamp::now();
    let pipeline = Pipeline::with_shared_analyzer(store.clone());
    let (workspace, source) = workspace_with_source(&store, "aurora").await;
    let (added, _) = store
        .topics()
        .create_backfilled(workspace, topic("aurora"), window(now), now)
        .await
        .unwrap();
    // Ingested with the topic in place: the old posts match too.
    pipeline.ingest(&source, items(now), now).await.unwrap();
    let backfiller = Backfiller::new(store.clone());
    run_jobs(&store, &backfiller).await;
    assert_eq!(links(&store, workspace, added.id).await.len(), 18);

    let (_, backfill) = store
        .topics()
        .update_backfilled(
            workspace,
            added.id,
            topic("\"cafe aurora\""),
            window(now),
            now,
        )
        .await
        .unwrap();
    assert!(backfill.is_some());
    assert_eq!(run_jobs(&store, &backfiller).await.succeeded, 1);
    let done = latest(&store, workspace, added.id).await;
    assert_eq!(
        (done.state, done.matched, done.removed),
        (BackfillState::Done, 8, 8)
    );
    let found = links(&store, workspace, added.id).await;
    let expected: BTreeMap<String, Vec<String>> = (0..30)
        .filter(|index| index % 4 == 0)
        .map(|index| (format!("m-{index}"), vec!["Café Aurora".to_owned()]))
        // Outside the window, the old links stay as they were.
        .chain((0..2).map(|index| (format!("old-{index}"), vec!["Aurora".to_owned()])))
        .collect();
    assert_eq!(found, expected);
    let counted: i64 = daily(&store, workspace, now)
        .await
        .iter()
        .map(|(_, count)| count)
        .sum();
    assert_eq!(counted, 10, "the daily counts follow the links");
}

async fn a_backfill_stopped_after_one_batch_resumes_to_the_same_links(store: Store) {
    let now = Timestamp::now();
    let pipeline = Pipeline::with_shared_analyzer(store.clone());
    let (workspace, source) = workspace_with_source(&store, "aurora").await;
    pipeline.ingest(&source, items(now), now).await.unwrap();
    let (added, backfill) = store
        .topics()
        .create_backfilled(workspace, topic("aurora"), window(now), now)
        .await
        .unwrap();
    let id = backfill.unwrap().id;
    let backfiller = Backfiller::with_batch_size(store.clone(), 4);

    // One batch, then the process "dies": the job is still queued.
    let Step::Continue(partial) = backfiller.step(id).await.unwrap() else {
        panic!("more than one batch to go");
    };
    assert_eq!(
        (partial.state, partial.total, partial.scanned),
        (BackfillState::Running, 30, 4)
    );
    let after_one = links(&store, workspace, added.id).await.len();
    assert!(after_one <= 4);

    // The job runs (from the saved cursor) to the end...
    assert_eq!(run_jobs(&store, &backfiller).await.succeeded, 1);
    let done = latest(&store, workspace, added.id).await;
    assert_eq!(
        (done.state, done.scanned, done.matched),
        (BackfillState::Done, 30, 16)
    );
    let found = links(&store, workspace, added.id).await;
    // ...and a repeat of a finished job changes nothing.
    assert_eq!(backfiller.run(id).await.unwrap().unwrap(), done);
    assert_eq!(links(&store, workspace, added.id).await, found);

    // The same links as one uninterrupted run over the same mentions.
    let (_, again) = store
        .topics()
        .update_backfilled(workspace, added.id, topic("aurora"), window(now), now)
        .await
        .unwrap();
    assert_eq!(again, None, "the same query needs no backfill");
    store
        .topics()
        .update(
            workspace,
            added.id,
            NewTopic {
                active: false,
                ..topic("aurora")
            },
            now,
        )
        .await
        .unwrap();
    let (_, again) = store
        .topics()
        .update_backfilled(workspace, added.id, topic("aurora"), window(now), now)
        .await
        .unwrap();
    let whole = Backfiller::new(store.clone())
        .run(again.unwrap().id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((whole.scanned, whole.matched, whole.removed), (30, 16, 0));
    assert_eq!(links(&store, workspace, added.id).await, found);
}
