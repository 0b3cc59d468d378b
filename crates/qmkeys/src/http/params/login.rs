//! `GET /music/tencent/cookie/qrcode`'s and `GET|POST
//! /music/tencent/cookie/fastlogin`'s parameters.

use super::read::{form_ref, read, read_request};
use super::{allowed, parse_save, save_schema};
use crate::domain::{parse_client_uin, ClientKey, ParamError, Uin};
use crate::http::error::ApiError;
use crate::http::AppState;
use crate::login::QrKind;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::Deserialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

/// `GET /music/tencent/cookie/qrcode`'s parameters, as documented.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QrParams {
    /// 扫码的应用，默认为第一个取值 / which app scans the QR; the first value is the default
    #[serde(rename = "type")]
    #[param(rename = "type", schema_with = qr_type_schema)]
    pub kind: Option<String>,
    /// 登录成功后把账号保存为上传账号（服务器需开启 `accounts_allow_save` 或带管理员令牌，否则 403）
    /// / keep the account for uploads (403 unless the server enables it or the request carries the admin token)
    #[param(schema_with = save_schema)]
    pub save: Option<String>,
    /// 只接受这个账号的登录：扫码的是另一个账号时，最后一个事件是错误（40001），不保存也不给出 key（管理页重新登录用）
    /// / accept only a login of this account: when another account scans, the last event is an error (40001) and nothing is saved or handed out (the owner's console logs a dead account in again with it)
    #[param(pattern = r"^[1-9][0-9]{0,18}$", example = "1152921504")]
    pub uin: Option<String>,
}

/// `type`'s schema, from the registry of QR login kinds: its values, the
/// default, and what each one is.
fn qr_type_schema() -> impl Into<RefOr<Schema>> {
    let described = QrKind::all()
        .map(|kind| {
            let info = kind.info();
            if info.label_zh == info.label_en {
                format!("`{}`：{}", info.name, info.label_zh)
            } else {
                format!("`{}`：{} / {}", info.name, info.label_zh, info.label_en)
            }
        })
        .collect::<Vec<_>>()
        .join("；");
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(QrKind::names()))
        .default(Some(serde_json::json!(QrKind::default().as_str())))
        .description(Some(described))
}

/// `type`'s error, naming the registry's kinds.
fn qr_type_error() -> ParamError {
    let listed = one_of(&QrKind::names());
    ParamError::new("type", format!("参数 type 只能是 {listed}"))
}

/// `qq 或 wx`, `a、b 或 c`.
fn one_of(names: &[&str]) -> String {
    match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} 或 {last}", rest.join("、")),
        None => String::new(),
    }
}

/// A QR login request, checked.
#[derive(Debug)]
pub struct QrStart {
    pub kind: QrKind,
    pub save: bool,
    /// Only a login of this account counts.
    pub only: Option<Uin>,
}

impl QrParams {
    fn check(self) -> Result<QrStart, ApiError> {
        let kind = match self.kind.as_deref() {
            None => QrKind::default(),
            Some(raw) => QrKind::parse(raw).ok_or_else(qr_type_error)?,
        };
        Ok(QrStart {
            kind,
            save: parse_save(self.save.as_deref())?,
            only: self.uin.as_deref().map(Uin::parse).transpose()?,
        })
    }
}

impl FromRequestParts<AppState> for QrStart {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let request = read::<QrParams>(parts.uri.query(), None)?.check()?;
        allowed(request.save, parts.headers.get(AUTHORIZATION), state)?;
        Ok(request)
    }
}

/// `GET|POST /music/tencent/cookie/fastlogin`'s parameters, as documented.
#[derive(Debug, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
pub struct FastLoginParams {
    /// 已登录电脑 QQ 的 QQ 号（6-11 位）/ the QQ number logged in on the desktop (6-11 digits)
    #[param(pattern = r"^[1-9][0-9]{5,10}$", example = "1569097443")]
    #[schema(pattern = r"^[1-9][0-9]{5,10}$", example = "1569097443")]
    pub client_uin: String,
    /// `qmkeys login --desktop` 从电脑 QQ 读到的 clientkey：整个 QQ 网页会话，服务器不记录、不保存、不回显
    /// / the desktop client's clientkey, as `qmkeys login --desktop` reads it: a whole QQ web session, never logged, stored or echoed
    #[param(pattern = r"^[A-Za-z0-9*._-]{8,1024}$")]
    #[schema(pattern = r"^[A-Za-z0-9*._-]{8,1024}$")]
    pub client_key: String,
    /// 登录成功后把账号保存为上传账号（服务器需开启 `accounts_allow_save` 或带管理员令牌，否则 403）
    /// / keep the account for uploads (403 unless the server enables it or the request carries the admin token)
    #[param(schema_with = save_schema)]
    #[schema(schema_with = save_schema)]
    pub save: Option<String>,
}

/// A fast-login request, checked.
#[derive(Debug)]
pub struct FastLogin {
    pub client_uin: Uin,
    pub client_key: ClientKey,
    pub save: bool,
}

impl FastLoginParams {
    fn check(self) -> Result<FastLogin, ApiError> {
        Ok(FastLogin {
            client_uin: parse_client_uin(&self.client_uin)?,
            client_key: ClientKey::parse(&self.client_key)?,
            save: parse_save(self.save.as_deref())?,
        })
    }
}

impl FromRequest<AppState> for FastLogin {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        // Only the owner's token is kept: it may allow save=true.
        let authorization = req.headers().get(AUTHORIZATION).cloned();
        let (uri, form) = read_request(req).await?;
        let request = read::<FastLoginParams>(uri.query(), form_ref(&form))?.check()?;
        allowed(request.save, authorization.as_ref(), state)?;
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_type_is_refused_naming_every_registered_kind() {
        let err = qr_type_error();
        assert_eq!(err.param, "type");
        assert!(
            err.message.starts_with("参数 type 只能是 qq"),
            "{}",
            err.message
        );
        for name in QrKind::names() {
            assert!(err.message.contains(name), "{name}");
        }
        assert_eq!(one_of(&["qq", "wx"]), "qq 或 wx");
        assert_eq!(one_of(&["qq", "wx", "app"]), "qq、wx 或 app");
        assert_eq!(one_of(&["qq"]), "qq");
    }
}
