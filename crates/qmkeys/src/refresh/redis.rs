//! The refresh caches and the one-Login-at-a-time rule across instances.
//!
//! A cached cookie is sealed with a key derived from the credential the caller
//! sent (HKDF, with the server secret as salt): only a caller holding that
//! credential can open it, and a dump of Redis yields no usable key. Cache
//! keys are keyed hashes, never raw keys or uins.

use super::{Cookie, COOKIE_TTL};
use crate::cache::{credential_bytes, CacheKey, CacheKeyer};
use crate::domain::{Credential, Uin};
use crate::redis::{Lease, Redis, RedisError, PREFIX};
use crate::secrets::{SealError, Sealer};
use crate::upstream::{LoginGrant, VipStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

pub struct RedisRefresh {
    redis: Redis,
    keyer: CacheKeyer,
}

/// What became of a Login's result offered to the shared cache.
#[derive(Debug, PartialEq, Eq)]
pub enum Stored {
    /// Written, or Redis failed (best effort: the local cache still answers).
    Done,
    /// This instance's lease lapsed and another took it: its result wins.
    Refused,
}

/// A cached cookie in Login's own answer shape, read back through the same
/// parser and checks as the answer (docs/protocol.md section 3).
#[derive(Serialize, Deserialize)]
struct CookieBlob {
    login: Value,
    /// Unix seconds on the writer's clock: the entry's end.
    valid_until: i64,
}

/// Cached membership in vip_login_base's answer shape (docs/protocol.md section 4).
#[derive(Serialize, Deserialize)]
struct InfoBlob {
    vip: Value,
    valid_until: i64,
}

/// A Redis entry that failed its checks is a miss; the warning says what
/// failed, never the value.
fn refuse<T>(cache: &str, what: &str) -> Option<T> {
    tracing::warn!(
        cache,
        problem = what,
        "an entry read back from Redis failed its checks; treated as a cache miss"
    );
    None
}

impl RedisRefresh {
    pub fn new(redis: Redis, keyer: CacheKeyer) -> Self {
        Self { redis, keyer }
    }

    fn sealer(&self, cred: &Credential) -> Sealer {
        Sealer::derived(&credential_bytes(cred), &self.keyer.salt(), "cookie cache")
    }

    fn cookie_key(key: &CacheKey) -> String {
        format!("{PREFIX}cookie:{}", hex::encode(key))
    }

    /// A live cookie another instance cached for this very credential.
    pub async fn cookie(
        &self,
        key: &CacheKey,
        cred: &Credential,
        now: i64,
    ) -> Result<Option<(Cookie, i64)>, RedisError> {
        let Some(sealed) = self.redis.get(&Self::cookie_key(key)).await? else {
            return Ok(None);
        };
        Ok(self.read_cookie(key, cred, now, &sealed))
    }

    fn read_cookie(
        &self,
        key: &CacheKey,
        cred: &Credential,
        now: i64,
        sealed: &str,
    ) -> Option<(Cookie, i64)> {
        let json = match self.sealer(cred).open(&hex::encode(key), sealed) {
            Ok(json) => json,
            Err(SealError::Unsealed) => return refuse("cookie", "the entry is not encrypted"),
            // Sealed for another credential: not this caller's entry, a plain miss.
            Err(_) => return None,
        };
        let Ok(blob) = serde_json::from_str::<CookieBlob>(&json) else {
            return refuse("cookie", "the entry is not a cached Login answer");
        };
        if blob.valid_until <= now {
            return None;
        }
        let grant = match LoginGrant::from_data(&blob.login) {
            Ok(grant) => grant,
            Err(e) => return refuse("cookie", &e.to_string()),
        };
        match Cookie::from_grant(cred, grant, now) {
            Ok(cookie) => Some((cookie, blob.valid_until)),
            Err(e) => refuse("cookie", &e.to_string()),
        }
    }

    /// Stores a Login's result, only while `lease` (taken for that Login)
    /// is still this instance's.
    pub async fn store_cookie(
        &self,
        key: &CacheKey,
        cred: &Credential,
        cookie: &Cookie,
        valid_until: DateTime<Utc>,
        lease: &Lease,
    ) -> Stored {
        let blob = CookieBlob {
            login: cookie.to_login_data(),
            valid_until: valid_until.timestamp(),
        };
        let Ok(json) = serde_json::to_string(&blob) else {
            return Stored::Done;
        };
        let sealed = self.sealer(cred).seal(&hex::encode(key), &json);
        let written = self
            .redis
            .set_fenced(lease, &Self::cookie_key(key), &sealed, COOKIE_TTL)
            .await;
        match written {
            Ok(false) => Stored::Refused,
            Ok(true) | Err(_) => Stored::Done,
        }
    }

    /// The right to make the one Login for this credential across instances,
    /// held by a heartbeat until released or dropped.
    pub async fn lead(&self, key: &CacheKey) -> Result<Option<Lease>, RedisError> {
        self.redis
            .try_lease(
                &format!("{PREFIX}lease:cookie:{}", hex::encode(key)),
                "cookie",
            )
            .await
    }

    fn info_key(&self, uin: Uin) -> String {
        format!(
            "{PREFIX}info:{}",
            hex::encode(self.keyer.hash(&uin.get().to_be_bytes()))
        )
    }

    pub async fn info(&self, uin: Uin, now: i64) -> Result<Option<(VipStatus, i64)>, RedisError> {
        let Some(json) = self.redis.get(&self.info_key(uin)).await? else {
            return Ok(None);
        };
        let Ok(blob) = serde_json::from_str::<InfoBlob>(&json) else {
            return Ok(refuse(
                "info",
                "the entry is not a cached vip_login_base answer",
            ));
        };
        if blob.valid_until <= now {
            return Ok(None);
        }
        Ok(Some((VipStatus::from_data(&blob.vip), blob.valid_until)))
    }

    pub async fn store_info(
        &self,
        uin: Uin,
        info: &VipStatus,
        valid_until: DateTime<Utc>,
        ttl: Duration,
    ) {
        let blob = InfoBlob {
            vip: info.to_data(),
            valid_until: valid_until.timestamp(),
        };
        if let Ok(json) = serde_json::to_string(&blob) {
            let _ = self.redis.set_for(&self.info_key(uin), &json, ttl).await;
        }
    }
}
