//! Where upload accounts live between restarts. Behind a trait so a shared
//! backend (Redis) can replace the embedded one without touching callers.

use crate::domain::{Credential, Uin};
use crate::secrets::SealError;
use crate::shared::Lease;

/// Whether an account may be used for signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Healthy,
    /// Upstream said the account is dead (logged out, banned, restricted).
    Unhealthy,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "healthy" => Some(Health::Healthy),
            "unhealthy" => Some(Health::Unhealthy),
            _ => None,
        }
    }
}

/// One account as stored: its credential, the one before it, and what
/// happened at the last refresh.
#[derive(Debug, Clone)]
pub struct StoredAccount {
    pub cred: Credential,
    /// The credential the last rotation replaced; kept so that an account whose
    /// new key turns out bad can still be refreshed with the old one.
    pub previous: Option<Credential>,
    /// Unix seconds; unknown for a key that came from the config file.
    pub created_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub last_refresh_at: Option<i64>,
    pub last_outcome: Option<String>,
    pub health: Health,
    /// Bumped on every rotation; a rotation commits only over the generation
    /// it started from, so two refreshers cannot both win.
    pub generation: u64,
    /// Fingerprint of the config-file credential that seeded this row, so a
    /// changed config entry can be told from an unchanged one.
    pub seed: Option<String>,
}

impl StoredAccount {
    pub fn new(cred: Credential) -> Self {
        Self {
            cred,
            previous: None,
            created_at: None,
            expires_at: None,
            last_refresh_at: None,
            last_outcome: None,
            health: Health::Healthy,
            generation: 0,
            seed: None,
        }
    }

    pub fn uin(&self) -> Uin {
        self.cred.uin
    }

    /// The current credential as a refresh answers it. A key whose age the
    /// store does not know (a config entry not yet refreshed) reads as made
    /// at its expiry minus the usual lifetime, or at 0 with no expiry known.
    pub fn cookie(&self) -> crate::refresh::Cookie {
        let lifetime = crate::upstream::DEFAULT_KEY_LIFETIME_SECS;
        let (created_at, expires_in) = match (self.created_at, self.expires_at) {
            (Some(c), Some(e)) => (c, e.saturating_sub(c)),
            (None, Some(e)) => (e.saturating_sub(lifetime), lifetime),
            (Some(c), None) => (c, lifetime),
            (None, None) => (0, 0),
        };
        crate::refresh::Cookie {
            uin: self.cred.uin,
            key: self.cred.key.clone(),
            refresh_key: self.cred.refresh_key.clone(),
            refresh_token: self.cred.refresh_token.clone(),
            created_at,
            expires_in,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("account store: {0}")]
    Backend(String),
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error("account store holds a record it cannot read: {0}")]
    Corrupt(String),
}

#[async_trait::async_trait]
pub trait AccountStore: Send + Sync + 'static {
    async fn load_all(&self) -> Result<Vec<StoredAccount>, StoreError>;

    async fn get(&self, uin: Uin) -> Result<Option<StoredAccount>, StoreError>;

    /// Inserts or overwrites the whole record; committed when it returns.
    async fn put(&self, account: &StoredAccount) -> Result<(), StoreError>;

    /// Writes `account` only if the stored generation is still `expected`.
    /// `Ok(false)` means someone else rotated it first. Committed when it returns.
    async fn commit_rotation(
        &self,
        account: &StoredAccount,
        expected: u64,
    ) -> Result<bool, StoreError>;

    /// Records a refresh attempt that did not rotate the key.
    async fn record_outcome(
        &self,
        uin: Uin,
        at: i64,
        outcome: &str,
        health: Health,
    ) -> Result<(), StoreError>;

    async fn remove(&self, uin: Uin) -> Result<bool, StoreError>;

    /// Cheap check that the store answers, for readiness.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Where the data lives, for messages (never includes a secret).
    fn describe(&self) -> String;

    /// The right to refresh `uin`, across every process sharing the store,
    /// held until released or dropped. `None` when another holds it. A store
    /// used by one process needs no lease: the pool's own lock suffices.
    async fn try_lease(&self, _uin: Uin) -> Result<Option<Lease>, StoreError> {
        Ok(Some(Lease::local()))
    }

    /// As [`AccountStore::commit_rotation`], and only while `lease` is still
    /// this process's: `Ok(None)` when it lapsed and another process took it,
    /// whose rotation then wins.
    async fn commit_rotation_under(
        &self,
        account: &StoredAccount,
        expected: u64,
        _lease: &Lease,
    ) -> Result<Option<bool>, StoreError> {
        self.commit_rotation(account, expected).await.map(Some)
    }
}
