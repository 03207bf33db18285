//! The normalized mention every source produces, and the one validation path
//! that builds it.
//!
//! Whatever the source (a feed entry, a webhook object, an imported row, later a
//! Mastodon status), it first fills a [`MentionFields`] with what it found and then
//! calls [`MentionFields::into_mention`]. That single function decides what a
//! valid [`IncomingMention`] is: http(s) URLs only, identifiers bounded, control
//! characters gone, and a `text` that is always safe plain text (HTML stripped,
//! entities decoded, Unicode NFC, whitespace collapsed). The raw content is kept
//! as received in `content_raw` — it is stored, and must only ever be rendered
//! escaped or sanitized.

use atalaya_domain::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use unicode_normalization::{IsNormalized, UnicodeNormalization};

/// Longest `text` kept, in characters; longer texts are truncated.
pub const MAX_TEXT_CHARS: usize = 100_000;
/// Longest `content_raw` kept, in bytes; longer content is truncated at a character boundary.
pub const MAX_CONTENT_RAW_BYTES: usize = 1_000_000;
/// Longest `title` kept, in characters; longer titles are truncated.
pub const MAX_TITLE_CHARS: usize = 1_000;
/// Longest `external_id` accepted, in characters; a longer id is a rejection,
/// because truncating identifiers would make different mentions collide.
pub const MAX_EXTERNAL_ID_CHARS: usize = 512;
/// Longest URL accepted, in bytes.
pub const MAX_URL_BYTES: usize = 2_048;
/// Longest author handle or name kept, in characters.
pub const MAX_AUTHOR_CHARS: usize = 256;

/// The author of a mention as the source describes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomingAuthor {
    /// The name that identifies the author on the source (`@ana@example.social`,
    /// or a blog author's display name for feeds, which have no handles).
    pub handle: String,
    pub name: Option<String>,
    /// Always an http(s) URL when present.
    pub profile_url: Option<String>,
    pub followers: Option<i64>,
}

/// One mention, normalized and validated, ready for the pipeline
/// (dedupe → language → sentiment → topics → author upsert → store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomingMention {
    /// The source's own id for the item (feed guid, webhook id, import id, or a
    /// `sha256:` id derived from the URL or text when the source gives none).
    pub external_id: String,
    /// Always an absolute http(s) URL when present.
    pub url: Option<String>,
    /// Plain text.
    pub title: Option<String>,
    /// As received, may contain HTML: stored, never rendered unescaped.
    pub content_raw: String,
    /// Safe plain text: HTML stripped, entities decoded, NFC, whitespace collapsed. Never empty.
    pub text: String,
    pub author: Option<IncomingAuthor>,
    pub published_at: Option<Timestamp>,
    /// A lower-case primary language subtag (`es`, `en`) when the source states one.
    pub lang_hint: Option<String>,
}

impl IncomingMention {
    /// The URL in the form used to find the same story arriving twice; see [`canonical_url`].
    pub fn canonical_url(&self) -> Option<String> {
        self.url.as_deref().and_then(canonical_url)
    }
}

/// Why one item (feed entry, webhook object, imported row) was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ItemError {
    #[error("no text: the item needs a non-empty `text` (or `html`)")]
    MissingText,
    #[error("invalid URL in `{field}`: {reason}")]
    BadUrl { field: &'static str, reason: String },
    #[error("`external_id` longer than {MAX_EXTERNAL_ID_CHARS} characters")]
    IdTooLong,
    #[error("invalid `{field}`: {reason}")]
    BadField { field: &'static str, reason: String },
    /// A feed entry the parser could not read (the rest of the feed could).
    #[error("unreadable entry: {reason}")]
    Unreadable { reason: String },
}

impl ItemError {
    /// A stable machine code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            ItemError::MissingText => "missing_text",
            ItemError::BadUrl { .. } => "bad_url",
            ItemError::IdTooLong => "id_too_long",
            ItemError::BadField { .. } => "bad_field",
            ItemError::Unreadable { .. } => "unreadable",
        }
    }
}

/// Whether a content string is HTML (feed bodies) or plain text (webhook and
/// import `text`, where "I <3 this" must survive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContentKind {
    #[default]
    PlainText,
    Html,
}

/// What a source found for one item, before validation. Every source kind fills
/// one of these and calls [`MentionFields::into_mention`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MentionFields {
    pub external_id: Option<String>,
    pub url: Option<String>,
    /// The title; HTML when `title_kind` says so.
    pub title: Option<String>,
    pub title_kind: ContentKind,
    /// The body as received.
    pub content: Option<String>,
    pub content_kind: ContentKind,
    pub author_handle: Option<String>,
    pub author_name: Option<String>,
    pub author_profile_url: Option<String>,
    pub author_followers: Option<i64>,
    pub published_at: Option<Timestamp>,
    pub lang: Option<String>,
}

impl MentionFields {
    /// Validates and normalizes into an [`IncomingMention`].
    ///
    /// The text comes from the content; when there is no content the title is
    /// the text (headline-only feed entries). Author profile URLs that are not
    /// http(s) (`mailto:` in Atom) are dropped rather than rejecting the mention.
    pub fn into_mention(self) -> Result<IncomingMention, ItemError> {
        let url = match non_empty(self.url) {
            Some(raw) => Some(validate_http_url("url", &raw)?),
            None => None,
        };
        let title = non_empty(self.title)
            .map(|raw| to_plain_text(&raw, self.title_kind))
            .filter(|title| !title.is_empty())
            .map(|title| truncate_chars(&title, MAX_TITLE_CHARS));
        let content_raw = non_empty(self.content).unwrap_or_default();
        let mut text = to_plain_text(&content_raw, self.content_kind);
        if text.is_empty() {
            text = title.clone().unwrap_or_default();
        }
        if text.is_empty() {
            return Err(ItemError::MissingText);
        }
        let text = truncate_chars(&text, MAX_TEXT_CHARS);
        // NUL cannot be stored in a PostgreSQL text column; nothing else is altered.
        let content_raw = truncate_bytes(&content_raw.replace('\0', ""), MAX_CONTENT_RAW_BYTES);

        let external_id = match non_empty(self.external_id).map(|id| clean_line(&id)) {
            Some(id) if id.chars().count() > MAX_EXTERNAL_ID_CHARS => {
                return Err(ItemError::IdTooLong);
            }
            Some(id) if !id.is_empty() => id,
            _ => derived_id(url.as_deref(), &text),
        };

        if let Some(followers) = self.author_followers
            && followers < 0
        {
            return Err(ItemError::BadField {
                field: "followers",
                reason: "must not be negative".to_owned(),
            });
        }
        let author_name = non_empty(self.author_name)
            .map(|name| truncate_chars(&clean_line(&name), MAX_AUTHOR_CHARS))
            .filter(|name| !name.is_empty());
        let author_handle = non_empty(self.author_handle)
            .map(|handle| truncate_chars(&clean_line(&handle), MAX_AUTHOR_CHARS))
            .filter(|handle| !handle.is_empty())
            .or_else(|| author_name.clone());
        let author = author_handle.map(|handle| IncomingAuthor {
            handle,
            name: author_name,
            profile_url: non_empty(self.author_profile_url)
                .and_then(|raw| validate_http_url("author_profile_url", &raw).ok()),
            followers: self.author_followers,
        });

        Ok(IncomingMention {
            external_id,
            url,
            title,
            content_raw,
            text,
            author,
            published_at: self.published_at,
            lang_hint: self.lang.as_deref().and_then(language_subtag),
        })
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|value| !value.trim().is_empty())
}

/// An id for items whose source gives none: stable, so importing the same file
/// twice or receiving the same webhook twice dedupes.
fn derived_id(url: Option<&str>, text: &str) -> String {
    let basis = url
        .and_then(canonical_url)
        .unwrap_or_else(|| text.to_owned());
    let digest = Sha256::digest(basis.as_bytes());
    format!("sha256:{}", hex::encode(&digest[..16]))
}

/// Checks that `raw` is an absolute http(s) URL of bounded length and returns it normalized.
pub fn validate_http_url(field: &'static str, raw: &str) -> Result<String, ItemError> {
    let raw = raw.trim();
    if raw.len() > MAX_URL_BYTES {
        return Err(ItemError::BadUrl {
            field,
            reason: format!("longer than {MAX_URL_BYTES} bytes"),
        });
    }
    let parsed = url::Url::parse(raw).map_err(|error| ItemError::BadUrl {
        field,
        reason: error.to_string(),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ItemError::BadUrl {
            field,
            reason: format!("scheme {:?} is not http or https", parsed.scheme()),
        });
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(ItemError::BadUrl {
            field,
            reason: "no host".to_owned(),
        });
    }
    Ok(parsed.to_string())
}

/// Query parameters that only track the click, never identify the story.
fn is_tracking_param(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.starts_with("utm_")
        || matches!(
            key.as_str(),
            "fbclid" | "gclid" | "dclid" | "msclkid" | "igshid" | "mc_cid" | "mc_eid"
        )
}

/// The canonical form of a URL for dedupe: lower-case scheme and host, no
/// fragment, no tracking parameters (`utm_*`, `fbclid`, `gclid`, …), remaining
/// parameters sorted, default port and trailing slash removed. `None` when the
/// input is not an http(s) URL.
pub fn canonical_url(raw: &str) -> Option<String> {
    let parsed = url::Url::parse(raw.trim()).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return None;
    }
    // The url crate already lower-cases scheme and host and drops default ports.
    let host = parsed.host_str()?;
    let mut canonical = format!("{}://{host}", parsed.scheme());
    if let Some(port) = parsed.port() {
        canonical.push_str(&format!(":{port}"));
    }
    canonical.push_str(parsed.path().trim_end_matches('/'));
    let mut params: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(key, _)| !is_tracking_param(key))
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    if !params.is_empty() {
        params.sort();
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        canonical.push('?');
        canonical.push_str(&query);
    }
    Some(canonical)
}

/// Turns content into safe plain text.
pub fn to_plain_text(content: &str, kind: ContentKind) -> String {
    match kind {
        ContentKind::PlainText => normalize_text(content),
        ContentKind::Html => normalize_text(&html_to_text(content)),
    }
}

/// Tags that end a line of text: a space is inserted before them so that
/// `<p>one</p><p>two</p>` reads "one two", not "onetwo".
const BLOCK_TAGS: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "td",
    "th",
    "table",
    "blockquote",
    "pre",
    "section",
    "article",
    "header",
    "footer",
    "hr",
    "dd",
    "dt",
    "figure",
    "figcaption",
];

fn html_to_text(html: &str) -> String {
    let spaced = space_block_tags(html);
    // ammonia parses with html5ever (a browser-grade parser, so entities are
    // decoded as browsers do). With no allowed tags it keeps text only, and
    // script/style/template contents are dropped entirely.
    let escaped = ammonia::Builder::empty()
        .clean_content_tags(HashSet::from([
            "script", "style", "template", "noscript", "textarea",
        ]))
        .clean(&spaced)
        .to_string();
    // html5ever's serializer escapes exactly these in text nodes; undo them.
    escaped
        .replace("&nbsp;", "\u{a0}")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn space_block_tags(html: &str) -> String {
    let mut spaced = String::with_capacity(html.len() + 16);
    let mut rest = html;
    while let Some(position) = rest.find('<') {
        spaced.push_str(&rest[..position]);
        let after = &rest[position + 1..];
        let name: String = after
            .trim_start_matches('/')
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .map(|character| character.to_ascii_lowercase())
            .collect();
        if BLOCK_TAGS.contains(&name.as_str()) {
            spaced.push(' ');
        }
        spaced.push('<');
        rest = after;
    }
    spaced.push_str(rest);
    spaced
}

/// NFC, control and bidi-override characters removed, whitespace collapsed to single spaces.
pub fn normalize_text(text: &str) -> String {
    // Most text is NFC already (all ASCII is): the quick check spares it the
    // decompose-and-recompose pass, which cost more than the rest of this function.
    if unicode_normalization::is_nfc_quick(text.chars()) == IsNormalized::Yes {
        collapse_whitespace(text.len(), text.chars())
    } else {
        collapse_whitespace(text.len(), text.nfc())
    }
}

/// `characters` without stripped controls, whitespace runs as single spaces, trimmed.
fn collapse_whitespace(capacity: usize, characters: impl Iterator<Item = char>) -> String {
    let mut normalized = String::with_capacity(capacity);
    let mut pending_space = false;
    for character in characters {
        if character.is_whitespace() {
            pending_space = !normalized.is_empty();
        } else if is_stripped_control(character) {
            continue;
        } else {
            if pending_space {
                normalized.push(' ');
                pending_space = false;
            }
            normalized.push(character);
        }
    }
    normalized
}

/// Control characters, plus the bidirectional overrides that can disguise text
/// (a "Trojan Source" style spoof of a handle or a link).
fn is_stripped_control(character: char) -> bool {
    character.is_control()
        || matches!(character, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// A single-line value (id, handle, name): normalized like text.
fn clean_line(value: &str) -> String {
    normalize_text(value)
}

/// The primary subtag of a language tag (`es-ES` → `es`), if it looks like one.
fn language_subtag(tag: &str) -> Option<String> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    let plausible = (2..=3).contains(&primary.len())
        && primary
            .chars()
            .all(|character| character.is_ascii_lowercase());
    plausible.then_some(primary)
}

fn truncate_chars(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((byte_index, _)) => text[..byte_index].to_owned(),
        None => text.to_owned(),
    }
}

fn truncate_bytes(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_owned();
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn canonical_urls() {
        fn check(input: &str, expected: Option<&str>) {
            assert_eq!(canonical_url(input).as_deref(), expected, "input: {input}");
        }
        check(
            "HTTPS://Example.COM/Path/?b=2&a=1#section",
            Some("https://example.com/Path?a=1&b=2"),
        );
        check("https://example.com/", Some("https://example.com"));
        check("http://example.com:80/a/", Some("http://example.com/a"));
        check("https://example.com:443/a", Some("https://example.com/a"));
        check(
            "https://example.com:8443/a",
            Some("https://example.com:8443/a"),
        );
        check(
            "https://news.example/story?utm_source=x&UTM_Medium=y&id=7&fbclid=abc&gclid=def",
            Some("https://news.example/story?id=7"),
        );
        check(
            "https://example.com/?utm_campaign=z",
            Some("https://example.com"),
        );
        check(
            "https://example.com/search?q=caf%C3%A9+bar",
            Some("https://example.com/search?q=caf%C3%A9+bar"),
        );
        check("ftp://example.com/file", None);
        check("javascript:alert(1)", None);
        check("not a url", None);
    }

    #[test]
    fn html_becomes_safe_plain_text() {
        fn check(html: &str, expected: &str) {
            assert_eq!(
                to_plain_text(html, ContentKind::Html),
                expected,
                "html: {html}"
            );
        }
        check(
            "<p>Hola <b>mundo</b></p><p>segunda</p>",
            "Hola mundo segunda",
        );
        check("<script>alert('x')</script>Texto", "Texto");
        check(
            r#"<img src=x onerror="alert(1)">Caf&eacute; &amp; t&#233;"#,
            "Café & té",
        );
        check("a &lt;b&gt; c", "a <b> c");
        check("line<br>break", "line break");
        check("<style>p{color:red}</style>ok", "ok");
        check("  many \n\t spaces  ", "many spaces");
        check("1&nbsp;000", "1 000");
    }

    #[test]
    fn plain_text_is_normalized_not_parsed() {
        fn check(text: &str, expected: &str) {
            assert_eq!(
                to_plain_text(text, ContentKind::PlainText),
                expected,
                "text: {text:?}"
            );
        }
        check("I <3 this", "I <3 this");
        check("Cafe\u{301}", "Café");
        check("bell\u{7}char", "bellchar");
        check("evil\u{202e}txt", "eviltxt");
        check("a\r\nb", "a b");
    }

    /// The quick NFC check only skips work: text it lets through unnormalized
    /// comes out exactly as through the full NFC pass.
    #[test]
    fn the_nfc_fast_path_changes_no_output() {
        for text in [
            "plain ascii  text",
            "ya normalizado: café, niño, über",
            "Cafe\u{301} y nin\u{303}o",
            "\u{1100}\u{1161}\u{11a8} hangul jamo",
            "A\u{30a}ngstro\u{308}m \u{212b}",
            "emoji 👍🏽 and \u{feff}bom\u{7}",
        ] {
            assert_eq!(
                normalize_text(text),
                collapse_whitespace(text.len(), text.nfc()),
                "text: {text:?}"
            );
        }
    }

    #[test]
    fn validation_rules() {
        let base = MentionFields {
            content: Some("hola".to_owned()),
            ..MentionFields::default()
        };
        let ok = base.clone().into_mention().unwrap();
        assert!(ok.external_id.starts_with("sha256:"));
        assert_eq!(
            ok.external_id,
            base.clone().into_mention().unwrap().external_id,
            "derived ids are stable"
        );

        let bad_scheme = MentionFields {
            url: Some("javascript:alert(1)".to_owned()),
            ..base.clone()
        };
        assert_eq!(bad_scheme.into_mention().unwrap_err().code(), "bad_url");
        let empty = MentionFields {
            content: Some("<script>x</script>".to_owned()),
            content_kind: ContentKind::Html,
            ..MentionFields::default()
        };
        assert_eq!(empty.into_mention().unwrap_err(), ItemError::MissingText);
        let long_id = MentionFields {
            external_id: Some("x".repeat(600)),
            ..base.clone()
        };
        assert_eq!(long_id.into_mention().unwrap_err(), ItemError::IdTooLong);
        let long_text = MentionFields {
            content: Some("é".repeat(MAX_TEXT_CHARS + 10)),
            ..base.clone()
        };
        assert_eq!(
            long_text.into_mention().unwrap().text.chars().count(),
            MAX_TEXT_CHARS
        );
        let negative = MentionFields {
            author_handle: Some("ana".to_owned()),
            author_followers: Some(-1),
            ..base.clone()
        };
        assert_eq!(negative.into_mention().unwrap_err().code(), "bad_field");

        let full = MentionFields {
            external_id: Some(" id-1 ".to_owned()),
            url: Some("https://Example.com/a?utm_source=x".to_owned()),
            title: Some("T&iacute;tulo".to_owned()),
            title_kind: ContentKind::Html,
            author_name: Some("Ana".to_owned()),
            author_profile_url: Some("mailto:ana@example.com".to_owned()),
            lang: Some("es-ES".to_owned()),
            ..base
        }
        .into_mention()
        .unwrap();
        assert_eq!(full.external_id, "id-1");
        assert_eq!(full.title.as_deref(), Some("Título"));
        assert_eq!(
            full.canonical_url().as_deref(),
            Some("https://example.com/a")
        );
        let author = full.author.unwrap();
        assert_eq!((author.handle.as_str(), author.profile_url), ("Ana", None));
        assert_eq!(full.lang_hint.as_deref(), Some("es"));
    }
}
