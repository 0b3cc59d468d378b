//! `GET /tool/cos/sign`'s parameters.

use super::read::read;
use crate::domain::{ImageExt, UploadFile};
use crate::http::error::ApiError;
use crate::http::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Deserialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

/// `GET /tool/cos/sign`'s parameters, as the OpenAPI document describes
/// them. `size`'s maximum is the server's `cos_max_upload_bytes`, filled in
/// when the document is built. [`Sign`] fills it and checks it.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignParams {
    /// 文件的 SHA-1（40 位十六进制）/ the file's SHA-1 in hex
    #[param(
        pattern = "^[0-9a-fA-F]{40}$",
        example = "4fbfbc28bbc4a67850fa90823fcea389fcfcd48d"
    )]
    pub sha1: String,
    /// 文件的 MD5（32 位十六进制）/ the file's MD5 in hex
    #[param(
        pattern = "^[0-9a-fA-F]{32}$",
        example = "f853b39f8d7c2e617dbde77dca66d413"
    )]
    pub md5: String,
    /// 文件字节数 / the file's size in bytes
    #[param(value_type = u64, minimum = 1, example = 51458)]
    pub size: String,
    /// 图片类型，默认 png，只能是小写的这几种 / the image type, png when absent, in lower case
    #[param(schema_with = ext_schema)]
    pub ext: Option<String>,
}

fn ext_schema() -> impl Into<RefOr<Schema>> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(ImageExt::ALL.map(ImageExt::as_str)))
}

/// A sign request, checked: the file to upload.
#[derive(Debug)]
pub struct Sign {
    pub file: UploadFile,
}

impl FromRequestParts<AppState> for Sign {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Self::from_query(parts.uri.query(), state.uploads.max_size())
    }
}

impl Sign {
    /// The extractor's work: the query, with the server's size limit. Pure,
    /// for tests and fuzzing.
    pub fn from_query(query: Option<&str>, max_size: u64) -> Result<Self, ApiError> {
        read::<SignParams>(query, None)?.check(max_size)
    }
}

impl SignParams {
    fn check(self, max_size: u64) -> Result<Sign, ApiError> {
        // An empty value reads as a missing one.
        let file = UploadFile::parse(
            Some(self.sha1.as_str()),
            Some(self.md5.as_str()),
            Some(self.size.as_str()),
            self.ext.as_deref(),
            max_size,
        )?;
        Ok(Sign { file })
    }
}
