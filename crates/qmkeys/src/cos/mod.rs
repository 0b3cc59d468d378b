//! The Tencent COS request signature, q-sign-algorithm=sha1 (docs/protocol.md section 6).
//!
//! Pure: a request description, a credential and a key time go in, the
//! `Authorization` value (and every intermediate, for tests) comes out. No I/O,
//! no clock: callers choose the key time.

use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha1::{Digest, Sha1};
use std::borrow::Cow;
use std::fmt;

/// Everything but A-Z a-z 0-9 - _ . ~ is percent-encoded (upper-case hex).
const COS_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `<start>;<end>`, unix seconds: when the signature is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyTime {
    pub start: i64,
    pub end: i64,
}

impl KeyTime {
    /// Seconds a signature is back-dated, for clients whose clocks run behind.
    pub const BACKDATE: i64 = 60;
    /// Seconds a signature stays valid.
    pub const LIFETIME: i64 = 1800;

    /// From `now - 60` to `now + 1800`, but never past the credential's expiry.
    /// `None` when the credential has already expired.
    pub fn for_upload(now: i64, credential_expires: i64) -> Option<Self> {
        let end = now.saturating_add(Self::LIFETIME).min(credential_expires);
        (end > now).then_some(Self {
            start: now.saturating_sub(Self::BACKDATE),
            end,
        })
    }
}

impl fmt::Display for KeyTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{};{}", self.start, self.end)
    }
}

/// The parts of a request that are signed. Every header listed is signed, so
/// list only what the client will really send (never User-Agent or Connection).
#[derive(Debug, Clone, Copy)]
pub struct SignRequest<'a> {
    pub method: &'a str,
    /// The decoded path, e.g. `/exampleobject(腾讯云)`.
    pub path: &'a str,
    pub params: &'a [(&'a str, &'a str)],
    pub headers: &'a [(&'a str, &'a str)],
}

/// A signature with its intermediate values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub sign_key: String,
    pub http_string: String,
    pub http_string_sha1: String,
    pub header_list: String,
    pub param_list: String,
    pub signature: String,
    /// The `Authorization` header value.
    pub authorization: String,
}

pub fn sign(req: &SignRequest<'_>, secret_id: &str, secret_key: &str, key_time: KeyTime) -> Signed {
    let key_time = key_time.to_string();
    let sign_key = hex::encode(hmac_sha1(secret_key.as_bytes(), key_time.as_bytes()));
    let (params, param_list) = canonical(req.params);
    let (headers, header_list) = canonical(req.headers);
    let http_string = format!(
        "{}\n{}\n{params}\n{headers}\n",
        req.method.to_lowercase(),
        req.path
    );
    let http_string_sha1 = hex::encode(Sha1::digest(http_string.as_bytes()));
    let string_to_sign = format!("sha1\n{key_time}\n{http_string_sha1}\n");
    let signature = hex::encode(hmac_sha1(sign_key.as_bytes(), string_to_sign.as_bytes()));
    let authorization = format!(
        "q-sign-algorithm=sha1&q-ak={secret_id}&q-sign-time={key_time}&q-key-time={key_time}\
         &q-header-list={header_list}&q-url-param-list={param_list}&q-signature={signature}"
    );
    Signed {
        sign_key,
        http_string,
        http_string_sha1,
        header_list,
        param_list,
        signature,
        authorization,
    }
}

/// `lower(Encode(name))=Encode(value)` pairs sorted by name and joined with `&`,
/// and the names joined with `;`.
fn canonical(pairs: &[(&str, &str)]) -> (String, String) {
    let mut encoded: Vec<(Cow<'_, str>, Cow<'_, str>)> = pairs
        .iter()
        .map(|(name, value)| {
            let mut name = encode(name);
            // Encoded text is ASCII, so ASCII lower case is all of it.
            if name.bytes().any(|b| b.is_ascii_uppercase()) {
                name.to_mut().make_ascii_lowercase();
            }
            (name, encode(value))
        })
        .collect();
    encoded.sort();
    let size: usize = encoded.iter().map(|(n, v)| n.len() + v.len() + 2).sum();
    let mut joined = String::with_capacity(size);
    let mut names = String::with_capacity(size);
    for (i, (name, value)) in encoded.iter().enumerate() {
        if i > 0 {
            joined.push('&');
            names.push(';');
        }
        joined.push_str(name);
        joined.push('=');
        joined.push_str(value);
        names.push_str(name);
    }
    (joined, names)
}

/// Borrowed when nothing needs escaping, as with most header values.
fn encode(s: &str) -> Cow<'_, str> {
    utf8_percent_encode(s, COS_ENCODE).into()
}

fn hmac_sha1(key: &[u8], msg: &[u8]) -> [u8; 20] {
    // HMAC takes keys of any length; the fallback is unreachable.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key) else {
        return [0; 20];
    };
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

/// `Content-MD5` from the hex the caller sent; it lives with `FileMd5` in `domain/`.
pub use crate::domain::content_md5;

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q";
    const KEY: &str = "BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz";
    const HOST: &str = "examplebucket-1250000000.cos.ap-beijing.myqcloud.com";

    #[test]
    fn vector_a_official_put() {
        let headers = [
            ("Date", "Thu, 16 May 2019 06:45:51 GMT"),
            ("Host", HOST),
            ("Content-Type", "text/plain"),
            ("Content-Length", "13"),
            ("Content-MD5", "mQ/fVh815F3k6TAUm8m0eg=="),
            ("x-cos-acl", "private"),
            ("x-cos-grant-read", "uin=\"100000000011\""),
        ];
        let req = SignRequest {
            method: "PUT",
            path: "/exampleobject(腾讯云)",
            params: &[],
            headers: &headers,
        };
        let signed = sign(
            &req,
            ID,
            KEY,
            KeyTime {
                start: 1557989151,
                end: 1557996351,
            },
        );
        assert_eq!(signed.sign_key, "eb2519b498b02ac213cb1f3d1a3d27a3b3c9bc5f");
        assert_eq!(
            signed.http_string_sha1,
            "8b2751e77f43a0995d6e9eb9477f4b685cca4172"
        );
        assert_eq!(
            signed.header_list,
            "content-length;content-md5;content-type;date;host;x-cos-acl;x-cos-grant-read"
        );
        assert_eq!(signed.param_list, "");
        assert_eq!(signed.signature, "3b8851a11a569213c17ba8fa7dcf2abec6935172");
        assert!(
            signed.authorization.contains("&q-url-param-list=&"),
            "present even when empty"
        );
    }

    #[test]
    fn vector_b_official_get() {
        let params = [
            ("response-content-type", "application/octet-stream"),
            ("response-cache-control", "max-age=600"),
        ];
        let headers = [("Date", "Thu, 16 May 2019 06:55:53 GMT"), ("Host", HOST)];
        let req = SignRequest {
            method: "GET",
            path: "/exampleobject(腾讯云)",
            params: &params,
            headers: &headers,
        };
        let signed = sign(
            &req,
            ID,
            KEY,
            KeyTime {
                start: 1557989753,
                end: 1557996953,
            },
        );
        assert_eq!(signed.sign_key, "937914bf490e9e8c189836aad2052e4feeb35eaf");
        assert_eq!(
            signed.param_list,
            "response-cache-control;response-content-type"
        );
        assert_eq!(
            signed.http_string_sha1,
            "54ecfe22f59d3514fdc764b87a32d8133ea611e6"
        );
        assert_eq!(signed.signature, "01681b8c9d798a678e43b685a9f1bba0f6c0e012");
    }

    #[test]
    fn vector_d_qq_shaped_upload() {
        let headers = [
            (
                "Host",
                "music-file-1258344705.cos.ap-guangzhou.myqcloud.com",
            ),
            ("Content-Length", "51458"),
            ("content-md5", "+FOzn418LmF9ved9ymbUEw=="),
            ("x-cos-security-token", "TOKEN_example-abc+/="),
        ];
        let req = SignRequest {
            method: "PUT",
            path: "/songlist/p/1147c/4fbfbc28bbc4a67850fa90823fcea389fcfcd48d_c902.png",
            params: &[],
            headers: &headers,
        };
        let signed = sign(
            &req,
            "AKIDEXAMPLEQQMUSIC",
            "SECRETKEYEXAMPLE0123456789abcdef",
            KeyTime {
                start: 1746537582,
                end: 1746539442,
            },
        );
        assert_eq!(signed.sign_key, "a941ce9a30e1057db62ed67282e5455b1ce15a4a");
        assert_eq!(
            signed.http_string_sha1,
            "22dab8381c0c9f9267468f7090f9010108e224a7"
        );
        assert_eq!(
            signed.header_list,
            "content-length;content-md5;host;x-cos-security-token"
        );
        assert_eq!(signed.signature, "79e3acea0620f2fc07f9a1c570d04ede41bc5f04");
        assert_eq!(
            signed.authorization,
            "q-sign-algorithm=sha1&q-ak=AKIDEXAMPLEQQMUSIC&q-sign-time=1746537582;1746539442\
             &q-key-time=1746537582;1746539442&q-header-list=content-length;content-md5;host;x-cos-security-token\
             &q-url-param-list=&q-signature=79e3acea0620f2fc07f9a1c570d04ede41bc5f04"
        );
    }

    #[test]
    fn content_md5_is_base64_of_the_raw_digest() {
        assert_eq!(
            content_md5("f853b39f8d7c2e617dbde77dca66d413").as_deref(),
            Some("+FOzn418LmF9ved9ymbUEw==")
        );
        assert_eq!(content_md5("f853"), None);
        assert_eq!(content_md5("zz53b39f8d7c2e617dbde77dca66d413"), None);
    }

    #[test]
    fn key_time_is_backdated_a_minute_and_capped_at_the_credential() {
        assert_eq!(
            KeyTime::for_upload(1000, 100_000),
            Some(KeyTime {
                start: 940,
                end: 2800
            })
        );
        assert_eq!(
            KeyTime::for_upload(1000, 1500),
            Some(KeyTime {
                start: 940,
                end: 1500
            })
        );
        assert_eq!(KeyTime::for_upload(1000, 1000), None);
    }
}
