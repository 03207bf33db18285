//! Import uploads processed in the background, with progress to poll.
//!
//! ```text
//! upload page ─► multipart, streamed to a temp file under the cap ─► ImportRegistry::start
//!   blocking task: CountingReader ─► detect_format ─► ImportRows (one Result per row, with its line)
//!      accepted rows, 500 at a time ─► listening.ingest job (the workers analyse and store them)
//!      rejected rows ─► the report (line and reason)
//! progress endpoint (htmx polling) ◄── ImportRegistry::get: bytes read, rows, rejections, finished
//! ```
//!
//! Progress lives in this process's memory: it describes the reading of the
//! file, which happens here. What matters durably — the mentions — is in jobs,
//! so a restart mid-import loses only the progress bar, and importing the file
//! again stores only what is missing (the pipeline deduplicates).

use std::collections::HashMap;
use std::io::BufReader;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use atalaya_connectors::IncomingMention;
use atalaya_connectors::import::{
    CountingReader, ImportReport, ImportRows, RowError, detect_format,
};
use atalaya_domain::{SourceId, Timestamp, WorkspaceId};
use atalaya_store::{NewJob, Store};

use crate::webhook::INGEST_JOB_KIND;

/// Accepted rows per ingest job.
pub const ROWS_PER_JOB: usize = 500;
/// Finished imports kept for their report, per process.
const KEPT_IMPORTS: usize = 100;

/// The imports this process has run or is running.
#[derive(Debug, Clone, Default)]
pub struct ImportRegistry {
    inner: Arc<Mutex<Registry>>,
}

#[derive(Debug, Default)]
struct Registry {
    next_id: u64,
    imports: HashMap<u64, Arc<ImportTask>>,
}

#[derive(Debug)]
struct ImportTask {
    workspace_id: WorkspaceId,
    source_id: SourceId,
    file_name: String,
    bytes_total: u64,
    bytes_read: Arc<AtomicU64>,
    state: Mutex<ImportState>,
}

#[derive(Debug, Clone, Default)]
struct ImportState {
    finished: bool,
    report: ImportReport,
    jobs: u64,
    failure: Option<String>,
}

/// A snapshot of one import, for the progress fragment and the report.
#[derive(Debug, Clone)]
pub struct ImportProgress {
    pub id: u64,
    pub source_id: SourceId,
    pub file_name: String,
    pub bytes_total: u64,
    pub bytes_read: u64,
    /// 0 to 100.
    pub percent: u64,
    pub accepted: u64,
    pub rejected: Vec<RowError>,
    pub rejected_total: u64,
    /// Ingest jobs queued so far.
    pub jobs: u64,
    pub finished: bool,
    /// Why the import stopped early (the file could not be read, the queue refused).
    pub failure: Option<String>,
}

impl ImportRegistry {
    /// Starts importing `file` (already fully written) in the background.
    pub fn start(
        &self,
        store: Store,
        workspace_id: WorkspaceId,
        source_id: SourceId,
        file_name: String,
        file: tempfile::NamedTempFile,
        bytes_total: u64,
    ) -> u64 {
        let task = Arc::new(ImportTask {
            workspace_id,
            source_id,
            file_name,
            bytes_total,
            bytes_read: Arc::new(AtomicU64::new(0)),
            state: Mutex::new(ImportState::default()),
        });
        let id = {
            let mut registry = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            registry.next_id += 1;
            let id = registry.next_id;
            if registry.imports.len() >= KEPT_IMPORTS {
                let finished: Vec<u64> = registry
                    .imports
                    .iter()
                    .filter(|(_, task)| task.snapshot_state().finished)
                    .map(|(id, _)| *id)
                    .collect();
                for old in finished.into_iter().take(KEPT_IMPORTS / 2) {
                    registry.imports.remove(&old);
                }
            }
            registry.imports.insert(id, Arc::clone(&task));
            id
        };
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let outcome = run(&runtime, &store, &task, &file);
            let mut state = task.state.lock().unwrap_or_else(PoisonError::into_inner);
            if let Err(failure) = outcome {
                tracing::warn!(import = id, %failure, "import stopped early");
                state.failure = Some(failure);
            }
            state.finished = true;
            // `file` is dropped here, which deletes the spooled upload.
        });
        id
    }

    /// The import `id`, if it belongs to `workspace_id`.
    pub fn get(&self, workspace_id: WorkspaceId, id: u64) -> Option<ImportProgress> {
        let task = {
            let registry = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            registry.imports.get(&id).cloned()
        }?;
        (task.workspace_id == workspace_id).then(|| task.progress(id))
    }
}

impl ImportTask {
    fn snapshot_state(&self) -> ImportState {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn progress(&self, id: u64) -> ImportProgress {
        let state = self.snapshot_state();
        let bytes_read = self
            .bytes_read
            .load(Ordering::Relaxed)
            .min(self.bytes_total);
        let percent = if state.finished || self.bytes_total == 0 {
            100
        } else {
            bytes_read * 100 / self.bytes_total
        };
        ImportProgress {
            id,
            source_id: self.source_id,
            file_name: self.file_name.clone(),
            bytes_total: self.bytes_total,
            bytes_read,
            percent,
            accepted: state.report.accepted,
            rejected: state.report.rejected,
            rejected_total: state.report.rejected_total,
            jobs: state.jobs,
            finished: state.finished,
            failure: state.failure,
        }
    }
}

fn run(
    runtime: &tokio::runtime::Handle,
    store: &Store,
    task: &ImportTask,
    file: &tempfile::NamedTempFile,
) -> Result<(), String> {
    let reader = file.reopen().map_err(|error| error.to_string())?;
    let mut reader = CountingReader::new(BufReader::new(reader));
    // Share the counter with progress readers.
    let counter = reader.counter();
    let format = detect_format(Some(&task.file_name), &mut reader).map_err(|e| e.to_string())?;
    let mut batch: Vec<IncomingMention> = Vec::with_capacity(ROWS_PER_JOB);
    for row in ImportRows::new(reader, format) {
        task.bytes_read
            .store(counter.load(Ordering::Relaxed), Ordering::Relaxed);
        {
            let mut state = task.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.report.record(&row);
        }
        if let Ok(item) = row {
            batch.push(item);
            if batch.len() >= ROWS_PER_JOB {
                enqueue(runtime, store, task, &batch)?;
                batch.clear();
            }
        }
    }
    task.bytes_read
        .store(counter.load(Ordering::Relaxed), Ordering::Relaxed);
    if !batch.is_empty() {
        enqueue(runtime, store, task, &batch)?;
    }
    Ok(())
}

fn enqueue(
    runtime: &tokio::runtime::Handle,
    store: &Store,
    task: &ImportTask,
    items: &[IncomingMention],
) -> Result<(), String> {
    let now = Timestamp::now();
    let payload = serde_json::json!({
        "workspace_id": task.workspace_id,
        "source_id": task.source_id,
        "items": items,
    });
    runtime
        .block_on(store.jobs().enqueue(
            NewJob {
                kind: INGEST_JOB_KIND,
                payload,
                run_after: now,
                unique_key: None,
                max_attempts: 5,
            },
            now,
        ))
        .map_err(|error| error.to_string())?;
    task.state
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .jobs += 1;
    Ok(())
}
