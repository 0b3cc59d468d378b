//! Path parameters. axum's `Path` refuses a segment it cannot decode (say
//! `%ff`, not UTF-8) with a plain-text 400 of its own; [`Segment`] wraps it so
//! that every route with a path parameter answers the envelope instead (400,
//! 40001 naming the parameter), and parses the segment into its domain type
//! before the handler runs.

use super::error::ApiError;
use crate::domain::{ParamError, Uin};
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

/// A value that one path segment holds, and the parameter's name in the
/// route (`/admin/accounts/{uin}/cookie` has `uin`).
pub trait FromSegment: Sized {
    const PARAM: &'static str;

    fn from_segment(decoded: String) -> Result<Self, ParamError>;
}

/// The route's one path parameter, decoded and parsed as `T`.
pub struct Segment<T>(pub T);

impl<T: FromSegment, S: Send + Sync> FromRequestParts<S> for Segment<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(decoded) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| {
                // Only the body axum would have answered is replaced; its
                // text (which quotes no value) still reaches the debug log.
                tracing::debug!(param = T::PARAM, %rejection, "path parameter refused");
                ParamError::new(
                    T::PARAM,
                    format!(
                        "路径参数 {} 无法解码：应为 UTF-8 文本的百分号编码",
                        T::PARAM
                    ),
                )
            })?;
        Ok(Self(T::from_segment(decoded)?))
    }
}

impl FromSegment for Uin {
    const PARAM: &'static str = Uin::PARAM;

    fn from_segment(decoded: String) -> Result<Self, ParamError> {
        Uin::parse(&decoded)
    }
}

/// The name of one of the page's files (`/assets/{file}`); whether it is one
/// is the handler's question (404 if not).
pub struct AssetName(pub String);

impl FromSegment for AssetName {
    const PARAM: &'static str = "file";

    fn from_segment(decoded: String) -> Result<Self, ParamError> {
        Ok(Self(decoded))
    }
}

impl FromSegment for crate::domain::ApiKeyId {
    const PARAM: &'static str = "id";

    fn from_segment(decoded: String) -> Result<Self, ParamError> {
        Self::parse(&decoded)
    }
}
