//! Fuzzes query matching with a hostile query *and* a hostile text: the input
//! is split at its first NUL byte into the query and the mention's text. Any
//! query that parses must match any text without panicking, with spans inside
//! the text, and within its work budget (decided, or refused as too
//! expensive). Run it with a per-input time limit, so a slow input is a
//! finding too:
//!
//!   cargo +nightly fuzz run matcher -- -timeout=2 -max_len=65536

#![no_main]

use atalaya_text::query::{Document, MatchLimits, QuerySet, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    let (query, text) = input.split_once('\0').unwrap_or((input, input));
    let Ok(parsed) = parse(query) else {
        return;
    };
    let set = QuerySet::compile([(0_u8, parsed)]);
    let document = Document {
        text,
        author: Some(text),
        url: Some("https://news.example.com/a"),
        lang: Some("es"),
        source: Some("rss"),
    };
    let matches = set.matches(&document);
    assert!(matches.analysed_bytes <= text.len());
    for found in &matches.found {
        for span in &found.spans {
            assert!(text.get(span.range.clone()).is_some());
        }
    }
    // The topic's budget plus the shared steps (tokens, hits, wildcards).
    let analysed = text[..matches.analysed_bytes].chars().count();
    let limit = MatchLimits::DEFAULT.work_limit(analysed);
    let shared = 64 * (analysed as u64 + 1) * (query.len() as u64 + 1);
    assert!(matches.work <= limit.saturating_add(shared), "work {}", matches.work);
});
