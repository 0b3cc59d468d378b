//! The state one simulator instance shares between its handlers, and its routes.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::clock::SimClock;
use crate::config::SimConfig;
use crate::error::{lock, SimError};
use crate::faults::Faults;
use crate::journal::Journal;
use crate::login::Logins;
use crate::state::Accounts;
use crate::uploads::Uploads;
use crate::{admin, cos, gateway, login};

pub struct Shared {
    pub config: SimConfig,
    pub clock: SimClock,
    pub accounts: Mutex<Accounts>,
    pub faults: Mutex<Faults>,
    pub journal: Mutex<Journal>,
    pub uploads: Mutex<Uploads>,
    pub logins: Mutex<Logins>,
}

impl Shared {
    pub fn new(config: SimConfig) -> Self {
        Self {
            config,
            clock: SimClock::new(),
            accounts: Mutex::default(),
            faults: Mutex::default(),
            journal: Mutex::default(),
            uploads: Mutex::default(),
            logins: Mutex::default(),
        }
    }

    pub fn accounts(&self) -> Result<std::sync::MutexGuard<'_, Accounts>, SimError> {
        lock(&self.accounts, "accounts")
    }

    pub fn faults(&self) -> Result<std::sync::MutexGuard<'_, Faults>, SimError> {
        lock(&self.faults, "faults")
    }

    pub fn journal(&self) -> Result<std::sync::MutexGuard<'_, Journal>, SimError> {
        lock(&self.journal, "journal")
    }

    pub fn uploads(&self) -> Result<std::sync::MutexGuard<'_, Uploads>, SimError> {
        lock(&self.uploads, "uploads")
    }

    pub fn logins(&self) -> Result<std::sync::MutexGuard<'_, Logins>, SimError> {
        lock(&self.logins, "logins")
    }

    /// Every secret this simulator has issued (see `GET /_sim/secrets`).
    pub fn secrets(&self) -> Result<Vec<String>, SimError> {
        let mut out = self.accounts()?.secrets();
        out.extend(self.uploads()?.secrets());
        out.extend(self.logins()?.secrets());
        Ok(out)
    }
}

pub type AppState = Arc<Shared>;

pub fn router(shared: AppState) -> Router {
    Router::new()
        .route("/cgi-bin/musicu.fcg", post(gateway::unsigned))
        .route("/cgi-bin/musics.fcg", post(gateway::signed))
        .route("/_sim/accounts", post(admin::create_account))
        .route("/_sim/accounts/bulk", post(admin::create_accounts))
        .route("/_sim/accounts/{uin}/expire", post(admin::expire))
        .route("/_sim/accounts/{uin}/logout", post(admin::logout))
        .route("/_sim/accounts/{uin}/ban", post(admin::ban))
        .route("/_sim/stats", get(admin::stats))
        .route("/_sim/secrets", get(admin::secrets))
        .route(
            "/_sim/requests",
            get(admin::requests).delete(admin::clear_requests),
        )
        .route(
            "/_sim/faults",
            post(admin::arm_fault).delete(admin::clear_faults),
        )
        .route("/_sim/clock", get(admin::clock).post(admin::advance_clock))
        .route("/_sim/cos/objects", get(admin::cos_objects))
        .merge(login::routes())
        .route("/cos/{bucket}", any(cos::bucket))
        .route("/cos/{bucket}/", any(cos::bucket))
        .route("/cos/{bucket}/{*key}", any(cos::bucket))
        .fallback(not_found)
        .with_state(shared)
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": "no such route"})),
    )
        .into_response()
}
