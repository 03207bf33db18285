//! Users, workspaces and memberships, sessions, API tokens, sign-in rate limiting
//! and the audit log.

use atalaya_domain::{ApiTokenId, Role, Theme, Timestamp, UiLang, User, UserId, WorkspaceId};
use atalaya_store::{NewAuditEntry, NewUser, Store, StoreError};
use serde_json::json;

on_both_backends!(
    users_round_trip,
    duplicate_username_and_email_conflict,
    password_and_language_updates,
    updates_of_missing_users_are_not_found,
    workspaces_and_slug_conflict,
    workspace_settings_and_theme_round_trip,
    workspace_languages_default_to_es_en_and_update,
    memberships_and_roles,
    a_corrupt_role_is_an_error,
    deleting_a_workspace_cascades,
    sessions_expire_and_are_deleted,
    api_tokens_authenticate_and_revoke,
    login_attempts_count_clear_and_prune,
    audit_log_keeps_the_actor_name,
);

async fn user(store: &Store, username: &str) -> User {
    store
        .users()
        .create(NewUser {
            username,
            email: &format!("{username}@example.org"),
            display_name: &format!("{username} display"),
            password_hash: "$argon2id$fake-hash",
            is_instance_admin: false,
        })
        .await
        .unwrap()
}

async fn workspace_languages_default_to_es_en_and_update(store: Store) {
    let workspace = store
        .workspaces()
        .create("aurora", "Aurora", false)
        .await
        .unwrap();
    assert_eq!(workspace.languages, ["es", "en"]);
    let languages = vec!["pt".to_owned(), "es".to_owned()];
    let updated = store
        .workspaces()
        .set_languages(workspace.id, &languages)
        .await
        .unwrap();
    assert_eq!(updated.languages, languages);
    let read = store.workspaces().get(workspace.id).await.unwrap().unwrap();
    assert_eq!(read, updated);
    let missing = store
        .workspaces()
        .set_languages(
            atalaya_domain::WorkspaceId(workspace.id.get() + 100),
            &languages,
        )
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { what: "workspace" })),
        "{missing:?}"
    );
}

async fn users_round_trip(store: Store) {
    let ana = store
        .users()
        .create(NewUser {
            username: "ana",
            email: "ana@example.org",
            display_name: "Ana López",
            password_hash: "$argon2id$v=19$hash-of-ana",
            is_instance_admin: true,
        })
        .await
        .unwrap();
    let bruno = user(&store, "bruno").await;
    assert!(ana.is_instance_admin);
    assert!(!bruno.is_instance_admin);
    assert_eq!(ana.ui_lang, None);
    assert_ne!(ana.id, bruno.id);

    assert_eq!(store.users().get(ana.id).await.unwrap(), Some(ana.clone()));
    assert_eq!(store.users().get(UserId(9999)).await.unwrap(), None);
    assert_eq!(
        store.users().find_by_username("ANA").await.unwrap(),
        Some(ana.clone())
    );
    assert_eq!(
        store.users().find_by_username("nobody").await.unwrap(),
        None
    );
    assert_eq!(
        store
            .users()
            .password_hash(ana.id)
            .await
            .unwrap()
            .as_deref(),
        Some("$argon2id$v=19$hash-of-ana")
    );
    assert_eq!(
        store.users().password_hash(UserId(9999)).await.unwrap(),
        None
    );
    assert_eq!(store.users().count().await.unwrap(), 2);
    let names: Vec<String> = store
        .users()
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["ana", "bruno"]);
}

async fn duplicate_username_and_email_conflict(store: Store) {
    user(&store, "ana").await;
    let same_username = NewUser {
        username: "ana",
        email: "other@example.org",
        display_name: "Other",
        password_hash: "h",
        is_instance_admin: false,
    };
    let same_email = NewUser {
        username: "other",
        email: "ana@example.org",
        ..same_username
    };
    for (new_user, expected) in [(same_username, "username"), (same_email, "email")] {
        match store.users().create(new_user).await {
            Err(StoreError::Conflict { what }) => assert_eq!(what, expected),
            other => panic!("expected a conflict on {expected}, got {other:?}"),
        }
    }
    assert_eq!(store.users().count().await.unwrap(), 1);
}

async fn password_and_language_updates(store: Store) {
    let ana = user(&store, "ana").await;
    store
        .users()
        .set_password_hash(ana.id, "new-hash")
        .await
        .unwrap();
    assert_eq!(
        store
            .users()
            .password_hash(ana.id)
            .await
            .unwrap()
            .as_deref(),
        Some("new-hash")
    );
    for lang in [Some(UiLang::Es), Some(UiLang::En), None] {
        store.users().set_ui_lang(ana.id, lang).await.unwrap();
        assert_eq!(
            store.users().get(ana.id).await.unwrap().unwrap().ui_lang,
            lang
        );
    }
}

async fn workspace_settings_and_theme_round_trip(store: Store) {
    let zeta = store
        .workspaces()
        .create("zeta", "Zeta", false)
        .await
        .unwrap();
    assert_eq!(zeta.time_zone, "UTC", "a new workspace starts in UTC");
    let updated = store
        .workspaces()
        .update_settings(zeta.id, "Zeta Café", "America/Mexico_City")
        .await
        .unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.time_zone.as_str()),
        ("Zeta Café", "America/Mexico_City")
    );
    assert_eq!(
        store.workspaces().get(zeta.id).await.unwrap(),
        Some(updated)
    );
    assert!(matches!(
        store
            .workspaces()
            .update_settings(WorkspaceId(4242), "x", "UTC")
            .await,
        Err(StoreError::NotFound { what: "workspace" })
    ));

    let ana = user(&store, "ana").await;
    assert_eq!(ana.theme, None, "a new user follows the system theme");
    for theme in [Some(Theme::Dark), Some(Theme::Light), None] {
        store.users().set_theme(ana.id, theme).await.unwrap();
        assert_eq!(
            store.users().get(ana.id).await.unwrap().unwrap().theme,
            theme
        );
    }
    assert!(matches!(
        store.users().set_theme(UserId(42), Some(Theme::Dark)).await,
        Err(StoreError::NotFound { what: "user" })
    ));
}

async fn updates_of_missing_users_are_not_found(store: Store) {
    assert!(matches!(
        store.users().set_password_hash(UserId(42), "h").await,
        Err(StoreError::NotFound { what: "user" })
    ));
    assert!(matches!(
        store
            .users()
            .set_ui_lang(UserId(42), Some(UiLang::Es))
            .await,
        Err(StoreError::NotFound { what: "user" })
    ));
}

async fn workspaces_and_slug_conflict(store: Store) {
    let zeta = store
        .workspaces()
        .create("zeta", "Zeta Coffee", false)
        .await
        .unwrap();
    let demo = store
        .workspaces()
        .create("demo", "Aurora Demo", true)
        .await
        .unwrap();
    assert!(demo.is_demo);
    assert!(!zeta.is_demo);
    assert_eq!(
        store.workspaces().get(zeta.id).await.unwrap(),
        Some(zeta.clone())
    );
    assert_eq!(
        store.workspaces().get_by_slug("demo").await.unwrap(),
        Some(demo.clone())
    );
    assert_eq!(
        store.workspaces().get_by_slug("missing").await.unwrap(),
        None
    );
    assert_eq!(store.workspaces().list().await.unwrap(), vec![demo, zeta]);
    assert!(matches!(
        store.workspaces().create("zeta", "Another", false).await,
        Err(StoreError::Conflict { what: "slug" })
    ));
}

async fn memberships_and_roles(store: Store) {
    let ana = user(&store, "ana").await;
    let bruno = user(&store, "bruno").await;
    let zeta = store
        .workspaces()
        .create("zeta", "Zeta", false)
        .await
        .unwrap();
    let alfa = store
        .workspaces()
        .create("alfa", "Alfa", false)
        .await
        .unwrap();

    store
        .workspaces()
        .set_member(zeta.id, ana.id, Role::Agent)
        .await
        .unwrap();
    store
        .workspaces()
        .set_member(alfa.id, ana.id, Role::Viewer)
        .await
        .unwrap();
    store
        .workspaces()
        .set_member(zeta.id, bruno.id, Role::Admin)
        .await
        .unwrap();
    // Setting again changes the role rather than failing.
    store
        .workspaces()
        .set_member(zeta.id, ana.id, Role::Manager)
        .await
        .unwrap();

    assert_eq!(
        store.workspaces().role_of(zeta.id, ana.id).await.unwrap(),
        Some(Role::Manager)
    );
    assert_eq!(
        store.workspaces().role_of(alfa.id, bruno.id).await.unwrap(),
        None
    );

    let memberships = store.workspaces().memberships_of(ana.id).await.unwrap();
    let summary: Vec<(&str, Role)> = memberships
        .iter()
        .map(|m| (m.workspace.slug.as_str(), m.role))
        .collect();
    assert_eq!(summary, [("alfa", Role::Viewer), ("zeta", Role::Manager)]);

    let members = store.workspaces().members(zeta.id).await.unwrap();
    let summary: Vec<(&str, Role)> = members
        .iter()
        .map(|(u, role)| (u.username.as_str(), *role))
        .collect();
    assert_eq!(summary, [("ana", Role::Manager), ("bruno", Role::Admin)]);

    store
        .workspaces()
        .remove_member(zeta.id, ana.id)
        .await
        .unwrap();
    assert_eq!(
        store.workspaces().role_of(zeta.id, ana.id).await.unwrap(),
        None
    );
    assert!(matches!(
        store.workspaces().remove_member(zeta.id, ana.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store
            .workspaces()
            .set_member(zeta.id, UserId(9999), Role::Viewer)
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn a_corrupt_role_is_an_error(store: Store) {
    let ana = user(&store, "ana").await;
    let zeta = store
        .workspaces()
        .create("zeta", "Zeta", false)
        .await
        .unwrap();
    store
        .workspaces()
        .set_member(zeta.id, ana.id, Role::Agent)
        .await
        .unwrap();
    atalaya_store::testing::execute_for_test(&store, "UPDATE memberships SET role = 'owner'")
        .await
        .unwrap();
    assert!(matches!(
        store.workspaces().role_of(zeta.id, ana.id).await,
        Err(StoreError::CorruptValue {
            column: "memberships.role",
            ..
        })
    ));
}

async fn deleting_a_workspace_cascades(store: Store) {
    let ana = user(&store, "ana").await;
    let demo = store
        .workspaces()
        .create("demo", "Demo", true)
        .await
        .unwrap();
    store
        .workspaces()
        .set_member(demo.id, ana.id, Role::Admin)
        .await
        .unwrap();
    let entry = NewAuditEntry {
        workspace: Some(demo.id),
        actor: Some(ana.id),
        action: "workspace.create",
        target: "demo",
        detail: json!({}),
    };
    store.audit().record(entry, Timestamp(1)).await.unwrap();

    store.workspaces().delete(demo.id).await.unwrap();
    assert_eq!(store.workspaces().get(demo.id).await.unwrap(), None);
    assert!(
        store
            .workspaces()
            .memberships_of(ana.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.audit().list(demo.id, 10).await.unwrap().is_empty());
    // The slug is free again, which is how `atalaya demo` refreshes the demo workspace.
    store
        .workspaces()
        .create("demo", "Demo", true)
        .await
        .unwrap();
    assert!(matches!(
        store.workspaces().delete(demo.id).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn sessions_expire_and_are_deleted(store: Store) {
    let ana = user(&store, "ana").await;
    let bruno = user(&store, "bruno").await;
    let sessions = store.sessions();
    sessions
        .create(
            "hash-a1",
            ana.id,
            "csrf-a1",
            Timestamp(1_000),
            Timestamp(5_000),
        )
        .await
        .unwrap();
    sessions
        .create(
            "hash-a2",
            ana.id,
            "csrf-a2",
            Timestamp(1_000),
            Timestamp(9_000),
        )
        .await
        .unwrap();
    sessions
        .create(
            "hash-b1",
            bruno.id,
            "csrf-b1",
            Timestamp(1_000),
            Timestamp(2_000),
        )
        .await
        .unwrap();

    let found = sessions
        .find("hash-a1", Timestamp(4_999))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.user, ana);
    assert_eq!(found.csrf_token, "csrf-a1");
    assert_eq!(
        (found.created_at, found.expires_at),
        (Timestamp(1_000), Timestamp(5_000))
    );
    assert_eq!(
        sessions.find("hash-a1", Timestamp(5_000)).await.unwrap(),
        None,
        "expired at expires_at"
    );
    assert_eq!(sessions.find("unknown", Timestamp(0)).await.unwrap(), None);

    assert_eq!(sessions.delete_expired(Timestamp(5_000)).await.unwrap(), 2);
    assert!(
        sessions
            .find("hash-a2", Timestamp(5_000))
            .await
            .unwrap()
            .is_some()
    );
    sessions.delete("hash-a2").await.unwrap();
    assert_eq!(
        sessions.find("hash-a2", Timestamp(5_000)).await.unwrap(),
        None
    );

    sessions
        .create("hash-a3", ana.id, "c", Timestamp(1), Timestamp(9_000))
        .await
        .unwrap();
    sessions
        .create("hash-a4", ana.id, "c", Timestamp(1), Timestamp(9_000))
        .await
        .unwrap();
    assert_eq!(sessions.delete_for_user(ana.id).await.unwrap(), 2);
    assert_eq!(sessions.delete_for_user(ana.id).await.unwrap(), 0);
}

async fn api_tokens_authenticate_and_revoke(store: Store) {
    let ana = user(&store, "ana").await;
    let bruno = user(&store, "bruno").await;
    let tokens = store.api_tokens();
    let first = tokens
        .create(ana.id, "reporting", "sha-1", Timestamp(100))
        .await
        .unwrap();
    let second = tokens
        .create(ana.id, "backup", "sha-2", Timestamp(200))
        .await
        .unwrap();
    assert_eq!(first.last_used_at, None);
    assert_eq!(first.name, "reporting");

    assert_eq!(
        tokens.authenticate("sha-1", Timestamp(300)).await.unwrap(),
        Some(ana.clone())
    );
    assert_eq!(
        tokens
            .authenticate("sha-unknown", Timestamp(300))
            .await
            .unwrap(),
        None
    );

    let listed = tokens.list_for_user(ana.id).await.unwrap();
    assert_eq!(
        listed.iter().map(|t| t.id).collect::<Vec<_>>(),
        [second.id, first.id]
    );
    assert_eq!(listed[1].last_used_at, Some(Timestamp(300)));

    // Bruno cannot revoke Ana's token; unknown ids are not found either.
    assert!(matches!(
        tokens.revoke(bruno.id, first.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        tokens.revoke(ana.id, ApiTokenId(9999)).await,
        Err(StoreError::NotFound { .. })
    ));
    tokens.revoke(ana.id, first.id).await.unwrap();
    assert_eq!(
        tokens.authenticate("sha-1", Timestamp(400)).await.unwrap(),
        None
    );
    assert!(matches!(
        tokens
            .create(bruno.id, "dup", "sha-2", Timestamp(500))
            .await,
        Err(StoreError::Conflict { what: "token_hash" })
    ));
}

async fn login_attempts_count_clear_and_prune(store: Store) {
    let attempts = store.login_attempts();
    for at in [100, 200, 300] {
        attempts
            .record_failure("user:ana", Timestamp(at))
            .await
            .unwrap();
    }
    attempts
        .record_failure("ip:192.0.2.7", Timestamp(250))
        .await
        .unwrap();

    let check = async |key: &str, since: i64, expected: i64| {
        assert_eq!(
            attempts
                .failures_since(key, Timestamp(since))
                .await
                .unwrap(),
            expected,
            "{key} since {since}"
        );
    };
    check("user:ana", 0, 3).await;
    check("user:ana", 200, 2).await;
    check("user:ana", 301, 0).await;
    check("ip:192.0.2.7", 0, 1).await;

    assert_eq!(attempts.prune(Timestamp(250)).await.unwrap(), 2);
    check("user:ana", 0, 1).await;
    attempts.clear("user:ana").await.unwrap();
    check("user:ana", 0, 0).await;
    check("ip:192.0.2.7", 0, 1).await;
}

async fn audit_log_keeps_the_actor_name(store: Store) {
    let ana = user(&store, "ana").await;
    let zeta = store
        .workspaces()
        .create("zeta", "Zeta", false)
        .await
        .unwrap();
    let other = store
        .workspaces()
        .create("other", "Other", false)
        .await
        .unwrap();
    let record = async |workspace, actor, action: &str, at: i64| {
        let entry = NewAuditEntry {
            workspace,
            actor,
            action,
            target: "member:bruno",
            detail: json!({"role": "agent"}),
        };
        store.audit().record(entry, Timestamp(at)).await.unwrap()
    };
    let first = record(Some(zeta.id), Some(ana.id), "member.add", 10).await;
    let second = record(Some(zeta.id), None, "member.role", 20).await;
    record(Some(other.id), Some(ana.id), "member.add", 30).await;
    record(None, Some(ana.id), "instance.settings", 40).await;

    let entries = store.audit().list(zeta.id, 10).await.unwrap();
    assert_eq!(
        entries.iter().map(|e| e.id).collect::<Vec<_>>(),
        [second, first]
    );
    let oldest = &entries[1];
    assert_eq!(oldest.actor, Some(ana.id));
    assert_eq!(oldest.actor_name.as_deref(), Some("ana display"));
    assert_eq!(oldest.action, "member.add");
    assert_eq!(oldest.target, "member:bruno");
    assert_eq!(oldest.detail, json!({"role": "agent"}));
    assert_eq!(oldest.at, Timestamp(10));
    assert_eq!(entries[0].actor_name, None);
    assert_eq!(store.audit().list(zeta.id, 1).await.unwrap().len(), 1);
}
