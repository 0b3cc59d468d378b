//! `GET /admin/accounts`: the upload accounts, without a single secret.
//! Exists only when `QMKEYS_ADMIN_TOKEN` is set.

use super::envelope::Envelope;
use super::error::ApiError;
use super::AppState;
use crate::accounts::mask;
use crate::beijing;
use axum::extract::{FromRequestParts, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use secrecy::ExposeSecret;
use serde::Serialize;
use subtle::ConstantTimeEq;

/// List the upload accounts (no key or token in the answer).
///
/// Exists only when the server sets `admin_token`; otherwise 404.
#[utoipa::path(
    get,
    path = "/admin/accounts",
    tag = "admin",
    operation_id = "adminAccounts",
    security(("admin_token" = [])),
    responses((status = 200, description = "上传账号列表 / the upload accounts (`code` 200)", body = Envelope<AdminAccounts>)),
)]
pub async fn accounts(State(state): State<AppState>, _: Admin) -> Response {
    let accounts: Vec<AccountView> = state
        .accounts
        .all()
        .iter()
        .map(|a| AccountView::from(&a.snapshot()))
        .collect();
    state.stamp.respond(
        StatusCode::OK,
        200,
        "请求成功！",
        Some(AdminAccounts { accounts }),
    )
}

/// Proof that the request carries the operator's token. Admin routes do not
/// exist (404) unless the server sets `admin_token`.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(token) = &state.admin_token else {
            return Err(ApiError::NotFound);
        };
        let presented = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        // Constant time, so the token cannot be guessed a byte at a time.
        if bool::from(presented.as_bytes().ct_eq(token.expose_secret().as_bytes())) {
            Ok(Admin)
        } else {
            Err(ApiError::AdminUnauthorized)
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AdminAccounts {
    pub accounts: Vec<AccountView>,
}

/// What an operator may see of an account. There is deliberately no field
/// that could carry a key or token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    pub uin: String,
    pub kind: &'static str,
    pub expires_timestamp: Option<i64>,
    pub expires_time: Option<String>,
    pub last_refresh_timestamp: Option<i64>,
    pub last_refresh_time: Option<String>,
    pub last_outcome: Option<String>,
    pub health: &'static str,
}

impl From<&crate::accounts::StoredAccount> for AccountView {
    fn from(a: &crate::accounts::StoredAccount) -> Self {
        Self {
            uin: mask(a.uin()),
            kind: a.cred.kind().as_str(),
            expires_timestamp: a.expires_at,
            expires_time: a.expires_at.map(beijing::format_unix),
            last_refresh_timestamp: a.last_refresh_at,
            last_refresh_time: a.last_refresh_at.map(beijing::format_unix),
            last_outcome: a.last_outcome.clone(),
            health: a.health.as_str(),
        }
    }
}
