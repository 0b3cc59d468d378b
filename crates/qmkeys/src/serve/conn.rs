//! One connection: hyper's HTTP/1 server with a small header buffer, and a
//! watchdog that closes it when its headers are slow or it sits idle.
//!
//! hyper's own header timer starts whenever it waits for a head, idle time
//! included, so it cannot tell "slow headers" (short) from "idle keep-alive"
//! (longer). The watchdog can: the stream wrapper notes the first byte of a
//! head, and the service notes when a request starts and when its answer has
//! been written.

use super::slots::Slot;
use super::ServeSettings;
use crate::http::front::Answer;
use crate::metrics::Metrics;
use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{sleep_until, Instant};

/// What every connection of one listener shares.
pub(super) struct Shared<A> {
    pub app: A,
    pub settings: ServeSettings,
    pub tls: Option<Arc<super::tls::Acceptor>>,
    pub metrics: Arc<Metrics>,
    /// Turns true at shutdown: finish the request in flight, then close.
    pub stop: watch::Receiver<bool>,
}

pub(super) async fn run<A: Answer>(
    shared: Arc<Shared<A>>,
    stream: TcpStream,
    peer: SocketAddr,
    slot: Slot,
) {
    // Held for the connection's whole life, handshake included.
    let _slot = slot;
    let _ = stream.set_nodelay(true);
    // The first request's header timeout runs from here, handshake included.
    let opened = Instant::now();
    let Some(tls) = &shared.tls else {
        return serve_io(&shared, stream, peer, opened).await;
    };
    match tokio::time::timeout(shared.settings.header_timeout, tls.accept(stream)).await {
        Ok(Ok(stream)) => serve_io(&shared, stream, peer, opened).await,
        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
        Err(_) => shared
            .metrics
            .connections_closed
            .with_label_values(&["tls_timeout"])
            .inc(),
    }
}

async fn serve_io<A: Answer, S>(shared: &Shared<A>, stream: S, peer: SocketAddr, opened: Instant)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::since(opened));
    let io = Watched::new(stream, activity.clone());
    let settings = &shared.settings;
    let app = shared.app.clone();
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            let guard = InFlight::start(activity.clone());
            req.extensions_mut().insert(ConnectInfo(peer));
            let answer = app.answer(req);
            async move {
                let response = answer.await;
                // A body of known length is written at once: the request
                // ends here (and a client too slow to read it is then held to
                // the idle timeout). A stream (a QR login) holds the request
                // open until its last byte; only that costs a box.
                if response.body().size_hint().exact().is_some() {
                    drop(guard);
                    return Ok::<_, std::convert::Infallible>(response);
                }
                Ok(response.map(|body| {
                    Body::new(Tracked {
                        body,
                        _guard: guard,
                    })
                }))
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        // A backstop only: the watchdog below closes slow or idle
        // connections first.
        .header_read_timeout(settings.idle_timeout + settings.header_timeout)
        .max_buf_size(settings.max_header_bytes)
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    let mut conn = std::pin::pin!(conn);
    let mut stop = shared.stop.clone();
    let mut stopping = false;
    loop {
        let wake = activity
            .deadline(settings)
            .map_or(Instant::now() + settings.header_timeout, |(at, _)| at);
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            () = sleep_until(wake) => {
                if let Some((at, reason)) = activity.deadline(settings) {
                    if at <= Instant::now() {
                        shared.metrics.connections_closed.with_label_values(&[reason]).inc();
                        // Dropping the connection closes the socket.
                        return;
                    }
                }
            }
            _ = stop.wait_for(|s| *s), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// What the watchdog knows of one connection, in milliseconds since it opened.
struct Activity {
    opened: Instant,
    in_flight: AtomicU32,
    /// When the connection last became idle (opened, or an answer written).
    idle_since: AtomicU64,
    /// When the first byte of the next head arrived; `NONE` until one does.
    head_at: AtomicU64,
    /// Bytes came in while a request was in flight (a pipelined head).
    read_in_flight: AtomicBool,
    /// Whether any request has started: a new connection gets the header
    /// timeout for its first request, not the idle timeout.
    served: AtomicBool,
}

const NONE: u64 = u64::MAX;

impl Activity {
    fn since(opened: Instant) -> Self {
        Self {
            opened,
            in_flight: AtomicU32::new(0),
            idle_since: AtomicU64::new(0),
            head_at: AtomicU64::new(NONE),
            read_in_flight: AtomicBool::new(false),
            served: AtomicBool::new(false),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(NONE - 1)
    }

    fn at(&self, ms: u64) -> Instant {
        self.opened + std::time::Duration::from_millis(ms)
    }

    fn bytes_read(&self) {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            self.read_in_flight.store(true, Ordering::Relaxed);
        } else if self.head_at.load(Ordering::Relaxed) == NONE {
            self.head_at.store(self.now(), Ordering::Relaxed);
        }
    }

    /// When the connection must be closed if nothing changes, and why.
    fn deadline(&self, s: &ServeSettings) -> Option<(Instant, &'static str)> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            // A request is bounded by request_timeout; a login stream by its QR.
            return None;
        }
        let head = self.head_at.load(Ordering::Relaxed);
        if head != NONE {
            return Some((self.at(head) + s.header_timeout, "header_timeout"));
        }
        let since = self.at(self.idle_since.load(Ordering::Relaxed));
        if !self.served.load(Ordering::Relaxed) {
            return Some((since + s.header_timeout, "header_timeout"));
        }
        Some((since + s.idle_timeout, "idle_timeout"))
    }
}

/// A request from its start until its answer has been written (or dropped).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: Arc<Activity>) -> Self {
        activity.served.store(true, Ordering::Relaxed);
        activity.head_at.store(NONE, Ordering::Relaxed);
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        Self(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let a = &self.0;
        let now = a.now();
        a.idle_since.store(now, Ordering::Relaxed);
        if a.read_in_flight.swap(false, Ordering::Relaxed) {
            // The next head began while this answer was written.
            a.head_at.store(now, Ordering::Relaxed);
        }
        a.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The answer's body, holding the request's [`InFlight`] until hyper has
/// written it all (or given up on it).
struct Tracked {
    body: Body,
    _guard: InFlight,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The connection's stream, telling [`Activity`] when bytes arrive.
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> Watched<S> {
    fn new(inner: S, activity: Arc<Activity>) -> Self {
        Self { inner, activity }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_read();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn settings() -> ServeSettings {
        ServeSettings {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_header_bytes: 16_384,
            max_connections: 10,
            max_connections_per_client: 10,
        }
    }

    fn after(a: &Activity, d: Option<(Instant, &'static str)>) -> Option<(Duration, &'static str)> {
        d.map(|(at, why)| (at - a.opened, why))
    }

    #[test]
    fn a_new_connection_must_send_its_head_within_the_header_timeout() {
        let a = Arc::new(Activity::since(Instant::now()));
        let s = settings();
        assert_eq!(
            after(&a, a.deadline(&s)),
            Some((Duration::from_secs(10), "header_timeout"))
        );
        let guard = InFlight::start(a.clone());
        assert_eq!(a.deadline(&s), None, "nothing closes a request in flight");
        a.bytes_read();
        drop(guard);
        let (at, why) = a.deadline(&s).expect("a deadline");
        assert_eq!(
            why, "header_timeout",
            "a head read during the answer is timed"
        );
        assert!(at - a.opened < Duration::from_secs(11));
    }

    #[test]
    fn after_an_answer_the_idle_timeout_runs_until_a_byte_arrives() {
        let a = Arc::new(Activity::since(Instant::now()));
        let s = settings();
        drop(InFlight::start(a.clone()));
        let (at, why) = a.deadline(&s).expect("idle");
        assert_eq!(why, "idle_timeout");
        assert!(at - a.opened >= Duration::from_secs(60));
        a.bytes_read();
        assert_eq!(a.deadline(&s).map(|d| d.1), Some("header_timeout"));
        // More bytes of the same head do not move its deadline.
        let first = a.deadline(&s);
        a.bytes_read();
        assert_eq!(a.deadline(&s), first);
    }
}
