use super::ParamError;
use std::fmt;

/// A QQ number (6-11 digits) or a WeChat account id (up to 19 digits). Which of the
/// two it must be depends on the key it comes with; see [`super::Credential`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uin(u64);

impl Uin {
    pub const PARAM: &'static str = "uin";

    pub fn parse(raw: &str) -> Result<Self, ParamError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(ParamError::missing(Self::PARAM));
        }
        if !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParamError::new(
                Self::PARAM,
                "参数 uin 必须是纯数字的 QQ 号或微信账号 ID",
            ));
        }
        if raw.starts_with('0') {
            return Err(ParamError::new(Self::PARAM, "参数 uin 不能以 0 开头"));
        }
        if raw.len() > 19 {
            return Err(ParamError::new(
                Self::PARAM,
                "参数 uin 过长：最多 19 位数字",
            ));
        }
        // At most 19 digits always fits in a u64.
        raw.parse()
            .map(Uin)
            .map_err(|_| ParamError::new(Self::PARAM, "参数 uin 不是有效的数字"))
    }

    pub fn get(self) -> u64 {
        self.0
    }

    pub fn digits(self) -> usize {
        self.0.checked_ilog10().map_or(1, |d| d as usize + 1)
    }
}

impl From<u64> for Uin {
    fn from(v: u64) -> Self {
        Uin(v)
    }
}

impl fmt::Display for Uin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_qq_and_wechat_lengths() {
        assert_eq!(Uin::parse("1569097443").map(Uin::get), Ok(1569097443));
        assert_eq!(Uin::parse("9999999999999999999").map(Uin::digits), Ok(19));
        assert_eq!(Uin::parse("123456").map(Uin::digits), Ok(6));
    }

    #[test]
    fn refuses_missing_non_numeric_and_too_long_naming_the_parameter() {
        for bad in [
            "",
            "  ",
            "12a456",
            "-123456",
            "+123456",
            "0123456",
            "12345678901234567890",
        ] {
            let err = Uin::parse(bad).expect_err(bad);
            assert_eq!(err.param, "uin", "{bad}");
            assert!(err.message.contains("uin"), "{bad}: {}", err.message);
        }
    }
}
