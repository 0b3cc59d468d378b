//! `qmkeys login --desktop`: reads the client key of desktop QQ logged in on
//! this machine through its local service (docs/protocol.md section 9.5),
//! picks the account, and finishes the fast login in this process or
//! through `--server`. The key is never printed.

use super::{local, progress, remote, Ending, LoginArgs, COMMAND};
use crate::accounts::mask;
use crate::cli::{client, exit};
use crate::config::Settings;
use crate::domain::Uin;
use crate::http::envelope::Stamp;
use crate::login::desktop::{Desktop, DesktopAccount};
use crate::login::LoginError;
use crate::startup;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use url::Url;

/// Where desktop QQ's local service listens: 4301 first (section 9.5), then
/// the next ports the real client moves to when one is taken.
const DEFAULT_PORTS: [u16; 5] = [4301, 4303, 4305, 4307, 4309];
const DEFAULT_HOST: &str = "https://localhost.ptlogin2.qq.com";

/// `--uin`: a QQ number.
pub fn parse_uin(raw: &str) -> Result<Uin, String> {
    crate::domain::parse_client_uin(raw).map_err(|e| e.message)
}

pub async fn login(
    settings: &Settings,
    args: &LoginArgs,
    stamp: &Stamp,
) -> Result<Ending, ExitCode> {
    let bases = bases(&args.local_client)?;
    let desktop = Desktop::new(&startup::login_settings(settings))
        .map_err(|e| client::fail(COMMAND, exit::FAILED, &e.to_string()))?;
    let Some((local_client, accounts)) = desktop.find(&bases).await.map_err(failed)? else {
        return Err(client::fail(COMMAND, exit::UNAVAILABLE, &silent(&bases)));
    };
    let base = local_client
        .base()
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    let account = choose(&accounts, args.uin, &base)?;
    progress(&format!(
        "桌面 QQ 账号 {} {}：正在快速登录 (desktop QQ at {base}: logging in as this account)",
        mask(account.uin),
        account.nickname
    ));
    let Some(key) = desktop
        .client_key(&local_client, account.uin)
        .await
        .map_err(failed)?
    else {
        let message = format!(
            "桌面 QQ 没有交出 {} 的 client_key，这个账号可能已经退出 (desktop QQ at {base} handed over no client key for it: is it still logged in?)",
            mask(account.uin)
        );
        return Err(client::fail(COMMAND, exit::UNAVAILABLE, &message));
    };
    match &args.server {
        Some(server) => remote::fast_login(server, args, account.uin, &key).await,
        None => local::fast_login(settings, args, stamp, account.uin, &key).await,
    }
}

/// The bases to try: `--local-client` as given, or the default ports.
fn bases(given: &[Url]) -> Result<Vec<Url>, ExitCode> {
    if given.is_empty() {
        return Ok(DEFAULT_PORTS
            .iter()
            .filter_map(|port| Url::parse(&format!("{DEFAULT_HOST}:{port}")).ok())
            .collect());
    }
    for url in given {
        // Paths are section 9.5's; a base with its own would change them.
        if !matches!(url.scheme(), "http" | "https")
            || url.host_str().is_none()
            || !matches!(url.path(), "" | "/")
            || url.query().is_some()
        {
            let message = format!(
                "--local-client must be an http:// or https:// URL with a host and port only, e.g. {DEFAULT_HOST}:4301 (got {url})"
            );
            return Err(client::fail(COMMAND, exit::USAGE, &message));
        }
    }
    Ok(given.to_vec())
}

/// Reading the desktop failed: the step and what was wrong, never a value.
fn failed(err: LoginError) -> ExitCode {
    let message = format!("{} ({err})", err.message());
    client::fail(COMMAND, exit::UNAVAILABLE, &message)
}

/// Nothing answered at any base.
fn silent(bases: &[Url]) -> String {
    let tried: Vec<&str> = bases
        .iter()
        .map(|b| b.as_str().trim_end_matches('/'))
        .collect();
    format!(
        "没有找到桌面 QQ：{} 都没有应答。请在这台电脑上启动桌面 QQ（Windows 或 macOS 版）并登录，再运行本命令 (no desktop QQ answered at {}: start desktop QQ for Windows or macOS on this machine, log in, and run this again)",
        tried.join("、"),
        tried.join(", ")
    )
}

/// One account a line: masked uin and nickname.
fn listing(accounts: &[DesktopAccount]) -> String {
    accounts
        .iter()
        .enumerate()
        .map(|(i, a)| format!("  {}. {}  {}", i + 1, mask(a.uin), a.nickname))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The account to log in: `--uin`'s, the only one, or the one the person at
/// the terminal picks. Without a terminal several accounts need `--uin`.
fn choose(
    accounts: &[DesktopAccount],
    uin: Option<Uin>,
    base: &str,
) -> Result<DesktopAccount, ExitCode> {
    if accounts.is_empty() {
        let message = format!(
            "桌面 QQ 没有已登录的账号，请先在桌面 QQ 上登录 (desktop QQ answers at {base} but no account is logged in: log in to it first)"
        );
        return Err(client::fail(COMMAND, exit::UNAVAILABLE, &message));
    }
    if let Some(uin) = uin {
        return accounts
            .iter()
            .find(|a| a.uin == uin)
            .cloned()
            .ok_or_else(|| {
                let message = format!(
                "桌面 QQ 没有登录 QQ 号 {uin} (desktop QQ has not logged in {uin}); logged in:\n{}",
                listing(accounts)
            );
                client::fail(COMMAND, exit::USAGE, &message)
            });
    }
    if let [only] = accounts {
        return Ok(only.clone());
    }
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        let message = format!(
            "桌面 QQ 登录了 {} 个账号，请用 --uin 指定其中一个 (desktop QQ has {} accounts logged in: pass --uin with the QQ number of one):\n{}",
            accounts.len(),
            accounts.len(),
            listing(accounts)
        );
        return Err(client::fail(COMMAND, exit::USAGE, &message));
    }
    eprintln!("桌面 QQ 登录了这些账号 (desktop QQ has these accounts logged in):");
    eprintln!("{}", listing(accounts));
    // A blocking read is fine here: this one-shot command has nothing else
    // in flight while it waits for the person at the terminal.
    let mut stdin = std::io::stdin().lock();
    loop {
        eprint!("选择哪一个 (which one)? [1-{}] ", accounts.len());
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        match stdin.read_line(&mut line) {
            Ok(0) | Err(_) => {
                return Err(client::fail(COMMAND, exit::USAGE, "no account chosen"));
            }
            Ok(_) => {}
        }
        if let Some(account) = pick(accounts, &line) {
            return Ok(account.clone());
        }
    }
}

/// The answer to the prompt: a number from the list.
fn pick<'a>(accounts: &'a [DesktopAccount], line: &str) -> Option<&'a DesktopAccount> {
    let n: usize = line.trim().parse().ok()?;
    accounts.get(n.checked_sub(1)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(uin: u64, nickname: &str) -> DesktopAccount {
        DesktopAccount {
            uin: Uin::from(uin),
            nickname: nickname.into(),
        }
    }

    #[test]
    fn the_prompt_takes_a_number_from_the_list() {
        let list = [account(123_456_789, "a"), account(987_654_321, "b")];
        assert_eq!(pick(&list, " 2\n").map(|a| a.uin.get()), Some(987_654_321));
        for bad in ["0", "3", "", "b", "-1", "123456789"] {
            assert!(pick(&list, bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_listing_masks_uins() {
        let text = listing(&[account(123_456_789, "小明")]);
        assert_eq!(text, "  1. 12***89  小明");
    }

    #[test]
    fn the_default_bases_start_at_4301_and_a_given_one_must_be_a_bare_base() {
        let default = bases(&[]).expect("defaults");
        assert_eq!(
            default[0].as_str(),
            "https://localhost.ptlogin2.qq.com:4301/"
        );
        assert_eq!(default.len(), DEFAULT_PORTS.len());
        let given = Url::parse("http://127.0.0.1:9").expect("url");
        assert_eq!(bases(std::slice::from_ref(&given)).ok(), Some(vec![given]));
    }
}
