//! Simulator settings.

use std::time::Duration;

/// Settings of one simulator instance. Build it with
/// `SimConfig { key_lifetime: .., ..Default::default() }` so new fields do
/// not break callers.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// How long a freshly issued musickey lives on the sim clock; answered as
    /// `keyExpiresIn`. Default 259200 s (3 days), as docs/protocol.md section 8 says.
    pub key_lifetime: Duration,
    /// How long an InitUpload temporary credential lives on the sim clock
    /// (`ExpiredTime - StartTime`). Default 21600 s: section 5's "about six hours".
    pub upload_credential_lifetime: Duration,
    /// How long a login QR (QQ or WeChat) lives on the sim clock after it
    /// is made. Default 120 s: section 9.1's "about 2 minutes".
    pub qr_lifetime: Duration,
    /// How long a WeChat long poll (`/connect/l/qrconnect`) is held when
    /// nothing changes, in real time. Default 30 s (the real one holds
    /// about 25-35 s); tests set a short one.
    pub wx_poll_hold: Duration,
    /// How long a desktop client key from `POST /_sim/clients` stays live
    /// on the sim clock. Default 1800 s.
    pub client_key_lifetime: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            key_lifetime: Duration::from_secs(259_200),
            upload_credential_lifetime: Duration::from_secs(21_600),
            qr_lifetime: Duration::from_secs(120),
            wx_poll_hold: Duration::from_secs(30),
            client_key_lifetime: Duration::from_secs(1_800),
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

    /// The QR lifetime in whole seconds.
    pub(crate) fn qr_lifetime_secs(&self) -> i64 {
        whole_secs(self.qr_lifetime)
    }

    /// The client key lifetime in whole seconds.
    pub(crate) fn client_key_lifetime_secs(&self) -> i64 {
        whole_secs(self.client_key_lifetime)
    }
}
