//! `GET /tool/cos/sign`: a signed PUT for a playlist cover.

use super::envelope::Envelope;
use super::error::ApiError;
use super::params::Params;
use super::AppState;
use crate::domain::UploadFile;
use crate::upload::SignedUpload;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde::Serialize;

/// The parameters as the document describes them; [`UploadFile::parse`] is
/// what checks them. `size`'s maximum is the server's `cos_max_upload_bytes`,
/// filled in when the document is built.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct SignParams {
    /// 文件的 SHA-1（40 位十六进制）/ the file's SHA-1 in hex
    #[param(
        pattern = "^[0-9a-fA-F]{40}$",
        example = "4fbfbc28bbc4a67850fa90823fcea389fcfcd48d"
    )]
    sha1: String,
    /// 文件的 MD5（32 位十六进制）/ the file's MD5 in hex
    #[param(
        pattern = "^[0-9a-fA-F]{32}$",
        example = "f853b39f8d7c2e617dbde77dca66d413"
    )]
    md5: String,
    /// 文件字节数 / the file's size in bytes
    #[param(minimum = 1, example = 51458)]
    size: u64,
    /// 图片类型，默认 png，不区分大小写 / the image type, png when absent, any case
    #[param(inline)]
    ext: Option<ImageExtParam>,
}

/// The image types [`crate::domain::ImageExt`] takes.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum ImageExtParam {
    Png,
    Jpg,
    Jpeg,
    Gif,
    Webp,
    Bmp,
    Svg,
}

pub const PATH: &str = "/tool/cos/sign";

/// Sign a playlist-cover upload.
///
/// Answers a PUT to send as it is: the file's raw bytes to `url` with the
/// `content-md5`, `x-cos-security-token` and `Authorization` headers (a
/// browser or curl sets `Host` and `Content-Length`, which are signed too).
#[utoipa::path(
    get,
    path = "/tool/cos/sign",
    tag = "upload",
    operation_id = "cosSign",
    params(SignParams),
    responses((status = 200, description = "已签名的上传请求 / the signed PUT (`code` 0)", body = Envelope<SignData>)),
)]
pub async fn sign(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    // Boxed for the same reason as the refresh: a large state machine that
    // every layer would otherwise move by value.
    match Box::pin(run(&state, query.as_deref(), &headers)).await {
        Ok(data) => state
            .stamp
            .respond(StatusCode::OK, 0, "访问成功", Some(data)),
        Err(err) => state.fail(&err),
    }
}

async fn run(
    state: &AppState,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<SignData, ApiError> {
    let params = Params::from_request(&Method::GET, query, headers, Ok(Default::default()))?;
    let file = UploadFile::parse(
        params.get("sha1"),
        params.get("md5"),
        params.get("size"),
        params.get("ext"),
        state.uploads.max_size(),
    )?;
    let signed = state.uploads.sign(&file).await?;
    Ok(SignData::from(signed))
}

/// The seed's `data`, field for field.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignData {
    /// Where to PUT the file.
    pub url: String,
    #[schema(example = "PUT")]
    pub method: &'static str,
    pub header: SignHeaders,
    #[serde(rename = "CDN")]
    pub cdn: String,
}

/// The headers to send. A browser sets Host and Content-Length itself (and
/// refuses to be told); both are listed because both are signed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignHeaders {
    #[serde(rename = "Host")]
    pub host: String,
    #[serde(rename = "Content-Length")]
    pub content_length: String,
    #[serde(rename = "content-md5")]
    pub content_md5: String,
    #[serde(rename = "x-cos-security-token")]
    pub token: String,
    #[serde(rename = "Authorization")]
    pub authorization: String,
}

impl From<SignedUpload> for SignData {
    fn from(s: SignedUpload) -> Self {
        Self {
            url: s.url,
            method: "PUT",
            header: SignHeaders {
                host: s.host,
                content_length: s.content_length,
                content_md5: s.content_md5,
                token: s.token,
                authorization: s.authorization,
            },
            cdn: s.cdn,
        }
    }
}
