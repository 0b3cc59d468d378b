//! Settings: built-in defaults, then a TOML file, then `QMKEYS_*` environment
//! variables. Each TOML key is the environment name without the prefix, in lower
//! case (`QMKEYS_UPSTREAM_TIMEOUT_MS` is `upstream_timeout_ms`).
//!
//! The file is one flat table, but every setting has one owner: [`Settings`]
//! holds a group per owner (`settings.upstream.timeout_ms`), each in its own
//! file here with its defaults, its checks (`validate`) and a `Duration`
//! getter for each `_ms` setting. A group reads its own keys out of the flat
//! table: a field is named by its key without the group's prefix, and serde's
//! `rename` keeps the key (`#[serde(rename = "upstream_timeout_ms")] timeout_ms`).
//! A key that no group reads is refused. Tests hold docs/configuration.md
//! (keys, environment names, defaults) and qmkeys.example.toml to the keys
//! the groups read, and set every documented setting through the file and
//! through the environment.

mod accounts;
mod cache;
mod cos;
mod http;
mod log;
mod login;
mod redis;
mod upstream;
mod webhook;

pub use self::accounts::{AccountSetting, AccountsConfig, UinSetting};
pub use self::cache::CacheConfig;
pub use self::cos::CosConfig;
pub use self::http::{HttpConfig, OriginList};
pub use self::log::{LogConfig, LogFormat};
pub use self::login::LoginConfig;
pub use self::redis::RedisConfig;
pub use self::upstream::UpstreamConfig;
pub use self::webhook::{WebhookConfig, WebhookUrl};

use figment::providers::{Env, Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use std::fmt::Display;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use url::Url;

pub const ENV_PREFIX: &str = "QMKEYS_";
/// Names the config file; not a setting itself.
pub const CONFIG_ENV: &str = "QMKEYS_CONFIG";

/// Every setting, grouped by the part of qmkeys that uses it.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Serving the API: addresses, connections, request limits, TLS, CORS,
    /// the envelope's tips and the admin token.
    pub http: HttpConfig,
    /// The QQ Music gateway client.
    pub upstream: UpstreamConfig,
    /// The in-process caches.
    pub cache: CacheConfig,
    pub log: LogConfig,
    /// Signing cover uploads.
    pub cos: CosConfig,
    /// The upload accounts, their store and its secret key.
    pub accounts: AccountsConfig,
    /// Account notices.
    pub webhook: WebhookConfig,
    /// The login hosts and the QR login caps.
    pub login: LoginConfig,
    /// Sharing between instances.
    pub redis: RedisConfig,
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
        // One line per problem, each naming the key and where it came from.
        let mut problems = unknown_keys(&figment);
        let settings = Settings {
            http: read(&figment, &mut problems),
            upstream: read(&figment, &mut problems),
            cache: read(&figment, &mut problems),
            log: read(&figment, &mut problems),
            cos: read(&figment, &mut problems),
            accounts: read(&figment, &mut problems),
            webhook: read(&figment, &mut problems),
            login: read(&figment, &mut problems),
            redis: read(&figment, &mut problems),
        };
        if !problems.is_empty() {
            return Err(ConfigError::Parse(problems.join("; ")));
        }
        settings.validate()?;
        Ok(settings)
    }

    /// Every key the settings read, as the file and (in upper case, with the
    /// prefix) the environment name them.
    pub fn keys() -> &'static [&'static str] {
        static KEYS: OnceLock<Vec<&'static str>> = OnceLock::new();
        KEYS.get_or_init(|| {
            [
                keys_of::<HttpConfig>(),
                keys_of::<UpstreamConfig>(),
                keys_of::<CacheConfig>(),
                keys_of::<LogConfig>(),
                keys_of::<CosConfig>(),
                keys_of::<AccountsConfig>(),
                keys_of::<WebhookConfig>(),
                keys_of::<LoginConfig>(),
                keys_of::<RedisConfig>(),
            ]
            .concat()
        })
    }

    /// Every setting's check; `Application::build` runs it again, so settings
    /// made in code are held to the same rules as loaded ones.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.upstream.validate()?;
        self.http.validate()?;
        self.cache.validate()?;
        self.log.validate()?;
        self.cos.validate()?;
        self.accounts.validate()?;
        self.redis.validate()?;
        self.webhook.validate()?;
        self.login.validate()?;
        if self.redis.url.is_some() && self.accounts.secret_key.is_none() {
            return Err(invalid(
                "redis_url",
                "needs QMKEYS_SECRET_KEY too (the same on every instance): it keys the shared caches and encrypts what is stored in Redis",
            ));
        }
        Ok(())
    }
}

/// One group read from the whole table; it takes its own keys and leaves the
/// others' alone. On a problem, its defaults stand in, so that every group's
/// problems are reported at once (and the settings are refused).
fn read<G: DeserializeOwned + Default>(figment: &Figment, problems: &mut Vec<String>) -> G {
    figment.extract_lossy().unwrap_or_else(|err| {
        problems.extend(err.into_iter().map(|e| describe(&e)));
        G::default()
    })
}

/// A key no group reads, refused as serde refuses an unknown field, naming
/// the key and where it was given.
fn unknown_keys(figment: &Figment) -> Vec<String> {
    use figment::error::Kind;
    let Ok(table) = figment.extract_lossy::<Dict>() else {
        // The groups report whatever is wrong with the table itself.
        return Vec::new();
    };
    let known = Settings::keys();
    table
        .keys()
        .filter(|key| !known.contains(&key.as_str()))
        .map(|key| {
            let mut err = figment::Error::from(Kind::UnknownField(key.clone(), known));
            err.metadata = figment.find_metadata(key).cloned();
            err.profile = Some(figment.profile().clone());
            describe(&err.with_path(key))
        })
        .collect()
}

/// The keys a group reads: the field names (after `rename`) that serde's
/// derive hands its deserializer, caught by one that reads nothing else.
fn keys_of<G: DeserializeOwned>() -> &'static [&'static str] {
    struct Fields(&'static [&'static str]);

    impl<'de> serde::Deserializer<'de> for &mut Fields {
        type Error = serde::de::value::Error;

        fn deserialize_any<V: serde::de::Visitor<'de>>(
            self,
            _: V,
        ) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("a group is a struct"))
        }

        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = fields;
            Err(serde::de::Error::custom("only the field names were wanted"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }

    let mut fields = Fields(&[]);
    let _ = G::deserialize(&mut fields);
    fields.0
}

fn invalid(key: &'static str, problem: &str) -> ConfigError {
    ConfigError::Invalid {
        key,
        env: format!("{ENV_PREFIX}{}", key.to_uppercase()),
        problem: problem.to_owned(),
    }
}

/// Refuses `value` outside `range`: "must be between A and B`unit`".
fn between<T: PartialOrd + Display>(
    key: &'static str,
    value: T,
    range: RangeInclusive<T>,
    unit: &str,
) -> Result<(), ConfigError> {
    if range.contains(&value) {
        return Ok(());
    }
    let (low, high) = (range.start(), range.end());
    Err(invalid(
        key,
        &format!("must be between {low} and {high}{unit}"),
    ))
}

/// Refuses a secret shorter than 16 characters.
fn long_enough(key: &'static str, secret: Option<&SecretString>) -> Result<(), ConfigError> {
    if secret.is_some_and(|s| s.expose_secret().chars().count() < 16) {
        return Err(invalid(key, "must be at least 16 characters"));
    }
    Ok(())
}

/// A URL written in this file; the fallback only keeps `Default` total.
fn fixed_url(text: &str) -> Url {
    Url::parse(text).unwrap_or_else(|_| unreachable!())
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

#[cfg(test)]
mod tests;
