//! Request parameters: one typed extractor per route. Each reads the query
//! string and, for POST, a form body (the public API takes both), refuses a
//! parameter given twice, and yields the route's domain types, turning every
//! problem into the envelope's error. The reading itself, the
//! same for every route, is `read.rs`; each route's parameters are one
//! `*Params` struct in its own file.

mod admin;
mod check;
mod key;
mod login;
mod read;
mod refresh;
mod sign;

pub use admin::{
    CookieFormat, CookieParams, EventsParams, EventsQuery, NewKey, NewKeyParams, RemoveParams,
    RemoveQuery, DEFAULT_EVENTS,
};
pub use check::{Check, CheckParams};
pub use login::{FastLogin, FastLoginParams, QrParams, QrStart};
pub use refresh::{Refresh, RefreshParams};
pub use sign::{Sign, SignParams};

use super::admin::carries_admin_token;
use super::error::ApiError;
use super::AppState;
use crate::domain::ParamError;
use axum::http::HeaderValue;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

/// Form bodies carry a few short fields; more than this is not a refresh.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// `save=true` on a server without `accounts_allow_save` is 403 (40305),
/// refused as the request is read, before any work: a refused refresh burns
/// no key, a refused login starts none. The owner's token is the permission
/// itself: with it, `save=true` is allowed whatever the setting says.
fn allowed(
    save: bool,
    authorization: Option<&HeaderValue>,
    state: &AppState,
) -> Result<bool, ApiError> {
    if save && !state.allow_save && !carries_admin_token(authorization, state) {
        return Err(ApiError::SaveDisabled);
    }
    Ok(save)
}

/// The values `save` takes: exactly these, absent meaning false.
const SAVE_VALUES: [(&str, bool); 4] =
    [("true", true), ("false", false), ("1", true), ("0", false)];

fn save_schema() -> impl Into<RefOr<Schema>> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(SAVE_VALUES.map(|(v, _)| v)))
}

/// `save`: exactly one of the documented values; absent means false.
fn parse_save(raw: Option<&str>) -> Result<bool, ParamError> {
    match raw {
        None => Ok(false),
        Some(raw) => SAVE_VALUES
            .iter()
            .find(|(v, _)| *v == raw)
            .map(|(_, on)| *on)
            .ok_or_else(|| ParamError::new("save", "参数 save 只能是 true、false、1 或 0")),
    }
}
