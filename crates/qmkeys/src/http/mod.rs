//! The HTTP face of qmkeys: one router listing every route, the envelope, errors.

pub mod admin;
pub mod assets;
pub mod caps;
pub mod check;
pub mod client;
pub mod cors;
pub mod cos_sign;
pub mod envelope;
pub mod error;
pub mod front;
pub mod health;
pub mod keys;
pub mod limit;
pub mod login;
pub mod metrics;
pub mod openapi;
pub mod params;
pub mod path;
pub mod refresh;
pub mod request_id;
pub mod route;
pub mod web;

use crate::accounts::AccountPool;
use crate::clock::SharedClock;
use crate::refresh::RefreshService;
use crate::upload::UploadService;
use axum::Router;
use chrono::{DateTime, Utc};
use envelope::Stamp;
use error::ApiError;
use error::ErrorCode;
use route::{Errors, Routes};
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa_axum::routes;

/// What every handler shares. One `Arc`: axum's `State` clones it for every
/// request, and one reference count is cheaper than one per field.
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

impl AppState {
    pub fn new(parts: AppParts) -> Self {
        Self(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

pub struct AppParts {
    pub refresh: Arc<RefreshService>,
    pub uploads: Arc<UploadService>,
    pub accounts: Arc<AccountPool>,
    /// `accounts_allow_save`: whether `save=true` may add accounts.
    pub allow_save: bool,
    /// `GET /admin/accounts` exists only when this is set.
    pub admin_token: Option<SecretString>,
    pub stamp: Stamp,
    pub clock: SharedClock,
    /// The web page, the OpenAPI document and the CORS policy.
    pub site: Arc<web::Site>,
    /// Redis when configured, for readiness reports.
    pub redis: Option<crate::redis::Redis>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// When metrics have a listen address of their own, not on this router.
    pub metrics_elsewhere: bool,
    /// The longest a request may take, end to end.
    pub request_timeout: std::time::Duration,
    /// The per-client rate limit; `None` when turned off.
    pub limiter: Option<Arc<limit::ClientLimiter>>,
    /// Who a request comes from, for every per-client limit.
    pub clients: client::ClientResolver,
    /// QR login and desktop fast login.
    pub login: Arc<crate::login::LoginService>,
    /// Caller keys, when `require_api_key` is on; `None` keeps the keyed
    /// routes open and their check free.
    pub keys: Option<Arc<keys::CallerKeys>>,
}

impl AppState {
    pub fn stamp_now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

/// Routes that share a rate-limit and CORS policy.
struct Group {
    /// Counted against the per-client rate limit.
    limited: bool,
    /// Behind the CORS policy (`cors_allowed_origins`).
    cors: bool,
    /// Each route with the errors it declares ([`Routes::route`]).
    routes: Routes,
}

/// Every route, declared once with its errors: the router, the OpenAPI
/// document (its error responses too) and the rate limiter's list all come
/// from here, so they cannot drift apart.
fn groups() -> [Group; 4] {
    [
        Group {
            limited: true,
            cors: true,
            routes: Routes::new()
                .route(routes!(refresh::refresh_get), refresh::GET_ERRORS)
                .route(routes!(refresh::refresh_post), refresh::POST_ERRORS)
                .route(routes!(check::check_get), check::GET_ERRORS)
                .route(routes!(check::check_post), check::POST_ERRORS)
                .route(routes!(cos_sign::sign), cos_sign::ERRORS)
                .route(routes!(login::qrcode), login::QR_ERRORS)
                .route(routes!(login::fastlogin_get), login::FAST_GET_ERRORS)
                .route(routes!(login::fastlogin_post), login::FAST_POST_ERRORS),
        },
        Group {
            // Not for other origins: an operator's tool, not a public API.
            limited: true,
            cors: false,
            routes: Routes::new()
                .route(routes!(admin::accounts), admin::ACCOUNTS_ERRORS)
                .route(routes!(admin::account_cookie), admin::COOKIE_ERRORS)
                .route(routes!(admin::events), admin::EVENTS_ERRORS)
                .route(
                    routes!(admin::account::account),
                    admin::account::ACCOUNT_ERRORS,
                )
                .route(
                    routes!(admin::account::remove),
                    admin::account::CHANGE_ERRORS,
                )
                .route(routes!(admin::account::check), admin::account::CHECK_ERRORS)
                .route(
                    routes!(admin::account::refresh),
                    admin::account::CHANGE_ERRORS,
                )
                .route(routes!(admin::keys::list), admin::keys::LIST_ERRORS)
                .route(routes!(admin::keys::create), admin::keys::CREATE_ERRORS)
                .route(routes!(admin::keys::revoke), admin::keys::REVOKE_ERRORS),
        },
        Group {
            limited: false,
            cors: true,
            routes: Routes::new().route(routes!(web::openapi_json), Errors::NONE),
        },
        Group {
            limited: false,
            cors: false,
            routes: Routes::new()
                .route(routes!(web::index), Errors::NONE)
                .route(routes!(web::docs), Errors::NONE)
                .route(routes!(web::admin), Errors::NONE)
                .route(routes!(web::asset), web::ASSET_ERRORS)
                .route(routes!(metrics::metrics), Errors::NONE)
                .route(routes!(health::healthz), Errors::NONE)
                .route(routes!(health::readyz), Errors::NONE),
        },
    ]
}

/// The OpenAPI paths of every route.
pub fn declared_api() -> utoipa::openapi::OpenApi {
    let mut api = utoipa::openapi::OpenApi::default();
    for group in groups() {
        api.merge(group.routes.into_parts().0.into_openapi());
    }
    api
}

/// The error codes of every operation, by operation id: what its route
/// declares, the rate limit's if its group is limited, and the front
/// middleware's, which every route can answer.
pub fn declared_errors() -> BTreeMap<String, Vec<ErrorCode>> {
    let mut all = BTreeMap::new();
    for group in groups() {
        let extra = if group.limited {
            route::RATE_LIMITED
        } else {
            &[]
        };
        for (id, errors) in group.routes.into_parts().1 {
            let codes = errors
                .codes()
                .chain(extra.iter().copied())
                .chain(route::EVERY_ROUTE.iter().copied())
                .collect();
            all.insert(id, codes);
        }
    }
    all
}

/// The route templates counted against the rate limit.
pub fn limited_routes() -> &'static std::collections::HashSet<String> {
    static LIMITED: std::sync::OnceLock<std::collections::HashSet<String>> =
        std::sync::OnceLock::new();
    LIMITED.get_or_init(|| {
        route_table()
            .into_iter()
            .filter_map(|(template, limited, _)| limited.then_some(template))
            .collect()
    })
}

/// Every route template with its group's policy: (template, limited, cors).
/// The front's table, from the same declaration as the router.
pub fn route_table() -> Vec<(String, bool, bool)> {
    groups()
        .into_iter()
        .flat_map(|g| {
            let (limited, cors) = (g.limited, g.cors);
            g.routes
                .into_parts()
                .0
                .into_openapi()
                .paths
                .paths
                .into_keys()
                .map(move |template| (template, limited, cors))
        })
        .collect()
}

/// Every route, with no layer: what runs around them all (the rate limit,
/// CORS, the caps, metrics) is [`front::Front`], which wraps this router.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for group in groups() {
        let (routes, _) = group.routes.into_parts().0.split_for_parts();
        // The envelope's 405 for a path whose methods do not include the request's.
        router = router.merge(routes.method_not_allowed_fallback(method_not_allowed));
    }
    // Unknown paths answer the envelope's 404 (readable cross-origin: the
    // front applies CORS to paths no route has).
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
