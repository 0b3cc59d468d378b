//! The QQ Music app QR's push host (docs/protocol.md section 10.1 step 2
//! and 3): MQTT 5 over a WebSocket at `/ws/handshake`, enough of it to
//! check a client's CONNECT and SUBSCRIBE as the section states them and
//! to publish the QR's states as `/_sim/qr` drives them.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use rumqttc::v5::mqttbytes::v5::{
    ConnAck, ConnAckProperties, ConnectReturnCode, Packet, PingResp, Publish, PublishProperties,
    SubAck, Subscribe, SubscribeReasonCode,
};
use rumqttc::v5::mqttbytes::{Error as MqttError, QoS};
use serde_json::json;

use super::store::{QrKind, QrState};
use crate::app::{AppState, Shared};

/// The CONNACK's Server Keep Alive: the client must ping this often.
pub const SERVER_KEEP_ALIVE: u16 = 40;
/// How often a subscribed connection looks at its QR's state.
const RECHECK: Duration = Duration::from_millis(100);
/// The largest packet read: a CONNECT or SUBSCRIBE is far smaller.
const MAX_PACKET: u32 = 64 * 1024;
/// The topic prefix a QR's messages are published on.
pub const TOPIC_PREFIX: &str = "management.qrcode_login/";

/// `GET /ws/handshake`
pub async fn handshake(
    State(sim): State<AppState>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    upgrade(sim, "/ws/handshake".into(), &headers, ws)
}

/// `GET /ws/handshake/{node}`: where a redirect's Server Reference leads.
pub async fn handshake_node(
    State(sim): State<AppState>,
    Path(node): Path<String>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    upgrade(sim, format!("/ws/handshake/{node}"), &headers, ws)
}

fn upgrade(sim: AppState, path: String, headers: &HeaderMap, ws: WebSocketUpgrade) -> Response {
    count(&sim, "push.handshake");
    count(&sim, &format!("push.handshake:{path}"));
    let offered = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim() == "mqtt"));
    if !offered {
        return (
            StatusCode::BAD_REQUEST,
            "WebSocket subprotocol mqtt required",
        )
            .into_response();
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if origin != Some("https://y.qq.com") {
        return (StatusCode::FORBIDDEN, "Origin must be https://y.qq.com").into_response();
    }
    ws.protocols(["mqtt"]).on_upgrade(move |socket| async move {
        session(&sim, socket).await;
        count(&sim, "push.closed");
    })
}

fn count(sim: &Shared, what: &str) {
    if let Ok(mut journal) = sim.journal() {
        journal.count(what);
    }
}

/// One client connection: CONNECT, then SUBSCRIBE and pings, then the QR's
/// states as they change, until the client goes.
async fn session(sim: &Shared, mut socket: WebSocket) {
    let mut buf = BytesMut::new();
    let Some(Packet::Connect(connect, _, _)) = next_packet(&mut socket, &mut buf).await else {
        return;
    };
    count(sim, "push.connect");
    let ident = match check_connect(sim, &connect) {
        Ok(ident) => ident,
        Err((code, why)) => {
            tracing::info!(why, "push host refused a CONNECT");
            let props = ConnAckProperties {
                reason_string: Some(why.into()),
                ..connack_properties()
            };
            let _ = send(&mut socket, Packet::ConnAck(connack(code, props))).await;
            return;
        }
    };
    let redirect = sim.logins().ok().and_then(|mut l| l.take_redirect());
    if let Some(redirect) = redirect {
        let code = if redirect.reason == 0x9D {
            ConnectReturnCode::ServerMoved
        } else {
            ConnectReturnCode::UseAnotherServer
        };
        let props = ConnAckProperties {
            server_reference: Some(redirect.reference),
            ..connack_properties()
        };
        count(sim, "push.redirected");
        let _ = send(&mut socket, Packet::ConnAck(connack(code, props))).await;
        return;
    }
    let props = ConnAckProperties {
        server_keep_alive: Some(SERVER_KEEP_ALIVE),
        ..connack_properties()
    };
    let accepted = connack(ConnectReturnCode::Success, props);
    if send(&mut socket, Packet::ConnAck(accepted)).await.is_err() {
        return;
    }
    count(sim, "push.connected");
    let epoch = sim.logins().map(|l| l.push_epoch()).unwrap_or_default();
    let mut subscribed = false;
    // A new QR counts as having told "waiting".
    let mut told = QrState::Waiting;
    let mut tick = tokio::time::interval(RECHECK);
    loop {
        tokio::select! {
            packet = next_packet(&mut socket, &mut buf) => {
                let reply = match packet {
                    Some(Packet::Subscribe(s)) => {
                        let ok = subscription_ok(&s, &ident);
                        subscribed |= ok;
                        count(sim, if ok { "push.subscribed" } else { "push.subscribe_refused" });
                        Packet::SubAck(suback(&s, ok))
                    }
                    Some(Packet::PingReq(_)) => {
                        count(sim, "push.ping");
                        Packet::PingResp(PingResp)
                    }
                    Some(Packet::Disconnect(_)) | None => return,
                    Some(_) => continue,
                };
                if send(&mut socket, reply).await.is_err() {
                    return;
                }
            }
            _ = tick.tick() => {
                // `/_sim/push/drop`: the connection breaks without a word.
                if sim.logins().map(|l| l.push_epoch()).unwrap_or_default() != epoch {
                    count(sim, "push.dropped");
                    return;
                }
                if !subscribed {
                    continue;
                }
                let Some(publish) = state_change(sim, &ident, &mut told) else { continue };
                if send(&mut socket, Packet::Publish(publish)).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// The CONNECT section 10.1 describes, for a known app QR: answers its
/// qrcodeID, or the CONNACK reason that refuses it and why.
fn check_connect(
    sim: &Shared,
    connect: &rumqttc::v5::mqttbytes::v5::Connect,
) -> Result<String, (ConnectReturnCode, &'static str)> {
    let props = connect.properties.as_ref();
    if props.and_then(|p| p.authentication_method.as_deref()) != Some("pass") {
        return Err((
            ConnectReturnCode::BadAuthenticationMethod,
            "authentication method must be pass",
        ));
    }
    let users = props.map(|p| p.user_properties.as_slice()).unwrap_or(&[]);
    let id = users
        .iter()
        .find(|(k, _)| k == "userID")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let expected = [
        ("tmeAppID", "qqmusic"),
        ("business", "management"),
        ("hashTag", id.as_str()),
        ("clientTag", "management.user"),
        ("userID", id.as_str()),
    ];
    let exact = users.len() == expected.len()
        && users
            .iter()
            .zip(expected)
            .all(|((k, v), (ek, ev))| k == ek && v == ev);
    if !exact {
        return Err((
            ConnectReturnCode::NotAuthorized,
            "user properties must be tmeAppID, business, hashTag, clientTag, userID",
        ));
    }
    if !connect.clean_start || connect.client_id.is_empty() {
        return Err((
            ConnectReturnCode::ClientIdentifierNotValid,
            "clean start with a client id",
        ));
    }
    let known = sim.logins().ok().is_some_and(|mut l| {
        l.get(&id, sim.clock.now())
            .is_some_and(|q| q.kind == QrKind::App)
    });
    if !known {
        return Err((ConnectReturnCode::NotAuthorized, "unknown qrcodeID"));
    }
    Ok(id)
}

fn subscription_ok(s: &Subscribe, ident: &str) -> bool {
    let users = s
        .properties
        .as_ref()
        .map(|p| p.user_properties.as_slice())
        .unwrap_or(&[]);
    let has = |k: &str, v: &str| users.iter().any(|(pk, pv)| pk == k && pv == v);
    s.filters.len() == 1
        && s.filters[0].path == format!("{TOPIC_PREFIX}{ident}")
        && s.filters[0].qos == QoS::AtMostOnce
        && has("authorization", "tmelogin")
        && has("pubsub", "unicast")
}

fn suback(s: &Subscribe, ok: bool) -> SubAck {
    let code = if ok {
        SubscribeReasonCode::Success(QoS::AtMostOnce)
    } else {
        SubscribeReasonCode::NotAuthorized
    };
    SubAck {
        pkid: s.pkid,
        return_codes: vec![code; s.filters.len().max(1)],
        properties: None,
    }
}

/// The message for the QR's state, when it changed since `told`.
fn state_change(sim: &Shared, ident: &str, told: &mut QrState) -> Option<Publish> {
    let (state, uin, token) = {
        let mut logins = sim.logins().ok()?;
        let login = logins.get(ident, sim.clock.now())?;
        (login.state(), login.uin, login.token.clone())
    };
    if state == *told {
        return None;
    }
    *told = state;
    let (kind, payload) = match state {
        QrState::Waiting => return None,
        QrState::Scanned => ("scanned", json!({})),
        QrState::Refused => ("canceled", json!({})),
        QrState::Expired => ("timeout", json!({})),
        QrState::Failed => ("loginFailed", json!({"msg": "simulated login failure"})),
        QrState::Confirmed => (
            "cookies",
            json!({"cookies": {
                "qqmusic_uin": {"value": uin.unwrap_or_default().to_string()},
                "qqmusic_key": {"value": token.unwrap_or_default()},
                "qm_keyst": {"value": ""},
            }}),
        ),
    };
    count(sim, &format!("push.publish.{kind}"));
    let props = PublishProperties {
        user_properties: vec![("type".into(), kind.into())],
        ..PublishProperties::default()
    };
    Some(Publish::new(
        format!("{TOPIC_PREFIX}{ident}"),
        QoS::AtMostOnce,
        payload.to_string(),
        Some(props),
    ))
}

fn connack(code: ConnectReturnCode, properties: ConnAckProperties) -> ConnAck {
    ConnAck {
        session_present: false,
        code,
        properties: Some(properties),
    }
}

fn connack_properties() -> ConnAckProperties {
    ConnAckProperties {
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
        server_keep_alive: None,
        response_information: None,
        server_reference: None,
        authentication_method: None,
        authentication_data: None,
    }
}

async fn send(socket: &mut WebSocket, packet: Packet) -> Result<(), ()> {
    let mut out = BytesMut::new();
    packet.write(&mut out, None).map_err(|_| ())?;
    socket
        .send(Message::Binary(out.freeze()))
        .await
        .map_err(|_| ())
}

/// The next whole packet; None when the client went or sent something
/// that is not MQTT 5.
async fn next_packet(socket: &mut WebSocket, buf: &mut BytesMut) -> Option<Packet> {
    loop {
        match Packet::read(buf, Some(MAX_PACKET)) {
            Ok(packet) => return Some(packet),
            Err(MqttError::InsufficientBytes(_)) => {}
            Err(_) => return None,
        }
        match socket.recv().await? {
            Ok(Message::Binary(bytes)) => buf.extend_from_slice(&bytes),
            Ok(Message::Ping(_) | Message::Pong(_)) => {}
            Ok(Message::Text(_) | Message::Close(_)) | Err(_) => return None,
        }
    }
}
