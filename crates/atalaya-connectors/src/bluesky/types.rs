//! The few AT Protocol / `app.bsky` shapes Atalaya reads and writes, as serde
//! types. Only the fields we use are declared; unknown fields are ignored, so the
//! network can grow its lexicons without breaking us. Records stay
//! [`serde_json::Value`] in views (a view may carry any record type) and are read
//! as a [`PostRecord`] on demand.

use serde::{Deserialize, Serialize};

/// The collection of posts.
pub const POST_COLLECTION: &str = "app.bsky.feed.post";

/// A post's author as views show it (`app.bsky.actor.defs#profileViewBasic`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Author {
    pub did: String,
    pub handle: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

/// A record's strong reference: its URI and the CID of the exact version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrongRef {
    pub uri: String,
    pub cid: String,
}

/// Where a reply sits: the thread's root post and the post it answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyRef {
    pub root: StrongRef,
    pub parent: StrongRef,
}

/// A facet's byte range in the post's UTF-8 text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ByteSlice {
    pub byte_start: usize,
    pub byte_end: usize,
}

/// One feature of a facet (`app.bsky.richtext.facet#…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "$type")]
pub enum FacetFeature {
    #[serde(rename = "app.bsky.richtext.facet#link")]
    Link { uri: String },
    #[serde(rename = "app.bsky.richtext.facet#mention")]
    Mention { did: String },
    #[serde(rename = "app.bsky.richtext.facet#tag")]
    Tag { tag: String },
    /// A feature type this version does not know.
    #[serde(other)]
    Unknown,
}

/// A rich-text facet as stored in a post record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facet {
    pub index: ByteSlice,
    pub features: Vec<FacetFeature>,
}

/// An `app.bsky.feed.post` record (the fields Atalaya reads or writes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostRecord {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub langs: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub facets: Vec<Facet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<ReplyRef>,
}

impl PostRecord {
    /// Reads a view's record as a post; `None` when it is another record type
    /// or lacks the text.
    pub fn from_value(record: &serde_json::Value) -> Option<PostRecord> {
        let kind = record.get("$type").and_then(serde_json::Value::as_str);
        if kind.is_some_and(|kind| kind != POST_COLLECTION) {
            return None;
        }
        serde_json::from_value(record.clone()).ok()
    }
}

/// A post as the AppView returns it (`app.bsky.feed.defs#postView`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostView {
    pub uri: String,
    pub cid: String,
    pub author: Author,
    pub record: serde_json::Value,
    /// When the AppView indexed the post: the order of "latest" searches and
    /// our high-water marks.
    pub indexed_at: String,
    #[serde(default)]
    pub reply_count: Option<i64>,
    #[serde(default)]
    pub like_count: Option<i64>,
    #[serde(default)]
    pub repost_count: Option<i64>,
}

impl PostView {
    /// The record as a post (`None` if it is not one).
    pub fn post_record(&self) -> Option<PostRecord> {
        PostRecord::from_value(&self.record)
    }

    pub fn strong_ref(&self) -> StrongRef {
        StrongRef {
            uri: self.uri.clone(),
            cid: self.cid.clone(),
        }
    }
}

/// One page of `app.bsky.feed.searchPosts`, newest first with `sort=latest`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SearchPage {
    pub posts: Vec<PostView>,
    /// The next (older) page; absent on the last one.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// One entry of `app.bsky.notification.listNotifications`. For `mention`,
/// `reply` and `quote`, `uri` and `record` are the post that notified us.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub uri: String,
    pub cid: String,
    pub author: Author,
    pub reason: String,
    #[serde(default)]
    pub reason_subject: Option<String>,
    pub record: serde_json::Value,
    #[serde(default)]
    pub is_read: bool,
    pub indexed_at: String,
}

/// One page of notifications, newest first.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct NotificationPage {
    pub notifications: Vec<Notification>,
    #[serde(default)]
    pub cursor: Option<String>,
}

/// A node of `app.bsky.feed.getPostThread`: a post with its parent chain and
/// replies, or a placeholder for a post that is gone or hidden.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "$type")]
pub enum ThreadNode {
    #[serde(rename = "app.bsky.feed.defs#threadViewPost")]
    Post(Box<ThreadPost>),
    #[serde(rename = "app.bsky.feed.defs#notFoundPost")]
    NotFound { uri: String },
    #[serde(rename = "app.bsky.feed.defs#blockedPost")]
    Blocked { uri: String },
    #[serde(other)]
    Unknown,
}

/// A post in a thread.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ThreadPost {
    pub post: PostView,
    #[serde(default)]
    pub parent: Option<ThreadNode>,
    #[serde(default)]
    pub replies: Vec<ThreadNode>,
}

/// A post to publish.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewPost {
    pub text: String,
    /// BCP-47 language tags of the text (`["es"]`).
    pub langs: Vec<String>,
    pub reply: Option<ReplyRef>,
}

/// A search request. `sort` is always `latest` (our high-water marks need
/// time order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    pub q: String,
    /// Only posts at or after this datetime (RFC 3339), if the AppView honours it.
    pub since: Option<String>,
    pub until: Option<String>,
    /// 1–100; the API's default (25) when `None`.
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn facets_serialize_as_the_lexicon_says() {
        let facet = Facet {
            index: ByteSlice {
                byte_start: 3,
                byte_end: 9,
            },
            features: vec![FacetFeature::Tag {
                tag: "café".to_owned(),
            }],
        };
        let json = serde_json::to_value(&facet).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"index": {"byteStart": 3, "byteEnd": 9},
                "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "café"}]})
        );
        let unknown: FacetFeature =
            serde_json::from_value(serde_json::json!({"$type": "app.example#future"})).unwrap();
        assert_eq!(unknown, FacetFeature::Unknown);
    }

    #[test]
    fn threads_read_placeholders() {
        let node: ThreadNode = serde_json::from_value(serde_json::json!({
            "$type": "app.bsky.feed.defs#notFoundPost", "uri": "at://x/y/z", "notFound": true
        }))
        .unwrap();
        assert_eq!(
            node,
            ThreadNode::NotFound {
                uri: "at://x/y/z".to_owned()
            }
        );
        let record = serde_json::json!({"$type": "app.bsky.feed.like", "subject": {}});
        assert_eq!(PostRecord::from_value(&record), None);
    }
}
