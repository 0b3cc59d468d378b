//! `qmkeys accounts list|show|check|refresh|remove|events`, run as a shell
//! user runs them: on the store, and with `--server` through a running
//! server's admin routes. Both print the admin route's envelope with `--json`.

use crate::admin_accounts::{app_with_one, CHECK, LOGOUT, TOKEN};
use crate::binary::qmkeys;
use crate::helpers::{TestApp, LOGIN};
use serde_json::{json, Value};
use std::process::{Command, Output, Stdio};

/// Runs the command off the async runtime, which serves the sim and the app.
async fn run(mut cmd: Command) -> Output {
    cmd.stdout(Stdio::piped());
    tokio::task::spawn_blocking(move || cmd.output().expect("runs"))
        .await
        .expect("joined")
}

/// `qmkeys accounts ARGS` on the server's own store and simulator.
async fn local(app: &TestApp, args: &[&str]) -> Output {
    let mut cmd = qmkeys();
    cmd.env("QMKEYS_UPSTREAM", app.settings.upstream.base.as_str())
        .env("QMKEYS_UPSTREAM_RETRIES", "0")
        .env("QMKEYS_DB", &app.settings.accounts.db)
        .arg("accounts")
        .args(args);
    run(cmd).await
}

/// `qmkeys accounts ARGS --server BASE`, the token from the environment.
async fn remote(app: &TestApp, args: &[&str]) -> Output {
    let mut cmd = qmkeys();
    cmd.env("QMKEYS_ADMIN_TOKEN", TOKEN)
        .arg("accounts")
        .args(args)
        .args(["--server", &app.base]);
    run(cmd).await
}

/// The admin route's own answer, for comparing shapes.
async fn route(app: &TestApp, method: reqwest::Method, path: &str) -> Value {
    app.http
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON")
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

fn json_of(out: &Output) -> Value {
    serde_json::from_str(text(&out.stdout).trim())
        .unwrap_or_else(|_| panic!("not JSON: {}", text(&out.stdout)))
}

/// An answer's keys, nested, without its values: what "the same shape" means.
/// The field names at every level, values left out. `membership` is one
/// field whatever it holds: the server fills it from its membership cache,
/// the local command (which asks QQ Music nothing it need not) leaves it null.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let inner = if k == "membership" {
                        json!("_")
                    } else {
                        shape(v)
                    };
                    (k.clone(), inner)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.first().map(shape).into_iter().collect()),
        _ => json!("_"),
    }
}

/// Asserts the command exited with `code`, showing its stderr otherwise.
fn exited(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[tokio::test]
async fn list_and_events_print_the_admin_routes_envelope_locally_and_remotely_and_never_a_key() {
    let (app, account) = app_with_one().await;
    let by_route = route(&app, reqwest::Method::GET, "/admin/accounts").await;
    for out in [
        local(&app, &["list", "--json"]).await,
        remote(&app, &["list", "--json"]).await,
    ] {
        exited(&out, 0);
        let body = json_of(&out);
        assert_eq!(shape(&body), shape(&by_route), "{body}");
        assert_eq!(body["data"]["accounts"][0]["health"], "healthy", "{body}");
        assert!(!text(&out.stdout).contains(&account.musickey));
    }
    for out in [local(&app, &["list"]).await, remote(&app, &["list"]).await] {
        exited(&out, 0);
        assert!(
            text(&out.stdout).contains("HEALTH"),
            "{}",
            text(&out.stdout)
        );
        assert!(!text(&out.stdout).contains(&account.musickey));
    }

    let out = local(&app, &["refresh", &account.uin]).await;
    exited(&out, 0);
    let by_route = route(&app, reqwest::Method::GET, "/admin/events?limit=10").await;
    let stored = app.stored_accounts().await;
    let keys = [
        account.musickey.clone(),
        stored[0].cred.key.expose().to_owned(),
    ];
    for out in [
        local(&app, &["events", "--json"]).await,
        remote(&app, &["events", "--json"]).await,
        local(&app, &["events"]).await,
        remote(&app, &["events"]).await,
    ] {
        exited(&out, 0);
        let stdout = text(&out.stdout);
        assert!(stdout.contains("account.refreshed"), "{stdout}");
        for key in &keys {
            assert!(!stdout.contains(key.as_str()), "a key in: {stdout}");
        }
        if stdout.starts_with('{') {
            assert_eq!(shape(&json_of(&out)), shape(&by_route), "{stdout}");
        }
    }
}

#[tokio::test]
async fn check_sends_no_login_locally_or_remotely_and_a_dead_key_exits_6() {
    let (app, account) = app_with_one().await;
    let logins = app.calls(LOGIN).await;
    let path = format!("/admin/accounts/{}/check", account.uin);
    let by_route = route(&app, reqwest::Method::POST, &path).await;

    for out in [
        local(&app, &["check", &account.uin, "--json"]).await,
        remote(&app, &["check", &account.uin, "--json"]).await,
    ] {
        exited(&out, 0);
        let body = json_of(&out);
        assert_eq!(shape(&body), shape(&by_route), "{body}");
        assert_eq!(body["data"]["alive"], true, "{body}");
    }
    let out = local(&app, &["check", &account.uin]).await;
    exited(&out, 0);
    assert!(text(&out.stdout).contains("alive          yes"));
    assert_eq!(app.calls(CHECK).await, 4, "each check asked QQ Music");
    assert_eq!(app.calls(LOGIN).await, logins, "a check sends no Login");
    let timeline = app.timeline().await;
    assert!(
        timeline
            .iter()
            .filter(|e| e.starts_with("account.checked"))
            .count()
            >= 3,
        "the owner's checks are in the timeline: {timeline:?}"
    );

    app.sim_post(&format!("/_sim/accounts/{}/expire", account.uin), json!({}))
        .await;
    let out = local(&app, &["check", &account.uin]).await;
    exited(&out, 6);
    assert!(text(&out.stdout).contains("alive          no"));
    let out = remote(&app, &["check", &account.uin, "--json"]).await;
    exited(&out, 6);
    assert_eq!(json_of(&out)["data"]["alive"], false);
    assert_eq!(app.calls(LOGIN).await, logins);
}

#[tokio::test]
async fn refresh_rotates_the_stored_key_locally_and_remotely() {
    let (app, account) = app_with_one().await;
    let before = app.stored_accounts().await[0].cred.key.expose().to_owned();
    assert_eq!(before, account.musickey);

    let out = local(&app, &["refresh", &account.uin, "--json"]).await;
    exited(&out, 0);
    let body = json_of(&out);
    let path = format!("/admin/accounts/{}", account.uin);
    let by_route = route(&app, reqwest::Method::GET, &path).await;
    assert_eq!(shape(&body), shape(&by_route), "{body}");
    let after_local = app.stored_accounts().await[0].cred.key.expose().to_owned();
    assert_ne!(after_local, before, "the local refresh rotated the key");
    assert!(!text(&out.stdout).contains(&after_local), "no key printed");

    let out = remote(&app, &["refresh", &account.uin]).await;
    exited(&out, 0);
    assert!(
        text(&out.stdout).contains("health"),
        "{}",
        text(&out.stdout)
    );
    let after_remote = app.stored_accounts().await[0].cred.key.expose().to_owned();
    assert_ne!(
        after_remote, after_local,
        "the remote refresh rotated it again"
    );
    assert_eq!(app.calls(LOGIN).await, 2);
    assert!(app
        .timeline()
        .await
        .iter()
        .any(|e| e == "account.refreshed"));

    // `show` prints the current key, locally and through the cookie route alike.
    for out in [
        local(&app, &["show", &account.uin, "--json"]).await,
        remote(&app, &["show", &account.uin, "--json"]).await,
    ] {
        exited(&out, 0);
        assert_eq!(json_of(&out)["data"]["cookie"]["musickey"], after_remote);
    }
}

#[tokio::test]
async fn remove_with_logout_works_remotely_and_a_missing_account_exits_1_either_way() {
    let (app, account) = app_with_one().await;
    let out = remote(
        &app,
        &["remove", "--uin", &account.uin, "--logout", "--json"],
    )
    .await;
    exited(&out, 0);
    let body = json_of(&out);
    assert_eq!(
        body["data"],
        json!({"removed": true, "loggedOut": true}),
        "{body}"
    );
    assert_eq!(app.calls(LOGOUT).await, 1);
    assert!(app.stored_accounts().await.is_empty());
    assert!(app.timeline().await.iter().any(|e| e == "account.removed"));

    for out in [
        local(&app, &["show", &account.uin]).await,
        remote(&app, &["show", &account.uin]).await,
        local(&app, &["check", &account.uin]).await,
        remote(&app, &["check", &account.uin]).await,
        local(&app, &["refresh", &account.uin]).await,
        remote(&app, &["refresh", &account.uin]).await,
        local(&app, &["remove", "--uin", &account.uin]).await,
        remote(&app, &["remove", "--uin", &account.uin]).await,
    ] {
        exited(&out, 1);
    }
}

#[tokio::test]
async fn remove_locally_answers_the_routes_envelope() {
    let (app, account) = app_with_one().await;
    let out = local(&app, &["remove", "--uin", &account.uin, "--json"]).await;
    exited(&out, 0);
    let body = json_of(&out);
    assert_eq!(body["code"], 200, "{body}");
    assert_eq!(
        body["data"],
        json!({"removed": true, "loggedOut": false}),
        "{body}"
    );
    assert!(app.stored_accounts().await.is_empty());
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_refused_without_echoing_the_token() {
    let (app, _account) = app_with_one().await;
    let wrong = "wrong-token-never-printed-7731";
    let mut cmd = qmkeys();
    cmd.args(["accounts", "list", "--server", &app.base, "--token", wrong]);
    let out = run(cmd).await;
    exited(&out, 3);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("HTTP 401"), "{stderr}");
    assert!(!stderr.contains(wrong) && !text(&out.stdout).contains(wrong));

    let mut cmd = qmkeys();
    cmd.args(["accounts", "list", "--server", &app.base]);
    let out = run(cmd).await;
    exited(&out, 2);
    assert!(text(&out.stderr).contains("QMKEYS_ADMIN_TOKEN"));

    let mut cmd = qmkeys();
    cmd.env("QMKEYS_ADMIN_TOKEN", TOKEN)
        .args(["accounts", "add", "--uin", "123456", "--key", "Q_H_L_x"])
        .args(["--server", &app.base]);
    exited(&run(cmd).await, 2);
}
