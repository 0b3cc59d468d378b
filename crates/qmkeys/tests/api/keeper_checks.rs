//! The keeper's key checks (docs/protocol.md section 10.2): each kept key is
//! asked whether it is alive every `accounts_key_check_interval_ms`, without
//! rotating it; only the lifetime rule or a dead answer rotates it.

use crate::check::INFO;
use crate::helpers::{spawn_app_with_accounts, TestApp};
use qmkeys::accounts::StoredAccount;
use qmkeys::clock::Clock;
use serde_json::json;
use std::time::{Duration, Instant};

const HOUR: u64 = 3_600;

async fn stored(app: &TestApp) -> StoredAccount {
    app.stored_accounts().await.remove(0)
}

/// Waits (in real time) until the stored record satisfies `done`.
async fn until(app: &TestApp, what: &str, done: impl Fn(&StoredAccount) -> bool) -> StoredAccount {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let record = stored(app).await;
        if done(&record) {
            return record;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn advance(app: &TestApp, secs: u64) {
    app.clock.advance(Duration::from_secs(secs));
    app.sim_post("/_sim/clock", json!({ "advance_secs": secs }))
        .await;
}

async fn checking_app() -> TestApp {
    spawn_app_with_accounts(1, |s| {
        s.accounts.check_interval_ms = 20;
        s.accounts.key_check_interval_ms = 1_000;
    })
    .await
    .0
}

#[tokio::test]
async fn hourly_checks_over_a_key_lifetime_spend_one_key_not_one_per_check() {
    let app = checking_app().await;
    // The config file's key has an unknown age: refreshed at once, then checked.
    let first = until(&app, "the first refresh and check", |r| {
        r.generation == 1 && r.last_check.as_deref() == Some("alive")
    })
    .await;
    assert_eq!(app.logins().await, 1);
    let started = first.created_at.expect("a refreshed key's age is known");

    // Three days (a whole lifetime) of hourly checks.
    for hour in 1..=72u64 {
        advance(&app, HOUR).await;
        let now = app.clock.now().timestamp();
        let record = until(&app, &format!("the check of hour {hour}"), |r| {
            r.last_check_at == Some(now)
        })
        .await;
        assert_eq!(record.last_check.as_deref(), Some("alive"), "hour {hour}");
    }
    let last = stored(&app).await;
    assert_eq!(
        (last.generation, app.logins().await),
        (2, 2),
        "one rotation in the lifetime, when less than a third of it was left"
    );
    let rotated_at = last.created_at.expect("age known");
    assert!(
        rotated_at - started >= 2 * 86_400 * 4 / 5,
        "rotated by the lifetime rule, not by a check: {}s in",
        rotated_at - started
    );
    assert!(
        app.calls(INFO).await >= 73,
        "{} checks",
        app.calls(INFO).await
    );
    // The timeline holds the answer that changed, not 73 of the same.
    let timeline = app.timeline().await;
    assert_eq!(
        timeline
            .iter()
            .filter(|e| e.starts_with("account.checked"))
            .count(),
        1,
        "{timeline:?}"
    );
}

#[tokio::test]
async fn a_key_a_check_finds_dead_is_refreshed_at_once_and_the_owner_sees_the_check() {
    let token = "admin-token-0123456789";
    let (app, _) = spawn_app_with_accounts(1, |s| {
        s.accounts.check_interval_ms = 20;
        s.accounts.key_check_interval_ms = 1_000;
        s.http.admin_token = Some(secrecy::SecretString::from(token));
    })
    .await;
    let first = until(&app, "the first refresh and check", |r| {
        r.generation == 1 && r.last_check.as_deref() == Some("alive")
    })
    .await;
    // Long before the lifetime rule would: the key dies upstream.
    app.sim_post(&format!("/_sim/accounts/{}/expire", first.uin()), json!({}))
        .await;
    advance(&app, HOUR).await;
    let now = app.clock.now().timestamp();
    let after = until(&app, "the dead key's refresh", |r| r.generation == 2).await;
    assert_eq!(app.logins().await, 2);
    assert_eq!(after.last_check.as_deref(), Some("dead"));
    assert_eq!(after.last_check_at, Some(now));
    assert_ne!(after.cred.key.expose(), first.cred.key.expose());

    // `/admin/accounts` shows when and what.
    let admin: serde_json::Value = app
        .http
        .get(format!("{}/admin/accounts", app.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    let view = &admin["data"]["accounts"][0];
    assert_eq!(view["lastCheck"], "dead", "{admin}");
    assert_eq!(view["lastCheckTimestamp"], now, "{admin}");
    assert_eq!(
        view["lastCheckTime"],
        qmkeys::beijing::format_unix(now).as_str()
    );

    // So does `qmkeys accounts list`.
    let mut list = crate::binary::qmkeys();
    list.env("QMKEYS_DB", &app.settings.accounts.db)
        .args(["accounts", "list"])
        .stdout(std::process::Stdio::piped());
    let output = tokio::task::spawn_blocking(move || list.output().expect("runs"))
        .await
        .expect("joined");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("LAST CHECK"), "{text}");
    assert!(
        text.contains(&format!("{} dead", qmkeys::beijing::format_unix(now))),
        "{text}"
    );
}

#[tokio::test]
async fn a_check_that_cannot_reach_upstream_is_recorded_as_an_error_and_rotates_nothing() {
    let app = checking_app().await;
    until(&app, "the first refresh and check", |r| {
        r.generation == 1 && r.last_check.as_deref() == Some("alive")
    })
    .await;
    app.fault(json!({"target": INFO, "http_status": 503, "times": 10}))
        .await;
    advance(&app, HOUR).await;
    let record = until(&app, "the failed check", |r| {
        r.last_check
            .as_deref()
            .is_some_and(|c| c.starts_with("error"))
    })
    .await;
    assert_eq!(
        record.last_check.as_deref(),
        Some("error: upstream HTTP 503")
    );
    assert_eq!(record.generation, 1);
    assert_eq!(app.logins().await, 1);
}

#[tokio::test]
async fn a_logged_out_key_a_check_finds_dead_takes_the_account_out_of_use() {
    let app = checking_app().await;
    let first = until(&app, "the first refresh and check", |r| {
        r.generation == 1 && r.last_check.as_deref() == Some("alive")
    })
    .await;
    app.sim_post(&format!("/_sim/accounts/{}/logout", first.uin()), json!({}))
        .await;
    advance(&app, HOUR).await;
    let after = until(&app, "the account marked dead", |r| {
        r.health == qmkeys::accounts::Health::Unhealthy
    })
    .await;
    assert_eq!(after.last_check.as_deref(), Some("dead"));
    assert_eq!(after.last_outcome.as_deref(), Some("upstream code 1000"));
    assert_eq!(after.generation, 1, "nothing was rotated");
    // Unhealthy accounts are neither refreshed nor checked again.
    let checks = app.calls(INFO).await;
    advance(&app, HOUR).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.calls(INFO).await, checks);
}

#[tokio::test]
async fn with_redis_the_last_check_is_kept_in_the_shared_store() {
    let redis = crate::redis::RedisServer::start();
    let url = redis.url();
    let (app, _) = spawn_app_with_accounts(1, move |s| {
        s.redis.url = Some(secrecy::SecretString::from(url));
        s.accounts.secret_key = Some(secrecy::SecretString::from(
            "shared-secret-for-every-instance",
        ));
        s.accounts.check_interval_ms = 20;
        s.accounts.key_check_interval_ms = 1_000;
    })
    .await;
    until(&app, "the first check, read back from Redis", |r| {
        r.last_check.as_deref() == Some("alive") && r.last_check_at.is_some()
    })
    .await;
    advance(&app, HOUR).await;
    let now = app.clock.now().timestamp();
    until(&app, "the next check, read back from Redis", |r| {
        r.last_check_at == Some(now)
    })
    .await;
    assert_eq!(app.logins().await, 1);
}
