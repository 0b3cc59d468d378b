//! The QR login kinds, one module each, and their registry. Everything that
//! lists kinds reads [`KINDS`]: the API's `type` (and its OpenAPI enum), the
//! CLI's `--kind`, the page's tabs and the engine.
//!
//! A new kind: a module here implementing [`super::provider::QrProvider`],
//! its `mod` line and its line in [`KINDS`].

mod app;
mod qq;
mod wx;

use super::provider::{register, Entry, KindInfo};

/// Every QR login kind, the default first. The order is the page's tabs'.
pub static KINDS: &[Entry] = &[
    register::<qq::QqQr>(),
    register::<wx::WxQr>(),
    register::<app::AppQr>(),
];

/// A registered QR login kind.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct QrKind(pub(super) &'static Entry);

impl QrKind {
    /// The kind whose API name is `text`, exactly.
    pub fn parse(text: &str) -> Option<Self> {
        Self::all().find(|k| k.as_str() == text)
    }

    /// Every kind, in the registry's order.
    pub fn all() -> impl ExactSizeIterator<Item = Self> + Clone {
        KINDS.iter().map(QrKind)
    }

    /// Every kind's API name, in the registry's order.
    pub fn names() -> Vec<&'static str> {
        Self::all().map(Self::as_str).collect()
    }

    /// The API's `type`, the CLI's `--kind` and the metrics label.
    pub fn as_str(self) -> &'static str {
        self.0.info.name
    }

    pub fn info(self) -> &'static KindInfo {
        &self.0.info
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Eq for Entry {}

/// The first registered kind: QQ.
impl Default for QrKind {
    fn default() -> Self {
        QrKind(&KINDS[0])
    }
}

impl std::fmt::Debug for QrKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for QrKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn qr_kind_reads_the_apis_type_and_nothing_else() {
        assert_eq!(QrKind::parse("qq").map(QrKind::as_str), Some("qq"));
        assert_eq!(QrKind::parse("wx").map(QrKind::as_str), Some("wx"));
        assert_eq!(QrKind::parse("app").map(QrKind::as_str), Some("app"));
        for bad in ["", "QQ", "wechat", " qq"] {
            assert_eq!(QrKind::parse(bad), None, "{bad}");
        }
        assert_eq!(QrKind::default().as_str(), "qq");
        assert_eq!(format!("{:?}", QrKind::default()), "qq");
    }

    #[test]
    fn every_kind_is_named_once_in_lower_case_and_shows_an_image() {
        let names: HashSet<_> = QrKind::all().map(QrKind::as_str).collect();
        assert_eq!(names.len(), KINDS.len(), "a name registered twice");
        for kind in QrKind::all() {
            let info = kind.info();
            assert!(
                !info.name.is_empty() && info.name.bytes().all(|b| b.is_ascii_lowercase()),
                "{}: a name fit for a URL, an id and a metrics label",
                info.name
            );
            // `fast` labels desktop fast login in the metrics.
            assert_ne!(info.name, "fast");
            assert!(info.mime.starts_with("image/"), "{}", info.name);
            assert!(!info.label_zh.is_empty() && !info.label_en.is_empty());
            assert_eq!(QrKind::parse(info.name), Some(kind));
        }
    }
}
