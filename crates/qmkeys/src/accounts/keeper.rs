//! The background task that keeps upload accounts alive: it refreshes each
//! key before it expires, checks each key now and then without rotating it
//! (refreshing at once one found dead), and picks up accounts added or
//! removed elsewhere.

use super::{mask, Account, AccountPool, RefreshFailure};
use crate::metrics::Metrics;
use crate::upstream::KeyCheck;
use std::sync::Arc;
use std::time::Duration;

/// Aborts the task when dropped, so the refresher never outlives its server.
pub struct Keeper(tokio::task::JoinHandle<()>);

impl Drop for Keeper {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Checks every `every`, starting one interval after start.
pub fn spawn(pool: Arc<AccountPool>, every: Duration, metrics: Arc<Metrics>) -> Keeper {
    Keeper(tokio::spawn(async move {
        let mut store_down = false;
        loop {
            tokio::time::sleep(every).await;
            match pool.sync().await {
                Ok(()) if store_down => {
                    tracing::info!("account store reachable again");
                    store_down = false;
                }
                Ok(()) => {}
                Err(err) if !store_down => {
                    // Said once per outage, not on every tick.
                    tracing::error!(error = %err, "account store unreachable; using the accounts in memory");
                    store_down = true;
                }
                Err(_) => {}
            }
            for account in pool.due() {
                refresh(&pool, &account, &metrics).await;
            }
            for account in pool.checks_due() {
                let seen = account.snapshot().generation;
                // Only a dead key is rotated now; an error is tried again at the
                // next check, and the lifetime rule still refreshes it when due.
                if let Ok(KeyCheck::Dead) = pool.check(&account).await {
                    if account.snapshot().generation == seen {
                        refresh(&pool, &account, &metrics).await;
                    }
                }
            }
        }
    }))
}

/// One background rotation. Each failure was logged, stored, scheduled and
/// told to the webhook (failing or dead) by `AccountPool::refresh`.
async fn refresh(pool: &AccountPool, account: &Account, metrics: &Metrics) {
    let seen = account.snapshot().generation;
    let outcome = match pool.refresh(account, seen).await {
        Ok(_) => {
            tracing::debug!(account = %mask(account.uin()), "kept alive");
            "refreshed"
        }
        Err(RefreshFailure::Dead(_)) => "dead",
        Err(RefreshFailure::Transient(_)) => "transient_failure",
        Err(RefreshFailure::Store(_)) => "store_failure",
    };
    metrics
        .background_refreshes
        .with_label_values(&[outcome])
        .inc();
}
