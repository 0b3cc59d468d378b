use super::ParamError;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;

/// Which login the key belongs to; upstream wants different Login bodies for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountKind {
    /// `Q_H_L_` keys, QQ numbers of 6-11 digits.
    Qq,
    /// `W_X_` keys, WeChat ids of up to 19 digits.
    WeChat,
}

impl AccountKind {
    pub fn key_prefix(self) -> &'static str {
        match self {
            AccountKind::Qq => "Q_H_L_",
            AccountKind::WeChat => "W_X_",
        }
    }

    /// The `tmeLoginType` value upstream expects.
    pub fn login_type(self) -> &'static str {
        match self {
            AccountKind::Qq => "2",
            AccountKind::WeChat => "1",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Qq => "qq",
            AccountKind::WeChat => "wx",
        }
    }
}

/// Longest key, refresh key or token we accept. Real ones are under 300 bytes.
pub(crate) const MAX_SECRET_LEN: usize = 1024;

/// Secrets go into a `Cookie` header and a JSON body, so only visible ASCII that
/// cannot break either is allowed.
pub(crate) fn is_token_char(b: u8) -> bool {
    b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'"' | b'\\')
}

/// A QQ Music login key (`musickey`, also called `qqmusic_key` / `qm_keyst`).
/// Its `Debug` shows only the prefix, so it cannot leak through a log line.
#[derive(Clone)]
pub struct MusicKey {
    kind: AccountKind,
    secret: SecretString,
}

impl MusicKey {
    pub const PARAM: &'static str = "music_key";

    pub fn parse(raw: &str) -> Result<Self, ParamError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(ParamError::missing(Self::PARAM));
        }
        let kind = if raw.starts_with(AccountKind::Qq.key_prefix()) {
            AccountKind::Qq
        } else if raw.starts_with(AccountKind::WeChat.key_prefix()) {
            AccountKind::WeChat
        } else {
            return Err(ParamError::new(
                Self::PARAM,
                "参数 music_key 格式错误：应以 Q_H_L_（QQ 账号）或 W_X_（微信账号）开头",
            ));
        };
        if raw.len() == kind.key_prefix().len() {
            return Err(ParamError::new(
                Self::PARAM,
                "参数 music_key 不完整：前缀之后没有内容",
            ));
        }
        if raw.len() > MAX_SECRET_LEN {
            return Err(ParamError::new(
                Self::PARAM,
                format!("参数 music_key 过长：最多 {MAX_SECRET_LEN} 个字符"),
            ));
        }
        if !raw.bytes().all(is_token_char) {
            return Err(ParamError::new(
                Self::PARAM,
                "参数 music_key 含有非法字符：只能是可见 ASCII 字符，不能含空格、分号、逗号或引号",
            ));
        }
        Ok(Self {
            kind,
            secret: SecretString::from(raw),
        })
    }

    pub fn kind(&self) -> AccountKind {
        self.kind
    }

    pub fn expose(&self) -> &str {
        self.secret.expose_secret()
    }
}

impl fmt::Debug for MusicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MusicKey({}[redacted])", self.kind.key_prefix())
    }
}

impl PartialEq for MusicKey {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for MusicKey {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_decides_the_kind() {
        assert_eq!(
            MusicKey::parse("Q_H_L_abc-_1").map(|k| k.kind()),
            Ok(AccountKind::Qq)
        );
        assert_eq!(
            MusicKey::parse("W_X_abc").map(|k| k.kind()),
            Ok(AccountKind::WeChat)
        );
    }

    #[test]
    fn refuses_other_shapes_naming_the_parameter() {
        let long = format!("Q_H_L_{}", "a".repeat(MAX_SECRET_LEN));
        for bad in [
            "",
            "abc",
            "q_h_l_abc",
            "Q_H_L_",
            "W_X_",
            "Q_H_L_a b",
            "Q_H_L_a;b",
            "Q_H_L_é",
            &long,
        ] {
            let err = MusicKey::parse(bad).expect_err(bad);
            assert_eq!(err.param, "music_key", "{bad}");
            assert!(err.message.contains("music_key"), "{bad}: {}", err.message);
        }
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = MusicKey::parse("Q_H_L_supersecretvalue").expect("valid");
        let shown = format!("{key:?}");
        assert!(!shown.contains("supersecret"), "{shown}");
    }
}
