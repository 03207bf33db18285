//! The ingest pipeline end to end: jobs carrying webhook items go through the real
//! analyzer and topic matcher into the store, idempotently, and a batch that
//! fails half-way is rolled back and written exactly once by the retry.

use std::time::Duration;

use atalaya_connectors::IncomingMention;
use atalaya_connectors::import::RowError;
use atalaya_connectors::mapping::RowProblem;
use atalaya_connectors::webhook::parse_payload;
use atalaya_domain::{SentimentLabel, Source, Timestamp, TopicKind, WorkspaceId};
use atalaya_store::{JobStatus, MentionFilter, NewJob, NewSource, NewTopic, Store};
use atalaya_workers::ingest::{
    INGEST_KIND, IngestHandler, IngestPayload, Pipeline, StreamOptions, ingest_stream,
};
use atalaya_workers::{JobHandler, Runner, RunnerConfig};
use serde_json::json;
use sqlx::Connection;
use tokio_util::sync::CancellationToken;

on_both_backends!(
    an_ingest_job_analyses_matches_and_stores_once,
    a_stream_stores_its_batches_in_file_order,
    a_declared_language_is_kept_when_the_model_knows_it,
    a_short_post_takes_one_of_the_workspace_languages,
    a_topic_too_expensive_for_a_mention_is_skipped_counted_and_the_mention_kept,
);

async fn setup(store: &Store) -> (WorkspaceId, Source) {
    let workspace = store
        .workspaces()
        .create("aurora", "Café Aurora", false)
        .await
        .unwrap()
        .id;
    for (name, kind, query) in [
        (
            "Café Aurora",
            TopicKind::Brand,
            "aurora OR \"cafe aurora\" OR #cafeaurora",
        ),
        (
            "Brisa",
            TopicKind::Competitor,
            "brisa NEAR/3 (cafe OR coffee)",
        ),
    ] {
        let topic = NewTopic {
            name,
            kind,
            query,
            color: "#884400",
            active: true,
        };
        store
            .topics()
            .create(workspace, topic, Timestamp::now())
            .await
            .unwrap();
    }
    let hook = NewSource {
        account_id: None,
        kind: "webhook",
        name: "Hook",
        config: json!({}),
        sealed_secret: None,
        enabled: true,
    };
    let source = store
        .sources()
        .create(workspace, hook, Timestamp::now())
        .await
        .unwrap();
    (workspace, source)
}

fn items(body: &serde_json::Value) -> Vec<IncomingMention> {
    let batch = parse_payload(body.to_string().as_bytes()).unwrap();
    assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
    batch.accepted
}

async fn enqueue(
    store: &Store,
    workspace: WorkspaceId,
    source: &Source,
    items: Vec<IncomingMention>,
) {
    let payload = IngestPayload {
        workspace_id: workspace,
        source_id: source.id,
        items,
    };
    let job = NewJob {
        kind: INGEST_KIND,
        payload: serde_json::to_value(payload).unwrap(),
        run_after: Timestamp::now(),
        unique_key: None,
        max_attempts: 5,
    };
    store
        .jobs()
        .enqueue(job, Timestamp::now())
        .await
        .unwrap()
        .unwrap();
}

async fn run_until_idle(store: &Store, pipeline: &Pipeline) -> atalaya_workers::RunSummary {
    let config = RunnerConfig {
        exit_when_idle: true,
        poll_interval: Duration::from_millis(10),
        ..RunnerConfig::new("ingest-test")
    };
    Runner::new(store.clone(), config)
        .register(IngestHandler::new(pipeline.clone()))
        .run(CancellationToken::new())
        .await
}

/// Several analysers finish batches out of order; the writer must still store
/// them in file order, so the first of two rows sharing a URL is the one kept
/// and rejections are listed by line.
async fn a_stream_stores_its_batches_in_file_order(store: Store) {
    let (workspace, source) = setup(&store).await;
    let pipeline = Pipeline::with_shared_analyzer(store.clone());
    const ROWS: usize = 90;
    let rejected = |index: usize| index % 7 == 3;
    let body = json!({"mentions": (0..ROWS).map(|index| json!({
        "id": format!("s-{index}"),
        "text": format!("Aurora abre su local número {index} en el barrio"),
        "author": {"handle": format!("@vecino{}", index % 5)},
        "url": format!("https://news.example/{}", index % 30),
    })).collect::<Vec<_>>()});
    let rows: Vec<Result<IncomingMention, RowError>> = items(&body)
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            if rejected(index) {
                Err(RowError {
                    line: index as u64 + 1,
                    problem: RowProblem::Unreadable("test".to_owned()),
                })
            } else {
                Ok(item)
            }
        })
        .collect();
    let options = StreamOptions {
        batch_size: 4,
        queue_depth: 2,
        analysis_workers: 3,
        time_matching: true,
    };
    let report = ingest_stream(&pipeline, &source, rows.into_iter(), options, |_| {})
        .await
        .unwrap();

    let mut expected_kept = Vec::new();
    let mut urls = std::collections::HashSet::new();
    for index in (0..ROWS).filter(|index| !rejected(*index)) {
        if urls.insert(index % 30) {
            expected_kept.push(format!("s-{index}"));
        }
    }
    let all = MentionFilter {
        limit: 500,
        ..MentionFilter::default()
    };
    let mut kept: Vec<String> = store
        .mentions()
        .list(workspace, &all)
        .await
        .unwrap()
        .into_iter()
        .map(|mention| mention.external_id)
        .collect();
    kept.sort_by_key(|id| id[2..].parse::<usize>().unwrap());
    assert_eq!(kept, expected_kept);
    let accepted = (0..ROWS).filter(|index| !rejected(*index)).count() as u64;
    assert_eq!(report.inserted, expected_kept.len() as u64);
    assert_eq!(report.duplicates, accepted - report.inserted);
    let lines: Vec<u64> = report.rejected.iter().map(|row| row.line).collect();
    let expected_lines: Vec<u64> = (0..ROWS)
        .filter(|index| rejected(*index))
        .map(|index| index as u64 + 1)
        .collect();
    assert_eq!(lines, expected_lines);
    // The timed sample depends only on the stream (row `batch * size + k + 1`
    // for the k-th accepted row of a batch), not on which analyser took a batch.
    let timed = (0..ROWS.div_ceil(4))
        .map(|batch| {
            let accepted = (batch * 4..(batch * 4 + 4).min(ROWS))
                .filter(|index| !rejected(*index))
                .count();
            (0..accepted)
                .filter(|k| (batch * 4 + k + 1).is_multiple_of(16))
                .count()
        })
        .sum::<usize>();
    assert_eq!(report.match_nanos.len(), timed);
}

async fn stored_langs(store: &Store, workspace: WorkspaceId) -> Vec<(String, String)> {
    let all = MentionFilter {
        limit: 50,
        ..MentionFilter::default()
    };
    let mut langs: Vec<(String, String)> = store
        .mentions()
        .list(workspace, &all)
        .await
        .unwrap()
        .into_iter()
        .map(|mention| (mention.external_id, mention.lang))
        .collect();
    langs.sort_by(|a, b| a.0.cmp(&b.0));
    langs
}

/// Regression: an import's `lang` column was thrown away whenever the detector
/// had an opinion. A language the model knows is stored as declared; one it
/// does not know leaves detection in charge, and stands in only for `und`.
async fn a_declared_language_is_kept_when_the_model_knows_it(store: Store) {
    let (workspace, source) = setup(&store).await;
    let pipeline = Pipeline::with_shared_analyzer(store.clone());
    let spanish = "Hoy hace un día precioso en Madrid, vamos a la playa con los amigos";
    let rows = [("d-pt", "pt-BR"), ("d-xx", "xx"), ("d-none", "")];
    let mut body = Vec::new();
    for (id, lang) in rows {
        body.push(json!({"id": id, "text": spanish, "lang": lang}));
    }
    body.push(json!({"id": "d-ja", "text": "🙂🙂", "lang": "ja"}));
    pipeline
        .ingest(
            &source,
            items(&json!({ "mentions": body })),
            Timestamp::now(),
        )
        .await
        .unwrap();
    // The same through an imported CSV file's `lang` column.
    let csv = format!("id,text,lang\nc-pt,\"{spanish}\",pt\nc-none,\"{spanish}\",\n");
    let rows = atalaya_connectors::import::ImportRows::new(
        std::io::Cursor::new(csv.into_bytes()),
        atalaya_connectors::import::ImportFormat::Csv,
    );
    ingest_stream(&pipeline, &source, rows, StreamOptions::default(), |_| {})
        .await
        .unwrap();
    let langs = stored_langs(&store, workspace).await;
    let expected = [
        ("c-none", "es"),
        ("c-pt", "pt"),
        ("d-ja", "ja"),
        ("d-none", "es"),
        ("d-pt", "pt"),
        ("d-xx", "es"),
    ];
    assert_eq!(
        langs,
        expected.map(|(id, lang)| (id.to_owned(), lang.to_owned()))
    );
}

/// Regression: "Café Aurora genial" was stored as Catalan (0.90). A text that
/// short is placed among the workspace's languages (es, en by default), and
/// the setting decides: with Italian only, it is stored as Italian.
async fn a_short_post_takes_one_of_the_workspace_languages(store: Store) {
    let (workspace, source) = setup(&store).await;
    let body = json!({"mentions": [{"id": "short", "text": "Café Aurora genial"}]});
    Pipeline::with_shared_analyzer(store.clone())
        .ingest(&source, items(&body), Timestamp::now())
        .await
        .unwrap();
    let (_, lang) = stored_langs(&store, workspace).await.remove(0);
    assert_eq!(lang, "es");

    let (italian, italian_source) = {
        let workspace = store
            .workspaces()
            .create("italia", "Italia", false)
            .await
            .unwrap();
        store
            .workspaces()
            .set_languages(workspace.id, &["it".to_owned()])
            .await
            .unwrap();
        let hook = NewSource {
            account_id: None,
            kind: "webhook",
            name: "Hook",
            config: json!({}),
            sealed_secret: None,
            enabled: true,
        };
        let source = store
            .sources()
            .create(workspace.id, hook, Timestamp::now())
            .await
            .unwrap();
        (workspace.id, source)
    };
    Pipeline::with_shared_analyzer(store.clone())
        .ingest(&italian_source, items(&body), Timestamp::now())
        .await
        .unwrap();
    let (_, lang) = stored_langs(&store, italian).await.remove(0);
    assert_eq!(lang, "it");
}

async fn an_ingest_job_analyses_matches_and_stores_once(store: Store) {
    let (workspace, source) = setup(&store).await;
    let pipeline = Pipeline::with_shared_analyzer(store.clone());
    let body = json!({"mentions": [
        {"id": "w-1", "text": "Me encanta el café de Aurora, el mejor de la ciudad, ¡gracias!",
         "author": {"handle": "@lucia", "name": "Lucía", "followers": 812}, "published_at": "2026-03-01T10:00:00Z",
         "url": "https://social.example/@lucia/1?utm_source=feed"},
        {"id": "w-2", "text": "Terrible service at Brisa, the coffee was cold and nobody answered", "lang": "en"},
        {"id": "w-3", "html": "<p>Hoy llueve en el <b>barrio</b></p>"},
    ]});
    enqueue(&store, workspace, &source, items(&body)).await;
    let summary = run_until_idle(&store, &pipeline).await;
    assert_eq!(summary.succeeded, 1);

    let all = MentionFilter {
        limit: 50,
        ..MentionFilter::default()
    };
    let mentions = store.mentions().list(workspace, &all).await.unwrap();
    assert_eq!(mentions.len(), 3);
    let topics = store.topics().list(workspace).await.unwrap();
    let (brand, rival) = (topics[0].id, topics[1].id);

    let lucia = mentions.iter().find(|m| m.external_id == "w-1").unwrap();
    assert_eq!(lucia.lang, "es");
    assert_eq!(lucia.sentiment, SentimentLabel::Positive);
    assert_eq!(lucia.topics.len(), 1);
    assert_eq!(lucia.topics[0].topic_id, brand);
    let highlighted: Vec<&str> = lucia.topics[0]
        .spans
        .iter()
        .map(|span| &lucia.text[span.start..span.end])
        .collect();
    assert_eq!(highlighted, ["Aurora"]);
    let author = lucia.author.as_ref().unwrap();
    assert_eq!(
        (
            author.network.as_str(),
            author.handle.as_str(),
            author.followers
        ),
        ("webhook", "@lucia", Some(812))
    );
    assert_eq!(lucia.published_at, Timestamp(1_772_359_200_000));

    let complaint = mentions.iter().find(|m| m.external_id == "w-2").unwrap();
    assert_eq!(complaint.lang, "en");
    assert_eq!(complaint.sentiment, SentimentLabel::Negative);
    assert_eq!(
        complaint
            .topics
            .iter()
            .map(|hit| hit.topic_id)
            .collect::<Vec<_>>(),
        [rival]
    );

    let plain = mentions.iter().find(|m| m.external_id == "w-3").unwrap();
    assert_eq!(plain.text, "Hoy llueve en el barrio");
    assert!(plain.topics.is_empty());

    // The same delivery again, plus the first story under another id and another
    // tracking parameter: the canonical URL finds it.
    let mut again = items(&body);
    let mut relabelled = again[0].clone();
    relabelled.external_id = "w-1-resent".to_owned();
    relabelled.url = Some("https://social.example/@lucia/1?utm_source=newsletter".to_owned());
    again.push(relabelled);
    enqueue(&store, workspace, &source, again).await;
    assert_eq!(run_until_idle(&store, &pipeline).await.succeeded, 1);
    assert_eq!(
        store.mentions().list(workspace, &all).await.unwrap(),
        mentions,
        "a repeat changes nothing"
    );
    assert_eq!(
        store
            .sources()
            .get(workspace, source.id)
            .await
            .unwrap()
            .unwrap()
            .mentions_total,
        3
    );
}

#[tokio::test]
async fn a_batch_that_crashes_half_way_is_rolled_back_and_retried_once() {
    let directory = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", directory.path().join("atalaya.db").display());
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let (workspace, source) = setup(&store).await;
    let pipeline = Pipeline::with_shared_analyzer(store.clone());

    // A fault planted in the database itself: inserting the 51st of 100 rows aborts,
    // after the first 50 went in within the same transaction.
    let mut side_door = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query(
        "CREATE TRIGGER inject_crash BEFORE INSERT ON mentions WHEN new.external_id = 'row-50' \
         BEGIN SELECT RAISE(ABORT, 'injected crash'); END",
    )
    .execute(&mut side_door)
    .await
    .unwrap();

    let rows: Vec<serde_json::Value> = (0..100)
        .map(|index| json!({"id": format!("row-{index}"), "text": format!("Visita {index} al Café Aurora del barrio")}))
        .collect();
    enqueue(
        &store,
        workspace,
        &source,
        items(&json!({ "mentions": rows })),
    )
    .await;

    // The first attempt, by hand, as a worker that hits the fault would run it.
    let handler = IngestHandler::new(pipeline.clone());
    let lease_until = Timestamp::now().plus_millis(60_000);
    let job = store
        .jobs()
        .claim("w1", &[INGEST_KIND], Timestamp::now(), lease_until)
        .await
        .unwrap()
        .unwrap();
    let error = handler.run(job.clone()).await.unwrap_err();
    assert!(error.to_string().contains("injected crash"), "{error}");
    let all = MentionFilter {
        limit: 1_000,
        ..MentionFilter::default()
    };
    assert_eq!(
        store.mentions().count(workspace, &all).await.unwrap(),
        0,
        "the half batch was rolled back"
    );
    let status = store
        .jobs()
        .fail(
            job.id,
            "w1",
            &error.to_string(),
            Some(Timestamp::now()),
            Timestamp::now(),
        )
        .await
        .unwrap();
    assert_eq!(status, JobStatus::Queued);

    sqlx::query("DROP TRIGGER inject_crash")
        .execute(&mut side_door)
        .await
        .unwrap();
    let summary = run_until_idle(&store, &pipeline).await;
    assert_eq!(summary.succeeded, 1);
    let mentions = store.mentions().list(workspace, &all).await.unwrap();
    let mut ids: Vec<String> = mentions
        .iter()
        .map(|mention| mention.external_id.clone())
        .collect();
    ids.sort();
    let mut expected: Vec<String> = (0..100).map(|index| format!("row-{index}")).collect();
    expected.sort();
    assert_eq!(ids, expected, "each mention exactly once");
    assert!(
        mentions.iter().all(|mention| mention.topics.len() == 1),
        "all matched the brand"
    );
    assert_eq!(
        store
            .sources()
            .get(workspace, source.id)
            .await
            .unwrap()
            .unwrap()
            .mentions_total,
        100
    );
}

/// Issue 11: a saved topic whose query is too expensive on a long mention
/// must neither stall ingestion nor lose the mention. The mention is stored
/// with the topics that could be matched, and the skip is counted.
async fn a_topic_too_expensive_for_a_mention_is_skipped_counted_and_the_mention_kept(store: Store) {
    let (workspace, source) = setup(&store).await;
    let expensive = NewTopic {
        name: "Costly",
        kind: TopicKind::Campaign,
        query: "(aurora NEAR/1000000 cafe) NEAR/0 aurora",
        color: "#000000",
        active: true,
    };
    store
        .topics()
        .create(workspace, expensive, Timestamp::now())
        .await
        .unwrap();
    let long_text = "aurora cafe ".repeat(2_000);
    let pipeline = Pipeline::with_shared_analyzer(store.clone());
    let batch = items(&json!({"mentions": [
        {"id": "long", "text": long_text},
        {"id": "short", "text": "aurora cafe aurora, qué rico"},
    ]}));
    let outcome = pipeline
        .ingest(&source, batch, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(outcome.inserted, 2);
    // On the long text the costly topic is skipped; on the short one it runs.
    assert_eq!(pipeline.topic_matches_skipped(), 1);
    let topics = store.topics().list(workspace).await.unwrap();
    let id_of = |name: &str| topics.iter().find(|topic| topic.name == name).unwrap().id;
    let all = MentionFilter {
        limit: 10,
        ..MentionFilter::default()
    };
    let mentions = store.mentions().list(workspace, &all).await.unwrap();
    let long = mentions.iter().find(|m| m.external_id == "long").unwrap();
    let linked: Vec<_> = long.topics.iter().map(|hit| hit.topic_id).collect();
    assert!(linked.contains(&id_of("Café Aurora")), "{linked:?}");
    assert!(!linked.contains(&id_of("Costly")), "{linked:?}");
    let short = mentions.iter().find(|m| m.external_id == "short").unwrap();
    let linked: Vec<_> = short.topics.iter().map(|hit| hit.topic_id).collect();
    assert!(linked.contains(&id_of("Costly")), "{linked:?}");
}
