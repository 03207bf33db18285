//! The dashboard's figures, for a period of whole days in the workspace's time
//! zone against the same number of days before it: mention volume per day
//! (with the previous period drawn under it), sentiment per day, the top
//! topics with their trend, share of voice among brand and competitor topics,
//! the newest negative mentions, and what needs attention (every source or
//! account that is not working, with the reason in the reader's language).
//!
//! Every figure links to the mentions page filtered to exactly the mentions it
//! counts: both read days in the same zone.

use std::collections::HashMap;

use atalaya_domain::{
    AccountState, Permission, SentimentLabel, Source, SourceHealth, Topic, TopicId, TopicKind,
};
use atalaya_store::{MentionFilter, Store};

use super::charts::{Chart, ChartSeries, Sparkline};
use crate::access::WorkspaceAccess;
use crate::error::AppError;
use crate::formats::{Formats, TimeLabel};
use crate::i18n::Translator;
use crate::listening::periods::{DayRange, bucket_width, fold_sentiment, fold_topics};
use crate::pages::accounts::state_label;
use crate::pages::sources::source_error_message;

/// How many topics the "top topics" card lists.
const TOP_TOPICS: usize = 6;
/// How many negative mentions the dashboard previews.
const NEGATIVE_PREVIEW: i64 = 4;
/// The periods the dashboard offers, in days; the first is the default.
pub const PERIODS: [i64; 4] = [30, 7, 90, 365];

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

/// Net sentiment, −100 to 100: (positive − negative) / (positive + negative),
/// `None` when there is neither.
pub fn net_sentiment(negative: i64, positive: i64) -> Option<i64> {
    let polar = negative + positive;
    (polar > 0).then(|| {
        let difference = positive - negative;
        let rounded = (difference.abs() * 200 + polar) / (polar * 2);
        if difference < 0 { -rounded } else { rounded }
    })
}

/// One headline number.
pub struct Kpi {
    pub label: &'static str,
    pub icon: &'static str,
    pub value: String,
    /// How it moved against the previous period, in words.
    pub change: Option<String>,
    /// `up`, `down` or `flat`.
    pub trend: &'static str,
    /// Whether going up is good news (drives the colour, never alone: the text says it).
    pub tone: &'static str,
    /// The formula, for the tooltip.
    pub hint: String,
    pub link: String,
}

/// A topic in the "top topics" card.
pub struct TopicTrend {
    pub id: i64,
    pub name: String,
    pub count: String,
    pub share: String,
    pub change: Option<String>,
    pub trend: &'static str,
    pub spark: Sparkline,
    pub link: String,
}

/// A share-of-voice bar.
pub struct VoiceBar {
    pub id: i64,
    pub name: String,
    pub kind: &'static str,
    pub count: String,
    pub percent: i64,
    pub share: String,
    pub link: String,
}

/// One sentiment's count and share.
pub struct SentimentShare {
    pub label: &'static str,
    pub class: &'static str,
    pub count: String,
    pub share: String,
    pub link: String,
}

/// Something a person should look at, with where to do it.
pub struct Attention {
    /// `error` or `warn`.
    pub tone: &'static str,
    pub icon: &'static str,
    pub title: String,
    pub text: Option<String>,
    /// When it was last checked, in words.
    pub when: Option<String>,
    pub link: String,
    pub link_label: &'static str,
}

/// A negative mention, previewed.
pub struct MentionPreview {
    pub author: String,
    pub author_key: String,
    pub text: String,
    pub when: TimeLabel,
    pub link: String,
}

/// Everything the dashboard shows.
pub struct ListeningFigures {
    pub period_label: String,
    pub kpis: Vec<Kpi>,
    pub volume: Chart,
    pub sentiment_chart: Chart,
    pub sentiment: Vec<SentimentShare>,
    pub total: i64,
    pub top_topics: Vec<TopicTrend>,
    pub share_of_voice: Vec<VoiceBar>,
    pub voice_total: i64,
    pub attention: Vec<Attention>,
    pub negative: Vec<MentionPreview>,
    pub negative_link: String,
    pub mentions_link: String,
    pub has_topics: bool,
    pub has_voice_topics: bool,
    pub has_sources: bool,
    /// Whether the reader may add topics and sources, so the empty states link to the forms.
    pub can_configure: bool,
}

fn sentiment_key(label: SentimentLabel) -> &'static str {
    match label {
        SentimentLabel::Negative => "sentiment.negative",
        SentimentLabel::Neutral => "sentiment.neutral",
        SentimentLabel::Positive => "sentiment.positive",
    }
}

fn trend_of(percent: Option<i64>) -> &'static str {
    match percent {
        Some(p) if p > 0 => "up",
        Some(p) if p < 0 => "down",
        _ => "flat",
    }
}

/// Whether a source needs a person: it failed recently, or was switched off
/// after failing. Paused sources without an error are a choice, not a problem.
pub fn source_needs_attention(source: &Source) -> bool {
    match source.health {
        SourceHealth::Degraded | SourceHealth::Failing => true,
        SourceHealth::Disabled => source.last_error_code.is_some(),
        SourceHealth::Pending | SourceHealth::Ok => false,
    }
}

impl ListeningFigures {
    /// Reads the figures of `access`'s workspace for the `days` days ending today.
    pub async fn load(
        store: &Store,
        formats: &Formats,
        access: &WorkspaceAccess,
        days: i64,
    ) -> Result<ListeningFigures, AppError> {
        let t = formats.t();
        let workspace = access.workspace.id;
        let slug = &access.workspace.slug;
        let mentions_page = format!("/w/{slug}/mentions");
        let range = DayRange::last(formats, days);
        let previous = range.previous();
        let topics = store.topics().list(workspace).await?;
        let sources = store.sources().list(workspace).await?;
        let accounts = store.accounts().list(workspace).await?;
        let width = bucket_width(formats, range);
        let link = |extra: &str| {
            if extra.is_empty() {
                format!("{mentions_page}?{}", range.query())
            } else {
                format!("{mentions_page}?{extra}&{}", range.query())
            }
        };

        // Sentiment per day, now and before: every headline number comes from these.
        let now_buckets = store
            .mentions()
            .sentiment_histogram(workspace, &range.filter(formats), width)
            .await?;
        let before_buckets = store
            .mentions()
            .sentiment_histogram(workspace, &previous.filter(formats), width)
            .await?;
        let now_days = fold_sentiment(formats, range, &now_buckets);
        let before_days = fold_sentiment(formats, previous, &before_buckets);
        let sums = |days: &[Vec<i64>; 3]| -> [i64; 3] {
            [
                days[0].iter().sum(),
                days[1].iter().sum(),
                days[2].iter().sum(),
            ]
        };
        let now = sums(&now_days);
        let before = sums(&before_days);
        let total: i64 = now.iter().sum();
        let previous_total: i64 = before.iter().sum();
        let daily_total: Vec<i64> = (0..now_days[0].len())
            .map(|day| now_days[0][day] + now_days[1][day] + now_days[2][day])
            .collect();
        let daily_before: Vec<i64> = (0..before_days[0].len())
            .map(|day| before_days[0][day] + before_days[1][day] + before_days[2][day])
            .collect();

        let volume_change = change_percent(total, previous_total);
        let negative_share = share_percent(now[0], total);
        let negative_before = share_percent(before[0], previous_total);
        let net = net_sentiment(now[0], now[2]);
        let net_before = net_sentiment(before[0], before[2]);
        let points = |current: i64, earlier: i64| -> String {
            t.count_with(
                "dashboard.points_change",
                (current - earlier).abs(),
                &[("sign", sign(current - earlier))],
            )
        };

        let attention = attention_items(t, formats, slug, &sources, &accounts);
        let kpis = vec![
            Kpi {
                label: t.get("dashboard.kpi_mentions"),
                icon: "mentions",
                value: t.number(total),
                change: Some(match volume_change {
                    Some(percent) => {
                        t.fill("dashboard.vs_previous", &[("change", &t.change(percent))])
                    }
                    None => t.get("dashboard.change_none").to_owned(),
                }),
                trend: trend_of(volume_change),
                tone: "neutral",
                hint: t.fill(
                    "dashboard.kpi_mentions_hint",
                    &[("previous", &t.number(previous_total))],
                ),
                link: link(""),
            },
            Kpi {
                label: t.get("dashboard.kpi_negative"),
                icon: "frown",
                value: t.percent(negative_share),
                change: (total > 0 && previous_total > 0)
                    .then(|| points(negative_share, negative_before)),
                trend: trend_of(
                    Some(negative_share - negative_before).filter(|_| previous_total > 0),
                ),
                tone: "up-is-bad",
                hint: t.get("dashboard.kpi_negative_hint").to_owned(),
                link: link("sentiment=negative"),
            },
            Kpi {
                label: t.get("dashboard.kpi_net"),
                icon: "smile",
                value: net.map_or_else(|| String::from("—"), |net| signed(t, net)),
                change: match (net, net_before) {
                    (Some(net), Some(before)) => Some(points(net, before)),
                    _ => None,
                },
                trend: match (net, net_before) {
                    (Some(net), Some(before)) => trend_of(Some(net - before)),
                    _ => "flat",
                },
                tone: "up-is-good",
                hint: t.get("dashboard.kpi_net_hint").to_owned(),
                link: link(""),
            },
            Kpi {
                label: t.get("dashboard.kpi_attention"),
                icon: "warning",
                value: t.number(i64::try_from(attention.len()).unwrap_or(i64::MAX)),
                change: Some(if attention.is_empty() {
                    t.get("dashboard.attention_none_short").to_owned()
                } else {
                    t.get("dashboard.attention_some_short").to_owned()
                }),
                trend: "flat",
                tone: if attention.is_empty() { "ok" } else { "bad" },
                hint: t.get("dashboard.kpi_attention_hint").to_owned(),
                link: format!("/w/{slug}/sources"),
            },
        ];

        let date_label = t.get("chart.day").to_owned();
        let volume = Chart {
            kind: "line",
            days: range.days(),
            series: vec![
                ChartSeries {
                    label: t.get("chart.this_period").to_owned(),
                    values: daily_total,
                    tone: "primary",
                    color: None,
                },
                ChartSeries {
                    label: t.get("chart.previous_period").to_owned(),
                    values: daily_before,
                    tone: "previous",
                    color: None,
                },
            ],
            date_label: date_label.clone(),
            legend: true,
        };
        let [negative_days, neutral_days, positive_days] = now_days;
        let sentiment_chart = Chart {
            kind: "stacked",
            days: range.days(),
            series: vec![
                ChartSeries {
                    label: t.get("sentiment.negative").to_owned(),
                    values: negative_days,
                    tone: "negative",
                    color: None,
                },
                ChartSeries {
                    label: t.get("sentiment.neutral").to_owned(),
                    values: neutral_days,
                    tone: "neutral",
                    color: None,
                },
                ChartSeries {
                    label: t.get("sentiment.positive").to_owned(),
                    values: positive_days,
                    tone: "positive",
                    color: None,
                },
            ],
            date_label,
            legend: true,
        };
        let sentiment = SentimentLabel::ALL
            .into_iter()
            .zip(now)
            .map(|(label, count)| SentimentShare {
                label: t.get(sentiment_key(label)),
                class: label.as_str(),
                count: t.count("dashboard.mention_count", count),
                share: t.percent(share_percent(count, total)),
                link: link(&format!("sentiment={}", label.as_str())),
            })
            .collect();

        // Topics: per day now (for the sparkline and totals) and in total before.
        let by_id: HashMap<TopicId, &Topic> =
            topics.iter().map(|topic| (topic.id, topic)).collect();
        let topic_days = fold_topics(
            formats,
            range,
            &store
                .mentions()
                .topic_histogram(workspace, &range.filter(formats), width)
                .await?,
        );
        let topic_before = fold_topics(
            formats,
            previous,
            &store
                .mentions()
                .topic_histogram(workspace, &previous.filter(formats), width)
                .await?,
        );
        let mut totals: Vec<(TopicId, i64)> = topic_days
            .iter()
            .filter(|(id, _)| by_id.contains_key(id))
            .map(|(id, days)| (*id, days.iter().sum()))
            .collect();
        totals.sort_by(|left, right| right.1.cmp(&left.1).then(left.0.cmp(&right.0)));
        let topic_total: i64 = totals.iter().map(|(_, count)| count).sum();
        let top_topics = totals
            .iter()
            .take(TOP_TOPICS)
            .filter_map(|(id, count)| {
                let topic = by_id.get(id)?;
                let before: i64 = topic_before.get(id).map_or(0, |days| days.iter().sum());
                let change = change_percent(*count, before);
                Some(TopicTrend {
                    id: id.get(),
                    name: topic.name.clone(),
                    count: t.number(*count),
                    share: t.percent(share_percent(*count, topic_total)),
                    change: change.map(|percent| t.change(percent)),
                    trend: trend_of(change),
                    spark: Sparkline::new(topic_days.get(id).map_or(&[][..], Vec::as_slice)),
                    link: link(&format!("topic={id}")),
                })
            })
            .collect();

        let is_voice =
            |topic: &Topic| matches!(topic.kind, TopicKind::Brand | TopicKind::Competitor);
        let voice: Vec<(TopicId, i64)> = totals
            .iter()
            .filter(|(id, _)| by_id.get(id).is_some_and(|topic| is_voice(topic)))
            .copied()
            .collect();
        let voice_total: i64 = voice.iter().map(|(_, count)| count).sum();
        let share_of_voice = voice
            .iter()
            .filter_map(|(id, count)| {
                let topic = by_id.get(id)?;
                Some(VoiceBar {
                    id: id.get(),
                    name: topic.name.clone(),
                    kind: t
                        .lookup(&format!("topic_kind.{}", topic.kind.as_str()))
                        .unwrap_or(topic.kind.as_str()),
                    count: t.number(*count),
                    percent: share_percent(*count, voice_total),
                    share: t.percent(share_percent(*count, voice_total)),
                    link: link(&format!("topic={id}")),
                })
            })
            .collect();

        let negative_filter = MentionFilter {
            sentiment: Some(SentimentLabel::Negative),
            limit: NEGATIVE_PREVIEW,
            ..range.filter(formats)
        };
        let negative = store
            .mentions()
            .list(workspace, &negative_filter)
            .await?
            .into_iter()
            .map(|mention| {
                let (author, author_key) = match &mention.author {
                    Some(author) => (
                        author.name.clone().unwrap_or_else(|| author.handle.clone()),
                        author.handle.clone(),
                    ),
                    None => (t.get("mentions.no_author").to_owned(), String::new()),
                };
                MentionPreview {
                    author,
                    author_key,
                    text: preview(&mention.text, 180),
                    when: formats.label(mention.published_at),
                    link: format!(
                        "{mentions_page}?sentiment=negative&{}#mention-{}",
                        range.query(),
                        mention.id
                    ),
                }
            })
            .collect();

        Ok(ListeningFigures {
            period_label: format!("{} – {}", formats.day(range.from), formats.day(range.to)),
            kpis,
            volume,
            sentiment_chart,
            sentiment,
            total,
            top_topics,
            share_of_voice,
            voice_total,
            attention,
            negative,
            negative_link: link("sentiment=negative"),
            mentions_link: link(""),
            has_topics: !topics.is_empty(),
            has_voice_topics: topics.iter().any(is_voice),
            has_sources: !sources.is_empty(),
            can_configure: access.allows(Permission::Configure),
        })
    }
}

fn sign(value: i64) -> &'static str {
    match value {
        v if v > 0 => "+",
        v if v < 0 => "\u{2212}",
        _ => "",
    }
}

/// `+42` / `−8`, the number written in the reader's language.
fn signed(t: Translator, value: i64) -> String {
    format!("{}{}", sign(value), t.number(value.abs()))
}

/// The first `max` characters of `text`, cut at a word, with an ellipsis.
pub fn preview(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max).collect();
    let at_word = cut
        .rfind(char::is_whitespace)
        .map_or(cut.as_str(), |end| &cut[..end]);
    format!("{}…", at_word.trim_end_matches([',', ';', ':', '.', ' ']))
}

/// Every source and account that is not working, worst first.
pub fn attention_items(
    t: Translator,
    formats: &Formats,
    slug: &str,
    sources: &[Source],
    accounts: &[atalaya_domain::NetworkAccount],
) -> Vec<Attention> {
    let mut items = Vec::new();
    for account in accounts {
        let (tone, icon) = match account.state {
            AccountState::Connected => continue,
            AccountState::NeedsReauth => ("error", "error"),
            AccountState::RateLimited => ("warn", "clock"),
        };
        items.push(Attention {
            tone,
            icon,
            title: t.fill(
                "dashboard.account_problem",
                &[
                    ("handle", &account.handle),
                    ("state", &state_label(t, formats, account)),
                ],
            ),
            when: None,
            text: account.state_code.as_deref().map(|code| {
                t.get(crate::listening::accounts::error_key(code))
                    .to_owned()
            }),
            link: format!("/w/{slug}/accounts"),
            link_label: t.get("dashboard.open_accounts"),
        });
    }
    for source in sources
        .iter()
        .filter(|source| source_needs_attention(source))
    {
        let failing =
            source.health == SourceHealth::Failing || source.health == SourceHealth::Disabled;
        items.push(Attention {
            tone: if failing { "error" } else { "warn" },
            icon: if failing { "error" } else { "warning" },
            title: t.fill(
                match source.health {
                    SourceHealth::Disabled => "dashboard.source_disabled",
                    SourceHealth::Failing => "dashboard.source_failing",
                    _ => "dashboard.source_degraded",
                },
                &[("name", &source.name)],
            ),
            text: source_error_message(t, source),
            when: source
                .last_polled_at
                .map(|at| t.fill("dashboard.checked_at", &[("when", &formats.relative(at))])),
            link: format!("/w/{slug}/sources#source-{}", source.id),
            link_label: t.get("dashboard.open_sources"),
        });
    }
    items.sort_by_key(|item| item.tone != "error");
    items
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
    fn net_sentiment_ignores_neutral_mentions() {
        assert_eq!(net_sentiment(0, 0), None);
        assert_eq!(net_sentiment(1, 3), Some(50));
        assert_eq!(net_sentiment(3, 1), Some(-50));
        assert_eq!(net_sentiment(0, 7), Some(100));
        assert_eq!(net_sentiment(2, 1), Some(-33));
    }

    #[test]
    fn previews_cut_at_a_word() {
        assert_eq!(preview("corto", 10), "corto");
        assert_eq!(preview("uno dos tres cuatro", 10), "uno dos…");
        assert_eq!(preview("café, leche y más", 8), "café…");
    }
}
