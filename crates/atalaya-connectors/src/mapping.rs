//! The one field mapping shared by webhook objects, JSONL lines and CSV columns,
//! documented for users in `docs/sources.md`.
//!
//! | field            | accepted names (case-insensitive)                     |
//! |------------------|-------------------------------------------------------|
//! | external id      | `id`, `external_id`                                   |
//! | text (plain)     | `text` — required unless `html` is given              |
//! | HTML body        | `html`                                                |
//! | URL              | `url`, `link`                                         |
//! | title            | `title`                                               |
//! | author handle    | `author`, `author_handle`, `handle`                   |
//! | author name      | `author_name`                                         |
//! | author profile   | `author_url`, `author_profile_url`, `profile_url`     |
//! | followers        | `followers`, `author_followers`                       |
//! | published at     | `published_at`, `created_at`, `date` — RFC 3339 or Unix seconds |
//! | language         | `lang`, `language`                                    |
//!
//! Other names are ignored, so exports with extra columns import as they are.
//! In JSON, `author` may also be an object `{handle, name, profile_url, followers}`.

use crate::item::{ContentKind, IncomingMention, ItemError, MentionFields};
use atalaya_domain::Timestamp;

/// Which mention field a column or key fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    ExternalId,
    Text,
    Html,
    Url,
    Title,
    AuthorHandle,
    AuthorName,
    AuthorProfileUrl,
    Followers,
    PublishedAt,
    Lang,
}

/// The field a column header or JSON key names, if any.
pub fn field_for(name: &str) -> Option<Field> {
    let name = name
        .trim()
        .trim_start_matches('\u{feff}')
        .to_ascii_lowercase();
    Some(match name.as_str() {
        "id" | "external_id" => Field::ExternalId,
        "text" => Field::Text,
        "html" => Field::Html,
        "url" | "link" => Field::Url,
        "title" => Field::Title,
        "author" | "author_handle" | "handle" => Field::AuthorHandle,
        "author_name" => Field::AuthorName,
        "author_url" | "author_profile_url" | "profile_url" => Field::AuthorProfileUrl,
        "followers" | "author_followers" => Field::Followers,
        "published_at" | "created_at" | "date" => Field::PublishedAt,
        "lang" | "language" => Field::Lang,
        _ => return None,
    })
}

/// Fields gathered from one row or object, as text, before validation.
#[derive(Debug, Clone, Default)]
pub struct RawRow {
    external_id: Option<String>,
    text: Option<String>,
    html: Option<String>,
    url: Option<String>,
    title: Option<String>,
    author_handle: Option<String>,
    author_name: Option<String>,
    author_profile_url: Option<String>,
    followers: Option<String>,
    published_at: Option<String>,
    lang: Option<String>,
}

impl RawRow {
    /// Sets a field; when two aliases of one field are present, the first non-empty value wins.
    pub fn set(&mut self, field: Field, value: String) {
        if value.trim().is_empty() {
            return;
        }
        let slot = match field {
            Field::ExternalId => &mut self.external_id,
            Field::Text => &mut self.text,
            Field::Html => &mut self.html,
            Field::Url => &mut self.url,
            Field::Title => &mut self.title,
            Field::AuthorHandle => &mut self.author_handle,
            Field::AuthorName => &mut self.author_name,
            Field::AuthorProfileUrl => &mut self.author_profile_url,
            Field::Followers => &mut self.followers,
            Field::PublishedAt => &mut self.published_at,
            Field::Lang => &mut self.lang,
        };
        if slot.is_none() {
            *slot = Some(value);
        }
    }

    /// Validates into a mention; the error says what is wrong with the row.
    pub fn into_mention(self) -> Result<IncomingMention, RowProblem> {
        let followers = match self.followers.as_deref().map(str::trim) {
            Some(raw) => Some(parse_followers(raw)?),
            None => None,
        };
        let published_at = match self.published_at.as_deref() {
            Some(raw) => Some(parse_time(raw)?),
            None => None,
        };
        let (content, content_kind) = match (self.text, self.html) {
            (Some(text), _) => (Some(text), ContentKind::PlainText),
            (None, Some(html)) => (Some(html), ContentKind::Html),
            (None, None) => return Err(RowProblem::Item(ItemError::MissingText)),
        };
        MentionFields {
            external_id: self.external_id,
            url: self.url,
            title: self.title,
            title_kind: ContentKind::PlainText,
            content,
            content_kind,
            author_handle: self.author_handle,
            author_name: self.author_name,
            author_profile_url: self.author_profile_url,
            author_followers: followers,
            published_at,
            lang: self.lang,
        }
        .into_mention()
        .map_err(RowProblem::Item)
    }
}

/// What is wrong with one imported row or pushed item: a stable code and its
/// details, so that the interface can say it in the reader's language (the
/// `Display` text is English, for logs, the command line and the API).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowProblem {
    #[error(transparent)]
    Item(#[from] ItemError),
    #[error("`followers` is not a whole number: {0:?}")]
    Followers(String),
    #[error("`published_at` is out of range: {0}")]
    TimeOutOfRange(String),
    #[error("`published_at` is neither RFC 3339 nor Unix seconds: {0:?}")]
    TimeUnreadable(String),
    #[error("`{0}` must be a string or a number")]
    NotScalar(String),
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    #[error("each line must be a JSON object")]
    NotAnObject,
    #[error("column {column} is not valid UTF-8 (byte {byte})")]
    NotUtf8 { column: usize, byte: usize },
    #[error("cannot read: {0}")]
    Unreadable(String),
    #[error("unreadable header: {0}")]
    UnreadableHeader(String),
    #[error("the header has no `text` (or `html`) column")]
    NoTextColumn,
    #[error("unreadable CSV: {0}")]
    UnreadableCsv(String),
    #[error("line longer than {0} bytes")]
    LineTooLong(usize),
}

impl RowProblem {
    /// A stable code: the interface's message key is `import_error.<code>`.
    pub fn code(&self) -> &'static str {
        match self {
            RowProblem::Item(ItemError::MissingText) => "missing_text",
            RowProblem::Item(ItemError::BadUrl { .. }) => "bad_url",
            RowProblem::Item(ItemError::IdTooLong) => "id_too_long",
            RowProblem::Item(ItemError::BadField { .. }) => "bad_field",
            // Only feed entries are unreadable this way; a row never is.
            RowProblem::Item(ItemError::Unreadable { .. }) => "unreadable",
            RowProblem::Followers(_) => "bad_followers",
            RowProblem::TimeOutOfRange(_) => "time_out_of_range",
            RowProblem::TimeUnreadable(_) => "time_unreadable",
            RowProblem::NotScalar(_) => "not_scalar",
            RowProblem::InvalidJson(_) => "invalid_json",
            RowProblem::NotAnObject => "not_an_object",
            RowProblem::NotUtf8 { .. } => "not_utf8",
            RowProblem::Unreadable(_) => "unreadable",
            RowProblem::UnreadableHeader(_) => "unreadable_header",
            RowProblem::NoTextColumn => "no_text_column",
            RowProblem::UnreadableCsv(_) => "unreadable_csv",
            RowProblem::LineTooLong(_) => "line_too_long",
        }
    }

    /// The values the message names: `field`, `value`, `column`, `max`.
    pub fn args(&self) -> Vec<(&'static str, String)> {
        match self {
            RowProblem::Item(
                ItemError::BadUrl { field, .. } | ItemError::BadField { field, .. },
            ) => {
                vec![("field", (*field).to_owned())]
            }
            RowProblem::Item(ItemError::IdTooLong) => {
                vec![("max", crate::item::MAX_EXTERNAL_ID_CHARS.to_string())]
            }
            RowProblem::Followers(value)
            | RowProblem::TimeOutOfRange(value)
            | RowProblem::TimeUnreadable(value) => {
                vec![("value", value.chars().take(60).collect())]
            }
            RowProblem::NotScalar(field) => vec![("field", field.chars().take(60).collect())],
            RowProblem::NotUtf8 { column, .. } => vec![("column", column.to_string())],
            RowProblem::LineTooLong(max) => vec![("max", max.to_string())],
            _ => Vec::new(),
        }
    }

    /// Every code, for tests that check each has a message.
    pub const CODES: [&'static str; 16] = [
        "missing_text",
        "bad_url",
        "id_too_long",
        "bad_field",
        "bad_followers",
        "time_out_of_range",
        "time_unreadable",
        "not_scalar",
        "invalid_json",
        "not_an_object",
        "not_utf8",
        "unreadable",
        "unreadable_header",
        "no_text_column",
        "unreadable_csv",
        "line_too_long",
    ];
}

fn parse_followers(raw: &str) -> Result<i64, RowProblem> {
    // Spreadsheet exports write 12,345 or 12.345 or 12 345.
    let digits: String = raw
        .chars()
        .filter(|character| !matches!(character, ',' | '.' | ' ' | '_'))
        .collect();
    digits
        .parse::<i64>()
        .map_err(|_| RowProblem::Followers(raw.to_owned()))
}

/// Parses RFC 3339 (`2025-03-01T10:00:00Z`, `2025-03-01T10:00:00+01:00`) or
/// Unix seconds (`1740823200`, fractions allowed).
pub fn parse_time(raw: &str) -> Result<Timestamp, RowProblem> {
    let raw = raw.trim();
    if let Ok(seconds) = raw.parse::<f64>() {
        // Bounds keep the multiplication inside i64 and reject obvious garbage.
        if seconds.is_finite() && (0.0..=32_503_680_000.0).contains(&seconds) {
            return Ok(Timestamp((seconds * 1000.0).round() as i64));
        }
        return Err(RowProblem::TimeOutOfRange(raw.to_owned()));
    }
    let parsed = time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
        .map_err(|_| RowProblem::TimeUnreadable(raw.to_owned()))?;
    let millis = parsed.unix_timestamp_nanos() / 1_000_000;
    i64::try_from(millis)
        .map(Timestamp)
        .map_err(|_| RowProblem::TimeOutOfRange(raw.to_owned()))
}

/// Fills a [`RawRow`] from a JSON object (a webhook item or a JSONL line).
pub fn row_from_json(
    object: &serde_json::Map<String, serde_json::Value>,
) -> Result<RawRow, RowProblem> {
    let mut row = RawRow::default();
    for (key, value) in object {
        let Some(field) = field_for(key) else {
            continue;
        };
        if field == Field::AuthorHandle
            && let serde_json::Value::Object(author) = value
        {
            for (author_key, author_value) in author {
                let author_field = match author_key.to_ascii_lowercase().as_str() {
                    "handle" | "username" => Field::AuthorHandle,
                    "name" => Field::AuthorName,
                    "profile_url" | "url" => Field::AuthorProfileUrl,
                    "followers" => Field::Followers,
                    _ => continue,
                };
                if let Some(text) = json_scalar(author_key, author_value)? {
                    row.set(author_field, text);
                }
            }
            continue;
        }
        if let Some(text) = json_scalar(key, value)? {
            row.set(field, text);
        }
    }
    Ok(row)
}

fn json_scalar(key: &str, value: &serde_json::Value) -> Result<Option<String>, RowProblem> {
    match value {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(text) => Ok(Some(text.clone())),
        serde_json::Value::Number(number) => Ok(Some(number.to_string())),
        serde_json::Value::Bool(_) | serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
            Err(RowProblem::NotScalar(key.to_owned()))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn header_aliases() {
        fn check(name: &str, expected: Option<Field>) {
            assert_eq!(field_for(name), expected, "name: {name}");
        }
        check("ID", Some(Field::ExternalId));
        check("\u{feff}id", Some(Field::ExternalId));
        check(" Author_Handle ", Some(Field::AuthorHandle));
        check("Language", Some(Field::Lang));
        check("created_at", Some(Field::PublishedAt));
        check("retweets", None);
    }

    #[test]
    fn times() {
        fn check(raw: &str, expected: Result<i64, ()>) {
            assert_eq!(
                parse_time(raw).map(|time| time.0).map_err(|_| ()),
                expected,
                "raw: {raw}"
            );
        }
        check("2025-03-01T10:00:00Z", Ok(1_740_823_200_000));
        check("2025-03-01T11:00:00+01:00", Ok(1_740_823_200_000));
        check("1740823200", Ok(1_740_823_200_000));
        check("1740823200.5", Ok(1_740_823_200_500));
        check("yesterday", Err(()));
        check("-5", Err(()));
        check("1e300", Err(()));
        check("NaN", Err(()));
    }

    #[test]
    fn json_objects() {
        let object = serde_json::json!({
            "id": 42, "text": "Me encanta", "author": {"handle": "@ana", "followers": 10}, "extra": [1]
        });
        let mention = row_from_json(object.as_object().unwrap())
            .unwrap()
            .into_mention()
            .unwrap();
        assert_eq!(mention.external_id, "42");
        let author = mention.author.unwrap();
        assert_eq!(
            (author.handle.as_str(), author.followers),
            ("@ana", Some(10))
        );
        let bad = serde_json::json!({"text": ["not", "a", "string"]});
        let problem = row_from_json(bad.as_object().unwrap()).unwrap_err();
        assert_eq!(problem, RowProblem::NotScalar("text".to_owned()));
        assert_eq!(problem.code(), "not_scalar");
        assert_eq!(problem.args(), [("field", "text".to_owned())]);
        let html_only = serde_json::json!({"html": "<p>Hola <b>equipo</b></p>"});
        assert_eq!(
            row_from_json(html_only.as_object().unwrap())
                .unwrap()
                .into_mention()
                .unwrap()
                .text,
            "Hola equipo"
        );
    }

    #[test]
    fn followers_formats() {
        assert_eq!(parse_followers("12,345"), Ok(12_345));
        assert_eq!(parse_followers("12.345"), Ok(12_345));
        assert!(parse_followers("many").is_err());
    }
}
