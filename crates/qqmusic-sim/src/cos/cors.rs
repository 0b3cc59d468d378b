//! The bucket's CORS rule, as a COS bucket configured with one permissive
//! rule: AllowedOrigin `*`, AllowedMethod PUT GET HEAD POST, AllowedHeader
//! `*`, ExposeHeader ETag, MaxAgeSeconds 600. Browsers need it to upload
//! straight to the bucket (docs/protocol.md section 7).

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Response};

use super::reply::{self, CosError};

const ALLOWED_METHODS: [&str; 4] = ["PUT", "GET", "HEAD", "POST"];
const MAX_AGE_SECS: &str = "600";
const EXPOSE: &str = "ETag";

/// Answers an `OPTIONS` preflight: 200 when it names an Origin and an
/// allowed Access-Control-Request-Method, else 403 AccessDenied.
pub fn preflight(headers: &HeaderMap) -> Result<Response<Body>, CosError> {
    let refuse = |why: &str| {
        CosError::forbidden(
            "AccessDenied",
            format!("CORSResponse: This CORS request is not allowed: {why}"),
        )
    };
    let origin = headers
        .get(header::ORIGIN)
        .ok_or_else(|| refuse("no Origin header"))?;
    let method = headers
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|m| m.to_str().ok())
        .ok_or_else(|| refuse("no Access-Control-Request-Method header"))?;
    if !ALLOWED_METHODS.contains(&method) {
        return Err(refuse("method not allowed by the bucket's CORS rule"));
    }
    let mut resp = reply::ok(Body::empty());
    let h = resp.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("PUT,GET,HEAD,POST"),
    );
    // AllowedHeader `*`: whatever the browser asks for is allowed.
    if let Some(asked) = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
    }
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(MAX_AGE_SECS),
    );
    Ok(resp)
}

/// Adds the CORS headers an actual answer to a request with `origin` carries
/// (errors included, or the page could not read them).
pub fn decorate(resp: &mut Response<Body>, origin: &HeaderValue) {
    let h = resp.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSE),
    );
    h.append(header::VARY, HeaderValue::from_static("Origin"));
}
