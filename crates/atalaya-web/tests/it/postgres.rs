//! The main flows once more on PostgreSQL: the web layer must not depend on
//! SQLite's behaviour (ordering, case, integer widths). Needs the server that
//! `scripts/test-postgres.sh start` runs, named by `ATALAYA_TEST_POSTGRES_URL`.

use std::time::Duration;

use atalaya_domain::{Role, Timestamp};
use atalaya_web::WebSettings;
use atalaya_web::auth::token_digest;
use axum::http::Method;
use serde_json::json;

use crate::support::{Auth, PASSWORD, TestApp};

#[tokio::test]
async fn setup_sign_in_members_tokens_and_audit_on_postgresql() {
    let settings = WebSettings {
        login_max_failures: 2,
        login_window: Duration::from_secs(60),
        ..WebSettings::default()
    };
    let app = TestApp::on_postgres(settings).await;

    // First-run setup signs the new admin in.
    let visitor = Auth::visitor();
    let setup = app
        .form(
            "/setup",
            &[
                ("username", "ana"),
                ("email", "ana@example.org"),
                ("display_name", "Ana"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
                ("workspace_name", "Zeta Brand"),
                ("workspace_slug", "zeta"),
            ],
            &visitor,
        )
        .await;
    assert_eq!(setup.location(), Some("/w/zeta"), "{}", setup.body);
    let token = setup.cookie_value("atalaya_session").unwrap();
    let record = app
        .store()
        .sessions()
        .find(&token_digest(&token), Timestamp::now())
        .await
        .unwrap()
        .unwrap();
    let admin = Auth::Session {
        token,
        csrf: record.csrf_token,
    };
    assert_eq!(app.get("/w/zeta", &admin).await.status, 200);

    // A second workspace sorts before the first in the switcher (by name).
    let created = app
        .form(
            "/workspaces",
            &[("name", "Alpha Brand"), ("slug", "alpha")],
            &admin,
        )
        .await;
    assert_eq!(created.location(), Some("/w/alpha"));

    // A token made through the session drives the API.
    let made = app
        .json(
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"name": "ci"})),
            &admin,
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let bearer = Auth::Bearer(made.json()["token"].as_str().unwrap().to_owned());
    let workspaces = app.get("/api/v1/workspaces", &bearer).await.json();
    let slugs: Vec<&str> = workspaces
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["alpha", "zeta"]);

    let bruno = app.user("bruno", false).await;
    let path = "/api/v1/workspaces/zeta/members";
    let added = app
        .json(
            Method::POST,
            path,
            Some(json!({"username": "BRUNO", "role": "viewer"})),
            &bearer,
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    let again = app
        .json(
            Method::POST,
            path,
            Some(json!({"username": "bruno", "role": "agent"})),
            &bearer,
        )
        .await;
    assert_eq!(
        (again.status.as_u16(), again.error_code().as_str()),
        (409, "conflict")
    );
    let member = format!("{path}/{}", bruno.id);
    assert_eq!(
        app.json(
            Method::PATCH,
            &member,
            Some(json!({"role": "manager"})),
            &bearer
        )
        .await
        .status,
        200
    );
    let workspace = app
        .store()
        .workspaces()
        .get_by_slug("zeta")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        app.store()
            .workspaces()
            .role_of(workspace.id, bruno.id)
            .await
            .unwrap(),
        Some(Role::Manager)
    );
    assert_eq!(
        app.json(Method::DELETE, &member, None, &bearer)
            .await
            .status,
        204
    );

    let audit = app
        .get("/api/v1/workspaces/zeta/audit?limit=10", &bearer)
        .await
        .json();
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "member.removed",
            "member.role_changed",
            "member.added",
            "instance.set_up"
        ]
    );

    // The language preference is stored and wins.
    assert_eq!(
        app.form("/account/language", &[("ui_lang", "es")], &admin)
            .await
            .status,
        303
    );
    assert!(
        app.get("/account", &admin)
            .await
            .body
            .contains("<html lang=\"es\">")
    );

    // Rate limiting counts failures in the database.
    let stranger = Auth::visitor();
    for _ in 0..2 {
        let reply = app
            .form(
                "/login",
                &[("username", "bruno"), ("password", "wrong password")],
                &stranger,
            )
            .await;
        assert_eq!(reply.status, 401);
    }
    let reply = app
        .form(
            "/login",
            &[("username", "bruno"), ("password", PASSWORD)],
            &stranger,
        )
        .await;
    assert_eq!(reply.status, 429);

    // Revoking the token locks the API out.
    let listed = app.get("/api/v1/tokens", &bearer).await.json();
    let id = listed[0]["id"].as_i64().unwrap();
    assert_eq!(
        app.json(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            None,
            &bearer
        )
        .await
        .status,
        204
    );
    assert_eq!(app.get("/api/v1/me", &bearer).await.status, 401);
}
