//! Request ids: an incoming `x-request-id` is kept when it is short and plain,
//! otherwise one is made; it is in every log line of the request (through the
//! request span) and echoed in the response.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");
/// Longer ids, or ids with other characters, are replaced: they could carry
/// anything into the logs.
const MAX_LEN: usize = 64;

fn acceptable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The request's id: the incoming one when acceptable, else a new one.
pub fn of(req: &Request) -> HeaderValue {
    let incoming = req
        .headers()
        .get(&HEADER)
        .filter(|v| v.to_str().is_ok_and(acceptable));
    if let Some(id) = incoming {
        return id.clone();
    }
    // Hex digits, so always a valid header value; written on the stack, so
    // the header value is the one allocation.
    let mut hex = [0u8; 16];
    match hex::encode_to_slice(rand::random::<[u8; 8]>(), &mut hex) {
        Ok(()) => HeaderValue::from_bytes(&hex).unwrap_or(HeaderValue::from_static("-")),
        Err(_) => HeaderValue::from_static("-"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_ids_are_kept() {
        assert!(acceptable("abc-123_X.y"));
        assert!(!acceptable(""));
        assert!(!acceptable(&"a".repeat(65)));
        for bad in ["a b", "a\nb", "a;b", "键"] {
            assert!(!acceptable(bad), "{bad:?}");
        }
    }
}
