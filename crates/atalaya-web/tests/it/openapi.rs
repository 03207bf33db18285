//! The OpenAPI document matches the router: every documented operation exists
//! (and requires credentials), and every other method on a documented path is
//! refused by the router with 405, so neither can drift from the other.

use axum::body::Body;
use axum::http::{Method, Request};

use crate::support::{Auth, TestApp};

const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

#[tokio::test]
async fn the_document_matches_the_routes() {
    let app = TestApp::new().await;
    let reply = app.get("/api/openapi.json", &Auth::Anonymous).await;
    assert_eq!(reply.status, 200);
    let document = reply.json();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(document["components"]["schemas"]["ErrorBody"].is_object());

    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{slug}", "acme")
            .replace("{user_id}", "1")
            .replace("{token_id}", "1")
            .replace("{id}", "1");
        for method in METHODS {
            let documented = item.get(method.as_str().to_lowercase()).is_some();
            let mut builder = Request::builder().method(method.clone()).uri(&concrete);
            if method != Method::GET && method != Method::DELETE {
                builder = builder.header("content-type", "application/json");
            }
            let reply = app.send(builder.body(Body::from("{}")).unwrap()).await;
            let expected = if documented { 401 } else { 405 };
            assert_eq!(
                reply.status.as_u16(),
                expected,
                "{method} {path}: {}",
                reply.body
            );
            if documented {
                operations.push(format!("{method} {path}"));
            }
        }
    }
    insta::assert_snapshot!(operations.join("\n"), @r"
    GET /api/v1/me
    GET /api/v1/tokens
    POST /api/v1/tokens
    DELETE /api/v1/tokens/{token_id}
    GET /api/v1/workspaces
    GET /api/v1/workspaces/{slug}
    GET /api/v1/workspaces/{slug}/accounts
    POST /api/v1/workspaces/{slug}/accounts/bluesky
    DELETE /api/v1/workspaces/{slug}/accounts/{id}
    GET /api/v1/workspaces/{slug}/audit
    GET /api/v1/workspaces/{slug}/invitations
    POST /api/v1/workspaces/{slug}/invitations
    DELETE /api/v1/workspaces/{slug}/invitations/{id}
    GET /api/v1/workspaces/{slug}/languages
    PUT /api/v1/workspaces/{slug}/languages
    GET /api/v1/workspaces/{slug}/members
    POST /api/v1/workspaces/{slug}/members
    PATCH /api/v1/workspaces/{slug}/members/{user_id}
    DELETE /api/v1/workspaces/{slug}/members/{user_id}
    GET /api/v1/workspaces/{slug}/mentions
    GET /api/v1/workspaces/{slug}/mentions/{id}
    POST /api/v1/workspaces/{slug}/mentions/{id}/sentiment
    GET /api/v1/workspaces/{slug}/sources
    POST /api/v1/workspaces/{slug}/sources
    GET /api/v1/workspaces/{slug}/sources/{id}
    PATCH /api/v1/workspaces/{slug}/sources/{id}
    DELETE /api/v1/workspaces/{slug}/sources/{id}
    GET /api/v1/workspaces/{slug}/stats/daily
    GET /api/v1/workspaces/{slug}/stats/daily-sentiment
    GET /api/v1/workspaces/{slug}/topics
    POST /api/v1/workspaces/{slug}/topics
    POST /api/v1/workspaces/{slug}/topics/test
    GET /api/v1/workspaces/{slug}/topics/{id}
    PUT /api/v1/workspaces/{slug}/topics/{id}
    DELETE /api/v1/workspaces/{slug}/topics/{id}
    GET /api/v1/workspaces/{slug}/views
    POST /api/v1/workspaces/{slug}/views
    DELETE /api/v1/workspaces/{slug}/views/{id}
    ");
}
