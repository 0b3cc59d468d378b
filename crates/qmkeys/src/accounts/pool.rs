//! The pool of upload accounts: loaded from the store (seeded from the config
//! file), kept in step with it (`sync`), handed out in turn, saved from callers'
//! refreshes, removed, and asked which keys are due. Rotating a key is in
//! `rotate.rs`.

use super::events::{AccountEvent, EventKind, SharedSink};
use super::mask;
use super::schedule::Schedule;
use super::store::{AccountStore, Health, Loaded, StoreError, StoredAccount, Unreadable};
use crate::clock::SharedClock;
use crate::domain::{Cookie, Credential, Uin};
use crate::upstream::{UpstreamClient, APP_LOGIN_TYPE};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

/// One account: the in-memory mirror of its stored record.
pub struct Account {
    pub(super) uin: Uin,
    pub(super) record: RwLock<StoredAccount>,
    /// Held while a Login for this account is in flight: a second Login would
    /// rotate the key again and waste the first.
    pub(super) refreshing: tokio::sync::Mutex<()>,
    pub(super) schedule: Mutex<Schedule>,
    /// InitUpload grants obtained with this account's key since this process
    /// started (or since it last took the account in): the console's count.
    signed: AtomicU64,
}

impl Account {
    fn new(record: StoredAccount) -> Self {
        Self {
            uin: record.uin(),
            schedule: Mutex::new(Schedule::fresh()),
            record: RwLock::new(record),
            refreshing: tokio::sync::Mutex::new(()),
            signed: AtomicU64::new(0),
        }
    }

    /// Counts one InitUpload grant obtained with this account's key.
    pub fn note_signed(&self) {
        self.signed.fetch_add(1, Ordering::Relaxed);
    }

    /// InitUpload grants obtained with this account since this process took it in.
    pub fn signed(&self) -> u64 {
        self.signed.load(Ordering::Relaxed)
    }

    pub fn uin(&self) -> Uin {
        self.uin
    }

    pub fn snapshot(&self) -> StoredAccount {
        // Records are replaced whole, so even a poisoned lock holds a consistent one.
        self.record
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn is_healthy(&self) -> bool {
        self.snapshot().health == Health::Healthy
    }

    pub(super) fn replace(&self, record: StoredAccount) {
        *self.schedule.lock().unwrap_or_else(PoisonError::into_inner) = Schedule::fresh();
        *self.record.write().unwrap_or_else(PoisonError::into_inner) = record;
    }
}

#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    /// Refresh when less than this share of a key's lifetime is left.
    pub refresh_share: f64,
    /// How long a refresh waits for another process's rotation of the same
    /// account: longer than a Login can take. (A dead holder's lease lapses
    /// within seconds; see `redis::LEASE_TTL`.)
    pub wait_limit: std::time::Duration,
    /// How many account events the timeline keeps (`accounts_events_keep`).
    pub events_keep: usize,
    /// How often each key is asked whether it is alive (`accounts/check.rs`).
    pub key_check_interval: std::time::Duration,
}

/// All upload accounts, handed out in turn.
pub struct AccountPool {
    pub(super) accounts: RwLock<Vec<Arc<Account>>>,
    pub(super) next: AtomicUsize,
    pub(super) store: Arc<dyn AccountStore>,
    pub(super) upstream: UpstreamClient,
    pub(super) clock: SharedClock,
    pub(super) settings: PoolSettings,
    /// The config file's accounts, until they have been written to the store.
    pub(super) pending_seeds: Mutex<Option<Vec<Credential>>>,
    /// Told what happens to accounts (the webhook), when one is configured.
    pub(super) events: Option<SharedSink>,
    /// Records the last load left out, for `/readyz` and `/metrics`.
    pub(super) unreadable: RwLock<Vec<Unreadable>>,
}

/// How often a save reads again after losing its compare-and-set to another
/// writer before it gives up: each loss means the record moved on meanwhile.
const SAVE_ATTEMPTS: usize = 5;

impl AccountPool {
    /// Loads the store, after letting the config file's accounts seed it: a
    /// config entry is written when it is new or has changed since it last
    /// seeded the store; otherwise the stored (newer) credential wins.
    /// `events` is told what happens to accounts from the seeding on.
    pub async fn open_with_events(
        store: Arc<dyn AccountStore>,
        seeds: Vec<Credential>,
        upstream: UpstreamClient,
        clock: SharedClock,
        settings: PoolSettings,
        events: Option<SharedSink>,
    ) -> Result<Self, StoreError> {
        let pool = Self {
            accounts: RwLock::new(Vec::new()),
            next: AtomicUsize::new(0),
            store,
            upstream,
            clock,
            settings,
            pending_seeds: Mutex::new(Some(seeds)),
            events,
            unreadable: RwLock::new(Vec::new()),
        };
        if let Err(err) = pool.sync().await {
            // A shared store (Redis) that is down at start is an outage, not a
            // failure: the keeper seeds and loads the accounts once it answers.
            if let StoreError::Backend(_) = err {
                tracing::error!(store = %pool.store.describe(), error = %err, "account store unreachable at start; upload accounts load when it answers");
            } else {
                return Err(err);
            }
        }
        Ok(pool)
    }

    /// Writes the config file's accounts into the store: a new entry is
    /// written; an unchanged one leaves the stored (newer) credential alone; a
    /// changed one replaces it. Each write is a compare-and-set on what was
    /// read, so a rotation another instance commits meanwhile is not lost.
    async fn seed(&self, seeds: &[Credential], loaded: &Loaded) -> Result<(), StoreError> {
        for cred in seeds {
            if loaded.unreadable.iter().any(|u| u.uin == Some(cred.uin)) {
                // Kept for someone to look at, not overwritten unseen.
                tracing::warn!(account = %mask(cred.uin), "not seeding this config entry: its stored record cannot be read");
                continue;
            }
            let seed = fingerprint(cred);
            let mut stored = loaded
                .accounts
                .iter()
                .find(|a| a.uin() == cred.uin)
                .cloned();
            let mut attempts = 0;
            loop {
                let record = match &stored {
                    Some(row) if row.seed.as_deref() == Some(seed.as_str()) => {
                        tracing::info!(account = %mask(cred.uin), "keeping the stored credential: it is newer than the config file's");
                        break;
                    }
                    Some(row) => {
                        tracing::info!(account = %mask(row.uin()), "config entry changed: it replaces the stored credential");
                        let mut record = StoredAccount::new(cred.clone());
                        record.seed = Some(seed.clone());
                        record.previous = Some(row.cred.clone());
                        record.generation = row.generation + 1;
                        record
                    }
                    None => {
                        let mut record = StoredAccount::new(cred.clone());
                        record.seed = Some(seed.clone());
                        record
                    }
                };
                let written = match &stored {
                    Some(row) => self.store.commit_rotation(&record, row.generation).await?,
                    None => self.store.insert_new(&record).await?,
                };
                if written {
                    if stored.is_none() {
                        self.emit(AccountEvent::of(
                            EventKind::Added,
                            &record,
                            self.clock.unix(),
                        ))
                        .await;
                    }
                    break;
                }
                attempts += 1;
                if attempts >= SAVE_ATTEMPTS {
                    return Err(StoreError::Contended);
                }
                stored = self.store.get(cred.uin).await?;
            }
        }
        Ok(())
    }

    /// Tells the listener and keeps the event in the store's timeline. A
    /// timeline that cannot be written is logged, never the caller's failure.
    pub(super) async fn emit(&self, event: AccountEvent) {
        if let Err(err) = self
            .store
            .append_event(&event, self.settings.events_keep)
            .await
        {
            tracing::warn!(error = %err, event = event.kind.as_str(), "account event not kept in the timeline");
        }
        if let Some(events) = self.events.as_ref().filter(|_| event.kind.is_notice()) {
            events.notify(event);
        }
    }

    /// The newest `limit` events of the timeline, newest first.
    pub async fn recent_events(&self, limit: usize) -> Result<Vec<AccountEvent>, StoreError> {
        self.store
            .recent_events(limit.min(self.settings.events_keep))
            .await
    }

    /// Brings the in-memory list in line with the store (accounts added or
    /// removed by the CLI, or rotated by another process), seeding it first if
    /// that has not happened yet.
    pub async fn sync(&self) -> Result<(), StoreError> {
        let mut loaded = self.store.load().await?;
        let seeds = self
            .pending_seeds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(seeds) = seeds {
            if let Err(err) = self.seed(&seeds, &loaded).await {
                *self
                    .pending_seeds
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(seeds);
                return Err(err);
            }
            loaded = self.store.load().await?;
        }
        self.note_unreadable(loaded.unreadable.clone());
        let mut accounts = self
            .accounts
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        // A record that turned unreadable while this process holds it keeps
        // its copy from when it read soundly; one never read stays out.
        accounts.retain(|a| {
            loaded.accounts.iter().any(|s| s.uin() == a.uin)
                || loaded.unreadable.iter().any(|u| u.uin == Some(a.uin))
        });
        for record in loaded.accounts {
            match accounts.iter().find(|a| a.uin == record.uin()) {
                Some(account) if account.snapshot().generation < record.generation => {
                    account.replace(record)
                }
                Some(_) => {}
                None => accounts.push(Arc::new(Account::new(record))),
            }
        }
        accounts.sort_by_key(|a| a.uin);
        Ok(())
    }

    /// Keeps the records a load left out, warning when they change rather
    /// than at every check: the account and the field, never a value.
    fn note_unreadable(&self, now: Vec<Unreadable>) {
        let mut kept = self
            .unreadable
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if *kept != now {
            for u in now.iter().filter(|u| !kept.contains(u)) {
                tracing::warn!(
                    account = %u.uin.map_or_else(|| "***".to_owned(), mask),
                    field = u.field,
                    problem = %u,
                    "a record in the account store cannot be read; it is left out until it is added again"
                );
            }
            *kept = now;
        }
    }

    /// The records the last load of the store left out.
    pub fn unreadable(&self) -> Vec<Unreadable> {
        self.unreadable
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn all(&self) -> Vec<Arc<Account>> {
        self.accounts
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn is_empty(&self) -> bool {
        self.accounts
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }

    /// Healthy accounts, starting from the next in round-robin order.
    pub fn healthy_in_turn(&self) -> Vec<Arc<Account>> {
        let all = self.all();
        if all.is_empty() {
            return all;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed) % all.len();
        all.iter()
            .cycle()
            .skip(start)
            .take(all.len())
            .filter(|a| a.is_healthy())
            .cloned()
            .collect()
    }

    pub fn store(&self) -> &Arc<dyn AccountStore> {
        &self.store
    }

    /// Adds or updates an account from a caller's successful refresh
    /// (`save=true`) or login. Committed before it returns, as a
    /// compare-and-set on the generation it read from the store (not this
    /// process's copy, which another instance may have rotated past): on
    /// losing to another writer it reads again and decides again.
    pub async fn save(&self, cookie: &Cookie) -> Result<(), StoreError> {
        self.save_as(cookie, None).await
    }

    /// [`Self::save`] for a login that says how the key was issued
    /// (`tmeLoginType`): 6, the app QR's, is kept and refreshed with; any
    /// other is the kind's own. None (a refresh) keeps what was stored.
    pub async fn save_as(&self, cookie: &Cookie, login_type: Option<u8>) -> Result<(), StoreError> {
        let existing = self.all().into_iter().find(|a| a.uin == cookie.uin);
        let _one_at_a_time = match &existing {
            Some(account) => Some(account.refreshing.lock().await),
            None => None,
        };
        for _ in 0..SAVE_ATTEMPTS {
            let stored = self.store.get(cookie.uin).await?;
            if let Some(stored) = stored.as_ref().filter(|s| holds_newer(s, cookie)) {
                tracing::info!(account = %mask(cookie.uin), "the store already holds this account's credential or a newer one: kept it");
                self.adopt(stored.clone());
                return Ok(());
            }
            let record = StoredAccount {
                cred: Credential {
                    uin: cookie.uin,
                    key: cookie.key.clone(),
                    refresh_key: cookie.refresh_key.clone(),
                    refresh_token: cookie.refresh_token.clone(),
                },
                previous: stored.as_ref().map(|p| p.cred.clone()),
                created_at: Some(cookie.created_at),
                expires_at: Some(cookie.expires_at()),
                last_refresh_at: Some(self.clock.unix()),
                last_outcome: Some("saved by a caller".into()),
                // A new key: no check of it yet.
                last_check_at: None,
                last_check: None,
                health: Health::Healthy,
                generation: stored.as_ref().map_or(0, |p| p.generation + 1),
                seed: stored.as_ref().and_then(|p| p.seed.clone()),
                login_type: match login_type {
                    Some(t) => Some(t).filter(|&t| t == APP_LOGIN_TYPE),
                    None => stored.as_ref().and_then(|p| p.login_type),
                },
            };
            let written = match &stored {
                Some(s) => self.store.commit_rotation(&record, s.generation).await?,
                None => self.store.insert_new(&record).await?,
            };
            if !written {
                continue;
            }
            // New, or dead and logged in again (the console's re-login): it
            // is in use from now on. A caller's re-save of a live account says nothing.
            if stored.as_ref().is_none_or(|s| s.health != Health::Healthy) {
                self.emit(AccountEvent::of(
                    EventKind::Added,
                    &record,
                    self.clock.unix(),
                ))
                .await;
            }
            self.adopt(record);
            tracing::info!(account = %mask(cookie.uin), "account saved for uploads");
            return Ok(());
        }
        Err(StoreError::Contended)
    }

    /// Takes a record just read from or written to the store into memory,
    /// unless memory already holds a later generation.
    pub(super) fn adopt(&self, record: StoredAccount) {
        let mut accounts = self
            .accounts
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        match accounts.iter().find(|a| a.uin == record.uin()) {
            Some(account) => {
                if account.snapshot().generation <= record.generation {
                    account.replace(record);
                }
            }
            None => {
                accounts.push(Arc::new(Account::new(record)));
                accounts.sort_by_key(|a| a.uin);
            }
        }
    }

    /// Takes an account out of the store and out of use.
    pub async fn remove(&self, uin: Uin) -> Result<bool, StoreError> {
        // An unreadable record can be removed too: that is how it is cleared.
        let record = match self.store.get(uin).await {
            Ok(Some(record)) => Some(record),
            Ok(None) => return Ok(false),
            Err(StoreError::Unreadable(_)) => None,
            Err(err) => return Err(err),
        };
        let removed = self.store.remove(uin).await?;
        self.accounts
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|a| a.uin != uin);
        if removed {
            tracing::info!(account = %mask(uin), "upload account removed");
            if let Some(record) = record {
                self.emit(AccountEvent::of(
                    EventKind::Removed,
                    &record,
                    self.clock.unix(),
                ))
                .await;
            }
        }
        Ok(removed)
    }

    /// What the keeper will do next for `account`, and when (unix seconds):
    /// its next key check or its next rotation, whichever comes first;
    /// nothing for an account out of use, which waits for its owner.
    pub fn next_action(&self, account: &Account) -> Option<(NextAction, i64)> {
        let record = account.snapshot();
        if record.health != Health::Healthy {
            return None;
        }
        let refresh_at = account
            .schedule
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .due_at(&record, self.settings.refresh_share);
        let every = i64::try_from(self.settings.key_check_interval.as_secs()).unwrap_or(i64::MAX);
        let check_at = record
            .last_check_at
            .map_or(i64::MIN, |at| at.saturating_add(every));
        Some(if check_at < refresh_at {
            (NextAction::Check, check_at.max(self.clock.unix()))
        } else {
            (NextAction::Refresh, refresh_at.max(self.clock.unix()))
        })
    }

    /// Accounts whose key should be refreshed now.
    pub fn due(&self) -> Vec<Arc<Account>> {
        let now = self.clock.unix();
        self.all()
            .into_iter()
            .filter(|a| {
                let record = a.snapshot();
                record.health == Health::Healthy
                    && a.schedule
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .is_due(&record, now, self.settings.refresh_share)
            })
            .collect()
    }
}

/// The keeper's next step for an account ([`AccountPool::next_action`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextAction {
    /// Ask whether the key is alive (no Login).
    Check,
    /// Rotate the key (one Login).
    Refresh,
}

impl NextAction {
    pub fn as_str(self) -> &'static str {
        match self {
            NextAction::Check => "check",
            NextAction::Refresh => "refresh",
        }
    }
}

/// Whether `stored` should stay rather than be replaced by a caller's
/// `cookie`: it is the same key, or a key made later. Every Login rotates the
/// key, so of two credentials of one account the one made last is the live
/// one; a tie, or a stored key of unknown age, goes to the caller, whose key
/// a Login has just proved.
fn holds_newer(stored: &StoredAccount, cookie: &Cookie) -> bool {
    stored.cred.key.expose() == cookie.key.expose()
        || stored.created_at.is_some_and(|t| t > cookie.created_at)
}

/// Identifies a config-file credential without keeping it.
fn fingerprint(cred: &Credential) -> String {
    let mut h = Sha256::new();
    for part in [
        cred.key.expose(),
        cred.refresh_key_str(),
        cred.refresh_token_str(),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::EventSink;

    /// Keeps what it is told, for the tests to read.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<AccountEvent>>);

    impl EventSink for Recorder {
        fn notify(&self, event: AccountEvent) {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(event);
        }
    }

    impl Recorder {
        fn kinds(&self) -> Vec<EventKind> {
            let events = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            events.iter().map(|e| e.kind).collect()
        }
    }

    #[tokio::test]
    async fn seeding_a_new_account_and_removing_it_are_each_told_once() {
        let dir = tempfile::tempdir().expect("dir");
        let settings = crate::config::Settings::default();
        let open = |events: Arc<Recorder>| {
            let store = crate::accounts::sqlite::SqliteStore::open(
                &dir.path().join("a.db"),
                crate::secrets::Sealer::new(None, "account-store"),
            )
            .expect("store");
            let upstream = crate::startup::upstream_client(&settings).expect("client");
            let cred = Credential::parse(Some("123456789"), Some("Q_H_L_seedtest"), None, None)
                .expect("cred");
            AccountPool::open_with_events(
                Arc::new(store),
                vec![cred],
                upstream,
                Arc::new(crate::clock::SystemClock),
                PoolSettings {
                    refresh_share: 0.3,
                    wait_limit: std::time::Duration::from_secs(1),
                    events_keep: 1_000,
                    key_check_interval: std::time::Duration::from_secs(3600),
                },
                Some(events as SharedSink),
            )
        };
        let first = Arc::new(Recorder::default());
        let pool = open(first.clone()).await.expect("opens");
        assert_eq!(first.kinds(), vec![EventKind::Added]);

        // A restart finds it stored: nothing new happened to it.
        let again = Arc::new(Recorder::default());
        let pool2 = open(again.clone()).await.expect("opens");
        drop(pool2);
        assert!(again.kinds().is_empty());

        let uin = Uin::from(123456789);
        assert!(pool.remove(uin).await.expect("removes"));
        assert!(!pool.remove(uin).await.expect("no such account"));
        assert!(pool.is_empty());
        assert_eq!(first.kinds(), vec![EventKind::Added, EventKind::Removed]);
    }

    fn cookie(key: &str, created_at: i64) -> Cookie {
        Cookie {
            uin: Uin::from(123456789),
            key: crate::domain::MusicKey::parse(key).expect("key"),
            refresh_key: None,
            refresh_token: None,
            created_at,
            expires_in: 259_200,
        }
    }

    /// A pool on `store`, as one server process holds it.
    async fn pool_on(store: Arc<dyn AccountStore>) -> AccountPool {
        let settings = crate::config::Settings::default();
        AccountPool::open_with_events(
            store,
            Vec::new(),
            crate::startup::upstream_client(&settings).expect("client"),
            Arc::new(crate::clock::SystemClock),
            PoolSettings {
                refresh_share: 0.3,
                wait_limit: std::time::Duration::from_secs(1),
                events_keep: 1_000,
                key_check_interval: std::time::Duration::from_secs(3600),
            },
            None,
        )
        .await
        .expect("pool")
    }

    fn sqlite(path: &std::path::Path) -> Arc<dyn AccountStore> {
        Arc::new(
            crate::accounts::sqlite::SqliteStore::open(
                path,
                crate::secrets::Sealer::new(Some("a long enough secret key"), "account-store"),
            )
            .expect("store"),
        )
    }

    /// What another process's rotation commits over `from`.
    fn rotated(from: &StoredAccount, key: &str, created_at: i64) -> StoredAccount {
        let mut next = from.clone();
        next.cred.key = crate::domain::MusicKey::parse(key).expect("key");
        next.previous = Some(from.cred.clone());
        next.created_at = Some(created_at);
        next.generation = from.generation + 1;
        next
    }

    fn key_of(a: &StoredAccount) -> &str {
        a.cred.key.expose()
    }

    async fn stored(pool: &AccountPool) -> StoredAccount {
        pool.store()
            .get(Uin::from(123456789))
            .await
            .expect("get")
            .expect("stored")
    }

    /// Two pools on one file, as a server and another server or the CLI: both
    /// hold `Q_H_L_first` (made at 1,000), then A rotates it to
    /// `Q_H_L_rotated` made at `rotated_at`, while B still holds generation 0.
    async fn two_pools_after_a_rotation(
        rotated_at: i64,
    ) -> (tempfile::TempDir, AccountPool, AccountPool) {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("a.db");
        let (a, b) = (pool_on(sqlite(&path)).await, pool_on(sqlite(&path)).await);
        a.save(&cookie("Q_H_L_first", 1_000)).await.expect("saved");
        b.sync().await.expect("sync");
        let first = stored(&a).await;
        assert!(a
            .store()
            .commit_rotation(&rotated(&first, "Q_H_L_rotated", rotated_at), 0)
            .await
            .expect("commit"));
        (dir, a, b)
    }

    #[tokio::test]
    async fn a_save_from_a_stale_copy_is_a_compare_and_set_past_the_other_pools_rotation_which_then_adopts_it(
    ) {
        let (_dir, a, b) = two_pools_after_a_rotation(2_000).await;

        b.save(&cookie("Q_H_L_saved", 3_000)).await.expect("saved");

        let now = stored(&a).await;
        assert_eq!(key_of(&now), "Q_H_L_saved");
        assert_eq!(now.generation, 2, "past the rotation, not beside it");
        assert_eq!(
            now.previous.as_ref().map(|p| p.key.expose()),
            Some("Q_H_L_rotated"),
            "the previous credential is the one the store held, not B's stale copy"
        );
        a.sync().await.expect("sync");
        assert_eq!(key_of(&a.all()[0].snapshot()), "Q_H_L_saved", "A adopts it");
        assert_eq!(key_of(&b.all()[0].snapshot()), "Q_H_L_saved");
    }

    #[tokio::test]
    async fn a_save_of_a_key_older_than_the_stored_one_keeps_the_stored_one_and_adopts_it() {
        let (_dir, a, b) = two_pools_after_a_rotation(5_000).await;

        // A caller's key made before that rotation's.
        b.save(&cookie("Q_H_L_older", 3_000)).await.expect("saved");

        let now = stored(&a).await;
        assert_eq!((key_of(&now), now.generation), ("Q_H_L_rotated", 1));
        assert_eq!(
            key_of(&b.all()[0].snapshot()),
            "Q_H_L_rotated",
            "B now uses the stored key"
        );
    }

    /// A store in which another writer commits `rotation` just before this
    /// process's first compare-and-set, which therefore loses.
    struct Interfering {
        inner: Arc<dyn AccountStore>,
        rotation: Mutex<Option<StoredAccount>>,
    }

    #[async_trait::async_trait]
    impl AccountStore for Interfering {
        async fn load(&self) -> Result<Loaded, StoreError> {
            self.inner.load().await
        }
        async fn get(&self, uin: Uin) -> Result<Option<StoredAccount>, StoreError> {
            self.inner.get(uin).await
        }
        async fn put(&self, account: &StoredAccount) -> Result<(), StoreError> {
            self.inner.put(account).await
        }
        async fn insert_new(&self, account: &StoredAccount) -> Result<bool, StoreError> {
            self.inner.insert_new(account).await
        }
        async fn commit_rotation(
            &self,
            account: &StoredAccount,
            expected: u64,
        ) -> Result<bool, StoreError> {
            let first = self
                .rotation
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(rotation) = first {
                let from = rotation.generation - 1;
                assert!(self.inner.commit_rotation(&rotation, from).await?);
            }
            self.inner.commit_rotation(account, expected).await
        }
        async fn record_outcome(
            &self,
            uin: Uin,
            at: i64,
            outcome: &str,
            health: Health,
        ) -> Result<(), StoreError> {
            self.inner.record_outcome(uin, at, outcome, health).await
        }
        async fn record_check(&self, uin: Uin, at: i64, outcome: &str) -> Result<(), StoreError> {
            self.inner.record_check(uin, at, outcome).await
        }
        async fn remove(&self, uin: Uin) -> Result<bool, StoreError> {
            self.inner.remove(uin).await
        }
        async fn append_event(
            &self,
            event: &crate::accounts::AccountEvent,
            keep: usize,
        ) -> Result<(), StoreError> {
            self.inner.append_event(event, keep).await
        }
        async fn recent_events(
            &self,
            limit: usize,
        ) -> Result<Vec<crate::accounts::AccountEvent>, StoreError> {
            self.inner.recent_events(limit).await
        }
        async fn insert_key(&self, key: &crate::accounts::ApiKeyRecord) -> Result<(), StoreError> {
            self.inner.insert_key(key).await
        }
        async fn keys(&self) -> Result<Vec<crate::accounts::ApiKeyRecord>, StoreError> {
            self.inner.keys().await
        }
        async fn key_by_hash(
            &self,
            hash: &crate::domain::ApiKeyHash,
        ) -> Result<Option<crate::accounts::ApiKeyRecord>, StoreError> {
            self.inner.key_by_hash(hash).await
        }
        async fn revoke_key(&self, id: &crate::domain::ApiKeyId) -> Result<bool, StoreError> {
            self.inner.revoke_key(id).await
        }
        async fn touch_keys(
            &self,
            used: &[(crate::domain::ApiKeyId, i64)],
        ) -> Result<(), StoreError> {
            self.inner.touch_keys(used).await
        }
        async fn ping(&self) -> Result<(), StoreError> {
            self.inner.ping().await
        }
        fn describe(&self) -> String {
            self.inner.describe()
        }
    }

    #[tokio::test]
    async fn a_save_that_loses_its_compare_and_set_reads_again_and_writes_past_the_winner() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("a.db");
        let plain = pool_on(sqlite(&path)).await;
        plain
            .save(&cookie("Q_H_L_first", 1_000))
            .await
            .expect("saved");
        let first = stored(&plain).await;
        let store = Arc::new(Interfering {
            inner: sqlite(&path),
            rotation: Mutex::new(Some(rotated(&first, "Q_H_L_rotated", 2_000))),
        });
        let pool = pool_on(store.clone()).await;

        pool.save(&cookie("Q_H_L_saved", 3_000))
            .await
            .expect("saved");

        let now = stored(&pool).await;
        assert_eq!((key_of(&now), now.generation), ("Q_H_L_saved", 2));
        assert_eq!(
            now.previous.as_ref().map(|p| p.key.expose()),
            Some("Q_H_L_rotated")
        );
        assert!(store
            .rotation
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none());
    }
}
