//! The upload accounts (`accounts/`): the ones the file seeds the store
//! with, where the store is and the key that encrypts it, and when keys are
//! refreshed in the background.

use super::{between, invalid, long_enough, ConfigError};
use crate::domain::{Credential, ParamError};
use secrecy::SecretString;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AccountsConfig {
    /// Upload accounts, `[[accounts]]` tables in the file: only seeds of the
    /// store, whose rotated credentials win from then on.
    #[serde(rename = "accounts")]
    pub seeds: Vec<AccountSetting>,
    /// Whether `save=true` on the refresh endpoint may add accounts
    /// (not `accounts.allow_save`: `[[accounts]]` is a list in TOML, so
    /// the flag sits beside it).
    #[serde(rename = "accounts_allow_save")]
    pub allow_save: bool,
    /// Refresh an upload account when less than this share of its key's
    /// lifetime is left.
    #[serde(rename = "accounts_refresh_share")]
    pub refresh_share: f64,
    /// How often the background task looks for keys that are due.
    #[serde(rename = "accounts_check_interval_ms")]
    pub check_interval_ms: u64,
    /// How many account events the owner's timeline keeps (newest first).
    #[serde(rename = "accounts_events_keep")]
    pub events_keep: usize,
    /// How often the background task asks whether each kept key is alive
    /// (GetLoginUserInfo, which does not rotate it).
    #[serde(rename = "accounts_key_check_interval_ms")]
    pub key_check_interval_ms: u64,
    /// The SQLite file that keeps upload accounts across restarts.
    pub db: PathBuf,
    /// Encrypts keys and tokens at rest when set (at least 16 characters);
    /// also keys the caches shared through Redis.
    pub secret_key: Option<SecretString>,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        Self {
            seeds: Vec::new(),
            allow_save: false,
            refresh_share: 1.0 / 3.0,
            check_interval_ms: 30_000,
            events_keep: 1_000,
            key_check_interval_ms: 3_600_000,
            db: PathBuf::from("qmkeys.db"),
            secret_key: None,
        }
    }
}

impl AccountsConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.refresh_share > 0.0 && self.refresh_share < 1.0) {
            return Err(invalid(
                "accounts_refresh_share",
                "must be between 0 and 1, e.g. 0.3333",
            ));
        }
        between(
            "accounts_check_interval_ms",
            self.check_interval_ms,
            10..=86_400_000,
            " milliseconds",
        )?;
        between("accounts_events_keep", self.events_keep, 1..=100_000, "")?;
        between(
            "accounts_key_check_interval_ms",
            self.key_check_interval_ms,
            1_000..=86_400_000,
            " milliseconds",
        )?;
        if self.db.as_os_str().is_empty() {
            return Err(invalid("db", "must be a file path"));
        }
        long_enough("secret_key", self.secret_key.as_ref())?;
        let mut seen = std::collections::HashSet::new();
        for (index, cred) in self.credentials()?.into_iter().enumerate() {
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
    pub fn credentials(&self) -> Result<Vec<Credential>, ConfigError> {
        self.seeds
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

    pub fn check_interval(&self) -> Duration {
        Duration::from_millis(self.check_interval_ms)
    }

    pub fn key_check_interval(&self) -> Duration {
        Duration::from_millis(self.key_check_interval_ms)
    }
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

/// The config file's name for a field the API calls `music_key`.
fn account_field(param: &str) -> &str {
    if param == "music_key" {
        "musickey"
    } else {
        param
    }
}
