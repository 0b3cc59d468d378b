//! The QQ Music app's QR (docs/protocol.md section 10.1): CreateQRCode, the
//! push host's MQTT 5 over `/ws/handshake`, and Login with tmeLoginType 6,
//! driven by a hand-made client that can leave things out.

use crate::common::{hash33, Harness};
use bytes::BytesMut;
use futures::{SinkExt, StreamExt};
use qqmusic_sim::QrAction;
use rumqttc::v5::mqttbytes::v5::{
    ConnAck, Connect, ConnectProperties, ConnectReturnCode, Filter, Packet, PingReq, Publish,
    Subscribe, SubscribeProperties, SubscribeReasonCode,
};
use rumqttc::v5::mqttbytes::{Error as MqttError, QoS};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const GUID: &str = "0123456789ABCDEF0123456789ABCDEF";

fn create_body() -> Value {
    json!({
        "comm": {"ct":"23","cv":"0","chid":"0","g_tk":"5381","guid":GUID},
        "req_0": {"module":"music.login.LoginServer","method":"CreateQRCode",
                  "param":{"tmeAppID":"qqmusic","ct":19,"cv":2201}},
    })
}

/// A new app QR: its qrcodeID.
async fn create(h: &Harness) -> String {
    let answer = h.musicu(&create_body(), None).await;
    assert_eq!(answer["req_0"]["code"], 0, "{answer}");
    let data = &answer["req_0"]["data"];
    assert!(data["qrcode"]
        .as_str()
        .is_some_and(|q| q.starts_with("data:image/png;base64,")));
    data["qrcodeID"].as_str().expect("qrcodeID").to_owned()
}

struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    buf: BytesMut,
}

impl Client {
    async fn open(h: &Harness, path: &str) -> Self {
        let url = h.url(path).replacen("http://", "ws://", 1);
        let mut request = url.into_client_request().expect("request");
        let headers = request.headers_mut();
        headers.insert("sec-websocket-protocol", HeaderValue::from_static("mqtt"));
        headers.insert("origin", HeaderValue::from_static("https://y.qq.com"));
        let (ws, response) = tokio_tungstenite::connect_async(request)
            .await
            .expect("the push host upgrades");
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            "mqtt",
            "it speaks the mqtt subprotocol"
        );
        Self {
            ws,
            buf: BytesMut::new(),
        }
    }

    async fn send(&mut self, packet: Packet) {
        let mut out = BytesMut::new();
        packet.write(&mut out, None).expect("written");
        self.ws
            .send(Message::Binary(out.freeze()))
            .await
            .expect("sent");
    }

    /// The next packet, or None once the host closed the connection.
    async fn next(&mut self) -> Option<Packet> {
        loop {
            match Packet::read(&mut self.buf, None) {
                Ok(p) => return Some(p),
                Err(MqttError::InsufficientBytes(_)) => {}
                Err(e) => panic!("not MQTT 5: {e}"),
            }
            let message = tokio::time::timeout(Duration::from_secs(5), self.ws.next())
                .await
                .expect("an answer within 5 s");
            match message {
                Some(Ok(Message::Binary(b))) => self.buf.extend_from_slice(&b),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    async fn connack(&mut self, connect: Connect) -> ConnAck {
        self.send(Packet::Connect(connect, None, None)).await;
        match self.next().await {
            Some(Packet::ConnAck(ack)) => ack,
            other => panic!("no CONNACK: {other:?}"),
        }
    }

    async fn publish(&mut self) -> Publish {
        loop {
            match self.next().await {
                Some(Packet::Publish(p)) => return p,
                Some(_) => {}
                None => panic!("closed before a PUBLISH"),
            }
        }
    }
}

fn connect(id: &str, users: &[(&str, &str)]) -> Connect {
    Connect {
        keep_alive: 45,
        client_id: "17000000000001234".into(),
        clean_start: true,
        properties: Some(ConnectProperties {
            authentication_method: Some("pass".into()),
            user_properties: users
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.replace("{id}", id)))
                .collect(),
            ..ConnectProperties::new()
        }),
    }
}

const USERS: [(&str, &str); 5] = [
    ("tmeAppID", "qqmusic"),
    ("business", "management"),
    ("hashTag", "{id}"),
    ("clientTag", "management.user"),
    ("userID", "{id}"),
];

fn subscribe(id: &str, users: &[(&str, &str)]) -> Subscribe {
    let props = SubscribeProperties {
        id: None,
        user_properties: users
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    };
    let mut s = Subscribe::new(
        Filter::new(format!("management.qrcode_login/{id}"), QoS::AtMostOnce),
        Some(props),
    );
    s.pkid = 1;
    s
}

const SUB_USERS: [(&str, &str); 2] = [("authorization", "tmelogin"), ("pubsub", "unicast")];

fn kind(p: &Publish) -> String {
    p.properties
        .as_ref()
        .and_then(|pp| pp.user_properties.iter().find(|(k, _)| k == "type"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// A connected, subscribed client for a new app QR.
async fn subscribed(h: &Harness) -> (String, Client) {
    let id = create(h).await;
    let mut c = Client::open(h, "/ws/handshake").await;
    let ack = c.connack(connect(&id, &USERS)).await;
    assert_eq!(ack.code, ConnectReturnCode::Success);
    c.send(Packet::Subscribe(subscribe(&id, &SUB_USERS))).await;
    match c.next().await {
        Some(Packet::SubAck(s)) => assert_eq!(
            s.return_codes,
            [SubscribeReasonCode::Success(QoS::AtMostOnce)]
        ),
        other => panic!("no SUBACK: {other:?}"),
    }
    (id, c)
}

#[tokio::test]
async fn create_qr_code_answers_only_the_documented_keyless_comm_and_param() {
    let h = Harness::new().await;
    let id = create(&h).await;
    let listed = h.sim.qr_logins();
    assert_eq!(
        (listed[0].ident.as_str(), listed[0].kind),
        (id.as_str(), "app")
    );

    let mut desktop = create_body();
    desktop["comm"]["ct"] = json!("19");
    let mut extra = create_body();
    extra["req_0"]["param"]["x"] = json!(1);
    let mut typed = create_body();
    typed["comm"]["tmeLoginType"] = json!("6");
    for body in [desktop, extra, typed] {
        let answer = h.musicu(&body, None).await;
        assert_eq!(answer["req_0"]["code"], 20261, "{body}");
        assert_eq!(answer["req_0"]["data"]["qrcodeID"], "");
    }
}

#[tokio::test]
async fn a_connect_missing_a_user_property_or_the_auth_method_is_refused() {
    let h = Harness::new().await;
    let id = create(&h).await;
    let cases = [
        ("no userID", connect(&id, &USERS[..4])),
        ("out of order", {
            let mut swapped = USERS;
            swapped.swap(0, 1);
            connect(&id, &swapped)
        }),
        ("unknown qrcodeID", connect("nope", &USERS)),
        ("no auth method", {
            let mut c = connect(&id, &USERS);
            if let Some(p) = c.properties.as_mut() {
                p.authentication_method = None;
            }
            c
        }),
    ];
    for (what, packet) in cases {
        let mut c = Client::open(&h, "/ws/handshake").await;
        let ack = c.connack(packet).await;
        assert_ne!(ack.code, ConnectReturnCode::Success, "{what}");
        assert!(
            c.next().await.is_none(),
            "{what}: the host closes after refusing"
        );
    }
    let stats = h.get("/_sim/stats").await;
    assert_eq!(stats["push.connected"], Value::Null, "{stats}");
}

#[tokio::test]
async fn a_subscribe_without_its_user_properties_gets_a_failing_suback() {
    let h = Harness::new().await;
    let id = create(&h).await;
    let mut c = Client::open(&h, "/ws/handshake").await;
    assert_eq!(
        c.connack(connect(&id, &USERS)).await.code,
        ConnectReturnCode::Success
    );
    c.send(Packet::Subscribe(subscribe(&id, &SUB_USERS[..1])))
        .await;
    match c.next().await {
        Some(Packet::SubAck(s)) => assert_eq!(s.return_codes, [SubscribeReasonCode::NotAuthorized]),
        other => panic!("no SUBACK: {other:?}"),
    }
}

#[tokio::test]
async fn a_handshake_without_the_mqtt_subprotocol_or_the_origin_is_refused() {
    let h = Harness::new().await;
    let url = h.url("/ws/handshake").replacen("http://", "ws://", 1);
    let mut request = url.clone().into_client_request().expect("request");
    request
        .headers_mut()
        .insert("origin", HeaderValue::from_static("https://y.qq.com"));
    assert!(tokio_tungstenite::connect_async(request).await.is_err());
    let mut request = url.into_client_request().expect("request");
    request
        .headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_static("mqtt"));
    assert!(tokio_tungstenite::connect_async(request).await.is_err());
}

#[tokio::test]
async fn the_phone_drives_scanned_then_cookies_whose_token_logs_in_once_as_type_6() {
    let h = Harness::new().await;
    let (id, mut c) = subscribed(&h).await;
    c.send(Packet::PingReq(PingReq)).await;
    assert!(matches!(c.next().await, Some(Packet::PingResp(_))));

    h.sim.qr_action(&id, QrAction::Scan, None).expect("scan");
    let scanned = c.publish().await;
    assert_eq!(kind(&scanned), "scanned");
    assert_eq!(scanned.topic, format!("management.qrcode_login/{id}"));
    let (_, uin) = h
        .sim
        .qr_action(&id, QrAction::Confirm, None)
        .expect("confirm");
    let cookies = c.publish().await;
    assert_eq!(kind(&cookies), "cookies");
    let payload: Value = serde_json::from_slice(&cookies.payload).expect("JSON");
    let uin = uin.expect("an account");
    assert_eq!(payload["cookies"]["qqmusic_uin"]["value"], uin.to_string());
    let token = payload["cookies"]["qqmusic_key"]["value"]
        .as_str()
        .expect("token")
        .to_owned();

    let login = |tme: &str, param: Value| {
        json!({
            "comm": {"ct":"19","cv":"2201","chid":"0","g_tk":"5381","guid":GUID,"tmeLoginType":tme},
            "req_0": {"module":"music.login.LoginServer","method":"Login","param":param},
        })
    };
    let param = json!({"musicid": uin, "qrCodeID": id, "token": token});
    let wrong_type = h.musicu(&login("2", param.clone()), None).await;
    assert_eq!(wrong_type["req_0"]["code"], 20261);
    let answer = h.musicu(&login("6", param.clone()), None).await;
    assert_eq!(answer["req_0"]["code"], 0, "{answer}");
    let data = answer["req_0"]["data"].clone();
    assert_eq!(data["loginType"], 6);
    let again = h.musicu(&login("6", param), None).await;
    assert_eq!(again["req_0"]["code"], 20271, "a token serves once");

    // Refreshing the type-6 account: tmeLoginType 6 and the union param set.
    let key = data["musickey"].as_str().expect("key").to_owned();
    let refresh = json!({
        "comm": {"ct":"19","cv":"2201","chid":"0","uin":uin.to_string(),
                 "g_tk":hash33(&key).to_string(),"guid":GUID,"tmeLoginType":"6"},
        "req_0": {"module":"music.login.LoginServer","method":"Login","param":{
            "openid":"","access_token":"","refresh_token":data["refresh_token"],"expired_in":0,
            "str_musicid":uin.to_string(),"musicid":uin,"musickey":key,"unionid":"",
            "refresh_key":data["refresh_key"],"loginMode":2}},
    });
    let cookie =
        format!("uin={uin}; qqmusic_uin={uin}; qqmusic_key={key}; qm_keyst={key}; tmeLoginType=6");
    let refreshed = h.musicu(&refresh, Some(&cookie)).await;
    assert_eq!(refreshed["req_0"]["code"], 0, "{refreshed}");
    assert_eq!(refreshed["req_0"]["data"]["loginType"], 6);
}

#[tokio::test]
async fn a_type_6_refresh_of_an_account_not_issued_by_the_app_is_refused() {
    let h = Harness::new().await;
    let acct = h.qq().await;
    let key = acct.musickey.clone();
    let body = json!({
        "comm": {"ct":"19","cv":"2201","chid":"0","uin":acct.uin.to_string(),
                 "g_tk":hash33(&key).to_string(),"guid":GUID,"tmeLoginType":"6"},
        "req_0": {"module":"music.login.LoginServer","method":"Login","param":{
            "openid":"","access_token":"","refresh_token":"","expired_in":0,
            "str_musicid":acct.uin.to_string(),"musicid":acct.uin,"musickey":key,"unionid":"",
            "refresh_key":"","loginMode":2}},
    });
    let cookie = crate::common::login_cookie(&acct, &key);
    let answer = h.musicu(&body, Some(&cookie)).await;
    assert_eq!(answer["req_0"]["code"], 20261, "{answer}");
}

#[tokio::test]
async fn canceled_timeout_and_login_failed_are_published_as_their_types() {
    let h = Harness::new().await;
    for (action, want) in [
        (QrAction::Refuse, "canceled"),
        (QrAction::Expire, "timeout"),
        (QrAction::Fail, "loginFailed"),
    ] {
        let (id, mut c) = subscribed(&h).await;
        h.sim.qr_action(&id, action, None).expect("action");
        assert_eq!(kind(&c.publish().await), want);
    }
    // The clock ends a QR as well.
    let (_, mut c) = subscribed(&h).await;
    h.sim.advance_clock(121);
    assert_eq!(kind(&c.publish().await), "timeout");
}

#[tokio::test]
async fn an_armed_redirect_answers_the_next_connects_with_a_server_reference() {
    let h = Harness::new().await;
    let (status, _) = h
        .admin(
            "/_sim/push/redirect",
            json!({"count": 1, "reason": 157, "reference": "node-x:443"}),
        )
        .await;
    assert_eq!(status, 200);
    let id = create(&h).await;
    let mut c = Client::open(&h, "/ws/handshake").await;
    let ack = c.connack(connect(&id, &USERS)).await;
    assert_eq!(ack.code, ConnectReturnCode::ServerMoved);
    let reference = ack.properties.and_then(|p| p.server_reference);
    assert_eq!(reference.as_deref(), Some("node-x:443"));
    let mut c = Client::open(&h, "/ws/handshake/node-x:443").await;
    assert_eq!(
        c.connack(connect(&id, &USERS)).await.code,
        ConnectReturnCode::Success
    );
    let (bad, _) = h.admin("/_sim/push/redirect", json!({"reason": 1})).await;
    assert_eq!(bad, 400);
}
