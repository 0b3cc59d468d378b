//! Account notices (`webhook/`): where they go and what signs them.

use super::{invalid, long_enough, ConfigError};
use secrecy::SecretString;
use serde::Deserialize;
use std::fmt;
use url::Url;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WebhookConfig {
    /// Where account notices are POSTed. May carry a token in its query, so
    /// Debug and logs show it without one.
    #[serde(rename = "webhook_url")]
    pub url: Option<WebhookUrl>,
    /// Signs each notice (`X-Qmkeys-Signature`), at least 16 characters.
    #[serde(rename = "webhook_secret")]
    pub secret: Option<SecretString>,
}

impl WebhookConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.url {
            url.check()
                .map_err(|problem| invalid("webhook_url", problem))?;
        }
        long_enough("webhook_secret", self.secret.as_ref())
    }
}

/// The receiver's address. It may carry a token in its path (Slack, Discord,
/// Feishu, ServerChan and Bark all do), its query or its user info, so Debug
/// and Display show only scheme, host and port.
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
    fn shown_urls_are_scheme_host_and_port_alone() {
        let url = WebhookUrl::parse(
            "https://bot:pw@hooks.example.com:8443/services/T0SECRETPATH/send?token=abc123&x=1#frag",
        )
        .expect("url");
        assert_eq!(url.to_string(), "https://hooks.example.com:8443");
        assert_eq!(
            format!("{url:?}"),
            "WebhookUrl(https://hooks.example.com:8443)"
        );
        let plain = WebhookUrl::parse("https://sctapi.ftqq.com/SCTSECRETKEY.send").expect("url");
        assert_eq!(plain.to_string(), "https://sctapi.ftqq.com");
        assert_eq!(
            url.expose().query(),
            Some("token=abc123&x=1"),
            "sending keeps the token"
        );
        assert_eq!(url.expose().path(), "/services/T0SECRETPATH/send");
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
