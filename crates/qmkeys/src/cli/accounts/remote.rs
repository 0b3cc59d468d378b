//! `qmkeys accounts … --server URL`: the same subcommands against a running
//! server's admin routes, with the owner's token (`--token` or
//! `QMKEYS_ADMIN_TOKEN`). `--json` prints the route's envelope as it came;
//! without it, the summary the local command prints.

use super::{fail, print, AccountsCommand, COMMAND};
use crate::cli::{client, exit};
use crate::domain::Uin;
use crate::http::error::ErrorCode;
use reqwest::Method;
use std::process::ExitCode;
use url::Url;

pub fn run(server: &Url, token: Option<&str>, command: AccountsCommand) -> ExitCode {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return fail(
            exit::USAGE,
            "--server needs the admin token: --token or QMKEYS_ADMIN_TOKEN",
        );
    };
    if let AccountsCommand::Show {
        uin: raw,
        header: true,
        ..
    } = &command
    {
        return match Uin::parse(raw) {
            Ok(uin) => header(server, token, uin),
            Err(e) => fail(exit::USAGE, &format!("UIN: {}", e.message)),
        };
    }
    let (method, path, json, shown) = match route(&command) {
        Ok(route) => route,
        Err(code) => return code,
    };
    let runtime = match client::runtime() {
        Ok(rt) => rt,
        Err(err) => return fail(exit::FAILED, &err.to_string()),
    };
    runtime.block_on(async {
        let answer = match client::admin_request(COMMAND, server, token, method, &path, &[]).await {
            Ok(answer) => answer,
            Err(code) => return code,
        };
        if json {
            println!("{}", answer.text);
        }
        let envelope = answer.envelope;
        match envelope.data {
            Some(data) if envelope.code == 200 => {
                if !json {
                    shown.print(&data);
                }
                ExitCode::from(shown.exit(&data))
            }
            _ if envelope.code == i64::from(ErrorCode::NoSuchAccount as i32) => {
                eprintln!("qmkeys {COMMAND}: {}", envelope.message);
                ExitCode::from(exit::FAILED)
            }
            _ => client::fail_answer(COMMAND, answer.status, envelope.code, &envelope.message),
        }
    })
}

/// `show --header`: the route answers the line as text/plain, and its
/// errors as the usual envelope.
fn header(server: &Url, token: &str, uin: Uin) -> ExitCode {
    let runtime = match client::runtime() {
        Ok(rt) => rt,
        Err(err) => return fail(exit::FAILED, &err.to_string()),
    };
    runtime.block_on(async {
        let url =
            match client::server_route(COMMAND, server, &format!("/admin/accounts/{uin}/cookie")) {
                Ok(url) => url,
                Err(code) => return code,
            };
        let http = match client::http_client(COMMAND) {
            Ok(http) => http,
            Err(code) => return code,
        };
        let request = http
            .get(url)
            .query(&[("format", "header")])
            .bearer_auth(token)
            .timeout(std::time::Duration::from_secs(60));
        let unreachable = |e: reqwest::Error| {
            fail(
                exit::UNAVAILABLE,
                &format!("cannot reach {server}: {}", e.without_url()),
            )
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return unreachable(e),
        };
        let status = response.status().as_u16();
        let text = match response.text().await {
            Ok(text) => text,
            Err(e) => return unreachable(e),
        };
        if status == 200 {
            println!("{}", text.trim_end());
            return ExitCode::from(exit::OK);
        }
        match serde_json::from_str::<client::Envelope<serde_json::Value>>(&text) {
            Ok(e) if e.code == i64::from(ErrorCode::NoSuchAccount as i32) => {
                fail(exit::FAILED, &e.message)
            }
            Ok(e) => client::fail_answer(COMMAND, status, e.code, &e.message),
            Err(_) => fail(
                exit::UNAVAILABLE,
                &format!("{server} did not answer like a qmkeys server (HTTP {status})"),
            ),
        }
    })
}

/// Which admin route a subcommand calls, and how its answer is shown.
fn route(command: &AccountsCommand) -> Result<(Method, String, bool, print::Shown), ExitCode> {
    let uin =
        |raw: &str| Uin::parse(raw).map_err(|e| fail(exit::USAGE, &format!("UIN: {}", e.message)));
    Ok(match command {
        AccountsCommand::List { json } => (
            Method::GET,
            "/admin/accounts".into(),
            *json,
            print::Shown::List,
        ),
        AccountsCommand::Show { uin: raw, json, .. } => (
            Method::GET,
            format!("/admin/accounts/{}/cookie", uin(raw)?),
            *json,
            print::Shown::Cookie,
        ),
        AccountsCommand::Check { uin: raw, json } => (
            Method::POST,
            format!("/admin/accounts/{}/check", uin(raw)?),
            *json,
            print::Shown::Checked,
        ),
        AccountsCommand::Refresh { uin: raw, json } => (
            Method::POST,
            format!("/admin/accounts/{}/refresh", uin(raw)?),
            *json,
            print::Shown::Account,
        ),
        AccountsCommand::Remove {
            uin: raw,
            logout,
            force,
            json,
        } => (
            Method::DELETE,
            format!(
                "/admin/accounts/{}?logout={logout}&force={force}",
                uin(raw)?
            ),
            *json,
            print::Shown::Removed,
        ),
        AccountsCommand::Events { limit, json } => (
            Method::GET,
            format!("/admin/events?limit={limit}"),
            *json,
            print::Shown::Events,
        ),
        AccountsCommand::Add { .. } => {
            return Err(fail(
                exit::USAGE,
                "add works on the local store only; without --server",
            ))
        }
    })
}
