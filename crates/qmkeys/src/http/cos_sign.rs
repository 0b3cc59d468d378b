//! `GET /tool/cos/sign`: a signed PUT for a playlist cover.

use super::error::ApiError;
use super::params::Params;
use super::AppState;
use crate::domain::UploadFile;
use crate::upload::SignedUpload;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde::Serialize;

pub const PATH: &str = "/tool/cos/sign";

pub async fn sign(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    match run(&state, query.as_deref(), &headers).await {
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
#[derive(Debug, Serialize)]
pub struct SignData {
    pub url: String,
    pub method: &'static str,
    pub header: SignHeaders,
    #[serde(rename = "CDN")]
    pub cdn: String,
}

/// The headers to send. A browser sets Host and Content-Length itself (and
/// refuses to be told); both are listed because both are signed.
#[derive(Debug, Serialize)]
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
