//! The owner's routes for one kept account: see it, check its key (no
//! rotation), rotate it now, and remove it (optionally logging it out
//! upstream first). None of them answers a key.

use super::{view, AccountView, Admin};
use crate::accounts::{Account, LogoutError, StoreError};
use crate::domain::Uin;
use crate::http::envelope::Envelope;
use crate::http::error::ApiError;
use crate::http::error::ErrorCode as C;
use crate::http::params::{RemoveParams, RemoveQuery};
use crate::http::path::Segment;
use crate::http::route::{Errors, KEY_REFUSED, REFUSED, TRANSIENT};
use crate::http::AppState;
use crate::upstream::KeyCheck;
use axum::extract::State;
use axum::response::Response;
use serde::Serialize;
use std::sync::Arc;

const OWN: &[C] = &[
    C::NotFound,
    C::AdminUnauthorized,
    C::BadParam,
    C::NoSuchAccount,
];

/// What [`account`] can answer besides success.
pub const ACCOUNT_ERRORS: Errors = Errors::of(&[OWN, &[C::StoreFailed]]);
/// What [`check`] can answer besides success.
pub const CHECK_ERRORS: Errors = Errors::of(&[OWN, KEY_REFUSED, REFUSED, TRANSIENT]);
/// What [`refresh`] and [`remove`] can answer besides success.
pub const CHANGE_ERRORS: Errors =
    Errors::of(&[OWN, &[C::StoreFailed], KEY_REFUSED, REFUSED, TRANSIENT]);

/// One kept account, as the list shows it (no key or token).
#[utoipa::path(
    get,
    path = "/admin/accounts/{uin}",
    tag = "admin",
    operation_id = "adminAccount",
    security(("admin_token" = [])),
    params(("uin" = String, Path, description = "账号的 uin / the account's uin", pattern = r"^[1-9][0-9]{0,18}$")),
    responses((status = 200, description = "该账号的状态 / the account's state (`code` 200)", body = Envelope<AccountView>)),
)]
pub async fn account(
    State(state): State<AppState>,
    _: Admin,
    Segment(uin): Segment<Uin>,
) -> Result<Response, ApiError> {
    let account = kept(&state, uin).await?;
    Ok(state.stamp.ok(view(&state, &account).await))
}

/// Asks QQ Music whether the account's key is alive, now, without rotating it.
///
/// GetLoginUserInfo (docs/protocol.md section 10.2): no Login is sent and no
/// key is spent. A dead key is an answer (`alive: false`), which the keeper
/// acts on at its next round; an upstream that cannot be asked is an error.
#[utoipa::path(
    post,
    path = "/admin/accounts/{uin}/check",
    tag = "admin",
    operation_id = "adminAccountCheck",
    security(("admin_token" = [])),
    params(("uin" = String, Path, description = "账号的 uin / the account's uin", pattern = r"^[1-9][0-9]{0,18}$")),
    responses((status = 200, description = "key 是否有效，以及检查后的账号状态 / whether the key is alive, and the account after the check (`code` 200)", body = Envelope<CheckedAccount>)),
)]
pub async fn check(
    State(state): State<AppState>,
    _: Admin,
    Segment(uin): Segment<Uin>,
) -> Result<Response, ApiError> {
    let account = kept(&state, uin).await?;
    let alive = state.accounts.check_now(&account).await? == KeyCheck::Alive;
    Ok(state.stamp.ok(CheckedAccount {
        alive,
        account: view(&state, &account).await,
    }))
}

/// Rotates the account's key now (one Login), as the keeper would when it is due.
#[utoipa::path(
    post,
    path = "/admin/accounts/{uin}/refresh",
    tag = "admin",
    operation_id = "adminAccountRefresh",
    security(("admin_token" = [])),
    params(("uin" = String, Path, description = "账号的 uin / the account's uin", pattern = r"^[1-9][0-9]{0,18}$")),
    responses((status = 200, description = "轮换后的账号状态 / the account after the rotation (`code` 200)", body = Envelope<AccountView>)),
)]
pub async fn refresh(
    State(state): State<AppState>,
    _: Admin,
    Segment(uin): Segment<Uin>,
) -> Result<Response, ApiError> {
    let account = kept(&state, uin).await?;
    let seen = account.snapshot().generation;
    state.accounts.refresh(&account, seen).await?;
    Ok(state.stamp.ok(view(&state, &account).await))
}

/// Removes a kept account, after logging it out upstream when asked.
///
/// With `logout=true` its key is logged out first (docs/protocol.md section
/// 10.3), so it and its refresh_key and refresh_token stop working wherever
/// they were copied; a Logout that fails keeps the account unless
/// `force=true`. Sends `account.removed`.
#[utoipa::path(
    delete,
    path = "/admin/accounts/{uin}",
    tag = "admin",
    operation_id = "adminAccountRemove",
    security(("admin_token" = [])),
    params(("uin" = String, Path, description = "账号的 uin / the account's uin", pattern = r"^[1-9][0-9]{0,18}$"), RemoveParams),
    responses((status = 200, description = "已删除 / removed (`code` 200)", body = Envelope<Removed>)),
)]
pub async fn remove(
    State(state): State<AppState>,
    _: Admin,
    Segment(uin): Segment<Uin>,
    query: RemoveQuery,
) -> Result<Response, ApiError> {
    if !query.logout {
        return match state.accounts.remove(uin).await {
            Ok(true) => Ok(state.stamp.ok(Removed {
                removed: true,
                logged_out: false,
            })),
            Ok(false) => Err(ApiError::NoSuchAccount),
            Err(err) => Err(ApiError::StoreRead(err)),
        };
    }
    let removal = state
        .accounts
        .logout_and_remove(uin, query.force)
        .await
        .map_err(|err| match err {
            LogoutError::NotFound(_) => ApiError::NoSuchAccount,
            LogoutError::Upstream(e) => ApiError::Upstream(e),
            LogoutError::Store(e) => ApiError::StoreRead(e),
            LogoutError::Unreadable => ApiError::StoreRead(StoreError::Backend(
                "the record cannot be read, so its key cannot be logged out".into(),
            )),
        })?;
    Ok(state.stamp.ok(Removed {
        removed: true,
        logged_out: removal.logout_failed.is_none(),
    }))
}

/// The account as this process keeps it, after taking in the store's
/// changes (another instance or the CLI may have added or rotated it).
async fn kept(state: &AppState, uin: Uin) -> Result<Arc<Account>, ApiError> {
    state.accounts.sync().await.map_err(ApiError::StoreRead)?;
    state
        .accounts
        .all()
        .into_iter()
        .find(|a| a.uin() == uin)
        .ok_or(ApiError::NoSuchAccount)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckedAccount {
    /// QQ Music says the key is alive.
    pub alive: bool,
    pub account: AccountView,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Removed {
    pub removed: bool,
    /// The key was logged out upstream before the account was removed.
    pub logged_out: bool,
}
