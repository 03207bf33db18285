//! Backfills: which topic changes queue one (with its job), and the batch writes
//! that re-match a window of stored mentions — exact links, counts that equal a
//! recomputation from the links, once only, and nothing outside the window.

use std::collections::BTreeMap;

use atalaya_domain::{BackfillState, MatchSpan, MentionId, Timestamp, TopicId, TopicKind};
use atalaya_store::{
    BACKFILL_JOB_KIND, BackfillCursor, BackfillRequest, BackfillRun, JobStatus, MentionFilter,
    NewMention, NewTopic, Store,
};

use crate::listening::{DAY, T0, hit, mention, source, workspace};

on_every_backend!(
    topic_changes_queue_backfills_with_their_jobs,
    a_backfill_rematches_its_window_and_leaves_older_links_alone,
    a_batch_lands_once_and_never_after_it_was_superseded,
);

fn topic_input(query: &str, active: bool) -> NewTopic<'_> {
    NewTopic {
        name: "Aurora",
        kind: TopicKind::Brand,
        query,
        color: "#aa5500",
        active,
    }
}

fn request(window_from: i64) -> BackfillRequest {
    BackfillRequest {
        window_from: Timestamp(window_from),
        run_after: Timestamp(T0),
    }
}

async fn topic_changes_queue_backfills_with_their_jobs(store: Store) {
    let ws = workspace(&store, "aurora").await;
    let now = Timestamp(T0);
    let (topic, first) = store
        .topics()
        .create_backfilled(ws, topic_input("aurora", true), request(T0 - 90 * DAY), now)
        .await
        .unwrap();
    let first = first.expect("an active new topic is backfilled");
    assert_eq!(
        (first.state, first.query.as_str(), first.window_from),
        (BackfillState::Queued, "aurora", Timestamp(T0 - 90 * DAY))
    );
    let job = store
        .jobs()
        .claim("w", &[BACKFILL_JOB_KIND], now, now.plus_millis(60_000))
        .await
        .unwrap()
        .expect("its job is queued");
    assert_eq!(job.payload["backfill_id"], first.id.get());
    assert_eq!(job.status, JobStatus::Running);

    // Same query, other name and colour: nothing to re-match.
    let renamed = NewTopic {
        name: "Aurora (brand)",
        color: "#112233",
        ..topic_input("aurora", true)
    };
    let (_, none) = store
        .topics()
        .update_backfilled(ws, topic.id, renamed, request(T0), now)
        .await
        .unwrap();
    assert_eq!(none, None);

    // A new query supersedes the unfinished backfill and starts another.
    let (_, second) = store
        .topics()
        .update_backfilled(
            ws,
            topic.id,
            topic_input("aurora OR \"cafe aurora\"", true),
            request(T0),
            now,
        )
        .await
        .unwrap();
    let second = second.unwrap();
    let first_now = store.backfills().get(first.id).await.unwrap().unwrap();
    assert_eq!(first_now.backfill.state, BackfillState::Superseded);
    assert_eq!(second.state, BackfillState::Queued);
    assert_eq!(
        store.backfills().latest(ws, topic.id).await.unwrap(),
        Some(second.clone())
    );

    // Switched off: the running one stops, none starts. Back on: a new one.
    let (_, none) = store
        .topics()
        .update_backfilled(ws, topic.id, topic_input("aurora", false), request(T0), now)
        .await
        .unwrap();
    assert_eq!(none, None);
    let second_now = store.backfills().get(second.id).await.unwrap().unwrap();
    assert_eq!(second_now.backfill.state, BackfillState::Superseded);
    let (_, third) = store
        .topics()
        .update_backfilled(ws, topic.id, topic_input("aurora", true), request(T0), now)
        .await
        .unwrap();
    let third = third.expect("switching a topic back on backfills it");

    // A plain update with a new query (no request) still stops the stale one.
    store
        .topics()
        .update(ws, topic.id, topic_input("brisa", true), now)
        .await
        .unwrap();
    let third_now = store.backfills().get(third.id).await.unwrap().unwrap();
    assert_eq!(third_now.backfill.state, BackfillState::Superseded);

    // An inactive new topic is not backfilled; every topic's latest is listed.
    let (other, none) = store
        .topics()
        .create_backfilled(
            ws,
            NewTopic {
                name: "Brisa",
                ..topic_input("brisa", false)
            },
            request(T0),
            now,
        )
        .await
        .unwrap();
    assert_eq!(none, None);
    assert_eq!(store.backfills().latest(ws, other.id).await.unwrap(), None);
    let latest: Vec<_> = store
        .backfills()
        .latest_per_topic(ws)
        .await
        .unwrap()
        .into_iter()
        .map(|backfill| (backfill.topic_id, backfill.id))
        .collect();
    assert_eq!(latest, vec![(topic.id, third.id)]);

    // Deleting the topic deletes its backfills.
    store.topics().delete(ws, topic.id).await.unwrap();
    assert_eq!(store.backfills().get(third.id).await.unwrap(), None);
}

/// The links of `topic`, by mention, with their spans.
async fn links(
    store: &Store,
    ws: atalaya_domain::WorkspaceId,
    topic: TopicId,
) -> BTreeMap<String, Vec<MatchSpan>> {
    let filter = MentionFilter {
        topic: Some(topic),
        limit: 1_000,
        ..MentionFilter::default()
    };
    store
        .mentions()
        .list(ws, &filter)
        .await
        .unwrap()
        .into_iter()
        .map(|mention| {
            let spans = mention
                .topics
                .iter()
                .find(|hit| hit.topic_id == topic)
                .map(|hit| hit.spans.clone())
                .unwrap_or_default();
            (mention.external_id, spans)
        })
        .collect()
}

/// Runs a backfill to the end the way the job does, `batch` mentions at a
/// time, matching "aurora" by hand (the matcher lives in atalaya-text).
async fn run_by_hand(store: &Store, id: atalaya_domain::BackfillId, batch: i64) -> BackfillRun {
    let mut run = store
        .backfills()
        .start(id, Timestamp(T0))
        .await
        .unwrap()
        .unwrap();
    loop {
        let page = store.backfills().mentions_after(&run, batch).await.unwrap();
        let Some(last) = page.last() else { break };
        let scanned: Vec<MentionId> = page.iter().map(|mention| mention.id).collect();
        let hits: Vec<(MentionId, Vec<MatchSpan>)> = page
            .iter()
            .filter_map(|mention| {
                mention.text.find("aurora").map(|start| {
                    (
                        mention.id,
                        vec![MatchSpan {
                            start,
                            end: start + 6,
                        }],
                    )
                })
            })
            .collect();
        let next = BackfillCursor {
            published_at: last.published_at,
            mention_id: last.id,
        };
        assert!(
            store
                .backfills()
                .apply_batch(&run, &scanned, &hits, next)
                .await
                .unwrap()
        );
        run = store.backfills().get(id).await.unwrap().unwrap();
        assert_eq!(run.cursor, next);
    }
    assert!(store.backfills().finish(id, Timestamp(T0)).await.unwrap());
    store.backfills().get(id).await.unwrap().unwrap()
}

async fn a_backfill_rematches_its_window_and_leaves_older_links_alone(store: Store) {
    let ws = workspace(&store, "aurora").await;
    let src = source(&store, ws, "import", "Import").await;
    let other_ws = workspace(&store, "elsewhere").await;
    let other_src = source(&store, other_ws, "import", "Import").await;
    let (topic, _) = store
        .topics()
        .create_backfilled(
            ws,
            topic_input("aurora", true),
            request(T0 - 10 * DAY),
            Timestamp(T0),
        )
        .await
        .unwrap();
    let topic = topic.id;
    let stale = [hit(topic, 0, 3)];
    let old_spans = [hit(topic, 0, 1)];
    let texts: Vec<(String, String)> = (0..12)
        .map(|index| {
            let text = if index % 3 == 0 {
                format!("nos gusta aurora {index}")
            } else {
                format!("nada que ver {index}")
            };
            (format!("m{index}"), text)
        })
        .collect();
    let mut batch: Vec<NewMention<'_>> = texts
        .iter()
        .enumerate()
        .map(|(index, (id, text))| NewMention {
            // Two mentions a day over the last six days, some at the same instant.
            published_at: Timestamp(T0 - 6 * DAY + (index as i64 / 2) * DAY),
            // Before the backfill: a stale link on m1, a matching one with old spans on m3.
            ..mention(
                src,
                id,
                text,
                match index {
                    1 => &stale,
                    3 => &old_spans,
                    _ => &[],
                },
            )
        })
        .collect();
    // Outside the window: a stale link that must stay, a match that must not appear.
    batch.push(NewMention {
        published_at: Timestamp(T0 - 20 * DAY),
        ..mention(src, "old-stale", "nada de nada", &stale)
    });
    batch.push(NewMention {
        published_at: Timestamp(T0 - 20 * DAY),
        ..mention(src, "old-match", "aurora de antes", &[])
    });
    store
        .mentions()
        .insert_batch(ws, &batch, Timestamp(T0))
        .await
        .unwrap();
    // Another workspace's mention is never scanned.
    store
        .mentions()
        .insert_batch(
            other_ws,
            &[mention(other_src, "x", "aurora ajena", &[])],
            Timestamp(T0),
        )
        .await
        .unwrap();

    let backfill = store.backfills().latest(ws, topic).await.unwrap().unwrap();
    let done = run_by_hand(&store, backfill.id, 5).await.backfill;
    assert_eq!(done.state, BackfillState::Done);
    assert_eq!(
        (done.total, done.scanned, done.matched, done.removed),
        (12, 12, 4, 1)
    );
    assert!(done.started_at.is_some() && done.finished_at.is_some());

    let expected: BTreeMap<String, Vec<MatchSpan>> = [0, 3, 6, 9]
        .into_iter()
        .map(|index| (format!("m{index}"), vec![MatchSpan { start: 10, end: 16 }]))
        .chain([("old-stale".to_owned(), vec![MatchSpan { start: 0, end: 3 }])])
        .collect();
    assert_eq!(links(&store, ws, topic).await, expected);

    // The per-day counts equal a count of the links, day by day.
    let counts = store
        .mentions()
        .daily_counts(ws, Timestamp(T0 - 30 * DAY), Timestamp(T0 + DAY))
        .await
        .unwrap();
    let mut recomputed = Vec::new();
    for day in -30..1 {
        let filter = MentionFilter {
            topic: Some(topic),
            from: Some(Timestamp(T0 + day * DAY)),
            to: Some(Timestamp(T0 + (day + 1) * DAY)),
            ..MentionFilter::default()
        };
        let count = store.mentions().count(ws, &filter).await.unwrap();
        if count > 0 {
            recomputed.push((T0 + day * DAY, count));
        }
    }
    let counted: Vec<i64> = counts.iter().map(|count| count.count).collect();
    assert_eq!(
        counted,
        recomputed
            .iter()
            .map(|(_, count)| *count)
            .collect::<Vec<_>>()
    );
    assert_eq!(counts.iter().map(|count| count.count).sum::<i64>(), 5);

    // Running the same backfill again over the same mentions changes nothing.
    let (_, again) = store
        .topics()
        .update_backfilled(
            ws,
            topic,
            topic_input("aurora", false),
            request(T0),
            Timestamp(T0),
        )
        .await
        .unwrap();
    assert_eq!(again, None);
    let (_, again) = store
        .topics()
        .update_backfilled(
            ws,
            topic,
            topic_input("aurora", true),
            request(T0 - 10 * DAY),
            Timestamp(T0),
        )
        .await
        .unwrap();
    let repeat = run_by_hand(&store, again.unwrap().id, 7).await.backfill;
    assert_eq!((repeat.scanned, repeat.matched, repeat.removed), (12, 4, 0));
    assert_eq!(links(&store, ws, topic).await, expected);
}

async fn a_batch_lands_once_and_never_after_it_was_superseded(store: Store) {
    let ws = workspace(&store, "aurora").await;
    let src = source(&store, ws, "import", "Import").await;
    let (topic, backfill) = store
        .topics()
        .create_backfilled(
            ws,
            topic_input("aurora", true),
            request(T0 - DAY),
            Timestamp(T0),
        )
        .await
        .unwrap();
    let batch = [
        mention(src, "a", "aurora uno", &[]),
        NewMention {
            published_at: Timestamp(T0 + 1),
            ..mention(src, "b", "aurora dos", &[])
        },
    ];
    store
        .mentions()
        .insert_batch(ws, &batch, Timestamp(T0))
        .await
        .unwrap();
    let id = backfill.unwrap().id;
    let run = store
        .backfills()
        .start(id, Timestamp(T0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (run.backfill.state, run.backfill.total),
        (BackfillState::Running, 2)
    );
    // Starting again (a resumed job) changes nothing.
    assert_eq!(
        store
            .backfills()
            .start(id, Timestamp(T0 + 5))
            .await
            .unwrap()
            .unwrap(),
        run
    );

    let page = store.backfills().mentions_after(&run, 1).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].text, "aurora uno");
    assert_eq!(page[0].source_kind, "import");
    let hits = vec![(page[0].id, vec![MatchSpan { start: 0, end: 6 }])];
    let next = BackfillCursor {
        published_at: page[0].published_at,
        mention_id: page[0].id,
    };
    assert!(
        store
            .backfills()
            .apply_batch(&run, &[page[0].id], &hits, next)
            .await
            .unwrap()
    );
    // The same batch from the same snapshot (a second attempt) is refused.
    assert!(
        !store
            .backfills()
            .apply_batch(&run, &[page[0].id], &hits, next)
            .await
            .unwrap()
    );
    let after_one = store.backfills().get(id).await.unwrap().unwrap();
    assert_eq!(
        (after_one.backfill.scanned, after_one.backfill.matched),
        (1, 1)
    );

    // The query changes: the old backfill's next batch writes nothing.
    store
        .topics()
        .update_backfilled(
            ws,
            topic.id,
            topic_input("dos", true),
            request(T0 - DAY),
            Timestamp(T0),
        )
        .await
        .unwrap();
    let page = store
        .backfills()
        .mentions_after(&after_one, 10)
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    let hits = vec![(page[0].id, vec![MatchSpan { start: 0, end: 6 }])];
    let next = BackfillCursor {
        published_at: page[0].published_at,
        mention_id: page[0].id,
    };
    assert!(
        !store
            .backfills()
            .apply_batch(&after_one, &[page[0].id], &hits, next)
            .await
            .unwrap()
    );
    assert!(!store.backfills().finish(id, Timestamp(T0)).await.unwrap());
    assert!(
        !store
            .backfills()
            .fail(id, "late", Timestamp(T0))
            .await
            .unwrap()
    );
    let links = links(&store, ws, topic.id).await;
    assert_eq!(links.keys().collect::<Vec<_>>(), ["a"]);
    let superseded = store.backfills().get(id).await.unwrap().unwrap().backfill;
    assert_eq!(
        (superseded.state, superseded.scanned),
        (BackfillState::Superseded, 1)
    );

    // A failure is recorded on an unfinished backfill.
    let latest = store
        .backfills()
        .latest(ws, topic.id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .backfills()
            .fail(latest.id, "the job ran out of attempts", Timestamp(T0))
            .await
            .unwrap()
    );
    let failed = store
        .backfills()
        .get(latest.id)
        .await
        .unwrap()
        .unwrap()
        .backfill;
    assert_eq!(
        (failed.state, failed.error.as_deref()),
        (BackfillState::Failed, Some("the job ran out of attempts"))
    );
}
