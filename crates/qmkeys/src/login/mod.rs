//! Getting a first key: QR login (QQ and WeChat) and desktop fast login, as
//! docs/protocol.md section 9 describes them. This is the engine; the HTTP
//! routes, the CLI and the web page drive it.
//!
//! ```text
//! let login = state.login.start_qr(QrKind::Qq).await?;   // Busy past the cap
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
//! - [`LoginService::start_qr_for`] takes one of the client's
//!   `login_max_per_client` places (none left: [`LoginError::ClientBusy`]),
//!   then one of `login_max_sessions` places (none left: [`LoginError::Busy`]
//!   at once) and fetches the QR: QQ's PNG and its `qrsig` from ptqrshow, or
//!   WeChat's uuid from qrconnect and then its JPEG.
//! - Every poll of every login waits for one of `login_polls_per_second`
//!   tokens, so the login hosts see that many polls a second from this server
//!   at most, however many logins are open (each then polls less often).
//! - [`QrLogin::next`] answers state changes only: `Waiting` first, then
//!   `Scanned`, then exactly one of `Expired`, `Refused`, `Done` or an error.
//!   QQ is polled every 1.5 s (ptqrlogin); WeChat is long-polled (up to 35 s a
//!   poll, a poll that runs out meaning "still waiting"). A login never
//!   outlives its QR: 2 minutes and 5 s after it was made it is `Expired`.
//!   A poll that fails (connection, timeout, 5xx) is tried again at the next
//!   tick, up to 3 in a row; the 4th ends the login with its error.
//! - Nothing polls between calls of `next`, and no task runs in the
//!   background: dropping the [`QrLogin`] (or a `next` in flight) stops all
//!   polling at once and gives its place back.
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

mod error;
mod finish;
mod graph;
mod parse;
mod ptlogin;
mod qr;
mod secret;
mod wire;
mod wx;

pub use error::LoginError;
pub use qr::{QrEvent, QrLogin};
pub use secret::hash33;

use crate::domain::{AccountKind, ClientId, ClientKey, Uin};
use crate::metrics::Metrics;
use crate::refresh::Cookie;
use crate::upstream::{UpstreamClient, VipStatus};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
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

/// Which app's QR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrKind {
    Qq,
    Wx,
}

impl QrKind {
    /// The API's `type`: `qq` or `wx`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "qq" => Some(QrKind::Qq),
            "wx" => Some(QrKind::Wx),
            _ => None,
        }
    }

    /// `qq` or `wx`, as the API's `type` and the metrics labels say it.
    pub fn as_str(self) -> &'static str {
        match self {
            QrKind::Qq => "qq",
            QrKind::Wx => "wx",
        }
    }
}

/// A new key and its account's membership, exactly as a refresh answers them.
#[derive(Debug, Clone)]
pub struct LoginResult {
    pub cookie: Arc<Cookie>,
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
    hosts: wire::Hosts,
    upstream: UpstreamClient,
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
        Ok(Self {
            inner: Arc::new(Inner {
                hosts: wire::Hosts::new(settings)?,
                upstream,
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
            let ticket = ptlogin::jump(&self.inner.hosts, client_uin, client_key).await?;
            let grant = self.inner.qq_ticket_login(&ticket).await?;
            self.inner.result(AccountKind::Qq, grant).await
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

#[cfg(test)]
mod tests {
    use super::QrKind;

    #[test]
    fn qr_kind_reads_the_apis_type_and_nothing_else() {
        assert_eq!(QrKind::parse("qq"), Some(QrKind::Qq));
        assert_eq!(QrKind::parse("wx"), Some(QrKind::Wx));
        for bad in ["", "QQ", "wechat", " qq"] {
            assert_eq!(QrKind::parse(bad), None, "{bad}");
        }
        assert_eq!(QrKind::Wx.as_str(), "wx");
    }
}
