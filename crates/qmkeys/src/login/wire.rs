//! The HTTP side of the login hosts: one client that never follows a
//! redirect (a Location must not take our cookies anywhere), cookies sent and
//! read by hand, answers read with a size cap.

use super::secret::Secret;
use super::LoginError;
use super::LoginSettings;
use reqwest::header::{HeaderMap, HeaderValue, COOKIE, REFERER, SET_COOKIE};
use reqwest::{RequestBuilder, Response};
use std::time::Duration;
use url::Url;

/// The desktop browser docs/protocol.md section 9 says every request carries.
pub(super) const USER_AGENT: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36";
pub const PT_REFERER: &str = "https://xui.ptlogin2.qq.com/";
/// QR images are a few KiB, pages a few tens.
const MAX_BODY: usize = 1 << 20;
/// Idle connections kept per login host. Logins opened together (or polls
/// that fall together) open a connection each; past this many they are
/// closed once answered instead of idling 90 s, each with its buffers.
const IDLE_CONNECTIONS: usize = 32;

/// The HTTP client every login kind shares, and the QQ login hosts (QQ's QR
/// and desktop fast login). A kind with hosts of its own keeps their bases.
pub struct Hosts {
    http: reqwest::Client,
    pub ptlogin: Url,
    pub ptlogin_graph: Url,
    pub graph: Url,
    /// For every request but a long poll, which sets its own.
    pub timeout: Duration,
}

impl Hosts {
    pub fn new(settings: &LoginSettings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(settings.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(IDLE_CONNECTIONS)
            .build()?;
        Ok(Self {
            http,
            ptlogin: settings.ptlogin.clone(),
            ptlogin_graph: settings.ptlogin_graph.clone(),
            graph: settings.graph.clone(),
            timeout: settings.timeout,
        })
    }

    /// `path` on `base`; settings admit only bases without a path.
    pub fn url(base: &Url, path: &str) -> Result<Url, LoginError> {
        base.join(path)
            .map_err(|_| LoginError::Protocol("login host base URL cannot take a path"))
    }

    pub fn get(&self, url: Url) -> RequestBuilder {
        self.http.get(url).timeout(self.timeout)
    }

    pub fn post(&self, url: Url) -> RequestBuilder {
        self.http.post(url).timeout(self.timeout)
    }
}

/// Sends a request; a transport error names `step` and drops the URL.
pub async fn send(step: &'static str, request: RequestBuilder) -> Result<Response, LoginError> {
    request
        .send()
        .await
        .map_err(|e| LoginError::from_transport(step, e))
}

/// The answer's body, refused past 1 MiB.
pub async fn body(step: &'static str, mut response: Response) -> Result<Vec<u8>, LoginError> {
    // Sized up front: a QR image is kept for the whole login, and a Vec grown
    // chunk by chunk would hold up to twice its size (a WeChat JPEG is ~40 KB).
    let expected = response
        .content_length()
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0)
        .min(MAX_BODY);
    let mut out = Vec::with_capacity(expected);
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| LoginError::from_transport(step, e))?
    {
        if out.len() + chunk.len() > MAX_BODY {
            return Err(LoginError::Protocol("a login host answer is too large"));
        }
        out.extend_from_slice(&chunk);
    }
    out.shrink_to_fit();
    Ok(out)
}

/// The answer as text, after checking it is a success.
pub async fn text(step: &'static str, response: Response) -> Result<String, LoginError> {
    ok_status(step, &response)?;
    String::from_utf8(body(step, response).await?)
        .map_err(|_| LoginError::Protocol("a login host answer is not UTF-8"))
}

pub fn ok_status(step: &'static str, response: &Response) -> Result<(), LoginError> {
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(LoginError::HostStatus {
            step,
            status: status.as_u16(),
        })
    }
}

/// The cookies an answer sets, as (name, value); values unfit to send back
/// are left out. Attributes (Path, HttpOnly, ...) are ignored.
pub fn set_cookies(headers: &HeaderMap) -> Vec<(String, Secret)> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| {
            let pair = v.split(';').next()?;
            let (name, value) = pair.split_once('=')?;
            let name = name.trim();
            let name_ok = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
            name_ok
                .then(|| Secret::cookie(value.trim()))
                .flatten()
                .map(|value| (name.to_owned(), value))
        })
        .collect()
}

/// One cookie by name, the last one set winning as in a browser.
pub fn find_cookie<'a>(cookies: &'a [(String, Secret)], name: &str) -> Option<&'a Secret> {
    cookies
        .iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

/// A `Cookie` header marked sensitive, so no debug output prints it.
pub fn cookie_header<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<HeaderValue, LoginError> {
    let text = pairs
        .into_iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let mut value = HeaderValue::from_str(&text)
        .map_err(|_| LoginError::Protocol("a cookie cannot go into a header"))?;
    value.set_sensitive(true);
    Ok(value)
}

pub fn with_cookie(request: RequestBuilder, cookie: HeaderValue) -> RequestBuilder {
    request.header(COOKIE, cookie)
}

pub fn with_referer(request: RequestBuilder, referer: &'static str) -> RequestBuilder {
    request.header(REFERER, HeaderValue::from_static(referer))
}

/// Unix milliseconds, for `action`, `auth_time` and `_`.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_cookie_values_are_read_without_attributes() {
        let mut h = HeaderMap::new();
        for v in [
            "p_uin=o0123456789; Path=/",
            "p_skey=abc*DEF_; Path=/; HttpOnly",
            "bad;",
            "=novalue",
            "x=a\"b",
            "p_skey=newer",
        ] {
            h.append(SET_COOKIE, HeaderValue::from_static(v));
        }
        let cookies = set_cookies(&h);
        let names: Vec<_> = cookies.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["p_uin", "p_skey", "p_skey"]);
        assert_eq!(
            find_cookie(&cookies, "p_skey").map(Secret::expose),
            Some("newer")
        );
        assert!(find_cookie(&cookies, "qrsig").is_none());
    }

    #[test]
    fn cookie_headers_are_sensitive() {
        let v = cookie_header([("a", "1"), ("b", "2")]).expect("header");
        assert!(v.is_sensitive());
        assert_eq!(v.to_str().ok(), Some("a=1; b=2"));
    }
}
