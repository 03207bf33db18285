//! Listening: topics (what to listen for), sources (where to listen), mentions
//! (what was heard) and their authors.

use serde::{Deserialize, Serialize};

use crate::{
    AccountId, AuthorId, BackfillId, MentionId, SourceId, Timestamp, TopicId, WorkspaceId,
};

/// What a topic stands for. It changes how reports group topics (share of
/// voice compares the brand with its competitors), not how they match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TopicKind {
    Brand,
    Product,
    Competitor,
    Campaign,
    Sector,
}

impl TopicKind {
    pub const ALL: [TopicKind; 5] = [
        TopicKind::Brand,
        TopicKind::Product,
        TopicKind::Competitor,
        TopicKind::Campaign,
        TopicKind::Sector,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TopicKind::Brand => "brand",
            TopicKind::Product => "product",
            TopicKind::Competitor => "competitor",
            TopicKind::Campaign => "campaign",
            TopicKind::Sector => "sector",
        }
    }

    pub fn from_code(code: &str) -> Option<TopicKind> {
        TopicKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == code)
    }
}

/// A listening topic: a name and a query in the listening query language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Topic {
    pub id: TopicId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub kind: TopicKind,
    /// The query as the user wrote it (it parsed when saved).
    pub query: String,
    /// A `#rrggbb` colour for charts.
    pub color: String,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Where a topic's backfill is in its life.
///
/// ```text
///  queued ──▶ running ──▶ done
///    │           ├──────▶ failed      (the job ran out of attempts)
///    └───────────┴──────▶ superseded  (the query changed again, or the topic was switched off)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BackfillState {
    Queued,
    Running,
    Done,
    Failed,
    Superseded,
}

impl BackfillState {
    pub const ALL: [BackfillState; 5] = [
        BackfillState::Queued,
        BackfillState::Running,
        BackfillState::Done,
        BackfillState::Failed,
        BackfillState::Superseded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BackfillState::Queued => "queued",
            BackfillState::Running => "running",
            BackfillState::Done => "done",
            BackfillState::Failed => "failed",
            BackfillState::Superseded => "superseded",
        }
    }

    pub fn from_code(code: &str) -> Option<BackfillState> {
        BackfillState::ALL
            .into_iter()
            .find(|state| state.as_str() == code)
    }

    /// Whether it will still move (queued or running).
    pub fn is_unfinished(self) -> bool {
        matches!(self, BackfillState::Queued | BackfillState::Running)
    }
}

/// The re-matching of a topic's stored mentions after it was created, its query
/// changed or it was switched back on: the mentions of the workspace published
/// since `window_from` are matched against `query` again, in batches, so the
/// topic's counts cover the past and not only what arrives later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TopicBackfill {
    pub id: BackfillId,
    pub workspace_id: WorkspaceId,
    pub topic_id: TopicId,
    pub state: BackfillState,
    /// The query re-matched: the topic's when the backfill was asked for.
    pub query: String,
    /// Mentions published at or after this time are re-matched; older links stay as they were.
    pub window_from: Timestamp,
    /// Stored mentions in the window when the backfill started (0 while queued);
    /// set to `scanned` when it is done, since mentions keep arriving meanwhile.
    pub total: i64,
    /// Mentions re-matched so far.
    pub scanned: i64,
    /// How many of them match the query.
    pub matched: i64,
    /// Links to mentions that no longer match, removed.
    pub removed: i64,
    /// Why it failed, for `failed`.
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
}

/// The network a source kind's posts come from: `mastodon_hashtag` → `mastodon`,
/// `rss` → `rss`. Authors and the query language's `source:` field use it, so
/// one person reached through two kinds is one author, and `source:mastodon`
/// means the same at ingest, in a backfill and in the editor's live test.
pub fn network_of(kind: &str) -> &str {
    kind.split('_').next().unwrap_or(kind)
}

/// The three sentiment classes.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum SentimentLabel {
    Negative,
    Neutral,
    Positive,
}

impl SentimentLabel {
    pub const ALL: [SentimentLabel; 3] = [
        SentimentLabel::Negative,
        SentimentLabel::Neutral,
        SentimentLabel::Positive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SentimentLabel::Negative => "negative",
            SentimentLabel::Neutral => "neutral",
            SentimentLabel::Positive => "positive",
        }
    }

    pub fn from_code(code: &str) -> Option<SentimentLabel> {
        SentimentLabel::ALL
            .into_iter()
            .find(|label| label.as_str() == code)
    }
}

/// How a source is doing, shown next to it so nobody listens to a dead feed
/// without knowing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SourceHealth {
    /// Never polled yet.
    Pending,
    /// The last poll worked.
    Ok,
    /// One or two polls in a row failed: probably transient, retrying with backoff.
    Degraded,
    /// Several polls in a row failed: someone should look at the error.
    Failing,
    /// Not polled: switched off by a person, or automatically after many failures.
    Disabled,
}

impl SourceHealth {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceHealth::Pending => "pending",
            SourceHealth::Ok => "ok",
            SourceHealth::Degraded => "degraded",
            SourceHealth::Failing => "failing",
            SourceHealth::Disabled => "disabled",
        }
    }

    pub fn from_code(code: &str) -> Option<SourceHealth> {
        [
            SourceHealth::Pending,
            SourceHealth::Ok,
            SourceHealth::Degraded,
            SourceHealth::Failing,
            SourceHealth::Disabled,
        ]
        .into_iter()
        .find(|health| health.as_str() == code)
    }
}

/// A source of mentions. `kind` names the connector module (`rss`, `webhook`,
/// `import`, and later `mastodon_*`, `bluesky_*`); its non-secret settings are
/// in `config`, its secret (sealed) is kept apart and never serialised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Source {
    pub id: SourceId,
    pub workspace_id: WorkspaceId,
    pub kind: String,
    pub name: String,
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    pub has_secret: bool,
    /// The connected network account a network kind listens through.
    pub account_id: Option<AccountId>,
    pub enabled: bool,
    pub health: SourceHealth,
    /// A stable error code (e.g. `ssrf_refused`, `timeout`) from the last failure.
    pub last_error_code: Option<String>,
    pub last_error: Option<String>,
    pub last_polled_at: Option<Timestamp>,
    pub next_poll_at: Option<Timestamp>,
    pub consecutive_failures: i32,
    pub mentions_total: i64,
    pub created_at: Timestamp,
}

/// The author of mentions on one network, within one workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Author {
    pub id: AuthorId,
    pub workspace_id: WorkspaceId,
    /// The source kind's network, e.g. `rss`, `webhook`, `mastodon`.
    pub network: String,
    pub handle: String,
    pub name: Option<String>,
    pub followers: Option<i64>,
    pub profile_url: Option<String>,
}

/// A byte range of a mention's text that made a topic match, for highlighting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MatchSpan {
    pub start: usize,
    pub end: usize,
}

/// One topic a mention matched, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TopicHit {
    pub topic_id: TopicId,
    pub spans: Vec<MatchSpan>,
}

/// A mention: what one source brought in, analysed and matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Mention {
    pub id: MentionId,
    pub workspace_id: WorkspaceId,
    pub source_id: SourceId,
    pub external_id: String,
    pub url: Option<String>,
    pub title: Option<String>,
    /// Safe plain text (HTML removed); matching spans index into it.
    pub text: String,
    pub author: Option<Author>,
    /// ISO 639-1 code, or `und` when unknown.
    pub lang: String,
    /// The effective label: the correction when a person corrected it.
    pub sentiment: SentimentLabel,
    /// −1 (negative) … +1 (positive), from the model.
    pub sentiment_score: f32,
    pub sentiment_confidence: f32,
    /// The model's label, kept when a person corrected it.
    pub sentiment_model: SentimentLabel,
    pub sentiment_corrected: bool,
    pub topics: Vec<TopicHit>,
    pub published_at: Timestamp,
    pub ingested_at: Timestamp,
}

impl Mention {
    /// Whether the source gave this mention a date that could be read. An
    /// unknown date is stored as the ingestion time, exactly (so lists sorted
    /// by `published_at` show the mention where it arrived), and a known date
    /// is never stored equal to the ingestion time: the two being equal is
    /// what "date unknown" looks like in the store.
    pub fn published_at_known(&self) -> bool {
        self.published_at != self.ingested_at
    }
}
