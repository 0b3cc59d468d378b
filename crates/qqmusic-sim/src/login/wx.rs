//! WeChat QR login: the qrconnect page, its JPEG QR and the long poll
//! (docs/protocol.md section 9.2 steps 1-3).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::store::QrState;
use super::wire::{self, bad_field, text, Fields, HTML, JS, PLAIN};
use super::{qr_image, WX_APPID};
use crate::app::{AppState, Shared};
use crate::error::SimError;

/// The redirect_uri qrconnect is asked for.
pub const WX_REDIRECT: &str =
    "https://y.qq.com/portal/wx_redirect.html?login_type=2&surl=https://y.qq.com/";
const HREF: &str = "https://y.qq.com/mediastyle/music_v17/src/css/popup_wechat.css";
/// A held poll looks again this often, so a clock jump that expires the QR shows.
const RECHECK: Duration = Duration::from_millis(200);

/// What the phone's WeChat opens.
pub fn qr_text(uuid: &str) -> String {
    format!("https://open.weixin.qq.com/connect/confirm?uuid={uuid}")
}

/// `GET /connect/qrconnect`
pub async fn qrconnect(
    State(sim): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    wire::answer(page(&sim, &method, &uri, &headers))
}

fn page(
    sim: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, SimError> {
    wire::record(sim, "wx.qrconnect", method, uri, headers)?;
    let q = Fields::query(uri);
    let fixed = [
        ("appid", WX_APPID),
        ("redirect_uri", WX_REDIRECT),
        ("response_type", "code"),
        ("scope", "snsapi_login"),
        ("state", "STATE"),
    ];
    if let Err(field) = q.require(&fixed) {
        return Ok(bad_field("qrconnect", field));
    }
    // `#wechat_redirect` is a fragment and never arrives; tolerate it encoded.
    if !q.get("href").is_some_and(|h| h.starts_with(HREF)) {
        return Ok(bad_field("qrconnect", "href"));
    }
    let uuid = sim
        .logins()?
        .new_wx(sim.clock.now(), sim.config.qr_lifetime_secs());
    tracing::info!(%uuid, "WeChat login QR made");
    // The first `uuid=...\"` of the page is the uuid, as clients look for it.
    let body = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>微信登录</title></head>\n\
         <body><div class=\"main impowerBox\"><div class=\"title\">微信登录</div>\n\
         <img class=\"qrcode lightBorder js_qrcode_img\" src=\"/connect/qrcode/{uuid}\" />\n\
         <p>使用微信扫一扫登录 “QQ音乐”</p></div>\n\
         <script>var fordevtool = \"https://lp.open.weixin.qq.com/connect/l/qrconnect?uuid={uuid}\";</script>\n\
         </body></html>\n"
    );
    Ok(text(StatusCode::OK, HTML, body))
}

/// `GET /connect/qrcode/{uuid}`
pub async fn qrcode(
    State(sim): State<AppState>,
    Path(uuid): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    wire::answer(image(&sim, &uuid, &method, &uri, &headers))
}

fn image(
    sim: &Shared,
    uuid: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, SimError> {
    wire::record(sim, "wx.qrcode", method, uri, headers)?;
    if sim.logins()?.get(uuid, sim.clock.now()).is_none() {
        return Ok(text(StatusCode::NOT_FOUND, PLAIN, "no such QR\n".into()));
    }
    Ok(match qr_image::jpeg(&qr_text(uuid)) {
        Ok(jpeg) => ([(header::CONTENT_TYPE, "image/jpeg")], jpeg).into_response(),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, PLAIN, e.to_string()),
    })
}

/// The code of a state on the long poll.
fn errcode(state: QrState) -> u16 {
    match state {
        QrState::Waiting => 408,
        QrState::Scanned => 404,
        QrState::Refused => 403,
        QrState::Expired | QrState::Failed => 402,
        QrState::Confirmed => 405,
    }
}

fn lp_answer(state: QrState, code: Option<&str>) -> Response {
    let code = if state == QrState::Confirmed {
        code.unwrap_or_default()
    } else {
        ""
    };
    text(
        StatusCode::OK,
        JS,
        format!(
            "window.wx_errcode={};window.wx_code='{code}';",
            errcode(state)
        ),
    )
}

enum Step {
    Answer(QrState, Option<String>),
    Hold(Arc<Notify>),
}

/// Answer now when the state changed since the last answer, is final, or
/// the hold is over; else hold.
fn step(sim: &Shared, uuid: &str, hold_over: bool) -> Result<Step, SimError> {
    let mut logins = sim.logins()?;
    let Some(login) = logins.get(uuid, sim.clock.now()) else {
        return Ok(Step::Answer(QrState::Expired, None));
    };
    let state = login.state();
    if hold_over || state.is_final() || login.reported != Some(state) {
        login.reported = Some(state);
        return Ok(Step::Answer(state, login.token.clone()));
    }
    Ok(Step::Hold(login.notify.clone()))
}

/// `GET /connect/l/qrconnect`
pub async fn long_poll(
    State(sim): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    wire::answer(long_poll_inner(&sim, &method, &uri, &headers).await)
}

async fn long_poll_inner(
    sim: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, SimError> {
    wire::record(sim, "wx.lp", method, uri, headers)?;
    let q = Fields::query(uri);
    let Some(uuid) = q.get("uuid").filter(|u| !u.is_empty()) else {
        return Ok(bad_field("lp", "uuid"));
    };
    if let Err(field) = q.number("_") {
        return Ok(bad_field("lp", field));
    }
    if sim.logins()?.get(uuid, sim.clock.now()).is_some() {
        sim.journal()?.count(&format!("wx.lp:{uuid}"));
    }
    let deadline = Instant::now() + sim.config.wx_poll_hold;
    loop {
        match step(sim, uuid, Instant::now() >= deadline)? {
            Step::Answer(state, code) => return Ok(lp_answer(state, code.as_deref())),
            Step::Hold(notify) => {
                let wait = deadline
                    .saturating_duration_since(Instant::now())
                    .min(RECHECK);
                tokio::select! {
                    () = notify.notified() => {}
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
}
