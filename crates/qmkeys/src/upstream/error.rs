use serde_json::Value;

/// What a non-zero `req_0.code` means (docs/protocol.md sections 1 and 10.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// 1000, 104400, 104401: the key is expired or invalid.
    LoginRequired,
    /// 2000: musics.fcg signature missing or wrong.
    Signature,
    /// 2001: upstream wants a security verification.
    RiskControl,
    /// 20261: upstream did not accept the login parameters.
    BadLoginParams,
    /// 20271: a wrong verification code.
    WrongCode,
    /// 20272: the account's binding is abnormal.
    BindingAbnormal,
    /// 20274: the account has no binding.
    BindingMissing,
    /// 20277, 20278: the account is restricted.
    Restricted,
    /// 20450: the account is banned.
    Banned,
    /// 20279: too many devices.
    DeviceLimit,
    /// 104604: too many requests.
    RateLimited,
    Other,
}

impl Rejection {
    pub fn of(code: i64) -> Self {
        match code {
            1000 | 104400 | 104401 => Self::LoginRequired,
            2000 => Self::Signature,
            2001 => Self::RiskControl,
            20261 => Self::BadLoginParams,
            20271 => Self::WrongCode,
            20272 => Self::BindingAbnormal,
            20274 => Self::BindingMissing,
            20277 | 20278 => Self::Restricted,
            20450 => Self::Banned,
            20279 => Self::DeviceLimit,
            104604 => Self::RateLimited,
            _ => Self::Other,
        }
    }
}

/// Everything that can go wrong talking to upstream. Messages never carry a body,
/// a header or a key: they may be logged.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    #[error("upstream did not answer in time")]
    Timeout,
    #[error("could not connect to upstream")]
    Connect,
    #[error("upstream connection failed mid-request")]
    Transport,
    #[error("upstream answered HTTP {0}")]
    Status(u16),
    #[error("upstream answer unreadable: {0}")]
    Unreadable(&'static str),
    #[error("upstream gateway failed with code {0}")]
    Gateway(i64),
    #[error("upstream {call} answered code {code}")]
    Rejected { call: &'static str, code: i64 },
    /// The breaker is open after repeated failures; not even tried.
    #[error("upstream is failing; not calling it until a probe succeeds")]
    CircuitOpen,
    /// Too many calls already in flight.
    #[error("too many upstream calls in flight")]
    Busy,
    /// Another instance holds the Login lease for this credential or account
    /// and did not finish in time (or took the lease over); no call was made
    /// here, so nothing timed out. Answered as a timeout is, to the caller.
    #[error("another instance is logging in this account and did not finish in time")]
    LeaseBusy,
}

impl UpstreamError {
    pub(super) fn from_transport(err: reqwest::Error) -> Self {
        if err.is_timeout() {
            Self::Timeout
        } else if err.is_connect() {
            Self::Connect
        } else {
            Self::Transport
        }
    }

    /// A failure of upstream itself (unreachable, slow, broken), as opposed
    /// to an answer about the credential. These open the breaker.
    pub fn is_upstream_failure(&self) -> bool {
        match self {
            Self::Timeout
            | Self::Connect
            | Self::Transport
            | Self::Unreadable(_)
            | Self::Gateway(_) => true,
            Self::Status(s) => *s >= 500,
            Self::Rejected { .. } | Self::CircuitOpen | Self::Busy | Self::LeaseBusy => false,
        }
    }

    /// Worth repeating for a call that is safe to repeat: failures that came
    /// back quickly. A timeout has already spent the caller's time, and a
    /// rate limit asks us to slow down, not to ask again.
    pub fn is_retryable(&self) -> bool {
        self.is_upstream_failure() && !matches!(self, Self::Timeout)
    }

    pub fn rejection(&self) -> Option<Rejection> {
        match self {
            Self::Rejected { code, .. } => Some(Rejection::of(*code)),
            _ => None,
        }
    }
}

/// Names a call by a static string, so errors stay `'static` and free of input.
fn call_name(module: &str, method: &str) -> &'static str {
    match (module, method) {
        ("music.login.LoginServer", "Login") => "Login",
        ("music.login.LoginServer", "Logout") => "Logout",
        ("music.UserInfo.userInfoServer", "GetLoginUserInfo") => "GetLoginUserInfo",
        ("QQConnectLogin.LoginServer", "QQLogin") => "QQLogin",
        ("VipLogin.VipLoginInter", "vip_login_base") => "vip_login_base",
        ("music.filesys.FileSystem", "InitUpload") => "InitUpload",
        ("music.filesys.FileSystem", "FinishUpload") => "FinishUpload",
        _ => "call",
    }
}

/// Checks the gateway envelope and returns `req_0.data` of a successful call.
pub(super) fn open_envelope(
    mut answer: Value,
    module: &str,
    method: &str,
) -> Result<Value, UpstreamError> {
    let top = answer
        .get("code")
        .and_then(Value::as_i64)
        .ok_or(UpstreamError::Unreadable("answer has no code"))?;
    if top != 0 {
        return Err(UpstreamError::Gateway(top));
    }
    let mut req = answer
        .get_mut("req_0")
        .map(Value::take)
        .ok_or(UpstreamError::Unreadable("answer has no req_0"))?;
    let code = req
        .get("code")
        .and_then(Value::as_i64)
        .ok_or(UpstreamError::Unreadable("req_0 has no code"))?;
    if code != 0 {
        return Err(UpstreamError::Rejected {
            call: call_name(module, method),
            code,
        });
    }
    match req.get_mut("data").map(Value::take) {
        Some(data @ Value::Object(_)) => Ok(data),
        _ => Err(UpstreamError::Unreadable("req_0 has no data object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn waiting_on_another_instances_lease_is_not_an_upstream_failure() {
        let busy = UpstreamError::LeaseBusy;
        assert!(!busy.is_upstream_failure(), "it must not open the breaker");
        assert!(!busy.is_retryable(), "a Login is never retried");
        assert!(busy.to_string().contains("another instance"), "{busy}");
    }

    #[test]
    fn envelope_opens_on_success_and_names_the_failure_otherwise() {
        let ok = open_envelope(
            json!({"code":0,"req_0":{"code":0,"data":{"a":1}}}),
            "m",
            "f",
        );
        assert_eq!(ok.ok(), Some(json!({"a":1})));

        let gateway = open_envelope(json!({"code":500001}), "m", "f");
        assert!(matches!(gateway, Err(UpstreamError::Gateway(500001))));

        let rejected = open_envelope(
            json!({"code":0,"req_0":{"code":104604,"data":{}}}),
            "music.login.LoginServer",
            "Login",
        );
        let err = rejected.expect_err("rejected");
        assert_eq!(err.rejection(), Some(Rejection::RateLimited));
        assert_eq!(err.to_string(), "upstream Login answered code 104604");

        for bad in [
            json!({}),
            json!({"code":0}),
            json!({"code":0,"req_0":{"code":0}}),
        ] {
            assert!(matches!(
                open_envelope(bad, "m", "f"),
                Err(UpstreamError::Unreadable(_))
            ));
        }
    }

    #[test]
    fn every_documented_code_has_its_meaning() {
        let table = [
            (1000, Rejection::LoginRequired),
            (104400, Rejection::LoginRequired),
            (104401, Rejection::LoginRequired),
            (2000, Rejection::Signature),
            (2001, Rejection::RiskControl),
            (20261, Rejection::BadLoginParams),
            (20271, Rejection::WrongCode),
            (20272, Rejection::BindingAbnormal),
            (20274, Rejection::BindingMissing),
            (20277, Rejection::Restricted),
            (20278, Rejection::Restricted),
            (20450, Rejection::Banned),
            (20279, Rejection::DeviceLimit),
            (104604, Rejection::RateLimited),
            (12345, Rejection::Other),
        ];
        for (code, meaning) in table {
            assert_eq!(Rejection::of(code), meaning, "{code}");
        }
    }
}
