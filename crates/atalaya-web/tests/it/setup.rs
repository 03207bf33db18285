//! First-run setup exists only while there are no users.

use atalaya_domain::Role;

use crate::support::{Auth, TestApp};

const FORM: &[(&str, &str)] = &[
    ("username", "Ana"),
    ("email", "ana@example.org"),
    ("display_name", "Ana Pérez"),
    ("password", "a long enough secret"),
    ("password_confirm", "a long enough secret"),
    ("workspace_name", "Café Aurora"),
    ("workspace_slug", "cafe-aurora"),
];

#[tokio::test]
async fn setup_creates_the_first_admin_and_workspace_then_disappears() {
    let app = TestApp::new().await;
    let visitor = Auth::visitor();
    let sign_in = app.get("/login", &Auth::Anonymous).await;
    assert!(
        sign_in.body.contains("href=\"/setup\""),
        "the sign-in page points to setup"
    );
    assert_eq!(app.get("/setup", &visitor).await.status, 200);

    let reply = app.form("/setup", FORM, &visitor).await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    assert_eq!(reply.location(), Some("/w/cafe-aurora"));
    assert!(
        reply.set_cookie("atalaya_session").is_some(),
        "signed in straight away"
    );

    let user = app
        .store()
        .users()
        .find_by_username("ana")
        .await
        .unwrap()
        .unwrap();
    assert!(user.is_instance_admin);
    let workspace = app
        .store()
        .workspaces()
        .get_by_slug("cafe-aurora")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(workspace.name, "Café Aurora");
    assert_eq!(
        app.store()
            .workspaces()
            .role_of(workspace.id, user.id)
            .await
            .unwrap(),
        Some(Role::Admin)
    );
    assert_eq!(
        app.store().audit().list(workspace.id, 5).await.unwrap()[0].action,
        "instance.set_up"
    );

    // Gone for good: nobody can become an admin this way any more.
    assert_eq!(app.get("/setup", &visitor).await.status, 404);
    let mut mallory = FORM.to_vec();
    mallory[0] = ("username", "mallory");
    mallory[1] = ("email", "mallory@example.org");
    mallory[6] = ("workspace_slug", "elsewhere");
    let again = app.form("/setup", &mallory, &visitor).await;
    assert_eq!(again.status, 404);
    assert_eq!(app.store().users().count().await.unwrap(), 1);
    assert!(
        !app.get("/login", &Auth::Anonymous)
            .await
            .body
            .contains("href=\"/setup\"")
    );
}

#[tokio::test]
async fn invalid_setup_reports_every_field_and_creates_nothing() {
    let app = TestApp::new().await;
    let visitor = Auth::visitor();
    let bad = [
        ("username", "a b"),
        ("email", "not-an-email"),
        ("display_name", "Ana"),
        ("password", "short"),
        ("password_confirm", "short"),
        ("workspace_name", "Brand"),
        ("workspace_slug", "-bad-"),
    ];
    let reply = app.form("/setup", &bad, &visitor).await;
    assert_eq!(reply.status, 422);
    for expected in [
        "Username",
        "E-mail",
        "Password",
        "Workspace address",
        "is too short (at least 10 characters)",
    ] {
        assert!(
            reply.body.contains(expected),
            "{expected} in {}",
            reply.body
        );
    }
    let mismatch: Vec<(&str, &str)> = FORM
        .iter()
        .map(|&(name, value)| {
            if name == "password_confirm" {
                (name, "something else entirely")
            } else {
                (name, value)
            }
        })
        .collect();
    assert_eq!(app.form("/setup", &mismatch, &visitor).await.status, 422);
    // A form missing fields is rejected in our format, not Axum's plain text.
    let partial = app.form("/setup", &[("username", "ana")], &visitor).await;
    assert_eq!(partial.status, 422);
    assert!(partial.body.contains("<html"), "{}", partial.body);
    assert_eq!(app.store().users().count().await.unwrap(), 0);
    assert!(app.store().workspaces().list().await.unwrap().is_empty());
}
