//! `music.login.LoginServer.Login` (docs/protocol.md section 3): refreshes a musickey.

use serde_json::{json, Map, Value};

use super::creds::g_tk_matches;
use super::{Call, Reply};
use crate::codes;
use crate::error::SimError;
use crate::state::{Grant, Kind, LoginAttempt};

/// The exact param keys of each kind's body; anything more or less is 20261.
const QQ_KEYS: [&str; 8] = [
    "openid",
    "access_token",
    "refresh_token",
    "expired_in",
    "musicid",
    "musickey",
    "refresh_key",
    "loginMode",
];
const WX_KEYS: [&str; 7] = [
    "openid",
    "refresh_token",
    "str_musicid",
    "musickey",
    "unionid",
    "refresh_key",
    "loginMode",
];

pub fn handle(call: &Call<'_>) -> Result<Reply, SimError> {
    if super::app_qr::is_app_login(call.param) {
        return super::app_qr::login(call);
    }
    if super::code_login::is_code_login(call.param) {
        return super::code_login::wx(call);
    }
    let Some(attempt) = parse(call.comm, call.param) else {
        return Ok(refuse(codes::BAD_LOGIN_PARAMS));
    };
    // A keyed call without the `uin` and `qqmusic_key` cookies is logged out
    // (docs/protocol.md section 1); g_tk, when sent, must be hash33 of the
    // key being refreshed.
    if !call.creds.logged_in() || !g_tk_matches(call.comm, attempt.musickey) {
        return Ok(refuse(codes::LOGIN_REQUIRED));
    }
    let now = call.sim.clock.now();
    let lifetime = call.sim.config.key_lifetime_secs();
    let outcome = call.sim.accounts()?.login(&attempt, now, lifetime);
    Ok(match outcome {
        Ok(grant) => {
            tracing::info!(uin = grant.uin, "login rotated a key");
            Reply {
                code: codes::OK,
                data: granted(&grant, lifetime),
            }
        }
        Err(code) => refuse(code),
    })
}

fn refuse(code: i64) -> Reply {
    Reply {
        code,
        data: failure(),
    }
}

/// Section 10.1's refresh of an app QR's account: `tmeLoginType "6"` and
/// the union of both kinds' params.
const APP_KEYS: [&str; 10] = [
    "openid",
    "access_token",
    "refresh_token",
    "expired_in",
    "str_musicid",
    "musicid",
    "musickey",
    "unionid",
    "refresh_key",
    "loginMode",
];

/// Checks the body against its kind's exact shape (kind from `comm.tmeLoginType`).
fn parse<'a>(comm: &Map<String, Value>, param: &'a Value) -> Option<LoginAttempt<'a>> {
    let kind = match comm.get("tmeLoginType").and_then(Value::as_str) {
        Some("2") => Kind::Qq,
        Some("1") => Kind::Wx,
        Some("6") => return parse_app(param),
        _ => return None,
    };
    let p = param.as_object()?;
    let keys: &[&str] = match kind {
        Kind::Qq => &QQ_KEYS,
        Kind::Wx => &WX_KEYS,
    };
    if p.len() != keys.len() || !keys.iter().all(|k| p.contains_key(*k)) {
        return None;
    }
    let text = |k: &str| p.get(k).and_then(Value::as_str);
    let int = |k: &str| p.get(k).and_then(Value::as_i64);
    if text("openid") != Some("") || int("loginMode") != Some(2) {
        return None;
    }
    let uin = match kind {
        Kind::Qq => {
            if text("access_token") != Some("") || int("expired_in") != Some(0) {
                return None;
            }
            // A number, not a string: QQ uins fit a JS number.
            p.get("musicid")?.as_u64()?
        }
        Kind::Wx => {
            if text("unionid") != Some("") {
                return None;
            }
            // A string: WeChat ids do not fit a JS number.
            let id = text("str_musicid")?;
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            id.parse().ok()?
        }
    };
    Some(LoginAttempt {
        kind,
        login_type: kind.login_type(),
        uin,
        musickey: text("musickey")?,
        refresh_key: text("refresh_key")?,
        refresh_token: text("refresh_token")?,
    })
}

/// The union param set: empty OAuth fields, `musicid` a number and
/// `str_musicid` the same id as a string; the app logs QQ accounts in.
fn parse_app(param: &Value) -> Option<LoginAttempt<'_>> {
    let p = param.as_object()?;
    if p.len() != APP_KEYS.len() || !APP_KEYS.iter().all(|k| p.contains_key(*k)) {
        return None;
    }
    let text = |k: &str| p.get(k).and_then(Value::as_str);
    let int = |k: &str| p.get(k).and_then(Value::as_i64);
    let empty = ["openid", "access_token", "unionid"];
    if !empty.iter().all(|k| text(k) == Some("")) || int("loginMode") != Some(2) {
        return None;
    }
    if int("expired_in") != Some(0) {
        return None;
    }
    let uin = p.get("musicid")?.as_u64()?;
    if text("str_musicid")? != uin.to_string() {
        return None;
    }
    Some(LoginAttempt {
        kind: Kind::Qq,
        login_type: super::app_qr::APP_LOGIN_TYPE,
        uin,
        musickey: text("musickey")?,
        refresh_key: text("refresh_key")?,
        refresh_token: text("refresh_token")?,
    })
}

pub(super) fn granted(g: &Grant, lifetime: i64) -> Value {
    json!({
        "musicid": g.uin,
        "str_musicid": g.uin.to_string(),
        "musickey": g.musickey,
        "refresh_key": g.refresh_key,
        "refresh_token": g.refresh_token,
        "access_token": g.access_token,
        "expired_at": g.expires_at,
        "musickeyCreateTime": g.created_at,
        "keyExpiresIn": lifetime,
        "encryptUin": g.encrypt_uin,
        "loginType": g.login_type,
        "openid": g.openid,
        "unionid": g.unionid,
    })
}

/// The failure shape: the success fields, emptied.
pub fn failure() -> Value {
    json!({
        "musicid": 0,
        "str_musicid": "",
        "musickey": "",
        "refresh_key": "",
        "refresh_token": "",
        "access_token": "",
        "expired_at": 0,
        "musickeyCreateTime": 0,
        "keyExpiresIn": 0,
        "encryptUin": "",
        "loginType": 0,
        "openid": "",
        "unionid": "",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comm(t: &str) -> Map<String, Value> {
        json!({ "tmeLoginType": t })
            .as_object()
            .cloned()
            .unwrap_or_default()
    }

    fn qq_param() -> Value {
        json!({"openid":"","access_token":"","refresh_token":"","expired_in":0,
               "musicid":123456789,"musickey":"Q_H_L_k","refresh_key":"","loginMode":2})
    }

    #[test]
    fn the_documented_qq_and_wechat_bodies_parse() {
        let qq = qq_param();
        let qq = parse(&comm("2"), &qq);
        assert_eq!(qq.map(|a| (a.kind, a.uin)), Some((Kind::Qq, 123_456_789)));
        let wx = json!({"openid":"","refresh_token":"rt","str_musicid":"9223372036854775809",
                        "musickey":"W_X_k","unionid":"","refresh_key":"rk","loginMode":2});
        let wx = parse(&comm("1"), &wx);
        assert_eq!(
            wx.map(|a| (a.kind, a.uin, a.refresh_token)),
            Some((Kind::Wx, 9_223_372_036_854_775_809, "rt"))
        );
    }

    #[test]
    fn near_miss_bodies_are_refused() {
        assert!(
            parse(&comm("1"), &qq_param()).is_none(),
            "QQ body as WeChat"
        );
        let mut p = qq_param();
        p["musicid"] = json!("123456789");
        assert!(parse(&comm("2"), &p).is_none(), "musicid as string");
        let mut p = qq_param();
        p["extra"] = json!(1);
        assert!(parse(&comm("2"), &p).is_none(), "extra key");
        let mut p = qq_param();
        p["loginMode"] = json!(1);
        assert!(parse(&comm("2"), &p).is_none(), "loginMode 1");
        let mut p = qq_param();
        p.as_object_mut().map(|o| o.remove("refresh_key"));
        assert!(parse(&comm("2"), &p).is_none(), "missing refresh_key");
        assert!(parse(&Map::new(), &qq_param()).is_none(), "no tmeLoginType");
    }
}
