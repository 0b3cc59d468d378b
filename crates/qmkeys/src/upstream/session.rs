//! The calls that watch or end a key's session without rotating it:
//! `GetLoginUserInfo` (docs/protocol.md section 10.2) and `Logout` (10.3).
//! Both go out with the DESKTOP `comm` (uin, g_tk) and the key cookies of
//! section 1, and `param {}`.

use super::{Rejection, UpstreamError};

pub(super) const INFO_MODULE: &str = "music.UserInfo.userInfoServer";
pub(super) const INFO_METHOD: &str = "GetLoginUserInfo";
pub(super) const LOGOUT_MODULE: &str = "music.login.LoginServer";
pub(super) const LOGOUT_METHOD: &str = "Logout";

/// What upstream says of a key it was asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCheck {
    /// req_0.code 0: the key logs in.
    Alive,
    /// 1000, 104400 or 104401: expired, rotated away or logged out.
    Dead,
}

impl KeyCheck {
    /// A "login required" answer is the check's answer, not its failure;
    /// any other failure stays an error.
    pub(super) fn from_result<T>(result: Result<T, UpstreamError>) -> Result<Self, UpstreamError> {
        match result {
            Ok(_) => Ok(Self::Alive),
            Err(err) if err.rejection() == Some(Rejection::LoginRequired) => Ok(Self::Dead),
            Err(err) => Err(err),
        }
    }

    pub fn is_alive(self) -> bool {
        self == Self::Alive
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_login_required_code_reads_as_a_dead_key() {
        let rejected = |code| UpstreamError::Rejected {
            call: "GetLoginUserInfo",
            code,
        };
        assert_eq!(KeyCheck::from_result(Ok(())).ok(), Some(KeyCheck::Alive));
        for code in [1000, 104400, 104401] {
            let dead = KeyCheck::from_result::<()>(Err(rejected(code)));
            assert_eq!(dead.ok(), Some(KeyCheck::Dead), "{code}");
        }
        for err in [rejected(104604), rejected(2001), UpstreamError::Timeout] {
            assert!(KeyCheck::from_result::<()>(Err(err)).is_err());
        }
    }
}
