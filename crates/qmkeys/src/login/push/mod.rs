//! The app QR's push connection (docs/protocol.md section 10.1 steps 2 and
//! 3): MQTT 5 over a WebSocket to the push host. Packets are framed by
//! rumqttc's v5 codec (its event loop cannot hand over a refused CONNACK's
//! Server Reference, which the redirect needs); this file holds the
//! session (handshake, redirects, keep-alive), `packets.rs` says which
//! packets to send and what the answers mean.

mod packets;

use super::secret::Secret;
use super::LoginError;
use bytes::BytesMut;
use futures::{SinkExt, StreamExt};
use packets::{connack, connect_packet, read_publish, suback_reason, subscribe_packet, Connected};
use rumqttc::v5::mqttbytes::v5::{Packet, PingReq, SubscribeReasonCode};
use rumqttc::v5::mqttbytes::Error as MqttError;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::{timeout, timeout_at, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{header, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};
use url::Url;

/// Section 10.1: keep-alive 45 s unless the CONNACK says otherwise.
const KEEP_ALIVE: u16 = 45;
/// Section 10.1: follow a redirect at most 3 times.
const MAX_REDIRECTS: usize = 3;
/// The largest packet read; the push host's messages are small JSON.
const MAX_PACKET: u32 = 256 * 1024;
/// The push connection's read buffer (see `PushHost::open`).
const PUSH_READ_BUFFER: usize = 4 * 1024;

/// A message the push host published for this QR (`type` user property).
#[derive(Debug)]
pub(super) enum Pushed {
    Scanned,
    Canceled,
    Timeout,
    LoginFailed,
    /// `cookies`: the account and the token Login trades for a key.
    Cookies {
        uin: u64,
        token: Secret,
    },
}

/// How to reach the push host.
#[derive(Clone)]
pub(super) struct PushHost {
    pub url: Url,
    pub tls: Arc<rustls::ClientConfig>,
    pub connect_timeout: Duration,
    /// How long each answer (CONNACK, SUBACK) may take.
    pub timeout: Duration,
}

/// An open, subscribed connection; dropping it closes the socket.
pub(super) struct PushConn {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    buf: BytesMut,
    keep_alive: Duration,
    last_sent: Instant,
}

/// The TLS client for `wss://`: rustls with ring, as the rest of qmkeys.
pub(super) fn tls_config() -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    Ok(Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth(),
    ))
}

impl PushHost {
    /// Connects for `qrcode_id`: CONNECT (following up to 3 redirects),
    /// then SUBSCRIBE to its topic.
    pub(super) async fn open(&self, qrcode_id: &str) -> Result<PushConn, LoginError> {
        let mut url = self.url.clone();
        let mut redirects = 0;
        let mut conn = loop {
            let mut conn = self.handshake(&url).await?;
            conn.send(Packet::Connect(connect_packet(qrcode_id), None, None))
                .await?;
            let ack = match timeout(self.timeout, conn.read_packet("CONNACK")).await {
                Ok(Ok(Packet::ConnAck(ack))) => ack,
                Ok(Ok(_)) => return Err(LoginError::Protocol("push host answered no CONNACK")),
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    return Err(LoginError::Timeout {
                        step: "push CONNACK",
                    })
                }
            };
            match connack(ack)? {
                Connected::Yes(keep_alive) => {
                    conn.keep_alive = Duration::from_secs(u64::from(keep_alive.max(1)));
                    break conn;
                }
                Connected::Elsewhere(reference) if redirects < MAX_REDIRECTS => {
                    redirects += 1;
                    url = redirected(&url, &reference)?;
                    tracing::debug!(redirects, "push host redirected the CONNECT");
                }
                Connected::Elsewhere(_) => {
                    return Err(LoginError::Protocol(
                        "push host redirected more than 3 times",
                    ))
                }
            }
        };
        conn.send(Packet::Subscribe(subscribe_packet(qrcode_id)))
            .await?;
        match timeout(self.timeout, conn.read_packet("SUBACK")).await {
            Ok(Ok(Packet::SubAck(ack))) => match ack.return_codes.first() {
                Some(SubscribeReasonCode::Success(_)) => Ok(conn),
                Some(code) => Err(LoginError::PushRefused {
                    step: "SUBSCRIBE",
                    reason: suback_reason(*code),
                }),
                None => Err(LoginError::Protocol("push host answered an empty SUBACK")),
            },
            Ok(Ok(_)) => Err(LoginError::Protocol("push host answered no SUBACK")),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(LoginError::Timeout {
                step: "push SUBACK",
            }),
        }
    }

    async fn handshake(&self, url: &Url) -> Result<PushConn, LoginError> {
        let fail = |source| LoginError::Push {
            step: "push handshake",
            source,
        };
        let mut request = url.as_str().into_client_request().map_err(fail)?;
        let headers = request.headers_mut();
        headers.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("mqtt"),
        );
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://y.qq.com"));
        headers.insert(
            header::REFERER,
            HeaderValue::from_static("https://y.qq.com/"),
        );
        headers.insert(
            header::USER_AGENT,
            HeaderValue::from_static(super::wire::USER_AGENT),
        );
        let connector = Connector::Rustls(self.tls.clone());
        // tungstenite zero-fills its read buffer up to this size before each
        // read: at its default (128 KiB) every open app login held that much
        // resident. The push host's packets are a few hundred bytes; a larger
        // frame still grows the buffer as far as it needs.
        let config = WebSocketConfig::default().read_buffer_size(PUSH_READ_BUFFER);
        let connecting = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(config),
            false,
            Some(connector),
        );
        let (ws, _) = timeout(self.connect_timeout, connecting)
            .await
            .map_err(|_| LoginError::Timeout {
                step: "push handshake",
            })?
            .map_err(fail)?;
        Ok(PushConn {
            ws,
            buf: BytesMut::new(),
            keep_alive: Duration::from_secs(u64::from(KEEP_ALIVE)),
            last_sent: Instant::now(),
        })
    }
}

impl PushConn {
    /// The next message for this QR, pinging as the keep-alive asks. A
    /// message of another type is skipped (section 10.1 step 3).
    pub(super) async fn next(&mut self) -> Result<Pushed, LoginError> {
        loop {
            let ping_at = self.last_sent + self.keep_alive;
            let packet = match timeout_at(ping_at, self.read_packet("push message")).await {
                Ok(packet) => packet?,
                Err(_) => {
                    self.send(Packet::PingReq(PingReq)).await?;
                    continue;
                }
            };
            if let Packet::Publish(publish) = packet {
                if let Some(pushed) = read_publish(&publish)? {
                    return Ok(pushed);
                }
            }
        }
    }

    async fn send(&mut self, packet: Packet) -> Result<(), LoginError> {
        let mut out = BytesMut::new();
        packet
            .write(&mut out, None)
            .map_err(|_| LoginError::Protocol("an MQTT packet could not be written"))?;
        self.ws
            .send(Message::Binary(out.freeze()))
            .await
            .map_err(|source| LoginError::Push {
                step: "push send",
                source,
            })?;
        self.last_sent = Instant::now();
        Ok(())
    }

    /// The next whole packet; packets may span WebSocket messages.
    async fn read_packet(&mut self, step: &'static str) -> Result<Packet, LoginError> {
        loop {
            match Packet::read(&mut self.buf, Some(MAX_PACKET)) {
                Ok(packet) => return Ok(packet),
                Err(MqttError::InsufficientBytes(_)) => {}
                Err(_) => return Err(LoginError::Protocol("push host sent a malformed packet")),
            }
            match self.ws.next().await {
                Some(Ok(Message::Binary(bytes))) => self.buf.extend_from_slice(&bytes),
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Text(_))) => {
                    return Err(LoginError::Protocol("push host sent text, not MQTT"))
                }
                Some(Ok(Message::Close(_))) | None => {
                    return Err(LoginError::Push {
                        step,
                        source: tokio_tungstenite::tungstenite::Error::ConnectionClosed,
                    })
                }
                Some(Err(source)) => return Err(LoginError::Push { step, source }),
            }
        }
    }
}

/// Section 10.1: the reference replaces the last path segment when that
/// holds a `:`, else it is appended.
fn redirected(url: &Url, reference: &str) -> Result<Url, LoginError> {
    let bad = || LoginError::Protocol("push host named an unusable Server Reference");
    if reference.is_empty() || reference.len() > 255 || reference.contains(['/', '?', '#']) {
        return Err(bad());
    }
    let mut next = url.clone();
    let last_has_colon = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .is_some_and(|s| s.contains(':'));
    {
        let mut segments = next.path_segments_mut().map_err(|()| bad())?;
        if last_has_colon {
            segments.pop();
        } else {
            segments.pop_if_empty();
        }
        segments.push(reference);
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_appends_to_a_plain_path_and_replaces_a_node_segment() {
        let url: Url = "wss://mu.y.qq.com/ws/handshake".parse().expect("url");
        let once = redirected(&url, "node-b:443").expect("first");
        assert_eq!(once.as_str(), "wss://mu.y.qq.com/ws/handshake/node-b:443");
        let twice = redirected(&once, "node-c:443").expect("second");
        assert_eq!(twice.as_str(), "wss://mu.y.qq.com/ws/handshake/node-c:443");
        assert!(redirected(&url, "a/b").is_err());
        assert!(redirected(&url, &"n".repeat(256)).is_err());
    }
}
