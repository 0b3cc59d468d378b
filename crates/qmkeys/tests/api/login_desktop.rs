//! `qmkeys login --desktop`, run as a shell user runs it, with the simulator
//! playing desktop QQ's local service (docs/protocol.md section 9.5) on its
//! one port. Tests run without a terminal, so several accounts need --uin.

use crate::binary::{free_port, qmkeys};
use crate::helpers::{login_app, TestApp};
use crate::login_cli::{in_process, Running};
use serde_json::Value;

/// `qmkeys login --desktop` in this process, the local service the simulator.
fn desktop_cmd(app: &TestApp, dir: &std::path::Path, extra: &[&str]) -> std::process::Command {
    let mut cmd = in_process(app, dir);
    cmd.args(["login", "--desktop", "--local-client", &app.sim.base_url()])
        .args(extra);
    cmd
}

fn assert_no_secret_in(app: &TestApp, text: &str) {
    for secret in app.sim.issued_secrets() {
        assert!(!text.contains(&secret), "a secret printed: {text}");
    }
}

async fn sim_stat(app: &TestApp, name: &str) -> u64 {
    app.sim_get("/_sim/stats").await[name].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn login_desktop_reads_the_client_key_from_desktop_qq_and_prints_a_working_key() {
    let app = login_app(|_| {}).await;
    let dir = tempfile::tempdir().expect("dir");
    let set = app
        .sim
        .set_desktop(&[(None, Some("小明".into()))])
        .expect("one account on the desktop");
    let uin = set[0].0;

    let ended = Running::start(desktop_cmd(&app, dir.path(), &["--json", "--save"]))
        .end()
        .await;
    assert_eq!(ended.code, Some(0), "{}", ended.stderr);
    let body: Value = serde_json::from_str(ended.stdout.trim()).expect("JSON on stdout");
    assert_eq!(body["code"], 200);
    assert_eq!(body["data"]["cookie"]["uin"], uin);
    let key = body["data"]["cookie"]["musickey"].as_str().expect("key");
    let again = app
        .refresh(&[("uin", uin.to_string()), ("music_key", key.to_owned())])
        .await;
    assert_eq!(again.code(), 200, "the printed key works: {:?}", again.body);

    assert!(ended.stderr.contains("小明"), "{}", ended.stderr);
    // --save wrote to this configuration's store, as `qmkeys login` does.
    let mut show = in_process(&app, dir.path());
    show.args(["accounts", "show", &uin.to_string(), "--json"]);
    let shown = Running::start(show).end().await;
    assert_eq!(shown.code, Some(0), "{}", shown.stderr);
    let stored: Value = serde_json::from_str(shown.stdout.trim()).expect("JSON");
    assert_eq!(stored["data"]["cookie"]["musickey"], key);
    assert_eq!(sim_stat(&app, "xlogin").await, 1);
    assert_eq!(sim_stat(&app, "local.pt_get_st").await, 1);
    assert_eq!(sim_stat(&app, "ptlogin.jump").await, 1);
    // The client key (and every other login secret) stays out of the output;
    // only the new music key is printed, on stdout.
    assert_no_secret_in(&app, &ended.stderr);
    let printed_secrets: Vec<String> = app
        .sim
        .issued_secrets()
        .into_iter()
        .filter(|s| ended.stdout.contains(s.as_str()))
        .collect();
    assert!(
        printed_secrets
            .iter()
            .all(|s| body["data"]["cookie"].to_string().contains(s.as_str())),
        "only the new cookie is printed: {printed_secrets:?}"
    );
}

#[tokio::test]
async fn several_desktop_accounts_are_listed_without_a_terminal_and_uin_picks_one() {
    let app = login_app(|_| {}).await;
    let dir = tempfile::tempdir().expect("dir");
    let set = app
        .sim
        .set_desktop(&[(None, Some("甲".into())), (None, Some("乙".into()))])
        .expect("two accounts on the desktop");
    let (first, second) = (set[0].0.to_string(), set[1].0.to_string());

    let listed = Running::start(desktop_cmd(&app, dir.path(), &[]))
        .end()
        .await;
    assert_eq!(listed.code, Some(2), "{}", listed.stderr);
    for (uin, nickname) in [(&first, "甲"), (&second, "乙")] {
        let masked = format!("{}***{}", &uin[..2], &uin[uin.len() - 2..]);
        assert!(listed.stderr.contains(&masked), "{}", listed.stderr);
        assert!(listed.stderr.contains(nickname), "{}", listed.stderr);
        assert!(!listed.stderr.contains(uin.as_str()), "uins are masked");
    }
    assert!(listed.stderr.contains("--uin"), "{}", listed.stderr);
    assert!(listed.stdout.is_empty());
    assert_eq!(sim_stat(&app, "local.pt_get_st").await, 0, "no key read");

    let wrong = Running::start(desktop_cmd(&app, dir.path(), &["--uin", "123456789"]))
        .end()
        .await;
    assert_eq!(wrong.code, Some(2), "{}", wrong.stderr);
    assert!(wrong.stderr.contains("123456789"), "{}", wrong.stderr);

    let picked = Running::start(desktop_cmd(&app, dir.path(), &["--uin", &second]))
        .end()
        .await;
    assert_eq!(picked.code, Some(0), "{}", picked.stderr);
    assert!(
        picked.stdout.contains(&format!("uin            {second}")),
        "a summary as refresh prints it: {}",
        picked.stdout
    );
    assert_no_secret_in(&app, &picked.stderr);
}

#[tokio::test]
async fn login_desktop_through_a_server_with_save_keeps_the_account() {
    let app = login_app(|s| s.accounts.allow_save = true).await;
    let dir = tempfile::tempdir().expect("dir");
    let set = app.sim.set_desktop(&[(None, None)]).expect("one account");
    let uin = set[0].0;
    let mut cmd = qmkeys();
    cmd.args([
        "login",
        "--desktop",
        "--save",
        "--json",
        "--server",
        &app.base,
    ])
    .args(["--local-client", &app.sim.base_url()])
    .env("QMKEYS_XLOGIN_BASE", app.sim.base_url())
    .env("TMPDIR", dir.path());
    let ended = Running::start(cmd).end().await;
    assert_eq!(ended.code, Some(0), "{}", ended.stderr);
    let body: Value = serde_json::from_str(ended.stdout.trim()).expect("JSON on stdout");
    assert_eq!(body["data"]["cookie"]["uin"], uin);
    let stored = app.stored_accounts().await;
    assert!(
        stored.iter().any(|a| a.uin().get() == uin),
        "the server saved it"
    );
    assert_no_secret_in(&app, &ended.stderr);

    // A server that does not allow saving answers its envelope.
    let strict = login_app(|_| {}).await;
    strict
        .sim
        .set_desktop(&[(None, None)])
        .expect("one account");
    let mut cmd = qmkeys();
    cmd.args([
        "login",
        "--desktop",
        "--save",
        "--json",
        "--server",
        &strict.base,
    ])
    .args(["--local-client", &strict.sim.base_url()])
    .env("QMKEYS_XLOGIN_BASE", strict.sim.base_url());
    let refused = Running::start(cmd).end().await;
    assert_eq!(refused.code, Some(3), "{}", refused.stderr);
    let body: Value = serde_json::from_str(refused.stdout.trim()).expect("the envelope");
    assert_eq!(body["code"], 40305);
}

#[tokio::test]
async fn login_desktop_says_plainly_when_no_desktop_qq_answers_or_none_is_logged_in() {
    let app = login_app(|_| {}).await;
    let dir = tempfile::tempdir().expect("dir");
    let closed = format!("http://127.0.0.1:{}", free_port());

    let mut cmd = in_process(&app, dir.path());
    cmd.args(["login", "--desktop", "--local-client", &closed]);
    let silent = Running::start(cmd).end().await;
    assert_eq!(silent.code, Some(4), "{}", silent.stderr);
    assert!(
        silent.stderr.contains(&closed),
        "names the base: {}",
        silent.stderr
    );
    assert!(
        silent.stderr.contains("没有找到桌面 QQ"),
        "{}",
        silent.stderr
    );
    assert!(
        silent.stderr.contains("Windows or macOS"),
        "{}",
        silent.stderr
    );

    // Logged in on nobody's account: said as plainly.
    let mut cmd = in_process(&app, dir.path());
    cmd.args(["login", "--desktop", "--local-client", &closed])
        .args(["--local-client", &app.sim.base_url()]);
    let nobody = Running::start(cmd).end().await;
    assert_eq!(nobody.code, Some(4), "{}", nobody.stderr);
    assert!(
        nobody.stderr.contains("没有已登录的账号"),
        "{}",
        nobody.stderr
    );

    // The next base is tried when the first is silent.
    let set = app.sim.set_desktop(&[(None, None)]).expect("one account");
    let mut cmd = in_process(&app, dir.path());
    cmd.args(["login", "--desktop", "--json", "--local-client", &closed])
        .args(["--local-client", &app.sim.base_url()]);
    let found = Running::start(cmd).end().await;
    assert_eq!(found.code, Some(0), "{}", found.stderr);
    let body: Value = serde_json::from_str(found.stdout.trim()).expect("JSON");
    assert_eq!(body["data"]["cookie"]["uin"], set[0].0);

    let mut cmd = in_process(&app, dir.path());
    cmd.args([
        "login",
        "--desktop",
        "--local-client",
        "http://127.0.0.1:1/x",
    ]);
    assert_eq!(Running::start(cmd).end().await.code, Some(2));
    let mut cmd = in_process(&app, dir.path());
    cmd.args(["login", "--uin", "123456789"]);
    assert_eq!(
        Running::start(cmd).end().await.code,
        Some(2),
        "--uin needs --desktop"
    );
}
