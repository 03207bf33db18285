//! Behaviour of the shipped sentiment model on our own sentences, explanations and corrections.

use atalaya_text::corrections::Corrections;
use atalaya_text::sentiment::SentimentModel;
use atalaya_text::{Lang, Polarity, shared};

fn check(text: &str, lang: Lang, expected: Polarity) {
    let sentiment = shared().sentiment_model().predict(text, lang);
    assert_eq!(
        sentiment.label, expected,
        "{text:?} ({lang}): {sentiment:?}"
    );
    assert!((-1.0..=1.0).contains(&sentiment.score));
    assert!((0.0..=1.0).contains(&sentiment.confidence));
}

#[test]
fn clear_sentences() {
    use Polarity::*;
    let table = [
        (
            "Me encanta este producto, es buenísimo 😍",
            Lang::Es,
            Positive,
        ),
        ("Qué asco de servicio, nunca más 😡", Lang::Es, Negative),
        ("Gracias por todo, sois geniales ❤️", Lang::Es, Positive),
        (
            "Estoy muy triste y decepcionado con la atención 😢",
            Lang::Es,
            Negative,
        ),
        ("I love this, best day ever 😍", Lang::En, Positive),
        (
            "This is the worst service, I hate it 😡",
            Lang::En,
            Negative,
        ),
        (
            "So happy and thankful for my friends :)",
            Lang::En,
            Positive,
        ),
        (
            "Terrible experience, so disappointed :(",
            Lang::En,
            Negative,
        ),
    ];
    for (text, lang, expected) in table {
        check(text, lang, expected);
    }
}

#[test]
fn negation_moves_the_score() {
    let model = shared().sentiment_model();
    let table = [
        ("me gusta", "no me gusta nada", Lang::Es),
        ("es bueno", "no es bueno", Lang::Es),
        ("I like it", "I don't like it", Lang::En),
        ("it is good", "it is not good", Lang::En),
    ];
    for (plain, negated, lang) in table {
        let plain_score = model.predict(plain, lang).score;
        let negated_score = model.predict(negated, lang).score;
        assert!(
            negated_score < plain_score,
            "{negated:?} ({negated_score}) should be below {plain:?} ({plain_score})"
        );
    }
    // "not bad" is less negative than "bad".
    assert!(model.predict("not bad", Lang::En).score > model.predict("bad", Lang::En).score);
}

#[test]
fn emoji_move_the_score() {
    let model = shared().sentiment_model();
    let table = [
        ("la reunión de hoy", Lang::Es),
        ("the meeting today", Lang::En),
    ];
    for (text, lang) in table {
        let neutral = model.predict(text, lang).score;
        let happy = model.predict(&format!("{text} 😍😍"), lang).score;
        let angry = model.predict(&format!("{text} 😡😡"), lang).score;
        assert!(
            happy > neutral && neutral > angry,
            "{text:?}: {angry} < {neutral} < {happy}"
        );
    }
}

#[test]
fn explanations_point_at_the_text() {
    let text = "Odio este servicio 😡";
    let explanation = shared().explain(text, Some(Lang::Es));
    assert_eq!(explanation.label, Polarity::Negative);
    assert!(!explanation.contributions.is_empty());
    let top = &explanation.contributions[..3.min(explanation.contributions.len())];
    assert!(
        top.iter().any(|c| c.feature.contains("odio")
            || c.feature.contains("😡")
            || c.feature.contains("lexicon")),
        "{top:?}"
    );
    for contribution in &explanation.contributions {
        if let Some(span) = &contribution.span {
            assert!(text.get(span.clone()).is_some(), "{contribution:?}");
        }
    }
    // Strongest first.
    for pair in explanation.contributions.windows(2) {
        assert!(pair[0].weight.abs() >= pair[1].weight.abs());
    }
}

#[test]
fn corrections_override_and_generalize() {
    let model = shared().sentiment_model();
    let text = "el nuevo plan de tarifas de la empresa";
    let before = model.predict(text, Lang::Es).label;
    let target = if before == Polarity::Negative {
        Polarity::Positive
    } else {
        Polarity::Negative
    };
    let mut corrections = Corrections::new();
    corrections.add(model, text, Lang::Es, target);
    assert_eq!(corrections.predict(model, text, Lang::Es).label, target);
    // The same post, differently written.
    assert_eq!(
        corrections
            .predict(model, "EL NUEVO PLAN de tarifas de la empresa!!", Lang::Es)
            .label,
        target
    );
    // A similar post moves toward the correction.
    let similar = "el nuevo plan de tarifas";
    let corrected = corrections.predict(model, similar, Lang::Es).probabilities[target.index()];
    let original = model.predict(similar, Lang::Es).probabilities[target.index()];
    assert!(corrected > original, "{corrected} > {original}");
    // Serializable and deterministic.
    let json = serde_json::to_string(&corrections).expect("serializes");
    let back: Corrections = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(back, corrections);
    let mut again = Corrections::new();
    again.add(model, text, Lang::Es, target);
    assert_eq!(serde_json::to_string(&again).expect("serializes"), json);
    // An unrelated analysis through the facade still works.
    let analysis = shared().analyze_with("hola qué tal", &corrections);
    assert!((0.0..=1.0).contains(&analysis.sentiment.confidence));
}

#[test]
fn embedded_models_load_and_corrupt_bytes_are_rejected() {
    let model = SentimentModel::embedded().expect("the shipped sentiment model loads");
    let mut bytes = model.to_bytes();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    assert!(SentimentModel::from_bytes(&bytes).is_err());
    assert!(SentimentModel::from_bytes(&[]).is_err());
    assert!(atalaya_text::language::LanguageModel::embedded().is_ok());
    // A language model's bytes are not a sentiment model.
    let language = atalaya_text::language::LanguageModel::embedded()
        .expect("loads")
        .to_bytes();
    assert!(SentimentModel::from_bytes(&language).is_err());
}
