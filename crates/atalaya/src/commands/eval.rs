//! `atalaya eval`: measures sentiment or language identification on a labelled TSV file.
//! A thin wrapper over `atalaya_text::eval`.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use atalaya_text::analyzer::Analyzer;
use atalaya_text::eval::{
    LangChoice, LanguageEvalOptions, Rejected, evaluate_language_with, evaluate_sentiment,
};
use atalaya_text::language::{Lang, LanguageModel};
use atalaya_text::sentiment::SentimentModel;

#[derive(Debug, clap::Subcommand)]
pub enum EvalCommand {
    /// Sentiment on `label<TAB>text` lines (negative, neutral, positive).
    Sentiment(EvalSentimentArgs),
    /// Language identification on `lang<TAB>text` lines (ISO 639-1 codes).
    Language(EvalLanguageArgs),
}

#[derive(Debug, clap::Args)]
pub struct EvalSentimentArgs {
    /// A TSV file: `label<TAB>text` per line.
    pub file: PathBuf,
    /// The language of the posts: `es`, `en` (or another code), or `auto` to detect each.
    #[arg(long, default_value = "auto")]
    pub lang: String,
    /// Evaluate the models in this folder (`language.atxm`, `sentiment.atxm`, as `atalaya
    /// train` writes them) instead of the embedded ones.
    #[arg(long)]
    pub models: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct EvalLanguageArgs {
    /// A TSV file: `lang<TAB>text` per line.
    pub file: PathBuf,
    /// Evaluate the models in this folder instead of the embedded ones.
    #[arg(long)]
    pub models: Option<PathBuf>,
    /// Decide as the pipeline does for a workspace with these languages
    /// (comma-separated codes, e.g. `es,en`): short posts are placed among them.
    #[arg(long, value_delimiter = ',')]
    pub languages: Vec<String>,
    /// Cut each post to its first words within this many letters, to measure
    /// short posts on a file of long ones.
    #[arg(long)]
    pub prefix_letters: Option<usize>,
}

/// The embedded models, or those in `folder` (to measure a freshly trained model before it is
/// built into the binary).
fn load_analyzer(folder: Option<&Path>) -> anyhow::Result<Analyzer> {
    let Some(folder) = folder else {
        return Analyzer::embedded().context("loading the embedded text models");
    };
    let read = |name: &str| {
        let path = folder.join(name);
        std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
    };
    let language =
        LanguageModel::from_bytes(&read("language.atxm")?).context("loading language.atxm")?;
    let sentiment =
        SentimentModel::from_bytes(&read("sentiment.atxm")?).context("loading sentiment.atxm")?;
    Ok(Analyzer::new(language, sentiment))
}

pub fn run(command: EvalCommand) -> anyhow::Result<()> {
    match command {
        EvalCommand::Sentiment(args) => {
            let analyzer = load_analyzer(args.models.as_deref())?;
            let lang = match args.lang.trim().to_ascii_lowercase().as_str() {
                "auto" => LangChoice::Auto,
                code => match Lang::from_code(code) {
                    Lang::Unknown if code != "und" => bail!(
                        "unknown language {code:?}: use es, en, pt, fr, it, de, ca, ar, hi, und or auto"
                    ),
                    lang => LangChoice::Fixed(lang),
                },
            };
            let file = File::open(&args.file)
                .with_context(|| format!("opening {}", args.file.display()))?;
            let report = evaluate_sentiment(BufReader::new(file), lang, &analyzer)
                .with_context(|| format!("reading {}", args.file.display()))?;
            print_rejected(&args.file, &report.rejected);
            println!("{}", report.render());
        }
        EvalCommand::Language(args) => {
            let analyzer = load_analyzer(args.models.as_deref())?;
            let mut workspace = Vec::new();
            for code in &args.languages {
                match Lang::from_code(code) {
                    Lang::Unknown => bail!(
                        "unknown language {code:?} in --languages: use es, en, pt, fr, it, de, ca, ar or hi"
                    ),
                    lang => workspace.push(lang),
                }
            }
            let options = LanguageEvalOptions {
                workspace,
                prefix_letters: args.prefix_letters,
            };
            let file = File::open(&args.file)
                .with_context(|| format!("opening {}", args.file.display()))?;
            let report = evaluate_language_with(BufReader::new(file), &analyzer, &options)
                .with_context(|| format!("reading {}", args.file.display()))?;
            print_rejected(&args.file, &report.rejected);
            println!("{}", report.render());
        }
    }
    Ok(())
}

fn print_rejected(file: &std::path::Path, rejected: &[Rejected]) {
    for r in rejected {
        eprintln!("{}:{}: rejected: {}", file.display(), r.line, r.reason);
    }
    if !rejected.is_empty() {
        eprintln!("{} lines rejected", rejected.len());
    }
}
