//! Cross-origin access to the API (`cors_allowed_origins`).
//!
//! Browsers may call the API routes from the origins listed, `*` meaning any.
//! Credentials (cookies, HTTP auth) are never allowed: the API needs none, and
//! a credentialed answer may not use `*` anyway. Every answer on a CORS route
//! carries `Vary: Origin` (and the preflight request headers), so a shared
//! cache never hands one caller's `Access-Control-Allow-Origin` to another.

use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderName, HeaderValue, Method};
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

/// The CORS layer, run only where it can matter: requests that carry an
/// `Origin` header (every cross-origin call a browser makes) and `OPTIONS`
/// preflights. Any other answer gets the `Vary` the layer would have added,
/// so a shared cache still keys answers by `Origin`.
///
/// Why: axum clones a route's whole service for every request, and cloning
/// `CorsLayer` (its lists) plus the header map it builds cost about a tenth
/// of a cache hit, paid by bots and scripts that never send `Origin`.
#[derive(Clone)]
pub struct BrowserCors {
    layer: std::sync::Arc<CorsLayer>,
}

impl BrowserCors {
    pub fn new(layer: CorsLayer) -> Self {
        Self {
            layer: std::sync::Arc::new(layer),
        }
    }
}

impl<S> tower::Layer<S> for BrowserCors {
    type Service = BrowserCorsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BrowserCorsService {
            layer: self.layer.clone(),
            inner,
        }
    }
}

#[derive(Clone)]
pub struct BrowserCorsService<S> {
    layer: std::sync::Arc<CorsLayer>,
    inner: S,
}

/// What tower-http's `CorsLayer` sends as `Vary` by default.
const VARY_VALUE: HeaderValue = HeaderValue::from_static(
    "origin, access-control-request-method, access-control-request-headers",
);

impl<S> tower::Service<axum::extract::Request> for BrowserCorsService<S>
where
    S: tower::Service<
            axum::extract::Request,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = futures::future::BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: axum::extract::Request) -> Self::Future {
        use tower::{Layer as _, ServiceExt as _};
        let from_browser = req.headers().contains_key(axum::http::header::ORIGIN)
            || req.method() == Method::OPTIONS;
        if from_browser {
            let cors = self.layer.layer(self.inner.clone());
            return Box::pin(async move {
                let response = cors.oneshot(req).await?;
                Ok(response.map(axum::body::Body::new))
            });
        }
        let answer = self.inner.call(req);
        Box::pin(async move {
            let mut response = answer.await?;
            response
                .headers_mut()
                .append(axum::http::header::VARY, VARY_VALUE);
            Ok(response)
        })
    }
}
