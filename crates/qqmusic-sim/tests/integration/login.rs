//! music.login.LoginServer.Login over HTTP.

use std::time::Duration;

use qqmusic_sim::SimConfig;
use serde_json::{json, Value};

use crate::common::{login_body, login_cookie, str_of, Harness};

fn assert_refused(sub: &Value, code: i64) {
    assert_eq!(sub["code"], code, "{sub}");
    let d = &sub["data"];
    assert_eq!(d["musickey"], "", "{sub}");
    assert_eq!(d["musicid"], 0, "{sub}");
    assert_eq!(d["refresh_key"], "", "{sub}");
    assert_eq!(d["refresh_token"], "", "{sub}");
}

fn is_key_of(key: &str, prefix: &str) -> bool {
    key.strip_prefix(prefix).is_some_and(|rest| {
        rest.len() == 40
            && rest
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
    })
}

#[tokio::test]
async fn a_qq_login_rotates_the_key_and_answers_the_documented_fields() {
    let h = Harness::new().await;
    let a = h.qq().await;
    let now = h.get("/_sim/clock").await["now"]
        .as_i64()
        .unwrap_or_default();
    let sub = h.login(&a, &a.musickey, "", "").await;
    assert_eq!(sub["code"], 0, "{sub}");
    let d = &sub["data"];
    let key = str_of(d, "musickey");
    assert!(is_key_of(key, "Q_H_L_"), "{key}");
    assert_ne!(key, a.musickey);
    assert_eq!(d["musicid"].as_u64(), Some(a.uin));
    assert_eq!(str_of(d, "str_musicid"), a.uin.to_string());
    assert!(!str_of(d, "refresh_key").is_empty());
    assert!(!str_of(d, "refresh_token").is_empty());
    assert_ne!(str_of(d, "refresh_key"), a.refresh_key);
    assert_ne!(str_of(d, "refresh_token"), a.refresh_token);
    assert_eq!(d["keyExpiresIn"], 259_200);
    let created = d["musickeyCreateTime"].as_i64().unwrap_or_default();
    assert!((now..now + 5).contains(&created), "{created} vs {now}");
    assert_eq!(d["expired_at"].as_i64(), Some(created + 259_200));
    assert_eq!(d["loginType"], 2);
    for field in ["access_token", "encryptUin", "openid", "unionid"] {
        assert!(d[field].is_string(), "{field} in {d}");
    }
}

#[tokio::test]
async fn a_wechat_login_takes_str_musicid_and_issues_a_wx_key() {
    let h = Harness::new().await;
    let a = h.wx().await;
    assert_eq!(a.uin.to_string().len(), 19);
    assert!(is_key_of(&a.musickey, "W_X_"), "{}", a.musickey);
    let sub = h.login(&a, &a.musickey, "", "").await;
    assert_eq!(sub["code"], 0, "{sub}");
    let key = str_of(&sub["data"], "musickey");
    assert!(is_key_of(key, "W_X_"), "{key}");
    assert_ne!(key, a.musickey);
    assert_eq!(str_of(&sub["data"], "str_musicid"), a.uin.to_string());
    assert_eq!(sub["data"]["loginType"], 1);
}

#[tokio::test]
async fn two_refreshes_with_the_same_old_key_both_succeed_with_different_keys() {
    let h = Harness::new().await;
    let a = h.qq().await;
    let first = h.login(&a, &a.musickey, "", "").await;
    let second = h.login(&a, &a.musickey, "", "").await;
    assert_eq!(first["code"], 0);
    assert_eq!(second["code"], 0);
    assert_ne!(first["data"]["musickey"], second["data"]["musickey"]);
    // The newest key refreshes too.
    let third = h
        .login(&a, str_of(&second["data"], "musickey"), "", "")
        .await;
    assert_eq!(third["code"], 0, "{third}");
}

#[tokio::test]
async fn an_expired_key_without_a_refresh_pair_is_refused_with_1000() {
    let h = Harness::new().await;
    let a = h.qq().await;
    let (status, _) = h
        .admin(&format!("/_sim/accounts/{}/expire", a.uin), json!({}))
        .await;
    assert_eq!(status, 200);
    assert_refused(&h.login(&a, &a.musickey, "", "").await, 1000);
    // Half a pair is not a pair.
    assert_refused(&h.login(&a, &a.musickey, &a.refresh_key, "").await, 1000);
}

#[tokio::test]
async fn an_expired_key_with_its_refresh_pair_is_renewed() {
    let h = Harness::new().await;
    let a = h.wx().await;
    h.admin(&format!("/_sim/accounts/{}/expire", a.uin), json!({}))
        .await;
    let sub = h
        .login(&a, &a.musickey, &a.refresh_key, &a.refresh_token)
        .await;
    assert_eq!(sub["code"], 0, "{sub}");
    let new_key = str_of(&sub["data"], "musickey");
    assert_ne!(new_key, a.musickey);
    // The original pair stays valid until logout: it works a second time.
    let again = h
        .login(&a, &a.musickey, &a.refresh_key, &a.refresh_token)
        .await;
    assert_eq!(again["code"], 0, "{again}");
}

#[tokio::test]
async fn an_expired_key_with_another_accounts_refresh_pair_is_refused() {
    let h = Harness::new().await;
    let a = h.qq().await;
    let b = h.qq().await;
    h.admin(&format!("/_sim/accounts/{}/expire", a.uin), json!({}))
        .await;
    let sub = h
        .login(&a, &a.musickey, &b.refresh_key, &b.refresh_token)
        .await;
    assert_refused(&sub, 1000);
}

#[tokio::test]
async fn a_key_expires_once_the_sim_clock_passes_its_lifetime() {
    let config = SimConfig {
        key_lifetime: Duration::from_secs(60),
        ..Default::default()
    };
    let h = Harness::with_config(config).await;
    let a = h.qq().await;
    let sub = h.login(&a, &a.musickey, "", "").await;
    assert_eq!(sub["data"]["keyExpiresIn"], 60);
    let (status, _) = h.admin("/_sim/clock", json!({"advance_secs": 61})).await;
    assert_eq!(status, 200);
    assert_refused(&h.login(&a, &a.musickey, "", "").await, 1000);
    let renewed = h
        .login(&a, &a.musickey, &a.refresh_key, &a.refresh_token)
        .await;
    assert_eq!(renewed["code"], 0, "{renewed}");
}

#[tokio::test]
async fn a_logged_out_account_refreshes_nothing_even_with_its_refresh_pair() {
    let h = Harness::new().await;
    let a = h.qq().await;
    let (status, _) = h
        .admin(&format!("/_sim/accounts/{}/logout", a.uin), json!({}))
        .await;
    assert_eq!(status, 200);
    assert_refused(&h.login(&a, &a.musickey, "", "").await, 1000);
    let with_pair = h
        .login(&a, &a.musickey, &a.refresh_key, &a.refresh_token)
        .await;
    assert_refused(&with_pair, 1000);
}

#[tokio::test]
async fn a_banned_account_answers_20277() {
    let h = Harness::new().await;
    let a = h.wx().await;
    let (status, _) = h
        .admin(&format!("/_sim/accounts/{}/ban", a.uin), json!({}))
        .await;
    assert_eq!(status, 200);
    assert_refused(&h.login(&a, &a.musickey, "", "").await, 20277);
}

#[tokio::test]
async fn an_unknown_key_or_another_accounts_key_answers_1000() {
    let h = Harness::new().await;
    let a = h.qq().await;
    let b = h.qq().await;
    let unknown = format!("Q_H_L_{}", "x".repeat(40));
    assert_refused(&h.login(&a, &unknown, "", "").await, 1000);
    assert_refused(&h.login(&a, &b.musickey, "", "").await, 1000);
}

#[tokio::test]
async fn a_g_tk_that_is_not_hash33_of_the_key_answers_1000() {
    let h = Harness::new().await;
    let a = h.qq().await;
    let mut body = login_body(&a, &a.musickey, "", "");
    body["comm"]["g_tk"] = json!("5381");
    let answer = h.musicu(&body, Some(&login_cookie(&a, &a.musickey))).await;
    assert_refused(&answer["req_0"], 1000);
}

#[tokio::test]
async fn a_login_without_the_uin_or_qqmusic_key_cookie_answers_1000() {
    let h = Harness::new().await;
    for a in [h.qq().await, h.wx().await] {
        let body = login_body(&a, &a.musickey, "", "");
        let (uin, key) = (a.uin, &a.musickey);
        for cookie in [
            String::new(),
            format!("qqmusic_uin={uin}; qm_keyst={key}; qqmusic_key={key}"),
            format!("uin={uin}; qqmusic_uin={uin}; qm_keyst={key}"),
        ] {
            let answer = h.musicu(&body, Some(&cookie)).await;
            assert_refused(&answer["req_0"], 1000);
        }
        // The same body with the whole cookie set still rotates the key.
        let answer = h.musicu(&body, Some(&login_cookie(&a, key))).await;
        assert_eq!(answer["req_0"]["code"], 0, "{answer}");
    }
}

#[tokio::test]
async fn wrong_body_shapes_answer_20261() {
    let h = Harness::new().await;
    let qq = h.qq().await;
    let wx = h.wx().await;
    let mut cases: Vec<(&str, Value)> = Vec::new();

    let mut b = login_body(&qq, &qq.musickey, "", "");
    b["comm"]["tmeLoginType"] = json!("1");
    cases.push(("QQ body sent as WeChat", b));
    let mut b = login_body(&qq, &qq.musickey, "", "");
    b["req_0"]["param"]["musicid"] = json!(qq.uin.to_string());
    cases.push(("musicid as a string", b));
    let mut b = login_body(&qq, &qq.musickey, "", "");
    b["req_0"]["param"]["str_musicid"] = json!(qq.uin.to_string());
    cases.push(("extra key", b));
    let mut b = login_body(&qq, &qq.musickey, "", "");
    if let Some(c) = b["comm"].as_object_mut() {
        c.remove("tmeLoginType");
    }
    cases.push(("no tmeLoginType", b));
    let mut b = login_body(&wx, &wx.musickey, "", "");
    b["req_0"]["param"]["str_musicid"] = json!(wx.uin);
    cases.push(("str_musicid as a number", b));
    let mut b = login_body(&wx, &wx.musickey, "", "");
    b["req_0"]["param"]["loginMode"] = json!(1);
    cases.push(("loginMode 1", b));
    let mut b = login_body(&wx, &wx.musickey, "", "");
    b["req_0"]["param"] = json!([]);
    cases.push(("param not an object", b));

    for (what, body) in cases {
        let answer = h.musicu(&body, None).await;
        assert_eq!(answer["req_0"]["code"], 20261, "{what}: {answer}");
        assert_eq!(answer["req_0"]["data"]["musickey"], "", "{what}");
    }
}

#[tokio::test]
async fn a_wechat_key_in_a_qq_shaped_body_answers_20261() {
    let h = Harness::new().await;
    let wx = h.wx().await;
    let mut as_qq = wx.clone();
    as_qq.kind = "qq";
    let sub = h.login(&as_qq, &wx.musickey, "", "").await;
    assert_refused(&sub, 20261);
}
