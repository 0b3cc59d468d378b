//! The owner's routes for caller keys (`require_api_key`): list them, make
//! one (its secret answered this once) and revoke one. No answer but the
//! creation's ever holds a secret, and none holds a hash.

use super::Admin;
use crate::accounts::ApiKeyRecord;
use crate::beijing;
use crate::domain::{ApiKeyId, ApiKeySecret};
use crate::http::envelope::Envelope;
use crate::http::error::ApiError;
use crate::http::error::ErrorCode as C;
use crate::http::params::{NewKey, NewKeyParams};
use crate::http::path::Segment;
use crate::http::route::{Errors, FORM_BODY};
use crate::http::AppState;
use axum::extract::State;
use axum::response::Response;
use serde::Serialize;

/// What [`list`] can answer besides success.
pub const LIST_ERRORS: Errors = Errors::of(&[&[C::NotFound, C::AdminUnauthorized, C::StoreFailed]]);
/// What [`create`] can answer besides success.
pub const CREATE_ERRORS: Errors = Errors::of(&[
    &[
        C::NotFound,
        C::AdminUnauthorized,
        C::BadParam,
        C::StoreFailed,
    ],
    FORM_BODY,
]);
/// What [`revoke`] can answer besides success.
pub const REVOKE_ERRORS: Errors = Errors::of(&[&[
    C::NotFound,
    C::AdminUnauthorized,
    C::BadParam,
    C::NoSuchKey,
    C::StoreFailed,
]]);

/// The caller keys (never a secret or its hash).
///
/// Keys matter only when the server sets `require_api_key`; they can be
/// made beforehand. `lastUsed*` is written behind the requests, at most a
/// minute late.
#[utoipa::path(
    get,
    path = "/admin/keys",
    tag = "admin",
    operation_id = "adminKeys",
    security(("admin_token" = [])),
    responses((status = 200, description = "调用者密钥列表 / the caller keys (`code` 200)", body = Envelope<AdminKeys>)),
)]
pub async fn list(State(state): State<AppState>, _: Admin) -> Result<Response, ApiError> {
    let keys = state
        .accounts
        .store()
        .keys()
        .await
        .map_err(ApiError::StoreRead)?;
    let keys = keys.iter().map(KeyView::from).collect();
    Ok(state.stamp.ok(AdminKeys { keys }))
}

/// Make a caller key; the answer holds its secret, this once.
///
/// Only the secret's SHA-256 is stored: a lost secret cannot be shown
/// again, only revoked and replaced. Parameters in the query or a form body.
#[utoipa::path(
    post,
    path = "/admin/keys",
    tag = "admin",
    operation_id = "adminCreateKey",
    security(("admin_token" = [])),
    request_body(content = NewKeyParams, content_type = "application/x-www-form-urlencoded", description = "或放在查询串里 / or in the query"),
    responses((status = 200, description = "新密钥，secret 只显示这一次 / the new key; its secret is shown only this once (`code` 200)", body = Envelope<CreatedKey>)),
)]
pub async fn create(
    State(state): State<AppState>,
    _: Admin,
    new: NewKey,
) -> Result<Response, ApiError> {
    let (id, secret) = ApiKeySecret::generate();
    let record = ApiKeyRecord {
        id,
        name: new.name,
        hash: secret.hash(),
        rate_limit: new.rate_limit,
        created_at: state.stamp_now().timestamp(),
        last_used_at: None,
    };
    state
        .accounts
        .store()
        .insert_key(&record)
        .await
        .map_err(ApiError::StoreRead)?;
    tracing::info!(key = %record.id, "caller key created");
    Ok(state.stamp.ok(CreatedKey {
        key: KeyView::from(&record),
        secret: secret.expose().to_owned(),
    }))
}

/// Revoke a caller key: refused on this instance at once, on others within
/// a few seconds (their lookups are cached that long).
#[utoipa::path(
    delete,
    path = "/admin/keys/{id}",
    tag = "admin",
    operation_id = "adminRevokeKey",
    security(("admin_token" = [])),
    params(("id" = String, Path, description = "密钥的 id / the key's id", pattern = r"^k_[A-Za-z0-9]{8}$")),
    responses((status = 200, description = "已吊销 / revoked (`code` 200)", body = Envelope<RevokedKey>)),
)]
pub async fn revoke(
    State(state): State<AppState>,
    _: Admin,
    Segment(id): Segment<ApiKeyId>,
) -> Result<Response, ApiError> {
    let removed = state
        .accounts
        .store()
        .revoke_key(&id)
        .await
        .map_err(ApiError::StoreRead)?;
    if let Some(keys) = &state.keys {
        keys.forget(&id);
    }
    if !removed {
        return Err(ApiError::NoSuchKey);
    }
    tracing::info!(key = %id, "caller key revoked");
    Ok(state.stamp.ok(RevokedKey {
        id: id.as_str().to_owned(),
        revoked: true,
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AdminKeys {
    pub keys: Vec<KeyView>,
}

/// What the owner sees of a key: deliberately no field for its secret or hash.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyView {
    /// `k_` and 8 letters or digits
    pub id: String,
    pub name: String,
    /// requests per minute
    pub rate_limit: u32,
    pub created_timestamp: i64,
    pub created_time: String,
    pub last_used_timestamp: Option<i64>,
    pub last_used_time: Option<String>,
}

impl From<&ApiKeyRecord> for KeyView {
    fn from(k: &ApiKeyRecord) -> Self {
        Self {
            id: k.id.as_str().to_owned(),
            name: k.name.as_str().to_owned(),
            rate_limit: k.rate_limit,
            created_timestamp: k.created_at,
            created_time: beijing::format_unix(k.created_at),
            last_used_timestamp: k.last_used_at,
            last_used_time: k.last_used_at.map(beijing::format_unix),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedKey {
    pub key: KeyView,
    /// 密钥本身，只显示这一次 / the secret, shown only this once: send it as `X-Api-Key`
    pub secret: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RevokedKey {
    pub id: String,
    pub revoked: bool,
}
