//! Dates and relative times as each interface language writes them, in the
//! workspace's time zone (numbers and plurals are [`Translator`]'s).
//!
//! Every time a page shows goes through [`Formats`]: `8 nov` / `Nov 8` for
//! days, `8 nov 2026, 14:05` / `Nov 8, 2026, 2:05 PM` for exact times, and
//! `hace 5 minutos` / `5 minutes ago` for recent ones, with the exact time (and
//! the zone) on hover. Day filters (`YYYY-MM-DD`) are days of the workspace's
//! zone too, so "today" means the same day on the page and in the counts,
//! across daylight-saving changes.

use atalaya_domain::{Timestamp, UiLang};
use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::i18n::Translator;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

const MONTHS_ES: [&str; 12] = [
    "ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic",
];
const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The zone used when a workspace names none we know.
pub const DEFAULT_TIME_ZONE: &str = "UTC";

/// Whether `name` is an IANA time zone the bundled database knows.
pub fn is_time_zone(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && TimeZone::get(name).is_ok()
}

/// Every time zone name a person may choose, sorted (`UTC` first).
pub fn time_zone_names() -> Vec<String> {
    let mut names: Vec<String> = jiff::tz::db()
        .available()
        .map(|name| name.to_string())
        // Legacy aliases (`US/Eastern`, `Etc/GMT+3`, `EST5EDT`) confuse more than they help.
        .filter(|name| {
            name.contains('/')
                && !name.starts_with("Etc/")
                && !name.starts_with("US/")
                && !name.starts_with("SystemV/")
        })
        .collect();
    names.sort();
    names.insert(0, String::from(DEFAULT_TIME_ZONE));
    names
}

/// A moment as a `<time>` element shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeLabel {
    /// RFC 3339 with the zone's offset, for `datetime`.
    pub iso: String,
    /// The exact local time and the zone, for `title`.
    pub exact: String,
    /// What the reader sees: relative when recent, a date otherwise.
    pub shown: String,
}

/// Formats moments for one reader: their language, the workspace's zone, and now.
#[derive(Debug, Clone)]
pub struct Formats {
    t: Translator,
    tz: TimeZone,
    tz_name: String,
    now: Timestamp,
}

impl Formats {
    /// `tz_name` falls back to UTC when unknown (a value stored before a zone
    /// was renamed must not break every page).
    pub fn new(t: Translator, tz_name: &str, now: Timestamp) -> Formats {
        let (tz, tz_name) = match TimeZone::get(tz_name) {
            Ok(tz) => (tz, tz_name.to_owned()),
            Err(_) => (TimeZone::UTC, String::from(DEFAULT_TIME_ZONE)),
        };
        Formats {
            t,
            tz,
            tz_name,
            now,
        }
    }

    pub fn t(&self) -> Translator {
        self.t
    }

    pub fn now(&self) -> Timestamp {
        self.now
    }

    pub fn time_zone_name(&self) -> &str {
        &self.tz_name
    }

    fn zoned(&self, at: Timestamp) -> jiff::Zoned {
        let moment =
            jiff::Timestamp::from_millisecond(at.millis()).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        moment.to_zoned(self.tz.clone())
    }

    /// The local calendar day of `at`.
    pub fn day_of(&self, at: Timestamp) -> Date {
        self.zoned(at).date()
    }

    /// Today in the workspace's zone.
    pub fn today(&self) -> Date {
        self.day_of(self.now)
    }

    /// The first instant of `day` in the workspace's zone (not always 00:00:
    /// some zones skip midnight when daylight saving starts).
    pub fn start_of(&self, day: Date) -> Timestamp {
        day.to_zoned(self.tz.clone())
            .map(|zoned| Timestamp(zoned.timestamp().as_millisecond()))
            .unwrap_or(Timestamp(0))
    }

    /// `[start of from, start of the day after to)`: whole local days.
    pub fn days_bounds(&self, from: Date, to: Date) -> (Timestamp, Timestamp) {
        let after = to.tomorrow().unwrap_or(to);
        (self.start_of(from), self.start_of(after))
    }

    /// A `YYYY-MM-DD` day of the workspace's zone.
    pub fn parse_day(text: &str) -> Option<Date> {
        let date: Date = text.trim().parse().ok()?;
        (1970..=9999).contains(&date.year()).then_some(date)
    }

    /// `8 nov` / `Nov 8`, with the year when it is not this year's.
    pub fn day(&self, day: Date) -> String {
        let month = usize::try_from(day.month() - 1).unwrap_or(0);
        let with_year = day.year() != self.today().year();
        match (self.t.lang(), with_year) {
            (UiLang::Es, false) => format!("{} {}", day.day(), MONTHS_ES[month]),
            (UiLang::Es, true) => format!("{} {} {}", day.day(), MONTHS_ES[month], day.year()),
            (UiLang::En, false) => format!("{} {}", MONTHS_EN[month], day.day()),
            (UiLang::En, true) => format!("{} {}, {}", MONTHS_EN[month], day.day(), day.year()),
        }
    }

    /// The day of `at`, as [`Formats::day`].
    pub fn date(&self, at: Timestamp) -> String {
        self.day(self.day_of(at))
    }

    /// `14:05` / `2:05 PM`.
    pub fn clock(&self, at: Timestamp) -> String {
        let zoned = self.zoned(at);
        let (hour, minute) = (zoned.hour(), zoned.minute());
        match self.t.lang() {
            UiLang::Es => format!("{hour:02}:{minute:02}"),
            UiLang::En => {
                let suffix = if hour < 12 { "AM" } else { "PM" };
                let hour = match hour % 12 {
                    0 => 12,
                    other => other,
                };
                format!("{hour}:{minute:02} {suffix}")
            }
        }
    }

    /// `8 nov 2026, 14:05` / `Nov 8, 2026, 2:05 PM`: always with the year.
    pub fn date_time(&self, at: Timestamp) -> String {
        let day = self.day_of(at);
        let month = usize::try_from(day.month() - 1).unwrap_or(0);
        let clock = self.clock(at);
        match self.t.lang() {
            UiLang::Es => format!("{} {} {}, {clock}", day.day(), MONTHS_ES[month], day.year()),
            UiLang::En => format!(
                "{} {}, {}, {clock}",
                MONTHS_EN[month],
                day.day(),
                day.year()
            ),
        }
    }

    /// `hace 5 minutos`, `ayer, 14:05`, `en 3 horas`… and a date beyond a week.
    pub fn relative(&self, at: Timestamp) -> String {
        let t = self.t;
        let delta = self.now.millis() - at.millis();
        let distance = delta.abs();
        let past = delta >= 0;
        if distance < 45_000 {
            return t.get("time.just_now").to_owned();
        }
        let (key_past, key_future, amount) = if distance < 45 * MINUTE {
            (
                "time.minutes_ago",
                "time.in_minutes",
                (distance + MINUTE / 2) / MINUTE,
            )
        } else if distance < 22 * HOUR {
            (
                "time.hours_ago",
                "time.in_hours",
                (distance + HOUR / 2) / HOUR,
            )
        } else {
            let today = self.today();
            let day = self.day_of(at);
            let days = i64::from((today - day).get_days());
            if days == 1 {
                return t.fill("time.yesterday_at", &[("time", &self.clock(at))]);
            }
            if days == -1 {
                return t.fill("time.tomorrow_at", &[("time", &self.clock(at))]);
            }
            if days.abs() >= 7 {
                return self.date(at);
            }
            ("time.days_ago", "time.in_days", days.abs())
        };
        t.count(if past { key_past } else { key_future }, amount.max(1))
    }

    /// Everything a `<time>` element needs.
    pub fn label(&self, at: Timestamp) -> TimeLabel {
        let zoned = self.zoned(at);
        TimeLabel {
            iso: zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
            exact: format!("{} ({})", self.date_time(at), self.tz_name),
            shown: self.relative(at),
        }
    }

    /// Like [`Formats::label`], showing the exact time instead of a relative one
    /// (activity logs, where "when exactly" is the point).
    pub fn exact_label(&self, at: Timestamp) -> TimeLabel {
        TimeLabel {
            shown: self.date_time(at),
            ..self.label(at)
        }
    }

    /// The offset of the zone from UTC at `at`, in seconds (for charts).
    pub fn offset_seconds(&self, at: Timestamp) -> i32 {
        self.zoned(at).offset().seconds()
    }

    /// Whether every offset this zone uses is a whole hour, so hourly buckets
    /// can be folded into local days exactly; otherwise callers use 15 minutes.
    pub fn whole_hour_offsets(&self, from: Timestamp, to: Timestamp) -> bool {
        self.offset_seconds(from) % 3600 == 0 && self.offset_seconds(to) % 3600 == 0
    }
}

/// The buckets [`Formats::local_days`] folds into days.
pub fn bucket_millis(whole_hours: bool) -> i64 {
    if whole_hours { HOUR } else { 15 * MINUTE }
}

impl Formats {
    /// Each local day from `from` to `to` inclusive, with its first instant.
    pub fn days(&self, from: Date, to: Date) -> Vec<(Date, Timestamp)> {
        let mut days = Vec::new();
        let mut day = from;
        while day <= to && days.len() < 4_000 {
            days.push((day, self.start_of(day)));
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
        days
    }

    /// The index in `days` (as from [`Formats::days`]) of the local day that
    /// the UTC bucket starting at `bucket_start` belongs to.
    pub fn day_index(&self, days: &[(Date, Timestamp)], bucket_start: Timestamp) -> Option<usize> {
        let day = self.day_of(bucket_start);
        days.binary_search_by(|(candidate, _)| candidate.cmp(&day))
            .ok()
    }
}

/// The number of whole days between two timestamps, for "last N days" periods.
pub fn whole_days(from: Timestamp, to: Timestamp) -> i64 {
    (to.millis() - from.millis()).div_euclid(DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        let moment: jiff::Timestamp = text.parse().expect("a valid RFC 3339 time");
        Timestamp(moment.as_millisecond())
    }

    fn formats(lang: UiLang, tz: &str, now: &str) -> Formats {
        Formats::new(Translator::new(lang), tz, at(now))
    }

    #[test]
    fn days_and_times_per_language() {
        let es = formats(UiLang::Es, "Europe/Madrid", "2026-11-20T12:00:00Z");
        let en = formats(UiLang::En, "Europe/Madrid", "2026-11-20T12:00:00Z");
        let moment = at("2026-11-08T13:05:00Z");
        assert_eq!(es.date(moment), "8 nov");
        assert_eq!(en.date(moment), "Nov 8");
        assert_eq!(es.date_time(moment), "8 nov 2026, 14:05");
        assert_eq!(en.date_time(moment), "Nov 8, 2026, 2:05 PM");
        assert_eq!(es.date(at("2025-09-03T10:00:00Z")), "3 sept 2025");
        assert_eq!(en.date(at("2025-09-03T10:00:00Z")), "Sep 3, 2025");
        assert_eq!(en.clock(at("2026-11-08T23:30:00Z")), "12:30 AM");
    }

    #[test]
    fn relative_times_use_plurals() {
        let es = formats(UiLang::Es, "Europe/Madrid", "2026-11-20T12:00:00Z");
        let en = formats(UiLang::En, "Europe/Madrid", "2026-11-20T12:00:00Z");
        let check = |f: &Formats, then: &str, expected: &str| {
            assert_eq!(f.relative(at(then)), expected, "{then}");
        };
        check(&es, "2026-11-20T11:59:50Z", "ahora mismo");
        check(&es, "2026-11-20T11:59:00Z", "hace 1 minuto");
        check(&es, "2026-11-20T11:55:00Z", "hace 5 minutos");
        check(&en, "2026-11-20T11:55:00Z", "5 minutes ago");
        check(&en, "2026-11-20T11:59:00Z", "1 minute ago");
        check(&es, "2026-11-20T09:00:00Z", "hace 3 horas");
        check(&es, "2026-11-19T09:00:00Z", "ayer, 10:00");
        check(&en, "2026-11-19T09:00:00Z", "yesterday, 10:00 AM");
        check(&es, "2026-11-17T09:00:00Z", "hace 3 días");
        check(&en, "2026-11-17T09:00:00Z", "3 days ago");
        check(&es, "2026-11-01T09:00:00Z", "1 nov");
        check(&es, "2026-11-20T12:05:00Z", "en 5 minutos");
        check(&en, "2026-11-20T15:00:00Z", "in 3 hours");
    }

    #[test]
    fn local_days_follow_daylight_saving() {
        // Madrid leaves summer time on 2026-10-25: that day lasts 25 hours.
        let es = formats(UiLang::Es, "Europe/Madrid", "2026-11-20T12:00:00Z");
        let day = |text: &str| Formats::parse_day(text).expect("a day");
        let (start, end) = es.days_bounds(day("2026-10-25"), day("2026-10-25"));
        assert_eq!(start, at("2026-10-24T22:00:00Z"));
        assert_eq!(end, at("2026-10-25T23:00:00Z"));
        assert_eq!(end.millis() - start.millis(), 25 * HOUR);
        // A mention at 23:30 UTC on the 25th is on the 26th in Madrid.
        assert_eq!(es.day_of(at("2026-10-25T23:30:00Z")), day("2026-10-26"));
    }

    #[test]
    fn unknown_zones_fall_back_to_utc() {
        let f = formats(UiLang::En, "Mars/Olympus_Mons", "2026-11-20T12:00:00Z");
        assert_eq!(f.time_zone_name(), "UTC");
        assert!(!is_time_zone("Mars/Olympus_Mons"));
        assert!(is_time_zone("America/Argentina/Buenos_Aires"));
        let names = time_zone_names();
        assert_eq!(names.first().map(String::as_str), Some("UTC"));
        assert!(names.iter().any(|name| name == "Europe/Madrid"));
        assert!(!names.iter().any(|name| name.starts_with("Etc/")));
    }

    #[test]
    fn labels_carry_the_offset_and_the_zone() {
        let es = formats(UiLang::Es, "America/Mexico_City", "2026-11-20T12:00:00Z");
        let label = es.label(at("2026-11-20T11:55:00Z"));
        assert_eq!(label.iso, "2026-11-20T05:55:00-06:00");
        assert_eq!(label.exact, "20 nov 2026, 05:55 (America/Mexico_City)");
        assert_eq!(label.shown, "hace 5 minutos");
    }
}
