//! `music.filesys.FileSystem.InitUpload` (docs/protocol.md section 5).

use super::login::integer;
use super::UpstreamError;
use crate::domain::UploadFile;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

pub(super) const MODULE: &str = "music.filesys.FileSystem";
pub(super) const INIT_UPLOAD: &str = "InitUpload";
const BUS_ID: &str = "songlist";

pub(super) fn init_param(file: &UploadFile) -> Value {
    json!({
        "BusID": BUS_ID,
        "Files": [{
            "FileSha1": file.sha1.as_str(),
            "FileName": file.file_name(),
            "FileSize": file.size.get(),
        }],
    })
}

/// A temporary COS credential. Debug hides the key and token.
#[derive(Clone)]
pub struct CosCredential {
    pub secret_id: String,
    pub secret_key: SecretString,
    pub token: SecretString,
    /// Unix seconds.
    pub start: i64,
    pub expires: i64,
}

impl CosCredential {
    pub fn secret_key(&self) -> &str {
        self.secret_key.expose_secret()
    }

    pub fn token(&self) -> &str {
        self.token.expose_secret()
    }
}

impl std::fmt::Debug for CosCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CosCredential")
            .field("secret_id", &self.secret_id)
            .field("start", &self.start)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// Where to upload one file, and with what.
#[derive(Debug, Clone)]
pub struct UploadGrant {
    pub credential: CosCredential,
    /// Assigned by upstream; opaque.
    pub object_key: String,
    pub bucket: String,
    pub region: String,
    /// UploadStatus 1: the object is already in the bucket.
    pub exists: bool,
}

impl UploadGrant {
    pub fn from_data(data: &Value) -> Result<Self, UpstreamError> {
        let auth = &data["AuthInfo"];
        let text = |v: &Value, f: &str| {
            v.get(f)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let secret_id = text(auth, "SecretID");
        let secret_key = text(auth, "SecretKey");
        let token = text(auth, "Token");
        // These travel in the Authorization and x-cos-security-token headers.
        if !is_header_safe(&secret_id) || secret_id.contains(['&', '=', ';']) {
            return Err(UpstreamError::Unreadable(
                "InitUpload gave no usable SecretID",
            ));
        }
        if secret_key.is_empty() || !is_header_safe(&token) {
            return Err(UpstreamError::Unreadable(
                "InitUpload gave no usable SecretKey or Token",
            ));
        }
        let expires = integer(auth, "ExpiredTime").filter(|&t| t > 0);
        let expires = expires.ok_or(UpstreamError::Unreadable("InitUpload gave no ExpiredTime"))?;
        let start = integer(auth, "StartTime").unwrap_or(0);

        // "Take the first bucket" of the first (only) file.
        let file = &data["Files"][0];
        let object_key = text(file, "ObjectKey");
        if !is_safe_object_key(&object_key) {
            return Err(UpstreamError::Unreadable(
                "InitUpload gave no usable ObjectKey",
            ));
        }
        let bucket = &file["Buckets"][0];
        let name = text(&bucket["Bucket"], "Name");
        let region = text(&bucket["Bucket"], "Region");
        if !is_dns_label(&name) || !is_dns_label(&region) {
            return Err(UpstreamError::Unreadable(
                "InitUpload gave no usable bucket",
            ));
        }
        Ok(Self {
            credential: CosCredential {
                secret_id,
                secret_key: SecretString::from(secret_key),
                token: SecretString::from(token),
                start,
                expires,
            },
            object_key,
            bucket: name,
            region,
            exists: integer(bucket, "UploadStatus") == Some(1),
        })
    }
}

impl UploadGrant {
    /// InitUpload's own answer shape, so a cache reads its copy back through
    /// [`Self::from_data`] with every check the answer went through.
    pub fn to_data(&self) -> Value {
        let c = &self.credential;
        json!({
            "AuthInfo": {"SecretID": c.secret_id, "SecretKey": c.secret_key(),
                         "Token": c.token(), "StartTime": c.start, "ExpiredTime": c.expires},
            "Files": [{"ObjectKey": self.object_key,
                       "Buckets": [{"Bucket": {"Name": self.bucket, "Region": self.region},
                                    "UploadStatus": u8::from(self.exists)}]}],
        })
    }
}

fn is_header_safe(s: &str) -> bool {
    !s.is_empty() && s.len() <= 4096 && s.bytes().all(|b| b.is_ascii_graphic())
}

/// The key becomes a URL path and is signed as one, so it must need no escaping
/// and must not climb out of the bucket.
fn is_safe_object_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 1024
        && !key.starts_with('/')
        && key
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'.'))
}

/// Bucket names and regions go into a host name.
fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && !s.starts_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn documented_answer() -> Value {
        json!({
            "AuthInfo": {"SecretID": "AKIDexample", "SecretKey": "sk", "Token": "tok-_+/=",
                         "StartTime": 1746537500, "ExpiredTime": 1746559100},
            "Files": [{"FileSha1": "4fbf", "ObjectKey": "songlist/p/1147c/4fbf_c902.png",
                       "Buckets": [{"Bucket": {"Name": "music-file-1258344705", "Region": "ap-guangzhou"},
                                    "UploadStatus": 0}]}]
        })
    }

    #[test]
    fn reads_the_protocol_answer() {
        let grant = UploadGrant::from_data(&documented_answer()).expect("grant");
        assert_eq!(grant.object_key, "songlist/p/1147c/4fbf_c902.png");
        assert_eq!(
            (grant.bucket.as_str(), grant.region.as_str()),
            ("music-file-1258344705", "ap-guangzhou")
        );
        assert_eq!(grant.credential.expires, 1746559100);
        assert_eq!(grant.credential.token(), "tok-_+/=");
        assert!(!grant.exists);
        assert!(
            !format!("{grant:?}").contains("tok-"),
            "Debug hides the token"
        );
    }

    #[test]
    fn refuses_keys_and_buckets_that_would_escape_the_url() {
        for key in ["", "/abs", "a/../b", "a//b", "a b", "a?b", "a#b", "a%2e"] {
            let mut answer = documented_answer();
            answer["Files"][0]["ObjectKey"] = json!(key);
            assert!(UploadGrant::from_data(&answer).is_err(), "{key:?}");
        }
        for name in ["", "Evil", "a.b", "a/b", "x:80"] {
            let mut answer = documented_answer();
            answer["Files"][0]["Buckets"][0]["Bucket"]["Name"] = json!(name);
            assert!(UploadGrant::from_data(&answer).is_err(), "{name:?}");
        }
    }

    #[test]
    fn a_grant_reads_back_from_its_own_data_unchanged() {
        for exists in [0, 1] {
            let mut answer = documented_answer();
            answer["Files"][0]["Buckets"][0]["UploadStatus"] = json!(exists);
            let grant = UploadGrant::from_data(&answer).expect("grant");
            let again = UploadGrant::from_data(&grant.to_data()).expect("again");
            assert_eq!(
                format!(
                    "{grant:?} {} {}",
                    grant.credential.secret_key(),
                    grant.credential.token()
                ),
                format!(
                    "{again:?} {} {}",
                    again.credential.secret_key(),
                    again.credential.token()
                )
            );
        }
    }

    #[test]
    fn refuses_a_missing_credential() {
        let mut answer = documented_answer();
        answer["AuthInfo"]["ExpiredTime"] = json!(0);
        assert!(UploadGrant::from_data(&answer).is_err());
        let mut answer = documented_answer();
        answer["AuthInfo"]["SecretID"] = json!("");
        assert!(UploadGrant::from_data(&answer).is_err());
    }
}
