use crate::helpers::{spawn_app, LOGIN, VIP};
use futures::future::join_all;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn fifty_concurrent_identical_refreshes_make_one_login() {
    let app = spawn_app().await;
    let account = app.sim_account("qq").await;
    // Hold the Login open so every request arrives while it is in flight.
    app.fault(json!({"target": LOGIN, "delay_ms": 300})).await;

    let params = account.params();
    let answers = join_all((0..50).map(|_| app.refresh(&params))).await;

    let keys: std::collections::HashSet<&str> = answers.iter().map(|a| a.musickey()).collect();
    assert!(answers.iter().all(|a| a.status == 200));
    assert_eq!(keys.len(), 1, "every caller gets the same rotated key");
    assert_eq!(app.logins().await, 1);
}

#[tokio::test]
async fn the_cookie_is_cached_for_one_minute_and_no_longer() {
    let app = spawn_app().await;
    let account = app.sim_account("qq").await;

    let first = app.refresh(&account.params()).await;
    app.clock.advance(Duration::from_secs(59));
    let second = app.refresh(&account.params()).await;
    assert_eq!(app.logins().await, 1);
    assert_eq!(first.musickey(), second.musickey());

    app.clock.advance(Duration::from_secs(2));
    let third = app.refresh(&account.params()).await;
    assert_eq!(third.status, 200, "{:?}", third.body);
    assert_eq!(app.logins().await, 2);
    assert_ne!(third.musickey(), first.musickey());
}

#[tokio::test]
async fn vip_info_is_cached_for_thirty_minutes_per_account() {
    let app = spawn_app().await;
    let account = app.sim_account("qq").await;

    app.refresh(&account.params()).await;
    app.clock.advance(Duration::from_secs(61));
    app.refresh(&account.params()).await;
    assert_eq!(app.logins().await, 2, "the cookie expired");
    assert_eq!(app.calls(VIP).await, 1, "the info did not");

    app.clock.advance(Duration::from_secs(30 * 60));
    let answer = app.refresh(&account.params()).await;
    assert_eq!(answer.status, 200);
    assert_eq!(app.calls(VIP).await, 2);
}

#[tokio::test]
async fn a_cached_cookie_is_never_served_for_the_same_uin_with_another_key() {
    let app = spawn_app().await;
    let account = app.sim_account("qq").await;
    let first = app.refresh(&account.params()).await;
    assert_eq!(first.status, 200);

    // Same uin, a key the account never had: refused, not served from cache.
    let forged = [
        ("uin", account.uin.clone()),
        ("music_key", format!("{}x", account.musickey)),
    ];
    let answer = app.refresh(&forged).await;
    assert_eq!(answer.status, 401, "{:?}", answer.body);
    assert!(
        answer.body["data"].is_null(),
        "no cached cookie or info leaks"
    );

    // Same uin, the account's other valid key: a Login of its own.
    let rotated = [
        ("uin", account.uin.clone()),
        ("music_key", first.musickey().to_owned()),
    ];
    let answer = app.refresh(&rotated).await;
    assert_eq!(answer.status, 200);
    assert_ne!(answer.musickey(), first.musickey());
    assert_eq!(app.logins().await, 3);

    // Same uin and key with a refresh token added is another credential too.
    let with_token = [
        ("uin", account.uin.clone()),
        ("music_key", account.musickey.clone()),
        ("refresh_token", account.refresh_token.clone()),
    ];
    app.refresh(&with_token).await;
    assert_eq!(app.logins().await, 4);
}

#[tokio::test]
async fn failures_are_not_cached() {
    let app = spawn_app().await;
    let account = app.sim_account("qq").await;
    app.fault(json!({"target": LOGIN, "code": 104604})).await;

    let refused = app.refresh(&account.params()).await;
    assert_eq!(refused.status, 429);
    let retried = app.refresh(&account.params()).await;
    assert_eq!(retried.status, 200, "{:?}", retried.body);
    assert_eq!(app.logins().await, 2);
}
