//! `GET|POST /music/tencent/cookie/check`: whether a key is alive, asked of
//! GetLoginUserInfo (docs/protocol.md section 10.2), never of Login.

use crate::helpers::{spawn_app, spawn_app_with, TestApp, LOGIN};
use qmkeys::clock::Clock;
use serde_json::{json, Value};

pub const INFO: &str = "music.UserInfo.userInfoServer.GetLoginUserInfo";
const PATH: &str = "/music/tencent/cookie/check";

async fn check(app: &TestApp, params: &[(&str, String)]) -> crate::helpers::Answer {
    app.get(PATH, params).await
}

#[tokio::test]
async fn a_live_key_is_alive_and_the_check_never_sends_a_login() {
    let app = spawn_app().await;
    for kind in ["qq", "wx"] {
        let account = app.sim_account(kind).await;
        let answer = check(&app, &account.params()).await;
        assert_eq!(
            (answer.status, answer.code()),
            (200, 200),
            "{:?}",
            answer.body
        );
        let data = &answer.body["data"];
        assert_eq!(data["alive"], true, "{data}");
        assert_eq!(
            data["uin"].as_u64().map(|u| u.to_string()),
            Some(account.uin.clone())
        );
        let at = data["checkedTimestamp"].as_i64().unwrap_or_default();
        assert_eq!(at, app.clock.now().timestamp(), "{data}");
        assert_eq!(data["checkedTime"], qmkeys::beijing::format_unix(at));
        // Checked again: still alive, so the first check did not spend it.
        assert_eq!(
            check(&app, &account.params()).await.body["data"]["alive"],
            true
        );
    }
    assert_eq!(app.calls(INFO).await, 4);
    assert_eq!(app.logins().await, 0, "a check never rotates the key");
}

#[tokio::test]
async fn an_expired_or_logged_out_key_is_an_answer_alive_false_not_an_error() {
    let app = spawn_app().await;
    let expired = app.sim_account("qq").await;
    app.sim_post(&format!("/_sim/accounts/{}/expire", expired.uin), json!({}))
        .await;
    let logged_out = app.sim_account("wx").await;
    app.sim_post(
        &format!("/_sim/accounts/{}/logout", logged_out.uin),
        json!({}),
    )
    .await;
    for account in [expired, logged_out] {
        // POST with a form body, as the refresh takes it.
        let response = app
            .http
            .post(format!("{}{PATH}", app.base))
            .form(&account.params_with_refresh())
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["code"], 200, "{body}");
        assert_eq!(body["data"]["alive"], false, "{body}");
    }
    assert_eq!(app.logins().await, 0);
}

#[tokio::test]
async fn the_check_sends_section_10_2s_body_field_for_field() {
    let app = spawn_app().await;
    let account = app.sim_account("qq").await;
    check(&app, &account.params()).await;
    let log = app.sim_get("/_sim/requests").await;
    let entry = log
        .as_array()
        .and_then(|l| {
            l.iter()
                .find(|e| e["body"]["req_0"]["method"] == "GetLoginUserInfo")
        })
        .cloned()
        .expect("the check reached the simulator");
    let body = &entry["body"];
    assert_eq!(body["req_0"]["module"], "music.UserInfo.userInfoServer");
    assert_eq!(body["req_0"]["param"], json!({}));
    let comm = &body["comm"];
    assert_eq!(comm["ct"], "19");
    assert_eq!(comm["cv"], "2201");
    assert_eq!(comm["uin"], account.uin.as_str());
    let g_tk = qmkeys::upstream::hash33(&account.musickey).to_string();
    assert_eq!(comm["g_tk"], g_tk.as_str());
    assert!(comm.get("tmeLoginType").is_none(), "not a login: {comm}");
    let cookie = entry["cookie"].as_str().unwrap_or_default();
    for part in [
        format!("uin={}", account.uin),
        format!("qqmusic_uin={}", account.uin),
        format!("qqmusic_key={}", account.musickey),
        format!("qm_keyst={}", account.musickey),
    ] {
        assert!(
            cookie.split("; ").any(|c| c == part),
            "{part} in the cookie"
        );
    }
}

#[tokio::test]
async fn a_check_is_refused_by_parameter_before_upstream_is_asked() {
    let app = spawn_app().await;
    for (params, named) in [
        (vec![("music_key", "Q_H_L_abc".to_owned())], "uin"),
        (vec![("uin", "123456".to_owned())], "music_key"),
        (
            vec![
                ("uin", "1152921504606846976".to_owned()),
                ("music_key", "Q_H_L_abc".to_owned()),
            ],
            "uin",
        ),
    ] {
        let answer = check(&app, &params).await;
        assert_eq!(
            (answer.status, answer.code()),
            (400, 40001),
            "{:?}",
            answer.body
        );
        assert!(
            answer.message().contains(named),
            "{named}: {}",
            answer.message()
        );
    }
    assert_eq!(app.calls(INFO).await, 0);
}

#[tokio::test]
async fn an_unreachable_upstream_is_an_error_not_a_dead_key() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let app = spawn_app_with(|s| {
        s.upstream.base = format!("http://127.0.0.1:{port}").parse().expect("url")
    })
    .await;
    let answer = check(
        &app,
        &[("uin", "123456".into()), ("music_key", "Q_H_L_abc".into())],
    )
    .await;
    assert_eq!(
        (answer.status, answer.code()),
        (502, 50203),
        "{:?}",
        answer.body
    );

    let app = spawn_app_with(|s| s.upstream.retries = 0).await;
    let account = app.sim_account("qq").await;
    app.fault(json!({"target": INFO, "http_status": 503})).await;
    let answer = check(&app, &account.params()).await;
    assert_eq!(
        (answer.status, answer.code()),
        (502, 50201),
        "{:?}",
        answer.body
    );
    assert_eq!(app.calls(LOGIN).await, 0);
}

#[tokio::test]
async fn checks_count_against_the_same_per_client_rate_limit_as_refreshes() {
    let app = spawn_app_with(|s| {
        s.http.rate_limit_per_second = 1;
        s.http.rate_limit_burst = 2;
    })
    .await;
    let bad = [("uin", "1".to_owned())];
    assert_eq!(app.refresh(&bad).await.status, 400);
    assert_eq!(check(&app, &bad).await.status, 400);
    let limited = check(&app, &bad).await;
    assert_eq!(
        (limited.status, limited.code()),
        (429, 42903),
        "{:?}",
        limited.body
    );
    assert!(limited.headers.contains_key("retry-after"));
}
