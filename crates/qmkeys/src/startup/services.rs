//! The pieces `serve` is made of; the one-shot CLI commands (`qmkeys
//! refresh`, `qmkeys cos-sign`) build theirs with the same functions, so a
//! command behaves exactly as the server with the same settings.

use super::StartupError;
use crate::accounts::redis_store::RedisStore;
use crate::accounts::sqlite::SqliteStore;
use crate::accounts::{AccountPool, AccountStore, PoolSettings};
use crate::cache::CacheKeyer;
use crate::clock::SharedClock;
use crate::config::Settings;
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
use std::sync::Arc;

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
    pub(super) redis: Option<Redis>,
    pub(super) metrics: Arc<crate::metrics::Metrics>,
    keyer: CacheKeyer,
    wait_limit: std::time::Duration,
    /// Told what happens to upload accounts: the server's webhook, or a
    /// one-shot command's list of notices to send before it exits.
    pub(super) events: Option<crate::accounts::SharedSink>,
}

impl Backends {
    /// The same backends, the account pool telling `sink` its notices.
    pub fn with_events(mut self, sink: crate::accounts::SharedSink) -> Self {
        self.events = Some(sink);
        self
    }
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
        xlogin: settings.login.xlogin_base.clone(),
        app_push: settings.login.app_qr_push_url.clone(),
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
            events_keep: settings.accounts.events_keep,
            key_check_interval: settings.accounts.key_check_interval(),
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
