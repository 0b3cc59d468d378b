//! InitUpload answers reused across instances. They carry a COS SecretKey and
//! Token, so they are sealed with the server secret; the Redis key is a keyed
//! hash of (sha1, size, ext).

use super::GrantKey;
use crate::cache::CacheKeyer;
use crate::redis::{Redis, PREFIX};
use crate::secrets::Sealer;
use crate::upstream::UploadGrant;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

pub struct RedisGrants {
    redis: Redis,
    keyer: CacheKeyer,
    sealer: Sealer,
}

/// An InitUpload answer in its own shape, read back through the parser and
/// checks the answer went through (docs/protocol.md section 5), so an entry
/// planted in Redis cannot point the signed URL at another host.
#[derive(Serialize, Deserialize)]
struct GrantBlob {
    init_upload: Value,
}

fn refuse<T>(what: &str) -> Option<T> {
    tracing::warn!(
        problem = what,
        "an upload grant read back from Redis failed its checks; treated as a cache miss"
    );
    None
}

impl RedisGrants {
    pub fn new(redis: Redis, keyer: CacheKeyer, sealer: Sealer) -> Self {
        Self {
            redis,
            keyer,
            sealer,
        }
    }

    fn key(&self, key: &GrantKey) -> String {
        let id = format!("{}|{}|{}", key.sha1.as_str(), key.size.get(), key.ext);
        format!(
            "{PREFIX}grant:{}",
            hex::encode(self.keyer.hash(id.as_bytes()))
        )
    }

    /// A grant another instance obtained, if it still has `min_remaining` seconds.
    pub(super) async fn get(
        &self,
        key: &GrantKey,
        now: i64,
        min_remaining: i64,
    ) -> Option<UploadGrant> {
        let redis_key = self.key(key);
        let sealed = self.redis.get(&redis_key).await.ok()??;
        let json = match self.sealer.open(&redis_key, &sealed) {
            Ok(json) => json,
            Err(e) => return refuse(&e.to_string()),
        };
        let Ok(blob) = serde_json::from_str::<GrantBlob>(&json) else {
            return refuse("the entry is not a cached InitUpload answer");
        };
        let grant = match UploadGrant::from_data(&blob.init_upload) {
            Ok(grant) => grant,
            Err(e) => return refuse(&e.to_string()),
        };
        (grant.credential.expires - now >= min_remaining).then_some(grant)
    }

    /// Best effort: kept only for as long as it can be reused.
    pub(super) async fn put(
        &self,
        key: &GrantKey,
        grant: &UploadGrant,
        now: i64,
        min_remaining: i64,
    ) {
        let reusable_for = grant.credential.expires - now - min_remaining;
        let Ok(secs) = u64::try_from(reusable_for) else {
            return;
        };
        if secs == 0 {
            return;
        }
        let blob = GrantBlob {
            init_upload: grant.to_data(),
        };
        let Ok(json) = serde_json::to_string(&blob) else {
            return;
        };
        let redis_key = self.key(key);
        let sealed = self.sealer.seal(&redis_key, &json);
        let _ = self
            .redis
            .set_for(&redis_key, &sealed, Duration::from_secs(secs))
            .await;
    }
}
