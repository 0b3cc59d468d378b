//! Every failure the API can answer, mapped once to an HTTP status, a stable
//! envelope code and a message a user can act on. The README's error table
//! lists the same codes; a unit test keeps the two in step.

use crate::domain::ParamError;
use crate::upload::SignError;
use crate::upstream::{Rejection, UpstreamError};
use axum::http::StatusCode;

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
    #[error("account store failed: {0}")]
    Store(String),
    /// The key rotated but could not be saved as the caller asked.
    #[error("refreshed, but saving the account failed: {0}")]
    SaveFailed(String),
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
    fn new(status: StatusCode, code: i32, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
}

impl ApiError {
    pub fn parts(&self) -> ErrorParts {
        use StatusCode as S;
        match self {
            ApiError::Param(e) => ErrorParts::new(S::BAD_REQUEST, 40001, e.message.clone()),
            ApiError::BadBody => ErrorParts::new(
                S::BAD_REQUEST,
                40002,
                "请求体无法解析：请使用 application/x-www-form-urlencoded 编码",
            ),
            ApiError::NotFound => {
                ErrorParts::new(S::NOT_FOUND, 40401, "接口不存在，请检查请求路径")
            }
            ApiError::MethodNotAllowed => ErrorParts::new(
                S::METHOD_NOT_ALLOWED,
                40501,
                "不支持该请求方法，请使用 GET 或 POST",
            ),
            ApiError::BodyTooLarge => ErrorParts::new(S::PAYLOAD_TOO_LARGE, 41301, "请求体过大"),
            ApiError::UnsupportedMediaType => ErrorParts::new(
                S::UNSUPPORTED_MEDIA_TYPE,
                41501,
                "不支持的 Content-Type：POST 请求请使用 application/x-www-form-urlencoded",
            ),
            ApiError::Upstream(e) => upstream_parts(e),
            ApiError::Sign(SignError::NoAccount) => ErrorParts::new(
                S::SERVICE_UNAVAILABLE,
                50301,
                "没有可用的上传账号：请管理员在配置文件中添加 [[accounts]]（uin、musickey、refresh_key、refresh_token）后重启",
            ),
            ApiError::Sign(SignError::NoHealthyAccount) => ErrorParts::new(
                S::SERVICE_UNAVAILABLE,
                50302,
                "所有上传账号都已失效（已退出登录、被封禁或受限）：请管理员用 qmkeys accounts add 或配置文件更新账号",
            ),
            ApiError::Sign(SignError::Store(_)) | ApiError::Store(_) => ErrorParts::new(
                S::INTERNAL_SERVER_ERROR,
                50001,
                "服务器账号存储异常，请稍后重试或联系管理员",
            ),
            ApiError::SaveFailed(_) => ErrorParts::new(
                S::INTERNAL_SERVER_ERROR,
                50002,
                "新的 key 已生成，但保存账号失败：请在 1 分钟内用同样的参数重试，会取回同一个新 key 并再次尝试保存",
            ),
            ApiError::UrlTooLong => ErrorParts::new(S::URI_TOO_LONG, 41401, "请求地址过长：参数请用 POST 表单提交"),
            ApiError::RequestTimeout => ErrorParts::new(
                S::SERVICE_UNAVAILABLE,
                50306,
                "请求处理超时（request_timeout_ms），请稍后重试",
            ),
            ApiError::RateLimited { retry_after } => ErrorParts {
                retry_after: Some(*retry_after),
                ..ErrorParts::new(S::TOO_MANY_REQUESTS, 42903, "请求过于频繁，请按 Retry-After 等待后重试")
            },
            ApiError::SaveDisabled => ErrorParts::new(
                S::FORBIDDEN,
                40305,
                "本服务器未开启 save 功能（accounts_allow_save），请去掉 save=true 或联系管理员开启",
            ),
            ApiError::AdminUnauthorized => ErrorParts::new(
                S::UNAUTHORIZED,
                40103,
                "需要管理员令牌：请在请求头中携带 Authorization: Bearer <QMKEYS_ADMIN_TOKEN>",
            ),
            ApiError::Sign(SignError::Account(e)) => upload_account_parts(e),
        }
    }
}

/// Failures of the server's own upload account are the operator's to fix, so
/// they get codes of their own; the rest mean what they mean for a refresh.
fn upload_account_parts(err: &UpstreamError) -> ErrorParts {
    use StatusCode as S;
    match err.rejection() {
        Some(Rejection::LoginRequired) => ErrorParts::new(
            S::UNAUTHORIZED,
            40102,
            "上传账号的 key 已失效且无法自动刷新：请管理员更新该账号的 musickey、refresh_key 和 refresh_token",
        ),
        Some(Rejection::Restricted | Rejection::DeviceLimit | Rejection::Binding) => ErrorParts::new(
            S::FORBIDDEN,
            40304,
            "上传账号被限制、封禁或设备超限：请管理员在QQ音乐客户端处理该账号，或换用其他账号",
        ),
        _ => upstream_parts(err),
    }
}

fn upstream_parts(err: &UpstreamError) -> ErrorParts {
    use StatusCode as S;
    match err {
        UpstreamError::Timeout => ErrorParts::new(S::GATEWAY_TIMEOUT, 50401, "QQ音乐接口响应超时，请稍后重试"),
        UpstreamError::CircuitOpen => ErrorParts {
            retry_after: Some(10),
            ..ErrorParts::new(
                S::SERVICE_UNAVAILABLE,
                50303,
                "QQ音乐接口连续失败，已暂停访问，稍后会自动恢复，请稍后重试",
            )
        },
        UpstreamError::Busy => ErrorParts {
            retry_after: Some(1),
            ..ErrorParts::new(S::SERVICE_UNAVAILABLE, 50304, "服务器繁忙：同时访问QQ音乐的请求过多，请稍后重试")
        },
        UpstreamError::Connect | UpstreamError::Transport => {
            ErrorParts::new(S::BAD_GATEWAY, 50203, "无法连接QQ音乐接口，请稍后重试")
        }
        UpstreamError::Status(_) => ErrorParts::new(S::BAD_GATEWAY, 50201, "QQ音乐接口返回了错误状态，请稍后重试"),
        UpstreamError::Unreadable(_) | UpstreamError::Gateway(_) => {
            ErrorParts::new(S::BAD_GATEWAY, 50202, "QQ音乐接口返回了无法识别的数据，请稍后重试")
        }
        UpstreamError::Rejected { code, .. } => match Rejection::of(*code) {
            Rejection::LoginRequired => ErrorParts::new(
                S::UNAUTHORIZED,
                40101,
                "music_key 已过期或无效，且无法刷新：请携带 refresh_key 和 refresh_token，或重新登录获取新的 key",
            ),
            Rejection::Restricted => ErrorParts::new(S::FORBIDDEN, 40301, "该账号已被限制或封禁，请在QQ音乐客户端处理后重试"),
            Rejection::DeviceLimit => ErrorParts::new(S::FORBIDDEN, 40302, "该账号登录的设备过多，请在QQ音乐客户端退出部分设备后重试"),
            Rejection::Binding => ErrorParts::new(S::FORBIDDEN, 40303, "账号绑定异常，请在QQ音乐客户端检查账号绑定后重试"),
            Rejection::RateLimited => ErrorParts {
                retry_after: Some(60),
                ..ErrorParts::new(S::TOO_MANY_REQUESTS, 42901, "QQ音乐接口请求过于频繁，请稍后重试")
            },
            Rejection::RiskControl => ErrorParts::new(
                S::TOO_MANY_REQUESTS,
                42902,
                "QQ音乐触发了安全验证，请在QQ音乐客户端完成验证后重试",
            ),
            Rejection::BadLoginParams | Rejection::Signature | Rejection::Other => {
                ErrorParts::new(S::BAD_GATEWAY, 50204, format!("QQ音乐接口拒绝了请求（错误码 {code}），请稍后重试"))
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
        all.push(ApiError::Store("x".into()));
        all.push(ApiError::SaveFailed("x".into()));
        all.push(ApiError::SaveDisabled);
        all.push(ApiError::RateLimited { retry_after: 1 });
        all.push(ApiError::UrlTooLong);
        all.push(ApiError::RequestTimeout);
        all.push(ApiError::AdminUnauthorized);
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
    fn the_api_manual_lists_every_code_with_its_status_and_nothing_else() {
        let documented = documented_codes();
        let mut answered: std::collections::BTreeMap<i32, u16> = one_of_each()
            .iter()
            .map(|e| (e.parts().code, e.parts().status.as_u16()))
            .collect();
        // /readyz's own envelope, outside ApiError.
        answered.insert(super::super::health::NOT_READY_CODE, 503);
        assert_eq!(documented, answered, "docs/api.md's error table");
    }
}
