//! Wiring: settings in, a bound listener and a router out.

use crate::accounts::AccountPool;
use crate::clock::{SharedClock, SystemClock};
use crate::config::Settings;
use crate::http::{self, envelope::Stamp, AppState};
use crate::refresh::{CacheKeyer, RefreshService};
use crate::upload::{UploadService, UploadSettings};
use crate::upstream::{UpstreamClient, UpstreamSettings};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot build the upstream HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    addr: SocketAddr,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// As [`Application::build`], with time from `clock` (tests move it by hand).
    pub async fn build_with_clock(
        settings: Settings,
        clock: SharedClock,
    ) -> Result<Self, StartupError> {
        let upstream = UpstreamClient::new(&UpstreamSettings {
            base: settings.upstream.clone(),
            timeout: settings.upstream_timeout(),
            connect_timeout: settings.upstream_connect_timeout(),
        })?;
        let accounts = AccountPool::new(settings.account_credentials());
        if accounts.is_empty() {
            tracing::warn!(
                "no [[accounts]] configured: /tool/cos/sign will answer 503 until one is added"
            );
        }
        let uploads = UploadService::new(
            upstream.clone(),
            accounts,
            UploadSettings {
                endpoint: settings.cos_endpoint_template(),
                cdn_base: settings.cdn_base.clone(),
                max_size: settings.cos_max_upload_bytes,
            },
            settings.cache_max_entries,
            clock.clone(),
        );
        let refresh = RefreshService::new(
            upstream,
            CacheKeyer::random(),
            settings.cache_max_entries,
            clock.clone(),
        );
        let state = AppState {
            refresh: Arc::new(refresh),
            uploads: Arc::new(uploads),
            stamp: Stamp::new(clock.clone(), settings.tips.as_str()),
            clock,
        };
        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|source| StartupError::Bind {
                    addr: settings.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: settings.listen,
            source,
        })?;
        Ok(Self {
            listener,
            router: http::router(state),
            addr,
        })
    }

    /// The bound address; with port 0 in the settings, the port the OS chose.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        tracing::info!(addr = %self.addr, "qmkeys listening");
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
    }

    /// Serves until SIGINT or SIGTERM.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
