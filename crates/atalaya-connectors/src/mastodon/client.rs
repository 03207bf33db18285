//! [`MastodonClient`]: the REST calls Atalaya makes through one connected
//! account, and the API entities they return (only the fields we use; serde
//! ignores the rest, so new server fields never break us).

use crate::error::SourceError;
use crate::net::{ApiBody, ApiRequest, HttpResponse, SafeHttpClient};
use crate::network::{AccountCredentials, AccountSession, api_error};
use atalaya_domain::Timestamp;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

use super::decode;

/// An account as the API describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    /// `user` for local accounts, `user@instance` for remote ones.
    pub acct: String,
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    /// The public profile page.
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub followers_count: Option<i64>,
}

/// A status (post).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub id: String,
    /// The ActivityPub id: stable across instances, our external id.
    pub uri: String,
    /// The public web page, when the server gives one.
    #[serde(default)]
    pub url: Option<String>,
    pub account: Account,
    /// HTML.
    #[serde(default)]
    pub content: String,
    /// RFC 3339.
    pub created_at: String,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub in_reply_to_id: Option<String>,
    /// For a boost: the boosted status.
    #[serde(default)]
    pub reblog: Option<Box<Status>>,
    #[serde(default)]
    pub visibility: Option<Visibility>,
    #[serde(default)]
    pub spoiler_text: String,
}

/// Who may see a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    Public,
    Unlisted,
    Private,
    Direct,
}

/// A status's thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    pub ancestors: Vec<Status>,
    pub descendants: Vec<Status>,
}

/// A notification; `status` is set for mentions, boosts, favourites, polls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub id: String,
    /// `mention`, `reblog`, `favourite`, `follow`, …
    #[serde(rename = "type")]
    pub kind: String,
    pub account: Account,
    #[serde(default)]
    pub status: Option<Status>,
}

/// A status to publish.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewStatus {
    pub text: String,
    pub in_reply_to_id: Option<String>,
    /// `None` leaves the account's default.
    pub visibility: Option<Visibility>,
    /// ISO 639 code.
    pub language: Option<String>,
    /// A content warning shown before the text.
    pub spoiler_text: Option<String>,
}

/// Pagination parameters: Mastodon ids are opaque strings, ordered newest first.
/// `min_id` returns the page right after it (paging forward), `since_id` the
/// newest page after it (with a gap), `max_id` the page before it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    pub min_id: Option<String>,
    pub since_id: Option<String>,
    pub max_id: Option<String>,
    /// The server caps it (40 for timelines, 80 for notifications).
    pub limit: Option<u32>,
}

impl Page {
    fn append_to(&self, url: &mut url::Url) {
        let mut pairs = url.query_pairs_mut();
        for (key, value) in [
            ("min_id", &self.min_id),
            ("since_id", &self.since_id),
            ("max_id", &self.max_id),
        ] {
            if let Some(value) = value {
                pairs.append_pair(key, value);
            }
        }
        if let Some(limit) = self.limit {
            pairs.append_pair("limit", &limit.to_string());
        }
    }
}

/// Which notifications to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotificationQuery {
    /// Only these types (`types[]`); empty means all.
    pub types: Vec<String>,
    /// Not these types (`exclude_types[]`).
    pub exclude_types: Vec<String>,
    pub page: Page,
}

/// Where the server's `Link` header says the neighbouring pages are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageLinks {
    /// `rel="next"`: older items, as a `max_id`.
    pub next_max_id: Option<String>,
    /// `rel="prev"`: newer items, as a `min_id` (or `since_id` on older servers).
    pub prev_min_id: Option<String>,
}

/// One page of a list endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub links: PageLinks,
}

/// Reads a `Link` header (`<https://…?max_id=1>; rel="next", <…?min_id=9>; rel="prev"`).
pub fn parse_link_header(value: &str) -> PageLinks {
    let mut links = PageLinks::default();
    for part in value.split(',') {
        let mut pieces = part.split(';');
        let Some(target) = pieces
            .next()
            .map(str::trim)
            .and_then(|target| target.strip_prefix('<'))
            .and_then(|target| target.strip_suffix('>'))
        else {
            continue;
        };
        let Ok(url) = url::Url::parse(target) else {
            continue;
        };
        let param = |name: &str| {
            url.query_pairs()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
        };
        let rel = pieces
            .filter_map(|piece| piece.trim().strip_prefix("rel="))
            .map(|rel| rel.trim_matches('"').to_owned())
            .next();
        match rel.as_deref() {
            Some("next") => links.next_max_id = param("max_id"),
            Some("prev") => links.prev_min_id = param("min_id").or_else(|| param("since_id")),
            _ => {}
        }
    }
    links
}

/// The REST client for one connected account.
#[derive(Debug, Clone, Copy)]
pub struct MastodonClient<'a> {
    http: &'a SafeHttpClient,
    session: &'a AccountSession,
}

impl<'a> MastodonClient<'a> {
    pub fn new(http: &'a SafeHttpClient, session: &'a AccountSession) -> Self {
        MastodonClient { http, session }
    }

    /// The account whose token this is (`GET /api/v1/accounts/verify_credentials`).
    pub async fn verify_credentials(&self) -> Result<Account, SourceError> {
        let url = self.url("/api/v1/accounts/verify_credentials")?;
        self.get_json(url, "account").await
    }

    /// Publishes a status (`POST /api/v1/statuses`). The server remembers the
    /// `Idempotency-Key` for an hour: retrying a publish with the same key never
    /// posts twice.
    pub async fn post_status(
        &self,
        status: &NewStatus,
        idempotency_key: &str,
    ) -> Result<Status, SourceError> {
        let mut body = serde_json::json!({ "status": status.text });
        let fields = [
            ("in_reply_to_id", status.in_reply_to_id.clone()),
            (
                "visibility",
                status
                    .visibility
                    .and_then(|visibility| serde_json::to_value(visibility).ok())
                    .and_then(|value| value.as_str().map(str::to_owned)),
            ),
            ("language", status.language.clone()),
            ("spoiler_text", status.spoiler_text.clone()),
        ];
        for (key, value) in fields {
            if let Some(value) = value {
                body[key] = serde_json::Value::String(value);
            }
        }
        let key = HeaderValue::from_str(idempotency_key).map_err(|_| SourceError::Config {
            reason: "the idempotency key must be visible ASCII".to_owned(),
        })?;
        let bytes = serde_json::to_vec(&body).map_err(|error| SourceError::Config {
            reason: error.to_string(),
        })?;
        let url = self.url("/api/v1/statuses")?;
        let response = self
            .call(
                reqwest::Method::POST,
                &url,
                Some(ApiBody::Json(bytes)),
                Some((HeaderName::from_static("idempotency-key"), key)),
            )
            .await?;
        decode(&response.body, "status")
    }

    /// One status (`GET /api/v1/statuses/:id`).
    pub async fn status(&self, id: &str) -> Result<Status, SourceError> {
        let url = self.url_with_segments(&["api", "v1", "statuses", id])?;
        self.get_json(url, "status").await
    }

    /// A status's thread (`GET /api/v1/statuses/:id/context`).
    pub async fn context(&self, id: &str) -> Result<Context, SourceError> {
        let url = self.url_with_segments(&["api", "v1", "statuses", id, "context"])?;
        self.get_json(url, "context").await
    }

    /// The account's notifications (`GET /api/v1/notifications`).
    pub async fn notifications(
        &self,
        query: &NotificationQuery,
    ) -> Result<Paged<Notification>, SourceError> {
        let mut url = self.url("/api/v1/notifications")?;
        {
            let mut pairs = url.query_pairs_mut();
            for kind in &query.types {
                pairs.append_pair("types[]", kind);
            }
            for kind in &query.exclude_types {
                pairs.append_pair("exclude_types[]", kind);
            }
        }
        query.page.append_to(&mut url);
        self.get_page(url, "notifications").await
    }

    /// Public statuses with a hashtag (`GET /api/v1/timelines/tag/:hashtag`);
    /// `tag` without the `#`.
    pub async fn hashtag_timeline(
        &self,
        tag: &str,
        page: &Page,
        local: bool,
    ) -> Result<Paged<Status>, SourceError> {
        let mut url = self.url_with_segments(&["api", "v1", "timelines", "tag", tag])?;
        if local {
            url.query_pairs_mut().append_pair("local", "true");
        }
        page.append_to(&mut url);
        self.get_page(url, "hashtag timeline").await
    }

    /// The federated (or, with `local`, the instance's) timeline (`GET /api/v1/timelines/public`).
    pub async fn public_timeline(
        &self,
        local: bool,
        page: &Page,
    ) -> Result<Paged<Status>, SourceError> {
        let mut url = self.url("/api/v1/timelines/public")?;
        if local {
            url.query_pairs_mut().append_pair("local", "true");
        }
        page.append_to(&mut url);
        self.get_page(url, "public timeline").await
    }

    /// Full-text status search (`GET /api/v2/search?type=statuses`). Servers only
    /// search statuses the account may see and that opted in to search.
    pub async fn search_statuses(
        &self,
        query: &str,
        page: &Page,
    ) -> Result<Vec<Status>, SourceError> {
        #[derive(Deserialize)]
        struct Results {
            #[serde(default)]
            statuses: Vec<Status>,
        }
        let mut url = self.url("/api/v2/search")?;
        url.query_pairs_mut()
            .append_pair("q", query)
            .append_pair("type", "statuses")
            .append_pair("resolve", "false");
        page.append_to(&mut url);
        let results: Results = self.get_json(url, "search results").await?;
        Ok(results.statuses)
    }

    /// Where the instance serves its streaming API, as an http(s) base URL
    /// (`configuration.urls.streaming` of `GET /api/v2/instance`, a ws(s) URL).
    /// Large instances serve it from another host; the instance's own URL when
    /// the server names none.
    pub async fn streaming_base_url(&self) -> Result<String, SourceError> {
        let url = self.url("/api/v2/instance")?;
        let instance: serde_json::Value = self.get_json(url, "instance").await?;
        let advertised = instance
            .pointer("/configuration/urls/streaming")
            .and_then(serde_json::Value::as_str)
            .and_then(|streaming| url::Url::parse(streaming).ok())
            .and_then(|mut streaming| {
                let scheme = match streaming.scheme() {
                    "wss" | "https" => "https",
                    "ws" | "http" => "http",
                    _ => return None,
                };
                streaming.set_scheme(scheme).ok()?;
                Some(streaming.as_str().trim_end_matches('/').to_owned())
            });
        Ok(advertised.unwrap_or_else(|| self.session.server_url().to_owned()))
    }

    /// The account's bearer token.
    pub(crate) fn access_token(&self) -> Result<String, SourceError> {
        access_token(self.session)
    }

    pub(crate) fn session(&self) -> &'a AccountSession {
        self.session
    }

    pub(crate) fn http(&self) -> &'a SafeHttpClient {
        self.http
    }

    fn url(&self, path: &str) -> Result<url::Url, SourceError> {
        let text = format!("{}{path}", self.session.server_url());
        url::Url::parse(&text).map_err(|error| SourceError::InvalidUrl {
            url: text,
            reason: error.to_string(),
        })
    }

    /// A URL whose path segments are percent-encoded (ids and hashtags come from users).
    fn url_with_segments(&self, segments: &[&str]) -> Result<url::Url, SourceError> {
        let mut url = self.url("/")?;
        url.path_segments_mut()
            .map_err(|()| SourceError::InvalidUrl {
                url: self.session.server_url().to_owned(),
                reason: "cannot have a path".to_owned(),
            })?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: url::Url,
        what: &str,
    ) -> Result<T, SourceError> {
        let response = self.call(reqwest::Method::GET, &url, None, None).await?;
        decode(&response.body, what)
    }

    async fn get_page<T: serde::de::DeserializeOwned>(
        &self,
        url: url::Url,
        what: &str,
    ) -> Result<Paged<T>, SourceError> {
        let response = self.call(reqwest::Method::GET, &url, None, None).await?;
        let links = response
            .header("link")
            .map(parse_link_header)
            .unwrap_or_default();
        Ok(Paged {
            items: decode(&response.body, what)?,
            links,
        })
    }

    /// Every call: bearer token, rate-limit bookkeeping, error mapping.
    async fn call(
        &self,
        method: reqwest::Method,
        url: &url::Url,
        body: Option<ApiBody<'_>>,
        extra_header: Option<(HeaderName, HeaderValue)>,
    ) -> Result<HttpResponse, SourceError> {
        let mut headers = vec![
            (AUTHORIZATION, bearer(&self.access_token()?)?),
            (ACCEPT, HeaderValue::from_static("application/json")),
        ];
        headers.extend(extra_header);
        let response = self
            .http
            .send(ApiRequest {
                method,
                url: url.as_str(),
                headers: &headers,
                body,
            })
            .await?;
        self.session.observe(&response.headers);
        match api_error(&response, Timestamp::now()) {
            Some(error) => Err(error),
            None => Ok(response),
        }
    }
}

pub(crate) fn access_token(session: &AccountSession) -> Result<String, SourceError> {
    match session.credentials() {
        AccountCredentials::Mastodon { access_token, .. } => Ok(access_token),
        AccountCredentials::Bluesky { .. } => Err(SourceError::Config {
            reason: "this source needs a Mastodon account, not a Bluesky one".to_owned(),
        }),
    }
}

pub(crate) fn bearer(token: &str) -> Result<HeaderValue, SourceError> {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
        SourceError::Unauthorized {
            reason: "the stored access token is not a valid header value".to_owned(),
        }
    })?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn link_headers() {
        fn check(header: &str, next: Option<&str>, prev: Option<&str>) {
            let links = parse_link_header(header);
            assert_eq!(
                (links.next_max_id.as_deref(), links.prev_min_id.as_deref()),
                (next, prev),
                "header: {header}"
            );
        }
        check(
            r#"<https://s.example/api/v1/timelines/tag/cafe?max_id=105&limit=2>; rel="next", <https://s.example/api/v1/timelines/tag/cafe?min_id=109&limit=2>; rel="prev""#,
            Some("105"),
            Some("109"),
        );
        check(
            r#"<https://s.example/api/v1/notifications?since_id=7>; rel="prev""#,
            None,
            Some("7"),
        );
        check("", None, None);
        check("garbage; rel=next", None, None);
    }

    #[test]
    fn statuses_decode_with_unknown_fields_and_boosts() {
        let json = r#"{"id":"2","uri":"https://b.example/users/bo/statuses/1","url":null,
            "account":{"id":"9","acct":"ana","username":"ana","display_name":"Ana","url":"https://a.example/@ana","followers_count":3,"extra":1},
            "content":"","created_at":"2026-01-02T03:04:05Z","visibility":"public","spoiler_text":"",
            "reblog":{"id":"1","uri":"https://b.example/users/bo/statuses/1","url":"https://b.example/@bo/1",
              "account":{"id":"8","acct":"bo@b.example","username":"bo"},
              "content":"<p>hola</p>","created_at":"2026-01-01T00:00:00Z","language":"es"}}"#;
        let status: Status = serde_json::from_str(json).unwrap();
        let boosted = status.reblog.unwrap();
        assert_eq!(boosted.account.acct, "bo@b.example");
        assert_eq!(boosted.language.as_deref(), Some("es"));
        assert_eq!(status.visibility, Some(Visibility::Public));
    }
}
