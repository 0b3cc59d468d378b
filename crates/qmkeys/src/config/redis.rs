//! Sharing between instances (`shared/`): where Redis is and how long to
//! wait for it. It needs `secret_key` too; `Settings::validate` checks that.

use super::{between, invalid, ConfigError};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RedisConfig {
    /// Shares caches, the one-Login rule, InitUpload reuse and the account
    /// store between instances. May hold a password, so it is never printed.
    #[serde(rename = "redis_url")]
    pub url: Option<SecretString>,
    /// The longest qmkeys waits for one Redis call before falling back.
    #[serde(rename = "redis_timeout_ms")]
    pub timeout_ms: u64,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: None,
            timeout_ms: 250,
        }
    }
}

impl RedisConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.url {
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
        }
        between(
            "redis_timeout_ms",
            self.timeout_ms,
            10..=10_000,
            " milliseconds",
        )
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}
