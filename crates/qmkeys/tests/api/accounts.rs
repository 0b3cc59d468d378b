use crate::cos_sign::TestFile;
use crate::helpers::{spawn_app_with, spawn_app_with_accounts, INIT_UPLOAD, LOGIN};
use qmkeys::accounts::Health;
use secrecy::SecretString;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const DAY: u64 = 86_400;

/// Waits (in real time) until `check` holds, for the background refresher.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The musickey of the last InitUpload the simulator received.
async fn last_init_upload_key(app: &crate::helpers::TestApp) -> String {
    let log = app.sim_get("/_sim/requests").await;
    let cookie = log
        .as_array()
        .and_then(|l| {
            l.iter()
                .rev()
                .find(|r| r["body"]["req_0"]["method"] == "InitUpload")
        })
        .and_then(|r| r["cookie"].as_str())
        .expect("an InitUpload")
        .to_owned();
    cookie
        .split("; ")
        .find_map(|c| c.strip_prefix("qqmusic_key="))
        .expect("key in cookie")
        .to_owned()
}

#[tokio::test]
async fn restart_keeps_accounts_and_their_rotated_keys() {
    let (mut app, accounts) = spawn_app_with_accounts(1, |_| {}).await;
    app.sim_post(
        &format!("/_sim/accounts/{}/expire", accounts[0].uin),
        json!({}),
    )
    .await;
    assert_eq!(app.sign(&TestFile::random(10).params()).await.status, 200);
    assert_eq!(app.logins().await, 1);
    let rotated = app.stored_accounts().await[0].cred.key.expose().to_owned();
    assert_ne!(rotated, accounts[0].musickey);

    app.restart().await;

    let stored = app.stored_accounts().await;
    assert_eq!(
        stored[0].cred.key.expose(),
        rotated,
        "the store kept the rotated key over the config file's"
    );
    assert_eq!(app.sign(&TestFile::random(10).params()).await.status, 200);
    assert_eq!(last_init_upload_key(&app).await, rotated);
    assert_eq!(
        app.logins().await,
        1,
        "no second rotation after the restart"
    );
}

#[tokio::test]
async fn an_account_is_refreshed_in_the_background_before_any_request_needs_it() {
    let (app, _) = spawn_app_with_accounts(1, |s| s.accounts.check_interval_ms = 20).await;

    // A key from the config file has an unknown age: it is refreshed at once.
    // Wait on the store, not on the simulator: Login arrives before the commit.
    let generation = || async { app.stored_accounts().await[0].generation };
    eventually("first background refresh", || async {
        generation().await == 1
    })
    .await;
    assert_eq!(app.logins().await, 1);
    let first = app.stored_accounts().await[0].clone();
    assert!(first.expires_at.is_some() && first.last_outcome.as_deref() == Some("refreshed"));

    // Two days in (of three), less than a third of the lifetime is left.
    app.clock.advance(Duration::from_secs(2 * DAY + 3_600));
    app.sim_post("/_sim/clock", json!({"advance_secs": 2 * DAY + 3_600}))
        .await;
    eventually("second background refresh", || async {
        generation().await == 2
    })
    .await;

    // Past the first key's expiry: signing needs no refresh, the key is fresh.
    app.clock.advance(Duration::from_secs(DAY));
    app.sim_post("/_sim/clock", json!({"advance_secs": DAY}))
        .await;
    let answer = app.sign(&TestFile::random(10).params()).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(
        app.calls(INIT_UPLOAD).await,
        1,
        "InitUpload never met an expired key"
    );
    assert_eq!(app.logins().await, 2);
}

#[tokio::test]
async fn simulated_weeks_of_expiries_keep_an_account_signing_without_an_operator() {
    let (app, _) = spawn_app_with_accounts(1, |s| s.accounts.check_interval_ms = 20).await;
    eventually("first refresh", || async {
        app.stored_accounts().await[0].generation == 1
    })
    .await;
    for day in 1..=21u64 {
        app.clock.advance(Duration::from_secs(DAY));
        app.sim_post("/_sim/clock", json!({"advance_secs": DAY}))
            .await;
        // Every second day a third of the lifetime is crossed.
        let expected = 1 + day / 2;
        eventually("refresh on schedule", || async {
            app.stored_accounts().await[0].generation >= expected
        })
        .await;
        let answer = app.sign(&TestFile::random(16).params()).await;
        assert_eq!(answer.status, 200, "day {day}: {:?}", answer.body);
    }
    let stored = &app.stored_accounts().await[0];
    assert_eq!(stored.health, Health::Healthy);
}

#[tokio::test]
async fn a_logged_out_account_turns_unhealthy_and_signing_moves_to_another() {
    let (app, accounts) = spawn_app_with_accounts(2, |_| {}).await;
    let dead = &accounts[0];
    app.sim_post(&format!("/_sim/accounts/{}/logout", dead.uin), json!({}))
        .await;

    for _ in 0..4 {
        let answer = app.sign(&TestFile::random(20).params()).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
    }

    let stored = app.stored_accounts().await;
    let health = |uin: &str| {
        stored
            .iter()
            .find(|a| a.uin().to_string() == uin)
            .map(|a| a.health)
    };
    assert_eq!(health(&dead.uin), Some(Health::Unhealthy));
    assert_eq!(health(&accounts[1].uin), Some(Health::Healthy));
    let log = app.sim_get("/_sim/requests").await;
    let by_dead = log
        .as_array()
        .expect("log")
        .iter()
        .filter(|r| {
            r["body"]["req_0"]["method"] == "InitUpload"
                && r["body"]["comm"]["uin"] == dead.uin.as_str()
        })
        .count();
    assert_eq!(by_dead, 1, "a dead account is not tried again");
}

#[tokio::test]
async fn save_true_with_the_setting_on_adds_the_account_for_signing() {
    let app = spawn_app_with(|s| s.accounts.allow_save = true).await;
    let account = app.sim_account("qq").await;
    assert_eq!(app.sign(&TestFile::random(10).params()).await.status, 503);

    let mut params = account.params_with_refresh();
    params.push(("save", "true".into()));
    let answer = app.refresh(&params).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);

    let stored = app.stored_accounts().await;
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].cred.key.expose(),
        answer.musickey(),
        "the caller's new key, committed"
    );
    let signed = app.sign(&TestFile::random(10).params()).await;
    assert_eq!(signed.status, 200, "{:?}", signed.body);
    assert_eq!(last_init_upload_key(&app).await, answer.musickey());
}

#[tokio::test]
async fn save_true_with_the_setting_off_is_refused_and_burns_no_key() {
    let app = spawn_app_with(|_| {}).await;
    let account = app.sim_account("qq").await;
    let mut params = account.params();
    params.push(("save", "true".into()));

    let answer = app.refresh(&params).await;

    assert_eq!(
        (answer.status, answer.code()),
        (403, 40305),
        "{:?}",
        answer.body
    );
    assert!(answer.message().contains("save"));
    assert_eq!(app.logins().await, 0);
    assert!(app.stored_accounts().await.is_empty());

    params.pop();
    params.push(("save", "yes".into()));
    let bad = app.refresh(&params).await;
    assert_eq!((bad.status, bad.code()), (400, 40001));
    assert!(bad.message().contains("save"));
}

#[tokio::test]
async fn the_admin_view_needs_the_token_and_shows_no_secret() {
    let token = "admin-token-0123456789";
    let (app, accounts) =
        spawn_app_with_accounts(2, |s| s.http.admin_token = Some(SecretString::from(token))).await;
    app.sim_post(
        &format!("/_sim/accounts/{}/expire", accounts[0].uin),
        json!({}),
    )
    .await;
    app.sim_post(
        &format!("/_sim/accounts/{}/expire", accounts[1].uin),
        json!({}),
    )
    .await;
    for _ in 0..2 {
        app.sign(&TestFile::random(10).params()).await;
    }
    let url = format!("{}/admin/accounts", app.base);

    for auth in [None, Some("Bearer wrong-token-0123456789"), Some(token)] {
        let mut request = app.http.get(&url);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let response = request.send().await.expect("sent");
        assert_eq!(response.status(), 401, "{auth:?}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["code"], 40103);
    }

    let response = app
        .http
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    let listed = body["data"]["accounts"].as_array().expect("accounts");
    assert_eq!(listed.len(), 2);
    // The whole uin is only in `id`, which the console puts in the
    // per-account routes' paths and never shows; everything else is masked.
    let mut shown = Vec::new();
    for entry in listed {
        let mut entry = entry.clone();
        let id = entry
            .as_object_mut()
            .and_then(|e| e.remove("id"))
            .expect("an id");
        assert!(accounts.iter().any(|a| id == a.uin.as_str()), "{id}");
        shown.push(entry);
    }
    let text = serde_json::to_string(&shown).expect("text");
    for entry in &shown {
        assert!(
            entry["uin"].as_str().is_some_and(|u| u.contains("***")),
            "{entry}"
        );
        assert_eq!(entry["health"], "healthy");
        assert_eq!(entry["lastOutcome"], "refreshed");
        assert!(entry["expiresTimestamp"].is_i64());
    }
    let mut secrets: Vec<String> = Vec::new();
    for a in &accounts {
        secrets.extend([
            a.musickey.clone(),
            a.refresh_key.clone(),
            a.refresh_token.clone(),
            a.uin.clone(),
        ]);
    }
    for stored in app.stored_accounts().await {
        secrets.push(stored.cred.key.expose().to_owned());
        secrets.push(stored.cred.refresh_token_str().to_owned());
    }
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        assert!(
            !text.contains(secret.as_str()),
            "the admin view shows a secret or a full uin"
        );
    }
}

#[tokio::test]
async fn the_admin_view_does_not_exist_without_a_token() {
    let app = spawn_app_with(|_| {}).await;
    let answer = app.get("/admin/accounts", &[]).await;
    assert_eq!((answer.status, answer.code()), (404, 40401));
}

#[tokio::test]
async fn with_a_secret_key_the_database_file_holds_no_key_in_clear_text() {
    let (app, accounts) = spawn_app_with_accounts(1, |s| {
        s.accounts.secret_key = Some(SecretString::from("database-secret-0123456789"));
    })
    .await;
    app.sim_post(
        &format!("/_sim/accounts/{}/expire", accounts[0].uin),
        json!({}),
    )
    .await;
    assert_eq!(app.sign(&TestFile::random(10).params()).await.status, 200);
    let stored = app.stored_accounts().await;
    let rotated = &stored[0].cred;
    assert_ne!(rotated.key.expose(), accounts[0].musickey);

    let mut bytes = std::fs::read(&app.settings.accounts.db).expect("db");
    for suffix in ["-wal", "-journal"] {
        let mut path = app.settings.accounts.db.clone().into_os_string();
        path.push(suffix);
        bytes.extend(std::fs::read(path).unwrap_or_default());
    }
    let secrets = [
        accounts[0].musickey.as_str(),
        accounts[0].refresh_key.as_str(),
        accounts[0].refresh_token.as_str(),
        rotated.key.expose(),
        rotated.refresh_key_str(),
        rotated.refresh_token_str(),
    ];
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(
            !found,
            "a key or token is in the database file in clear text"
        );
    }
}

#[tokio::test]
async fn a_changed_config_entry_replaces_the_stored_credential_and_an_unchanged_one_does_not() {
    let (mut app, accounts) = spawn_app_with_accounts(1, |_| {}).await;
    // Rotate through the server, so the store is newer than the config.
    app.sim_post(
        &format!("/_sim/accounts/{}/expire", accounts[0].uin),
        json!({}),
    )
    .await;
    app.sign(&TestFile::random(10).params()).await;
    let rotated = app.stored_accounts().await[0].cred.key.expose().to_owned();

    app.restart().await;
    assert_eq!(app.stored_accounts().await[0].cred.key.expose(), rotated);

    // The operator logs in again and writes a new key into the config.
    let fresh = app.refresh(&accounts[0].params_with_refresh()).await;
    assert_eq!(fresh.status, 200, "{:?}", fresh.body);
    app.settings.accounts.seeds[0].musickey = fresh.musickey().to_owned();
    app.restart().await;
    let stored = app.stored_accounts().await;
    assert_eq!(stored[0].cred.key.expose(), fresh.musickey());
    assert_eq!(
        stored[0]
            .previous
            .as_ref()
            .map(|p| p.key.expose().to_owned()),
        Some(rotated)
    );
    let _ = LOGIN;
}
