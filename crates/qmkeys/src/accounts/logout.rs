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
            ));
        }
        Ok(removal)
    }
}
