//! The one middleware in front of every route: request id, the request's
//! span, the rate limit, the URL cap, the time cap, the error envelope and the
//! request metrics.
//!
//! One function instead of a layer each: every `from_fn` layer boxes a future
//! and clones the route per request, and a cache hit is cheap enough that
//! this plumbing showed in the profile (BENCHMARKS.md).

use super::{caps, limit, metrics, request_id, AppState};
use crate::http::error::{ApiError, PendingEnvelope};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::IntoResponse;
use axum::response::Response;
use std::time::Instant;
use tracing::Instrument;

pub async fn front(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id::of(&req);
    // The path only: query strings carry music keys.
    let span = tracing::info_span!(
        "request",
        id = %id.to_str().unwrap_or("-"),
        method = %req.method(),
        path = %req.uri().path(),
    );
    let route = metrics::route_of(&req);
    let mut response = async {
        let checked = limit::check(&state, &req).and_then(|()| caps::check_url(&req));
        let mut response = match checked {
            Ok(()) => match tokio::time::timeout(state.request_timeout, next.run(req)).await {
                Ok(response) => response,
                Err(_) => ApiError::RequestTimeout.into_response(),
            },
            Err(err) => err.into_response(),
        };
        // An error answered anywhere below gets its envelope here, where the
        // stamp (time, pid, tips) is at hand.
        if let Some(pending) = response.extensions_mut().remove::<PendingEnvelope>() {
            state.stamp.fill_error(&mut response, &pending);
        }
        tracing::debug!(
            status = response.status().as_u16(),
            micros = started.elapsed().as_micros() as u64,
            "answered"
        );
        response
    }
    .instrument(span)
    .await;
    metrics::record(&state, route.as_ref(), response.status(), started);
    response.headers_mut().insert(request_id::HEADER, id);
    response
}
