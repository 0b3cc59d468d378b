//! Watching kept keys without spending them: the keeper asks
//! `GetLoginUserInfo` (docs/protocol.md section 10.2) whether each key is
//! alive every `accounts_key_check_interval_ms`, and rotates only when the
//! key nears its end (`schedule.rs`) or a check finds it dead, so an account
//! spends one key per lifetime, not one per check.

use super::events::{AccountEvent, EventKind};
use super::mask;
use super::pool::{Account, AccountPool};
use super::rotate::outcome_of;
use super::store::Health;
use crate::upstream::{KeyCheck, UpstreamError};
use std::sync::{Arc, PoisonError};

/// A check's answer as stored and shown (`last_check`); never a secret.
pub fn check_text(result: &Result<KeyCheck, UpstreamError>) -> String {
    match result {
        Ok(KeyCheck::Alive) => "alive".into(),
        Ok(KeyCheck::Dead) => "dead".into(),
        Err(err) => format!("error: {}", outcome_of(err)),
    }
}

impl AccountPool {
    /// Healthy accounts whose key was never checked, or not for an interval.
    pub fn checks_due(&self) -> Vec<Arc<Account>> {
        let now = self.clock.unix();
        let every = i64::try_from(self.settings.key_check_interval.as_secs()).unwrap_or(i64::MAX);
        self.all()
            .into_iter()
            .filter(|a| {
                let record = a.snapshot();
                record.health == Health::Healthy
                    && record
                        .last_check_at
                        .is_none_or(|at| now >= at.saturating_add(every))
            })
            .collect()
    }

    /// Asks whether `account`'s key is alive, without rotating it, and
    /// records when and what the answer was, in memory and in the store; a
    /// changed answer goes into the timeline (`account.checked`).
    pub async fn check(&self, account: &Account) -> Result<KeyCheck, UpstreamError> {
        self.check_as(account, false).await
    }

    /// [`AccountPool::check`] for the owner, who asked: the answer goes into
    /// the timeline whether or not it changed.
    pub async fn check_now(&self, account: &Account) -> Result<KeyCheck, UpstreamError> {
        self.check_as(account, true).await
    }

    async fn check_as(&self, account: &Account, asked: bool) -> Result<KeyCheck, UpstreamError> {
        let cred = account.snapshot().cred;
        let result = self.upstream.check_key(cred.uin, &cred.key).await;
        let at = self.clock.unix();
        let text = check_text(&result);
        match &result {
            Ok(KeyCheck::Alive) => {
                tracing::debug!(account = %mask(account.uin), "upload account key checked: alive");
            }
            Ok(KeyCheck::Dead) => {
                tracing::warn!(account = %mask(account.uin), "upload account key checked: dead; refreshing it");
            }
            Err(err) => {
                tracing::warn!(account = %mask(account.uin), outcome = %outcome_of(err), "upload account key check failed");
            }
        }
        let changed = {
            let mut record = account
                .record
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            record.last_check_at = Some(at);
            record.last_check.replace(text.clone()).as_ref() != Some(&text)
        };
        if let Err(err) = self.store.record_check(account.uin, at, &text).await {
            tracing::error!(account = %mask(account.uin), error = %err, "could not store a key check");
        }
        if asked || changed {
            let event = AccountEvent::of(EventKind::Checked, &account.snapshot(), at);
            self.emit(event.with_detail(&text)).await;
        }
        result
    }
}
