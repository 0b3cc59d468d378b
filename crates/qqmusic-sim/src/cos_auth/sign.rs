//! Computing a signature (docs/protocol.md section 6 steps 1-7).

use std::fmt::Write as _;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use md5::Md5;
use sha1::{Digest, Sha1};

use super::{AuthError, ReceivedRequest};

/// Every intermediate value of one signature, for tests and error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningSteps {
    /// hex(HMAC-SHA1(SecretKey, KeyTime)).
    pub sign_key: String,
    /// The `q-url-param-list` value: signed names joined by `;`, ascending.
    pub url_param_list: String,
    /// The `q-header-list` value.
    pub header_list: String,
    /// `lower(method)\npath\nparams\nheaders\n`.
    pub http_string: String,
    /// hex(SHA1(HttpString)).
    pub http_string_sha1: String,
    /// `sha1\nKeyTime\nhex(SHA1(HttpString))\n`.
    pub string_to_sign: String,
    /// hex(HMAC-SHA1(key = SignKey's 40 ASCII chars, StringToSign)).
    pub signature: String,
}

/// Step 3: UTF-8 percent-encoding with upper-case hex, leaving only
/// `A-Z a-z 0-9 - _ . ~` as they are.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Content-MD5 as section 6 defines it: base64 of the 16 raw MD5 bytes.
pub fn content_md5(body: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Md5::digest(body))
}

/// The signature for `req` (section 6 steps 2-7). `header_list` and
/// `param_list` name what to sign, in signed form; each is matched to the
/// first request header / parameter whose `lower(Encode(name))` equals it.
/// A listed name absent from the request is an error, never skipped.
pub fn signature_for(
    secret_key: &str,
    key_time: &str,
    req: &ReceivedRequest<'_>,
    header_list: &[String],
    param_list: &[String],
) -> Result<String, AuthError> {
    signing_steps(secret_key, key_time, req, header_list, param_list).map(|s| s.signature)
}

/// [`signature_for`] with every intermediate value.
pub fn signing_steps(
    secret_key: &str,
    key_time: &str,
    req: &ReceivedRequest<'_>,
    header_list: &[String],
    param_list: &[String],
) -> Result<SigningSteps, AuthError> {
    let (url_param_list, params) =
        signed_pairs(req.params, param_list).map_err(AuthError::MissingParam)?;
    let (header_list, headers) =
        signed_pairs(req.headers, header_list).map_err(AuthError::MissingHeader)?;
    let http_string = format!(
        "{}\n{}\n{params}\n{headers}\n",
        req.method.to_ascii_lowercase(),
        req.path
    );
    let http_string_sha1 = hex::encode(Sha1::digest(http_string.as_bytes()));
    let string_to_sign = format!("sha1\n{key_time}\n{http_string_sha1}\n");
    let sign_key = hmac_sha1_hex(secret_key.as_bytes(), key_time.as_bytes());
    let signature = hmac_sha1_hex(sign_key.as_bytes(), string_to_sign.as_bytes());
    Ok(SigningSteps {
        sign_key,
        url_param_list,
        header_list,
        http_string,
        http_string_sha1,
        string_to_sign,
        signature,
    })
}

/// Step 4 for the listed names: (`;`-joined names, `&`-joined `name=Encode(value)`),
/// both sorted by name. Err carries the first listed name the request lacks.
fn signed_pairs(
    received: &[(String, String)],
    list: &[String],
) -> Result<(String, String), String> {
    let mut pairs = Vec::with_capacity(list.len());
    for name in list {
        let value = received
            .iter()
            .find(|(n, _)| encode(n).to_ascii_lowercase() == *name)
            .map(|(_, v)| v)
            .ok_or_else(|| name.clone())?;
        pairs.push((name.as_str(), encode(value)));
    }
    pairs.sort();
    let names: Vec<&str> = pairs.iter().map(|(n, _)| *n).collect();
    let lines: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect();
    Ok((names.join(";"), lines.join("&")))
}

fn hmac_sha1_hex(key: &[u8], msg: &[u8]) -> String {
    match Hmac::<Sha1>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(msg);
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length, so this cannot happen; an empty
        // string never equals a 40-hex q-signature, so it fails closed.
        Err(_) => String::new(),
    }
}
