//! Operator routes, which exist only when `QMKEYS_ADMIN_TOKEN` is set:
//! `GET /admin/accounts` lists the kept accounts without a single secret;
//! `GET /admin/accounts/{uin}/cookie` hands the owner one account's live key;
//! `GET /admin/events` is the timeline of account events.

use super::envelope::Envelope;
use super::error::ApiError;
use super::error::ErrorCode as C;
pub mod account;
pub mod keys;

use super::params::{CookieFormat, CookieParams, EventsParams, EventsQuery};
use super::path::Segment;
use super::refresh::{InfoView, RefreshData};
use super::route::Errors;
use super::AppState;
use crate::accounts::{mask, Account, Health};
use crate::beijing;
use crate::domain::Uin;
use crate::refresh::Refreshed;
use axum::extract::{FromRequestParts, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use serde::Serialize;
use subtle::ConstantTimeEq;

/// What [`accounts`] can answer besides success: 404 without `admin_token`.
pub const ACCOUNTS_ERRORS: Errors = Errors::of(&[&[C::NotFound, C::AdminUnauthorized]]);

/// What [`account_cookie`] can answer besides success.
pub const COOKIE_ERRORS: Errors = Errors::of(&[&[
    C::NotFound,
    C::AdminUnauthorized,
    C::BadParam,
    C::NoSuchAccount,
    C::StoreFailed,
]]);

/// What [`events`] can answer besides success.
pub const EVENTS_ERRORS: Errors = Errors::of(&[&[
    C::NotFound,
    C::AdminUnauthorized,
    C::BadParam,
    C::StoreFailed,
]]);

/// The timeline: the newest account events, newest first.
///
/// The events the webhook sends (added, refreshed, failing, dead, removed)
/// and key checks (`account.checked`, when the answer changed or the owner
/// asked), kept in the account store across restarts, the newest
/// `accounts_events_keep`. Uins are masked; no event holds a key.
#[utoipa::path(
    get,
    path = "/admin/events",
    tag = "admin",
    operation_id = "adminEvents",
    security(("admin_token" = [])),
    params(EventsParams),
    responses((status = 200, description = "最近的账号事件，新的在前 / the newest account events first (`code` 200)", body = Envelope<AdminEvents>)),
)]
pub async fn events(
    State(state): State<AppState>,
    _: Admin,
    query: EventsQuery,
) -> Result<Response, ApiError> {
    let events = state
        .accounts
        .recent_events(query.limit)
        .await
        .map_err(ApiError::StoreRead)?;
    let events = events.iter().map(EventView::from).collect();
    Ok(state.stamp.ok(AdminEvents { events }))
}

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
    // Take in what another instance or the CLI changed; if the store cannot
    // be read, the accounts in memory are still worth showing.
    if let Err(err) = state.accounts.sync().await {
        tracing::warn!(error = %err, "account store unreadable; listing the accounts in memory");
    }
    let all = state.accounts.all();
    let accounts = futures::future::join_all(all.iter().map(|a| view(&state, a))).await;
    state.stamp.ok(AdminAccounts { accounts })
}

/// An account as the owner's console shows it: its record, what the keeper
/// will do next, the uploads it signed, and its membership (cached by the
/// refresh service for 30 minutes; asked only of a healthy account).
pub async fn view(state: &AppState, account: &Account) -> AccountView {
    let record = account.snapshot();
    let mut view = AccountView::from(&record);
    if let Some((action, at)) = state.accounts.next_action(account) {
        view.next_action = Some(action.as_str());
        view.next_action_timestamp = Some(at);
        view.next_action_time = Some(beijing::format_unix(at));
    }
    view.uploads_signed = account.signed();
    if record.health == Health::Healthy {
        let cookie = record.cookie();
        view.membership = state
            .refresh
            .membership(&cookie)
            .await
            .map(|info| InfoView::new(&info, state.stamp_now()));
    }
    view
}

/// The live cookie of an account the server keeps alive.
///
/// Answers exactly as a refresh does, with the stored account's current key
/// (rotated by the server as it keeps it alive) and its membership. This is
/// how the owner's player or bot fetches today's key.
#[utoipa::path(
    get,
    path = "/admin/accounts/{uin}/cookie",
    tag = "admin",
    operation_id = "adminAccountCookie",
    security(("admin_token" = [])),
    params(("uin" = String, Path, description = "账号的 uin / the account's uin", pattern = r"^[1-9][0-9]{0,18}$"), CookieParams),
    responses(
        (status = 200, description = "该账号当前的 key 和会员信息；format=header 时是一行 text/plain 的 Cookie / the account's current key and VIP state (`code` 200); with format=header one text/plain Cookie line", content(
            (Envelope<RefreshData> = "application/json"),
            (String = "text/plain", example = "uin=1152921504; qqmusic_uin=1152921504; qqmusic_key=Q_H_L_…; qm_keyst=Q_H_L_…; tmeLoginType=2"),
        )),
    ),
)]
pub async fn account_cookie(
    State(state): State<AppState>,
    _: Admin,
    Segment(uin): Segment<Uin>,
    format: CookieFormat,
) -> Result<Response, ApiError> {
    // From the store, not this process's copy: with several instances another
    // one may have rotated the key a moment ago.
    let stored = state
        .accounts
        .store()
        .get(uin)
        .await
        .map_err(ApiError::StoreRead)?
        .ok_or(ApiError::NoSuchAccount)?;
    if format == CookieFormat::Header {
        let line = stored.cookie_line();
        return Ok((
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8",
            )],
            line,
        )
            .into_response());
    }
    let cookie = std::sync::Arc::new(stored.cookie());
    let info = state.refresh.membership(&cookie).await;
    let data = RefreshData::new(&Refreshed { cookie, info }, state.stamp_now());
    Ok(state.stamp.ok(data))
}

/// Proof that the request carries the operator's token. Admin routes do not
/// exist (404) unless the server sets `admin_token`.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if state.admin_token.is_none() {
            return Err(ApiError::NotFound);
        }
        if carries_admin_token(parts.headers.get(AUTHORIZATION), state) {
            Ok(Admin)
        } else {
            Err(ApiError::AdminUnauthorized)
        }
    }
}

/// Whether an `Authorization` header is `Bearer <admin_token>`, compared in
/// constant time so the token cannot be guessed a byte at a time. Always
/// false on a server without the token.
pub fn carries_admin_token(
    authorization: Option<&axum::http::HeaderValue>,
    state: &AppState,
) -> bool {
    let Some(token) = &state.admin_token else {
        return false;
    };
    let presented = authorization
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    bool::from(presented.as_bytes().ct_eq(token.expose_secret().as_bytes()))
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
    /// Masked, as shown (`12****89`).
    pub uin: String,
    /// The whole uin, for the per-account routes' paths (not a secret: it is
    /// the account's number, not its key).
    pub id: String,
    /// The key's kind: `qq` or `wx`.
    pub kind: &'static str,
    /// The QR login that logs it in again (`type` of the QR login route):
    /// `qq`, `wx`, or `app` for a key issued to the QQ Music app.
    pub login: &'static str,
    /// When the current key was made (upstream's `musickeyCreateTime`).
    pub created_timestamp: Option<i64>,
    pub created_time: Option<String>,
    pub expires_timestamp: Option<i64>,
    pub expires_time: Option<String>,
    pub last_refresh_timestamp: Option<i64>,
    pub last_refresh_time: Option<String>,
    pub last_outcome: Option<String>,
    /// When the keeper last asked whether the key is alive, and what it heard:
    /// `alive`, `dead` or `error: …`.
    pub last_check_timestamp: Option<i64>,
    pub last_check_time: Option<String>,
    pub last_check: Option<String>,
    /// `healthy`, or `unhealthy`: out of use until its owner logs it in again.
    pub health: &'static str,
    /// What the keeper does next, `check` (no Login) or `refresh` (one
    /// Login), and when; absent for an account out of use.
    pub next_action: Option<&'static str>,
    pub next_action_timestamp: Option<i64>,
    pub next_action_time: Option<String>,
    /// InitUpload grants obtained with this account's key since this server
    /// process started (kept in memory, not stored).
    pub uploads_signed: u64,
    /// VIP and SVIP with their ends; absent for an account out of use or
    /// when QQ Music would not say.
    pub membership: Option<InfoView>,
}

impl From<&crate::accounts::StoredAccount> for AccountView {
    fn from(a: &crate::accounts::StoredAccount) -> Self {
        Self {
            uin: mask(a.uin()),
            id: a.uin().to_string(),
            kind: a.cred.kind().as_str(),
            login: if a.login_type == Some(crate::upstream::APP_LOGIN_TYPE) {
                "app"
            } else {
                a.cred.kind().as_str()
            },
            created_timestamp: a.created_at,
            created_time: a.created_at.map(beijing::format_unix),
            expires_timestamp: a.expires_at,
            expires_time: a.expires_at.map(beijing::format_unix),
            last_refresh_timestamp: a.last_refresh_at,
            last_refresh_time: a.last_refresh_at.map(beijing::format_unix),
            last_outcome: a.last_outcome.clone(),
            last_check_timestamp: a.last_check_at,
            last_check_time: a.last_check_at.map(beijing::format_unix),
            last_check: a.last_check.clone(),
            health: a.health.as_str(),
            next_action: None,
            next_action_timestamp: None,
            next_action_time: None,
            uploads_signed: 0,
            membership: None,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AdminEvents {
    pub events: Vec<EventView>,
}

/// One account event as the owner sees it: masked uin, no key.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    /// `account.added`, `account.refreshed`, `account.failing`, `account.dead`, `account.removed`
    /// or `account.checked` (a key check whose answer changed, or one the owner asked for; never sent to the webhook)
    pub event: &'static str,
    pub uin: String,
    pub kind: &'static str,
    pub health: &'static str,
    pub expires_timestamp: Option<i64>,
    pub expires_time: Option<String>,
    pub timestamp: i64,
    pub time: String,
    /// Why, for failing and dead: an outcome such as `upstream code 1000`.
    pub detail: Option<String>,
}

impl From<&crate::accounts::AccountEvent> for EventView {
    fn from(e: &crate::accounts::AccountEvent) -> Self {
        Self {
            event: e.kind.as_str(),
            uin: mask(e.uin),
            kind: e.account_kind.as_str(),
            health: e.health.as_str(),
            expires_timestamp: e.expires_at,
            expires_time: e.expires_at.map(beijing::format_unix),
            timestamp: e.at,
            time: beijing::format_unix(e.at),
            detail: e.detail.clone(),
        }
    }
}
