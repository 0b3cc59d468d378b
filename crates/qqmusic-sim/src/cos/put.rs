//! PUT Object: the checks a temporary-credential upload must pass.
//!
//! Order (the first failure answers): bucket (404 NoSuchBucket), key
//! (400 InvalidURI), size (400 EntityTooLarge), whole body read
//! (400 IncompleteBody), Authorization parses (403 AccessDenied), q-ak issued
//! (403 InvalidAccessKeyId), x-cos-security-token is that credential's Token
//! (403 InvalidToken), credential unexpired (403 ExpiredToken), then
//! [`cos_auth::verify`]: sign time = key time (403 AccessDenied), both cover
//! now (403 RequestTimeTooSkewed), host, content-length, content-md5 and
//! x-cos-security-token signed (403 AccessDenied), signature over the request
//! as received (403 SignatureDoesNotMatch). Then the credential's scope: key
//! time ends by ExpiredTime and the key is one it was issued for
//! (403 AccessDenied). Last the body: Content-Length (400 IncompleteBody),
//! Content-MD5 (400 InvalidDigest). Signature before digest, so a
//! content-md5 altered after signing is SignatureDoesNotMatch, and only a
//! signed content-md5 that misdescribes the body is InvalidDigest.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, Uri};
use axum::response::Response;
use base64::Engine as _;
use md5::{Digest, Md5};
use percent_encoding::percent_decode_str;

use super::body::{read_capped, BodyError, MAX_OBJECT_BYTES};
use super::reply::{self, CosError};
use super::{Target, STAT_PUT_ACCEPTED};
use crate::app::Shared;
use crate::cos_auth::{self, ReceivedRequest, VerifyError};

const TOKEN_HEADER: &str = "x-cos-security-token";

pub async fn put(
    sim: &Shared,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
    target: &Target,
) -> Result<Response, CosError> {
    if target.key.is_empty() {
        return Err(CosError::bad_request(
            "InvalidURI",
            "The object key is empty.",
        ));
    }
    let too_large = || {
        CosError::bad_request(
            "EntityTooLarge",
            format!("Your proposed upload exceeds the maximum allowed object size of {MAX_OBJECT_BYTES} bytes."),
        )
    };
    if declared_length(headers).is_some_and(|n| n > MAX_OBJECT_BYTES as u64) {
        return Err(too_large());
    }
    let body = read_capped(body, MAX_OBJECT_BYTES)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => too_large(),
            BodyError::Incomplete => incomplete("The request body ended early."),
        })?;

    let authorization = text(headers, header::AUTHORIZATION.as_str()).ok_or_else(|| {
        CosError::forbidden("AccessDenied", "The request has no Authorization header.")
    })?;
    let auth = cos_auth::parse_authorization(&authorization)
        .map_err(|e| CosError::forbidden("AccessDenied", format!("Authorization: {e}")))?;
    let now = sim.clock.now();
    let cred = sim
        .uploads()?
        .credential(&auth.ak)
        .cloned()
        .ok_or_else(|| {
            CosError::forbidden(
                "InvalidAccessKeyId",
                "The q-ak is not a SecretID this service issued.",
            )
        })?;
    if text(headers, TOKEN_HEADER).as_deref() != Some(cred.token.as_str()) {
        return Err(CosError::forbidden(
            "InvalidToken",
            "x-cos-security-token is missing or is not the Token issued with this SecretID.",
        ));
    }
    if cred.expires <= now {
        return Err(CosError::forbidden(
            "ExpiredToken",
            format!(
                "The temporary credential expired at {} (now {now}).",
                cred.expires
            ),
        ));
    }

    let params = query_params(uri);
    let received_headers = header_pairs(headers);
    let req = ReceivedRequest {
        method: "PUT",
        path: &target.path,
        params: &params,
        headers: &received_headers,
    };
    cos_auth::verify(&authorization, &cred.secret_key, &req, now).map_err(verify_error)?;

    if auth.key_time.1 > cred.expires {
        return Err(CosError::forbidden(
            "AccessDenied",
            format!(
                "q-key-time ends after the credential's ExpiredTime {}.",
                cred.expires
            ),
        ));
    }
    if !cred.keys.contains(&target.key) {
        return Err(CosError::forbidden(
            "AccessDenied",
            "The temporary credential was not issued for this object key.",
        ));
    }
    check_body(headers, &body)?;

    let object = sim.uploads()?.put(&target.key, body);
    sim.journal()?.count(STAT_PUT_ACCEPTED);
    tracing::info!(key = %target.key, size = object.body.len(), uin = cred.uin, "object stored");
    let mut resp = reply::ok(Body::empty());
    if let Ok(v) = HeaderValue::from_str(&object.etag()) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    Ok(resp)
}

fn incomplete(message: &str) -> CosError {
    CosError::bad_request("IncompleteBody", message)
}

/// Content-Length then Content-MD5 against the bytes received. Both headers
/// are signed by now, so both are present.
fn check_body(headers: &HeaderMap, body: &Bytes) -> Result<(), CosError> {
    if declared_length(headers) != Some(body.len() as u64) {
        return Err(incomplete(
            "The body length does not match the Content-Length header.",
        ));
    }
    let given = text(headers, "content-md5").unwrap_or_default();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(given.trim())
        .unwrap_or_default();
    if decoded.as_slice() != Md5::digest(body).as_slice() {
        return Err(CosError::bad_request(
            "InvalidDigest",
            "The Content-MD5 you specified did not match what was received.",
        ));
    }
    Ok(())
}

fn verify_error(e: VerifyError) -> CosError {
    match e {
        VerifyError::OutsideWindow { .. } => {
            CosError::forbidden("RequestTimeTooSkewed", e.to_string())
        }
        VerifyError::MissingHeader(_) | VerifyError::MissingParam(_) => {
            CosError::forbidden("SignatureDoesNotMatch", e.to_string())
        }
        VerifyError::SignatureMismatch {
            http_string,
            string_to_sign,
        } => CosError::forbidden(
            "SignatureDoesNotMatch",
            format!(
                "The request signature we calculated does not match the signature you provided. HttpString {http_string:?}, StringToSign {string_to_sign:?}."
            ),
        ),
        VerifyError::Malformed(_)
        | VerifyError::SignTimeDiffers
        | VerifyError::UnsignedRequiredHeader(_) => {
            CosError::forbidden("AccessDenied", e.to_string())
        }
    }
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    text(headers, header::CONTENT_LENGTH.as_str())?
        .trim()
        .parse()
        .ok()
}

/// A header's values as text (lossy), repeated ones joined with ",".
fn text(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<String> = headers
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

/// Every header as (lowercase name, value), as the signature sees them.
fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .keys()
        .filter_map(|name| Some((name.as_str().to_owned(), text(headers, name.as_str())?)))
        .collect()
}

/// Query parameters, names and values percent-decoded (`+` stays `+`).
fn query_params(uri: &Uri) -> Vec<(String, String)> {
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    uri.query()
        .unwrap_or_default()
        .split('&')
        .filter(|item| !item.is_empty())
        .map(|item| {
            let (name, value) = item.split_once('=').unwrap_or((item, ""));
            (decode(name), decode(value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params_are_decoded_and_a_bare_name_has_an_empty_value() {
        let uri: Uri = "/cos/b/k?a%20b=c%2Bd&flag&&x=1+2"
            .parse()
            .unwrap_or_default();
        assert_eq!(
            query_params(&uri),
            vec![
                ("a b".to_owned(), "c+d".to_owned()),
                ("flag".to_owned(), String::new()),
                ("x".to_owned(), "1+2".to_owned()),
            ]
        );
    }
}
