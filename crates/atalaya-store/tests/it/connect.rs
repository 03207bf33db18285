//! Opening stores: URL schemes, SQLite files and pragmas, idempotent migrations.

use atalaya_store::{Backend, Store, StoreError};

#[tokio::test]
async fn unknown_schemes_are_rejected_with_the_password_hidden() {
    let error = Store::connect("mysql://ana:secret@db/atalaya")
        .await
        .unwrap_err();
    match error {
        StoreError::UnsupportedUrl { url_redacted } => {
            assert!(!url_redacted.contains("secret"), "{url_redacted}");
            assert!(url_redacted.starts_with("mysql://ana:"), "{url_redacted}");
        }
        other => panic!("expected UnsupportedUrl, got {other:?}"),
    }
}

#[tokio::test]
async fn sqlite_file_is_created_in_wal_mode_and_migrations_are_idempotent() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("atalaya.db");
    let url = format!("sqlite://{}", path.display());
    let store = Store::connect(&url).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
    assert!(path.exists());
    assert!(
        atalaya_store::testing::sqlite_pragma(&store, "journal_mode")
            .await
            .unwrap()
            .eq_ignore_ascii_case("wal")
    );
    assert_eq!(
        atalaya_store::testing::sqlite_pragma(&store, "foreign_keys")
            .await
            .unwrap(),
        "1"
    );
    assert_eq!(
        atalaya_store::testing::sqlite_pragma(&store, "busy_timeout")
            .await
            .unwrap(),
        "5000"
    );
    // synchronous = NORMAL is 1.
    assert_eq!(
        atalaya_store::testing::sqlite_pragma(&store, "synchronous")
            .await
            .unwrap(),
        "1"
    );
    store.close().await;

    // The data survives reopening the file.
    let reopened = Store::connect(&url).await.unwrap();
    reopened.migrate().await.unwrap();
    assert_eq!(reopened.users().count().await.unwrap(), 0);
}

#[tokio::test]
async fn postgres_migrations_are_idempotent() {
    let store = atalaya_store::testing::fresh_postgres().await;
    assert_eq!(store.backend(), Backend::Postgres);
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
}
