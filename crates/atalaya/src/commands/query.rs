//! `atalaya query`: try a listening query from the command line.
//!
//! `atalaya query check 'QUERY' --text 'TEXT' [--author A] [--url U] [--lang L] [--source S]`
//! prints one line per matched span (`START..END<TAB>matched text<TAB>query term`)
//! and, as its last line, exactly `match` or `no match`, exiting 0 either way:
//! scripts rely on that shape. A query that does not parse exits 2 with the
//! query, a caret under the error and the message on stderr. A query too
//! expensive to match on the text (see `atalaya_text::query::MatchLimits`)
//! exits 3 with the explanation on stderr; only the first 20,000 characters of
//! the text are matched, as in the pipeline.
//! `atalaya query bench` times matching on generated topics and posts.

use std::process::ExitCode;

use anyhow::Result;
use atalaya_text::query::{self, Document, MessageLang, QuerySet, TooExpensive};

#[derive(Debug, clap::Subcommand)]
pub enum QueryCommand {
    /// Check a query against a text: prints the matched spans, then `match` or `no match`.
    Check(QueryCheckArgs),
    /// Time query matching on generated topics and tweet-length posts (build with --release).
    Bench(QueryBenchArgs),
}

#[derive(Debug, clap::Args)]
pub struct QueryCheckArgs {
    /// The listening query, e.g. '(zara OR mango) NEAR/3 queja -empleo'.
    pub query: String,
    /// The text of the mention to check.
    #[arg(long)]
    pub text: String,
    /// The mention's author (for `author:`).
    #[arg(long)]
    pub author: Option<String>,
    /// The mention's URL (for `url:` and `site:`).
    #[arg(long)]
    pub url: Option<String>,
    /// The mention's language code (for `lang:`).
    #[arg(long)]
    pub lang: Option<String>,
    /// Where the mention came from (for `source:`), e.g. rss, mastodon, bluesky.
    #[arg(long)]
    pub source: Option<String>,
    /// Language of error messages; defaults to the one in LC_ALL, LC_MESSAGES or LANG.
    #[arg(long, value_parser = ["es", "en"])]
    pub ui_lang: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct QueryBenchArgs {
    /// How many topics to compile.
    #[arg(long, default_value_t = 200)]
    pub topics: usize,
    /// How many mentions to match.
    #[arg(long, default_value_t = 20_000)]
    pub mentions: usize,
}

/// Runs a `query` subcommand.
///
/// # Errors
/// None today; the signature matches the other commands so `main` can treat
/// them alike.
pub fn run(command: QueryCommand) -> Result<ExitCode> {
    match command {
        QueryCommand::Check(args) => Ok(check(&args)),
        QueryCommand::Bench(args) => {
            let report = query::bench::run(args.topics, args.mentions);
            println!("topics={}", report.topics);
            println!("mentions={}", report.mentions);
            println!("matches={}", report.matches);
            println!("match_p50_us={:.2}", report.match_p50_us);
            println!("match_p90_us={:.2}", report.match_p90_us);
            println!("match_p99_us={:.2}", report.match_p99_us);
            println!("too_expensive={}", report.too_expensive);
            println!("max_work_per_char={:.1}", report.max_work_per_char);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn check(args: &QueryCheckArgs) -> ExitCode {
    let parsed = match query::parse(&args.query) {
        Ok(parsed) => parsed,
        Err(error) => {
            let lang = message_lang(args.ui_lang.as_deref());
            eprintln!("{}", error.render_caret(&args.query));
            eprintln!("{}", error.message(lang));
            return ExitCode::from(2);
        }
    };
    let set = QuerySet::compile([((), parsed)]);
    let document = Document {
        text: &args.text,
        author: args.author.as_deref(),
        url: args.url.as_deref(),
        lang: args.lang.as_deref(),
        source: args.source.as_deref(),
    };
    let matches = set.matches(&document);
    if !matches.too_expensive.is_empty() {
        let chars = args.text[..matches.analysed_bytes].chars().count();
        let error = TooExpensive {
            limit: set.limits().work_limit(chars),
            chars,
        };
        eprintln!("{}", error.message(message_lang(args.ui_lang.as_deref())));
        return ExitCode::from(3);
    }
    let found = matches.found;
    for topic in &found {
        for span in &topic.spans {
            let matched = args.text.get(span.range.clone()).unwrap_or_default();
            println!(
                "{}..{}\t{}\t{}",
                span.range.start,
                span.range.end,
                one_line(matched),
                span.term
            );
        }
    }
    println!(
        "{}",
        if found.is_empty() {
            "no match"
        } else {
            "match"
        }
    );
    ExitCode::SUCCESS
}

/// Keeps each span on one output line whatever the text contains.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The explicit choice, else the locale environment, else English.
fn message_lang(explicit: Option<&str>) -> MessageLang {
    if let Some(code) = explicit {
        return MessageLang::from_code(code);
    }
    ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|value| !value.is_empty())
        .map_or(MessageLang::En, |value| MessageLang::from_code(&value))
}
