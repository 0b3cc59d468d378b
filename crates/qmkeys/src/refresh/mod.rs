//! Refreshing a caller's musickey: one Login per credential per minute, at most one
//! in flight, then the account's VIP state (cached per account for 30 minutes).

mod cache_key;

pub use cache_key::{CacheKey, CacheKeyer};

use crate::cache::{Source, TtlCache};
use crate::clock::SharedClock;
use crate::domain::{Credential, MusicKey, RefreshSecret, Uin};
use crate::upstream::{UpstreamClient, UpstreamError, VipStatus};
use std::sync::Arc;
use std::time::Duration;

/// The seed: "cookie的值缓存1分钟，info的值缓存30分钟".
pub const COOKIE_TTL: Duration = Duration::from_secs(60);
pub const INFO_TTL: Duration = Duration::from_secs(30 * 60);

/// The rotated credential a refresh produced.
#[derive(Debug, Clone)]
pub struct Cookie {
    pub uin: Uin,
    pub key: MusicKey,
    pub refresh_key: Option<RefreshSecret>,
    pub refresh_token: Option<RefreshSecret>,
    /// Unix seconds.
    pub created_at: i64,
    /// Seconds.
    pub expires_in: i64,
}

impl Cookie {
    pub fn expires_at(&self) -> i64 {
        self.created_at.saturating_add(self.expires_in)
    }
}

#[derive(Debug, Clone)]
pub struct Refreshed {
    pub cookie: Arc<Cookie>,
    /// `None` when upstream would not tell; the new key is never withheld for it.
    pub info: Option<VipStatus>,
    pub source: Source,
}

pub struct RefreshService {
    upstream: UpstreamClient,
    cookies: TtlCache<CacheKey, Arc<Cookie>>,
    infos: TtlCache<Uin, VipStatus>,
    keyer: CacheKeyer,
    clock: SharedClock,
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
        }
    }

    pub async fn refresh(&self, cred: &Credential) -> Result<Refreshed, UpstreamError> {
        let (cookie, source) = self
            .cookies
            .get_or_load(self.keyer.key_for(cred), self.login(cred))
            .await
            .map_err(|err| (*err).clone())?;
        // Only reached once this caller's own credential has proved good.
        let info = match self
            .infos
            .get_or_load(
                cookie.uin,
                self.upstream.vip_status(cookie.uin, &cookie.key),
            )
            .await
        {
            Ok((info, _)) => Some(info),
            Err(err) => {
                // The key has already rotated; failing the request would lose it.
                tracing::warn!(error = %err, "VIP status unavailable; answering without info");
                None
            }
        };
        Ok(Refreshed {
            cookie,
            info,
            source,
        })
    }

    async fn login(&self, cred: &Credential) -> Result<Arc<Cookie>, UpstreamError> {
        let grant = self.upstream.login(cred).await?;
        if grant.account.is_some_and(|id| id != cred.uin.get()) {
            return Err(UpstreamError::Unreadable(
                "Login answered for another account",
            ));
        }
        if grant.key.kind() != cred.kind() {
            return Err(UpstreamError::Unreadable(
                "Login answered a key of another account kind",
            ));
        }
        tracing::info!(kind = cred.kind().as_str(), "musickey refreshed");
        Ok(Arc::new(Cookie {
            uin: cred.uin,
            key: grant.key,
            refresh_key: grant.refresh_key,
            refresh_token: grant.refresh_token,
            created_at: grant.created_at.unwrap_or_else(|| self.clock.unix()),
            expires_in: grant.expires_in,
        }))
    }

    pub fn cached_cookies(&self) -> u64 {
        self.cookies.entry_count()
    }
}
