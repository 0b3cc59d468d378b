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
    let parts = Parts::compute(req, secret_key, key_time);
    Signed {
        sign_key: text(&parts.sign_key).to_owned(),
        http_string_sha1: text(&parts.http_string_sha1).to_owned(),
        signature: text(&parts.signature).to_owned(),
        authorization: parts.authorization(secret_id),
        http_string: parts.http_string,
        header_list: parts.header_list,
        param_list: parts.param_list,
    }
}

/// The `Authorization` value alone: [`sign`]'s, without a `String` for each
/// intermediate (the signature of every upload is made here).
pub fn authorization(
    req: &SignRequest<'_>,
    secret_id: &str,
    secret_key: &str,
    key_time: KeyTime,
) -> String {
    Parts::compute(req, secret_key, key_time).authorization(secret_id)
}

/// Lower-case hex of a 20-byte digest.
type Hex = [u8; 40];

fn hex40(digest: impl AsRef<[u8]>) -> Hex {
    let mut out = [0u8; 40];
    // 20 bytes always fill 40 hex digits; anything else leaves zeros, never a panic.
    let _ = hex::encode_to_slice(digest, &mut out);
    out
}

fn text(hex: &Hex) -> &str {
    std::str::from_utf8(hex).unwrap_or_default()
}

/// Every step of the signature (protocol.md section 6), computed once for
/// [`sign`] and [`authorization`] alike.
struct Parts {
    key_time: String,
    sign_key: Hex,
    http_string: String,
    http_string_sha1: Hex,
    header_list: String,
    param_list: String,
    signature: Hex,
}

impl Parts {
    fn compute(req: &SignRequest<'_>, secret_key: &str, key_time: KeyTime) -> Self {
        let key_time = key_time.to_string();
        let sign_key = hex40(hmac_sha1(secret_key.as_bytes(), &[key_time.as_bytes()]));
        let mut http_string = String::with_capacity(256);
        if req.method.is_ascii() {
            http_string.extend(req.method.chars().map(|c| c.to_ascii_lowercase()));
        } else {
            http_string.push_str(&req.method.to_lowercase());
        }
        http_string.push('\n');
        http_string.push_str(req.path);
        http_string.push('\n');
        let param_list = canonical(req.params, &mut http_string);
        http_string.push('\n');
        let header_list = canonical(req.headers, &mut http_string);
        http_string.push('\n');
        let http_string_sha1 = hex40(Sha1::digest(http_string.as_bytes()));
        // StringToSign, `sha1\n<key time>\n<sha1 of HttpString>\n`, fed to the MAC in pieces.
        let signature = hex40(hmac_sha1(
            &sign_key,
            &[
                b"sha1\n",
                key_time.as_bytes(),
                b"\n",
                &http_string_sha1,
                b"\n",
            ],
        ));
        Self {
            key_time,
            sign_key,
            http_string,
            http_string_sha1,
            header_list,
            param_list,
            signature,
        }
    }

    fn authorization(&self, secret_id: &str) -> String {
        let key_time = self.key_time.as_str();
        let pieces = [
            "q-sign-algorithm=sha1&q-ak=",
            secret_id,
            "&q-sign-time=",
            key_time,
            "&q-key-time=",
            key_time,
            "&q-header-list=",
            &self.header_list,
            "&q-url-param-list=",
            &self.param_list,
            "&q-signature=",
            text(&self.signature),
        ];
        let mut out = String::with_capacity(pieces.iter().map(|p| p.len()).sum());
        for piece in pieces {
            out.push_str(piece);
        }
        out
    }
}

/// Writes `lower(Encode(name))=Encode(value)` pairs sorted by name (then
/// value) and joined with `&` into `out`, and answers the names joined with `;`.
fn canonical(pairs: &[(&str, &str)], out: &mut String) -> String {
    let mut named: Vec<(Cow<'_, str>, &str)> = pairs
        .iter()
        .map(|(name, value)| {
            let mut name = encode(name);
            // Encoded text is ASCII, so ASCII lower case is all of it.
            if name.bytes().any(|b| b.is_ascii_uppercase()) {
                name.to_mut().make_ascii_lowercase();
            }
            (name, *value)
        })
        .collect();
    // Values are compared encoded, and only when two names are the same.
    named.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| encode(a.1).cmp(&encode(b.1))));
    let mut names = String::with_capacity(named.iter().map(|(n, _)| n.len() + 1).sum());
    for (i, (name, value)) in named.iter().enumerate() {
        if i > 0 {
            out.push('&');
            names.push(';');
        }
        out.push_str(name);
        out.push('=');
        for piece in utf8_percent_encode(value, COS_ENCODE) {
            out.push_str(piece);
        }
        names.push_str(name);
    }
    names
}

/// Borrowed when nothing needs escaping, as with most header values.
fn encode(s: &str) -> Cow<'_, str> {
    utf8_percent_encode(s, COS_ENCODE).into()
}

/// HMAC-SHA1 of the message's pieces, one after another.
fn hmac_sha1(key: &[u8], msg: &[&[u8]]) -> [u8; 20] {
    // HMAC takes keys of any length; the fallback is unreachable.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key) else {
        return [0; 20];
    };
    for piece in msg {
        mac.update(piece);
    }
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

    proptest::proptest! {
        #[test]
        fn the_authorization_alone_is_the_full_signatures(
            method in "(PUT|GET|post|Δelete)",
            path in "/[a-zA-Z0-9()腾讯/ _.-]{0,30}",
            headers in proptest::collection::vec(("[a-zA-Z-]{1,8}", "[ -~腾]{0,12}"), 0..6),
            params in proptest::collection::vec(("[a-zA-Z-]{1,8}", "[ -~]{0,12}"), 0..4),
            start in 0i64..2_000_000_000,
        ) {
            let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let params: Vec<(&str, &str)> = params.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let req = SignRequest { method: &method, path: &path, params: &params, headers: &headers };
            let key_time = KeyTime { start, end: start + 1800 };
            proptest::prop_assert_eq!(
                authorization(&req, ID, KEY, key_time),
                sign(&req, ID, KEY, key_time).authorization
            );
        }
    }

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
