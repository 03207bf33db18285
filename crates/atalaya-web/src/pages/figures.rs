//! The dashboard's listening figures: mentions in the last 7 days against the 7
//! before, the sentiment split, the top topics, share of voice among brand and
//! competitor topics over 30 days, and the sources that need attention.
//!
//! Periods are whole UTC days ending today, the same days the mentions page's
//! `from`/`to` filters name, so every figure links to the mentions page showing
//! exactly the mentions it counts.

use std::collections::HashMap;

use atalaya_domain::{
    Permission, SentimentLabel, Source, SourceHealth, Timestamp, Topic, TopicId, TopicKind,
};
use atalaya_store::{DailyCount, MentionFilter, Store};

use crate::access::WorkspaceAccess;
use crate::error::AppError;
use crate::i18n::Translator;
use crate::pages::sources::source_error_message;

const DAY_MILLIS: i64 = 86_400_000;
/// How many topics the "top topics" card lists.
const TOP_TOPICS: usize = 5;

/// A run of whole UTC days, as the mentions page's filters name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// Midnight UTC of the first day.
    pub from: Timestamp,
    /// Midnight UTC after the last day (exclusive).
    pub to: Timestamp,
}

impl Period {
    /// The `days` whole UTC days ending with the day of `now`.
    pub fn ending_today(now: Timestamp, days: i64) -> Period {
        let to = Timestamp((now.millis().div_euclid(DAY_MILLIS) + 1) * DAY_MILLIS);
        Period {
            from: to.plus_millis(-days * DAY_MILLIS),
            to,
        }
    }

    /// The period of the same length just before this one.
    pub fn previous(self) -> Period {
        Period {
            from: Timestamp(2 * self.from.millis() - self.to.millis()),
            to: self.from,
        }
    }

    fn filter(self) -> MentionFilter {
        MentionFilter {
            from: Some(self.from),
            to: Some(self.to),
            ..MentionFilter::default()
        }
    }

    /// `from=YYYY-MM-DD&to=YYYY-MM-DD`, the last day inclusive as the page reads it.
    pub fn query(self) -> String {
        format!(
            "from={}&to={}",
            utc_day(self.from),
            utc_day(self.to.plus_millis(-DAY_MILLIS))
        )
    }
}

/// `YYYY-MM-DD` of a moment, UTC.
fn utc_day(at: Timestamp) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::OffsetDateTime::from_unix_timestamp(at.millis().div_euclid(1000))
        .ok()
        .and_then(|moment| moment.format(&format).ok())
        .unwrap_or_default()
}

/// `part` as a whole percentage of `total` (0 when there is nothing).
pub fn share_percent(part: i64, total: i64) -> i64 {
    if total <= 0 {
        return 0;
    }
    // Rounded to the nearest whole percent, halves up; counts are far below
    // the range where the multiplication could overflow.
    (part * 200 + total) / (total * 2)
}

/// The change from `previous` to `current` in whole percent, `None` when there
/// was nothing before (a change from zero has no percentage).
pub fn change_percent(current: i64, previous: i64) -> Option<i64> {
    (previous > 0).then(|| {
        let difference = current - previous;
        // Rounded away from zero so a small change never shows as "0%".
        let rounded = (difference.abs() * 200 + previous) / (previous * 2);
        if difference < 0 { -rounded } else { rounded }
    })
}

/// Mentions per topic summed over the days, most first (ties by topic id).
pub fn totals_by_topic(counts: &[DailyCount]) -> Vec<(TopicId, i64)> {
    let mut totals: HashMap<TopicId, i64> = HashMap::new();
    for count in counts {
        *totals.entry(count.topic_id).or_default() += count.count;
    }
    let mut totals: Vec<(TopicId, i64)> = totals.into_iter().collect();
    totals.sort_by(|left, right| right.1.cmp(&left.1).then(left.0.cmp(&right.0)));
    totals
}

/// One bar of a topic list: a topic, its count and share, and where it links.
pub struct TopicBar {
    pub name: String,
    pub color: String,
    pub count: i64,
    pub percent: i64,
    pub link: String,
}

/// One sentiment's count and share.
pub struct SentimentShare {
    pub label: &'static str,
    pub class: &'static str,
    pub count: i64,
    pub percent: i64,
    pub link: String,
}

/// A failing source and its last error in the reader's language.
pub struct SourceAlert {
    pub name: String,
    pub error: Option<String>,
    pub link: String,
}

/// Everything the listening cards show; every member who can read the
/// workspace sees them.
pub struct ListeningFigures {
    pub week_total: i64,
    /// "+25% vs the 7 days before", or the sentence for "nothing before".
    pub week_change: String,
    /// `up`, `down` or `flat`, for the change's colour.
    pub week_trend: &'static str,
    pub week_link: String,
    pub sentiment: Vec<SentimentShare>,
    pub top_topics: Vec<TopicBar>,
    pub share_of_voice: Vec<TopicBar>,
    pub share_of_voice_total: i64,
    pub failing_sources: Vec<SourceAlert>,
    /// "3 accounts need attention", when any connected account is not working.
    pub accounts_attention: Option<String>,
    pub has_topics: bool,
    /// Whether any topic is a brand or a competitor: share of voice compares those.
    pub has_voice_topics: bool,
    pub has_sources: bool,
    /// Whether the reader may add topics and sources, so the empty states link to the forms.
    pub can_configure: bool,
}

impl ListeningFigures {
    /// Reads the figures of `access`'s workspace as of `now`.
    pub async fn load(
        store: &Store,
        t: Translator,
        access: &WorkspaceAccess,
        now: Timestamp,
    ) -> Result<ListeningFigures, AppError> {
        let workspace = access.workspace.id;
        let slug = &access.workspace.slug;
        let mentions_page = format!("/w/{slug}/mentions");
        let week = Period::ending_today(now, 7);
        let month = Period::ending_today(now, 30);
        let topics = store.topics().list(workspace).await?;
        let sources = store.sources().list(workspace).await?;

        let week_total = store.mentions().count(workspace, &week.filter()).await?;
        let previous_total = store
            .mentions()
            .count(workspace, &week.previous().filter())
            .await?;
        let (week_change, week_trend) = match change_percent(week_total, previous_total) {
            Some(percent) => (
                t.fill("dashboard.change", &[("change", &format!("{percent:+}%"))]),
                match percent {
                    p if p > 0 => "up",
                    p if p < 0 => "down",
                    _ => "flat",
                },
            ),
            None => (t.get("dashboard.change_none").to_owned(), "flat"),
        };

        let counts = store
            .mentions()
            .sentiment_counts(workspace, &week.filter())
            .await?;
        let sentiment_total: i64 = counts.iter().sum();
        let sentiment = SentimentLabel::ALL
            .into_iter()
            .zip(counts)
            .map(|(label, count)| SentimentShare {
                label: t
                    .lookup(&format!("sentiment.{}", label.as_str()))
                    .unwrap_or(label.as_str()),
                class: label.as_str(),
                count,
                percent: share_percent(count, sentiment_total),
                link: format!(
                    "{mentions_page}?sentiment={}&{}",
                    label.as_str(),
                    week.query()
                ),
            })
            .collect();

        let by_id: HashMap<TopicId, &Topic> =
            topics.iter().map(|topic| (topic.id, topic)).collect();
        let bars = |totals: &[(TopicId, i64)], period: Period| -> Vec<TopicBar> {
            let total: i64 = totals.iter().map(|(_, count)| count).sum();
            totals
                .iter()
                .filter_map(|(id, count)| {
                    let topic = by_id.get(id)?;
                    Some(TopicBar {
                        name: topic.name.clone(),
                        color: topic.color.clone(),
                        count: *count,
                        percent: share_percent(*count, total),
                        link: format!("{mentions_page}?topic={id}&{}", period.query()),
                    })
                })
                .collect()
        };
        let week_counts = store
            .mentions()
            .daily_counts(workspace, week.from, week.to)
            .await?;
        let mut week_totals = totals_by_topic(&week_counts);
        // A deleted topic's rows are gone with it; keep only topics we can name.
        week_totals.retain(|(id, _)| by_id.contains_key(id));
        week_totals.truncate(TOP_TOPICS);
        let top_topics = bars(&week_totals, week);

        let is_voice = |id: &TopicId| {
            by_id
                .get(id)
                .is_some_and(|topic| matches!(topic.kind, TopicKind::Brand | TopicKind::Competitor))
        };
        let month_counts = store
            .mentions()
            .daily_counts(workspace, month.from, month.to)
            .await?;
        let mut voice_totals = totals_by_topic(&month_counts);
        voice_totals.retain(|(id, _)| is_voice(id));
        let share_of_voice_total = voice_totals.iter().map(|(_, count)| count).sum();
        let share_of_voice = bars(&voice_totals, month);

        let failing_sources = sources
            .iter()
            .filter(|source| source.health == SourceHealth::Failing)
            .map(|source| source_alert(t, slug, source))
            .collect();

        let needing_attention = store.accounts().needing_attention(workspace).await?;
        let accounts_attention = (needing_attention > 0).then(|| {
            t.fill(
                "accounts.attention",
                &[("count", &needing_attention.to_string())],
            )
        });

        Ok(ListeningFigures {
            week_total,
            week_change,
            week_trend,
            week_link: format!("{mentions_page}?{}", week.query()),
            sentiment,
            top_topics,
            share_of_voice,
            share_of_voice_total,
            failing_sources,
            accounts_attention,
            has_topics: !topics.is_empty(),
            has_voice_topics: topics
                .iter()
                .any(|topic| matches!(topic.kind, TopicKind::Brand | TopicKind::Competitor)),
            has_sources: !sources.is_empty(),
            can_configure: access.allows(Permission::Configure),
        })
    }
}

fn source_alert(t: Translator, slug: &str, source: &Source) -> SourceAlert {
    SourceAlert {
        name: source.name.clone(),
        error: source_error_message(t, source),
        link: format!("/w/{slug}/mentions?source={}", source.id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_round_to_the_nearest_percent() {
        fn check(input: (i64, i64), expected: i64) {
            assert_eq!(share_percent(input.0, input.1), expected, "{input:?}");
        }
        check((0, 0), 0);
        check((3, 0), 0);
        check((1, 3), 33);
        check((2, 3), 67);
        check((1, 8), 13);
        check((5, 5), 100);
    }

    #[test]
    fn changes_are_percentages_of_the_previous_period() {
        fn check(input: (i64, i64), expected: Option<i64>) {
            assert_eq!(change_percent(input.0, input.1), expected, "{input:?}");
        }
        check((10, 0), None);
        check((0, 0), None);
        check((15, 10), Some(50));
        check((5, 10), Some(-50));
        check((10, 10), Some(0));
        check((1001, 1000), Some(0));
        check((1, 3), Some(-67));
    }

    #[test]
    fn periods_are_whole_utc_days_ending_today() {
        // 2026-04-22 15:30 UTC.
        let now = Timestamp(1_776_871_800_000);
        let week = Period::ending_today(now, 7);
        assert_eq!(week.query(), "from=2026-04-16&to=2026-04-22");
        assert_eq!(week.previous().query(), "from=2026-04-09&to=2026-04-15");
        assert_eq!(week.to.millis() - week.from.millis(), 7 * DAY_MILLIS);
        assert_eq!(
            Period::ending_today(now, 30).query(),
            "from=2026-03-24&to=2026-04-22"
        );
    }

    #[test]
    fn topics_are_ranked_by_their_total_over_the_days() {
        let count = |day: &str, topic: i64, count: i64| DailyCount {
            day: day.to_owned(),
            topic_id: TopicId(topic),
            count,
        };
        let totals = totals_by_topic(&[
            count("2026-04-20", 1, 2),
            count("2026-04-20", 2, 3),
            count("2026-04-21", 1, 2),
            count("2026-04-21", 3, 4),
        ]);
        assert_eq!(totals, [(TopicId(1), 4), (TopicId(3), 4), (TopicId(2), 3)]);
    }
}
