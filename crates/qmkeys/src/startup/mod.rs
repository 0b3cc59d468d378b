//! Wiring: settings in, a bound listener and a router out.
//!
//! `mod.rs` has the `Application` (build, serve, shut down); `services.rs`
//! the pieces it is made of, which the one-shot CLI commands build too.

mod services;

pub use services::*;

use crate::accounts::{keeper, StoreError};
use crate::clock::{SharedClock, SystemClock};
use crate::config::Settings;
use crate::http::{self, envelope::Stamp, limit::ClientLimiter, AppParts, AppState};
use crate::redis::Redis;
use crate::webhook::Tuning;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot build the upstream HTTP client")]
    Client(#[from] reqwest::Error),
    #[error("cannot open the account store")]
    Store(#[source] StoreError),
    #[error("cannot use Redis at redis_url")]
    Redis(#[source] crate::redis::RedisError),
    #[error("cannot set up metrics")]
    Metrics(#[source] prometheus::Error),
    #[error("invalid configuration")]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot serve HTTPS")]
    Tls(#[from] crate::serve::tls::TlsError),
}

pub struct Application {
    listener: TcpListener,
    app: http::front::Front,
    addr: SocketAddr,
    /// The background refresher; stops when this is dropped.
    keeper: keeper::Keeper,
    /// `/metrics` on its own address, when `metrics_listen` is set.
    metrics: Option<(TcpListener, axum::Router)>,
    grace: std::time::Duration,
    /// Its leases are released at shutdown.
    redis: Option<Redis>,
    /// Account notices; given a moment to flush at shutdown.
    webhook: Option<Arc<crate::webhook::Webhook>>,
    /// How connections are bounded (`serve`).
    serve: crate::serve::ServeSettings,
    clients: http::client::ClientResolver,
    tls: Option<Arc<crate::serve::tls::Acceptor>>,
    metrics_registry: Arc<crate::metrics::Metrics>,
}

/// What the server is built from besides its settings: things no operator
/// sets, which tests change.
#[derive(Clone)]
pub struct Wiring {
    /// Time for every lifetime (tests move it by hand).
    pub clock: SharedClock,
    /// The webhook's tries and pauses (tests shorten them).
    pub webhook_tuning: Tuning,
}

impl Default for Wiring {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            webhook_tuning: Tuning::default(),
        }
    }
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        Self::build_with(settings, Wiring::default()).await
    }

    /// As [`Application::build`], with time from `clock` (tests move it by hand).
    pub async fn build_with_clock(
        settings: Settings,
        clock: SharedClock,
    ) -> Result<Self, StartupError> {
        Self::build_with(
            settings,
            Wiring {
                clock,
                ..Wiring::default()
            },
        )
        .await
    }

    /// As [`Application::build`], with the clock and tuning of `wiring`.
    pub async fn build_with(settings: Settings, wiring: Wiring) -> Result<Self, StartupError> {
        let Wiring {
            clock,
            webhook_tuning,
        } = wiring;
        settings.validate()?;
        let mut backends = backends(&settings)?;
        let webhook = match webhook_settings(&settings, webhook_tuning) {
            Some(webhook) => Some(Arc::new(crate::webhook::from_settings(
                webhook,
                backends.metrics.clone(),
            )?)),
            None => None,
        };
        backends.events = webhook.clone().map(|w| w as crate::accounts::SharedSink);
        let upstream = upstream_client(&settings)?.with_metrics(backends.metrics.clone());
        let (accounts, uploads) =
            upload_service(&settings, upstream.clone(), clock.clone(), &backends).await?;
        if accounts.is_empty() {
            tracing::warn!(
                "no upload account configured: /tool/cos/sign answers 503 until one is added"
            );
        }
        let login = login_service(&settings, upstream.clone(), &backends)?;
        let refresh = refresh_service(&settings, upstream, clock.clone(), &backends);
        let keeper = keeper::spawn(
            accounts.clone(),
            settings.accounts.check_interval(),
            backends.metrics.clone(),
        );
        let clients = http::client::ClientResolver::new(
            settings.http.trusted_proxies.clone(),
            settings.http.ipv6_client_prefix,
        );
        let keys = settings.http.require_api_key.then(|| {
            Arc::new(http::keys::CallerKeys::new(
                accounts.store().clone(),
                clock.clone(),
            ))
        });
        let state = AppState::new(AppParts {
            refresh: Arc::new(refresh),
            uploads: Arc::new(uploads),
            accounts,
            allow_save: settings.accounts.allow_save,
            admin_token: settings.http.admin_token.clone(),
            stamp: Stamp::new(clock.clone(), settings.http.tips.as_str()),
            clock,
            site: Arc::new(http::web::Site::new(&settings)),
            redis: backends.redis.clone(),
            metrics: backends.metrics.clone(),
            metrics_elsewhere: settings.http.metrics_listen.is_some(),
            request_timeout: settings.http.request_timeout(),
            limiter: ClientLimiter::new(
                settings.http.rate_limit_per_second,
                settings.http.rate_limit_burst,
            )
            .map(Arc::new),
            clients: clients.clone(),
            login: Arc::new(login),
            keys,
        });
        let listener = TcpListener::bind(settings.http.listen)
            .await
            .map_err(|source| StartupError::Bind {
                addr: settings.http.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: settings.http.listen,
            source,
        })?;
        let metrics = match settings.http.metrics_listen {
            Some(addr) => {
                let listener = TcpListener::bind(addr)
                    .await
                    .map_err(|source| StartupError::Bind { addr, source })?;
                let router = axum::Router::new()
                    .route(
                        http::metrics::PATH,
                        axum::routing::get(http::metrics::render_only),
                    )
                    .with_state(state.clone());
                Some((listener, router))
            }
            None => None,
        };
        let tls = match (&settings.http.tls_cert, &settings.http.tls_key) {
            (Some(cert), Some(key)) => Some(Arc::new(crate::serve::tls::Acceptor::new(cert, key)?)),
            _ => None,
        };
        warn_if_exposed(&settings, addr, tls.is_some());
        Ok(Self {
            listener,
            metrics,
            serve: crate::serve::ServeSettings {
                header_timeout: settings.http.header_timeout(),
                idle_timeout: settings.http.idle_timeout(),
                max_header_bytes: settings.http.max_header_bytes,
                max_connections: settings.http.max_connections,
                max_connections_per_client: settings.http.max_connections_per_client,
            },
            clients,
            tls,
            metrics_registry: backends.metrics.clone(),
            app: http::front::Front::new(state),
            addr,
            keeper,
            grace: settings.http.shutdown_grace(),
            redis: backends.redis,
            webhook,
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
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        tracing::info!(addr = %self.addr, scheme, "qmkeys listening");
        // Every store write is committed when it returns, so the refresher may
        // stop at any point (it does when `keeper` drops) and lose nothing.
        let keeper = self.keeper;
        let redis = self.redis;
        if let Some((listener, router)) = self.metrics {
            tracing::info!(addr = ?listener.local_addr().ok(), "metrics listening");
            // Ends with the process; scrapes need no graceful drain.
            tokio::spawn(crate::serve::serve(
                listener,
                router,
                self.serve.clone(),
                self.clients.clone(),
                None,
                self.metrics_registry.clone(),
                std::future::pending(),
            ));
        }
        let (stopping, mut stopped) = tokio::sync::watch::channel(false);
        let signal = async move {
            shutdown.await;
            tracing::info!("stopped accepting; finishing requests in flight");
            let _ = stopping.send(true);
        };
        let serve = crate::serve::serve(
            self.listener,
            self.app,
            self.serve,
            self.clients,
            self.tls,
            self.metrics_registry,
            signal,
        );
        let grace = self.grace;
        let served = tokio::select! {
            () = serve => Ok(()),
            _ = async {
                let _ = stopped.wait_for(|s| *s).await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!(?grace, "grace period over; closing the requests still in flight");
                Ok(())
            }
        };
        drop(keeper);
        if let Some(webhook) = self.webhook {
            // Notices are best effort: a short wait, not the whole grace period again.
            webhook
                .flush(grace.min(std::time::Duration::from_secs(2)))
                .await;
        }
        // Whatever work was cut short, other instances need not wait out its leases.
        if let Some(redis) = redis {
            redis.release_all().await;
        }
        served
    }

    /// Serves until SIGINT or SIGTERM.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }
}

/// The admin token and keys cross the network in the clear when a plain-HTTP
/// listener faces other machines with no proxy in front to add TLS.
fn warn_if_exposed(settings: &Settings, addr: SocketAddr, tls: bool) {
    let plain_on_network = !tls && !addr.ip().is_loopback();
    if plain_on_network
        && settings.http.admin_token.is_some()
        && settings.http.trusted_proxies.is_empty()
    {
        tracing::warn!(
            %addr,
            "admin_token is set on a plain-HTTP listener other machines can reach, with no trusted proxy: \
             the token and music keys cross the network unencrypted; set tls_cert and tls_key, \
             or put a TLS reverse proxy in front (trusted_proxies)"
        );
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
