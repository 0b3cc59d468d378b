//! WeChat's QR login hosts (docs/protocol.md section 9.2 steps 1-3).

use super::parse;
use super::secret::Secret;
use super::wire::{self, Hosts};
use super::LoginError;
use crate::upstream::WX_APPID;
use std::time::Duration;

const REDIRECT_URI: &str =
    "https://y.qq.com/portal/wx_redirect.html?login_type=2&surl=https://y.qq.com/";
const HREF: &str = "https://y.qq.com/mediastyle/music_v17/src/css/popup_wechat.css#wechat_redirect";
/// How long one long poll may be held before it counts as "still waiting".
pub const LONG_POLL: Duration = Duration::from_secs(35);

/// Steps 1 and 2: the login's uuid and its JPEG.
pub async fn qr_show(hosts: &Hosts) -> Result<(Vec<u8>, String), LoginError> {
    const STEP: &str = "qrconnect";
    let mut url = Hosts::url(&hosts.wx_open, "connect/qrconnect")?;
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
    let url = Hosts::url(&hosts.wx_open, &format!("connect/qrcode/{uuid}"))?;
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
pub enum WxStatus {
    Waiting,
    Scanned,
    Refused,
    Expired,
    Done(Secret),
}

/// Step 3: one long poll, held at most `hold`; a poll that runs out of time
/// means the QR is still waiting.
pub async fn qr_poll(hosts: &Hosts, uuid: &str, hold: Duration) -> Result<WxStatus, LoginError> {
    const STEP: &str = "wx long poll";
    let mut url = Hosts::url(&hosts.wx_lp, "connect/l/qrconnect")?;
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
