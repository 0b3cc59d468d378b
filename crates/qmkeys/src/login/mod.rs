//! Getting a first key: QR login (QQ and WeChat) and desktop fast login, as
//! docs/protocol.md section 9 describes them. This is the engine; the HTTP
//! routes, the CLI and the web page drive it.
//!
//! ```text
//! let kind = QrKind::parse("qq").unwrap_or_default();   // the registry's kinds
//! let login = state.login.start_qr(kind).await?;         // Busy past the cap
//! let (png, mime) = login.image();                        // show it: next() drops it
//! loop {
//!     match login.next().await? {
//!         QrEvent::Waiting | QrEvent::Scanned => { /* tell the person */ }
//!         QrEvent::Done(result) => { /* result.cookie, result.info */ break }
//!         QrEvent::Expired | QrEvent::Refused => break,
//!     }
//! }
//! let result = state.login.fast_login(client_uin, &client_key).await?;
//! ```
//!
//! - A QR login kind (QQ, WeChat) is a `provider::QrProvider` in
//!   `kinds/`, listed in the registry `kinds::KINDS`: it shows a QR, reports
//!   its states (polled, long-polled or pushed) and trades the confirmation
//!   for the gateway's grant. Everything below is the engine's, the same for
//!   every kind.
//! - [`LoginService::start_qr_for`] takes one of the client's
//!   `login_max_per_client` places (none left: [`LoginError::ClientBusy`]),
//!   then one of `login_max_sessions` places (none left: [`LoginError::Busy`]
//!   at once) and has the kind fetch its QR: QQ's PNG and its `qrsig` from
//!   ptqrshow, or WeChat's uuid from qrconnect and then its JPEG.
//! - Every poll of every polled kind waits for one of
//!   `login_polls_per_second` tokens, so the login hosts see that many polls
//!   a second from this server at most, however many logins are open (each
//!   then polls less often). A kind whose states are pushed takes none.
//! - [`QrLogin::next`] answers state changes only: `Waiting` first, then
//!   `Scanned`, then exactly one of `Expired`, `Refused`, `Done` or an error.
//!   QQ is polled every 1.5 s (ptqrlogin); WeChat is long-polled (up to 35 s a
//!   poll, a poll that runs out meaning "still waiting"). A login never
//!   outlives its QR: 2 minutes and 5 s after it was made it is `Expired`.
//!   A poll that fails (connection, timeout, 5xx) is tried again at the next
//!   tick, up to 3 in a row; the 4th ends the login with its error.
//! - Nothing polls between calls of `next`, and no task runs in the
//!   background: dropping the [`QrLogin`] (or a `next` in flight) stops all
//!   polling at once, drops the kind's handle (closing any connection it
//!   holds) and gives its place back. A login that ends drops its handle
//!   at once too.
//! - On QQ's confirmation only `uin` and `ptsigx` are read from the
//!   check_sig URL ptqrlogin answers; qmkeys builds its own check_sig
//!   request to `ptlogin_graph_base`, posts authorize to `graph_base` with
//!   g_tk = hash33(p_skey, 5381), reads the code from the redirect and trades
//!   it with `QQConnectLogin.LoginServer.QQLogin`. WeChat's code goes to
//!   `music.login.LoginServer.Login`. Neither gateway call is ever retried:
//!   a code is good once.
//! - [`LoginService::fast_login`] does the same from a desktop client key
//!   (`/jump`), without a QR and without a place.
//!
//! Secrets (qrsig, ptsigx, p_skey, codes, client keys) live in types whose
//! `Debug` shows nothing, go out only in headers marked sensitive or in
//! queries of URLs that errors drop, and are never logged.

pub mod desktop;
mod error;
mod finish;
mod graph;
mod kinds;
mod parse;
mod provider;
mod ptlogin;
mod push;
mod qr;
mod secret;
mod wire;

pub use error::LoginError;
pub use kinds::QrKind;
pub use provider::{Delivery, KindInfo};
pub use qr::{QrEvent, QrLogin};
pub use secret::hash33;

use crate::domain::Cookie;
use crate::domain::{AccountKind, ClientId, ClientKey, Uin};
use crate::metrics::Metrics;
use crate::upstream::{UpstreamClient, VipStatus};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use provider::{Ctx, Kind};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::Semaphore;
use url::Url;

/// A QR lives about 2 minutes (section 9.1); a little more covers clock skew.
const QR_DEADLINE: Duration = Duration::from_secs(125);
/// Section 9.1 says to poll every 1 to 2 seconds.
const POLL_EVERY: Duration = Duration::from_millis(1500);

/// A new key and its account's membership, exactly as a refresh answers them.
#[derive(Debug, Clone)]
pub struct LoginResult {
    pub cookie: Arc<Cookie>,
    /// The `tmeLoginType` the key was issued with, for saving the account.
    pub login_type: u8,
    /// `None` when upstream would not tell; the new key is never withheld for it.
    pub info: Option<VipStatus>,
}

/// What the login service is built from; `startup` makes it from the settings.
#[derive(Debug, Clone)]
pub struct LoginSettings {
    /// The login hosts of section 9, each only a scheme and host (and port).
    pub ptlogin: Url,
    pub ptlogin_graph: Url,
    pub graph: Url,
    pub wx_open: Url,
    pub wx_lp: Url,
    /// The xlogin page (section 9.5), read only by `qmkeys login --desktop`.
    pub xlogin: Url,
    /// The app QR's push host, a whole `ws://` or `wss://` URL (section 10.1).
    pub app_push: Url,
    /// For every request but the WeChat long poll.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// QR logins open at once, all clients together.
    pub max_sessions: usize,
    /// QR logins one client may hold open at once.
    pub max_per_client: usize,
    /// Polls of the login hosts per second, all QR logins together.
    pub polls_per_second: u32,
}

pub struct LoginService {
    inner: Arc<Inner>,
    qr_deadline: Duration,
}

impl std::fmt::Debug for LoginService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginService")
    }
}

struct Inner {
    /// What every kind may use: the login hosts' client and the gateway.
    ctx: Ctx,
    /// Each registered kind, built, in the registry's order.
    kinds: Vec<(QrKind, Arc<dyn Kind>)>,
    metrics: Arc<Metrics>,
    places: Arc<Semaphore>,
    max_sessions: usize,
    /// Logins open per client; only clients holding one are in the map.
    per_client: Mutex<HashMap<ClientId, usize>>,
    max_per_client: usize,
    /// Polls of the login hosts, all logins together.
    polls: DefaultDirectRateLimiter,
    poll_every: Duration,
}

/// One of a client's login places; given back when the login is dropped.
pub(crate) struct ClientPlace {
    inner: Arc<Inner>,
    client: ClientId,
}

impl Drop for ClientPlace {
    fn drop(&mut self) {
        let mut held = self
            .inner
            .per_client
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = held.get_mut(&self.client) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                held.remove(&self.client);
            }
        }
    }
}

impl Inner {
    fn take_client_place(self: &Arc<Self>, client: ClientId) -> Option<ClientPlace> {
        let mut held = self
            .per_client
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let n = held.entry(client).or_insert(0);
        if *n >= self.max_per_client {
            return None;
        }
        *n += 1;
        Some(ClientPlace {
            inner: self.clone(),
            client,
        })
    }

    /// The built kind; every `QrKind` is one, since only the registry makes them.
    fn kind(&self, kind: QrKind) -> Result<Arc<dyn Kind>, LoginError> {
        self.kinds
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, built)| built.clone())
            .ok_or(LoginError::Protocol(
                "this server offers no such login kind",
            ))
    }

    /// Waits for a poll token (see the module docs).
    async fn poll_token(&self) {
        self.polls.until_ready().await;
    }
}

impl LoginService {
    pub fn new(
        settings: &LoginSettings,
        upstream: UpstreamClient,
        metrics: Arc<Metrics>,
    ) -> Result<Self, reqwest::Error> {
        Self::with_kinds(settings, upstream, metrics, kinds::KINDS)
    }

    /// A service offering the kinds of `registry`.
    fn with_kinds(
        settings: &LoginSettings,
        upstream: UpstreamClient,
        metrics: Arc<Metrics>,
        registry: &'static [provider::Entry],
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            inner: Arc::new(Inner {
                ctx: Ctx {
                    hosts: wire::Hosts::new(settings)?,
                    upstream,
                },
                kinds: registry
                    .iter()
                    .map(|entry| (QrKind(entry), (entry.build)(settings)))
                    .collect(),
                metrics,
                places: Arc::new(Semaphore::new(settings.max_sessions)),
                max_sessions: settings.max_sessions,
                per_client: Mutex::new(HashMap::new()),
                max_per_client: settings.max_per_client,
                polls: RateLimiter::direct(Quota::per_second(
                    NonZeroU32::new(settings.polls_per_second).unwrap_or(NonZeroU32::MIN),
                )),
                poll_every: POLL_EVERY,
            }),
            qr_deadline: QR_DEADLINE,
        })
    }

    /// A shorter QR deadline, for tests that must see it end a login.
    pub fn with_qr_deadline(mut self, deadline: Duration) -> Self {
        self.qr_deadline = deadline;
        self
    }

    /// Opens a QR login for this process's own use (the CLI), held to the
    /// total cap only.
    pub async fn start_qr(&self, kind: QrKind) -> Result<QrLogin, LoginError> {
        self.start_qr_for(kind, None).await
    }

    /// Opens a QR login for `client`; see the module docs.
    pub async fn start_qr_for(
        &self,
        kind: QrKind,
        client: Option<ClientId>,
    ) -> Result<QrLogin, LoginError> {
        let place = match client {
            Some(client) => match self.inner.take_client_place(client) {
                Some(place) => Some(place),
                None => {
                    self.inner.count(kind.as_str(), "client_busy");
                    return Err(LoginError::ClientBusy);
                }
            },
            None => None,
        };
        let Ok(permit) = self.inner.places.clone().try_acquire_owned() else {
            self.inner.count(kind.as_str(), "busy");
            return Err(LoginError::Busy);
        };
        let opened =
            QrLogin::open(self.inner.clone(), kind, (permit, place), self.qr_deadline).await;
        if let Err(e) = &opened {
            tracing::warn!(kind = kind.as_str(), error = %e, "could not open a QR login");
            self.inner.count(kind.as_str(), e.outcome());
        }
        opened
    }

    /// QR logins open now.
    pub fn open_sessions(&self) -> usize {
        self.inner
            .max_sessions
            .saturating_sub(self.inner.places.available_permits())
    }

    /// Desktop fast login (section 9.3): a refused or expired key is
    /// [`LoginError::ClientKeyRefused`].
    pub async fn fast_login(
        &self,
        client_uin: Uin,
        client_key: &ClientKey,
    ) -> Result<LoginResult, LoginError> {
        let result = async {
            let ctx = &self.inner.ctx;
            let ticket = ptlogin::jump(&ctx.hosts, client_uin, client_key).await?;
            let grant = ctx.qq_ticket_login(&ticket).await?;
            ctx.result(Some(AccountKind::Qq), grant, 2).await
        }
        .await;
        let outcome = match &result {
            Ok(_) => "done",
            Err(e) => e.outcome(),
        };
        self.inner.count("fast", outcome);
        result
    }
}

impl Inner {
    fn count(&self, kind: &str, outcome: &str) {
        self.metrics
            .logins
            .with_label_values(&[kind, outcome])
            .inc();
    }
}
