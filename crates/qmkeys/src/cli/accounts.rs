//! `qmkeys accounts list|show|check|refresh|add|remove|events`: the kept
//! accounts from a shell. Works on the same database file as the server
//! (SQLite allows both at once; a running server picks changes up at its next
//! check), or with `--server` through a running server's admin routes.

mod act;
mod print;
pub mod remote;
mod show;

use super::exit;
use crate::accounts::sqlite::SqliteStore;
use crate::accounts::{
    logout_then_remove, AccountEvent, AccountStore, EventKind, Health, LogoutError, StoreError,
    StoredAccount,
};
use crate::beijing;
use crate::config::Settings;
use crate::domain::{Credential, Uin};
use crate::http::admin::account::Removed;
use crate::http::admin::{AccountView, AdminAccounts};
use crate::http::error::ApiError;
use crate::secrets::Sealer;
use clap::Subcommand;
use secrecy::ExposeSecret;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// List accounts: uin, kind, expiry, last refresh, health, last check, outcome. Never a key.
    List {
        /// Print `GET /admin/accounts`' JSON envelope instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Ask QQ Music whether the account's key is alive, without rotating it,
    /// as `POST /admin/accounts/{uin}/check` does. Exit codes: 0 alive, 6
    /// dead, 1 no such account, 2 bad uin or settings, 3 refused, 4 the store
    /// or QQ Music failed.
    Check {
        /// The account's uin.
        uin: String,
        /// Print the admin route's JSON envelope instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Rotate the account's key now (one Login), as
    /// `POST /admin/accounts/{uin}/refresh` does. Exit codes: 0 done, 1 no
    /// such account, 2 bad uin or settings, 3 refused, 4 the store or QQ
    /// Music failed.
    Refresh {
        /// The account's uin.
        uin: String,
        /// Print the admin route's JSON envelope instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Add an account, or replace its credential if the uin is already stored.
    Add {
        #[arg(long)]
        uin: String,
        /// The musickey (Q_H_L_… or W_X_…). Note that arguments are visible to
        /// other users of the machine while the command runs.
        #[arg(long)]
        key: String,
        #[arg(long)]
        refresh_key: Option<String>,
        #[arg(long)]
        refresh_token: Option<String>,
    },
    /// Print one account's current key and membership, as
    /// `GET /admin/accounts/{uin}/cookie` answers them: how the owner fetches
    /// today's key of an account the server keeps alive. Exit codes: 0 done,
    /// 1 no such account, 2 bad uin or settings, 4 the store failed.
    Show {
        /// The account's uin.
        uin: String,
        /// Print the refresh endpoint's JSON envelope instead of a summary.
        #[arg(long)]
        json: bool,
        /// Print only the `Cookie:` line players and bots paste, as
        /// `GET /admin/accounts/{uin}/cookie?format=header` answers it.
        #[arg(long, conflicts_with = "json")]
        header: bool,
    },
    /// Remove an account. Exit codes: 0 done, 1 no such account, 2 bad uin
    /// or settings, 3 QQ Music refused the Logout (e.g. the key has already
    /// expired), 4 the store or QQ Music failed; with --logout and no --force,
    /// the account is kept whenever the Logout fails.
    Remove {
        #[arg(long)]
        uin: String,
        /// Log the stored key out at QQ Music first, so the key and its
        /// refresh_key/refresh_token stop working wherever they were copied.
        #[arg(long)]
        logout: bool,
        /// With --logout: remove the account even if the Logout fails.
        #[arg(long, requires = "logout")]
        force: bool,
        /// Print the admin route's JSON envelope instead of a line.
        #[arg(long)]
        json: bool,
    },
    /// The newest account events (added, refreshed, failing, dead, removed),
    /// newest first, as `GET /admin/events` answers them. Never a key.
    Events {
        /// How many, at most.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
        limit: u32,
        /// Print the admin route's JSON envelope instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// The name in messages.
const COMMAND: &str = "accounts";

pub fn run(settings: &Settings, command: AccountsCommand) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            return fail(
                exit::UNAVAILABLE,
                &format!("cannot start the async runtime: {err}"),
            )
        }
    };
    let secret = settings
        .accounts
        .secret_key
        .as_ref()
        .map(|k| k.expose_secret());
    let store = match SqliteStore::open(&settings.accounts.db, Sealer::new(secret, "account-store"))
    {
        Ok(store) => store,
        Err(err) => return fail(exit::UNAVAILABLE, &err.to_string()),
    };
    runtime.block_on(async move {
        match command {
            AccountsCommand::List { json } => list(settings, &store, json).await,
            AccountsCommand::Check { uin, json } => match Uin::parse(&uin) {
                Ok(uin) => act::run(settings, uin, act::Act::Check, json).await,
                Err(e) => fail(exit::USAGE, &format!("UIN: {}", e.message)),
            },
            AccountsCommand::Refresh { uin, json } => match Uin::parse(&uin) {
                Ok(uin) => act::run(settings, uin, act::Act::Refresh, json).await,
                Err(e) => fail(exit::USAGE, &format!("UIN: {}", e.message)),
            },
            AccountsCommand::Add {
                uin,
                key,
                refresh_key,
                refresh_token,
            } => {
                let cred = Credential::parse(
                    Some(&uin),
                    Some(&key),
                    refresh_key.as_deref(),
                    refresh_token.as_deref(),
                );
                match cred {
                    Ok(cred) => add(settings, &store, cred).await,
                    Err(e) => fail(
                        exit::USAGE,
                        &format!("--{}: {}", e.param.replace('_', "-"), e.message),
                    ),
                }
            }
            AccountsCommand::Show { uin, header, .. } if header => match Uin::parse(&uin) {
                Ok(uin) => show::header(&store, uin).await,
                Err(e) => fail(exit::USAGE, &format!("UIN: {}", e.message)),
            },
            AccountsCommand::Show { uin, json, .. } => match Uin::parse(&uin) {
                Ok(uin) => show::run(settings, &store, uin, json).await,
                Err(e) => fail(exit::USAGE, &format!("UIN: {}", e.message)),
            },
            AccountsCommand::Remove {
                uin,
                logout,
                force,
                json,
            } => match Uin::parse(&uin) {
                Ok(uin) if logout => remove_logged_out(settings, &store, uin, force, json).await,
                Ok(uin) => remove(settings, &store, uin, json).await,
                Err(e) => fail(exit::USAGE, &format!("--uin: {}", e.message)),
            },
            AccountsCommand::Events { limit, json } => {
                let limit = usize::try_from(limit).unwrap_or(usize::MAX);
                events(settings, &store, limit, json).await
            }
        }
    })
}

async fn list(settings: &Settings, store: &SqliteStore, json: bool) -> ExitCode {
    let (accounts, unreadable) = match store.load().await {
        Ok(loaded) => (loaded.accounts, loaded.unreadable),
        Err(err) => return fail(exit::UNAVAILABLE, &err.to_string()),
    };
    for u in &unreadable {
        eprintln!("qmkeys accounts: warning: left out, its record cannot be read: {u}");
    }
    if json {
        let accounts = accounts.iter().map(AccountView::from).collect();
        print_ok(settings, AdminAccounts { accounts });
        return ExitCode::SUCCESS;
    }
    let time = |t: Option<i64>| t.map(beijing::format_unix).unwrap_or_else(|| "-".into());
    // The check's time and answer (alive, dead, error: …), as /admin/accounts shows them.
    let check = |a: &StoredAccount| match (a.last_check_at, a.last_check.as_deref()) {
        (Some(at), Some(said)) => format!("{} {said}", beijing::format_unix(at)),
        _ => "-".into(),
    };
    println!(
        "{:<20} {:<4} {:<19}  {:<19}  {:<9}  {:<26}  LAST OUTCOME",
        "UIN", "KIND", "EXPIRES", "LAST REFRESH", "HEALTH", "LAST CHECK"
    );
    for a in &accounts {
        println!(
            "{:<20} {:<4} {:<19}  {:<19}  {:<9}  {:<26}  {}",
            a.uin(),
            a.cred.kind().as_str(),
            time(a.expires_at),
            time(a.last_refresh_at),
            a.health.as_str(),
            check(a),
            a.last_outcome.as_deref().unwrap_or("-"),
        );
    }
    ExitCode::SUCCESS
}

async fn events(settings: &Settings, store: &SqliteStore, limit: usize, json: bool) -> ExitCode {
    let limit = limit.min(settings.accounts.events_keep);
    let events = match store.recent_events(limit).await {
        Ok(events) => events,
        Err(err) => return fail(exit::UNAVAILABLE, &err.to_string()),
    };
    let views: Vec<crate::http::admin::EventView> = events.iter().map(Into::into).collect();
    if json {
        print_ok(settings, crate::http::admin::AdminEvents { events: views });
        return ExitCode::SUCCESS;
    }
    println!(
        "{:<19}  {:<17}  {:<10} {:<4} {:<9}  DETAIL",
        "TIME", "EVENT", "UIN", "KIND", "HEALTH"
    );
    for e in &views {
        println!(
            "{:<19}  {:<17}  {:<10} {:<4} {:<9}  {}",
            e.time,
            e.event,
            e.uin,
            e.kind,
            e.health,
            e.detail.as_deref().unwrap_or("-"),
        );
    }
    ExitCode::SUCCESS
}

async fn add(settings: &Settings, store: &SqliteStore, cred: Credential) -> ExitCode {
    let uin = cred.uin;
    // A compare-and-set on what was read, as the server's own writes are: a
    // rotation the server commits meanwhile is read again, not written over.
    for _ in 0..5 {
        let existing = match store.get(uin).await {
            Ok(existing) => existing,
            // An unreadable record is what `add` replaces to repair it.
            Err(StoreError::Unreadable(_)) => {
                return put_over_unreadable(settings, store, cred).await
            }
            Err(err) => return fail(exit::UNAVAILABLE, &err.to_string()),
        };
        let mut record = StoredAccount::new(cred.clone());
        record.health = Health::Healthy;
        if let Some(old) = &existing {
            // A newer generation, so a running server takes it at its next check.
            record.previous = Some(old.cred.clone());
            record.generation = old.generation + 1;
            record.seed = old.seed.clone();
        }
        let written = match &existing {
            Some(old) => store.commit_rotation(&record, old.generation).await,
            None => store.insert_new(&record).await,
        };
        match written {
            Ok(true) => {
                let verb = if existing.is_some() {
                    "updated"
                } else {
                    "added"
                };
                return added(settings, store, verb, &record).await;
            }
            Ok(false) => continue,
            Err(err) => return fail(exit::UNAVAILABLE, &err.to_string()),
        }
    }
    fail(exit::UNAVAILABLE, &StoreError::Contended.to_string())
}

/// Writes over a record that cannot be read: the operator's way to repair it.
async fn put_over_unreadable(
    settings: &Settings,
    store: &SqliteStore,
    cred: Credential,
) -> ExitCode {
    let mut record = StoredAccount::new(cred);
    // Past any generation a server may hold in memory for it.
    record.generation = match store.raw_generation(record.uin()).await {
        Ok(g) => g.map_or(0, |g| g.saturating_add(1)),
        Err(err) => return fail(exit::UNAVAILABLE, &err.to_string()),
    };
    match store.put(&record).await {
        Ok(()) => {
            added(
                settings,
                store,
                "replaced the unreadable record of",
                &record,
            )
            .await
        }
        Err(err) => fail(exit::UNAVAILABLE, &err.to_string()),
    }
}

async fn added(
    settings: &Settings,
    store: &SqliteStore,
    verb: &str,
    record: &StoredAccount,
) -> ExitCode {
    println!(
        "{verb} account {}; a running server refreshes it at its next check",
        record.uin()
    );
    notify(
        settings,
        store,
        AccountEvent::of(EventKind::Added, record, now()),
    )
    .await;
    ExitCode::SUCCESS
}

async fn remove(settings: &Settings, store: &SqliteStore, uin: Uin, json: bool) -> ExitCode {
    let record = match store.get(uin).await {
        Ok(record) => record,
        // Removing is how an unreadable record is cleared.
        Err(StoreError::Unreadable(_)) => None,
        Err(err) => return fail(exit::UNAVAILABLE, &err.to_string()),
    };
    match store.remove(uin).await {
        Ok(true) => {
            removed(settings, json, false, &format!("removed account {uin}"));
            if let Some(record) = record {
                notify(
                    settings,
                    store,
                    AccountEvent::of(EventKind::Removed, &record, now()),
                )
                .await;
            }
            ExitCode::SUCCESS
        }
        Ok(false) => no_such(settings, uin, json),
        Err(err) => fail(exit::UNAVAILABLE, &err.to_string()),
    }
}

/// `remove --logout [--force]`: Logout with the stored key, then remove.
async fn remove_logged_out(
    settings: &Settings,
    store: &SqliteStore,
    uin: Uin,
    force: bool,
    json: bool,
) -> ExitCode {
    let upstream = match crate::startup::upstream_client(settings) {
        Ok(upstream) => upstream,
        Err(err) => return fail(exit::USAGE, &crate::http::error::Chain(&err).to_string()),
    };
    match logout_then_remove(store, &upstream, uin, force).await {
        Ok(removal) => {
            match &removal.logout_failed {
                None => removed(
                    settings,
                    json,
                    true,
                    &format!("logged out and removed account {uin}"),
                ),
                Some(err) => {
                    eprintln!("qmkeys accounts: warning: {}", logout_message(err));
                    let line = format!("removed account {uin} without logging it out (--force)");
                    removed(settings, json, false, &line);
                }
            }
            if let Some(record) = removal.record {
                notify(
                    settings,
                    store,
                    AccountEvent::of(EventKind::Removed, &record, now()),
                )
                .await;
            }
            ExitCode::SUCCESS
        }
        Err(LogoutError::NotFound(_)) => no_such(settings, uin, json),
        Err(LogoutError::Store(err)) => fail(exit::UNAVAILABLE, &err.to_string()),
        Err(err) => {
            let code = match &err {
                LogoutError::Upstream(e) => super::client::exit_for_status(
                    ApiError::from(e.clone()).parts().status.as_u16(),
                ),
                _ => exit::FAILED,
            };
            let message = format!(
                "{}; account {uin} is kept (add --force to remove it anyway)",
                logout_message(&err)
            );
            fail(code, &message)
        }
    }
}

/// A failed Logout in words: what QQ Music said, as the endpoints say it.
fn logout_message(err: &LogoutError) -> String {
    match err {
        LogoutError::Upstream(e) => {
            format!("{err}: {}", ApiError::from(e.clone()).parts().message)
        }
        other => other.to_string(),
    }
}

/// The server's notice for what this command did, and its line in the
/// timeline; its store change stands whether or not either is taken.
async fn notify(settings: &Settings, store: &SqliteStore, event: AccountEvent) {
    let name = event.kind.as_str();
    if let Err(err) = store
        .append_event(&event, settings.accounts.events_keep)
        .await
    {
        eprintln!("qmkeys accounts: warning: the {name} event is not in the timeline: {err}");
    }
    if crate::startup::notify_now(settings, &event).await == Some(crate::webhook::Outcome::Failed) {
        eprintln!("qmkeys accounts: warning: the webhook did not take the {name} notice");
    }
}

/// A success envelope as the admin route answers it.
fn print_ok<T: serde::Serialize>(settings: &Settings, data: T) {
    let stamp = super::client::stamp(&settings.http.tips);
    super::client::print_json(&stamp, 200, "请求成功！", data);
}

/// What `DELETE /admin/accounts/{uin}` answers with `--json`, else `line`.
fn removed(settings: &Settings, json: bool, logged_out: bool, line: &str) {
    if json {
        print_ok(
            settings,
            Removed {
                removed: true,
                logged_out,
            },
        );
    } else {
        println!("{line}");
    }
}

/// No such account: exit 1, with the route's envelope under `--json`.
fn no_such(settings: &Settings, uin: Uin, json: bool) -> ExitCode {
    if json {
        let stamp = super::client::stamp(&settings.http.tips);
        let _ = super::client::fail_api(COMMAND, &stamp, true, &ApiError::NoSuchAccount);
        return ExitCode::from(exit::FAILED);
    }
    fail(exit::FAILED, &format!("no account with uin {uin}"))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn fail(code: u8, message: &str) -> ExitCode {
    eprintln!("qmkeys accounts: {message}");
    ExitCode::from(code)
}
