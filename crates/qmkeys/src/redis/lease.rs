//! Heartbeat leases: the right to do one piece of work (a Login) for all
//! instances sharing Redis.
//!
//! A lease lives a few seconds and its holder renews it every third of that
//! while the work runs, so a holder that dies (SIGKILL, a lost host) frees it
//! within one TTL instead of after the longest the work could take. It is
//! released as soon as the work ends, when the holding task is dropped, and at
//! shutdown.
//!
//! Next to the lease key, `<key>:last` names the latest holder's token. A clean
//! release deletes both, so a taker that still finds `last` knows the holder
//! let the lease lapse (a takeover). It also fences writes: a holder may write
//! its result only while the lease is still its own (or lapsed with nobody
//! taking it since); once another instance took it, the late write is refused.

use super::{Redis, RedisError};
use ::redis::Script;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

/// How long a lease lives without a heartbeat: a dead holder blocks others
/// for at most this long.
pub const LEASE_TTL: Duration = Duration::from_secs(5);

/// How long `last` outlives a lapsed lease: long enough to see the takeover
/// and to refuse the stalled holder's late write.
const LAST_FACTOR: u32 = 12;

/// Takes the lease if free: 0 when held, 1 taken, 2 taken from a holder that
/// let it lapse.
const TAKE: &str =
    "if not redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end \
    local prev = redis.call('get', KEYS[2]) \
    redis.call('set', KEYS[2], ARGV[1], 'PX', ARGV[3]) \
    if prev then return 2 end return 1";

/// Whether the lease is still `ARGV[1]`'s: held by it, or lapsed with nobody
/// having taken it since. Prefixed to every fenced script.
pub(crate) const STILL_OURS: &str = "local cur = redis.call('get', KEYS[1]) \
    local ours = cur == ARGV[1] or (not cur and redis.call('get', KEYS[2]) == ARGV[1]) ";

const RENEW: &str = "if not ours then return 0 end \
    redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) \
    redis.call('set', KEYS[2], ARGV[1], 'PX', ARGV[3]) return 1";

const RELEASE: &str =
    "if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]) end \
    if redis.call('get', KEYS[2]) == ARGV[1] then redis.call('del', KEYS[2]) end return 1";

const SET_FENCED: &str = "if not ours then return 0 end \
    redis.call('set', KEYS[3], ARGV[2], 'PX', ARGV[3]) return 1";

static TAKE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(TAKE));
static RENEW_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| Script::new(&format!("{STILL_OURS}{RENEW}")));
static RELEASE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(RELEASE));
static SET_FENCED_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| Script::new(&format!("{STILL_OURS}{SET_FENCED}")));

/// Leases this process holds, so shutdown can release them all.
pub(crate) type Held = Arc<Mutex<HashMap<String, String>>>;

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// A lease, released when dropped. `Lease::local()` stands for "no sharing".
#[derive(Debug)]
pub struct Lease {
    redis: Option<RedisLease>,
}

#[derive(Debug)]
struct RedisLease {
    redis: Redis,
    key: String,
    token: String,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl Lease {
    /// A lease that needs no releasing: for stores used by one process.
    pub fn local() -> Self {
        Self { redis: None }
    }

    /// Releases the lease now, if it is still ours.
    pub async fn release(mut self) {
        if let Some(lease) = self.redis.take() {
            lease.heartbeat.abort();
            lease.redis.release_key(&lease.key, &lease.token).await;
        }
    }

    /// The lease key and token, for scripts that write only while it is ours.
    pub(crate) fn fence(&self) -> Option<(&str, &str)> {
        self.redis
            .as_ref()
            .map(|l| (l.key.as_str(), l.token.as_str()))
    }
}

impl Drop for Lease {
    /// A dropped task (a caller gone, the server stopping) frees the lease at
    /// once rather than after the TTL.
    fn drop(&mut self) {
        let Some(lease) = self.redis.take() else {
            return;
        };
        lease.heartbeat.abort();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { lease.redis.release_key(&lease.key, &lease.token).await });
        }
    }
}

pub(crate) fn last_key(key: &str) -> String {
    format!("{key}:last")
}

impl Redis {
    /// Takes the lease `key` if nobody holds it, and keeps it alive until it
    /// is released or dropped. `scope` names it in the takeover metric.
    pub async fn try_lease(
        &self,
        key: &str,
        scope: &'static str,
    ) -> Result<Option<Lease>, RedisError> {
        let token = hex::encode(rand::random::<[u8; 16]>());
        let ttl = LEASE_TTL;
        let (k, t) = (key.to_owned(), token.clone());
        let taken: i64 = self
            .run(|mut c| async move {
                TAKE_SCRIPT
                    .key(&k)
                    .key(last_key(&k))
                    .arg(t)
                    .arg(millis(ttl))
                    .arg(millis(ttl * LAST_FACTOR))
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        if taken == 0 {
            return Ok(None);
        }
        if taken == 2 {
            tracing::info!(
                scope,
                "took over a lease whose holder let it lapse (it stopped or died)"
            );
            if let Some(m) = &self.metrics {
                m.lease_takeovers.with_label_values(&[scope]).inc();
            }
        }
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.to_owned(), token.clone());
        let heartbeat = tokio::spawn(heartbeat(self.clone(), key.to_owned(), token.clone()));
        Ok(Some(Lease {
            redis: Some(RedisLease {
                redis: self.clone(),
                key: key.to_owned(),
                token,
                heartbeat,
            }),
        }))
    }

    /// Writes `value` at `key` for `ttl` only while `lease` is still ours.
    /// `Ok(false)`: the lease lapsed and another instance took it; nothing written.
    pub async fn set_fenced(
        &self,
        lease: &Lease,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<bool, RedisError> {
        let Some((lease_key, token)) = lease.fence() else {
            return self.set_for(key, value, ttl).await.map(|()| true);
        };
        let (lk, t, k, v) = (
            lease_key.to_owned(),
            token.to_owned(),
            key.to_owned(),
            value.to_owned(),
        );
        let done: i64 = self
            .run(|mut c| async move {
                SET_FENCED_SCRIPT
                    .key(&lk)
                    .key(last_key(&lk))
                    .key(k)
                    .arg(t)
                    .arg(v)
                    .arg(millis(ttl))
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(done == 1)
    }

    /// Releases every lease this process still holds: the last step of a
    /// graceful shutdown, so other instances need not wait out the TTL.
    pub async fn release_all(&self) {
        let held: Vec<(String, String)> = self
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
            .collect();
        for (key, token) in held {
            self.release_key(&key, &token).await;
        }
    }

    async fn release_key(&self, key: &str, token: &str) {
        {
            let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
            if held.get(key).is_some_and(|t| t == token) {
                held.remove(key);
            }
        }
        let (k, t) = (key.to_owned(), token.to_owned());
        let _ = self
            .run(|mut c| async move {
                RELEASE_SCRIPT
                    .key(&k)
                    .key(last_key(&k))
                    .arg(t)
                    .invoke_async::<i64>(&mut c)
                    .await
            })
            .await;
    }
}

/// Renews the lease every third of its TTL until aborted, or until it turns
/// out another instance took it (this holder stalled past the TTL).
async fn heartbeat(redis: Redis, key: String, token: String) {
    let ttl = LEASE_TTL;
    let mut every = tokio::time::interval(ttl / 3);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        every.tick().await;
        let (k, t) = (key.clone(), token.clone());
        let renewed = redis
            .run(|mut c| async move {
                RENEW_SCRIPT
                    .key(&k)
                    .key(last_key(&k))
                    .arg(t)
                    .arg(millis(ttl))
                    .arg(millis(ttl * LAST_FACTOR))
                    .invoke_async::<i64>(&mut c)
                    .await
            })
            .await;
        // A failed call is retried on the next beat; the TTL bounds an outage.
        if let Ok(0) = renewed {
            tracing::warn!(
                "lease lapsed before its renewal and another instance took it; this one's result will not be stored"
            );
            return;
        }
    }
}
