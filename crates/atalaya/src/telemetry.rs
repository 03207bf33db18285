//! Structured logs with `tracing`: human-readable by default, JSON for collectors.
//! Colours only on a terminal (and never with `NO_COLOR`), so a log file, a
//! pipe or a service manager's journal gets plain text, not escape codes.

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
        .with_ansi(colours_wanted(
            std::io::IsTerminal::is_terminal(&std::io::stderr()),
            std::env::var_os("NO_COLOR").is_some(),
        ))
        .with_writer(std::io::stderr);
    let result = match config.format {
        LogFormat::Pretty => builder.compact().try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    result.map_err(|error| anyhow::anyhow!("installing the log subscriber: {error}"))
}

/// Whether log lines get ANSI colours: only when they go to a terminal and
/// the person has not asked for none (<https://no-color.org>).
fn colours_wanted(stderr_is_terminal: bool, no_color: bool) -> bool {
    stderr_is_terminal && !no_color
}

#[cfg(test)]
mod tests {
    use super::colours_wanted;

    /// Regression: logs written to a file or a pipe were full of ANSI codes.
    #[test]
    fn logs_are_coloured_only_on_a_terminal_without_no_color() {
        assert!(colours_wanted(true, false));
        assert!(!colours_wanted(false, false));
        assert!(!colours_wanted(true, true));
        assert!(!colours_wanted(false, true));
    }
}
