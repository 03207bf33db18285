//! `atalaya import FILE [--workspace SLUG] [--source NAME]`: bring a CSV or JSONL
//! export into a workspace through the whole listening pipeline.
//!
//! The file is streamed (never loaded whole) through the connectors' importer
//! and [`atalaya_workers::ingest::ingest_stream`], in batches of one transaction
//! each. A bad row is reported with its line and never stops the good ones.
//! Progress goes to stderr when it is a terminal. Scripts rely on the output:
//! each rejected row as `line N: reason` (the first 1,000), then, as the last
//! line, exactly `import accepted=A duplicates=D rejected=R`, where `accepted`
//! counts the mentions stored by this run and `duplicates` the valid rows that
//! were already stored (importing the same file twice only adds duplicates).

use std::fs::File;
use std::io::{BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use atalaya_connectors::import::{CountingReader, ImportRows, detect_format};
use atalaya_domain::{Source, Timestamp, Workspace};
use atalaya_store::{NewSource, Store};
use atalaya_workers::ingest::{
    Pipeline, StreamOptions, StreamProgress, StreamReport, ingest_stream,
};

use crate::config::Config;

/// The source kind imports are filed under.
pub const IMPORT_KIND: &str = "import";

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// A CSV (with a header row) or JSONL file; fields as in docs/sources.md
    /// (`id`, `text` or `html`, `url`, `author`, `published_at`, `lang`, …).
    pub file: PathBuf,
    /// The workspace's slug; may be left out when there is only one workspace.
    #[arg(long, value_name = "SLUG")]
    pub workspace: Option<String>,
    /// The import source to file the mentions under; created if it does not exist.
    #[arg(long, value_name = "NAME", default_value = "Import")]
    pub source: String,
    /// Rows per database transaction (the pipeline's bulk default).
    #[arg(long, default_value_t = atalaya_workers::ingest::StreamOptions::default().batch_size)]
    pub batch_size: usize,
}

pub async fn run(config: &Config, args: ImportArgs) -> anyhow::Result<()> {
    let store = super::open_store(config).await?;
    let result = import(&store, &args).await;
    store.close().await;
    let report = result?;
    for rejection in &report.rejected {
        println!("line {}: {}", rejection.line, rejection.reason());
    }
    if report.rejected_unlisted > 0 {
        println!("… and {} more rejected rows", report.rejected_unlisted);
    }
    println!(
        "import accepted={} duplicates={} rejected={}",
        report.inserted,
        report.duplicates,
        report.rejected.len() as u64 + report.rejected_unlisted
    );
    Ok(())
}

async fn import(store: &Store, args: &ImportArgs) -> anyhow::Result<StreamReport> {
    let workspace = find_workspace(store, args.workspace.as_deref()).await?;
    let source = import_source(store, &workspace, &args.source).await?;
    let pipeline = Pipeline::with_shared_analyzer(store.clone());
    let options = StreamOptions {
        batch_size: args.batch_size,
        ..StreamOptions::default()
    };
    import_file(
        &pipeline,
        &source,
        &args.file,
        options,
        std::io::stderr().is_terminal(),
    )
    .await
}

/// Streams `path` into `source`, drawing a progress bar on stderr when `show_progress`.
pub async fn import_file(
    pipeline: &Pipeline,
    source: &Source,
    path: &Path,
    options: StreamOptions,
    show_progress: bool,
) -> anyhow::Result<StreamReport> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let total_bytes = file.metadata().map(|metadata| metadata.len()).unwrap_or(0);
    let mut reader = CountingReader::new(BufReader::with_capacity(1 << 16, file));
    let bytes_read = reader.counter();
    let file_name = path.file_name().and_then(|name| name.to_str());
    let format = detect_format(file_name, &mut reader)
        .with_context(|| format!("reading {}", path.display()))?;
    let rows = ImportRows::new(reader, format);
    let mut bar = ProgressBar::new(show_progress, total_bytes, bytes_read);
    let report = ingest_stream(pipeline, source, rows, options, |progress| {
        bar.update(progress);
    })
    .await
    .with_context(|| format!("importing {}", path.display()))?;
    bar.finish();
    Ok(report)
}

/// The workspace named by `slug`, or the only one when no slug is given.
pub async fn find_workspace(store: &Store, slug: Option<&str>) -> anyhow::Result<Workspace> {
    if let Some(slug) = slug {
        return store
            .workspaces()
            .get_by_slug(slug)
            .await?
            .with_context(|| format!("no workspace with slug {slug:?}"));
    }
    let mut workspaces = store.workspaces().list().await?;
    match workspaces.len() {
        1 => Ok(workspaces.remove(0)),
        0 => bail!(
            "there is no workspace yet: create one with `atalaya workspace add` (or run `atalaya demo`)"
        ),
        _ => {
            let slugs: Vec<String> = workspaces
                .into_iter()
                .map(|workspace| workspace.slug)
                .collect();
            bail!(
                "several workspaces exist; choose one with --workspace ({})",
                slugs.join(", ")
            )
        }
    }
}

/// The workspace's import source called `name`, created on first use.
pub async fn import_source(
    store: &Store,
    workspace: &Workspace,
    name: &str,
) -> anyhow::Result<Source> {
    let existing = store
        .sources()
        .list(workspace.id)
        .await?
        .into_iter()
        .find(|source| source.name == name);
    match existing {
        Some(source) if source.kind == IMPORT_KIND => Ok(source),
        Some(source) => bail!(
            "the source {name:?} is a {} source, not an import: choose another --source",
            source.kind
        ),
        None => {
            let new = NewSource {
                account_id: None,
                kind: IMPORT_KIND,
                name,
                config: serde_json::json!({}),
                sealed_secret: None,
                enabled: true,
            };
            Ok(store
                .sources()
                .create(workspace.id, new, Timestamp::now())
                .await?)
        }
    }
}

/// A hand-rolled progress bar (`\r`-redrawn, at most five times a second): it
/// saves a dependency and a few seconds of build for one line of output.
struct ProgressBar {
    enabled: bool,
    total_bytes: u64,
    bytes_read: Arc<AtomicU64>,
    started: Instant,
    last_drawn: Option<Instant>,
}

impl ProgressBar {
    fn new(enabled: bool, total_bytes: u64, bytes_read: Arc<AtomicU64>) -> ProgressBar {
        ProgressBar {
            enabled,
            total_bytes,
            bytes_read,
            started: Instant::now(),
            last_drawn: None,
        }
    }

    fn update(&mut self, progress: StreamProgress) {
        if !self.enabled
            || self
                .last_drawn
                .is_some_and(|at| at.elapsed() < Duration::from_millis(200))
        {
            return;
        }
        self.last_drawn = Some(Instant::now());
        let read = self.bytes_read.load(Ordering::Relaxed);
        let fraction = if self.total_bytes == 0 {
            1.0
        } else {
            (read as f64 / self.total_bytes as f64).min(1.0)
        };
        let filled = (fraction * 30.0).round() as usize;
        let rate = progress.rows_read as f64 / self.started.elapsed().as_secs_f64().max(0.001);
        let mut stderr = std::io::stderr().lock();
        // A progress bar that cannot be drawn is not worth failing the import for.
        let _ = write!(
            stderr,
            "\r[{}{}] {:>3.0}%  {} rows  {:.0} rows/s  new {}  dup {}  rejected {}",
            "#".repeat(filled),
            "-".repeat(30 - filled),
            fraction * 100.0,
            progress.rows_read,
            rate,
            progress.inserted,
            progress.duplicates,
            progress.rejected
        );
        let _ = stderr.flush();
    }

    fn finish(&mut self) {
        if self.enabled && self.last_drawn.is_some() {
            let _ = writeln!(std::io::stderr());
        }
    }
}
