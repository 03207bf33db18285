//! Sentiment (negative / neutral / positive) with a score, a confidence and explanations.
//!
//! One hashed-feature logistic regression serves every language: each feature has a shared
//! copy and, for the languages it was trained on (es, en, pt, fr, it, de), a language-specific
//! copy ("feature augmentation"). Spanish and English get their own weights where their data
//! says so; any other language (or `Unknown`) uses the shared copies only: the fallback.

use crate::features::{BucketSink, FeatureOptions, NamedSink, language_salt, sentiment_features};
use crate::language::Lang;
use crate::linear::{LinearModel, ModelError, ModelKind, softmax};
use crate::normalize::{Token, tokenize};
use std::collections::HashMap;
use std::ops::Range;

/// The three sentiment classes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Polarity {
    Negative,
    Neutral,
    Positive,
}

impl Polarity {
    pub const ALL: [Polarity; 3] = [Polarity::Negative, Polarity::Neutral, Polarity::Positive];

    pub fn as_str(self) -> &'static str {
        match self {
            Polarity::Negative => "negative",
            Polarity::Neutral => "neutral",
            Polarity::Positive => "positive",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// Parses `negative`/`neutral`/`positive` (also `neg`/`neu`/`pos`, `N`/`NEU`/`P`, any case).
    pub fn parse(text: &str) -> Option<Polarity> {
        match text.trim().to_ascii_lowercase().as_str() {
            "negative" | "neg" | "n" | "-1" => Some(Polarity::Negative),
            "neutral" | "neu" | "none" | "0" => Some(Polarity::Neutral),
            "positive" | "pos" | "p" | "1" | "+1" => Some(Polarity::Positive),
            _ => None,
        }
    }
}

impl std::fmt::Display for Polarity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A prediction.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sentiment {
    pub label: Polarity,
    /// P(positive) − P(negative), in −1..1.
    pub score: f32,
    /// Probability of the chosen label, 0..1.
    pub confidence: f32,
    /// Probabilities of negative, neutral, positive.
    pub probabilities: [f32; 3],
}

impl Sentiment {
    pub(crate) fn from_scores(mut scores: [f32; 3]) -> Sentiment {
        let best = softmax(&mut scores);
        Sentiment {
            label: Polarity::ALL[best],
            score: scores[2] - scores[0],
            confidence: scores[best],
            probabilities: scores,
        }
    }
}

/// One feature's push toward (positive weight) or away from (negative weight) the label.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Contribution {
    /// A readable name: `word:gusta`, `word:not_gusta`, `emoji:😍`, `chars:^bue`, `lexicon:positive`…
    pub feature: String,
    /// Byte range in the original text, when the feature comes from one token.
    pub span: Option<Range<usize>>,
    pub weight: f32,
}

/// Why a text got its label: the features that pushed it there, strongest first.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Explanation {
    pub label: Polarity,
    pub sentiment: Sentiment,
    pub contributions: Vec<Contribution>,
}

/// The trained sentiment model.
#[derive(Debug, Clone)]
pub struct SentimentModel {
    model: LinearModel,
    options: FeatureOptions,
}

static EMBEDDED: &[u8] = include_bytes!("../models/sentiment.atxm");

/// The languages that can have their own feature copies, in the order of the bits of
/// [`FeatureOptions::copies`] (append only: the order is part of the model format).
pub const COPY_LANGUAGES: [Lang; 8] = [
    Lang::Es,
    Lang::En,
    Lang::Pt,
    Lang::Fr,
    Lang::It,
    Lang::De,
    Lang::Ar,
    Lang::Hi,
];

/// The bitmask over [`COPY_LANGUAGES`] for `langs` (languages without a bit are left out).
pub fn copies_mask(langs: &[Lang]) -> u8 {
    COPY_LANGUAGES
        .iter()
        .enumerate()
        .filter(|(_, lang)| langs.contains(lang))
        .fold(0, |mask, (bit, _)| mask | (1 << bit))
}

/// Whether features of `lang` get their own copy under `options`.
pub fn has_copy(options: FeatureOptions, lang: Lang) -> bool {
    options.per_language
        && COPY_LANGUAGES
            .iter()
            .position(|l| *l == lang)
            .is_some_and(|bit| options.copies & (1 << bit) != 0)
}

impl SentimentModel {
    pub fn from_bytes(bytes: &[u8]) -> Result<SentimentModel, ModelError> {
        SentimentModel::from_model(LinearModel::from_bytes(bytes, ModelKind::Sentiment)?)
    }

    pub(crate) fn from_model(model: LinearModel) -> Result<SentimentModel, ModelError> {
        let expected: Vec<&str> = Polarity::ALL.iter().map(|p| p.as_str()).collect();
        if model.classes != expected {
            return Err(ModelError::BadHeader("sentiment classes"));
        }
        let options = FeatureOptions::from_flags(model.flags);
        Ok(SentimentModel { model, options })
    }

    /// The model shipped in the crate.
    pub fn embedded() -> Result<SentimentModel, ModelError> {
        SentimentModel::from_bytes(EMBEDDED)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.model.to_bytes()
    }

    pub(crate) fn options(&self) -> FeatureOptions {
        self.options
    }

    /// The salt of the language copy used for `lang`, if any.
    pub(crate) fn salt(&self, lang: Lang) -> Option<u64> {
        has_copy(self.options, lang).then(|| language_salt(lang.code()))
    }

    pub(crate) fn features(&self, tokens: &[Token], lang: Lang) -> Vec<(u32, f32)> {
        let mut sink = BucketSink::new(self.model.bits, self.salt(lang), true);
        sentiment_features(tokens, self.options, &mut sink);
        sink.finish();
        sink.features
    }

    pub(crate) fn raw_scores(&self, tokens: &[Token], lang: Lang) -> [f32; 3] {
        let features = self.features(tokens, lang);
        let mut scores = [0f32; 3];
        self.model.scores(&features, &mut scores);
        scores
    }

    pub fn predict(&self, text: &str, lang: Lang) -> Sentiment {
        self.predict_tokens(&tokenize(text), lang)
    }

    pub fn predict_tokens(&self, tokens: &[Token], lang: Lang) -> Sentiment {
        Sentiment::from_scores(self.raw_scores(tokens, lang))
    }

    /// The features of `text` and how much each pushed toward the predicted label (its weight
    /// for that label minus the mean of its weights for the others), strongest first. The
    /// bias and features with no effect are left out.
    pub fn explain(&self, text: &str, lang: Lang) -> Explanation {
        let tokens = tokenize(text);
        let sentiment = self.predict_tokens(&tokens, lang);
        let mut named = NamedSink::default();
        sentiment_features(&tokens, self.options, &mut named);
        let bucket_sink = BucketSink::new(self.model.bits, self.salt(lang), true);
        let count = named.features.len() * (1 + usize::from(bucket_sink.language_salt.is_some()));
        let norm = if count > 0 {
            1.0 / (count as f32).sqrt()
        } else {
            1.0
        };
        let label = sentiment.label.index();
        let mut contributions: Vec<Contribution> = Vec::new();
        let mut seen: HashMap<(String, Option<(usize, usize)>), usize> = HashMap::new();
        for (hash, value, name, span) in named.features {
            if name == "bias" {
                continue;
            }
            let mut per_class = [0f32; 3];
            let mut buckets = vec![bucket_sink.bucket(hash, None)];
            if let Some(salt) = bucket_sink.language_salt {
                buckets.push(bucket_sink.bucket(hash, Some(salt)));
            }
            for bucket in buckets {
                for (class, total) in per_class.iter_mut().enumerate() {
                    *total += self.model.weight(bucket, class) * value * norm;
                }
            }
            let others = (per_class.iter().sum::<f32>() - per_class[label]) / 2.0;
            let weight = per_class[label] - others;
            if weight.abs() < 1e-6 {
                continue;
            }
            // The same feature may occur more than once: merge by name and span.
            let key = (name, span.as_ref().map(|r| (r.start, r.end)));
            match seen.get(&key) {
                Some(&index) => contributions[index].weight += weight,
                None => {
                    seen.insert(key.clone(), contributions.len());
                    contributions.push(Contribution {
                        feature: key.0,
                        span,
                        weight,
                    });
                }
            }
        }
        contributions.sort_by(|a, b| {
            b.weight
                .abs()
                .total_cmp(&a.weight.abs())
                .then_with(|| a.feature.cmp(&b.feature))
        });
        Explanation {
            label: sentiment.label,
            sentiment,
            contributions,
        }
    }
}

/// The embedded sentiment model, loaded once (shared with [`crate::analyzer::shared`]).
pub fn shared_model() -> &'static SentimentModel {
    crate::analyzer::shared().sentiment_model()
}

impl SentimentModel {
    /// A model that answers neutral with low confidence: used only if the embedded bytes are
    /// missing or corrupt (the crate's tests check that they are not).
    pub(crate) fn fallback() -> SentimentModel {
        let mut weights = vec![0; 48];
        // Every bucket slightly favours neutral.
        for row in weights.chunks_mut(3) {
            row[1] = 1;
        }
        SentimentModel {
            model: LinearModel {
                kind: ModelKind::Sentiment,
                bits: 4,
                classes: Polarity::ALL
                    .iter()
                    .map(|p| p.as_str().to_string())
                    .collect(),
                flags: 0,
                scale: 0.01,
                weights,
            },
            options: FeatureOptions::from_flags(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::LEGACY_COPIES;

    #[test]
    fn copies_follow_the_mask() {
        fn check(mask: u8, lang: Lang, expected: bool) {
            let options = FeatureOptions::from_flags(
                FeatureOptions {
                    min_n: 3,
                    max_n: 5,
                    bigrams: true,
                    lexicon: true,
                    per_language: true,
                    copies: mask,
                }
                .to_flags(),
            );
            assert_eq!(has_copy(options, lang), expected, "{mask:#b} {lang}");
        }
        let all = copies_mask(&COPY_LANGUAGES);
        check(all, Lang::Hi, true);
        check(all, Lang::Ar, true);
        check(all, Lang::Ca, false);
        check(all, Lang::Unknown, false);
        check(copies_mask(&[Lang::Es, Lang::Hi]), Lang::Hi, true);
        check(copies_mask(&[Lang::Es, Lang::Hi]), Lang::En, false);
        // A mask of 0 is how models written before the mask existed read: the first six.
        check(0, Lang::De, true);
        check(0, Lang::Ar, false);
        assert_eq!(copies_mask(&COPY_LANGUAGES[..6]), LEGACY_COPIES);
    }
}
