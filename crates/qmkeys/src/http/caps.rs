//! Caps on every request: the URL's length here, the time a request may take
//! in [`super::front`]. The form body's size is capped where it is read
//! (`params::read`).

use super::error::ApiError;
use axum::http::Uri;

/// Longer than any valid request (four secrets of at most 1 KiB each, encoded).
pub const MAX_URL_BYTES: usize = 8 * 1024;

pub fn check_url(uri: &Uri) -> Result<(), ApiError> {
    let length = uri.path_and_query().map_or(0, |p| p.as_str().len());
    if length > MAX_URL_BYTES {
        return Err(ApiError::UrlTooLong);
    }
    Ok(())
}
