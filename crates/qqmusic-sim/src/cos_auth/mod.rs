//! The COS request signature, `q-sign-algorithm=sha1` (docs/protocol.md section 6):
//! parsing an `Authorization` value, computing a signature, and checking one
//! against the request a bucket actually received.
//!
//! Pure and total: no I/O, no clock, no state, and no input makes it panic
//! (it is fed arbitrary input by property tests and fuzzers).
//!
//! Names in a `q-header-list` / `q-url-param-list`, and the `header_list` /
//! `param_list` arguments below, are the signed forms `lower(Encode(name))`.
//! A request header or parameter is matched to a list entry by computing that
//! form of its own name.

mod parse;
mod sign;

#[cfg(test)]
mod tests;

pub use parse::parse_authorization;
pub use sign::{content_md5, encode, signature_for, signing_steps, SigningSteps};

/// Headers that a temporary-credential upload must sign (docs/protocol.md sections
/// 6 and 7: the browser fixes Host and Content-Length, the body is pinned by
/// Content-MD5, and the token must be signed).
pub const REQUIRED_HEADERS: [&str; 4] = [
    "host",
    "content-length",
    "content-md5",
    "x-cos-security-token",
];

/// A parsed `Authorization` header value (section 6 step 8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// `q-ak`: the SecretID.
    pub ak: String,
    /// `q-sign-time` as (start, end) unix seconds.
    pub sign_time: (i64, i64),
    /// `q-key-time` as (start, end) unix seconds.
    pub key_time: (i64, i64),
    /// `q-header-list` split on `;` (signed forms, ascending).
    pub header_list: Vec<String>,
    /// `q-url-param-list` split on `;` (signed forms, ascending; may be empty).
    pub url_param_list: Vec<String>,
    /// `q-signature`: 40 hex chars.
    pub signature: String,
}

/// The request as the bucket received it.
#[derive(Debug, Clone, Copy)]
pub struct ReceivedRequest<'a> {
    /// HTTP method in any case; it is lowercased for signing.
    pub method: &'a str,
    /// The path, percent-decoded, exactly as received otherwise.
    pub path: &'a str,
    /// Query parameters, names and values percent-decoded, in received order.
    pub params: &'a [(String, String)],
    /// Headers (any case of name) with their values as received.
    pub headers: &'a [(String, String)],
}

/// Why an `Authorization` value does not parse, or a signature cannot be
/// computed for a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the Authorization value is empty")]
    Empty,
    #[error("`{0}` is not a name=value pair")]
    BadPair(String),
    #[error("unknown field `{0}`")]
    UnknownField(String),
    #[error("field `{0}` appears twice")]
    DuplicateField(&'static str),
    #[error("field `{0}` is missing")]
    MissingField(&'static str),
    #[error("q-sign-algorithm must be sha1, not `{0}`")]
    UnsupportedAlgorithm(String),
    #[error("q-ak is empty")]
    EmptyAk,
    #[error("{field} must be `<start>;<end>` in unix seconds, not `{value}`")]
    BadTime { field: &'static str, value: String },
    #[error(
        "{field} must be lowercase names joined by `;` in strictly ascending order, not `{value}`"
    )]
    BadList { field: &'static str, value: String },
    #[error("q-signature must be 40 hex characters, not `{0}`")]
    BadSignature(String),
    #[error("header `{0}` is in the header list but not in the request")]
    MissingHeader(String),
    #[error("parameter `{0}` is in the parameter list but not in the request")]
    MissingParam(String),
}

/// Which check of [`verify`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("malformed Authorization: {0}")]
    Malformed(AuthError),
    /// Step 8 writes KeyTime for both `q-sign-time` and `q-key-time`.
    #[error("q-sign-time differs from q-key-time")]
    SignTimeDiffers,
    #[error("{field} {start};{end} does not cover the current time {now}")]
    OutsideWindow {
        field: &'static str,
        start: i64,
        end: i64,
        now: i64,
    },
    #[error("q-header-list does not sign the required header `{0}`")]
    UnsignedRequiredHeader(&'static str),
    #[error("header `{0}` is signed but not in the request")]
    MissingHeader(String),
    #[error("parameter `{0}` is signed but not in the request")]
    MissingParam(String),
    /// Carries what the bucket computed, to help a client find its mistake.
    #[error("the signature does not match the request")]
    SignatureMismatch {
        http_string: String,
        string_to_sign: String,
    },
}

/// Full check of an Authorization against a request and a secret at time
/// `now`: parse, `q-sign-time == q-key-time`, both windows cover `now`
/// (inclusive), the [`REQUIRED_HEADERS`] are in the header list, then the
/// signature. Does not look at the body or at any token store.
pub fn verify(
    authorization: &str,
    secret_key: &str,
    req: &ReceivedRequest<'_>,
    now: i64,
) -> Result<Authorization, VerifyError> {
    let auth = parse_authorization(authorization).map_err(VerifyError::Malformed)?;
    if auth.sign_time != auth.key_time {
        return Err(VerifyError::SignTimeDiffers);
    }
    for (field, (start, end)) in [
        ("q-key-time", auth.key_time),
        ("q-sign-time", auth.sign_time),
    ] {
        if now < start || now > end {
            return Err(VerifyError::OutsideWindow {
                field,
                start,
                end,
                now,
            });
        }
    }
    if let Some(missing) = REQUIRED_HEADERS
        .iter()
        .find(|h| !auth.header_list.iter().any(|l| l == *h))
    {
        return Err(VerifyError::UnsignedRequiredHeader(missing));
    }
    let key_time = format!("{};{}", auth.key_time.0, auth.key_time.1);
    let steps = signing_steps(
        secret_key,
        &key_time,
        req,
        &auth.header_list,
        &auth.url_param_list,
    )
    .map_err(|e| match e {
        AuthError::MissingHeader(h) => VerifyError::MissingHeader(h),
        AuthError::MissingParam(p) => VerifyError::MissingParam(p),
        other => VerifyError::Malformed(other),
    })?;
    if steps.signature != auth.signature {
        return Err(VerifyError::SignatureMismatch {
            http_string: steps.http_string,
            string_to_sign: steps.string_to_sign,
        });
    }
    Ok(auth)
}
