//! InitUpload answers reused across instances. They carry a COS SecretKey and
//! Token, so they are sealed with the server secret; the Redis key is a keyed
//! hash of (sha1, size, ext).

use super::GrantKey;
use crate::refresh::CacheKeyer;
use crate::secrets::Sealer;
use crate::shared::{Redis, PREFIX};
use crate::upstream::{CosCredential, UploadGrant};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub struct SharedGrants {
    redis: Redis,
    keyer: CacheKeyer,
    sealer: Sealer,
}

#[derive(Serialize, Deserialize)]
struct GrantBlob {
    secret_id: String,
    secret_key: String,
    token: String,
    start: i64,
    expires: i64,
    object_key: String,
    bucket: String,
    region: String,
    exists: bool,
}

impl SharedGrants {
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
        let blob: GrantBlob =
            serde_json::from_str(&self.sealer.open(&redis_key, &sealed).ok()?).ok()?;
        if blob.expires - now < min_remaining {
            return None;
        }
        Some(UploadGrant {
            credential: CosCredential {
                secret_id: blob.secret_id,
                secret_key: SecretString::from(blob.secret_key),
                token: SecretString::from(blob.token),
                start: blob.start,
                expires: blob.expires,
            },
            object_key: blob.object_key,
            bucket: blob.bucket,
            region: blob.region,
            exists: blob.exists,
        })
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
            secret_id: grant.credential.secret_id.clone(),
            secret_key: grant.credential.secret_key().to_owned(),
            token: grant.credential.token().to_owned(),
            start: grant.credential.start,
            expires: grant.credential.expires,
            object_key: grant.object_key.clone(),
            bucket: grant.bucket.clone(),
            region: grant.region.clone(),
            exists: grant.exists,
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
