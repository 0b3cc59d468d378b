//! Test-side client for uploads: InitUpload over musics.fcg, and a COS
//! signer written again from docs/protocol.md section 6 (not the crate's), so the
//! bucket is checked against an independent reading of the text.

use std::fmt::Write as _;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use md5::{Digest as _, Md5};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha1::Sha1;

use crate::common::{hash33, str_of, Account, Harness};

pub const BUCKET: &str = "music-file-1258344705";
pub const INIT: &str = "music.filesys.FileSystem.InitUpload";
pub const FINISH: &str = "music.filesys.FileSystem.FinishUpload";

/// What InitUpload handed out for one file, plus the file itself.
#[derive(Debug, Clone)]
pub struct Upload {
    pub secret_id: String,
    pub secret_key: String,
    pub token: String,
    pub start: i64,
    pub expired: i64,
    pub object_key: String,
    pub body: Vec<u8>,
}

impl Upload {
    /// The path a client signs and sends: endpoint `/cos/{bucket}` + `/` + key.
    pub fn path(&self) -> String {
        format!("/cos/{BUCKET}/{}", self.object_key)
    }
}

/// A bucket answer: status, headers, body text.
pub struct CosAnswer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl CosAnswer {
    /// The `<Code>` of an XML error body ("" when there is none).
    pub fn code(&self) -> &str {
        let Some((_, rest)) = self.text.split_once("<Code>") else {
            return "";
        };
        rest.split_once("</Code>").map_or("", |(code, _)| code)
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Asserts an XML error with this status and code.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status.as_u16(), self.code()),
            (status, code),
            "{}",
            self.text
        );
        assert_eq!(self.header("content-type"), "application/xml");
        assert!(
            self.text
                .starts_with("<?xml version='1.0' encoding='utf-8' ?><Error><Code>"),
            "{}",
            self.text
        );
        for tag in ["<Message>", "<Resource>", "<RequestId>"] {
            assert!(self.text.contains(tag), "{tag} in {}", self.text);
        }
    }
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn hmac_hex(key: &[u8], msg: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(msg.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The Authorization value for `method path` with `signed` headers (names in
/// any case) and no query parameters, section 6 steps 1-8.
pub fn authorization(
    ak: &str,
    secret_key: &str,
    key_time: (i64, i64),
    method: &str,
    path: &str,
    signed: &[(&str, &str)],
) -> String {
    let key_time = format!("{};{}", key_time.0, key_time.1);
    let mut pairs: Vec<(String, String)> = signed
        .iter()
        .map(|(n, v)| (encode(n).to_lowercase(), encode(v)))
        .collect();
    pairs.sort();
    let list: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
    let lines: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect();
    let http = format!("{}\n{path}\n\n{}\n", method.to_lowercase(), lines.join("&"));
    let to_sign = format!(
        "sha1\n{key_time}\n{}\n",
        hex::encode(Sha1::digest(http.as_bytes()))
    );
    let sign_key = hmac_hex(secret_key.as_bytes(), &key_time);
    let signature = hmac_hex(sign_key.as_bytes(), &to_sign);
    format!(
        "q-sign-algorithm=sha1&q-ak={ak}&q-sign-time={key_time}&q-key-time={key_time}&q-header-list={}&q-url-param-list=&q-signature={signature}",
        list.join(";")
    )
}

pub fn content_md5(body: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Md5::digest(body))
}

pub fn sha1_hex(body: &[u8]) -> String {
    hex::encode(Sha1::digest(body))
}

impl Harness {
    /// `host:port` as reqwest sends it in Host.
    pub fn host(&self) -> String {
        self.sim.addr().to_string()
    }

    pub async fn now(&self) -> i64 {
        self.get("/_sim/clock").await["now"]
            .as_i64()
            .expect("clock answers a number")
    }

    /// POSTs `body` zzc-signed to musics.fcg with the account's key in the
    /// cookie and comm, as a logged-in client does.
    pub async fn musics_as(&self, acct: &Account, key: &str, mut body: Value) -> Value {
        body["comm"] = json!({"ct": "19", "cv": "2201", "uin": acct.uin.to_string(),
                              "g_tk": hash33(key).to_string()});
        let text = body.to_string();
        let sign = qqmusic_sim::zzc::sign(text.as_bytes());
        let resp = self
            .http
            .post(self.url(&format!("/cgi-bin/musics.fcg?sign={sign}&_=1")))
            .header("Cookie", format!("uin={}; qqmusic_key={key}", acct.uin))
            .body(text)
            .send()
            .await
            .expect("musics.fcg answers");
        assert_eq!(resp.status(), 200);
        resp.json().await.expect("JSON envelope")
    }

    /// InitUpload for `files` with the account's current key; answers req_0.
    pub async fn init_upload(&self, acct: &Account, files: Value) -> Value {
        let body = json!({"req_0": {"module": "music.filesys.FileSystem", "method": "InitUpload",
                                    "param": {"BusID": "songlist", "Files": files}}});
        self.musics_as(acct, &acct.musickey, body).await["req_0"].clone()
    }

    /// InitUpload for one file with these bytes; asserts success.
    pub async fn upload_for(&self, acct: &Account, name: &str, body: &[u8]) -> Upload {
        let files = json!([{"FileSha1": sha1_hex(body), "FileName": name, "FileSize": body.len()}]);
        let sub = self.init_upload(acct, files).await;
        assert_eq!(sub["code"], 0, "{sub}");
        let auth = &sub["data"]["AuthInfo"];
        Upload {
            secret_id: str_of(auth, "SecretID").to_owned(),
            secret_key: str_of(auth, "SecretKey").to_owned(),
            token: str_of(auth, "Token").to_owned(),
            start: auth["StartTime"].as_i64().unwrap_or_default(),
            expired: auth["ExpiredTime"].as_i64().unwrap_or_default(),
            object_key: str_of(&sub["data"]["Files"][0], "ObjectKey").to_owned(),
            body: body.to_vec(),
        }
    }

    /// The headers a correct upload of `up` sends besides Host and
    /// Content-Length (which reqwest sets, as a browser would), with a key
    /// time of [now - 60, now + 1800] like the public API's (docs/protocol.md
    /// section 6 step 1).
    pub async fn good_put_headers(&self, up: &Upload) -> Vec<(String, String)> {
        let now = self.now().await;
        self.put_headers(up, (now - 60, now + 1800), &up.secret_key, true)
    }

    /// Upload headers signed with `secret` over `key_time`; `sign_md5` false
    /// leaves content-md5 out of the header list.
    pub fn put_headers(
        &self,
        up: &Upload,
        key_time: (i64, i64),
        secret: &str,
        sign_md5: bool,
    ) -> Vec<(String, String)> {
        let md5 = content_md5(&up.body);
        let len = up.body.len().to_string();
        let host = self.host();
        let mut signed = vec![
            ("Host", host.as_str()),
            ("Content-Length", len.as_str()),
            ("x-cos-security-token", up.token.as_str()),
        ];
        if sign_md5 {
            signed.push(("Content-MD5", md5.as_str()));
        }
        let auth = authorization(&up.secret_id, secret, key_time, "PUT", &up.path(), &signed);
        vec![
            ("Content-MD5".into(), md5),
            ("x-cos-security-token".into(), up.token.clone()),
            ("Authorization".into(), auth),
        ]
    }

    /// Sends `method path` to the bucket with exactly these extra headers.
    pub async fn cos(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> CosAnswer {
        let mut req = self.http.request(method, self.url(path)).body(body);
        for (n, v) in headers {
            req = req.header(n.as_str(), v.as_str());
        }
        let resp = req.send().await.expect("bucket answers");
        CosAnswer {
            status: resp.status(),
            headers: resp.headers().clone(),
            text: resp.text().await.expect("bucket body"),
        }
    }

    pub async fn put(&self, up: &Upload, headers: &[(String, String)]) -> CosAnswer {
        self.cos(reqwest::Method::PUT, &up.path(), headers, up.body.clone())
            .await
    }
}

/// Replaces the value of header `name` (case-insensitive) in `headers`.
pub fn with_header(headers: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            let v = if n.eq_ignore_ascii_case(name) {
                value
            } else {
                v
            };
            (n.clone(), v.to_owned())
        })
        .collect()
}

/// A PNG-ish body that differs per call site.
pub fn file_bytes(tag: &str) -> Vec<u8> {
    let mut body = b"\x89PNG\r\n\x1a\n".to_vec();
    body.extend(tag.as_bytes());
    body.extend((0..=255u8).cycle().take(51_458 - body.len()));
    body
}
