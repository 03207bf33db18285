//! Language identification for short posts: a hashed character n-gram logistic regression
//! trained by the project (see `models/README.md`), embedded in the crate.

use crate::features::{BucketSink, FeatureOptions, language_features};
use crate::linear::{LinearModel, ModelError, ModelKind, softmax};
use crate::normalize::{Token, tokenize};

/// A language the detector knows, or `Unknown` when it is unsure.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Es,
    En,
    Pt,
    Fr,
    It,
    De,
    Ca,
    /// Arabic (in Arabic script).
    Ar,
    /// Hindi, as it is mostly written on social media: romanised and mixed with English.
    Hi,
    Unknown,
}

impl Lang {
    /// Every known language, without `Unknown`.
    pub const KNOWN: [Lang; 9] = [
        Lang::Es,
        Lang::En,
        Lang::Pt,
        Lang::Fr,
        Lang::It,
        Lang::De,
        Lang::Ca,
        Lang::Ar,
        Lang::Hi,
    ];

    /// ISO 639-1 code, or `"und"` for `Unknown`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Es => "es",
            Lang::En => "en",
            Lang::Pt => "pt",
            Lang::Fr => "fr",
            Lang::It => "it",
            Lang::De => "de",
            Lang::Ca => "ca",
            Lang::Ar => "ar",
            Lang::Hi => "hi",
            Lang::Unknown => "und",
        }
    }

    /// Parses an ISO 639-1 code (case-insensitive); anything else is `Unknown`.
    pub fn from_code(code: &str) -> Lang {
        Lang::KNOWN
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(code.trim()))
            .unwrap_or(Lang::Unknown)
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// The detector's answer.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LanguageGuess {
    pub lang: Lang,
    /// Probability of the chosen language, 0..1 (for `Unknown`, of the best known one).
    pub confidence: f32,
}

/// Below this probability the detector answers `Unknown`.
pub const MIN_CONFIDENCE: f32 = 0.4;
/// Posts with fewer letters than this (outside links, handles, emoji) are `Unknown`.
pub const MIN_LETTERS: usize = 2;

/// The trained language model.
#[derive(Debug, Clone)]
pub struct LanguageModel {
    model: LinearModel,
    options: FeatureOptions,
    langs: Vec<Lang>,
}

static EMBEDDED: &[u8] = include_bytes!("../models/language.atxm");

impl LanguageModel {
    pub fn from_bytes(bytes: &[u8]) -> Result<LanguageModel, ModelError> {
        LanguageModel::from_model(LinearModel::from_bytes(bytes, ModelKind::Language)?)
    }

    pub(crate) fn from_model(model: LinearModel) -> Result<LanguageModel, ModelError> {
        let langs: Vec<Lang> = model.classes.iter().map(|c| Lang::from_code(c)).collect();
        if langs.contains(&Lang::Unknown) {
            return Err(ModelError::BadHeader("unknown language class"));
        }
        let options = FeatureOptions::from_flags(model.flags);
        Ok(LanguageModel {
            model,
            options,
            langs,
        })
    }

    /// The model shipped in the crate.
    pub fn embedded() -> Result<LanguageModel, ModelError> {
        LanguageModel::from_bytes(EMBEDDED)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.model.to_bytes()
    }

    pub fn languages(&self) -> &[Lang] {
        &self.langs
    }

    pub fn detect(&self, text: &str) -> LanguageGuess {
        self.detect_tokens(&tokenize(text))
    }

    /// Probabilities for each known language, in `languages()` order; `None` without letters.
    pub fn probabilities(&self, tokens: &[Token]) -> Option<Vec<f32>> {
        let mut sink = BucketSink::new(self.model.bits, None, true);
        let letters = language_features(tokens, self.options, &mut sink);
        if letters < MIN_LETTERS {
            return None;
        }
        sink.finish();
        let mut scores = vec![0f32; self.langs.len()];
        self.model.scores(&sink.features, &mut scores);
        softmax(&mut scores);
        Some(scores)
    }

    pub fn detect_tokens(&self, tokens: &[Token]) -> LanguageGuess {
        let Some(probabilities) = self.probabilities(tokens) else {
            return LanguageGuess {
                lang: Lang::Unknown,
                confidence: 0.0,
            };
        };
        let (best, confidence) =
            probabilities
                .iter()
                .copied()
                .enumerate()
                .fold(
                    (0, f32::MIN),
                    |(bi, bp), (i, p)| if p > bp { (i, p) } else { (bi, bp) },
                );
        let lang = if confidence >= MIN_CONFIDENCE {
            self.langs[best]
        } else {
            Lang::Unknown
        };
        LanguageGuess { lang, confidence }
    }
}

/// The embedded language model, loaded once (shared with [`crate::analyzer::shared`]).
pub fn shared_model() -> &'static LanguageModel {
    crate::analyzer::shared().language_model()
}

impl LanguageModel {
    /// A model that answers `Unknown` for everything: used only if the embedded bytes are
    /// missing or corrupt (the crate's tests check that they are not).
    pub(crate) fn fallback() -> LanguageModel {
        LanguageModel {
            model: LinearModel {
                kind: ModelKind::Language,
                bits: 4,
                classes: Lang::KNOWN.iter().map(|l| l.code().to_string()).collect(),
                flags: 0,
                scale: 1.0,
                weights: vec![0; 16 * Lang::KNOWN.len()],
            },
            options: FeatureOptions::from_flags(0),
            langs: Lang::KNOWN.to_vec(),
        }
    }
}

/// Detects the language of a post with the embedded model.
pub fn detect(text: &str) -> LanguageGuess {
    shared_model().detect(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for lang in Lang::KNOWN {
            assert_eq!(Lang::from_code(lang.code()), lang);
        }
        assert_eq!(Lang::from_code("EN"), Lang::En);
        assert_eq!(Lang::from_code("xx"), Lang::Unknown);
    }
}
