//! User corrections: a per-workspace layer over the shipped sentiment model.
//!
//! Two mechanisms, both deterministic and serializable (serde) so the store can persist them:
//! - **overrides**: a corrected post (same words, case, accents and elongations aside) gets
//!   the corrected label back exactly;
//! - **adjustments**: each correction also nudges per-feature weights (a few logistic-loss
//!   steps on that post until the model agrees with it), so that similar posts move too.
//!
//! Adjustments are keyed by the language-independent feature hash, kept in a `BTreeMap`
//! (ordered), and depend only on the corrections and their order.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::features::{Sink, sentiment_features};
use crate::language::Lang;
use crate::linear::{fnv_extend, fnv1a};
use crate::normalize::{Token, TokenKind, tokenize};
use crate::sentiment::{Polarity, Sentiment, SentimentModel};

/// Learning rate of the adjustment steps.
const RATE: f32 = 1.0;
/// At most this many steps per correction.
const MAX_STEPS: usize = 8;
/// Steps stop once the corrected label has at least this probability.
const TARGET_PROBABILITY: f32 = 0.6;

/// A workspace's corrections.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Corrections {
    /// Post key (see [`post_key`]) → corrected label.
    pub overrides: BTreeMap<u64, Polarity>,
    /// Feature hash → weight deltas for negative, neutral, positive.
    pub adjustments: BTreeMap<u64, [f32; 3]>,
    /// How many corrections were added.
    pub count: u64,
}

#[derive(Default)]
struct RawSink {
    features: Vec<(u64, f32)>,
}

impl Sink for RawSink {
    fn add(
        &mut self,
        hash: u64,
        value: f32,
        _name: &dyn Fn() -> String,
        _span: Option<Range<usize>>,
    ) {
        self.features.push((hash, value));
    }
}

/// A key that is the same for posts with the same words, ignoring case, accents,
/// elongations, links, handles and punctuation.
pub fn post_key(tokens: &[Token]) -> u64 {
    let mut hash = fnv1a(&[], 0xc0ec);
    for token in tokens {
        if matches!(
            token.kind,
            TokenKind::Url | TokenKind::Handle | TokenKind::Punct
        ) {
            continue;
        }
        hash = fnv_extend(hash, token.folded.as_bytes());
        hash = fnv_extend(hash, &[0]);
    }
    hash
}

impl Corrections {
    pub fn new() -> Corrections {
        Corrections::default()
    }

    fn raw_features(model: &SentimentModel, tokens: &[Token]) -> Vec<(u64, f32)> {
        let mut sink = RawSink::default();
        sentiment_features(tokens, model.options(), &mut sink);
        let n = sink.features.len();
        if n > 0 {
            let scale = 1.0 / (n as f32).sqrt();
            sink.features.iter_mut().for_each(|(_, v)| *v *= scale);
        }
        sink.features
    }

    fn adjusted_scores(
        &self,
        model: &SentimentModel,
        tokens: &[Token],
        lang: Lang,
    ) -> ([f32; 3], Vec<(u64, f32)>) {
        let mut scores = model.raw_scores(tokens, lang);
        let features = Corrections::raw_features(model, tokens);
        if !self.adjustments.is_empty() {
            for (hash, value) in &features {
                if let Some(delta) = self.adjustments.get(hash) {
                    for (s, d) in scores.iter_mut().zip(delta) {
                        *s += d * value;
                    }
                }
            }
        }
        (scores, features)
    }

    /// Records that `text` should be `label`.
    pub fn add(&mut self, model: &SentimentModel, text: &str, lang: Lang, label: Polarity) {
        let tokens = tokenize(text);
        self.overrides.insert(post_key(&tokens), label);
        self.count += 1;
        for _ in 0..MAX_STEPS {
            let (scores, features) = self.adjusted_scores(model, &tokens, lang);
            let sentiment = Sentiment::from_scores(scores);
            let p = sentiment.probabilities;
            if p[label.index()] >= TARGET_PROBABILITY {
                break;
            }
            for (hash, value) in features {
                let delta = self.adjustments.entry(hash).or_insert([0.0; 3]);
                for (class, d) in delta.iter_mut().enumerate() {
                    let target = if class == label.index() { 1.0 } else { 0.0 };
                    *d += RATE * (target - p[class]) * value;
                }
            }
        }
    }

    /// Sentiment of `text` with the corrections applied.
    pub fn predict(&self, model: &SentimentModel, text: &str, lang: Lang) -> Sentiment {
        self.predict_tokens(model, text, &tokenize(text), lang)
    }

    pub(crate) fn predict_tokens(
        &self,
        model: &SentimentModel,
        _text: &str,
        tokens: &[Token],
        lang: Lang,
    ) -> Sentiment {
        if self.count == 0 {
            return model.predict_tokens(tokens, lang);
        }
        if let Some(label) = self.overrides.get(&post_key(tokens)) {
            let mut probabilities = [0.0; 3];
            probabilities[label.index()] = 1.0;
            return Sentiment {
                label: *label,
                score: probabilities[2] - probabilities[0],
                confidence: 1.0,
                probabilities,
            };
        }
        let (scores, _) = self.adjusted_scores(model, tokens, lang);
        Sentiment::from_scores(scores)
    }
}
