//! The QQ Music app's own QR (docs/protocol.md section 10.1): `CreateQRCode`
//! on the gateway for the PNG and its qrcodeID, the QR's states pushed over
//! MQTT 5 ([`crate::login::push`]), then `Login` with the `cookies`
//! message's uin and token, `tmeLoginType` 6.

use crate::login::provider::{Ctx, Delivery, KindInfo, QrProvider, Seen};
use crate::login::push::{self, PushConn, PushHost, Pushed};
use crate::login::secret::Secret;
use crate::login::LoginError;
use crate::login::LoginSettings;
use crate::upstream::{LoginGrant, UpstreamError};
use base64::Engine as _;
use serde_json::{json, Value};
use tokio::time::Instant;

/// The largest qrcodeID taken: it goes into MQTT properties and a topic.
const MAX_ID_LEN: usize = 128;

pub struct AppQr {
    /// None when no TLS client could be built; every login then fails.
    host: Option<PushHost>,
}

/// One app QR login: its qrcodeID and the open push connection, if any.
pub struct AppHandle {
    qrcode_id: String,
    /// Dropped when the login ends or its caller goes, which closes the
    /// socket; None after a broken connection, opened again by the next poll.
    conn: Option<PushConn>,
}

/// What the `cookies` message confirmed.
pub struct AppConfirmed {
    qrcode_id: String,
    uin: u64,
    token: Secret,
}

impl QrProvider for AppQr {
    const INFO: KindInfo = KindInfo {
        name: "app",
        label_zh: "QQ音乐",
        label_en: "QQ Music",
        mime: "image/png",
        // The app logs in whichever account it holds.
        account: None,
        delivery: Delivery::Pushed,
        login_type: crate::upstream::APP_LOGIN_TYPE,
    };
    type Handle = AppHandle;
    type Confirmed = AppConfirmed;

    fn new(settings: &LoginSettings) -> Self {
        let tls = push::tls_config()
            .inspect_err(
                |e| tracing::error!(error = %e, "no TLS client for the app QR's push host"),
            )
            .ok();
        AppQr {
            host: tls.map(|tls| PushHost {
                url: settings.app_push.clone(),
                tls,
                connect_timeout: settings.connect_timeout,
                timeout: settings.timeout,
            }),
        }
    }

    /// Step 1 (CreateQRCode), then step 2 (the push connection), so that a
    /// login that cannot hear its QR's states never shows it.
    async fn show(&self, ctx: &Ctx) -> Result<(Vec<u8>, AppHandle), LoginError> {
        let host = self.host()?;
        let data = ctx.upstream.create_app_qr().await?;
        let (image, qrcode_id) = read_qr(&data)?;
        let conn = host.open(&qrcode_id).await?;
        Ok((
            image,
            AppHandle {
                qrcode_id,
                conn: Some(conn),
            },
        ))
    }

    async fn next_state(
        &self,
        _ctx: &Ctx,
        handle: &mut AppHandle,
        _deadline: Instant,
    ) -> Result<Seen<AppConfirmed>, LoginError> {
        let conn = match &mut handle.conn {
            Some(conn) => conn,
            None => handle
                .conn
                .insert(self.host()?.open(&handle.qrcode_id).await?),
        };
        let pushed = conn.next().await;
        if pushed.is_err() {
            handle.conn = None;
        }
        Ok(match pushed? {
            Pushed::Scanned => Seen::Scanned,
            Pushed::Canceled => Seen::Refused,
            Pushed::Timeout => Seen::Expired,
            Pushed::LoginFailed => return Err(LoginError::AppLoginFailed),
            Pushed::Cookies { uin, token } => Seen::Confirmed(AppConfirmed {
                qrcode_id: handle.qrcode_id.clone(),
                uin,
                token,
            }),
        })
    }

    /// Step 4: `Login` with `musicid`, `qrCodeID` and the token,
    /// `tmeLoginType` 6. Never retried.
    async fn finish(&self, ctx: &Ctx, c: AppConfirmed) -> Result<LoginGrant, LoginError> {
        let param = login_param(c.uin, &c.qrcode_id, c.token.expose());
        Ok(ctx
            .upstream
            .code_login(LOGIN_MODULE, LOGIN_METHOD, param, "6")
            .await?)
    }
}

impl AppQr {
    fn host(&self) -> Result<&PushHost, LoginError> {
        self.host
            .as_ref()
            .ok_or(LoginError::Protocol("no TLS client for the push host"))
    }
}

const LOGIN_MODULE: &str = "music.login.LoginServer";
const LOGIN_METHOD: &str = "Login";

fn login_param(uin: u64, qrcode_id: &str, token: &str) -> Value {
    json!({ "musicid": uin, "qrCodeID": qrcode_id, "token": token })
}

/// CreateQRCode's `qrcode` (a PNG data URI) and `qrcodeID`; a missing or
/// empty field is a failed start.
fn read_qr(data: &Value) -> Result<(Vec<u8>, String), LoginError> {
    let unreadable = |why| LoginError::Upstream(UpstreamError::Unreadable(why));
    let id = data["qrcodeID"].as_str().unwrap_or_default();
    let id_ok = (1..=MAX_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !id_ok {
        return Err(unreadable("CreateQRCode answered no usable qrcodeID"));
    }
    let uri = data["qrcode"].as_str().unwrap_or_default();
    let image = uri
        .strip_prefix("data:image/png;base64,")
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .filter(|png| png.starts_with(b"\x89PNG\r\n\x1a\n"))
        .ok_or_else(|| unreadable("CreateQRCode answered no PNG data URI"))?;
    Ok((image, id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_login_param_is_exactly_the_protocols() {
        assert_eq!(
            login_param(12_345_678, "QRID", "tok"),
            json!({"musicid":12345678,"qrCodeID":"QRID","token":"tok"})
        );
    }

    #[test]
    fn a_qr_answer_without_an_id_or_a_png_is_a_failed_start() {
        let png = base64::engine::general_purpose::STANDARD.encode(b"\x89PNG\r\n\x1a\nrest");
        let uri = format!("data:image/png;base64,{png}");
        assert!(read_qr(&json!({"qrcode": uri, "qrcodeID": "abc"})).is_ok());
        assert!(read_qr(&json!({"qrcode": uri, "qrcodeID": ""})).is_err());
        assert!(read_qr(&json!({"qrcode": uri})).is_err());
        assert!(read_qr(&json!({"qrcode": "", "qrcodeID": "abc"})).is_err());
        assert!(read_qr(&json!({"qrcode": "data:image/png;base64,!!", "qrcodeID": "a"})).is_err());
        assert!(read_qr(&json!({"qrcode": uri, "qrcodeID": "a/b"})).is_err());
    }
}
