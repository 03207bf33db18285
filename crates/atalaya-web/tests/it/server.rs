//! The whole server on a real socket: the listener is bound first and handed to
//! `serve`, so there is nothing to wait for; shutdown is a future we complete.

use std::net::SocketAddr;
use std::time::Duration;

use atalaya_web::{AppState, WebSettings, serve};
use axum::extract::ConnectInfo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{Auth, PASSWORD, TestApp, encode_form};

async fn raw_get(address: SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept-Language: es\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn serve_answers_on_the_given_listener_and_shuts_down() {
    let store = atalaya_store::testing::fresh_sqlite().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(
        listener,
        AppState::new(store, WebSettings::default()),
        async move {
            let _ = stopped.await;
        },
    ));

    let health = raw_get(address, "/healthz").await;
    assert!(
        health.starts_with("HTTP/1.1 200 OK") && health.ends_with("ok"),
        "{health}"
    );
    let home = raw_get(address, "/").await;
    assert!(
        home.starts_with("HTTP/1.1 303") && home.to_lowercase().contains("location: /login"),
        "{home}"
    );
    let sign_in = raw_get(address, "/login").await;
    assert!(sign_in.contains("<html lang=\"es\">"), "{sign_in}");

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// Password spraying from one address (many usernames, few tries each) slows
/// that address down for devices not seen before; other addresses, and a
/// client behind a trusted proxy, are judged by their own address.
#[tokio::test]
async fn one_address_is_slowed_across_usernames_and_proxies_are_believed_only_when_trusted() {
    let settings = WebSettings {
        login_max_failures: 2,
        trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
        ..WebSettings::default()
    };
    let app = TestApp::with_settings(settings).await;
    app.user("ana", false).await;
    let visitor = Auth::visitor();
    let Auth::Visitor { csrf } = &visitor else {
        unreachable!()
    };
    let attempt =
        |username: String, password: &'static str, ip: [u8; 4], forwarded: Option<&str>| {
            let body = encode_form(&[
                ("username", &username),
                ("password", password),
                ("_csrf", csrf),
            ]);
            let mut builder = axum::http::Request::post("/login")
                .header("cookie", format!("atalaya_csrf={csrf}"))
                .header("content-type", "application/x-www-form-urlencoded");
            if let Some(forwarded) = forwarded {
                builder = builder.header("x-forwarded-for", forwarded);
            }
            let mut request = builder.body(axum::body::Body::from(body)).unwrap();
            request
                .extensions_mut()
                .insert(ConnectInfo(SocketAddr::from((ip, 40000))));
            request
        };
    // The per-address allowance is twenty times the per-pair one: 40 here.
    for n in 0..40 {
        let reply = app
            .send(attempt(
                format!("guess{n}"),
                "wrong password",
                [203, 0, 113, 7],
                None,
            ))
            .await;
        assert_eq!(reply.status, 401, "attempt {n}");
    }
    let reply = app
        .send(attempt(
            String::from("ana"),
            PASSWORD,
            [203, 0, 113, 7],
            None,
        ))
        .await;
    assert_eq!(
        reply.status, 429,
        "that address now waits, even for a valid account"
    );
    let reply = app
        .send(attempt(
            String::from("ana"),
            PASSWORD,
            [198, 51, 100, 1],
            None,
        ))
        .await;
    assert_eq!(reply.status, 303, "another address still signs in");
    // A stranger cannot pose as another address: its header is not believed.
    let reply = app
        .send(attempt(
            String::from("ana"),
            PASSWORD,
            [203, 0, 113, 7],
            Some("192.0.2.50"),
        ))
        .await;
    assert_eq!(reply.status, 429);
    // Through the trusted proxy, the client's own address counts.
    let reply = app
        .send(attempt(
            String::from("ana"),
            PASSWORD,
            [10, 0, 0, 2],
            Some("192.0.2.50"),
        ))
        .await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    let reply = app
        .send(attempt(
            String::from("ana"),
            PASSWORD,
            [10, 0, 0, 2],
            Some("203.0.113.7"),
        ))
        .await;
    assert_eq!(
        reply.status, 429,
        "the sprayer behind the proxy is still the sprayer"
    );
}
