//! Exchanging a login code for a first key (docs/protocol.md section 9.1 step 5, 9.2 step 4):
//! `QQConnectLogin.LoginServer.QQLogin` with a QQ Connect code, and
//! `music.login.LoginServer.Login` with a WeChat code.

use serde_json::Value;

use super::creds::g_tk_matches;
use super::login::{failure, granted};
use super::{Call, Reply};
use crate::codes;
use crate::error::SimError;
use crate::login::WX_APPID;
use crate::state::Kind;

fn refuse(code: i64) -> Reply {
    Reply {
        code,
        data: failure(),
    }
}

/// Whether a Login param is the code form (`{"code","strAppid"}`), not a refresh.
pub fn is_code_login(param: &Value) -> bool {
    param.get("code").is_some()
}

/// `QQConnectLogin.LoginServer.QQLogin`, param exactly `{"code"}`, comm
/// `tmeLoginType "2"`.
pub fn qq(call: &Call<'_>) -> Result<Reply, SimError> {
    let code = shaped(call, "2", &["code"]);
    match code {
        Some(code) => exchange(call, Kind::Qq, code),
        None => Ok(refuse(codes::BAD_LOGIN_PARAMS)),
    }
}

/// `music.login.LoginServer.Login`, param exactly `{"code","strAppid"}`
/// with QQ Music's WeChat appid, comm `tmeLoginType "1"`.
pub fn wx(call: &Call<'_>) -> Result<Reply, SimError> {
    let appid_ok = call.param.get("strAppid").and_then(Value::as_str) == Some(WX_APPID);
    match shaped(call, "1", &["code", "strAppid"]) {
        Some(code) if appid_ok => exchange(call, Kind::Wx, code),
        _ => Ok(refuse(codes::BAD_LOGIN_PARAMS)),
    }
}

/// The code, when comm and param have exactly the documented shape.
fn shaped<'a>(call: &Call<'a>, login_type: &str, keys: &[&str]) -> Option<&'a str> {
    let p = call.param.as_object()?;
    let type_ok = call.comm.get("tmeLoginType").and_then(Value::as_str) == Some(login_type);
    if !type_ok || p.len() != keys.len() || !keys.iter().all(|k| p.contains_key(*k)) {
        return None;
    }
    p.get("code")?.as_str().filter(|c| !c.is_empty())
}

fn exchange(call: &Call<'_>, kind: Kind, code: &str) -> Result<Reply, SimError> {
    // No key exists yet: a g_tk, when sent, is hash33("") = 5381.
    if !g_tk_matches(call.comm, "") {
        return Ok(refuse(codes::LOGIN_REQUIRED));
    }
    let now = call.sim.clock.now();
    let taken = call.sim.logins()?.take_code(kind, code, now);
    let Ok(uin) = taken else {
        return Ok(refuse(codes::WRONG_CODE));
    };
    let lifetime = call.sim.config.key_lifetime_secs();
    let outcome = call.sim.accounts()?.sign_in(uin, kind, now, lifetime);
    Ok(match outcome {
        Ok(grant) => {
            tracing::info!(uin, "a login code became a first key");
            Reply {
                code: codes::OK,
                data: granted(&grant, lifetime),
            }
        }
        Err(code) => refuse(code),
    })
}
