//! `atalaya bench …`: reproducible performance measurements (build with `--release`).
//!
//! `atalaya bench ingest --mentions N --topics T` measures the listening
//! pipeline on SQLite, side by side in one run:
//!
//! 1. it builds a word list in memory from the labelled posts in `--data`
//!    (their words only; no post is written anywhere) and generates T topics
//!    over invented brand names and a JSONL file of N posts in a temp directory,
//!    streaming;
//! 2. end to end: the file goes through `atalaya import`'s path (reader →
//!    analysis → batched writes) into a fresh database with the T topics;
//! 3. raw: the very rows stored in step 2 are read back and inserted, pre-built,
//!    into a second fresh database with the same schema through the same store
//!    (`insert_batch_cached` with an author cache, as the import's writer,
//!    same batch size); only the insert calls are timed.
//!
//! Its last line is exactly
//! `ingest n=N mentions_per_s=X raw_insert_per_s=Y ratio=Z match_p50_us=M`,
//! where `match_p50_us` is the median time to match one mention against all
//! topics (one mention in 16 is timed), measured inside the pipeline.
//!
//! `atalaya bench backfill --mentions N --runs R` stores N generated posts the
//! same way (import path, 20 topics), then R times adds a new topic and runs
//! its backfill job's work (`Backfiller`, batches of 1,000, each its own
//! transaction) over the whole window, timing each run and each batch. Its last
//! line is `backfill n=N median_s=S mentions_per_s=X batch_max_ms=B`.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use atalaya_connectors::item::canonical_url;
use atalaya_domain::{
    Mention, MentionId, Source, Timestamp, TopicHit, TopicId, TopicKind, Workspace,
};
use atalaya_store::{AuthorCache, MentionFilter, NewAuthor, NewMention, NewTopic, Store};
use atalaya_text::query::parse;
use atalaya_workers::ingest::{Pipeline, StreamOptions};

use super::import::{import_file, import_source};

#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// End-to-end ingest throughput vs. raw inserts on SQLite, and matching time.
    Ingest(BenchIngestArgs),
    /// Language identification + sentiment throughput on one core.
    Text(super::bench_text::BenchTextArgs),
    /// How long a new topic's backfill over N stored mentions takes on SQLite.
    Backfill(BenchBackfillArgs),
}

#[derive(Debug, clap::Args)]
pub struct BenchBackfillArgs {
    /// How many stored posts the backfill re-matches.
    #[arg(long, default_value_t = 100_000)]
    pub mentions: u64,
    /// How many backfills to time (each for a new topic); the median is reported.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// The labelled data directory whose words the generated posts use.
    #[arg(long, value_name = "DIR", default_value = "../shared/data")]
    pub data: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct BenchIngestArgs {
    /// How many posts to generate and ingest.
    #[arg(long, default_value_t = 100_000)]
    pub mentions: u64,
    /// How many topics to match every post against.
    #[arg(long, default_value_t = 200)]
    pub topics: usize,
    /// The labelled data directory whose words the generated posts use.
    #[arg(long, value_name = "DIR", default_value = "../shared/data")]
    pub data: PathBuf,
    /// Rows per transaction (the pipeline's default, 10,000; measured on 200k
    /// rows: 5,000 ingests ~1.4× faster than 1,000).
    #[arg(long, default_value_t = StreamOptions::default().batch_size)]
    pub batch_size: usize,
}

/// Runs a bench command; needs no configuration and touches no configured database.
pub fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Text(args) => super::bench_text::run(&args),
        BenchCommand::Ingest(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            runtime.block_on(ingest(&args))
        }
        BenchCommand::Backfill(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            runtime.block_on(backfill(&args))
        }
    }
}

/// A directory under the system's temp dir, removed when dropped (also on errors).
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn create() -> anyhow::Result<ScratchDir> {
        let path = std::env::temp_dir().join(format!(
            "atalaya-bench-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(ScratchDir(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        // Best effort: a leftover temp directory is not worth a failure.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// SplitMix64: deterministic, so every run generates the same posts.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }

    /// An index skewed towards the start, as word frequencies are.
    fn skewed(&mut self, bound: usize) -> usize {
        let a = self.below(bound);
        let b = self.below(bound);
        a * b / bound.max(1)
    }
}

/// Words of one language, most frequent first.
struct Vocabulary {
    spanish: Vec<String>,
    english: Vec<String>,
}

const MAX_WORDS: usize = 20_000;

fn read_words(files: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    let mut counts: HashMap<String, u32> = HashMap::new();
    for path in files {
        let file =
            File::open(path).with_context(|| format!("reading {} (set --data)", path.display()))?;
        for line in BufReader::new(file).lines() {
            let line = line.with_context(|| format!("reading {}", path.display()))?;
            let text = line
                .split_once('\t')
                .map_or(line.as_str(), |(_, text)| text);
            for raw in text.split_whitespace() {
                // Handles, links and numbers say nothing about a language's words.
                if raw.starts_with('@') || raw.starts_with("http") {
                    continue;
                }
                let word: String = raw
                    .chars()
                    .filter(|c| c.is_alphabetic())
                    .flat_map(char::to_lowercase)
                    .collect();
                if (2..=20).contains(&word.chars().count()) {
                    *counts.entry(word).or_default() += 1;
                }
            }
        }
    }
    let mut words: Vec<(String, u32)> = counts.into_iter().collect();
    words.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    words.truncate(MAX_WORDS);
    if words.len() < 100 {
        bail!("too few words in {files:?} to generate posts");
    }
    Ok(words.into_iter().map(|(word, _)| word).collect())
}

fn vocabulary(data: &Path) -> anyhow::Result<Vocabulary> {
    let sentiment = data.join("sentiment");
    Ok(Vocabulary {
        spanish: read_words(&[
            sentiment.join("es/train.tsv"),
            sentiment.join("es/train_tass2020.tsv"),
        ])?,
        english: read_words(&[sentiment.join("en/train.tsv")])?,
    })
}

const SYLLABLES: [&str; 16] = [
    "ca", "fe", "lu", "mi", "ra", "to", "ve", "so", "ni", "bra", "lo", "da", "ma", "ri", "zo", "pe",
];

/// Invented brand names, unique: the index written in base 16 with syllables.
fn brand(index: usize) -> String {
    format!(
        "{}{}{}x",
        SYLLABLES[index % 16],
        SYLLABLES[(index / 16) % 16],
        SYLLABLES[(index / 256) % 16]
    )
}

/// Topic queries in the mix a real workspace has: plain names, phrases, OR groups
/// with hashtags and handles, NEAR, wildcards, negations and field filters.
fn topic_queries(count: usize, vocabulary: &Vocabulary, random: &mut Random) -> Vec<String> {
    let brands = count.div_ceil(2).max(1);
    let word = |random: &mut Random| {
        let words = if random.below(2) == 0 {
            &vocabulary.spanish
        } else {
            &vocabulary.english
        };
        // Mid-frequency words: common enough to occur, rare enough to mean something.
        words[50 + random.below(words.len().saturating_sub(50).clamp(1, 2_000))].clone()
    };
    (0..count)
        .map(|index| {
            let name = brand(index / 2);
            let query = match index % 8 {
                0 => name.clone(),
                1 => format!("\"{name} {}\"", word(random)),
                2 => format!("{name} OR #{name} OR @{name}"),
                3 => format!("{name} NEAR/3 ({} OR {})", word(random), word(random)),
                4 => {
                    let stem: String = word(random).chars().take(4).collect();
                    format!("({name} OR {}) AND {stem}*", brand(random.below(brands)))
                }
                5 => format!(
                    "{name} -{} -\"{} {}\"",
                    word(random),
                    word(random),
                    word(random)
                ),
                6 => format!("{name} lang:es"),
                _ => format!(
                    "({name} OR \"{} {}\") AND NOT author:{name}",
                    word(random),
                    word(random)
                ),
            };
            // A generated word may be a query keyword or an invalid term: fall back to the name.
            if parse(&query).is_ok() { query } else { name }
        })
        .collect()
}

/// Writes `count` posts as JSONL, streaming; returns the file's size.
fn generate_posts(
    path: &Path,
    count: u64,
    brands: usize,
    vocabulary: &Vocabulary,
) -> anyhow::Result<u64> {
    let mut random = Random(11);
    let mut out = BufWriter::with_capacity(
        1 << 20,
        File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    let start_secs = Timestamp::now().millis() / 1000 - 30 * 86_400;
    let mut text = String::with_capacity(256);
    for index in 0..count {
        let words = if index % 2 == 0 {
            &vocabulary.spanish
        } else {
            &vocabulary.english
        };
        text.clear();
        let length = 12 + random.below(18);
        for position in 0..length {
            if position > 0 {
                text.push(' ');
            }
            match random.below(40) {
                0 => text.push_str(&brand(random.below(brands))),
                1 => {
                    text.push('#');
                    text.push_str(&brand(random.below(brands)));
                }
                2 => {
                    text.push('@');
                    text.push_str(&brand(random.below(brands)));
                }
                _ => text.push_str(&words[random.skewed(words.len())]),
            }
            if random.below(10) == 0 {
                text.push_str([",", ".", "!", "?"][random.below(4)]);
            }
        }
        let mut row = serde_json::json!({
            "id": format!("bench-{index}"),
            "text": text,
            "author": format!("user{}", random.below(50_000)),
            "published_at": start_secs + (index * 2_592_000 / count.max(1)) as i64,
        });
        if random.below(4) == 0 {
            row["url"] = serde_json::Value::String(format!(
                "https://news{}.example/{index}",
                random.below(50)
            ));
        }
        serde_json::to_writer(&mut out, &row).context("writing posts")?;
        out.write_all(b"\n").context("writing posts")?;
    }
    out.flush().context("writing posts")?;
    Ok(std::fs::metadata(path)
        .map(|metadata| metadata.len())
        .unwrap_or(0))
}

/// A fresh SQLite database in `directory` with the workspace, topics and import source.
async fn fresh_database(
    directory: &Path,
    name: &str,
    queries: &[String],
) -> anyhow::Result<(Store, Workspace, Source)> {
    let url = format!("sqlite://{}", directory.join(name).display());
    let store = Store::connect(&url)
        .await
        .with_context(|| format!("opening {url}"))?;
    store
        .migrate()
        .await
        .context("migrating the bench database")?;
    let workspace = store.workspaces().create("bench", "Bench", false).await?;
    for (index, query) in queries.iter().enumerate() {
        let name = format!("topic {index:03}");
        let kind = if index % 2 == 0 {
            TopicKind::Brand
        } else {
            TopicKind::Competitor
        };
        let topic = NewTopic {
            name: &name,
            kind,
            query,
            color: "#336699",
            active: true,
        };
        store
            .topics()
            .create(workspace.id, topic, Timestamp::now())
            .await?;
    }
    let source = import_source(&store, &workspace, "Bench import").await?;
    Ok((store, workspace, source))
}

/// CPU time used by this process so far (user + system), from `/proc/self/stat`:
/// on a busy machine the CPU spent per row varies far less than wall-clock rates.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    // Clock ticks: 100 per second on every Linux configuration we run.
    Some((user + system) / 100.0)
}

fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

async fn backfill(args: &BenchBackfillArgs) -> anyhow::Result<()> {
    const TOPICS: usize = 20;
    let directory = ScratchDir::create()?;
    let vocabulary = vocabulary(&args.data)?;
    let queries = topic_queries(TOPICS, &vocabulary, &mut Random(7));
    let posts = directory.path().join("posts.jsonl");
    generate_posts(&posts, args.mentions, TOPICS.div_ceil(2), &vocabulary)?;
    drop(vocabulary);
    let (store, workspace, source) =
        fresh_database(directory.path(), "backfill.db", &queries).await?;
    let pipeline = Pipeline::with_shared_analyzer(store.clone());
    let report = import_file(
        &pipeline,
        &source,
        &posts,
        StreamOptions::default(),
        std::io::stderr().is_terminal(),
    )
    .await?;
    println!("stored {} posts", report.inserted);

    let backfiller = atalaya_workers::backfill::Backfiller::new(store.clone());
    let mut run_seconds = Vec::new();
    let mut batch_millis: Vec<f64> = Vec::new();
    for run in 0..args.runs.max(1) {
        // A new topic per run, so each run writes its links afresh.
        let name = format!("backfilled {run}");
        let query = format!("{} OR {} OR #{}", brand(0), brand(1), brand(2));
        let topic = NewTopic {
            name: &name,
            kind: TopicKind::Brand,
            query: &query,
            color: "#336699",
            active: true,
        };
        let now = Timestamp::now();
        let request = atalaya_store::BackfillRequest {
            window_from: now.plus_millis(-90 * 86_400_000),
            run_after: now,
        };
        let (_, queued) = store
            .topics()
            .create_backfilled(workspace.id, topic, request, now)
            .await?;
        let id = queued.context("an active new topic is backfilled")?.id;
        let started = Instant::now();
        let done = loop {
            let batch = Instant::now();
            let step = backfiller.step(id).await?;
            batch_millis.push(batch.elapsed().as_secs_f64() * 1000.0);
            match step {
                atalaya_workers::backfill::Step::Continue(_) => {}
                atalaya_workers::backfill::Step::Finished(done) => break done,
                atalaya_workers::backfill::Step::Gone => bail!("the backfill vanished"),
            }
        };
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "run {}: {} scanned, {} matched in {seconds:.2} s ({})",
            run + 1,
            done.scanned,
            done.matched,
            done.state.as_str()
        );
        run_seconds.push(seconds);
    }
    run_seconds.sort_by(f64::total_cmp);
    batch_millis.sort_by(f64::total_cmp);
    let median = run_seconds[run_seconds.len() / 2];
    let batch_p50 = batch_millis[batch_millis.len() / 2];
    let batch_max = batch_millis.last().copied().unwrap_or(0.0);
    println!("batches: p50 {batch_p50:.1} ms, max {batch_max:.1} ms");
    println!(
        "backfill n={} median_s={median:.2} mentions_per_s={:.0} batch_max_ms={batch_max:.0}",
        report.inserted,
        report.inserted as f64 / median
    );
    Ok(())
}

async fn ingest(args: &BenchIngestArgs) -> anyhow::Result<()> {
    let directory = ScratchDir::create()?;
    let vocabulary = vocabulary(&args.data)?;
    let mut random = Random(7);
    let queries = topic_queries(args.topics, &vocabulary, &mut random);
    let posts = directory.path().join("posts.jsonl");
    let started = Instant::now();
    let bytes = generate_posts(
        &posts,
        args.mentions,
        args.topics.div_ceil(2).max(1),
        &vocabulary,
    )?;
    println!(
        "generated {} posts ({:.1} MB) from {} + {} words in {:.1} s",
        args.mentions,
        bytes as f64 / 1e6,
        vocabulary.spanish.len(),
        vocabulary.english.len(),
        started.elapsed().as_secs_f64()
    );
    drop(vocabulary);

    // End to end.
    let (store, workspace, source) = fresh_database(directory.path(), "e2e.db", &queries).await?;
    let pipeline = Pipeline::with_shared_analyzer(store.clone());
    let options = StreamOptions {
        batch_size: args.batch_size,
        time_matching: true,
        ..StreamOptions::default()
    };
    let started = Instant::now();
    let cpu_before = process_cpu_seconds();
    let report = import_file(
        &pipeline,
        &source,
        &posts,
        options,
        std::io::stderr().is_terminal(),
    )
    .await?;
    let elapsed = started.elapsed();
    let e2e_cpu = cpu_since(cpu_before);
    let stored = report.inserted;
    let mentions_per_s = stored as f64 / elapsed.as_secs_f64();
    println!(
        "end to end: {stored} stored, {} duplicates, {} rejected in {:.1} s: {mentions_per_s:.0} mentions/s{}",
        report.duplicates,
        report.rejected.len() as u64 + report.rejected_unlisted,
        elapsed.as_secs_f64(),
        cpu_note(e2e_cpu, stored, "mentions"),
    );
    let mut match_nanos = report.match_nanos;
    match_nanos.sort_unstable();
    let match_p50_us = match_nanos
        .get(match_nanos.len() / 2)
        .map_or(0.0, |nanos| f64::from(*nanos) / 1000.0);
    let match_p99_us = match_nanos
        .get(match_nanos.len() * 99 / 100)
        .map_or(0.0, |nanos| f64::from(*nanos) / 1000.0);
    let matched = store
        .mentions()
        .daily_counts(workspace.id, Timestamp(0), Timestamp(i64::MAX / 2))
        .await?;
    let links: i64 = matched.iter().map(|count| count.count).sum();
    println!(
        "topic links: {links}; matching per mention p50 {match_p50_us:.2} µs, p99 {match_p99_us:.2} µs ({} timed)",
        match_nanos.len()
    );

    // Raw inserts of the same rows.
    let (raw_store, raw_workspace, raw_source) =
        fresh_database(directory.path(), "raw.db", &queries).await?;
    // Topics are matched by name: ids are the database's business.
    let topic_map: HashMap<TopicId, TopicId> = {
        let mut by_name: Vec<(String, TopicId)> = raw_store
            .topics()
            .list(raw_workspace.id)
            .await?
            .into_iter()
            .map(|t| (t.name, t.id))
            .collect();
        let mut e2e: Vec<(String, TopicId)> = store
            .topics()
            .list(workspace.id)
            .await?
            .into_iter()
            .map(|t| (t.name, t.id))
            .collect();
        by_name.sort();
        e2e.sort();
        e2e.into_iter()
            .zip(by_name)
            .map(|((_, from), (_, to))| (from, to))
            .collect()
    };
    let mut insert_time = Duration::ZERO;
    let mut insert_cpu = Some(0.0);
    let mut raw_rows: u64 = 0;
    // The same author cache the end-to-end writer keeps, so both sides do the same work.
    let mut authors = AuthorCache::new();
    let mut before: Option<(Timestamp, MentionId)> = None;
    let page_filter_at = |before| MentionFilter {
        before,
        limit: args.batch_size.clamp(1, 1_000) as i64,
        ..MentionFilter::default()
    };
    loop {
        // Pages hold at most 1,000 mentions; gather `batch_size` of them so the
        // raw inserts use the same transaction size as the import.
        let mut page: Vec<Mention> = Vec::with_capacity(args.batch_size);
        while page.len() < args.batch_size.max(1) {
            let more = store
                .mentions()
                .list(workspace.id, &page_filter_at(before))
                .await?;
            let Some(last) = more.last() else { break };
            before = Some((last.published_at, last.id));
            page.extend(more);
        }
        if page.is_empty() {
            break;
        }
        let hits: Vec<Vec<TopicHit>> = page
            .iter()
            .map(|mention| {
                mention
                    .topics
                    .iter()
                    .map(|hit| TopicHit {
                        topic_id: topic_map
                            .get(&hit.topic_id)
                            .copied()
                            .unwrap_or(hit.topic_id),
                        spans: hit.spans.clone(),
                    })
                    .collect()
            })
            .collect();
        let canonical: Vec<Option<String>> = page
            .iter()
            .map(|mention| mention.url.as_deref().and_then(canonical_url))
            .collect();
        let rows: Vec<NewMention<'_>> = page
            .iter()
            .zip(&hits)
            .zip(&canonical)
            .map(|((mention, hits), canonical)| {
                prebuilt(mention, hits, canonical.as_deref(), &raw_source)
            })
            .collect();
        let started = Instant::now();
        let cpu_before = process_cpu_seconds();
        let outcome = raw_store
            .mentions()
            .insert_batch_cached(raw_workspace.id, &rows, Timestamp::now(), &mut authors)
            .await?;
        insert_time += started.elapsed();
        insert_cpu = insert_cpu
            .zip(cpu_since(cpu_before))
            .map(|(sum, more)| sum + more);
        raw_rows += outcome.inserted;
    }
    let raw_insert_per_s = raw_rows as f64 / insert_time.as_secs_f64().max(1e-9);
    println!(
        "raw inserts: {raw_rows} rows in {:.1} s of insert time: {raw_insert_per_s:.0} rows/s{}",
        insert_time.as_secs_f64(),
        cpu_note(insert_cpu, raw_rows, "rows"),
    );
    if let Some(peak) = peak_memory_mb() {
        println!("peak memory: {peak:.0} MB");
    }
    store.close().await;
    raw_store.close().await;
    let ratio = mentions_per_s / raw_insert_per_s.max(1e-9);
    println!(
        "ingest n={} mentions_per_s={mentions_per_s:.0} raw_insert_per_s={raw_insert_per_s:.0} ratio={ratio:.2} match_p50_us={match_p50_us:.2}",
        args.mentions
    );
    Ok(())
}

fn cpu_since(before: Option<f64>) -> Option<f64> {
    Some(process_cpu_seconds()? - before?)
}

/// `" (C cpu-s: R rows per cpu-s)"`, or nothing where CPU time is not known.
fn cpu_note(cpu_seconds: Option<f64>, count: u64, what: &str) -> String {
    match cpu_seconds {
        Some(cpu) if cpu > 0.0 => format!(
            " ({cpu:.1} cpu-s: {:.0} {what} per cpu-s)",
            count as f64 / cpu
        ),
        _ => String::new(),
    }
}

/// A stored mention as a pre-built row for the raw insert measurement.
fn prebuilt<'a>(
    mention: &'a Mention,
    topics: &'a [TopicHit],
    canonical_url: Option<&'a str>,
    source: &Source,
) -> NewMention<'a> {
    NewMention {
        source_id: source.id,
        external_id: &mention.external_id,
        url: mention.url.as_deref(),
        canonical_url,
        title: mention.title.as_deref(),
        text: &mention.text,
        content_raw: &mention.text,
        author: mention.author.as_ref().map(|author| NewAuthor {
            network: &author.network,
            handle: &author.handle,
            name: author.name.as_deref(),
            followers: author.followers,
            profile_url: author.profile_url.as_deref(),
        }),
        lang: &mention.lang,
        lang_confidence: 1.0,
        sentiment: mention.sentiment,
        sentiment_score: mention.sentiment_score,
        sentiment_confidence: mention.sentiment_confidence,
        topics,
        published_at: mention.published_at,
    }
}
