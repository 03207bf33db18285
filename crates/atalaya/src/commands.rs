//! One module per subcommand. Each parses its own arguments and calls into the
//! libraries; none contains business logic of its own.

pub mod bench;
pub mod bench_text;
pub mod config_cmd;
pub mod eval;
pub mod import;
pub mod migrate;
pub mod query;
pub mod serve;
pub mod train;
pub mod user;
pub mod workspace;

use anyhow::Context;
use atalaya_store::Store;

use crate::config::{Config, redact_url};

/// Opens the configured database, creating the data directory for the embedded
/// SQLite file, and applies pending migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    config.prepare_data_dir()?;
    let url = config.database_url();
    let store = Store::connect(&url)
        .await
        .with_context(|| format!("connecting to the database {}", redact_url(&url)))?;
    store
        .migrate()
        .await
        .context("applying database migrations")?;
    Ok(store)
}
