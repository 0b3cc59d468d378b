//! Serving: a hyper HTTP/1 accept loop around the axum router.
//!
//! hyper is driven directly (not `axum::serve`) for the `drop` fault: when a
//! response carries [`DropConnection`], the service returns an error and
//! hyper closes the socket without writing a byte of response, which a client
//! sees as a connection error.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt as _;

use crate::app::{self, Shared};
use crate::config::SimConfig;
use crate::login::admin::{ControlError, QrLoginInfo};
use crate::login::{self, QrAction, QrState};

/// Response extension: close the connection instead of sending this response.
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

#[derive(Debug, thiserror::Error)]
#[error("connection dropped on purpose by a fault")]
struct Dropped;

/// A running simulator. Dropping it stops accepting and closes its connections.
pub struct Simulator {
    addr: SocketAddr,
    task: JoinHandle<()>,
    shared: Arc<Shared>,
}

impl Simulator {
    /// Binds `listen` (use "127.0.0.1:0" in tests) and serves in a background tokio task.
    pub async fn spawn(listen: &str, config: SimConfig) -> std::io::Result<Simulator> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config));
        let router = app::router(shared.clone());
        let task = tokio::spawn(accept_loop(listener, router));
        tracing::info!(%addr, "qqmusic-sim listening");
        Ok(Simulator { addr, task, shared })
    }

    /// The bound address (with the real port when `listen` asked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://IP:PORT`, the `{upstream}` for clients.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every secret issued so far: musickeys, refresh keys and tokens, access
    /// tokens, COS SecretKeys and session tokens, and the login secrets
    /// (qrsig, ptsigx, p_skey, pt4_token, codes, client keys). Empty if a lock is poisoned.
    pub fn issued_secrets(&self) -> Vec<String> {
        self.shared.secrets().unwrap_or_default()
    }

    /// Every remembered login QR, newest first (`GET /_sim/qr`).
    pub fn qr_logins(&self) -> Vec<QrLoginInfo> {
        login::admin::qr_logins(&self.shared).unwrap_or_default()
    }

    /// Plays the phone on a login QR (`POST /_sim/qr/{ident}`): answers the
    /// new state and, for a confirm, the uin logged in (a new account of
    /// the QR's kind when `uin` is None).
    pub fn qr_action(
        &self,
        ident: &str,
        action: QrAction,
        uin: Option<u64>,
    ) -> Result<(QrState, Option<u64>), ControlError> {
        login::admin::qr_action(&self.shared, ident, action, uin)
    }

    /// Plays a logged-in desktop QQ (`POST /_sim/clients`): answers
    /// (client_uin, client_key), for a new QQ account when `uin` is None.
    pub fn new_client(&self, uin: Option<u64>) -> Result<(u64, String), ControlError> {
        login::admin::new_client(&self.shared, uin)
    }

    /// Ends the desktop session of `uin` (`POST /_sim/clients/{uin}/expire`).
    pub fn expire_client(&self, uin: u64) -> Result<(), ControlError> {
        login::admin::expire_client(&self.shared, uin)
    }

    /// Sets who is logged in on the simulated desktop QQ (`POST
    /// /_sim/desktop`): `(uin, nickname)` each, a new QQ account when uin is
    /// None, nickname `sim-<uin>` when None. Answers the list as set.
    pub fn set_desktop(
        &self,
        accounts: &[(Option<u64>, Option<String>)],
    ) -> Result<Vec<(u64, String)>, ControlError> {
        login::admin::set_desktop(&self.shared, accounts)
    }

    /// Moves the sim clock forward (`POST /_sim/clock`).
    pub fn advance_clock(&self, secs: u64) {
        self.shared.clock.advance_secs(secs);
    }

    /// Serves until the process ends, for the binary.
    pub async fn wait(mut self) {
        // The accept loop only ends when aborted, so this is "forever".
        let _ = (&mut self.task).await;
    }
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("addr", &self.addr)
            .finish()
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        // Aborting the loop drops its JoinSet, which aborts every connection.
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, router: Router) {
    let mut conns = JoinSet::new();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                // E.g. out of file descriptors: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        while conns.try_join_next().is_some() {}
        conns.spawn(serve_connection(stream, router.clone()));
    }
}

async fn serve_connection(stream: TcpStream, router: Router) {
    // Small JSON answers: do not let Nagle hold them back.
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let router = router.clone();
        async move {
            let resp = match router.oneshot(req).await {
                Ok(resp) => resp,
                Err(never) => match never {},
            };
            if resp.extensions().get::<DropConnection>().is_some() {
                return Err(Dropped);
            }
            Ok::<_, Dropped>(resp)
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service)
        // The push host's WebSocket (`/ws/handshake`) takes the connection over.
        .with_upgrades();
    if let Err(e) = conn.await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
