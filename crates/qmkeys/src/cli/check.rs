//! `qmkeys check`: is this music key alive? Asks QQ Music's GetLoginUserInfo
//! (docs/protocol.md section 10.2) with the services `serve` builds, or a
//! running server's `/music/tencent/cookie/check` with `--server`. Never a
//! Login: the key is not rotated. The exit code says the answer.

use super::client;
use super::exit;
use crate::config::Settings;
use crate::domain::Credential;
use crate::http::check::CheckData;
use crate::http::error::ApiError;
use crate::startup;
use clap::Args;
use std::process::ExitCode;
use std::sync::Arc;
use url::Url;

const COMMAND: &str = "check";

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// QQ number (6-11 digits, with a Q_H_L_ key) or WeChat id (up to 19 digits).
    #[arg(long)]
    pub uin: String,
    /// The music key (Q_H_L_… or W_X_…). Arguments are visible to other users
    /// of this machine while the command runs.
    #[arg(long)]
    pub key: String,
    /// Ask this running qmkeys server (e.g. http://127.0.0.1:8080) instead of
    /// QQ Music directly.
    #[arg(long)]
    pub server: Option<Url>,
    /// Print the endpoint's JSON envelope instead of a summary.
    #[arg(long)]
    pub json: bool,
}

pub fn run(settings: Option<&Settings>, args: CheckArgs) -> ExitCode {
    // The refresh's rules, checked here so that nothing bad is sent.
    let cred = match Credential::parse(Some(&args.uin), Some(&args.key), None, None) {
        Ok(cred) => cred,
        Err(e) => {
            let flag = if e.param == "music_key" {
                "key"
            } else {
                e.param
            };
            return client::fail(COMMAND, exit::USAGE, &format!("--{flag}: {}", e.message));
        }
    };
    let runtime = match client::runtime() {
        Ok(rt) => rt,
        Err(err) => return client::fail(COMMAND, exit::FAILED, &err.to_string()),
    };
    runtime.block_on(async {
        let result = match (&args.server, settings) {
            (Some(server), _) => from_server(server, &cred, args.json).await,
            (None, Some(settings)) => directly(settings, &cred, args.json).await,
            (None, None) => Err(client::fail(
                COMMAND,
                exit::USAGE,
                "no settings to check with",
            )),
        };
        match result {
            Ok(data) => {
                if !args.json {
                    print_summary(&data);
                }
                ExitCode::from(if data.alive { exit::OK } else { exit::DEAD })
            }
            Err(code) => code,
        }
    })
}

/// Asks QQ Music from this process, as the server would.
async fn directly(
    settings: &Settings,
    cred: &Credential,
    json: bool,
) -> Result<CheckData, ExitCode> {
    let stamp = client::stamp(&settings.http.tips);
    let clock: crate::clock::SharedClock = Arc::new(crate::clock::SystemClock);
    let service = match startup::upstream_client(settings)
        .and_then(|upstream| Ok((upstream, startup::backends(settings)?)))
    {
        Ok((upstream, backends)) => startup::refresh_service(settings, upstream, clock, &backends),
        Err(err) => return Err(client::fail_startup(COMMAND, &err)),
    };
    match service.check(cred.uin, &cred.key).await {
        Ok(checked) => {
            let data = CheckData::from(&checked);
            if json {
                client::print_json(&stamp, 200, "请求成功！", &data);
            }
            Ok(data)
        }
        Err(err) => Err(client::fail_api(
            COMMAND,
            &stamp,
            json,
            &ApiError::from(err),
        )),
    }
}

/// Asks a running server, the key in a form body (out of access logs); its
/// answer is printed with `--json` as it came.
async fn from_server(server: &Url, cred: &Credential, json: bool) -> Result<CheckData, ExitCode> {
    let url = client::server_route(COMMAND, server, crate::http::check::PATH)?;
    let form = [
        ("uin", cred.uin.to_string()),
        ("music_key", cred.key.expose().to_owned()),
    ];
    let request = client::http_client(COMMAND)?.post(url).form(&form);
    let answer = client::call_server::<CheckData>(COMMAND, server, request).await?;
    if json {
        println!("{}", answer.text);
    }
    let (status, answer) = (answer.status, answer.envelope);
    match answer.data {
        Some(data) if answer.code == 200 => Ok(data),
        _ => Err(client::fail_answer(
            COMMAND,
            status,
            answer.code,
            &answer.message,
        )),
    }
}

fn print_summary(data: &CheckData) {
    println!("uin            {}", data.uin);
    println!(
        "alive          {}",
        if data.alive {
            "yes"
        } else {
            "no (expired or logged out)"
        }
    );
    println!("checked        {}", data.checked_time);
}
