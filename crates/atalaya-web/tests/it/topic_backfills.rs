//! Topic backfills through the API: creating a topic, changing its query or
//! switching it back on queues the re-matching of the stored mentions (a job
//! row, for the workers), and the topic JSON carries the latest one's progress;
//! the workspace's languages are read and changed by managers only.

use atalaya_domain::{BackfillState, Timestamp};
use atalaya_store::BACKFILL_JOB_KIND;
use axum::http::Method;
use serde_json::json;

use crate::support::{Db, Team};

on_both_databases!(
    saving_a_topic_queues_a_backfill_shown_with_the_topic,
    workspace_languages_are_read_and_changed_by_managers,
);

/// Regression: the editor's live test matched `source:` against the source
/// kind (`mastodon_hashtag`) while ingest and backfills match the network
/// (`mastodon`), so `source:mastodon` found nothing live and everything later.
#[tokio::test]
async fn the_live_test_reads_source_as_the_network_like_ingest() {
    use atalaya_store::{NewMention, NewSource};
    let team = Team::new().await;
    let store = team.app.store();
    let hashtag = NewSource {
        account_id: None,
        kind: "mastodon_hashtag",
        name: "#aurora",
        config: json!({}),
        sealed_secret: None,
        enabled: true,
    };
    let source = store
        .sources()
        .create(team.workspace.id, hashtag, Timestamp::now())
        .await
        .unwrap();
    let mention = NewMention {
        source_id: source.id,
        external_id: "toot-1",
        url: None,
        canonical_url: None,
        title: None,
        text: "Aurora abre hoy",
        content_raw: "Aurora abre hoy",
        author: None,
        lang: "es",
        lang_confidence: 0.9,
        sentiment: atalaya_domain::SentimentLabel::Neutral,
        sentiment_score: 0.0,
        sentiment_confidence: 0.5,
        topics: &[],
        published_at: Timestamp::now(),
    };
    store
        .mentions()
        .insert_batch(team.workspace.id, &[mention], Timestamp::now())
        .await
        .unwrap();
    let manager = team.app.bearer(&team.manager).await;
    for (query, matched) in [("aurora source:mastodon", 1), ("aurora source:rss", 0)] {
        let reply = team
            .app
            .json(
                Method::POST,
                "/api/v1/workspaces/acme/topics/test",
                Some(json!({ "query": query })),
                &manager,
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.json()["matched"], matched, "{query}");
    }
}

const DAY: i64 = 86_400_000;

async fn saving_a_topic_queues_a_backfill_shown_with_the_topic(db: Db) {
    let team = Team::on(db).await;
    let manager = team.app.bearer(&team.manager).await;
    let viewer = team.app.bearer(&team.viewer).await;
    let before = Timestamp::now();
    let body = json!({"name": "Aurora", "kind": "brand", "query": "aurora"});
    let reply = team
        .app
        .json(
            Method::POST,
            "/api/v1/workspaces/acme/topics",
            Some(body),
            &manager,
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let created = reply.json();
    assert_eq!(created["name"], "Aurora");
    assert_eq!(created["backfill"]["state"], "queued");
    assert_eq!(created["backfill"]["scanned"], 0);
    let window_from = created["backfill"]["window_from"].as_i64().unwrap();
    let expected = before.millis() - 90 * DAY;
    assert!(
        (expected..expected + 60_000).contains(&window_from),
        "90 days back: {window_from} vs {expected}"
    );
    let first = created["backfill"]["id"].as_i64().unwrap();

    // The job row the workers will run, not before a few seconds from now.
    let soon = Timestamp::now().plus_millis(10_000);
    let job = team
        .app
        .store()
        .jobs()
        .claim("w", &[BACKFILL_JOB_KIND], soon, soon.plus_millis(60_000))
        .await
        .unwrap()
        .expect("a backfill job is queued");
    assert_eq!(job.payload["backfill_id"], first);

    // Every member reads the progress with the topic.
    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/v1/workspaces/acme/topics/{id}");
    let read = team.app.get(&path, &viewer).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.json()["backfill"]["id"], first);

    // A rename keeps the backfill; a new query supersedes it with another.
    let renamed = json!({"name": "Aurora café", "kind": "brand", "query": "aurora"});
    let reply = team
        .app
        .json(Method::PUT, &path, Some(renamed), &manager)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["backfill"]["id"], first);
    let requeried =
        json!({"name": "Aurora café", "kind": "brand", "query": "aurora OR \"cafe aurora\""});
    let reply = team
        .app
        .json(Method::PUT, &path, Some(requeried), &manager)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let second = reply.json()["backfill"]["id"].as_i64().unwrap();
    assert_ne!(second, first);
    assert_eq!(
        reply.json()["backfill"]["query"],
        "aurora OR \"cafe aurora\""
    );
    let old = team
        .app
        .store()
        .backfills()
        .get(atalaya_domain::BackfillId(first))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.backfill.state, BackfillState::Superseded);

    // The list carries each topic's latest backfill; an inactive topic has none.
    let off = json!({"name": "Brisa", "kind": "competitor", "query": "brisa", "active": false});
    let reply = team
        .app
        .json(
            Method::POST,
            "/api/v1/workspaces/acme/topics",
            Some(off),
            &manager,
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.json()["backfill"], serde_json::Value::Null);
    let listed = team
        .app
        .get("/api/v1/workspaces/acme/topics", &viewer)
        .await;
    let backfills: Vec<(String, serde_json::Value)> = listed
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|topic| {
            (
                topic["name"].as_str().unwrap().to_owned(),
                topic["backfill"]["id"].clone(),
            )
        })
        .collect();
    assert_eq!(
        backfills,
        [
            ("Aurora café".to_owned(), json!(second)),
            ("Brisa".to_owned(), serde_json::Value::Null)
        ]
    );
}

async fn workspace_languages_are_read_and_changed_by_managers(db: Db) {
    let team = Team::on(db).await;
    let manager = team.app.bearer(&team.manager).await;
    let agent = team.app.bearer(&team.agent).await;
    let path = "/api/v1/workspaces/acme/languages";
    let reply = team.app.get(path, &manager).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["languages"], json!(["es", "en"]));
    assert_eq!(
        reply.json()["known"],
        json!(["es", "en", "pt", "fr", "it", "de", "ca", "ar", "hi"])
    );
    assert_eq!(team.app.get(path, &agent).await.status, 403);
    let change = json!({"languages": ["pt", "es"]});
    assert_eq!(
        team.app
            .json(Method::PUT, path, Some(change.clone()), &agent)
            .await
            .status,
        403
    );

    for bad in [json!([]), json!(["es", "es"]), json!(["xx"])] {
        let reply = team
            .app
            .json(
                Method::PUT,
                path,
                Some(json!({ "languages": bad })),
                &manager,
            )
            .await;
        assert_eq!(reply.status, 422, "{bad}: {}", reply.body);
        assert_eq!(reply.json()["error"]["fields"][0]["field"], "languages");
    }
    let reply = team
        .app
        .json(Method::PUT, path, Some(change), &manager)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["languages"], json!(["pt", "es"]));
    let stored = team
        .app
        .store()
        .workspaces()
        .get(team.workspace.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.languages, ["pt", "es"]);
    let audit = team
        .app
        .store()
        .audit()
        .list(team.workspace.id, 1)
        .await
        .unwrap();
    assert_eq!(audit[0].action, "workspace.languages_changed");
    assert_eq!(audit[0].detail["to"], json!(["pt", "es"]));
}

/// Regression: a new topic showed 0 mentions, silently, while the live test
/// found hundreds. Its card now says that the stored mentions are being
/// searched, refreshes itself while they are, and says what was found.
#[tokio::test]
async fn a_topic_card_shows_its_backfill_from_queued_to_done() {
    let team = Team::new().await;
    let session = team.app.session(&team.manager).await;
    let reply = team
        .app
        .form(
            "/w/acme/topics",
            &[
                ("name", "Aurora"),
                ("kind", "brand"),
                ("query", "aurora"),
                ("active", "1"),
            ],
            &session,
        )
        .await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    let page = team.app.get(reply.location().unwrap(), &session).await;
    assert!(page.body.contains("backfill-queued"), "{}", page.body);
    assert!(
        page.body.contains("hx-trigger=\"every 2s\""),
        "the cards refresh while a backfill is pending"
    );
    assert!(page.body.contains("the last 90 days"), "{}", page.body);

    let store = team.app.store();
    let topic = store.topics().list(team.workspace.id).await.unwrap()[0].clone();
    let queued = store
        .backfills()
        .latest(team.workspace.id, topic.id)
        .await
        .unwrap()
        .unwrap();
    store
        .backfills()
        .start(queued.id, Timestamp::now())
        .await
        .unwrap()
        .unwrap();
    let page = team.app.get("/w/acme/topics", &session).await;
    assert!(page.body.contains("backfill-running"), "{}", page.body);
    assert!(page.body.contains("<progress"), "{}", page.body);

    store
        .backfills()
        .finish(queued.id, Timestamp::now())
        .await
        .unwrap();
    let page = team.app.get("/w/acme/topics", &session).await;
    assert!(page.body.contains("backfill-done"), "{}", page.body);
    assert!(
        page.body
            .contains("0 mentions found among the 0 stored from the last 90 days"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("hx-trigger=\"every 2s\""),
        "nothing left to wait for"
    );
}

/// The settings page edits the workspace's languages as boxes, keeping their
/// order of preference; unticking all is refused under the field with the rest
/// of the form kept.
#[tokio::test]
async fn the_settings_page_changes_the_workspace_languages() {
    let team = Team::new().await;
    let session = team.app.session(&team.admin).await;
    let page = team.app.get("/w/acme/settings", &session).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains("name=\"language_es\" value=\"1\" checked")
    );
    assert!(page.body.contains("name=\"language_pt\" value=\"1\">"));
    let order = "es,en,pt,fr,it,de,ca,ar,hi";
    let reply = team
        .app
        .form(
            "/w/acme/settings",
            &[
                ("name", "Acme Coffee"),
                ("time_zone", "Europe/Madrid"),
                ("order", order),
                ("language_es", "1"),
                ("language_pt", "1"),
            ],
            &session,
        )
        .await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    let workspace = team
        .app
        .store()
        .workspaces()
        .get_by_slug("acme")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(workspace.languages, ["es", "pt"]);
    assert_eq!(workspace.time_zone, "Europe/Madrid");

    let refused = team
        .app
        .form(
            "/w/acme/settings",
            &[
                ("name", "Acme Roasters"),
                ("time_zone", "UTC"),
                ("order", order),
            ],
            &session,
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("choose at least one language"),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("value=\"Acme Roasters\""),
        "the name typed is kept"
    );
    let unchanged = team
        .app
        .store()
        .workspaces()
        .get_by_slug("acme")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unchanged.languages, ["es", "pt"]);
    assert_eq!(unchanged.name, "Acme Coffee");
}
