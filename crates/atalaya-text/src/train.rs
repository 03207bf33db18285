//! Training of the language and sentiment models. Pure: it takes labelled texts and returns
//! model bytes. Deterministic: the same texts, in the same order, with the same options give
//! the same bytes (seeded shuffles, single thread, no hash-map iteration).

use crate::eval::Confusion;
use crate::features::{
    BucketSink, FeatureOptions, LEGACY_COPIES, language_features, language_salt, sentiment_features,
};
use crate::language::{Lang, LanguageModel};
use crate::linear::{
    Example, LinearModel, ModelKind, SplitMix, TrainOptions, quantize, train_scaled_weights,
    train_weights,
};
use crate::normalize::{TokenKind, tokenize};
use crate::sentiment::{Polarity, SentimentModel, has_copy};

/// One labelled post for sentiment training.
#[derive(Debug, Clone, PartialEq)]
pub struct SentimentSample {
    /// The language of the post, if known. Only languages with copies in
    /// `SentimentConfig::features.copies` train a copy; the others (and `None`) train the
    /// shared features only.
    pub lang: Option<Lang>,
    pub label: Polarity,
    pub text: String,
    /// How much this sample counts (1 by default).
    pub weight: f32,
}

/// How to train the sentiment model.
#[derive(Debug, Clone, PartialEq)]
pub struct SentimentConfig {
    pub features: FeatureOptions,
    pub train: TrainOptions,
    /// Fraction of the examples of a known language that also train as if their language were
    /// unknown (shared copies only), so the fallback learns to stand alone.
    pub language_dropout: f64,
    /// Weight of each language's examples (others: 1).
    pub language_weights: Vec<(Lang, f32)>,
    /// NB-SVM-style scaling (Wang & Manning 2012): class `c` sees feature `j` scaled by
    /// `(1 - nb) + nb * |r_jc|`, with `r_jc` the log-count ratio of the feature in class `c`
    /// against the other classes, counted on the training data. 0: off.
    pub nb_scaling: f32,
}

impl Default for SentimentConfig {
    fn default() -> Self {
        SentimentConfig {
            features: FeatureOptions {
                min_n: 3,
                max_n: 5,
                bigrams: true,
                lexicon: true,
                per_language: true,
                copies: LEGACY_COPIES,
            },
            // Chosen by 5-fold cross-validation on the train splits (see models/README.md).
            train: TrainOptions {
                bits: 20,
                epochs: 15,
                learning_rate: 0.4,
                l2: 2e-6,
                balance_classes: true,
                seed: 42,
                average_epochs: 5,
            },
            language_dropout: 0.4,
            language_weights: vec![(Lang::Es, 2.0)],
            nb_scaling: 1.0,
        }
    }
}

/// How to train the language model.
#[derive(Debug, Clone, PartialEq)]
pub struct LanguageConfig {
    pub features: FeatureOptions,
    pub train: TrainOptions,
}

impl Default for LanguageConfig {
    fn default() -> Self {
        LanguageConfig {
            features: FeatureOptions {
                min_n: 2,
                max_n: 4,
                bigrams: false,
                lexicon: false,
                per_language: false,
                copies: 0,
            },
            train: TrainOptions {
                bits: 16,
                epochs: 6,
                learning_rate: 0.5,
                l2: 1e-6,
                balance_classes: true,
                seed: 7,
                average_epochs: 0,
            },
        }
    }
}

fn sentiment_examples(samples: &[SentimentSample], config: &SentimentConfig) -> Vec<Example> {
    let mut rng = SplitMix(config.train.seed ^ 0xd20b);
    let mut examples = Vec::with_capacity(samples.len() * 2);
    for sample in samples {
        let tokens = tokenize(&sample.text);
        let weight = sample.weight
            * sample
                .lang
                .and_then(|lang| {
                    config
                        .language_weights
                        .iter()
                        .find(|(l, _)| *l == lang)
                        .map(|(_, w)| *w)
                })
                .unwrap_or(1.0);
        let copy = sample.lang.filter(|l| has_copy(config.features, *l));
        let salt = copy.map(|l| language_salt(l.code()));
        let mut sink = BucketSink::new(config.train.bits, salt, true);
        sentiment_features(&tokens, config.features, &mut sink);
        sink.finish();
        examples.push(Example {
            class: sample.label.index(),
            features: sink.features,
            weight,
        });
        if salt.is_some() && rng.unit() < config.language_dropout {
            let mut sink = BucketSink::new(config.train.bits, None, true);
            sentiment_features(&tokens, config.features, &mut sink);
            sink.finish();
            examples.push(Example {
                class: sample.label.index(),
                features: sink.features,
                weight,
            });
        }
    }
    examples
}

/// The NB-SVM input scale per (bucket, class): `(1 - nb) + nb * |r_jc|`, where `r_jc` is the
/// log ratio of how often bucket `j` occurs in class `c` against the other classes (presence
/// counts weighted by the example weights, add-one smoothed, each side normalised to sum 1).
/// Only the magnitude is used: the weight `w_jc` is free to take either sign, so `|r_jc|`
/// acts as a per-weight prior, letting words that tell the classes apart move further from
/// zero under the same L2 while buckets spread evenly over the classes stay near it.
fn nb_scale(examples: &[Example], classes: usize, bits: u8, nb: f32) -> Vec<f32> {
    let rows = 1usize << bits;
    let mut counts = vec![0f64; rows * classes];
    for example in examples {
        for &(bucket, _) in &example.features {
            counts[bucket as usize * classes + example.class] += f64::from(example.weight);
        }
    }
    let smoothing = 1.0;
    let mut class_totals = vec![0f64; classes];
    for row in counts.chunks(classes) {
        for (total, count) in class_totals.iter_mut().zip(row) {
            *total += count + smoothing;
        }
    }
    let all: f64 = class_totals.iter().sum();
    let mut scale = vec![1f32; rows * classes];
    for (row, out) in counts.chunks(classes).zip(scale.chunks_mut(classes)) {
        let row_total: f64 = row.iter().map(|c| c + smoothing).sum();
        for class in 0..classes {
            let inside = (row[class] + smoothing) / class_totals[class];
            let outside = (row_total - row[class] - smoothing) / (all - class_totals[class]);
            let ratio = (inside / outside).ln().abs() as f32;
            out[class] = (1.0 - nb) + nb * ratio;
        }
    }
    scale
}

fn build_model(
    kind: ModelKind,
    classes: Vec<String>,
    flags: u32,
    bits: u8,
    weights: &[f32],
) -> LinearModel {
    let (scale, weights) = quantize(weights);
    LinearModel {
        kind,
        bits,
        classes,
        flags,
        scale,
        weights,
    }
}

/// Trains the sentiment model.
pub fn train_sentiment_model(
    samples: &[SentimentSample],
    config: &SentimentConfig,
) -> SentimentModel {
    let examples = sentiment_examples(samples, config);
    let weights = if config.nb_scaling > 0.0 {
        let input_scale = nb_scale(&examples, 3, config.train.bits, config.nb_scaling);
        train_scaled_weights(&examples, 3, &config.train, Some(&input_scale))
    } else {
        train_weights(&examples, 3, &config.train)
    };
    let classes = Polarity::ALL
        .iter()
        .map(|p| p.as_str().to_string())
        .collect();
    let model = build_model(
        ModelKind::Sentiment,
        classes,
        config.features.to_flags(),
        config.train.bits,
        &weights,
    );
    // The classes and flags were just written: this cannot fail.
    match SentimentModel::from_model(model) {
        Ok(model) => model,
        Err(error) => unreachable!("a freshly trained sentiment model is valid: {error}"),
    }
}

/// Trains the sentiment model and returns its bytes.
pub fn train_sentiment(samples: &[SentimentSample], config: &SentimentConfig) -> Vec<u8> {
    train_sentiment_model(samples, config).to_bytes()
}

/// Trains the language model on (language, text) pairs.
pub fn train_language_model(samples: &[(Lang, String)], config: &LanguageConfig) -> LanguageModel {
    let mut langs: Vec<Lang> = samples
        .iter()
        .map(|(l, _)| *l)
        .filter(|l| *l != Lang::Unknown)
        .collect();
    langs.sort();
    langs.dedup();
    let mut examples = Vec::with_capacity(samples.len());
    for (lang, text) in samples {
        let Some(class) = langs.iter().position(|l| l == lang) else {
            continue;
        };
        let tokens = tokenize(text);
        let mut sink = BucketSink::new(config.train.bits, None, true);
        language_features(&tokens, config.features, &mut sink);
        sink.finish();
        if !sink.features.is_empty() {
            examples.push(Example {
                class,
                features: sink.features,
                weight: 1.0,
            });
        }
    }
    let weights = train_weights(&examples, langs.len(), &config.train);
    let classes = langs.iter().map(|l| l.code().to_string()).collect();
    let model = build_model(
        ModelKind::Language,
        classes,
        config.features.to_flags(),
        config.train.bits,
        &weights,
    );
    match LanguageModel::from_model(model) {
        Ok(model) => model,
        Err(error) => unreachable!("a freshly trained language model is valid: {error}"),
    }
}

/// Trains the language model and returns its bytes.
pub fn train_language(samples: &[(Lang, String)], config: &LanguageConfig) -> Vec<u8> {
    train_language_model(samples, config).to_bytes()
}

/// Which fold (0..folds) each of `n` items falls in: a seeded shuffle, dealt round-robin.
pub fn folds(n: usize, folds: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    SplitMix(seed).shuffle(&mut order);
    let mut fold_of = vec![0; n];
    for (position, &item) in order.iter().enumerate() {
        fold_of[item] = position % folds.max(1);
    }
    fold_of
}

/// K-fold cross-validation of the sentiment trainer: each sample is predicted by a model
/// trained on the other folds (samples without a language are predicted as `Unknown`, i.e.
/// by the fallback). Used to choose hyper-parameters on training data only.
pub fn cross_validate_sentiment(
    samples: &[SentimentSample],
    config: &SentimentConfig,
    k: usize,
) -> Vec<Polarity> {
    cross_validate_sentiment_by(samples, config, k, &|sample| {
        sample.lang.unwrap_or(Lang::Unknown)
    })
}

/// Like [`cross_validate_sentiment`], but each held-out sample is scored in the language
/// `language` detects for it, as `atalaya eval sentiment --lang auto` and the ingest pipeline
/// do (training still uses each sample's own language). This is the measure for languages
/// whose posts are often detected as another one, such as romanised Hindi mixed with English.
pub fn cross_validate_sentiment_detected(
    samples: &[SentimentSample],
    config: &SentimentConfig,
    k: usize,
    language: &LanguageModel,
) -> Vec<Polarity> {
    cross_validate_sentiment_by(samples, config, k, &|sample| {
        language.detect(&sample.text).lang
    })
}

fn cross_validate_sentiment_by(
    samples: &[SentimentSample],
    config: &SentimentConfig,
    k: usize,
    scoring_lang: &dyn Fn(&SentimentSample) -> Lang,
) -> Vec<Polarity> {
    let fold_of = folds(samples.len(), k, config.train.seed ^ 0xf01d);
    let mut predictions = vec![Polarity::Neutral; samples.len()];
    for fold in 0..k {
        let train: Vec<SentimentSample> = samples
            .iter()
            .zip(&fold_of)
            .filter(|(_, f)| **f != fold)
            .map(|(s, _)| s.clone())
            .collect();
        let model = train_sentiment_model(&train, config);
        for (index, sample) in samples
            .iter()
            .enumerate()
            .filter(|(i, _)| fold_of[*i] == fold)
        {
            predictions[index] = model.predict(&sample.text, scoring_lang(sample)).label;
        }
    }
    predictions
}

/// K-fold cross-validation of the language trainer (accuracy over all samples).
pub fn cross_validate_language(
    samples: &[(Lang, String)],
    config: &LanguageConfig,
    k: usize,
) -> Confusion {
    let fold_of = folds(samples.len(), k, config.train.seed ^ 0xf01d);
    let mut langs: Vec<Lang> = samples.iter().map(|(l, _)| *l).collect();
    langs.sort();
    langs.dedup();
    let mut labels: Vec<String> = langs.iter().map(|l| l.code().to_string()).collect();
    labels.push(Lang::Unknown.code().to_string());
    let mut confusion = Confusion::new(labels);
    for fold in 0..k {
        let train: Vec<(Lang, String)> = samples
            .iter()
            .zip(&fold_of)
            .filter(|(_, f)| **f != fold)
            .map(|(s, _)| s.clone())
            .collect();
        let model = train_language_model(&train, config);
        for ((lang, text), _) in samples.iter().zip(&fold_of).filter(|(_, f)| **f == fold) {
            let guess = model.detect(text).lang;
            let truth = langs.iter().position(|l| l == lang).unwrap_or(langs.len());
            let predicted = langs
                .iter()
                .position(|l| *l == guess)
                .unwrap_or(langs.len());
            confusion.add(truth, predicted);
        }
    }
    confusion
}

/// Pseudo-sentences for a language that has a word list but no posts (Catalan from a
/// hunspell dictionary): `common` words (frequent function words, written by hand) mixed
/// with words drawn from `words`, seeded. Only used at training time.
pub fn sentences_from_words(
    common: &[&str],
    words: &[&str],
    count: usize,
    seed: u64,
) -> Vec<String> {
    let mut rng = SplitMix(seed);
    let mut sentences = Vec::with_capacity(count);
    for _ in 0..count {
        let length = 4 + rng.below(12);
        let mut sentence = String::new();
        for i in 0..length {
            let word = if words.is_empty() || rng.unit() < 0.55 {
                common.get(rng.below(common.len())).copied().unwrap_or("")
            } else {
                words[rng.below(words.len())]
            };
            if i > 0 {
                sentence.push(' ');
            }
            sentence.push_str(word);
        }
        sentences.push(sentence);
    }
    sentences
}

/// Frequent Catalan words, written by hand for training the Catalan class.
pub const CATALAN_COMMON: &[&str] = &[
    "i",
    "de",
    "la",
    "el",
    "els",
    "les",
    "que",
    "a",
    "en",
    "per",
    "amb",
    "un",
    "una",
    "no",
    "és",
    "del",
    "dels",
    "al",
    "als",
    "es",
    "se",
    "més",
    "però",
    "com",
    "hi",
    "ha",
    "han",
    "ho",
    "li",
    "ens",
    "us",
    "seu",
    "seva",
    "seus",
    "seves",
    "meu",
    "meva",
    "teu",
    "teva",
    "nostre",
    "nostra",
    "vostre",
    "aquest",
    "aquesta",
    "aquests",
    "aquestes",
    "això",
    "allò",
    "aquí",
    "allà",
    "molt",
    "molta",
    "molts",
    "moltes",
    "també",
    "perquè",
    "quan",
    "on",
    "qui",
    "què",
    "tot",
    "tota",
    "tots",
    "totes",
    "ja",
    "encara",
    "sempre",
    "mai",
    "avui",
    "ahir",
    "demà",
    "doncs",
    "sí",
    "bé",
    "bon",
    "bona",
    "dia",
    "nit",
    "any",
    "anys",
    "gràcies",
    "som",
    "sóc",
    "són",
    "era",
    "eren",
    "serà",
    "estic",
    "està",
    "estan",
    "tinc",
    "té",
    "tenen",
    "fer",
    "fa",
    "fet",
    "feia",
    "dir",
    "diu",
    "poden",
    "pot",
    "vull",
    "volem",
    "anar",
    "anem",
    "vaig",
    "va",
    "van",
    "jo",
    "tu",
    "ell",
    "ella",
    "nosaltres",
    "vosaltres",
    "ells",
    "elles",
    "res",
    "cap",
    "ningú",
    "algú",
    "després",
    "abans",
    "ara",
    "mateix",
    "sense",
    "entre",
    "fins",
    "cada",
    "altre",
    "altra",
    "altres",
    "gent",
    "país",
    "Catalunya",
    "Barcelona",
    "govern",
    "llengua",
    "català",
    "catalana",
    "feina",
    "casa",
    "nou",
    "nova",
    "gran",
    "petit",
    "petita",
    "millor",
    "pitjor",
    "bonic",
    "bonica",
    "maco",
    "merda",
    "genial",
    "feliç",
    "trist",
    "gairebé",
    "potser",
    "només",
    "sobre",
    "sota",
    "dins",
    "fora",
    "l'any",
    "l'home",
    "d'aquí",
    "d'un",
    "d'una",
    "m'agrada",
    "t'estimo",
    "s'ha",
    "n'hi",
    "l'ha",
    "vosté",
    "hem",
    "heu",
    "havia",
    "tenim",
    "sabem",
    "veure",
    "mirar",
    "parlar",
    "escriure",
];

/// Frequent words of romanised Hindi as it is written in posts (Hinglish), written by hand
/// for this project. Words that are also common in English, Spanish, Portuguese, French,
/// Italian or German ("me", "se", "tu", "mai", "main", "mil", "pata", "jab"…) are left out,
/// so that a post needs Hindi words, not look-alikes, to count as Hindi.
pub const HINDI_COMMON: &[&str] = &[
    "hai", "hain", "nahi", "nahin", "nhi", "kya", "kyu", "kyun", "kyon", "kaise", "kaisa", "kaisi",
    "kab", "kaha", "kahan", "kuch", "kuchh", "bahut", "bohot", "bahot", "bhut", "bhi", "aur", "ka",
    "ki", "ke", "ko", "mein", "mujhe", "mujhse", "mujhko", "tum", "tera", "teri", "tere", "mera",
    "meri", "mere", "hum", "hamara", "hamari", "humara", "aap", "apka", "aapka", "apki", "aapki",
    "apne", "apni", "apna", "uska", "uski", "uske", "unka", "unki", "yeh", "ye", "woh", "wo", "vo",
    "yaar", "yar", "bhai", "acha", "accha", "achha", "theek", "thik", "sabhi", "abhi", "aaj",
    "phir", "toh", "tha", "thi", "raha", "rahi", "rahe", "rha", "rhi", "rhe", "kar", "karo",
    "karna", "karne", "karte", "karta", "kiya", "kia", "gaya", "gya", "gayi", "gyi", "hoga",
    "hogi", "hona", "hua", "hui", "diya", "liya", "dekh", "dekho", "jao", "jaa", "chal", "chalo",
    "sahi", "ji", "koi", "kaun", "kisi", "agar", "lekin", "wala", "wali", "wale", "dil", "pyar",
    "pyaar", "logon", "ghar", "kitna", "itna", "zyada", "jyada", "bolo", "bola", "suno", "samajh",
    "matlab", "chahiye", "chahte", "chahta", "sakta", "sakte", "sakti", "hoti", "hota", "hote",
    "hamesha", "jaisa", "jaise", "aisa", "aise", "kyunki", "kyuki", "milega", "naam", "baat",
    "raat", "sach", "bura", "bure", "achi", "acche",
];

/// How many words of `text` are in [`HINDI_COMMON`].
///
/// Romanised Hindi posts are mixed with English, and a Hindi-labelled set also holds posts
/// written wholly in English; teaching the language model that those are Hindi would pull
/// English posts away from `en`. The trainer keeps a Hindi-labelled post for language
/// identification only when it has enough of these words.
pub fn hindi_cue_words(text: &str) -> usize {
    tokenize(text)
        .iter()
        .filter(|token| {
            token.kind == TokenKind::Word && HINDI_COMMON.contains(&token.lower.as_str())
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hindi_cue_words_count_hindi_not_look_alikes() {
        fn check(text: &str, expected: usize) {
            assert_eq!(hindi_cue_words(text), expected, "{text:?}");
        }
        check("yaar aaj match dekh ke maza aa gaya", 5);
        check("Kya baat hai bhai!!", 4);
        check("@user #IndVsPak nahi yaar", 2);
        // English, Spanish and Italian posts share no counted words with the list.
        check("What a great match, see you tomorrow", 0);
        check("No me gusta nada, se acabó el partido", 0);
        check("Non ho mai visto una cosa così", 0);
        check("", 0);
    }

    #[test]
    fn hindi_common_has_no_duplicates_and_is_lower_case() {
        let mut words = HINDI_COMMON.to_vec();
        words.sort_unstable();
        words.dedup();
        assert_eq!(words.len(), HINDI_COMMON.len());
        assert!(
            HINDI_COMMON
                .iter()
                .all(|w| w.chars().all(|c| c.is_ascii_lowercase()))
        );
    }

    #[test]
    fn nb_scale_favours_class_specific_buckets() {
        // Bucket 0 only in class 0, bucket 2 in every class.
        let examples: Vec<Example> = (0..30)
            .map(|i| Example {
                class: i % 3,
                features: if i % 3 == 0 {
                    vec![(0, 1.0), (2, 1.0)]
                } else {
                    vec![(2, 1.0)]
                },
                weight: 1.0,
            })
            .collect();
        let scale = nb_scale(&examples, 3, 2, 1.0);
        let (specific, shared) = (scale[0], scale[2 * 3]);
        assert!(specific > 1.0, "{specific}");
        assert!(shared < specific, "{shared} vs {specific}");
        // nb = 0 leaves every input as it is.
        assert!(nb_scale(&examples, 3, 2, 0.0).iter().all(|&s| s == 1.0));
    }
}
