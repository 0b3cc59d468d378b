//! The owner's routes' parameters.

use super::read::{form_ref, read, read_request};
use crate::domain::{parse_rate_limit, ApiKeyName, ParamError, DEFAULT_RATE_LIMIT};
use crate::http::error::ApiError;
use crate::http::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Deserialize;

/// How many events `GET /admin/events` answers when `limit` is absent.
pub const DEFAULT_EVENTS: usize = 50;

/// The largest `limit`: `accounts_events_keep`'s own maximum.
const MAX_EVENTS: usize = 100_000;

/// `GET /admin/events`' parameters. [`EventsQuery`] fills and checks them.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsParams {
    /// 最多返回多少条，默认 50；超过 accounts_events_keep 时按它返回 / at most this many, 50 when absent; more than accounts_events_keep answers that many
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100000, example = 20)]
    pub limit: Option<String>,
}

/// A timeline request, checked.
#[derive(Debug)]
pub struct EventsQuery {
    pub limit: usize,
}

impl FromRequestParts<AppState> for EventsQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        read::<EventsParams>(parts.uri.query(), None)?.check()
    }
}

impl EventsParams {
    fn check(self) -> Result<EventsQuery, ApiError> {
        let limit = match self.limit.as_deref() {
            None | Some("") => DEFAULT_EVENTS,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| {
                    (1..=MAX_EVENTS).contains(n) && text.bytes().all(|b| b.is_ascii_digit())
                })
                .ok_or_else(|| ParamError::new("limit", "limit 应为 1 到 100000 之间的整数"))?,
        };
        Ok(EventsQuery { limit })
    }
}

/// `POST /admin/keys`' parameters (query or form body). [`NewKey`] fills
/// and checks them.
#[derive(Debug, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
pub struct NewKeyParams {
    /// 密钥的名称，1–64 个字符，不含控制字符 / the key's name, 1 to 64 characters, no control characters
    #[param(
        required = true,
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$",
        example = "播放器"
    )]
    #[schema(required = true, value_type = String, min_length = 1, max_length = 64, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$", example = "播放器")]
    pub name: Option<String>,
    /// 每分钟最多请求数，默认 60 / requests per minute, 60 when absent
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100000, example = 60)]
    #[schema(value_type = u32, required = false, minimum = 1, maximum = 100000, example = 60)]
    pub rate_limit: Option<String>,
}

/// A new caller key's name and rate limit, checked.
#[derive(Debug)]
pub struct NewKey {
    pub name: ApiKeyName,
    pub rate_limit: u32,
}

impl axum::extract::FromRequest<AppState> for NewKey {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, _: &AppState) -> Result<Self, ApiError> {
        let (uri, form) = read_request(req).await?;
        read::<NewKeyParams>(uri.query(), form_ref(&form))?.check()
    }
}

impl NewKeyParams {
    fn check(self) -> Result<NewKey, ApiError> {
        let name = ApiKeyName::parse(self.name.as_deref().unwrap_or_default())?;
        let rate_limit = match self.rate_limit.as_deref() {
            None | Some("") => DEFAULT_RATE_LIMIT,
            Some(text) if text.bytes().all(|b| b.is_ascii_digit()) => {
                parse_rate_limit(text.parse::<u64>().unwrap_or(u64::MAX))?
            }
            Some(_) => parse_rate_limit(0)?,
        };
        Ok(NewKey { name, rate_limit })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(query: &str) -> Result<usize, String> {
        read::<EventsParams>(Some(query), None)
            .and_then(EventsParams::check)
            .map(|q| q.limit)
            .map_err(|e| e.parts().message)
    }

    #[test]
    fn limit_is_a_positive_whole_number_or_the_default() {
        assert_eq!(limit(""), Ok(DEFAULT_EVENTS));
        assert_eq!(limit("limit="), Ok(DEFAULT_EVENTS));
        assert_eq!(limit("limit=7"), Ok(7));
        for bad in [
            "limit=0",
            "limit=-1",
            "limit=+3",
            "limit=x",
            "limit=99999999999999999999999",
        ] {
            assert!(limit(bad).is_err_and(|m| m.contains("limit")), "{bad}");
        }
        assert!(limit("limit=1&limit=2").is_err_and(|m| m.contains("重复")));
    }

    fn new_key(query: &str) -> Result<(String, u32), String> {
        read::<NewKeyParams>(Some(query), None)
            .and_then(NewKeyParams::check)
            .map(|k| (k.name.as_str().to_owned(), k.rate_limit))
            .map_err(|e| e.parts().message)
    }

    #[test]
    fn a_new_key_wants_a_name_and_a_sane_rate_limit() {
        assert_eq!(new_key("name=bot"), Ok(("bot".into(), DEFAULT_RATE_LIMIT)));
        assert_eq!(new_key("name=bot&rate_limit=5"), Ok(("bot".into(), 5)));
        assert!(new_key("").is_err_and(|m| m.contains("name")));
        for bad in ["0", "-1", "x", "100001", "99999999999999999999999"] {
            assert!(
                new_key(&format!("name=a&rate_limit={bad}"))
                    .is_err_and(|m| m.contains("rate_limit")),
                "{bad}"
            );
        }
    }
}

/// `DELETE /admin/accounts/{uin}`' parameters. [`RemoveQuery`] fills and checks them.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RemoveParams {
    /// 删除前先在 QQ 音乐退出登录（Logout），让 key 和 refresh_key/refresh_token 在各处失效；默认 false / log the key out upstream first so it stops working wherever it was copied; false when absent
    #[param(value_type = Option<bool>)]
    pub logout: Option<String>,
    /// 与 logout=true 同用：Logout 失败也删除；默认 false，此时 Logout 失败则保留账号；不带 logout=true 时无作用 / with logout=true: remove even when the Logout fails, otherwise a failed Logout keeps the account; without logout=true it changes nothing
    #[param(value_type = Option<bool>)]
    pub force: Option<String>,
}

/// A removal, checked.
#[derive(Debug)]
pub struct RemoveQuery {
    pub logout: bool,
    pub force: bool,
}

impl FromRequestParts<AppState> for RemoveQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        let params = read::<RemoveParams>(parts.uri.query(), None)?;
        let logout = flag("logout", params.logout.as_deref())?;
        // Without logout there is no Logout to force past: force is moot.
        let force = flag("force", params.force.as_deref())?;
        Ok(RemoveQuery { logout, force })
    }
}

/// `true` or `false`; absent means false.
fn flag(name: &'static str, raw: Option<&str>) -> Result<bool, ApiError> {
    match raw {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ParamError::new(name, format!("参数 {name} 只能是 true 或 false")).into()),
    }
}

/// How `GET /admin/accounts/{uin}/cookie` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieFormat {
    /// The refresh endpoint's envelope.
    Json,
    /// The `Cookie:` line, as `text/plain`.
    Header,
}

/// `GET /admin/accounts/{uin}/cookie`' parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CookieParams {
    /// json（默认，与刷新接口相同的信封）或 header（text/plain 的 Cookie 行，可直接粘贴给播放器和机器人）/ json (the default: the refresh envelope) or header (the `Cookie:` line as text/plain, for players and bots)
    #[param(value_type = Option<String>, pattern = "^(json|header)$")]
    pub format: Option<String>,
}

impl FromRequestParts<AppState> for CookieFormat {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        match read::<CookieParams>(parts.uri.query(), None)?
            .format
            .as_deref()
        {
            None | Some("json") => Ok(CookieFormat::Json),
            Some("header") => Ok(CookieFormat::Header),
            Some(_) => Err(ParamError::new("format", "参数 format 只能是 json 或 header").into()),
        }
    }
}
