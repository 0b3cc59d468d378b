//! `qmkeys accounts check|refresh UIN` on this machine: the account pool
//! `serve` builds (the same store, upstream and timeline), asked once, so
//! the answer, the stored changes and the timeline events are the server's.
//! `check` asks QQ Music without rotating; `refresh` rotates the key now.

use super::print::Shown;
use super::COMMAND;
use crate::accounts::{AccountEvent, AccountPool, EventSink, StoreError};
use crate::cli::{client, exit};
use crate::clock::{SharedClock, SystemClock};
use crate::config::Settings;
use crate::domain::Uin;
use crate::http::admin::account::CheckedAccount;
use crate::http::admin::AccountView;
use crate::http::error::ApiError;
use crate::startup;
use crate::upstream::KeyCheck;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};

/// Which of the two.
#[derive(Debug, Clone, Copy)]
pub enum Act {
    Check,
    Refresh,
}

/// The pool's notices, kept to be sent before the command exits: a one-shot
/// command has no background task for the webhook.
#[derive(Default)]
struct Notices(Mutex<Vec<AccountEvent>>);

impl EventSink for Notices {
    fn notify(&self, event: AccountEvent) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event);
    }
}

pub async fn run(settings: &Settings, uin: Uin, act: Act, json: bool) -> ExitCode {
    let stamp = client::stamp(&settings.http.tips);
    let notices = Arc::new(Notices::default());
    let pool = match pool(settings, notices.clone()).await {
        Ok(pool) => pool,
        Err(code) => return code,
    };
    let answer = answer(&pool, uin, act).await;
    let pending = std::mem::take(&mut *notices.0.lock().unwrap_or_else(PoisonError::into_inner));
    for event in &pending {
        if startup::notify_now(settings, event).await == Some(crate::webhook::Outcome::Failed) {
            let name = event.kind.as_str();
            eprintln!("qmkeys {COMMAND}: warning: the webhook did not take the {name} notice");
        }
    }
    let data = match answer {
        Ok(data) => data,
        // As `accounts show` and `remove`: no such account is 1, not a refusal.
        Err(err @ ApiError::NoSuchAccount) => {
            let _ = client::fail_api(COMMAND, &stamp, json, &err);
            return ExitCode::from(exit::FAILED);
        }
        Err(err) => return client::fail_api(COMMAND, &stamp, json, &err),
    };
    let shown = match act {
        Act::Check => Shown::Checked,
        Act::Refresh => Shown::Account,
    };
    if json {
        client::print_json(&stamp, 200, "请求成功！", &data);
    } else {
        shown.print(&data);
    }
    ExitCode::from(shown.exit(&data))
}

async fn pool(settings: &Settings, notices: Arc<Notices>) -> Result<Arc<AccountPool>, ExitCode> {
    let clock: SharedClock = Arc::new(SystemClock);
    let fail_startup = |e| client::fail_startup(COMMAND, &e);
    let upstream = startup::upstream_client(settings).map_err(fail_startup)?;
    let backends = startup::backends(settings)
        .map_err(fail_startup)?
        .with_events(notices);
    let (pool, _uploads) = startup::upload_service(settings, upstream, clock, &backends)
        .await
        .map_err(fail_startup)?;
    Ok(pool)
}

/// What the admin route would answer as `data`, as JSON.
async fn answer(pool: &AccountPool, uin: Uin, act: Act) -> Result<serde_json::Value, ApiError> {
    pool.sync().await.map_err(ApiError::StoreRead)?;
    let account = pool
        .all()
        .into_iter()
        .find(|a| a.uin() == uin)
        .ok_or(ApiError::NoSuchAccount)?;
    let data = match act {
        Act::Check => {
            let alive = pool.check_now(&account).await? == KeyCheck::Alive;
            serde_json::to_value(CheckedAccount {
                alive,
                account: AccountView::from(&account.snapshot()),
            })
        }
        Act::Refresh => {
            let seen = account.snapshot().generation;
            pool.refresh(&account, seen).await?;
            serde_json::to_value(AccountView::from(&account.snapshot()))
        }
    };
    data.map_err(|e| ApiError::StoreRead(StoreError::Backend(e.to_string())))
}
