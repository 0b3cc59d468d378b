//! The signing endpoint's parameters: `Sign::from_query` on the query of
//! `GET /tool/cos/sign`, exactly what the route's extractor does; and
//! `UploadFile::parse(sha1, md5, size, ext, max)` on raw strings.
//!
//! Beyond "never panics", it checks that an accepted file has lower-case hex
//! digests of the right length, a Content-MD5 that is the base64 of the MD5's
//! 16 bytes, a size from 1 to the maximum, a known extension, and an InitUpload
//! file name `<sha1>.<ext>`; that it parses again to itself; and that every
//! refusal maps to a 4xx envelope whose code is `status * 100 + n`.
#![no_main]

use arbitrary::Arbitrary;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use qmkeys::domain::{ImageExt, UploadFile};
use qmkeys::http::error::ApiError;
use qmkeys::http::params::Sign;

#[derive(Arbitrary, Debug)]
enum Input {
    Fields {
        sha1: Option<String>,
        md5: Option<String>,
        size: Option<String>,
        ext: Option<String>,
        max: u64,
    },
    Query {
        query: String,
        max: u64,
    },
}

fuzz_target!(|input: Input| match input {
    Input::Fields {
        sha1,
        md5,
        size,
        ext,
        max,
    } => check(
        sha1.as_deref(),
        md5.as_deref(),
        size.as_deref(),
        ext.as_deref(),
        max,
    ),
    Input::Query { query, max } => match Sign::from_query(Some(&query), max) {
        Ok(sign) => {
            let file = &sign.file;
            let md5 = hex::encode(
                base64::engine::general_purpose::STANDARD
                    .decode(file.md5.content_md5())
                    .expect("Content-MD5 is base64"),
            );
            let size = file.size.get().to_string();
            check(
                Some(file.sha1.as_str()),
                Some(&md5),
                Some(&size),
                Some(file.ext.as_str()),
                max,
            )
        }
        Err(err) => assert_client_error(&err),
    },
});

fn check(sha1: Option<&str>, md5: Option<&str>, size: Option<&str>, ext: Option<&str>, max: u64) {
    let file = match UploadFile::parse(sha1, md5, size, ext, max) {
        Ok(file) => file,
        Err(err) => {
            assert!(["sha1", "md5", "size", "ext"].contains(&err.param));
            assert_client_error(&ApiError::Param(err));
            return;
        }
    };
    let lower_hex = |s: &str, len: usize| {
        s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    assert!(lower_hex(file.sha1.as_str(), 40));
    let content_md5 = file.md5.content_md5();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&content_md5)
        .expect("Content-MD5 is base64");
    assert_eq!(raw.len(), 16);
    let md5_hex = hex::encode(&raw);
    assert!(lower_hex(&md5_hex, 32));
    assert!((1..=max).contains(&file.size.get()));
    assert!(ImageExt::ALL.contains(&file.ext));
    assert_eq!(
        file.file_name(),
        format!("{}.{}", file.sha1.as_str(), file.ext)
    );

    let size_text = file.size.get().to_string();
    let again = UploadFile::parse(
        Some(file.sha1.as_str()),
        Some(&md5_hex),
        Some(&size_text),
        Some(file.ext.as_str()),
        max,
    )
    .expect("an accepted file parses again");
    assert_eq!(again, file);
}

fn assert_client_error(err: &ApiError) {
    let parts = err.parts();
    assert!(parts.status.is_client_error(), "{err:?} -> {parts:?}");
    assert_eq!(i32::from(parts.status.as_u16()), parts.code / 100);
    assert!(!parts.message.is_empty());
}
