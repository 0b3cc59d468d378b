//! The HTTP side's settings: where and how the API is served.

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use url::Url;

/// The `cors_allowed_origins` setting: `*`, a list of origins, or nothing
/// (no cross-origin access). In TOML it is an array; in the environment one
/// comma-separated string: `QMKEYS_CORS_ALLOWED_ORIGINS="https://a.example,https://b.example"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginList(Vec<String>);

impl OriginList {
    pub fn any() -> Self {
        Self(vec!["*".to_owned()])
    }

    pub fn new(origins: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self(origins.into_iter().map(Into::into).collect())
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// Checks every entry: `*` alone, or origins exactly as a browser sends
    /// them (`scheme://host[:port]`, no path, no trailing slash).
    pub fn check(&self) -> Result<(), String> {
        if self.0.iter().any(|o| o == "*") {
            return if self.0.len() == 1 {
                Ok(())
            } else {
                Err("`*` allows every origin and cannot be combined with others".into())
            };
        }
        for origin in &self.0 {
            check_origin(origin)?;
        }
        Ok(())
    }
}

impl Default for OriginList {
    fn default() -> Self {
        Self::any()
    }
}

fn check_origin(origin: &str) -> Result<(), String> {
    let example =
        "write origins as a browser sends them, e.g. https://example.com or http://127.0.0.1:3000";
    let url = Url::parse(origin).map_err(|_| format!("`{origin}` is not an origin: {example}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("`{origin}` is not an http(s) origin: {example}"));
    }
    let canonical = url.origin().ascii_serialization();
    if canonical != origin {
        return Err(format!(
            "`{origin}` is not written as a browser sends it (no path, no trailing slash, lower case, no default port): use `{canonical}`"
        ));
    }
    Ok(())
}

impl<'de> Deserialize<'de> for OriginList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListOrText;

        impl<'de> Visitor<'de> for ListOrText {
            type Value = OriginList;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of origins, or one comma-separated string of them")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<OriginList, E> {
                Ok(OriginList(
                    text.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                ))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OriginList, A::Error> {
                let mut all = Vec::new();
                while let Some(origin) = seq.next_element::<String>()? {
                    all.push(origin.trim().to_owned());
                }
                Ok(OriginList(all))
            }
        }

        deserializer.deserialize_any(ListOrText)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    #[test]
    fn star_alone_and_browser_shaped_origins_pass() {
        assert_eq!(OriginList::any().check(), Ok(()));
        assert_eq!(OriginList::new(Vec::<String>::new()).check(), Ok(()));
        let list = OriginList::new(["https://example.com", "http://127.0.0.1:3000"]);
        assert_eq!(list.check(), Ok(()));
    }

    #[test]
    fn origins_a_browser_would_never_send_are_refused_with_the_fix() {
        for (bad, hint) in [
            ("https://example.com/", "https://example.com"),
            ("https://Example.com", "https://example.com"),
            ("https://example.com:443", "https://example.com"),
            ("https://example.com/app", "https://example.com"),
            ("example.com", "browser"),
            ("ftp://example.com", "http(s)"),
        ] {
            let err = OriginList::new([bad]).check().expect_err(bad);
            assert!(err.contains(hint), "{bad}: {err}");
        }
        let mixed = OriginList::new(["*", "https://example.com"]).check();
        assert!(mixed.is_err_and(|e| e.contains("cannot be combined")));
    }

    // figment's Jail fixes the closure's error type; its size is not ours to choose.
    #[allow(clippy::result_large_err)]
    #[test]
    fn the_setting_reads_a_toml_array_or_an_environment_string_and_names_itself_when_wrong() {
        let from_toml =
            Settings::from_toml("cors_allowed_origins = [\"https://a.example\"]").expect("valid");
        assert_eq!(
            from_toml.cors_allowed_origins.as_slice(),
            ["https://a.example"]
        );
        figment::Jail::expect_with(|jail| {
            jail.set_env(
                "QMKEYS_CORS_ALLOWED_ORIGINS",
                "https://a.example,http://127.0.0.1:3000",
            );
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(
                s.cors_allowed_origins.as_slice(),
                ["https://a.example", "http://127.0.0.1:3000"]
            );
            jail.set_env("QMKEYS_CORS_ALLOWED_ORIGINS", "https://a.example/");
            let err = Settings::load(None)
                .expect_err("trailing slash")
                .to_string();
            assert!(
                err.contains("cors_allowed_origins") && err.contains("QMKEYS_CORS_ALLOWED_ORIGINS"),
                "{err}"
            );
            Ok(())
        });
    }

    #[test]
    fn an_environment_string_is_split_on_commas() {
        let list: OriginList =
            serde_json::from_value(serde_json::json!(" https://a.example , https://b.example,"))
                .expect("text");
        assert_eq!(list.as_slice(), ["https://a.example", "https://b.example"]);
        let empty: OriginList = serde_json::from_value(serde_json::json!("")).expect("empty");
        assert!(empty.as_slice().is_empty());
        let array: OriginList = serde_json::from_value(serde_json::json!(["*"])).expect("array");
        assert_eq!(array, OriginList::any());
    }
}
