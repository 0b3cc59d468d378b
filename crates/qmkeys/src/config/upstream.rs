//! The QQ Music gateway client (`upstream/`): where it is, how long a call
//! may take, and the discipline around calls (in flight, breaker, retries).

use super::{between, fixed_url, invalid, ConfigError};
use serde::Deserialize;
use std::time::Duration;
use url::Url;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct UpstreamConfig {
    /// Base URL of the QQ Music gateway.
    #[serde(rename = "upstream")]
    pub base: Url,
    /// Whole-call limit for one upstream request.
    #[serde(rename = "upstream_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(rename = "upstream_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// Upstream calls in flight at once; a flood waits instead of opening
    /// unbounded connections.
    #[serde(rename = "upstream_max_in_flight")]
    pub max_in_flight: usize,
    /// Consecutive upstream failures that open the circuit breaker.
    #[serde(rename = "upstream_breaker_failures")]
    pub breaker_failures: u32,
    /// How long the breaker stays open before one probe is let through.
    #[serde(rename = "upstream_breaker_cooldown_ms")]
    pub breaker_cooldown_ms: u64,
    /// Extra attempts for vip_login_base and InitUpload (Login is never retried).
    #[serde(rename = "upstream_retries")]
    pub retries: u32,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        Self {
            base: fixed_url("https://u.y.qq.com"),
            timeout_ms: 10_000,
            connect_timeout_ms: 3_000,
            max_in_flight: 64,
            breaker_failures: 5,
            breaker_cooldown_ms: 10_000,
            retries: 2,
        }
    }
}

impl UpstreamConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !matches!(self.base.scheme(), "http" | "https") || self.base.host_str().is_none() {
            return Err(invalid(
                "upstream",
                "must be an http:// or https:// URL with a host",
            ));
        }
        let ms = " milliseconds";
        between("upstream_timeout_ms", self.timeout_ms, 1..=600_000, ms)?;
        between(
            "upstream_connect_timeout_ms",
            self.connect_timeout_ms,
            1..=600_000,
            ms,
        )?;
        between("upstream_max_in_flight", self.max_in_flight, 1..=10_000, "")?;
        between(
            "upstream_breaker_failures",
            self.breaker_failures,
            1..=1_000,
            "",
        )?;
        between(
            "upstream_breaker_cooldown_ms",
            self.breaker_cooldown_ms,
            100..=3_600_000,
            ms,
        )?;
        if self.retries > 5 {
            return Err(invalid("upstream_retries", "must be at most 5"));
        }
        Ok(())
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    pub fn breaker_cooldown(&self) -> Duration {
        Duration::from_millis(self.breaker_cooldown_ms)
    }
}
