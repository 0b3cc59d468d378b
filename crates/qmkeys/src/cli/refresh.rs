//! `qmkeys refresh`: refresh a music key straight against QQ Music, no server
//! needed, with the services `serve` builds from the same settings.

use super::client;
use super::exit;
use crate::beijing;
use crate::clock::{Clock, SharedClock, SystemClock};
use crate::config::Settings;
use crate::domain::Credential;
use crate::http::error::ApiError;
use crate::http::refresh::RefreshData;
use crate::startup;
use clap::Args;
use std::process::ExitCode;
use std::sync::Arc;

const COMMAND: &str = "refresh";

#[derive(Debug, Args)]
pub struct RefreshArgs {
    /// QQ number (6-11 digits, with a Q_H_L_ key) or WeChat id (up to 19 digits).
    #[arg(long)]
    pub uin: String,
    /// The music key (Q_H_L_… or W_X_…). Arguments are visible to other users
    /// of this machine while the command runs.
    #[arg(long)]
    pub key: String,
    /// Needed with --refresh-token once the key has expired.
    #[arg(long)]
    pub refresh_key: Option<String>,
    #[arg(long)]
    pub refresh_token: Option<String>,
    /// Print the endpoint's JSON envelope instead of a summary.
    #[arg(long)]
    pub json: bool,
}

pub fn run(settings: &Settings, args: RefreshArgs) -> ExitCode {
    let cred = match Credential::parse(
        Some(&args.uin),
        Some(&args.key),
        args.refresh_key.as_deref(),
        args.refresh_token.as_deref(),
    ) {
        Ok(cred) => cred,
        Err(e) => {
            let flag = match e.param {
                "music_key" => "key".to_owned(),
                other => other.replace('_', "-"),
            };
            return client::fail(COMMAND, exit::USAGE, &format!("--{flag}: {}", e.message));
        }
    };
    let runtime = match client::runtime() {
        Ok(rt) => rt,
        Err(err) => return client::fail(COMMAND, exit::FAILED, &err.to_string()),
    };
    let stamp = client::stamp(&settings.http.tips);
    runtime.block_on(async {
        let clock: SharedClock = Arc::new(SystemClock);
        let service = match startup::upstream_client(settings)
            .and_then(|upstream| Ok((upstream, startup::backends(settings)?)))
        {
            Ok((upstream, backends)) => {
                startup::refresh_service(settings, upstream, clock.clone(), &backends)
            }
            Err(err) => return client::fail_startup(COMMAND, &err),
        };
        match service.refresh(&cred).await {
            Ok(refreshed) => {
                let data = RefreshData::new(&refreshed, clock.now());
                if args.json {
                    client::print_json(&stamp, 200, "请求成功！", data);
                } else {
                    print_summary(&data);
                }
                ExitCode::from(exit::OK)
            }
            Err(err) => client::fail_api(COMMAND, &stamp, args.json, &ApiError::from(err)),
        }
    })
}

pub(super) fn print_summary(data: &RefreshData) {
    let c = &data.cookie;
    let left = c.last_timestamp - SystemClock.unix();
    println!("uin            {}", c.uin);
    println!("musickey       {}", c.musickey);
    println!("refresh_key    {}", c.refresh_key);
    println!("refresh_token  {}", c.refresh_token);
    println!("created        {}", c.create_time);
    println!("expires        {} ({})", c.last_time, time_left(left));
    match &data.info {
        Some(info) => {
            println!(
                "vip            {}",
                membership(info.vip, info.vip_end_timestamp, info.vip_date_diff)
            );
            println!(
                "svip           {}",
                membership(info.svip, info.svip_end_timestamp, info.svip_date_diff)
            );
        }
        None => println!("vip            unknown (QQ Music did not answer; the new key is valid)"),
    }
}

fn membership(active: bool, end: i64, days: i64) -> String {
    match (active, end) {
        (_, 0) if !active => "inactive".to_owned(),
        (true, 0) => "active".to_owned(),
        (true, end) => format!(
            "active until {} ({days} days left)",
            beijing::format_unix(end)
        ),
        (false, end) => format!(
            "inactive since {} ({days} days ago)",
            beijing::format_unix(end)
        ),
    }
}

fn time_left(secs: i64) -> String {
    if secs <= 0 {
        return "expired".to_owned();
    }
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    if d > 0 {
        format!("in {d} d {h} h")
    } else {
        format!("in {h} h {m} min")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_says_how_long_a_key_has_left() {
        assert_eq!(time_left(3 * 86_400 - 60), "in 2 d 23 h");
        assert_eq!(time_left(3600 + 120), "in 1 h 2 min");
        assert_eq!(time_left(0), "expired");
        assert_eq!(membership(false, 0, 0), "inactive");
        assert!(membership(true, 1_757_892_045, 407).contains("407 days left"));
        let ended = membership(false, 1_692_660_579, 348);
        assert!(ended.starts_with("inactive since 2023-08-22"), "{ended}");
        assert!(ended.ends_with("(348 days ago)"), "{ended}");
    }
}
