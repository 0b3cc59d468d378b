//! `GET /tool/cos/sign`: a signed PUT for a playlist cover.

use super::envelope::Envelope;
use super::error::ApiError;
use super::error::ErrorCode as C;
use super::keys::Caller;
use super::params::{Sign, SignParams};
use super::route::{Errors, KEYED, REFUSED, TRANSIENT};
use super::AppState;
use crate::upload::SignedUpload;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

pub const PATH: &str = "/tool/cos/sign";

/// What [`sign`] can answer besides success.
pub const ERRORS: Errors = Errors::of(&[
    &[
        C::BadParam,
        C::NoUploadAccount,
        C::NoHealthyUploadAccount,
        C::StoreFailed,
        C::UploadAccountExpired,
        C::UploadAccountRestricted,
    ],
    KEYED,
    REFUSED,
    TRANSIENT,
]);

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
    security((), ("api_key" = []), ("api_key_query" = [])),
    params(SignParams),
    responses((status = 200, description = "已签名的上传请求 / the signed PUT (`code` 0)", body = Envelope<SignData>)),
)]
pub async fn sign(
    State(state): State<AppState>,
    _: Caller,
    Sign { file }: Sign,
) -> Result<Response, ApiError> {
    // Boxed for the same reason as the refresh: a large state machine that
    // every layer would otherwise move by value.
    let signed = Box::pin(state.uploads.sign(&file)).await?;
    Ok(state
        .stamp
        .respond(StatusCode::OK, 0, "访问成功", Some(SignData::from(signed))))
}

/// The public API's `data`, field for field.
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
