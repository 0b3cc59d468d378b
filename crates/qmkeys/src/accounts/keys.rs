//! Caller keys in the account store, beside the accounts (SQLite or Redis
//! alike), so every instance sharing the store knows the same keys. A key is
//! kept only as the SHA-256 of its secret; a row that does not read back
//! (planted, damaged) is left out with a warning, never used as it is.

use super::store::StoreError;
use crate::domain::{ApiKeyHash, ApiKeyId, ApiKeyName, MAX_RATE_LIMIT};
use crate::redis::{Redis, RedisError, PREFIX};
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

/// One caller key as stored: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: ApiKeyId,
    pub name: ApiKeyName,
    pub hash: ApiKeyHash,
    /// Requests per minute.
    pub rate_limit: u32,
    /// Unix seconds.
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// The fields as they sit in the store, before they are checked.
#[derive(Serialize, Deserialize)]
struct Raw {
    id: String,
    name: String,
    hash: String,
    rate_limit: i64,
    created_at: i64,
    #[serde(default)]
    last_used_at: Option<i64>,
}

impl Raw {
    fn of(k: &ApiKeyRecord) -> Self {
        Self {
            id: k.id.as_str().to_owned(),
            name: k.name.as_str().to_owned(),
            hash: k.hash.as_str().to_owned(),
            rate_limit: i64::from(k.rate_limit),
            created_at: k.created_at,
            last_used_at: k.last_used_at,
        }
    }

    fn check(self) -> Option<ApiKeyRecord> {
        let rate_limit = u32::try_from(self.rate_limit)
            .ok()
            .filter(|r| (1..=MAX_RATE_LIMIT).contains(r))?;
        let record = ApiKeyRecord {
            id: ApiKeyId::parse(&self.id).ok()?,
            name: ApiKeyName::parse(&self.name).ok()?,
            hash: ApiKeyHash::parse(&self.hash)?,
            rate_limit,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
        };
        // A name with spaces around it was not written by us.
        (record.name.as_str() == self.name && self.created_at >= 0).then_some(record)
    }
}

fn read(raw: Raw) -> Option<ApiKeyRecord> {
    let record = raw.check();
    if record.is_none() {
        // Never the row itself: it is whatever was planted.
        tracing::warn!("a caller key in the store does not read; left out");
    }
    record
}

/// Created beside the accounts table when the SQLite store opens.
pub(super) const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS api_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    rate_limit   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);
";

fn sqlite_error(e: &rusqlite::Error) -> StoreError {
    StoreError::Backend(format!("api_keys table: {e}"))
}

const COLUMNS: &str = "id, name, hash, rate_limit, created_at, last_used_at";

fn sqlite_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Option<Raw>> {
    // A column of the wrong type is a damaged row, not a failed query.
    Ok((|| {
        Some(Raw {
            id: row.get(0).ok()?,
            name: row.get(1).ok()?,
            hash: row.get(2).ok()?,
            rate_limit: row.get(3).ok()?,
            created_at: row.get(4).ok()?,
            last_used_at: row.get(5).ok()?,
        })
    })())
}

fn read_sqlite(raw: Option<Raw>) -> Option<ApiKeyRecord> {
    match raw {
        Some(raw) => read(raw),
        None => {
            tracing::warn!("a caller key in the store does not read; left out");
            None
        }
    }
}

pub(super) fn sqlite_insert(conn: &Connection, key: &ApiKeyRecord) -> Result<(), StoreError> {
    conn.execute(
        &format!("INSERT INTO api_keys ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
        rusqlite::params![
            key.id.as_str(),
            key.name.as_str(),
            key.hash.as_str(),
            key.rate_limit,
            key.created_at,
            key.last_used_at
        ],
    )
    .map(|_| ())
    .map_err(|e| sqlite_error(&e))
}

pub(super) fn sqlite_list(conn: &Connection) -> Result<Vec<ApiKeyRecord>, StoreError> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {COLUMNS} FROM api_keys ORDER BY created_at, id"
        ))
        .map_err(|e| sqlite_error(&e))?;
    let rows = stmt
        .query_map([], sqlite_row)
        .map_err(|e| sqlite_error(&e))?;
    let mut keys = Vec::new();
    for row in rows {
        keys.extend(read_sqlite(row.map_err(|e| sqlite_error(&e))?));
    }
    Ok(keys)
}

pub(super) fn sqlite_by_hash(
    conn: &Connection,
    hash: &ApiKeyHash,
) -> Result<Option<ApiKeyRecord>, StoreError> {
    let row = conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM api_keys WHERE hash = ?1"),
            [hash.as_str()],
            sqlite_row,
        )
        .optional()
        .map_err(|e| sqlite_error(&e))?;
    // The row must be the one asked for, hash included.
    Ok(row.and_then(read_sqlite).filter(|k| &k.hash == hash))
}

pub(super) fn sqlite_revoke(conn: &Connection, id: &ApiKeyId) -> Result<bool, StoreError> {
    conn.execute("DELETE FROM api_keys WHERE id = ?1", [id.as_str()])
        .map(|n| n > 0)
        .map_err(|e| sqlite_error(&e))
}

pub(super) fn sqlite_touch(
    conn: &mut Connection,
    used: &[(ApiKeyId, i64)],
) -> Result<(), StoreError> {
    let tx = conn.transaction().map_err(|e| sqlite_error(&e))?;
    for (id, at) in used {
        // Never backwards: two instances may write behind out of order.
        tx.execute(
            "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1 \
             AND (last_used_at IS NULL OR last_used_at < ?2)",
            rusqlite::params![id.as_str(), at],
        )
        .map_err(|e| sqlite_error(&e))?;
    }
    tx.commit().map_err(|e| sqlite_error(&e))
}

/// Redis: one hash of records by the secret's hash (a lookup is one HGET),
/// and one of last-used times by id, written behind apart from the record.
fn redis_records() -> String {
    format!("{PREFIX}api_keys")
}

fn redis_used() -> String {
    format!("{PREFIX}api_keys_used")
}

fn redis_read(field: &str, body: &str, used: Option<i64>) -> Option<ApiKeyRecord> {
    let Ok(raw) = serde_json::from_str::<Raw>(body) else {
        tracing::warn!("a caller key in the store does not read; left out");
        return None;
    };
    // Stored under another hash than its own: moved, not written by us.
    let record = read(raw).filter(|k| k.hash.as_str() == field);
    record.map(|k| ApiKeyRecord {
        last_used_at: used.or(k.last_used_at),
        ..k
    })
}

pub(super) async fn redis_insert(redis: &Redis, key: &ApiKeyRecord) -> Result<bool, RedisError> {
    let body = serde_json::to_string(&Raw::of(key)).unwrap_or_default();
    let field = key.hash.as_str().to_owned();
    let added: i64 = redis
        .run(|mut c| async move {
            ::redis::cmd("HSETNX")
                .arg(redis_records())
                .arg(field)
                .arg(body)
                .query_async(&mut c)
                .await
        })
        .await?;
    Ok(added == 1)
}

/// A Redis hash's fields and values, as HGETALL answers them.
type Fields = Vec<(String, String)>;

pub(super) async fn redis_list(redis: &Redis) -> Result<Vec<ApiKeyRecord>, RedisError> {
    let (records, used): (Fields, Fields) = redis
        .run(|mut c| async move {
            ::redis::pipe()
                .hgetall(redis_records())
                .hgetall(redis_used())
                .query_async(&mut c)
                .await
        })
        .await?;
    let used: std::collections::HashMap<String, i64> = used
        .into_iter()
        .filter_map(|(id, at)| Some((id, at.parse().ok()?)))
        .collect();
    let mut keys: Vec<ApiKeyRecord> = records
        .iter()
        .filter_map(|(field, body)| {
            let id = serde_json::from_str::<Raw>(body).ok().map(|r| r.id);
            redis_read(field, body, id.and_then(|id| used.get(&id).copied()))
        })
        .collect();
    keys.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(keys)
}

pub(super) async fn redis_by_hash(
    redis: &Redis,
    hash: &ApiKeyHash,
) -> Result<Option<ApiKeyRecord>, RedisError> {
    let field = hash.as_str().to_owned();
    let body: Option<String> = redis
        .run(|mut c| async move {
            ::redis::cmd("HGET")
                .arg(redis_records())
                .arg(field)
                .query_async(&mut c)
                .await
        })
        .await?;
    Ok(body.and_then(|b| redis_read(hash.as_str(), &b, None)))
}

pub(super) async fn redis_revoke(redis: &Redis, id: &ApiKeyId) -> Result<bool, RedisError> {
    // Keys are few (the owner makes each by hand): find the record by id.
    let records: Vec<(String, String)> = redis
        .run(|mut c| async move {
            ::redis::cmd("HGETALL")
                .arg(redis_records())
                .query_async(&mut c)
                .await
        })
        .await?;
    let fields: Vec<String> = records
        .into_iter()
        .filter(|(_, body)| serde_json::from_str::<Raw>(body).is_ok_and(|r| r.id == id.as_str()))
        .map(|(field, _)| field)
        .collect();
    if fields.is_empty() {
        return Ok(false);
    }
    let id = id.as_str().to_owned();
    redis
        .run(|mut c| {
            let (fields, id) = (fields.clone(), id.clone());
            async move {
                ::redis::pipe()
                    .atomic()
                    .hdel(redis_records(), fields)
                    .ignore()
                    .hdel(redis_used(), id)
                    .ignore()
                    .query_async::<()>(&mut c)
                    .await
            }
        })
        .await?;
    Ok(true)
}

pub(super) async fn redis_touch(redis: &Redis, used: &[(ApiKeyId, i64)]) -> Result<(), RedisError> {
    let used: Vec<(String, i64)> = used
        .iter()
        .map(|(id, at)| (id.as_str().to_owned(), *at))
        .collect();
    redis
        .run(|mut c| {
            let used = used.clone();
            async move {
                let mut pipe = ::redis::pipe();
                for (id, at) in used {
                    pipe.hset(redis_used(), id, at).ignore();
                }
                pipe.query_async::<()>(&mut c).await
            }
        })
        .await
}
