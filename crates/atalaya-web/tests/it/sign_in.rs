//! Signing in through the real pages: CSRF cookie, session cookie, rotation,
//! failures and rate limiting.

use std::time::Duration;

use atalaya_web::WebSettings;

use crate::support::{Auth, PASSWORD, TestApp, encode_form};

/// Loads the sign-in page like a browser and returns the visitor it became.
async fn visit_sign_in(app: &TestApp) -> Auth {
    let page = app.get("/login", &Auth::Anonymous).await;
    assert_eq!(page.status, 200);
    let csrf = page
        .cookie_value("atalaya_csrf")
        .expect("a pre-session CSRF cookie");
    assert!(
        page.body
            .contains(&format!("name=\"_csrf\" value=\"{csrf}\"")),
        "the form echoes the cookie"
    );
    Auth::Visitor { csrf }
}

#[tokio::test]
async fn sign_in_sets_a_hardened_session_cookie_and_rotates_it() {
    let app = TestApp::new().await;
    let user = app.user("ana", false).await;
    let visitor = visit_sign_in(&app).await;
    let reply = app
        .form(
            "/login",
            &[("username", "Ana"), ("password", PASSWORD)],
            &visitor,
        )
        .await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    assert_eq!(reply.location(), Some("/"));
    let cookie = reply.set_cookie("atalaya_session").unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP by default");
    let token = reply.cookie_value("atalaya_session").unwrap();

    // The session works, and its CSRF token is on the page.
    let session_page = app
        .get(
            "/account",
            &Auth::Session {
                token: token.clone(),
                csrf: String::new(),
            },
        )
        .await;
    assert_eq!(session_page.status, 200);
    let record = app
        .store()
        .sessions()
        .find(
            &atalaya_web::auth::token_digest(&token),
            atalaya_domain::Timestamp::now(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.user.id, user.id);
    let session = Auth::Session {
        token: token.clone(),
        csrf: record.csrf_token.clone(),
    };
    assert!(session_page.body.contains(&record.csrf_token));

    // Signing in again from that browser replaces the old session.
    let reply = app
        .raw_form(
            "/login",
            &encode_form(&[
                ("username", "ana"),
                ("password", PASSWORD),
                ("_csrf", &record.csrf_token),
            ]),
            &session,
        )
        .await;
    assert_eq!(reply.status, 303);
    let new_token = reply.cookie_value("atalaya_session").unwrap();
    assert_ne!(new_token, token);
    assert_eq!(
        app.get("/account", &session).await.status,
        303,
        "the old session is gone"
    );
}

#[tokio::test]
async fn secure_cookies_when_configured() {
    let app = TestApp::with_settings(WebSettings {
        secure_cookies: true,
        ..WebSettings::default()
    })
    .await;
    app.user("ana", false).await;
    let page = app.get("/login", &Auth::Anonymous).await;
    assert!(
        page.set_cookie("atalaya_csrf")
            .unwrap()
            .contains("; Secure")
    );
    let visitor = Auth::Visitor {
        csrf: page.cookie_value("atalaya_csrf").unwrap(),
    };
    let reply = app
        .form(
            "/login",
            &[("username", "ana"), ("password", PASSWORD)],
            &visitor,
        )
        .await;
    assert!(
        reply
            .set_cookie("atalaya_session")
            .unwrap()
            .contains("; Secure")
    );
}

/// Regression: 5 wrong passwords locked the *account* for 15 minutes, the
/// real password included, from everywhere. Now one (username, address) pair
/// waits 1 s, 2 s, 4 s… after its free failures, and only that pair.
#[tokio::test]
async fn wrong_passwords_wait_longer_each_time_without_locking_the_account() {
    let settings = WebSettings {
        login_max_failures: 3,
        login_window: Duration::from_secs(600),
        ..WebSettings::default()
    };
    let app = TestApp::with_settings(settings).await;
    app.user("ana", false).await;
    let visitor = visit_sign_in(&app).await;
    for _ in 0..3 {
        let reply = app
            .form(
                "/login",
                &[("username", "ana"), ("password", "not the password")],
                &visitor,
            )
            .await;
        assert_eq!(reply.status, 401);
        assert!(
            reply.body.contains("Wrong username or password."),
            "{}",
            reply.body
        );
        assert!(reply.set_cookie("atalaya_session").is_none());
    }
    // Right after the free failures, even the right password waits a second.
    let reply = app
        .form(
            "/login",
            &[("username", "ana"), ("password", PASSWORD)],
            &visitor,
        )
        .await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.headers.get("retry-after").unwrap(), "1");
    assert!(
        reply
            .body
            .contains("Too many failed attempts. Try again in 1 second."),
        "{}",
        reply.body
    );
    assert!(reply.set_cookie("atalaya_session").is_none());

    // The message is translated too.
    let Auth::Visitor { csrf } = &visitor else {
        unreachable!()
    };
    let request = axum::http::Request::post("/login")
        .header("cookie", format!("atalaya_csrf={csrf}"))
        .header("accept-language", "es")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(encode_form(&[
            ("username", "ana"),
            ("password", PASSWORD),
            ("_csrf", csrf),
        ])))
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.status, 429);
    assert!(
        reply.body.contains("Demasiados intentos fallidos"),
        "{}",
        reply.body
    );

    // Once the wait is over, the right password works: the failures are
    // moved ten seconds into the past, as if the person had waited.
    let store = app.store();
    store.login_attempts().clear("pair:ana|-").await.unwrap();
    let earlier = atalaya_domain::Timestamp::now().plus_millis(-10_000);
    for _ in 0..4 {
        store
            .login_attempts()
            .record_failure("pair:ana|-", earlier)
            .await
            .unwrap();
    }
    let reply = app
        .form(
            "/login",
            &[("username", "ana"), ("password", PASSWORD)],
            &visitor,
        )
        .await;
    assert_eq!(reply.status, 303, "{}", reply.body);

    // Another account is not affected by ana's failures.
    app.user("beto", false).await;
    let visitor = visit_sign_in(&app).await;
    let reply = app
        .form(
            "/login",
            &[("username", "beto"), ("password", PASSWORD)],
            &visitor,
        )
        .await;
    assert_eq!(reply.status, 303);
}

/// A guesser spread over many addresses slows the account down for devices it
/// has never been used from, but the owner's own browser, remembered by a
/// sealed cookie, still signs in with the right password.
#[tokio::test]
async fn a_known_device_signs_in_while_the_account_is_under_attack() {
    let settings = WebSettings {
        login_max_failures: 3,
        login_window: Duration::from_secs(600),
        ..WebSettings::default()
    };
    let listening = atalaya_web::listening::ListeningSettings {
        secrets: Some(atalaya_connectors::SecretBox::from_key(&[7; 32])),
        ..atalaya_web::listening::ListeningSettings::default()
    };
    let store = atalaya_store::testing::fresh_sqlite().await;
    let app = TestApp::from_state(atalaya_web::AppState::with_listening(
        store, settings, listening,
    ));
    app.user("ana", false).await;
    // Ana signs in from her laptop, which is remembered.
    let laptop = visit_sign_in(&app).await;
    let reply = app
        .form(
            "/login",
            &[("username", "ana"), ("password", PASSWORD)],
            &laptop,
        )
        .await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    let device = reply
        .cookie_value("atalaya_device")
        .expect("the device is remembered");
    assert!(
        reply
            .set_cookie("atalaya_device")
            .unwrap()
            .contains("HttpOnly")
    );

    // Someone guesses from everywhere: 12 failures on the account.
    let now = atalaya_domain::Timestamp::now();
    for _ in 0..12 {
        app.store()
            .login_attempts()
            .record_failure("user:ana", now)
            .await
            .unwrap();
    }
    let stranger = visit_sign_in(&app).await;
    let reply = app
        .form(
            "/login",
            &[("username", "ana"), ("password", PASSWORD)],
            &stranger,
        )
        .await;
    assert_eq!(reply.status, 429, "an unknown device waits");

    let Auth::Visitor { csrf } = visit_sign_in(&app).await else {
        unreachable!()
    };
    let signed_in = |cookie: String| {
        axum::http::Request::post("/login")
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(axum::body::Body::from(encode_form(&[
                ("username", "ana"),
                ("password", PASSWORD),
                ("_csrf", &csrf),
            ])))
            .unwrap()
    };
    let reply = app
        .send(signed_in(format!(
            "atalaya_csrf={csrf}; atalaya_device={device}"
        )))
        .await;
    assert_eq!(
        reply.status, 303,
        "the known device is not kept out: {}",
        reply.body
    );
    // A forged or tampered cookie is no device at all.
    let reply = app
        .send(signed_in(format!(
            "atalaya_csrf={csrf}; atalaya_device=x{device}"
        )))
        .await;
    assert_eq!(reply.status, 429);
    // Another user's device cookie does not vouch for ana.
    app.user("beto", false).await;
    let beto = visit_sign_in(&app).await;
    let reply = app
        .form(
            "/login",
            &[("username", "beto"), ("password", PASSWORD)],
            &beto,
        )
        .await;
    let betos = reply.cookie_value("atalaya_device").unwrap();
    let reply = app
        .send(signed_in(format!(
            "atalaya_csrf={csrf}; atalaya_device={betos}"
        )))
        .await;
    assert_eq!(reply.status, 429);
}

#[tokio::test]
async fn unknown_users_fail_like_wrong_passwords() {
    let app = TestApp::new().await;
    app.user("ana", false).await;
    let visitor = visit_sign_in(&app).await;
    let reply = app
        .form(
            "/login",
            &[("username", "nobody"), ("password", PASSWORD)],
            &visitor,
        )
        .await;
    assert_eq!(reply.status, 401);
    assert!(reply.body.contains("Wrong username or password."));
}

#[tokio::test]
async fn home_sends_each_caller_to_the_right_place() {
    let team = crate::support::Team::new().await;
    assert_eq!(
        team.app.get("/", &Auth::Anonymous).await.location(),
        Some("/login")
    );
    let viewer = team.app.session(&team.viewer).await;
    assert_eq!(team.app.get("/", &viewer).await.location(), Some("/w/acme"));
    let outsider = team.app.session(&team.outsider).await;
    assert_eq!(
        team.app.get("/", &outsider).await.location(),
        Some("/workspaces")
    );
    assert_eq!(
        team.app.get("/login", &viewer).await.location(),
        Some("/"),
        "already signed in"
    );
}

#[tokio::test]
async fn changing_the_password_signs_out_other_sessions() {
    let app = TestApp::new().await;
    let user = app.user("ana", false).await;
    let here = app.session(&user).await;
    let elsewhere = app.session(&user).await;
    let wrong = app
        .form(
            "/account/password",
            &[
                ("current_password", "nope nope nope"),
                ("new_password", "a brand new secret"),
                ("new_password_confirm", "a brand new secret"),
            ],
            &here,
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(
        wrong.body.contains("is not your current password"),
        "{}",
        wrong.body
    );
    let reply = app
        .form(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new secret"),
                ("new_password_confirm", "a brand new secret"),
            ],
            &here,
        )
        .await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    assert!(
        reply.set_cookie("atalaya_session").is_some(),
        "this browser continues on a new session"
    );
    assert_eq!(app.get("/account", &elsewhere).await.status, 303);
    let hash = app
        .store()
        .users()
        .password_hash(user.id)
        .await
        .unwrap()
        .unwrap();
    assert!(atalaya_web::auth::verify_password(
        "a brand new secret",
        &hash
    ));
}

#[tokio::test]
async fn sign_in_returns_to_the_page_asked_for() {
    let team = crate::support::Team::new().await;
    let visitor = Auth::visitor();
    let reply = team.app.get("/w/acme/members?done=x", &visitor).await;
    assert_eq!(
        reply.location(),
        Some("/login?next=%2Fw%2Facme%2Fmembers%3Fdone%3Dx")
    );
    let page = team.app.get(reply.location().unwrap(), &visitor).await;
    assert!(
        page.body
            .contains("name=\"next\" value=\"/w/acme/members?done=x\""),
        "{}",
        page.body
    );
    let reply = team
        .app
        .form(
            "/login",
            &[
                ("username", "vera"),
                ("password", PASSWORD),
                ("next", "/w/acme/members"),
            ],
            &visitor,
        )
        .await;
    assert_eq!(reply.location(), Some("/w/acme/members"));
    // Anything that is not a local path is ignored.
    for hostile in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let reply = team
            .app
            .form(
                "/login",
                &[
                    ("username", "vera"),
                    ("password", PASSWORD),
                    ("next", hostile),
                ],
                &visitor,
            )
            .await;
        assert_eq!(reply.location(), Some("/"), "{hostile}");
        let page = team
            .app
            .get(
                &format!(
                    "/login?next={}",
                    atalaya_web::session::encode_query_value(hostile)
                ),
                &visitor,
            )
            .await;
        assert!(!page.body.contains("evil.example"), "{hostile}");
    }
}
