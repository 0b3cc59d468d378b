//! Settings: built-in defaults, then a TOML file, then `QMKEYS_*` environment
//! variables. Each TOML key is the environment name without the prefix, in lower
//! case (`QMKEYS_UPSTREAM_TIMEOUT_MS` is `upstream_timeout_ms`).

pub mod http;
pub mod webhook;

pub use self::http::OriginList;
pub use self::webhook::WebhookUrl;

use crate::domain::{Credential, ParamError};
use crate::upload::EndpointTemplate;
use figment::providers::{Env, Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

pub const ENV_PREFIX: &str = "QMKEYS_";
/// Names the config file; not a setting itself.
pub const CONFIG_ENV: &str = "QMKEYS_CONFIG";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Address the API listens on.
    pub listen: SocketAddr,
    /// Base URL of the QQ Music gateway.
    pub upstream: Url,
    /// The envelope's `tips` text.
    pub tips: String,
    /// Whole-call limit for one upstream request.
    pub upstream_timeout_ms: u64,
    pub upstream_connect_timeout_ms: u64,
    /// Serves `/metrics` on this address instead of the API's.
    pub metrics_listen: Option<SocketAddr>,
    /// The longest a whole request may take; then 503/50306.
    pub request_timeout_ms: u64,
    /// Requests per second each client may make to the API routes; 0 turns
    /// the limit off.
    pub rate_limit_per_second: u32,
    /// Requests a client may make at once before the rate applies.
    pub rate_limit_burst: u32,
    /// Proxies whose `X-Forwarded-For` is believed, as addresses or networks.
    #[serde(deserialize_with = "proxy_list")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// On SIGTERM/SIGINT, how long in-flight requests may take to finish.
    pub shutdown_grace_ms: u64,
    /// Upstream calls in flight at once; a flood waits instead of opening
    /// unbounded connections.
    pub upstream_max_in_flight: usize,
    /// Consecutive upstream failures that open the circuit breaker.
    pub upstream_breaker_failures: u32,
    /// How long the breaker stays open before one probe is let through.
    pub upstream_breaker_cooldown_ms: u64,
    /// Extra attempts for vip_login_base and InitUpload (Login is never retried).
    pub upstream_retries: u32,
    /// Entries each in-process cache may hold before evicting.
    pub cache_max_entries: u64,
    pub log_format: LogFormat,
    /// A tracing filter, e.g. `info` or `qmkeys=debug`. `RUST_LOG` wins when set.
    pub log_level: String,
    /// Upload endpoint; `{bucket}` and `{region}` come from InitUpload.
    pub cos_endpoint: String,
    /// Base of the CDN address answered for an uploaded cover.
    pub cdn_base: Url,
    /// Largest file `/tool/cos/sign` signs, in bytes.
    pub cos_max_upload_bytes: u64,
    /// Upload accounts, `[[accounts]]` tables in the file.
    pub accounts: Vec<AccountSetting>,
    /// Whether `save=true` on the refresh endpoint may add accounts
    /// (not `accounts.allow_save`: `[[accounts]]` is a list in TOML, so
    /// the flag sits beside it).
    pub accounts_allow_save: bool,
    /// Refresh an upload account when less than this share of its key's
    /// lifetime is left.
    pub accounts_refresh_share: f64,
    /// How often the background task looks for keys that are due.
    pub accounts_check_interval_ms: u64,
    /// The SQLite file that keeps upload accounts across restarts.
    pub db: PathBuf,
    /// Encrypts keys and tokens at rest when set (at least 16 characters).
    pub secret_key: Option<SecretString>,
    /// Enables `GET /admin/accounts` behind `Authorization: Bearer <token>`.
    pub admin_token: Option<SecretString>,
    /// Shares caches, the one-Login rule, InitUpload reuse and the account
    /// store between instances. May hold a password, so it is never printed.
    pub redis_url: Option<SecretString>,
    /// The longest qmkeys waits for one Redis call before falling back.
    pub redis_timeout_ms: u64,
    /// Origins whose pages may call the API: `["*"]` (any, the default), a
    /// list, or `[]` for none. In the environment: one comma-separated string.
    pub cors_allowed_origins: OriginList,
    /// Where account notices are POSTed. May carry a token in its query, so
    /// Debug and logs show it without one.
    pub webhook_url: Option<WebhookUrl>,
    /// Signs each notice (`X-Qmkeys-Signature`), at least 16 characters.
    pub webhook_secret: Option<SecretString>,
    /// Where the login hosts of docs/protocol.md section 9 are: each replaces
    /// the scheme and host of the real one; the paths stay as section 9 gives them.
    pub ptlogin_base: Url,
    pub ptlogin_graph_base: Url,
    pub graph_base: Url,
    pub wx_open_base: Url,
    pub wx_lp_base: Url,
    /// QR logins open at once; past it a new one is refused at once.
    pub login_max_sessions: usize,
    /// QR logins one client may hold open at once.
    pub login_max_per_client: usize,
    /// Polls of the login hosts per second, all QR logins together.
    pub login_polls_per_second: u32,
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
}

/// One `[[accounts]]` entry. Debug hides the secrets.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSetting {
    /// A number, or a string for WeChat ids beyond TOML's integer range.
    pub uin: UinSetting,
    pub musickey: String,
    #[serde(default)]
    pub refresh_key: String,
    #[serde(default)]
    pub refresh_token: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum UinSetting {
    Number(u64),
    Text(String),
}

impl std::fmt::Debug for AccountSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountSetting")
            .field("uin", &self.uin)
            .finish_non_exhaustive()
    }
}

impl AccountSetting {
    pub fn credential(&self) -> Result<Credential, ParamError> {
        let uin = match &self.uin {
            UinSetting::Number(n) => n.to_string(),
            UinSetting::Text(s) => s.clone(),
        };
        Credential::parse(
            Some(&uin),
            Some(&self.musickey),
            Some(&self.refresh_key),
            Some(&self.refresh_token),
        )
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            // A literal that always parses; the fallback only keeps this total.
            upstream: Url::parse("https://u.y.qq.com").unwrap_or_else(|_| unreachable!()),
            tips: "欢迎使用 qmkeys".to_owned(),
            upstream_timeout_ms: 10_000,
            upstream_connect_timeout_ms: 3_000,
            metrics_listen: None,
            request_timeout_ms: 30_000,
            rate_limit_per_second: 20,
            rate_limit_burst: 40,
            trusted_proxies: Vec::new(),
            shutdown_grace_ms: 10_000,
            upstream_max_in_flight: 64,
            upstream_breaker_failures: 5,
            upstream_breaker_cooldown_ms: 10_000,
            upstream_retries: 2,
            cache_max_entries: 200_000,
            log_format: LogFormat::Text,
            log_level: "info".to_owned(),
            cos_endpoint: EndpointTemplate::DEFAULT.to_owned(),
            cdn_base: Url::parse("https://music-file.y.qq.com").unwrap_or_else(|_| unreachable!()),
            cos_max_upload_bytes: 20 * 1024 * 1024,
            accounts: Vec::new(),
            accounts_allow_save: false,
            accounts_refresh_share: 1.0 / 3.0,
            accounts_check_interval_ms: 30_000,
            db: PathBuf::from("qmkeys.db"),
            secret_key: None,
            admin_token: None,
            redis_url: None,
            redis_timeout_ms: 250,
            cors_allowed_origins: OriginList::any(),
            webhook_url: None,
            webhook_secret: None,
            ptlogin_base: fixed_url("https://ssl.ptlogin2.qq.com"),
            ptlogin_graph_base: fixed_url("https://ssl.ptlogin2.graph.qq.com"),
            graph_base: fixed_url("https://graph.qq.com"),
            wx_open_base: fixed_url("https://open.weixin.qq.com"),
            wx_lp_base: fixed_url("https://lp.open.weixin.qq.com"),
            login_max_sessions: 64,
            login_max_per_client: 4,
            login_polls_per_second: 10,
            ipv6_client_prefix: crate::domain::DEFAULT_IPV6_PREFIX,
            header_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            max_header_bytes: 16 * 1024,
            max_connections: 512,
            max_connections_per_client: 64,
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// Settings whose value can hold a secret. Their values are never printed,
/// not even in an error about them: only the key and what is wrong.
pub const SECRET_SETTINGS: &[&str] = &[
    "secret_key",
    "admin_token",
    "redis_url",
    "webhook_url",
    "webhook_secret",
    "accounts",
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("config file {path} cannot be read: {source}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The TOML itself is malformed. Never quotes the line: it may be a secret.
    #[error("{source_name}: TOML syntax error at line {line}, column {column}{}: {problem}",
        .key.as_deref().map(|k| format!(" (setting `{k}`)")).unwrap_or_default())]
    Syntax {
        source_name: String,
        line: usize,
        column: usize,
        key: Option<String>,
        problem: String,
    },
    #[error("{0}")]
    Parse(String),
    #[error("setting `accounts[{index}]`: {problem}")]
    Account { index: usize, problem: String },
    #[error("setting `{key}` (env {env}): {problem}")]
    Invalid {
        key: &'static str,
        env: String,
        problem: String,
    },
}

impl Settings {
    /// Loads from the file (if any) and this process's environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::MissingFile(path.to_owned()));
            }
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Unreadable {
                path: path.to_owned(),
                source,
            })?;
            // figment's own syntax error quotes the offending line, value and all.
            check_syntax(&format!("config file {}", path.display()), &text)?;
            figment = figment.merge(Toml::file_exact(path));
        }
        Self::extract(figment.merge(EnvText))
    }

    /// Loads from TOML text alone, for tests and tools.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        check_syntax("TOML text", text)?;
        Self::extract(Figment::new().merge(Toml::string(text)))
    }

    fn extract(figment: Figment) -> Result<Self, ConfigError> {
        let settings: Settings = figment.extract_lossy().map_err(|err| {
            // One line per problem, each naming the key and where it came from.
            ConfigError::Parse(
                err.into_iter()
                    .map(|e| describe(&e))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        settings.validate()?;
        Ok(settings)
    }

    /// Every setting's check; `Application::build` runs it again, so settings
    /// made in code are held to the same rules as loaded ones.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !matches!(self.upstream.scheme(), "http" | "https") || self.upstream.host_str().is_none()
        {
            return Err(invalid(
                "upstream",
                "must be an http:// or https:// URL with a host",
            ));
        }
        for (key, ms) in [
            ("upstream_timeout_ms", self.upstream_timeout_ms),
            (
                "upstream_connect_timeout_ms",
                self.upstream_connect_timeout_ms,
            ),
        ] {
            if !(1..=600_000).contains(&ms) {
                return Err(invalid(key, "must be between 1 and 600000 milliseconds"));
            }
        }
        if !(100..=600_000).contains(&self.request_timeout_ms) {
            return Err(invalid(
                "request_timeout_ms",
                "must be between 100 and 600000 milliseconds",
            ));
        }
        if self.shutdown_grace_ms > 600_000 {
            return Err(invalid(
                "shutdown_grace_ms",
                "must be at most 600000 milliseconds",
            ));
        }
        if !(1..=10_000).contains(&self.upstream_max_in_flight) {
            return Err(invalid(
                "upstream_max_in_flight",
                "must be between 1 and 10000",
            ));
        }
        if !(1..=1_000).contains(&self.upstream_breaker_failures) {
            return Err(invalid(
                "upstream_breaker_failures",
                "must be between 1 and 1000",
            ));
        }
        if !(100..=3_600_000).contains(&self.upstream_breaker_cooldown_ms) {
            return Err(invalid(
                "upstream_breaker_cooldown_ms",
                "must be between 100 and 3600000 milliseconds",
            ));
        }
        if self.upstream_retries > 5 {
            return Err(invalid("upstream_retries", "must be at most 5"));
        }
        if self.rate_limit_per_second > 1_000_000 {
            return Err(invalid(
                "rate_limit_per_second",
                "must be at most 1000000 (0 turns the limit off)",
            ));
        }
        if !(1..=1_000_000).contains(&self.rate_limit_burst) {
            return Err(invalid("rate_limit_burst", "must be between 1 and 1000000"));
        }
        if self.cache_max_entries == 0 {
            return Err(invalid("cache_max_entries", "must be at least 1"));
        }
        if self.tips.chars().count() > 200 {
            return Err(invalid("tips", "must be at most 200 characters"));
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log_level).is_err() {
            return Err(invalid(
                "log_level",
                "is not a valid filter such as `info` or `qmkeys=debug`",
            ));
        }
        // RUST_LOG wins over log_level when set, so a bad one must not be
        // quietly replaced by it.
        if let Ok(filter) = std::env::var("RUST_LOG") {
            if tracing_subscriber::EnvFilter::try_new(&filter).is_err() {
                return Err(ConfigError::Invalid {
                    key: "log_level",
                    env: "RUST_LOG".to_owned(),
                    problem:
                        "RUST_LOG is set and is not a valid filter such as `info` or `qmkeys=debug`"
                            .to_owned(),
                });
            }
        }
        self.cos_endpoint_template()?;
        if !matches!(self.cdn_base.scheme(), "http" | "https") || self.cdn_base.query().is_some() {
            return Err(invalid(
                "cdn_base",
                "must be an http:// or https:// URL without a query",
            ));
        }
        if !(1..=5 * 1024 * 1024 * 1024).contains(&self.cos_max_upload_bytes) {
            return Err(invalid(
                "cos_max_upload_bytes",
                "must be between 1 and 5 GiB (COS's single PUT limit)",
            ));
        }
        if !(self.accounts_refresh_share > 0.0 && self.accounts_refresh_share < 1.0) {
            return Err(invalid(
                "accounts_refresh_share",
                "must be between 0 and 1, e.g. 0.3333",
            ));
        }
        if !(10..=86_400_000).contains(&self.accounts_check_interval_ms) {
            return Err(invalid(
                "accounts_check_interval_ms",
                "must be between 10 and 86400000 milliseconds",
            ));
        }
        if self.db.as_os_str().is_empty() {
            return Err(invalid("db", "must be a file path"));
        }
        if self
            .secret_key
            .as_ref()
            .is_some_and(|k| k.expose_secret().chars().count() < 16)
        {
            return Err(invalid("secret_key", "must be at least 16 characters"));
        }
        if self
            .admin_token
            .as_ref()
            .is_some_and(|t| t.expose_secret().chars().count() < 16)
        {
            return Err(invalid("admin_token", "must be at least 16 characters"));
        }
        self.cors_allowed_origins
            .check()
            .map_err(|problem| invalid("cors_allowed_origins", &problem))?;
        if let Some(url) = &self.redis_url {
            let url = url.expose_secret();
            if !(url.starts_with("redis://")
                || url.starts_with("rediss://")
                || url.starts_with("unix://"))
            {
                return Err(invalid(
                    "redis_url",
                    "must start with redis://, rediss:// or unix://",
                ));
            }
            // Parsed here, as the client will, so a typo is a setting refused
            // by key (exit 2) rather than a failure to start; redis' own
            // error is not quoted.
            if redis::IntoConnectionInfo::into_connection_info(url).is_err() {
                return Err(invalid(
                    "redis_url",
                    "is not a valid Redis URL such as redis://:password@host:6379/0 (percent-encode @ : / ? # in a password)",
                ));
            }
            if self.secret_key.is_none() {
                return Err(invalid(
                    "redis_url",
                    "needs QMKEYS_SECRET_KEY too (the same on every instance): it keys the shared caches and encrypts what is stored in Redis",
                ));
            }
        }
        if !(10..=10_000).contains(&self.redis_timeout_ms) {
            return Err(invalid(
                "redis_timeout_ms",
                "must be between 10 and 10000 milliseconds",
            ));
        }
        if let Some(url) = &self.webhook_url {
            url.check()
                .map_err(|problem| invalid("webhook_url", problem))?;
        }
        if self
            .webhook_secret
            .as_ref()
            .is_some_and(|s| s.expose_secret().chars().count() < 16)
        {
            return Err(invalid("webhook_secret", "must be at least 16 characters"));
        }
        for (key, url) in self.login_bases() {
            // Only scheme, host and port are replaced; a path, query or
            // fragment would silently change section 9's requests.
            if !matches!(url.scheme(), "http" | "https")
                || url.host_str().is_none()
                || !matches!(url.path(), "" | "/")
                || url.query().is_some()
                || url.fragment().is_some()
            {
                return Err(invalid(
                    key,
                    "must be an http:// or https:// URL with a host and nothing after it, e.g. https://ssl.ptlogin2.qq.com",
                ));
            }
        }
        if !(1..=100_000).contains(&self.login_max_sessions) {
            return Err(invalid(
                "login_max_sessions",
                "must be between 1 and 100000",
            ));
        }
        self.validate_connections()?;
        let mut seen = std::collections::HashSet::new();
        for (index, cred) in self.account_credentials()?.into_iter().enumerate() {
            if !seen.insert(cred.uin) {
                return Err(ConfigError::Account {
                    index,
                    problem: format!("uin {} is listed twice", cred.uin),
                });
            }
        }
        Ok(())
    }

    /// The upload accounts; an unusable entry is an error, never skipped.
    pub fn account_credentials(&self) -> Result<Vec<Credential>, ConfigError> {
        self.accounts
            .iter()
            .enumerate()
            .map(|(index, account)| {
                account.credential().map_err(|e| ConfigError::Account {
                    index,
                    problem: format!("{}: {}", account_field(e.param), e.message),
                })
            })
            .collect()
    }

    pub fn cos_endpoint_template(&self) -> Result<EndpointTemplate, ConfigError> {
        EndpointTemplate::parse(&self.cos_endpoint)
            .map_err(|problem| invalid("cos_endpoint", &problem))
    }

    /// The login host settings, named as in the config file.
    pub fn login_bases(&self) -> [(&'static str, &Url); 5] {
        [
            ("ptlogin_base", &self.ptlogin_base),
            ("ptlogin_graph_base", &self.ptlogin_graph_base),
            ("graph_base", &self.graph_base),
            ("wx_open_base", &self.wx_open_base),
            ("wx_lp_base", &self.wx_lp_base),
        ]
    }

    /// The limits on connections, logins and clients (docs/operations.md, exposure).
    fn validate_connections(&self) -> Result<(), ConfigError> {
        if !(1..=1_000).contains(&self.login_max_per_client) {
            return Err(invalid(
                "login_max_per_client",
                "must be between 1 and 1000",
            ));
        }
        if !(1..=1_000).contains(&self.login_polls_per_second) {
            return Err(invalid(
                "login_polls_per_second",
                "must be between 1 and 1000",
            ));
        }
        if !(16..=128).contains(&self.ipv6_client_prefix) {
            return Err(invalid("ipv6_client_prefix", "must be between 16 and 128"));
        }
        if !(100..=600_000).contains(&self.header_timeout_ms) {
            return Err(invalid(
                "header_timeout_ms",
                "must be between 100 and 600000 milliseconds",
            ));
        }
        if !(100..=3_600_000).contains(&self.idle_timeout_ms) {
            return Err(invalid(
                "idle_timeout_ms",
                "must be between 100 and 3600000 milliseconds",
            ));
        }
        if !(8_192..=1_048_576).contains(&self.max_header_bytes) {
            return Err(invalid(
                "max_header_bytes",
                "must be between 8192 and 1048576 bytes",
            ));
        }
        if !(1..=1_000_000).contains(&self.max_connections) {
            return Err(invalid("max_connections", "must be between 1 and 1000000"));
        }
        if !(1..=self.max_connections).contains(&self.max_connections_per_client) {
            return Err(invalid(
                "max_connections_per_client",
                "must be between 1 and max_connections",
            ));
        }
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => return Err(invalid("tls_key", "must be set with tls_cert")),
            (None, Some(_)) => return Err(invalid("tls_cert", "must be set with tls_key")),
            _ => {}
        }
        Ok(())
    }

    pub fn header_timeout(&self) -> Duration {
        Duration::from_millis(self.header_timeout_ms)
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }

    pub fn upstream_timeout(&self) -> Duration {
        Duration::from_millis(self.upstream_timeout_ms)
    }

    pub fn redis_timeout(&self) -> Duration {
        Duration::from_millis(self.redis_timeout_ms)
    }

    pub fn accounts_check_interval(&self) -> Duration {
        Duration::from_millis(self.accounts_check_interval_ms)
    }

    pub fn upstream_connect_timeout(&self) -> Duration {
        Duration::from_millis(self.upstream_connect_timeout_ms)
    }
}

/// The config file's name for a field the API calls `music_key`.
fn account_field(param: &str) -> &str {
    if param == "music_key" {
        "musickey"
    } else {
        param
    }
}

/// Whether the setting at `path` (figment's path of keys) can hold a secret.
/// An account's uin is not one; its keys and tokens are.
fn is_secret_path(path: &[String]) -> bool {
    match path.first().map(String::as_str) {
        Some("accounts") => path.last().map(String::as_str) != Some("uin"),
        Some(key) => SECRET_SETTINGS.contains(&key),
        None => false,
    }
}

/// One figment error as a line. figment's own text quotes the value (`found
/// string "…"`), so for a secret setting it is rebuilt from the key, the
/// source and the kind of problem alone.
fn describe(err: &figment::Error) -> String {
    use figment::error::Kind;
    if !is_secret_path(&err.path) {
        return err.to_string();
    }
    let key = err.path.join(".");
    let top = err.path.first().map(String::as_str).unwrap_or_default();
    let problem = match &err.kind {
        Kind::InvalidType(actual, expected) => {
            format!("must be {expected}, not {}", value_kind(actual))
        }
        // `expected` says what is wrong (e.g. url's "relative URL without a base").
        Kind::InvalidValue(_, expected) => format!("is not valid: {expected}"),
        Kind::InvalidLength(len, expected) => format!("has {len} items, expected {expected}"),
        Kind::UnknownField(field, _) => format!("unknown field `{field}`"),
        Kind::MissingField(field) => format!("missing field `{field}`"),
        Kind::DuplicateField(field) => format!("duplicate field `{field}`"),
        _ => format!("is not valid: must be {}", secret_hint(top)),
    };
    let from = err
        .metadata
        .as_ref()
        .map(|md| match &md.source {
            Some(source) => format!(" in {source} {}", md.name),
            None => format!(" in {}", md.name),
        })
        .unwrap_or_default();
    format!(
        "setting `{key}` (env {ENV_PREFIX}{}){from}: {problem} (the value is not shown: this setting can hold a secret)",
        top.to_uppercase()
    )
}

/// What a valid value of a secret setting looks like, for errors that cannot
/// quote figment's own words.
fn secret_hint(key: &str) -> &'static str {
    match key {
        "webhook_url" => "an http:// or https:// URL with a host",
        "redis_url" => "a redis://, rediss:// or unix:// URL",
        "accounts" => "[[accounts]] tables of uin, musickey, refresh_key and refresh_token",
        _ => "text of at least 16 characters",
    }
}

/// What kind of value was given, without the value.
fn value_kind(actual: &figment::error::Actual) -> &'static str {
    use figment::error::Actual;
    match actual {
        Actual::Bool(_) => "a boolean",
        Actual::Unsigned(_) | Actual::Signed(_) => "a number (text needs quotes in TOML)",
        Actual::Float(_) => "a decimal number (text needs quotes in TOML)",
        Actual::Char(_) | Actual::Str(_) => "text",
        Actual::Bytes(_) => "bytes",
        Actual::Seq => "a list",
        Actual::Map => "a table",
        _ => "a value of another type",
    }
}

/// Refuses malformed TOML by line, column and setting, never quoting the
/// line: toml's own message does, and the value there may be a secret.
fn check_syntax(source_name: &str, text: &str) -> Result<(), ConfigError> {
    let Err(err) = Toml::from_str::<serde::de::IgnoredAny>(text) else {
        return Ok(());
    };
    let at = err.span().map_or(0, |span| span.start).min(text.len());
    let before = text.get(..at).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let key = setting_on_line(text, line);
    let problem = match &key {
        // toml's message (not its Display) names what it expected, never the text.
        Some(key) if !is_secret_path(&key.split('.').map(str::to_owned).collect::<Vec<_>>()) => {
            err.message().replace('\n', "; ")
        }
        Some(_) => "the line is not shown, as this setting can hold a secret; check its quoting (text needs quotes: key = \"…\")".to_owned(),
        None => "check the quotes and brackets there (the line is not shown: it may hold a secret)".to_owned(),
    };
    Err(ConfigError::Syntax {
        source_name: source_name.to_owned(),
        line,
        column,
        key,
        problem,
    })
}

/// The setting written on line `line` (1-based) of a TOML text, as
/// `table.key`, if the line is a `key = value` or a table header. A best
/// guess for naming it in an error: it never decides what is printed of the
/// value, which is nothing.
fn setting_on_line(text: &str, line: usize) -> Option<String> {
    let header = |l: &str| {
        let l = l.trim();
        l.starts_with('[').then(|| {
            l.trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
    };
    let lines: Vec<&str> = text.lines().collect();
    let here = lines.get(line.checked_sub(1)?)?;
    if let Some(table) = header(here) {
        return Some(table).filter(|t| !t.is_empty());
    }
    let (key, _) = here.split_once('=')?;
    let key = key.trim().trim_matches(['"', '\'']).trim();
    if key.is_empty() || key.contains(char::is_whitespace) {
        return None;
    }
    let table = lines[..line - 1].iter().rev().find_map(|l| header(l));
    Some(match table {
        Some(table) if !table.is_empty() => format!("{table}.{key}"),
        _ => key.to_owned(),
    })
}

/// A URL written in this file; the fallback only keeps `Default` total.
fn fixed_url(text: &str) -> Url {
    Url::parse(text).unwrap_or_else(|_| unreachable!())
}

fn invalid(key: &'static str, problem: &str) -> ConfigError {
    ConfigError::Invalid {
        key,
        env: format!("{ENV_PREFIX}{}", key.to_uppercase()),
        problem: problem.to_owned(),
    }
}

/// `QMKEYS_*` variables with their values kept as text. figment's own `Env`
/// would read `QMKEYS_TIPS=123` as a number and then refuse it for a text
/// setting; `extract_lossy` still reads numbers and booleans out of text where
/// a setting wants one.
struct EnvText;

impl Provider for EnvText {
    fn metadata(&self) -> Metadata {
        Metadata::named(format!("`{ENV_PREFIX}` environment variable(s)"))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut dict = Dict::new();
        for (key, value) in Env::prefixed(ENV_PREFIX).ignore(&["CONFIG"]).iter() {
            dict.insert(key.as_str().to_lowercase(), Value::from(value));
        }
        Ok(Profile::Default.collect(dict))
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

#[cfg(test)]
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn the_example_file_parses_and_states_the_defaults() {
        let example = include_str!("../../../../qmkeys.example.toml");
        let from_example = Settings::from_toml(example).expect("example parses");
        let defaults = Settings::default();
        assert_eq!(format!("{from_example:?}"), format!("{defaults:?}"));
    }

    #[test]
    fn defaults_match_the_documented_ones() {
        let s = Settings::from_toml("").expect("defaults");
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.upstream.as_str(), "https://u.y.qq.com/");
        assert_eq!(s.upstream_timeout_ms, 10_000);
    }

    // figment's Jail fixes the closure's error type; its size is not ours to choose.
    #[allow(clippy::result_large_err)]
    #[test]
    fn environment_overrides_the_file() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "q.toml",
                "listen = \"127.0.0.1:9000\"\ntips = \"from file\"\n",
            )?;
            jail.set_env("QMKEYS_TIPS", "123");
            jail.set_env("QMKEYS_UPSTREAM_TIMEOUT_MS", "2500");
            jail.set_env("QMKEYS_PTLOGIN_BASE", "http://127.0.0.1:9000");
            jail.set_env("QMKEYS_LOGIN_MAX_SESSIONS", "7");
            let s = Settings::load(Some(Path::new("q.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(s.ptlogin_base.as_str(), "http://127.0.0.1:9000/");
            assert_eq!(s.login_max_sessions, 7);
            assert_eq!(s.listen.port(), 9000);
            assert_eq!(s.tips, "123");
            assert_eq!(s.upstream_timeout_ms, 2500);
            Ok(())
        });
    }

    #[allow(clippy::result_large_err)]
    #[test]
    fn unknown_keys_are_refused_naming_the_key() {
        let err = Settings::from_toml("listen_adress = \"x\"")
            .expect_err("unknown")
            .to_string();
        assert!(err.contains("listen_adress"), "{err}");
        Jail::expect_with(|jail| {
            jail.set_env("QMKEYS_UPSTREM", "http://x");
            let err = Settings::load(None).expect_err("unknown env").to_string();
            assert!(err.contains("upstrem"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn bad_values_are_refused_naming_the_key() {
        for (toml, key) in [
            ("listen = \"nowhere\"", "listen"),
            ("upstream = \"ftp://x\"", "upstream"),
            ("upstream_timeout_ms = 0", "upstream_timeout_ms"),
            ("upstream_timeout_ms = \"soon\"", "upstream_timeout_ms"),
            ("log_format = \"xml\"", "log_format"),
            ("ptlogin_base = \"ftp://x\"", "ptlogin_base"),
            ("graph_base = \"https://graph.qq.com/oauth\"", "graph_base"),
            ("wx_lp_base = \"http://h/?q=1\"", "wx_lp_base"),
            ("login_max_sessions = 0", "login_max_sessions"),
            ("login_max_sessions = 100001", "login_max_sessions"),
        ] {
            let err = Settings::from_toml(toml).expect_err(toml).to_string();
            assert!(err.contains(key), "{toml}: {err}");
        }
    }

    #[test]
    fn accounts_are_read_from_tables_and_wechat_ids_may_be_strings() {
        let s = Settings::from_toml(
            "[[accounts]]\nuin = 123456789\nmusickey = \"Q_H_L_a\"\nrefresh_key = \"rk\"\n\n\
             [[accounts]]\nuin = \"9999999999999999999\"\nmusickey = \"W_X_b\"\n",
        )
        .expect("valid");
        let creds = s.account_credentials().expect("valid");
        assert_eq!(creds.len(), 2);
        assert_eq!(creds[0].refresh_key_str(), "rk");
        assert_eq!(creds[1].uin.get(), 9_999_999_999_999_999_999);
        assert!(
            !format!("{s:?}").contains("Q_H_L_a"),
            "Debug hides account keys"
        );
    }

    #[test]
    fn bad_accounts_are_refused_naming_the_entry_and_field() {
        for (toml, expect) in [
            ("[[accounts]]\nuin = 1\nmusickey = \"Q_H_L_a\"", "accounts[0]"),
            ("[[accounts]]\nuin = 123456\nmusickey = \"nope\"", "musickey"),
            ("[[accounts]]\nuin = 123456\nmusickey = \"Q_H_L_a\"\nmusic_key = \"x\"", "music_key"),
            (
                "[[accounts]]\nuin = 123456\nmusickey = \"Q_H_L_a\"\n[[accounts]]\nuin = 123456\nmusickey = \"Q_H_L_b\"",
                "twice",
            ),
            ("cos_endpoint = \"ftp://{bucket}\"", "cos_endpoint"),
            ("cos_max_upload_bytes = 0", "cos_max_upload_bytes"),
        ] {
            let err = Settings::from_toml(toml).expect_err(toml).to_string();
            assert!(err.contains(expect), "{toml}: {err}");
        }
    }

    #[test]
    fn secrets_in_settings_never_show_in_debug_output() {
        let s = Settings::from_toml(
            "secret_key = \"0123456789abcdef-secret\"\nadmin_token = \"0123456789abcdef-admin\"",
        )
        .expect("valid");
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("-secret") && !shown.contains("-admin"),
            "{shown}"
        );
        let short = Settings::from_toml("secret_key = \"short\"").expect_err("short key");
        assert!(short.to_string().contains("secret_key"));
    }

    #[test]
    fn webhook_settings_are_checked_and_their_secrets_never_shown() {
        let s = Settings::from_toml(
            "webhook_url = \"https://hooks.example.com/in?token=tok-in-query\"\n\
             webhook_secret = \"0123456789abcdef-hook\"",
        )
        .expect("valid");
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("tok-in-query") && !shown.contains("-hook"),
            "{shown}"
        );
        assert!(shown.contains("hooks.example.com"), "{shown}");
        for (toml, key) in [
            ("webhook_url = \"ftp://example.com/\"", "webhook_url"),
            ("webhook_url = \"not a url\"", "webhook_url"),
            ("webhook_secret = \"short\"", "webhook_secret"),
        ] {
            let err = Settings::from_toml(toml).expect_err(toml).to_string();
            assert!(err.contains(key), "{toml}: {err}");
        }
    }

    #[test]
    fn a_bad_secret_setting_is_refused_naming_the_key_but_never_its_value() {
        for (toml, key, secret) in [
            ("admin_token = 123456789012", "admin_token", "123456789012"),
            ("admin_token = abcdefSECRET", "admin_token", "abcdefSECRET"),
            ("admin_token = \"abc\" SECRETTAIL", "admin_token", "SECRETTAIL"),
            ("secret_key = true\nadmin_token = 4445556667778889", "admin_token", "4445556667778889"),
            ("secret_key = 987654321098765", "secret_key", "987654321098765"),
            ("webhook_secret = 5556667778889990", "webhook_secret", "5556667778889990"),
            ("webhook_url = \"https//hooks.slack.com/services/T0SECRET\"", "webhook_url", "T0SECRET"),
            ("webhook_url = \"https://[::1/services/T0SECRET\"", "webhook_url", "T0SECRET"),
            ("webhook_url = \"ftp://hooks.example.com/T0SECRET\"", "webhook_url", "T0SECRET"),
            ("redis_url = 6379123456", "redis_url", "6379123456"),
            (
                "secret_key = \"0123456789abcdef-key\"\nredis_url = \"redis://:SECRETPW@[bad/\"",
                "redis_url",
                "SECRETPW",
            ),
            (
                "secret_key = \"0123456789abcdef-key\"\nredis_url = \"rediss://:SECRETPW@host:notaport\"",
                "redis_url",
                "SECRETPW",
            ),
            ("accounts = \"Q_H_L_SECRETKEY\"", "accounts", "SECRETKEY"),
            ("[[accounts]]\nuin = 123456\nmusickey = 998877665544", "accounts", "998877665544"),
            ("[[accounts]]\nuin = 123456\nmusickey = Q_H_L_SECRETKEY", "accounts", "SECRETKEY"),
            (
                "[[accounts]]\nuin = 123456\nmusickey = \"Q_H_L_a\"\nrefresh_key = [\"SECRETRK\"]",
                "accounts",
                "SECRETRK",
            ),
        ] {
            let err = Settings::from_toml(toml).expect_err(toml).to_string();
            assert!(err.contains(key), "{toml}: {err}");
            assert!(!err.contains(secret), "{toml}: {err}");
        }
    }

    #[allow(clippy::result_large_err)]
    #[test]
    fn a_bad_secret_setting_in_the_environment_or_a_file_is_refused_without_its_value() {
        Jail::expect_with(|jail| {
            jail.set_env("QMKEYS_WEBHOOK_URL", "hooks.slack.com/services/T0SECRET");
            let err = Settings::load(None).expect_err("relative").to_string();
            assert!(
                err.contains("webhook_url") && err.contains("QMKEYS_WEBHOOK_URL"),
                "{err}"
            );
            assert!(!err.contains("T0SECRET"), "{err}");
            jail.clear_env();
            jail.set_env("QMKEYS_ACCOUNTS", "Q_H_L_SECRETKEY");
            let err = Settings::load(None).expect_err("not a list").to_string();
            assert!(
                err.contains("accounts") && !err.contains("SECRETKEY"),
                "{err}"
            );
            jail.clear_env();
            jail.create_file("q.toml", "tips = \"ok\"\n\nadmin_token = abcdefSECRET\n")?;
            let err = Settings::load(Some(Path::new("q.toml")))
                .expect_err("syntax")
                .to_string();
            assert!(err.contains("q.toml") && err.contains("line 3"), "{err}");
            assert!(
                err.contains("`admin_token`") && !err.contains("SECRET"),
                "{err}"
            );
            Ok(())
        });
    }

    #[test]
    fn a_syntax_error_elsewhere_keeps_tomls_message_but_never_quotes_the_line() {
        let err = Settings::from_toml("tips = \"a\"\nlisten = 127.0.0.1:80x\n")
            .expect_err("syntax")
            .to_string();
        assert!(
            err.contains("line 2") && err.contains("`listen`") && err.contains("expected"),
            "{err}"
        );
        assert!(!err.contains("127.0.0.1"), "{err}");
        // A line with no key of its own is named by number alone.
        let err = Settings::from_toml("trusted_proxies = [\n  \"10.0.0.1\",\n  oops\n]")
            .expect_err("syntax")
            .to_string();
        assert!(err.contains("line 3") && !err.contains("oops"), "{err}");
    }

    #[test]
    fn a_bad_value_of_an_ordinary_setting_still_says_what_was_given() {
        let err = Settings::from_toml("upstream_timeout_ms = \"soon\"")
            .expect_err("text")
            .to_string();
        assert!(
            err.contains("soon") && err.contains("upstream_timeout_ms"),
            "{err}"
        );
        let err = Settings::from_toml(
            "[[accounts]]\nuin = 123456\nmusickey = \"Q_H_L_a\"\nmusic_key = \"x\"",
        )
        .expect_err("unknown field")
        .to_string();
        assert!(err.contains("music_key"), "{err}");
    }

    #[test]
    fn a_missing_config_file_is_an_error() {
        let err = Settings::load(Some(Path::new("/nonexistent/qmkeys.toml"))).expect_err("missing");
        assert!(matches!(err, ConfigError::MissingFile(_)));
    }
}
