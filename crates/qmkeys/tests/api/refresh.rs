use crate::helpers::{spawn_app, LOGIN};
use serde_json::{json, Value};

fn beijing(ts: i64) -> String {
    qmkeys::beijing::format_unix(ts)
}

fn is_beijing_time(s: &str) -> bool {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").is_ok()
}

#[tokio::test]
async fn refresh_answers_a_qq_account_in_the_seeds_shape_field_for_field() {
    let app = spawn_app().await;
    let account = app.sim_account("qq").await;

    let answer = app.refresh(&account.params()).await;

    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let body = &answer.body;
    assert_eq!(body["code"], 200);
    assert_eq!(body["message"], "请求成功！");
    assert!(
        is_beijing_time(body["time"].as_str().unwrap_or_default()),
        "{}",
        body["time"]
    );
    assert_eq!(body["pid"], std::process::id());
    assert_eq!(body["tips"], "测试");

    let cookie = &body["data"]["cookie"];
    let fields: Vec<&str> = cookie
        .as_object()
        .expect("cookie object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "uin",
        "musickey",
        "refresh_token",
        "refresh_key",
        "musickeyCreateTimestamp",
        "musickeyCreateTime",
        "keyExpiresIn",
        "musickeyLastTimestamp",
        "musickeyLastTime",
    ];
    expected.sort_unstable();
    let mut fields = fields;
    fields.sort_unstable();
    assert_eq!(fields, expected);

    assert_eq!(
        cookie["uin"].as_u64().map(|u| u.to_string()),
        Some(account.uin.clone())
    );
    let key = cookie["musickey"].as_str().expect("musickey is a string");
    assert!(key.starts_with("Q_H_L_"), "{key}");
    assert_ne!(key, account.musickey, "every refresh rotates the key");
    assert!(cookie["refresh_key"].is_string() && cookie["refresh_token"].is_string());
    let created = cookie["musickeyCreateTimestamp"].as_i64().expect("number");
    let lifetime = cookie["keyExpiresIn"].as_i64().expect("number");
    assert_eq!(lifetime, 259_200);
    assert_eq!(
        cookie["musickeyLastTimestamp"].as_i64(),
        Some(created + lifetime)
    );
    assert_eq!(cookie["musickeyCreateTime"], beijing(created));
    assert_eq!(cookie["musickeyLastTime"], beijing(created + lifetime));

    let info = &body["data"]["info"];
    for flag in ["vip", "svip"] {
        assert!(info[flag].is_boolean(), "{flag}");
        assert!(info[format!("{flag}EndTimestamp")].is_i64(), "{flag}");
        assert!(info[format!("{flag}EndTime")].is_string(), "{flag}");
        assert!(info[format!("{flag}DateDiff")].is_i64(), "{flag}");
    }
    assert_eq!(info.as_object().map(|o| o.len()), Some(8));
}

#[tokio::test]
async fn refresh_sends_the_qq_login_body_the_protocol_prescribes() {
    let app = spawn_app().await;
    let account = app.sim_account("qq").await;

    let answer = app.refresh(&account.params_with_refresh()).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);

    let log = app.sim_get("/_sim/requests").await;
    let login = log
        .as_array()
        .expect("request log")
        .iter()
        .find(|r| r["body"]["req_0"]["method"] == "Login")
        .expect("a Login was sent");
    assert_eq!(login["path"], "/cgi-bin/musicu.fcg");
    let body = &login["body"];
    assert_eq!(body["req_0"]["module"], "music.login.LoginServer");
    assert_eq!(
        body["req_0"]["param"],
        json!({
            "openid": "", "access_token": "", "refresh_token": account.refresh_token,
            "expired_in": 0, "musicid": account.uin.parse::<u64>().expect("uin"),
            "musickey": account.musickey, "refresh_key": account.refresh_key, "loginMode": 2
        })
    );
    let comm = &body["comm"];
    assert_eq!(comm["tmeLoginType"], "2");
    assert_eq!(comm["uin"], Value::String(account.uin.clone()));
    assert_eq!(
        comm["g_tk"],
        qmkeys::upstream::hash33(&account.musickey).to_string()
    );
    for field in ["ct", "cv", "chid", "guid"] {
        assert!(comm[field].is_string(), "comm.{field} is a string");
    }
}

#[tokio::test]
async fn refresh_works_for_a_wechat_account_with_a_19_digit_id() {
    let app = spawn_app().await;
    let account = app.sim_account("wx").await;
    assert_eq!(account.uin.len(), 19);

    let answer = app.refresh(&account.params()).await;

    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert!(
        answer.musickey().starts_with("W_X_"),
        "{}",
        answer.musickey()
    );
    assert_eq!(
        answer.body["data"]["cookie"]["uin"]
            .as_u64()
            .map(|u| u.to_string()),
        Some(account.uin.clone())
    );

    let log = app.sim_get("/_sim/requests").await;
    let login = log
        .as_array()
        .and_then(|l| l.iter().find(|r| r["body"]["req_0"]["method"] == "Login"))
        .expect("a Login was sent");
    assert_eq!(
        login["body"]["req_0"]["param"],
        json!({
            "openid": "", "refresh_token": "", "str_musicid": account.uin, "musickey": account.musickey,
            "unionid": "", "refresh_key": "", "loginMode": 2
        })
    );
    assert_eq!(login["body"]["comm"]["tmeLoginType"], "1");
}

#[tokio::test]
async fn refresh_accepts_a_form_post_the_same_as_a_get() {
    let app = spawn_app().await;
    let account = app.sim_account("qq").await;

    let answer = app.refresh_post(&account.params()).await;

    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert!(answer.musickey().starts_with("Q_H_L_"));
    assert_eq!(app.logins().await, 1);
}

#[tokio::test]
async fn refresh_renews_an_expired_key_when_refresh_key_and_token_are_sent() {
    let app = spawn_app().await;
    let account = app.sim_account("qq").await;
    app.sim_post(&format!("/_sim/accounts/{}/expire", account.uin), json!({}))
        .await;

    let answer = app.refresh(&account.params_with_refresh()).await;

    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_ne!(answer.musickey(), account.musickey);
    // The new key works: refreshing with it succeeds without refresh tokens.
    let renewed = [
        ("uin", account.uin.clone()),
        ("music_key", answer.musickey().to_owned()),
    ];
    assert_eq!(app.refresh(&renewed).await.status, 200);
}

#[tokio::test]
async fn refresh_reports_vip_and_svip_state_with_day_counts_that_are_never_negative() {
    let app = spawn_app().await;
    let now = chrono::Utc::now().timestamp();
    let vip_end = now + 10 * 86_400 + 3_600;
    let svip_end = now - 3 * 86_400 - 3_600;
    let account = app
        .sim_account_with(
            json!({"kind": "qq", "vip_end": beijing(vip_end), "svip_end": beijing(svip_end)}),
        )
        .await;

    let answer = app.refresh(&account.params()).await;

    let info = &answer.body["data"]["info"];
    assert_eq!(info["vip"], true);
    assert_eq!(info["vipEndTimestamp"], vip_end);
    assert_eq!(info["vipEndTime"], beijing(vip_end));
    assert_eq!(info["vipDateDiff"], 10);
    assert_eq!(info["svip"], false);
    assert_eq!(info["svipEndTimestamp"], svip_end);
    assert_eq!(
        info["svipDateDiff"], 3,
        "the public API counts days since the end as positive"
    );
}

#[tokio::test]
async fn refresh_still_delivers_the_new_key_when_vip_status_fails() {
    let app = spawn_app().await;
    let account = app.sim_account("qq").await;
    app.fault(
        json!({"target": "VipLogin.VipLoginInter.vip_login_base", "http_status": 500, "times": 3}),
    )
    .await;

    let answer = app.refresh(&account.params()).await;

    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert!(answer.musickey().starts_with("Q_H_L_"));
    assert!(answer.body["data"]["info"].is_null());
    assert_eq!(app.calls(LOGIN).await, 1);
}
