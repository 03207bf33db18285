//! `atalaya config example|check`.

use clap::Subcommand;

use crate::config::{Config, EXAMPLE, Sources};

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a complete, commented example configuration.
    Example,
    /// Load and validate the configuration, then print it with secrets redacted.
    Check,
}

pub fn run(command: &ConfigCommand, sources: &Sources) -> anyhow::Result<()> {
    match command {
        ConfigCommand::Example => print!("{EXAMPLE}"),
        ConfigCommand::Check => {
            let config = Config::load(sources)?;
            println!("{config:#?}");
            println!("configuration is valid");
        }
    }
    Ok(())
}
