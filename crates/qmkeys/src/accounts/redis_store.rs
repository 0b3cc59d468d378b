//! The account store in Redis, for several instances behind a load balancer.
//! One hash per account plus a set of uins; rotations are compare-and-swap on
//! the generation (a Lua script), and a per-account lease makes sure only one
//! instance refreshes an account at a time. Durability is Redis's: run it with
//! `appendonly yes` so a committed rotation survives a Redis restart.

use super::record::{self, FIELDS};
use super::store::{AccountStore, Health, StoreError, StoredAccount};
use crate::domain::Uin;
use crate::secrets::Sealer;
use crate::shared::{last_key, Lease, Redis, SharedError, PREFIX, STILL_OURS};
use redis::{AsyncCommands, Script};
use std::collections::HashMap;
use std::sync::LazyLock;

pub struct RedisStore {
    redis: Redis,
    sealer: Sealer,
}

const SET: &str = "qmkeys:v1:accounts";

fn key(uin: Uin) -> String {
    format!("{PREFIX}account:{uin}")
}

fn lease_key(uin: Uin) -> String {
    format!("{PREFIX}lease:account:{uin}")
}

/// Compare-and-swap on the generation: 1 written, 0 someone rotated first.
const COMMIT: &str = "if redis.call('hget', acct, 'generation') ~= gen then return 0 end \
    redis.call('hset', acct, unpack(ARGV, from)) return 1";

static COMMIT_SCRIPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "local acct, gen, from = KEYS[1], ARGV[1], 2 {COMMIT}"
    ))
});

/// The same, refused (-1) once the rotation's lease lapsed and another took it.
static FENCED_COMMIT_SCRIPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{STILL_OURS} if not ours then return -1 end \
         local acct, gen, from = KEYS[3], ARGV[2], 3 {COMMIT}"
    ))
});

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

    /// The arguments of a rotation commit: the lease token when fenced, the
    /// generation it replaces, then the record's fields.
    fn commit_args(&self, a: &StoredAccount, expected: u64, token: Option<&str>) -> Vec<String> {
        let mut args: Vec<String> = token.map(str::to_owned).into_iter().collect();
        args.push(expected.to_string());
        for (f, v) in pairs(&self.sealer, a) {
            args.push(f);
            args.push(v);
        }
        args
    }

    async fn commit(
        &self,
        script: &'static Script,
        keys: Vec<String>,
        args: Vec<String>,
    ) -> Result<i64, StoreError> {
        self.redis
            .run(|mut c| async move {
                let mut call = script.prepare_invoke();
                for k in &keys {
                    call.key(k);
                }
                for a in &args {
                    call.arg(a);
                }
                call.invoke_async(&mut c).await
            })
            .await
            .map_err(shared)
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
        let done = self
            .commit(
                &COMMIT_SCRIPT,
                vec![key(account.uin())],
                self.commit_args(account, expected, None),
            )
            .await?;
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

    async fn try_lease(&self, uin: Uin) -> Result<Option<Lease>, StoreError> {
        self.redis
            .try_lease(&lease_key(uin), "account")
            .await
            .map_err(shared)
    }

    async fn commit_rotation_under(
        &self,
        account: &StoredAccount,
        expected: u64,
        lease: &Lease,
    ) -> Result<Option<bool>, StoreError> {
        let Some((lease_key, token)) = lease.fence() else {
            return self.commit_rotation(account, expected).await.map(Some);
        };
        let keys = vec![
            lease_key.to_owned(),
            last_key(lease_key),
            key(account.uin()),
        ];
        let args = self.commit_args(account, expected, Some(token));
        let done = self.commit(&FENCED_COMMIT_SCRIPT, keys, args).await?;
        Ok((done >= 0).then_some(done == 1))
    }

    fn describe(&self) -> String {
        "Redis".to_owned()
    }
}
