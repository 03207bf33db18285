//! What matching costs: the denial of service of issue 11 (a phrase of
//! thousands of repeated words over a long text kept both cores busy for
//! minutes) as regression tests, and properties that bound the work of any
//! query on any text. Work is counted in the matcher's work units, not time.
#![allow(clippy::unwrap_used)]

use atalaya_text::query::{
    ANALYSED_TEXT_CHARS, Document, MatchLimits, Matches, QuerySet, TooExpensive, parse,
};
use proptest::prelude::*;

fn run(query: &str, text: &str, limits: MatchLimits) -> Matches<u8> {
    let parsed = parse(query).unwrap_or_else(|error| panic!("{query:?}: {error}"));
    QuerySet::compile([(0_u8, parsed)])
        .with_limits(limits)
        .matches(&Document::new(text))
}

/// Work per analysed character of `text`.
fn per_char(matches: &Matches<u8>, text: &str) -> f64 {
    let analysed = text[..matches.analysed_bytes].chars().count().max(1);
    matches.work as f64 / analysed as f64
}

/// Either the topic was refused as too expensive or it was decided; in both
/// cases its evaluation stayed within the budget, and the shared steps
/// (tokens, hits, wildcards) within a few units per character and query byte.
fn assert_bounded(query: &str, matches: &Matches<u8>, text: &str) {
    let analysed = text[..matches.analysed_bytes].chars().count() as u64;
    let limit = MatchLimits::DEFAULT.work_limit(analysed as usize);
    let evaluation = matches.work - matches.shared_work;
    assert!(
        evaluation <= limit,
        "evaluation work {evaluation} over the budget {limit}"
    );
    let shared_bound = 4 * (analysed + 1) * (query.len() as u64 + 1);
    assert!(
        matches.shared_work <= shared_bound,
        "shared work {} over {shared_bound}",
        matches.shared_work
    );
}

#[test]
fn a_phrase_of_two_thousand_repeated_words_over_a_long_text_is_bounded() {
    // The request of issue 11, in shape: one phrase of ~2,000 repeated words
    // (within the 4,000-character query limit) and a 100,000-character text.
    let query = format!("\"{}\"", vec!["a"; 1_999].join(" "));
    assert!(query.chars().count() <= 4_000);
    let text = "a ".repeat(50_000);
    assert_eq!(text.len(), 100_000);
    let matches = run(&query, &text, MatchLimits::DEFAULT);
    assert_bounded(&query, &matches, &text);
    // Only the analysed prefix was read.
    assert!(matches.analysed_bytes <= ANALYSED_TEXT_CHARS);
    // Unmetered, the work is still linear: a few units per character.
    let unmetered = run(&query, &text, MatchLimits::UNMETERED);
    assert_eq!(unmetered.found.len(), 1);
    assert!(
        per_char(&unmetered, &text) < 200.0,
        "{}",
        per_char(&unmetered, &text)
    );
}

#[test]
fn a_hundred_phrases_of_fifty_words_over_eight_thousand_words_are_bounded() {
    // `atalaya query check` of issue 11: 100 phrases of 50 words over 8,000
    // words took more than 20 s. Both joined by OR (each one explained) and by
    // AND (each one required).
    let phrase = format!("\"{}\"", vec!["eco"; 50].join(" "));
    let text = vec!["eco"; 8_000].join(" ");
    for operator in [" OR ", " AND "] {
        let query = vec![phrase.as_str(); 100].join(operator);
        let matches = run(&query, &text, MatchLimits::DEFAULT);
        assert_bounded(&query, &matches, &text);
        let unmetered = run(&query, &text, MatchLimits::UNMETERED);
        assert_eq!(unmetered.found.len(), 1, "{operator}");
        assert!(
            per_char(&unmetered, &text) < 20_000.0,
            "{operator}: {}",
            per_char(&unmetered, &text)
        );
    }
    // Distinct phrases over a text that contains each of them.
    let words: Vec<String> = (0..150).map(|index| format!("w{index}")).collect();
    let phrases: Vec<String> = (0..100)
        .map(|start| format!("\"{}\"", words[start..start + 50].join(" ")))
        .collect();
    let text = vec![words.join(" "); 53].join(" ");
    let query = phrases.join(" AND ");
    let matches = run(&query, &text, MatchLimits::DEFAULT);
    assert_bounded(&query, &matches, &text);
}

#[test]
fn near_with_a_huge_distance_on_a_text_full_of_its_words_is_refused() {
    // Every pair of a thousand occurrences is within NEAR/1000000, and a
    // NEAR around it needs their stretches: more than any budget allows.
    let text = "precio alto ".repeat(1_500);
    let query = "(precio NEAR/1000000 alto) NEAR/0 precio".to_owned();
    let matches = run(&query, &text, MatchLimits::DEFAULT);
    assert_eq!(matches.too_expensive, [0]);
    assert!(matches.found.is_empty());
    assert_bounded(&query, &matches, &text);
    // Deciding a single NEAR needs no stretches: it is never refused.
    let matches = run("precio NEAR/1000000 alto", &text, MatchLimits::DEFAULT);
    assert!(matches.too_expensive.is_empty());
    assert_eq!(matches.found.len(), 1);
}

#[test]
fn too_expensive_explains_itself_in_both_languages() {
    let error = TooExpensive {
        limit: 10,
        chars: 20,
    };
    use atalaya_text::query::MessageLang;
    assert!(error.message(MessageLang::En).contains("too expensive"));
    assert!(error.message(MessageLang::Es).contains("demasiado costosa"));
}

#[test]
fn text_past_the_analysed_prefix_is_not_matched() {
    let text = format!("{} zara", "x ".repeat(ANALYSED_TEXT_CHARS));
    let matches = run("zara", &text, MatchLimits::DEFAULT);
    assert!(matches.found.is_empty());
    assert!(matches.analysed_bytes < text.len());
    let text = format!("zara {}", "x ".repeat(ANALYSED_TEXT_CHARS));
    assert_eq!(run("zara", &text, MatchLimits::DEFAULT).found.len(), 1);
}

/// Queries built to be expensive: long phrases of few distinct words, many
/// phrases, NEAR chains, wildcards and hyphens, all over the same words.
fn adversarial_query() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        Just("a"),
        Just("b"),
        Just("a*"),
        Just("a-b"),
        Just("ab"),
        Just("*b"),
    ];
    let phrase = prop::collection::vec(word.clone(), 1..120)
        .prop_map(|words| format!("\"{}\"", words.join(" ")));
    let leaf = prop_oneof![word.prop_map(str::to_owned), phrase];
    leaf.prop_recursive(4, 60, 12, |inner| {
        prop_oneof![
            (inner.clone(), 0..4_u32, inner.clone())
                .prop_map(|(left, distance, right)| format!("({left}) NEAR/{distance} ({right})")),
            prop::collection::vec(inner.clone(), 2..12)
                .prop_map(|items| format!("({})", items.join(" OR "))),
            prop::collection::vec(inner, 2..6)
                .prop_map(|items| format!("({})", items.join(" AND "))),
        ]
    })
}

/// A short text of the same words; the property repeats it.
fn adversarial_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("a"),
        Just("b"),
        Just("ab"),
        Just("a-b"),
        Just("a-a-b"),
        Just("b-a"),
    ];
    prop::collection::vec(piece, 1..40).prop_map(|pieces| pieces.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Linear in the text: four times the text costs at most about four times
    /// the work (a rescan per candidate, as before issue 11, costs sixteen
    /// times), so the work per character does not grow with the text.
    #[test]
    fn work_grows_linearly_with_the_text(query in adversarial_query(), text in adversarial_text()) {
        prop_assume!(parse(&query).is_ok());
        let once = [text.as_str(); 8].join(" ");
        let four_times = vec![text.as_str(); 32].join(" ");
        let small = run(&query, &once, MatchLimits::UNMETERED);
        let large = run(&query, &four_times, MatchLimits::UNMETERED);
        prop_assert!(small.too_expensive.is_empty() && large.too_expensive.is_empty());
        // Sorting adds a logarithmic factor: allow 6× rather than 4×.
        prop_assert!(
            large.work <= 6 * small.work + 1_000,
            "{} units on {} characters, {} on {}",
            small.work, once.len(), large.work, four_times.len()
        );
    }

    /// The budget changes no answer: with the real limits a topic is refused
    /// exactly when its evaluation needs more work than the budget (measured
    /// unmetered), and otherwise matches exactly as without limits.
    #[test]
    fn the_budget_refuses_exactly_what_needs_more_than_it(
        query in adversarial_query(),
        text in adversarial_text(),
        copies in 1..40_usize,
        distance in prop_oneof![Just(0_u32), Just(1_000_000_u32)],
    ) {
        let query = format!("({query}) NEAR/{distance} (a OR b)");
        prop_assume!(parse(&query).is_ok());
        let text = vec![text.as_str(); copies].join(" ");
        let metered = run(&query, &text, MatchLimits::DEFAULT);
        assert_bounded(&query, &metered, &text);
        let unmetered = run(&query, &text, MatchLimits::UNMETERED);
        let needed = unmetered.work - unmetered.shared_work;
        let limit = MatchLimits::DEFAULT.work_limit(text.chars().count());
        if needed <= limit {
            prop_assert!(metered.too_expensive.is_empty());
            prop_assert_eq!(metered.found, unmetered.found);
            prop_assert_eq!(metered.work, unmetered.work);
        } else {
            prop_assert_eq!(metered.too_expensive, vec![0]);
            prop_assert!(metered.found.is_empty());
        }
    }
}
