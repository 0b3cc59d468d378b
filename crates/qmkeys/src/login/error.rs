use crate::upstream::UpstreamError;

/// Why a login failed. Messages name the step and what was wrong, never a
/// value: no qrsig, ptsigx, p_skey, code or client key, no URL with a query.
///
/// What the HTTP layer should answer (status, envelope code, [`Self::message`]):
///
/// | variant | status | code | 说明 |
/// |---|---|---|---|
/// | `Busy` | 503 | 50307 (new: login sessions full; like 50304) | 同时进行的扫码登录过多，请稍后再试 |
/// | `ClientBusy` | 429 | 42904 | 你同时打开的扫码登录过多 |
/// | `ClientKeyRefused` | 401 | 40104 (new) | client_key 无效或已过期，请重新运行 qmkeys login --desktop |
/// | `Upstream(e)` | as a refresh maps `e` | e.g. 40105 for 20271, 40307 for 20450, 50202, 50401, 50303 | as the refresh endpoint says it |
/// | `Protocol(_)` | 502 | 50202 | 登录服务返回了无法识别的数据 |
/// | `HostStatus { .. }` | 502 | 50201 | 登录服务返回了 HTTP 错误状态 |
/// | `Transport { .. }` | 502 | 50203 | 无法连接登录服务或连接中断 |
/// | `Timeout { .. }` | 504 | 50401 | 登录服务响应超时 |
/// | `Push { .. }` | 502 | 50203 | 无法连接 QQ 音乐推送服务或连接中断 |
/// | `PushRefused { .. }` | 502 | 50201 | QQ 音乐推送服务拒绝了连接或订阅 |
/// | `AppLoginFailed` | 502 | 50204 | QQ 音乐 App 登录失败 |
/// | `Finished` | 500 | 50000 | a caller bug: `next` after the last event |
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// `login_max_sessions` QR logins are already open.
    #[error("too many QR logins are open")]
    Busy,
    /// This client already holds `login_max_per_client` QR logins.
    #[error("this client holds too many QR logins")]
    ClientBusy,
    /// `/jump` refused the desktop client key (expired, ended or wrong).
    #[error("the desktop client key was refused")]
    ClientKeyRefused,
    /// The gateway call that trades the code for a key failed.
    #[error("the gateway login with a code failed")]
    Upstream(#[from] UpstreamError),
    /// A login host answered something docs/protocol.md section 9 does not describe.
    #[error("login host answer unreadable: {0}")]
    Protocol(&'static str),
    /// A login host answered an HTTP status its step does not expect.
    #[error("{step} answered HTTP {status}")]
    HostStatus { step: &'static str, status: u16 },
    /// Could not connect to a login host, or the connection broke.
    #[error("{step}: connection to the login host failed")]
    Transport {
        step: &'static str,
        /// Built `without_url`: a login URL's query holds secrets.
        #[source]
        source: reqwest::Error,
    },
    /// A login host did not answer in time.
    #[error("{step} did not answer in time")]
    Timeout { step: &'static str },
    /// The app QR's push host (section 10.1) could not be reached over
    /// its WebSocket, or the connection broke.
    #[error("{step}: connection to the push host failed")]
    Push {
        step: &'static str,
        #[source]
        source: tokio_tungstenite::tungstenite::Error,
    },
    /// The push host refused the CONNECT or the SUBSCRIBE: its MQTT reason code.
    #[error("the push host refused the {step} (reason {reason:#04x})")]
    PushRefused { step: &'static str, reason: u8 },
    /// The phone's QQ Music app said the login failed (`loginFailed`).
    #[error("the QQ Music app reported that the login failed")]
    AppLoginFailed,
    /// `QrLogin::next` was called after its last event.
    #[error("this QR login has already ended")]
    Finished,
}

impl LoginError {
    /// A short message for the person logging in.
    pub fn message(&self) -> &'static str {
        match self {
            Self::Busy => "同时进行的扫码登录过多，请稍后再试",
            Self::ClientBusy => "你同时打开的扫码登录过多，请先关闭其他登录页面再试",
            Self::ClientKeyRefused => "client_key 无效或已过期，请重新运行 qmkeys login --desktop",
            Self::Upstream(_) => "QQ 音乐登录失败",
            Self::Protocol(_) => "登录服务返回了无法识别的数据",
            Self::HostStatus { .. } => "登录服务返回了 HTTP 错误状态",
            Self::Transport { .. } => "无法连接登录服务或连接中断",
            Self::Timeout { .. } => "登录服务响应超时",
            Self::Push { .. } => "无法连接 QQ 音乐推送服务或连接中断",
            Self::PushRefused { .. } => "QQ 音乐推送服务拒绝了连接",
            Self::AppLoginFailed => "QQ 音乐 App 登录失败",
            Self::Finished => "本次登录已结束",
        }
    }

    /// A metrics label: one of a few fixed words.
    pub(super) fn outcome(&self) -> &'static str {
        match self {
            Self::Busy => "busy",
            Self::ClientBusy => "client_busy",
            Self::ClientKeyRefused => "refused",
            Self::Upstream(_) | Self::AppLoginFailed => "upstream_error",
            Self::Timeout { .. } => "timeout",
            Self::Protocol(_)
            | Self::HostStatus { .. }
            | Self::Transport { .. }
            | Self::Push { .. }
            | Self::PushRefused { .. }
            | Self::Finished => "host_error",
        }
    }

    /// A failure of the host that may pass: worth polling again.
    pub(super) fn is_passing(&self) -> bool {
        match self {
            // A broken push connection is opened again by the next poll.
            Self::Transport { .. } | Self::Timeout { .. } | Self::Push { .. } => true,
            Self::HostStatus { status, .. } => *status >= 500,
            _ => false,
        }
    }

    pub(super) fn from_transport(step: &'static str, err: reqwest::Error) -> Self {
        if err.is_timeout() {
            Self::Timeout { step }
        } else {
            Self::Transport {
                step,
                source: err.without_url(),
            }
        }
    }
}
