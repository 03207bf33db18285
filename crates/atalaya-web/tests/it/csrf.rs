//! State-changing requests without the right CSRF token are refused with 403
//! and change nothing.

use axum::http::Method;
use serde_json::json;

use crate::support::{Auth, Team, TestApp, encode_form};

#[tokio::test]
async fn session_forms_need_the_session_token() {
    let team = Team::new().await;
    let admin = team.app.session(&team.admin).await;
    let body = encode_form(&[("username", "nuria"), ("role", "viewer")]);

    let missing = team.app.raw_form("/w/acme/members", &body, &admin).await;
    assert_eq!(missing.status, 403);
    assert!(
        missing.body.contains("security token is missing"),
        "{}",
        missing.body
    );

    let wrong = team
        .app
        .raw_form(
            "/w/acme/members",
            &format!("{body}&_csrf=not-the-token"),
            &admin,
        )
        .await;
    assert_eq!(wrong.status, 403);
    assert!(wrong.body.contains("expired or is wrong"), "{}", wrong.body);

    // Another user's valid token is still the wrong token.
    let Auth::Session {
        csrf: other_csrf, ..
    } = team.app.session(&team.manager).await
    else {
        unreachable!()
    };
    let crossed = team
        .app
        .raw_form(
            "/w/acme/members",
            &format!("{body}&_csrf={other_csrf}"),
            &admin,
        )
        .await;
    assert_eq!(crossed.status, 403);

    assert_eq!(team.role_of(&team.newbie).await, None);
    assert!(
        team.app
            .store()
            .audit()
            .list(team.workspace.id, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn cookie_authenticated_api_calls_need_the_header() {
    let team = Team::new().await;
    let Auth::Session { token, csrf } = team.app.session(&team.admin).await else {
        unreachable!()
    };
    // A bare cookie (what a cross-site form or fetch would carry) is refused.
    let request = axum::http::Request::post("/api/v1/workspaces/acme/members")
        .header("cookie", format!("atalaya_session={token}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(
            json!({"username": "nuria", "role": "viewer"}).to_string(),
        ))
        .unwrap();
    let reply = team.app.send(request).await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code().as_str()),
        (403, "csrf_missing")
    );
    assert_eq!(
        reply.json()["error"]["message"].as_str().map(str::is_empty),
        Some(false)
    );
    assert_eq!(team.role_of(&team.newbie).await, None);

    // With the header the same call goes through.
    let session = Auth::Session { token, csrf };
    let reply = team
        .app
        .json(
            Method::POST,
            "/api/v1/workspaces/acme/members",
            Some(json!({"username": "nuria", "role": "viewer"})),
            &session,
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
}

#[tokio::test]
async fn logout_needs_the_token_too() {
    let team = Team::new().await;
    let admin = team.app.session(&team.admin).await;
    let refused = team.app.raw_form("/logout", "", &admin).await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        team.app.get("/account", &admin).await.status,
        200,
        "still signed in"
    );
    let done = team.app.form("/logout", &[], &admin).await;
    assert_eq!(done.location(), Some("/login"));
    assert_eq!(
        team.app.get("/account", &admin).await.location(),
        Some("/login?next=%2Faccount"),
        "signed out"
    );
}

#[tokio::test]
async fn anonymous_forms_need_the_pre_session_cookie() {
    let app = TestApp::new().await;
    app.user("ana", false).await;
    let fields = encode_form(&[("username", "ana"), ("password", crate::support::PASSWORD)]);
    // No cookie at all: a cross-site login attempt.
    let reply = app
        .raw_form(
            "/login",
            &format!("{fields}&_csrf=forged-token-forged-token-forged-token"),
            &Auth::Anonymous,
        )
        .await;
    assert_eq!(reply.status, 403);
    assert!(reply.set_cookie("atalaya_session").is_none());
    // Cookie present but the field differs.
    let visitor = Auth::visitor();
    let reply = app
        .raw_form(
            "/login",
            &format!("{fields}&_csrf=forged-token-forged-token-forged-token"),
            &visitor,
        )
        .await;
    assert_eq!(reply.status, 403);
    let reply = app.raw_form("/lang", "lang=es&next=/login", &visitor).await;
    assert_eq!(reply.status, 403);
    assert!(reply.set_cookie("atalaya_lang").is_none());
}

/// Defence in depth: a form posted from another site is refused with
/// `cross_origin` even when it carries the right token (one stolen or leaked),
/// and the browser's own same-origin requests pass.
#[tokio::test]
async fn a_form_from_another_site_is_refused_even_with_the_right_token() {
    use axum::body::Body;
    use axum::http::{Request, header};
    let team = Team::new().await;
    let Auth::Session { token, csrf } = team.app.session(&team.admin).await else {
        unreachable!()
    };
    let body = encode_form(&[("username", "nuria"), ("role", "viewer"), ("_csrf", &csrf)]);
    let post = |extra: &[(&str, &str)]| {
        let mut builder = Request::post("/w/acme/members")
            .header(header::HOST, "atalaya.example:8080")
            .header(header::COOKIE, format!("atalaya_session={token}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (name, value) in extra {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::from(body.clone())).unwrap()
    };
    for refused in [
        &[("origin", "https://evil.example")][..],
        &[("origin", "null")][..],
        &[("sec-fetch-site", "cross-site")][..],
        &[
            ("origin", "http://atalaya.example:8080"),
            ("sec-fetch-site", "same-site"),
        ][..],
    ] {
        let reply = team.app.send(post(refused)).await;
        assert_eq!(reply.status, 403, "{refused:?}: {}", reply.body);
        assert!(reply.body.contains("another website"), "{}", reply.body);
    }
    assert_eq!(team.role_of(&team.newbie).await, None, "nothing changed");

    let api = team
        .app
        .send(
            Request::post("/api/v1/workspaces/acme/members")
                .header(header::HOST, "atalaya.example:8080")
                .header(header::COOKIE, format!("atalaya_session={token}"))
                .header("x-csrf-token", csrf.as_str())
                .header(header::ORIGIN, "https://evil.example")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(r#"{"username":"nuria","role":"viewer"}"#))
                .unwrap(),
        )
        .await;
    assert_eq!(api.status, 403);
    assert_eq!(api.json()["error"]["code"], "cross_origin", "{}", api.body);

    let same = team
        .app
        .send(post(&[
            ("origin", "http://atalaya.example:8080"),
            ("sec-fetch-site", "same-origin"),
        ]))
        .await;
    assert_eq!(same.status, 303, "{}", same.body);
    assert!(team.role_of(&team.newbie).await.is_some());
}
