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

/// Keeps an acceptable incoming id, or puts a new one in the request's
/// headers; answers it, for the response.
pub fn assign(req: &mut Request) -> HeaderValue {
    let incoming = req.headers().get(&HEADER).and_then(|v| v.to_str().ok());
    if let Some(id) = incoming.filter(|id| acceptable(id)) {
        // Only [A-Za-z0-9._-], so always a valid header value.
        if let Ok(value) = HeaderValue::from_str(id) {
            return value;
        }
    }
    let id = hex::encode(rand::random::<[u8; 8]>());
    let value = HeaderValue::from_str(&id).unwrap_or(HeaderValue::from_static("-"));
    req.headers_mut().insert(HEADER, value.clone());
    value
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
