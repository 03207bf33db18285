//! [`BlueskyClient`]: authenticated XRPC calls through a connected account.
//!
//! Access JWTs live minutes, so any call may meet an expired token: the client
//! then refreshes the session once (rotating both JWTs and handing the new pair
//! to [`AccountSession::replace_credentials`], which the worker saves even if the
//! poll fails later) and retries the call once. A refused refresh means the
//! account must be connected again: [`SourceError::Unauthorized`].

use atalaya_domain::Timestamp;
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use serde::Deserialize;

use super::facets::{FacetTarget, detect_facets};
use super::mapping::format_datetime;
use super::types::{
    ByteSlice, Facet, FacetFeature, NewPost, NotificationPage, POST_COLLECTION, PostRecord,
    SearchPage, SearchQuery, StrongRef, ThreadNode,
};
use super::{Profile, SessionResponse, classify, needs_refresh, read_json};
use crate::error::SourceError;
use crate::net::{ApiBody, ApiRequest, HttpResponse, SafeHttpClient};
use crate::network::{AccountCredentials, AccountSession};

/// Calls Bluesky as one connected account (its PDS is the session's server URL).
#[derive(Debug, Clone, Copy)]
pub struct BlueskyClient<'a> {
    http: &'a SafeHttpClient,
    session: &'a AccountSession,
}

/// An XRPC call before it is sent: procedure (POST) or query (GET).
enum Call<'a> {
    Query(&'a [(&'a str, String)]),
    Procedure(&'a serde_json::Value),
    /// A procedure without input: XRPC servers refuse a body where none is expected.
    EmptyProcedure,
}

impl<'a> BlueskyClient<'a> {
    pub fn new(http: &'a SafeHttpClient, session: &'a AccountSession) -> Self {
        BlueskyClient { http, session }
    }

    /// The account's DID and handle.
    fn identity(&self) -> Result<(String, String), SourceError> {
        match self.session.credentials() {
            AccountCredentials::Bluesky { did, handle, .. } => Ok((did, handle)),
            AccountCredentials::Mastodon { .. } => Err(SourceError::Config {
                reason: "the source's account is not a Bluesky account".to_owned(),
            }),
        }
    }

    fn tokens(&self) -> Result<(String, String), SourceError> {
        match self.session.credentials() {
            AccountCredentials::Bluesky {
                access_jwt,
                refresh_jwt,
                ..
            } => Ok((access_jwt, refresh_jwt)),
            AccountCredentials::Mastodon { .. } => Err(SourceError::Config {
                reason: "the source's account is not a Bluesky account".to_owned(),
            }),
        }
    }

    fn url(&self, nsid: &str, query: &[(&str, String)]) -> Result<String, SourceError> {
        let base = format!("{}/xrpc/{nsid}", self.session.server_url());
        let mut url = url::Url::parse(&base).map_err(|error| SourceError::InvalidUrl {
            url: base.clone(),
            reason: error.to_string(),
        })?;
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(key, value)| (*key, value.as_str())));
        }
        Ok(url.into())
    }

    async fn send_with(
        &self,
        nsid: &str,
        call: &Call<'_>,
        token: &str,
    ) -> Result<HttpResponse, SourceError> {
        let bearer = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            SourceError::Unauthorized {
                reason: "the stored token is not a valid header value".to_owned(),
            }
        })?;
        let headers: [(HeaderName, HeaderValue); 1] = [(AUTHORIZATION, bearer)];
        let response = match call {
            Call::Query(query) => {
                let url = self.url(nsid, query)?;
                self.http.send(ApiRequest::get(&url, &headers)).await?
            }
            Call::Procedure(body) => {
                let url = self.url(nsid, &[])?;
                let bytes = serde_json::to_vec(body).map_err(|error| SourceError::BadResponse {
                    reason: error.to_string(),
                })?;
                self.http
                    .send(ApiRequest::post(&url, &headers, ApiBody::Json(bytes)))
                    .await?
            }
            Call::EmptyProcedure => {
                let url = self.url(nsid, &[])?;
                self.http
                    .send(ApiRequest {
                        method: reqwest::Method::POST,
                        url: &url,
                        headers: &headers,
                        body: None,
                    })
                    .await?
            }
        };
        self.session.observe(&response.headers);
        Ok(response)
    }

    /// One authenticated call: refresh-and-retry once on a token error, then
    /// classify and parse.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        nsid: &str,
        call: Call<'_>,
    ) -> Result<T, SourceError> {
        let response = self.call_raw(nsid, call).await?;
        read_json(&response)
    }

    /// [`Self::call`] without parsing the (2xx) body.
    async fn call_raw(&self, nsid: &str, call: Call<'_>) -> Result<HttpResponse, SourceError> {
        let (access, _) = self.tokens()?;
        let mut response = self.send_with(nsid, &call, &access).await?;
        if needs_refresh(&response) {
            self.refresh_session().await?;
            let (access, _) = self.tokens()?;
            response = self.send_with(nsid, &call, &access).await?;
        }
        if let Some(error) = classify(&response, Timestamp::now()) {
            return Err(error);
        }
        Ok(response)
    }

    /// Rotates the session (`com.atproto.server.refreshSession`) and stores the
    /// new JWT pair in the session. A refused refresh token is
    /// [`SourceError::Unauthorized`]: the account must sign in again.
    pub async fn refresh_session(&self) -> Result<(), SourceError> {
        let (_, refresh) = self.tokens()?;
        let response = self
            .send_with(
                "com.atproto.server.refreshSession",
                &Call::EmptyProcedure,
                &refresh,
            )
            .await?;
        if response.status == 400 || response.status == 401 {
            // Any refusal of the refresh token (expired, revoked, garbage) needs a person.
            return Err(SourceError::Unauthorized {
                reason: crate::network::error_message(&response.body).unwrap_or_else(|| {
                    format!("session refresh refused (HTTP {})", response.status)
                }),
            });
        }
        if let Some(error) = classify(&response, Timestamp::now()) {
            return Err(error);
        }
        let session: SessionResponse = read_json(&response)?;
        self.session.replace_credentials(session.into_credentials());
        Ok(())
    }

    /// Who the session belongs to, as the PDS itself says
    /// (`com.atproto.server.getSession`): a cheap check that the account still
    /// works, which unlike [`Self::get_profile`] needs no AppView.
    pub async fn get_session(&self) -> Result<Profile, SourceError> {
        #[derive(Deserialize)]
        struct Session {
            did: String,
            handle: String,
        }
        let session: Session = self
            .call("com.atproto.server.getSession", Call::Query(&[]))
            .await?;
        Ok(Profile {
            did: session.did,
            handle: session.handle,
            display_name: None,
        })
    }

    /// The account's profile (`app.bsky.actor.getProfile`, answered by the
    /// AppView: 400 until it has indexed a brand-new account).
    pub async fn get_profile(&self) -> Result<Profile, SourceError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct ProfileView {
            did: String,
            handle: String,
            #[serde(default)]
            display_name: Option<String>,
        }
        let (did, _) = self.identity()?;
        let view: ProfileView = self
            .call("app.bsky.actor.getProfile", Call::Query(&[("actor", did)]))
            .await?;
        Ok(Profile {
            did: view.did,
            handle: view.handle,
            display_name: view.display_name.filter(|name| !name.trim().is_empty()),
        })
    }

    /// `app.bsky.feed.searchPosts`, newest first (`sort=latest`).
    pub async fn search_posts(&self, query: &SearchQuery) -> Result<SearchPage, SourceError> {
        let mut params: Vec<(&str, String)> =
            vec![("q", query.q.clone()), ("sort", "latest".to_owned())];
        if let Some(since) = &query.since {
            params.push(("since", since.clone()));
        }
        if let Some(until) = &query.until {
            params.push(("until", until.clone()));
        }
        if let Some(limit) = query.limit {
            params.push(("limit", limit.clamp(1, 100).to_string()));
        }
        if let Some(cursor) = &query.cursor {
            params.push(("cursor", cursor.clone()));
        }
        self.call("app.bsky.feed.searchPosts", Call::Query(&params))
            .await
    }

    /// `app.bsky.notification.listNotifications`, newest first. Does not mark
    /// anything read: that is the person's own state in their app.
    pub async fn list_notifications(
        &self,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<NotificationPage, SourceError> {
        let mut params: Vec<(&str, String)> = vec![("limit", limit.clamp(1, 100).to_string())];
        if let Some(cursor) = cursor {
            params.push(("cursor", cursor.to_owned()));
        }
        self.call(
            "app.bsky.notification.listNotifications",
            Call::Query(&params),
        )
        .await
    }

    /// `app.bsky.feed.getPostThread`: the post, its parents and `depth` levels of replies.
    pub async fn get_post_thread(&self, uri: &str, depth: u32) -> Result<ThreadNode, SourceError> {
        #[derive(Deserialize)]
        struct Thread {
            thread: ThreadNode,
        }
        let params = [
            ("uri", uri.to_owned()),
            ("depth", depth.min(1000).to_string()),
        ];
        let thread: Thread = self
            .call("app.bsky.feed.getPostThread", Call::Query(&params))
            .await?;
        Ok(thread.thread)
    }

    /// A handle's DID (`com.atproto.identity.resolveHandle`); `None` when the
    /// handle does not resolve (the network answers 400).
    pub async fn resolve_handle(&self, handle: &str) -> Result<Option<String>, SourceError> {
        #[derive(Deserialize)]
        struct Resolved {
            did: String,
        }
        match self
            .call::<Resolved>(
                "com.atproto.identity.resolveHandle",
                Call::Query(&[("handle", handle.to_owned())]),
            )
            .await
        {
            Ok(resolved) => Ok(Some(resolved.did)),
            Err(SourceError::HttpStatus { status: 400 | 404 }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The facets of `text`, with mentions resolved to DIDs; a handle that does
    /// not resolve stays plain text, as in the official app.
    pub async fn facets(&self, text: &str) -> Result<Vec<Facet>, SourceError> {
        let mut facets = Vec::new();
        for detected in detect_facets(text) {
            let feature = match detected.target {
                FacetTarget::Link(uri) => FacetFeature::Link { uri },
                FacetTarget::Tag(tag) => FacetFeature::Tag { tag },
                FacetTarget::Mention(handle) => match self.resolve_handle(&handle).await? {
                    Some(did) => FacetFeature::Mention { did },
                    None => continue,
                },
            };
            facets.push(Facet {
                index: ByteSlice {
                    byte_start: detected.byte_start,
                    byte_end: detected.byte_end,
                },
                features: vec![feature],
            });
        }
        Ok(facets)
    }

    /// Publishes a post or a reply (`com.atproto.repo.createRecord`) with its
    /// facets computed from the text.
    pub async fn create_post(&self, post: &NewPost) -> Result<StrongRef, SourceError> {
        let (did, _) = self.identity()?;
        let record = PostRecord {
            text: post.text.clone(),
            created_at: Some(format_datetime(Timestamp::now())),
            langs: post.langs.clone(),
            facets: self.facets(&post.text).await?,
            reply: post.reply.clone(),
        };
        let mut record =
            serde_json::to_value(&record).map_err(|error| SourceError::BadResponse {
                reason: error.to_string(),
            })?;
        if let Some(object) = record.as_object_mut() {
            object.insert("$type".to_owned(), POST_COLLECTION.into());
        }
        let body = serde_json::json!({
            "repo": did,
            "collection": POST_COLLECTION,
            "record": record,
        });
        self.call("com.atproto.repo.createRecord", Call::Procedure(&body))
            .await
    }

    /// Deletes one of the account's posts (`com.atproto.repo.deleteRecord`).
    pub async fn delete_post(&self, uri: &str) -> Result<(), SourceError> {
        let (did, _) = self.identity()?;
        let rkey = super::mapping::record_key(uri).ok_or_else(|| SourceError::Config {
            reason: format!("not a post URI: {uri}"),
        })?;
        let body = serde_json::json!({
            "repo": did,
            "collection": POST_COLLECTION,
            "rkey": rkey,
        });
        // Older PDS versions answer with an empty body: nothing to read.
        self.call_raw("com.atproto.repo.deleteRecord", Call::Procedure(&body))
            .await
            .map(|_| ())
    }
}
