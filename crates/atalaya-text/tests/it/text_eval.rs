//! The functions behind `atalaya eval` on small files of our own sentences.

use atalaya_text::eval::{LangChoice, evaluate_language, evaluate_sentiment};
use atalaya_text::{Lang, shared};

const SENTIMENT_FILE: &str = "positive\tMe encanta, es genial 😍
negative\tOdio este servicio, es horrible 😡
this line has no tab
neutral\tLa reunión es a las cinco
happy\tunknown label here

positive\tI love it, best day ever!
negative\tWorst experience, I hate it :(
";

#[test]
fn sentiment_report() {
    let report =
        evaluate_sentiment(SENTIMENT_FILE.as_bytes(), LangChoice::Auto, shared()).expect("reads");
    assert_eq!(report.n(), 5);
    let lines: Vec<usize> = report.rejected.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![3, 5]);
    let last = report.last_line();
    assert!(last.starts_with("sentiment n=5 accuracy="), "{last}");
    let fields: Vec<&str> = last.split(' ').collect();
    let keys: Vec<&str> = fields
        .iter()
        .skip(1)
        .filter_map(|f| f.split('=').next())
        .collect();
    assert_eq!(
        keys,
        vec!["n", "accuracy", "macro_f1", "macro_recall", "posts_per_s"]
    );
    let rendered = report.render();
    assert!(rendered.ends_with(&last));
    assert!(rendered.contains("truth\\pred"));
    assert!(report.confusion.accuracy() >= 0.8, "{rendered}");
    let fixed = evaluate_sentiment(
        SENTIMENT_FILE.as_bytes(),
        LangChoice::Fixed(Lang::Es),
        shared(),
    )
    .expect("reads");
    assert_eq!(fixed.n(), 5);
}

#[test]
fn language_report() {
    let file = "es\tHoy hace un día precioso, vamos a la playa\nen\tWhat a beautiful day, let's go to the beach\nxx yy\nde\tHeute ist ein schöner Tag\n\u{0}bad\n";
    let report = evaluate_language(file.as_bytes(), shared()).expect("reads");
    assert_eq!(report.n(), 3);
    assert_eq!(
        report.rejected.iter().map(|r| r.line).collect::<Vec<_>>(),
        vec![3, 5]
    );
    let last = report.last_line();
    assert!(
        last.starts_with("language n=3 accuracy=1.0000 posts_per_s="),
        "{last}"
    );
    assert!(report.render().ends_with(&last));
    assert!((report.accuracy_among(&["es", "en"]) - 1.0).abs() < 1e-9);
}

#[test]
fn invalid_utf8_is_rejected_not_fatal() {
    let mut file = b"positive\tgenial\n".to_vec();
    file.extend_from_slice(b"negative\t\xff\xfe\n");
    let report = evaluate_sentiment(file.as_slice(), LangChoice::Auto, shared()).expect("reads");
    assert_eq!(report.n(), 1);
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].line, 2);
}

/// With a workspace's languages, short posts are placed among them; the report
/// counts short posts apart, and `prefix_letters` cuts long posts short.
#[test]
fn language_report_with_workspace_languages_and_prefixes() {
    use atalaya_text::eval::{LanguageEvalOptions, evaluate_language_with};
    let file =
        "es\tCafé Aurora genial\nen\tWhat a beautiful day, let's go to the beach with friends\n";
    let options = LanguageEvalOptions {
        workspace: vec![Lang::Es, Lang::En],
        prefix_letters: None,
    };
    let report = evaluate_language_with(file.as_bytes(), shared(), &options).expect("reads");
    assert_eq!((report.n(), report.short.total()), (2, 1));
    assert!((report.short_accuracy_among(&["es"]) - 1.0).abs() < 1e-9);
    assert!(
        report
            .render()
            .contains("short posts (at most 25 letters): n=1")
    );

    let cut = LanguageEvalOptions {
        workspace: Vec::new(),
        prefix_letters: Some(12),
    };
    let report = evaluate_language_with(file.as_bytes(), shared(), &cut).expect("reads");
    assert_eq!((report.n(), report.short.total()), (2, 2), "both cut short");
}
