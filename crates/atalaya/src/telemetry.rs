//! Structured logs with `tracing`: human-readable by default, JSON for collectors.

use anyhow::Context;
use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

pub fn init(config: &LogConfig) -> anyhow::Result<()> {
    // RUST_LOG, when set, wins: it is what people reach for while debugging.
    let filter = match std::env::var("RUST_LOG") {
        Ok(value) if !value.is_empty() => {
            EnvFilter::try_new(&value).context("RUST_LOG is not a valid filter")?
        }
        _ => EnvFilter::try_new(&config.level).context("log.level is not a valid filter")?,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match config.format {
        LogFormat::Pretty => builder.compact().try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    result.map_err(|error| anyhow::anyhow!("installing the log subscriber: {error}"))
}
