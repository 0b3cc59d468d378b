//! `GET /music/tencent/cookie/qrcode` (Server-Sent Events), `fastlogin` and
//! the owner's `GET /admin/accounts/{uin}/cookie`, over real HTTP against the
//! simulator, which plays the phone and the desktop QQ.

use crate::helpers::{login_app, Answer, TestApp};
use base64::Engine;
use qqmusic_sim::QrAction;
use serde_json::Value;
use std::time::Duration;
use tokio::time::timeout;

const ADMIN_TOKEN: &str = "admin-token-for-login-tests";

#[derive(Debug)]
pub(crate) struct SseEvent {
    pub(crate) id: Option<String>,
    pub(crate) data: String,
}

/// Reads a `text/event-stream` answer event by event, skipping comments.
pub(crate) struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

impl EventStream {
    pub(crate) async fn open(app: &TestApp, query: &[(&str, &str)]) -> Result<Self, Answer> {
        Self::open_as(app, &app.http, &[], query).await
    }

    /// Opens a stream with a client of its own (bound to another loopback
    /// address, say) and extra headers.
    async fn open_as(
        app: &TestApp,
        http: &reqwest::Client,
        headers: &[(&str, &str)],
        query: &[(&str, &str)],
    ) -> Result<Self, Answer> {
        let mut request = http
            .get(format!("{}/music/tencent/cookie/qrcode", app.base))
            .query(query);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request sent");
        let is_stream = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if response.status() != 200 || !is_stream {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response.json().await.unwrap_or(Value::Null);
            return Err(Answer {
                status,
                headers,
                body,
            });
        }
        Ok(Self {
            response,
            buffer: String::new(),
        })
    }

    /// The next event, or `None` once the server has closed the stream.
    pub(crate) async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = SseEvent {
                    id: None,
                    data: String::new(),
                };
                let mut has_data = false;
                for line in block.lines() {
                    if let Some(id) = line.strip_prefix("id:") {
                        event.id = Some(id.trim().to_owned());
                    } else if let Some(data) = line.strip_prefix("data:") {
                        has_data = true;
                        event.data.push_str(data.strip_prefix(' ').unwrap_or(data));
                    }
                }
                if has_data {
                    return Some(event);
                }
                continue;
            }
            let chunk = timeout(Duration::from_secs(15), self.response.chunk())
                .await
                .expect("an event within 15 s")
                .expect("the stream reads")?;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

/// The simulator's ident of the newest QR of `kind`.
pub(crate) fn newest(app: &TestApp, kind: &str) -> String {
    app.sim
        .qr_logins()
        .into_iter()
        .find(|l| l.kind == kind)
        .map(|l| l.ident)
        .expect("the simulator knows the QR")
}

pub(crate) fn act(app: &TestApp, ident: &str, action: QrAction) {
    app.sim
        .qr_action(ident, action, None)
        .expect("the simulator takes the action");
}

pub(crate) fn json(event: &SseEvent) -> Value {
    serde_json::from_str(&event.data).unwrap_or(Value::Null)
}

/// Image, waiting, scanned, then the cookie; answers the final `data`.
pub(crate) async fn walk_to_the_cookie(app: &TestApp, kind: &str, mime: &str, save: bool) -> Value {
    let mut query = vec![("type", kind)];
    if save {
        query.push(("save", "true"));
    }
    let mut stream = EventStream::open(app, &query).await.expect("a stream");
    let image = stream.next().await.expect("the image");
    assert_eq!(image.id.as_deref(), Some("1"));
    let b64 = image
        .data
        .strip_prefix(&format!("data:{mime};base64,"))
        .unwrap_or_else(|| {
            panic!(
                "a {mime} data URI: {}",
                &image.data[..40.min(image.data.len())]
            )
        });
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("base64");
    let magic: &[u8] = if mime == "image/png" {
        b"\x89PNG"
    } else {
        b"\xff\xd8\xff"
    };
    assert!(bytes.starts_with(magic), "a real {mime}");

    let waiting = stream.next().await.expect("waiting");
    assert_eq!(waiting.id.as_deref(), Some("2"));
    assert_eq!(json(&waiting)["status"], "waiting");
    assert_eq!(json(&waiting)["message"], "等待扫码");

    let ident = newest(app, kind);
    act(app, &ident, QrAction::Scan);
    let scanned = stream.next().await.expect("scanned");
    assert_eq!(scanned.id.as_deref(), Some("3"));
    assert_eq!(json(&scanned)["status"], "scanned");

    act(app, &ident, QrAction::Confirm);
    let done = stream.next().await.expect("the cookie");
    assert_eq!(done.id.as_deref(), Some("4"));
    assert!(
        stream.next().await.is_none(),
        "the server closes the stream"
    );
    json(&done)
}

pub(crate) async fn refreshes(app: &TestApp, cookie: &Value) -> Answer {
    let text = |k: &str| cookie[k].as_str().unwrap_or_default().to_owned();
    let uin = cookie["uin"].as_u64().expect("uin").to_string();
    app.refresh(&[
        ("uin", uin),
        ("music_key", text("musickey")),
        ("refresh_key", text("refresh_key")),
        ("refresh_token", text("refresh_token")),
    ])
    .await
}

#[tokio::test]
async fn a_qq_qr_login_streams_the_image_its_states_and_a_cookie_that_refreshes() {
    let app = login_app(|_| {}).await;
    let data = walk_to_the_cookie(&app, "qq", "image/png", false).await;

    let cookie = &data["cookie"];
    assert!(cookie["musickey"]
        .as_str()
        .is_some_and(|k| k.starts_with("Q_H_L_")));
    for field in [
        "musickeyCreateTimestamp",
        "keyExpiresIn",
        "musickeyLastTimestamp",
    ] {
        assert!(cookie[field].is_i64(), "{field}: {cookie}");
    }
    assert_eq!(cookie["keyExpiresIn"], 259_200);
    assert!(data["info"]["vip"].is_boolean(), "{data}");
    assert!(data["info"]["vipDateDiff"].as_i64().is_some_and(|d| d >= 0));
    let refreshed = refreshes(&app, cookie).await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
}

#[tokio::test]
async fn a_wechat_qr_login_streams_a_jpeg_and_ends_with_a_wechat_cookie() {
    let app = login_app(|_| {}).await;
    let data = walk_to_the_cookie(&app, "wx", "image/jpeg", false).await;
    let cookie = &data["cookie"];
    assert!(cookie["musickey"]
        .as_str()
        .is_some_and(|k| k.starts_with("W_X_")));
    assert_eq!(refreshes(&app, cookie).await.status, 200);
}

#[tokio::test]
async fn an_expired_qr_ends_the_stream_with_the_public_apis_text() {
    let app = login_app(|_| {}).await;
    let mut stream = EventStream::open(&app, &[])
        .await
        .expect("a stream (type defaults to qq)");
    assert_eq!(stream.next().await.and_then(|e| e.id).as_deref(), Some("1"));
    assert_eq!(
        json(&stream.next().await.expect("waiting"))["status"],
        "waiting"
    );
    app.sim.advance_clock(121);
    let last = stream.next().await.expect("the end");
    assert_eq!(last.data, "二维码已失效");
    assert_eq!(last.id.as_deref(), Some("3"));
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn a_qr_refused_on_the_phone_ends_with_refused() {
    let app = login_app(|_| {}).await;
    let mut stream = EventStream::open(&app, &[("type", "wx")])
        .await
        .expect("a stream");
    stream.next().await.expect("image");
    stream.next().await.expect("waiting");
    act(&app, &newest(&app, "wx"), QrAction::Refuse);
    let last = stream.next().await.expect("the end");
    assert_eq!(json(&last)["status"], "refused", "{}", last.data);
    assert!(json(&last)["message"].is_string());
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn a_client_that_goes_away_stops_the_polling() {
    let app = login_app(|_| {}).await;
    let mut stream = EventStream::open(&app, &[]).await.expect("a stream");
    stream.next().await.expect("image");
    stream.next().await.expect("waiting");
    let ident = newest(&app, "qq");
    let polls = || async {
        app.sim_get("/_sim/stats").await[format!("ptlogin.ptqrlogin:{ident}")]
            .as_u64()
            .unwrap_or(0)
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(polls().await >= 1, "it was polling");
    drop(stream);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = polls().await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(polls().await, after, "no poll after the client left");
}

#[tokio::test]
async fn past_the_session_cap_or_the_rate_limit_the_answer_is_json_before_any_stream() {
    let app = login_app(|s| s.login.max_sessions = 1).await;
    let mut open = EventStream::open(&app, &[]).await.expect("the first login");
    open.next().await.expect("image");
    let busy = EventStream::open(&app, &[("type", "wx")])
        .await
        .err()
        .expect("refused");
    assert_eq!((busy.status, busy.code()), (503, 50307), "{:?}", busy.body);
    assert!(busy.headers.get("retry-after").is_some());
    drop(open);

    let limited = login_app(|s| {
        s.http.rate_limit_per_second = 1;
        s.http.rate_limit_burst = 1;
    })
    .await;
    let first = EventStream::open(&limited, &[])
        .await
        .expect("the first login");
    let second = EventStream::open(&limited, &[])
        .await
        .err()
        .expect("limited");
    assert_eq!((second.status, second.code()), (429, 42903));
    drop(first);
}

fn client_from(local: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(local.parse::<std::net::IpAddr>().expect("ip"))
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

#[tokio::test]
async fn one_client_holds_at_most_its_share_of_login_places_and_others_still_get_theirs() {
    let app = login_app(|s| s.login.max_per_client = 2).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = EventStream::open(&app, &[])
            .await
            .expect("within the share");
        stream.next().await.expect("image");
        held.push(stream);
    }
    let over = EventStream::open(&app, &[("type", "wx")])
        .await
        .err()
        .expect("over the share");
    assert_eq!((over.status, over.code()), (429, 42904), "{:?}", over.body);
    assert!(over.headers.get("retry-after").is_some());
    assert!(
        over.message().contains("login_max_per_client"),
        "{}",
        over.message()
    );
    let other = client_from("127.0.0.2");
    let mut theirs = EventStream::open_as(&app, &other, &[], &[])
        .await
        .expect("another client has its own share");
    theirs.next().await.expect("image");
    // A place comes back when its stream is closed.
    held.pop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    EventStream::open(&app, &[])
        .await
        .expect("a place came back");
}

#[tokio::test]
async fn ipv6_clients_behind_a_proxy_share_the_login_cap_of_their_64() {
    let app = login_app(|s| {
        s.login.max_per_client = 2;
        s.http.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
    })
    .await;
    let via = |xff: &'static str| [("x-forwarded-for", xff)];
    let mut held = Vec::new();
    for xff in ["2001:db8:9:9::1", "2001:db8:9:9::2"] {
        let mut s = EventStream::open_as(&app, &app.http, &via(xff), &[])
            .await
            .expect("within the share");
        s.next().await.expect("image");
        held.push(s);
    }
    let over = EventStream::open_as(&app, &app.http, &via("2001:db8:9:9:ffff::3"), &[])
        .await
        .err()
        .expect("the same /64");
    assert_eq!(over.code(), 42904);
    EventStream::open_as(&app, &app.http, &via("2001:db8:9:a::1"), &[])
        .await
        .expect("another /64");
}

#[tokio::test]
async fn polls_of_the_login_hosts_stay_under_the_total_rate_however_many_logins_are_open() {
    let app = login_app(|s| {
        s.login.polls_per_second = 2;
        s.login.max_per_client = 100;
    })
    .await;
    let started = std::time::Instant::now();
    let mut streams = Vec::new();
    for _ in 0..8 {
        let mut s = EventStream::open(&app, &[]).await.expect("a stream");
        s.next().await.expect("image");
        s.next().await.expect("waiting");
        streams.push(s);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let stats = app.sim_get("/_sim/stats").await;
    let elapsed = started.elapsed().as_secs_f64();
    let polls: u64 = stats
        .as_object()
        .expect("stats")
        .iter()
        .filter(|(k, _)| k.starts_with("ptlogin.ptqrlogin:"))
        .filter_map(|(_, v)| v.as_u64())
        .sum();
    // 8 logins polling every 1.5 s would make about 16 polls by now.
    let allowed = 2.0 + 2.0 * elapsed + 1.0;
    assert!(polls >= 2, "they poll: {polls}");
    assert!(
        (polls as f64) <= allowed,
        "{polls} polls in {elapsed:.1} s at 2 a second"
    );
}

#[tokio::test]
async fn bad_parameters_and_save_without_the_setting_are_refused_before_any_stream() {
    let app = login_app(|_| {}).await;
    let bad = EventStream::open(&app, &[("type", "weibo")])
        .await
        .err()
        .expect("400");
    assert_eq!((bad.status, bad.code()), (400, 40001));
    assert!(bad.message().contains("type"), "{}", bad.message());
    let save = EventStream::open(&app, &[("save", "true")])
        .await
        .err()
        .expect("403");
    assert_eq!((save.status, save.code()), (403, 40305));
    assert!(app.sim.qr_logins().is_empty(), "no QR was fetched");
}

#[tokio::test]
async fn fast_login_turns_a_desktop_client_key_into_a_key_that_refreshes() {
    let app = login_app(|_| {}).await;
    let (uin, key) = app.sim.new_client(None).expect("a desktop QQ");
    let answer = app
        .get(
            "/music/tencent/cookie/fastlogin",
            &[("client_uin", uin.to_string()), ("client_key", key.clone())],
        )
        .await;
    assert_eq!(
        (answer.status, answer.code()),
        (200, 200),
        "{:?}",
        answer.body
    );
    let cookie = &answer.body["data"]["cookie"];
    assert_eq!(cookie["uin"], uin);
    assert!(
        !answer.body.to_string().contains(&key),
        "the client key is never echoed"
    );
    assert_eq!(refreshes(&app, cookie).await.status, 200);
}

#[tokio::test]
async fn a_refused_client_key_is_401_saying_to_run_qmkeys_login_desktop_again() {
    let app = login_app(|_| {}).await;
    let (uin, key) = app.sim.new_client(None).expect("a desktop QQ");
    app.sim.expire_client(uin).expect("the session ends");
    let response = app
        .http
        .post(format!("{}/music/tencent/cookie/fastlogin", app.base))
        .form(&[("client_uin", uin.to_string()), ("client_key", key)])
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], 40104);
    assert!(body["message"]
        .as_str()
        .is_some_and(|m| m.contains("qmkeys login --desktop")));

    for (uin, key, named) in [
        ("12", "0123456789abcdef", "client_uin"),
        ("123456", "bad key with spaces", "client_key"),
        ("123456", "", "client_key"),
    ] {
        let bad = app
            .get(
                "/music/tencent/cookie/fastlogin",
                &[("client_uin", uin.into()), ("client_key", key.into())],
            )
            .await;
        assert_eq!((bad.status, bad.code()), (400, 40001), "{named}");
        assert!(bad.message().contains(named), "{}", bad.message());
    }
}

#[tokio::test]
async fn login_result_codes_have_their_own_envelope_codes_in_qr_and_fast_login() {
    const QQ_LOGIN: &str = "QQConnectLogin.LoginServer.QQLogin";
    let app = login_app(|_| {}).await;

    // Fast login: QQLogin refuses, banned.
    app.fault(serde_json::json!({"target": QQ_LOGIN, "code": 20450}))
        .await;
    let (uin, key) = app.sim.new_client(None).expect("a desktop QQ");
    let response = app
        .http
        .post(format!("{}/music/tencent/cookie/fastlogin", app.base))
        .form(&[("client_uin", uin.to_string()), ("client_key", key)])
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], 40307, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("封禁")));

    // QR login: the phone confirms, then QQLogin says too many devices.
    let mut stream = EventStream::open(&app, &[("type", "qq")])
        .await
        .expect("a stream");
    stream.next().await.expect("the image");
    stream.next().await.expect("waiting");
    let ident = newest(&app, "qq");
    app.fault(serde_json::json!({"target": QQ_LOGIN, "code": 20279}))
        .await;
    act(&app, &ident, QrAction::Scan);
    stream.next().await.expect("scanned");
    act(&app, &ident, QrAction::Confirm);
    let ending = stream.next().await.expect("the ending");
    assert_eq!(json(&ending)["code"], 40302, "{}", ending.data);
    assert!(json(&ending)["message"]
        .as_str()
        .is_some_and(|m| m.contains("设备")));
}

#[tokio::test]
async fn save_true_keeps_the_account_and_the_owner_fetches_its_live_cookie() {
    let app = login_app(|s| {
        s.accounts.allow_save = true;
        s.http.admin_token = Some(secrecy::SecretString::from(ADMIN_TOKEN));
    })
    .await;
    let data = walk_to_the_cookie(&app, "qq", "image/png", true).await;
    let uin = data["cookie"]["uin"].as_u64().expect("uin");
    let stored = app.stored_accounts().await;
    assert!(
        stored.iter().any(|a| a.uin().get() == uin),
        "saved to the store"
    );

    let route = format!("{}/admin/accounts/{uin}/cookie", app.base);
    let owner = app
        .http
        .get(&route)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("sent");
    assert_eq!(owner.status(), 200);
    let owner: Value = owner.json().await.expect("json");
    assert_eq!(owner["code"], 200);
    assert_eq!(
        owner["data"]["cookie"]["musickey"],
        data["cookie"]["musickey"]
    );
    assert_eq!(owner["data"]["cookie"]["uin"], uin);
    assert!(owner["data"]["info"].is_object());

    let anonymous = app.http.get(&route).send().await.expect("sent");
    assert_eq!(anonymous.status(), 401);
    let unknown = app
        .http
        .get(format!("{}/admin/accounts/123456789/cookie", app.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("sent");
    assert_eq!(unknown.status(), 404);
    let unknown: Value = unknown.json().await.expect("json");
    assert_eq!(unknown["code"], 40402);
}
