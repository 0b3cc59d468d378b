//! Logging (`telemetry.rs`).

use super::{invalid, ConfigError};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct LogConfig {
    #[serde(rename = "log_format")]
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `qmkeys=debug`. `RUST_LOG` wins when set.
    #[serde(rename = "log_level")]
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".to_owned(),
        }
    }
}

impl LogConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if tracing_subscriber::EnvFilter::try_new(&self.level).is_err() {
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
        Ok(())
    }
}
