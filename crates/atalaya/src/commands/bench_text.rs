//! `atalaya bench-text`: throughput of language identification + sentiment on one core.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use atalaya_text::analyzer::Analyzer;

#[derive(Debug, clap::Args)]
pub struct BenchTextArgs {
    /// A text file: one post per line; a `label<TAB>` prefix is ignored.
    pub file: PathBuf,
    /// How many timed runs (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
}

pub fn run(args: BenchTextArgs) -> anyhow::Result<()> {
    let content = std::fs::read_to_string(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let posts: Vec<&str> =
        content.lines().map(|line| line.split_once('\t').map_or(line, |(_, text)| text)).filter(|l| !l.is_empty()).collect();
    if posts.is_empty() {
        bail!("{} has no posts", args.file.display());
    }
    let load = Instant::now();
    let analyzer = Analyzer::embedded().context("loading the embedded text models")?;
    let load_ms = load.elapsed().as_secs_f64() * 1000.0;
    let mut rates = Vec::with_capacity(args.runs.max(1));
    let mut checksum = 0f64;
    for run in 0..args.runs.max(1) {
        let start = Instant::now();
        for post in &posts {
            let analysis = analyzer.analyze(post);
            checksum += f64::from(analysis.sentiment.score);
        }
        let rate = posts.len() as f64 / start.elapsed().as_secs_f64();
        println!("run {}: {rate:.0} posts/s", run + 1);
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    if let Some(peak) = peak_memory_kb() {
        println!("peak memory: {:.1} MB", peak as f64 / 1024.0);
    }
    println!("(score checksum {checksum:.3})");
    println!("text n={} posts_per_s={median:.0} load_ms={load_ms:.1}", posts.len());
    Ok(())
}

/// Peak resident memory (VmHWM) in kB, where /proc has it.
fn peak_memory_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
