//! WeChat's QR (docs/protocol.md section 9.2): qrconnect's uuid and its
//! JPEG, the long poll (up to 35 s a poll, a poll that runs out meaning
//! "still waiting"), then `music.login.LoginServer.Login` with the code.

use crate::domain::AccountKind;
use crate::login::parse;
use crate::login::provider::{Ctx, Delivery, KindInfo, QrProvider, Seen};
use crate::login::secret::Secret;
use crate::login::wire::{self, Hosts};
use crate::login::LoginError;
use crate::login::LoginSettings;
use crate::upstream::LoginGrant;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::time::Instant;
use url::Url;

/// The WeChat app id QQ Music's web login uses.
const WX_APPID: &str = "wx48db31d50e334801";
const REDIRECT_URI: &str =
    "https://y.qq.com/portal/wx_redirect.html?login_type=2&surl=https://y.qq.com/";
const HREF: &str = "https://y.qq.com/mediastyle/music_v17/src/css/popup_wechat.css#wechat_redirect";
/// How long one long poll may be held before it counts as "still waiting".
const LONG_POLL: Duration = Duration::from_secs(35);

pub struct WxQr {
    /// `wx_open_base`: qrconnect and the QR image.
    open: Url,
    /// `wx_lp_base`: the long poll.
    lp: Url,
}

impl QrProvider for WxQr {
    const INFO: KindInfo = KindInfo {
        name: "wx",
        label_zh: "微信",
        label_en: "WeChat",
        mime: "image/jpeg",
        account: Some(AccountKind::WeChat),
        delivery: Delivery::Polled,
        login_type: 1,
    };
    /// The login's uuid.
    type Handle = String;
    /// The code of a confirmed login.
    type Confirmed = Secret;

    fn new(settings: &LoginSettings) -> Self {
        WxQr {
            open: settings.wx_open.clone(),
            lp: settings.wx_lp.clone(),
        }
    }

    async fn show(&self, ctx: &Ctx) -> Result<(Vec<u8>, String), LoginError> {
        qr_show(&ctx.hosts, &self.open).await
    }

    async fn next_state(
        &self,
        ctx: &Ctx,
        uuid: &mut String,
        deadline: Instant,
    ) -> Result<Seen<Secret>, LoginError> {
        let left = deadline.saturating_duration_since(Instant::now());
        let hold = left.min(LONG_POLL);
        Ok(match qr_poll(&ctx.hosts, &self.lp, uuid, hold).await? {
            WxStatus::Waiting => Seen::Waiting,
            WxStatus::Scanned => Seen::Scanned,
            WxStatus::Expired => Seen::Expired,
            WxStatus::Refused => Seen::Refused,
            WxStatus::Done(code) => Seen::Confirmed(code),
        })
    }

    /// Step 4: `Login` with the code, `tmeLoginType` 1. Never retried.
    async fn finish(&self, ctx: &Ctx, code: Secret) -> Result<LoginGrant, LoginError> {
        Ok(ctx
            .upstream
            .code_login(LOGIN_MODULE, LOGIN_METHOD, login_param(code.expose()), "1")
            .await?)
    }
}

const LOGIN_MODULE: &str = "music.login.LoginServer";
const LOGIN_METHOD: &str = "Login";

fn login_param(code: &str) -> Value {
    json!({ "code": code, "strAppid": WX_APPID })
}

/// Steps 1 and 2: the login's uuid and its JPEG.
async fn qr_show(hosts: &Hosts, open: &Url) -> Result<(Vec<u8>, String), LoginError> {
    const STEP: &str = "qrconnect";
    let mut url = Hosts::url(open, "connect/qrconnect")?;
    url.query_pairs_mut().extend_pairs([
        ("appid", WX_APPID),
        ("redirect_uri", REDIRECT_URI),
        ("response_type", "code"),
        ("scope", "snsapi_login"),
        ("state", "STATE"),
        ("href", HREF),
    ]);
    let html = wire::text(STEP, wire::send(STEP, hosts.get(url)).await?).await?;
    let uuid = parse::wx_uuid(&html).ok_or(LoginError::Protocol("qrconnect page holds no uuid"))?;

    const IMAGE: &str = "qrcode";
    let url = Hosts::url(open, &format!("connect/qrcode/{uuid}"))?;
    let request = wire::with_referer(
        hosts.get(url),
        "https://open.weixin.qq.com/connect/qrconnect",
    );
    let response = wire::send(IMAGE, request).await?;
    wire::ok_status(IMAGE, &response)?;
    let image = wire::body(IMAGE, response).await?;
    if !image.starts_with(b"\xff\xd8\xff") {
        return Err(LoginError::Protocol("qrcode answered no JPEG image"));
    }
    Ok((image, uuid))
}

/// What one long poll said.
#[derive(Debug)]
enum WxStatus {
    Waiting,
    Scanned,
    Refused,
    Expired,
    Done(Secret),
}

/// Step 3: one long poll, held at most `hold`; a poll that runs out of time
/// means the QR is still waiting.
async fn qr_poll(
    hosts: &Hosts,
    lp: &Url,
    uuid: &str,
    hold: Duration,
) -> Result<WxStatus, LoginError> {
    const STEP: &str = "wx long poll";
    let mut url = Hosts::url(lp, "connect/l/qrconnect")?;
    let now = wire::now_ms().to_string();
    url.query_pairs_mut()
        .extend_pairs([("uuid", uuid), ("_", now.as_str())]);
    let request = wire::with_referer(hosts.get(url), "https://open.weixin.qq.com/").timeout(hold);
    let text = match wire::send(STEP, request).await {
        Ok(response) => wire::text(STEP, response).await,
        Err(e) => Err(e),
    };
    let text = match text {
        Ok(text) => text,
        Err(LoginError::Timeout { .. }) => return Ok(WxStatus::Waiting),
        Err(e) => return Err(e),
    };
    let (errcode, code) = parse::wx_poll(&text).ok_or(LoginError::Protocol(
        "WeChat long poll answered no wx_errcode",
    ))?;
    Ok(match errcode {
        408 => WxStatus::Waiting,
        404 => WxStatus::Scanned,
        403 => WxStatus::Refused,
        402 => WxStatus::Expired,
        405 => WxStatus::Done(Secret::code(&code).ok_or(LoginError::Protocol(
            "WeChat confirmed without a usable code",
        ))?),
        _ => {
            return Err(LoginError::Protocol(
                "WeChat long poll answered an unknown wx_errcode",
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_login_param_is_exactly_the_protocols() {
        assert_eq!(
            login_param("wxc"),
            json!({"code":"wxc","strAppid":"wx48db31d50e334801"})
        );
    }
}
