//! Registering a route: a handler goes in together with the error codes it
//! can answer, declared beside its `#[utoipa::path]` as an [`Errors`]
//! constant. [`Routes::route`] is the only way into a [`super::groups`]
//! group, so a route without its errors does not build; the OpenAPI
//! document's error responses come from what is registered here.

use super::error::ErrorCode;
use super::AppState;
use std::collections::BTreeMap;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};

use ErrorCode as C;

/// The error codes one operation can answer beyond those every route can
/// (the front middleware's, and a rate-limited group's 42901): lists of
/// codes, so that shared lists such as [`TRANSIENT`] are written once.
#[derive(Debug, Clone, Copy)]
pub struct Errors(&'static [&'static [ErrorCode]]);

impl Errors {
    /// An operation that fails only as every route can.
    pub const NONE: Errors = Errors(&[]);

    pub const fn of(lists: &'static [&'static [ErrorCode]]) -> Self {
        Self(lists)
    }

    /// Every code, in declaration order (a code may repeat).
    pub fn codes(self) -> impl Iterator<Item = ErrorCode> {
        self.0.iter().flat_map(|list| list.iter().copied())
    }
}

/// A call to QQ Music can always fail in these ways.
pub const TRANSIENT: &[ErrorCode] = &[
    C::UpstreamTimeout,
    C::UpstreamUnreachable,
    C::UpstreamStatus,
    C::UpstreamUnreadable,
    C::CircuitOpen,
    C::UpstreamBusy,
];

/// QQ Music's refusals that mean the same for any account.
pub const REFUSED: &[ErrorCode] = &[
    C::UpstreamRateLimited,
    C::RiskControl,
    C::LoginParamsRefused,
    C::UpstreamRefused,
];

/// QQ Music's answer to a key, as a refresh maps it.
/// (docs/protocol.md section 10.4: each login result its own code).
pub const KEY_REFUSED: &[ErrorCode] = &[
    C::KeyExpired,
    C::WrongCode,
    C::Restricted,
    C::Banned,
    C::DeviceLimit,
    C::Binding,
    C::BindingMissing,
];

/// A route behind `require_api_key` ([`super::keys::Caller`]): a missing or
/// refused key, or a store that cannot be asked about it.
pub const KEYED: &[ErrorCode] = &[C::ApiKeyMissing, C::ApiKeyRefused, C::StoreFailed];

/// A route that reads a form body (`params::MAX_FORM_BYTES`).
pub const FORM_BODY: &[ErrorCode] = &[C::BadBody, C::BodyTooLarge, C::UnsupportedMediaType];

/// The front middleware caps every route's URL and time.
pub const EVERY_ROUTE: &[ErrorCode] = &[C::UrlTooLong, C::RequestTimeout];

/// The per-client rate limit, on the routes of a limited group.
pub const RATE_LIMITED: &[ErrorCode] = &[C::ClientRateLimited];

/// Routes, each with its errors. The router inside is private: nothing can
/// be added to it but through [`Routes::route`], which wants the errors:
///
/// ```
/// use qmkeys::http::route::{Errors, Routes};
/// let _ = Routes::new().route(utoipa_axum::routes!(qmkeys::http::web::asset), qmkeys::http::web::ASSET_ERRORS);
/// let _ = Routes::new().route(utoipa_axum::routes!(qmkeys::http::web::docs), Errors::NONE);
/// ```
///
/// A route without them does not build:
///
/// ```compile_fail
/// use qmkeys::http::route::Routes;
/// let _ = Routes::new().route(utoipa_axum::routes!(qmkeys::http::web::asset));
/// ```
pub struct Routes {
    router: OpenApiRouter<AppState>,
    /// The declared errors by operation id.
    errors: BTreeMap<String, Errors>,
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

impl Routes {
    pub fn new() -> Self {
        Self {
            router: OpenApiRouter::new(),
            errors: BTreeMap::new(),
        }
    }

    /// One `routes!(…)` and the errors of every operation in it (list
    /// operations with different errors, such as a GET and a POST, in
    /// `route` calls of their own: the path's methods merge).
    pub fn route(mut self, handler: UtoipaMethodRouter<AppState>, errors: Errors) -> Self {
        for item in handler.1.paths.values() {
            for operation in operations(item) {
                // utoipa names every operation (the handler's name by default).
                let id = operation.operation_id.clone().unwrap_or_default();
                self.errors.insert(id, errors);
            }
        }
        self.router = self.router.routes(handler);
        self
    }

    pub fn into_parts(self) -> (OpenApiRouter<AppState>, BTreeMap<String, Errors>) {
        (self.router, self.errors)
    }
}

/// A path item's operations, whatever their methods.
fn operations(
    item: &utoipa::openapi::path::PathItem,
) -> impl Iterator<Item = &utoipa::openapi::path::Operation> {
    [
        &item.get,
        &item.put,
        &item.post,
        &item.delete,
        &item.options,
        &item.head,
        &item.patch,
        &item.trace,
    ]
    .into_iter()
    .flatten()
}
