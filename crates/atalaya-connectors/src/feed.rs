//! RSS 0.9x/1.0/2.0 and Atom 0.3/1.0 feeds: conditional polling and parsing into mentions.
//!
//! ```text
//! poll_feed(url, validators) ──► SafeHttpClient GET (If-None-Match / If-Modified-Since)
//!      304 ──► FeedPoll::NotModified
//!      200 ──► parse_feed_served(body, Content-Type):
//!              encoding::decode_body (BOM, UTF-16/32, HTTP charset, declaration) ──► UTF-8
//!              ──► repair (versions feed-rs does not know, Atom 0.3, Atom types, base64)
//!              ──► feed-rs (panics caught) ──► entry → MentionFields → IncomingMention
//!                  └ the feed fails? ──► skeleton + one document per entry: the broken ones
//!                                        become rejections, the others are kept
//!              ──► FeedPoll::Fetched { items, rejected, notes, validators (new ETag / Last-Modified) }
//! ```
//!
//! A feed whose XML cannot be read is one error; a feed with some unusable
//! entries (a `javascript:` link, no text at all, an element feed-rs cannot
//! read) yields its good entries and lists the rejected ones, so one bad entry
//! never hides the rest. A date that cannot be read is left unknown (never
//! replaced by the time of polling here) and said so in `notes`.

mod dates;
mod encoding;
mod repair;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::SourceError;
use crate::item::{ContentKind, IncomingMention, ItemError, MentionFields};
use crate::net::SafeHttpClient;
use atalaya_domain::Timestamp;
use chrono::{DateTime, Utc};
use reqwest::header::{
    CONTENT_TYPE, ETAG, HeaderName, HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
};
use serde::{Deserialize, Serialize};

/// The HTTP validators of the last successful fetch, sent back on the next one
/// so an unchanged feed costs a 304 and no parsing. Serialized as the source's cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

/// An entry of a readable feed that could not become a mention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRejection {
    /// The entry's id (guid/id, or feed-rs' generated id), for the source's log.
    pub entry_id: String,
    pub error: ItemError,
}

/// Something worth telling about an entry that was kept, for the source's log
/// (today: its date could not be read, so it is stored with an unknown date).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryNote {
    pub entry_id: String,
    pub note: String,
}

/// What one poll of a feed produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedPoll {
    /// The server answered 304: nothing new since `validators`.
    NotModified,
    Fetched {
        items: Vec<IncomingMention>,
        rejected: Vec<EntryRejection>,
        notes: Vec<EntryNote>,
        validators: Validators,
    },
}

/// A parsed feed body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedFeed {
    pub title: Option<String>,
    pub items: Vec<IncomingMention>,
    pub rejected: Vec<EntryRejection>,
    pub notes: Vec<EntryNote>,
}

/// Fetches `url` conditionally and parses it.
pub async fn poll_feed(
    client: &SafeHttpClient,
    url: &str,
    validators: &Validators,
) -> Result<FeedPoll, SourceError> {
    poll_feed_with_credentials(client, url, validators, None).await
}

/// [`poll_feed`] for feeds behind HTTP Basic authentication; `credentials` is
/// `user:password`. They are sent only to the feed's own origin, never to a
/// host it redirects to.
pub async fn poll_feed_with_credentials(
    client: &SafeHttpClient,
    url: &str,
    validators: &Validators,
    credentials: Option<&[u8]>,
) -> Result<FeedPoll, SourceError> {
    let mut headers = vec![(
        reqwest::header::ACCEPT,
        HeaderValue::from_static(
            "application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5",
        ),
    )];
    if let Some(credentials) = credentials {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        let value = HeaderValue::from_str(&format!("Basic {encoded}")).map_err(|error| {
            SourceError::Config {
                reason: format!("feed credentials: {error}"),
            }
        })?;
        headers.push((reqwest::header::AUTHORIZATION, value));
    }
    push_validator(&mut headers, IF_NONE_MATCH, validators.etag.as_deref());
    push_validator(
        &mut headers,
        IF_MODIFIED_SINCE,
        validators.last_modified.as_deref(),
    );
    let response = client.get(url, &headers).await?;
    if response.status == 304 {
        return Ok(FeedPoll::NotModified);
    }
    let parsed = parse_feed_served(
        &response.body,
        Some(response.final_url.as_str()),
        response.header(CONTENT_TYPE.as_str()),
    )?;
    let validators = Validators {
        etag: response.header(ETAG.as_str()).map(str::to_owned),
        last_modified: response.header(LAST_MODIFIED.as_str()).map(str::to_owned),
    };
    Ok(FeedPoll::Fetched {
        items: parsed.items,
        rejected: parsed.rejected,
        notes: parsed.notes,
        validators,
    })
}

fn push_validator(
    headers: &mut Vec<(HeaderName, HeaderValue)>,
    name: HeaderName,
    value: Option<&str>,
) {
    // A stored validator that is not a valid header value (it came from a
    // stranger's server) is simply not sent: the poll becomes unconditional.
    if let Some(value) = value.and_then(|value| HeaderValue::from_str(value).ok()) {
        headers.push((name, value));
    }
}

/// Parses a feed body (any RSS version or Atom). `base_url` resolves relative links.
pub fn parse_feed(body: &[u8], base_url: Option<&str>) -> Result<ParsedFeed, SourceError> {
    parse_feed_served(body, base_url, None)
}

/// [`parse_feed`] for a body served with `content_type` (the HTTP
/// `Content-Type`, whose charset decides the encoding of XML media types).
pub fn parse_feed_served(
    body: &[u8],
    base_url: Option<&str>,
    content_type: Option<&str>,
) -> Result<ParsedFeed, SourceError> {
    let text = encoding::decode_body(body, content_type)?;
    let repaired = repair::repair(&text)?;
    let dates = DateLog::default();
    let feed = match parse_guarded(repaired.text.as_bytes(), base_url, &dates) {
        Ok(feed) => feed,
        // One entry may be what feed-rs refuses, or panics on.
        Err(error @ (SourceError::MalformedFeed { .. } | SourceError::Crashed { .. })) => {
            return parse_entry_by_entry(&repaired, base_url, &dates).ok_or(error);
        }
        Err(error) => return Err(error),
    };
    let mut parsed = ParsedFeed {
        title: feed.title.as_ref().map(|title| title.content.clone()),
        items: Vec::new(),
        rejected: Vec::new(),
        notes: Vec::new(),
    };
    let plain_text_is_html = feed.feed_type != feed_rs::model::FeedType::Atom;
    let language = feed.language.clone();
    for entry in feed.entries {
        add_entry(
            &mut parsed,
            entry,
            language.as_deref(),
            plain_text_is_html,
            &dates,
        );
    }
    Ok(parsed)
}

/// At most this many bytes are parsed when a feed is retried entry by entry
/// (each entry is parsed with a copy of the feed's own fields): a huge channel
/// header with thousands of entries must not cost gigabytes of parsing.
const MAX_ENTRY_BY_ENTRY_BYTES: usize = 32 * 1024 * 1024;

/// When feed-rs refuses the whole feed, one entry may be to blame: parse the
/// feed's own fields alone, then each entry in a copy of them, so a broken
/// entry is rejected and the others are kept. `None` when the feed's own
/// fields (or its XML) are what is broken.
fn parse_entry_by_entry(
    repaired: &repair::Repaired,
    base_url: Option<&str>,
    dates: &DateLog,
) -> Option<ParsedFeed> {
    let split = repair::split_entries(repaired)?;
    let entry_bytes: usize = split.entries.iter().map(String::len).sum();
    let total = split
        .skeleton()
        .len()
        .saturating_mul(split.entries.len() + 1)
        .saturating_add(entry_bytes);
    if total > MAX_ENTRY_BY_ENTRY_BYTES {
        return None;
    }
    let skeleton = parse_guarded(split.skeleton().as_bytes(), base_url, dates).ok()?;
    let mut parsed = ParsedFeed {
        title: skeleton.title.map(|title| title.content),
        items: Vec::new(),
        rejected: Vec::new(),
        notes: Vec::new(),
    };
    let plain_text_is_html = skeleton.feed_type != feed_rs::model::FeedType::Atom;
    for index in 0..split.entries.len() {
        match parse_guarded(split.with_entry(index).as_bytes(), base_url, dates) {
            Ok(feed) => {
                for entry in feed.entries {
                    add_entry(
                        &mut parsed,
                        entry,
                        skeleton.language.as_deref(),
                        plain_text_is_html,
                        dates,
                    );
                }
            }
            Err(error) => parsed.rejected.push(EntryRejection {
                entry_id: repair::entry_label(&split.entries[index])
                    .unwrap_or_else(|| format!("entry {}", index + 1)),
                error: ItemError::Unreadable {
                    reason: error.to_string(),
                },
            }),
        }
    }
    Some(parsed)
}

fn add_entry(
    parsed: &mut ParsedFeed,
    entry: feed_rs::model::Entry,
    feed_language: Option<&str>,
    plain_text_is_html: bool,
    dates: &DateLog,
) {
    let entry_id = entry.id.clone();
    let (fields, unreadable) = entry_fields(entry, feed_language, plain_text_is_html, dates);
    match fields.into_mention() {
        Ok(item) => {
            if let Some(raw) = unreadable {
                parsed.notes.push(EntryNote {
                    entry_id: item.external_id.clone(),
                    note: format!(
                        "its date {raw:?} could not be read: stored with an unknown date"
                    ),
                });
            }
            parsed.items.push(item);
        }
        Err(error) => parsed.rejected.push(EntryRejection { entry_id, error }),
    }
}

/// The dates feed-rs asked about that [`dates::parse_date`] could not read.
///
/// feed-rs only keeps a date it could parse, so an entry with an unreadable
/// date would look like one without a date. The parser we give it therefore
/// answers an unreadable date with a marker instead — a time in the year
/// −262,144 ([`DateTime::MIN_UTC`]) plus the index of the raw text here — and
/// [`entry_fields`] turns the marker back into "unknown, and this is what it
/// said".
#[derive(Debug, Clone, Default)]
struct DateLog(Arc<Mutex<Vec<String>>>);

/// How far past [`DateTime::MIN_UTC`] a marker may be (one second per entry).
const MARKER_SPAN_SECONDS: i64 = 1 << 40;

impl DateLog {
    fn parse(&self, raw: &str) -> DateTime<Utc> {
        if let Some(date) = dates::parse_date(raw) {
            return date;
        }
        let mut log = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        log.push(raw.trim().chars().take(80).collect());
        let index = i64::try_from(log.len() - 1).unwrap_or(MARKER_SPAN_SECONDS - 1);
        DateTime::<Utc>::MIN_UTC + chrono::TimeDelta::seconds(index.min(MARKER_SPAN_SECONDS - 1))
    }

    /// The raw text behind a marker, or `None` for a real date.
    fn unreadable(&self, date: &DateTime<Utc>) -> Option<Option<String>> {
        let since = (*date - DateTime::<Utc>::MIN_UTC).num_seconds();
        if !(0..MARKER_SPAN_SECONDS).contains(&since) {
            return None;
        }
        let log = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        Some(
            usize::try_from(since)
                .ok()
                .and_then(|index| log.get(index).cloned()),
        )
    }
}

/// feed-rs on `document`, with our dates and ids. A panic inside it (a
/// UTF-16 body once made its XML reader panic) becomes an error of this
/// feed instead of unwinding through the poll.
fn parse_guarded(
    document: &[u8],
    base_url: Option<&str>,
    dates: &DateLog,
) -> Result<feed_rs::model::Feed, SourceError> {
    let log = dates.clone();
    let parser = feed_rs::parser::Builder::new()
        .base_uri(base_url)
        // feed-rs invents a random UUID for entries with neither id nor link;
        // an empty id instead lets validation derive a stable one from the text,
        // so the same entry is not ingested again on every poll.
        .id_generator(|links, title, uri| {
            if links.is_empty() {
                String::new()
            } else {
                feed_rs::parser::generate_id(links, title, uri)
            }
        })
        .timestamp_parser(move |raw| Some(log.parse(raw)))
        .build();
    match catch_unwind(AssertUnwindSafe(|| parser.parse(document))) {
        Ok(Ok(feed)) => Ok(feed),
        Ok(Err(error)) => Err(SourceError::MalformedFeed {
            reason: error.to_string(),
        }),
        Err(panic) => Err(SourceError::Crashed {
            reason: format!(
                "the feed parser panicked: {}",
                crate::panic_message(&*panic)
            ),
        }),
    }
}

fn is_html(media_type: &impl std::fmt::Display) -> bool {
    media_type.to_string().contains("html")
}

/// HTML when the feed says so; in RSS, whose plain text is so often escaped
/// markup (`&amp;eacute; &lt;b&gt;`), also plain text that looks like markup.
fn text_kind(text: &feed_rs::model::Text, plain_text_is_html: bool) -> ContentKind {
    if is_html(&text.content_type) || (plain_text_is_html && looks_like_markup(&text.content)) {
        ContentKind::Html
    } else {
        ContentKind::PlainText
    }
}

/// A tag (`<b>`, `</p>`, `<br/>`) or an entity (`&eacute;`, `&#233;`): "I <3
/// this" and "Tom & Jerry" are not markup.
fn looks_like_markup(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(index, &byte)| match byte {
        b'<' => {
            let rest = &bytes[index + 1..];
            let name = rest.strip_prefix(b"/").unwrap_or(rest);
            name.first().is_some_and(u8::is_ascii_alphabetic)
                && rest
                    .iter()
                    .position(|&c| c == b'>')
                    .is_some_and(|end| !rest[..end].contains(&b'<'))
        }
        b'&' => {
            let rest = &bytes[index + 1..];
            let end = rest.iter().take(12).position(|&c| c == b';');
            end.is_some_and(|end| {
                end > 0
                    && (rest[..end].iter().all(u8::is_ascii_alphanumeric)
                        || (rest[0] == b'#' && rest[1..end].iter().all(u8::is_ascii_alphanumeric)))
            })
        }
        _ => false,
    })
}

/// The fields of one entry, and the raw text of its date when it could not be read.
fn entry_fields(
    entry: feed_rs::model::Entry,
    feed_language: Option<&str>,
    plain_text_is_html: bool,
    dates: &DateLog,
) -> (MentionFields, Option<String>) {
    let url = entry
        .links
        .iter()
        .find(|link| link.rel.as_deref().is_none_or(|rel| rel == "alternate"))
        .or_else(|| entry.links.first())
        .map(|link| unwrap_redirector(&link.href));
    let (title, title_kind) = match &entry.title {
        Some(title) => (
            Some(title.content.clone()),
            text_kind(title, plain_text_is_html),
        ),
        None => (None, ContentKind::PlainText),
    };
    // Prefer the full content (content:encoded, Atom content), then the summary
    // (RSS description), then a media description (YouTube's media:group).
    let (content, content_kind) = if let Some(body) = entry.content.as_ref().and_then(|content| {
        content
            .body
            .clone()
            .map(|body| (body, is_html(&content.content_type)))
    }) {
        (
            Some(body.0),
            if body.1 {
                ContentKind::Html
            } else {
                ContentKind::PlainText
            },
        )
    } else if let Some(summary) = &entry.summary {
        (
            Some(summary.content.clone()),
            text_kind(summary, plain_text_is_html),
        )
    } else if let Some(description) = entry
        .media
        .iter()
        .find_map(|media| media.description.as_ref())
    {
        (
            Some(description.content.clone()),
            text_kind(description, plain_text_is_html),
        )
    } else {
        (None, ContentKind::PlainText)
    };
    // The first readable of published and updated; a marker (see `DateLog`)
    // means the feed gave a date we could not read.
    let mut unreadable = None;
    let mut published_at = None;
    for date in [entry.published, entry.updated].into_iter().flatten() {
        match dates.unreadable(&date) {
            None => {
                published_at = Some(Timestamp(date.timestamp_millis()));
                break;
            }
            Some(raw) => {
                unreadable = unreadable.or(raw);
            }
        }
    }
    if published_at.is_some() {
        unreadable = None;
    }
    let author = entry.authors.first();
    let fields = MentionFields {
        external_id: Some(entry.id),
        url,
        title,
        title_kind,
        content,
        content_kind,
        author_handle: author
            .and_then(|person| person.name.clone().or_else(|| person.email.clone())),
        author_name: author.and_then(|person| person.name.clone()),
        author_profile_url: author.and_then(|person| person.uri.clone()),
        author_followers: None,
        published_at,
        lang: entry.language.or_else(|| feed_language.map(str::to_owned)),
    };
    (fields, unreadable)
}

/// Alert services wrap each link in a redirector (`https://www.google.com/url?…&url=REAL`);
/// the mention is about the real article, and dedupe must see its URL.
fn unwrap_redirector(href: &str) -> String {
    let Ok(parsed) = url::Url::parse(href) else {
        return href.to_owned();
    };
    let is_redirector = parsed
        .host_str()
        .is_some_and(|host| host == "google.com" || host.ends_with(".google.com"))
        && parsed.path() == "/url";
    if is_redirector
        && let Some((_, target)) = parsed
            .query_pairs()
            .find(|(key, _)| key == "url" || key == "q")
        && (target.starts_with("http://") || target.starts_with("https://"))
    {
        return target.into_owned();
    }
    href.to_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn declared_encodings() {
        fn check(body: &str, expected: Option<&str>) {
            assert_eq!(
                encoding::declared_encoding(body.as_bytes()).as_deref(),
                expected,
                "body: {body}"
            );
        }
        check(
            r#"<?xml version="1.0" encoding="ISO-8859-1"?><rss/>"#,
            Some("ISO-8859-1"),
        );
        check(
            "<?xml version='1.0' encoding = 'utf-8' ?><rss/>",
            Some("utf-8"),
        );
        check(r#"<?xml version="1.0"?><rss/>"#, None);
        check("<rss/>", None);
    }

    #[test]
    fn a_parser_panic_is_a_failure_of_the_feed_not_of_the_poll() {
        // feed-rs' XML reader panicked on this body (UTF-16BE with a byte-order
        // mark: "set_encoding() called after prefix buffer was drained") until
        // bodies were decoded first; handed to it raw, it still does.
        let raw = include_bytes!("../tests/fixtures/world/utf16be-bom.xml");
        let error = parse_guarded(raw, None, &DateLog::default()).unwrap_err();
        assert_eq!(error.code(), "crashed");
        assert!(error.to_string().contains("panicked"), "{error}");
        // Decoded first, the same body is an ordinary feed.
        assert_eq!(parse_feed(raw, None).unwrap().items.len(), 1);
    }

    #[test]
    fn invalid_utf8_is_a_typed_error() {
        let mut body =
            br#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>A"#
                .to_vec();
        let first_bad_byte = body.len() as u64;
        body.extend_from_slice(&[0xff, 0xfe, 0x41]);
        body.extend_from_slice(b"</title></channel></rss>");
        let error = parse_feed(&body, None).unwrap_err();
        assert_eq!(error.code(), "bad_encoding");
        assert_eq!(
            error,
            SourceError::BadEncoding {
                encoding: "UTF-8".to_owned(),
                byte_offset: first_bad_byte
            }
        );
    }

    #[test]
    fn latin1_declared_feeds_are_decoded() {
        let mut body = br#"<?xml version="1.0" encoding="ISO-8859-1"?><rss version="2.0"><channel><title>t</title><item><guid>1</guid><title>Caf"#.to_vec();
        body.push(0xe9);
        body.extend_from_slice(b"</title></item></channel></rss>");
        let parsed = parse_feed(&body, None).unwrap();
        assert_eq!(parsed.items[0].text, "Café");
    }

    #[test]
    fn redirector_links_are_unwrapped() {
        fn check(href: &str, expected: &str) {
            assert_eq!(unwrap_redirector(href), expected, "href: {href}");
        }
        check(
            "https://www.google.com/url?rct=j&sa=t&url=https://news.example/a%3Fb%3D1&ct=ga",
            "https://news.example/a?b=1",
        );
        check(
            "https://www.google.com/url?url=javascript:alert(1)",
            "https://www.google.com/url?url=javascript:alert(1)",
        );
        check(
            "https://news.example/url?url=https://other.example",
            "https://news.example/url?url=https://other.example",
        );
    }

    #[test]
    fn entries_without_id_or_link_get_a_stable_id() {
        let body = br#"<rss version="2.0"><channel><title>t</title><item><description>Solo texto</description></item></channel></rss>"#;
        let first = parse_feed(body, None).unwrap();
        let second = parse_feed(body, None).unwrap();
        assert_eq!(first.items[0].external_id, second.items[0].external_id);
        assert!(first.items[0].external_id.starts_with("sha256:"));
    }
}
