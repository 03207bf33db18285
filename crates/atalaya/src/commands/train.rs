//! `atalaya train`: trains the text models from labelled data (see
//! `crates/atalaya-text/models/README.md`). Deterministic: the same data give the same bytes.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use atalaya_text::eval::Confusion;
use atalaya_text::language::Lang;
use atalaya_text::sentiment::Polarity;
use atalaya_text::train::{
    CATALAN_COMMON, LanguageConfig, SentimentConfig, SentimentSample, cross_validate_language,
    cross_validate_sentiment, sentences_from_words, train_language_model, train_sentiment_model,
};

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    #[command(subcommand)]
    pub model: TrainModel,
}

#[derive(Debug, clap::Subcommand)]
pub enum TrainModel {
    /// Trains the sentiment model (es, en, pt, fr, it, de, plus a fallback for the rest).
    Sentiment(TrainSentimentArgs),
    /// Trains the language-identification model (es, en, pt, fr, it, de, ca).
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
    eprintln!("{} samples; {config:?}", samples.len());
    let start = Instant::now();
    if let Some(k) = args.cv {
        let predictions = cross_validate_sentiment(&samples, &config, k);
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
];

/// How many Catalan pseudo-sentences to make from the word list.
const CATALAN_SENTENCES: usize = 2_000;

fn language_samples(args: &TrainLanguageArgs) -> anyhow::Result<Vec<(Lang, String)>> {
    let mut samples = Vec::new();
    for (lang, file) in LANGUAGE_FILES {
        for (_, text) in read_tsv(&args.data.join(file))? {
            samples.push((*lang, text));
        }
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
