//! Serving the API (`http/`, `serve/`): where it listens, how connections and
//! requests are bounded, TLS, CORS, the envelope's tips, the admin token and
//! whether callers need a key.

use super::{between, invalid, long_enough, ConfigError};
use secrecy::SecretString;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct HttpConfig {
    /// Address the API listens on.
    pub listen: SocketAddr,
    /// The envelope's `tips` text.
    pub tips: String,
    /// Serves `/metrics` on this address instead of the API's.
    pub metrics_listen: Option<SocketAddr>,
    /// The longest a whole request may take; then 503/50306.
    pub request_timeout_ms: u64,
    /// On SIGTERM/SIGINT, how long in-flight requests may take to finish.
    pub shutdown_grace_ms: u64,
    /// Requests per second each client may make to the API routes; 0 turns
    /// the limit off.
    pub rate_limit_per_second: u32,
    /// Requests a client may make at once before the rate applies.
    pub rate_limit_burst: u32,
    /// Proxies whose `X-Forwarded-For` is believed, as addresses or networks.
    #[serde(deserialize_with = "proxy_list")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// IPv6 clients are counted by this many leading bits of their address,
    /// for the rate limit, the login cap and the connection cap.
    pub ipv6_client_prefix: u8,
    /// A connection whose request headers are not complete this long after
    /// their first byte is closed.
    pub header_timeout_ms: u64,
    /// A connection with no request in flight is closed after this long.
    pub idle_timeout_ms: u64,
    /// The most bytes of request headers one connection may buffer.
    pub max_header_bytes: usize,
    /// Connections open at once, all clients together; past it new ones are
    /// closed as they arrive.
    pub max_connections: usize,
    /// Connections one client may hold open at once (a trusted proxy's own
    /// connections count only against `max_connections`).
    pub max_connections_per_client: usize,
    /// Serves HTTPS with this PEM certificate chain (and `tls_key`); both
    /// files are read again when they change.
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Origins whose pages may call the API: `["*"]` (any, the default), a
    /// list, or `[]` for none. In the environment: one comma-separated string.
    pub cors_allowed_origins: OriginList,
    /// Enables `GET /admin/accounts` behind `Authorization: Bearer <token>`.
    pub admin_token: Option<SecretString>,
    /// The refresh, check, sign and login routes want a caller key
    /// (`X-Api-Key` or `api_key`); off, they stay open to anyone.
    pub require_api_key: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tips: "欢迎使用 qmkeys".to_owned(),
            metrics_listen: None,
            request_timeout_ms: 30_000,
            shutdown_grace_ms: 10_000,
            rate_limit_per_second: 20,
            rate_limit_burst: 40,
            trusted_proxies: Vec::new(),
            ipv6_client_prefix: crate::domain::DEFAULT_IPV6_PREFIX,
            header_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            max_header_bytes: 16 * 1024,
            max_connections: 512,
            max_connections_per_client: 64,
            tls_cert: None,
            tls_key: None,
            cors_allowed_origins: OriginList::any(),
            admin_token: None,
            require_api_key: false,
        }
    }
}

impl HttpConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        between(
            "request_timeout_ms",
            self.request_timeout_ms,
            100..=600_000,
            " milliseconds",
        )?;
        if self.shutdown_grace_ms > 600_000 {
            return Err(invalid(
                "shutdown_grace_ms",
                "must be at most 600000 milliseconds",
            ));
        }
        if self.rate_limit_per_second > 1_000_000 {
            return Err(invalid(
                "rate_limit_per_second",
                "must be at most 1000000 (0 turns the limit off)",
            ));
        }
        between("rate_limit_burst", self.rate_limit_burst, 1..=1_000_000, "")?;
        if self.tips.chars().count() > 200 {
            return Err(invalid("tips", "must be at most 200 characters"));
        }
        long_enough("admin_token", self.admin_token.as_ref())?;
        self.cors_allowed_origins
            .check()
            .map_err(|problem| invalid("cors_allowed_origins", &problem))?;
        self.validate_connections()
    }

    /// The limits on connections and clients (docs/operations.md, exposure).
    fn validate_connections(&self) -> Result<(), ConfigError> {
        between("ipv6_client_prefix", self.ipv6_client_prefix, 16..=128, "")?;
        between(
            "header_timeout_ms",
            self.header_timeout_ms,
            100..=600_000,
            " milliseconds",
        )?;
        between(
            "idle_timeout_ms",
            self.idle_timeout_ms,
            100..=3_600_000,
            " milliseconds",
        )?;
        between(
            "max_header_bytes",
            self.max_header_bytes,
            8_192..=1_048_576,
            " bytes",
        )?;
        between("max_connections", self.max_connections, 1..=1_000_000, "")?;
        if !(1..=self.max_connections).contains(&self.max_connections_per_client) {
            return Err(invalid(
                "max_connections_per_client",
                "must be between 1 and max_connections",
            ));
        }
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => Err(invalid("tls_key", "must be set with tls_cert")),
            (None, Some(_)) => Err(invalid("tls_cert", "must be set with tls_key")),
            _ => Ok(()),
        }
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
    }

    pub fn header_timeout(&self) -> Duration {
        Duration::from_millis(self.header_timeout_ms)
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }
}

/// A list in TOML, or one comma-separated string (as environment variables
/// are); a bare address means just that host.
fn proxy_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ipnet::IpNet>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    let items = match Raw::deserialize(d)? {
        Raw::List(items) => items,
        Raw::Text(text) => text.split(',').map(str::to_owned).collect(),
    };
    items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    serde::de::Error::custom(format!("`{s}` is not an IP address or network"))
                })
        })
        .collect()
}

/// The `cors_allowed_origins` setting: `*`, a list of origins, or nothing
/// (no cross-origin access). In TOML it is an array; in the environment one
/// comma-separated string: `QMKEYS_CORS_ALLOWED_ORIGINS="https://a.example,https://b.example"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginList(Vec<String>);

impl OriginList {
    pub fn any() -> Self {
        Self(vec!["*".to_owned()])
    }

    pub fn new(origins: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self(origins.into_iter().map(Into::into).collect())
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// Checks every entry: `*` alone, or origins exactly as a browser sends
    /// them (`scheme://host[:port]`, no path, no trailing slash).
    pub fn check(&self) -> Result<(), String> {
        if self.0.iter().any(|o| o == "*") {
            return if self.0.len() == 1 {
                Ok(())
            } else {
                Err("`*` allows every origin and cannot be combined with others".into())
            };
        }
        for origin in &self.0 {
            check_origin(origin)?;
        }
        Ok(())
    }
}

impl Default for OriginList {
    fn default() -> Self {
        Self::any()
    }
}

fn check_origin(origin: &str) -> Result<(), String> {
    let example =
        "write origins as a browser sends them, e.g. https://example.com or http://127.0.0.1:3000";
    let url = Url::parse(origin).map_err(|_| format!("`{origin}` is not an origin: {example}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("`{origin}` is not an http(s) origin: {example}"));
    }
    let canonical = url.origin().ascii_serialization();
    if canonical != origin {
        return Err(format!(
            "`{origin}` is not written as a browser sends it (no path, no trailing slash, lower case, no default port): use `{canonical}`"
        ));
    }
    Ok(())
}

impl<'de> Deserialize<'de> for OriginList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListOrText;

        impl<'de> Visitor<'de> for ListOrText {
            type Value = OriginList;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of origins, or one comma-separated string of them")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<OriginList, E> {
                Ok(OriginList(
                    text.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                ))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OriginList, A::Error> {
                let mut all = Vec::new();
                while let Some(origin) = seq.next_element::<String>()? {
                    all.push(origin.trim().to_owned());
                }
                Ok(OriginList(all))
            }
        }

        deserializer.deserialize_any(ListOrText)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    #[test]
    fn star_alone_and_browser_shaped_origins_pass() {
        assert_eq!(OriginList::any().check(), Ok(()));
        assert_eq!(OriginList::new(Vec::<String>::new()).check(), Ok(()));
        let list = OriginList::new(["https://example.com", "http://127.0.0.1:3000"]);
        assert_eq!(list.check(), Ok(()));
    }

    #[test]
    fn origins_a_browser_would_never_send_are_refused_with_the_fix() {
        for (bad, hint) in [
            ("https://example.com/", "https://example.com"),
            ("https://Example.com", "https://example.com"),
            ("https://example.com:443", "https://example.com"),
            ("https://example.com/app", "https://example.com"),
            ("example.com", "browser"),
            ("ftp://example.com", "http(s)"),
        ] {
            let err = OriginList::new([bad]).check().expect_err(bad);
            assert!(err.contains(hint), "{bad}: {err}");
        }
        let mixed = OriginList::new(["*", "https://example.com"]).check();
        assert!(mixed.is_err_and(|e| e.contains("cannot be combined")));
    }

    // figment's Jail fixes the closure's error type; its size is not ours to choose.
    #[allow(clippy::result_large_err)]
    #[test]
    fn the_setting_reads_a_toml_array_or_an_environment_string_and_names_itself_when_wrong() {
        let from_toml =
            Settings::from_toml("cors_allowed_origins = [\"https://a.example\"]").expect("valid");
        assert_eq!(
            from_toml.http.cors_allowed_origins.as_slice(),
            ["https://a.example"]
        );
        figment::Jail::expect_with(|jail| {
            jail.set_env(
                "QMKEYS_CORS_ALLOWED_ORIGINS",
                "https://a.example,http://127.0.0.1:3000",
            );
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(
                s.http.cors_allowed_origins.as_slice(),
                ["https://a.example", "http://127.0.0.1:3000"]
            );
            jail.set_env("QMKEYS_CORS_ALLOWED_ORIGINS", "https://a.example/");
            let err = Settings::load(None)
                .expect_err("trailing slash")
                .to_string();
            assert!(
                err.contains("cors_allowed_origins") && err.contains("QMKEYS_CORS_ALLOWED_ORIGINS"),
                "{err}"
            );
            Ok(())
        });
    }

    #[test]
    fn an_environment_string_is_split_on_commas() {
        let list: OriginList =
            serde_json::from_value(serde_json::json!(" https://a.example , https://b.example,"))
                .expect("text");
        assert_eq!(list.as_slice(), ["https://a.example", "https://b.example"]);
        let empty: OriginList = serde_json::from_value(serde_json::json!("")).expect("empty");
        assert!(empty.as_slice().is_empty());
        let array: OriginList = serde_json::from_value(serde_json::json!(["*"])).expect("array");
        assert_eq!(array, OriginList::any());
    }
}
