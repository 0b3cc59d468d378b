//! The receiver's address. It may carry a token (in its query or user info),
//! so Debug and Display show only scheme, host, port and path.

use serde::Deserialize;
use std::fmt;
use url::Url;

#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct WebhookUrl(Url);

impl WebhookUrl {
    pub fn parse(text: &str) -> Result<Self, url::ParseError> {
        Url::parse(text).map(Self)
    }

    /// Whether it is an http(s) URL with a host.
    pub fn check(&self) -> Result<(), &'static str> {
        if matches!(self.0.scheme(), "http" | "https") && self.0.host_str().is_some() {
            Ok(())
        } else {
            Err("must be an http:// or https:// URL with a host")
        }
    }

    /// The whole URL, token included: only for sending.
    pub fn expose(&self) -> &Url {
        &self.0
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let u = &self.0;
        write!(f, "{}://{}", u.scheme(), u.host_str().unwrap_or(""))?;
        if let Some(port) = u.port() {
            write!(f, ":{port}")?;
        }
        f.write_str(u.path())?;
        if u.query().is_some() {
            f.write_str("?[redacted]")?;
        }
        Ok(())
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_urls_hide_the_query_and_user_info() {
        let url = WebhookUrl::parse("https://bot:pw@hooks.example.com:8443/q/in?token=abc123&x=1")
            .expect("url");
        for shown in [url.to_string(), format!("{url:?}")] {
            assert!(
                !shown.contains("abc123") && !shown.contains("pw"),
                "{shown}"
            );
            assert!(
                shown.contains("https://hooks.example.com:8443/q/in?"),
                "{shown}"
            );
        }
        assert_eq!(
            url.expose().query(),
            Some("token=abc123&x=1"),
            "sending keeps the token"
        );
    }

    #[test]
    fn only_http_urls_with_a_host_pass_the_check() {
        assert!(WebhookUrl::parse("http://127.0.0.1:9/x")
            .expect("url")
            .check()
            .is_ok());
        for bad in [
            "ftp://example.com/",
            "mailto:ops@example.com",
            "file:///tmp/x",
        ] {
            assert!(
                WebhookUrl::parse(bad).expect("url").check().is_err(),
                "{bad}"
            );
        }
    }
}
