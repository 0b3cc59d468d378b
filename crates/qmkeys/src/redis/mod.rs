//! State shared by several qmkeys instances through Redis: caches, leases (see
//! `lease.rs`) and (in `accounts::redis_store`) the account store.
//!
//! Every call has a bounded wait. When Redis is unreachable or slow, callers
//! fall back to their local behaviour; the outage is logged once, and the
//! connection comes back by itself.

mod lease;

pub(crate) use lease::{last_key, STILL_OURS};
pub use lease::{Lease, LEASE_TTL};

use ::redis::aio::ConnectionManager;
use ::redis::{AsyncCommands, Client};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Every key qmkeys writes starts with this, so one Redis can serve other apps.
pub const PREFIX: &str = "qmkeys:v1:";

#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    #[error("Redis did not answer in time")]
    Timeout,
    #[error("Redis failed: {0}")]
    Redis(String),
}

#[derive(Clone)]
pub struct Redis {
    conn: ConnectionManager,
    timeout: Duration,
    degraded: Arc<AtomicBool>,
    /// Leases this process holds, released together at shutdown.
    held: lease::Held,
    metrics: Option<Arc<crate::metrics::Metrics>>,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: never print it.
        f.debug_struct("Redis")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Redis {
    /// Connects lazily: an unreachable Redis at start is an outage, not a
    /// startup failure.
    pub fn connect(url: &str, timeout: Duration) -> Result<Self, RedisError> {
        let client = Client::open(url).map_err(|e| RedisError::Redis(redact(&e)))?;
        let config = ::redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| RedisError::Redis(redact(&e)))?;
        Ok(Self {
            conn,
            timeout,
            degraded: Arc::new(AtomicBool::new(false)),
            held: lease::Held::default(),
            metrics: None,
        })
    }

    /// Counts lease takeovers in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Whether the last call failed: for readiness reports.
    pub fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    /// Runs one Redis call with the bounded wait and outage bookkeeping.
    pub async fn run<T, F, Fut>(&self, call: F) -> Result<T, RedisError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = ::redis::RedisResult<T>>,
    {
        let result = match tokio::time::timeout(self.timeout, call(self.conn.clone())).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(RedisError::Redis(redact(&e))),
            Err(_) => Err(RedisError::Timeout),
        };
        match &result {
            Ok(_) => {
                if self.degraded.swap(false, Ordering::Relaxed) {
                    tracing::info!("Redis is reachable again: sharing resumed");
                }
            }
            Err(err) => {
                if !self.degraded.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %err, "Redis unreachable: falling back to this instance's own caches and locks");
                }
            }
        }
        result
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>, RedisError> {
        let key = key.to_owned();
        self.run(|mut c| async move { c.get(key).await }).await
    }

    pub async fn set_for(&self, key: &str, value: &str, ttl: Duration) -> Result<(), RedisError> {
        let (key, value) = (key.to_owned(), value.to_owned());
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        self.run(|mut c| async move { c.pset_ex(key, value, ms).await })
            .await
    }
}

/// Redis errors can quote the connection URL, which can hold a password.
fn redact(e: &::redis::RedisError) -> String {
    let text = e.to_string();
    match text.find("redis://").or_else(|| text.find("rediss://")) {
        Some(at) => format!("{}[url redacted]", &text[..at]),
        None => text,
    }
}
