//! Who a gateway call claims to be: cookies, `comm.uin`, and the `g_tk` check.

use axum::http::{header, HeaderMap};
use serde_json::{Map, Value};

use crate::zzc::hash33;

/// The credentials a call carries outside of its `param`.
#[derive(Debug, Default, Clone)]
pub struct Creds {
    /// `qqmusic_key`, else `qm_keyst` cookie, else `comm.authst`.
    pub key: Option<String>,
    /// `uin` cookie, else `comm.uin`; "0" and "" count as absent.
    pub uin: Option<u64>,
}

impl Creds {
    pub fn from_request(headers: &HeaderMap, comm: &Map<String, Value>) -> Self {
        let cookies = cookie_header(headers);
        let cookie = |name: &str| cookie_value(&cookies, name).filter(|v| !v.is_empty());
        let key = cookie("qqmusic_key")
            .or_else(|| cookie("qm_keyst"))
            .map(str::to_owned)
            .or_else(|| comm_str(comm, "authst").filter(|k| !k.is_empty()));
        let uin = cookie("uin")
            .and_then(parse_uin)
            .or_else(|| comm.get("uin").and_then(value_u64))
            .filter(|&u| u != 0);
        Self { key, uin }
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

fn comm_str(comm: &Map<String, Value>, name: &str) -> Option<String> {
    comm.get(name).and_then(Value::as_str).map(str::to_owned)
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

    #[test]
    fn the_key_comes_from_qqmusic_key_then_qm_keyst_and_the_uin_from_the_cookie_first() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("uin=o0123456789; qm_keyst=K2; tmeLoginType=2"),
        );
        let c = Creds::from_request(&h, &comm(json!({"uin": "42"})));
        assert_eq!(c.key.as_deref(), Some("K2"));
        assert_eq!(c.uin, Some(123_456_789));

        h.insert(
            header::COOKIE,
            HeaderValue::from_static("qqmusic_key=K1; qm_keyst=K2"),
        );
        let c = Creds::from_request(&h, &comm(json!({"uin": "42"})));
        assert_eq!(c.key.as_deref(), Some("K1"));
        assert_eq!(c.uin, Some(42));
    }

    #[test]
    fn a_zero_uin_counts_as_no_uin() {
        let c = Creds::from_request(&HeaderMap::new(), &comm(json!({"uin": "0"})));
        assert_eq!(c.uin, None);
        assert_eq!(c.key, None);
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
