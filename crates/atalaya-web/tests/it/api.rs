//! The JSON API: credentials, tokens, and bad input in our error format.

use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::json;

use crate::support::{Auth, Team, TestApp};

#[tokio::test]
async fn workspaces_need_credentials() {
    let app = TestApp::new().await;
    let reply = app.get("/api/v1/workspaces", &Auth::Anonymous).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.headers.get("content-type").unwrap(),
        "application/json"
    );
    assert_eq!(reply.error_code(), "unauthenticated");
    for header in [
        "Bearer atl_not-a-real-token",
        "Bearer ",
        "Basic YW5hOnNlY3JldA==",
    ] {
        let request = Request::get("/api/v1/workspaces")
            .header("authorization", header)
            .body(Body::empty())
            .unwrap();
        let reply = app.send(request).await;
        assert_eq!(
            (reply.status.as_u16(), reply.error_code().as_str()),
            (401, "unauthenticated"),
            "{header}"
        );
    }
}

#[tokio::test]
async fn tokens_work_until_revoked_and_are_stored_hashed() {
    let team = Team::new().await;
    let session = team.app.session(&team.viewer).await;
    let created = team
        .app
        .json(
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"name": "reporting"})),
            &session,
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let body = created.json();
    let token = body["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("atl_") && token.len() > 40);
    let id = body["id"].as_i64().unwrap();

    let bearer = Auth::Bearer(token.clone());
    let workspaces = team.app.get("/api/v1/workspaces", &bearer).await;
    assert_eq!(workspaces.status, 200);
    let list = workspaces.json();
    assert_eq!(list[0]["slug"], "acme");
    assert_eq!(list[0]["role"], "viewer");
    let me = team.app.get("/api/v1/me", &bearer).await.json();
    assert_eq!(me["username"], "vera");

    // The listing never contains the token, and last use was recorded.
    let listing = team.app.get("/api/v1/tokens", &bearer).await;
    assert!(!listing.body.contains(&token));
    assert!(
        listing
            .json()
            .as_array()
            .unwrap()
            .iter()
            .any(|item| item["id"] == id && !item["last_used_at"].is_null())
    );

    // Tokens cannot be revoked by someone else.
    let other = team.app.bearer(&team.agent).await;
    let reply = team
        .app
        .json(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            None,
            &other,
        )
        .await;
    assert_eq!(reply.status, 404);

    let reply = team
        .app
        .json(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            None,
            &bearer,
        )
        .await;
    assert_eq!(reply.status, 204);
    let reply = team.app.get("/api/v1/workspaces", &bearer).await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code().as_str()),
        (401, "unauthenticated")
    );
}

#[tokio::test]
async fn the_account_page_shows_a_new_token_once() {
    let team = Team::new().await;
    let session = team.app.session(&team.agent).await;
    let page = team
        .app
        .form("/account/tokens", &[("name", "laptop")], &session)
        .await;
    assert_eq!(page.status, 200);
    let start = page.body.find("value=\"atl_").expect("the token is shown") + "value=\"".len();
    let token: String = page.body[start..]
        .chars()
        .take_while(|c| *c != '"')
        .collect();
    assert_eq!(
        team.app
            .get("/api/v1/me", &Auth::Bearer(token.clone()))
            .await
            .status,
        200
    );
    let later = team.app.get("/account", &session).await;
    assert!(
        later.body.contains("laptop") && !later.body.contains(&token),
        "shown once only"
    );
}

#[tokio::test]
async fn malformed_input_gets_our_error_format_and_changes_nothing() {
    let team = Team::new().await;
    let bearer = team.app.bearer(&team.admin).await;
    let path = "/api/v1/workspaces/acme/members";
    let send = |content_type: &'static str, body: &'static str| {
        let Auth::Bearer(token) = &bearer else {
            unreachable!()
        };
        Request::post(path)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", content_type)
            .body(Body::from(body))
            .unwrap()
    };
    let cases = [
        (
            send("application/json", "{\"username\": \"nuria\""),
            400,
            "malformed_body",
        ),
        (
            send(
                "application/json",
                "{\"username\": \"nuria\", \"role\": \"owner\"}",
            ),
            422,
            "invalid_input",
        ),
        (
            send("application/json", "{\"role\": \"viewer\"}"),
            422,
            "invalid_input",
        ),
        (
            send("text/plain", "username=nuria"),
            415,
            "unsupported_media_type",
        ),
        (
            send(
                "application/json",
                "{\"username\": \"nobody-here\", \"role\": \"viewer\"}",
            ),
            422,
            "invalid_input",
        ),
    ];
    for (request, status, code) in cases {
        let reply = team.app.send(request).await;
        assert_eq!(
            (reply.status.as_u16(), reply.error_code().as_str()),
            (status, code),
            "{}",
            reply.body
        );
        assert!(
            !reply.json()["error"]["message"]
                .as_str()
                .unwrap()
                .is_empty()
        );
    }
    assert_eq!(team.role_of(&team.newbie).await, None);

    // Unknown routes and bad path segments answer in the same format.
    let reply = team.app.get("/api/v1/nothing-here", &bearer).await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code().as_str()),
        (404, "not_found")
    );
    let reply = team
        .app
        .json(
            Method::DELETE,
            "/api/v1/workspaces/acme/members/not-a-number",
            None,
            &bearer,
        )
        .await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code().as_str()),
        (404, "not_found")
    );
    let reply = team
        .app
        .json(Method::PUT, "/api/v1/workspaces", None, &bearer)
        .await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code().as_str()),
        (405, "method_not_allowed")
    );
    let reply = team
        .app
        .get("/api/v1/workspaces/acme/audit?limit=100000", &bearer)
        .await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code().as_str()),
        (422, "invalid_input")
    );
    assert_eq!(reply.json()["error"]["fields"][0]["field"], "limit");
}

#[tokio::test]
async fn a_members_payload() {
    let team = Team::new().await;
    let bearer = team.app.bearer(&team.viewer).await;
    let reply = team
        .app
        .get("/api/v1/workspaces/acme/members", &bearer)
        .await;
    let mut members = reply.json();
    for member in members.as_array_mut().unwrap() {
        member["user_id"] = json!("[id]");
    }
    insta::assert_json_snapshot!(members, @r#"
    [
      {
        "display_name": "Test alicia",
        "role": "admin",
        "user_id": "[id]",
        "username": "alicia"
      },
      {
        "display_name": "Test ana",
        "role": "agent",
        "user_id": "[id]",
        "username": "ana"
      },
      {
        "display_name": "Test carlos",
        "role": "contributor",
        "user_id": "[id]",
        "username": "carlos"
      },
      {
        "display_name": "Test mario",
        "role": "manager",
        "user_id": "[id]",
        "username": "mario"
      },
      {
        "display_name": "Test tomas",
        "role": "viewer",
        "user_id": "[id]",
        "username": "tomas"
      },
      {
        "display_name": "Test vera",
        "role": "viewer",
        "user_id": "[id]",
        "username": "vera"
      }
    ]
    "#);
}
