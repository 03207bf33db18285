//! No input makes the text analysis panic.

use atalaya_text::corrections::Corrections;
use atalaya_text::normalize::{fold, nfc, tokenize};
use atalaya_text::{Lang, Polarity, shared};
use proptest::prelude::*;

fn exercise(text: &str) {
    let tokens = tokenize(text);
    for token in &tokens {
        assert!(text.get(token.span.clone()).is_some());
    }
    let _ = nfc(text);
    let _ = fold(text);
    let analysis = shared().analyze(text);
    assert!(analysis.sentiment.score.is_finite());
    assert!((0.0..=1.0).contains(&analysis.lang_confidence));
    let explanation = shared().explain(text, None);
    for c in &explanation.contributions {
        if let Some(span) = &c.span {
            assert!(text.get(span.clone()).is_some());
        }
    }
}

#[test]
fn edge_cases() {
    let huge = "jajaja 😍 no me gusta nada ".repeat(20_000);
    let long_word = "a".repeat(100_000);
    let cases = [
        "",
        " ",
        "\n\t",
        "😍",
        "😍😍😍😍😍",
        "👨‍👩‍👧‍👦",
        "🇪🇸🇪🇸",
        "\u{200D}",
        "\u{FE0F}",
        "#",
        "@",
        "#@",
        "http://",
        ":",
        ":)",
        "xD",
        "\u{0301}",
        "e\u{0301}",
        "\u{0}",
        "\u{FFFD}",
        "ß",
        "İ",
        "ǅ",
        "'",
        "n't",
        "-",
        "1.",
        ".1",
        huge.as_str(),
        long_word.as_str(),
    ];
    for case in cases {
        exercise(case);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_string(text in any::<String>()) {
        exercise(&text);
    }

    #[test]
    fn social_looking_strings(text in "[a-zA-Záéíóúñ@#:;()<3😍😡👍🏽\u{200D}\u{FE0F} .!?'-]{0,80}") {
        exercise(&text);
    }

    #[test]
    fn corrections_never_panic(text in any::<String>(), label in 0usize..3) {
        let model = shared().sentiment_model();
        let mut corrections = Corrections::new();
        corrections.add(model, &text, Lang::Unknown, Polarity::ALL[label]);
        let sentiment = corrections.predict(model, &text, Lang::Es);
        prop_assert_eq!(sentiment.label, Polarity::ALL[label]);
    }
}
