//! Caller keys (`require_api_key`): the [`Caller`] extractor on the refresh,
//! check, sign and login routes, and [`CallerKeys`], which looks a presented
//! secret up through a small cache, holds each key to its own rate limit and
//! writes last-used times behind the requests.
//!
//! With the setting off, `AppState::keys` is `None` and [`Caller`] returns at
//! once: no lookup, no allocation on the hot path.

use super::admin::carries_admin_token;
use super::error::ApiError;
use super::AppState;
use crate::accounts::{AccountStore, ApiKeyRecord, StoreError};
use crate::clock::SharedClock;
use crate::domain::{looks_like_secret, ApiKeyHash, ApiKeyId};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The header a caller sends its key in.
pub const HEADER: &str = "x-api-key";
/// The query parameter, for tools that cannot set headers and for the
/// page's EventSource.
pub const PARAM: &str = "api_key";

/// How long a lookup is believed: another instance's revocation takes
/// effect here within this long (this instance's at once).
pub const CACHE_TTL: Duration = Duration::from_secs(5);
/// A key's last-used time is written at most this often (seconds).
pub const WRITE_BEHIND_SECS: i64 = 60;

/// What one key holds on this instance, kept across cache refreshes.
struct KeyState {
    id: ApiKeyId,
    limiter: DefaultDirectRateLimiter,
    /// Unix seconds of the last-used time last written (or read) from the store.
    written: AtomicI64,
    revoked: AtomicBool,
}

pub struct CallerKeys {
    store: Arc<dyn AccountStore>,
    clock: SharedClock,
    /// The secret's hash to its key, or to none: unknown secrets are
    /// remembered too, so a caller retrying a bad key does not reach the store.
    cache: moka::future::Cache<ApiKeyHash, Option<Arc<KeyState>>>,
    states: Mutex<HashMap<ApiKeyId, Arc<KeyState>>>,
}

impl CallerKeys {
    pub fn new(store: Arc<dyn AccountStore>, clock: SharedClock) -> Self {
        Self {
            store,
            clock,
            cache: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(CACHE_TTL)
                .build(),
            states: Mutex::new(HashMap::new()),
        }
    }

    /// Lets a presented secret through, or says why not.
    async fn admit(&self, secret: &str) -> Result<(), ApiError> {
        if !looks_like_secret(secret) {
            return Err(ApiError::ApiKeyRefused);
        }
        let hash = ApiKeyHash::of(secret);
        let state = self
            .cache
            .try_get_with(hash.clone(), self.load(hash))
            .await
            // The error is the store's; it never holds the secret.
            .map_err(|e| ApiError::StoreRead(StoreError::Backend(e.to_string())))?;
        let state = state
            .filter(|s| !s.revoked.load(Ordering::Relaxed))
            .ok_or(ApiError::ApiKeyRefused)?;
        state.limiter.check().map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::RateLimited {
                retry_after: u32::try_from(wait.as_secs())
                    .unwrap_or(u32::MAX)
                    .saturating_add(1),
            }
        })?;
        self.used(&state);
        Ok(())
    }

    async fn load(&self, hash: ApiKeyHash) -> Result<Option<Arc<KeyState>>, StoreError> {
        Ok(self
            .store
            .key_by_hash(&hash)
            .await?
            .map(|k| self.state_of(&k)))
    }

    fn state_of(&self, key: &ApiKeyRecord) -> Arc<KeyState> {
        let mut states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
        states
            .entry(key.id.clone())
            .or_insert_with(|| {
                let rate = NonZeroU32::new(key.rate_limit).unwrap_or(NonZeroU32::MIN);
                Arc::new(KeyState {
                    id: key.id.clone(),
                    limiter: RateLimiter::direct(Quota::per_minute(rate)),
                    written: AtomicI64::new(key.last_used_at.unwrap_or(i64::MIN)),
                    revoked: AtomicBool::new(false),
                })
            })
            .clone()
    }

    /// Writes the last-used time behind the request, at most once a minute
    /// per key; the request never waits for it.
    fn used(&self, state: &KeyState) {
        let now = self.clock.now().timestamp();
        let written = state.written.load(Ordering::Relaxed);
        if now.saturating_sub(written) < WRITE_BEHIND_SECS
            || state
                .written
                .compare_exchange(written, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let store = self.store.clone();
        let used = [(state.id.clone(), now)];
        tokio::spawn(async move {
            if let Err(e) = store.touch_keys(&used).await {
                tracing::warn!(key = %used[0].0, error = %e, "could not write a caller key's last use");
            }
        });
    }

    /// After a revocation here: refused on this instance from now on.
    pub fn forget(&self, id: &ApiKeyId) {
        let state = self
            .states
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
        if let Some(state) = state {
            state.revoked.store(true, Ordering::Relaxed);
        }
        self.cache.invalidate_all();
    }
}

/// Proof that a request may use the keyed routes: always, when the server
/// wants no key; otherwise with a live key (or the admin token).
pub struct Caller;

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(keys) = &state.keys else {
            return Ok(Caller);
        };
        if let Some(secret) = presented(parts) {
            return keys.admit(&secret).await.map(|()| Caller);
        }
        // The owner's console calls these routes with its token.
        if carries_admin_token(parts.headers.get(AUTHORIZATION), state) {
            return Ok(Caller);
        }
        Err(ApiError::ApiKeyMissing)
    }
}

/// The header's key, else the query's; an empty one counts as none.
fn presented(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(HEADER) {
        return Some(value.to_str().unwrap_or_default().trim().to_owned())
            .filter(|v| !v.is_empty());
    }
    form_urlencoded::parse(parts.uri.query()?.as_bytes())
        .find(|(name, _)| name == PARAM)
        .map(|(_, value)| value.into_owned())
        .filter(|v| !v.is_empty())
}
