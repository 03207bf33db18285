//! The interface language: user setting, then cookie, then Accept-Language.

use axum::body::Body;
use axum::http::Request;

use crate::support::{Auth, TestApp};

async fn sign_in_page(
    app: &TestApp,
    cookie: Option<&str>,
    accept_language: Option<&str>,
) -> String {
    let mut builder = Request::get("/login");
    if let Some(cookie) = cookie {
        builder = builder.header("cookie", cookie);
    }
    if let Some(accept) = accept_language {
        builder = builder.header("accept-language", accept);
    }
    app.send(builder.body(Body::empty()).unwrap()).await.body
}

fn check(page: &str, expected: &str) {
    let (lang, title) = match expected {
        "es" => ("<html lang=\"es\">", "Iniciar sesión"),
        _ => ("<html lang=\"en\">", "Sign in"),
    };
    assert!(
        page.contains(lang) && page.contains(title),
        "expected {expected}: {}",
        page.chars().take(400).collect::<String>()
    );
}

#[tokio::test]
async fn anonymous_visitors_get_the_negotiated_language() {
    let app = TestApp::new().await;
    check(
        &sign_in_page(&app, None, Some("es-ES,es;q=0.9,en;q=0.5")).await,
        "es",
    );
    check(
        &sign_in_page(&app, None, Some("en-US,en;q=0.9")).await,
        "en",
    );
    check(
        &sign_in_page(&app, None, Some("fr;q=0.9, es;q=0.4")).await,
        "es",
    );
    check(&sign_in_page(&app, None, None).await, "en");
    // The switch's cookie beats the browser.
    check(
        &sign_in_page(&app, Some("atalaya_lang=es"), Some("en")).await,
        "es",
    );
    check(
        &sign_in_page(&app, Some("atalaya_lang=en"), Some("es")).await,
        "en",
    );
}

#[tokio::test]
async fn the_root_redirect_and_the_switch() {
    let app = TestApp::new().await;
    let request = Request::get("/")
        .header("accept-language", "es")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(request).await.location(), Some("/login"));

    let visitor = Auth::visitor();
    let reply = app
        .form("/lang", &[("lang", "es"), ("next", "/login")], &visitor)
        .await;
    assert_eq!(reply.location(), Some("/login"));
    assert!(
        reply
            .set_cookie("atalaya_lang")
            .unwrap()
            .starts_with("atalaya_lang=es;")
    );
    // Only local paths: the switch is no open redirect.
    let reply = app
        .form(
            "/lang",
            &[("lang", "en"), ("next", "//evil.example/")],
            &visitor,
        )
        .await;
    assert_eq!(reply.location(), Some("/"));
    let reply = app.form("/lang", &[("lang", "xx")], &visitor).await;
    assert_eq!(reply.status, 422);
}

#[tokio::test]
async fn the_users_setting_wins() {
    let app = TestApp::new().await;
    let user = app.user("ana", false).await;
    let Auth::Session { token, csrf } = app.session(&user).await else {
        unreachable!()
    };
    let session = Auth::Session {
        token: token.clone(),
        csrf,
    };
    let reply = app
        .form("/account/language", &[("ui_lang", "es")], &session)
        .await;
    assert_eq!(reply.status, 303);
    let request = Request::get("/account")
        .header(
            "cookie",
            format!("atalaya_session={token}; atalaya_lang=en"),
        )
        .header("accept-language", "en")
        .body(Body::empty())
        .unwrap();
    let page = app.send(request).await;
    assert!(
        page.body.contains("<html lang=\"es\">") && page.body.contains("Tu cuenta"),
        "{}",
        page.body
    );
    // API errors follow the same language.
    let reply = app
        .json(
            axum::http::Method::GET,
            "/api/v1/workspaces/nope",
            None,
            &session,
        )
        .await;
    assert_eq!(
        reply.json()["error"]["message"],
        "Esta página no existe o no puedes verla."
    );
    // "auto" goes back to the browser.
    app.form("/account/language", &[("ui_lang", "auto")], &session)
        .await;
    assert!(
        app.get("/account", &session)
            .await
            .body
            .contains("<html lang=\"en\">")
    );
}

/// English catalogue strings that must never show on a Spanish page: those
/// that differ from their Spanish translation and are long enough to be
/// unmistakable, cut at their placeholders.
fn english_fragments() -> Vec<String> {
    let parse = |text: &str| -> std::collections::HashMap<String, String> {
        text.lines()
            .filter_map(|line| line.split_once('='))
            .filter(|(key, _)| !key.trim_start().starts_with('#'))
            .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
            .collect()
    };
    let es = parse(include_str!("../../locales/es.txt"));
    let en = parse(include_str!("../../locales/en.txt"));
    let mut fragments = Vec::new();
    for (key, english) in &en {
        let Some(spanish) = es.get(key) else { continue };
        if spanish == english {
            continue;
        }
        for piece in english.split('{') {
            let piece = piece.split_once('}').map_or(piece, |(_, rest)| rest).trim();
            if piece.len() >= 12 && piece.contains(' ') && !spanish.contains(piece) {
                fragments.push(piece.to_owned());
            }
        }
    }
    fragments.sort();
    fragments.dedup();
    fragments
}

/// The visible text of a page: tags removed, entities for quotes decoded.
fn visible_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// Regression: English strings leaked into Spanish pages (import rejects,
/// "Time" in a chart legend). Every page a Spanish member opens is checked
/// against every English catalogue string.
#[tokio::test]
async fn a_spanish_page_contains_no_english_catalogue_string() {
    use atalaya_domain::{SentimentLabel, Timestamp, TopicKind, UiLang};
    let team = crate::support::Team::new().await;
    let store = team.app.store();
    store
        .users()
        .set_ui_lang(team.admin.id, Some(UiLang::Es))
        .await
        .unwrap();
    let topic = store
        .topics()
        .create(
            team.workspace.id,
            atalaya_store::NewTopic {
                name: "Lumen",
                kind: TopicKind::Brand,
                query: "lumen",
                color: "#1f6feb",
                active: true,
            },
            Timestamp::now(),
        )
        .await
        .unwrap();
    let source = store
        .sources()
        .create(
            team.workspace.id,
            atalaya_store::NewSource {
                account_id: None,
                kind: "rss",
                name: "Feed",
                config: serde_json::json!({"url": "https://feeds.example/a.xml"}),
                sealed_secret: None,
                enabled: true,
            },
            Timestamp::now(),
        )
        .await
        .unwrap();
    let hits = [atalaya_domain::TopicHit {
        topic_id: topic.id,
        spans: Vec::new(),
    }];
    store
        .mentions()
        .insert_batch(
            team.workspace.id,
            &[atalaya_store::NewMention {
                source_id: source.id,
                external_id: "1",
                url: Some("https://feeds.example/1"),
                canonical_url: None,
                title: None,
                text: "lumen está genial",
                content_raw: "lumen está genial",
                author: None,
                lang: "es",
                lang_confidence: 0.9,
                sentiment: SentimentLabel::Positive,
                sentiment_score: 0.5,
                sentiment_confidence: 0.8,
                topics: &hits,
                published_at: Timestamp::now(),
            }],
            Timestamp::now(),
        )
        .await
        .unwrap();
    let admin = team.app.session(&team.admin).await;
    let english = english_fragments();
    assert!(
        english.len() > 100,
        "too few strings to check: {}",
        english.len()
    );
    let pages = [
        "/w/acme".to_owned(),
        "/w/acme?days=7".to_owned(),
        "/w/acme/mentions".to_owned(),
        "/w/acme/mentions?sentiment=negative&q=lumen".to_owned(),
        "/w/acme/topics".to_owned(),
        "/w/acme/topics/new".to_owned(),
        format!("/w/acme/topics/{}", topic.id),
        "/w/acme/sources".to_owned(),
        "/w/acme/sources/new".to_owned(),
        "/w/acme/import".to_owned(),
        "/w/acme/accounts".to_owned(),
        "/w/acme/members".to_owned(),
        "/w/acme/settings".to_owned(),
        "/w/acme/audit".to_owned(),
        "/w/acme/search?q=lumen".to_owned(),
        "/w/acme/no-such-page".to_owned(),
        "/account".to_owned(),
        "/workspaces".to_owned(),
        "/styleguide".to_owned(),
    ];
    let mut leaks = Vec::new();
    for path in &pages {
        let reply = team.app.get(path, &admin).await;
        assert!(
            reply.status == 200 || path.ends_with("no-such-page"),
            "{path}: {}",
            reply.status
        );
        assert!(reply.body.contains("<html lang=\"es\""), "{path}");
        let text = visible_text(&reply.body);
        for fragment in &english {
            if text.contains(fragment.as_str()) {
                leaks.push(format!("{path}: {fragment:?}"));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "English on Spanish pages:\n{}",
        leaks.join("\n")
    );
}
