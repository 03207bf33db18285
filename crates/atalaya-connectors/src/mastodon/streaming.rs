//! Mastodon's streaming API over Server-Sent Events: a [`StreamingConnection`]
//! yields [`StreamEvent`]s and reconnects by itself.
//!
//! ```text
//!  connect ──▶ read chunks (idle timeout) ──▶ SseParser ──▶ frames ──▶ StreamEvent
//!     ▲                 │ closed / error / idle
//!     └── backoff ◀─────┘   exponential, with jitter, at most `max_attempts` in a row;
//!                           refused credentials (401) end the stream at once
//! ```
//!
//! The stream has no resume point: statuses published while disconnected are
//! not replayed, so streaming only speeds listening up; the polling kinds (with
//! their `min_id` cursors) stay the source of truth.

use super::client::{MastodonClient, Notification, Status, access_token, bearer};
use crate::error::SourceError;
use crate::net::{SafeHttpClient, StreamOpenError};
use crate::network::{AccountSession, api_error};
use atalaya_domain::Timestamp;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Longest SSE line we buffer: a status is a few KB; more is a broken or hostile server.
const MAX_LINE_BYTES: usize = 1024 * 1024;

/// Which stream to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamKind {
    /// The account's home timeline and notifications.
    User,
    /// All public statuses the instance knows (or only its own, with `local`).
    Public { local: bool },
    /// Public statuses with a hashtag (without the `#`).
    Hashtag { tag: String, local: bool },
}

impl StreamKind {
    fn url(&self, server_url: &str) -> Result<url::Url, SourceError> {
        let path = match self {
            StreamKind::User => "/api/v1/streaming/user",
            StreamKind::Public { local: false } => "/api/v1/streaming/public",
            StreamKind::Public { local: true } => "/api/v1/streaming/public/local",
            StreamKind::Hashtag { local: false, .. } => "/api/v1/streaming/hashtag",
            StreamKind::Hashtag { local: true, .. } => "/api/v1/streaming/hashtag/local",
        };
        let text = format!("{server_url}{path}");
        let mut url = url::Url::parse(&text).map_err(|error| SourceError::InvalidUrl {
            url: text,
            reason: error.to_string(),
        })?;
        if let StreamKind::Hashtag { tag, .. } = self {
            url.query_pairs_mut().append_pair("tag", tag);
        }
        Ok(url)
    }
}

/// Reconnection and liveness settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamConfig {
    /// A connection silent for this long is dead (Mastodon sends a heartbeat
    /// comment every few seconds, so silence means a lost connection).
    pub idle_timeout: Duration,
    /// Failed connections in a row after which `next_event` gives up.
    pub max_attempts: u32,
    /// The first reconnection delay; doubles per failure.
    pub base_delay: Duration,
    /// The longest reconnection delay. A connection that stayed up this long
    /// counts as healthy again.
    pub max_delay: Duration,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            idle_timeout: Duration::from_secs(90),
            max_attempts: 8,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
        }
    }
}

/// One event from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// A new status (`update`).
    Update(Box<Status>),
    /// An edited status (`status.update`).
    StatusUpdate(Box<Status>),
    /// A notification (`notification`, user stream only).
    Notification(Box<Notification>),
    /// A deleted status's id (`delete`).
    Delete(String),
    /// Any other event (`filters_changed`, `announcement`, …), as received.
    Other { event: String, data: String },
}

/// One dispatched SSE message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseFrame {
    /// `message` when the server named none.
    pub event: String,
    pub data: String,
}

/// An incremental parser for `text/event-stream`: feed it chunks as they come
/// (split anywhere, even inside a UTF-8 character) and take finished frames.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    event: Option<String>,
    data: Vec<String>,
    frames: VecDeque<SseFrame>,
    /// Comment lines seen (`:thump` heartbeats), for liveness checks and tests.
    pub comments: u64,
}

impl SseParser {
    pub fn new() -> SseParser {
        SseParser::default()
    }

    /// Consumes a chunk of the stream.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), SourceError> {
        for &byte in chunk {
            if byte == b'\n' {
                let mut line = std::mem::take(&mut self.line);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.line_done(&String::from_utf8_lossy(&line));
            } else {
                self.line.push(byte);
                if self.line.len() > MAX_LINE_BYTES {
                    return Err(SourceError::BadResponse {
                        reason: format!("stream line longer than {MAX_LINE_BYTES} bytes"),
                    });
                }
            }
        }
        Ok(())
    }

    /// The next finished frame.
    pub fn next_frame(&mut self) -> Option<SseFrame> {
        self.frames.pop_front()
    }

    fn line_done(&mut self, line: &str) {
        if line.is_empty() {
            // A blank line dispatches; a frame without data is no message (SSE spec).
            let event = self.event.take();
            if !self.data.is_empty() {
                self.frames.push_back(SseFrame {
                    event: event.unwrap_or_else(|| "message".to_owned()),
                    data: std::mem::take(&mut self.data).join("\n"),
                });
            }
            return;
        }
        if line.starts_with(':') {
            self.comments += 1;
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => self.data.push(value.to_owned()),
            // `id` and `retry` are not used by Mastodon; unknown fields are ignored by the spec.
            _ => {}
        }
    }
}

/// Turns a frame into an event. A payload we cannot read is an error for this
/// event only: the connection stays open and the next call reads on.
pub fn frame_to_event(frame: SseFrame) -> Result<StreamEvent, SourceError> {
    let bad = |error: serde_json::Error| SourceError::BadResponse {
        reason: format!("stream event {}: {error}", frame.event),
    };
    Ok(match frame.event.as_str() {
        "update" => StreamEvent::Update(serde_json::from_str(&frame.data).map_err(bad)?),
        "status.update" => {
            StreamEvent::StatusUpdate(serde_json::from_str(&frame.data).map_err(bad)?)
        }
        "notification" => {
            StreamEvent::Notification(serde_json::from_str(&frame.data).map_err(bad)?)
        }
        "delete" => StreamEvent::Delete(frame.data.trim().to_owned()),
        _ => StreamEvent::Other {
            event: frame.event,
            data: frame.data,
        },
    })
}

/// The delay before reconnection attempt `attempt` (1-based): `base · 2^(attempt-1)`
/// capped at `max`, then "equal jitter" (half fixed, half random by `jitter` in
/// `[0, 1)`), so many streams dropped together do not reconnect together.
pub fn backoff_delay(attempt: u32, base: Duration, max: Duration, jitter: f64) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
    let exponential = base.saturating_mul(factor).min(max);
    let half = exponential / 2;
    half + half.mul_f64(jitter.clamp(0.0, 1.0))
}

/// A live stream that reconnects by itself.
pub struct StreamingConnection<'a> {
    http: &'a SafeHttpClient,
    session: &'a AccountSession,
    url: url::Url,
    config: StreamConfig,
    response: Option<reqwest::Response>,
    connected_at: Option<Instant>,
    parser: SseParser,
    failures: u32,
    last_error: Option<SourceError>,
    connections: u64,
}

impl std::fmt::Debug for StreamingConnection<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingConnection")
            .field("url", &self.url.as_str())
            .field("connected", &self.response.is_some())
            .field("failures", &self.failures)
            .finish_non_exhaustive()
    }
}

impl<'a> StreamingConnection<'a> {
    /// A stream on the account's instance. Nothing is sent until `next_event`
    /// (or `open`).
    pub fn new(
        client: &MastodonClient<'a>,
        kind: &StreamKind,
        config: StreamConfig,
    ) -> Result<StreamingConnection<'a>, SourceError> {
        StreamingConnection::with_base_url(client, client.session().server_url(), kind, config)
    }

    /// A stream served from `base_url`, as [`MastodonClient::streaming_base_url`]
    /// reports it for instances that stream from another host.
    pub fn with_base_url(
        client: &MastodonClient<'a>,
        base_url: &str,
        kind: &StreamKind,
        config: StreamConfig,
    ) -> Result<StreamingConnection<'a>, SourceError> {
        let session = client.session();
        Ok(StreamingConnection {
            http: client.http(),
            session,
            url: kind.url(base_url.trim_end_matches('/'))?,
            config,
            response: None,
            connected_at: None,
            parser: SseParser::new(),
            failures: 0,
            last_error: None,
            connections: 0,
        })
    }

    /// Connects now instead of at the first `next_event`. Once it returns, the
    /// server has answered, so it is following the stream: nothing published
    /// afterwards is missed.
    pub async fn open(&mut self) -> Result<(), SourceError> {
        if self.response.is_none() {
            self.connect().await?;
        }
        Ok(())
    }

    /// How many connections were opened so far (1 + reconnections).
    pub fn connections(&self) -> u64 {
        self.connections
    }

    /// The next event. Reconnects after a drop; fails with the last error after
    /// `max_attempts` failed connections in a row, and at once when the server
    /// refuses the credentials or the stream does not exist.
    pub async fn next_event(&mut self) -> Result<StreamEvent, SourceError> {
        loop {
            if let Some(frame) = self.parser.next_frame() {
                let event = frame_to_event(frame);
                if event.is_ok() {
                    self.failures = 0;
                }
                return event;
            }
            let Some(response) = self.response.as_mut() else {
                self.connect().await?;
                continue;
            };
            let read = tokio::time::timeout(self.config.idle_timeout, response.chunk()).await;
            match read {
                Ok(Ok(Some(bytes))) => self.parser.push(&bytes)?,
                Ok(Ok(None)) => self.lost(SourceError::Network {
                    reason: "the stream was closed by the server".to_owned(),
                }),
                Ok(Err(error)) => {
                    let error = self.http.stream_error(&error, &self.url);
                    self.lost(error);
                }
                Err(_) => self.lost(SourceError::Timeout {
                    after: self.config.idle_timeout,
                }),
            }
        }
    }

    fn lost(&mut self, error: SourceError) {
        tracing::debug!(url = %self.url, %error, "mastodon stream lost");
        let lived = self.connected_at.map(|at| at.elapsed());
        if lived.is_some_and(|lived| lived >= self.config.max_delay) {
            self.failures = 0;
        }
        self.response = None;
        self.connected_at = None;
        self.failures += 1;
        self.last_error = Some(error);
    }

    async fn connect(&mut self) -> Result<(), SourceError> {
        loop {
            if self.failures >= self.config.max_attempts {
                return Err(self.last_error.clone().unwrap_or(SourceError::Network {
                    reason: "too many failed stream connections".to_owned(),
                }));
            }
            if self.failures > 0 {
                let mut delay = backoff_delay(
                    self.failures,
                    self.config.base_delay,
                    self.config.max_delay,
                    rand::random::<f64>(),
                );
                if let Some(SourceError::RateLimited {
                    retry_after: Some(after),
                }) = &self.last_error
                {
                    delay = delay.max((*after).min(self.config.max_delay));
                }
                tokio::time::sleep(delay).await;
            }
            let headers = [
                (AUTHORIZATION, bearer(&access_token(self.session)?)?),
                (ACCEPT, HeaderValue::from_static("text/event-stream")),
            ];
            self.connections += 1;
            let error = match self.http.open_stream(self.url.as_str(), &headers).await {
                Ok(response) => {
                    self.session.observe(response.headers());
                    self.response = Some(response);
                    self.connected_at = Some(Instant::now());
                    // A frame cut by the drop must not merge with the new stream's first.
                    self.parser = SseParser::new();
                    return Ok(());
                }
                Err(StreamOpenError::Status(response)) => {
                    self.session.observe(&response.headers);
                    api_error(&response, Timestamp::now()).unwrap_or(SourceError::HttpStatus {
                        status: response.status,
                    })
                }
                Err(StreamOpenError::Source(error)) => error,
            };
            let final_error = matches!(error, SourceError::Unauthorized { .. })
                || (!error.is_transient() && !matches!(error, SourceError::RateLimited { .. }));
            if final_error {
                return Err(error);
            }
            self.failures += 1;
            self.last_error = Some(error);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn frames(chunks: &[&[u8]]) -> (Vec<(String, String)>, u64) {
        let mut parser = SseParser::new();
        for chunk in chunks {
            parser.push(chunk).unwrap();
        }
        let mut out = Vec::new();
        while let Some(frame) = parser.next_frame() {
            out.push((frame.event, frame.data));
        }
        (out, parser.comments)
    }

    #[test]
    fn sse_parsing() {
        fn check(chunks: &[&[u8]], expected: &[(&str, &str)], comments: u64) {
            let (got, got_comments) = frames(chunks);
            let expected: Vec<(String, String)> = expected
                .iter()
                .map(|(event, data)| ((*event).to_owned(), (*data).to_owned()))
                .collect();
            assert_eq!(
                (got, got_comments),
                (expected, comments),
                "chunks: {chunks:?}"
            );
        }
        check(&[b":connected\n\n"], &[], 1);
        check(&[b"event: delete\ndata: 42\n\n"], &[("delete", "42")], 0);
        // Split anywhere, CRLF line ends, no space after the colon.
        check(
            &[b"event:upd", b"ate\r\ndata:{\"a\"", b":1}\r\n\r", b"\n"],
            &[("update", "{\"a\":1}")],
            0,
        );
        // Multi-line data joins with newlines; a frame without event is `message`.
        check(
            &[b"data: one\ndata: two\n\n"],
            &[("message", "one\ntwo")],
            0,
        );
        // Heartbeats between frames; an event without data is dropped.
        check(
            &[b":thump\n\nevent: x\n\n:thump\n\nevent: delete\ndata: 7\n\n"],
            &[("delete", "7")],
            2,
        );
        // An unfinished frame waits for its blank line.
        check(&[b"event: delete\ndata: 9\n"], &[], 0);
        // A character split across chunks survives.
        check(&[b"data: caf\xc3", b"\xa9\n\n"], &[("message", "café")], 0);
    }

    #[test]
    fn endless_lines_are_refused() {
        let mut parser = SseParser::new();
        let chunk = vec![b'a'; MAX_LINE_BYTES + 1];
        assert_eq!(parser.push(&chunk).unwrap_err().code(), "bad_response");
    }

    #[test]
    fn events_from_frames() {
        let frame = |event: &str, data: &str| SseFrame {
            event: event.to_owned(),
            data: data.to_owned(),
        };
        assert_eq!(
            frame_to_event(frame("delete", " 12 ")).unwrap(),
            StreamEvent::Delete("12".to_owned())
        );
        assert!(matches!(
            frame_to_event(frame("filters_changed", "")).unwrap(),
            StreamEvent::Other { .. }
        ));
        assert_eq!(
            frame_to_event(frame("update", "{not json"))
                .unwrap_err()
                .code(),
            "bad_response"
        );
    }

    #[test]
    fn backoff_grows_caps_and_jitters() {
        fn check(attempt: u32, jitter: f64, expected_millis: u64) {
            let delay = backoff_delay(
                attempt,
                Duration::from_millis(1000),
                Duration::from_millis(60_000),
                jitter,
            );
            assert_eq!(
                delay.as_millis(),
                u128::from(expected_millis),
                "attempt {attempt}"
            );
        }
        check(1, 0.0, 500);
        check(1, 1.0, 1000);
        check(2, 0.0, 1000);
        check(4, 0.5, 6000);
        check(10, 0.0, 30_000);
        check(40, 1.0, 60_000);
    }
}
