//! RSS 0.9x/1.0/2.0 and Atom feeds: conditional polling and parsing into mentions.
//!
//! ```text
//! poll_feed(url, validators) ──► SafeHttpClient GET (If-None-Match / If-Modified-Since)
//!      304 ──► FeedPoll::NotModified
//!      200 ──► parse_feed: encoding check ──► feed-rs ──► entry → MentionFields → IncomingMention
//!              ──► FeedPoll::Fetched { items, rejected, validators (new ETag / Last-Modified) }
//! ```
//!
//! A feed whose XML cannot be read is one error; a feed with some unusable
//! entries (a `javascript:` link, no text at all) yields its good entries and
//! lists the rejected ones, so one bad entry never hides the rest.

use crate::error::SourceError;
use crate::item::{ContentKind, IncomingMention, ItemError, MentionFields};
use crate::net::SafeHttpClient;
use atalaya_domain::Timestamp;
use reqwest::header::{
    ETAG, HeaderName, HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
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

/// What one poll of a feed produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedPoll {
    /// The server answered 304: nothing new since `validators`.
    NotModified,
    Fetched {
        items: Vec<IncomingMention>,
        rejected: Vec<EntryRejection>,
        validators: Validators,
    },
}

/// A parsed feed body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedFeed {
    pub title: Option<String>,
    pub items: Vec<IncomingMention>,
    pub rejected: Vec<EntryRejection>,
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
    let parsed = parse_feed(&response.body, Some(response.final_url.as_str()))?;
    let validators = Validators {
        etag: response.header(ETAG.as_str()).map(str::to_owned),
        last_modified: response.header(LAST_MODIFIED.as_str()).map(str::to_owned),
    };
    Ok(FeedPoll::Fetched {
        items: parsed.items,
        rejected: parsed.rejected,
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
    check_encoding(body)?;
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
        .build();
    let feed = parser
        .parse(body)
        .map_err(|error| SourceError::MalformedFeed {
            reason: error.to_string(),
        })?;
    let feed_language = feed.language.clone();
    let mut items = Vec::new();
    let mut rejected = Vec::new();
    for entry in feed.entries {
        let entry_id = entry.id.clone();
        match entry_fields(entry, feed_language.as_deref()).into_mention() {
            Ok(item) => items.push(item),
            Err(error) => rejected.push(EntryRejection { entry_id, error }),
        }
    }
    Ok(ParsedFeed {
        title: feed.title.map(|title| title.content),
        items,
        rejected,
    })
}

/// feed-rs decodes declared non-UTF-8 encodings itself; a body that claims (or
/// defaults to) UTF-8 but is not gets a precise error instead of mojibake.
fn check_encoding(body: &[u8]) -> Result<(), SourceError> {
    if body.starts_with(&[0xfe, 0xff]) || body.starts_with(&[0xff, 0xfe]) {
        return Ok(()); // UTF-16 with a byte-order mark: the XML reader decodes it.
    }
    if let Some(declared) = declared_encoding(body)
        && !declared.eq_ignore_ascii_case("utf-8")
        && !declared.eq_ignore_ascii_case("utf8")
    {
        return Ok(());
    }
    std::str::from_utf8(body)
        .map(|_| ())
        .map_err(|error| SourceError::BadEncoding {
            encoding: "UTF-8".to_owned(),
            byte_offset: error.valid_up_to() as u64,
        })
}

fn declared_encoding(body: &[u8]) -> Option<String> {
    let head = &body[..body.len().min(200)];
    let head = String::from_utf8_lossy(head);
    let declaration = head.trim_start_matches('\u{feff}').trim_start();
    let declaration = &declaration[..declaration.strip_prefix("<?xml")?.find("?>")? + 5];
    let after = &declaration[declaration.find("encoding")? + "encoding".len()..];
    let after = after.trim_start().strip_prefix('=')?.trim_start();
    let quote = after
        .chars()
        .next()
        .filter(|quote| matches!(quote, '"' | '\''))?;
    let value = &after[1..];
    Some(value[..value.find(quote)?].to_owned())
}

fn is_html(media_type: &impl std::fmt::Display) -> bool {
    media_type.to_string().contains("html")
}

fn text_kind(text: &feed_rs::model::Text) -> ContentKind {
    if is_html(&text.content_type) {
        ContentKind::Html
    } else {
        ContentKind::PlainText
    }
}

fn entry_fields(entry: feed_rs::model::Entry, feed_language: Option<&str>) -> MentionFields {
    let url = entry
        .links
        .iter()
        .find(|link| link.rel.as_deref().is_none_or(|rel| rel == "alternate"))
        .or_else(|| entry.links.first())
        .map(|link| unwrap_redirector(&link.href));
    let (title, title_kind) = match &entry.title {
        Some(title) => (Some(title.content.clone()), text_kind(title)),
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
        (Some(summary.content.clone()), text_kind(summary))
    } else if let Some(description) = entry
        .media
        .iter()
        .find_map(|media| media.description.as_ref())
    {
        (Some(description.content.clone()), text_kind(description))
    } else {
        (None, ContentKind::PlainText)
    };
    let author = entry.authors.first();
    MentionFields {
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
        published_at: entry
            .published
            .or(entry.updated)
            .map(|time| Timestamp(time.timestamp_millis())),
        lang: entry.language.or_else(|| feed_language.map(str::to_owned)),
    }
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
                declared_encoding(body.as_bytes()).as_deref(),
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
