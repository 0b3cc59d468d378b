//! `GET|POST /music/tencent/cookie/refresh`.

use super::error::ApiError;
use super::params::Params;
use super::AppState;
use crate::beijing;
use crate::domain::{Credential, ParamError};
use crate::refresh::{Cookie, Refreshed};
use crate::upstream::VipStatus;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;

pub const PATH: &str = "/music/tencent/cookie/refresh";

pub async fn refresh(
    State(state): State<AppState>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match run(&state, &method, query.as_deref(), &headers, body).await {
        Ok(data) => state
            .stamp
            .respond(StatusCode::OK, 200, "请求成功！", Some(data)),
        Err(err) => state.fail(&err),
    }
}

async fn run(
    state: &AppState,
    method: &Method,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<RefreshData, ApiError> {
    let params = Params::from_request(method, query, headers, body)?;
    let cred = Credential::parse(
        params.get("uin"),
        params.get("music_key"),
        params.get("refresh_key"),
        params.get("refresh_token"),
    )?;
    let save = parse_save(params.get("save"))?;
    // Refused before the Login, so a refused request burns no key.
    if save && !state.allow_save {
        return Err(ApiError::SaveDisabled);
    }
    let refreshed = state.refresh.refresh(&cred).await?;
    if save {
        // Committed before the answer: what the caller is told is saved, is.
        state
            .accounts
            .save(&refreshed.cookie)
            .await
            .map_err(|e| ApiError::SaveFailed(e.to_string()))?;
    }
    Ok(RefreshData::new(&refreshed, state.stamp_now()))
}

/// `save` as the public API takes it: true/false, 1/0; absent means false.
fn parse_save(raw: Option<&str>) -> Result<bool, ParamError> {
    match raw.map(str::trim).unwrap_or_default() {
        "" | "false" | "0" => Ok(false),
        "true" | "1" => Ok(true),
        _ => Err(ParamError::new("save", "参数 save 只能是 true 或 false")),
    }
}

#[derive(Debug, Serialize)]
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
#[derive(Debug, Serialize)]
pub struct CookieView {
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

#[derive(Debug, Serialize)]
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

/// `*DateDiff` is signed whole days from now to the end, rounded down:
/// 0 or more while the membership runs, negative once it has ended
/// (-1 on the first day after). No end time gives 0, "" and 0.
pub fn end_fields(end: Option<DateTime<Utc>>, now: DateTime<Utc>) -> (i64, String, i64) {
    match end {
        Some(end) => {
            let secs = end.timestamp() - now.timestamp();
            (
                end.timestamp(),
                beijing::format(end),
                secs.div_euclid(86_400),
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
    fn date_diff_is_signed_days_rounded_down() {
        let now = Utc.timestamp_opt(1_700_000_000, 0).single().expect("valid");
        let at = |secs: i64| Some(now + chrono::Duration::seconds(secs));
        assert_eq!(end_fields(at(10 * 86_400 + 5), now).2, 10);
        assert_eq!(end_fields(at(3600), now).2, 0);
        assert_eq!(end_fields(at(-3600), now).2, -1);
        assert_eq!(end_fields(at(-323 * 86_400 - 10), now).2, -324);
        assert_eq!(end_fields(None, now), (0, String::new(), 0));
    }
}
