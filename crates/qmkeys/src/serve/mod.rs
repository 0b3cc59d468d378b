//! The accept loop in front of the router: what a client on the network can
//! hold of this process is bounded here, before a request exists.
//!
//! - At most `max_connections` connections are open, and at most
//!   `max_connections_per_client` from one client (`domain::ClientId`: an
//!   IPv4 address or an IPv6 prefix). A connection past either cap is closed
//!   as it is accepted, which also gives its file descriptor back at once. A
//!   trusted proxy carries many clients, so its own connections count only
//!   against the total.
//! - Each connection is watched (`conn.rs`): request headers must be complete
//!   `header_timeout` after their first byte (and a new connection must send
//!   its first request within that time), a connection with no request in
//!   flight is closed after `idle_timeout`, and hyper buffers at most
//!   `max_header_bytes` of headers.
//! - An accept error such as EMFILE backs off (10 ms doubling to 1 s) and is
//!   logged at most once a step, instead of spinning; connections already open
//!   are served meanwhile, each on its own task.
//! - With `tls` the same holds for HTTPS; the TLS handshake must finish within
//!   `header_timeout` too (`tls.rs`).

mod conn;
mod slots;
pub mod tls;

use crate::backoff::Backoff;
use crate::http::client::ClientResolver;
use crate::http::front::Answer;
use crate::metrics::Metrics;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use slots::Slots;

/// How connections are bounded; see the module docs.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_header_bytes: usize,
    pub max_connections: usize,
    pub max_connections_per_client: usize,
}

/// Serves `router` on `listener` until `shutdown` completes, then lets open
/// connections finish their requests (the caller bounds how long).
pub async fn serve<A: Answer>(
    listener: TcpListener,
    app: A,
    settings: ServeSettings,
    clients: ClientResolver,
    tls: Option<Arc<tls::Acceptor>>,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let slots = Arc::new(Slots::new(
        settings.max_connections,
        settings.max_connections_per_client,
    ));
    let (stop_tx, stop_rx) = watch::channel(false);
    let shared = Arc::new(conn::Shared {
        app,
        settings,
        tls,
        metrics: metrics.clone(),
        stop: stop_rx,
    });
    let mut shutdown = std::pin::pin!(shutdown);
    let mut backoff = AcceptFailures::default();
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff.reset();
                let exempt = clients.is_trusted(peer.ip());
                let Some(slot) = slots.take(clients.peer(peer.ip()), exempt) else {
                    metrics.connections_refused.inc();
                    // Dropping the stream closes it: no buffer, no task.
                    continue;
                };
                tokio::spawn(conn::run(shared.clone(), stream, peer, slot));
            }
            // The peer gave up before we took it: nothing wrong here.
            Err(e) if is_per_connection(&e) => {}
            Err(e) => {
                let pause = backoff.next();
                if backoff.should_log() {
                    tracing::warn!(error = %e, ?pause, "accept failed; pausing before the next");
                }
                metrics.accept_errors.inc();
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(pause) => {}
                }
            }
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    slots.wait_empty().await;
}

/// Errors about one connection, after which accepting the next is right.
fn is_per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted | WouldBlock
    )
}

/// Failed accepts in a row, paced by the one backoff (10 ms doubling to
/// 1 s) and logged on the first failure and then on each that doubles, so a
/// long EMFILE spell writes a handful of lines, not one a millisecond.
#[derive(Debug, Default)]
struct AcceptFailures {
    in_a_row: u32,
}

impl AcceptFailures {
    const PACE: Backoff = Backoff {
        first: Duration::from_millis(10),
        factor: 2,
        max: Duration::from_secs(1),
        jitter: 0.0,
    };

    fn next(&mut self) -> Duration {
        self.in_a_row = self.in_a_row.saturating_add(1);
        Self::PACE.pause(self.in_a_row)
    }

    fn should_log(&self) -> bool {
        self.in_a_row.is_power_of_two()
    }

    fn reset(&mut self) {
        self.in_a_row = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_backoff_doubles_to_a_second_and_logs_rarely() {
        let mut b = AcceptFailures::default();
        let pauses: Vec<_> = (0..10).map(|_| b.next().as_millis()).collect();
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
        let mut logged = 0;
        let mut b = AcceptFailures::default();
        for _ in 0..1000 {
            b.next();
            logged += usize::from(b.should_log());
        }
        assert_eq!(logged, 10, "1, 2, 4, ... 512");
        b.reset();
        assert_eq!(b.next(), Duration::from_millis(10));
    }

    #[test]
    fn only_per_connection_errors_are_passed_over() {
        use std::io::{Error, ErrorKind};
        assert!(is_per_connection(&Error::from(
            ErrorKind::ConnectionAborted
        )));
        // EMFILE and ENFILE have no ErrorKind of their own.
        assert!(!is_per_connection(&Error::from_raw_os_error(24)));
        assert!(!is_per_connection(&Error::from_raw_os_error(23)));
    }
}
