//! `GET|POST /music/tencent/cookie/refresh`.

use super::envelope::Envelope;
use super::error::ApiError;
use super::error::{ErrorCode, ErrorCode as C};
use super::keys::Caller;
use super::params::{Refresh, RefreshParams};
use super::route::{Errors, FORM_BODY, KEYED, KEY_REFUSED, REFUSED, TRANSIENT};
use super::AppState;
use crate::beijing;
use crate::refresh::{Cookie, Refreshed};
use crate::upstream::VipStatus;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub const PATH: &str = "/music/tencent/cookie/refresh";

/// A refresh's own refusals: its parameters, `save`, and a failed save.
const OWN: &[ErrorCode] = &[C::BadParam, C::SaveDisabled, C::SaveFailed];

/// What [`refresh_get`] can answer besides success.
pub const GET_ERRORS: Errors = Errors::of(&[OWN, KEYED, KEY_REFUSED, REFUSED, TRANSIENT]);

/// What [`refresh_post`] can answer: a GET's errors and a form body's.
pub const POST_ERRORS: Errors =
    Errors::of(&[OWN, KEYED, KEY_REFUSED, REFUSED, TRANSIENT, FORM_BODY]);

/// Refresh a music key (parameters in the query string).
///
/// The parameters may also be sent as a form body with POST, which keeps the
/// key out of proxy access logs. A parameter given twice is refused.
/// `uin` and `music_key` must be of one kind: a `Q_H_L_` key with a 6-11
/// digit QQ number, a `W_X_` key with a WeChat id of up to 19 digits; any
/// other pair is refused with 400 (40001). Query parameters cannot state
/// that in the schema; the POST form body's schema does.
#[utoipa::path(
    get,
    path = "/music/tencent/cookie/refresh",
    tag = "refresh",
    operation_id = "refreshGet",
    security((), ("api_key" = []), ("api_key_query" = [])),
    params(RefreshParams),
    responses((status = 200, description = "新的 key 和会员信息 / the new key and VIP state (`code` 200)", body = Envelope<RefreshData>)),
)]
pub async fn refresh_get(
    State(state): State<AppState>,
    _: Caller,
    request: Refresh,
) -> Result<Response, ApiError> {
    answer(&state, request).await
}

/// Refresh a music key (parameters as a form body).
///
/// `application/x-www-form-urlencoded`; query parameters count too, but each
/// parameter may be given only once in all.
#[utoipa::path(
    post,
    path = "/music/tencent/cookie/refresh",
    tag = "refresh",
    operation_id = "refreshPost",
    security((), ("api_key" = []), ("api_key_query" = [])),
    request_body(content = RefreshParams, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "新的 key 和会员信息 / the new key and VIP state (`code` 200)", body = Envelope<RefreshData>)),
)]
pub async fn refresh_post(
    State(state): State<AppState>,
    _: Caller,
    request: Refresh,
) -> Result<Response, ApiError> {
    answer(&state, request).await
}

async fn answer(state: &AppState, request: Refresh) -> Result<Response, ApiError> {
    // Boxed: the refresh's state machine is kilobytes (caches, Redis, Login),
    // and every layer between hyper and here would otherwise move it by value.
    let data = Box::pin(run(state, request)).await?;
    Ok(state.stamp.ok(data))
}

async fn run(state: &AppState, Refresh { cred, save }: Refresh) -> Result<RefreshData, ApiError> {
    // `save=true` is allowed here: the extractor refused it otherwise.
    let refreshed = state.refresh.refresh(&cred).await?;
    if save {
        // Committed before the answer: what the caller is told is saved, is.
        state
            .accounts
            .save(&refreshed.cookie)
            .await
            .map_err(ApiError::SaveFailed)?;
    }
    Ok(RefreshData::new(&refreshed, state.stamp_now()))
}

// Deserialize: `qmkeys login --server` reads it back from the event stream.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RefreshData {
    pub cookie: CookieView,
    /// `null` only when the account's VIP state could not be read after a successful
    /// refresh: the new key is still delivered.
    pub info: Option<InfoView>,
}

impl RefreshData {
    pub fn new(refreshed: &Refreshed, now: DateTime<Utc>) -> Self {
        Self {
            cookie: CookieView::from(refreshed.cookie.as_ref()),
            info: refreshed.info.as_ref().map(|info| InfoView::new(info, now)),
        }
    }
}

/// Field names and JSON types as in the public API's example.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CookieView {
    /// Up to 19 digits: beyond JavaScript's safe integers for WeChat ids.
    pub uin: u64,
    pub musickey: String,
    pub refresh_token: String,
    pub refresh_key: String,
    #[serde(rename = "musickeyCreateTimestamp")]
    pub create_timestamp: i64,
    #[serde(rename = "musickeyCreateTime")]
    pub create_time: String,
    #[serde(rename = "keyExpiresIn")]
    pub expires_in: i64,
    /// Despite the public API's comment ("last update"), this is the expiry.
    #[serde(rename = "musickeyLastTimestamp")]
    pub last_timestamp: i64,
    #[serde(rename = "musickeyLastTime")]
    pub last_time: String,
}

impl From<&Cookie> for CookieView {
    fn from(c: &Cookie) -> Self {
        Self {
            uin: c.uin.get(),
            musickey: c.key.expose().to_owned(),
            refresh_token: c
                .refresh_token
                .as_ref()
                .map(|s| s.expose().to_owned())
                .unwrap_or_default(),
            refresh_key: c
                .refresh_key
                .as_ref()
                .map(|s| s.expose().to_owned())
                .unwrap_or_default(),
            create_timestamp: c.created_at,
            create_time: beijing::format_unix(c.created_at),
            expires_in: c.expires_in,
            last_timestamp: c.expires_at(),
            last_time: beijing::format_unix(c.expires_at()),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InfoView {
    pub vip: bool,
    pub vip_end_timestamp: i64,
    pub vip_end_time: String,
    pub vip_date_diff: i64,
    pub svip: bool,
    pub svip_end_timestamp: i64,
    pub svip_end_time: String,
    pub svip_date_diff: i64,
}

impl InfoView {
    pub fn new(info: &VipStatus, now: DateTime<Utc>) -> Self {
        let (vip_end_timestamp, vip_end_time, vip_date_diff) = end_fields(info.vip_end, now);
        let (svip_end_timestamp, svip_end_time, svip_date_diff) = end_fields(info.svip_end, now);
        Self {
            vip: info.vip,
            vip_end_timestamp,
            vip_end_time,
            vip_date_diff,
            svip: info.svip,
            svip_end_timestamp,
            svip_end_time,
            svip_date_diff,
        }
    }
}

/// `*DateDiff` is whole days between now and the end, rounded down and
/// never negative, as the public API answers it (docs/protocol.md section 4):
/// whether the membership still runs is what `vip`/`svip` say. No end time
/// gives 0, "" and 0.
pub fn end_fields(end: Option<DateTime<Utc>>, now: DateTime<Utc>) -> (i64, String, i64) {
    match end {
        Some(end) => {
            let secs = (end.timestamp() - now.timestamp()).unsigned_abs();
            (
                end.timestamp(),
                beijing::format(end),
                i64::try_from(secs / 86_400).unwrap_or(i64::MAX),
            )
        }
        None => (0, String::new(), 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn date_diff_is_whole_days_either_side_of_now_and_never_negative() {
        let now = Utc.timestamp_opt(1_700_000_000, 0).single().expect("valid");
        let at = |secs: i64| Some(now + chrono::Duration::seconds(secs));
        assert_eq!(end_fields(at(10 * 86_400 + 5), now).2, 10);
        assert_eq!(end_fields(at(3600), now).2, 0);
        assert_eq!(end_fields(at(-3600), now).2, 0);
        assert_eq!(end_fields(at(-86_400), now).2, 1);
        assert_eq!(end_fields(at(-67 * 86_400 - 10), now).2, 67);
        assert_eq!(end_fields(at(-323 * 86_400 - 10), now).2, 323);
        assert_eq!(end_fields(None, now), (0, String::new(), 0));
    }
}
