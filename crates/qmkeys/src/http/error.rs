//! Every failure the API can answer, mapped once to an HTTP status, a stable
//! envelope code and a message a user can act on. [`ErrorCode::ALL`] lists
//! every code; tests hold docs/api.md and the OpenAPI document to that list,
//! and the exhaustive match in [`ApiError::parts`] makes a new variant choose
//! one.

use crate::accounts::StoreError;
use crate::domain::ParamError;
use crate::login::LoginError;
use crate::upload::SignError;
use crate::upstream::{Rejection, UpstreamError};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Param(#[from] ParamError),
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error("route not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("request body too large")]
    BodyTooLarge,
    #[error("unsupported content type")]
    UnsupportedMediaType,
    #[error("request body unreadable")]
    BadBody,
    #[error("URL too long")]
    UrlTooLong,
    #[error("request took longer than allowed")]
    RequestTimeout,
    #[error("client over its rate limit")]
    RateLimited { retry_after: u32 },
    #[error("save=true is not enabled on this server")]
    SaveDisabled,
    #[error("admin token missing or wrong")]
    AdminUnauthorized,
    /// The key rotated but could not be saved as the caller asked.
    #[error("refreshed, but saving the account failed")]
    SaveFailed(#[source] StoreError),
    #[error(transparent)]
    Login(#[from] LoginError),
    /// `/admin/accounts/{uin}/cookie` for an account the store does not keep.
    #[error("no such stored account")]
    NoSuchAccount,
}

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
    /// music_key 已过期或无效且无法刷新 / the key expired or is invalid and cannot be refreshed
    KeyExpired = 40101,
    /// 上传账号的 key 已失效且自动刷新失败 / the upload account's key is dead and could not be refreshed
    UploadAccountExpired = 40102,
    /// 缺少管理员令牌或令牌错误 / the admin token is missing or wrong
    AdminUnauthorized = 40103,
    /// client_key 无效或已过期，需重新运行桌面端助手 / the desktop client key was refused or has expired
    ClientKeyRefused = 40104,
    /// 账号被限制或封禁 / the account is restricted or banned
    Restricted = 40301,
    /// 账号登录的设备过多 / too many devices on the account
    DeviceLimit = 40302,
    /// 账号绑定异常 / an account-binding problem
    Binding = 40303,
    /// 上传账号被限制、封禁、设备超限或绑定异常 / the upload account is restricted, banned, device-limited or has a binding problem
    UploadAccountRestricted = 40304,
    /// 本服务器未开启 save=true / save=true is not enabled on this server
    SaveDisabled = 40305,
    /// 接口不存在 / no such route
    NotFound = 40401,
    /// 服务器没有保存这个账号 / the server keeps no such account
    NoSuchAccount = 40402,
    /// 不支持该请求方法 / method not allowed
    MethodNotAllowed = 40501,
    /// 请求体超过 16 KiB / the body is larger than 16 KiB
    BodyTooLarge = 41301,
    /// 请求地址超过 8 KiB / the URL is longer than 8 KiB
    UrlTooLong = 41401,
    /// POST 请求体不是表单 / the POST body is not a form
    UnsupportedMediaType = 41501,
    /// QQ 音乐限流，带 Retry-After / QQ Music's rate limit, with Retry-After
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

/// An error answered through `IntoResponse` carries this to the front
/// middleware, which alone holds the envelope's stamp (time, pid, tips).
#[derive(Debug, Clone)]
pub struct PendingEnvelope {
    pub code: i32,
    pub message: String,
}

/// Formats an error with its whole chain of causes, for the log.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let parts = self.parts();
        if parts.status.is_server_error() {
            tracing::warn!(status = parts.status.as_u16(), code = parts.code, error = %Chain(&self), "request failed");
        } else {
            tracing::debug!(status = parts.status.as_u16(), code = parts.code, error = %Chain(&self), "request refused");
        }
        let mut response = parts.status.into_response();
        if let Some(secs) = parts.retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response.extensions_mut().insert(PendingEnvelope {
            code: parts.code,
            message: parts.message,
        });
        response
    }
}

/// The parts of an error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorParts {
    pub status: StatusCode,
    pub code: i32,
    pub message: String,
    /// Seconds, for a `Retry-After` header.
    pub retry_after: Option<u32>,
}

impl ErrorParts {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: code.status(),
            code: code.get(),
            message: message.into(),
            retry_after: None,
        }
    }
}

impl ApiError {
    pub fn parts(&self) -> ErrorParts {
        use ErrorCode as C;
        match self {
            ApiError::Param(e) => ErrorParts::new(C::BadParam, e.message.clone()),
            ApiError::BadBody => ErrorParts::new(
                C::BadBody,
                "请求体无法解析：请使用 application/x-www-form-urlencoded 编码",
            ),
            ApiError::NotFound => {
                ErrorParts::new(C::NotFound, "接口不存在，请检查请求路径")
            }
            ApiError::MethodNotAllowed => ErrorParts::new(
                C::MethodNotAllowed,
                "不支持该请求方法，请使用 GET 或 POST",
            ),
            ApiError::BodyTooLarge => ErrorParts::new(C::BodyTooLarge, "请求体过大"),
            ApiError::UnsupportedMediaType => ErrorParts::new(
                C::UnsupportedMediaType,
                "不支持的 Content-Type：POST 请求请使用 application/x-www-form-urlencoded",
            ),
            ApiError::Upstream(e) => upstream_parts(e),
            ApiError::Sign(SignError::NoAccount) => ErrorParts::new(
                C::NoUploadAccount,
                "没有可用的上传账号：请管理员在配置文件中添加 [[accounts]]（uin、musickey、refresh_key、refresh_token）后重启",
            ),
            ApiError::Sign(SignError::NoHealthyAccount) => ErrorParts::new(
                C::NoHealthyUploadAccount,
                "所有上传账号都已失效（已退出登录、被封禁或受限）：请管理员用 qmkeys accounts add 或配置文件更新账号",
            ),
            ApiError::Sign(SignError::Store(_)) => ErrorParts::new(
                C::StoreFailed,
                "服务器账号存储异常，请稍后重试或联系管理员",
            ),
            ApiError::SaveFailed(_) => ErrorParts::new(
                C::SaveFailed,
                "新的 key 已生成，但保存账号失败：请在 1 分钟内用同样的参数重试，会取回同一个新 key 并再次尝试保存",
            ),
            ApiError::UrlTooLong => ErrorParts::new(C::UrlTooLong, "请求地址过长：参数请用 POST 表单提交"),
            ApiError::RequestTimeout => ErrorParts::new(
                C::RequestTimeout,
                "请求处理超时（request_timeout_ms），请稍后重试",
            ),
            ApiError::RateLimited { retry_after } => ErrorParts {
                retry_after: Some(*retry_after),
                ..ErrorParts::new(C::ClientRateLimited, "请求过于频繁，请按 Retry-After 等待后重试")
            },
            ApiError::SaveDisabled => ErrorParts::new(
                C::SaveDisabled,
                "本服务器未开启 save 功能（accounts_allow_save），请去掉 save=true 或联系管理员开启",
            ),
            ApiError::AdminUnauthorized => ErrorParts::new(
                C::AdminUnauthorized,
                "需要管理员令牌：请在请求头中携带 Authorization: Bearer <QMKEYS_ADMIN_TOKEN>",
            ),
            ApiError::Sign(SignError::Account(e)) => upload_account_parts(e),
            ApiError::Login(e) => login_parts(e),
            ApiError::NoSuchAccount => ErrorParts::new(
                C::NoSuchAccount,
                "服务器没有保存这个账号：用 qmkeys accounts list 查看已保存的账号",
            ),
        }
    }
}

/// A login host's failures read like the gateway's: the same codes.
fn login_parts(err: &LoginError) -> ErrorParts {
    use ErrorCode as C;
    match err {
        LoginError::Busy => ErrorParts {
            retry_after: Some(5),
            ..ErrorParts::new(C::LoginSessionsFull, "同时进行的扫码登录过多（login_max_sessions），请稍后再试")
        },
        LoginError::ClientBusy => ErrorParts {
            retry_after: Some(5),
            ..ErrorParts::new(
                C::ClientLoginsFull,
                "你同时打开的扫码登录已达上限（login_max_per_client）：请先完成或关闭其他扫码登录，再按 Retry-After 重试",
            )
        },
        LoginError::ClientKeyRefused => ErrorParts::new(
            C::ClientKeyRefused,
            "client_key 无效或已过期：请在已登录的电脑 QQ 上重新运行桌面端助手获取新的 client_uin 和 client_key",
        ),
        LoginError::Upstream(e) => upstream_parts(e),
        LoginError::Protocol(_) | LoginError::Finished => ErrorParts::new(
            C::UpstreamUnreadable,
            "QQ 登录服务返回了无法识别的数据，请稍后重试",
        ),
        LoginError::HostStatus { .. } => {
            ErrorParts::new(C::UpstreamStatus, "QQ 登录服务返回了错误状态，请稍后重试")
        }
        LoginError::Transport { .. } => {
            ErrorParts::new(C::UpstreamUnreachable, "无法连接 QQ 登录服务，请稍后重试")
        }
        LoginError::Timeout { .. } => {
            ErrorParts::new(C::UpstreamTimeout, "QQ 登录服务响应超时，请稍后重试")
        }
    }
}

/// Failures of the server's own upload account are the operator's to fix, so
/// they get codes of their own; the rest mean what they mean for a refresh.
fn upload_account_parts(err: &UpstreamError) -> ErrorParts {
    use ErrorCode as C;
    match err.rejection() {
        Some(Rejection::LoginRequired) => ErrorParts::new(
            C::UploadAccountExpired,
            "上传账号的 key 已失效且无法自动刷新：请管理员更新该账号的 musickey、refresh_key 和 refresh_token",
        ),
        Some(Rejection::Restricted | Rejection::DeviceLimit | Rejection::Binding) => ErrorParts::new(
            C::UploadAccountRestricted,
            "上传账号被限制、封禁或设备超限：请管理员在QQ音乐客户端处理该账号，或换用其他账号",
        ),
        _ => upstream_parts(err),
    }
}

fn upstream_parts(err: &UpstreamError) -> ErrorParts {
    use ErrorCode as C;
    match err {
        // Waiting on another instance's Login lease is answered as a timeout.
        UpstreamError::Timeout | UpstreamError::LeaseBusy => {
            ErrorParts::new(C::UpstreamTimeout, "QQ音乐接口响应超时，请稍后重试")
        }
        UpstreamError::CircuitOpen => ErrorParts {
            retry_after: Some(10),
            ..ErrorParts::new(
                C::CircuitOpen,
                "QQ音乐接口连续失败，已暂停访问，稍后会自动恢复，请稍后重试",
            )
        },
        UpstreamError::Busy => ErrorParts {
            retry_after: Some(1),
            ..ErrorParts::new(C::UpstreamBusy, "服务器繁忙：同时访问QQ音乐的请求过多，请稍后重试")
        },
        UpstreamError::Connect | UpstreamError::Transport => {
            ErrorParts::new(C::UpstreamUnreachable, "无法连接QQ音乐接口，请稍后重试")
        }
        UpstreamError::Status(_) => ErrorParts::new(C::UpstreamStatus, "QQ音乐接口返回了错误状态，请稍后重试"),
        UpstreamError::Unreadable(_) | UpstreamError::Gateway(_) => {
            ErrorParts::new(C::UpstreamUnreadable, "QQ音乐接口返回了无法识别的数据，请稍后重试")
        }
        UpstreamError::Rejected { code, .. } => match Rejection::of(*code) {
            Rejection::LoginRequired => ErrorParts::new(
                C::KeyExpired,
                "music_key 已过期或无效，且无法刷新：请携带 refresh_key 和 refresh_token，或重新登录获取新的 key",
            ),
            Rejection::Restricted => ErrorParts::new(C::Restricted, "该账号已被限制或封禁，请在QQ音乐客户端处理后重试"),
            Rejection::DeviceLimit => ErrorParts::new(C::DeviceLimit, "该账号登录的设备过多，请在QQ音乐客户端退出部分设备后重试"),
            Rejection::Binding => ErrorParts::new(C::Binding, "账号绑定异常，请在QQ音乐客户端检查账号绑定后重试"),
            Rejection::RateLimited => ErrorParts {
                retry_after: Some(60),
                ..ErrorParts::new(C::UpstreamRateLimited, "QQ音乐接口请求过于频繁，请稍后重试")
            },
            Rejection::RiskControl => ErrorParts::new(
                C::RiskControl,
                "QQ音乐触发了安全验证，请在QQ音乐客户端完成验证后重试",
            ),
            Rejection::BadLoginParams | Rejection::Signature | Rejection::Other => {
                ErrorParts::new(C::UpstreamRefused, format!("QQ音乐接口拒绝了请求（错误码 {code}），请稍后重试"))
            }
        },
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Every error the API can give, one of each kind, for tests that check them all.
    pub(crate) fn one_of_each() -> Vec<ApiError> {
        let mut all = vec![
            ApiError::Param(ParamError::new("uin", "x")),
            ApiError::BadBody,
            ApiError::NotFound,
            ApiError::MethodNotAllowed,
            ApiError::BodyTooLarge,
            ApiError::UnsupportedMediaType,
            ApiError::Upstream(UpstreamError::Timeout),
            ApiError::Upstream(UpstreamError::Connect),
            ApiError::Upstream(UpstreamError::Status(500)),
            ApiError::Upstream(UpstreamError::Unreadable("x")),
            ApiError::Upstream(UpstreamError::CircuitOpen),
            ApiError::Upstream(UpstreamError::Busy),
        ];
        for code in [1000, 20277, 20279, 20271, 104604, 2001, 20261] {
            all.push(ApiError::Upstream(UpstreamError::Rejected {
                call: "Login",
                code,
            }));
        }
        all.push(ApiError::Sign(SignError::NoAccount));
        all.push(ApiError::Sign(SignError::NoHealthyAccount));
        for code in [1000, 20277] {
            all.push(ApiError::Sign(SignError::Account(
                UpstreamError::Rejected {
                    call: "InitUpload",
                    code,
                },
            )));
        }
        all.push(ApiError::Sign(SignError::Store(std::sync::Arc::new(
            StoreError::Backend("x".into()),
        ))));
        all.push(ApiError::SaveFailed(StoreError::Backend("x".into())));
        all.push(ApiError::SaveDisabled);
        all.push(ApiError::RateLimited { retry_after: 1 });
        all.push(ApiError::UrlTooLong);
        all.push(ApiError::RequestTimeout);
        all.push(ApiError::AdminUnauthorized);
        all.push(ApiError::Login(LoginError::Busy));
        all.push(ApiError::Login(LoginError::ClientBusy));
        all.push(ApiError::Login(LoginError::ClientKeyRefused));
        all.push(ApiError::NoSuchAccount);
        all
    }

    #[test]
    fn codes_are_unique_per_meaning_and_agree_with_the_status() {
        let mut seen = std::collections::HashMap::new();
        for err in one_of_each() {
            let parts = err.parts();
            assert_eq!(
                parts.code / 100,
                i32::from(parts.status.as_u16()),
                "{err:?}"
            );
            if let Some(previous) = seen.insert(parts.code, parts.message.clone()) {
                assert_eq!(previous, parts.message, "code {} reused", parts.code);
            }
        }
    }

    /// The rows `| code | HTTP | ... |` of docs/api.md's error table.
    fn documented_codes() -> std::collections::BTreeMap<i32, u16> {
        include_str!("../../../../docs/api.md")
            .lines()
            .filter_map(|line| {
                let mut cells = line.trim().strip_prefix('|')?.split('|').map(str::trim);
                let code = cells.next()?.parse::<i32>().ok()?;
                let status = cells.next()?.parse::<u16>().ok()?;
                (code >= 10_000).then_some((code, status))
            })
            .collect()
    }

    #[test]
    fn every_code_is_answered_by_some_error_and_agrees_with_its_status() {
        let mut answered: std::collections::BTreeSet<ErrorCode> = one_of_each()
            .iter()
            .filter_map(|e| {
                let code = e.parts().code;
                ErrorCode::ALL.iter().copied().find(|c| c.get() == code)
            })
            .collect();
        // /readyz's own envelope, outside ApiError.
        answered.insert(ErrorCode::NotReady);
        let all: std::collections::BTreeSet<ErrorCode> = ErrorCode::ALL.iter().copied().collect();
        assert_eq!(
            answered, all,
            "an exemplar for every code, and no code unlisted"
        );
        for code in ErrorCode::ALL {
            assert_eq!(
                i32::from(code.status().as_u16()),
                code.get() / 100,
                "{code:?}"
            );
        }
    }

    #[test]
    fn the_api_manual_lists_every_code_with_its_status_and_nothing_else() {
        let documented = documented_codes();
        let all: std::collections::BTreeMap<i32, u16> = ErrorCode::ALL
            .iter()
            .map(|c| (c.get(), c.status().as_u16()))
            .collect();
        assert_eq!(documented, all, "docs/api.md's error table");
    }
}
