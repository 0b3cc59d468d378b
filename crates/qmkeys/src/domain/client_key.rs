use super::{ParamError, Uin};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;

/// Real client keys are a few hundred characters at most.
const MAX_LEN: usize = 1024;
const MIN_LEN: usize = 8;

/// A desktop QQ's `clientkey` (docs/protocol.md section 9.3): a whole QQ web
/// session. It has no `Display`, and its `Debug` shows nothing of it.
#[derive(Clone)]
pub struct ClientKey(SecretString);

impl ClientKey {
    pub const PARAM: &'static str = "client_key";

    pub fn parse(raw: &str) -> Result<Self, ParamError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(ParamError::missing(Self::PARAM));
        }
        if !(MIN_LEN..=MAX_LEN).contains(&raw.len()) {
            return Err(ParamError::new(
                Self::PARAM,
                format!("参数 client_key 长度不对：应为 {MIN_LEN} 到 {MAX_LEN} 个字符"),
            ));
        }
        // It goes into a Cookie header: letters, digits and `* - _ .` only.
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'_' | b'.'))
        {
            return Err(ParamError::new(
                Self::PARAM,
                "参数 client_key 含有非法字符：只能是字母、数字和 * - _ .",
            ));
        }
        Ok(Self(SecretString::from(raw)))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientKey([redacted])")
    }
}

/// `client_uin`: the QQ number (6-11 digits) the client key belongs to.
pub fn parse_client_uin(raw: &str) -> Result<Uin, ParamError> {
    const PARAM: &str = "client_uin";
    if raw.trim().is_empty() {
        return Err(ParamError::missing(PARAM));
    }
    Uin::parse(raw)
        .ok()
        .filter(|uin| (6..=11).contains(&uin.digits()))
        .ok_or_else(|| ParamError::new(PARAM, "参数 client_uin 必须是 6 到 11 位数字的 QQ 号"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_hex_key_and_never_shows_it() {
        let key = ClientKey::parse("0123456789ABCDEF0123456789ABCDEF").expect("valid");
        assert_eq!(key.expose(), "0123456789ABCDEF0123456789ABCDEF");
        assert!(!format!("{key:?}").contains("0123"));
    }

    #[test]
    fn refuses_bad_keys_naming_the_parameter() {
        let long = "A".repeat(MAX_LEN + 1);
        for bad in [
            "",
            "short",
            "ABCDEF12;uin=1",
            "ABCDEF12 34",
            "ABCDEFGH\"",
            &long,
        ] {
            let err = ClientKey::parse(bad).expect_err(bad);
            assert_eq!(err.param, "client_key", "{bad}");
            assert!(err.message.contains("client_key"), "{bad}: {}", err.message);
            assert!(bad.len() < 9 || !err.message.contains(bad), "echoed: {bad}");
        }
    }

    #[test]
    fn client_uin_is_a_qq_number() {
        assert_eq!(parse_client_uin("123456").map(Uin::get), Ok(123456));
        for bad in ["", "12345", "123456789012", "12a456", "0123456"] {
            let err = parse_client_uin(bad).expect_err(bad);
            assert_eq!(err.param, "client_uin", "{bad}");
            assert!(err.message.contains("client_uin"), "{bad}");
        }
    }
}
