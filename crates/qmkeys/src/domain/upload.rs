//! What `/tool/cos/sign` takes: a file's digests, size and image type.

use super::ParamError;
use std::fmt;

/// A file's SHA-1, lower-case hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileSha1(String);

impl FileSha1 {
    pub fn parse(raw: Option<&str>) -> Result<Self, ParamError> {
        hex_digest("sha1", raw, 40).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A file's MD5, lower-case hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileMd5(String);

impl FileMd5 {
    pub fn parse(raw: Option<&str>) -> Result<Self, ParamError> {
        hex_digest("md5", raw, 32).map(Self)
    }

    /// `Content-MD5`: base64 of the raw digest.
    pub fn content_md5(&self) -> String {
        // 32 hex digits always decode to 16 bytes.
        content_md5(&self.0).unwrap_or_default()
    }
}

/// `Content-MD5`: base64 of the 16 raw digest bytes, from the hex the caller sent.
pub fn content_md5(md5_hex: &str) -> Option<String> {
    use base64::Engine;
    let raw = hex::decode(md5_hex).ok().filter(|b| b.len() == 16)?;
    Some(base64::engine::general_purpose::STANDARD.encode(raw))
}

fn hex_digest(param: &'static str, raw: Option<&str>, len: usize) -> Result<String, ParamError> {
    let raw = raw
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(ParamError::missing(param))?;
    if raw.len() != len || !raw.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ParamError::new(
            param,
            format!("参数 {param} 格式错误：应为 {len} 位十六进制字符（文件的 {param} 值）"),
        ));
    }
    Ok(raw.to_ascii_lowercase())
}

/// A file size in bytes, from 1 up to the configured maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileSize(u64);

impl FileSize {
    pub fn parse(raw: Option<&str>, max: u64) -> Result<Self, ParamError> {
        let raw = raw
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or(ParamError::missing("size"))?;
        let size: u64 = raw
            .parse()
            .map_err(|_| ParamError::new("size", "参数 size 必须是正整数（文件的字节数）"))?;
        if size == 0 || size > max {
            return Err(ParamError::new(
                "size",
                format!("参数 size 超出范围：应在 1 到 {max} 字节之间"),
            ));
        }
        Ok(Self(size))
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

/// The cover's image type; decides the object's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageExt {
    Png,
    Jpg,
    Jpeg,
    Gif,
    Webp,
    Bmp,
    Svg,
}

impl ImageExt {
    pub const ALL: [ImageExt; 7] = [
        ImageExt::Png,
        ImageExt::Jpg,
        ImageExt::Jpeg,
        ImageExt::Gif,
        ImageExt::Webp,
        ImageExt::Bmp,
        ImageExt::Svg,
    ];

    /// Absent means png, as the public API assumes. Present, it is exactly
    /// one of the documented names: an empty or differently written value is
    /// refused, as the OpenAPI document's enum says.
    pub fn parse(raw: Option<&str>) -> Result<Self, ParamError> {
        let Some(raw) = raw else {
            return Ok(ImageExt::Png);
        };
        Self::ALL
            .into_iter()
            .find(|e| e.as_str() == raw)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|e| e.as_str()).collect();
                let problem = if raw.is_empty() {
                    "不能为空"
                } else {
                    "不支持"
                };
                ParamError::new(
                    "ext",
                    format!(
                        "参数 ext {problem}：不填则为 png，填写时只能是 {} 之一（小写）",
                        names.join("、")
                    ),
                )
            })
    }

    /// A file name's extension as people write it (`PNG`, `.jpg`).
    pub fn from_file_ext(raw: &str) -> Option<Self> {
        let raw = raw.trim().trim_start_matches('.').to_ascii_lowercase();
        Self::ALL.into_iter().find(|e| e.as_str() == raw)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ImageExt::Png => "png",
            ImageExt::Jpg => "jpg",
            ImageExt::Jpeg => "jpeg",
            ImageExt::Gif => "gif",
            ImageExt::Webp => "webp",
            ImageExt::Bmp => "bmp",
            ImageExt::Svg => "svg",
        }
    }
}

impl fmt::Display for ImageExt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated `/tool/cos/sign` request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UploadFile {
    pub sha1: FileSha1,
    pub md5: FileMd5,
    pub size: FileSize,
    pub ext: ImageExt,
}

impl UploadFile {
    pub fn parse(
        sha1: Option<&str>,
        md5: Option<&str>,
        size: Option<&str>,
        ext: Option<&str>,
        max_size: u64,
    ) -> Result<Self, ParamError> {
        Ok(Self {
            sha1: FileSha1::parse(sha1)?,
            md5: FileMd5::parse(md5)?,
            size: FileSize::parse(size, max_size)?,
            ext: ImageExt::parse(ext)?,
        })
    }

    /// The name sent to InitUpload.
    pub fn file_name(&self) -> String {
        format!("{}.{}", self.sha1.as_str(), self.ext)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA1: &str = "4fbfbc28bbc4a67850fa90823fcea389fcfcd48d";
    const MD5: &str = "f853b39f8d7c2e617dbde77dca66d413";

    #[test]
    fn the_documented_example_parses_and_sha1_is_lowered() {
        let upper = SHA1.to_uppercase();
        let file = UploadFile::parse(Some(&upper), Some(MD5), Some("51458"), None, 20 << 20)
            .expect("valid");
        assert_eq!(file.sha1.as_str(), SHA1);
        assert_eq!(file.ext, ImageExt::Png);
        assert_eq!(file.md5.content_md5(), "+FOzn418LmF9ved9ymbUEw==");
        assert_eq!(file.file_name(), format!("{SHA1}.png"));
    }

    #[test]
    fn each_bad_value_names_its_parameter() {
        let max = 1000;
        // (sha1, md5, size, ext, the parameter the error must name)
        type Case<'a> = (
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
            &'a str,
        );
        let cases: [Case; 12] = [
            (None, Some(MD5), Some("1"), None, "sha1"),
            (Some("abc"), Some(MD5), Some("1"), None, "sha1"),
            (Some(&SHA1[..39]), Some(MD5), Some("1"), None, "sha1"),
            (
                Some(SHA1),
                Some("zz53b39f8d7c2e617dbde77dca66d413"),
                Some("1"),
                None,
                "md5",
            ),
            (Some(SHA1), None, Some("1"), None, "md5"),
            (Some(SHA1), Some(MD5), Some("0"), None, "size"),
            (Some(SHA1), Some(MD5), Some("1001"), None, "size"),
            (Some(SHA1), Some(MD5), Some("-5"), None, "size"),
            (Some(SHA1), Some(MD5), Some("1.5"), None, "size"),
            (Some(SHA1), Some(MD5), Some("1"), Some("exe"), "ext"),
            (Some(SHA1), Some(MD5), Some("1"), Some(""), "ext"),
            (Some(SHA1), Some(MD5), Some("1"), Some("PNG"), "ext"),
        ];
        for (sha1, md5, size, ext, param) in cases {
            let err = UploadFile::parse(sha1, md5, size, ext, max).expect_err(param);
            assert_eq!(err.param, param, "{sha1:?} {md5:?} {size:?} {ext:?}");
            assert!(err.message.contains(param), "{}", err.message);
        }
    }

    #[test]
    fn every_listed_extension_is_accepted_as_written_and_file_names_in_any_case() {
        for ext in ["png", "jpg", "jpeg", "gif", "webp", "bmp", "svg"] {
            assert_eq!(ImageExt::parse(Some(ext)).map(ImageExt::as_str), Ok(ext));
        }
        assert_eq!(ImageExt::parse(None), Ok(ImageExt::Png));
        for ext in ["JPG", ".png", " webp "] {
            assert!(ImageExt::parse(Some(ext)).is_err(), "{ext}");
            assert!(ImageExt::from_file_ext(ext).is_some(), "{ext}");
        }
        assert_eq!(ImageExt::from_file_ext("exe"), None);
    }
}
