//! The app QR's push connection (docs/protocol.md section 10.1 steps 2 and
//! 3): MQTT 5 over a WebSocket to the push host. Packets are framed by
//! rumqttc's v5 codec (its event loop cannot hand over a refused CONNACK's
//! Server Reference, which the redirect needs); this file only says which
//! packets to send and what the answers mean.

use super::secret::Secret;
use super::LoginError;
use bytes::BytesMut;
use futures::{SinkExt, StreamExt};
use rumqttc::v5::mqttbytes::v5::{
    ConnAck, Connect, ConnectProperties, ConnectReturnCode, Filter, Packet, PingReq, Publish,
    Subscribe, SubscribeProperties, SubscribeReasonCode,
};
use rumqttc::v5::mqttbytes::{Error as MqttError, QoS};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::{timeout, timeout_at, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{header, HeaderValue};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};
use url::Url;

/// Section 10.1: keep-alive 45 s unless the CONNACK says otherwise.
const KEEP_ALIVE: u16 = 45;
/// Section 10.1: follow a redirect at most 3 times.
const MAX_REDIRECTS: usize = 3;
/// The largest packet read; the push host's messages are small JSON.
const MAX_PACKET: u32 = 256 * 1024;

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
        let connecting =
            tokio_tungstenite::connect_async_tls_with_config(request, None, false, Some(connector));
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

/// Section 10.1's CONNECT: client id `<unix ms><4 random digits>`, keep-alive
/// 45 s, clean start, Authentication Method `pass` and the five User
/// Properties in their order.
fn connect_packet(qrcode_id: &str) -> Connect {
    let client_id = format!(
        "{}{:04}",
        super::wire::now_ms(),
        rand::random::<u16>() % 10_000
    );
    let user_properties = [
        ("tmeAppID", "qqmusic"),
        ("business", "management"),
        ("hashTag", qrcode_id),
        ("clientTag", "management.user"),
        ("userID", qrcode_id),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    Connect {
        keep_alive: KEEP_ALIVE,
        client_id,
        clean_start: true,
        properties: Some(ConnectProperties {
            authentication_method: Some("pass".into()),
            user_properties,
            ..ConnectProperties::new()
        }),
    }
}

/// Section 10.1's SUBSCRIBE: QoS 0 to the QR's topic, with its two User Properties.
fn subscribe_packet(qrcode_id: &str) -> Subscribe {
    let properties = SubscribeProperties {
        id: None,
        user_properties: vec![
            ("authorization".into(), "tmelogin".into()),
            ("pubsub".into(), "unicast".into()),
        ],
    };
    let mut subscribe = Subscribe::new(
        Filter::new(
            format!("management.qrcode_login/{qrcode_id}"),
            QoS::AtMostOnce,
        ),
        Some(properties),
    );
    subscribe.pkid = 1;
    subscribe
}

enum Connected {
    /// With the keep-alive to use.
    Yes(u16),
    /// Redirected, with the Server Reference.
    Elsewhere(String),
}

fn connack(ack: ConnAck) -> Result<Connected, LoginError> {
    let (keep_alive, reference) = ack
        .properties
        .map_or((None, None), |p| (p.server_keep_alive, p.server_reference));
    match ack.code {
        ConnectReturnCode::Success => Ok(Connected::Yes(keep_alive.unwrap_or(KEEP_ALIVE))),
        ConnectReturnCode::UseAnotherServer | ConnectReturnCode::ServerMoved => reference
            .filter(|r| !r.is_empty())
            .map(Connected::Elsewhere)
            .ok_or(LoginError::Protocol(
                "push host redirected without a Server Reference",
            )),
        code => Err(LoginError::PushRefused {
            step: "CONNECT",
            reason: connack_reason(code),
        }),
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

/// A PUBLISH's meaning, by its `type` User Property; None for other types.
fn read_publish(publish: &Publish) -> Result<Option<Pushed>, LoginError> {
    let kind = publish
        .properties
        .as_ref()
        .and_then(|p| p.user_properties.iter().find(|(k, _)| k == "type"))
        .map(|(_, v)| v.as_str());
    Ok(Some(match kind {
        Some("scanned") => Pushed::Scanned,
        Some("canceled") => Pushed::Canceled,
        Some("timeout") => Pushed::Timeout,
        Some("loginFailed") => Pushed::LoginFailed,
        Some("cookies") => read_cookies(&publish.payload)?,
        _ => return Ok(None),
    }))
}

/// `{"cookies":{"qqmusic_uin":{"value":..},"qqmusic_key":{"value":..}}}`;
/// both values are required.
fn read_cookies(payload: &[u8]) -> Result<Pushed, LoginError> {
    let unreadable = || LoginError::Protocol("cookies message lacks a usable uin or key");
    let json: Value = serde_json::from_slice(payload).map_err(|_| unreadable())?;
    let value = |name: &str| json["cookies"][name]["value"].as_str().unwrap_or_default();
    let uin = value("qqmusic_uin");
    let uin = Some(uin)
        .filter(|u| !u.is_empty() && u.len() <= 20 && u.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|u| u.parse::<u64>().ok())
        .filter(|&u| u != 0)
        .ok_or_else(unreadable)?;
    let token = Secret::cookie(value("qqmusic_key")).ok_or_else(unreadable)?;
    Ok(Pushed::Cookies { uin, token })
}

/// The MQTT 5 reason code of a refused CONNACK, for the message.
fn connack_reason(code: ConnectReturnCode) -> u8 {
    use ConnectReturnCode as C;
    match code {
        C::Success => 0x00,
        C::RefusedProtocolVersion => 0x01,
        C::BadClientId => 0x02,
        C::ServiceUnavailable => 0x03,
        C::UnspecifiedError => 0x80,
        C::MalformedPacket => 0x81,
        C::ProtocolError => 0x82,
        C::ImplementationSpecificError => 0x83,
        C::UnsupportedProtocolVersion => 0x84,
        C::ClientIdentifierNotValid => 0x85,
        C::BadUserNamePassword => 0x86,
        C::NotAuthorized => 0x87,
        C::ServerUnavailable => 0x88,
        C::ServerBusy => 0x89,
        C::Banned => 0x8A,
        C::BadAuthenticationMethod => 0x8C,
        C::TopicNameInvalid => 0x90,
        C::PacketTooLarge => 0x95,
        C::QuotaExceeded => 0x97,
        C::PayloadFormatInvalid => 0x99,
        C::RetainNotSupported => 0x9A,
        C::QoSNotSupported => 0x9B,
        C::UseAnotherServer => 0x9C,
        C::ServerMoved => 0x9D,
        C::ConnectionRateExceeded => 0x9F,
    }
}

fn suback_reason(code: SubscribeReasonCode) -> u8 {
    use SubscribeReasonCode as S;
    match code {
        S::Success(qos) => qos as u8,
        S::Failure | S::Unspecified => 0x80,
        S::ImplementationSpecific => 0x83,
        S::NotAuthorized => 0x87,
        S::TopicFilterInvalid => 0x8F,
        S::PkidInUse => 0x91,
        S::QuotaExceeded => 0x97,
        S::SharedSubscriptionsNotSupported => 0x9E,
        S::SubscriptionIdNotSupported => 0xA1,
        S::WildcardSubscriptionsNotSupported => 0xA2,
    }
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

    #[test]
    fn the_connect_carries_section_10_1s_properties_in_order() {
        let c = connect_packet("QRID");
        assert_eq!(c.keep_alive, 45);
        assert!(c.clean_start);
        assert!(c.client_id.len() >= 17 && c.client_id.bytes().all(|b| b.is_ascii_digit()));
        let p = c.properties.expect("properties");
        assert_eq!(p.authentication_method.as_deref(), Some("pass"));
        let names: Vec<_> = p
            .user_properties
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert_eq!(
            names,
            [
                "tmeAppID=qqmusic",
                "business=management",
                "hashTag=QRID",
                "clientTag=management.user",
                "userID=QRID"
            ]
        );
        let s = subscribe_packet("QRID");
        assert_eq!(s.filters[0].path, "management.qrcode_login/QRID");
        assert_eq!(s.filters[0].qos, QoS::AtMostOnce);
    }

    fn ack(code: ConnectReturnCode, keep_alive: Option<u16>, reference: Option<&str>) -> ConnAck {
        let properties = rumqttc::v5::mqttbytes::v5::ConnAckProperties {
            session_expiry_interval: None,
            receive_max: None,
            max_qos: None,
            retain_available: None,
            max_packet_size: None,
            assigned_client_identifier: None,
            topic_alias_max: None,
            reason_string: None,
            user_properties: Vec::new(),
            wildcard_subscription_available: None,
            subscription_identifiers_available: None,
            shared_subscription_available: None,
            server_keep_alive: keep_alive,
            response_information: None,
            server_reference: reference.map(str::to_owned),
            authentication_method: None,
            authentication_data: None,
        };
        ConnAck {
            session_present: false,
            code,
            properties: Some(properties),
        }
    }

    #[test]
    fn a_connack_gives_the_keep_alive_a_node_to_go_to_or_the_refusals_reason() {
        use ConnectReturnCode as C;
        assert!(matches!(
            connack(ack(C::Success, Some(40), None)),
            Ok(Connected::Yes(40))
        ));
        assert!(matches!(
            connack(ack(C::Success, None, None)),
            Ok(Connected::Yes(45))
        ));
        assert!(
            matches!(connack(ack(C::UseAnotherServer, None, Some("n:1"))), Ok(Connected::Elsewhere(r)) if r == "n:1")
        );
        assert!(matches!(
            connack(ack(C::ServerMoved, None, None)),
            Err(LoginError::Protocol(_))
        ));
        assert!(matches!(
            connack(ack(C::NotAuthorized, None, None)),
            Err(LoginError::PushRefused {
                step: "CONNECT",
                reason: 0x87
            })
        ));
    }

    #[test]
    fn a_cookies_message_needs_both_values() {
        let ok = br#"{"cookies":{"qqmusic_uin":{"value":"12345678"},"qqmusic_key":{"value":"Q_H_L_x"}}}"#;
        assert!(matches!(
            read_cookies(ok),
            Ok(Pushed::Cookies {
                uin: 12_345_678,
                ..
            })
        ));
        let no_key = br#"{"cookies":{"qqmusic_uin":{"value":"12345678"}}}"#;
        assert!(read_cookies(no_key).is_err());
        let bad_uin = br#"{"cookies":{"qqmusic_uin":{"value":"12a"},"qqmusic_key":{"value":"k"}}}"#;
        assert!(read_cookies(bad_uin).is_err());
        assert!(read_cookies(b"not json").is_err());
    }
}
