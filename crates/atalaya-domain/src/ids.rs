//! Typed ids. Every table's primary key gets its own newtype.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($($(#[$meta:meta])* $name:ident),* $(,)?) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    /// A workspace (one brand or organisation).
    WorkspaceId,
    /// A user of this instance.
    UserId,
    /// A personal API token.
    ApiTokenId,
    /// A job in the durable queue.
    JobId,
    /// An entry in the audit log.
    AuditId,
    /// A listening topic (brand, product, competitor, campaign, sector).
    TopicId,
    /// A listening source (a feed, a webhook, an import, a network account).
    SourceId,
    /// A mention: one post, article or comment that a source brought in.
    MentionId,
    /// The author of mentions, per workspace and network.
    AuthorId,
    /// A saved set of mention filters.
    SavedViewId,
    /// A workspace's connected account on a network (Mastodon, Bluesky).
    AccountId,
    /// One re-matching of a topic's stored mentions after it was created or changed.
    BackfillId,
    /// An invitation to join a workspace, sent by e-mail link.
    InvitationId,
);
