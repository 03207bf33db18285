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
