//! Connected network accounts: reconnecting keeps the account (and its
//! sources), state changes, credentials kept apart, OAuth registrations and
//! one-use pending authorizations.

use atalaya_domain::{AccountId, AccountState, Network, Timestamp, WorkspaceId};
use atalaya_store::{
    AccountStateUpdate, NewAccount, NewSource, OAuthApp, PendingAuthorization, Store, StoreError,
};
use serde_json::json;

on_both_backends!(
    reconnecting_updates_the_same_account_and_clears_its_problems,
    a_source_cannot_use_another_workspaces_account,
    disconnecting_keeps_the_sources_without_an_account,
    oauth_apps_and_pending_authorizations_work_once,
);

const T0: i64 = 1_768_003_200_000;

async fn workspace(store: &Store, slug: &str) -> WorkspaceId {
    store
        .workspaces()
        .create(slug, slug, false)
        .await
        .unwrap()
        .id
}

fn account<'a>(remote_id: &'a str, handle: &'a str, sealed: &'a [u8]) -> NewAccount<'a> {
    NewAccount {
        network: Network::Mastodon,
        server_url: "https://social.example",
        remote_id,
        handle,
        display_name: Some("Café Aurora"),
        sealed_credentials: sealed,
        connected_by: None,
    }
}

async fn network_source(
    store: &Store,
    workspace: WorkspaceId,
    account: Option<AccountId>,
) -> Result<atalaya_domain::Source, StoreError> {
    store
        .sources()
        .create(
            workspace,
            NewSource {
                account_id: account,
                kind: "mastodon_hashtag",
                name: "#cafeaurora",
                config: json!({"hashtag": "cafeaurora"}),
                sealed_secret: None,
                enabled: true,
            },
            Timestamp(T0),
        )
        .await
}

async fn reconnecting_updates_the_same_account_and_clears_its_problems(store: Store) {
    let ws = workspace(&store, "aurora").await;
    let accounts = store.accounts();
    let first = accounts
        .connect(
            ws,
            account("109", "@aurora@social.example", b"sealed-1"),
            Timestamp(T0),
        )
        .await
        .unwrap();
    assert_eq!(first.state, AccountState::Connected);
    assert_eq!(first.last_ok_at, Some(Timestamp(T0)));
    let source = network_source(&store, ws, Some(first.id)).await.unwrap();
    assert_eq!(source.account_id, Some(first.id));

    let revoked = AccountStateUpdate {
        state: AccountState::NeedsReauth,
        code: Some("unauthorized"),
        reason: Some("The access token was revoked"),
        blocked_until: None,
        consecutive_failures: 1,
    };
    accounts
        .record_state(first.id, &revoked, Timestamp(T0 + 10))
        .await
        .unwrap();
    assert_eq!(accounts.needing_attention(ws).await.unwrap(), 1);
    let seen = accounts.get(ws, first.id).await.unwrap().unwrap();
    assert_eq!(seen.state, AccountState::NeedsReauth);
    assert_eq!(
        seen.state_reason.as_deref(),
        Some("The access token was revoked")
    );
    assert_eq!(
        seen.last_ok_at,
        Some(Timestamp(T0)),
        "a failure keeps the last success"
    );

    let again = accounts
        .connect(
            ws,
            account("109", "@aurora2@social.example", b"sealed-2"),
            Timestamp(T0 + 20),
        )
        .await
        .unwrap();
    assert_eq!(
        again.id, first.id,
        "reconnecting must keep the account and its sources"
    );
    assert_eq!(again.handle, "@aurora2@social.example");
    assert_eq!(again.state, AccountState::Connected);
    assert_eq!((again.state_code, again.state_reason), (None, None));
    assert_eq!(
        again.connected_at,
        Timestamp(T0),
        "first connection time kept"
    );
    assert_eq!(accounts.needing_attention(ws).await.unwrap(), 0);
    assert_eq!(
        accounts
            .sealed_credentials(first.id)
            .await
            .unwrap()
            .as_deref(),
        Some(&b"sealed-2"[..])
    );
    accounts
        .set_credentials(first.id, b"sealed-3", Timestamp(T0 + 30))
        .await
        .unwrap();
    assert_eq!(
        accounts
            .sealed_credentials(first.id)
            .await
            .unwrap()
            .as_deref(),
        Some(&b"sealed-3"[..])
    );
    let other = accounts
        .connect(
            ws,
            account("110", "@other@social.example", b"x"),
            Timestamp(T0),
        )
        .await
        .unwrap();
    assert_ne!(other.id, first.id);
    assert_eq!(accounts.list(ws).await.unwrap().len(), 2);
    assert!(
        accounts
            .find(ws, Network::Mastodon, "https://social.example", "110")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        accounts
            .find(ws, Network::Bluesky, "https://social.example", "110")
            .await
            .unwrap()
            .is_none()
    );
    // Rate limited: postponing the source does not count a failure.
    store
        .sources()
        .reschedule(source.id, Timestamp(T0 + 60_000))
        .await
        .unwrap();
    let postponed = store.sources().get(ws, source.id).await.unwrap().unwrap();
    assert_eq!(postponed.next_poll_at, Some(Timestamp(T0 + 60_000)));
    assert_eq!(postponed.consecutive_failures, 0);
}

async fn a_source_cannot_use_another_workspaces_account(store: Store) {
    let ours = workspace(&store, "ours").await;
    let theirs = workspace(&store, "theirs").await;
    let their_account = store
        .accounts()
        .connect(
            theirs,
            account("1", "@x@social.example", b"s"),
            Timestamp(T0),
        )
        .await
        .unwrap();
    let error = network_source(&store, ours, Some(their_account.id))
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::NotFound { what: "account" }),
        "{error:?}"
    );
    assert!(
        store
            .accounts()
            .get(ours, their_account.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.sources().list(ours).await.unwrap().is_empty());
}

async fn disconnecting_keeps_the_sources_without_an_account(store: Store) {
    let ws = workspace(&store, "aurora").await;
    let connected = store
        .accounts()
        .connect(ws, account("7", "@a@social.example", b"s"), Timestamp(T0))
        .await
        .unwrap();
    let source = network_source(&store, ws, Some(connected.id))
        .await
        .unwrap();
    store.accounts().disconnect(ws, connected.id).await.unwrap();
    let kept = store.sources().get(ws, source.id).await.unwrap().unwrap();
    assert_eq!(kept.account_id, None);
    assert!(
        store
            .accounts()
            .sealed_credentials(connected.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        store.accounts().disconnect(ws, connected.id).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn oauth_apps_and_pending_authorizations_work_once(store: Store) {
    let ws = workspace(&store, "aurora").await;
    let user = store
        .users()
        .create(atalaya_store::NewUser {
            username: "lucia",
            email: "lucia@example.org",
            display_name: "Lucía",
            password_hash: "x",
            is_instance_admin: false,
        })
        .await
        .unwrap();
    let accounts = store.accounts();
    let redirect = "https://atalaya.example/oauth/mastodon/callback";
    assert!(
        accounts
            .oauth_app("https://social.example", redirect)
            .await
            .unwrap()
            .is_none()
    );
    let app = OAuthApp {
        server_url: "https://social.example".to_owned(),
        redirect_uri: redirect.to_owned(),
        client_id: "client-1".to_owned(),
        sealed_client_secret: b"sealed".to_vec(),
    };
    accounts.save_oauth_app(&app, Timestamp(T0)).await.unwrap();
    let replaced = OAuthApp {
        client_id: "client-2".to_owned(),
        ..app.clone()
    };
    accounts
        .save_oauth_app(&replaced, Timestamp(T0))
        .await
        .unwrap();
    assert_eq!(
        accounts
            .oauth_app("https://social.example", redirect)
            .await
            .unwrap(),
        Some(replaced)
    );

    let pending = PendingAuthorization {
        workspace_id: ws,
        user_id: user.id,
        network: Network::Mastodon,
        server_url: "https://social.example".to_owned(),
        redirect_uri: redirect.to_owned(),
    };
    accounts
        .begin_authorization("hash-1", &pending, Timestamp(T0), Timestamp(T0 + 600_000))
        .await
        .unwrap();
    accounts
        .begin_authorization("hash-old", &pending, Timestamp(T0), Timestamp(T0 + 1))
        .await
        .unwrap();
    assert_eq!(
        accounts
            .take_authorization("hash-1", Timestamp(T0 + 5))
            .await
            .unwrap(),
        Some(pending.clone())
    );
    assert_eq!(
        accounts
            .take_authorization("hash-1", Timestamp(T0 + 6))
            .await
            .unwrap(),
        None,
        "a state works once"
    );
    assert_eq!(
        accounts
            .take_authorization("hash-old", Timestamp(T0 + 10))
            .await
            .unwrap(),
        None,
        "an expired state does not work"
    );
}
