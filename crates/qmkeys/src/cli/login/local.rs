//! `qmkeys login` in this process, with the services `serve` builds from the
//! same settings: by QR, or (`--desktop`) with a client key already read.

use super::{progress, terminal, Ending, LoginArgs, COMMAND};
use crate::accounts::{AccountEvent, AccountPool, EventKind};
use crate::cli::{client, exit};
use crate::clock::{SharedClock, SystemClock};
use crate::config::Settings;
use crate::domain::{ClientKey, Uin};
use crate::http::envelope::Stamp;
use crate::http::error::ApiError;
use crate::http::refresh::RefreshData;
use crate::login::{LoginResult, LoginService, QrEvent};
use crate::refresh::Refreshed;
use crate::startup;
use std::process::ExitCode;
use std::sync::Arc;

/// The services a login in this process uses, built before it starts.
struct Local {
    clock: SharedClock,
    /// With --save: where the account goes.
    accounts: Option<Arc<AccountPool>>,
    service: LoginService,
}

pub async fn login(
    settings: &Settings,
    args: &LoginArgs,
    stamp: &Stamp,
) -> Result<Ending, ExitCode> {
    let local = Local::build(settings, args).await?;
    let failed = |e| client::fail_api(COMMAND, stamp, args.json, &ApiError::Login(e));
    let mut qr = local
        .service
        .start_qr(args.qr_kind())
        .await
        .map_err(failed)?;
    let (bytes, mime) = qr.image();
    terminal::show(bytes, mime).map_err(|m| client::fail(COMMAND, exit::FAILED, &m))?;
    let result = loop {
        match qr.next().await.map_err(failed)? {
            QrEvent::Waiting => progress("等待扫码 (waiting for a scan)"),
            QrEvent::Scanned => progress("已扫码，请在手机上确认 (scanned: confirm on the phone)"),
            QrEvent::Expired => return Ok(Ending::Expired),
            QrEvent::Refused => return Ok(Ending::Refused),
            QrEvent::Done(result) => break result,
        }
    };
    drop(qr);
    local.conclude(settings, args, stamp, result).await
}

/// `--desktop`: desktop fast login with the key read from desktop QQ.
pub async fn fast_login(
    settings: &Settings,
    args: &LoginArgs,
    stamp: &Stamp,
    uin: Uin,
    key: &ClientKey,
) -> Result<Ending, ExitCode> {
    let local = Local::build(settings, args).await?;
    let result = local
        .service
        .fast_login(uin, key)
        .await
        .map_err(|e| client::fail_api(COMMAND, stamp, args.json, &ApiError::Login(e)))?;
    local.conclude(settings, args, stamp, result).await
}

impl Local {
    async fn build(settings: &Settings, args: &LoginArgs) -> Result<Self, ExitCode> {
        let fail_startup = |e: startup::StartupError| client::fail_startup(COMMAND, &e);
        let clock: SharedClock = Arc::new(SystemClock);
        let upstream = startup::upstream_client(settings).map_err(fail_startup)?;
        let backends = startup::backends(settings).map_err(fail_startup)?;
        // The operator runs this with their own settings and store, so --save
        // writes to it as `accounts add` does, whatever `accounts_allow_save`
        // says (that setting guards the HTTP route from its callers). The store
        // is opened first: a broken one fails before anyone scans.
        let accounts = if args.save {
            let (accounts, _) =
                startup::upload_service(settings, upstream.clone(), clock.clone(), &backends)
                    .await
                    .map_err(fail_startup)?;
            Some(accounts)
        } else {
            None
        };
        let service =
            startup::login_service(settings, upstream, &backends).map_err(fail_startup)?;
        Ok(Self {
            clock,
            accounts,
            service,
        })
    }

    /// Saves the new key with --save and hands it back for printing.
    async fn conclude(
        self,
        settings: &Settings,
        args: &LoginArgs,
        stamp: &Stamp,
        result: LoginResult,
    ) -> Result<Ending, ExitCode> {
        let clock = self.clock;
        let login_type = result.login_type;
        let refreshed = Refreshed {
            cookie: result.cookie,
            info: result.info,
        };
        if let Some(accounts) = self.accounts {
            let uin = refreshed.cookie.uin;
            let is_new = !accounts.all().iter().any(|a| a.snapshot().uin() == uin);
            // The new key is printed even if it cannot be kept: losing it would
            // lose the login. The exit code says the save failed.
            if let Err(err) = accounts.save_as(&refreshed.cookie, Some(login_type)).await {
                let data = RefreshData::new(&refreshed, clock.now());
                super::print(stamp, args.json, data);
                return Err(client::fail(
                    COMMAND,
                    exit::UNAVAILABLE,
                    &format!("logged in, but the account could not be saved: {err}"),
                ));
            }
            progress("已保存到服务器 (saved: the server keeps this account alive)");
            if is_new {
                notify_added(settings, &accounts, uin, clock.unix()).await;
            }
        }
        Ok(Ending::Done(Box::new(RefreshData::new(
            &refreshed,
            clock.now(),
        ))))
    }
}

/// The `account.added` notice the server would send, as `accounts add`
/// sends it; the account is kept whether or not the receiver takes it.
async fn notify_added(settings: &Settings, accounts: &AccountPool, uin: Uin, now: i64) {
    let Some(record) = accounts
        .all()
        .iter()
        .map(|a| a.snapshot())
        .find(|r| r.uin() == uin)
    else {
        return;
    };
    let event = AccountEvent::of(EventKind::Added, &record, now);
    if crate::startup::notify_now(settings, &event).await == Some(crate::webhook::Outcome::Failed) {
        eprintln!("qmkeys login: warning: the webhook did not take the account.added notice");
    }
}
