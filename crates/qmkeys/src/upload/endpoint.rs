//! Object URLs from the upload endpoint template (`domain::EndpointTemplate`).

use crate::domain::EndpointTemplate;
use url::Url;

impl EndpointTemplate {
    /// The object's URL. The key was checked to need no escaping, and the
    /// template to have no query or fragment, so the key can be appended to
    /// the text and the whole parsed once.
    pub fn object_url(&self, bucket: &str, region: &str, object_key: &str) -> Option<Url> {
        let filled = self.fill(bucket, region);
        let url = Url::parse(&format!("{}/{object_key}", filled.trim_end_matches('/'))).ok()?;
        // A bucket name from upstream must not smuggle in a query or fragment.
        let plain = url.query().is_none() && url.fragment().is_none();
        (matches!(url.scheme(), "http" | "https") && url.host_str().is_some() && plain)
            .then_some(url)
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
}
