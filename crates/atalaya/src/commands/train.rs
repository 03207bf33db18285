//! `atalaya train`: trains the text models from labelled data (see
//! `crates/atalaya-text/models/README.md`). Deterministic: the same data give the same bytes.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use atalaya_text::eval::Confusion;
use atalaya_text::language::{Lang, LanguageModel};
use atalaya_text::sentiment::{Polarity, copies_mask};
use atalaya_text::train::{
    CATALAN_COMMON, LanguageConfig, SentimentConfig, SentimentSample, cross_validate_language,
    cross_validate_sentiment, cross_validate_sentiment_detected, hindi_cue_words,
    sentences_from_words, train_language_model, train_sentiment_model,
};

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    #[command(subcommand)]
    pub model: TrainModel,
}

#[derive(Debug, clap::Subcommand)]
pub enum TrainModel {
    /// Trains the sentiment model (es, en, pt, fr, it, de, ar, hi, plus a fallback for the rest).
    Sentiment(TrainSentimentArgs),
    /// Trains the language-identification model (es, en, pt, fr, it, de, ca, ar, hi).
    Language(TrainLanguageArgs),
}

#[derive(Debug, clap::Args)]
pub struct TrainSentimentArgs {
    /// The shared data folder (with `sentiment/<lang>/train*.tsv`).
    #[arg(long, default_value = "../shared/data")]
    pub data: PathBuf,
    /// Where to write `sentiment.atxm`.
    #[arg(long, default_value = "crates/atalaya-text/models")]
    pub out: PathBuf,
    /// Instead of training, report K-fold cross-validation on the training data.
    #[arg(long)]
    pub cv: Option<usize>,
    #[arg(long)]
    pub bits: Option<u8>,
    #[arg(long)]
    pub epochs: Option<usize>,
    #[arg(long)]
    pub learning_rate: Option<f64>,
    #[arg(long)]
    pub l2: Option<f64>,
    #[arg(long)]
    pub min_n: Option<usize>,
    #[arg(long)]
    pub max_n: Option<usize>,
    #[arg(long)]
    pub no_bigrams: bool,
    #[arg(long)]
    pub no_lexicon: bool,
    #[arg(long)]
    pub no_per_language: bool,
    #[arg(long)]
    pub no_balance: bool,
    #[arg(long)]
    pub dropout: Option<f64>,
    /// Weight of the Spanish examples.
    #[arg(long)]
    pub es_weight: Option<f32>,
    /// Weight of the InterTASS Spanish split (`es/train.tsv`, the same source as the
    /// Spanish validation set) relative to the other Spanish data.
    #[arg(long, default_value_t = 1.0)]
    pub intertass_weight: f32,
    /// Only these languages (comma-separated codes, `ar`/`hi` included); default all.
    #[arg(long)]
    pub only: Option<String>,
    /// Average the weights over the last N epochs (0: last iterate).
    #[arg(long)]
    pub average_epochs: Option<usize>,
    /// NB-SVM log-count-ratio scaling strength, 0..1 (0: off).
    #[arg(long)]
    pub nb: Option<f32>,
    /// Languages with their own feature copies (comma-separated, among es, en, pt, fr, it,
    /// de, ar, hi); default: the trainer's choice.
    #[arg(long)]
    pub copies: Option<String>,
    /// With `--cv`: score each held-out post in the language this language model
    /// (`language.atxm`) detects, as `eval sentiment --lang auto` does, instead of its
    /// file's language.
    #[arg(long)]
    pub cv_language: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct TrainLanguageArgs {
    /// The shared data folder (with `sentiment/<lang>/train*.tsv`).
    #[arg(long, default_value = "../shared/data")]
    pub data: PathBuf,
    /// Where to write `language.atxm`.
    #[arg(long, default_value = "crates/atalaya-text/models")]
    pub out: PathBuf,
    /// A hunspell dictionary for Catalan (word list, training only).
    #[arg(long, default_value = "/usr/share/hunspell/ca.dic")]
    pub catalan_dic: PathBuf,
    /// Instead of training, report K-fold cross-validation on the training data.
    #[arg(long)]
    pub cv: Option<usize>,
    #[arg(long)]
    pub bits: Option<u8>,
    #[arg(long)]
    pub epochs: Option<usize>,
    #[arg(long)]
    pub min_n: Option<usize>,
    #[arg(long)]
    pub max_n: Option<usize>,
    #[arg(long)]
    pub l2: Option<f64>,
    /// Keep a Hindi-labelled post only if it has at least this many frequent romanised-Hindi
    /// words (`atalaya_text::train::HINDI_COMMON`): the Hindi set also holds posts wholly in
    /// English. 0 keeps them all.
    #[arg(long, default_value_t = 2)]
    pub hindi_min_cues: usize,
    /// Leave these languages out (comma-separated codes), e.g. to compare with and without.
    #[arg(long)]
    pub skip: Option<String>,
}

pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    match args.model {
        TrainModel::Sentiment(args) => run_sentiment(&args),
        TrainModel::Language(args) => run_language(&args),
    }
}

/// Reads `label<TAB>text` lines, skipping malformed ones (counted on stderr).
fn read_tsv(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let content =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut rows = Vec::new();
    let mut skipped = 0;
    for line in content.lines() {
        match line.split_once('\t') {
            Some((label, text)) => rows.push((label.to_string(), text.to_string())),
            None => skipped += 1,
        }
    }
    if skipped > 0 {
        eprintln!("{}: skipped {skipped} malformed lines", path.display());
    }
    Ok(rows)
}

/// Sentiment training files, in a fixed order: (code, file).
const SENTIMENT_FILES: &[(&str, &str)] = &[
    ("es", "sentiment/es/train.tsv"),
    ("es", "sentiment/es/train_tass2020.tsv"),
    ("en", "sentiment/en/train.tsv"),
    ("pt", "sentiment/pt/train.tsv"),
    ("fr", "sentiment/fr/train.tsv"),
    ("it", "sentiment/it/train.tsv"),
    ("de", "sentiment/de/train.tsv"),
    ("ar", "sentiment/ar/train.tsv"),
    ("hi", "sentiment/hi/train.tsv"),
];

fn sentiment_samples(
    data: &Path,
    only: Option<&str>,
    intertass_weight: f32,
) -> anyhow::Result<(Vec<SentimentSample>, Vec<&'static str>)> {
    let mut samples = Vec::new();
    let mut codes = Vec::new();
    for (code, file) in SENTIMENT_FILES {
        if only.is_some_and(|only| !only.split(',').any(|c| c.trim() == *code)) {
            continue;
        }
        let lang = Lang::from_code(code);
        let lang = (lang != Lang::Unknown).then_some(lang);
        for (label, text) in read_tsv(&data.join(file))? {
            let Some(label) = Polarity::parse(&label) else {
                continue;
            };
            let weight = if *file == SENTIMENT_FILES[0].1 {
                intertass_weight
            } else {
                1.0
            };
            samples.push(SentimentSample {
                lang,
                label,
                text,
                weight,
            });
            codes.push(*code);
        }
    }
    if samples.is_empty() {
        bail!("no sentiment training data under {}", data.display());
    }
    Ok((samples, codes))
}

fn sentiment_config(args: &TrainSentimentArgs) -> SentimentConfig {
    let mut config = SentimentConfig::default();
    let f = &mut config.features;
    if let Some(v) = args.min_n {
        f.min_n = v;
    }
    if let Some(v) = args.max_n {
        f.max_n = v;
    }
    f.bigrams &= !args.no_bigrams;
    f.lexicon &= !args.no_lexicon;
    f.per_language &= !args.no_per_language;
    let t = &mut config.train;
    if let Some(v) = args.bits {
        t.bits = v;
    }
    if let Some(v) = args.epochs {
        t.epochs = v;
    }
    if let Some(v) = args.learning_rate {
        t.learning_rate = v;
    }
    if let Some(v) = args.l2 {
        t.l2 = v;
    }
    t.balance_classes &= !args.no_balance;
    if let Some(v) = args.average_epochs {
        t.average_epochs = v;
    }
    if let Some(v) = args.nb {
        config.nb_scaling = v;
    }
    if let Some(v) = args.dropout {
        config.language_dropout = v;
    }
    if let Some(codes) = &args.copies {
        let langs: Vec<Lang> = codes.split(',').map(Lang::from_code).collect();
        config.features.copies = copies_mask(&langs);
    }
    if let Some(v) = args.es_weight {
        // Replace the default Spanish weight: the trainer uses the first entry for a language.
        config
            .language_weights
            .retain(|(lang, _)| *lang != Lang::Es);
        config.language_weights.push((Lang::Es, v));
    }
    config
}

fn run_sentiment(args: &TrainSentimentArgs) -> anyhow::Result<()> {
    let (samples, codes) =
        sentiment_samples(&args.data, args.only.as_deref(), args.intertass_weight)?;
    let config = sentiment_config(args);
    if config.features.per_language && config.features.copies == 0 {
        bail!("--copies names no language that can have copies (es, en, pt, fr, it, de, ar, hi)");
    }
    eprintln!("{} samples; {config:?}", samples.len());
    let start = Instant::now();
    if let Some(k) = args.cv {
        let predictions = if let Some(path) = &args.cv_language {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let language = LanguageModel::from_bytes(&bytes)
                .with_context(|| format!("loading the language model {}", path.display()))?;
            cross_validate_sentiment_detected(&samples, &config, k, &language)
        } else {
            cross_validate_sentiment(&samples, &config, k)
        };
        let labels: Vec<String> = Polarity::ALL
            .iter()
            .map(|p| p.as_str().to_string())
            .collect();
        let mut groups: Vec<(&str, Confusion)> = Vec::new();
        for ((sample, code), predicted) in samples.iter().zip(&codes).zip(&predictions) {
            let group = match groups.iter_mut().find(|(c, _)| c == code) {
                Some(group) => group,
                None => {
                    groups.push((code, Confusion::new(labels.clone())));
                    let last = groups.len() - 1;
                    &mut groups[last]
                }
            };
            group.1.add(sample.label.index(), predicted.index());
        }
        // The InterTASS part of Spanish (the first file) on its own: it matches the validation set.
        let mut intertass = Confusion::new(labels);
        let intertass_rows = read_tsv(&args.data.join(SENTIMENT_FILES[0].1))?.len();
        let first_es = codes.iter().position(|c| *c == "es");
        if let Some(first) = first_es {
            for (sample, predicted) in samples[first..]
                .iter()
                .zip(&predictions[first..])
                .take(intertass_rows)
            {
                intertass.add(sample.label.index(), predicted.index());
            }
        }
        for (code, confusion) in &groups {
            println!(
                "cv {code}: n={} accuracy={:.4} macro_f1={:.4} macro_recall={:.4}",
                confusion.total(),
                confusion.accuracy(),
                confusion.macro_f1(),
                confusion.macro_recall()
            );
        }
        if intertass.total() > 0 {
            println!(
                "cv es-intertass: n={} macro_f1={:.4}",
                intertass.total(),
                intertass.macro_f1()
            );
        }
        println!("cv seconds={:.1}", start.elapsed().as_secs_f64());
        return Ok(());
    }
    let model = train_sentiment_model(&samples, &config);
    let bytes = model.to_bytes();
    let path = args.out.join("sentiment.atxm");
    std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
    println!(
        "wrote {} ({} bytes, fnv64 {:016x}) in {:.1}s",
        path.display(),
        bytes.len(),
        atalaya_text::linear::fnv1a(&bytes, 0),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Language training files: (language, file). Every sentiment train split of a language the
/// detector knows; never `language/val.tsv`.
const LANGUAGE_FILES: &[(Lang, &str)] = &[
    (Lang::Es, "sentiment/es/train.tsv"),
    (Lang::Es, "sentiment/es/train_tass2020.tsv"),
    (Lang::En, "sentiment/en/train.tsv"),
    (Lang::Pt, "sentiment/pt/train.tsv"),
    (Lang::Fr, "sentiment/fr/train.tsv"),
    (Lang::It, "sentiment/it/train.tsv"),
    (Lang::De, "sentiment/de/train.tsv"),
    (Lang::Ar, "sentiment/ar/train.tsv"),
    // Filtered by `--hindi-min-cues`.
    (Lang::Hi, "sentiment/hi/train.tsv"),
];

/// How many Catalan pseudo-sentences to make from the word list.
const CATALAN_SENTENCES: usize = 2_000;

fn language_samples(args: &TrainLanguageArgs) -> anyhow::Result<Vec<(Lang, String)>> {
    let skipped: Vec<Lang> = args
        .skip
        .as_deref()
        .map(|codes| codes.split(',').map(Lang::from_code).collect())
        .unwrap_or_default();
    let mut samples = Vec::new();
    for (lang, file) in LANGUAGE_FILES {
        if skipped.contains(lang) {
            continue;
        }
        let mut left_out = 0;
        for (_, text) in read_tsv(&args.data.join(file))? {
            if *lang == Lang::Hi && hindi_cue_words(&text) < args.hindi_min_cues {
                left_out += 1;
                continue;
            }
            samples.push((*lang, text));
        }
        if left_out > 0 {
            eprintln!(
                "{file}: left out {left_out} posts with fewer than {} romanised-Hindi words",
                args.hindi_min_cues
            );
        }
    }
    if skipped.contains(&Lang::Ca) {
        return Ok(samples);
    }
    match std::fs::read_to_string(&args.catalan_dic) {
        Ok(dic) => {
            // hunspell .dic: a count line, then `word/FLAGS` lines.
            let words: Vec<&str> = dic
                .lines()
                .skip(1)
                .map(|line| line.split('/').next().unwrap_or("").trim())
                .filter(|w| {
                    w.chars().count() >= 2
                        && w.chars()
                            .all(|c| c.is_alphabetic() || c == '\'' || c == '·')
                })
                .collect();
            eprintln!(
                "catalan: {} words from {}",
                words.len(),
                args.catalan_dic.display()
            );
            for sentence in
                sentences_from_words(CATALAN_COMMON, &words, CATALAN_SENTENCES, 0xca7a1a)
            {
                samples.push((Lang::Ca, sentence));
            }
        }
        Err(error) => {
            eprintln!(
                "warning: no Catalan word list at {} ({error}); training from the built-in common words only \
                 (apt-get install hunspell-ca for the documented model)",
                args.catalan_dic.display()
            );
            for sentence in sentences_from_words(CATALAN_COMMON, &[], CATALAN_SENTENCES, 0xca7a1a) {
                samples.push((Lang::Ca, sentence));
            }
        }
    }
    Ok(samples)
}

fn run_language(args: &TrainLanguageArgs) -> anyhow::Result<()> {
    let samples = language_samples(args)?;
    let mut config = LanguageConfig::default();
    if let Some(v) = args.bits {
        config.train.bits = v;
    }
    if let Some(v) = args.epochs {
        config.train.epochs = v;
    }
    if let Some(v) = args.min_n {
        config.features.min_n = v;
    }
    if let Some(v) = args.max_n {
        config.features.max_n = v;
    }
    if let Some(v) = args.l2 {
        config.train.l2 = v;
    }
    eprintln!("{} samples; {config:?}", samples.len());
    let start = Instant::now();
    if let Some(k) = args.cv {
        let confusion = cross_validate_language(&samples, &config, k);
        for (i, label) in confusion.labels.iter().enumerate() {
            let n: u64 = confusion.matrix[i].iter().sum();
            if n > 0 {
                println!("cv {label}: n={n} accuracy={:.4}", confusion.recall(i));
            }
        }
        println!(
            "cv language: accuracy={:.4} seconds={:.1}",
            confusion.accuracy(),
            start.elapsed().as_secs_f64()
        );
        print!("{}", confusion.render());
        return Ok(());
    }
    let model = train_language_model(&samples, &config);
    let bytes = model.to_bytes();
    let path = args.out.join("language.atxm");
    std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
    println!(
        "wrote {} ({} bytes, fnv64 {:016x}) in {:.1}s",
        path.display(),
        bytes.len(),
        atalaya_text::linear::fnv1a(&bytes, 0),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
