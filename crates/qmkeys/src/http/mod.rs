//! The HTTP face of qmkeys: one router listing every route, the envelope, errors.

pub mod admin;
pub mod caps;
pub mod cors;
pub mod cos_sign;
pub mod envelope;
pub mod error;
pub mod front;
pub mod health;
pub mod limit;
pub mod metrics;
pub mod openapi;
pub mod params;
pub mod refresh;
pub mod request_id;
pub mod web;

use crate::accounts::AccountPool;
use crate::clock::SharedClock;
use crate::refresh::RefreshService;
use crate::upload::UploadService;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::header::RETRY_AFTER;
use axum::http::HeaderValue;
use axum::response::Response;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;
use chrono::{DateTime, Utc};
use envelope::Stamp;
use error::ApiError;
use secrecy::SecretString;
use std::sync::Arc;

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
    pub redis: Option<crate::shared::Redis>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// When metrics have a listen address of their own, not on this router.
    pub metrics_elsewhere: bool,
    /// The longest a request may take, end to end.
    pub request_timeout: std::time::Duration,
    /// The per-client rate limit; `None` when turned off.
    pub limiter: Option<Arc<limit::ClientLimiter>>,
    /// QR login and desktop fast login.
    pub login: Arc<crate::login::LoginService>,
}

impl AppState {
    pub fn fail(&self, err: &ApiError) -> Response {
        let parts = err.parts();
        if parts.status.is_server_error() {
            tracing::warn!(status = parts.status.as_u16(), code = parts.code, error = %err, "request failed");
        } else {
            tracing::debug!(status = parts.status.as_u16(), code = parts.code, error = %err, "request refused");
        }
        let mut response = self
            .stamp
            .respond::<()>(parts.status, parts.code, &parts.message, None);
        if let Some(secs) = parts.retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }

    pub fn stamp_now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

/// One route: its path, each method with its handler, and whether pages from
/// other origins may call it. [`ROUTES`] is the only list of routes: the router
/// is built from it, and the OpenAPI tests compare it with the document.
pub struct Route {
    pub path: &'static str,
    pub methods: &'static [RouteMethod],
    /// Behind the CORS policy (`cors_allowed_origins`).
    pub cors: bool,
}

/// A method, lower case as OpenAPI names it, and its handler.
pub struct RouteMethod {
    pub name: &'static str,
    handler: fn(MethodFilter) -> MethodRouter<AppState>,
}

const fn method(
    name: &'static str,
    handler: fn(MethodFilter) -> MethodRouter<AppState>,
) -> RouteMethod {
    RouteMethod { name, handler }
}

pub const ROUTES: &[Route] = &[
    Route {
        path: web::INDEX_PATH,
        methods: &[method("get", |m| on(m, web::index))],
        cors: false,
    },
    Route {
        path: web::DOCS_PATH,
        methods: &[method("get", |m| on(m, web::docs))],
        cors: false,
    },
    Route {
        path: web::ASSET_PATH,
        methods: &[method("get", |m| on(m, web::asset))],
        cors: false,
    },
    Route {
        path: web::OPENAPI_PATH,
        methods: &[method("get", |m| on(m, web::openapi_json))],
        cors: true,
    },
    Route {
        path: refresh::PATH,
        methods: &[
            method("get", |m| on(m, refresh::refresh_get)),
            method("post", |m| on(m, refresh::refresh_post)),
        ],
        cors: true,
    },
    Route {
        path: cos_sign::PATH,
        methods: &[method("get", |m| on(m, cos_sign::sign))],
        cors: true,
    },
    Route {
        path: metrics::PATH,
        methods: &[method("get", |m| on(m, metrics::metrics))],
        cors: false,
    },
    Route {
        path: health::HEALTH_PATH,
        methods: &[method("get", |m| on(m, health::healthz))],
        cors: false,
    },
    Route {
        path: health::READY_PATH,
        methods: &[method("get", |m| on(m, health::readyz))],
        cors: false,
    },
    Route {
        // Not for other origins: an operator's tool, not a public API.
        path: admin::ACCOUNTS_PATH,
        methods: &[method("get", |m| on(m, admin::accounts))],
        cors: false,
    },
];

impl RouteMethod {
    /// The method's filter; names in [`ROUTES`] are all known ones.
    pub fn filter(&self) -> Option<MethodFilter> {
        Some(match self.name {
            "get" => MethodFilter::GET,
            "post" => MethodFilter::POST,
            "put" => MethodFilter::PUT,
            "delete" => MethodFilter::DELETE,
            "patch" => MethodFilter::PATCH,
            _ => return None,
        })
    }
}

impl Route {
    fn method_router(&self, cors: Option<&cors::BrowserCors>) -> MethodRouter<AppState> {
        let mut router = MethodRouter::new();
        for m in self.methods {
            if let Some(filter) = m.filter() {
                router = router.merge((m.handler)(filter));
            }
        }
        // The envelope's 405, set before any layer so the layer wraps it too.
        let router = router.fallback(method_not_allowed);
        match cors {
            Some(layer) if self.cors => router.layer(layer.clone()),
            _ => router,
        }
    }
}

pub fn router(state: AppState) -> Router {
    let cors = state.site.cors.layer().map(cors::BrowserCors::new);
    let mut router = Router::new();
    for route in ROUTES {
        router = router.route(route.path, route.method_router(cors.as_ref()));
    }
    // Unknown paths answer the envelope's 404, readable cross-origin too.
    let router = match cors {
        Some(layer) => router.fallback_service(not_found.layer(layer).with_state(state.clone())),
        None => router.fallback(not_found),
    };
    router
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(params::MAX_FORM_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            front::front,
        ))
        .with_state(state)
}

async fn not_found(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    state.fail(&ApiError::NotFound)
}

async fn method_not_allowed(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Response {
    state.fail(&ApiError::MethodNotAllowed)
}
