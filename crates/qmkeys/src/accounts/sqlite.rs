//! The embedded account store: one SQLite file, WAL mode, `synchronous=FULL`
//! so a returned write survives a crash or power loss.

use super::store::{AccountStore, Health, StoreError, StoredAccount};
use crate::domain::{Credential, Uin};
use crate::secrets::Sealer;
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS accounts (
    uin             TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    musickey        TEXT NOT NULL,
    refresh_key     TEXT NOT NULL,
    refresh_token   TEXT NOT NULL,
    prev_musickey   TEXT,
    prev_refresh_key   TEXT,
    prev_refresh_token TEXT,
    created_at      INTEGER,
    expires_at      INTEGER,
    last_refresh_at INTEGER,
    last_outcome    TEXT,
    health          TEXT NOT NULL,
    generation      INTEGER NOT NULL,
    seed            TEXT
);
";

#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    sealer: Sealer,
    path: PathBuf,
}

impl SqliteStore {
    pub fn open(path: &Path, sealer: Sealer) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(|e| backend(&e))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;",
        )
        .map_err(|e| backend(&e))?;
        conn.execute_batch(SCHEMA).map_err(|e| backend(&e))?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            sealer,
            path: path.to_owned(),
        })
    }

    /// Runs blocking SQLite work off the async threads.
    async fn with<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection, &Sealer) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        let sealer = self.sealer.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            work(&mut conn, &sealer)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?
    }
}

fn backend(e: &rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Sealed columns are bound to their row and column name.
fn aad(uin: &str, column: &str) -> String {
    format!("{uin}:{column}")
}

struct SealedRow {
    uin: String,
    kind: &'static str,
    secrets: [String; 3],
    previous: Option<[String; 3]>,
}

const SECRET_COLUMNS: [&str; 3] = ["musickey", "refresh_key", "refresh_token"];
const PREV_COLUMNS: [&str; 3] = ["prev_musickey", "prev_refresh_key", "prev_refresh_token"];

fn seal_row(sealer: &Sealer, a: &StoredAccount) -> SealedRow {
    let uin = a.uin().to_string();
    let seal = |cred: &Credential, columns: [&str; 3]| {
        let values = [
            cred.key.expose(),
            cred.refresh_key_str(),
            cred.refresh_token_str(),
        ];
        [0, 1, 2].map(|i| sealer.seal(&aad(&uin, columns[i]), values[i]))
    };
    SealedRow {
        secrets: seal(&a.cred, SECRET_COLUMNS),
        previous: a.previous.as_ref().map(|p| seal(p, PREV_COLUMNS)),
        kind: a.cred.kind().as_str(),
        uin,
    }
}

fn read_row(row: &Row<'_>, sealer: &Sealer) -> Result<StoredAccount, StoreError> {
    let get =
        |i: usize| -> Result<Option<String>, StoreError> { row.get(i).map_err(|e| backend(&e)) };
    let num = |i: usize| -> Result<Option<i64>, StoreError> { row.get(i).map_err(|e| backend(&e)) };
    let uin: String = get(0)?.unwrap_or_default();
    let open = |i: usize, column: &str| -> Result<Option<String>, StoreError> {
        get(i)?
            .map(|v| {
                sealer
                    .open(&aad(&uin, column), &v)
                    .map_err(StoreError::from)
            })
            .transpose()
    };
    let cred = |key: Option<String>, rk: Option<String>, rt: Option<String>| {
        Credential::parse(Some(&uin), key.as_deref(), rk.as_deref(), rt.as_deref()).map_err(|e| {
            StoreError::Corrupt(format!("account {}: {}", super::mask_text(&uin), e.param))
        })
    };
    let current = cred(
        open(1, "musickey")?,
        open(2, "refresh_key")?,
        open(3, "refresh_token")?,
    )?;
    let previous = match open(4, "prev_musickey")? {
        Some(key) => Some(cred(
            Some(key),
            open(5, "prev_refresh_key")?,
            open(6, "prev_refresh_token")?,
        )?),
        None => None,
    };
    Ok(StoredAccount {
        cred: current,
        previous,
        created_at: num(7)?,
        expires_at: num(8)?,
        last_refresh_at: num(9)?,
        last_outcome: get(10)?,
        health: Health::parse(&get(11)?.unwrap_or_default()),
        generation: num(12)?.and_then(|g| u64::try_from(g).ok()).unwrap_or(0),
        seed: get(13)?,
    })
}

const SELECT: &str = "SELECT uin, musickey, refresh_key, refresh_token, prev_musickey, prev_refresh_key, \
     prev_refresh_token, created_at, expires_at, last_refresh_at, last_outcome, health, generation, seed \
     FROM accounts";

fn write(conn: &Connection, sealer: &Sealer, a: &StoredAccount) -> Result<(), StoreError> {
    let row = seal_row(sealer, a);
    let [prev_key, prev_rk, prev_rt] = match row.previous {
        Some([k, rk, rt]) => [Some(k), Some(rk), Some(rt)],
        None => [None, None, None],
    };
    let [key, rk, rt] = row.secrets;
    conn.execute(
        "INSERT OR REPLACE INTO accounts (uin, kind, musickey, refresh_key, refresh_token, prev_musickey, \
         prev_refresh_key, prev_refresh_token, created_at, expires_at, last_refresh_at, last_outcome, health, \
         generation, seed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        params![
            row.uin,
            row.kind,
            key,
            rk,
            rt,
            prev_key,
            prev_rk,
            prev_rt,
            a.created_at,
            a.expires_at,
            a.last_refresh_at,
            a.last_outcome,
            a.health.as_str(),
            i64::try_from(a.generation).unwrap_or(i64::MAX),
            a.seed,
        ],
    )
    .map_err(|e| backend(&e))?;
    Ok(())
}

#[async_trait::async_trait]
impl AccountStore for SqliteStore {
    async fn load_all(&self) -> Result<Vec<StoredAccount>, StoreError> {
        self.with(|conn, sealer| {
            let mut stmt = conn.prepare(SELECT).map_err(|e| backend(&e))?;
            let mut rows = stmt.query([]).map_err(|e| backend(&e))?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(|e| backend(&e))? {
                out.push(read_row(row, sealer)?);
            }
            Ok(out)
        })
        .await
    }

    async fn put(&self, account: &StoredAccount) -> Result<(), StoreError> {
        let account = account.clone();
        self.with(move |conn, sealer| write(conn, sealer, &account))
            .await
    }

    async fn commit_rotation(
        &self,
        account: &StoredAccount,
        expected: u64,
    ) -> Result<bool, StoreError> {
        let account = account.clone();
        self.with(move |conn, sealer| {
            let tx = conn.transaction().map_err(|e| backend(&e))?;
            let current: Option<i64> = tx
                .query_row(
                    "SELECT generation FROM accounts WHERE uin = ?1",
                    [account.uin().to_string()],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| backend(&e))?;
            if current.and_then(|g| u64::try_from(g).ok()) != Some(expected) {
                return Ok(false);
            }
            write(&tx, sealer, &account)?;
            tx.commit().map_err(|e| backend(&e))?;
            Ok(true)
        })
        .await
    }

    async fn record_outcome(
        &self,
        uin: Uin,
        at: i64,
        outcome: &str,
        health: Health,
    ) -> Result<(), StoreError> {
        let outcome = outcome.to_owned();
        self.with(move |conn, _| {
            conn.execute(
                "UPDATE accounts SET last_refresh_at = ?2, last_outcome = ?3, health = ?4 WHERE uin = ?1",
                params![uin.to_string(), at, outcome, health.as_str()],
            )
            .map_err(|e| backend(&e))?;
            Ok(())
        })
        .await
    }

    async fn remove(&self, uin: Uin) -> Result<bool, StoreError> {
        self.with(move |conn, _| {
            let n = conn
                .execute("DELETE FROM accounts WHERE uin = ?1", [uin.to_string()])
                .map_err(|e| backend(&e))?;
            Ok(n > 0)
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.with(|conn, _| {
            conn.query_row("SELECT count(*) FROM accounts", [], |r| r.get::<_, i64>(0))
                .map(|_| ())
                .map_err(|e| backend(&e))
        })
        .await
    }

    fn describe(&self) -> String {
        format!("SQLite {}", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(uin: &str, key: &str) -> StoredAccount {
        StoredAccount::new(
            Credential::parse(Some(uin), Some(key), Some("rk-1"), Some("rt-1")).expect("valid"),
        )
    }

    #[tokio::test]
    async fn accounts_survive_reopening_and_rotation_is_compare_and_swap() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("a.db");
        let store = SqliteStore::open(&path, Sealer::new(None, "store")).expect("open");
        store
            .put(&account("123456", "Q_H_L_one"))
            .await
            .expect("put");

        let mut rotated = account("123456", "Q_H_L_two");
        rotated.previous = Some(account("123456", "Q_H_L_one").cred);
        rotated.generation = 1;
        assert!(store.commit_rotation(&rotated, 0).await.expect("commit"));
        assert!(
            !store.commit_rotation(&rotated, 0).await.expect("stale"),
            "generation moved on"
        );

        drop(store);
        let store = SqliteStore::open(&path, Sealer::new(None, "store")).expect("reopen");
        let all = store.load_all().await.expect("load");
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].cred.key.expose(), "Q_H_L_two");
        assert_eq!(
            all[0]
                .previous
                .as_ref()
                .map(|p| p.key.expose().to_owned())
                .as_deref(),
            Some("Q_H_L_one")
        );
        assert_eq!(all[0].generation, 1);
        assert!(store.remove(Uin::from(123456)).await.expect("remove"));
        assert!(store.load_all().await.expect("load").is_empty());
    }

    #[tokio::test]
    async fn with_a_secret_key_the_file_holds_no_secret_in_clear_text() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("a.db");
        let sealer = Sealer::new(Some("a long enough secret key"), "store");
        let store = SqliteStore::open(&path, sealer.clone()).expect("open");
        let mut a = account("123456", "Q_H_L_plainkeyvalue");
        a.previous = Some(account("123456", "Q_H_L_oldkeyvalue").cred);
        store.put(&a).await.expect("put");
        drop(store);

        let bytes = std::fs::read(&path).expect("read");
        let wal = std::fs::read(dir.path().join("a.db-wal")).unwrap_or_default();
        for needle in ["plainkeyvalue", "oldkeyvalue", "rk-1", "rt-1"] {
            let found = |hay: &[u8]| hay.windows(needle.len()).any(|w| w == needle.as_bytes());
            assert!(!found(&bytes) && !found(&wal), "{needle} is in the file");
        }
        let reopened = SqliteStore::open(&path, sealer).expect("reopen");
        assert_eq!(
            reopened.load_all().await.expect("load")[0]
                .cred
                .key
                .expose(),
            "Q_H_L_plainkeyvalue"
        );
        let wrong = SqliteStore::open(&path, Sealer::new(Some("some other secret key"), "store"))
            .expect("open");
        assert!(
            wrong.load_all().await.is_err(),
            "a wrong key is an error, not garbage"
        );
    }
}
