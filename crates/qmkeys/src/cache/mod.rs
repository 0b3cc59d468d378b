//! In-process caches with lifetimes measured on the service's [`Clock`].
//!
//! moka does the storage, the size bound and the coalescing of concurrent
//! loads; expiry is judged against our clock so tests can step over a lifetime
//! without sleeping. moka's own real-time TTL is set to the same lifetime so
//! memory is reclaimed even when nobody asks for an entry again.

mod key;

pub use key::{credential_bytes, CacheKey, CacheKeyer};

use crate::clock::SharedClock;
use chrono::{DateTime, Utc};
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

/// Where an answer came from, for callers that count or log it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Found in the cache.
    Hit,
    /// This caller ran the load.
    Loaded,
    /// Another caller was already loading the same key; this one waited for it.
    Coalesced,
}

#[derive(Clone)]
struct Stamped<V> {
    value: V,
    expires_at: DateTime<Utc>,
}

pub struct TtlCache<K, V> {
    inner: moka::future::Cache<K, Stamped<V>>,
    ttl: Duration,
    clock: SharedClock,
}

impl<K, V> TtlCache<K, V>
where
    K: Hash + Eq + Send + Sync + Clone + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub fn new(ttl: Duration, max_entries: u64, clock: SharedClock) -> Self {
        let inner = moka::future::Cache::builder()
            .max_capacity(max_entries)
            .time_to_live(ttl)
            .build();
        Self { inner, ttl, clock }
    }

    /// A live entry, or `None`; a stale entry is dropped on the way.
    pub async fn get(&self, key: &K) -> Option<V> {
        let stamped = self.inner.get(key).await?;
        if stamped.expires_at > self.clock.now() {
            Some(stamped.value)
        } else {
            self.inner.invalidate(key).await;
            None
        }
    }

    pub async fn invalidate(&self, key: &K) {
        self.inner.invalidate(key).await;
    }

    pub async fn insert(&self, key: K, value: V) {
        let expires_at = self.expiry();
        self.inner.insert(key, Stamped { value, expires_at }).await;
    }

    /// Returns the cached value, or runs the future `load` makes once for all
    /// concurrent callers of the same key. Errors are handed to every waiting
    /// caller and never cached.
    pub async fn get_or_load<E, F>(
        &self,
        key: K,
        load: impl FnOnce() -> F,
    ) -> Result<(V, Source), Arc<E>>
    where
        E: Send + Sync + 'static,
        F: Future<Output = Result<V, E>>,
    {
        let expires_at = self.expiry();
        self.get_or_load_until(key, || async move { load().await.map(|v| (v, expires_at)) })
            .await
    }

    /// As [`TtlCache::get_or_load`], for values that bring their own expiry
    /// (one read from a shared cache has already lived part of its life).
    ///
    /// `load` makes the future only on a miss, and it is boxed: loads (Login,
    /// Redis, retries) are state machines of kilobytes, and a future passed
    /// by value is copied whole at every step, on hits too.
    pub async fn get_or_load_until<E, F>(
        &self,
        key: K,
        load: impl FnOnce() -> F,
    ) -> Result<(V, Source), Arc<E>>
    where
        E: Send + Sync + 'static,
        F: Future<Output = Result<(V, DateTime<Utc>), E>>,
    {
        if let Some(value) = self.get(&key).await {
            return Ok((value, Source::Hit));
        }
        let load = Box::pin(load());
        let entry = self
            .inner
            .entry(key)
            .or_try_insert_with(async move {
                let (value, expires_at) = load.await?;
                Ok(Stamped { value, expires_at })
            })
            .await?;
        let source = if entry.is_fresh() {
            Source::Loaded
        } else {
            Source::Coalesced
        };
        Ok((entry.into_value().value, source))
    }

    /// When a value stored now would expire.
    pub fn expiry(&self) -> DateTime<Utc> {
        let ttl = chrono::Duration::from_std(self.ttl).unwrap_or(chrono::Duration::MAX);
        let now = self.clock.now();
        now.checked_add_signed(ttl).unwrap_or(now)
    }

    pub fn entry_count(&self) -> u64 {
        self.inner.entry_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn cache(clock: &ManualClock) -> TtlCache<u32, u32> {
        TtlCache::new(Duration::from_secs(60), 100, Arc::new(clock.clone()))
    }

    #[tokio::test]
    async fn entry_lives_exactly_its_lifetime_on_the_clock() {
        let clock = ManualClock::starting_now();
        let cache = cache(&clock);
        cache.insert(1, 10).await;
        clock.advance(Duration::from_secs(59));
        assert_eq!(cache.get(&1).await, Some(10));
        clock.advance(Duration::from_secs(1));
        assert_eq!(cache.get(&1).await, None);
    }

    #[tokio::test]
    async fn concurrent_loads_of_one_key_run_once() {
        let clock = ManualClock::starting_now();
        let cache = Arc::new(cache(&clock));
        let runs = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (cache, runs) = (cache.clone(), runs.clone());
                tokio::spawn(async move {
                    cache
                        .get_or_load(7, || async {
                            runs.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Ok::<_, ()>(70)
                        })
                        .await
                })
            })
            .collect();
        let mut sources = Vec::new();
        for task in tasks {
            let (value, source) = task.await.expect("task").expect("load");
            assert_eq!(value, 70);
            sources.push(source);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(sources.iter().filter(|s| **s == Source::Loaded).count(), 1);
    }

    #[tokio::test]
    async fn failures_are_not_cached() {
        let clock = ManualClock::starting_now();
        let cache = cache(&clock);
        let failed = cache
            .get_or_load(1, || async { Err::<u32, _>("boom") })
            .await;
        assert!(failed.is_err());
        let (value, source) = cache
            .get_or_load(1, || async { Ok::<_, &str>(5) })
            .await
            .expect("load");
        assert_eq!((value, source), (5, Source::Loaded));
        let (_, source) = cache
            .get_or_load(1, || async { Ok::<_, &str>(6) })
            .await
            .expect("hit");
        assert_eq!(source, Source::Hit);
    }
}
