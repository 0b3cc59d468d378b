//! The `qmkeys` command line.

use crate::cli_accounts::AccountsCommand;
use crate::config::{Settings, CONFIG_ENV};
use crate::startup::Application;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "qmkeys",
    version,
    about = "QQ Music key refresh and cover-upload signing server"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve {
        /// TOML settings file; `QMKEYS_*` environment variables override it.
        #[arg(long, env = CONFIG_ENV)]
        config: Option<PathBuf>,
    },
    /// Manage upload accounts in the store (`QMKEYS_DB`).
    Accounts {
        /// TOML settings file; `QMKEYS_*` environment variables override it.
        #[arg(long, env = CONFIG_ENV, global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        command: AccountsCommand,
    },
}

/// Exit codes a script can rely on.
pub mod exit {
    /// Settings could not be loaded or are invalid.
    pub const CONFIG: u8 = 2;
    /// The server could not start or failed while running.
    pub const RUNTIME: u8 = 1;
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config } => serve(config),
        Command::Accounts { config, command } => match Settings::load(config.as_deref()) {
            Ok(settings) => crate::cli_accounts::run(&settings, command),
            Err(err) => {
                eprintln!("qmkeys: invalid configuration: {err}");
                ExitCode::from(exit::CONFIG)
            }
        },
    }
}

fn serve(config: Option<PathBuf>) -> ExitCode {
    let settings = match Settings::load(config.as_deref()) {
        Ok(s) => s,
        Err(err) => {
            eprintln!("qmkeys: invalid configuration: {err}");
            return ExitCode::from(exit::CONFIG);
        }
    };
    crate::telemetry::init(&settings);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("qmkeys: cannot start the async runtime: {err}");
            return ExitCode::from(exit::RUNTIME);
        }
    };
    let result = runtime.block_on(async {
        let app = Application::build(settings).await?;
        app.run_until_stopped().await?;
        Ok::<_, anyhow::Error>(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("qmkeys: {err}");
            ExitCode::from(exit::RUNTIME)
        }
    }
}
