//! Caps every request: the URL's length and the time a request may take. The
//! form body's size is capped by `DefaultBodyLimit` on the router.

use super::error::ApiError;
use super::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// Longer than any valid request (four secrets of at most 1 KiB each, encoded).
pub const MAX_URL_BYTES: usize = 8 * 1024;

pub async fn caps(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let length = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if length > MAX_URL_BYTES {
        return state.fail(&ApiError::UrlTooLong);
    }
    match tokio::time::timeout(state.request_timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => state.fail(&ApiError::RequestTimeout),
    }
}
