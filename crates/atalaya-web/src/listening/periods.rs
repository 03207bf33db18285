//! Periods of whole days in the workspace's time zone, and mention buckets
//! from the store folded into those days: what every per-day figure (the
//! dashboard, the mentions chart, the daily-stats API) counts with, so that
//! "8 November" means the same mentions everywhere.

use std::collections::BTreeMap;

use atalaya_domain::{SentimentLabel, Timestamp, TopicId};
use atalaya_store::{MentionFilter, SentimentBucket, TopicBucket};
use jiff::civil::Date;

use crate::formats::Formats;

/// Whole local days, `from` to `to` inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    pub from: Date,
    pub to: Date,
}

impl DayRange {
    /// The `days` days ending today (today included).
    pub fn last(formats: &Formats, days: i64) -> DayRange {
        let to = formats.today();
        let from = to
            .checked_sub(jiff::Span::new().days(days.clamp(1, 3660) - 1))
            .unwrap_or(to);
        DayRange { from, to }
    }

    /// The days from `from` to `to`, in order, when both parse and `from <= to`.
    pub fn parse(from: &str, to: &str) -> Option<DayRange> {
        let range = DayRange {
            from: Formats::parse_day(from)?,
            to: Formats::parse_day(to)?,
        };
        (range.from <= range.to).then_some(range)
    }

    /// How many days (at least one: `from <= to`).
    pub fn days_count(self) -> i64 {
        i64::from((self.to - self.from).get_days()) + 1
    }

    /// The same number of days just before.
    pub fn previous(self) -> DayRange {
        let to = self.from.yesterday().unwrap_or(self.from);
        let from = to
            .checked_sub(jiff::Span::new().days(self.days_count() - 1))
            .unwrap_or(to);
        DayRange { from, to }
    }

    /// `[first instant, first instant after)` in the workspace's zone.
    pub fn bounds(self, formats: &Formats) -> (Timestamp, Timestamp) {
        formats.days_bounds(self.from, self.to)
    }

    /// A store filter for these days (and nothing else).
    pub fn filter(self, formats: &Formats) -> MentionFilter {
        let (from, to) = self.bounds(formats);
        MentionFilter {
            from: Some(from),
            to: Some(to),
            ..MentionFilter::default()
        }
    }

    /// `from=YYYY-MM-DD&to=YYYY-MM-DD`, as the mentions page reads it.
    pub fn query(self) -> String {
        format!("from={}&to={}", self.from, self.to)
    }

    /// Every day, as `YYYY-MM-DD`.
    pub fn days(self) -> Vec<String> {
        let mut days = Vec::new();
        let mut day = self.from;
        while day <= self.to && days.len() < 4_000 {
            days.push(day.to_string());
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
        days
    }

    fn index_of(self, day: Date) -> Option<usize> {
        if day < self.from || day > self.to {
            return None;
        }
        usize::try_from((day - self.from).get_days()).ok()
    }
}

/// The days a per-day figure covers: the query's `from`/`to` when it names
/// them, otherwise the `default_days` ending today (or ending at `to`). At
/// most a year and a day, so a chart never asks for decades of buckets.
pub fn range_of(
    from: Option<&str>,
    to: Option<&str>,
    formats: &Formats,
    default_days: i64,
) -> Result<DayRange, crate::error::AppError> {
    use crate::error::AppError;
    fn present(text: Option<&str>) -> Option<&str> {
        text.map(str::trim).filter(|text| !text.is_empty())
    }
    let to = match present(to) {
        Some(text) => {
            Formats::parse_day(text).ok_or_else(|| AppError::field("to", "validation.date"))?
        }
        None => formats.today(),
    };
    let from = match present(from) {
        Some(text) => {
            Formats::parse_day(text).ok_or_else(|| AppError::field("from", "validation.date"))?
        }
        None => to
            .checked_sub(jiff::Span::new().days(default_days.max(1) - 1))
            .unwrap_or(to),
    };
    let range = DayRange { from, to };
    if from > to || range.days_count() > 366 {
        return Err(AppError::field("from", "validation.date_range"));
    }
    Ok(range)
}

/// The bucket width to ask the store for so that buckets fold into local days
/// exactly: hours, or quarter hours for zones with half-hour offsets.
pub fn bucket_width(formats: &Formats, range: DayRange) -> i64 {
    let (from, to) = range.bounds(formats);
    if formats.whole_hour_offsets(from, to) {
        3_600_000
    } else {
        900_000
    }
}

/// Mentions per day of `range` for each sentiment: `[negative, neutral, positive]`.
pub fn fold_sentiment(
    formats: &Formats,
    range: DayRange,
    buckets: &[SentimentBucket],
) -> [Vec<i64>; 3] {
    let days = usize::try_from(range.days_count()).unwrap_or(0);
    let mut counts = [vec![0; days], vec![0; days], vec![0; days]];
    for bucket in buckets {
        if let Some(index) = range.index_of(formats.day_of(bucket.start)) {
            let label = match bucket.sentiment {
                SentimentLabel::Negative => 0,
                SentimentLabel::Neutral => 1,
                SentimentLabel::Positive => 2,
            };
            counts[label][index] += bucket.count;
        }
    }
    counts
}

/// Mentions per day of `range` for each topic.
pub fn fold_topics(
    formats: &Formats,
    range: DayRange,
    buckets: &[TopicBucket],
) -> BTreeMap<TopicId, Vec<i64>> {
    let days = usize::try_from(range.days_count()).unwrap_or(0);
    let mut counts: BTreeMap<TopicId, Vec<i64>> = BTreeMap::new();
    for bucket in buckets {
        if let Some(index) = range.index_of(formats.day_of(bucket.start)) {
            counts
                .entry(bucket.topic_id)
                .or_insert_with(|| vec![0; days])[index] += bucket.count;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Translator;
    use atalaya_domain::UiLang;

    fn at(text: &str) -> Timestamp {
        let moment: jiff::Timestamp = text.parse().expect("a time");
        Timestamp(moment.as_millisecond())
    }

    #[test]
    fn ranges_are_whole_local_days() {
        let formats = Formats::new(
            Translator::new(UiLang::Es),
            "Europe/Madrid",
            at("2026-11-20T23:30:00Z"),
        );
        // 23:30 UTC is already the 21st in Madrid.
        let week = DayRange::last(&formats, 7);
        assert_eq!(week.query(), "from=2026-11-15&to=2026-11-21");
        assert_eq!(week.days_count(), 7);
        assert_eq!(week.previous().query(), "from=2026-11-08&to=2026-11-14");
        assert_eq!(
            week.bounds(&formats),
            (at("2026-11-14T23:00:00Z"), at("2026-11-21T23:00:00Z"))
        );
        assert_eq!(week.days().len(), 7);
        assert_eq!(DayRange::parse("2026-11-02", "2026-11-01"), None);
    }

    #[test]
    fn buckets_fold_into_the_local_day_they_belong_to() {
        let formats = Formats::new(
            Translator::new(UiLang::Es),
            "America/Mexico_City",
            at("2026-11-20T12:00:00Z"),
        );
        let range = DayRange::parse("2026-11-18", "2026-11-20").expect("days");
        let bucket = |start: &str, sentiment, count| SentimentBucket {
            start: at(start),
            sentiment,
            count,
        };
        let folded = fold_sentiment(
            &formats,
            range,
            &[
                // 03:00 UTC on the 19th is 21:00 on the 18th in Mexico City.
                bucket("2026-11-19T03:00:00Z", SentimentLabel::Negative, 2),
                bucket("2026-11-19T07:00:00Z", SentimentLabel::Negative, 1),
                bucket("2026-11-20T15:00:00Z", SentimentLabel::Positive, 4),
                // Outside the range: ignored.
                bucket("2026-11-17T03:00:00Z", SentimentLabel::Neutral, 9),
            ],
        );
        assert_eq!(folded, [vec![2, 1, 0], vec![0, 0, 0], vec![0, 0, 4]]);
        assert_eq!(bucket_width(&formats, range), 3_600_000);
        let kathmandu = Formats::new(
            Translator::new(UiLang::En),
            "Asia/Kathmandu",
            at("2026-11-20T12:00:00Z"),
        );
        assert_eq!(bucket_width(&kathmandu, range), 900_000);
    }
}
