//! `music.UserInfo.userInfoServer.GetLoginUserInfo` and
//! `music.login.LoginServer.Logout` (docs/protocol.md sections 10.2 and 10.3):
//! both made with the account's key in the cookies and the DESKTOP `comm`,
//! neither rotates the key.

use serde_json::{json, Value};

use super::session::require_login;
use super::{Call, Reply};
use crate::codes;
use crate::error::SimError;

/// GetLoginUserInfo: code 0 and who the key logs in as while it is live;
/// 1000 once it is expired, logged out or unknown.
pub fn info(call: &Call<'_>) -> Result<Reply, SimError> {
    if let Some(code) = shape_refusal(call) {
        return Ok(refuse(code));
    }
    Ok(match require_login(call)? {
        Ok(uin) => Reply {
            code: codes::OK,
            data: json!({
                "uin": uin,
                "nick": format!("sim-{uin}"),
                "headurl": "/sim/icon/head.png",
            }),
        },
        Err(code) => refuse(code),
    })
}

/// Logout: ends the session, so the key and every refresh pair of the
/// account stop working (a later Login with any of them answers 1000).
pub fn logout(call: &Call<'_>) -> Result<Reply, SimError> {
    if let Some(code) = shape_refusal(call) {
        return Ok(refuse(code));
    }
    Ok(match require_login(call)? {
        Ok(uin) => {
            call.sim.accounts()?.logout(uin);
            tracing::info!(uin, "logout ended a session");
            Reply {
                code: codes::OK,
                data: json!({}),
            }
        }
        Err(code) => refuse(code),
    })
}

/// The body section 10.2 gives, field for field: `param` is `{}`, and the
/// DESKTOP `comm` names the cookie's uin and carries a `g_tk` (whose value
/// [`require_login`] checks). A body that strays is a bad request; a `comm`
/// naming another account (or none) is logged out.
fn shape_refusal(call: &Call<'_>) -> Option<i64> {
    if call.param.as_object().is_none_or(|p| !p.is_empty()) {
        return Some(codes::BAD_REQUEST);
    }
    let text = |k: &str| call.comm.get(k).and_then(Value::as_str);
    if text("ct") != Some("19") || text("cv") != Some("2201") || text("g_tk").is_none() {
        return Some(codes::BAD_REQUEST);
    }
    let uin = text("uin").and_then(|u| u.parse::<u64>().ok());
    if uin.is_none() || uin != call.creds.uin {
        return Some(codes::LOGIN_REQUIRED);
    }
    None
}

fn refuse(code: i64) -> Reply {
    Reply {
        code,
        data: failure(),
    }
}

/// The failure shape of both calls.
pub fn failure() -> Value {
    json!({})
}
