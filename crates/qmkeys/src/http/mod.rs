//! The HTTP face of qmkeys: one router listing every route, the envelope, errors.

pub mod admin;
pub mod cos_sign;
pub mod envelope;
pub mod error;
pub mod params;
pub mod refresh;

use crate::accounts::AccountPool;
use crate::clock::SharedClock;
use crate::refresh::RefreshService;
use crate::upload::UploadService;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header::RETRY_AFTER;
use axum::http::HeaderValue;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use envelope::Stamp;
use error::ApiError;
use secrecy::SecretString;
use std::sync::Arc;
use tower_http::trace::TraceLayer;

#[derive(Clone)]
pub struct AppState {
    pub refresh: Arc<RefreshService>,
    pub uploads: Arc<UploadService>,
    pub accounts: Arc<AccountPool>,
    /// `accounts_allow_save`: whether `save=true` may add accounts.
    pub allow_save: bool,
    /// `GET /admin/accounts` exists only when this is set.
    pub admin_token: Option<SecretString>,
    pub stamp: Stamp,
    pub clock: SharedClock,
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

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(refresh::PATH, get(refresh::refresh).post(refresh::refresh))
        .route(cos_sign::PATH, get(cos_sign::sign))
        .route(admin::ACCOUNTS_PATH, get(admin::accounts))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(params::MAX_FORM_BYTES))
        .layer(
            // Spans name the path only: query strings carry music keys.
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
            }),
        )
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
