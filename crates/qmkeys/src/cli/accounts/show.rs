//! `qmkeys accounts show UIN`: a kept account's current key and membership,
//! read from the store and answered as `GET /admin/accounts/{uin}/cookie`
//! answers them. The key goes to stdout (fetching it is the point) and
//! nowhere else.

use super::fail;
use crate::accounts::sqlite::SqliteStore;
use crate::accounts::AccountStore;
use crate::cli::{client, exit, refresh};
use crate::clock::{SharedClock, SystemClock};
use crate::config::Settings;
use crate::domain::Uin;
use crate::http::refresh::RefreshData;
use crate::refresh::Refreshed;
use crate::startup;
use std::process::ExitCode;
use std::sync::Arc;

/// `--header`: the account's `Cookie:` line alone, built as the admin
/// route builds it.
pub async fn header(store: &SqliteStore, uin: Uin) -> ExitCode {
    match store.get(uin).await {
        Ok(Some(stored)) => {
            println!("{}", stored.cookie_line());
            ExitCode::from(exit::OK)
        }
        Ok(None) => fail(exit::FAILED, &format!("no account with uin {uin}")),
        Err(err) => fail(exit::UNAVAILABLE, &err.to_string()),
    }
}

pub async fn run(settings: &Settings, store: &SqliteStore, uin: Uin, json: bool) -> ExitCode {
    let stored = match store.get(uin).await {
        Ok(Some(stored)) => stored,
        Ok(None) => return fail(exit::FAILED, &format!("no account with uin {uin}")),
        Err(err) => return fail(exit::UNAVAILABLE, &err.to_string()),
    };
    let cookie = Arc::new(stored.cookie());
    let clock: SharedClock = Arc::new(SystemClock);
    // The services `refresh` builds, so the VIP lookup is the server's. The
    // stored key is printed whether or not QQ Music tells the membership.
    let info = match startup::upstream_client(settings)
        .and_then(|upstream| Ok((upstream, startup::backends(settings)?)))
    {
        Ok((upstream, backends)) => {
            startup::refresh_service(settings, upstream, clock.clone(), &backends)
                .membership(&cookie)
                .await
        }
        Err(err) => {
            eprintln!("qmkeys accounts: warning: membership unknown: {err}");
            None
        }
    };
    let data = RefreshData::new(&Refreshed { cookie, info }, clock.now());
    if json {
        client::print_json(&client::stamp(&settings.http.tips), 200, "请求成功！", data);
    } else {
        refresh::print_summary(&data);
    }
    ExitCode::from(exit::OK)
}
