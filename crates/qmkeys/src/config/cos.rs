//! Signing cover uploads (`upload/`, `cos/`): where uploads go and how big
//! they may be.

use super::{fixed_url, invalid, ConfigError};
use crate::domain::EndpointTemplate;
use serde::Deserialize;
use url::Url;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct CosConfig {
    /// Upload endpoint; `{bucket}` and `{region}` come from InitUpload.
    #[serde(rename = "cos_endpoint")]
    pub endpoint: String,
    /// Base of the CDN address answered for an uploaded cover.
    pub cdn_base: Url,
    /// Largest file `/tool/cos/sign` signs, in bytes.
    #[serde(rename = "cos_max_upload_bytes")]
    pub max_upload_bytes: u64,
}

impl Default for CosConfig {
    fn default() -> Self {
        Self {
            endpoint: EndpointTemplate::DEFAULT.to_owned(),
            cdn_base: fixed_url("https://music-file.y.qq.com"),
            max_upload_bytes: 20 * 1024 * 1024,
        }
    }
}

impl CosConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.endpoint_template()?;
        if !matches!(self.cdn_base.scheme(), "http" | "https") || self.cdn_base.query().is_some() {
            return Err(invalid(
                "cdn_base",
                "must be an http:// or https:// URL without a query",
            ));
        }
        if !(1..=5 * 1024 * 1024 * 1024).contains(&self.max_upload_bytes) {
            return Err(invalid(
                "cos_max_upload_bytes",
                "must be between 1 and 5 GiB (COS's single PUT limit)",
            ));
        }
        Ok(())
    }

    pub fn endpoint_template(&self) -> Result<EndpointTemplate, ConfigError> {
        EndpointTemplate::parse(&self.endpoint).map_err(|problem| invalid("cos_endpoint", &problem))
    }
}
