//! Who a gateway call claims to be: cookies, `comm.uin`, and the `g_tk` check.

use axum::http::{header, HeaderMap};
use serde_json::{Map, Value};

use crate::zzc::hash33;

/// The credentials a call carries outside of its `param`: the cookies
/// `uin` and `qqmusic_key` (docs/protocol.md section 1). A call that lacks
/// either is logged out, as the real gateway treats it, so both are `None`;
/// `qm_keyst`, `comm.uin` and `comm.authst` alone log nobody in.
#[derive(Debug, Default, Clone)]
pub struct Creds {
    /// The `qqmusic_key` cookie.
    pub key: Option<String>,
    /// The `uin` cookie; "0" and "" count as absent.
    pub uin: Option<u64>,
}

impl Creds {
    pub fn from_request(headers: &HeaderMap) -> Self {
        let cookies = cookie_header(headers);
        let cookie = |name: &str| cookie_value(&cookies, name).filter(|v| !v.is_empty());
        let key = cookie("qqmusic_key").map(str::to_owned);
        let uin = cookie("uin").and_then(parse_uin).filter(|&u| u != 0);
        match (key, uin) {
            (Some(key), Some(uin)) => Self {
                key: Some(key),
                uin: Some(uin),
            },
            _ => Self::default(),
        }
    }

    /// Whether the call carries a session at all (both cookies).
    pub fn logged_in(&self) -> bool {
        self.key.is_some() && self.uin.is_some()
    }
}

/// The whole Cookie header ("" when absent); several headers are joined.
pub fn cookie_header(headers: &HeaderMap) -> String {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join("; ")
}

fn cookie_value<'a>(cookies: &'a str, name: &str) -> Option<&'a str> {
    cookies
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim())
}

/// Real cookies write QQ uins as `o0123456`; accept that and plain digits.
fn parse_uin(s: &str) -> Option<u64> {
    s.strip_prefix('o').unwrap_or(s).parse().ok()
}

/// A number, or a string of digits (comm values are strings on the wire).
pub fn value_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => parse_uin(s),
        _ => None,
    }
}

/// Whether every `g_tk` field present in `comm` equals hash33(`key`).
/// Absent fields pass: only a present, wrong value disowns the key.
pub fn g_tk_matches(comm: &Map<String, Value>, key: &str) -> bool {
    let expected = u64::from(hash33(key));
    ["g_tk", "g_tk_new_20200303"]
        .iter()
        .filter_map(|name| comm.get(*name))
        .all(|v| value_u64(v) == Some(expected))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use serde_json::json;

    fn comm(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn creds(cookie: &'static str) -> Creds {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static(cookie));
        Creds::from_request(&h)
    }

    #[test]
    fn the_key_and_uin_come_from_the_qqmusic_key_and_uin_cookies() {
        let c = creds("uin=o0123456789; qqmusic_uin=0123456789; qqmusic_key=K1; qm_keyst=K2");
        assert_eq!(c.key.as_deref(), Some("K1"));
        assert_eq!(c.uin, Some(123_456_789));
        assert!(c.logged_in());
    }

    #[test]
    fn a_call_without_the_uin_or_qqmusic_key_cookie_is_logged_out() {
        for cookie in [
            "qm_keyst=K2; uin=42",
            "qqmusic_key=K1",
            "qqmusic_uin=42; qqmusic_key=K1",
            "uin=0; qqmusic_key=K1",
            "uin=42; qqmusic_key=",
            "",
        ] {
            let c = creds(cookie);
            assert_eq!((c.key.as_deref(), c.uin), (None, None), "{cookie}");
            assert!(!c.logged_in(), "{cookie}");
        }
    }

    #[test]
    fn g_tk_must_be_hash33_of_the_key_as_string_or_number() {
        let key = "Q_H_L_x";
        let right = hash33(key);
        assert!(g_tk_matches(&comm(json!({})), key));
        assert!(g_tk_matches(&comm(json!({"g_tk": right.to_string()})), key));
        assert!(g_tk_matches(&comm(json!({"g_tk": right})), key));
        assert!(!g_tk_matches(&comm(json!({"g_tk": "5381"})), key));
        assert!(!g_tk_matches(
            &comm(json!({"g_tk": right.to_string(), "g_tk_new_20200303": "1"})),
            key
        ));
    }
}
