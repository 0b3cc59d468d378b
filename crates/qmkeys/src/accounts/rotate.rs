//! Rotating an upload account's key: one Login at a time per account (a
//! per-account mutex, and the store's lease across processes), committed to
//! the store before the new key is used, and what a failed rotation means
//! (`RefreshFailure`, `is_fatal`, the outcome an account shows).

use super::events::{AccountEvent, EventKind};
use super::mask;
use super::pool::{Account, AccountPool};
use super::store::{Health, StoreError, StoredAccount};
use crate::domain::{Cookie, Credential};
use crate::redis::Lease;
use crate::upstream::{Rejection, UpstreamError};
use std::sync::{Arc, PoisonError};

/// Why a refresh did not give a usable credential.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RefreshFailure {
    /// Upstream says the account cannot be used any more; it is now unhealthy.
    #[error("account is dead")]
    Dead(#[source] UpstreamError),
    /// Worth trying again later; the account stays in use.
    #[error("refresh failed for now")]
    Transient(#[source] UpstreamError),
    /// The new key could not be committed, so it is not used.
    #[error("the rotated key could not be committed")]
    Store(#[source] Arc<StoreError>),
}

/// Answers that mean the account itself is finished, not that upstream is busy.
pub fn is_fatal(err: &UpstreamError) -> bool {
    matches!(
        err.rejection(),
        Some(
            Rejection::LoginRequired
                | Rejection::Restricted
                | Rejection::Banned
                | Rejection::DeviceLimit
                | Rejection::WrongCode
                | Rejection::BindingAbnormal
                | Rejection::BindingMissing
        )
    )
}

/// Outcome names as stored and shown; never carry a secret.
pub(super) fn outcome_of(err: &UpstreamError) -> String {
    match err {
        UpstreamError::Rejected { code, .. } => format!("upstream code {code}"),
        UpstreamError::Timeout => "timeout".into(),
        UpstreamError::Connect | UpstreamError::Transport => "connection failed".into(),
        UpstreamError::Status(s) => format!("upstream HTTP {s}"),
        UpstreamError::Unreadable(_) | UpstreamError::Gateway(_) => "unreadable answer".into(),
        UpstreamError::CircuitOpen => "upstream breaker open".into(),
        UpstreamError::Busy => "too many upstream calls".into(),
        UpstreamError::LeaseBusy => "another instance holds the lease".into(),
    }
}

/// Where one attempt at a rotation ended.
enum Step {
    Done(Result<Credential, RefreshFailure>),
    /// Login succeeded but the lease lapsed and another process took it, so
    /// the commit was refused; the rotation is kept in case that one fails
    /// (boxed: a record with its check fields dwarfs the other variant).
    Fenced(Box<StoredAccount>),
}

impl Step {
    /// Without a lease nothing can fence a commit out.
    fn done(self) -> Result<Credential, RefreshFailure> {
        match self {
            Step::Done(result) => result,
            Step::Fenced(_) => Err(RefreshFailure::Transient(UpstreamError::LeaseBusy)),
        }
    }
}

impl AccountPool {
    /// Rotates `account`'s key with Login, unless it was rotated since
    /// `seen_generation`. The new credential is committed to the store before
    /// it is returned; if the commit fails it is not used at all.
    pub async fn refresh(
        &self,
        account: &Account,
        seen_generation: u64,
    ) -> Result<Credential, RefreshFailure> {
        let _one_at_a_time = account.refreshing.lock().await;
        let deadline = tokio::time::Instant::now() + self.settings.wait_limit;
        // A rotation whose commit was refused because its lease lapsed and
        // another process took it: that process's rotation wins, and this one
        // is only committed if that one never comes.
        let mut own: Option<StoredAccount> = None;
        loop {
            // Another process may have rotated it already: then use its key.
            self.adopt_stored(account).await;
            let current = account.snapshot();
            if current.generation != seen_generation {
                return Ok(current.cred);
            }
            match self.store.try_lease(account.uin).await {
                Ok(Some(lease)) => {
                    let step = match own.take() {
                        Some(next) => self.commit(account, &current, next, Some(&lease)).await,
                        None => self.rotate(account, current, Some(&lease)).await,
                    };
                    lease.release().await;
                    match step {
                        Step::Done(result) => return result,
                        Step::Fenced(next) => own = Some(*next),
                    }
                }
                Ok(None) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Ok(None) => return Err(RefreshFailure::Transient(UpstreamError::LeaseBusy)),
                // Store unreachable: go ahead; the commit decides whether the key is used.
                Err(_) => {
                    return match own {
                        Some(next) => self.commit(account, &current, next, None).await,
                        None => self.rotate(account, current, None).await,
                    }
                    .done()
                }
            }
        }
    }

    /// Takes a newer stored record (rotated by another process) into memory.
    async fn adopt_stored(&self, account: &Account) {
        if let Ok(Some(stored)) = self.store.get(account.uin).await {
            if stored.generation > account.snapshot().generation {
                account.replace(stored);
            }
        }
    }

    async fn rotate(
        &self,
        account: &Account,
        current: StoredAccount,
        lease: Option<&Lease>,
    ) -> Step {
        let login_type = current.login_type;
        let mut result = self.upstream.login_as(&current.cred, login_type).await;
        if let (Err(err), Some(previous)) = (&result, &current.previous) {
            // A key that went bad right after a rotation: the one before it may
            // still refresh.
            if err.rejection() == Some(Rejection::LoginRequired) {
                result = self.upstream.login_as(previous, login_type).await;
            }
        }
        let at = self.clock.unix();
        // An answer for no account or another one is never stored as this one's.
        let result = result.and_then(|grant| Cookie::from_grant(&current.cred, grant, at));
        match result {
            Ok(cookie) => {
                let next = StoredAccount {
                    cred: Credential {
                        uin: current.cred.uin,
                        key: cookie.key,
                        // Upstream sometimes sends no new refresh values; the old
                        // ones may still be good, and dropping them could strand the account.
                        refresh_key: cookie.refresh_key.or(current.cred.refresh_key.clone()),
                        refresh_token: cookie.refresh_token.or(current.cred.refresh_token.clone()),
                    },
                    previous: Some(current.cred.clone()),
                    created_at: Some(cookie.created_at),
                    expires_at: Some(cookie.created_at.saturating_add(cookie.expires_in)),
                    last_refresh_at: Some(at),
                    last_outcome: Some("refreshed".into()),
                    // The new key has not been checked; the old key's check stays on show.
                    last_check_at: current.last_check_at,
                    last_check: current.last_check.clone(),
                    health: Health::Healthy,
                    generation: current.generation + 1,
                    seed: current.seed.clone(),
                    login_type,
                };
                self.commit(account, &current, next, lease).await
            }
            Err(err) if is_fatal(&err) => {
                self.mark_dead(account, &err).await;
                Step::Done(Err(RefreshFailure::Dead(err)))
            }
            Err(err) => {
                let outcome = outcome_of(&err);
                tracing::warn!(account = %mask(account.uin), outcome, "upload account refresh failed; will retry");
                account
                    .schedule
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .failed(at);
                self.note(account, at, &outcome, Health::Healthy).await;
                self.emit(
                    AccountEvent::of(EventKind::Failing, &account.snapshot(), at)
                        .with_detail(&outcome),
                )
                .await;
                Step::Done(Err(RefreshFailure::Transient(err)))
            }
        }
    }

    /// Commits a rotation over `current`, fenced by `lease` when there is one.
    async fn commit(
        &self,
        account: &Account,
        current: &StoredAccount,
        next: StoredAccount,
        lease: Option<&Lease>,
    ) -> Step {
        let committed = match lease {
            Some(lease) => {
                self.store
                    .commit_rotation_under(&next, current.generation, lease)
                    .await
            }
            None => self
                .store
                .commit_rotation(&next, current.generation)
                .await
                .map(Some),
        };
        Step::Done(match committed {
            Ok(Some(true)) => {
                tracing::info!(account = %mask(account.uin), "upload account key rotated and stored");
                let cred = next.cred.clone();
                self.emit(AccountEvent::of(
                    EventKind::Refreshed,
                    &next,
                    self.clock.unix(),
                ))
                .await;
                account.replace(next);
                Ok(cred)
            }
            Ok(Some(false)) => {
                // Another process rotated it first; use what it stored.
                let _ = self.sync().await;
                Ok(account.snapshot().cred)
            }
            Ok(None) => {
                tracing::warn!(account = %mask(account.uin), "upload account lease lapsed before the rotation was stored: write refused; using the rotation of the process that took over");
                return Step::Fenced(Box::new(next));
            }
            Err(err) => {
                tracing::error!(account = %mask(account.uin), error = %err, "rotated key could not be stored; keeping the previous one");
                Err(RefreshFailure::Store(Arc::new(err)))
            }
        })
    }

    /// Takes an account out of use after an answer that means it is finished.
    pub async fn mark_dead(&self, account: &Account, err: &UpstreamError) {
        let outcome = outcome_of(err);
        tracing::warn!(account = %mask(account.uin), outcome, "upload account is unusable; marked unhealthy");
        let at = self.clock.unix();
        let was = account.snapshot().health;
        self.note(account, at, &outcome, Health::Unhealthy).await;
        // Said once, when it dies, not again by every request that finds it dead.
        if was == Health::Healthy {
            self.emit(
                AccountEvent::of(EventKind::Dead, &account.snapshot(), at).with_detail(&outcome),
            )
            .await;
        }
    }

    async fn note(&self, account: &Account, at: i64, outcome: &str, health: Health) {
        {
            let mut record = account
                .record
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            record.last_refresh_at = Some(at);
            record.last_outcome = Some(outcome.to_owned());
            record.health = health;
        }
        if let Err(err) = self
            .store
            .record_outcome(account.uin, at, outcome, health)
            .await
        {
            tracing::error!(account = %mask(account.uin), error = %err, "could not store a refresh outcome");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_and_transient_answers_are_told_apart() {
        let rejected = |code| UpstreamError::Rejected {
            call: "Login",
            code,
        };
        for code in [
            1000, 104401, 20277, 20278, 20450, 20279, 20271, 20272, 20274,
        ] {
            assert!(is_fatal(&rejected(code)), "{code}");
        }
        for err in [
            rejected(104604),
            rejected(2001),
            UpstreamError::Timeout,
            UpstreamError::Status(502),
        ] {
            assert!(!is_fatal(&err), "{err}");
        }
    }
}
