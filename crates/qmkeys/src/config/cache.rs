//! The in-process caches (`cache/`): the refresh service's cookies and
//! infos, the upload service's InitUpload answers.

use super::{invalid, ConfigError};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct CacheConfig {
    /// Entries each in-process cache may hold before evicting.
    #[serde(rename = "cache_max_entries")]
    pub max_entries: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            max_entries: 200_000,
        }
    }
}

impl CacheConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_entries == 0 {
            return Err(invalid("cache_max_entries", "must be at least 1"));
        }
        Ok(())
    }
}
