//! Health checks, security headers and static assets.

use crate::support::{Auth, TestApp};

#[tokio::test]
async fn healthz_and_readyz() {
    let app = TestApp::new().await;
    let health = app.get("/healthz", &Auth::Anonymous).await;
    assert_eq!((health.status.as_u16(), health.body.as_str()), (200, "ok"));
    assert!(health.headers.get("set-cookie").is_none());
    let api = app.get("/api/v1/me", &Auth::Anonymous).await;
    assert!(
        api.headers.get("set-cookie").is_none(),
        "API clients get no form token"
    );
    assert_eq!(app.get("/readyz", &Auth::Anonymous).await.status, 200);
    // With the database gone, readiness fails but liveness does not.
    app.store().close().await;
    assert_eq!(app.get("/readyz", &Auth::Anonymous).await.status, 503);
    assert_eq!(app.get("/healthz", &Auth::Anonymous).await.status, 200);
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::new().await;
    for path in ["/login", "/healthz", "/api/v1/me", "/no-such-page"] {
        let reply = app.get(path, &Auth::Anonymous).await;
        let csp = reply
            .headers
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(
            csp.contains("default-src 'self'")
                && csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline")
        );
        assert_eq!(
            reply.headers.get("x-content-type-options").unwrap(),
            "nosniff",
            "{path}"
        );
        assert_eq!(
            reply.headers.get("x-frame-options").unwrap(),
            "DENY",
            "{path}"
        );
        assert!(reply.headers.get("referrer-policy").is_some(), "{path}");
    }
}

#[tokio::test]
async fn pages_have_no_inline_scripts_and_the_shell_is_accessible() {
    let app = TestApp::new().await;
    let page = app.get("/login", &Auth::Anonymous).await.body;
    assert!(
        !page.contains("<script>") && !page.contains("style="),
        "CSP forbids inline code"
    );
    for expected in [
        "class=\"skip-link\" href=\"#content\"",
        "<main id=\"content\"",
        "name=\"viewport\"",
        "/static/vendor/htmx-2.0.11.min.js",
        // htmx would otherwise inject an inline <style>, which the CSP blocks.
        r#"content='{"includeIndicatorStyles":false}'"#,
    ] {
        assert!(page.contains(expected), "{expected}");
    }
    let missing = app.get("/no-such-page", &Auth::Anonymous).await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.body.contains("This page does not exist"),
        "{}",
        missing.body
    );
}

#[tokio::test]
async fn static_assets_are_embedded() {
    let app = TestApp::new().await;
    for (path, content_type) in [
        ("/static/css/atalaya.css", "text/css; charset=utf-8"),
        (
            "/static/vendor/htmx-2.0.11.min.js",
            "text/javascript; charset=utf-8",
        ),
        (
            "/static/vendor/uPlot-1.6.32.iife.min.js",
            "text/javascript; charset=utf-8",
        ),
        (
            "/static/vendor/htmx-LICENSE.txt",
            "text/plain; charset=utf-8",
        ),
    ] {
        let reply = app.get(path, &Auth::Anonymous).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.headers.get("content-type").unwrap(), content_type);
        assert!(!reply.body.is_empty());
        assert!(
            reply.headers.get("set-cookie").is_none(),
            "cacheable assets set no cookie: {path}"
        );
    }
    assert_eq!(
        app.get("/static/../Cargo.toml", &Auth::Anonymous)
            .await
            .status,
        404
    );
}
