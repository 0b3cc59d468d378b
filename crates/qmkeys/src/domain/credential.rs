use super::music_key::{is_token_char, MAX_SECRET_LEN};
use super::{AccountKind, MusicKey, ParamError, Uin};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;

/// A refresh key or refresh token: optional, opaque, secret.
#[derive(Clone)]
pub struct RefreshSecret(SecretString);

impl RefreshSecret {
    /// An absent or blank value is `None`: upstream treats `""` as "not sent".
    pub fn parse_optional(
        param: &'static str,
        raw: Option<&str>,
    ) -> Result<Option<Self>, ParamError> {
        let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        if raw.len() > MAX_SECRET_LEN {
            return Err(ParamError::new(
                param,
                format!("参数 {param} 过长：最多 {MAX_SECRET_LEN} 个字符"),
            ));
        }
        if !raw.bytes().all(is_token_char) {
            return Err(ParamError::new(
                param,
                format!("参数 {param} 含有非法字符：只能是可见 ASCII 字符，不能含空格、分号、逗号或引号"),
            ));
        }
        Ok(Some(Self(SecretString::from(raw))))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for RefreshSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Everything a caller sends to refresh one account, checked for consistency:
/// a `Q_H_L_` key with a 6-11 digit QQ number, a `W_X_` key with a WeChat id of up
/// to 19 digits.
#[derive(Clone, Debug)]
pub struct Credential {
    pub uin: Uin,
    pub key: MusicKey,
    pub refresh_key: Option<RefreshSecret>,
    pub refresh_token: Option<RefreshSecret>,
}

impl Credential {
    pub fn new(
        uin: Uin,
        key: MusicKey,
        refresh_key: Option<RefreshSecret>,
        refresh_token: Option<RefreshSecret>,
    ) -> Result<Self, ParamError> {
        let digits = uin.digits();
        match key.kind() {
            AccountKind::Qq if !(6..=11).contains(&digits) => {
                return Err(ParamError::new(
                    Uin::PARAM,
                    format!("参数 uin 与 music_key 不匹配：Q_H_L_ 开头的是 QQ 账号的 key，uin 应为 6-11 位 QQ 号（收到 {digits} 位）"),
                ));
            }
            // Uin::parse already caps WeChat ids at 19 digits.
            _ => {}
        }
        Ok(Self {
            uin,
            key,
            refresh_key,
            refresh_token,
        })
    }

    /// Parses the four request parameters in the order a user would fix them.
    pub fn parse(
        uin: Option<&str>,
        music_key: Option<&str>,
        refresh_key: Option<&str>,
        refresh_token: Option<&str>,
    ) -> Result<Self, ParamError> {
        let uin = Uin::parse(uin.unwrap_or_default())?;
        let key = MusicKey::parse(music_key.unwrap_or_default())?;
        let refresh_key = RefreshSecret::parse_optional("refresh_key", refresh_key)?;
        let refresh_token = RefreshSecret::parse_optional("refresh_token", refresh_token)?;
        Self::new(uin, key, refresh_key, refresh_token)
    }

    pub fn kind(&self) -> AccountKind {
        self.key.kind()
    }

    pub fn refresh_key_str(&self) -> &str {
        self.refresh_key.as_ref().map_or("", RefreshSecret::expose)
    }

    pub fn refresh_token_str(&self) -> &str {
        self.refresh_token
            .as_ref()
            .map_or("", RefreshSecret::expose)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(uin: &str, key: &str) -> Result<Credential, ParamError> {
        Credential::parse(Some(uin), Some(key), None, None)
    }

    #[test]
    fn qq_keys_need_6_to_11_digit_uins() {
        assert!(parse("123456", "Q_H_L_x").is_ok());
        assert!(parse("12345678901", "Q_H_L_x").is_ok());
        assert_eq!(
            parse("12345", "Q_H_L_x").map_err(|e| e.param).err(),
            Some("uin")
        );
        assert_eq!(
            parse("123456789012", "Q_H_L_x").map_err(|e| e.param).err(),
            Some("uin")
        );
    }

    #[test]
    fn wechat_keys_take_ids_up_to_19_digits() {
        assert!(parse("1152921504606846976", "W_X_x").is_ok());
        assert!(parse("12345", "W_X_x").is_ok());
        assert_eq!(
            parse("11529215046068469760", "W_X_x")
                .map_err(|e| e.param)
                .err(),
            Some("uin")
        );
    }

    #[test]
    fn missing_parameters_are_named() {
        let err = Credential::parse(None, Some("Q_H_L_x"), None, None).expect_err("no uin");
        assert_eq!(err.param, "uin");
        let err = Credential::parse(Some("123456"), None, None, None).expect_err("no key");
        assert_eq!(err.param, "music_key");
    }

    #[test]
    fn blank_refresh_values_count_as_absent_and_bad_ones_are_named() {
        let cred = Credential::parse(Some("123456"), Some("Q_H_L_x"), Some(""), Some("  "))
            .expect("valid");
        assert!(cred.refresh_key.is_none() && cred.refresh_token.is_none());
        let err = Credential::parse(Some("123456"), Some("Q_H_L_x"), None, Some("a b"))
            .expect_err("space");
        assert_eq!(err.param, "refresh_token");
    }

    #[test]
    fn debug_output_hides_every_secret() {
        let cred = Credential::parse(
            Some("123456"),
            Some("Q_H_L_keysecret"),
            Some("rksecret"),
            Some("rtsecret"),
        )
        .expect("valid");
        let shown = format!("{cred:?}");
        for secret in ["keysecret", "rksecret", "rtsecret"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
