//! The QQ Music app's own QR (`type=app`, docs/protocol.md section 10.1):
//! CreateQRCode on the gateway, the states pushed over MQTT 5 by the
//! simulator's push host, then Login with tmeLoginType 6. Every ending.

use crate::helpers::{login_app, TestApp};
use crate::login_http::{act, json, newest, refreshes, walk_to_the_cookie, EventStream};
use qqmusic_sim::QrAction;
use serde_json::{json, Value};
use std::time::Duration;

async fn stat(app: &TestApp, name: &str) -> u64 {
    app.sim_get("/_sim/stats").await[name].as_u64().unwrap_or(0)
}

/// Waits up to 5 s for the push host to count `name` at least `n` times.
async fn stat_reaches(app: &TestApp, name: &str, n: u64) -> u64 {
    for _ in 0..50 {
        let seen = stat(app, name).await;
        if seen >= n {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stat(app, name).await
}

/// The gateway bodies the simulator received for `method`, oldest first.
async fn gateway_bodies(app: &TestApp, method: &str) -> Vec<Value> {
    let log = app.sim_get("/_sim/requests").await;
    log.as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["kind"] == "gateway")
        .map(|r| match &r["body"] {
            Value::String(text) => serde_json::from_str(text).unwrap_or(Value::Null),
            other => other.clone(),
        })
        .filter(|b| b["req_0"]["method"] == method)
        .collect()
}

/// Opens an app QR login and reads its image and `waiting`.
async fn opened(app: &TestApp) -> EventStream {
    let mut stream = EventStream::open(app, &[("type", "app")])
        .await
        .expect("a stream");
    assert_eq!(stream.next().await.and_then(|e| e.id).as_deref(), Some("1"));
    assert_eq!(
        json(&stream.next().await.expect("waiting"))["status"],
        "waiting"
    );
    stream
}

#[tokio::test]
async fn an_app_qr_login_streams_a_png_its_states_and_a_cookie_that_refreshes() {
    let app = login_app(|_| {}).await;
    let data = walk_to_the_cookie(&app, "app", "image/png", false).await;
    let cookie = &data["cookie"];
    assert!(
        cookie["musickey"]
            .as_str()
            .is_some_and(|k| k.starts_with("Q_H_L_")),
        "{data}"
    );
    assert!(data["info"]["vip"].is_boolean(), "{data}");
    assert_eq!(refreshes(&app, cookie).await.status, 200);

    let create = gateway_bodies(&app, "CreateQRCode").await;
    assert_eq!(create.len(), 1);
    let guid = create[0]["comm"]["guid"].clone();
    assert_eq!(
        create[0],
        json!({
            "comm": {"ct":"23","cv":"0","chid":"0","g_tk":"5381","guid":guid},
            "req_0": {"module":"music.login.LoginServer","method":"CreateQRCode",
                      "param":{"tmeAppID":"qqmusic","ct":19,"cv":2201}},
        })
    );
    let login = gateway_bodies(&app, "Login").await;
    let first = &login[0];
    assert_eq!(first["comm"]["tmeLoginType"], "6");
    assert_eq!(first["comm"]["ct"], "19");
    assert!(first["comm"].get("uin").is_none(), "{first}");
    let param = first["req_0"]["param"].as_object().expect("param");
    let keys: Vec<_> = param.keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 3, "{first}");
    assert_eq!(param["musicid"], cookie["uin"]);
    assert_eq!(param["qrCodeID"], newest(&app, "app").as_str());
    assert!(param["token"].as_str().is_some_and(|t| !t.is_empty()));

    assert_eq!(stat(&app, "push.connected").await, 1);
    assert_eq!(stat(&app, "push.subscribed").await, 1);
    assert_eq!(
        stat_reaches(&app, "push.closed", 1).await,
        1,
        "the socket closes when the login ends"
    );
}

#[tokio::test]
async fn an_app_qr_canceled_on_the_phone_ends_with_refused() {
    let app = login_app(|_| {}).await;
    let mut stream = opened(&app).await;
    act(&app, &newest(&app, "app"), QrAction::Refuse);
    let last = stream.next().await.expect("the end");
    assert_eq!(json(&last)["status"], "refused", "{}", last.data);
    assert!(stream.next().await.is_none());
    assert_eq!(stat(&app, "push.publish.canceled").await, 1);
    assert_eq!(stat_reaches(&app, "push.closed", 1).await, 1);
}

#[tokio::test]
async fn an_app_qr_that_times_out_ends_with_the_public_apis_text() {
    let app = login_app(|_| {}).await;
    let mut stream = opened(&app).await;
    let ident = newest(&app, "app");
    act(&app, &ident, QrAction::Scan);
    assert_eq!(
        json(&stream.next().await.expect("scanned"))["status"],
        "scanned"
    );
    app.sim.advance_clock(121);
    let last = stream.next().await.expect("the end");
    assert_eq!(last.data, "二维码已失效");
    assert!(stream.next().await.is_none());
    assert_eq!(stat(&app, "push.publish.timeout").await, 1);
}

#[tokio::test]
async fn an_app_login_that_fails_on_the_phone_ends_with_an_envelope_code() {
    let app = login_app(|_| {}).await;
    let mut stream = opened(&app).await;
    act(&app, &newest(&app, "app"), QrAction::Fail);
    let last = json(&stream.next().await.expect("the end"));
    assert_eq!(last["code"], 50204, "{last}");
    assert!(
        last["message"]
            .as_str()
            .is_some_and(|m| m.contains("QQ 音乐 App 登录失败")),
        "{last}"
    );
    assert!(stream.next().await.is_none());
    assert_eq!(
        gateway_bodies(&app, "Login").await.len(),
        0,
        "no Login after loginFailed"
    );
}

#[tokio::test]
async fn a_redirected_connect_is_followed_to_the_node_its_server_reference_names() {
    let app = login_app(|_| {}).await;
    app.sim_post(
        "/_sim/push/redirect",
        json!({"count": 2, "reason": 157, "reference": "node-b:443"}),
    )
    .await;
    let data = walk_to_the_cookie(&app, "app", "image/png", false).await;
    assert!(data["cookie"]["musickey"].is_string(), "{data}");
    assert_eq!(stat(&app, "push.redirected").await, 2);
    assert_eq!(stat(&app, "push.handshake:/ws/handshake").await, 1);
    // The first redirect appends the reference; the second replaces it.
    assert_eq!(
        stat(&app, "push.handshake:/ws/handshake/node-b:443").await,
        2
    );
    assert_eq!(stat(&app, "push.connected").await, 1);
}

#[tokio::test]
async fn a_fourth_redirect_ends_the_login_before_any_stream() {
    let app = login_app(|_| {}).await;
    app.sim_post("/_sim/push/redirect", json!({"count": 4}))
        .await;
    let refused = EventStream::open(&app, &[("type", "app")])
        .await
        .err()
        .expect("no stream");
    assert_eq!(
        (refused.status, refused.code()),
        (502, 50202),
        "{:?}",
        refused.body
    );
    assert_eq!(stat(&app, "push.redirected").await, 4);
    assert_eq!(stat(&app, "push.connected").await, 0);
}

#[tokio::test]
async fn a_push_host_that_cannot_be_reached_is_a_502_naming_the_connection() {
    let app = login_app(|s| {
        s.login.app_qr_push_url = "ws://127.0.0.1:9/ws/handshake".parse().expect("url");
    })
    .await;
    let refused = EventStream::open(&app, &[("type", "app")])
        .await
        .err()
        .expect("no stream");
    assert_eq!(
        (refused.status, refused.code()),
        (502, 50203),
        "{:?}",
        refused.body
    );
    assert!(
        refused.message().contains("推送服务"),
        "{}",
        refused.message()
    );
}

#[tokio::test]
async fn a_caller_who_leaves_closes_the_push_socket() {
    let app = login_app(|_| {}).await;
    let stream = opened(&app).await;
    assert_eq!(stat(&app, "push.subscribed").await, 1);
    assert_eq!(
        stat(&app, "push.closed").await,
        0,
        "held while the caller waits"
    );
    drop(stream);
    assert_eq!(
        stat_reaches(&app, "push.closed", 1).await,
        1,
        "closed once the caller went"
    );
    // The QR itself is untouched: only the connection went.
    let qr = app.sim.qr_logins();
    assert_eq!(qr[0].state, "waiting");
}

#[tokio::test]
async fn a_saved_app_account_remembers_login_type_6_and_the_keeper_refreshes_with_it() {
    const DAY: u64 = 86_400;
    let mut app = login_app(|s| {
        s.accounts.allow_save = true;
        s.accounts.check_interval_ms = 20;
    })
    .await;
    let data = walk_to_the_cookie(&app, "app", "image/png", true).await;
    let uin = data["cookie"]["uin"].as_u64().expect("uin");
    let saved = app.stored_accounts().await;
    let saved = saved.iter().find(|a| a.uin().get() == uin).expect("saved");
    assert_eq!(saved.login_type, Some(6));
    app.restart().await;
    let reread = app.stored_accounts().await;
    assert_eq!(reread[0].login_type, Some(6), "the store keeps it");

    // Two days in (of three) the keeper rotates the key, as a type-6 account.
    app.clock.advance(Duration::from_secs(2 * DAY + 3_600));
    app.sim_post("/_sim/clock", json!({"advance_secs": 2 * DAY + 3_600}))
        .await;
    for _ in 0..100 {
        if app.stored_accounts().await[0].generation >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rotated = app.stored_accounts().await;
    assert_eq!(rotated[0].generation, 1, "the keeper refreshed it");
    assert_eq!(rotated[0].login_type, Some(6));
    let logins = gateway_bodies(&app, "Login").await;
    let refresh = logins.last().expect("the keeper's Login");
    assert_eq!(refresh["comm"]["tmeLoginType"], "6", "{refresh}");
    let param = refresh["req_0"]["param"].as_object().expect("param");
    let mut keys: Vec<_> = param.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "access_token",
            "expired_in",
            "loginMode",
            "musicid",
            "musickey",
            "openid",
            "refresh_key",
            "refresh_token",
            "str_musicid",
            "unionid"
        ],
        "section 10.1's union of both param sets"
    );
    assert_eq!(param["musicid"], uin);
    assert_eq!(param["str_musicid"], uin.to_string());
}

#[tokio::test]
async fn gateway_refusals_of_create_qr_code_and_of_the_apps_login_map_as_for_the_other_kinds() {
    let app = login_app(|_| {}).await;
    app.fault(json!({"target": "music.login.LoginServer.CreateQRCode", "code": 104604}))
        .await;
    let limited = EventStream::open(&app, &[("type", "app")])
        .await
        .err()
        .expect("no stream");
    assert_eq!(
        (limited.status, limited.code()),
        (429, 42901),
        "{:?}",
        limited.body
    );
    assert_eq!(
        stat(&app, "push.handshake").await,
        0,
        "no socket for a QR never made"
    );

    let mut stream = opened(&app).await;
    let ident = newest(&app, "app");
    app.fault(json!({"target": "music.login.LoginServer.Login", "code": 20277}))
        .await;
    act(&app, &ident, QrAction::Confirm);
    let last = json(&stream.next().await.expect("the end"));
    assert_eq!(last["code"], 40301, "{last}");
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn a_push_connection_that_breaks_is_opened_again_and_the_login_goes_on() {
    let app = login_app(|_| {}).await;
    let mut stream = opened(&app).await;
    let ident = newest(&app, "app");
    act(&app, &ident, QrAction::Scan);
    assert_eq!(
        json(&stream.next().await.expect("scanned"))["status"],
        "scanned"
    );
    app.sim_post("/_sim/push/drop", json!({})).await;
    assert_eq!(stat_reaches(&app, "push.dropped", 1).await, 1);
    assert_eq!(
        stat_reaches(&app, "push.subscribed", 2).await,
        2,
        "qmkeys connected and subscribed again"
    );
    act(&app, &ident, QrAction::Confirm);
    let done = json(
        &stream
            .next()
            .await
            .expect("the cookie, not a second scanned"),
    );
    assert!(done["cookie"]["musickey"].is_string(), "{done}");
    assert!(stream.next().await.is_none());
    assert_eq!(stat(&app, "push.connected").await, 2);
}
