//! VipLogin.VipLoginInter.vip_login_base over HTTP.

use serde_json::{json, Value};

use crate::common::{str_of, Harness};

fn assert_anonymous(sub: &Value) {
    assert_eq!(sub["code"], 0, "{sub}");
    let id = &sub["data"]["identity"];
    for flag in ["vip", "LMFlag", "HugeVip"] {
        assert_eq!(id[flag], 0, "{flag} in {sub}");
    }
    for end in ["LMEnd", "HugeVipEnd", "HugeVipStart"] {
        assert_eq!(id[end], "", "{end} in {sub}");
    }
    assert_eq!(sub["data"]["svip"], 0);
}

#[tokio::test]
async fn vip_flags_follow_the_ends_on_the_sim_clock() {
    let h = Harness::new().await;
    let a = h
        .create(
            "qq",
            json!("2099-01-01 00:00:00"),
            json!("2020-01-01 08:00:00"),
        )
        .await;
    let sub = h.vip(a.uin, &a.musickey).await;
    assert_eq!(sub["code"], 0, "{sub}");
    let id = &sub["data"]["identity"];
    assert_eq!(id["vip"], 1, "{sub}");
    assert_eq!(id["LMFlag"], 1);
    assert_eq!(id["LMEnd"], "2099-01-01 00:00:00");
    assert_eq!(id["HugeVip"], 0);
    assert_eq!(id["HugeVipEnd"], "2020-01-01 08:00:00");
    assert_eq!(id["yearflag"], 0);
    assert_eq!(id["HugeYearFlag"], 0);
    assert_eq!(id["level"], 5);
    assert_eq!(sub["data"]["svip"], 0);
    assert!(sub["data"]["userinfo"].is_object());

    // 2099-01-01 00:00:00 in Beijing (UTC+8) is unix 4070880000.
    let now = h.get("/_sim/clock").await["now"]
        .as_i64()
        .unwrap_or_default();
    let to_end = 4_070_880_000 - now;
    h.admin("/_sim/clock", json!({"advance_secs": to_end - 60}))
        .await;
    // Still a VIP a minute before the end: the key lifetime has long passed,
    // so log in again with the refresh pair to get a live key.
    let fresh = h
        .login(&a, &a.musickey, &a.refresh_key, &a.refresh_token)
        .await;
    let key = str_of(&fresh["data"], "musickey").to_owned();
    assert_eq!(h.vip(a.uin, &key).await["data"]["identity"]["LMFlag"], 1);
    h.admin("/_sim/clock", json!({"advance_secs": 61})).await;
    let after = h.vip(a.uin, &key).await;
    assert_eq!(after["data"]["identity"]["LMFlag"], 0, "{after}");
    assert_eq!(after["data"]["identity"]["vip"], 0);
    assert_eq!(after["data"]["identity"]["LMEnd"], "2099-01-01 00:00:00");
}

#[tokio::test]
async fn an_svip_with_a_future_end_has_hugevip_and_svip_set() {
    let h = Harness::new().await;
    let a = h
        .create("wx", Value::Null, json!("2099-12-31 23:59:59"))
        .await;
    let sub = h.vip(a.uin, &a.musickey).await;
    let id = &sub["data"]["identity"];
    assert_eq!(id["HugeVip"], 1, "{sub}");
    assert_eq!(sub["data"]["svip"], 1);
    assert_eq!(id["HugeVipEnd"], "2099-12-31 23:59:59");
    assert_eq!(id["LMFlag"], 0);
    assert_eq!(id["LMEnd"], "", "absent ends are empty strings");
}

#[tokio::test]
async fn a_bad_key_still_answers_code_0_with_zero_flags_and_empty_ends() {
    let h = Harness::new().await;
    let a = h
        .create(
            "qq",
            json!("2099-01-01 00:00:00"),
            json!("2099-01-01 00:00:00"),
        )
        .await;
    assert_anonymous(&h.vip(a.uin, &format!("Q_H_L_{}", "y".repeat(40))).await);
    // A real key presented with another uin proves nothing either.
    assert_anonymous(&h.vip(a.uin + 1, &a.musickey).await);
    // Nor an expired one.
    h.admin(&format!("/_sim/accounts/{}/expire", a.uin), json!({}))
        .await;
    assert_anonymous(&h.vip(a.uin, &a.musickey).await);
}

#[tokio::test]
async fn a_wrong_g_tk_makes_vip_answer_as_if_not_logged_in() {
    let h = Harness::new().await;
    let a = h
        .create("qq", json!("2099-01-01 00:00:00"), Value::Null)
        .await;
    let body = json!({
        "comm": {"uin": a.uin.to_string(), "g_tk": "12345"},
        "req_0": {"module": "VipLogin.VipLoginInter", "method": "vip_login_base", "param": {}}
    });
    let cookie = format!("uin={}; qqmusic_key={}", a.uin, a.musickey);
    let answer = h.musicu(&body, Some(&cookie)).await;
    assert_anonymous(&answer["req_0"]);
    // The same call without g_tk is logged in.
    let body = json!({
        "comm": {"uin": a.uin.to_string()},
        "req_0": {"module": "VipLogin.VipLoginInter", "method": "vip_login_base", "param": {}}
    });
    let answer = h.musicu(&body, Some(&cookie)).await;
    assert_eq!(answer["req_0"]["data"]["identity"]["LMFlag"], 1, "{answer}");
}

#[tokio::test]
async fn the_new_key_from_a_login_works_for_vip_status() {
    let h = Harness::new().await;
    let a = h
        .create("wx", json!("2099-01-01 00:00:00"), Value::Null)
        .await;
    let sub = h.login(&a, &a.musickey, "", "").await;
    let key = str_of(&sub["data"], "musickey").to_owned();
    let vip = h.vip(a.uin, &key).await;
    assert_eq!(vip["data"]["identity"]["LMFlag"], 1, "{vip}");
}
