//! Feature extraction: turns tokens into hashed features for the linear models.
//!
//! Extraction reports each feature to a [`Sink`] as a 64-bit hash plus a way to name it and
//! its span, so the fast path (scoring) never builds strings while the slow path
//! (explanations) can.

use std::ops::Range;

use crate::lexicon;
use crate::linear::{fnv_extend, fnv1a, mix};
use crate::normalize::{Token, TokenKind, squeeze_to_one};

/// Receives features.
pub trait Sink {
    /// Adds one feature. `name` is only called by sinks that keep names.
    fn add(&mut self, hash: u64, value: f32, name: &dyn Fn() -> String, span: Option<Range<usize>>);
}

/// Feature namespaces (the seed of each feature's hash).
mod ns {
    pub const WORD: u64 = 1;
    pub const NEG_WORD: u64 = 2;
    pub const BIGRAM: u64 = 3;
    pub const CHARS: u64 = 4;
    pub const KIND: u64 = 5;
    pub const EMOJI: u64 = 6;
    pub const EMOTICON: u64 = 7;
    pub const LEXICON: u64 = 8;
    pub const HASHTAG: u64 = 9;
    pub const PUNCT: u64 = 10;
    pub const LANG_WORD: u64 = 11;
    pub const LANG_CHARS: u64 = 12;
    pub const BIAS: u64 = 13;
}

/// Feature options stored in a model's flags, so that a model is always read with the
/// features it was trained with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureOptions {
    /// Smallest character n-gram.
    pub min_n: usize,
    /// Largest character n-gram (0: none).
    pub max_n: usize,
    /// Word bigrams.
    pub bigrams: bool,
    /// Lexicon features.
    pub lexicon: bool,
    /// Language-specific copies of every feature (feature augmentation).
    pub per_language: bool,
    /// Which languages get their own copies, a bitmask over
    /// [`crate::sentiment::COPY_LANGUAGES`] (only read when `per_language` is set).
    pub copies: u8,
}

impl FeatureOptions {
    pub fn to_flags(self) -> u32 {
        (self.min_n as u32 & 0xF)
            | ((self.max_n as u32 & 0xF) << 4)
            | (u32::from(self.bigrams) << 8)
            | (u32::from(self.lexicon) << 9)
            | (u32::from(self.per_language) << 10)
            | (u32::from(self.copies) << 12)
    }

    pub fn from_flags(flags: u32) -> FeatureOptions {
        FeatureOptions {
            min_n: (flags & 0xF) as usize,
            max_n: ((flags >> 4) & 0xF) as usize,
            bigrams: flags & (1 << 8) != 0,
            lexicon: flags & (1 << 9) != 0,
            per_language: flags & (1 << 10) != 0,
            // Models written before the mask existed had copies for the first six languages.
            copies: match ((flags >> 12) & 0xFF) as u8 {
                0 => LEGACY_COPIES,
                mask => mask,
            },
        }
    }
}

/// The copies of models trained before the languages were stored in the flags: es, en, pt,
/// fr, it, de.
pub const LEGACY_COPIES: u8 = 0b0011_1111;

fn hash_str(namespace: u64, text: &str) -> u64 {
    fnv1a(
        text.as_bytes(),
        namespace.wrapping_mul(0x9e37_79b9_7f4a_7c15),
    )
}

/// Character n-grams of `word` padded with `^`/`$`, min_n..=max_n characters.
fn char_ngrams(
    sink: &mut dyn Sink,
    namespace: u64,
    word: &str,
    min_n: usize,
    max_n: usize,
    value: f32,
    span: &Range<usize>,
) {
    if max_n == 0 {
        return;
    }
    // Character boundaries of "^word$" (long words cut to 62 characters), without allocating.
    let mut bounds = [0usize; 66];
    bounds[1] = 1;
    let mut count = 2;
    for (i, c) in word.char_indices() {
        if count >= 64 {
            break;
        }
        bounds[count] = 1 + i + c.len_utf8();
        count += 1;
    }
    let word_end = bounds[count - 1];
    bounds[count] = word_end + 1;
    count += 1;
    let seed = namespace.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let bytes = word.as_bytes();
    let byte_at = |i: usize| -> u8 {
        if i == 0 {
            b'^'
        } else if i == word_end {
            b'$'
        } else {
            bytes[i - 1]
        }
    };
    let characters = count - 1;
    for start in 0..characters {
        let mut hash = fnv1a(&[], seed);
        let mut position = bounds[start];
        for n in 1..=max_n.min(characters - start) {
            let end = bounds[start + n];
            while position < end {
                hash = fnv_extend(hash, &[byte_at(position)]);
                position += 1;
            }
            if n >= min_n {
                let (from, to) = (bounds[start], end);
                sink.add(
                    hash,
                    value,
                    &|| {
                        let padded = format!("^{}$", &word[..word_end - 1]);
                        format!("chars:{}", &padded[from..to])
                    },
                    Some(span.clone()),
                );
            }
        }
    }
}

/// Features for language identification: character n-grams and whole words of the
/// lower-cased text (accents kept: they are strong clues), ignoring handles, links,
/// emoji and numbers. Returns how many letters were seen.
pub fn language_features(tokens: &[Token], options: FeatureOptions, sink: &mut dyn Sink) -> usize {
    let mut letters = 0;
    for token in tokens {
        if !matches!(
            token.kind,
            TokenKind::Word | TokenKind::Hashtag | TokenKind::Laugh
        ) {
            continue;
        }
        let word = token.lower.as_str();
        letters += word.chars().filter(|c| c.is_alphabetic()).count();
        sink.add(
            hash_str(ns::LANG_WORD, word),
            1.0,
            &|| format!("word:{word}"),
            Some(token.span.clone()),
        );
        char_ngrams(
            sink,
            ns::LANG_CHARS,
            word,
            options.min_n,
            options.max_n,
            1.0,
            &token.span,
        );
    }
    letters
}

/// Features for sentiment.
pub fn sentiment_features(tokens: &[Token], options: FeatureOptions, sink: &mut dyn Sink) {
    sink.add(
        hash_str(ns::BIAS, "bias"),
        1.0,
        &|| "bias".to_string(),
        None,
    );
    let mut previous: Option<(u64, &str)> = None;
    for token in tokens {
        let span = Some(token.span.clone());
        let folded = token.folded.as_str();
        // The unit that takes part in bigrams.
        let unit: &str = match token.kind {
            TokenKind::Word
            | TokenKind::Hashtag
            | TokenKind::Emoji
            | TokenKind::Emoticon
            | TokenKind::Punct => folded,
            TokenKind::Handle => "@user",
            TokenKind::Url => "http",
            TokenKind::Laugh => "jaja",
            TokenKind::Number => "0",
        };
        match token.kind {
            TokenKind::Word | TokenKind::Hashtag => {
                let (namespace, prefix) = if token.negated {
                    (ns::NEG_WORD, "not_")
                } else {
                    (ns::WORD, "")
                };
                sink.add(
                    hash_str(namespace, folded),
                    1.0,
                    &|| format!("word:{prefix}{folded}"),
                    span.clone(),
                );
                if token.elongated {
                    let short = squeeze_to_one(folded);
                    sink.add(
                        hash_str(namespace, &short),
                        1.0,
                        &|| format!("word:{prefix}{short}"),
                        span.clone(),
                    );
                    sink.add(
                        hash_str(ns::KIND, "elongated"),
                        1.0,
                        &|| "elongated".to_string(),
                        span.clone(),
                    );
                }
                if token.kind == TokenKind::Hashtag {
                    sink.add(
                        hash_str(ns::HASHTAG, folded),
                        1.0,
                        &|| format!("hashtag:{folded}"),
                        span.clone(),
                    );
                }
                if token.shouted {
                    sink.add(
                        hash_str(ns::KIND, "shouted"),
                        1.0,
                        &|| "shouted".to_string(),
                        span.clone(),
                    );
                }
                char_ngrams(
                    sink,
                    ns::CHARS,
                    folded,
                    options.min_n,
                    options.max_n,
                    1.0,
                    &token.span,
                );
                if options.lexicon {
                    let polarity = lexicon::word_polarity(folded).or_else(|| {
                        if token.elongated {
                            lexicon::word_polarity(&squeeze_to_one(folded))
                        } else {
                            None
                        }
                    });
                    if let Some(polarity) = polarity {
                        lexicon_feature(
                            sink,
                            polarity,
                            token.negated,
                            token.intensified,
                            &token.span,
                        );
                    }
                }
            }
            TokenKind::Emoji => {
                sink.add(
                    hash_str(ns::EMOJI, folded),
                    1.0,
                    &|| format!("emoji:{folded}"),
                    span.clone(),
                );
                if options.lexicon
                    && let Some(polarity) = folded.chars().next().and_then(lexicon::emoji_polarity)
                {
                    lexicon_feature(sink, polarity, false, false, &token.span);
                }
            }
            TokenKind::Emoticon => {
                sink.add(
                    hash_str(ns::EMOTICON, folded),
                    1.0,
                    &|| format!("emoticon:{folded}"),
                    span.clone(),
                );
                if options.lexicon
                    && let Some(polarity) = lexicon::emoticon_polarity(folded)
                {
                    lexicon_feature(sink, polarity, false, false, &token.span);
                }
            }
            TokenKind::Laugh => {
                sink.add(
                    hash_str(ns::KIND, "laugh"),
                    1.0,
                    &|| "laugh".to_string(),
                    span.clone(),
                );
            }
            TokenKind::Handle => {
                sink.add(
                    hash_str(ns::KIND, "handle"),
                    1.0,
                    &|| "handle".to_string(),
                    span.clone(),
                );
            }
            TokenKind::Url => {
                sink.add(
                    hash_str(ns::KIND, "url"),
                    1.0,
                    &|| "url".to_string(),
                    span.clone(),
                );
            }
            TokenKind::Number => {
                sink.add(
                    hash_str(ns::KIND, "number"),
                    1.0,
                    &|| "number".to_string(),
                    span.clone(),
                );
            }
            TokenKind::Punct => {
                if matches!(folded, "!" | "?" | "¡" | "¿" | "." | "…" | "\"") {
                    let name = if token.elongated {
                        format!("{folded}{folded}")
                    } else {
                        folded.to_string()
                    };
                    sink.add(
                        hash_str(ns::PUNCT, &name),
                        1.0,
                        &|| format!("punct:{name}"),
                        span.clone(),
                    );
                }
            }
        }
        if options.bigrams {
            let unit_hash = hash_str(ns::BIGRAM, unit);
            if let Some((previous_hash, previous_unit)) = &previous {
                let hash = mix(previous_hash.rotate_left(17) ^ unit_hash);
                sink.add(
                    hash,
                    1.0,
                    &|| format!("bigram:{previous_unit} {unit}"),
                    span.clone(),
                );
            }
            previous = Some((unit_hash, unit));
        }
    }
}

fn lexicon_feature(
    sink: &mut dyn Sink,
    polarity: i8,
    negated: bool,
    intensified: bool,
    span: &Range<usize>,
) {
    let name = match (polarity > 0, negated) {
        (true, false) => "positive",
        (false, false) => "negative",
        (true, true) => "negated_positive",
        (false, true) => "negated_negative",
    };
    let strength = f32::from(polarity.unsigned_abs()) * if intensified { 1.5 } else { 1.0 };
    sink.add(
        hash_str(ns::LEXICON, name),
        strength,
        &|| format!("lexicon:{name}"),
        Some(span.clone()),
    );
}

/// A sink that hashes into buckets, with optional language-specific copies, for scoring and
/// training. Values are scaled by 1/sqrt(n) at the end.
pub struct BucketSink {
    pub mask: u64,
    /// Salt of the language copy, if the model has per-language features and the language is known.
    pub language_salt: Option<u64>,
    /// Whether to add the shared (language-independent) copy.
    pub shared: bool,
    pub features: Vec<(u32, f32)>,
}

impl BucketSink {
    pub fn new(bits: u8, language_salt: Option<u64>, shared: bool) -> BucketSink {
        BucketSink {
            mask: (1u64 << bits) - 1,
            language_salt,
            shared,
            features: Vec::with_capacity(512),
        }
    }

    pub fn bucket(&self, hash: u64, salt: Option<u64>) -> u32 {
        let hash = match salt {
            Some(salt) => mix(hash ^ salt),
            None => mix(hash),
        };
        (hash & self.mask) as u32
    }

    /// Scales values so that each example has about unit norm.
    pub fn finish(&mut self) {
        let n = self.features.len();
        if n > 0 {
            let scale = 1.0 / (n as f32).sqrt();
            self.features.iter_mut().for_each(|(_, v)| *v *= scale);
        }
    }
}

impl Sink for BucketSink {
    #[inline]
    fn add(
        &mut self,
        hash: u64,
        value: f32,
        _name: &dyn Fn() -> String,
        _span: Option<Range<usize>>,
    ) {
        if self.shared {
            let bucket = self.bucket(hash, None);
            self.features.push((bucket, value));
        }
        if let Some(salt) = self.language_salt {
            let bucket = self.bucket(hash, Some(salt));
            self.features.push((bucket, value));
        }
    }
}

/// The salt of a language's feature copies.
pub fn language_salt(code: &str) -> u64 {
    mix(fnv1a(code.as_bytes(), 0x5a17))
}

/// A sink that keeps names and spans (for explanations).
#[derive(Default)]
pub struct NamedSink {
    pub features: Vec<(u64, f32, String, Option<Range<usize>>)>,
}

impl Sink for NamedSink {
    fn add(
        &mut self,
        hash: u64,
        value: f32,
        name: &dyn Fn() -> String,
        span: Option<Range<usize>>,
    ) {
        self.features.push((hash, value, name(), span));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::tokenize;

    #[test]
    fn char_ngram_names() {
        let mut sink = NamedSink::default();
        let options = FeatureOptions {
            min_n: 2,
            max_n: 3,
            bigrams: false,
            lexicon: false,
            per_language: false,
            copies: LEGACY_COPIES,
        };
        language_features(&tokenize("año"), options, &mut sink);
        let names: Vec<_> = sink.features.iter().map(|f| f.2.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "word:año",
                "chars:^a",
                "chars:^añ",
                "chars:añ",
                "chars:año",
                "chars:ño",
                "chars:ño$",
                "chars:o$"
            ]
        );
    }

    #[test]
    fn flags_round_trip() {
        let options = FeatureOptions {
            min_n: 1,
            max_n: 5,
            bigrams: true,
            lexicon: true,
            per_language: true,
            copies: 0b1100_0001,
        };
        assert_eq!(FeatureOptions::from_flags(options.to_flags()), options);
    }
}
