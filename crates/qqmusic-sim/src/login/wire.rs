//! What every login host shares: query and form fields, cookies, the
//! simulator's own base URL, text answers, and the request log.

use std::collections::{BTreeMap, HashMap};

use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::app::Shared;
use crate::error::SimError;
use crate::journal::LoggedRequest;

/// Decoded `name=value` pairs; the first of a repeated name wins.
pub struct Fields(HashMap<String, String>);

impl Fields {
    pub fn parse(raw: &[u8]) -> Self {
        let mut map = HashMap::new();
        for (k, v) in form_urlencoded::parse(raw) {
            map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
        Self(map)
    }

    pub fn query(uri: &Uri) -> Self {
        Self::parse(uri.query().unwrap_or_default().as_bytes())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Every `(name, value)` must be present with exactly that value;
    /// answers the first name that is not.
    pub fn require(&self, fixed: &[(&'static str, &str)]) -> Result<(), &'static str> {
        match fixed.iter().find(|(k, v)| self.get(k) != Some(*v)) {
            Some((k, _)) => Err(k),
            None => Ok(()),
        }
    }

    /// The field as digits only (a uin, a ptqrtoken, a timestamp).
    pub fn number(&self, name: &'static str) -> Result<u64, &'static str> {
        self.get(name)
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse().ok())
            .ok_or(name)
    }
}

/// A cookie's value from the request's Cookie headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|c| c.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim().to_owned())
}

/// `http://<Host>`: where the simulator was reached, so the URLs it hands
/// out come back to it whatever name the client used.
pub fn own_base(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// A text answer with its content type.
pub fn text(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

pub const JS: &str = "application/javascript; charset=utf-8";
pub const PLAIN: &str = "text/plain; charset=utf-8";
pub const HTML: &str = "text/html; charset=utf-8";

/// 400 naming the field a host refuses, before anything else happens.
pub fn bad_field(host: &str, field: &str) -> Response {
    text(
        StatusCode::BAD_REQUEST,
        PLAIN,
        format!("{host}: missing or wrong field {field}\n"),
    )
}

/// 302 to `location` with `cookies` set.
pub fn redirect(location: &str, cookies: &[String]) -> Response {
    let mut resp = StatusCode::FOUND.into_response();
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, v);
    }
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            headers.append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// Logs the request (no body) and counts it under `stat`.
pub fn record(
    sim: &Shared,
    stat: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<(), SimError> {
    let mut logged = BTreeMap::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        logged
            .entry(name.as_str().to_owned())
            .and_modify(|v: &mut String| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let mut journal = sim.journal()?;
    journal.count(stat);
    journal.record(LoggedRequest::Login {
        method: method.as_str().to_owned(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        headers: logged,
    });
    Ok(())
}

/// Answers a handler's result; an internal failure is a 500 text.
pub fn answer(result: Result<Response, SimError>) -> Response {
    result.unwrap_or_else(|e| {
        tracing::error!(error = %e, "login host failed");
        text(StatusCode::INTERNAL_SERVER_ERROR, PLAIN, e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn require_names_the_first_missing_or_wrong_field() {
        let f = Fields::parse(b"a=1&b=2&s=x%20y");
        assert_eq!(f.require(&[("a", "1"), ("s", "x y")]), Ok(()));
        assert_eq!(f.require(&[("a", "1"), ("b", "3")]), Err("b"));
        assert_eq!(f.require(&[("c", "")]), Err("c"));
        assert_eq!(f.number("a"), Ok(1));
        assert_eq!(f.number("s"), Err("s"));
    }

    #[test]
    fn cookies_are_found_across_headers() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; qrsig=Q*1"));
        h.append(header::COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(cookie(&h, "qrsig").as_deref(), Some("Q*1"));
        assert_eq!(cookie(&h, "b").as_deref(), Some("2"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
