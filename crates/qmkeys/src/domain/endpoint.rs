//! The upload endpoint template a setting names (`cos_endpoint`): parsed and
//! checked here, where `config/` can take it; `upload/endpoint.rs` makes the
//! object URLs from it.

use url::Url;

/// The upload endpoint, e.g. `https://{bucket}.cos.{region}.myqcloud.com`; the
/// object key is appended to its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointTemplate(String);

impl EndpointTemplate {
    pub const DEFAULT: &'static str = "https://{bucket}.cos.{region}.myqcloud.com";

    /// Checks that the template makes an http(s) URL with a host and no query.
    pub fn parse(template: &str) -> Result<Self, String> {
        let t = Self(template.trim().to_owned());
        let sample = t
            .base("music-file-1258344705", "ap-guangzhou")
            .ok_or("is not an http:// or https:// URL once {bucket} and {region} are filled in")?;
        if sample.query().is_some() || sample.fragment().is_some() {
            return Err("must not have a query or fragment".into());
        }
        Ok(t)
    }

    /// The template with `{bucket}` and `{region}` filled in.
    pub fn fill(&self, bucket: &str, region: &str) -> String {
        self.0
            .replace("{bucket}", bucket)
            .replace("{region}", region)
    }

    fn base(&self, bucket: &str, region: &str) -> Option<Url> {
        let url = Url::parse(&self.fill(bucket, region)).ok()?;
        (matches!(url.scheme(), "http" | "https") && url.host_str().is_some()).then_some(url)
    }
}

impl Default for EndpointTemplate {
    fn default() -> Self {
        Self(Self::DEFAULT.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_templates_are_refused() {
        for bad in [
            "",
            "ftp://{bucket}",
            "{bucket}.example",
            "https://x/{bucket}?a=b",
        ] {
            assert!(EndpointTemplate::parse(bad).is_err(), "{bad}");
        }
    }
}
