//! `GET|POST /music/tencent/cookie/check`: is this key alive? Asked of
//! `GetLoginUserInfo` (docs/protocol.md section 10.2), never of Login, so the
//! key is not rotated and can be checked as often as the rate limit allows.

use super::envelope::Envelope;
use super::error::ApiError;
use super::error::{ErrorCode, ErrorCode as C};
use super::keys::Caller;
use super::params::{Check, CheckParams};
use super::route::{Errors, FORM_BODY, KEYED, REFUSED, TRANSIENT};
use super::AppState;
use crate::beijing;
use crate::refresh::Checked;
use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};

pub const PATH: &str = "/music/tencent/cookie/check";

/// A check's own refusals: its parameters, and an account upstream will not
/// act for. An expired key is not among them: it is the answer `alive: false`.
const OWN: &[ErrorCode] = &[
    C::BadParam,
    C::WrongCode,
    C::Restricted,
    C::Banned,
    C::DeviceLimit,
    C::Binding,
    C::BindingMissing,
];

/// What [`check_get`] can answer besides success.
pub const GET_ERRORS: Errors = Errors::of(&[OWN, KEYED, REFUSED, TRANSIENT]);

/// What [`check_post`] can answer: a GET's errors and a form body's.
pub const POST_ERRORS: Errors = Errors::of(&[OWN, KEYED, REFUSED, TRANSIENT, FORM_BODY]);

/// Check whether a music key is alive (parameters in the query string).
///
/// Asks QQ Music who the key logs in as, without Login: the key is not
/// rotated. An expired or logged-out key answers `alive: false` with code
/// 200; only a failure to ask is an error. `uin` and `music_key` follow the
/// refresh's rules.
#[utoipa::path(
    get,
    path = "/music/tencent/cookie/check",
    tag = "refresh",
    operation_id = "checkGet",
    security((), ("api_key" = []), ("api_key_query" = [])),
    params(CheckParams),
    responses((status = 200, description = "key 是否有效 / whether the key is alive (`code` 200)", body = Envelope<CheckData>)),
)]
pub async fn check_get(
    State(state): State<AppState>,
    _: Caller,
    request: Check,
) -> Result<Response, ApiError> {
    answer(&state, request).await
}

/// Check whether a music key is alive (parameters as a form body).
///
/// `application/x-www-form-urlencoded`; query parameters count too, but each
/// parameter may be given only once in all.
#[utoipa::path(
    post,
    path = "/music/tencent/cookie/check",
    tag = "refresh",
    operation_id = "checkPost",
    security((), ("api_key" = []), ("api_key_query" = [])),
    request_body(content = CheckParams, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "key 是否有效 / whether the key is alive (`code` 200)", body = Envelope<CheckData>)),
)]
pub async fn check_post(
    State(state): State<AppState>,
    _: Caller,
    request: Check,
) -> Result<Response, ApiError> {
    answer(&state, request).await
}

async fn answer(state: &AppState, Check { uin, key }: Check) -> Result<Response, ApiError> {
    let checked = state.refresh.check(uin, &key).await?;
    Ok(state.stamp.ok(CheckData::from(&checked)))
}

/// A check's `data`, named in the style of a refresh's `info`.
// Deserialize: `qmkeys check --server` reads it back.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckData {
    /// Whether the key still logs in: false once it has expired or been logged out.
    pub alive: bool,
    /// The account asked about (up to 19 digits).
    pub uin: u64,
    /// When upstream was asked, unix seconds.
    pub checked_timestamp: i64,
    /// The same moment in Beijing time, `YYYY-MM-DD HH:MM:SS`.
    pub checked_time: String,
}

impl From<&Checked> for CheckData {
    fn from(c: &Checked) -> Self {
        Self {
            alive: c.state.is_alive(),
            uin: c.uin.get(),
            checked_timestamp: c.at.timestamp(),
            checked_time: beijing::format(c.at),
        }
    }
}
