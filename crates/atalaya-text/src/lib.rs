//! Text analysis for Atalaya: social-text normalization, language identification,
//! sentiment with explanations and user corrections, training and evaluation.
//!
//! Pure: no file or network I/O, no async. The trained models are embedded with
//! `include_bytes!` (see `models/README.md`).

pub mod analyzer;
pub mod corrections;
pub mod eval;
pub mod features;
pub mod language;
pub mod lexicon;
pub mod linear;
pub mod normalize;
pub mod query;
pub mod sentiment;
pub mod train;

pub use analyzer::{Analysis, Analyzer, shared};
pub use language::{Lang, LanguageGuess, LanguageHints, detect};
pub use sentiment::{Contribution, Explanation, Polarity, Sentiment};
