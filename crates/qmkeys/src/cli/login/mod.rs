//! `qmkeys login`: a first key from a QR scanned in a terminal, in this
//! process with the server's settings, or through a running server's
//! `GET /music/tencent/cookie/qrcode` with `--server`. With `--desktop`, from
//! the client key of desktop QQ logged in on this machine instead of a QR
//! (`desktop.rs`).
//!
//! The QR goes to stderr (drawn in Unicode blocks) and to a PNG file whose
//! path is printed; the state changes go to stderr; the result goes to stdout
//! as `qmkeys refresh` prints it. Exit codes ([`super::exit`]): 0 done,
//! 2 bad arguments or settings, 3 the QR expired or was refused on the phone,
//! 4 the server, QQ Music, the login hosts or the account store failed (or,
//! with `--desktop`, no desktop QQ answered or none is logged in).

mod desktop;
mod local;
mod remote;
mod terminal;

use super::{client, exit, refresh};
use crate::config::Settings;
use crate::domain::Uin;
use crate::http::envelope::Stamp;
use crate::http::refresh::RefreshData;
use crate::login::QrKind;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::Args;
use std::process::ExitCode;
use url::Url;

const COMMAND: &str = "login";

/// What `--wx` stands for.
const WX_ALIAS: &str = "wx";

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Which app scans the QR (the first listed is the default).
    #[arg(long, value_name = "KIND", value_parser = kind_parser(), conflicts_with = "wx")]
    pub kind: Option<QrKind>,
    /// Log in with WeChat: the same as --kind wx.
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
    /// No QR: log in with the client key of desktop QQ logged in on this
    /// machine (Windows or macOS desktop QQ, which runs a local login
    /// service). The key is read, used once and never shown.
    #[arg(long, conflicts_with_all = ["kind", "wx"])]
    pub desktop: bool,
    /// With --desktop: which account to log in when desktop QQ has several.
    #[arg(long, value_name = "QQ", requires = "desktop", value_parser = desktop::parse_uin)]
    pub uin: Option<Uin>,
    /// With --desktop: where desktop QQ's local service answers; repeat to
    /// try several in turn [default: https://localhost.ptlogin2.qq.com:4301,
    /// then ports 4303, 4305, 4307, 4309].
    #[arg(long = "local-client", value_name = "URL", requires = "desktop")]
    pub local_client: Vec<Url>,
}

/// `--kind`: the registry's kinds, each with its English name as help.
fn kind_parser() -> impl TypedValueParser<Value = QrKind> {
    let values =
        QrKind::all().map(|kind| PossibleValue::new(kind.as_str()).help(kind.info().label_en));
    PossibleValuesParser::new(values).map(|name| QrKind::parse(&name).unwrap_or_default())
}

impl LoginArgs {
    /// The kind asked for: `--kind`, `--wx`, or the default.
    fn qr_kind(&self) -> QrKind {
        match self.kind {
            Some(kind) => kind,
            None if self.wx => QrKind::parse(WX_ALIAS).unwrap_or_default(),
            None => QrKind::default(),
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
    let stamp = client::stamp(
        settings.map_or(Settings::default().http.tips.as_str(), |s| {
            s.http.tips.as_str()
        }),
    );
    let ending = runtime.block_on(async {
        match (&args.server, settings) {
            (_, Some(settings)) if args.desktop => desktop::login(settings, &args, &stamp).await,
            (_, None) if args.desktop => Err(client::fail(COMMAND, exit::USAGE, "no settings")),
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[derive(Debug, Parser)]
    struct Cmd {
        #[command(flatten)]
        args: LoginArgs,
    }

    fn kind_of(argv: &[&str]) -> Result<&'static str, clap::Error> {
        let cmd = Cmd::try_parse_from(std::iter::once("login").chain(argv.iter().copied()))?;
        Ok(cmd.args.qr_kind().as_str())
    }

    #[test]
    fn kind_takes_the_registrys_names_and_wx_stays_an_alias() {
        assert_eq!(kind_of(&[]).ok(), Some("qq"));
        for name in QrKind::names() {
            assert_eq!(kind_of(&["--kind", name]).ok(), Some(name));
        }
        assert_eq!(kind_of(&["--wx"]).ok(), Some("wx"));
        for bad in [
            &["--kind", "weibo"][..],
            &["--kind", "QQ"],
            &["--kind", "wx", "--wx"],
        ] {
            assert!(kind_of(bad).is_err(), "{bad:?}");
        }
    }

    /// The kinds the CLI's `--kind` accepts.
    fn cli_kinds() -> Vec<String> {
        Cmd::command()
            .get_arguments()
            .find(|arg| arg.get_id() == "kind")
            .map(|arg| {
                arg.get_possible_values()
                    .iter()
                    .map(|v| v.get_name().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn the_registry_the_openapi_enum_and_the_clis_kinds_agree() {
        let registry = QrKind::names();
        assert!(registry.len() >= 2, "{registry:?}");

        let doc = crate::http::openapi::document(1 << 20);
        let params = doc["paths"]["/music/tencent/cookie/qrcode"]["get"]["parameters"]
            .as_array()
            .expect("the QR login's parameters");
        let schema = &params
            .iter()
            .find(|p| p["name"] == "type")
            .expect("a type parameter")["schema"];
        let openapi: Vec<&str> = schema["enum"]
            .as_array()
            .expect("an enum")
            .iter()
            .filter_map(serde_json::Value::as_str)
            .collect();
        assert_eq!(openapi, registry, "the OpenAPI enum");
        assert_eq!(schema["default"], QrKind::default().as_str());

        assert_eq!(cli_kinds(), registry, "the CLI's --kind");
    }
}
