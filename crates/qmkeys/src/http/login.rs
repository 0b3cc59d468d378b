//! Getting a first key: `GET /music/tencent/cookie/qrcode` (a QR login as a
//! stream of Server-Sent Events) and `GET|POST /music/tencent/cookie/fastlogin`
//! (desktop fast login, answered like a refresh). The engine is
//! [`crate::login`]; this module speaks HTTP.

use super::client::Client;
use super::envelope::Envelope;
use super::error::{ApiError, Chain};
use super::error::{ErrorCode, ErrorCode as C};
use super::keys::Caller;
use super::params::{FastLogin, FastLoginParams, QrParams, QrStart};
use super::refresh::RefreshData;
use super::route::{Errors, FORM_BODY, KEYED, KEY_REFUSED, REFUSED, TRANSIENT};
use super::AppState;
use crate::accounts::mask;
use crate::domain::{ParamError, Uin};
use crate::login::{LoginResult, QrEvent, QrLogin};
use crate::refresh::Refreshed;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use futures::Stream;
use serde::Serialize;
use std::convert::Infallible;
use std::time::Duration;

/// Proxies close a silent connection; a comment line now and then keeps it.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// What the public API's page shows when the QR has expired.
pub const EXPIRED_TEXT: &str = "二维码已失效";

/// What [`qrcode`] can answer before its stream starts: the gateway's answer
/// to the code, as a refresh maps it, and the caps on concurrent logins.
pub const QR_ERRORS: Errors = Errors::of(&[
    &[
        C::BadParam,
        C::SaveDisabled,
        C::LoginSessionsFull,
        C::ClientLoginsFull,
    ],
    KEYED,
    KEY_REFUSED,
    REFUSED,
    TRANSIENT,
]);

/// A fast login's own refusals: its parameters, `save`, and the client key.
const FAST: &[ErrorCode] = &[C::BadParam, C::SaveDisabled, C::ClientKeyRefused];

/// What [`fastlogin_get`] can answer besides success.
pub const FAST_GET_ERRORS: Errors = Errors::of(&[FAST, KEYED, KEY_REFUSED, REFUSED, TRANSIENT]);

/// What [`fastlogin_post`] can answer: a GET's errors and a form body's.
pub const FAST_POST_ERRORS: Errors =
    Errors::of(&[FAST, KEYED, KEY_REFUSED, REFUSED, TRANSIENT, FORM_BODY]);

/// Log in by scanning a QR code (Server-Sent Events).
///
/// Answers `text/event-stream`. Every event carries an `id`, counting from 1:
///
/// - `id: 1`: the QR image as a data URI (`data:image/png;base64,…` for QQ,
///   `data:image/jpeg;base64,…` for WeChat);
/// - then one event per state change: `{"status":"waiting","message":"等待扫码"}`,
///   `{"status":"scanned","message":"已扫码，请在手机上确认"}`;
/// - and exactly one last event, after which the server closes the stream:
///   the JSON `{"cookie":{…},"info":{…}}` (exactly a refresh's `data`), the
///   text `二维码已失效` when the QR expired, `{"status":"refused","message":…}`
///   when the login was refused on the phone, or `{"code":N,"message":…}`
///   with an error code of the envelope.
///
/// A comment line every 15 s keeps proxies from closing the stream. Polling
/// stops as soon as the client goes away, and a login never outlives its QR
/// (about 2 minutes). Bad parameters, `save=true` on a server that does not
/// allow it, the per-client rate limit and the cap on concurrent logins
/// (`login_max_sessions`, and `login_max_per_client` for one client:
/// 429 with code 42904) are answered with the JSON envelope before any
/// stream starts. With `save=true` the account is kept for uploads; if that
/// fails the stream still ends with the new key (never lost), and the failure
/// is logged. Fast login does the same.
#[utoipa::path(
    get,
    path = "/music/tencent/cookie/qrcode",
    tag = "login",
    operation_id = "qrLogin",
    security((), ("api_key" = []), ("api_key_query" = [])),
    params(QrParams),
    responses((status = 200, description = "事件流：id 1 为二维码图片（data URI），之后是状态变化，最后一个事件是结果 / the event stream: id 1 is the QR image as a data URI, then state changes, then the result", content_type = "text/event-stream", body = String)),
)]
pub async fn qrcode(
    State(state): State<AppState>,
    _: Caller,
    Client(client): Client,
    QrStart { kind, save, only }: QrStart,
) -> Result<Response, ApiError> {
    let login = state.login.start_qr_for(kind, Some(client)).await?;
    let stream = events(state, login, save, only);
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
        .into_response())
}

enum Step {
    Image(QrLogin),
    Polling(QrLogin),
    Ended,
}

/// The login's events; the [`QrLogin`] lives inside, so the stream being
/// dropped (the client gone) drops it and stops its polling.
fn events(
    state: AppState,
    login: QrLogin,
    save: bool,
    only: Option<Uin>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    futures::stream::unfold((Step::Image(login), 1u32), move |(step, id)| {
        let state = state.clone();
        async move {
            let (data, next) = match step {
                Step::Ended => return None,
                Step::Image(login) => {
                    let (bytes, mime) = login.image();
                    // One buffer of the final size: with many logins opening
                    // at once, intermediate copies of a 50 KB image add up.
                    let prefix = ["data:", mime, ";base64,"];
                    let mut uri = String::with_capacity(
                        prefix.iter().map(|p| p.len()).sum::<usize>() + bytes.len().div_ceil(3) * 4,
                    );
                    prefix.iter().for_each(|p| uri.push_str(p));
                    B64.encode_string(bytes, &mut uri);
                    (uri, Step::Polling(login))
                }
                Step::Polling(mut login) => match login.next().await {
                    Ok(QrEvent::Waiting) => (status("waiting", "等待扫码"), Step::Polling(login)),
                    Ok(QrEvent::Scanned) => (
                        status("scanned", "已扫码，请在手机上确认"),
                        Step::Polling(login),
                    ),
                    Ok(QrEvent::Expired) => (EXPIRED_TEXT.to_owned(), Step::Ended),
                    Ok(QrEvent::Refused) => (status("refused", "已在手机上拒绝登录"), Step::Ended),
                    Ok(QrEvent::Done(result)) if only.is_some_and(|u| u != result.cookie.uin) => {
                        drop(login);
                        tracing::warn!(
                            account = %mask(result.cookie.uin),
                            "QR login of another account than the one asked for; not saved"
                        );
                        let err = ApiError::Param(ParamError::new(
                            "uin",
                            "扫码登录的是另一个账号，不是参数 uin 指定的账号：没有保存，请用该账号扫码",
                        ));
                        (failure(&err), Step::Ended)
                    }
                    Ok(QrEvent::Done(result)) => {
                        drop(login);
                        let data = finish(&state, result, save).await;
                        let text = serde_json::to_string(&data).unwrap_or_default();
                        (text, Step::Ended)
                    }
                    Err(err) => {
                        let err = ApiError::Login(err);
                        tracing::warn!(error = %Chain(&err), "QR login failed");
                        (failure(&err), Step::Ended)
                    }
                },
            };
            let event = Event::default().id(id.to_string()).data(data);
            Some((Ok(event), (next, id + 1)))
        }
    })
}

/// A state event; fields in the documented order.
#[derive(Serialize)]
struct Status<'a> {
    status: &'a str,
    message: &'a str,
}

/// A failure as the last event: the envelope's code and message.
#[derive(Serialize)]
struct Failure {
    code: i32,
    message: String,
}

/// The last event of a login that failed: the envelope's code and message.
fn failure(err: &ApiError) -> String {
    let parts = err.parts();
    let failure = Failure {
        code: parts.code,
        message: parts.message,
    };
    serde_json::to_string(&failure).unwrap_or_default()
}

fn status(status: &str, message: &str) -> String {
    serde_json::to_string(&Status { status, message }).unwrap_or_default()
}

/// A successful login as a refresh's `data`, the account kept first when
/// asked. A login cannot be repeated for the same key as a refresh can, so a
/// failed save is logged and the key handed over all the same: losing it
/// would lose the login.
async fn finish(state: &AppState, result: LoginResult, save: bool) -> RefreshData {
    if save {
        let saved = state
            .accounts
            .save_as(&result.cookie, Some(result.login_type))
            .await;
        if let Err(err) = saved {
            tracing::error!(error = %Chain(&err), "a logged-in account could not be saved");
        }
    }
    let refreshed = Refreshed {
        cookie: result.cookie,
        info: result.info,
    };
    RefreshData::new(&refreshed, state.stamp_now())
}

/// Log in with a logged-in desktop QQ's `client_uin` and `client_key`.
///
/// Answers like a refresh. A refused or expired `client_key` is 401 (40104):
/// run `qmkeys login --desktop` again where desktop QQ is logged in. The key is a whole QQ web
/// session: it is never logged, stored, cached or echoed.
#[utoipa::path(
    get,
    path = "/music/tencent/cookie/fastlogin",
    tag = "login",
    operation_id = "fastLoginGet",
    security((), ("api_key" = []), ("api_key_query" = [])),
    params(FastLoginParams),
    responses((status = 200, description = "新的 key 和会员信息 / the new key and VIP state (`code` 200)", body = Envelope<RefreshData>)),
)]
pub async fn fastlogin_get(
    State(state): State<AppState>,
    _: Caller,
    request: FastLogin,
) -> Result<Response, ApiError> {
    fast(&state, request).await
}

/// Log in with `client_uin` and `client_key` sent as a form body.
#[utoipa::path(
    post,
    path = "/music/tencent/cookie/fastlogin",
    tag = "login",
    operation_id = "fastLoginPost",
    security((), ("api_key" = []), ("api_key_query" = [])),
    request_body(content = FastLoginParams, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "新的 key 和会员信息 / the new key and VIP state (`code` 200)", body = Envelope<RefreshData>)),
)]
pub async fn fastlogin_post(
    State(state): State<AppState>,
    _: Caller,
    request: FastLogin,
) -> Result<Response, ApiError> {
    fast(&state, request).await
}

async fn fast(state: &AppState, request: FastLogin) -> Result<Response, ApiError> {
    let result = state
        .login
        .fast_login(request.client_uin, &request.client_key)
        .await?;
    let data = finish(state, result, request.save).await;
    Ok(state.stamp.ok(data))
}
