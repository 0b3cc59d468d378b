//! The owner's timeline: the newest `accounts_events_keep` account events,
//! kept in the account store (SQLite or Redis alike) so they outlive a
//! restart and every instance sees the same list. An event holds no key
//! (`AccountEvent`), and one that does not read back is left out.

use super::events::AccountEvent;
use super::store::StoreError;
use crate::redis::{Redis, RedisError, PREFIX};
use rusqlite::Connection;

/// Created beside the accounts table when the SQLite store opens.
pub(super) const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL
);
";

fn sqlite_error(e: &rusqlite::Error) -> StoreError {
    StoreError::Backend(format!("events table: {e}"))
}

pub(super) fn sqlite_append(
    conn: &mut Connection,
    event: &AccountEvent,
    keep: usize,
) -> Result<(), StoreError> {
    let tx = conn.transaction().map_err(|e| sqlite_error(&e))?;
    tx.execute("INSERT INTO events (body) VALUES (?1)", [event.to_stored()])
        .map_err(|e| sqlite_error(&e))?;
    let keep = i64::try_from(keep).unwrap_or(i64::MAX);
    tx.execute(
        "DELETE FROM events WHERE id <= (SELECT max(id) FROM events) - ?1",
        [keep],
    )
    .map_err(|e| sqlite_error(&e))?;
    tx.commit().map_err(|e| sqlite_error(&e))
}

pub(super) fn sqlite_recent(
    conn: &mut Connection,
    limit: usize,
) -> Result<Vec<AccountEvent>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn
        .prepare("SELECT body FROM events ORDER BY id DESC LIMIT ?1")
        .map_err(|e| sqlite_error(&e))?;
    let bodies = stmt
        .query_map([limit], |row| row.get::<_, String>(0))
        .map_err(|e| sqlite_error(&e))?;
    let mut events = Vec::new();
    for body in bodies {
        read_into(&mut events, &body.map_err(|e| sqlite_error(&e))?);
    }
    Ok(events)
}

fn redis_key() -> String {
    format!("{PREFIX}events")
}

pub(super) async fn redis_append(
    redis: &Redis,
    event: &AccountEvent,
    keep: usize,
) -> Result<(), RedisError> {
    let body = event.to_stored();
    let last = isize::try_from(keep).unwrap_or(isize::MAX) - 1;
    redis
        .run(|mut c| async move {
            ::redis::pipe()
                .atomic()
                .lpush(redis_key(), body)
                .ignore()
                .ltrim(redis_key(), 0, last)
                .ignore()
                .query_async::<()>(&mut c)
                .await
        })
        .await
}

pub(super) async fn redis_recent(
    redis: &Redis,
    limit: usize,
) -> Result<Vec<AccountEvent>, RedisError> {
    let last = isize::try_from(limit).unwrap_or(isize::MAX) - 1;
    let bodies: Vec<String> = redis
        .run(|mut c| async move {
            ::redis::cmd("LRANGE")
                .arg(redis_key())
                .arg(0)
                .arg(last)
                .query_async(&mut c)
                .await
        })
        .await?;
    let mut events = Vec::new();
    for body in &bodies {
        read_into(&mut events, body);
    }
    Ok(events)
}

fn read_into(events: &mut Vec<AccountEvent>, body: &str) {
    match AccountEvent::from_stored(body) {
        Some(event) => events.push(event),
        // Never the body: it is whatever was planted.
        None => tracing::warn!("an account event in the store does not read; left out"),
    }
}
