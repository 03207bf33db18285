//! The facade the ingest pipeline calls per mention: language, then sentiment, from one
//! tokenization.

use std::sync::OnceLock;

use crate::corrections::Corrections;
use crate::language::{Lang, LanguageHints, LanguageModel};
use crate::linear::ModelError;
use crate::normalize::tokenize;
use crate::sentiment::{Explanation, Sentiment, SentimentModel};

/// What Atalaya knows about one post.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Analysis {
    pub lang: Lang,
    pub lang_confidence: f32,
    pub sentiment: Sentiment,
}

/// Language identification and sentiment together.
#[derive(Debug, Clone)]
pub struct Analyzer {
    language: LanguageModel,
    sentiment: SentimentModel,
}

impl Analyzer {
    pub fn new(language: LanguageModel, sentiment: SentimentModel) -> Analyzer {
        Analyzer {
            language,
            sentiment,
        }
    }

    /// Loads the models shipped in the crate.
    pub fn embedded() -> Result<Analyzer, ModelError> {
        Ok(Analyzer {
            language: LanguageModel::embedded()?,
            sentiment: SentimentModel::embedded()?,
        })
    }

    pub fn language_model(&self) -> &LanguageModel {
        &self.language
    }

    pub fn sentiment_model(&self) -> &SentimentModel {
        &self.sentiment
    }

    pub fn analyze(&self, text: &str) -> Analysis {
        let tokens = tokenize(text);
        let guess = self.language.detect_tokens(&tokens);
        let sentiment = self.sentiment.predict_tokens(&tokens, guess.lang);
        Analysis {
            lang: guess.lang,
            lang_confidence: guess.confidence,
            sentiment,
        }
    }

    /// Like `analyze`, with a workspace's corrections applied.
    pub fn analyze_with(&self, text: &str, corrections: &Corrections) -> Analysis {
        let tokens = tokenize(text);
        let guess = self.language.detect_tokens(&tokens);
        let sentiment = corrections.predict_tokens(&self.sentiment, text, &tokens, guess.lang);
        Analysis {
            lang: guess.lang,
            lang_confidence: guess.confidence,
            sentiment,
        }
    }

    /// Like `analyze_with`, deciding the language as the ingest pipeline does
    /// (see [`LanguageModel::identify_tokens`]): a declared language the model
    /// knows is trusted, a short text is placed among the workspace's
    /// languages. Sentiment is then read in that language.
    pub fn analyze_in(
        &self,
        text: &str,
        corrections: &Corrections,
        hints: LanguageHints<'_>,
    ) -> Analysis {
        let tokens = tokenize(text);
        let guess = self.language.identify_tokens(&tokens, hints);
        let sentiment = corrections.predict_tokens(&self.sentiment, text, &tokens, guess.lang);
        Analysis {
            lang: guess.lang,
            lang_confidence: guess.confidence,
            sentiment,
        }
    }

    /// Why `text` got its sentiment; the language is detected unless given.
    pub fn explain(&self, text: &str, lang: Option<Lang>) -> Explanation {
        let lang = lang.unwrap_or_else(|| self.language.detect(text).lang);
        self.sentiment.explain(text, lang)
    }
}

/// The embedded models, loaded once for the whole process.
pub fn shared() -> &'static Analyzer {
    static ANALYZER: OnceLock<Analyzer> = OnceLock::new();
    ANALYZER.get_or_init(|| Analyzer {
        language: LanguageModel::embedded().unwrap_or_else(|_| LanguageModel::fallback()),
        sentiment: SentimentModel::embedded().unwrap_or_else(|_| SentimentModel::fallback()),
    })
}
