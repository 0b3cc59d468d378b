//! Refreshing a caller's musickey: one Login per credential per minute, at most one
//! in flight, then the account's VIP state (cached per account for 30 minutes).

mod check;
mod redis;

pub use check::Checked;
pub use redis::RedisRefresh;
use redis::Stored;

use crate::cache::{CacheKey, CacheKeyer, Source, TtlCache};
use crate::clock::SharedClock;
pub use crate::domain::Cookie;
use crate::domain::{Credential, Uin};
use crate::upstream::{UpstreamClient, UpstreamError, VipStatus};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

/// As the public API caches them: cookies 1 minute, membership 30 minutes.
pub const COOKIE_TTL: Duration = Duration::from_secs(60);
pub const INFO_TTL: Duration = Duration::from_secs(30 * 60);

#[derive(Debug, Clone)]
pub struct Refreshed {
    pub cookie: Arc<Cookie>,
    /// `None` when upstream would not tell; the new key is never withheld for it.
    pub info: Option<VipStatus>,
}

pub struct RefreshService {
    upstream: UpstreamClient,
    cookies: TtlCache<CacheKey, Arc<Cookie>>,
    infos: TtlCache<Uin, VipStatus>,
    keyer: CacheKeyer,
    clock: SharedClock,
    /// Redis, when several instances share caches and the Login rule.
    redis: Option<RedisRefresh>,
    /// How long to wait for another instance's Login before giving up.
    wait_limit: Duration,
    metrics: Option<Arc<crate::metrics::Metrics>>,
}

impl RefreshService {
    pub fn new(
        upstream: UpstreamClient,
        keyer: CacheKeyer,
        max_entries: u64,
        clock: SharedClock,
    ) -> Self {
        Self {
            upstream,
            cookies: TtlCache::new(COOKIE_TTL, max_entries, clock.clone()),
            infos: TtlCache::new(INFO_TTL, max_entries, clock.clone()),
            keyer,
            clock,
            redis: None,
            wait_limit: Duration::from_secs(15),
            metrics: None,
        }
    }

    /// Counts cache results and coalesced refreshes in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    fn count(&self, cache: &str, source: Source) {
        let Some(m) = &self.metrics else { return };
        let result = match source {
            Source::Hit => "hit",
            Source::Loaded => "miss",
            Source::Coalesced => "coalesced",
        };
        m.cache.with_label_values(&[cache, result]).inc();
        if cache == "cookie" && source == Source::Coalesced {
            m.coalesced.with_label_values(&["local"]).inc();
        }
    }

    /// Shares the caches and the one-Login rule through Redis; `wait_limit`
    /// bounds how long a request waits for another instance's Login.
    pub fn with_redis(mut self, redis: RedisRefresh, wait_limit: Duration) -> Self {
        self.redis = Some(redis);
        self.wait_limit = wait_limit;
        self
    }

    pub async fn refresh(&self, cred: &Credential) -> Result<Refreshed, UpstreamError> {
        let key = self.keyer.key_for(cred);
        // Locally one load per credential; across instances, see `load_cookie`.
        let (cookie, source) = self
            .cookies
            .get_or_load_until(key, || self.load_cookie(key, cred))
            .await
            .map_err(|err| (*err).clone())?;
        self.count("cookie", source);
        // Only reached once this caller's own credential has proved good.
        let info = self.membership(&cookie).await;
        Ok(Refreshed { cookie, info })
    }

    /// The membership of a proven key's account, cached per account for 30
    /// minutes; `None` when upstream would not tell, since the key has
    /// already rotated and failing the request would lose it.
    pub async fn membership(&self, cookie: &Cookie) -> Option<VipStatus> {
        match self
            .infos
            .get_or_load_until(cookie.uin, || self.load_info(cookie))
            .await
        {
            Ok((info, info_source)) => {
                self.count("info", info_source);
                Some(info)
            }
            Err(err) => {
                tracing::warn!(error = %err, "VIP status unavailable; answering without info");
                None
            }
        }
    }

    /// The cookie for `cred`: from the shared cache, or from a Login that only
    /// one instance makes while the others wait for its result. Without Redis
    /// (or while it is down) this instance logs in by itself.
    async fn load_cookie(
        &self,
        key: CacheKey,
        cred: &Credential,
    ) -> Result<(Arc<Cookie>, DateTime<Utc>), UpstreamError> {
        let Some(redis) = &self.redis else {
            return self.login_local(cred).await;
        };
        let deadline = tokio::time::Instant::now() + self.wait_limit;
        let mut waited = false;
        // A result this instance got under a lease that lapsed before it was
        // stored: another instance's result wins, and this one is the fallback.
        let mut own: Option<(Arc<Cookie>, DateTime<Utc>)> = None;
        loop {
            match redis.cookie(&key, cred, self.clock.unix()).await {
                Ok(Some((cookie, until))) => return Ok((Arc::new(cookie), at(until))),
                Ok(None) => {}
                Err(_) => return self.fallback(own, cred).await,
            }
            match redis.lead(&key).await {
                Ok(Some(lease)) => {
                    // The previous leader may have finished between our read and our lease.
                    let cached = redis.cookie(&key, cred, self.clock.unix()).await;
                    let result = match (cached, own.take()) {
                        (Ok(Some((cookie, until))), _) => Ok((Arc::new(cookie), at(until))),
                        (_, Some(mine)) => Ok(mine),
                        _ => self.login_local(cred).await,
                    };
                    if let Ok((cookie, until)) = &result {
                        let stored = redis.store_cookie(&key, cred, cookie, *until, &lease).await;
                        if stored == Stored::Refused {
                            tracing::warn!("Login lease lapsed before the result was stored: write refused; using the result of the instance that took over");
                            own = Some((cookie.clone(), *until));
                            lease.release().await;
                            continue;
                        }
                    }
                    lease.release().await;
                    return result;
                }
                Ok(None) if tokio::time::Instant::now() < deadline => {
                    if !waited {
                        waited = true;
                        if let Some(m) = &self.metrics {
                            m.coalesced.with_label_values(&["shared"]).inc();
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                // Another instance is still logging in: do not rotate the key a second time.
                Ok(None) => return own.ok_or(UpstreamError::LeaseBusy),
                Err(_) => return self.fallback(own, cred).await,
            }
        }
    }

    /// Without Redis: the result already in hand, or a Login of our own.
    async fn fallback(
        &self,
        own: Option<(Arc<Cookie>, DateTime<Utc>)>,
        cred: &Credential,
    ) -> Result<(Arc<Cookie>, DateTime<Utc>), UpstreamError> {
        match own {
            Some(mine) => Ok(mine),
            None => self.login_local(cred).await,
        }
    }

    async fn login_local(
        &self,
        cred: &Credential,
    ) -> Result<(Arc<Cookie>, DateTime<Utc>), UpstreamError> {
        let cookie = self.login(cred).await?;
        Ok((cookie, self.cookies.expiry()))
    }

    async fn load_info(
        &self,
        cookie: &Cookie,
    ) -> Result<(VipStatus, DateTime<Utc>), UpstreamError> {
        if let Some(redis) = &self.redis {
            if let Ok(Some((info, until))) = redis.info(cookie.uin, self.clock.unix()).await {
                return Ok((info, at(until)));
            }
        }
        let info = self.upstream.vip_status(cookie.uin, &cookie.key).await?;
        let until = self.infos.expiry();
        if let Some(redis) = &self.redis {
            redis.store_info(cookie.uin, &info, until, INFO_TTL).await;
        }
        Ok((info, until))
    }

    async fn login(&self, cred: &Credential) -> Result<Arc<Cookie>, UpstreamError> {
        let grant = self.upstream.login(cred).await?;
        let cookie = Cookie::from_grant(cred, grant, self.clock.unix())?;
        tracing::info!(kind = cred.kind().as_str(), "musickey refreshed");
        Ok(Arc::new(cookie))
    }
}

fn at(unix: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(unix, 0).unwrap_or_default()
}
