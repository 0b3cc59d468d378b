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

    fn base(&self, bucket: &str, region: &str) -> Option<Url> {
        let url = Url::parse(
            &self
                .0
                .replace("{bucket}", bucket)
                .replace("{region}", region),
        )
        .ok()?;
        (matches!(url.scheme(), "http" | "https") && url.host_str().is_some()).then_some(url)
    }

    /// The object's URL. The key was checked to need no escaping, and the
    /// template to have no query or fragment, so the key can be appended to
    /// the text and the whole parsed once.
    pub fn object_url(&self, bucket: &str, region: &str, object_key: &str) -> Option<Url> {
        let filled = self
            .0
            .replace("{bucket}", bucket)
            .replace("{region}", region);
        let url = Url::parse(&format!("{}/{object_key}", filled.trim_end_matches('/'))).ok()?;
        // A bucket name from upstream must not smuggle in a query or fragment.
        let plain = url.query().is_none() && url.fragment().is_none();
        (matches!(url.scheme(), "http" | "https") && url.host_str().is_some() && plain)
            .then_some(url)
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
    fn default_template_gives_the_seeds_url() {
        let url = EndpointTemplate::default()
            .object_url(
                "music-file-1258344705",
                "ap-guangzhou",
                "songlist/p/1147c/x_c902.png",
            )
            .expect("url");
        assert_eq!(
            url.as_str(),
            "https://music-file-1258344705.cos.ap-guangzhou.myqcloud.com/songlist/p/1147c/x_c902.png"
        );
    }

    #[test]
    fn a_path_prefix_is_kept() {
        let t = EndpointTemplate::parse("http://127.0.0.1:9000/cos/{bucket}/").expect("valid");
        let url = t.object_url("b-1", "r", "songlist/a.png").expect("url");
        assert_eq!(url.as_str(), "http://127.0.0.1:9000/cos/b-1/songlist/a.png");
    }

    #[test]
    fn a_bucket_that_would_add_a_query_or_fragment_gives_no_url() {
        let t = EndpointTemplate::default();
        for bucket in ["b?x=1", "b#top"] {
            assert_eq!(
                t.object_url(bucket, "r", "songlist/a.png"),
                None,
                "{bucket}"
            );
        }
    }

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
