//! A Mastodon status as a mention: which status fields fill which
//! [`MentionFields`], so every Mastodon source kind maps statuses the same way.

use super::client::{Account, Status};
use crate::item::{ContentKind, MentionFields};
use atalaya_domain::Timestamp;

/// `@user@instance` for any account. Local accounts' `acct` is just `user`, so the
/// instance is taken from the profile URL's host (the instance the account
/// lives on), else from `server_url` (the instance we asked).
pub fn author_handle(account: &Account, server_url: &str) -> String {
    let acct = account.acct.trim_start_matches('@');
    if acct.contains('@') {
        return format!("@{acct}");
    }
    let host = account
        .url
        .as_deref()
        .and_then(|url| url::Url::parse(url).ok())
        .or_else(|| url::Url::parse(server_url).ok())
        .and_then(|url| url.host_str().map(str::to_owned));
    match host {
        Some(host) => format!("@{acct}@{host}"),
        None => format!("@{acct}"),
    }
}

/// The fields of the mention a status stands for. A boost stands for the boosted
/// status (its author, text and id), so boosting twice never makes two mentions.
pub fn status_to_fields(status: &Status, server_url: &str) -> MentionFields {
    let status = status.reblog.as_deref().unwrap_or(status);
    let published_at = time::OffsetDateTime::parse(
        &status.created_at,
        &time::format_description::well_known::Rfc3339,
    )
    .ok()
    .and_then(|at| i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok())
    .map(Timestamp);
    MentionFields {
        external_id: Some(status.uri.clone()),
        url: status.url.clone().or_else(|| Some(status.uri.clone())),
        // A content warning is the closest thing a status has to a title.
        title: Some(status.spoiler_text.clone()).filter(|text| !text.trim().is_empty()),
        title_kind: ContentKind::PlainText,
        content: Some(status.content.clone()),
        content_kind: ContentKind::Html,
        author_handle: Some(author_handle(&status.account, server_url)),
        author_name: Some(status.account.display_name.clone()),
        author_profile_url: status.account.url.clone(),
        // Servers that hide follower counts may send a negative number: unknown.
        author_followers: status.account.followers_count.filter(|count| *count >= 0),
        published_at,
        lang: status.language.clone(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn account(acct: &str, url: Option<&str>) -> Account {
        Account {
            id: "1".to_owned(),
            acct: acct.to_owned(),
            username: acct.split('@').next().unwrap_or_default().to_owned(),
            display_name: "Ana Torres".to_owned(),
            url: url.map(str::to_owned),
            followers_count: Some(12),
        }
    }

    #[test]
    fn handles_always_name_the_instance() {
        fn check(acct: &str, url: Option<&str>, expected: &str) {
            assert_eq!(
                author_handle(&account(acct, url), "https://home.example"),
                expected
            );
        }
        check(
            "ana",
            Some("https://cafe.example/@ana"),
            "@ana@cafe.example",
        );
        check("ana", None, "@ana@home.example");
        check(
            "bo@far.example",
            Some("https://far.example/@bo"),
            "@bo@far.example",
        );
        check("@bo@far.example", None, "@bo@far.example");
    }

    #[test]
    fn a_boost_maps_to_the_boosted_status() {
        let original = Status {
            id: "7".to_owned(),
            uri: "https://far.example/users/bo/statuses/7".to_owned(),
            url: None,
            account: account("bo@far.example", Some("https://far.example/@bo")),
            content: "<p>Gran caf&eacute; &amp; pan</p>".to_owned(),
            created_at: "2026-03-04T05:06:07.500Z".to_owned(),
            language: Some("es".to_owned()),
            in_reply_to_id: None,
            reblog: None,
            visibility: None,
            spoiler_text: String::new(),
        };
        let boost = Status {
            id: "8".to_owned(),
            uri: "https://home.example/users/ana/statuses/8/activity".to_owned(),
            account: account("ana", None),
            content: String::new(),
            reblog: Some(Box::new(original.clone())),
            ..original.clone()
        };
        let mention = status_to_fields(&boost, "https://home.example")
            .into_mention()
            .unwrap();
        assert_eq!(mention.external_id, original.uri);
        assert_eq!(mention.url.as_deref(), Some(original.uri.as_str()));
        assert_eq!(mention.text, "Gran café & pan");
        let author = mention.author.unwrap();
        assert_eq!(author.handle, "@bo@far.example");
        assert_eq!(author.followers, Some(12));
        assert_eq!(mention.lang_hint.as_deref(), Some("es"));
        assert_eq!(mention.published_at, Some(Timestamp(1_772_600_767_500)));
        assert_eq!(mention.title, None);
    }
}
