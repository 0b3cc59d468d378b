//! Every code an error envelope can carry, with its meaning: declared once,
//! as the enum and [`ErrorCode::ALL`].

use axum::http::StatusCode;

/// Declares the codes once: the enum, and the list of all of them.
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])* $name:ident = $code:literal,)*) => {
        /// The envelope's `code` of a failure; its first three digits are the
        /// HTTP status.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum ErrorCode {
            $($(#[doc = $doc])* $name = $code,)*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name,)*];

            /// What the code means, in words that hold for every instance of it.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(ErrorCode::$name => concat!($($doc),*),)*
                }
            }
        }
    };
}

error_codes! {
    /// 参数缺失或不合法，message 指明是哪个参数 / a parameter is missing or invalid; the message names it
    BadParam = 40001,
    /// 请求体无法读取 / the request body could not be read
    BadBody = 40002,
    /// QQ 音乐不接受这组登录参数（QQ音乐 20261）/ QQ Music refused the login parameters (QQ Music 20261)
    LoginParamsRefused = 40003,
    /// music_key 已过期或无效且无法刷新 / the key expired or is invalid and cannot be refreshed
    KeyExpired = 40101,
    /// 上传账号的 key 已失效且自动刷新失败 / the upload account's key is dead and could not be refreshed
    UploadAccountExpired = 40102,
    /// 缺少管理员令牌或令牌错误 / the admin token is missing or wrong
    AdminUnauthorized = 40103,
    /// client_key 无效或已过期，需重新运行 `qmkeys login --desktop` / the desktop client key was refused or has expired
    ClientKeyRefused = 40104,
    /// 验证码错误（QQ音乐 20271）/ a wrong verification code (QQ Music 20271)
    WrongCode = 40105,
    /// 本服务器要求调用者密钥，请求中没有 X-Api-Key（或 api_key）/ this server wants a caller key and the request has no X-Api-Key (or api_key)
    ApiKeyMissing = 40106,
    /// 调用者密钥未知或已被吊销 / the caller key is unknown or was revoked
    ApiKeyRefused = 40107,
    /// 账号被限制（QQ音乐 20277、20278）/ the account is restricted (QQ Music 20277, 20278)
    Restricted = 40301,
    /// 账号登录的设备过多（QQ音乐 20279）/ too many devices on the account (QQ Music 20279)
    DeviceLimit = 40302,
    /// 账号绑定异常（QQ音乐 20272）/ the account's binding is abnormal (QQ Music 20272)
    Binding = 40303,
    /// 上传账号被限制、封禁、设备超限或绑定异常 / the upload account is restricted, banned, device-limited or has a binding problem
    UploadAccountRestricted = 40304,
    /// 本服务器未开启 save=true / save=true is not enabled on this server
    SaveDisabled = 40305,
    /// 账号未绑定（QQ音乐 20274）/ the account has no binding (QQ Music 20274)
    BindingMissing = 40306,
    /// 账号已被封禁（QQ音乐 20450）/ the account is banned (QQ Music 20450)
    Banned = 40307,
    /// 接口不存在 / no such route
    NotFound = 40401,
    /// 服务器没有保存这个账号 / the server keeps no such account
    NoSuchAccount = 40402,
    /// 没有这个调用者密钥 / no such caller key
    NoSuchKey = 40403,
    /// 不支持该请求方法 / method not allowed
    MethodNotAllowed = 40501,
    /// 请求体超过 16 KiB / the body is larger than 16 KiB
    BodyTooLarge = 41301,
    /// 请求地址超过 8 KiB / the URL is longer than 8 KiB
    UrlTooLong = 41401,
    /// POST 请求体不是表单 / the POST body is not a form
    UnsupportedMediaType = 41501,
    /// QQ 音乐限流（QQ音乐 104604），带 Retry-After / QQ Music's rate limit (QQ Music 104604), with Retry-After
    UpstreamRateLimited = 42901,
    /// QQ 音乐风控，需要在客户端完成安全验证 / QQ Music's risk control: pass the security check in the app
    RiskControl = 42902,
    /// 本客户端请求过于频繁，带 Retry-After / this client is over its rate limit, with Retry-After
    ClientRateLimited = 42903,
    /// 本客户端同时打开的扫码登录已达上限 login_max_per_client，带 Retry-After / this client holds login_max_per_client QR logins, with Retry-After
    ClientLoginsFull = 42904,
    /// 服务器账号存储异常 / the account store failed
    StoreFailed = 50001,
    /// 新 key 已生成但保存失败 / refreshed, but saving failed
    SaveFailed = 50002,
    /// QQ 音乐返回了 HTTP 错误状态 / QQ Music answered an HTTP error status
    UpstreamStatus = 50201,
    /// QQ 音乐返回了无法识别的数据 / QQ Music's answer could not be read
    UpstreamUnreadable = 50202,
    /// 无法连接 QQ 音乐或连接中断 / cannot connect to QQ Music, or the connection dropped
    UpstreamUnreachable = 50203,
    /// QQ 音乐以其他错误码拒绝，message 中带有该错误码 / QQ Music refused with another code, quoted in the message
    UpstreamRefused = 50204,
    /// 没有配置上传账号 / no upload account is configured
    NoUploadAccount = 50301,
    /// 所有上传账号都已失效 / every upload account is unhealthy
    NoHealthyUploadAccount = 50302,
    /// QQ 音乐连续失败，断路器打开，带 Retry-After / the circuit breaker is open, with Retry-After
    CircuitOpen = 50303,
    /// 同时访问 QQ 音乐的请求过多，带 Retry-After / too many upstream calls in flight, with Retry-After
    UpstreamBusy = 50304,
    /// /readyz：服务尚未就绪，data.reasons 说明原因 / /readyz: not ready; data.reasons says why
    NotReady = 50305,
    /// 请求处理超过 request_timeout_ms / the request took longer than request_timeout_ms
    RequestTimeout = 50306,
    /// 同时进行的扫码登录已达上限 login_max_sessions，带 Retry-After / too many QR logins open, with Retry-After
    LoginSessionsFull = 50307,
    /// QQ 音乐响应超时 / QQ Music did not answer in time
    UpstreamTimeout = 50401,
}

impl ErrorCode {
    pub fn get(self) -> i32 {
        self as i32
    }

    pub fn status(self) -> StatusCode {
        u16::try_from(self.get() / 100)
            .ok()
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}
