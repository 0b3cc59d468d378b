//! Simulator settings.

use std::time::Duration;

/// Settings of one simulator instance.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// How long a freshly issued musickey lives on the sim clock; answered as
    /// `keyExpiresIn`. Default 259200 s (3 days), as PROTOCOL.md section 3 says.
    pub key_lifetime: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            key_lifetime: Duration::from_secs(259_200),
        }
    }
}

impl SimConfig {
    /// The key lifetime in whole seconds, as the wire and the sim clock count.
    pub(crate) fn key_lifetime_secs(&self) -> i64 {
        i64::try_from(self.key_lifetime.as_secs()).unwrap_or(i64::MAX)
    }
}
