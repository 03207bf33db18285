//! From Bluesky's API shapes to Atalaya's: a post (its at:// URI, author and
//! record) becomes [`MentionFields`], and the AT Protocol's timestamps become
//! [`Timestamp`]s.
//!
//! The at:// URI is the mention's external id: it never changes, while the
//! public `bsky.app` URL embeds the author's handle, which the author may change.

use atalaya_domain::Timestamp;

use crate::bluesky::types::{Author, PostRecord};
use crate::item::{ContentKind, MentionFields};

/// The Bluesky web app, where a post's public URL lives.
pub const WEB_APP: &str = "https://bsky.app";

/// The record key of an `at://did/collection/rkey` URI.
pub fn record_key(at_uri: &str) -> Option<&str> {
    let rest = at_uri.strip_prefix("at://")?;
    let mut parts = rest.split('/');
    let (_authority, _collection, rkey) = (parts.next()?, parts.next()?, parts.next()?);
    (parts.next().is_none() && !rkey.is_empty()).then_some(rkey)
}

/// How the web app addresses an author: the handle, or the DID when the
/// handle no longer verifies (the AppView then reports `handle.invalid`).
fn profile_name(author: &Author) -> &str {
    if author.handle.is_empty() || author.handle == "handle.invalid" {
        &author.did
    } else {
        &author.handle
    }
}

/// `https://bsky.app/profile/<handle>`.
pub fn profile_url(author: &Author) -> String {
    format!("{WEB_APP}/profile/{}", profile_name(author))
}

/// `https://bsky.app/profile/<handle>/post/<rkey>`, when the URI is a post's.
pub fn post_url(at_uri: &str, author: &Author) -> Option<String> {
    let rkey = record_key(at_uri)?;
    Some(format!("{}/post/{rkey}", profile_url(author)))
}

/// An AT Protocol datetime (RFC 3339, usually with milliseconds and `Z`).
pub fn parse_datetime(text: &str) -> Option<Timestamp> {
    let parsed =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(parsed.unix_timestamp_nanos() / 1_000_000)
        .ok()
        .map(Timestamp)
}

/// A [`Timestamp`] as the AT Protocol writes datetimes (`2026-11-22T09:16:08.123Z`).
pub fn format_datetime(at: Timestamp) -> String {
    let nanos = i128::from(at.millis()) * 1_000_000;
    let moment = time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    moment.format(&format).unwrap_or_default()
}

/// A post as mention fields. The record's text is plain text; the author's
/// follower count is not part of the views these endpoints return.
pub fn post_fields(at_uri: &str, author: &Author, record: &PostRecord) -> MentionFields {
    MentionFields {
        external_id: Some(at_uri.to_owned()),
        url: post_url(at_uri, author),
        content: Some(record.text.clone()),
        content_kind: ContentKind::PlainText,
        author_handle: Some(profile_name(author).to_owned()),
        author_name: author.display_name.clone(),
        author_profile_url: Some(profile_url(author)),
        published_at: record.created_at.as_deref().and_then(parse_datetime),
        lang: record.langs.first().cloned(),
        ..MentionFields::default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn author(handle: &str) -> Author {
        Author {
            did: "did:plc:abc123".to_owned(),
            handle: handle.to_owned(),
            display_name: Some("Café Aurora".to_owned()),
        }
    }

    #[test]
    fn record_keys() {
        fn check(uri: &str, expected: Option<&str>) {
            assert_eq!(record_key(uri), expected, "{uri}");
        }
        check("at://did:plc:abc/app.bsky.feed.post/3kabc", Some("3kabc"));
        check("at://did:plc:abc/app.bsky.feed.post/", None);
        check("at://did:plc:abc/app.bsky.feed.post", None);
        check("https://bsky.app/profile/x/post/3kabc", None);
        check("at://did:plc:abc/app.bsky.feed.post/3k/extra", None);
    }

    #[test]
    fn datetimes_round_trip() {
        let at = parse_datetime("2026-11-22T09:16:08.123Z").unwrap();
        assert_eq!(format_datetime(at), "2026-11-22T09:16:08.123Z");
        assert_eq!(
            parse_datetime("2026-11-22T10:16:08.123+01:00"),
            Some(at),
            "offsets are honoured"
        );
        assert_eq!(parse_datetime("yesterday"), None);
    }

    #[test]
    fn post_maps_to_a_mention() {
        let record = PostRecord {
            text: "Probamos el café de @aurora.test ☕".to_owned(),
            created_at: Some("2026-11-22T09:16:08.000Z".to_owned()),
            langs: vec!["es".to_owned(), "en".to_owned()],
            ..PostRecord::default()
        };
        let uri = "at://did:plc:abc123/app.bsky.feed.post/3kxyz";
        let mention = post_fields(uri, &author("ana.test"), &record)
            .into_mention()
            .unwrap();
        assert_eq!(mention.external_id, uri);
        assert_eq!(
            mention.url.as_deref(),
            Some("https://bsky.app/profile/ana.test/post/3kxyz")
        );
        assert_eq!(mention.text, "Probamos el café de @aurora.test ☕");
        assert_eq!(mention.lang_hint.as_deref(), Some("es"));
        let author_seen = mention.author.unwrap();
        assert_eq!(author_seen.handle, "ana.test");
        assert_eq!(author_seen.name.as_deref(), Some("Café Aurora"));
        assert_eq!(
            author_seen.profile_url.as_deref(),
            Some("https://bsky.app/profile/ana.test")
        );
        assert_eq!(mention.published_at, parse_datetime("2026-11-22T09:16:08Z"));
        // A handle that no longer verifies: the DID addresses the profile.
        let fields = post_fields(uri, &author("handle.invalid"), &record);
        assert_eq!(
            fields.url.as_deref(),
            Some("https://bsky.app/profile/did:plc:abc123/post/3kxyz")
        );
    }
}
