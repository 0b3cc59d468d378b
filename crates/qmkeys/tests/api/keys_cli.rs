//! `qmkeys keys create|list|revoke`, on the store and with `--server`.

use crate::binary::qmkeys;
use crate::helpers::{spawn_app_with, TestApp};
use secrecy::SecretString;
use serde_json::Value;
use std::process::{Command, Output, Stdio};

const TOKEN: &str = "admin-token-for-the-keys-cli";

async fn run(mut cmd: Command) -> Output {
    cmd.stdout(Stdio::piped());
    tokio::task::spawn_blocking(move || cmd.output().expect("runs"))
        .await
        .expect("joined")
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "stdout is not JSON: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

async fn keyed_app() -> TestApp {
    spawn_app_with(|s| {
        s.http.admin_token = Some(SecretString::from(TOKEN));
        s.http.require_api_key = true;
    })
    .await
}

/// The binary on the app's own database (SQLite allows both at once).
fn local(app: &TestApp, args: &[&str]) -> Command {
    let mut cmd = qmkeys();
    cmd.env("QMKEYS_DB", &app.settings.accounts.db)
        .args(["keys"])
        .args(args);
    cmd
}

fn remote(app: &TestApp, token: Option<&str>, args: &[&str]) -> Command {
    let mut cmd = qmkeys();
    cmd.args(["keys", "--server", &app.base]).args(args);
    if let Some(token) = token {
        cmd.env("QMKEYS_ADMIN_TOKEN", token);
    }
    cmd
}

async fn refresh_with(app: &TestApp, secret: &str) -> u16 {
    let account = app.sim_account("qq").await;
    app.http
        .get(format!("{}/music/tencent/cookie/refresh", app.base))
        .query(&account.params())
        .header("X-Api-Key", secret)
        .send()
        .await
        .expect("sent")
        .status()
        .as_u16()
}

#[tokio::test]
async fn keys_made_listed_and_revoked_on_the_store_are_the_servers_keys() {
    let app = keyed_app().await;
    let out = run(local(
        &app,
        &[
            "create",
            "--name",
            "cli bot",
            "--rate-limit",
            "30",
            "--json",
        ],
    ))
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made = json(&out);
    let id = made["data"]["key"]["id"].as_str().expect("id").to_owned();
    let secret = made["data"]["secret"].as_str().expect("secret").to_owned();
    assert_eq!(made["data"]["key"]["rateLimit"], 30);
    assert_eq!(
        refresh_with(&app, &secret).await,
        200,
        "the server knows it"
    );

    let out = run(local(&app, &["list"])).await;
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains(&id) && table.contains("cli bot"), "{table}");
    assert!(!table.contains(&secret[4..]));

    let out = run(local(&app, &["revoke", &id, "--json"])).await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out)["data"]["revoked"], true);
    let out = run(local(&app, &["revoke", &id])).await;
    assert_eq!(out.status.code(), Some(1), "no such key");
    let out = run(local(&app, &["create", "--name", ""])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--name"));
    let out = run(local(&app, &["create", "--name", "x", "--rate-limit", "0"])).await;
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn keys_made_listed_and_revoked_through_a_server_with_the_token_from_the_environment() {
    let app = keyed_app().await;
    let out = run(remote(
        &app,
        Some(TOKEN),
        &["create", "--name", "remote", "--json"],
    ))
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made = json(&out);
    let id = made["data"]["key"]["id"].as_str().expect("id").to_owned();
    let secret = made["data"]["secret"].as_str().expect("secret").to_owned();
    assert_eq!(refresh_with(&app, &secret).await, 200);

    let out = run(remote(&app, Some(TOKEN), &["list"])).await;
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains(&id) && table.contains("remote"), "{table}");

    let out = run(remote(&app, Some(TOKEN), &["revoke", &id])).await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(refresh_with(&app, &secret).await, 401, "revoked at once");
    let out = run(remote(&app, Some(TOKEN), &["revoke", &id])).await;
    assert_eq!(out.status.code(), Some(1), "no such key");

    let out = run(remote(&app, Some("a-wrong-admin-token"), &["list"])).await;
    assert_eq!(out.status.code(), Some(3), "a wrong token is refused");
    let out = run(remote(&app, None, &["list"])).await;
    assert_eq!(out.status.code(), Some(2), "no token at all");
    let out = run(remote(
        &app,
        Some(TOKEN),
        &["create", "--name", "x", "--rate-limit", "0"],
    ))
    .await;
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rate_limit"));
}
