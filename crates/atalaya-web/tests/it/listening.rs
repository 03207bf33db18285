//! Listening through the web: topics (positioned query errors in both
//! languages, the live test), mentions (filters, corrections, escaping of
//! hostile text), webhooks (signatures, caps, malformed bodies) and the import
//! upload, end to end. The main flows run on both SQLite and PostgreSQL
//! (see `on_both_databases!` in `main.rs`): the SQL behind them differs per backend.

use atalaya_connectors::SecretBox;
use atalaya_connectors::webhook::{SIGNATURE_HEADER, sign};
use atalaya_domain::{MatchSpan, SentimentLabel, SourceId, Timestamp, TopicHit, TopicId};
use atalaya_store::{NewAuthor, NewMention, NewSource, NewTopic};
use atalaya_web::listening::ListeningSettings;
use atalaya_web::{AppState, WebSettings};
use axum::body::Body;
use axum::http::{Method, Request, header};
use serde_json::json;

use crate::support::{Auth, Db, Team, TestApp};

const KEY: [u8; 32] = [7; 32];

/// A team whose app can seal secrets and has a small webhook cap.
async fn listening_team(db: Db) -> Team {
    let mut team = Team::on(db).await;
    let state = AppState::with_listening(
        team.app.store().clone(),
        WebSettings::default(),
        ListeningSettings {
            secrets: Some(SecretBox::from_key(&KEY)),
            max_webhook_bytes: 4_096,
            max_upload_bytes: 64 * 1024,
            ..ListeningSettings::default()
        },
    );
    team.app = TestApp::from_state(state);
    team
}

async fn seed_mentions(team: &Team) -> (SourceId, TopicId) {
    let store = team.app.store();
    let workspace = team.workspace.id;
    let now = Timestamp::now();
    let topic = store
        .topics()
        .create(
            workspace,
            NewTopic {
                name: "Lumen",
                kind: atalaya_domain::TopicKind::Brand,
                query: "lumen",
                color: "#1f6feb",
                active: true,
            },
            now,
        )
        .await
        .unwrap();
    let source = store
        .sources()
        .create(
            workspace,
            NewSource {
                account_id: None,
                kind: "import",
                name: "Spreadsheet",
                config: json!({}),
                sealed_secret: None,
                enabled: true,
            },
            now,
        )
        .await
        .unwrap();
    let hit = [TopicHit {
        topic_id: topic.id,
        spans: vec![MatchSpan { start: 0, end: 5 }],
    }];
    let texts = [
        (
            "m1",
            "Lumen abrió una cafetería nueva en el centro",
            SentimentLabel::Positive,
            "es",
            "ana",
        ),
        (
            "m2",
            "Lumen <script>alert(1)</script> <img src=x onerror=alert(2)>",
            SentimentLabel::Negative,
            "en",
            "eve",
        ),
        (
            "m3",
            "Nothing about coffee here, only the weather",
            SentimentLabel::Neutral,
            "en",
            "bob",
        ),
    ];
    let mut batch = Vec::new();
    for (index, (id, text, sentiment, lang, handle)) in texts.iter().enumerate() {
        batch.push(NewMention {
            source_id: source.id,
            external_id: id,
            url: Some(if index == 1 {
                "javascript:alert(3)"
            } else {
                "https://news.example/story"
            }),
            canonical_url: None,
            title: None,
            text,
            content_raw: text,
            author: Some(NewAuthor {
                network: "import",
                handle,
                name: None,
                followers: None,
                profile_url: None,
            }),
            lang,
            lang_confidence: 0.9,
            sentiment: *sentiment,
            sentiment_score: 0.0,
            sentiment_confidence: 0.8,
            topics: if index < 2 { &hit } else { &[] },
            published_at: now.plus_millis(i64::try_from(index).unwrap() * 1000),
        });
    }
    store
        .mentions()
        .insert_batch(workspace, &batch, now)
        .await
        .unwrap();
    (source.id, topic.id)
}

fn json_request(
    method: Method,
    path: &str,
    body: &serde_json::Value,
    auth: &Auth,
    lang: &str,
) -> Request<Body> {
    let Auth::Bearer(token) = auth else {
        panic!("bearer only")
    };
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::ACCEPT_LANGUAGE, lang)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

on_both_databases!(
    a_topic_with_a_bad_query_is_refused_with_the_position_in_each_language,
    the_live_test_counts_matches_and_shows_parse_errors,
    the_live_test_of_issue_11_a_long_repeated_phrase_over_a_long_text_is_refused_quickly,
    mention_filters_work_on_the_page_and_the_api,
    a_sentiment_correction_is_kept_and_audited,
    webhooks_check_signature_size_and_shape,
    saved_views_round_trip_through_the_page,
    check_now_polls_a_source_ahead_of_the_queue_and_refuses_a_webhook,
);

/// Regression: "check now" only moved the next poll to now, so the check
/// waited for the next scheduler run and the page never said it was happening.
async fn check_now_polls_a_source_ahead_of_the_queue_and_refuses_a_webhook(db: Db) {
    let team = listening_team(db).await;
    let store = team.app.store();
    let feed = store
        .sources()
        .create(
            team.workspace.id,
            NewSource {
                account_id: None,
                kind: "rss",
                name: "Barrio",
                config: json!({"url": "https://barrio.example/feed"}),
                sealed_secret: None,
                enabled: true,
            },
            Timestamp(1),
        )
        .await
        .unwrap();
    let later = Timestamp::now().plus_millis(3_600_000);
    store.sources().reschedule(feed.id, later).await.unwrap();
    let manager = team.app.session(&team.manager).await;
    let page = team.app.get("/w/acme/sources", &manager).await;
    assert!(
        page.body.contains(&format!("/sources/{}/check", feed.id)),
        "{}",
        page.body
    );

    // An older due job of the same kind is waiting: the check goes first.
    let waiting = store
        .jobs()
        .enqueue(
            atalaya_store::NewJob {
                kind: atalaya_store::POLL_SOURCE_JOB_KIND,
                payload: json!({"workspace_id": team.workspace.id, "source_id": 999_999}),
                run_after: Timestamp(5),
                unique_key: Some("listening.poll_source:999999"),
                max_attempts: 3,
            },
            Timestamp(5),
        )
        .await
        .unwrap()
        .unwrap();
    let reply = team
        .app
        .form(&format!("/w/acme/sources/{}/check", feed.id), &[], &manager)
        .await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    let page = team.app.get("/w/acme/sources", &manager).await;
    assert!(page.body.contains("Checking now"), "{}", page.body);
    assert!(
        page.body.contains("hx-trigger=\"every 2s\""),
        "the list refreshes"
    );
    assert!(
        !page.body.contains(&format!("/sources/{}/check", feed.id)),
        "no second check while one runs"
    );
    // A second click while it is queued asks for nothing more.
    let again = team
        .app
        .form(&format!("/w/acme/sources/{}/check", feed.id), &[], &manager)
        .await;
    assert_eq!(again.status, 303, "{}", again.body);
    let now = Timestamp::now();
    let job = store
        .jobs()
        .claim(
            "w",
            &[atalaya_store::POLL_SOURCE_JOB_KIND],
            now,
            now.plus_millis(60_000),
        )
        .await
        .unwrap()
        .expect("the check is queued");
    assert_ne!(
        job.id, waiting,
        "the check is claimed before the older due job"
    );
    assert_eq!(job.payload["source_id"], json!(feed.id));
    assert_eq!(job.unique_key, Some(atalaya_store::poll_job_key(feed.id)));
    assert!(
        store
            .jobs()
            .claim(
                "w",
                &[atalaya_store::POLL_SOURCE_JOB_KIND],
                now,
                now.plus_millis(60_000)
            )
            .await
            .unwrap()
            .is_some_and(|next| next.id == waiting),
        "one check queued, not two"
    );
    assert!(store.jobs().complete(job.id, "w", now).await.unwrap());
    let page = team.app.get("/w/acme/sources", &manager).await;
    assert!(!page.body.contains("Checking now"), "{}", page.body);

    let hook = webhook(&team).await;
    let hook_id = store
        .sources()
        .list(team.workspace.id)
        .await
        .unwrap()
        .into_iter()
        .find(|source| source.kind == "webhook" && hook.path.contains("/hooks/"))
        .unwrap()
        .id;
    let reply = team
        .app
        .form(&format!("/w/acme/sources/{hook_id}/check"), &[], &manager)
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
}

async fn a_topic_with_a_bad_query_is_refused_with_the_position_in_each_language(db: Db) {
    let team = listening_team(db).await;
    let manager = team.app.bearer(&team.manager).await;
    let body = json!({"name": "Lumen", "kind": "brand", "query": "(lumen OR café"});
    let app = &team.app;
    let check = |lang: &'static str, expected: &'static str| {
        let request = json_request(
            Method::POST,
            "/api/v1/workspaces/acme/topics",
            &body,
            &manager,
            lang,
        );
        async move {
            let reply = app.send(request).await;
            assert_eq!(reply.status, 422, "{}", reply.body);
            let message = reply.json()["error"]["fields"][0]["message"]
                .as_str()
                .unwrap()
                .to_owned();
            assert!(message.starts_with(expected), "{lang}: {message}");
            assert_eq!(reply.json()["error"]["fields"][0]["field"], "query");
        }
    };
    check("es", "columna 15: se esperaba").await;
    check("en", "column 15: expected").await;
    assert!(
        team.app
            .store()
            .topics()
            .list(team.workspace.id)
            .await
            .unwrap()
            .is_empty()
    );

    let good = json!({"name": "Lumen", "kind": "brand", "query": "lumen -empleo"});
    let reply = team
        .app
        .send(json_request(
            Method::POST,
            "/api/v1/workspaces/acme/topics",
            &good,
            &manager,
            "en",
        ))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.json()["color"], "#1f6feb");
    let lumen = reply.json()["id"].as_i64().unwrap();
    let audit = team
        .app
        .store()
        .audit()
        .list(team.workspace.id, 5)
        .await
        .unwrap();
    assert_eq!(audit[0].action, "topic.created");

    // The rest of the topic's life: a second topic, a rename onto the first's
    // name (refused), an update, a read back, a delete.
    let rival =
        json!({"name": "Orbit", "kind": "competitor", "query": "orbit", "color": "#d73a49"});
    let reply = team
        .app
        .json(
            Method::POST,
            "/api/v1/workspaces/acme/topics",
            Some(rival),
            &manager,
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let orbit = reply.json()["id"].as_i64().unwrap();
    let path = format!("/api/v1/workspaces/acme/topics/{orbit}");
    let clash = json!({"name": "Lumen", "kind": "competitor", "query": "orbit"});
    let reply = team
        .app
        .json(Method::PUT, &path, Some(clash), &manager)
        .await;
    assert_eq!(reply.status, 409, "{}", reply.body);
    let renamed = json!({"name": "Orbit Café", "kind": "competitor", "query": "orbit OR \"orbit coffee\"", "active": false});
    let reply = team
        .app
        .json(Method::PUT, &path, Some(renamed), &manager)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = team.app.get(&path, &manager).await;
    assert_eq!(
        (reply.json()["name"].clone(), reply.json()["active"].clone()),
        (json!("Orbit Café"), json!(false))
    );
    let listed = team
        .app
        .get("/api/v1/workspaces/acme/topics", &manager)
        .await;
    let names: Vec<String> = listed
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|topic| topic["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["Lumen", "Orbit Café"]);
    let reply = team.app.json(Method::DELETE, &path, None, &manager).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    assert_eq!(team.app.get(&path, &manager).await.status, 404);
    let lumen_path = format!("/api/v1/workspaces/acme/topics/{lumen}");
    assert_eq!(team.app.get(&lumen_path, &manager).await.status, 200);
}

async fn the_live_test_counts_matches_and_shows_parse_errors(db: Db) {
    let team = listening_team(db).await;
    seed_mentions(&team).await;
    let manager = team.app.bearer(&team.manager).await;
    let reply = team
        .app
        .json(
            Method::POST,
            "/api/v1/workspaces/acme/topics/test",
            Some(json!({"query": "lumen", "text": "un café en LUMÉN"})),
            &manager,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(
        (
            body["valid"].clone(),
            body["scanned"].clone(),
            body["matched"].clone()
        ),
        (json!(true), json!(3), json!(2))
    );
    assert_eq!(body["sample"]["matched"], true);
    let reply = team
        .app
        .json(
            Method::POST,
            "/api/v1/workspaces/acme/topics/test",
            Some(json!({"query": "lumen AND"})),
            &manager,
        )
        .await;
    assert_eq!(reply.json()["valid"], false);
    assert!(
        reply.json()["error"]["caret"]
            .as_str()
            .unwrap()
            .ends_with('^')
    );

    // The page's htmx fragment: highlighted, escaped.
    let session = team.app.session(&team.manager).await;
    let reply = team
        .app
        .form("/w/acme/topics/test", &[("query", "lumen")], &session)
        .await;
    assert_eq!(reply.status, 200);
    assert!(reply.body.contains("<mark>Lumen</mark>"), "{}", reply.body);
    assert!(!reply.body.contains("<script>"), "{}", reply.body);
}

/// The denial of service of issue 11, verbatim in shape: one phrase of ~2,000
/// repeated words (within the 4,000-character query limit) and a
/// 100,000-character text kept both cores busy for minutes. Now the live
/// test answers at once that the query is too expensive, and saving the
/// query is refused on its field, in the caller's language.
async fn the_live_test_of_issue_11_a_long_repeated_phrase_over_a_long_text_is_refused_quickly(
    db: Db,
) {
    let team = listening_team(db).await;
    seed_mentions(&team).await;
    let manager = team.app.bearer(&team.manager).await;
    let query = format!("\"{}\"", vec!["a"; 1_999].join(" "));
    let text = "a ".repeat(50_000);
    let started = std::time::Instant::now();
    let reply = team
        .app
        .json(
            Method::POST,
            "/api/v1/workspaces/acme/topics/test",
            Some(json!({"query": query, "text": text})),
            &manager,
        )
        .await;
    // Seconds in a debug build on a busy machine, not minutes; the bound
    // that matters is the work budget, asserted in atalaya-text.
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["valid"], false, "{}", reply.body);
    let message = reply.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("too expensive"), "{message}");

    let body = json!({"name": "Costly", "kind": "brand", "query": query});
    let request = json_request(
        Method::POST,
        "/api/v1/workspaces/acme/topics",
        &body,
        &manager,
        "es",
    );
    let reply = team.app.send(request).await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    let field = &reply.json()["error"]["fields"][0];
    assert_eq!(field["field"], "query");
    let message = field["message"].as_str().unwrap();
    assert!(message.contains("demasiado costosa"), "{message}");
}

#[tokio::test]
async fn hostile_mention_text_is_escaped_and_bad_links_dropped() {
    let team = listening_team(Db::Sqlite).await;
    seed_mentions(&team).await;
    let viewer = team.app.session(&team.viewer).await;
    let reply = team.app.get("/w/acme/mentions", &viewer).await;
    assert_eq!(reply.status, 200);
    assert!(
        !reply.body.contains("<script>alert"),
        "raw script tag rendered"
    );
    assert!(!reply.body.contains("<img src=x"), "raw img tag rendered");
    let start = reply
        .body
        .find("alert(1)")
        .map_or(0, |at| at.saturating_sub(40));
    assert!(
        reply.body.contains("&#60;script&#62;alert(1)&#60;"),
        "{}",
        &reply.body[start..start + 120]
    );
    assert!(reply.body.contains("onerror=alert(2)"));
    assert!(!reply.body.contains("javascript:alert"));
    assert!(reply.body.contains(r#"rel="noopener noreferrer nofollow""#));
    assert!(reply.body.contains("<mark>Lumen</mark>"));
}

async fn mention_filters_work_on_the_page_and_the_api(db: Db) {
    let team = listening_team(db).await;
    let (source, topic) = seed_mentions(&team).await;
    let viewer = team.app.bearer(&team.viewer).await;
    let check = |query: String, expected: usize| {
        let auth = viewer.clone();
        let app = &team.app;
        async move {
            let reply = app
                .get(&format!("/api/v1/workspaces/acme/mentions?{query}"), &auth)
                .await;
            assert_eq!(reply.status, 200, "{query}: {}", reply.body);
            assert_eq!(
                reply.json()["mentions"].as_array().unwrap().len(),
                expected,
                "{query}"
            );
        }
    };
    check(String::new(), 3).await;
    check(format!("topic={topic}"), 2).await;
    check(format!("source={source}"), 3).await;
    check("sentiment=negative".into(), 1).await;
    check("lang=es".into(), 1).await;
    check("author=%40bob".into(), 1).await;
    check("q=cafeteria".into(), 1).await;
    check("from=2000-01-01&to=2000-01-02".into(), 0).await;
    // Keyset pagination: two pages of two and one.
    let reply = team
        .app
        .get("/api/v1/workspaces/acme/mentions?limit=2", &viewer)
        .await;
    let cursor = reply.json()["next_cursor"].as_str().unwrap().to_owned();
    check(format!("limit=2&before={cursor}"), 1).await;
    let reply = team
        .app
        .get("/api/v1/workspaces/acme/mentions?sentiment=angry", &viewer)
        .await;
    assert_eq!(reply.status, 422);

    let session = team.app.session(&team.viewer).await;
    let reply = team
        .app
        .get("/w/acme/mentions?sentiment=neutral", &session)
        .await;
    assert!(reply.body.contains("only the weather"));
    assert!(!reply.body.contains("cafetería nueva"));
}

async fn a_sentiment_correction_is_kept_and_audited(db: Db) {
    let team = listening_team(db).await;
    seed_mentions(&team).await;
    let mentions = team
        .app
        .store()
        .mentions()
        .list(
            team.workspace.id,
            &atalaya_store::MentionFilter {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let target = mentions
        .iter()
        .find(|m| m.sentiment == SentimentLabel::Negative)
        .unwrap();
    let path = format!("/api/v1/workspaces/acme/mentions/{}/sentiment", target.id);
    let viewer = team.app.bearer(&team.viewer).await;
    let reply = team
        .app
        .json(
            Method::POST,
            &path,
            Some(json!({"sentiment": "neutral"})),
            &viewer,
        )
        .await;
    assert_eq!(reply.status, 403);
    let agent = team.app.bearer(&team.agent).await;
    let reply = team
        .app
        .json(
            Method::POST,
            &path,
            Some(json!({"sentiment": "neutral"})),
            &agent,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["sentiment"], "neutral");
    assert_eq!(reply.json()["sentiment_model"], "negative");
    let audit = team
        .app
        .store()
        .audit()
        .list(team.workspace.id, 5)
        .await
        .unwrap();
    assert_eq!(audit[0].action, "mention.sentiment_corrected");
    assert_eq!(audit[0].detail["to"], "neutral");
}

struct Hook {
    path: String,
    secret: String,
}

async fn webhook(team: &Team) -> Hook {
    let manager = team.app.bearer(&team.manager).await;
    let reply = team
        .app
        .json(
            Method::POST,
            "/api/v1/workspaces/acme/sources",
            Some(json!({"kind": "webhook", "name": "CRM"})),
            &manager,
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let body = reply.json();
    assert!(body["source"]["config"].get("token_hash").is_none());
    Hook {
        path: body["webhook_path"].as_str().unwrap().to_owned(),
        secret: body["webhook_secret"].as_str().unwrap().to_owned(),
    }
}

async fn post_hook(
    team: &Team,
    path: &str,
    body: &str,
    signature: Option<String>,
) -> crate::support::Reply {
    let mut builder = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(signature) = signature {
        builder = builder.header(SIGNATURE_HEADER, signature);
    }
    team.app
        .send(builder.body(Body::from(body.to_owned())).unwrap())
        .await
}

async fn webhooks_check_signature_size_and_shape(db: Db) {
    let team = listening_team(db).await;
    let hook = webhook(&team).await;
    let body = json!({"mentions": [
        {"id": "a1", "text": "Lumen serves the best flat white in town", "url": "https://blog.example/a1"},
        {"id": "a2"}
    ]})
    .to_string();
    let signed = sign(hook.secret.as_bytes(), body.as_bytes(), None);

    let reply = post_hook(&team, &hook.path, &body, Some(signed.clone())).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(reply.json()["accepted"], 1);
    assert_eq!(reply.json()["rejected"][0]["index"], 1);
    let counts = team.app.store().jobs().counts().await.unwrap();
    let queued: i64 = counts
        .iter()
        .filter(|(status, _)| *status == atalaya_store::JobStatus::Queued)
        .map(|(_, n)| n)
        .sum();
    assert_eq!(queued, 1);

    let reply = post_hook(
        &team,
        &hook.path,
        &body,
        Some(sign(b"wrong secret", body.as_bytes(), None)),
    )
    .await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code()),
        (401, "bad_signature".to_owned())
    );
    let reply = post_hook(&team, &hook.path, &body, None).await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code()),
        (401, "missing_signature".to_owned())
    );

    let big = format!("{{\"text\": \"{}\"}}", "x".repeat(5_000));
    let reply = post_hook(
        &team,
        &hook.path,
        &big,
        Some(sign(hook.secret.as_bytes(), big.as_bytes(), None)),
    )
    .await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code()),
        (413, "payload_too_large".to_owned())
    );

    let broken = "{not json";
    let reply = post_hook(
        &team,
        &hook.path,
        broken,
        Some(sign(hook.secret.as_bytes(), broken.as_bytes(), None)),
    )
    .await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code()),
        (422, "bad_json".to_owned())
    );

    let reply = post_hook(&team, "/hooks/unknown-token", &body, Some(signed)).await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code()),
        (404, "not_found".to_owned())
    );
}

fn multipart(source: &str, file_name: &str, content: &str) -> (String, String) {
    let boundary = "----atalaya-test-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"source_id\"\r\n\r\n{source}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n{content}\r\n\
         --{boundary}--\r\n"
    );
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn an_uploaded_import_is_queued_with_a_report_of_rejected_rows() {
    let team = listening_team(Db::Sqlite).await;
    let (source, _) = seed_mentions(&team).await;
    let Auth::Session { token, csrf } = team.app.session(&team.manager).await else {
        unreachable!()
    };
    let content = "id,text,url\nr1,Lumen opens early on Sundays,https://blog.example/r1\nr2,,https://blog.example/r2\nr3,Lumen roasts its own beans,https://blog.example/r3\n";
    let (content_type, body) = multipart(&source.to_string(), "mentions.csv", content);
    let request = Request::post(format!("/w/acme/import?_csrf={csrf}"))
        .header(header::COOKIE, format!("atalaya_session={token}"))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    let reply = team.app.send(request).await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    let location = reply.location().unwrap().to_owned();
    let session = Auth::Session { token, csrf };
    // The import runs on a blocking thread; poll its progress fragment as htmx does.
    let mut fragment = String::new();
    for _ in 0..500 {
        fragment = team
            .app
            .get(&format!("{location}/progress"), &session)
            .await
            .body;
        if !fragment.contains("hx-trigger") {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(
        !fragment.contains("hx-trigger"),
        "import never finished: {fragment}"
    );
    assert!(
        fragment.contains("data-label=\"Line\">3</td>"),
        "line of the rejected row: {fragment}"
    );
    let page = team.app.get(&location, &session).await;
    assert_eq!(page.status, 200);
    let jobs = team.app.store().jobs().counts().await.unwrap();
    assert!(
        jobs.iter()
            .any(|(status, count)| *status == atalaya_store::JobStatus::Queued && *count == 1)
    );

    // Over the cap: refused with 413.
    let Auth::Session { token, csrf } = team.app.session(&team.manager).await else {
        unreachable!()
    };
    let (content_type, body) = multipart(&source.to_string(), "big.csv", &"x".repeat(70 * 1024));
    let request = Request::post(format!("/w/acme/import?_csrf={csrf}"))
        .header(header::COOKIE, format!("atalaya_session={token}"))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    assert_eq!(team.app.send(request).await.status, 413);
}

/// Regression: rejected rows were explained in English on Spanish pages
/// ("no text: the item needs a non-empty `text`…", with literal backticks).
#[tokio::test]
async fn rejected_rows_are_explained_in_the_readers_language() {
    let team = listening_team(Db::Sqlite).await;
    let (source, _) = seed_mentions(&team).await;
    team.app
        .store()
        .users()
        .set_ui_lang(team.manager.id, Some(atalaya_domain::UiLang::Es))
        .await
        .unwrap();
    let Auth::Session { token, csrf } = team.app.session(&team.manager).await else {
        unreachable!()
    };
    let content = "id,text,published_at,followers\nr1,,2026-01-01T00:00:00Z,3\nr2,Hola,ayer,3\nr3,Hola,2026-01-01T00:00:00Z,muchos\n";
    let (content_type, body) = multipart(&source.to_string(), "mentions.csv", content);
    let request = Request::post(format!("/w/acme/import?_csrf={csrf}"))
        .header(header::COOKIE, format!("atalaya_session={token}"))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    let reply = team.app.send(request).await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    let location = reply.location().unwrap().to_owned();
    let session = Auth::Session { token, csrf };
    let mut fragment = String::new();
    for _ in 0..500 {
        fragment = team
            .app
            .get(&format!("{location}/progress"), &session)
            .await
            .body;
        if !fragment.contains("hx-trigger") {
            break;
        }
        tokio::task::yield_now().await;
    }
    for expected in [
        "Sin texto: la fila necesita una columna text",
        "La fecha de publicación no se entiende: «ayer»",
        "Los seguidores no son un número entero: «muchos»",
        "3 rechazadas",
    ] {
        assert!(fragment.contains(expected), "{expected:?} in {fragment}");
    }
    assert!(!fragment.contains('`'), "no literal backticks: {fragment}");
}

async fn saved_views_round_trip_through_the_page(db: Db) {
    let team = listening_team(db).await;
    let session = team.app.session(&team.viewer).await;
    let reply = team
        .app
        .form(
            "/w/acme/views",
            &[
                ("name", "Angry"),
                ("query_string", "sentiment=negative&junk=1"),
            ],
            &session,
        )
        .await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    let views = team
        .app
        .store()
        .saved_views()
        .list(team.workspace.id)
        .await
        .unwrap();
    assert_eq!(views[0].query_string, "sentiment=negative");
}
