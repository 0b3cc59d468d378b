//! Parsing an `Authorization` value (docs/protocol.md section 6 step 8).
//!
//! Strict on purpose: every field exactly once, nothing else, canonical
//! numbers (so the KeyTime text can be rebuilt byte for byte from the
//! numbers), and lists in the sorted lowercase form that step 4 produces.

use super::{AuthError, Authorization};

const FIELDS: [&str; 7] = [
    "q-sign-algorithm",
    "q-ak",
    "q-sign-time",
    "q-key-time",
    "q-header-list",
    "q-url-param-list",
    "q-signature",
];

/// Longest excerpt of the input an error message repeats.
const ECHO_CHARS: usize = 64;

fn echo(s: &str) -> String {
    s.chars().take(ECHO_CHARS).collect()
}

/// Parses `q-sign-algorithm=sha1&q-ak=..&q-sign-time=..&q-key-time=..&q-header-list=..&q-url-param-list=..&q-signature=..`
/// (fields in any order; surrounding whitespace ignored).
pub fn parse_authorization(value: &str) -> Result<Authorization, AuthError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AuthError::Empty);
    }
    let mut found: [Option<&str>; 7] = [None; 7];
    for item in value.split('&') {
        let (name, v) = item
            .split_once('=')
            .ok_or_else(|| AuthError::BadPair(echo(item)))?;
        let idx = FIELDS
            .iter()
            .position(|f| *f == name)
            .ok_or_else(|| AuthError::UnknownField(echo(name)))?;
        let slot = found
            .get_mut(idx)
            .ok_or_else(|| AuthError::UnknownField(echo(name)))?;
        if slot.is_some() {
            return Err(AuthError::DuplicateField(FIELDS[idx]));
        }
        *slot = Some(v);
    }
    let field = |i: usize| -> Result<&str, AuthError> {
        found
            .get(i)
            .copied()
            .flatten()
            .ok_or(AuthError::MissingField(FIELDS[i % FIELDS.len()]))
    };
    let algorithm = field(0)?;
    if algorithm != "sha1" {
        return Err(AuthError::UnsupportedAlgorithm(echo(algorithm)));
    }
    let ak = field(1)?;
    if ak.is_empty() {
        return Err(AuthError::EmptyAk);
    }
    let signature = field(6)?;
    if signature.len() != 40 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AuthError::BadSignature(echo(signature)));
    }
    Ok(Authorization {
        ak: ak.to_owned(),
        sign_time: time_pair("q-sign-time", field(2)?)?,
        key_time: time_pair("q-key-time", field(3)?)?,
        header_list: name_list("q-header-list", field(4)?)?,
        url_param_list: name_list("q-url-param-list", field(5)?)?,
        signature: signature.to_owned(),
    })
}

/// `<start>;<end>`, both canonical non-negative integers.
fn time_pair(field: &'static str, value: &str) -> Result<(i64, i64), AuthError> {
    let bad = || AuthError::BadTime {
        field,
        value: echo(value),
    };
    let (start, end) = value.split_once(';').ok_or_else(bad)?;
    Ok((
        canonical_int(start).ok_or_else(bad)?,
        canonical_int(end).ok_or_else(bad)?,
    ))
}

/// Digits only, no sign, no leading zero (but "0" itself), fits an i64.
fn canonical_int(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

/// Empty, or `;`-joined non-empty names in the signed form, strictly ascending.
fn name_list(field: &'static str, value: &str) -> Result<Vec<String>, AuthError> {
    if value.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<&str> = value.split(';').collect();
    let well_formed = names
        .iter()
        .all(|n| !n.is_empty() && n.bytes().all(signed_name_byte));
    let ascending = names.windows(2).all(|w| w.first() < w.last());
    if !well_formed || !ascending {
        return Err(AuthError::BadList {
            field,
            value: echo(value),
        });
    }
    Ok(names.into_iter().map(str::to_owned).collect())
}

/// Bytes that `lower(Encode(name))` can produce.
fn signed_name_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'%')
}
