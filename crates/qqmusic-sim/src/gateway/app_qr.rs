//! The QQ Music app's own QR (docs/protocol.md section 10.1): step 1's
//! `CreateQRCode`, keyless with the app QR's own comm, and step 4's Login
//! with the `cookies` message's uin and token, `tmeLoginType "6"`.

use base64::Engine as _;
use serde_json::{json, Value};

use super::creds::g_tk_matches;
use super::login::{failure, granted};
use super::{Call, Reply};
use crate::codes;
use crate::error::SimError;
use crate::login::qr_image;
use crate::state::Kind;

/// The login type an app QR's account is issued with, and refreshes with.
pub const APP_LOGIN_TYPE: u8 = 6;

fn refuse(code: i64) -> Reply {
    Reply {
        code,
        data: failure(),
    }
}

/// What the phone's QQ Music app opens (the simulator's choice).
pub fn qr_text(qrcode_id: &str) -> String {
    format!("https://y.qq.com/m/login/qrcode.html?qrcodeID={qrcode_id}")
}

/// `music.login.LoginServer.CreateQRCode`: comm exactly `ct "23"`, `cv "0"`,
/// `chid "0"`, `g_tk "5381"` and a guid; param exactly
/// `{"tmeAppID":"qqmusic","ct":19,"cv":2201}`. Anything else is 20261.
pub fn create(call: &Call<'_>) -> Result<Reply, SimError> {
    let comm_ok = {
        let c = call.comm;
        let text = |k: &str| c.get(k).and_then(Value::as_str);
        c.len() == 5
            && text("ct") == Some("23")
            && text("cv") == Some("0")
            && text("chid") == Some("0")
            && text("g_tk") == Some("5381")
            && text("guid").is_some_and(|g| !g.is_empty())
    };
    let param_ok = call.param == &json!({"tmeAppID": "qqmusic", "ct": 19, "cv": 2201});
    if !comm_ok || !param_ok || call.creds.logged_in() {
        return Ok(Reply {
            code: codes::BAD_LOGIN_PARAMS,
            data: create_failure(),
        });
    }
    let now = call.sim.clock.now();
    let id = call
        .sim
        .logins()?
        .new_app(now, call.sim.config.qr_lifetime_secs());
    let Ok(png) = qr_image::png(&qr_text(&id)) else {
        return Ok(Reply {
            code: codes::BAD_REQUEST,
            data: create_failure(),
        });
    };
    let uri = format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    );
    tracing::info!(qrcode_id = %id, "app QR created");
    Ok(Reply {
        code: codes::OK,
        data: json!({ "qrcode": uri, "qrcodeID": id }),
    })
}

/// CreateQRCode's failure shape.
pub fn create_failure() -> Value {
    json!({ "qrcode": "", "qrcodeID": "" })
}

/// Whether a Login param is the app QR's (`{"musicid","qrCodeID","token"}`).
pub fn is_app_login(param: &Value) -> bool {
    param.get("qrCodeID").is_some()
}

/// Login with the app QR's confirmation: param exactly `musicid` (a
/// number), `qrCodeID` and `token`; comm `tmeLoginType "6"`, no key.
pub fn login(call: &Call<'_>) -> Result<Reply, SimError> {
    let p = call.param.as_object();
    let shaped = p.filter(|p| {
        p.len() == 3
            && call.comm.get("tmeLoginType").and_then(Value::as_str) == Some("6")
            && call.comm.get("uin").is_none()
    });
    let fields = shaped.and_then(|p| {
        Some((
            p.get("musicid")?.as_u64()?,
            p.get("qrCodeID")?.as_str()?,
            p.get("token")?.as_str()?,
        ))
    });
    let Some((uin, qrcode_id, token)) = fields else {
        return Ok(refuse(codes::BAD_LOGIN_PARAMS));
    };
    if !g_tk_matches(call.comm, "") || call.creds.logged_in() {
        return Ok(refuse(codes::LOGIN_REQUIRED));
    }
    let now = call.sim.clock.now();
    let taken = call
        .sim
        .logins()?
        .take_app_token(qrcode_id, token, uin, now);
    if taken.is_err() {
        return Ok(refuse(codes::WRONG_CODE));
    }
    let lifetime = call.sim.config.key_lifetime_secs();
    let outcome = {
        let mut accounts = call.sim.accounts()?;
        accounts
            .sign_in(uin, Kind::Qq, now, lifetime)
            .inspect(|_| accounts.set_login_type(uin, APP_LOGIN_TYPE))
    };
    Ok(match outcome {
        Ok(grant) => {
            tracing::info!(uin, "an app QR became a first key");
            let mut data = granted(&grant, lifetime);
            data["loginType"] = json!(APP_LOGIN_TYPE);
            Reply {
                code: codes::OK,
                data,
            }
        }
        Err(code) => refuse(code),
    })
}
