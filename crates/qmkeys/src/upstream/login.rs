//! `music.login.LoginServer.Login` (docs/protocol.md section 3).

use super::UpstreamError;
use crate::domain::{AccountKind, Cookie, Credential, MusicKey, RefreshSecret};
use serde_json::{json, Value};

pub(super) const MODULE: &str = "music.login.LoginServer";
pub(super) const METHOD: &str = "Login";

/// Used when upstream leaves the lifetime out; docs/protocol.md section 8 gives 259200.
pub const DEFAULT_KEY_LIFETIME_SECS: i64 = 259_200;

/// The body for each kind of account, field for field as the protocol gives it.
pub(super) fn param(cred: &Credential) -> Value {
    match cred.kind() {
        AccountKind::Qq => json!({
            "openid": "",
            "access_token": "",
            "refresh_token": cred.refresh_token_str(),
            "expired_in": 0,
            "musicid": cred.uin.get(),
            "musickey": cred.key.expose(),
            "refresh_key": cred.refresh_key_str(),
            "loginMode": 2,
        }),
        // WeChat ids do not fit a JS number, so they travel as a string.
        AccountKind::WeChat => json!({
            "openid": "",
            "refresh_token": cred.refresh_token_str(),
            "str_musicid": cred.uin.to_string(),
            "musickey": cred.key.expose(),
            "unionid": "",
            "refresh_key": cred.refresh_key_str(),
            "loginMode": 2,
        }),
    }
}

/// The login type of an account the QQ Music app's QR issued
/// (docs/protocol.md section 10.1).
pub const APP_LOGIN_TYPE: u8 = 6;

/// Section 10.1: an account of a login type that is neither 1 nor 2
/// refreshes with the union of both kinds' params.
pub(super) fn union_param(cred: &Credential) -> Value {
    json!({
        "openid": "",
        "access_token": "",
        "refresh_token": cred.refresh_token_str(),
        "expired_in": 0,
        "str_musicid": cred.uin.to_string(),
        "musicid": cred.uin.get(),
        "musickey": cred.key.expose(),
        "unionid": "",
        "refresh_key": cred.refresh_key_str(),
        "loginMode": 2,
    })
}

/// A successful Login: the rotated credential and its lifetime.
#[derive(Debug, Clone)]
pub struct LoginGrant {
    /// The account upstream says the key belongs to, when it says.
    pub account: Option<u64>,
    pub key: MusicKey,
    pub refresh_key: Option<RefreshSecret>,
    pub refresh_token: Option<RefreshSecret>,
    /// `musickeyCreateTime`, unix seconds, when upstream gives it.
    pub created_at: Option<i64>,
    /// `keyExpiresIn`, seconds.
    pub expires_in: i64,
}

impl LoginGrant {
    pub fn from_data(data: &Value) -> Result<Self, UpstreamError> {
        let key = text(data, "musickey");
        // "Success" means a non-empty musickey; a code-0 answer without one is not.
        let key = MusicKey::parse(key)
            .map_err(|_| UpstreamError::Unreadable("Login answer has no usable musickey"))?;
        let refresh_key =
            RefreshSecret::parse_optional("refresh_key", Some(text(data, "refresh_key"))).map_err(
                |_| UpstreamError::Unreadable("Login answer has an unusable refresh_key"),
            )?;
        let refresh_token =
            RefreshSecret::parse_optional("refresh_token", Some(text(data, "refresh_token")))
                .map_err(|_| {
                    UpstreamError::Unreadable("Login answer has an unusable refresh_token")
                })?;
        let account = text(data, "str_musicid")
            .parse::<u64>()
            .ok()
            .or_else(|| integer(data, "musicid").and_then(|n| u64::try_from(n).ok()))
            .filter(|&n| n != 0);
        let created_at = integer(data, "musickeyCreateTime").filter(|&t| t > 0);
        // Never from `expired_at`: that is the OAuth token's expiry, months away,
        // not the key's (docs/protocol.md section 8).
        let expires_in = integer(data, "keyExpiresIn")
            .filter(|&s| s > 0)
            .unwrap_or(DEFAULT_KEY_LIFETIME_SECS);
        Ok(Self {
            account,
            key,
            refresh_key,
            refresh_token,
            created_at,
            expires_in,
        })
    }
}

fn text<'a>(data: &'a Value, field: &str) -> &'a str {
    data.get(field).and_then(Value::as_str).unwrap_or_default()
}

/// Upstream is loose with types: numbers sometimes arrive as strings.
pub(super) fn integer(data: &Value, field: &str) -> Option<i64> {
    match data.get(field)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Reading a [`Cookie`] from a Login answer, and writing it back in that shape.
impl Cookie {
    /// The cookie a Login answer gives `cred`, if the answer is for that very
    /// account and kind; `now` stands in for a missing creation time. An
    /// answer that names no account is refused too: the key it carries
    /// cannot be shown to be this account's, and it would be handed to the
    /// caller, cached and saved as this account's.
    pub fn from_grant(
        cred: &Credential,
        grant: LoginGrant,
        now: i64,
    ) -> Result<Self, UpstreamError> {
        match grant.account {
            Some(id) if id == cred.uin.get() => {}
            Some(_) => {
                return Err(UpstreamError::Unreadable(
                    "Login answered for another account",
                ))
            }
            None => return Err(UpstreamError::Unreadable("Login answer names no account")),
        }
        if grant.key.kind() != cred.kind() {
            return Err(UpstreamError::Unreadable(
                "Login answered a key of another account kind",
            ));
        }
        Ok(Self {
            uin: cred.uin,
            key: grant.key,
            refresh_key: grant.refresh_key,
            refresh_token: grant.refresh_token,
            created_at: grant.created_at.unwrap_or(now),
            expires_in: grant.expires_in,
        })
    }

    /// Login's answer shape, read back through [`LoginGrant::from_data`].
    pub fn to_login_data(&self) -> serde_json::Value {
        let secret = |s: &Option<RefreshSecret>| {
            s.as_ref()
                .map(|s| s.expose().to_owned())
                .unwrap_or_default()
        };
        serde_json::json!({
            "str_musicid": self.uin.get().to_string(),
            "musickey": self.key.expose(),
            "refresh_key": secret(&self.refresh_key),
            "refresh_token": secret(&self.refresh_token),
            "musickeyCreateTime": self.created_at,
            "keyExpiresIn": self.expires_in,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Credential;

    #[test]
    fn qq_body_is_exactly_the_protocols() {
        let cred = Credential::parse(Some("1569097443"), Some("Q_H_L_k"), Some("rk"), None)
            .expect("valid");
        assert_eq!(
            param(&cred),
            json!({"openid":"","access_token":"","refresh_token":"","expired_in":0,
                   "musicid":1569097443u64,"musickey":"Q_H_L_k","refresh_key":"rk","loginMode":2})
        );
    }

    #[test]
    fn wechat_body_carries_the_id_as_a_string() {
        let cred = Credential::parse(Some("1152921504606846976"), Some("W_X_k"), None, Some("rt"))
            .expect("valid");
        assert_eq!(
            param(&cred),
            json!({"openid":"","refresh_token":"rt","str_musicid":"1152921504606846976",
                   "musickey":"W_X_k","unionid":"","refresh_key":"","loginMode":2})
        );
    }

    #[test]
    fn grant_reads_the_answer_and_refuses_an_empty_key() {
        let data = json!({"musicid":123456,"str_musicid":"","musickey":"Q_H_L_new","refresh_key":"rk2",
                          "refresh_token":"","musickeyCreateTime":1722693959,"keyExpiresIn":259200});
        let grant = LoginGrant::from_data(&data).expect("grant");
        assert_eq!(grant.account, Some(123456));
        assert_eq!(grant.key.expose(), "Q_H_L_new");
        assert_eq!(grant.refresh_key.as_ref().map(|s| s.expose()), Some("rk2"));
        assert!(grant.refresh_token.is_none());
        assert_eq!(
            (grant.created_at, grant.expires_in),
            (Some(1722693959), 259200)
        );

        let empty = json!({"musicid":0,"musickey":""});
        assert!(matches!(
            LoginGrant::from_data(&empty),
            Err(UpstreamError::Unreadable(_))
        ));
    }

    #[test]
    fn lifetime_without_key_expires_in_is_three_days_whatever_expired_at_says() {
        let created = 1_722_693_959_i64;
        let months_later = created + 90 * 86_400;
        let data = json!({"musickey":"Q_H_L_n","musickeyCreateTime":created,
                          "expired_at":months_later,"expired_in":90 * 86_400});
        assert_eq!(
            LoginGrant::from_data(&data).map(|g| g.expires_in).ok(),
            Some(259_200)
        );
        let data = json!({"musickey":"Q_H_L_n"});
        assert_eq!(
            LoginGrant::from_data(&data).map(|g| g.expires_in).ok(),
            Some(DEFAULT_KEY_LIFETIME_SECS)
        );
        let data = json!({"musickey":"Q_H_L_n","keyExpiresIn":"7200"});
        assert_eq!(
            LoginGrant::from_data(&data).map(|g| g.expires_in).ok(),
            Some(7200)
        );
    }
}
