//! The dashboard's listening figures on a seeded workspace (counts, change,
//! sentiment shares, top topics, share of voice, failing sources in the
//! reader's language), that each figure's link shows the mentions it counts,
//! the empty states per role, and the chart's topic names and colours.

use atalaya_domain::{
    SentimentLabel, SourceHealth, SourceId, Timestamp, TopicHit, TopicId, TopicKind,
};
use atalaya_store::{NewMention, NewSource, NewTopic};
use axum::body::Body;
use axum::http::{Request, header};
use serde_json::json;

use crate::support::{Auth, Db, Team};

const DAY: i64 = 86_400_000;

struct Seeded {
    lumen: TopicId,
    orbit: TopicId,
    feed: SourceId,
}

async fn topic(team: &Team, name: &str, kind: TopicKind, color: &str) -> TopicId {
    team.app
        .store()
        .topics()
        .create(
            team.workspace.id,
            NewTopic {
                name,
                kind,
                query: name,
                color,
                active: true,
            },
            Timestamp::now(),
        )
        .await
        .unwrap()
        .id
}

async fn source(team: &Team, kind: &str, name: &str) -> SourceId {
    team.app
        .store()
        .sources()
        .create(
            team.workspace.id,
            NewSource {
                account_id: None,
                kind,
                name,
                config: json!({"url": "https://feeds.example/roaster.xml"}),
                sealed_secret: None,
                enabled: true,
            },
            Timestamp::now(),
        )
        .await
        .unwrap()
        .id
}

/// This week: Lumen ×3 (2 positive, 1 negative), Orbit ×1 and Beans ×1
/// (neutral); the week before: Lumen ×2; twenty days ago: Orbit ×2. A feed
/// that times out and an import that works.
async fn seed(team: &Team) -> Seeded {
    let lumen = topic(team, "Lumen", TopicKind::Brand, "#1f6feb").await;
    let orbit = topic(team, "Orbit", TopicKind::Competitor, "#d73a49").await;
    let beans = topic(team, "Beans", TopicKind::Sector, "#2da44e").await;
    let feed = source(team, "rss", "Roaster feed").await;
    let import = source(team, "import", "Spreadsheet").await;
    let now = Timestamp::now();
    team.app
        .store()
        .sources()
        .record_failure(
            feed,
            &atalaya_store::PollFailure {
                code: "timeout",
                message: "operation timed out",
                health: SourceHealth::Failing,
            },
            now,
            now.plus_millis(DAY),
        )
        .await
        .unwrap();

    let hit = |topic_id: TopicId| {
        vec![TopicHit {
            topic_id,
            spans: Vec::new(),
        }]
    };
    let rows = [
        ("w1", lumen, SentimentLabel::Positive, 1),
        ("w2", lumen, SentimentLabel::Positive, 2),
        ("w3", lumen, SentimentLabel::Negative, 3),
        ("w4", orbit, SentimentLabel::Neutral, 4),
        ("w5", beans, SentimentLabel::Neutral, 5),
        ("p1", lumen, SentimentLabel::Positive, 8 * DAY),
        ("p2", lumen, SentimentLabel::Positive, 8 * DAY + 1),
        ("o1", orbit, SentimentLabel::Negative, 20 * DAY),
        ("o2", orbit, SentimentLabel::Negative, 20 * DAY + 1),
    ];
    let hits: Vec<Vec<TopicHit>> = rows.iter().map(|row| hit(row.1)).collect();
    let texts: Vec<String> = rows
        .iter()
        .map(|row| format!("A made-up post number {} about coffee", row.0))
        .collect();
    let batch: Vec<NewMention> = rows
        .iter()
        .zip(&hits)
        .zip(&texts)
        .map(|((row, topics), text)| NewMention {
            source_id: import,
            external_id: row.0,
            url: None,
            canonical_url: None,
            title: None,
            text,
            content_raw: text,
            author: None,
            lang: "en",
            lang_confidence: 0.9,
            sentiment: row.2,
            sentiment_score: 0.0,
            sentiment_confidence: 0.8,
            topics,
            published_at: now.plus_millis(-row.3),
        })
        .collect();
    team.app
        .store()
        .mentions()
        .insert_batch(team.workspace.id, &batch, now)
        .await
        .unwrap();
    Seeded { lumen, orbit, feed }
}

/// The page as a browser asking for `lang` gets it, for the `days` ending today.
async fn dashboard(team: &Team, auth: &Auth, lang: &str, days: i64) -> String {
    let Auth::Session { token, .. } = auth else {
        panic!("sessions only")
    };
    let request = Request::get(format!("/w/acme?days={days}"))
        .header(header::COOKIE, format!("atalaya_session={token}"))
        .header(header::ACCEPT_LANGUAGE, lang)
        .body(Body::empty())
        .unwrap();
    let reply = team.app.send(request).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

/// `YYYY-MM-DD` of `days` days before today, UTC (the test workspace's zone).
fn day(days_ago: i64) -> String {
    let today = Timestamp::now().millis().div_euclid(DAY) - days_ago;
    let date = time::OffsetDateTime::from_unix_timestamp(today * 86_400)
        .unwrap()
        .date();
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// A link as askama writes it in an attribute (`&` escaped).
fn href(link: &str) -> String {
    format!("href=\"{}\"", link.replace('&', "&#38;"))
}

/// The part of `page` from `marker` to the end of its card.
fn card<'a>(page: &'a str, marker: &str) -> &'a str {
    let start = page
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in:\n{page}"));
    let rest = &page[start..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

async fn the_dashboard_shows_the_listening_figures_with_links(db: Db) {
    let team = Team::on(db).await;
    let Seeded { lumen, orbit, feed } = seed(&team).await;
    let viewer = team.app.session(&team.viewer).await;
    let page = dashboard(&team, &viewer, "en", 7).await;
    let week = format!("from={}&to={}", day(6), day(0));
    let month = format!("from={}&to={}", day(29), day(0));

    let check = |fragment: String| {
        assert!(page.contains(&fragment), "missing {fragment:?} in:\n{page}");
    };
    // 5 mentions this week against 2 the week before: +150%.
    let kpis = card(&page, "class=\"kpis\"");
    assert!(
        kpis.contains(&href(&format!("/w/acme/mentions?{week}"))),
        "{kpis}"
    );
    assert!(
        kpis.contains("<span class=\"kpi-value\">5</span>"),
        "{kpis}"
    );
    assert!(kpis.contains("+150% vs the previous period"), "{kpis}");
    // Negative share 20% (1 of 5), none the week before: −20 points.
    assert!(
        kpis.contains("<span class=\"kpi-value\">20%</span>"),
        "{kpis}"
    );
    assert!(kpis.contains("+20 points vs the previous period"), "{kpis}");
    // Net sentiment: (2 positive − 1 negative) / 3 = +33.
    assert!(
        kpis.contains("<span class=\"kpi-value\">+33</span>"),
        "{kpis}"
    );
    // The failing feed counts as one thing needing attention.
    assert!(
        kpis.contains("<span class=\"kpi-value\">1</span>"),
        "{kpis}"
    );

    // Sentiment: 1 negative (20%), 2 neutral (40%), 2 positive (40%).
    let sentiment = card(&page, "sentiment-title");
    for (label, shown, count) in [
        ("negative", "20%", "1 mention"),
        ("neutral", "40%", "2 mentions"),
        ("positive", "40%", "2 mentions"),
    ] {
        let link = href(&format!("/w/acme/mentions?sentiment={label}&{week}"));
        let at = sentiment
            .find(&link)
            .unwrap_or_else(|| panic!("{link} in {sentiment}"));
        let entry = &sentiment[at..at + sentiment[at..].find("</a>").unwrap()];
        assert!(
            entry.contains(&format!("<strong>{shown}</strong>"))
                && entry.contains(&format!("<small>{count}</small>")),
            "{label}: {entry}"
        );
    }
    // Top topics this week: Lumen 3 (60%), then Orbit and Beans 1 each.
    let topics = card(&page, "topics-title");
    let lumen_row = &topics[topics
        .find(&href(&format!("/w/acme/mentions?topic={lumen}&{week}")))
        .expect("Lumen's link")..];
    let lumen_row = &lumen_row[..lumen_row.find("</tr>").unwrap()];
    assert!(lumen_row.contains("Lumen"), "{lumen_row}");
    assert!(
        lumen_row.contains("<strong>3</strong> <span class=\"muted small\">60%</span>"),
        "{lumen_row}"
    );
    assert!(lumen_row.contains("+50%"), "3 against 2: {lumen_row}");
    assert!(topics.contains("class=\"sparkline\""), "{topics}");

    // Share of voice over 30 days, brand and competitor only: Lumen 5 of 8,
    // Orbit 3 of 8; Beans (a sector) is not in it.
    let page_month = dashboard(&team, &viewer, "en", 30).await;
    let voice = card(&page_month, "voice-title");
    for (topic, share, count) in [(lumen, "63%", "5"), (orbit, "38%", "3")] {
        let link = href(&format!("/w/acme/mentions?topic={topic}&{month}"));
        let at = voice
            .find(&link)
            .unwrap_or_else(|| panic!("{link} in {voice}"));
        let row = &voice[at..at + voice[at..].find("</li>").unwrap()];
        assert!(
            row.contains(&format!("{share}<small>{count}</small>")),
            "{row}"
        );
    }
    assert!(!voice.contains("Beans"), "{voice}");

    // The failing feed, its error by code in the reader's language, and a
    // link to it; a working source is not listed.
    let attention = card(&page, "attention-title");
    assert!(attention.contains("Roaster feed is failing"), "{attention}");
    assert!(
        attention.contains("The server took too long to answer."),
        "{attention}"
    );
    assert!(
        attention.contains(&href(&format!("/w/acme/sources#source-{feed}"))),
        "{attention}"
    );
    assert!(!attention.contains("Spreadsheet"), "{attention}");
    // The newest negative mention is previewed, linked to the filtered list.
    let negative = card(&page, "negative-title");
    assert!(negative.contains("post number w3"), "{negative}");
    check(href(&format!("/w/acme/mentions?sentiment=negative&{week}")));

    // Every link shows what its figure counts.
    let api = team.app.bearer(&team.viewer).await;
    let listed = |query: String| {
        let api = api.clone();
        let app = &team.app;
        async move {
            let reply = app
                .get(
                    &format!("/api/v1/workspaces/acme/mentions?{query}&limit=100"),
                    &api,
                )
                .await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            reply.json()["mentions"].as_array().unwrap().len()
        }
    };
    assert_eq!(listed(week.clone()).await, 5);
    assert_eq!(listed(format!("sentiment=neutral&{week}")).await, 2);
    assert_eq!(listed(format!("topic={lumen}&{week}")).await, 3);
    assert_eq!(listed(format!("topic={lumen}&{month}")).await, 5);
    assert_eq!(listed(format!("topic={orbit}&{month}")).await, 3);

    // The same figures in Spanish, written the Spanish way.
    let page = dashboard(&team, &viewer, "es", 7).await;
    assert!(
        page.contains("+150\u{a0}% frente al periodo anterior"),
        "{page}"
    );
    assert!(page.contains("Cuota de voz"));
    assert!(page.contains("Roaster feed falla"), "{page}");
    assert!(
        page.contains("El servidor tardó demasiado en responder."),
        "{page}"
    );
}

async fn empty_states_link_to_the_forms_only_for_roles_that_can_use_them(db: Db) {
    let team = Team::on(db).await;
    let manager = team.app.session(&team.manager).await;
    let page = dashboard(&team, &manager, "en", 30).await;
    assert!(page.contains("Start listening"), "{page}");
    assert!(page.contains("href=\"/w/acme/topics/new\""), "{page}");
    assert!(page.contains("href=\"/w/acme/sources/new\""), "{page}");
    assert!(
        page.contains("No mentions in the previous period"),
        "{page}"
    );
    assert!(page.contains("No sources yet."), "{page}");

    let viewer = team.app.session(&team.viewer).await;
    let page = dashboard(&team, &viewer, "en", 30).await;
    assert!(page.contains("Start listening"), "{page}");
    assert!(!page.contains("/topics/new"), "{page}");
    assert!(!page.contains("/sources/new"), "{page}");
    assert!(page.contains("A manager or an administrator can add them."));
}

async fn the_daily_stats_name_and_colour_each_topic(db: Db) {
    let team = Team::on(db).await;
    let Seeded { lumen, orbit, .. } = seed(&team).await;
    let viewer = team.app.bearer(&team.viewer).await;
    let reply = team
        .app
        .get("/api/v1/workspaces/acme/stats/daily", &viewer)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let rows = reply.json();
    let check = |topic: TopicId, expected: (&str, &str, i64)| {
        let mine: Vec<&serde_json::Value> = rows
            .as_array()
            .unwrap()
            .iter()
            .filter(|row| row["topic_id"] == topic.get())
            .collect();
        assert!(!mine.is_empty(), "{topic}: {rows}");
        for row in &mine {
            assert_eq!(
                (row["topic_name"].as_str(), row["topic_color"].as_str()),
                (Some(expected.0), Some(expected.1)),
                "{row}"
            );
        }
        let total: i64 = mine.iter().map(|row| row["count"].as_i64().unwrap()).sum();
        assert_eq!(total, expected.2, "{topic}");
    };
    check(lumen, ("Lumen", "#1f6feb", 5));
    check(orbit, ("Orbit", "#d73a49", 3));

    // The daily stats follow the mention filters: Lumen's negative mentions only.
    let reply = team
        .app
        .get(
            &format!("/api/v1/workspaces/acme/stats/daily?topic={lumen}&sentiment=negative"),
            &viewer,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let total: i64 = reply
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["count"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 1);
    // Per sentiment: this month's 8 mentions of the seed split 3/2/4… as stored.
    let reply = team
        .app
        .get("/api/v1/workspaces/acme/stats/daily-sentiment", &viewer)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let mut per_label = std::collections::BTreeMap::new();
    for row in reply.json().as_array().unwrap() {
        *per_label
            .entry(row["sentiment"].as_str().unwrap().to_owned())
            .or_insert(0) += row["count"].as_i64().unwrap();
    }
    assert_eq!(
        per_label,
        [
            ("negative".to_owned(), 3),
            ("neutral".to_owned(), 2),
            ("positive".to_owned(), 4)
        ]
        .into_iter()
        .collect()
    );
    // Out-of-range days are refused with the field named.
    let reply = team
        .app
        .get(
            "/api/v1/workspaces/acme/stats/daily?from=2020-01-01&to=2026-01-01",
            &viewer,
        )
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);

    // The chart script takes a series' own colour before its tone.
    let script = team.app.get("/static/js/charts.js", &Auth::Anonymous).await;
    assert_eq!(script.status, 200);
    assert!(script.body.contains("line.color"));
}

on_both_databases!(
    the_dashboard_shows_the_listening_figures_with_links,
    empty_states_link_to_the_forms_only_for_roles_that_can_use_them,
    the_daily_stats_name_and_colour_each_topic,
);
