//! The one step in front of every route: request id, the request's span, the
//! rate limit, the URL cap, CORS, the time cap, the error envelope and the
//! request metrics.
//!
//! It wraps the router from outside rather than being a layer on it: axum
//! puts a router's layers on each route, which clones the route's boxed
//! service and boxes a future per layer and request, and on a cache hit that
//! plumbing cost more than the work (BENCHMARKS.md). Here the route is known
//! from the same path table the router uses, its metric handles are resolved
//! once at start, and the request's future is the connection's own, unboxed.

use super::{caps, cors, limit, request_id, AppState};
use crate::http::error::{ApiError, PendingEnvelope};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use prometheus::{Histogram, IntCounter};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;
use tower::ServiceExt;
use tracing::Instrument;

/// What answers the requests of one connection: the API behind [`Front`],
/// or a bare router (`/metrics` on an address of its own).
pub trait Answer: Clone + Send + Sync + 'static {
    fn answer<B>(&self, req: Request<B>) -> impl Future<Output = Response> + Send + use<Self, B>
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<axum::BoxError>;
}

impl Answer for Router {
    fn answer<B>(&self, req: Request<B>) -> impl Future<Output = Response> + Send + use<B>
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<axum::BoxError>,
    {
        let answer = self.clone().oneshot(req);
        async move {
            match answer.await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        }
    }
}

/// The API: the router of [`super::router`] behind the front.
#[derive(Clone)]
pub struct Front(Arc<Parts>);

struct Parts {
    state: AppState,
    router: Router,
    /// `None` when no origin is allowed.
    cors: Option<cors::BrowserCors>,
    routes: matchit::Router<Route>,
    /// Paths no route has (the 404 fallback).
    unmatched: Route,
}

/// What the front knows of a route before the router runs it.
struct Route {
    /// The route template: the metrics label (a path never is one).
    template: Box<str>,
    /// Counted against the per-client rate limit.
    limited: bool,
    /// Behind the CORS policy.
    cors: bool,
    /// Pre-resolved metric handles: the latency, and the count of 200s.
    seconds: Histogram,
    ok: IntCounter,
}

impl Route {
    fn new(state: &AppState, template: &str, limited: bool, cors: bool) -> Self {
        let m = &state.metrics;
        Self {
            template: template.into(),
            limited,
            cors,
            seconds: m.request_seconds.with_label_values(&[template]),
            ok: m
                .requests
                .with_label_values(&[template, StatusCode::OK.as_str()]),
        }
    }

    fn record(&self, state: &AppState, status: StatusCode, started: Instant) {
        if status == StatusCode::OK {
            self.ok.inc();
        } else {
            state
                .metrics
                .requests
                .with_label_values(&[&self.template, status.as_str()])
                .inc();
        }
        self.seconds.observe(started.elapsed().as_secs_f64());
    }
}

impl Front {
    pub fn new(state: AppState) -> Self {
        let mut routes = matchit::Router::new();
        for (template, limited, cors) in super::route_table() {
            let route = Route::new(&state, &template, limited, cors);
            // The router was built from the same table, so every template
            // is new and valid here too.
            if let Err(err) = routes.insert(template.clone(), route) {
                tracing::error!(%template, error = %err, "route missing from the front's table");
            }
        }
        Self(Arc::new(Parts {
            router: super::router(state.clone()),
            cors: cors::layer(&state.site.cors).map(cors::BrowserCors::new),
            unmatched: Route::new(&state, "unmatched", false, true),
            routes,
            state,
        }))
    }
}

impl Answer for Front {
    fn answer<B>(&self, req: Request<B>) -> impl Future<Output = Response> + Send + use<B>
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<axum::BoxError>,
    {
        let front = self.clone();
        async move { front.run(req.map(Body::new)).await }
    }
}

impl Front {
    async fn run(self, req: axum::extract::Request) -> Response {
        let parts = &*self.0;
        let state = &parts.state;
        let started = Instant::now();
        let id = request_id::of(&req);
        let route = parts
            .routes
            .at(req.uri().path())
            .map_or(&parts.unmatched, |m| m.value);
        // The path only: query strings carry music keys.
        let span = tracing::info_span!(
            "request",
            id = %id.to_str().unwrap_or("-"),
            method = %req.method(),
            path = %req.uri().path(),
        );
        let mut response = async {
            let checked =
                limit::check(state, route.limited, &req).and_then(|()| caps::check_url(req.uri()));
            let mut response = match checked {
                Ok(()) => {
                    let inner = self.inner(route, req);
                    match tokio::time::timeout(state.request_timeout, inner).await {
                        Ok(response) => response,
                        Err(_) => ApiError::RequestTimeout.into_response(),
                    }
                }
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
        route.record(state, response.status(), started);
        response.headers_mut().insert(request_id::HEADER, id);
        response
    }

    /// The router's answer, through the CORS policy on the routes behind it.
    async fn inner(&self, route: &Route, req: axum::extract::Request) -> Response {
        let router = self.0.router.clone();
        match &self.0.cors {
            Some(cors) if route.cors => cors.answer(router, req).await,
            _ => router.answer(req).await,
        }
    }
}
