//! Connected network accounts through the web: the accounts page shows each
//! state with its reason in both languages; Bluesky accounts connect (and
//! reconnect, keeping their id) against the REAL local Bluesky network
//! (`scripts/peers/bluesky.sh start`, `eval "$(scripts/peers/bluesky.sh env)"`);
//! network sources are created through an account of the right network only.
//! Peer tests fail, never skip, when their peer's address is not set.

use atalaya_connectors::testing::{
    bluesky_pds_url, loopback_client, mastodon_url, register_bluesky_account,
};
use atalaya_connectors::{AccountCredentials, SecretBox};
use atalaya_domain::{AccountState, Network, Timestamp, UiLang};
use atalaya_store::{AccountStateUpdate, NewAccount};
use atalaya_web::listening::ListeningSettings;
use atalaya_web::{AppState, WebSettings};
use axum::http::Method;
use serde_json::json;

use crate::support::{Db, Team, TestApp};

const KEY: [u8; 32] = [9; 32];

/// A team whose app can seal credentials and reach loopback peers.
async fn connecting_team(db: Db, settings: WebSettings) -> Team {
    let mut team = Team::on(db).await;
    let state = AppState::with_listening(
        team.app.store().clone(),
        settings,
        ListeningSettings {
            secrets: Some(SecretBox::from_key(&KEY)),
            http: Some(loopback_client()),
            ..ListeningSettings::default()
        },
    );
    team.app = TestApp::from_state(state);
    team
}

/// Stores an account as a connection would, with the given state.
async fn stored_account(
    team: &Team,
    network: Network,
    handle: &str,
    state: AccountState,
    code: Option<&str>,
    reason: Option<&str>,
    blocked_until: Option<Timestamp>,
) -> atalaya_domain::NetworkAccount {
    let store = team.app.store();
    let credentials = AccountCredentials::Mastodon {
        access_token: "not-a-real-token".to_owned(),
        scope: "read write".to_owned(),
    };
    let sealed = SecretBox::from_key(&KEY)
        .seal(&credentials.to_bytes())
        .unwrap();
    let account = store
        .accounts()
        .connect(
            team.workspace.id,
            NewAccount {
                network,
                server_url: "https://social.example",
                remote_id: handle,
                handle,
                display_name: Some("Café Lumen"),
                sealed_credentials: &sealed,
                connected_by: Some(team.admin.id),
            },
            Timestamp::now(),
        )
        .await
        .unwrap();
    if state != AccountState::Connected {
        store
            .accounts()
            .record_state(
                account.id,
                &AccountStateUpdate {
                    state,
                    code,
                    reason,
                    blocked_until,
                    consecutive_failures: 1,
                },
                Timestamp::now(),
            )
            .await
            .unwrap();
    }
    store
        .accounts()
        .get(team.workspace.id, account.id)
        .await
        .unwrap()
        .unwrap()
}

/// Stores a connected account, as a connection that just succeeded would.
async fn connected_account(
    team: &Team,
    network: Network,
    handle: &str,
) -> atalaya_domain::NetworkAccount {
    stored_account(
        team,
        network,
        handle,
        AccountState::Connected,
        None,
        None,
        None,
    )
    .await
}

/// The workspace's accounts, as the store lists them.
async fn listed_accounts(team: &Team) -> Vec<atalaya_domain::NetworkAccount> {
    team.app
        .store()
        .accounts()
        .list(team.workspace.id)
        .await
        .unwrap()
}

/// The workspace's audit actions, newest first.
async fn audit_actions(team: &Team) -> Vec<String> {
    team.app
        .store()
        .audit()
        .list(team.workspace.id, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.action)
        .collect()
}

#[tokio::test]
async fn the_page_shows_each_state_with_its_reason_in_both_languages() {
    let team = connecting_team(Db::Sqlite, WebSettings::default()).await;
    connected_account(&team, Network::Mastodon, "@ok@social.example").await;
    stored_account(
        &team,
        Network::Mastodon,
        "@revoked@social.example",
        AccountState::NeedsReauth,
        Some("unauthorized"),
        Some("The access token was revoked"),
        None,
    )
    .await;
    // 2030-01-01 00:00 UTC.
    stored_account(
        &team,
        Network::Bluesky,
        "busy.example",
        AccountState::RateLimited,
        Some("rate_limited"),
        Some("Rate Limit Exceeded"),
        Some(Timestamp(1_893_456_000_000)),
    )
    .await;
    let viewer = team.app.session(&team.viewer).await;

    let english = team.app.get("/w/acme/accounts", &viewer).await;
    assert_eq!(english.status, 200, "{}", english.body);
    for expected in [
        "@ok@social.example",
        "Connected",
        "Needs re-authorization",
        "The network refused the account&#39;s authorization",
        "The access token was revoked",
        "Rate limited until Jan 1, 2030, 12:00 AM",
        "The network asked us to slow down",
        "Rate Limit Exceeded",
    ] {
        assert!(
            english.body.contains(expected),
            "{expected:?} missing in {}",
            english.body
        );
    }
    assert!(
        !english.body.contains("/disconnect"),
        "viewers get no buttons"
    );

    team.app
        .store()
        .users()
        .set_ui_lang(team.viewer.id, Some(UiLang::Es))
        .await
        .unwrap();
    let spanish = team.app.get("/w/acme/accounts", &viewer).await;
    for expected in [
        "Cuentas conectadas",
        "Conectada",
        "Necesita volver a autorizarse",
        "La red rechazó la autorización de la cuenta",
        "Limitada por la red hasta 1 ene 2030, 00:00",
        "La red pidió ir más despacio",
    ] {
        assert!(
            spanish.body.contains(expected),
            "{expected:?} missing in {}",
            spanish.body
        );
    }

    let admin = team.app.session(&team.admin).await;
    let page = team.app.get("/w/acme/accounts", &admin).await;
    assert!(page.body.contains("/disconnect") && page.body.contains("app password"));
}

#[tokio::test]
async fn the_dashboard_counts_accounts_needing_attention() {
    let team = connecting_team(Db::Sqlite, WebSettings::default()).await;
    let viewer = team.app.session(&team.viewer).await;
    let before = team.app.get("/w/acme", &viewer).await;
    assert!(
        !before.body.contains("Needs re-authorization"),
        "{}",
        before.body
    );
    for handle in ["@one@social.example", "@two@social.example"] {
        stored_account(
            &team,
            Network::Mastodon,
            handle,
            AccountState::NeedsReauth,
            Some("unauthorized"),
            None,
            None,
        )
        .await;
    }
    let after = team.app.get("/w/acme", &viewer).await;
    // Each account is named with its state, and the count of what needs
    // attention says 2, linking to where it is fixed.
    for handle in ["@one@social.example", "@two@social.example"] {
        assert!(
            after
                .body
                .contains(&format!("{handle}: Needs re-authorization")),
            "{}",
            after.body
        );
    }
    assert!(
        after.body.contains("<span class=\"kpi-value\">2</span>")
            && after.body.contains("href=\"/w/acme/accounts\""),
        "{}",
        after.body
    );
}

#[tokio::test]
async fn without_a_client_or_a_key_connecting_is_refused_clearly() {
    let team = Team::new().await;
    let admin = team.app.session(&team.admin).await;
    let reply = team
        .app
        .form(
            "/w/acme/accounts/bluesky",
            &[("handle", "someone.test"), ("app_password", "abcd")],
            &admin,
        )
        .await;
    assert_eq!(reply.status, 422);
    assert!(
        reply.body.contains("cannot connect accounts"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn disconnecting_is_audited_and_keeps_the_sources() {
    let team = connecting_team(Db::Sqlite, WebSettings::default()).await;
    let account = connected_account(&team, Network::Bluesky, "lumen.example").await;
    let admin = team.app.session(&team.admin).await;
    let created = team
        .app
        .form(
            "/w/acme/sources",
            &[
                ("kind", "bluesky_search"),
                ("name", "Lumen on Bluesky"),
                ("account_id", &account.id.to_string()),
                ("query", "lumen"),
            ],
            &admin,
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert!(created.body.contains("via"), "{}", created.body);
    let reply = team
        .app
        .form(
            &format!("/w/acme/accounts/{}/disconnect", account.id),
            &[],
            &admin,
        )
        .await;
    assert_eq!(
        reply.location(),
        Some("/w/acme/accounts?done=account_disconnected")
    );
    let store = team.app.store();
    assert!(listed_accounts(&team).await.is_empty());
    let sources = store.sources().list(team.workspace.id).await.unwrap();
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].account_id, None);
    let actions = audit_actions(&team).await;
    assert_eq!(actions, ["account.disconnect", "source.created"]);
}

fn check_source(reply: &crate::support::Reply, expected: (u16, &str)) {
    let field = reply.json()["error"]["fields"][0]["field"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        (reply.status.as_u16(), field.as_str()),
        expected,
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn network_sources_need_an_account_of_their_network_in_the_workspace() {
    let team = connecting_team(Db::Sqlite, WebSettings::default()).await;
    let bluesky = connected_account(&team, Network::Bluesky, "lumen.example").await;
    let mastodon = connected_account(&team, Network::Mastodon, "@lumen@social.example").await;
    let other = team
        .app
        .store()
        .workspaces()
        .create("other", "Other Brand", false)
        .await
        .unwrap();
    let foreign = team
        .app
        .store()
        .accounts()
        .connect(
            other.id,
            NewAccount {
                network: Network::Bluesky,
                server_url: "https://social.example",
                remote_id: "did:plc:foreign",
                handle: "foreign.example",
                display_name: None,
                sealed_credentials: b"sealed",
                connected_by: None,
            },
            Timestamp::now(),
        )
        .await
        .unwrap();
    let bearer = team.app.bearer(&team.manager).await;
    let path = "/api/v1/workspaces/acme/sources";
    let create = |body: serde_json::Value| {
        let bearer = bearer.clone();
        let app = &team.app;
        async move { app.json(Method::POST, path, Some(body), &bearer).await }
    };
    check_source(
        &create(json!({"kind": "bluesky_search", "name": "No account", "query": "lumen"})).await,
        (422, "account_id"),
    );
    check_source(
        &create(json!({"kind": "bluesky_search", "name": "Wrong network", "query": "lumen", "account_id": mastodon.id})).await,
        (422, "account_id"),
    );
    check_source(
        &create(json!({"kind": "bluesky_search", "name": "Foreign", "query": "lumen", "account_id": foreign.id})).await,
        (422, "account_id"),
    );
    check_source(
        &create(json!({"kind": "bluesky_search", "name": "No words", "account_id": bluesky.id}))
            .await,
        (422, "query"),
    );
    check_source(
        &create(json!({"kind": "twitter_search", "name": "Unknown", "account_id": bluesky.id}))
            .await,
        (422, "kind"),
    );
    let created = create(json!({"kind": "bluesky_search", "name": "Topics", "from_topics": true, "account_id": bluesky.id})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.json()["source"]["account_id"], json!(bluesky.id));
    assert_eq!(
        created.json()["source"]["config"],
        json!({"from_topics": true})
    );

    // The form offers network kinds only for networks the workspace has an account on.
    let admin = team.app.session(&team.admin).await;
    let page = team.app.get("/w/acme/sources/new", &admin).await;
    assert!(page.body.contains("value=\"bluesky_search\""));
    assert!(page.body.contains("lumen.example (Bluesky)"));
    let bare = Team::new().await;
    let admin = bare.app.session(&bare.admin).await;
    let page = bare.app.get("/w/acme/sources/new", &admin).await;
    assert!(!page.body.contains("bluesky_search"));
}

// --- Against the real local Bluesky network ---------------------------------

/// Submits the Bluesky connect form as `auth` would.
async fn submit_bluesky_form(
    team: &Team,
    auth: &crate::support::Auth,
    service: &str,
    handle: &str,
    app_password: &str,
) -> crate::support::Reply {
    team.app
        .form(
            "/w/acme/accounts/bluesky",
            &[
                ("service", service),
                ("handle", handle),
                ("app_password", app_password),
            ],
            auth,
        )
        .await
}

async fn connect_bluesky_flow(db: Db) {
    let pds = bluesky_pds_url();
    let team = connecting_team(db, WebSettings::default()).await;
    let (handle, password) = register_bluesky_account(&loopback_client(), "web").await;
    let admin = team.app.session(&team.admin).await;

    // A wrong password is a field error on the page, in the reader's language.
    let wrong = submit_bluesky_form(&team, &admin, &pds, &handle, "not-the-password").await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert!(
        wrong.body.contains("Wrong handle or app password."),
        "{}",
        wrong.body
    );
    assert!(listed_accounts(&team).await.is_empty());

    let connected = submit_bluesky_form(&team, &admin, &pds, &handle, &password).await;
    assert_eq!(
        connected.location(),
        Some("/w/acme/accounts?done=account_connected"),
        "{}",
        connected.body
    );
    let store = team.app.store();
    let accounts = listed_accounts(&team).await;
    assert_eq!(accounts.len(), 1);
    let account = &accounts[0];
    assert_eq!(
        (
            account.network,
            account.handle.as_str(),
            account.server_url.as_str()
        ),
        (Network::Bluesky, handle.as_str(), pds.as_str())
    );
    assert!(account.remote_id.starts_with("did:"), "{account:?}");
    // What is stored is the sealed session: neither readable nor the password.
    let sealed = store
        .accounts()
        .sealed_credentials(account.id)
        .await
        .unwrap()
        .unwrap();
    assert!(!String::from_utf8_lossy(&sealed).contains(&password));
    let opened = SecretBox::from_key(&KEY).open(&sealed).unwrap();
    let AccountCredentials::Bluesky {
        did, refresh_jwt, ..
    } = AccountCredentials::from_bytes(&opened).unwrap()
    else {
        panic!("not Bluesky credentials");
    };
    assert_eq!(did, account.remote_id);
    assert!(!refresh_jwt.is_empty());

    // A source listens through it; after the account needed re-authorization,
    // reconnecting keeps its id (and so the source) and clears the state.
    let source = team
        .app
        .json(
            Method::POST,
            "/api/v1/workspaces/acme/sources",
            Some(json!({"kind": "bluesky_notifications", "name": "Replies", "account_id": account.id})),
            &team.app.bearer(&team.admin).await,
        )
        .await;
    assert_eq!(source.status, 201, "{}", source.body);
    store
        .accounts()
        .record_state(
            account.id,
            &AccountStateUpdate {
                state: AccountState::NeedsReauth,
                code: Some("unauthorized"),
                reason: Some("Token has been revoked"),
                blocked_until: None,
                consecutive_failures: 1,
            },
            Timestamp::now(),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .accounts()
            .needing_attention(team.workspace.id)
            .await
            .unwrap(),
        1
    );
    // Its card asks for a new app password right there, not behind a menu.
    let page = team.app.get("/w/acme/accounts", &admin).await;
    let card = &page.body[page.body.find("class=\"health-item\"").unwrap()..];
    assert!(
        card.contains("class=\"inline-reconnect\"") && card.contains("name=\"app_password\""),
        "{}",
        page.body
    );
    let again = submit_bluesky_form(&team, &admin, &pds, &handle, &password).await;
    assert_eq!(again.status, 303, "{}", again.body);
    let accounts = listed_accounts(&team).await;
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].id, account.id);
    assert_eq!(accounts[0].state, AccountState::Connected);
    assert_eq!(accounts[0].state_code, None);
    let sources = store.sources().list(team.workspace.id).await.unwrap();
    assert_eq!(sources[0].account_id, Some(account.id));

    let page = team.app.get("/w/acme/accounts", &admin).await;
    assert!(
        page.body.contains(&handle) && page.body.contains("Replies"),
        "{}",
        page.body
    );
    let actions = audit_actions(&team).await;
    assert_eq!(
        actions,
        ["account.connect", "source.created", "account.connect"]
    );
}

#[tokio::test]
async fn scripts_connect_bluesky_through_the_api() {
    let pds = bluesky_pds_url();
    let team = connecting_team(Db::Sqlite, WebSettings::default()).await;
    let (handle, password) = register_bluesky_account(&loopback_client(), "web").await;
    let bearer = team.app.bearer(&team.manager).await;
    let wrong = team
        .app
        .json(
            Method::POST,
            "/api/v1/workspaces/acme/accounts/bluesky",
            Some(json!({"service": pds, "handle": handle, "app_password": "nope"})),
            &bearer,
        )
        .await;
    assert_eq!(
        (wrong.status.as_u16(), wrong.error_code().as_str()),
        (422, "invalid_input")
    );
    assert_eq!(wrong.json()["error"]["fields"][0]["field"], "app_password");
    let created = team
        .app
        .json(
            Method::POST,
            "/api/v1/workspaces/acme/accounts/bluesky",
            Some(json!({"service": pds, "handle": handle, "app_password": password})),
            &bearer,
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.json()["handle"], json!(handle));
    assert_eq!(created.json()["state"], "connected");
    let id = created.json()["id"].as_i64().unwrap();
    let listed = team
        .app
        .get(
            "/api/v1/workspaces/acme/accounts",
            &team.app.bearer(&team.viewer).await,
        )
        .await;
    assert_eq!(listed.json()[0]["id"], json!(id));
    assert!(
        !listed.body.contains("jwt"),
        "credentials never leave the store"
    );
    let deleted = team
        .app
        .json(
            Method::DELETE,
            &format!("/api/v1/workspaces/acme/accounts/{id}"),
            None,
            &bearer,
        )
        .await;
    assert_eq!(deleted.status, 204);
    let listed = team
        .app
        .get("/api/v1/workspaces/acme/accounts", &bearer)
        .await;
    assert_eq!(listed.json(), json!([]));
}

// --- Against the Mastodon peer (mastodon-mock) --------------------------------

/// Where the tests' Atalaya says it lives: the redirect URI is built from it.
const PUBLIC_URL: &str = "http://atalaya.test";

fn public_settings() -> WebSettings {
    WebSettings {
        public_url: Some(PUBLIC_URL.to_owned()),
        ..WebSettings::default()
    }
}

/// The value of `name="{name}" value="..."` in the consent page.
fn attribute_after(html: &str, marker: &str) -> String {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} not in {html}"))
        + marker.len();
    let rest = &html[start..];
    let value = rest
        .split_once("value=\"")
        .unwrap_or_else(|| panic!("no value after {marker:?}"))
        .1;
    value.split('"').next().unwrap().replace("&amp;", "&")
}

/// What a person does on the instance: opens the authorization page, picks
/// the first account and approves. Returns where the instance sends the browser.
async fn approve_on_instance(authorize_url: &str) -> String {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = browser
        .get(authorize_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let fields: Vec<(String, String)> = ["redirect_uri", "client_id", "scope", "state", "username"]
        .into_iter()
        .map(|name| {
            (
                name.to_owned(),
                attribute_after(&page, &format!("name=\"{name}\"")),
            )
        })
        .collect();
    let response = browser
        .post(format!("{}/oauth/authorize", mastodon_url()))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    response
        .headers()
        .get(reqwest::header::LOCATION)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

/// Starts connecting as `auth`; returns the instance's authorization URL.
async fn start_mastodon(team: &Team, auth: &crate::support::Auth) -> String {
    let started = team
        .app
        .form(
            "/w/acme/accounts/mastodon",
            &[("instance", &mastodon_url())],
            auth,
        )
        .await;
    assert_eq!(started.status, 303, "{}", started.body);
    let location = started.location().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{}/oauth/authorize?", mastodon_url())),
        "{location}"
    );
    assert!(
        location.contains("scope=read+write")
            && location.contains("atalaya.test%2Foauth%2Fmastodon%2Fcallback"),
        "{location}"
    );
    location
}

/// The callback path (with its query) the instance redirected the browser to.
fn callback_path(location: &str) -> String {
    let path = location
        .strip_prefix(PUBLIC_URL)
        .unwrap_or_else(|| panic!("not back to us: {location}"));
    assert!(path.starts_with("/oauth/mastodon/callback?"), "{path}");
    path.to_owned()
}

fn query_value(path: &str, name: &str) -> String {
    path.split_once('?')
        .unwrap()
        .1
        .split('&')
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
        .unwrap()
        .to_owned()
}

async fn connect_mastodon_flow(db: Db) {
    let team = connecting_team(db, public_settings()).await;
    let admin = team.app.session(&team.admin).await;
    let authorize = start_mastodon(&team, &admin).await;
    let back = callback_path(&approve_on_instance(&authorize).await);

    let done = team.app.get(&back, &admin).await;
    assert_eq!(
        done.location(),
        Some("/w/acme/accounts?done=account_connected"),
        "{}",
        done.body
    );
    let store = team.app.store();
    let accounts = listed_accounts(&team).await;
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    let account = accounts[0].clone();
    assert_eq!(account.network, Network::Mastodon);
    assert_eq!(account.server_url, mastodon_url());
    assert!(
        account.handle.starts_with('@') && account.handle.matches('@').count() == 2,
        "@acct@host: {}",
        account.handle
    );
    let sealed = store
        .accounts()
        .sealed_credentials(account.id)
        .await
        .unwrap()
        .unwrap();
    let opened = SecretBox::from_key(&KEY).open(&sealed).unwrap();
    let AccountCredentials::Mastodon { access_token, .. } =
        AccountCredentials::from_bytes(&opened).unwrap()
    else {
        panic!("not Mastodon credentials");
    };
    assert!(!access_token.is_empty());
    assert!(!String::from_utf8_lossy(&sealed).contains(&access_token));

    // The same state never works twice.
    let replay = team.app.get(&back, &admin).await;
    assert_eq!(replay.status, 422, "{}", replay.body);
    assert!(
        replay.body.contains("expired or was already used"),
        "{}",
        replay.body
    );

    // Reconnecting reuses the app registration and keeps the account's id.
    let again = start_mastodon(&team, &admin).await;
    assert_eq!(
        query_value(&again, "client_id"),
        query_value(&authorize, "client_id")
    );
    let back = callback_path(&approve_on_instance(&again).await);
    assert_eq!(team.app.get(&back, &admin).await.status, 303);
    let accounts = listed_accounts(&team).await;
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].id, account.id);

    // A hashtag source listens through it.
    let source = team
        .app
        .form(
            "/w/acme/sources",
            &[
                ("kind", "mastodon_hashtag"),
                ("name", "Lumen tag"),
                ("account_id", &account.id.to_string()),
                ("hashtag", "#lumen"),
            ],
            &admin,
        )
        .await;
    assert_eq!(source.status, 200, "{}", source.body);
    let sources = store.sources().list(team.workspace.id).await.unwrap();
    assert_eq!(sources[0].account_id, Some(account.id));
    assert_eq!(
        sources[0].config,
        json!({"hashtag": "lumen", "local": false})
    );
    let actions: Vec<String> = audit_actions(&team)
        .await
        .into_iter()
        .filter(|action| action.starts_with("account."))
        .collect();
    assert_eq!(actions, ["account.connect", "account.connect"]);
}

on_both_databases!(connect_bluesky_flow, connect_mastodon_flow);

#[tokio::test]
async fn mastodon_authorizations_belong_to_who_started_them() {
    let team = connecting_team(Db::Sqlite, public_settings()).await;
    let manager = team.app.session(&team.manager).await;
    let admin = team.app.session(&team.admin).await;
    let authorize = start_mastodon(&team, &manager).await;
    let back = callback_path(&approve_on_instance(&authorize).await);
    let stolen = team.app.get(&back, &admin).await;
    assert_eq!(stolen.status, 403, "{}", stolen.body);
    let unknown = team
        .app
        .get(
            "/oauth/mastodon/callback?code=abc&state=never-issued",
            &admin,
        )
        .await;
    assert_eq!(unknown.status, 422);
    assert!(listed_accounts(&team).await.is_empty());
}

#[tokio::test]
async fn mastodon_refusals_and_bad_codes_land_on_the_accounts_page() {
    let team = connecting_team(Db::Sqlite, public_settings()).await;
    let admin = team.app.session(&team.admin).await;

    let authorize = start_mastodon(&team, &admin).await;
    let state = query_value(&authorize, "state");
    let denied = team
        .app
        .get(
            &format!("/oauth/mastodon/callback?error=access_denied&state={state}"),
            &admin,
        )
        .await;
    assert_eq!(
        denied.location(),
        Some("/w/acme/accounts?error=oauth_denied")
    );
    let page = team
        .app
        .get("/w/acme/accounts?error=oauth_denied", &admin)
        .await;
    assert!(
        page.body
            .contains("The authorization was refused on the instance."),
        "{}",
        page.body
    );

    let authorize = start_mastodon(&team, &admin).await;
    let state = query_value(&authorize, "state");
    let bad_code = team
        .app
        .get(
            &format!("/oauth/mastodon/callback?code=not-a-code&state={state}"),
            &admin,
        )
        .await;
    let location = bad_code.location().unwrap_or_default().to_owned();
    assert!(
        location.starts_with("/w/acme/accounts?error="),
        "{location}: {}",
        bad_code.body
    );
    assert!(listed_accounts(&team).await.is_empty());
}

#[tokio::test]
async fn unreachable_or_private_instances_are_explained_not_500() {
    let team = connecting_team(Db::Sqlite, public_settings()).await;
    let admin = team.app.session(&team.admin).await;
    for (instance, expected) in [
        // Nothing listens on port 9 of loopback (allowed by the test's guard).
        ("http://127.0.0.1:9", "The server could not be reached."),
        // A private address the guard does not admit.
        ("http://10.11.12.13", "private or internal network"),
        ("ftp://social.example", "The address is not valid."),
    ] {
        let reply = team
            .app
            .form(
                "/w/acme/accounts/mastodon",
                &[("instance", instance)],
                &admin,
            )
            .await;
        assert_eq!(reply.status, 422, "{instance}: {}", reply.body);
        assert!(
            reply.body.contains(expected),
            "{instance}: {expected:?} missing in {}",
            reply.body
        );
    }
}

#[tokio::test]
async fn the_redirect_uri_follows_the_host_without_a_public_url() {
    let team = connecting_team(Db::Sqlite, WebSettings::default()).await;
    let admin = team.app.session(&team.admin).await;
    let crate::support::Auth::Session { token, csrf } = &admin else {
        unreachable!()
    };
    let request = axum::http::Request::post("/w/acme/accounts/mastodon")
        .header(axum::http::header::HOST, "cm.example.org:8080")
        .header(
            axum::http::header::COOKIE,
            format!("atalaya_session={token}"),
        )
        .header(
            axum::http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(axum::body::Body::from(crate::support::encode_form(&[
            ("instance", &mastodon_url()),
            ("_csrf", csrf),
        ])))
        .unwrap();
    let reply = team.app.send(request).await;
    let location = reply.location().unwrap_or_default();
    assert!(
        location.contains(
            "redirect_uri=http%3A%2F%2Fcm.example.org%3A8080%2Foauth%2Fmastodon%2Fcallback"
        ),
        "{location}: {}",
        reply.body
    );
}
