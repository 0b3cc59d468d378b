//! Removing a kept account for good: `Logout` (docs/protocol.md section 10.3)
//! with its stored key first, so the key, refresh_key and refresh_token stop
//! working wherever they were copied, then forgetting it. A Logout that fails
//! keeps the account unless the owner forces the removal. Used by
//! `qmkeys accounts remove --logout` and, through [`AccountPool`], by the
//! server.

use super::events::{AccountEvent, EventKind};
use super::mask;
use super::pool::AccountPool;
use super::store::{AccountStore, StoreError, StoredAccount};
use crate::domain::Uin;
use crate::upstream::{UpstreamClient, UpstreamError};
use std::sync::PoisonError;

/// Why an account was not logged out.
#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    #[error("no account with uin {0}")]
    NotFound(Uin),
    /// Its record cannot be read, so there is no key to log out with.
    #[error("the stored record cannot be read, so its key cannot be logged out")]
    Unreadable,
    #[error(transparent)]
    Store(StoreError),
    #[error("QQ Music did not log the key out")]
    Upstream(#[source] UpstreamError),
}

/// What [`logout_then_remove`] did. Holds no secret.
#[derive(Debug)]
pub struct Removal {
    /// The record as it was, when it could be read.
    pub record: Option<StoredAccount>,
    /// The Logout that failed, when the removal was forced past it.
    pub logout_failed: Option<LogoutError>,
}

/// Logs `uin`'s stored key out, then removes the record. Without `force` a
/// failed Logout removes nothing and is the error; with it the record is
/// removed all the same and the failure reported in [`Removal`]. A store
/// that fails, or no such account, is an error either way.
pub async fn logout_then_remove(
    store: &dyn AccountStore,
    upstream: &UpstreamClient,
    uin: Uin,
    force: bool,
) -> Result<Removal, LogoutError> {
    let (record, failed) = match store.get(uin).await {
        Ok(Some(record)) => {
            let failed = upstream
                .logout(record.uin(), &record.cred.key)
                .await
                .err()
                .map(LogoutError::Upstream);
            (Some(record), failed)
        }
        Ok(None) => return Err(LogoutError::NotFound(uin)),
        Err(StoreError::Unreadable(_)) => (None, Some(LogoutError::Unreadable)),
        Err(err) => return Err(LogoutError::Store(err)),
    };
    let failed = match failed {
        Some(err) if !force => {
            tracing::warn!(account = %mask(uin), "logout failed; the account is kept");
            return Err(err);
        }
        Some(err) => {
            tracing::warn!(account = %mask(uin), "logout failed; removing the account as asked");
            Some(err)
        }
        None => {
            tracing::info!(account = %mask(uin), "upload account logged out");
            None
        }
    };
    match store.remove(uin).await {
        Ok(true) => Ok(Removal {
            record,
            logout_failed: failed,
        }),
        Ok(false) => Err(LogoutError::NotFound(uin)),
        Err(err) => Err(LogoutError::Store(err)),
    }
}

impl AccountPool {
    /// [`logout_then_remove`] on this pool's store, then out of use and
    /// told to the webhook (`account.removed`), as [`AccountPool::remove`].
    pub async fn logout_and_remove(&self, uin: Uin, force: bool) -> Result<Removal, LogoutError> {
        let removal = logout_then_remove(self.store.as_ref(), &self.upstream, uin, force).await?;
        self.accounts
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|a| a.uin != uin);
        if let Some(record) = &removal.record {
            self.emit(AccountEvent::of(
                EventKind::Removed,
                record,
                self.clock.unix(),
            ))
            .await;
        }
        Ok(removal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::sqlite::SqliteStore;
    use crate::accounts::PoolSettings;
    use crate::domain::Credential;
    use crate::secrets::Sealer;
    use crate::upstream::KeyCheck;
    use qqmusic_sim::{SimConfig, Simulator};
    use serde_json::{json, Value};
    use std::sync::Arc;
    use std::time::Duration;

    /// A pool keeping one live simulator account, on a fresh SQLite store.
    async fn pool_with_one(sim: &Simulator, dir: &std::path::Path) -> (AccountPool, Credential) {
        let created: Value = reqwest::Client::new()
            .post(format!("{}/_sim/accounts", sim.base_url()))
            .json(&json!({"kind": "qq"}))
            .send()
            .await
            .expect("sim reachable")
            .json()
            .await
            .expect("JSON");
        let text = |k: &str| created[k].as_str().unwrap_or_default().to_owned();
        let cred = Credential::parse(
            Some(&created["uin"].as_u64().unwrap_or_default().to_string()),
            Some(&text("musickey")),
            Some(&text("refresh_key")),
            Some(&text("refresh_token")),
        )
        .expect("the simulator's credential parses");
        let mut settings = crate::config::Settings::default();
        settings.upstream.base = sim.base_url().parse().expect("url");
        settings.upstream.retries = 0;
        let store = SqliteStore::open(&dir.join("a.db"), Sealer::new(None, "account-store"))
            .expect("store");
        let pool = AccountPool::open_with_events(
            Arc::new(store),
            vec![cred.clone()],
            crate::startup::upstream_client(&settings).expect("client"),
            Arc::new(crate::clock::SystemClock),
            PoolSettings {
                refresh_share: 0.3,
                wait_limit: Duration::from_secs(1),
                key_check_interval: Duration::from_secs(3600),
                events_keep: 1_000,
            },
            None,
        )
        .await
        .expect("pool");
        (pool, cred)
    }

    #[tokio::test]
    async fn the_pool_logs_a_kept_key_out_before_forgetting_the_account() {
        let sim = Simulator::spawn("127.0.0.1:0", SimConfig::default())
            .await
            .expect("sim");
        let dir = tempfile::tempdir().expect("dir");
        let (pool, cred) = pool_with_one(&sim, dir.path()).await;
        assert_eq!(pool.check(&pool.all()[0]).await.ok(), Some(KeyCheck::Alive));

        let removal = pool
            .logout_and_remove(cred.uin, false)
            .await
            .expect("removed");
        assert!(removal.logout_failed.is_none());
        assert!(pool.is_empty());
        assert!(pool.store.get(cred.uin).await.expect("store").is_none());
        let after = pool.upstream.check_key(cred.uin, &cred.key).await;
        assert_eq!(
            after.ok(),
            Some(KeyCheck::Dead),
            "the copied key no longer works"
        );
        assert!(matches!(
            pool.logout_and_remove(cred.uin, true).await,
            Err(LogoutError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn a_refused_logout_keeps_the_account_unless_forced() {
        let sim = Simulator::spawn("127.0.0.1:0", SimConfig::default())
            .await
            .expect("sim");
        let dir = tempfile::tempdir().expect("dir");
        let (pool, cred) = pool_with_one(&sim, dir.path()).await;
        reqwest::Client::new()
            .post(format!(
                "{}/_sim/accounts/{}/expire",
                sim.base_url(),
                cred.uin
            ))
            .send()
            .await
            .expect("sim reachable");

        let kept = pool.logout_and_remove(cred.uin, false).await;
        assert!(matches!(kept, Err(LogoutError::Upstream(_))), "{kept:?}");
        assert!(!pool.is_empty());
        assert!(pool.store.get(cred.uin).await.expect("store").is_some());

        let forced = pool
            .logout_and_remove(cred.uin, true)
            .await
            .expect("removed");
        assert!(matches!(
            forced.logout_failed,
            Some(LogoutError::Upstream(_))
        ));
        assert!(pool.is_empty());
    }
}
