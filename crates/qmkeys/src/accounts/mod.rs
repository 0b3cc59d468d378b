//! Upload accounts: the server's own QQ Music logins, used in turn to obtain COS
//! upload credentials, and refreshed when upstream says their key has expired.

use crate::domain::{Credential, Uin};
use crate::upstream::{UpstreamClient, UpstreamError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

/// One account and its current credential.
pub struct Account {
    uin: Uin,
    current: RwLock<Versioned>,
    /// Held while a Login for this account is in flight: a second Login would
    /// rotate the key again and waste the first.
    refreshing: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct Versioned {
    cred: Credential,
    /// Bumped on every rotation, so a caller can tell whether the key it saw
    /// failing is still the current one.
    generation: u64,
}

/// A credential as read at one moment, with its generation.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub cred: Credential,
    pub generation: u64,
}

impl Account {
    fn new(cred: Credential) -> Self {
        Self {
            uin: cred.uin,
            current: RwLock::new(Versioned {
                cred,
                generation: 0,
            }),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    pub fn uin(&self) -> Uin {
        self.uin
    }

    pub fn snapshot(&self) -> Snapshot {
        // The lock guards a plain value that is replaced whole, so a poisoned
        // lock still holds a consistent credential.
        let v = self.current.read().unwrap_or_else(PoisonError::into_inner);
        Snapshot {
            cred: v.cred.clone(),
            generation: v.generation,
        }
    }

    /// Rotates the key with Login unless someone already did since `seen` was read.
    /// Returns the credential to retry with.
    pub async fn refresh_after(
        &self,
        seen: &Snapshot,
        upstream: &UpstreamClient,
    ) -> Result<Credential, UpstreamError> {
        let _one_at_a_time = self.refreshing.lock().await;
        let now = self.snapshot();
        if now.generation != seen.generation {
            return Ok(now.cred);
        }
        let grant = upstream.login(&now.cred).await?;
        let old = now.cred;
        let cred = Credential {
            uin: old.uin,
            key: grant.key,
            // Keep the old refresh values when upstream sends none: they may
            // still be good, and dropping them could strand the account.
            refresh_key: grant.refresh_key.or(old.refresh_key),
            refresh_token: grant.refresh_token.or(old.refresh_token),
        };
        {
            let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
            current.cred = cred.clone();
            current.generation += 1;
        }
        tracing::info!(account = %mask(self.uin), "upload account key rotated");
        Ok(cred)
    }
}

/// A uin as logs and admin views show it: enough to tell accounts apart.
pub fn mask(uin: Uin) -> String {
    let s = uin.to_string();
    match (s.get(..2), s.get(s.len().saturating_sub(2)..)) {
        (Some(head), Some(tail)) if s.len() >= 6 => format!("{head}***{tail}"),
        _ => "***".to_owned(),
    }
}

/// The configured accounts, handed out in turn.
pub struct AccountPool {
    accounts: Vec<Arc<Account>>,
    next: AtomicUsize,
}

impl AccountPool {
    pub fn new(creds: impl IntoIterator<Item = Credential>) -> Self {
        Self {
            accounts: creds
                .into_iter()
                .map(|c| Arc::new(Account::new(c)))
                .collect(),
            next: AtomicUsize::new(0),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// The next account in round-robin order.
    pub fn next(&self) -> Option<Arc<Account>> {
        if self.accounts.is_empty() {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.accounts.len();
        self.accounts.get(i).cloned()
    }

    pub fn get(&self, uin: Uin) -> Option<Arc<Account>> {
        self.accounts.iter().find(|a| a.uin == uin).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred(uin: &str) -> Credential {
        Credential::parse(Some(uin), Some("Q_H_L_k"), None, None).expect("valid")
    }

    #[test]
    fn accounts_are_used_in_turn() {
        let pool = AccountPool::new([cred("111111"), cred("222222")]);
        let order: Vec<u64> = (0..4)
            .filter_map(|_| pool.next())
            .map(|a| a.uin().get())
            .collect();
        assert_eq!(order, [111111, 222222, 111111, 222222]);
        assert!(AccountPool::new([]).next().is_none());
    }

    #[test]
    fn masked_uins_show_only_the_ends() {
        assert_eq!(mask(Uin::from(1569097443)), "15***43");
        assert_eq!(mask(Uin::from(12345)), "***");
    }
}
