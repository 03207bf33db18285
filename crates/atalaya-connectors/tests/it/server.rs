//! A local feed server: publishers' shapes, conditional GET, redirects,
//! errors, slow and oversized responses. Bound to 127.0.0.1:0 before serving,
//! so tests never wait for readiness.

use atalaya_connectors::net::{AllowList, SafeHttpClient, SafeHttpConfig};
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::io::Write;
use std::time::Duration;

pub const WORDPRESS: &str = include_str!("../fixtures/wordpress-rss2.xml");
pub const YOUTUBE: &str = include_str!("../fixtures/youtube-atom.xml");
pub const ALERTS: &str = include_str!("../fixtures/alerts-atom.xml");
pub const RDF: &str = include_str!("../fixtures/rss1-rdf.xml");
pub const RSS091: &str = include_str!("../fixtures/rss091.xml");
pub const WINDOWS_1252: &[u8] = include_bytes!("../fixtures/world/windows-1252-declared-utf8.xml");
pub const UTF16BE_BOM: &[u8] = include_bytes!("../fixtures/world/utf16be-bom.xml");

pub const WORDPRESS_ETAG: &str = "\"wp-v1\"";
pub const LAST_MODIFIED: &str = "Mon, 03 Mar 2025 09:15:00 GMT";
/// The cap the tests' clients use, so oversized bodies stay small.
pub const TEST_BODY_CAP: u64 = 16 * 1024;

fn xml(body: impl Into<axum::body::Body>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/rss+xml; charset=utf-8")],
        body.into(),
    )
        .into_response()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn gzipped(body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/rss+xml"),
            (header::CONTENT_ENCODING, "gzip"),
        ],
        body,
    )
        .into_response()
}

fn redirect(location: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, location.to_owned())]).into_response()
}

async fn wordpress(headers: HeaderMap) -> Response {
    let etag = HeaderValue::from_static(WORDPRESS_ETAG);
    if headers.get(header::IF_NONE_MATCH) == Some(&etag) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let mut response = xml(WORDPRESS);
    response.headers_mut().insert(header::ETAG, etag);
    response
}

async fn last_modified(headers: HeaderMap) -> Response {
    let stamp = HeaderValue::from_static(LAST_MODIFIED);
    if headers.get(header::IF_MODIFIED_SINCE) == Some(&stamp) {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut response = xml(RDF);
    response.headers_mut().insert(header::LAST_MODIFIED, stamp);
    response
}

async fn echo_user_agent(headers: HeaderMap) -> Response {
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    xml(format!(
        r#"<rss version="2.0"><channel><title>ua</title><item><guid>ua</guid><description>{agent}</description></item></channel></rss>"#
    ))
}

/// The credentials the tests configure for the private feed: `lector:clave`.
pub const PRIVATE_FEED_CREDENTIALS: &[u8] = b"lector:clave";

async fn private_feed(headers: HeaderMap) -> Response {
    // base64("lector:clave")
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        == Some("Basic bGVjdG9yOmNsYXZl")
    {
        xml(RSS091)
    } else {
        StatusCode::UNAUTHORIZED.into_response()
    }
}

async fn echo_authorization(headers: HeaderMap) -> Response {
    let seen = if headers.contains_key(header::AUTHORIZATION) {
        "credentials received"
    } else {
        "no credentials"
    };
    xml(format!(
        r#"<rss version="2.0"><channel><title>auth</title><item><guid>auth</guid><description>{seen}</description></item></channel></rss>"#
    ))
}

async fn slow() -> Response {
    // Never answers: the client's timeout must end the request.
    std::future::pending::<()>().await;
    StatusCode::OK.into_response()
}

fn hostile_feeds() -> Router {
    let invalid_utf8 = {
        let mut body = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>x</title><item><title>caf".to_vec();
        body.extend_from_slice(&[0xe9, 0x20, 0xff]);
        body.extend_from_slice(b"</title></item></channel></rss>");
        body
    };
    let oversized = format!(
        r#"<rss version="2.0"><channel><title>big</title><item><description>{}</description></item></channel></rss>"#,
        "a".repeat(TEST_BODY_CAP as usize * 2)
    );
    let bomb = gzip(oversized.as_bytes());
    let mut truncated = gzip(WORDPRESS.as_bytes());
    truncated.truncate(truncated.len() / 2);
    let whole = gzip(WORDPRESS.as_bytes());
    Router::new()
        .route("/malformed.xml", get(|| async { xml("<rss version=\"2.0\"><channel><title>roto</title><item><title>sin cerrar</channel>") }))
        .route("/not-a-feed.html", get(|| async { xml("<html><body>Hola</body></html>") }))
        .route("/invalid-utf8.xml", get(move || async move { xml(invalid_utf8) }))
        .route("/big.xml", get(move || async move { xml(oversized) }))
        .route("/bomb.xml", get(move || async move { gzipped(bomb) }))
        .route("/truncated-gzip.xml", get(move || async move { gzipped(truncated) }))
        .route("/gzip.xml", get(move || async move { gzipped(whole) }))
        // Feeds as the world serves them: the header names the charset.
        .route(
            "/world/windows-1252.xml",
            get(|| async { ([(header::CONTENT_TYPE, "text/xml; charset=windows-1252")], WINDOWS_1252) }),
        )
        .route(
            "/world/utf16be-bom.xml",
            get(|| async { ([(header::CONTENT_TYPE, "application/rss+xml")], UTF16BE_BOM) }),
        )
}

/// Starts the server and returns its base URL, `http://127.0.0.1:PORT`.
pub async fn start() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    // Same server, another origin (host name instead of address).
    let other_origin = format!("http://localhost:{}/echo-authorization.xml", address.port());
    let router = Router::new()
        .route("/private.xml", get(private_feed))
        .route("/echo-authorization.xml", get(echo_authorization))
        .route(
            "/private-same-origin",
            get(|| async { redirect("/echo-authorization.xml") }),
        )
        .route(
            "/private-other-origin",
            get(move || async move { redirect(&other_origin) }),
        )
        .route("/wordpress.xml", get(wordpress))
        .route("/rdf.xml", get(last_modified))
        .route("/youtube.xml", get(|| async { xml(YOUTUBE) }))
        .route("/alerts.xml", get(|| async { xml(ALERTS) }))
        .route("/rss091.xml", get(|| async { xml(RSS091) }))
        .route("/user-agent.xml", get(echo_user_agent))
        .route("/moved", get(|| async { redirect("/wordpress.xml") }))
        .route("/moved-twice", get(|| async { redirect("/moved") }))
        .route(
            "/to-private",
            get(|| async { redirect("http://10.255.255.1/feed") }),
        )
        .route(
            "/to-metadata",
            get(|| async { redirect("http://169.254.169.254/latest/meta-data/") }),
        )
        .route(
            "/to-ipv6-loopback",
            get(|| async { redirect("http://[::1]/feed") }),
        )
        .route("/to-file", get(|| async { redirect("file:///etc/passwd") }))
        .route("/loop", get(|| async { redirect("/loop") }))
        .route(
            "/error",
            get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        )
        .route("/gone", get(|| async { StatusCode::GONE }))
        .route("/slow", get(slow))
        .merge(hostile_feeds());
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}")
}

/// Test configuration: 127.0.0.1 explicitly allowed, small cap, short timeouts.
pub fn loopback_config() -> SafeHttpConfig {
    SafeHttpConfig {
        allow_list: AllowList::parse(&["127.0.0.1"]).unwrap(),
        max_body_bytes: TEST_BODY_CAP,
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(5),
        total_timeout: Duration::from_secs(10),
        max_redirects: 5,
    }
}

pub fn loopback_client() -> SafeHttpClient {
    SafeHttpClient::new(loopback_config()).unwrap()
}
