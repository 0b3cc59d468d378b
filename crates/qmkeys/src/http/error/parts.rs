//! Each [`ApiError`] mapped to its HTTP status, code and a message a user
//! can act on; the match is exhaustive, so a new variant must choose one.

use super::{ApiError, ErrorCode};
use crate::login::LoginError;
use crate::upload::SignError;
use crate::upstream::{Rejection, UpstreamError};
use axum::http::StatusCode;

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
            ApiError::Sign(SignError::Store(_)) | ApiError::StoreRead(_) => ErrorParts::new(
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
            ApiError::ApiKeyMissing => ErrorParts::new(
                C::ApiKeyMissing,
                "本服务器要求调用者密钥：请在 X-Api-Key 请求头（或 api_key 查询参数）中提供向管理员申请的密钥",
            ),
            ApiError::ApiKeyRefused => ErrorParts::new(
                C::ApiKeyRefused,
                "调用者密钥无效或已被吊销：请向管理员申请新的密钥",
            ),
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
            ApiError::NoSuchKey => ErrorParts::new(C::NoSuchKey, "没有这个调用者密钥（可能已被吊销）"),
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
            "client_key 无效或已过期：请在登录了电脑 QQ 的那台电脑上重新运行 qmkeys login --desktop",
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
        LoginError::Push { .. } => {
            ErrorParts::new(C::UpstreamUnreachable, "无法连接 QQ 音乐推送服务，请稍后重试")
        }
        LoginError::PushRefused { reason, .. } => ErrorParts::new(
            C::UpstreamStatus,
            format!("QQ 音乐推送服务拒绝了连接（MQTT 原因码 {reason:#04x}），请稍后重试"),
        ),
        LoginError::AppLoginFailed => ErrorParts::new(
            C::UpstreamRefused,
            "QQ 音乐 App 登录失败，请重新扫码",
        ),
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
        Some(
            Rejection::Restricted
            | Rejection::Banned
            | Rejection::DeviceLimit
            | Rejection::WrongCode
            | Rejection::BindingAbnormal
            | Rejection::BindingMissing,
        ) => ErrorParts::new(
            C::UploadAccountRestricted,
            "上传账号被QQ音乐拒绝（被限制、封禁、设备过多或绑定异常）：请管理员用 qmkeys accounts list 查看该账号的错误码，在QQ音乐客户端处理，或换用其他账号",
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
            Rejection::WrongCode => ErrorParts::new(
                C::WrongCode,
                "验证码错误（QQ音乐错误码 20271）：请重新获取验证码或重新扫码登录",
            ),
            Rejection::BindingAbnormal => ErrorParts::new(
                C::Binding,
                "账号绑定异常（QQ音乐错误码 20272）：请在QQ音乐客户端的账号与安全中检查 QQ/微信绑定后重新登录",
            ),
            Rejection::BindingMissing => ErrorParts::new(
                C::BindingMissing,
                "账号未绑定（QQ音乐错误码 20274）：请先在QQ音乐客户端用这个 QQ 或微信登录一次，完成绑定后重试",
            ),
            Rejection::Restricted => ErrorParts::new(
                C::Restricted,
                "该账号已被限制（QQ音乐错误码 20277/20278）：请在QQ音乐客户端按提示解除限制后重试",
            ),
            Rejection::Banned => ErrorParts::new(
                C::Banned,
                "该账号已被封禁（QQ音乐错误码 20450）：请在QQ音乐客户端或腾讯客服申诉，本服务无法解除",
            ),
            Rejection::DeviceLimit => ErrorParts::new(
                C::DeviceLimit,
                "该账号登录的设备过多（QQ音乐错误码 20279）：请在QQ音乐客户端的设备管理中退出部分设备后重试",
            ),
            Rejection::BadLoginParams => ErrorParts::new(
                C::LoginParamsRefused,
                "QQ音乐不接受这组登录参数（错误码 20261）：请确认 uin 与 key 属于同一账号，refresh_key 和 refresh_token 完整未截断",
            ),
            Rejection::RateLimited => ErrorParts {
                retry_after: Some(60),
                ..ErrorParts::new(
                    C::UpstreamRateLimited,
                    "QQ音乐认为请求过于频繁（错误码 104604）：请放慢速度，按 Retry-After 等待后重试",
                )
            },
            Rejection::RiskControl => ErrorParts::new(
                C::RiskControl,
                "QQ音乐触发了安全验证，请在QQ音乐客户端完成验证后重试",
            ),
            Rejection::Signature | Rejection::Other => {
                ErrorParts::new(C::UpstreamRefused, format!("QQ音乐接口拒绝了请求（错误码 {code}），请稍后重试"))
            }
        },
    }
}
