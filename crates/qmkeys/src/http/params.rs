//! Request parameters from the query string and, for POST, a form body. The
//! public API takes both, so each route reads them through this one type.

use super::error::ApiError;
use crate::domain::ParamError;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{header::CONTENT_TYPE, HeaderMap, Method, StatusCode};

/// Form bodies carry four short fields; more than this is not a refresh.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// The value of each [`KNOWN`] parameter, in its order; others are dropped
/// as they are read, since no route looks at them.
#[derive(Debug, Default)]
pub struct Params([Option<String>; KNOWN.len()]);

impl Params {
    pub fn from_request(
        method: &Method,
        query: Option<&str>,
        headers: &HeaderMap,
        body: Result<Bytes, BytesRejection>,
    ) -> Result<Self, ApiError> {
        let mut params = Params::default();
        params.extend(form_urlencoded::parse(query.unwrap_or_default().as_bytes()))?;
        if method == Method::POST {
            let body = body.map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::BodyTooLarge
                } else {
                    ApiError::BadBody
                }
            })?;
            if !body.is_empty() {
                if !is_form(headers) {
                    return Err(ApiError::UnsupportedMediaType);
                }
                params.extend(form_urlencoded::parse(&body))?;
            }
        }
        Ok(params)
    }

    fn extend<'a>(
        &mut self,
        pairs: impl Iterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
    ) -> Result<(), ApiError> {
        for (name, value) in pairs {
            let Some(i) = KNOWN.iter().position(|known| *known == name) else {
                continue;
            };
            // A parameter given twice is ambiguous: which key did the caller mean?
            if self.0[i].is_some() {
                let param = KNOWN[i];
                return Err(
                    ParamError::new(param, format!("参数 {param} 重复出现，只能提供一次")).into(),
                );
            }
            self.0[i] = Some(value.into_owned());
        }
        Ok(())
    }

    /// The parameter's value; `None` when absent or not one of [`KNOWN`].
    pub fn get(&self, name: &str) -> Option<&str> {
        let i = KNOWN.iter().position(|known| *known == name)?;
        self.0[i].as_deref()
    }
}

/// Parameters that mean something to some route; repeats of others are ignored.
const KNOWN: &[&str] = &[
    "uin",
    "music_key",
    "refresh_key",
    "refresh_token",
    "save",
    "sha1",
    "md5",
    "size",
    "ext",
];

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=utf-8"
                .parse()
                .expect("static"),
        );
        h
    }

    #[test]
    fn query_and_form_both_count_and_percent_decoding_applies() {
        let p = Params::from_request(
            &Method::POST,
            Some("uin=123456"),
            &form_headers(),
            Ok(Bytes::from_static(b"music_key=Q_H_L_a%2Bb")),
        )
        .expect("params");
        assert_eq!(p.get("uin"), Some("123456"));
        assert_eq!(p.get("music_key"), Some("Q_H_L_a+b"));
    }

    #[test]
    fn a_repeated_parameter_is_refused_by_name() {
        let err = Params::from_request(
            &Method::GET,
            Some("uin=1&uin=2"),
            &HeaderMap::new(),
            Ok(Bytes::new()),
        )
        .expect_err("duplicate");
        match err {
            ApiError::Param(e) => assert_eq!(e.param, "uin"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn post_bodies_must_be_forms() {
        let err = Params::from_request(
            &Method::POST,
            None,
            &HeaderMap::new(),
            Ok(Bytes::from_static(b"{}")),
        )
        .expect_err("json");
        assert!(matches!(err, ApiError::UnsupportedMediaType));
    }
}
