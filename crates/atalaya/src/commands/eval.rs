//! `atalaya eval`: measures sentiment or language identification on a labelled TSV file.
//! A thin wrapper over `atalaya_text::eval`.

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use anyhow::{Context, bail};
use atalaya_text::eval::{LangChoice, Rejected, evaluate_language, evaluate_sentiment};
use atalaya_text::language::Lang;

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
}

#[derive(Debug, clap::Args)]
pub struct EvalLanguageArgs {
    /// A TSV file: `lang<TAB>text` per line.
    pub file: PathBuf,
}

pub fn run(command: EvalCommand) -> anyhow::Result<()> {
    let analyzer =
        atalaya_text::analyzer::Analyzer::embedded().context("loading the embedded text models")?;
    match command {
        EvalCommand::Sentiment(args) => {
            let lang = match args.lang.trim().to_ascii_lowercase().as_str() {
                "auto" => LangChoice::Auto,
                code => match Lang::from_code(code) {
                    Lang::Unknown if code != "und" => bail!(
                        "unknown language {code:?}: use es, en, pt, fr, it, de, ca, und or auto"
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
            let file = File::open(&args.file)
                .with_context(|| format!("opening {}", args.file.display()))?;
            let report = evaluate_language(BufReader::new(file), &analyzer)
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
