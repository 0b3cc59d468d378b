//! Upstream answer parsing, end to end through qmkeys' public client: an
//! in-process HTTP server on 127.0.0.1 answers every gateway call with the
//! fuzzer's status and body, and `UpstreamClient::{login, vip_status,
//! init_upload}` reads it (status check, size cap, JSON, the gateway envelope,
//! then `LoginGrant`, `VipStatus` or `UploadGrant`).
//!
//! The answer readers themselves (`LoginGrant::from_data`, `VipStatus::from_data`,
//! `UploadGrant::from_data`, `open_envelope`) are `pub(super)`, so this goes
//! through HTTP; bodies are raw bytes, JSON built from the protocol's own
//! field names, or each answer's own shape with every field present or not
//! and of any type, so that the readers' deeper branches are reached.
//!
//! Beyond "never panics", it checks:
//! - an accepted Login has a key and refresh secrets that fit a Cookie header,
//!   a positive lifetime, and a `Debug` that does not depend on any secret;
//! - an accepted InitUpload has a SecretID and Token that fit a header, an
//!   object key that cannot leave the bucket's path, DNS-label bucket and
//!   region, and a `Debug` that does not depend on SecretKey or Token;
//! - no error's text (it may be logged) repeats anything from the answer, and
//!   every error maps to an envelope whose code is `status * 100 + n`.
#![no_main]

use arbitrary::Arbitrary;
use axum::body::Bytes;
use axum::http::StatusCode;
use libfuzzer_sys::fuzz_target;
use qmkeys::domain::{Credential, MusicKey, RefreshSecret, UploadFile};
use qmkeys::http::error::ApiError;
use qmkeys::upload::SignError;
use qmkeys::upstream::{UpstreamClient, UpstreamError};
use secrecy::SecretString;
use std::sync::{Arc, Mutex, OnceLock};

/// Marks text that comes from the answer; no error message may contain it.
const CANARY: &str = "canary";

const KEYS: &[&str] = &[
    "code",
    "req_0",
    "data",
    "musickey",
    "refresh_key",
    "refresh_token",
    "str_musicid",
    "musicid",
    "musickeyCreateTime",
    "keyExpiresIn",
    "expired_at",
    "identity",
    "LMFlag",
    "vip",
    "LMEnd",
    "HugeVip",
    "HugeVipEnd",
    "AuthInfo",
    "SecretID",
    "SecretKey",
    "Token",
    "StartTime",
    "ExpiredTime",
    "Files",
    "ObjectKey",
    "Buckets",
    "Bucket",
    "Name",
    "Region",
    "UploadStatus",
];

const TEXTS: &[&str] = &[
    "",
    "0",
    "1",
    "-1",
    " 259200 ",
    "1722693959",
    "Q_H_L_canary",
    "W_X_canary",
    "Q_H_L_",
    "Q_H_L_canary;x",
    "2025-09-15 07:20:45",
    "2023-02-30 25:61:61",
    "AKIDcanary",
    "AKID&canary",
    "tok-_+/=canary",
    "songlist/p/1147c/canary.png",
    "/canary",
    "a/../canary",
    "a//canary",
    "music-file-1258344705",
    "ap-guangzhou",
    "Canary.Bucket",
    "canary",
];

#[derive(Arbitrary, Debug)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(u8),
    OtherText(String),
    Array(Vec<Json>),
    Object(Vec<(Key, Json)>),
}

#[derive(Arbitrary, Debug)]
enum Key {
    Known(u8),
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Body {
    Raw(Vec<u8>),
    /// `{"code": top, "req_0": {"code": code, "data": data}}`, parts optional.
    Envelope {
        top: Option<Json>,
        code: Option<Json>,
        data: Option<Json>,
        extra: Vec<(Key, Json)>,
    },
    /// A successful envelope around `data`.
    Success(Json),
    /// A successful envelope around data of the shape each answer has, each
    /// field present or not and of any type.
    Login(LoginData),
    Vip(VipData),
    Upload(UploadData),
}

#[derive(Arbitrary, Debug)]
struct LoginData {
    musickey: Option<Json>,
    refresh_key: Option<Json>,
    refresh_token: Option<Json>,
    str_musicid: Option<Json>,
    musicid: Option<Json>,
    created: Option<Json>,
    expires_in: Option<Json>,
    expired_at: Option<Json>,
}

#[derive(Arbitrary, Debug)]
struct VipData {
    lm_flag: Option<Json>,
    vip: Option<Json>,
    lm_end: Option<Json>,
    huge_vip: Option<Json>,
    huge_vip_end: Option<Json>,
}

#[derive(Arbitrary, Debug)]
struct UploadData {
    secret_id: Option<Json>,
    secret_key: Option<Json>,
    token: Option<Json>,
    start: Option<Json>,
    expired: Option<Json>,
    object_key: Option<Json>,
    name: Option<Json>,
    region: Option<Json>,
    upload_status: Option<Json>,
    more_buckets: Vec<Json>,
    more_files: Vec<Json>,
}

/// An object of the fields that are present.
fn object(fields: &[(&str, &Option<Json>)]) -> serde_json::Value {
    serde_json::Value::Object(
        fields
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| ((*k).to_owned(), value(v))))
            .collect(),
    )
}

fn shaped(body: &Body) -> Option<serde_json::Value> {
    use serde_json::json;
    Some(match body {
        Body::Login(d) => object(&[
            ("musickey", &d.musickey),
            ("refresh_key", &d.refresh_key),
            ("refresh_token", &d.refresh_token),
            ("str_musicid", &d.str_musicid),
            ("musicid", &d.musicid),
            ("musickeyCreateTime", &d.created),
            ("keyExpiresIn", &d.expires_in),
            ("expired_at", &d.expired_at),
        ]),
        Body::Vip(d) => json!({"identity": object(&[
            ("LMFlag", &d.lm_flag),
            ("vip", &d.vip),
            ("LMEnd", &d.lm_end),
            ("HugeVip", &d.huge_vip),
            ("HugeVipEnd", &d.huge_vip_end),
        ])}),
        Body::Upload(d) => {
            let mut buckets = vec![json!({
                "Bucket": object(&[("Name", &d.name), ("Region", &d.region)]),
                "UploadStatus": d.upload_status.as_ref().map_or(json!(0), value),
            })];
            buckets.extend(d.more_buckets.iter().map(value));
            let mut files = vec![json!({
                "FileSha1": "4fbfbc28bbc4a67850fa90823fcea389fcfcd48d",
                "ObjectKey": d.object_key.as_ref().map(value),
                "Buckets": buckets,
            })];
            files.extend(d.more_files.iter().map(value));
            json!({
                "AuthInfo": object(&[
                    ("SecretID", &d.secret_id),
                    ("SecretKey", &d.secret_key),
                    ("Token", &d.token),
                    ("StartTime", &d.start),
                    ("ExpiredTime", &d.expired),
                ]),
                "Files": files,
            })
        }
        _ => return None,
    })
}

#[derive(Arbitrary, Debug)]
enum Call {
    Login,
    Vip,
    InitUpload,
}

#[derive(Arbitrary, Debug)]
struct Input {
    call: Call,
    /// None: 200.
    status: Option<u16>,
    body: Body,
}

fn value(j: &Json) -> serde_json::Value {
    use serde_json::Value as V;
    match j {
        Json::Null => V::Null,
        Json::Bool(b) => V::Bool(*b),
        Json::Int(i) => V::from(*i),
        Json::Float(f) => serde_json::Number::from_f64(*f).map_or(V::Null, V::Number),
        Json::Text(i) => V::from(TEXTS[usize::from(*i) % TEXTS.len()]),
        Json::OtherText(s) => V::from(format!("{s}{CANARY}")),
        Json::Array(items) => V::Array(items.iter().map(value).collect()),
        Json::Object(fields) => V::Object(fields.iter().map(|(k, v)| (key(k), value(v))).collect()),
    }
}

fn key(k: &Key) -> String {
    match k {
        Key::Known(i) => KEYS[usize::from(*i) % KEYS.len()].to_owned(),
        Key::Other(s) => s.clone(),
    }
}

fn render(body: &Body) -> Vec<u8> {
    use serde_json::{json, Map, Value};
    let answer = match body {
        Body::Raw(bytes) => return bytes.clone(),
        Body::Envelope {
            top,
            code,
            data,
            extra,
        } => {
            let mut req = Map::new();
            if let Some(c) = code {
                req.insert("code".into(), value(c));
            }
            if let Some(d) = data {
                req.insert("data".into(), value(d));
            }
            let mut top_map: Map<String, Value> =
                extra.iter().map(|(k, v)| (key(k), value(v))).collect();
            if let Some(t) = top {
                top_map.insert("code".into(), value(t));
            }
            top_map.insert("req_0".into(), Value::Object(req));
            Value::Object(top_map)
        }
        Body::Success(data) => json!({"code": 0, "req_0": {"code": 0, "data": value(data)}}),
        other => json!({"code": 0, "req_0": {"code": 0, "data": shaped(other)}}),
    };
    serde_json::to_vec(&answer).unwrap_or_default()
}

struct Harness {
    rt: tokio::runtime::Runtime,
    client: UpstreamClient,
    reply: Arc<Mutex<(StatusCode, Bytes)>>,
    cred: Credential,
    file: UploadFile,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let reply = Arc::new(Mutex::new((StatusCode::OK, Bytes::new())));
        let served = Arc::clone(&reply);
        let app = axum::Router::new().fallback(move || {
            let served = Arc::clone(&served);
            async move { served.lock().map(|r| r.clone()).unwrap_or_default() }
        });
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind loopback");
        let addr = listener.local_addr().expect("address");
        rt.spawn(async move { axum::serve(listener, app).await });

        let settings = qmkeys::Settings {
            upstream: qmkeys::config::UpstreamConfig {
                base: url::Url::parse(&format!("http://{addr}")).expect("url"),
                timeout_ms: 5_000,
                // Every answer is read: no retry, and a breaker that never opens.
                retries: 0,
                breaker_failures: u32::MAX,
                ..qmkeys::config::UpstreamConfig::default()
            },
            ..qmkeys::Settings::default()
        };
        let client = qmkeys::startup::upstream_client(&settings).expect("client");
        let cred = Credential::parse(
            Some("1569097443"),
            Some("Q_H_L_fuzz"),
            Some("rk"),
            Some("rt"),
        )
        .expect("credential");
        let file = UploadFile::parse(
            Some("4fbfbc28bbc4a67850fa90823fcea389fcfcd48d"),
            Some("f853b39f8d7c2e617dbde77dca66d413"),
            Some("51458"),
            None,
            20 << 20,
        )
        .expect("file");
        Harness {
            rt,
            client,
            reply,
            cred,
            file,
        }
    })
}

fuzz_target!(|input: Input| {
    let h = harness();
    let status = input
        .status
        .and_then(|s| StatusCode::from_u16(200 + s % 400).ok())
        .unwrap_or(StatusCode::OK);
    if let Ok(mut reply) = h.reply.lock() {
        *reply = (status, Bytes::from(render(&input.body)));
    }
    match input.call {
        Call::Login => match h.rt.block_on(h.client.login(&h.cred)) {
            Ok(grant) => {
                let key = grant.key.expose();
                assert!(safe_secret(key) && key.len() > grant.key.kind().key_prefix().len());
                for s in [&grant.refresh_key, &grant.refresh_token]
                    .into_iter()
                    .flatten()
                {
                    assert!(safe_secret(s.expose()));
                }
                assert!(grant.expires_in > 0);
                assert!(grant.created_at.is_none_or(|t| t > 0));
                assert_ne!(grant.account, Some(0));
                let mut stand_in = grant.clone();
                stand_in.key = MusicKey::parse(&format!("{}x", grant.key.kind().key_prefix()))
                    .expect("dummy key");
                let dummy = || RefreshSecret::parse_optional("x", Some("x")).ok().flatten();
                stand_in.refresh_key = stand_in.refresh_key.and_then(|_| dummy());
                stand_in.refresh_token = stand_in.refresh_token.and_then(|_| dummy());
                assert_eq!(format!("{grant:?}"), format!("{stand_in:?}"));
            }
            Err(err) => check_error(err, false),
        },
        Call::Vip => {
            if let Err(err) = h.rt.block_on(h.client.vip_status(h.cred.uin, &h.cred.key)) {
                check_error(err, false);
            }
        }
        Call::InitUpload => match h.rt.block_on(h.client.init_upload(&h.cred, &h.file)) {
            Ok(grant) => {
                let c = &grant.credential;
                assert!(header_safe(&c.secret_id) && !c.secret_id.contains(['&', '=', ';']));
                assert!(header_safe(c.token()));
                assert!(!c.secret_key().is_empty());
                assert!(c.expires > 0);
                let k = &grant.object_key;
                assert!(
                    !k.is_empty() && k.len() <= 1024 && !k.starts_with('/'),
                    "{k:?}"
                );
                assert!(
                    k.split('/').all(|s| !s.is_empty() && s != "." && s != ".."),
                    "{k:?}"
                );
                assert!(k
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'.')));
                for label in [&grant.bucket, &grant.region] {
                    assert!(!label.is_empty() && label.len() <= 63 && !label.starts_with('-'));
                    assert!(label
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
                }
                let mut stand_in = grant.clone();
                stand_in.credential.secret_key = SecretString::from("x");
                stand_in.credential.token = SecretString::from("x");
                assert_eq!(format!("{grant:?}"), format!("{stand_in:?}"));
            }
            Err(err) => check_error(err, true),
        },
    }
});

fn check_error(err: UpstreamError, upload_account: bool) {
    let text = format!("{err} {err:?}");
    assert!(!text.contains(CANARY), "error repeats the answer: {text}");
    assert!(
        !matches!(err, UpstreamError::CircuitOpen | UpstreamError::Busy),
        "the harness never opens the breaker: {err}"
    );
    let api = if upload_account {
        ApiError::Sign(SignError::Account(err))
    } else {
        ApiError::Upstream(err)
    };
    let parts = api.parts();
    assert!(
        parts.status.is_client_error() || parts.status.is_server_error(),
        "{parts:?}"
    );
    assert_eq!(i32::from(parts.status.as_u16()), parts.code / 100);
    assert!(!parts.message.contains(CANARY));
}

fn safe_secret(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 1024
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'"' | b'\\'))
}

fn header_safe(s: &str) -> bool {
    !s.is_empty() && s.len() <= 4096 && s.bytes().all(|b| b.is_ascii_graphic())
}
