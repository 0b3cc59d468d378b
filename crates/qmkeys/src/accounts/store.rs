//! Where upload accounts live between restarts. Behind a trait so a shared
//! backend (Redis) can replace the embedded one without touching callers.

use super::events::AccountEvent;
use super::keys::ApiKeyRecord;
use crate::domain::{ApiKeyHash, ApiKeyId};
use crate::domain::{Credential, Uin};
use crate::redis::Lease;
use crate::secrets::SealError;

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
    /// Unix seconds of the keeper's last check of the key (GetLoginUserInfo,
    /// docs/protocol.md section 10.2); absent in records from before checks.
    pub last_check_at: Option<i64>,
    /// What that check said: `alive`, `dead`, or `error: <outcome>`.
    pub last_check: Option<String>,
    pub health: Health,
    /// Bumped on every rotation; a rotation commits only over the generation
    /// it started from, so two refreshers cannot both win.
    pub generation: u64,
    /// Fingerprint of the config-file credential that seeded this row, so a
    /// changed config entry can be told from an unchanged one.
    pub seed: Option<String>,
    /// The `tmeLoginType` the account was issued with when it is not its
    /// kind's own: 6 after the QQ Music app's QR (docs/protocol.md section
    /// 10.1), which its refreshes send too. None (records from before it
    /// included) refreshes with the kind's: 2 for QQ, 1 for WeChat.
    pub login_type: Option<u8>,
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
            last_check_at: None,
            last_check: None,
            health: Health::Healthy,
            generation: 0,
            seed: None,
            login_type: None,
        }
    }

    pub fn uin(&self) -> Uin {
        self.cred.uin
    }

    /// The current credential as a refresh answers it. A key whose age the
    /// store does not know (a config entry not yet refreshed) reads as made
    /// at its expiry minus the usual lifetime, or at 0 with no expiry known.
    pub fn cookie(&self) -> crate::domain::Cookie {
        let lifetime = crate::upstream::DEFAULT_KEY_LIFETIME_SECS;
        let (created_at, expires_in) = match (self.created_at, self.expires_at) {
            (Some(c), Some(e)) => (c, e.saturating_sub(c)),
            (None, Some(e)) => (e.saturating_sub(lifetime), lifetime),
            (Some(c), None) => (c, lifetime),
            (None, None) => (0, 0),
        };
        crate::domain::Cookie {
            uin: self.cred.uin,
            key: self.cred.key.clone(),
            refresh_key: self.cred.refresh_key.clone(),
            refresh_token: self.cred.refresh_token.clone(),
            created_at,
            expires_in,
        }
    }

    /// The `Cookie:` line players and bots paste (`uin`, `qqmusic_uin`,
    /// `qqmusic_key`, `qm_keyst`, `tmeLoginType`), with the login type the
    /// account was issued with: what the console copies and
    /// `qmkeys accounts show --header` prints.
    pub fn cookie_line(&self) -> String {
        let login_type = self.login_type.map_or_else(
            || self.cred.kind().login_type().to_owned(),
            |t| t.to_string(),
        );
        crate::domain::cookie_line(self.cred.uin, &self.cred.key, &login_type)
    }
}

/// What is wrong with a field of a stored record. Never carries the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// A sealed value that does not open where it is stored: altered, or
    /// copied from another account or field.
    DoesNotOpen,
    /// A plain value although `QMKEYS_SECRET_KEY` is set: planted, not written by us.
    NotEncrypted,
    /// A value that does not parse as what the field holds.
    Invalid,
    Missing,
    /// The record names another account than the key it is stored under.
    Misplaced,
}

impl Problem {
    fn describe(self) -> &'static str {
        match self {
            Problem::DoesNotOpen => {
                "does not open where it is stored (altered, or copied from another account or field)"
            }
            Problem::NotEncrypted => "is not encrypted although QMKEYS_SECRET_KEY is set",
            Problem::Invalid => "is not valid",
            Problem::Missing => "is missing",
            Problem::Misplaced => "names another account than the one it is stored under",
        }
    }
}

/// A stored record that cannot be used, and which of its fields failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The account its storage key names, when that is a uin at all.
    pub uin: Option<Uin>,
    /// One of the record's field names: a small fixed set, fit for a metric label.
    pub field: &'static str,
    pub problem: Problem,
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let who = self.uin.map_or_else(|| "***".to_owned(), super::mask);
        write!(
            f,
            "account {who}: {} {}",
            self.field,
            self.problem.describe()
        )
    }
}

/// What a store holds: the records that read back, and those left out.
#[derive(Debug, Default)]
pub struct Loaded {
    pub accounts: Vec<StoredAccount>,
    pub unreadable: Vec<Unreadable>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("account store: {0}")]
    Backend(String),
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error("account store holds a record it cannot read: {0}")]
    Unreadable(Unreadable),
    /// Other writers kept changing the record between our read and our write.
    #[error("account store: the record kept changing under this write; try again")]
    Contended,
}

#[async_trait::async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Every record. One that cannot be read (altered, misplaced, invalid) is
    /// left out and listed, so the others are still served; a wrong or missing
    /// `QMKEYS_SECRET_KEY`, which makes none readable, fails the whole load.
    async fn load(&self) -> Result<Loaded, StoreError>;

    async fn load_all(&self) -> Result<Vec<StoredAccount>, StoreError> {
        Ok(self.load().await?.accounts)
    }

    async fn get(&self, uin: Uin) -> Result<Option<StoredAccount>, StoreError>;

    /// Inserts or overwrites the whole record; committed when it returns.
    async fn put(&self, account: &StoredAccount) -> Result<(), StoreError>;

    /// Writes `account` only if no record is stored under its uin. `Ok(false)`
    /// means another writer stored one first. Committed when it returns.
    async fn insert_new(&self, account: &StoredAccount) -> Result<bool, StoreError>;

    /// Writes `account` only if the stored generation is still `expected`.
    /// `Ok(false)` means someone else wrote it first (a rotation, a save).
    /// Committed when it returns.
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

    /// Records a check of the key (neither the key nor the health changes).
    async fn record_check(&self, uin: Uin, at: i64, outcome: &str) -> Result<(), StoreError>;
    async fn remove(&self, uin: Uin) -> Result<bool, StoreError>;

    /// Adds an event to the timeline, keeping only the newest `keep`.
    async fn append_event(&self, event: &AccountEvent, keep: usize) -> Result<(), StoreError>;

    /// The newest `limit` events of the timeline, newest first; stored ones
    /// that do not read as events are left out.
    async fn recent_events(&self, limit: usize) -> Result<Vec<AccountEvent>, StoreError>;

    /// Stores a new caller key (only its hash); committed when it returns.
    async fn insert_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;

    /// Every caller key that reads back, oldest first.
    async fn keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError>;

    /// The caller key whose secret has this hash.
    async fn key_by_hash(&self, hash: &ApiKeyHash) -> Result<Option<ApiKeyRecord>, StoreError>;

    /// Deletes a caller key; `Ok(false)` when there was none with that id.
    async fn revoke_key(&self, id: &ApiKeyId) -> Result<bool, StoreError>;

    /// Writes keys' last-used times (behind the requests, a batch at a time).
    async fn touch_keys(&self, used: &[(ApiKeyId, i64)]) -> Result<(), StoreError>;

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
