//! Simulator settings.

use std::time::Duration;

/// Settings of one simulator instance. Build it with
/// `SimConfig { key_lifetime: .., ..Default::default() }` so new fields do
/// not break callers.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// How long a freshly issued musickey lives on the sim clock; answered as
    /// `keyExpiresIn`. Default 259200 s (3 days), as PROTOCOL.md section 3 says.
    pub key_lifetime: Duration,
    /// How long an InitUpload temporary credential lives on the sim clock
    /// (`ExpiredTime - StartTime`). Default 21600 s: section 5's "about six hours".
    pub upload_credential_lifetime: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            key_lifetime: Duration::from_secs(259_200),
            upload_credential_lifetime: Duration::from_secs(21_600),
        }
    }
}

fn whole_secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl SimConfig {
    /// The key lifetime in whole seconds, as the wire and the sim clock count.
    pub(crate) fn key_lifetime_secs(&self) -> i64 {
        whole_secs(self.key_lifetime)
    }

    /// The upload credential lifetime in whole seconds.
    pub(crate) fn upload_credential_lifetime_secs(&self) -> i64 {
        whole_secs(self.upload_credential_lifetime)
    }
}
