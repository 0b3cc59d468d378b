//! `GET /healthz` (the process answers) and `GET /readyz` (it can do its job).

use super::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use std::time::Duration;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Liveness {
    /// Always `alive`.
    pub status: &'static str,
}

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    operation_id = "healthz",
    responses((status = 200, description = "进程存活 / the process is alive", body = super::envelope::Envelope<Liveness>)),
)]
pub async fn healthz(State(state): State<AppState>) -> Response {
    state
        .stamp
        .respond(StatusCode::OK, 0, "ok", Some(Liveness { status: "alive" }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready`, `degraded` (serving, but Redis is unreachable and each instance
    /// works alone) or `not_ready`.
    pub status: &'static str,
    /// `ok`, or why the account store does not answer.
    pub store: String,
    /// Healthy upload accounts out of those configured.
    pub healthy_accounts: usize,
    pub accounts: usize,
    /// `ok`, `unreachable` or `not configured`.
    pub redis: &'static str,
    /// What keeps the server from being ready, or, when it serves `degraded`,
    /// what is wrong meanwhile (such as account store records it cannot read);
    /// empty when it is `ready`.
    pub reasons: Vec<String>,
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    operation_id = "readyz",
    responses(
        (status = 200, description = "可以提供服务（status 为 ready 或 degraded）/ ready to serve (`ready` or `degraded`)", body = super::envelope::Envelope<Readiness>),
        (status = 503, description = "尚不能提供服务，reasons 说明原因（code 50305）/ not ready; `reasons` says why (code 50305)", body = super::envelope::Envelope<Readiness>),
    ),
)]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let mut reasons = Vec::new();
    let store =
        match tokio::time::timeout(Duration::from_secs(2), state.accounts.store().ping()).await {
            Ok(Ok(())) => "ok".to_owned(),
            Ok(Err(err)) => {
                reasons.push(format!("account store unreachable: {err}"));
                "unreachable".to_owned()
            }
            Err(_) => {
                reasons.push("account store did not answer within 2 s".to_owned());
                "timeout".to_owned()
            }
        };
    let all = state.accounts.all();
    let healthy = all.iter().filter(|a| a.is_healthy()).count();
    let unreadable = state.accounts.unreadable();
    if !all.is_empty() && healthy == 0 {
        reasons.push("every upload account is unhealthy".to_owned());
    } else if all.is_empty() && !unreadable.is_empty() {
        reasons.push("no upload account in the account store can be read".to_owned());
    }
    let redis = match &state.redis {
        None => "not configured",
        Some(r) if r.is_degraded() => "unreachable",
        Some(_) => "ok",
    };
    let ready = reasons.is_empty();
    // The other accounts still serve, so these make the server degraded, not unready.
    reasons.extend(
        unreadable
            .iter()
            .map(|u| format!("an account store record cannot be read and is left out: {u}")),
    );
    let body = Readiness {
        status: match (ready, redis, unreadable.is_empty()) {
            (false, _, _) => "not_ready",
            (true, "unreachable", _) | (true, _, false) => "degraded",
            (true, _, true) => "ready",
        },
        store,
        healthy_accounts: healthy,
        accounts: all.len(),
        redis,
        reasons,
    };
    if ready {
        state.stamp.respond(StatusCode::OK, 0, "ready", Some(body))
    } else {
        state.stamp.respond(
            StatusCode::SERVICE_UNAVAILABLE,
            super::error::ErrorCode::NotReady.get(),
            "服务尚未就绪，原因见 data.reasons",
            Some(body),
        )
    }
}
