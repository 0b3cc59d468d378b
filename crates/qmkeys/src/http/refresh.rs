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
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::sync::Arc;

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

async fn answer(state: &AppState, Refresh { cred, save }: Refresh) -> Result<Response, ApiError> {
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
    let now = state.stamp_now();
    Ok(match data_json(&refreshed, now) {
        Some(json) => state.stamp.ok_json(&json),
        None => state.stamp.ok(DataRef::new(&refreshed, now)),
    })
}

/// Answers kept per worker thread (see [`data_json`]).
const RENDERED_PER_THREAD: usize = 8;

/// One answer's `data`, as JSON, and what it was made of.
struct Rendered {
    /// The cached cookie itself: held here, its address cannot be reused.
    cookie: Arc<Cookie>,
    info: Option<VipStatus>,
    /// The two `*DateDiff`, the only part that moves with the clock.
    days: (i64, i64),
    json: Bytes,
}

thread_local! {
    static RENDERED: RefCell<(usize, [Option<Rendered>; RENDERED_PER_THREAD])> =
        const { RefCell::new((0, [const { None }; RENDERED_PER_THREAD])) };
}

/// The answer's `data` as JSON. A credential asked for again while its
/// cookie is cached gets the bytes written the last time (the same cookie,
/// VIP state and day counts), so a cache hit writes only the envelope's
/// time. A few answers per thread: memory stays flat however many
/// credentials are cached. `None` only if serde refuses (then `ok` says why).
fn data_json(refreshed: &Refreshed, now: DateTime<Utc>) -> Option<Bytes> {
    let days = refreshed.info.as_ref().map_or((0, 0), |info| {
        (
            end_parts(info.vip_end, now).2,
            end_parts(info.svip_end, now).2,
        )
    });
    let render = || -> Option<Bytes> {
        let mut json = Vec::with_capacity(768);
        serde_json::to_writer(&mut json, &DataRef::new(refreshed, now)).ok()?;
        Some(Bytes::from(json))
    };
    RENDERED.with(|memo| {
        let Ok(mut memo) = memo.try_borrow_mut() else {
            return render();
        };
        let (next, slots) = &mut *memo;
        let same = |r: &&Rendered| {
            Arc::ptr_eq(&r.cookie, &refreshed.cookie) && r.info == refreshed.info && r.days == days
        };
        if let Some(hit) = slots.iter().flatten().find(same) {
            return Some(hit.json.clone());
        }
        let json = render()?;
        slots[*next] = Some(Rendered {
            cookie: refreshed.cookie.clone(),
            info: refreshed.info.clone(),
            days,
            json: json.clone(),
        });
        *next = (*next + 1) % RENDERED_PER_THREAD;
        Some(json)
    })
}

/// [`RefreshData`] as JSON, written straight from the cached cookie: no
/// `String` per field and no date kept as text (a test holds both to the
/// same bytes). [`RefreshData`] stays the documented, readable type.
pub struct DataRef<'a> {
    cookie: &'a Cookie,
    info: Option<&'a VipStatus>,
    now: DateTime<Utc>,
}

impl<'a> DataRef<'a> {
    pub fn new(refreshed: &'a Refreshed, now: DateTime<Utc>) -> Self {
        Self {
            cookie: &refreshed.cookie,
            info: refreshed.info.as_ref(),
            now,
        }
    }
}

impl Serialize for DataRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let c = self.cookie;
        let mut data = s.serialize_struct("RefreshData", 2)?;
        data.serialize_field("cookie", &CookieRef(c))?;
        data.serialize_field("info", &self.info.map(|info| InfoRef(info, self.now)))?;
        data.end()
    }
}

struct CookieRef<'a>(&'a Cookie);

impl Serialize for CookieRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let c = self.0;
        let mut v = s.serialize_struct("CookieView", 9)?;
        v.serialize_field("uin", &c.uin.get())?;
        v.serialize_field("musickey", c.key.expose())?;
        v.serialize_field(
            "refresh_token",
            c.refresh_token.as_ref().map_or("", |s| s.expose()),
        )?;
        v.serialize_field(
            "refresh_key",
            c.refresh_key.as_ref().map_or("", |s| s.expose()),
        )?;
        v.serialize_field("musickeyCreateTimestamp", &c.created_at)?;
        v.serialize_field(
            "musickeyCreateTime",
            &When(beijing::Time::unix(c.created_at)),
        )?;
        v.serialize_field("keyExpiresIn", &c.expires_in)?;
        v.serialize_field("musickeyLastTimestamp", &c.expires_at())?;
        v.serialize_field(
            "musickeyLastTime",
            &When(beijing::Time::unix(c.expires_at())),
        )?;
        v.end()
    }
}

struct InfoRef<'a>(&'a VipStatus, DateTime<Utc>);

impl Serialize for InfoRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let (info, now) = (self.0, self.1);
        let (vip_at, vip_end, vip_diff) = end_parts(info.vip_end, now);
        let (svip_at, svip_end, svip_diff) = end_parts(info.svip_end, now);
        let mut v = s.serialize_struct("InfoView", 8)?;
        v.serialize_field("vip", &info.vip)?;
        v.serialize_field("vipEndTimestamp", &vip_at)?;
        v.serialize_field("vipEndTime", &When(vip_end))?;
        v.serialize_field("vipDateDiff", &vip_diff)?;
        v.serialize_field("svip", &info.svip)?;
        v.serialize_field("svipEndTimestamp", &svip_at)?;
        v.serialize_field("svipEndTime", &When(svip_end))?;
        v.serialize_field("svipDateDiff", &svip_diff)?;
        v.end()
    }
}

/// A date, or `""` where the public API leaves one blank.
struct When(Option<beijing::Time>);

impl Serialize for When {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(time) => time.serialize(s),
            None => s.serialize_str(""),
        }
    }
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
    let (at, time, diff) = end_parts(end, now);
    (at, time.map(|t| t.to_string()).unwrap_or_default(), diff)
}

fn end_parts(end: Option<DateTime<Utc>>, now: DateTime<Utc>) -> (i64, Option<beijing::Time>, i64) {
    match end {
        Some(end) => {
            let secs = (end.timestamp() - now.timestamp()).unsigned_abs();
            (
                end.timestamp(),
                Some(beijing::Time(end)),
                i64::try_from(secs / 86_400).unwrap_or(i64::MAX),
            )
        }
        None => (0, None, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_written_answer_is_byte_for_byte_the_documented_one() {
        use crate::domain::{MusicKey, RefreshSecret, Uin};
        let now = Utc.timestamp_opt(1_700_000_000, 0).single().expect("valid");
        let cookie = |tokens: bool, created_at: i64| Cookie {
            uin: Uin::parse("123456").expect("uin"),
            key: MusicKey::parse("Q_H_L_5a/b+c=").expect("key"),
            refresh_key: RefreshSecret::parse_optional("rk", tokens.then_some("rk/x")).expect("rk"),
            refresh_token: RefreshSecret::parse_optional("rt", tokens.then_some("rt+y="))
                .expect("rt"),
            created_at,
            expires_in: 259_200,
        };
        let info = |vip_end, svip_end| VipStatus {
            vip: true,
            vip_end,
            svip: false,
            svip_end,
        };
        let at = |secs: i64| Some(now + chrono::Duration::seconds(secs));
        for (cookie, info) in [
            (
                cookie(true, 1_699_990_000),
                Some(info(at(10 * 86_400 + 5), at(-86_400))),
            ),
            (cookie(false, 1_699_990_000), Some(info(None, None))),
            (cookie(true, i64::MAX / 2), None),
        ] {
            let refreshed = Refreshed {
                cookie: std::sync::Arc::new(cookie),
                info,
            };
            let documented =
                serde_json::to_string(&RefreshData::new(&refreshed, now)).expect("json");
            let written = serde_json::to_string(&DataRef::new(&refreshed, now)).expect("json");
            assert_eq!(written, documented);
        }
    }

    #[test]
    fn a_kept_answer_is_used_only_for_the_same_cookie_vip_state_and_day_counts() {
        use crate::domain::{MusicKey, Uin};
        let now = Utc.timestamp_opt(1_700_000_000, 0).single().expect("valid");
        let cookie = |key: &str| {
            std::sync::Arc::new(Cookie {
                uin: Uin::parse("123456").expect("uin"),
                key: MusicKey::parse(key).expect("key"),
                refresh_key: None,
                refresh_token: None,
                created_at: 1_699_990_000,
                expires_in: 259_200,
            })
        };
        let vip = |days: i64| {
            Some(VipStatus {
                vip: true,
                vip_end: Some(now + chrono::Duration::seconds(days * 86_400 + 5)),
                svip: false,
                svip_end: None,
            })
        };
        let fresh = |r: &Refreshed, now| serde_json::to_vec(&DataRef::new(r, now)).expect("json");
        let first = Refreshed {
            cookie: cookie("Q_H_L_first"),
            info: vip(10),
        };
        for (refreshed, at) in [
            (first.clone(), now),
            // Kept: the same bytes again.
            (first.clone(), now + chrono::Duration::seconds(30)),
            // A day later the day count moved.
            (first.clone(), now + chrono::Duration::days(1)),
            // Another VIP state, another cookie with another key.
            (
                Refreshed {
                    info: vip(40),
                    ..first.clone()
                },
                now,
            ),
            (
                Refreshed {
                    cookie: cookie("Q_H_L_second"),
                    ..first.clone()
                },
                now,
            ),
        ] {
            let answered = data_json(&refreshed, at).expect("rendered");
            assert_eq!(answered.as_ref(), fresh(&refreshed, at).as_slice());
        }
    }

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
