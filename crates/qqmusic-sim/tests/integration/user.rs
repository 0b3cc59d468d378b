//! GetLoginUserInfo and Logout over HTTP (docs/protocol.md sections 10.2, 10.3).

use serde_json::{json, Value};

use crate::common::{hash33, login_cookie, str_of, Account, Harness, LOGIN};

const INFO: &str = "music.UserInfo.userInfoServer.GetLoginUserInfo";
const LOGOUT: &str = "music.login.LoginServer.Logout";

/// Section 10.2's body: DESKTOP comm with uin and g_tk, `param {}`.
fn body(acct: &Account, key: &str, module: &str, method: &str) -> Value {
    json!({
        "comm": {"ct": "19", "cv": "2201", "chid": "0", "uin": acct.uin.to_string(),
                 "g_tk": hash33(key).to_string(), "guid": "0123456789ABCDEF0123456789ABCDEF"},
        "req_0": {"module": module, "method": method, "param": {}}
    })
}

async fn info(h: &Harness, acct: &Account, key: &str) -> Value {
    let b = body(
        acct,
        key,
        "music.UserInfo.userInfoServer",
        "GetLoginUserInfo",
    );
    h.musicu(&b, Some(&login_cookie(acct, key))).await["req_0"].clone()
}

async fn logout(h: &Harness, acct: &Account, key: &str) -> Value {
    let b = body(acct, key, "music.login.LoginServer", "Logout");
    h.musicu(&b, Some(&login_cookie(acct, key))).await["req_0"].clone()
}

async fn count(h: &Harness, target: &str) -> u64 {
    h.get("/_sim/stats").await[target].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn a_live_key_is_alive_and_asking_does_not_rotate_it() {
    let h = Harness::new().await;
    for a in [h.qq().await, h.wx().await] {
        let sub = info(&h, &a, &a.musickey).await;
        assert_eq!(sub["code"], 0, "{sub}");
        assert_eq!(sub["data"]["uin"].as_u64(), Some(a.uin), "{sub}");
        assert!(!str_of(&sub["data"], "nick").is_empty(), "{sub}");
        // Asked again: the same key is still the one that works.
        assert_eq!(info(&h, &a, &a.musickey).await["code"], 0);
    }
    assert_eq!(count(&h, INFO).await, 4);
    assert_eq!(count(&h, LOGIN).await, 0, "a check never logs in");
}

#[tokio::test]
async fn an_expired_or_unknown_key_answers_1000() {
    let h = Harness::new().await;
    let a = h.qq().await;
    let unknown = "Q_H_L_unknownunknownunknownunknownunknownunk";
    assert_eq!(info(&h, &a, unknown).await["code"], 1000);
    let (status, _) = h
        .admin(&format!("/_sim/accounts/{}/expire", a.uin), json!({}))
        .await;
    assert!(status.is_success(), "{status}");
    assert_eq!(info(&h, &a, &a.musickey).await["code"], 1000);
}

#[tokio::test]
async fn a_check_whose_body_strays_from_section_10_2_is_refused() {
    let h = Harness::new().await;
    let a = h.qq().await;
    let cookie = login_cookie(&a, &a.musickey);
    let mut wrong_gtk = body(
        &a,
        &a.musickey,
        "music.UserInfo.userInfoServer",
        "GetLoginUserInfo",
    );
    wrong_gtk["comm"]["g_tk"] = json!("5381");
    let mut other_uin = wrong_gtk.clone();
    other_uin["comm"]["g_tk"] = json!(hash33(&a.musickey).to_string());
    other_uin["comm"]["uin"] = json!((a.uin + 1).to_string());
    let mut param = other_uin.clone();
    param["comm"]["uin"] = json!(a.uin.to_string());
    param["req_0"]["param"] = json!({"uin": a.uin});
    let mut no_gtk = param.clone();
    no_gtk["req_0"]["param"] = json!({});
    no_gtk["comm"].as_object_mut().map(|c| c.remove("g_tk"));
    for (what, b, code) in [
        ("wrong g_tk", &wrong_gtk, 1000),
        ("comm names another uin", &other_uin, 1000),
        ("param not {}", &param, 500_001),
        ("no g_tk", &no_gtk, 500_001),
    ] {
        let sub = h.musicu(b, Some(&cookie)).await["req_0"].clone();
        assert_eq!(sub["code"], code, "{what}: {sub}");
    }
    let b = body(
        &a,
        &a.musickey,
        "music.UserInfo.userInfoServer",
        "GetLoginUserInfo",
    );
    let sub = h.musicu(&b, None).await["req_0"].clone();
    assert_eq!(sub["code"], 1000, "no cookies: {sub}");
}

#[tokio::test]
async fn after_logout_the_key_and_its_refresh_pair_stop_working() {
    let h = Harness::new().await;
    let a = h.qq().await;
    // A second key of the same session, from a rotation.
    let rotated = h.login(&a, &a.musickey, "", "").await;
    let (key2, rk2, rt2) = (
        str_of(&rotated["data"], "musickey").to_owned(),
        str_of(&rotated["data"], "refresh_key").to_owned(),
        str_of(&rotated["data"], "refresh_token").to_owned(),
    );
    let out = logout(&h, &a, &a.musickey).await;
    assert_eq!(out["code"], 0, "{out}");
    assert_eq!(count(&h, LOGOUT).await, 1);
    assert_eq!(info(&h, &a, &a.musickey).await["code"], 1000);
    assert_eq!(info(&h, &a, &key2).await["code"], 1000);
    for (key, rk, rt) in [
        (
            a.musickey.as_str(),
            a.refresh_key.as_str(),
            a.refresh_token.as_str(),
        ),
        (key2.as_str(), rk2.as_str(), rt2.as_str()),
    ] {
        let sub = h.login(&a, key, rk, rt).await;
        assert_eq!(sub["code"], 1000, "{sub}");
    }
    // A second logout with the dead key is refused, not answered 0.
    assert_eq!(logout(&h, &a, &a.musickey).await["code"], 1000);
}
