//! Cross-origin access to the API (`cors_allowed_origins`).
//!
//! Browsers may call the API routes from the origins listed, `*` meaning any.
//! Credentials (cookies, HTTP auth) are never allowed: the API needs none, and
//! a credentialed answer may not use `*` anyway. Every answer on a CORS route
//! carries `Vary: Origin` (and the preflight request headers), so a shared
//! cache never hands one caller's `Access-Control-Allow-Origin` to another.

use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::response::Response;
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The setting's type lives with the settings; the layer it makes lives here.
pub use crate::config::OriginList;

/// How long a browser may cache a preflight answer.
pub const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// The layer for the API routes, or `None` when no origin is allowed.
pub fn layer(origins: &OriginList) -> Option<CorsLayer> {
    let list = origins.as_slice();
    let allow = if list.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        let values: Vec<HeaderValue> = list
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        if values.is_empty() {
            return None;
        }
        AllowOrigin::list(values)
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST])
            // X-Api-Key: a caller key (`require_api_key`) from another origin's page.
            .allow_headers([CONTENT_TYPE, HeaderName::from_static(super::keys::HEADER)])
            // A 429 tells when to come back; let scripts read it.
            .expose_headers([RETRY_AFTER])
            .max_age(PREFLIGHT_MAX_AGE),
    )
}

/// The CORS layer, run only where it can matter: requests that carry an
/// `Origin` header (every cross-origin call a browser makes) and `OPTIONS`
/// preflights. Any other answer gets the `Vary` the layer would have added,
/// so a shared cache still keys answers by `Origin`.
///
/// Why: the layer clones its lists and builds a header map for each request
/// it sees, about a tenth of a cache hit, which bots and scripts that never
/// send `Origin` would pay.
pub struct BrowserCors {
    layer: CorsLayer,
}

/// What tower-http's `CorsLayer` sends as `Vary` by default.
const VARY_VALUE: HeaderValue = HeaderValue::from_static(
    "origin, access-control-request-method, access-control-request-headers",
);

impl BrowserCors {
    pub fn new(layer: CorsLayer) -> Self {
        Self { layer }
    }

    /// `router`'s answer to `req`, with the policy's headers (or the
    /// preflight's answer, which never reaches the router).
    pub async fn answer(&self, router: axum::Router, req: axum::extract::Request) -> Response {
        use tower::{Layer as _, ServiceExt as _};
        let from_browser = req.headers().contains_key(axum::http::header::ORIGIN)
            || req.method() == Method::OPTIONS;
        let answer = if from_browser {
            self.layer.layer(router).oneshot(req).await
        } else {
            router.oneshot(req).await.map(|mut response| {
                response
                    .headers_mut()
                    .append(axum::http::header::VARY, VARY_VALUE);
                response
            })
        };
        match answer {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_origin_allowed_means_no_layer() {
        assert!(layer(&OriginList::new(Vec::<String>::new())).is_none());
        assert!(layer(&OriginList::any()).is_some());
        assert!(layer(&OriginList::new(["https://a.example"])).is_some());
    }
}
