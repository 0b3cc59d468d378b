//! The `qmkeys` command line: `serve`, and the tools that work without a
//! server (`accounts`, `refresh`, `cos-sign`, `login`).

pub mod accounts;
pub mod check;
pub mod client;
pub mod cos_sign;
pub mod exit;
pub mod healthcheck;
pub mod keys;
pub mod login;
pub mod refresh;

use crate::config::{Settings, CONFIG_ENV};
use crate::http::error::Chain;
use crate::startup::{Application, StartupError};
use accounts::AccountsCommand;
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
        /// Work through this running qmkeys server's admin routes (e.g.
        /// http://127.0.0.1:8080) instead of the local store.
        #[arg(long, global = true)]
        server: Option<url::Url>,
        /// The server's admin token, for --server. Prefer the environment
        /// variable: arguments are visible to other users of this machine
        /// while the command runs.
        #[arg(
            long,
            global = true,
            env = "QMKEYS_ADMIN_TOKEN",
            hide_env_values = true
        )]
        token: Option<String>,
        #[command(subcommand)]
        command: AccountsCommand,
    },
    /// Caller keys for `require_api_key`: create (the secret is shown once),
    /// list, revoke; in the store, or with --server through a running server.
    /// Exit codes: 0 done, 1 no such key, 2 bad arguments or settings, 3 the
    /// server refused (a wrong token, a bad parameter), 4 the store or server
    /// failed or could not be reached.
    Keys(keys::KeysArgs),
    /// Refresh a music key straight against QQ Music, without a server.
    ///
    /// Exit codes: 0 done, 2 bad arguments or settings, 3 refused (bad
    /// parameter, expired key, restricted account), 4 QQ Music failed or
    /// unreachable (retry later).
    Refresh {
        /// TOML settings file; `QMKEYS_*` environment variables override it.
        #[arg(long, env = CONFIG_ENV)]
        config: Option<PathBuf>,
        #[command(flatten)]
        args: refresh::RefreshArgs,
    },
    /// Ask QQ Music whether a music key is alive, without rotating it.
    ///
    /// Asks directly with these settings, or a running server with --server.
    /// Exit codes: 0 alive, 6 dead (expired or logged out), 2 bad arguments
    /// or settings, 3 refused (a restricted account), 4 the server or QQ
    /// Music failed or could not be reached (retry later).
    Check {
        /// TOML settings file; `QMKEYS_*` environment variables override it.
        #[arg(long, env = CONFIG_ENV)]
        config: Option<PathBuf>,
        #[command(flatten)]
        args: check::CheckArgs,
    },
    /// Hash a cover image, get a signed upload for it, print it, and with
    /// --upload send the file to the bucket.
    ///
    /// Signs with the configured upload accounts (as `serve`), or asks a
    /// running server with --server. Exit codes: 0 done, 2 bad arguments,
    /// settings or unreadable file, 3 refused, 4 server or QQ Music failed or
    /// unreachable, 5 the bucket refused the upload.
    CosSign {
        /// TOML settings file; `QMKEYS_*` environment variables override it.
        #[arg(long, env = CONFIG_ENV)]
        config: Option<PathBuf>,
        #[command(flatten)]
        args: cos_sign::CosSignArgs,
    },
    /// Ask a running server's `/readyz`: exit 0 when it answers 200, else 1.
    Healthcheck(healthcheck::HealthcheckArgs),
    /// Log in by scanning a QR code with the QQ app (or the one --kind
    /// names), or with --desktop from desktop QQ on this machine, and print
    /// the new key.
    ///
    /// The QR is drawn on stderr and written to a PNG file whose path is
    /// printed; the state changes follow on stderr and the result goes to
    /// stdout as `qmkeys refresh` prints it. Runs in this process with the
    /// server's settings, or through a running server with --server. Exit
    /// codes: 0 done, 2 bad arguments or settings (with --desktop: several
    /// accounts and no --uin, or a --uin not logged in), 3 the QR expired,
    /// the login was refused on the phone or the client key was refused, 4
    /// the server, QQ Music, the login hosts or the account store failed, or
    /// no desktop QQ answered or has an account logged in (with --save the
    /// key is printed all the same if only saving failed).
    Login {
        /// TOML settings file; `QMKEYS_*` environment variables override it.
        #[arg(long, env = CONFIG_ENV)]
        config: Option<PathBuf>,
        #[command(flatten)]
        args: login::LoginArgs,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config } => serve(config),
        Command::Healthcheck(args) => healthcheck::run(args),
        Command::Keys(args) => keys::run(args),
        // With --server the settings are not needed: a bad one must not stop it.
        Command::Accounts {
            server: Some(server),
            token,
            command,
            ..
        } => accounts::remote::run(&server, token.as_deref(), command),
        Command::Accounts {
            config, command, ..
        } => match Settings::load(config.as_deref()) {
            Ok(settings) => accounts::run(&settings, command),
            Err(err) => {
                eprintln!("qmkeys: invalid configuration: {err}");
                ExitCode::from(exit::USAGE)
            }
        },
        Command::Refresh { config, args } => match Settings::load(config.as_deref()) {
            Ok(settings) => refresh::run(&settings, args),
            Err(err) => {
                eprintln!("qmkeys: invalid configuration: {err}");
                ExitCode::from(exit::USAGE)
            }
        },
        // With --server the settings are not needed: a bad one must not stop it.
        Command::Check { config, args } if args.server.is_some() => {
            let _ = config;
            check::run(None, args)
        }
        Command::Check { config, args } => match Settings::load(config.as_deref()) {
            Ok(settings) => check::run(Some(&settings), args),
            Err(err) => {
                eprintln!("qmkeys: invalid configuration: {err}");
                ExitCode::from(exit::USAGE)
            }
        },
        Command::CosSign { config, args } if args.server.is_some() => {
            let _ = config;
            cos_sign::run(None, args)
        }
        Command::CosSign { config, args } => match Settings::load(config.as_deref()) {
            Ok(settings) => cos_sign::run(Some(&settings), args),
            Err(err) => {
                eprintln!("qmkeys: invalid configuration: {err}");
                ExitCode::from(exit::USAGE)
            }
        },
        // --desktop reads `xlogin_base` even with --server.
        Command::Login { config, args } if args.server.is_some() && !args.desktop => {
            let _ = config;
            login::run(None, args)
        }
        Command::Login { config, args } => match Settings::load(config.as_deref()) {
            Ok(settings) => login::run(Some(&settings), args),
            Err(err) => {
                eprintln!("qmkeys: invalid configuration: {err}");
                ExitCode::from(exit::USAGE)
            }
        },
    }
}

fn serve(config: Option<PathBuf>) -> ExitCode {
    let settings = match Settings::load(config.as_deref()) {
        Ok(s) => s,
        Err(err) => {
            eprintln!("qmkeys: invalid configuration: {err}");
            return ExitCode::from(exit::USAGE);
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
            return ExitCode::from(exit::FAILED);
        }
    };
    runtime.block_on(async {
        let app = match Application::build(settings).await {
            Ok(app) => app,
            Err(StartupError::Config(err)) => {
                eprintln!("qmkeys: invalid configuration: {err}");
                return ExitCode::from(exit::USAGE);
            }
            Err(err) => {
                eprintln!("qmkeys: {}", Chain(&err));
                return ExitCode::from(exit::FAILED);
            }
        };
        match app.run_until_stopped().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("qmkeys: {err}");
                ExitCode::from(exit::FAILED)
            }
        }
    })
}
