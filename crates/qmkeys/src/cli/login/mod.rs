//! `qmkeys login`: a first key from a QR scanned in a terminal, in this
//! process with the server's settings, or through a running server's
//! `GET /music/tencent/cookie/qrcode` with `--server`.
//!
//! The QR goes to stderr (drawn in Unicode blocks) and to a PNG file whose
//! path is printed; the state changes go to stderr; the result goes to stdout
//! as `qmkeys refresh` prints it. Exit codes ([`super::exit`]): 0 done,
//! 2 bad arguments or settings, 3 the QR expired or was refused on the phone,
//! 4 the server, QQ Music, the login hosts or the account store failed.

mod local;
mod remote;
mod terminal;

use super::{client, exit, refresh};
use crate::config::Settings;
use crate::http::envelope::Stamp;
use crate::http::refresh::RefreshData;
use crate::login::QrKind;
use clap::Args;
use std::process::ExitCode;
use url::Url;

const COMMAND: &str = "login";

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Log in with WeChat instead of QQ.
    #[arg(long)]
    pub wx: bool,
    /// Keep the account in the store, refreshed by the server from then on.
    /// In-process this writes to this configuration's store (as `accounts
    /// add` does); with --server that server must allow it
    /// (`accounts_allow_save`).
    #[arg(long)]
    pub save: bool,
    /// Print the refresh endpoint's JSON envelope instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// Log in through this running qmkeys server (e.g. http://127.0.0.1:8080)
    /// instead of in this process.
    #[arg(long, value_name = "URL")]
    pub server: Option<Url>,
}

impl LoginArgs {
    fn kind(&self) -> QrKind {
        if self.wx {
            QrKind::parse("wx").unwrap_or_default()
        } else {
            QrKind::default()
        }
    }
}

/// How a login ended, whichever way it ran.
enum Ending {
    Done(Box<RefreshData>),
    Expired,
    Refused,
}

pub fn run(settings: Option<&Settings>, args: LoginArgs) -> ExitCode {
    let runtime = match client::runtime() {
        Ok(rt) => rt,
        Err(err) => return client::fail(COMMAND, exit::FAILED, &err.to_string()),
    };
    let stamp =
        client::stamp(settings.map_or(Settings::default().tips.as_str(), |s| s.tips.as_str()));
    let ending = runtime.block_on(async {
        match (&args.server, settings) {
            (Some(server), _) => remote::login(server, &args, &stamp).await,
            (None, Some(settings)) => local::login(settings, &args, &stamp).await,
            (None, None) => Err(client::fail(COMMAND, exit::USAGE, "no settings")),
        }
    });
    match ending {
        Ok(Ending::Done(data)) => {
            print(&stamp, args.json, *data);
            ExitCode::from(exit::OK)
        }
        Ok(Ending::Expired) => {
            client::fail(COMMAND, exit::REFUSED, "二维码已失效 (the QR expired)")
        }
        Ok(Ending::Refused) => client::fail(
            COMMAND,
            exit::REFUSED,
            "已在手机上拒绝登录 (the login was refused on the phone)",
        ),
        Err(code) => code,
    }
}

/// The result on stdout, as `qmkeys refresh` prints it.
fn print(stamp: &Stamp, json: bool, data: RefreshData) {
    if json {
        client::print_json(stamp, 200, "请求成功！", data);
    } else {
        refresh::print_summary(&data);
    }
}

/// A state change, for the person at the terminal.
fn progress(message: &str) {
    eprintln!("{message}");
}
