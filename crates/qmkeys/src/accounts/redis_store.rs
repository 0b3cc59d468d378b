//! The account store in Redis, for several instances behind a load balancer.
//! One hash per account plus a set of uins; rotations are compare-and-swap on
//! the generation (a Lua script), and a per-account lease makes sure only one
//! instance refreshes an account at a time. Durability is Redis's: run it with
//! `appendonly yes` so a committed rotation survives a Redis restart.

use super::events::AccountEvent;
use super::keys::{self, ApiKeyRecord};
use super::record::{self, Failure, FIELDS};
use super::store::{AccountStore, Health, Loaded, StoreError, StoredAccount};
use super::timeline;
use crate::domain::Uin;
use crate::domain::{ApiKeyHash, ApiKeyId};
use crate::redis::{last_key, Lease, Redis, RedisError, PREFIX, STILL_OURS};
use crate::secrets::Sealer;
use redis::{AsyncCommands, Script};
use std::collections::HashMap;
use std::sync::LazyLock;

pub struct RedisStore {
    redis: Redis,
    sealer: Sealer,
}

const SET: &str = "qmkeys:v1:accounts";
/// The sealed text that tells a wrong `QMKEYS_SECRET_KEY` from an altered record.
const KEY_CHECK: &str = "qmkeys:v1:accounts:key-check";

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

/// Writes a record only where none is stored: 1 written, 0 one was there.
static INSERT_SCRIPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('exists', KEYS[1]) == 1 then return 0 end \
         redis.call('hset', KEYS[1], unpack(ARGV, 2)) redis.call('sadd', KEYS[2], ARGV[1]) return 1",
    )
});

/// Replaces sealed values (field, old, new triples) that are still the old
/// ones: a value someone changed meanwhile is theirs.
static RESEAL_SCRIPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "for i = 1, #ARGV, 3 do \
           if redis.call('hget', KEYS[1], ARGV[i]) == ARGV[i + 1] then \
             redis.call('hset', KEYS[1], ARGV[i], ARGV[i + 2]) end end return 1",
    )
});

/// The same, refused (-1) once the rotation's lease lapsed and another took it.
static FENCED_COMMIT_SCRIPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{STILL_OURS} if not ours then return -1 end \
         local acct, gen, from = KEYS[3], ARGV[2], 3 {COMMIT}"
    ))
});

fn shared(e: RedisError) -> StoreError {
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

/// The hash stored under `uin`'s key, read as the record of that account.
fn decode(
    sealer: &Sealer,
    uin: Uin,
    map: &HashMap<String, String>,
) -> Result<record::Decoded, Failure> {
    record::decode(sealer, &uin.to_string(), |f| {
        map.get(f).filter(|v| !v.is_empty()).cloned()
    })
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

    async fn read(&self, uin: Uin) -> Result<Option<Result<record::Decoded, Failure>>, StoreError> {
        let k = key(uin);
        let map: HashMap<String, String> = self
            .redis
            .run(|mut c| async move { c.hgetall(k).await })
            .await
            .map_err(shared)?;
        if map.is_empty() {
            return Ok(None);
        }
        Ok(Some(decode(&self.sealer, uin, &map)))
    }

    async fn reseal(&self, uin: Uin, values: Vec<(String, String, String)>) {
        let k = key(uin);
        let done = self
            .redis
            .run(|mut c| async move {
                let mut call = RESEAL_SCRIPT.prepare_invoke();
                call.key(&k);
                for (field, old, new) in &values {
                    call.arg(field).arg(old).arg(new);
                }
                call.invoke_async::<i64>(&mut c).await
            })
            .await;
        // Not resealed now is resealed at the next load; the old binding still opens.
        if let Err(e) = done {
            tracing::warn!(account = %super::mask(uin), error = %e, "could not seal an account's secrets again");
        }
    }
}

#[async_trait::async_trait]
impl AccountStore for RedisStore {
    async fn load(&self) -> Result<Loaded, StoreError> {
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
            if let Some(record) = self.read(uin).await? {
                records.push(record);
            }
        }
        let check = self.redis.get(KEY_CHECK).await.map_err(shared)?;
        let judged = record::judge(&self.sealer, check.as_deref(), records)?;
        if judged.write_check {
            let value = record::key_check(&self.sealer);
            self.redis
                .run(|mut c| async move {
                    redis::cmd("SET")
                        .arg(KEY_CHECK)
                        .arg(&value)
                        .arg("NX")
                        .query_async::<()>(&mut c)
                        .await
                })
                .await
                .map_err(shared)?;
        }
        let mut by_account: Vec<(Uin, Vec<(String, String, String)>)> = Vec::new();
        for r in judged.reseal {
            let triple = (r.field.to_owned(), r.old, r.new);
            match by_account.iter_mut().find(|(uin, _)| *uin == r.uin) {
                Some((_, values)) => values.push(triple),
                None => by_account.push((r.uin, vec![triple])),
            }
        }
        for (uin, values) in by_account {
            tracing::info!(account = %super::mask(uin), values = values.len(), "sealing an account's secrets again, bound to where each is stored");
            self.reseal(uin, values).await;
        }
        Ok(judged.loaded)
    }

    async fn get(&self, uin: Uin) -> Result<Option<StoredAccount>, StoreError> {
        match self.read(uin).await? {
            Some(record) => Ok(Some(record?.account)),
            None => Ok(None),
        }
    }

    async fn insert_new(&self, account: &StoredAccount) -> Result<bool, StoreError> {
        let mut args = vec![account.uin().to_string()];
        for (f, v) in pairs(&self.sealer, account) {
            args.push(f);
            args.push(v);
        }
        let done = self
            .commit(
                &INSERT_SCRIPT,
                vec![key(account.uin()), SET.to_owned()],
                args,
            )
            .await?;
        Ok(done == 1)
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

    async fn record_check(&self, uin: Uin, at: i64, outcome: &str) -> Result<(), StoreError> {
        let script = Script::new(
            "if redis.call('exists', KEYS[1]) == 0 then return 0 end \
             redis.call('hset', KEYS[1], 'last_check_at', ARGV[1], 'last_check', ARGV[2]) return 1",
        );
        let (k, outcome) = (key(uin), outcome.to_owned());
        self.redis
            .run(|mut c| async move {
                script
                    .key(k)
                    .arg(at)
                    .arg(outcome)
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

    async fn append_event(&self, event: &AccountEvent, keep: usize) -> Result<(), StoreError> {
        timeline::redis_append(&self.redis, event, keep)
            .await
            .map_err(shared)
    }

    async fn recent_events(&self, limit: usize) -> Result<Vec<AccountEvent>, StoreError> {
        timeline::redis_recent(&self.redis, limit)
            .await
            .map_err(shared)
    }

    async fn insert_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        match keys::redis_insert(&self.redis, key).await.map_err(shared)? {
            true => Ok(()),
            // 190 random bits do not collide; a planted field would.
            false => Err(StoreError::Backend(
                "a caller key with this hash exists".into(),
            )),
        }
    }

    async fn keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        keys::redis_list(&self.redis).await.map_err(shared)
    }

    async fn key_by_hash(&self, hash: &ApiKeyHash) -> Result<Option<ApiKeyRecord>, StoreError> {
        keys::redis_by_hash(&self.redis, hash).await.map_err(shared)
    }

    async fn revoke_key(&self, id: &ApiKeyId) -> Result<bool, StoreError> {
        keys::redis_revoke(&self.redis, id).await.map_err(shared)
    }

    async fn touch_keys(&self, used: &[(ApiKeyId, i64)]) -> Result<(), StoreError> {
        keys::redis_touch(&self.redis, used).await.map_err(shared)
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
