//! `atalaya migrate`: apply pending migrations and exit.

use crate::config::{Config, redact_url};

pub async fn run(config: &Config) -> anyhow::Result<()> {
    let store = super::open_store(config).await?;
    println!(
        "database {} is up to date",
        redact_url(&config.database_url())
    );
    store.close().await;
    Ok(())
}
