//! `music.filesys.FileSystem.InitUpload` and `.FinishUpload` (docs/protocol.md
//! section 5): temporary COS credentials for an upload, and its confirmation.

use serde_json::{json, Value};

use super::session::require_login;
use super::upload_params::{parse_finish, parse_init, FileSpec};
use super::{Call, Reply};
use crate::codes;
use crate::error::SimError;
use crate::uploads::{BUCKET, CDN_PREFIX, REGION};

/// Login first (1000 / 20277), then the param shape (500001), then a fresh
/// credential scoped to the files' ObjectKeys.
pub fn init(call: &Call<'_>) -> Result<Reply, SimError> {
    let uin = match require_login(call)? {
        Ok(uin) => uin,
        Err(code) => return Ok(refuse(code, init_failure())),
    };
    let Some(files) = parse_init(call.param) else {
        return Ok(refuse(codes::BAD_REQUEST, init_failure()));
    };
    let keys: Vec<String> = files.iter().map(FileSpec::object_key).collect();
    let now = call.sim.clock.now();
    let lifetime = call.sim.config.upload_credential_lifetime_secs();
    let (cred, present) = {
        let mut uploads = call.sim.uploads()?;
        let present: Vec<bool> = keys.iter().map(|k| uploads.exists(k)).collect();
        (uploads.issue(uin, keys.clone(), now, lifetime), present)
    };
    tracing::info!(uin, files = files.len(), "upload credential issued");
    let entries: Vec<Value> = files
        .iter()
        .zip(keys.iter().zip(present))
        .map(|(f, (key, exists))| {
            json!({
                "FileSha1": f.sha1,
                "ObjectKey": key,
                "Buckets": [{
                    "Bucket": {"Name": BUCKET, "Region": REGION},
                    "UploadStatus": u8::from(exists),
                }],
            })
        })
        .collect();
    Ok(Reply {
        code: codes::OK,
        data: json!({
            "AuthInfo": {
                "SecretID": cred.secret_id,
                "SecretKey": cred.secret_key,
                "Token": cred.token,
                "StartTime": cred.start,
                "ExpiredTime": cred.expires,
            },
            "Files": entries,
        }),
    })
}

/// InitUpload's failure shape: the success fields, emptied.
pub fn init_failure() -> Value {
    json!({
        "AuthInfo": {"SecretID": "", "SecretKey": "", "Token": "", "StartTime": 0, "ExpiredTime": 0},
        "Files": [],
    })
}

/// Login, then shape; answers each result's CDN URL and whether the object
/// is in the bucket now (`Exists`), in the order sent.
pub fn finish(call: &Call<'_>) -> Result<Reply, SimError> {
    if let Err(code) = require_login(call)? {
        return Ok(refuse(code, finish_failure()));
    }
    let Some(results) = parse_finish(call.param) else {
        return Ok(refuse(codes::BAD_REQUEST, finish_failure()));
    };
    let uploads = call.sim.uploads()?;
    let answers: Vec<Value> = results
        .iter()
        .map(|r| {
            let exists = r.bucket == BUCKET && r.region == REGION && uploads.exists(&r.key);
            json!({"ObjectKey": r.key, "URL": format!("{CDN_PREFIX}{}", r.key), "Exists": exists})
        })
        .collect();
    Ok(Reply {
        code: codes::OK,
        data: json!({ "Results": answers }),
    })
}

pub fn finish_failure() -> Value {
    json!({ "Results": [] })
}

fn refuse(code: i64, data: Value) -> Reply {
    Reply { code, data }
}
