//! Mentions: the filters the stream page and the API share (parsed from the
//! same query string, so a saved view is just that string), keyset cursors,
//! highlighting of matched spans, and sentiment corrections.
//!
//! Mention text comes from strangers. Highlighting therefore never builds HTML:
//! it cuts the text into [`Segment`]s that templates print escaped, wrapping
//! the marked ones in `<mark>`.

use atalaya_domain::{
    Mention, MentionId, Permission, SentimentLabel, SourceId, Timestamp, TopicId, User,
};
use atalaya_store::MentionFilter;
use serde::{Deserialize, Serialize};

use super::audit;
use crate::AppState;
use crate::access::WorkspaceAccess;
use crate::audit_actions;
use crate::error::{AppError, FieldError};
use crate::formats::Formats;

/// Mentions per page of the stream and default page of the API.
pub const PAGE_SIZE: i64 = 50;
/// Largest page the API serves.
pub const MAX_PAGE_SIZE: i64 = 200;

/// A piece of mention text, marked when a topic matched there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub text: String,
    pub marked: bool,
}

/// Cuts `text` at the given byte ranges. Ranges that overlap are merged, and
/// ranges out of bounds or not on character boundaries are ignored, so a stale
/// or hostile span can never split a character or panic.
pub fn highlight(text: &str, spans: &[(usize, usize)]) -> Vec<Segment> {
    let mut ranges: Vec<(usize, usize)> = spans
        .iter()
        .copied()
        .filter(|&(start, end)| {
            start < end
                && end <= text.len()
                && text.is_char_boundary(start)
                && text.is_char_boundary(end)
        })
        .collect();
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let mut segments = Vec::new();
    let mut at = 0;
    for (start, end) in merged {
        if start > at {
            segments.push(Segment {
                text: text[at..start].to_owned(),
                marked: false,
            });
        }
        segments.push(Segment {
            text: text[start..end].to_owned(),
            marked: true,
        });
        at = end;
    }
    if at < text.len() || segments.is_empty() {
        segments.push(Segment {
            text: text[at..].to_owned(),
            marked: false,
        });
    }
    segments
}

/// Every span of every topic hit of a mention (or of one topic).
pub fn spans_of(mention: &Mention, topic: Option<TopicId>) -> Vec<(usize, usize)> {
    mention
        .topics
        .iter()
        .filter(|hit| topic.is_none_or(|topic| hit.topic_id == topic))
        .flat_map(|hit| hit.spans.iter().map(|span| (span.start, span.end)))
        .collect()
}

/// The filters as they appear in the query string of the stream page and of
/// `GET /api/v1/workspaces/{slug}/mentions`. Empty values mean "any".
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MentionQuery {
    /// Topic id.
    #[serde(default)]
    pub topic: Option<String>,
    /// Source id.
    #[serde(default)]
    pub source: Option<String>,
    /// Language code, e.g. `es`.
    #[serde(default)]
    pub lang: Option<String>,
    /// `negative`, `neutral` or `positive`.
    #[serde(default)]
    pub sentiment: Option<String>,
    /// First day, `YYYY-MM-DD`, inclusive, in the workspace's time zone.
    #[serde(default)]
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD`, inclusive, in the workspace's time zone.
    #[serde(default)]
    pub to: Option<String>,
    /// Author handle, exactly.
    #[serde(default)]
    pub author: Option<String>,
    /// Words that must all appear; accents and case are ignored.
    #[serde(default)]
    pub q: Option<String>,
    /// The `next_cursor` of the previous page.
    #[serde(default)]
    pub before: Option<String>,
    /// Page size (API only), 1 to 200.
    #[serde(default)]
    pub limit: Option<i64>,
}

fn present(value: Option<&String>) -> Option<&str> {
    value
        .map(|value| value.trim())
        .filter(|value| !value.is_empty())
}

/// The cursor naming the last mention of a page: `<published ms>_<id>`.
pub fn cursor_of(mention: &Mention) -> String {
    format!("{}_{}", mention.published_at.millis(), mention.id.get())
}

fn parse_cursor(text: &str) -> Option<(Timestamp, MentionId)> {
    let (at, id) = text.split_once('_')?;
    Some((Timestamp(at.parse().ok()?), MentionId(id.parse().ok()?)))
}

impl MentionQuery {
    /// The store filter, or every invalid field at once. Days are days of
    /// `formats`' time zone (the workspace's).
    pub fn to_filter(
        &self,
        default_limit: i64,
        formats: &Formats,
    ) -> Result<MentionFilter, AppError> {
        let mut fields = Vec::new();
        let mut filter = MentionFilter {
            limit: default_limit,
            ..MentionFilter::default()
        };
        if let Some(topic) = present(self.topic.as_ref()) {
            match topic.parse() {
                Ok(id) => filter.topic = Some(TopicId(id)),
                Err(_) => fields.push(FieldError::new("topic", "validation.id")),
            }
        }
        if let Some(source) = present(self.source.as_ref()) {
            match source.parse() {
                Ok(id) => filter.source = Some(SourceId(id)),
                Err(_) => fields.push(FieldError::new("source", "validation.id")),
            }
        }
        if let Some(lang) = present(self.lang.as_ref()) {
            if lang.len() <= 8 && lang.bytes().all(|byte| byte.is_ascii_alphabetic()) {
                filter.lang = Some(lang.to_ascii_lowercase());
            } else {
                fields.push(FieldError::new("lang", "validation.lang_code"));
            }
        }
        if let Some(sentiment) = present(self.sentiment.as_ref()) {
            match SentimentLabel::from_code(sentiment) {
                Some(label) => filter.sentiment = Some(label),
                None => fields.push(FieldError::new("sentiment", "validation.sentiment")),
            }
        }
        if let Some(from) = present(self.from.as_ref()) {
            match Formats::parse_day(from) {
                Some(day) => filter.from = Some(formats.start_of(day)),
                None => fields.push(FieldError::new("from", "validation.date")),
            }
        }
        if let Some(to) = present(self.to.as_ref()) {
            // The last day is inclusive: the store's bound is exclusive.
            match Formats::parse_day(to) {
                Some(day) => filter.to = Some(formats.days_bounds(day, day).1),
                None => fields.push(FieldError::new("to", "validation.date")),
            }
        }
        if let Some(author) = present(self.author.as_ref()) {
            filter.author = Some(author.trim_start_matches('@').to_owned());
        }
        if let Some(search) = present(self.q.as_ref()) {
            filter.search = Some(search.to_owned());
        }
        if let Some(before) = present(self.before.as_ref()) {
            match parse_cursor(before) {
                Some(cursor) => filter.before = Some(cursor),
                None => fields.push(FieldError::new("before", "validation.cursor")),
            }
        }
        if let Some(limit) = self.limit {
            if (1..=MAX_PAGE_SIZE).contains(&limit) {
                filter.limit = limit;
            } else {
                fields.push(FieldError::new("limit", "validation.page_size"));
            }
        }
        if fields.is_empty() {
            Ok(filter)
        } else {
            Err(AppError::InvalidInput {
                fields,
                detail: None,
            })
        }
    }

    /// The query string of these filters without the cursor and page size:
    /// what a saved view stores and what the "older" link extends.
    pub fn filters_query_string(&self) -> String {
        let pairs = [
            ("topic", &self.topic),
            ("source", &self.source),
            ("lang", &self.lang),
            ("sentiment", &self.sentiment),
            ("from", &self.from),
            ("to", &self.to),
            ("author", &self.author),
            ("q", &self.q),
        ];
        pairs
            .iter()
            .filter_map(|(name, value)| {
                present(value.as_ref())
                    .map(|value| format!("{name}={}", crate::session::encode_query_value(value)))
            })
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Corrects a mention's sentiment (agents and above); the model's label is
/// kept beside it and the change is audited.
pub async fn correct(
    state: &AppState,
    access: &WorkspaceAccess,
    actor: &User,
    id: MentionId,
    label: SentimentLabel,
) -> Result<Mention, AppError> {
    if !access.allows(Permission::Engage) {
        return Err(AppError::Forbidden);
    }
    let store = state.store();
    let before = store
        .mentions()
        .get(access.workspace.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    store
        .mentions()
        .correct_sentiment(access.workspace.id, id, label, actor.id, Timestamp::now())
        .await?;
    audit(
        state,
        access,
        actor,
        audit_actions::SENTIMENT_CORRECTED,
        &format!("mention {}", id.get()),
        serde_json::json!({
            "mention_id": id,
            "from": before.sentiment,
            "to": label,
            "model": before.sentiment_model,
        }),
    )
    .await?;
    store
        .mentions()
        .get(access.workspace.id, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// Checks a saved view's name.
pub fn validate_view_name(name: &str) -> Result<&str, AppError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::field("name", "validation.empty"));
    }
    if name.chars().count() > 80 || name.chars().any(char::is_control) {
        return Err(AppError::field("name", "validation.view_name"));
    }
    Ok(name)
}

/// A saved view's query string, re-parsed and re-encoded so that only known
/// filters are stored.
pub fn normalize_view_query(query_string: &str) -> Result<String, AppError> {
    let query: MentionQuery = serde_urlencoded_lenient(query_string)?;
    let utc = Formats::new(
        crate::i18n::Translator::new(atalaya_domain::UiLang::En),
        crate::formats::DEFAULT_TIME_ZONE,
        Timestamp::now(),
    );
    query.to_filter(PAGE_SIZE, &utc)?;
    Ok(query.filters_query_string())
}

fn serde_urlencoded_lenient(query_string: &str) -> Result<MentionQuery, AppError> {
    let query_string = query_string.trim().trim_start_matches('?');
    let uri: axum::http::Uri = format!("/?{query_string}")
        .parse()
        .map_err(|_| AppError::field("query_string", "validation.view_query"))?;
    axum::extract::Query::<MentionQuery>::try_from_uri(&uri)
        .map(|query| query.0)
        .map_err(|_| AppError::field("query_string", "validation.view_query"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn check(text: &str, spans: &[(usize, usize)], expected: &[(&str, bool)]) {
        let segments = highlight(text, spans);
        let got: Vec<(&str, bool)> = segments
            .iter()
            .map(|segment| (segment.text.as_str(), segment.marked))
            .collect();
        assert_eq!(got, expected, "{text:?} {spans:?}");
    }

    #[test]
    fn highlighting_cuts_text_at_spans() {
        check("no spans", &[], &[("no spans", false)]);
        check(
            "café Lumen",
            &[(6, 11)],
            &[("café ", false), ("Lumen", true)],
        );
        check(
            "a b c",
            &[(0, 1), (4, 5)],
            &[("a", true), (" b ", false), ("c", true)],
        );
        // Overlapping spans merge.
        check(
            "abcdef",
            &[(1, 4), (2, 5)],
            &[("a", false), ("bcde", true), ("f", false)],
        );
        // Out of bounds, inside a character, empty: ignored.
        check("café", &[(4, 5), (0, 99), (2, 2)], &[("café", false)]);
        check("", &[], &[("", false)]);
    }

    #[test]
    fn filters_parse_and_round_trip() {
        let query = MentionQuery {
            topic: Some("3".into()),
            sentiment: Some("negative".into()),
            from: Some("2026-11-01".into()),
            to: Some("2026-11-01".into()),
            q: Some("café con leche".into()),
            author: Some("@ana".into()),
            before: Some("1795000000000_42".into()),
            ..MentionQuery::default()
        };
        let madrid = Formats::new(
            crate::i18n::Translator::new(atalaya_domain::UiLang::Es),
            "Europe/Madrid",
            Timestamp::now(),
        );
        let filter = query.to_filter(PAGE_SIZE, &madrid).unwrap();
        assert_eq!(filter.topic, Some(TopicId(3)));
        assert_eq!(filter.sentiment, Some(SentimentLabel::Negative));
        // 1 November in Madrid: from 23:00 UTC the day before, 24 hours long.
        assert_eq!(filter.from, Some(Timestamp(1_793_487_600_000)));
        assert_eq!(
            filter.to.unwrap().millis() - filter.from.unwrap().millis(),
            86_400_000
        );
        assert_eq!(filter.author.as_deref(), Some("ana"));
        assert_eq!(
            filter.before,
            Some((Timestamp(1_795_000_000_000), MentionId(42)))
        );
        assert_eq!(
            query.filters_query_string(),
            "topic=3&sentiment=negative&from=2026-11-01&to=2026-11-01&author=%40ana&q=caf%C3%A9%20con%20leche"
        );
        let normalized = normalize_view_query(&query.filters_query_string()).unwrap();
        assert_eq!(normalized, query.filters_query_string());
    }

    #[test]
    fn bad_filters_name_their_fields() {
        let query = MentionQuery {
            topic: Some("x".into()),
            sentiment: Some("angry".into()),
            from: Some("yesterday".into()),
            limit: Some(0),
            ..MentionQuery::default()
        };
        let utc = Formats::new(
            crate::i18n::Translator::new(atalaya_domain::UiLang::En),
            "UTC",
            Timestamp::now(),
        );
        let Err(AppError::InvalidInput { fields, .. }) = query.to_filter(PAGE_SIZE, &utc) else {
            panic!("should be refused");
        };
        let names: Vec<&str> = fields.iter().map(|field| field.field.as_str()).collect();
        assert_eq!(names, ["topic", "sentiment", "from", "limit"]);
    }
}
