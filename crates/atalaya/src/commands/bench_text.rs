//! `atalaya bench text`: throughput of language identification + sentiment on one core
//! (single-threaded; the rate is per second of CPU time).

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

pub fn run(args: &BenchTextArgs) -> anyhow::Result<()> {
    let content = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let posts: Vec<&str> = content
        .lines()
        .map(|line| line.split_once('\t').map_or(line, |(_, text)| text))
        .filter(|l| !l.is_empty())
        .collect();
    if posts.is_empty() {
        bail!("{} has no posts", args.file.display());
    }
    let load = Instant::now();
    let analyzer = Analyzer::embedded().context("loading the embedded text models")?;
    let load_ms = load.elapsed().as_secs_f64() * 1000.0;
    let mut rates = Vec::with_capacity(args.runs.max(1));
    let mut checksum = 0f64;
    for run in 0..args.runs.max(1) {
        // Each run goes over the file as many times as it takes to last a second, and is
        // timed by this process's CPU time (so other load on the machine does not count),
        // with the wall-clock rate alongside.
        let start = Instant::now();
        let cpu_start = cpu_seconds();
        let mut analyzed = 0usize;
        while analyzed == 0 || start.elapsed().as_secs_f64() < 1.0 {
            for post in &posts {
                let analysis = analyzer.analyze(post);
                checksum += f64::from(analysis.sentiment.score);
            }
            analyzed += posts.len();
        }
        let wall = start.elapsed().as_secs_f64();
        let cpu = match (cpu_start, cpu_seconds()) {
            (Some(a), Some(b)) if b > a => b - a,
            _ => wall,
        };
        let rate = analyzed as f64 / cpu;
        println!(
            "run {}: {rate:.0} posts/s of CPU time ({:.0} posts/s wall clock)",
            run + 1,
            analyzed as f64 / wall
        );
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    if let Some(peak) = peak_memory_kb() {
        println!("peak memory: {:.1} MB", peak as f64 / 1024.0);
    }
    println!("(score checksum {checksum:.3})");
    println!(
        "text n={} posts_per_s={median:.0} load_ms={load_ms:.1}",
        posts.len()
    );
    Ok(())
}

/// CPU time (user + system) of this process so far, from /proc (clock ticks of 1/100 s).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / 100.0)
}

/// Peak resident memory (VmHWM) in kB, where /proc has it.
fn peak_memory_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
