//! The one error type every source kind returns when a fetch or a parse fails.
//!
//! Sources are fed by strangers, so failures are ordinary: the worker records the
//! error on the source and the UI shows it. Each variant therefore carries a stable
//! machine `code()` (the UI translates by code, the store keeps it) and an English
//! `Display` for logs and for operators who read the database directly.

use std::time::Duration;

/// Why fetching or parsing a source failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The URL, or a redirect hop, points at an address the SSRF guard refuses
    /// (loopback, private, link-local, metadata, …) and no allow-list entry admits it.
    #[error("refused to connect to {host}: {reason}")]
    SsrfRefused { host: String, reason: String },
    /// The URL is not an absolute http(s) URL.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// The host name did not resolve.
    #[error("could not resolve {host}: {reason}")]
    Dns { host: String, reason: String },
    /// The TCP connection could not be established.
    #[error("could not connect: {reason}")]
    Connect { reason: String },
    /// The TLS handshake failed (bad certificate, protocol mismatch).
    #[error("TLS failure: {reason}")]
    Tls { reason: String },
    /// The server did not answer within the configured time.
    #[error("timed out after {:.1} s", after.as_secs_f64())]
    Timeout { after: Duration },
    /// The body is larger than the configured cap.
    #[error("response body larger than the {limit_bytes} byte limit")]
    TooLarge { limit_bytes: u64 },
    /// The server answered with an error status.
    #[error("server answered HTTP {status}")]
    HttpStatus { status: u16 },
    /// More redirects than allowed, or a redirect without a usable `Location`.
    #[error("redirect problem: {reason}")]
    Redirect { reason: String },
    /// The body is compressed but the compressed stream is broken (e.g. truncated gzip).
    #[error("broken compressed body: {reason}")]
    BadCompression { reason: String },
    /// The body is not valid in the character encoding it declares.
    #[error("invalid {encoding} at byte {byte_offset}")]
    BadEncoding { encoding: String, byte_offset: u64 },
    /// The body names a character encoding we cannot decode (and is not UTF-8).
    #[error("unsupported character encoding {encoding:?}")]
    UnsupportedEncoding { encoding: String },
    /// The body is not a feed we can read (malformed XML, not RSS/Atom).
    #[error("malformed feed: {reason}")]
    MalformedFeed { reason: String },
    /// The source's stored configuration cannot be used.
    #[error("invalid source configuration: {reason}")]
    Config { reason: String },
    /// Any other transport failure (connection reset mid-body, …).
    #[error("network error: {reason}")]
    Network { reason: String },
    /// A network API refused the account's credentials (revoked or expired
    /// token, wrong app password): the account needs re-authorization.
    #[error("the network refused the account's credentials: {reason}")]
    Unauthorized { reason: String },
    /// A network API asked us to slow down (HTTP 429, or its rate-limit headers
    /// said the budget is spent); `retry_after` is when it said to come back.
    #[error("rate limited by the network{}", retry_after.map(|after| format!(", retry after {} s", after.as_secs())).unwrap_or_default())]
    RateLimited { retry_after: Option<Duration> },
    /// A network API answered, but not with something we can read.
    #[error("unexpected answer from the network: {reason}")]
    BadResponse { reason: String },
    /// Reading the source panicked (a bug, ours or a parser's, met by this
    /// source's data). The source fails and backs off like any other failure.
    #[error("reading the source crashed: {reason}")]
    Crashed { reason: String },
}

impl SourceError {
    /// A stable, machine-readable code: stored with the source's health and
    /// translated by the UI. Never change an existing code.
    pub fn code(&self) -> &'static str {
        match self {
            SourceError::SsrfRefused { .. } => "ssrf_refused",
            SourceError::InvalidUrl { .. } => "invalid_url",
            SourceError::Dns { .. } => "dns",
            SourceError::Connect { .. } => "connect",
            SourceError::Tls { .. } => "tls",
            SourceError::Timeout { .. } => "timeout",
            SourceError::TooLarge { .. } => "too_large",
            SourceError::HttpStatus { .. } => "http_status",
            SourceError::Redirect { .. } => "redirect",
            SourceError::BadCompression { .. } => "bad_compression",
            SourceError::BadEncoding { .. } | SourceError::UnsupportedEncoding { .. } => {
                "bad_encoding"
            }
            SourceError::MalformedFeed { .. } => "malformed_feed",
            SourceError::Config { .. } => "config",
            SourceError::Network { .. } => "network",
            SourceError::Unauthorized { .. } => "unauthorized",
            SourceError::RateLimited { .. } => "rate_limited",
            SourceError::BadResponse { .. } => "bad_response",
            SourceError::Crashed { .. } => "crashed",
        }
    }

    /// Every code [`SourceError::code`] returns, for tests that check each has
    /// a message (the interface's key is `source_error.<code>`).
    pub const CODES: [&'static str; 18] = [
        "ssrf_refused",
        "invalid_url",
        "dns",
        "connect",
        "tls",
        "timeout",
        "too_large",
        "http_status",
        "redirect",
        "bad_compression",
        "bad_encoding",
        "malformed_feed",
        "config",
        "network",
        "unauthorized",
        "rate_limited",
        "bad_response",
        "crashed",
    ];

    /// Whether retrying later may help. Permanent errors (refused address, bad
    /// configuration, 404/410) still back off, but the UI can say "fix the source".
    pub fn is_transient(&self) -> bool {
        match self {
            SourceError::SsrfRefused { .. }
            | SourceError::InvalidUrl { .. }
            | SourceError::Config { .. }
            | SourceError::Unauthorized { .. } => false,
            SourceError::HttpStatus { status } => !matches!(status, 400 | 401 | 403 | 404 | 410),
            _ => true,
        }
    }
}

/// The message of a caught panic (`panic!("…")` payloads are `&str` or `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|message| (*message).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_display_is_english() {
        let error = SourceError::TooLarge { limit_bytes: 10 };
        assert_eq!(error.code(), "too_large");
        assert_eq!(
            error.to_string(),
            "response body larger than the 10 byte limit"
        );
        let error = SourceError::Timeout {
            after: Duration::from_millis(1500),
        };
        assert_eq!(error.code(), "timeout");
        assert_eq!(error.to_string(), "timed out after 1.5 s");
        assert!(!SourceError::HttpStatus { status: 410 }.is_transient());
        assert!(SourceError::HttpStatus { status: 503 }.is_transient());
        let error = SourceError::RateLimited {
            retry_after: Some(Duration::from_secs(30)),
        };
        assert_eq!(error.code(), "rate_limited");
        assert_eq!(
            error.to_string(),
            "rate limited by the network, retry after 30 s"
        );
        assert!(error.is_transient());
        assert!(
            !SourceError::Unauthorized {
                reason: "revoked".to_owned()
            }
            .is_transient()
        );
        let error = SourceError::Crashed {
            reason: "the feed parser panicked: boom".to_owned(),
        };
        assert_eq!(error.code(), "crashed");
        assert_eq!(
            error.to_string(),
            "reading the source crashed: the feed parser panicked: boom"
        );
        for code in ["crashed", "bad_encoding", error.code()] {
            assert!(SourceError::CODES.contains(&code), "{code}");
        }
    }

    #[test]
    fn panic_messages_are_read_from_either_payload() {
        let text: Box<dyn std::any::Any + Send> = Box::new("static text");
        assert_eq!(panic_message(&*text), "static text");
        let owned: Box<dyn std::any::Any + Send> = Box::new(String::from("formatted 7"));
        assert_eq!(panic_message(&*owned), "formatted 7");
        let other: Box<dyn std::any::Any + Send> = Box::new(7_u8);
        assert_eq!(panic_message(&*other), "a panic without a message");
    }
}
