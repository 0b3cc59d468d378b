//! COS-shaped answers: the XML error body and the headers every answer carries.

use axum::body::Body;
use axum::http::{header, HeaderValue, Response, StatusCode};

use crate::error::SimError;
use crate::ids;

/// A refused bucket request: status, COS error code and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl CosError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn no_such_bucket() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NoSuchBucket",
            "The specified bucket does not exist.",
        )
    }

    /// The XML error answer; `resource` is `host` + path, as COS reports it.
    pub fn into_response(self, resource: &str) -> Response<Body> {
        let request_id = ids::cos_request_id();
        let xml = format!(
            "<?xml version='1.0' encoding='utf-8' ?><Error><Code>{}</Code><Message>{}</Message><Resource>{}</Resource><RequestId>{}</RequestId></Error>",
            self.code,
            escape(&self.message),
            escape(resource),
            request_id
        );
        let mut resp = Response::new(Body::from(xml));
        *resp.status_mut() = self.status;
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
        set_common(h, &request_id);
        resp
    }
}

impl From<SimError> for CosError {
    fn from(e: SimError) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            e.to_string(),
        )
    }
}

/// `Server` and `x-cos-request-id`, as on every COS answer.
pub fn set_common(h: &mut axum::http::HeaderMap, request_id: &str) {
    h.insert(header::SERVER, HeaderValue::from_static("tencent-cos"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-cos-request-id", v);
    }
}

/// A success answer with a fresh request id.
pub fn ok(body: Body) -> Response<Body> {
    let mut resp = Response::new(body);
    set_common(resp.headers_mut(), &ids::cos_request_id());
    resp
}

/// Escapes text for an XML element.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Content-Type of a stored object, from its key's extension.
pub fn content_type_for(key: &str) -> &'static str {
    let ext = key
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "mp3" => "audio/mpeg",
        "flac" => "audio/flac",
        "m4a" => "audio/mp4",
        "ogg" => "audio/ogg",
        "wav" => "audio/wav",
        "lrc" | "txt" => "text/plain; charset=utf-8",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_messages_and_resources_is_escaped() {
        assert_eq!(escape("<a & 'b'>\""), "&lt;a &amp; &apos;b&apos;&gt;&quot;");
    }

    #[test]
    fn content_types_follow_the_extension_case_insensitively() {
        assert_eq!(content_type_for("songlist/p/x/a_1.PNG"), "image/png");
        assert_eq!(content_type_for("a.jpeg"), "image/jpeg");
        assert_eq!(content_type_for("noext"), "application/octet-stream");
    }
}
