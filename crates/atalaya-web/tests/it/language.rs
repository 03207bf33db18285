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
