//! Wiring: settings in, a bound listener and a router out.

use crate::accounts::sqlite::SqliteStore;
use crate::accounts::{keeper, AccountPool, AccountStore, PoolSettings, StoreError};
use crate::clock::{SharedClock, SystemClock};
use crate::config::Settings;
use crate::http::{self, envelope::Stamp, AppState};
use crate::refresh::{CacheKeyer, RefreshService};
use crate::secrets::Sealer;
use crate::upload::{UploadService, UploadSettings};
use crate::upstream::{UpstreamClient, UpstreamSettings};
use secrecy::ExposeSecret;
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
    #[error("cannot open the account store: {0}")]
    Store(StoreError),
}

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    addr: SocketAddr,
    /// The background refresher; stops when this is dropped.
    keeper: keeper::Keeper,
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
        let accounts = AccountPool::open(
            open_store(&settings)?,
            settings.account_credentials(),
            upstream.clone(),
            clock.clone(),
            PoolSettings {
                refresh_share: settings.accounts_refresh_share,
            },
        )
        .await
        .map_err(StartupError::Store)?;
        let accounts = Arc::new(accounts);
        if accounts.is_empty() {
            tracing::warn!(
                "no upload account configured: /tool/cos/sign answers 503 until one is added"
            );
        }
        let uploads = UploadService::new(
            upstream.clone(),
            accounts.clone(),
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
        let keeper = keeper::spawn(accounts.clone(), settings.accounts_check_interval());
        let state = AppState {
            refresh: Arc::new(refresh),
            uploads: Arc::new(uploads),
            accounts,
            allow_save: settings.accounts_allow_save,
            admin_token: settings.admin_token.clone(),
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
            keeper,
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
        // Every store write is committed when it returns, so the refresher may
        // stop at any point (it does when `self.keeper` drops) and lose nothing.
        let _keeper = self.keeper;
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
    }

    /// Serves until SIGINT or SIGTERM.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }
}

fn open_store(settings: &Settings) -> Result<Arc<dyn AccountStore>, StartupError> {
    let secret = settings.secret_key.as_ref().map(|k| k.expose_secret());
    if secret.is_none() {
        tracing::warn!(
            db = %settings.db.display(),
            "QMKEYS_SECRET_KEY is not set: upload account keys are stored unencrypted"
        );
    }
    let store = SqliteStore::open(&settings.db, Sealer::new(secret, "account-store"))
        .map_err(StartupError::Store)?;
    Ok(Arc::new(store))
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
