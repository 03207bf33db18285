//! Dates as feeds write them: RFC 822/2822 and RFC 3339 as the specifications
//! say, and the forms real feeds use instead (`2004-01-07 19:48:21`,
//! `05 Jan 2004`, `January 5, 2004`, `07-Jan-04`, asctime, named US zones…).
//!
//! A date none of these reads stays unknown: the caller records that the
//! entry's date could not be read instead of inventing one.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// Reads a feed date; `None` when it is not a date we recognise.
pub(crate) fn parse_date(raw: &str) -> Option<DateTime<Utc>> {
    let text = raw.trim();
    if text.is_empty() || text.len() > 100 {
        return None;
    }
    iso_8601(text).or_else(|| worded(text))
}

/// `YYYY[-MM[-DD]]` then optionally `T` or a space, `hh:mm[:ss[.fff]]` and a
/// zone (`Z`, `±hh:mm`, `±hhmm`, `±hh`, `UTC`, `GMT`); no zone is UTC.
fn iso_8601(text: &str) -> Option<DateTime<Utc>> {
    let mut cursor = Cursor::new(text);
    let year = cursor.digits(4, 4)?;
    let (month, day) = if cursor.eat('-') {
        let month = cursor.digits(2, 2)?;
        let day = if cursor.eat('-') {
            cursor.digits(2, 2)?
        } else {
            1
        };
        (month, day)
    } else if cursor.rest().len() >= 4 && cursor.rest().as_bytes()[0].is_ascii_digit() {
        // The basic form, `20040107`.
        (cursor.digits(2, 2)?, cursor.digits(2, 2)?)
    } else {
        (1, 1)
    };
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    let mut time = NaiveTime::MIN;
    if cursor.eat('T') || cursor.eat('t') || cursor.eat(' ') {
        cursor.skip_spaces();
        let hour = cursor.digits(1, 2)?;
        // `19:48` or the basic `1948`.
        cursor.eat(':');
        let minute = cursor.digits(2, 2)?;
        let mut second = 0;
        if cursor.eat(':') || cursor.rest().starts_with(|c: char| c.is_ascii_digit()) {
            second = cursor.digits(2, 2)?;
        }
        let mut nanos = 0;
        if cursor.eat('.') || cursor.eat(',') {
            let fraction = cursor.take_while(|c| c.is_ascii_digit());
            if fraction.is_empty() {
                return None;
            }
            let padded: String = fraction
                .chars()
                .chain(std::iter::repeat('0'))
                .take(9)
                .collect();
            nanos = padded.parse().ok()?;
        }
        time = NaiveTime::from_hms_nano_opt(hour, minute, second.min(59), nanos)?;
    }
    cursor.skip_spaces();
    let offset = zone(cursor.rest())?;
    at(date.and_time(time), offset)
}

/// Day, month name, year, time and zone in any order the common forms use,
/// with weekday names ignored.
fn worded(text: &str) -> Option<DateTime<Utc>> {
    let mut day = None;
    let mut month = None;
    let mut year = None;
    let mut time = None;
    let mut offset = None;
    let mut tokens: Vec<&str> = Vec::new();
    for token in text.split(|c: char| c.is_whitespace() || c == ',') {
        if token.is_empty() {
            continue;
        }
        // `07-Jan-04` (RFC 850) and `7/Jan/2004` are three tokens.
        if token.contains(['-', '/']) && token.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            tokens.extend(token.split(['-', '/']).filter(|part| !part.is_empty()));
        } else {
            tokens.push(token);
        }
    }
    let mut index = 0;
    while index < tokens.len() {
        let token = tokens[index];
        index += 1;
        let lower = token.trim_end_matches('.').to_lowercase();
        if let Some(number) = month_number(&lower) {
            if month.is_some() {
                return None;
            }
            month = Some(number);
            continue;
        }
        if is_weekday(&lower) || matches!(lower.as_str(), "at" | "de" | "del" | "the") {
            continue;
        }
        if token.contains(':') {
            if time.is_some() {
                return None;
            }
            let mut parsed = clock(token)?;
            // `7:48 pm`
            if let Some(next) = tokens.get(index).map(|next| next.to_ascii_lowercase())
                && (next == "pm" || next == "am")
            {
                index += 1;
                parsed.0 = parsed.0 % 12 + if next == "pm" { 12 } else { 0 };
            }
            time = Some(NaiveTime::from_hms_opt(parsed.0, parsed.1, parsed.2)?);
            continue;
        }
        if let Some(zone_offset) = named_or_numeric_zone(token) {
            if offset.is_some() {
                return None;
            }
            offset = Some(zone_offset);
            continue;
        }
        let digits = token.trim_end_matches(['.', 's', 't', 'h', 'n', 'd', 'r']);
        if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
            let value: u32 = digits.parse().ok()?;
            if digits.len() == 4 && year.is_none() {
                year = Some(i32::try_from(value).ok()?);
            } else if digits.len() <= 2 && day.is_none() && value >= 1 {
                day = Some(value);
            } else if digits.len() == 2 && year.is_none() {
                // Two-digit years (RFC 822): 00–49 are this century.
                year = Some(if value < 50 { 2000 } else { 1900 } + i32::try_from(value).ok()?);
            } else {
                return None;
            }
            continue;
        }
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year?, month?, day?)?;
    at(
        date.and_time(time.unwrap_or(NaiveTime::MIN)),
        offset.unwrap_or(0),
    )
}

fn at(local: NaiveDateTime, offset_seconds: i32) -> Option<DateTime<Utc>> {
    let offset = FixedOffset::east_opt(offset_seconds)?;
    offset
        .from_local_datetime(&local)
        .single()
        .map(|time| time.with_timezone(&Utc))
}

/// `hh:mm[:ss]` (seconds may carry a fraction, dropped).
fn clock(token: &str) -> Option<(u32, u32, u32)> {
    let mut parts = token.split(':');
    let hour: u32 = parts.next()?.parse().ok()?;
    let minute: u32 = parts.next()?.parse().ok()?;
    let second: u32 = match parts.next() {
        Some(second) => second.split(['.', ',']).next()?.parse().ok()?,
        None => 0,
    };
    if parts.next().is_some() {
        return None;
    }
    // Some feeds write `24:00` for midnight.
    Some((if hour == 24 { 0 } else { hour }, minute, second.min(59)))
}

/// A zone after an ISO time: nothing (UTC), `Z`, `UTC`/`GMT`, `±hh[:mm]`.
fn zone(rest: &str) -> Option<i32> {
    let rest = rest.trim();
    if rest.is_empty() {
        return Some(0);
    }
    named_or_numeric_zone(rest)
}

fn named_or_numeric_zone(token: &str) -> Option<i32> {
    let upper = token.to_ascii_uppercase();
    let hours = match upper.as_str() {
        "Z" | "UT" | "UTC" | "GMT" | "WET" => Some(0),
        "EST" => Some(-5),
        "EDT" | "CST" => Some(if upper == "EDT" { -4 } else { -6 }),
        "CDT" | "MST" => Some(if upper == "CDT" { -5 } else { -7 }),
        "MDT" | "PST" => Some(if upper == "MDT" { -6 } else { -8 }),
        "PDT" => Some(-7),
        "CET" | "BST" | "WEST" => Some(1),
        "CEST" | "EET" => Some(2),
        "EEST" => Some(3),
        _ => None,
    };
    if let Some(hours) = hours {
        return Some(hours * 3600);
    }
    // `+0100`, `-05:00`, `+01`, and `GMT+1` style.
    let numeric = upper
        .strip_prefix("GMT")
        .or_else(|| upper.strip_prefix("UTC"))
        .unwrap_or(&upper);
    let (sign, digits) = match numeric.as_bytes().first()? {
        b'+' => (1, &numeric[1..]),
        b'-' => (-1, &numeric[1..]),
        _ => return None,
    };
    let digits = digits.replace(':', "");
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (hours, minutes): (i32, i32) = match digits.len() {
        1 | 2 => (digits.parse().ok()?, 0),
        4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?),
        _ => return None,
    };
    (hours <= 14 && minutes < 60).then_some(sign * (hours * 3600 + minutes * 60))
}

fn month_number(lower: &str) -> Option<u32> {
    const MONTHS: [(&str, &str); 12] = [
        ("jan", "ene"),
        ("feb", "feb"),
        ("mar", "mar"),
        ("apr", "abr"),
        ("may", "may"),
        ("jun", "jun"),
        ("jul", "jul"),
        ("aug", "ago"),
        ("sep", "sep"),
        ("oct", "oct"),
        ("nov", "nov"),
        ("dec", "dic"),
    ];
    if lower.chars().count() < 3 || !lower.chars().all(char::is_alphabetic) {
        return None;
    }
    let head: String = lower.chars().take(3).collect();
    let full_names = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "setiembre",
        "octubre",
        "noviembre",
        "diciembre",
        "sept",
    ];
    if lower.len() > 3 && !full_names.contains(&lower) {
        return None;
    }
    MONTHS
        .iter()
        .position(|&(english, spanish)| {
            head == english || head == spanish || (head == "set" && english == "sep")
        })
        .and_then(|index| u32::try_from(index + 1).ok())
}

fn is_weekday(lower: &str) -> bool {
    const DAYS: [&str; 14] = [
        "mon", "tue", "wed", "thu", "fri", "sat", "sun", "lun", "mié", "mie", "jue", "vie", "sáb",
        "dom",
    ];
    let head: String = lower.chars().take(3).collect();
    lower.chars().count() >= 3
        && lower.chars().all(char::is_alphabetic)
        && DAYS.contains(&head.as_str())
}

/// A tiny scanner over ASCII dates.
struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Cursor<'a> {
        Cursor { text, at: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn eat(&mut self, expected: char) -> bool {
        if self.rest().starts_with(expected) {
            self.at += expected.len_utf8();
            true
        } else {
            false
        }
    }

    fn skip_spaces(&mut self) {
        self.take_while(|c| c == ' ');
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let rest = self.rest();
        let end = rest.find(|c: char| !keep(c)).unwrap_or(rest.len());
        self.at += end;
        &rest[..end]
    }

    /// Between `min` and `max` ASCII digits, as a number.
    fn digits(&mut self, min: usize, max: usize) -> Option<u32> {
        let rest = self.rest();
        let length = rest
            .bytes()
            .take(max)
            .take_while(u8::is_ascii_digit)
            .count();
        if length < min {
            return None;
        }
        self.at += length;
        rest[..length].parse().ok()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn check(raw: &str, expected: Option<&str>) {
        let parsed = parse_date(raw).map(|date| date.to_rfc3339());
        assert_eq!(parsed.as_deref(), expected, "{raw:?}");
    }

    #[test]
    fn the_forms_feeds_use() {
        let utc = Some("2004-01-07T19:48:21+00:00");
        check("2004-01-07 19:48:21", utc);
        check("2004-01-07T19:48:21Z", utc);
        check("2004-01-07T20:48:21+01:00", utc);
        check("2004-01-07T20:48:21+0100", utc);
        check(
            "2004-01-07T19:48:21.250Z",
            Some("2004-01-07T19:48:21.250+00:00"),
        );
        check("20040107T194821Z", utc);
        check("Wed, 07 Jan 2004 19:48:21 GMT", utc);
        check("Wed, 07 Jan 2004 14:48:21 EST", utc);
        check("Wednesday, 07-Jan-04 19:48:21 GMT", utc);
        check("07 Jan 2004 19:48:21 +0000", utc);
        check("Wed Jan  7 19:48:21 2004", utc);
        check("January 7, 2004 7:48:21 pm", utc);
        check("mié, 07 ene 2004 20:48:21 +0100", utc);
        let midnight = Some("2004-01-05T00:00:00+00:00");
        check("05 Jan 2004", midnight);
        check("2004-01-05", midnight);
        check("Jan 5, 2004", midnight);
        check("5 January 2004", midnight);
        check("2004-01", Some("2004-01-01T00:00:00+00:00"));
    }

    #[test]
    fn what_is_not_a_date_stays_unknown() {
        for raw in [
            "",
            "yesterday",
            "soon",
            "2004-13-01",
            "31 Feb 2004",
            "Jan Feb 2004",
            "12345",
            "2004-01-07T25:00:00Z",
            "07 Jan 2004 19:48:21 +9999",
        ] {
            check(raw, None);
        }
    }
}
