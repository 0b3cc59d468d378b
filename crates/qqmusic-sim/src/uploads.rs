//! Upload state: the temporary credentials InitUpload hands out and the
//! objects stored in the simulated COS bucket.

use std::collections::{BTreeMap, HashMap, VecDeque};

use axum::body::Bytes;
use md5::{Digest, Md5};
use serde_json::{json, Value};

use crate::ids;

/// The only bucket that exists (docs/protocol.md section 5).
pub const BUCKET: &str = "music-file-1258344705";
pub const REGION: &str = "ap-guangzhou";
/// Public address of an object: this prefix plus its ObjectKey.
pub const CDN_PREFIX: &str = "https://music-file.y.qq.com/";
/// Oldest credentials are forgotten past this many, so a soak cannot eat
/// memory; a forgotten SecretID then answers InvalidAccessKeyId.
const CREDENTIAL_CAP: usize = 50_000;

/// One temporary credential and what it may do.
#[derive(Debug, Clone)]
pub struct Credential {
    pub secret_id: String,
    pub secret_key: String,
    pub token: String,
    pub start: i64,
    pub expires: i64,
    pub uin: u64,
    /// The ObjectKeys it was issued for; it may PUT only these.
    pub keys: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct StoredObject {
    pub body: Bytes,
    /// Lower-case md5 hex of the body, unquoted.
    pub md5_hex: String,
}

impl StoredObject {
    /// The ETag header value: the md5 hex in double quotes, as COS sends it.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.md5_hex)
    }
}

#[derive(Debug)]
pub struct Uploads {
    credentials: HashMap<String, Credential>,
    issued_order: VecDeque<String>,
    objects: BTreeMap<String, StoredObject>,
    credential_cap: usize,
}

impl Default for Uploads {
    fn default() -> Self {
        Self::with_credential_cap(CREDENTIAL_CAP)
    }
}

impl Uploads {
    fn with_credential_cap(credential_cap: usize) -> Self {
        Self {
            credentials: HashMap::new(),
            issued_order: VecDeque::new(),
            objects: BTreeMap::new(),
            credential_cap,
        }
    }

    /// Issues a fresh credential for `keys`, valid from `now` for `lifetime` s.
    pub fn issue(&mut self, uin: u64, keys: Vec<String>, now: i64, lifetime: i64) -> Credential {
        let mut secret_id = ids::secret_id();
        while self.credentials.contains_key(&secret_id) {
            secret_id = ids::secret_id();
        }
        let cred = Credential {
            secret_id: secret_id.clone(),
            secret_key: ids::secret_key(),
            token: ids::session_token(),
            start: now,
            expires: now.saturating_add(lifetime),
            uin,
            keys,
        };
        if self.issued_order.len() >= self.credential_cap {
            if let Some(old) = self.issued_order.pop_front() {
                self.credentials.remove(&old);
            }
        }
        self.issued_order.push_back(secret_id.clone());
        self.credentials.insert(secret_id, cred.clone());
        cred
    }

    pub fn credential(&self, secret_id: &str) -> Option<&Credential> {
        self.credentials.get(secret_id)
    }

    /// Stores (or replaces) an object in [`BUCKET`]; answers it.
    pub fn put(&mut self, key: &str, body: Bytes) -> StoredObject {
        let object = StoredObject {
            md5_hex: hex::encode(Md5::digest(&body)),
            body,
        };
        self.objects.insert(key.to_owned(), object.clone());
        object
    }

    pub fn get(&self, key: &str) -> Option<&StoredObject> {
        self.objects.get(key)
    }

    pub fn exists(&self, key: &str) -> bool {
        self.objects.contains_key(key)
    }

    /// The SecretKey and session token of every credential still known.
    pub fn secrets(&self) -> Vec<String> {
        self.credentials
            .values()
            .flat_map(|c| [c.secret_key.clone(), c.token.clone()])
            .collect()
    }

    /// `[{"bucket","key","size","etag"}]` sorted by key, for the admin API.
    pub fn list(&self) -> Vec<Value> {
        self.objects
            .iter()
            .map(|(key, o)| {
                json!({"bucket": BUCKET, "key": key, "size": o.body.len(), "etag": o.etag()})
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_the_secret_keys_and_tokens_of_known_credentials() {
        let mut u = Uploads::with_credential_cap(1);
        let first = u.issue(1, vec![], 0, 60);
        assert_eq!(u.secrets().len(), 2);
        let second = u.issue(1, vec![], 0, 60);
        let secrets = u.secrets();
        assert!(secrets.contains(&second.secret_key) && secrets.contains(&second.token));
        assert!(
            !secrets.contains(&first.secret_key),
            "forgotten past the cap"
        );
        assert!(
            !secrets.contains(&second.secret_id),
            "a SecretId is not secret"
        );
    }

    #[test]
    fn each_issue_is_a_fresh_credential_that_expires_after_the_lifetime() {
        let mut u = Uploads::default();
        let a = u.issue(1, vec!["k".into()], 1_000, 21_600);
        let b = u.issue(1, vec!["k".into()], 1_000, 21_600);
        assert_ne!(a.secret_id, b.secret_id);
        assert_ne!(a.secret_key, b.secret_key);
        assert_ne!(a.token, b.token);
        assert_eq!((a.start, a.expires), (1_000, 22_600));
        assert_eq!(u.credential(&a.secret_id).map(|c| c.uin), Some(1));
    }

    #[test]
    fn the_oldest_credential_is_forgotten_past_the_cap() {
        let mut u = Uploads::with_credential_cap(3);
        let first = u.issue(1, Vec::new(), 0, 10);
        let second = u.issue(1, Vec::new(), 0, 10);
        for _ in 0..2 {
            u.issue(1, Vec::new(), 0, 10);
        }
        assert!(u.credential(&first.secret_id).is_none());
        assert!(u.credential(&second.secret_id).is_some());
        assert_eq!(u.credentials.len(), 3);
    }

    #[test]
    fn a_stored_object_has_its_md5_as_quoted_etag() {
        let mut u = Uploads::default();
        let o = u.put("a/b.png", Bytes::from_static(b""));
        assert_eq!(o.etag(), "\"d41d8cd98f00b204e9800998ecf8427e\"");
        assert!(u.exists("a/b.png"));
        assert_eq!(u.list().first().map(|v| v["size"].clone()), Some(json!(0)));
    }
}
