//! Wiring: settings in, a bound listener and a router out.

use crate::accounts::redis_store::RedisStore;
use crate::accounts::sqlite::SqliteStore;
use crate::accounts::{keeper, AccountPool, AccountStore, PoolSettings, StoreError};
use crate::cache::CacheKeyer;
use crate::clock::{SharedClock, SystemClock};
use crate::config::Settings;
use crate::http::{self, envelope::Stamp, limit::ClientLimiter, AppParts, AppState};
use crate::login::{LoginService, LoginSettings};
use crate::redis::Redis;
use crate::refresh::RedisRefresh;
use crate::refresh::RefreshService;
use crate::secrets::Sealer;
use crate::upload::RedisGrants;
use crate::upload::{UploadService, UploadSettings};
use crate::upstream::{GuardSettings, UpstreamClient, UpstreamSettings};
use crate::webhook::{Tuning, WebhookSettings};
use secrecy::ExposeSecret;
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
    router: axum::Router,
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
            router: http::router(state),
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
            self.router,
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

// The pieces below are what `serve` is made of; the one-shot CLI commands
// (`qmkeys refresh`, `qmkeys cos-sign`) build theirs with the same functions,
// so a command behaves exactly as the server with the same settings.

/// The client for the QQ Music gateway.
pub fn upstream_client(settings: &Settings) -> Result<UpstreamClient, StartupError> {
    Ok(UpstreamClient::new(&UpstreamSettings {
        base: settings.upstream.base.clone(),
        timeout: settings.upstream.timeout(),
        connect_timeout: settings.upstream.connect_timeout(),
        guard: GuardSettings {
            max_in_flight: settings.upstream.max_in_flight,
            failure_threshold: settings.upstream.breaker_failures,
            cooldown: settings.upstream.breaker_cooldown(),
        },
        retries: settings.upstream.retries,
    })?)
}

/// The notifier's settings, when `webhook_url` is set.
pub fn webhook_settings(settings: &Settings, tuning: Tuning) -> Option<WebhookSettings> {
    Some(WebhookSettings {
        url: settings.webhook.url.clone()?,
        secret: settings.webhook.secret.clone(),
        tuning,
    })
}

/// Delivers one notice now, as the server would, for one-shot commands that
/// have no background task to hand it to. `None` without `webhook_url`.
pub async fn notify_now(
    settings: &Settings,
    event: &crate::accounts::AccountEvent,
) -> Option<crate::webhook::Outcome> {
    let webhook = webhook_settings(settings, Tuning::default())?;
    Some(crate::webhook::send_now(&webhook, event).await)
}

/// What the services share beyond this process: Redis (when configured), the
/// cache-key secret and how long to wait for another instance's Login.
#[derive(Clone)]
pub struct Backends {
    redis: Option<Redis>,
    metrics: Arc<crate::metrics::Metrics>,
    keyer: CacheKeyer,
    wait_limit: std::time::Duration,
    /// Told what happens to upload accounts; only the server sets it.
    events: Option<crate::accounts::SharedSink>,
}

pub fn backends(settings: &Settings) -> Result<Backends, StartupError> {
    let metrics = Arc::new(crate::metrics::Metrics::new().map_err(StartupError::Metrics)?);
    let redis = match &settings.redis.url {
        // Connects lazily: Redis being down at start is an outage, not a failure.
        Some(url) => Some(
            Redis::connect(url.expose_secret(), settings.redis.timeout())
                .map_err(StartupError::Redis)?
                .with_metrics(metrics.clone()),
        ),
        None => None,
    };
    let secret = settings
        .accounts
        .secret_key
        .as_ref()
        .map(|k| k.expose_secret());
    if redis.is_some() {
        tracing::info!(
            "sharing caches, Login leases, InitUpload answers and the account store through Redis"
        );
    }
    Ok(Backends {
        redis,
        metrics,
        // Shared cache keys need the same secret on every instance; alone, any will do.
        keyer: secret.map_or_else(CacheKeyer::random, CacheKeyer::from_secret),
        // A live holder renews its lease for as long as its Login runs (up to
        // a retried upstream timeout); a dead one frees it within seconds.
        wait_limit: settings.upstream.timeout() * 2 + std::time::Duration::from_secs(5),
        events: None,
    })
}

/// The login service's settings: the login hosts and caps, and the upstream
/// timeouts for its requests.
pub fn login_settings(settings: &Settings) -> LoginSettings {
    LoginSettings {
        ptlogin: settings.login.ptlogin_base.clone(),
        ptlogin_graph: settings.login.ptlogin_graph_base.clone(),
        graph: settings.login.graph_base.clone(),
        wx_open: settings.login.wx_open_base.clone(),
        wx_lp: settings.login.wx_lp_base.clone(),
        timeout: settings.upstream.timeout(),
        connect_timeout: settings.upstream.connect_timeout(),
        max_sessions: settings.login.max_sessions,
        max_per_client: settings.login.max_per_client,
        polls_per_second: settings.login.polls_per_second,
    }
}

/// QR login and desktop fast login (docs/protocol.md section 9).
pub fn login_service(
    settings: &Settings,
    upstream: UpstreamClient,
    backends: &Backends,
) -> Result<LoginService, StartupError> {
    Ok(LoginService::new(
        &login_settings(settings),
        upstream,
        backends.metrics.clone(),
    )?)
}

/// Refreshing callers' keys.
pub fn refresh_service(
    settings: &Settings,
    upstream: UpstreamClient,
    clock: SharedClock,
    backends: &Backends,
) -> RefreshService {
    let service = RefreshService::new(
        upstream,
        backends.keyer.clone(),
        settings.cache.max_entries,
        clock,
    )
    .with_metrics(backends.metrics.clone());
    match &backends.redis {
        Some(redis) => service.with_redis(
            RedisRefresh::new(redis.clone(), backends.keyer.clone()),
            backends.wait_limit,
        ),
        None => service,
    }
}

/// The upload accounts (the store opened and seeded from the settings) and
/// the signing service that uses them.
pub async fn upload_service(
    settings: &Settings,
    upstream: UpstreamClient,
    clock: SharedClock,
    backends: &Backends,
) -> Result<(Arc<AccountPool>, UploadService), StartupError> {
    let accounts = AccountPool::open_with_events(
        open_store(settings, backends.redis.as_ref())?,
        settings.accounts.credentials()?,
        upstream.clone(),
        clock.clone(),
        PoolSettings {
            refresh_share: settings.accounts.refresh_share,
            wait_limit: backends.wait_limit,
        },
        backends.events.clone(),
    )
    .await
    .map_err(StartupError::Store)?;
    let accounts = Arc::new(accounts);
    let uploads = UploadService::new(
        upstream,
        accounts.clone(),
        UploadSettings {
            endpoint: settings.cos.endpoint_template()?,
            cdn_base: settings.cos.cdn_base.clone(),
            max_size: settings.cos.max_upload_bytes,
        },
        settings.cache.max_entries,
        clock,
    );
    let uploads = uploads.with_metrics(backends.metrics.clone());
    let uploads = match &backends.redis {
        Some(redis) => {
            let secret = settings
                .accounts
                .secret_key
                .as_ref()
                .map(|k| k.expose_secret());
            let sealer = Sealer::new(secret, "init-upload cache");
            uploads.with_redis(RedisGrants::new(
                redis.clone(),
                backends.keyer.clone(),
                sealer,
            ))
        }
        None => uploads,
    };
    Ok((accounts, uploads))
}

fn open_store(
    settings: &Settings,
    redis: Option<&Redis>,
) -> Result<Arc<dyn AccountStore>, StartupError> {
    let secret = settings
        .accounts
        .secret_key
        .as_ref()
        .map(|k| k.expose_secret());
    if let Some(redis) = redis {
        // Validation requires a secret key alongside Redis.
        let sealer = Sealer::new(secret, "account-store");
        return Ok(Arc::new(RedisStore::new(redis.clone(), sealer)));
    }
    if secret.is_none() {
        tracing::warn!(
            db = %settings.accounts.db.display(),
            "QMKEYS_SECRET_KEY is not set: upload account keys are stored unencrypted"
        );
    }
    let store = SqliteStore::open(&settings.accounts.db, Sealer::new(secret, "account-store"))
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
