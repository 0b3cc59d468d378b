//! The admin API: accounts, stats, request log, clock.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{login_body, login_cookie, str_of, Account, Harness, LOGIN, VIP};

#[tokio::test]
async fn stats_count_every_sub_request_received_including_failed_and_faulted_ones() {
    let h = Harness::new().await;
    let a = h.qq().await;
    assert_eq!(h.get("/_sim/stats").await, json!({}));
    h.login(&a, &a.musickey, "", "").await;
    h.login(&a, "Q_H_L_unknown", "", "").await;
    h.admin("/_sim/faults", json!({"target": LOGIN, "http_status": 502}))
        .await;
    let body = login_body(&a, &a.musickey, "", "");
    let resp = h
        .http
        .post(h.url("/cgi-bin/musicu.fcg"))
        .header("Cookie", login_cookie(&a, &a.musickey))
        .json(&body)
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status(), 502);
    h.vip(a.uin, &a.musickey).await;
    let stats = h.get("/_sim/stats").await;
    assert_eq!(stats[LOGIN], 3, "{stats}");
    assert_eq!(stats[VIP], 1, "{stats}");
    assert_eq!(stats.as_object().map(|o| o.len()), Some(2), "{stats}");
}

#[tokio::test]
async fn the_request_log_keeps_path_query_cookie_and_body_in_order_until_cleared() {
    let h = Harness::new().await;
    let a = h.qq().await;
    let first = login_body(&a, &a.musickey, "", "");
    h.musicu(&first, None).await;
    let resp = h
        .http
        .post(h.url("/cgi-bin/musics.fcg?sign=zzcnope&_=17"))
        .header("Cookie", "uin=1; qqmusic_key=K")
        .body("{broken")
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status(), 200);

    let log = h.get("/_sim/requests").await;
    let entries = log.as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 2, "{log}");
    assert_eq!(entries[0]["path"], "/cgi-bin/musicu.fcg");
    assert_eq!(entries[0]["query"], "");
    assert_eq!(entries[0]["cookie"], "");
    assert_eq!(entries[0]["body"], first);
    assert_eq!(entries[1]["path"], "/cgi-bin/musics.fcg");
    assert_eq!(entries[1]["query"], "sign=zzcnope&_=17");
    assert_eq!(entries[1]["cookie"], "uin=1; qqmusic_key=K");
    assert_eq!(entries[1]["body"], "{broken", "non-JSON kept as text");

    let (status, v) = h.send_json(Method::DELETE, "/_sim/requests", None).await;
    assert_eq!(status, 200);
    assert_eq!(v["cleared"], 2);
    assert_eq!(h.get("/_sim/requests").await, json!([]));
}

#[tokio::test]
async fn account_routes_answer_404_for_unknown_uins() {
    let h = Harness::new().await;
    for action in ["expire", "logout", "ban"] {
        let (status, v) = h
            .admin(&format!("/_sim/accounts/123/{action}"), json!({}))
            .await;
        assert_eq!(status, 404, "{action}: {v}");
        assert!(v["error"].is_string());
    }
}

#[tokio::test]
async fn bad_account_bodies_are_refused_with_400_and_a_json_error() {
    let h = Harness::new().await;
    for bad in [
        json!({}),
        json!({"kind": "email"}),
        json!({"kind": "qq", "vip_end": "2099-01-01"}),
        json!({"kind": "qq", "svip_end": 5}),
    ] {
        let (status, v) = h.admin("/_sim/accounts", bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {v}");
        assert!(v["error"].is_string(), "{v}");
    }
    let resp = h
        .http
        .post(h.url("/_sim/accounts"))
        .body("not json")
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.expect("JSON error");
    assert!(v["error"].is_string());
}

#[tokio::test]
async fn qq_and_wechat_accounts_get_uins_of_the_documented_lengths() {
    let h = Harness::new().await;
    let qq = h.qq().await;
    assert!((9..=10).contains(&qq.uin.to_string().len()), "{}", qq.uin);
    assert!(qq.musickey.starts_with("Q_H_L_"));
    let wx = h.wx().await;
    assert_eq!(wx.uin.to_string().len(), 19);
    assert!(wx.uin > (1u64 << 53), "beyond a JS number");
    assert!(wx.musickey.starts_with("W_X_"));
    assert!(!wx.refresh_key.is_empty() && !wx.refresh_token.is_empty());
}

#[tokio::test]
async fn the_clock_advances_by_the_requested_seconds() {
    let h = Harness::new().await;
    let before = h.get("/_sim/clock").await["now"]
        .as_i64()
        .unwrap_or_default();
    let (status, v) = h
        .admin("/_sim/clock", json!({"advance_secs": 86_400}))
        .await;
    assert_eq!(status, 200);
    let after = v["now"].as_i64().unwrap_or_default();
    assert!(
        (86_400..86_405).contains(&(after - before)),
        "{before} -> {after}"
    );
    let (status, _) = h.admin("/_sim/clock", json!({"advance_secs": -5})).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn bulk_creation_answers_count_distinct_accounts_that_each_log_in() {
    let h = Harness::new().await;
    let (status, v) = h
        .admin(
            "/_sim/accounts/bulk",
            json!({"kind": "wx", "count": 50, "vip_end": "2099-01-01 00:00:00"}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let created = v.as_array().cloned().unwrap_or_default();
    assert_eq!(created.len(), 50, "{v}");
    let uins: std::collections::HashSet<u64> =
        created.iter().filter_map(|a| a["uin"].as_u64()).collect();
    assert_eq!(uins.len(), 50, "uins are distinct numbers");
    let keys: std::collections::HashSet<&str> = created
        .iter()
        .filter_map(|a| a["musickey"].as_str())
        .collect();
    assert_eq!(keys.len(), 50, "keys are distinct");
    for a in [&created[0], &created[49]] {
        let account = Account {
            kind: "wx",
            uin: a["uin"].as_u64().unwrap_or_default(),
            musickey: str_of(a, "musickey").to_owned(),
            refresh_key: str_of(a, "refresh_key").to_owned(),
            refresh_token: str_of(a, "refresh_token").to_owned(),
        };
        assert!(account.musickey.starts_with("W_X_"), "{a}");
        assert!(!account.refresh_key.is_empty() && !account.refresh_token.is_empty());
        let req = h.login(&account, &account.musickey, "", "").await;
        assert_eq!(req["code"], 0, "{req}");
        let vip = h.vip(account.uin, &account.musickey).await;
        assert_eq!(
            vip["data"]["identity"]["LMEnd"], "2099-01-01 00:00:00",
            "{vip}"
        );
    }
}

#[tokio::test]
async fn bulk_creation_refuses_bad_counts_and_bodies_with_400() {
    let h = Harness::new().await;
    for bad in [
        json!({"kind": "qq"}),
        json!({"kind": "qq", "count": 0}),
        json!({"kind": "qq", "count": 100_001}),
        json!({"kind": "qq", "count": -1}),
        json!({"kind": "email", "count": 1}),
        json!({"kind": "qq", "count": 1, "vip_end": "soon"}),
        json!({"kind": "qq", "count": 1, "extra": true}),
    ] {
        let (status, v) = h.admin("/_sim/accounts/bulk", bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {v}");
        assert!(v["error"].is_string(), "{v}");
    }
    let (status, v) = h
        .admin("/_sim/accounts/bulk", json!({"kind": "qq", "count": 1}))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn secrets_lists_every_key_and_token_issued_by_creation_and_login() {
    let h = Harness::new().await;
    let acct = h.qq().await;
    let grant = h.login(&acct, &acct.musickey, "", "").await;
    let data = &grant["data"];
    let secrets = h.get("/_sim/secrets").await;
    let listed: Vec<&str> = secrets["secrets"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for issued in [
        acct.musickey.as_str(),
        acct.refresh_key.as_str(),
        acct.refresh_token.as_str(),
        str_of(data, "musickey"),
        str_of(data, "refresh_key"),
        str_of(data, "refresh_token"),
        str_of(data, "access_token"),
    ] {
        assert!(!issued.is_empty(), "{grant}");
        assert!(listed.contains(&issued), "{issued} missing from {secrets}");
    }
    assert_eq!(h.sim.issued_secrets().len(), listed.len());
}
