//! The embedded account store: one SQLite file, WAL mode, `synchronous=FULL`
//! so a returned write survives a crash or power loss. The file and its
//! `-wal` and `-shm` companions are readable by their owner alone.

use super::events::AccountEvent;
use super::keys::{self, ApiKeyRecord};
use super::record::{self, Failure, FIELDS};
use super::store::{AccountStore, Health, Loaded, StoreError, StoredAccount};
use super::timeline;
use crate::domain::Uin;
use crate::domain::{ApiKeyHash, ApiKeyId};
use crate::secrets::Sealer;
use rusqlite::types::ValueRef;
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
    seed            TEXT,
    last_check_at   INTEGER,
    last_check      TEXT,
    login_type      TEXT
);
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
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
        private::create(path)?;
        let mut conn = Connection::open(path).map_err(|e| backend(&e))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;",
        )
        .map_err(|e| backend(&e))?;
        conn.execute_batch(SCHEMA).map_err(|e| backend(&e))?;
        conn.execute_batch(super::timeline::SQLITE_SCHEMA)
            .map_err(|e| backend(&e))?;
        conn.execute_batch(super::keys::SQLITE_SCHEMA)
            .map_err(|e| backend(&e))?;
        add_missing_columns(&conn)?;
        if sealer.is_encrypting() {
            seal_plain_values(&mut conn, &sealer)?;
        }
        // SQLite gives `-wal` and `-shm` the main file's mode; files left
        // wider by an earlier version are narrowed here.
        private::narrow(path);
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            sealer,
            path: path.to_owned(),
        })
    }

    /// The `generation` column of `uin`'s row as it is, when it is a number,
    /// for writing over a record that cannot be read.
    pub async fn raw_generation(&self, uin: Uin) -> Result<Option<u64>, StoreError> {
        self.with(move |conn, _| {
            let g: Option<Option<i64>> = conn
                .query_row(
                    "SELECT generation FROM accounts WHERE uin = ?1",
                    [uin.to_string()],
                    |r| r.get::<_, i64>(0).map(Some).or(Ok(None)),
                )
                .optional()
                .map_err(|e| backend(&e))?;
            Ok(g.flatten().and_then(|g| u64::try_from(g).ok()))
        })
        .await
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

/// The database file and its companions, created and kept owner-only
/// whatever the umask: they hold the upload accounts' keys.
mod private {
    use super::StoreError;
    use std::path::{Path, PathBuf};

    pub(super) const MODE: u32 = 0o600;

    /// Creates the database file owner-only before SQLite opens it, so it
    /// never exists with wider permissions, not even for a moment.
    #[cfg(unix)]
    pub(super) fn create(path: &Path) -> Result<(), StoreError> {
        use std::os::unix::fs::OpenOptionsExt;
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(MODE)
            .open(path)
        {
            Ok(file) => {
                // The umask can only take bits away; set exactly what we mean.
                set(&file, path);
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(StoreError::Backend(format!(
                "cannot create {}: {e}",
                path.display()
            ))),
        }
    }

    #[cfg(not(unix))]
    pub(super) fn create(_: &Path) -> Result<(), StoreError> {
        Ok(())
    }

    /// The database and whichever of its companions exist, made owner-only
    /// if they are wider. A file owned by someone else is left with a warning.
    #[cfg(unix)]
    pub(super) fn narrow(path: &Path) {
        use std::os::unix::fs::PermissionsExt;
        for file in companions(path) {
            let Ok(meta) = std::fs::symlink_metadata(&file) else {
                continue;
            };
            if !meta.is_file() || meta.permissions().mode() & 0o077 == 0 {
                continue;
            }
            let narrowed = std::fs::Permissions::from_mode(meta.permissions().mode() & 0o700);
            if let Err(e) = std::fs::set_permissions(&file, narrowed) {
                tracing::warn!(file = %file.display(), error = %e, "the account store file is readable by others and its mode cannot be changed");
            }
        }
    }

    #[cfg(not(unix))]
    pub(super) fn narrow(_: &Path) {}

    #[cfg(unix)]
    fn set(file: &std::fs::File, path: &Path) {
        use std::os::unix::fs::PermissionsExt;
        if let Err(e) = file.set_permissions(std::fs::Permissions::from_mode(MODE)) {
            tracing::warn!(file = %path.display(), error = %e, "cannot set the account store's mode");
        }
    }

    pub(super) fn companions(path: &Path) -> Vec<PathBuf> {
        let with = |suffix: &str| {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            PathBuf::from(p)
        };
        vec![
            path.to_owned(),
            with("-wal"),
            with("-shm"),
            with("-journal"),
        ]
    }
}

/// A file written before `QMKEYS_SECRET_KEY` was set holds plain secrets.
/// They are sealed here, once, when the store is opened with a key; reads
/// afterwards refuse any plain value, so one planted later is never used.
fn seal_plain_values(conn: &mut Connection, sealer: &Sealer) -> Result<(), StoreError> {
    let tx = conn.transaction().map_err(|e| backend(&e))?;
    let mut sealed = 0usize;
    for field in record::SEALED_FIELDS {
        let plain: Vec<(String, String)> = {
            let sql = format!("SELECT uin, {field} FROM accounts WHERE {field} IS NOT NULL");
            let mut stmt = tx.prepare(&sql).map_err(|e| backend(&e))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(|e| backend(&e))?;
            rows.filter_map(Result::ok)
                .filter(|(_, v)| !Sealer::is_sealed(v))
                .collect()
        };
        for (uin, value) in plain {
            let sql = format!("UPDATE accounts SET {field} = ?2 WHERE uin = ?1");
            let value = sealer.seal(&record::aad(&uin, field), &value);
            tx.execute(&sql, params![uin, value])
                .map_err(|e| backend(&e))?;
            sealed += 1;
        }
    }
    tx.commit().map_err(|e| backend(&e))?;
    if sealed > 0 {
        tracing::warn!(
            values = sealed,
            "encrypted secrets the account store held in clear text from before QMKEYS_SECRET_KEY was set"
        );
    }
    Ok(())
}

/// Columns added after the first release, with their types: a file written
/// before them gains them empty, so older stores stay readable.
const ADDED_COLUMNS: [(&str, &str); 3] = [
    ("last_check_at", "INTEGER"),
    ("last_check", "TEXT"),
    ("login_type", "TEXT"),
];

fn add_missing_columns(conn: &Connection) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_table_info('accounts')")
        .map_err(|e| backend(&e))?;
    let have: Vec<String> = stmt
        .query_map([], |row| row.get(0))
        .and_then(Iterator::collect)
        .map_err(|e| backend(&e))?;
    for (name, kind) in ADDED_COLUMNS {
        if !have.iter().any(|h| h == name) {
            conn.execute_batch(&format!("ALTER TABLE accounts ADD COLUMN {name} {kind}"))
                .map_err(|e| backend(&e))?;
        }
    }
    Ok(())
}

fn backend(e: &rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn read_row(row: &Row<'_>, sealer: &Sealer) -> Result<record::Decoded, Failure> {
    let text = |field: &str| -> Option<String> {
        let i = FIELDS.iter().position(|f| *f == field)?;
        match row.get_ref(i).ok()? {
            ValueRef::Null => None,
            ValueRef::Integer(n) => Some(n.to_string()),
            ValueRef::Real(n) => Some(n.to_string()),
            ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
        }
    };
    // The row's key is its `uin` column: what it is stored under.
    let under = text("uin").unwrap_or_default();
    record::decode(sealer, &under, text)
}

fn select() -> String {
    format!("SELECT {} FROM accounts", FIELDS.join(", "))
}

fn write(conn: &Connection, sealer: &Sealer, a: &StoredAccount) -> Result<(), StoreError> {
    let values = record::encode(sealer, a);
    let placeholders: Vec<String> = (1..=FIELDS.len()).map(|i| format!("?{i}")).collect();
    let sql = format!(
        "INSERT OR REPLACE INTO accounts ({}) VALUES ({})",
        FIELDS.join(", "),
        placeholders.join(", ")
    );
    conn.execute(&sql, rusqlite::params_from_iter(values.iter()))
        .map_err(|e| backend(&e))?;
    Ok(())
}

const KEY_CHECK: &str = "key_check";

/// Every row, judged; values sealed under the earlier binding are sealed
/// again under today's, each only if no one changed it meanwhile.
fn load(conn: &mut Connection, sealer: &Sealer) -> Result<Loaded, StoreError> {
    let records = {
        let mut stmt = conn.prepare(&select()).map_err(|e| backend(&e))?;
        let mut rows = stmt.query([]).map_err(|e| backend(&e))?;
        let mut records = Vec::new();
        while let Some(row) = rows.next().map_err(|e| backend(&e))? {
            records.push(read_row(row, sealer));
        }
        records
    };
    let check: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE name = ?1", [KEY_CHECK], |r| {
            r.get(0)
        })
        .optional()
        .map_err(|e| backend(&e))?;
    let judged = record::judge(sealer, check.as_deref(), records)?;
    if judged.write_check {
        conn.execute(
            "INSERT OR IGNORE INTO meta (name, value) VALUES (?1, ?2)",
            params![KEY_CHECK, record::key_check(sealer)],
        )
        .map_err(|e| backend(&e))?;
    }
    if !judged.reseal.is_empty() {
        let tx = conn.transaction().map_err(|e| backend(&e))?;
        for r in &judged.reseal {
            // `field` is one of the record's own field names, never input.
            let sql = format!(
                "UPDATE accounts SET {0} = ?3 WHERE uin = ?1 AND {0} = ?2",
                r.field
            );
            tx.execute(&sql, params![r.uin.to_string(), r.old, r.new])
                .map_err(|e| backend(&e))?;
        }
        tx.commit().map_err(|e| backend(&e))?;
        tracing::info!(
            values = judged.reseal.len(),
            "sealed the account store's secrets again, bound to where each is stored"
        );
    }
    Ok(judged.loaded)
}

#[async_trait::async_trait]
impl AccountStore for SqliteStore {
    async fn load(&self) -> Result<Loaded, StoreError> {
        self.with(load).await
    }

    async fn get(&self, uin: Uin) -> Result<Option<StoredAccount>, StoreError> {
        self.with(move |conn, sealer| {
            let sql = format!("{} WHERE uin = ?1", select());
            let mut stmt = conn.prepare(&sql).map_err(|e| backend(&e))?;
            let mut rows = stmt.query([uin.to_string()]).map_err(|e| backend(&e))?;
            match rows.next().map_err(|e| backend(&e))? {
                Some(row) => Ok(Some(read_row(row, sealer)?.account)),
                None => Ok(None),
            }
        })
        .await
    }

    async fn put(&self, account: &StoredAccount) -> Result<(), StoreError> {
        let account = account.clone();
        self.with(move |conn, sealer| write(conn, sealer, &account))
            .await
    }

    async fn insert_new(&self, account: &StoredAccount) -> Result<bool, StoreError> {
        let account = account.clone();
        self.with(move |conn, sealer| {
            let values = record::encode(sealer, &account);
            let placeholders: Vec<String> = (1..=FIELDS.len()).map(|i| format!("?{i}")).collect();
            let sql = format!(
                "INSERT INTO accounts ({}) VALUES ({}) ON CONFLICT (uin) DO NOTHING",
                FIELDS.join(", "),
                placeholders.join(", ")
            );
            let n = conn
                .execute(&sql, rusqlite::params_from_iter(values.iter()))
                .map_err(|e| backend(&e))?;
            Ok(n == 1)
        })
        .await
    }

    async fn commit_rotation(
        &self,
        account: &StoredAccount,
        expected: u64,
    ) -> Result<bool, StoreError> {
        let account = account.clone();
        self.with(move |conn, sealer| {
            // One statement, so the compare and the write are one step even
            // against another process on the same file (the CLI).
            let values = record::encode(sealer, &account);
            let sets: Vec<String> = FIELDS
                .iter()
                .enumerate()
                .skip(1)
                .map(|(i, f)| format!("{f} = ?{}", i + 1))
                .collect();
            let sql = format!(
                "UPDATE accounts SET {} WHERE uin = ?1 AND generation = ?{}",
                sets.join(", "),
                FIELDS.len() + 1
            );
            let expected = i64::try_from(expected).unwrap_or(i64::MAX);
            let mut args: Vec<rusqlite::types::Value> = values
                .into_iter()
                .map(|v| v.map_or(rusqlite::types::Value::Null, rusqlite::types::Value::Text))
                .collect();
            args.push(rusqlite::types::Value::Integer(expected));
            let n = conn
                .execute(&sql, rusqlite::params_from_iter(args.iter()))
                .map_err(|e| backend(&e))?;
            Ok(n == 1)
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

    async fn record_check(&self, uin: Uin, at: i64, outcome: &str) -> Result<(), StoreError> {
        let outcome = outcome.to_owned();
        self.with(move |conn, _| {
            conn.execute(
                "UPDATE accounts SET last_check_at = ?2, last_check = ?3 WHERE uin = ?1",
                params![uin.to_string(), at, outcome],
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

    async fn append_event(&self, event: &AccountEvent, keep: usize) -> Result<(), StoreError> {
        let event = event.clone();
        self.with(move |conn, _| timeline::sqlite_append(conn, &event, keep))
            .await
    }

    async fn recent_events(&self, limit: usize) -> Result<Vec<AccountEvent>, StoreError> {
        self.with(move |conn, _| timeline::sqlite_recent(conn, limit))
            .await
    }

    async fn insert_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let key = key.clone();
        self.with(move |conn, _| keys::sqlite_insert(conn, &key))
            .await
    }

    async fn keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.with(|conn, _| keys::sqlite_list(conn)).await
    }

    async fn key_by_hash(&self, hash: &ApiKeyHash) -> Result<Option<ApiKeyRecord>, StoreError> {
        let hash = hash.clone();
        self.with(move |conn, _| keys::sqlite_by_hash(conn, &hash))
            .await
    }

    async fn revoke_key(&self, id: &ApiKeyId) -> Result<bool, StoreError> {
        let id = id.clone();
        self.with(move |conn, _| keys::sqlite_revoke(conn, &id))
            .await
    }

    async fn touch_keys(&self, used: &[(ApiKeyId, i64)]) -> Result<(), StoreError> {
        let used = used.to_vec();
        self.with(move |conn, _| keys::sqlite_touch(conn, &used))
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
    use crate::domain::Credential;

    fn account(uin: &str, key: &str) -> StoredAccount {
        StoredAccount::new(
            Credential::parse(Some(uin), Some(key), Some("rk-1"), Some("rt-1")).expect("valid"),
        )
    }

    #[tokio::test]
    async fn a_store_from_before_login_types_gains_the_column_and_its_rows_read_as_their_kinds() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("old.db");
        {
            // The schema as it was, without `login_type`.
            let conn = Connection::open(&path).expect("open");
            let old = SCHEMA.replace(",\n    login_type      TEXT", "");
            assert!(!old.contains("login_type"));
            conn.execute_batch(&old).expect("old schema");
            conn.execute(
                "INSERT INTO accounts (uin, kind, musickey, refresh_key, refresh_token, health, generation)
                 VALUES ('123456', 'qq', 'Q_H_L_old', 'rk', 'rt', 'healthy', 0)",
                [],
            )
            .expect("an old row");
        }
        let store = SqliteStore::open(&path, Sealer::new(None, "store")).expect("migrated");
        let all = store.load().await.expect("load");
        assert_eq!(all.accounts.len(), 1, "{:?}", all.unreadable);
        assert_eq!(all.accounts[0].login_type, None, "reads as the kind's own");

        let mut app = account("654321", "Q_H_L_app");
        app.login_type = Some(6);
        store.put(&app).await.expect("put");
        drop(store);
        let store = SqliteStore::open(&path, Sealer::new(None, "store")).expect("reopen");
        let all = store.load().await.expect("load");
        let types: Vec<_> = all
            .accounts
            .iter()
            .map(|a| (a.uin().get(), a.login_type))
            .collect();
        assert!(types.contains(&(654_321, Some(6))), "{types:?}");
        assert!(types.contains(&(123_456, None)), "{types:?}");

        // A type that does not fit the account is refused by field.
        store
            .with(|conn, _| {
                conn.execute(
                    "UPDATE accounts SET login_type = '1' WHERE uin = '654321'",
                    [],
                )
                .map(|_| ())
                .map_err(|e| backend(&e))
            })
            .await
            .expect("update");
        let all = store.load().await.expect("load");
        assert_eq!(all.unreadable.len(), 1);
        assert_eq!(all.unreadable[0].field, "login_type");
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

    #[tokio::test]
    async fn a_plain_store_is_sealed_when_a_key_is_first_set_and_a_plain_value_planted_later_is_refused(
    ) {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("a.db");
        let plain = SqliteStore::open(&path, Sealer::new(None, "store")).expect("open");
        plain
            .put(&account("123456", "Q_H_L_keptkey"))
            .await
            .expect("put");
        drop(plain);

        let sealer = Sealer::new(Some("a long enough secret key"), "store");
        let keyed = SqliteStore::open(&path, sealer.clone()).expect("open with a key");
        let all = keyed.load_all().await.expect("load");
        assert_eq!(all[0].cred.key.expose(), "Q_H_L_keptkey");
        drop(keyed);
        let conn = Connection::open(&path).expect("raw");
        let stored: String = conn
            .query_row("SELECT musickey FROM accounts", [], |r| r.get(0))
            .expect("row");
        assert!(Sealer::is_sealed(&stored), "sealed in place");

        // Someone with write access plants a plain key under the same uin.
        conn.execute("UPDATE accounts SET musickey = 'Q_H_L_planted'", [])
            .expect("plant");
        drop(conn);
        let store = SqliteStore {
            conn: Arc::new(Mutex::new(Connection::open(&path).expect("raw"))),
            sealer,
            path: path.clone(),
        };
        let all = store.load_all().await.expect("load");
        assert!(
            all.iter().all(|a| a.cred.key.expose() != "Q_H_L_planted"),
            "a plain value is never used once a key is set"
        );
    }

    const KEY: &str = "a long enough secret key";

    fn keyed() -> Sealer {
        Sealer::new(Some(KEY), "account-store")
    }

    /// A sealed value with one character of its body changed.
    fn flipped(sealed: &str) -> String {
        let mut chars: Vec<char> = sealed.chars().collect();
        let i = chars.len() - 5;
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        chars.into_iter().collect()
    }

    fn raw(path: &Path, sql: &str) {
        Connection::open(path)
            .expect("raw")
            .execute_batch(sql)
            .expect(sql);
    }

    fn column(path: &Path, uin: &str, field: &str) -> String {
        Connection::open(path)
            .expect("raw")
            .query_row(
                &format!("SELECT {field} FROM accounts WHERE uin = ?1"),
                [uin],
                |r| r.get(0),
            )
            .expect("row")
    }

    #[tokio::test]
    async fn a_store_sealed_with_the_earlier_binding_reads_back_whole_and_is_sealed_again_bound_to_where_each_value_is_stored(
    ) {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("a.db");
        let sealer = keyed();
        // The table and row exactly as the previous version wrote them: each
        // secret bound to the record's uin and field as `uin:field`.
        // The table as it was before the check columns, which opening adds.
        let before_checks = SCHEMA
            .replace("seed            TEXT,", "seed            TEXT")
            .replace(
                "    last_check_at   INTEGER,\n    last_check      TEXT,\n    login_type      TEXT\n",
                "",
            );
        assert!(!before_checks.contains("last_check"), "{before_checks}");
        assert!(!before_checks.contains("login_type"), "{before_checks}");
        raw(&path, &before_checks);
        let legacy = |field: &str, value: &str| sealer.seal(&format!("123456:{field}"), value);
        Connection::open(&path)
            .expect("raw")
            .execute(
                "INSERT INTO accounts VALUES ('123456', 'qq', ?1, ?2, ?3, ?4, ?5, ?6, 100, 200, 150, 'refreshed', 'healthy', 7, 'seed')",
                params![
                    legacy("musickey", "Q_H_L_current"),
                    legacy("refresh_key", "rk-current"),
                    legacy("refresh_token", "rt-current"),
                    legacy("prev_musickey", "Q_H_L_previous"),
                    legacy("prev_refresh_key", "rk-previous"),
                    legacy("prev_refresh_token", "rt-previous"),
                ],
            )
            .expect("old row");

        let store = SqliteStore::open(&path, sealer.clone()).expect("open");
        let loaded = store.load().await.expect("load");

        assert!(loaded.unreadable.is_empty(), "{:?}", loaded.unreadable);
        let a = &loaded.accounts[0];
        assert_eq!(
            (a.last_check_at, a.last_check.as_deref()),
            (None, None),
            "never checked"
        );
        assert_eq!(a.cred.key.expose(), "Q_H_L_current");
        assert_eq!(
            (a.cred.refresh_key_str(), a.cred.refresh_token_str()),
            ("rk-current", "rt-current")
        );
        let p = a.previous.as_ref().expect("previous");
        assert_eq!(
            (p.key.expose(), p.refresh_key_str(), p.refresh_token_str()),
            ("Q_H_L_previous", "rk-previous", "rt-previous")
        );
        assert_eq!(
            (a.created_at, a.expires_at, a.last_refresh_at, a.generation),
            (Some(100), Some(200), Some(150), 7)
        );
        assert_eq!(a.seed.as_deref(), Some("seed"));
        for field in record::SEALED_FIELDS {
            let stored = column(&path, "123456", field);
            assert!(
                sealer.open(&record::aad("123456", field), &stored).is_ok(),
                "{field} is bound to where it is stored"
            );
            assert!(
                sealer
                    .open(&record::legacy_aad("123456", field), &stored)
                    .is_err(),
                "{field} no longer opens under the earlier binding"
            );
        }
        // And it still reads back after the reseal.
        drop(store);
        let again = SqliteStore::open(&path, sealer).expect("reopen");
        assert_eq!(again.load_all().await.expect("load")[0].generation, 7);
    }

    #[tokio::test]
    async fn a_sealed_value_moved_to_another_row_does_not_open_there_and_the_other_accounts_are_still_served(
    ) {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("a.db");
        let store = SqliteStore::open(&path, keyed()).expect("open");
        store
            .put(&account("111111", "Q_H_L_keyofa"))
            .await
            .expect("a");
        store
            .put(&account("222222", "Q_H_L_keyofb"))
            .await
            .expect("b");
        assert_eq!(store.load_all().await.expect("load").len(), 2);

        // A's key moved into B's row, and A's whole record copied to a row of its own.
        raw(
            &path,
            "UPDATE accounts SET musickey = (SELECT musickey FROM accounts WHERE uin = '111111') WHERE uin = '222222';
             INSERT INTO accounts SELECT '333333', kind, musickey, refresh_key, refresh_token, prev_musickey,
               prev_refresh_key, prev_refresh_token, created_at, expires_at, last_refresh_at, last_outcome,
               health, generation, seed, last_check_at, last_check, login_type FROM accounts WHERE uin = '111111';",
        );
        let loaded = store.load().await.expect("the load does not fail");

        let uins: Vec<String> = loaded
            .accounts
            .iter()
            .map(|a| a.uin().to_string())
            .collect();
        assert_eq!(uins, ["111111"], "only A's own row serves A's key");
        assert_eq!(loaded.accounts[0].cred.key.expose(), "Q_H_L_keyofa");
        let mut left_out: Vec<(Option<Uin>, &str)> =
            loaded.unreadable.iter().map(|u| (u.uin, u.field)).collect();
        left_out.sort();
        assert_eq!(
            left_out,
            [
                (Some(Uin::from(222222)), "musickey"),
                (Some(Uin::from(333333)), "musickey")
            ]
        );
        assert!(matches!(
            store.get(Uin::from(333333)).await,
            Err(StoreError::Unreadable(_))
        ));
    }

    #[tokio::test]
    async fn one_altered_record_is_left_out_even_alone_but_a_wrong_key_fails_the_whole_load() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("a.db");
        let store = SqliteStore::open(&path, keyed()).expect("open");
        store
            .put(&account("123456", "Q_H_L_only"))
            .await
            .expect("put");
        assert_eq!(store.load_all().await.expect("load").len(), 1);
        let altered = flipped(&column(&path, "123456", "refresh_token"));
        Connection::open(&path)
            .expect("raw")
            .execute("UPDATE accounts SET refresh_token = ?1", [altered])
            .expect("alter");

        let loaded = store
            .load()
            .await
            .expect("an altered record is not the key's fault");
        assert!(loaded.accounts.is_empty());
        assert_eq!(loaded.unreadable.len(), 1);
        let shown = loaded.unreadable[0].to_string();
        assert!(
            shown.contains("12***56") && shown.contains("refresh_token"),
            "{shown}"
        );
        assert!(!shown.contains("123456"), "masked: {shown}");

        let wrong = SqliteStore::open(
            &path,
            Sealer::new(Some("some other secret key"), "account-store"),
        )
        .expect("open");
        assert!(matches!(
            wrong.load().await,
            Err(StoreError::Seal(crate::secrets::SealError::WrongKey))
        ));
    }

    #[tokio::test]
    async fn a_new_record_is_inserted_only_where_none_is_stored() {
        let dir = tempfile::tempdir().expect("dir");
        let store = SqliteStore::open(&dir.path().join("a.db"), keyed()).expect("open");
        assert!(store
            .insert_new(&account("123456", "Q_H_L_first"))
            .await
            .expect("insert"));
        assert!(!store
            .insert_new(&account("123456", "Q_H_L_second"))
            .await
            .expect("refused"));
        assert_eq!(
            store.load_all().await.expect("load")[0].cred.key.expose(),
            "Q_H_L_first"
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_database_and_its_wal_and_shm_files_are_owner_only_and_wider_ones_are_narrowed() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| {
            let bits = std::fs::metadata(p).expect("exists").permissions().mode();
            format!("{:o}", bits & 0o777)
        };
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("a.db");
        let files = private::companions(&path);
        let (db, wal, shm) = (&files[0], &files[1], &files[2]);

        let store = SqliteStore::open(&path, keyed()).expect("open");
        store
            .put(&account("123456", "Q_H_L_one"))
            .await
            .expect("put");
        // Whatever the umask: exactly 0600, checked while SQLite holds all three.
        for file in [db, wal, shm] {
            assert_eq!(mode(file), "600", "{}", file.display());
        }

        // Files an earlier version left readable by all, the -wal and -shm
        // kept alive by another connection.
        let other = Connection::open(&path).expect("raw");
        other
            .query_row("SELECT count(*) FROM accounts", [], |r| r.get::<_, i64>(0))
            .expect("read");
        drop(store);
        for file in [db, wal, shm] {
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        }
        let reopened = SqliteStore::open(&path, keyed()).expect("reopen");
        reopened
            .put(&account("123456", "Q_H_L_two"))
            .await
            .expect("put");
        for file in [db, wal, shm] {
            assert_eq!(mode(file), "600", "narrowed: {}", file.display());
        }
        drop(other);
    }
}
