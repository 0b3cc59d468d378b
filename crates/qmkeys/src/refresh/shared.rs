//! The refresh caches and the one-Login-at-a-time rule across instances.
//!
//! A cached cookie is sealed with a key derived from the credential the caller
//! sent (HKDF, with the server secret as salt): only a caller holding that
//! credential can open it, and a dump of Redis yields no usable key. Cache
//! keys are keyed hashes, never raw keys or uins.

use super::cache_key::{credential_bytes, CacheKey, CacheKeyer};
use super::{Cookie, COOKIE_TTL};
use crate::domain::{Credential, MusicKey, RefreshSecret, Uin};
use crate::secrets::Sealer;
use crate::shared::{Lease, Redis, SharedError, PREFIX};
use crate::upstream::VipStatus;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub struct SharedRefresh {
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

#[derive(Serialize, Deserialize)]
struct CookieBlob {
    uin: u64,
    key: String,
    refresh_key: String,
    refresh_token: String,
    created_at: i64,
    expires_in: i64,
    /// Unix seconds on the writer's clock: the entry's end.
    valid_until: i64,
}

#[derive(Serialize, Deserialize)]
struct InfoBlob {
    vip: bool,
    vip_end: Option<i64>,
    svip: bool,
    svip_end: Option<i64>,
    valid_until: i64,
}

impl SharedRefresh {
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
    ) -> Result<Option<(Cookie, i64)>, SharedError> {
        let Some(sealed) = self.redis.get(&Self::cookie_key(key)).await? else {
            return Ok(None);
        };
        // An entry this credential cannot open is not for it: a miss.
        let Ok(json) = self.sealer(cred).open(&hex::encode(key), &sealed) else {
            return Ok(None);
        };
        let Ok(blob) = serde_json::from_str::<CookieBlob>(&json) else {
            return Ok(None);
        };
        if blob.valid_until <= now || blob.uin != cred.uin.get() {
            return Ok(None);
        }
        let parsed = (
            MusicKey::parse(&blob.key),
            RefreshSecret::parse_optional("refresh_key", Some(&blob.refresh_key)),
            RefreshSecret::parse_optional("refresh_token", Some(&blob.refresh_token)),
        );
        let (Ok(key), Ok(refresh_key), Ok(refresh_token)) = parsed else {
            return Ok(None);
        };
        let cookie = Cookie {
            uin: cred.uin,
            key,
            refresh_key,
            refresh_token,
            created_at: blob.created_at,
            expires_in: blob.expires_in,
        };
        Ok(Some((cookie, blob.valid_until)))
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
            uin: cookie.uin.get(),
            key: cookie.key.expose().to_owned(),
            refresh_key: cookie
                .refresh_key
                .as_ref()
                .map(|s| s.expose().to_owned())
                .unwrap_or_default(),
            refresh_token: cookie
                .refresh_token
                .as_ref()
                .map(|s| s.expose().to_owned())
                .unwrap_or_default(),
            created_at: cookie.created_at,
            expires_in: cookie.expires_in,
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
    pub async fn lead(&self, key: &CacheKey) -> Result<Option<Lease>, SharedError> {
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

    pub async fn info(&self, uin: Uin, now: i64) -> Result<Option<(VipStatus, i64)>, SharedError> {
        let Some(json) = self.redis.get(&self.info_key(uin)).await? else {
            return Ok(None);
        };
        let Ok(blob) = serde_json::from_str::<InfoBlob>(&json) else {
            return Ok(None);
        };
        if blob.valid_until <= now {
            return Ok(None);
        }
        let at = |t: Option<i64>| t.and_then(|t| DateTime::from_timestamp(t, 0));
        let status = VipStatus {
            vip: blob.vip,
            vip_end: at(blob.vip_end),
            svip: blob.svip,
            svip_end: at(blob.svip_end),
        };
        Ok(Some((status, blob.valid_until)))
    }

    pub async fn store_info(
        &self,
        uin: Uin,
        info: &VipStatus,
        valid_until: DateTime<Utc>,
        ttl: Duration,
    ) {
        let blob = InfoBlob {
            vip: info.vip,
            vip_end: info.vip_end.map(|t| t.timestamp()),
            svip: info.svip,
            svip_end: info.svip_end.map(|t| t.timestamp()),
            valid_until: valid_until.timestamp(),
        };
        if let Ok(json) = serde_json::to_string(&blob) {
            let _ = self.redis.set_for(&self.info_key(uin), &json, ttl).await;
        }
    }
}
