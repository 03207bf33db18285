//! Training is deterministic and learns from a small synthetic set.

use atalaya_text::linear::TrainOptions;
use atalaya_text::sentiment::SentimentModel;
use atalaya_text::train::{
    LanguageConfig, SentimentConfig, SentimentSample, train_language, train_sentiment,
};
use atalaya_text::{Lang, Polarity};

fn synthetic() -> Vec<SentimentSample> {
    let positive = [
        "me encanta",
        "qué bonito día",
        "genial todo",
        "love it",
        "so happy",
        "great job",
    ];
    let negative = [
        "lo odio",
        "qué asco",
        "horrible todo",
        "hate it",
        "so sad",
        "awful job",
    ];
    let neutral = [
        "la reunión es hoy",
        "el tren sale a las cinco",
        "meeting at noon",
        "the bus is here",
    ];
    let mut samples = Vec::new();
    for (texts, label) in [
        (positive.as_slice(), Polarity::Positive),
        (negative.as_slice(), Polarity::Negative),
        (neutral.as_slice(), Polarity::Neutral),
    ] {
        for (i, text) in texts.iter().enumerate() {
            let lang = if i < texts.len() / 2 {
                Lang::Es
            } else {
                Lang::En
            };
            samples.push(SentimentSample {
                lang: Some(lang),
                label,
                text: (*text).to_string(),
                weight: 1.0,
            });
        }
    }
    samples
}

fn small_config() -> SentimentConfig {
    let mut config = SentimentConfig::default();
    config.train = TrainOptions {
        bits: 12,
        epochs: 20,
        ..config.train
    };
    config
}

#[test]
fn sentiment_training_is_deterministic() {
    let samples = synthetic();
    let first = train_sentiment(&samples, &small_config());
    let second = train_sentiment(&samples, &small_config());
    assert_eq!(first, second);
    let model = SentimentModel::from_bytes(&first).expect("valid model");
    assert_eq!(
        model.predict("me encanta", Lang::Es).label,
        Polarity::Positive
    );
    assert_eq!(model.predict("hate it", Lang::En).label, Polarity::Negative);
    // Another seed gives other bytes.
    let mut other = small_config();
    other.train.seed += 1;
    assert_ne!(train_sentiment(&samples, &other), first);
}

#[test]
fn language_training_is_deterministic() {
    let samples: Vec<(Lang, String)> = [
        (Lang::Es, "hola qué tal estás amigo"),
        (Lang::Es, "muchas gracias por todo"),
        (Lang::En, "hello how are you friend"),
        (Lang::En, "thank you so much for everything"),
    ]
    .into_iter()
    .map(|(l, t)| (l, t.to_string()))
    .collect();
    let mut config = LanguageConfig::default();
    config.train.bits = 12;
    let first = train_language(&samples, &config);
    assert_eq!(first, train_language(&samples, &config));
    let model = atalaya_text::language::LanguageModel::from_bytes(&first).expect("valid");
    assert_eq!(model.detect("gracias amigo").lang, Lang::Es);
}
