//! `atalaya`: the one binary. It parses the command line, loads the
//! configuration, and wires the store, the web server and the workers together.
//! It is the only crate that reads files and environment variables for
//! configuration; every library receives what it needs as arguments.

mod commands;
mod config;
mod demo;
mod demo_listening;
mod telemetry;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commands::{
    bench, config_cmd, eval, import, migrate, query, serve, train, user, workspace,
};
use crate::config::{Config, Sources};

#[derive(Debug, Parser)]
#[command(
    name = "atalaya",
    version,
    about = "Self-hosted listening, inbox, publishing and analytics for community managers"
)]
struct Cli {
    /// Configuration file (TOML). Default: ./atalaya.toml when it exists.
    #[arg(long, global = true, env = "ATALAYA_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Database URL (sqlite://PATH or postgres://…); beats the file and the environment.
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the web interface, the API and the background workers.
    Serve(serve::ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load (or refresh) the demo workspace and print its sign-in details.
    Demo,
    /// Manage users.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Manage workspaces.
    #[command(subcommand)]
    Workspace(workspace::WorkspaceCommand),
    /// Configuration helpers.
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Try the listening query language.
    #[command(subcommand)]
    Query(query::QueryCommand),
    /// Measure language identification and sentiment on a labelled file.
    #[command(subcommand)]
    Eval(eval::EvalCommand),
    /// Train the shipped text models from labelled data (reproducible).
    Train(train::TrainArgs),
    /// Import a CSV or JSONL file of mentions into a workspace.
    Import(import::ImportArgs),
    /// Performance measurements (build with --release).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let sources = Sources {
        file: cli.config,
        database_url: cli.database_url,
    };
    // Commands that need no configuration run before it is loaded, so that
    // `atalaya config example` works even when the current config is broken.
    // So do the offline text tools, which touch no database.
    match cli.command {
        Command::Config(command) => {
            return config_cmd::run(&command, &sources).map(|()| ExitCode::SUCCESS);
        }
        Command::Query(command) => return query::run(command),
        Command::Eval(command) => return eval::run(command).map(|()| ExitCode::SUCCESS),
        Command::Train(args) => return train::run(args).map(|()| ExitCode::SUCCESS),
        Command::Bench(command) => return bench::run(command).map(|()| ExitCode::SUCCESS),
        _ => {}
    }
    let config = Config::load(&sources)?;
    telemetry::init(&config.log)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| anyhow::anyhow!("starting the async runtime: {error}"))?;
    let outcome = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(&config, args).await?,
            Command::Migrate => migrate::run(&config).await?,
            Command::Demo => {
                let store = commands::open_store(&config).await?;
                let credentials = demo::load(&store).await?;
                demo::print_credentials(&credentials, None);
                store.close().await;
            }
            Command::User(command) => user::run(&config, command).await?,
            Command::Workspace(command) => workspace::run(&config, command).await?,
            Command::Import(args) => import::run(&config, args).await?,
            Command::Config(_)
            | Command::Query(_)
            | Command::Eval(_)
            | Command::Train(_)
            | Command::Bench(_) => {
                unreachable!("handled before loading the configuration")
            }
        }
        Ok(ExitCode::SUCCESS)
    });
    // Work abandoned at the shutdown deadline (a blocking thread still
    // matching, a stalled connection) must not hold the process: give it a
    // moment, then exit without it.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    outcome
}
