//! `GET /metrics`, and the middleware that counts every request.

use super::AppState;
use crate::accounts::Health;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::time::Instant;

pub const PATH: &str = "/metrics";

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    operation_id = "metrics",
    responses((status = 200, description = "Prometheus 文本格式的指标 / metrics in Prometheus text format", content_type = "text/plain", body = String)),
)]
pub async fn metrics(State(state): State<AppState>) -> Response {
    if state.metrics_elsewhere {
        return super::error::ApiError::NotFound.into_response();
    }
    render(&state)
}

/// `/metrics` on the separate metrics address.
pub async fn render_only(State(state): State<AppState>) -> Response {
    render(&state)
}

/// The exposition, with the account gauges read at scrape time.
pub fn render(state: &AppState) -> Response {
    let all = state.accounts.all();
    let healthy = all.iter().filter(|a| a.is_healthy()).count();
    let gauge = &state.metrics.accounts;
    gauge
        .with_label_values(&[Health::Healthy.as_str()])
        .set(i64::try_from(healthy).unwrap_or(i64::MAX));
    gauge
        .with_label_values(&[Health::Unhealthy.as_str()])
        .set(i64::try_from(all.len() - healthy).unwrap_or(i64::MAX));
    // Labels are the record's field names, a fixed set; cleared first so a
    // record repaired since the last scrape reads 0.
    let unreadable = &state.metrics.store_unreadable;
    unreadable.reset();
    for u in state.accounts.unreadable() {
        unreadable.with_label_values(&[u.field]).inc();
    }
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(),
    )
        .into_response()
}

/// The route template a request matched, not its path: paths are
/// caller-chosen and unbounded, so they never become a label.
pub fn route_of(req: &Request) -> Option<MatchedPath> {
    req.extensions().get::<MatchedPath>().cloned()
}

/// Counts one answered request and its latency.
pub fn record(state: &AppState, route: Option<&MatchedPath>, status: StatusCode, started: Instant) {
    let route = route.map_or("unmatched", MatchedPath::as_str);
    let m = &state.metrics;
    m.requests
        .with_label_values(&[route, status.as_str()])
        .inc();
    m.request_seconds
        .with_label_values(&[route])
        .observe(started.elapsed().as_secs_f64());
}
