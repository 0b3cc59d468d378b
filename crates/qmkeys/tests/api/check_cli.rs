//! `qmkeys check` and `qmkeys accounts remove --logout`, run as a shell user
//! runs them, against the simulator (docs/protocol.md sections 10.2, 10.3).

use crate::binary::qmkeys;
use crate::check::INFO;
use crate::helpers::{spawn_app, SimAccount, TestApp, LOGIN};
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output, Stdio};

const LOGOUT: &str = "music.login.LoginServer.Logout";

/// Runs the command off the async runtime, which serves the sim and the app.
async fn run(mut cmd: Command) -> Output {
    cmd.stdout(Stdio::piped());
    tokio::task::spawn_blocking(move || cmd.output().expect("runs"))
        .await
        .expect("joined")
}

/// The binary talking to this app's simulator, its store in `db`.
fn command(app: &TestApp, db: &Path) -> Command {
    let mut cmd = qmkeys();
    cmd.env("QMKEYS_UPSTREAM", app.settings.upstream.base.as_str())
        .env("QMKEYS_UPSTREAM_RETRIES", "0")
        .env("QMKEYS_DB", db);
    cmd
}

fn check_args<'a>(cmd: &'a mut Command, account: &SimAccount) -> &'a mut Command {
    cmd.args(["check", "--uin", &account.uin, "--key", &account.musickey])
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[tokio::test]
async fn check_exits_0_for_a_live_key_6_for_a_dead_one_and_never_logs_in() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("q.db");
    let alive = app.sim_account("qq").await;
    let dead = app.sim_account("wx").await;
    app.sim_post(&format!("/_sim/accounts/{}/expire", dead.uin), json!({}))
        .await;

    let mut cmd = command(&app, &db);
    check_args(&mut cmd, &alive);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("alive          yes"),
        "{}",
        text(&out.stdout)
    );

    let mut cmd = command(&app, &db);
    check_args(&mut cmd, &dead).arg("--json");
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    let body: Value = serde_json::from_str(text(&out.stdout).trim()).expect("JSON");
    assert_eq!(
        (body["code"].clone(), body["data"]["alive"].clone()),
        (json!(200), json!(false))
    );

    // Through a running server: the same answer, the same exit codes.
    let mut cmd = qmkeys();
    check_args(&mut cmd, &alive).args(["--server", &app.base]);
    assert_eq!(run(cmd).await.status.code(), Some(0));
    let mut cmd = qmkeys();
    check_args(&mut cmd, &dead).args(["--server", &app.base]);
    assert_eq!(run(cmd).await.status.code(), Some(6));

    assert_eq!(app.calls(INFO).await, 4);
    assert_eq!(app.calls(LOGIN).await, 0, "a check never rotates the key");
}

#[tokio::test]
async fn check_exits_4_when_qq_music_fails_and_2_for_bad_arguments() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("q.db");
    let account = app.sim_account("qq").await;
    app.fault(json!({"target": INFO, "http_status": 502})).await;
    let mut cmd = command(&app, &db);
    check_args(&mut cmd, &account);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains(&account.musickey),
        "no key in messages"
    );

    let mut cmd = command(&app, &db);
    cmd.args(["check", "--uin", "12", "--key", "Q_H_L_abc"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--uin"), "{}", text(&out.stderr));
}

/// Adds `account` to the store in `db` with the CLI.
async fn add(app: &TestApp, db: &Path, account: &SimAccount) {
    let mut cmd = command(app, db);
    cmd.args([
        "accounts",
        "add",
        "--uin",
        &account.uin,
        "--key",
        &account.musickey,
    ])
    .args(["--refresh-key", &account.refresh_key])
    .args(["--refresh-token", &account.refresh_token]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

async fn listed(app: &TestApp, db: &Path) -> String {
    let mut cmd = command(app, db);
    cmd.args(["accounts", "list"]);
    text(&run(cmd).await.stdout)
}

#[tokio::test]
async fn remove_with_logout_ends_the_session_so_the_key_and_its_refresh_pair_stop_working() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("q.db");
    let account = app.sim_account("qq").await;
    add(&app, &db, &account).await;

    let mut cmd = command(&app, &db);
    cmd.args(["accounts", "remove", "--uin", &account.uin, "--logout"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("logged out and removed"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(app.calls(LOGOUT).await, 1);
    assert!(!listed(&app, &db).await.contains(&account.uin));

    // The copied key is dead, and its refresh pair no longer refreshes.
    let check = app
        .get("/music/tencent/cookie/check", &account.params())
        .await;
    assert_eq!(check.body["data"]["alive"], false, "{:?}", check.body);
    let refreshed = app.refresh(&account.params_with_refresh()).await;
    assert_eq!(
        (refreshed.status, refreshed.code()),
        (401, 40101),
        "{:?}",
        refreshed.body
    );
}

#[tokio::test]
async fn a_failed_logout_keeps_the_account_unless_forced() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("q.db");
    let account = app.sim_account("qq").await;
    add(&app, &db, &account).await;

    app.fault(json!({"target": LOGOUT, "http_status": 503}))
        .await;
    let mut cmd = command(&app, &db);
    cmd.args(["accounts", "remove", "--uin", &account.uin, "--logout"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--force"),
        "{}",
        text(&out.stderr)
    );
    assert!(listed(&app, &db).await.contains(&account.uin), "kept");

    // A key that has already expired cannot be logged out: QQ Music refuses.
    app.sim_post(&format!("/_sim/accounts/{}/expire", account.uin), json!({}))
        .await;
    let mut cmd = command(&app, &db);
    cmd.args(["accounts", "remove", "--uin", &account.uin, "--logout"]);
    assert_eq!(run(cmd).await.status.code(), Some(3));
    assert!(listed(&app, &db).await.contains(&account.uin), "kept");

    let mut cmd = command(&app, &db);
    cmd.args([
        "accounts",
        "remove",
        "--uin",
        &account.uin,
        "--logout",
        "--force",
    ]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !listed(&app, &db).await.contains(&account.uin),
        "removed when forced"
    );

    let mut cmd = command(&app, &db);
    cmd.args(["accounts", "remove", "--uin", &account.uin, "--force"]);
    assert_eq!(
        run(cmd).await.status.code(),
        Some(2),
        "--force needs --logout"
    );
}
