//! The account store in Redis, for several instances behind a load balancer.
//! One hash per account plus a set of uins; rotations are compare-and-swap on
//! the generation (a Lua script), and a per-account lease makes sure only one
//! instance refreshes an account at a time. Durability is Redis's: run it with
//! `appendonly yes` so a committed rotation survives a Redis restart.

use super::record::{self, FIELDS};
use super::store::{AccountStore, Health, StoreError, StoredAccount};
use crate::domain::Uin;
use crate::secrets::Sealer;
use crate::shared::{Lease, Redis, SharedError, PREFIX};
use redis::{AsyncCommands, Script};
use std::collections::HashMap;
use std::time::Duration;

pub struct RedisStore {
    redis: Redis,
    sealer: Sealer,
}

const SET: &str = "qmkeys:v1:accounts";

fn key(uin: Uin) -> String {
    format!("{PREFIX}account:{uin}")
}

fn shared(e: SharedError) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// `HSET` arguments for a record; absent values are written as empty strings
/// and read back as absent.
fn pairs(sealer: &Sealer, a: &StoredAccount) -> Vec<(String, String)> {
    FIELDS
        .iter()
        .zip(record::encode(sealer, a))
        .map(|(f, v)| ((*f).to_owned(), v.unwrap_or_default()))
        .collect()
}

fn decode(sealer: &Sealer, map: &HashMap<String, String>) -> Result<StoredAccount, StoreError> {
    record::decode(sealer, |f| map.get(f).filter(|v| !v.is_empty()).cloned())
}

impl RedisStore {
    pub fn new(redis: Redis, sealer: Sealer) -> Self {
        Self { redis, sealer }
    }

    async fn read(&self, uin: Uin) -> Result<Option<StoredAccount>, StoreError> {
        let k = key(uin);
        let map: HashMap<String, String> = self
            .redis
            .run(|mut c| async move { c.hgetall(k).await })
            .await
            .map_err(shared)?;
        if map.is_empty() {
            return Ok(None);
        }
        decode(&self.sealer, &map).map(Some)
    }
}

#[async_trait::async_trait]
impl AccountStore for RedisStore {
    async fn load_all(&self) -> Result<Vec<StoredAccount>, StoreError> {
        let uins: Vec<String> = self
            .redis
            .run(|mut c| async move { c.smembers(SET).await })
            .await
            .map_err(shared)?;
        let mut records = Vec::new();
        for uin in uins {
            let Ok(uin) = Uin::parse(&uin) else {
                tracing::warn!("the account set in Redis holds an entry that is not a uin");
                continue;
            };
            match self.read(uin).await {
                Ok(Some(account)) => records.push(Ok(account)),
                Ok(None) => {}
                Err(e) => records.push(Err(e)),
            }
        }
        record::readable(records)
    }

    async fn get(&self, uin: Uin) -> Result<Option<StoredAccount>, StoreError> {
        self.read(uin).await
    }

    async fn put(&self, account: &StoredAccount) -> Result<(), StoreError> {
        let (k, uin, fields) = (
            key(account.uin()),
            account.uin().to_string(),
            pairs(&self.sealer, account),
        );
        self.redis
            .run(|mut c| async move {
                redis::pipe()
                    .atomic()
                    .hset_multiple(&k, &fields)
                    .ignore()
                    .sadd(SET, uin)
                    .ignore()
                    .query_async::<()>(&mut c)
                    .await
            })
            .await
            .map_err(shared)
    }

    async fn commit_rotation(
        &self,
        account: &StoredAccount,
        expected: u64,
    ) -> Result<bool, StoreError> {
        let script = Script::new(
            "if redis.call('hget', KEYS[1], 'generation') ~= ARGV[1] then return 0 end \
             redis.call('hset', KEYS[1], unpack(ARGV, 2)) return 1",
        );
        let k = key(account.uin());
        let mut args = vec![expected.to_string()];
        for (f, v) in pairs(&self.sealer, account) {
            args.push(f);
            args.push(v);
        }
        let done: i64 = self
            .redis
            .run(|mut c| async move {
                let mut call = script.key(k);
                for a in &args {
                    call.arg(a);
                }
                call.invoke_async(&mut c).await
            })
            .await
            .map_err(shared)?;
        Ok(done == 1)
    }

    async fn record_outcome(
        &self,
        uin: Uin,
        at: i64,
        outcome: &str,
        health: Health,
    ) -> Result<(), StoreError> {
        let script = Script::new(
            "if redis.call('exists', KEYS[1]) == 0 then return 0 end \
             redis.call('hset', KEYS[1], 'last_refresh_at', ARGV[1], 'last_outcome', ARGV[2], 'health', ARGV[3]) return 1",
        );
        let (k, outcome) = (key(uin), outcome.to_owned());
        self.redis
            .run(|mut c| async move {
                script
                    .key(k)
                    .arg(at)
                    .arg(outcome)
                    .arg(health.as_str())
                    .invoke_async::<i64>(&mut c)
                    .await
            })
            .await
            .map(|_| ())
            .map_err(shared)
    }

    async fn remove(&self, uin: Uin) -> Result<bool, StoreError> {
        let k = key(uin);
        let removed: (i64, i64) = self
            .redis
            .run(|mut c| async move {
                redis::pipe()
                    .atomic()
                    .del(&k)
                    .srem(SET, uin.to_string())
                    .query_async(&mut c)
                    .await
            })
            .await
            .map_err(shared)?;
        Ok(removed.0 > 0)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.redis
            .run(|mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await })
            .await
            .map(|_| ())
            .map_err(shared)
    }

    async fn try_lease(&self, uin: Uin, ttl: Duration) -> Result<Option<Lease>, StoreError> {
        self.redis
            .try_lease(&format!("{PREFIX}lease:account:{uin}"), ttl)
            .await
            .map_err(shared)
    }

    async fn release_lease(&self, lease: Lease) {
        self.redis.release(lease).await;
    }

    fn describe(&self) -> String {
        "Redis".to_owned()
    }
}
