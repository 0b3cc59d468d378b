//! `qmkeys refresh` and `qmkeys cos-sign`, run as a shell user runs them.

use crate::binary::qmkeys;
use crate::cos_sign::TestFile;
use crate::helpers::{spawn_app_with_accounts, SimAccount, TestApp, INIT_UPLOAD};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs the command off the async runtime, which serves the sim and the app.
async fn run(mut cmd: Command) -> Output {
    cmd.stdout(Stdio::piped());
    tokio::task::spawn_blocking(move || cmd.output().expect("runs"))
        .await
        .expect("joined")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_str(stdout(out).trim()).unwrap_or_else(|_| {
        panic!(
            "stdout is not JSON: {}\nstderr: {}",
            stdout(out),
            stderr(out)
        )
    })
}

impl TestApp {
    /// The binary with this app's settings, as a config file would give them.
    fn cli(&self, dir: &Path) -> Command {
        let mut toml = format!(
            "upstream = \"{}\"\ncos_endpoint = \"{}\"\ndb = \"{}\"\ncos_max_upload_bytes = {}\n",
            self.settings.upstream.base,
            self.settings.cos.endpoint,
            dir.join("cli.db").display(),
            self.settings.cos.max_upload_bytes,
        );
        for a in &self.settings.accounts.seeds {
            let uin = match &a.uin {
                qmkeys::config::UinSetting::Number(n) => n.to_string(),
                qmkeys::config::UinSetting::Text(t) => t.clone(),
            };
            toml.push_str(&format!(
                "[[accounts]]\nuin = \"{uin}\"\nmusickey = \"{}\"\nrefresh_key = \"{}\"\nrefresh_token = \"{}\"\n",
                a.musickey, a.refresh_key, a.refresh_token
            ));
        }
        let config = dir.join("qmkeys.toml");
        std::fs::write(&config, toml).expect("config");
        let mut cmd = qmkeys();
        cmd.env("QMKEYS_CONFIG", config);
        cmd
    }

    async fn objects(&self) -> Vec<Value> {
        self.sim_get("/_sim/cos/objects")
            .await
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

fn refresh_args(cmd: &mut Command, account: &SimAccount, key: &str) {
    cmd.args(["refresh", "--uin", &account.uin, "--key", key]);
}

#[tokio::test]
async fn refresh_prints_the_endpoints_json_with_a_new_key_that_works() {
    let (app, _) = spawn_app_with_accounts(0, |_| {}).await;
    let dir = tempfile::tempdir().expect("dir");
    let account = app.sim_account("qq").await;

    let mut cmd = app.cli(dir.path());
    refresh_args(&mut cmd, &account, &account.musickey);
    cmd.arg("--json");
    let out = run(cmd).await;

    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let body = json(&out);
    assert_eq!(body["code"], 200);
    assert_eq!(body["message"], "请求成功！");
    let new_key = body["data"]["cookie"]["musickey"]
        .as_str()
        .expect("key")
        .to_owned();
    assert!(new_key.starts_with("Q_H_L_") && new_key != account.musickey);
    assert_eq!(body["data"]["cookie"]["uin"].to_string(), account.uin);
    assert!(body["data"]["info"]["vip"].is_boolean());

    // The key it printed is one QQ Music now accepts.
    let again = app
        .refresh(&[("uin", account.uin.clone()), ("music_key", new_key.clone())])
        .await;
    assert_eq!(again.code(), 200, "{:?}", again.body);

    let mut cmd = app.cli(dir.path());
    refresh_args(&mut cmd, &account, &new_key);
    let summary = run(cmd).await;
    assert_eq!(summary.status.code(), Some(0), "{}", stderr(&summary));
    let text = stdout(&summary);
    assert!(
        text.contains("musickey       Q_H_L_") && text.contains("expires"),
        "{text}"
    );
    assert!(!stderr(&summary).contains("Q_H_L_"), "no key on stderr");
}

#[tokio::test]
async fn refresh_exit_codes_tell_a_refusal_from_an_outage_from_a_usage_error() {
    let (app, _) = spawn_app_with_accounts(0, |_| {}).await;
    let dir = tempfile::tempdir().expect("dir");
    let account = app.sim_account("qq").await;

    let mut cmd = app.cli(dir.path());
    refresh_args(&mut cmd, &account, &format!("{}x", account.musickey));
    cmd.arg("--json");
    let refused = run(cmd).await;
    assert_eq!(refused.status.code(), Some(3), "{}", stderr(&refused));
    assert_eq!(json(&refused)["code"], 40101);
    assert!(stderr(&refused).contains("40101"));

    let mut cmd = app.cli(dir.path());
    refresh_args(&mut cmd, &account, &account.musickey);
    cmd.env("QMKEYS_UPSTREAM", "http://127.0.0.1:1");
    let down = run(cmd).await;
    assert_eq!(down.status.code(), Some(4), "{}", stderr(&down));

    let mut cmd = app.cli(dir.path());
    cmd.args(["refresh", "--uin", "12", "--key", &account.musickey]);
    let usage = run(cmd).await;
    assert_eq!(usage.status.code(), Some(2));
    assert!(stderr(&usage).contains("--uin"), "{}", stderr(&usage));
    assert_eq!(
        app.logins().await,
        1,
        "only the refused key reached QQ Music"
    );
}

/// A PNG's bytes would do, but the bucket checks only what was signed.
fn cover(dir: &Path, name: &str, len: usize) -> (TestFile, std::path::PathBuf) {
    let file = TestFile::random(len);
    let path = dir.join(name);
    std::fs::write(&path, &file.bytes).expect("file");
    (file, path)
}

#[tokio::test]
async fn cos_sign_signs_with_the_configured_accounts_and_uploads_to_the_bucket() {
    let (app, _) = spawn_app_with_accounts(1, |_| {}).await;
    let dir = tempfile::tempdir().expect("dir");
    // Big enough for several chunks of the streamed hash and upload.
    let (file, path) = cover(dir.path(), "cover.png", 300_000);

    let mut cmd = app.cli(dir.path());
    cmd.arg("cos-sign").arg(&path).arg("--upload");
    let out = run(cmd).await;

    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("PUT http://"), "{text}");
    assert!(text.contains(&format!(
        "content-md5: {}",
        qmkeys::cos::content_md5(&file.md5).expect("md5")
    )));
    let cdn = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("CDN: "))
        .expect("a CDN line");
    assert!(
        cdn.starts_with("https://music-file.y.qq.com/songlist/") && cdn.ends_with(".png"),
        "{cdn}"
    );
    let objects = app.objects().await;
    assert!(
        objects
            .iter()
            .any(|o| o["etag"] == format!("\"{}\"", file.md5) && o["size"] == 300_000),
        "{objects:?}"
    );
}

#[tokio::test]
async fn cos_sign_asks_a_running_server_and_prints_its_json() {
    let (app, _) = spawn_app_with_accounts(1, |_| {}).await;
    let dir = tempfile::tempdir().expect("dir");
    let (file, path) = cover(dir.path(), "cover.bin", 5_000);

    let mut cmd = qmkeys();
    cmd.arg("cos-sign")
        .arg(&path)
        .args(["--ext", "jpg", "--server", &app.base, "--upload", "--json"]);
    // A broken setting does not matter when a server signs.
    cmd.env("QMKEYS_UPSTREAM_TIMEOUT_MS", "soon");
    let out = run(cmd).await;

    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let body = json(&out);
    assert_eq!(body["code"], 0);
    assert!(body["data"]["url"]
        .as_str()
        .is_some_and(|u| u.ends_with(".jpg")));
    assert_eq!(body["data"]["header"]["Content-Length"], "5000");
    assert_eq!(app.calls(INIT_UPLOAD).await, 1, "the server signed it");
    assert!(app
        .objects()
        .await
        .iter()
        .any(|o| o["etag"] == format!("\"{}\"", file.md5)));
}

#[tokio::test]
async fn cos_sign_exit_codes_tell_each_failing_step_apart() {
    let (app, _) = spawn_app_with_accounts(1, |s| s.cos.max_upload_bytes = 10_000).await;
    let dir = tempfile::tempdir().expect("dir");
    let (_, small) = cover(dir.path(), "small.png", 1_000);
    let (_, large) = cover(dir.path(), "large.png", 10_001);
    let (_, text) = cover(dir.path(), "notes.txt", 10);

    let mut cmd = app.cli(dir.path());
    cmd.arg("cos-sign").arg(&text);
    let not_image = run(cmd).await;
    assert_eq!(not_image.status.code(), Some(2), "{}", stderr(&not_image));
    assert!(stderr(&not_image).contains("--ext"));

    let mut cmd = app.cli(dir.path());
    cmd.arg("cos-sign").arg(dir.path().join("missing.png"));
    assert_eq!(run(cmd).await.status.code(), Some(2));

    let mut cmd = qmkeys();
    cmd.arg("cos-sign")
        .arg(&large)
        .args(["--server", &app.base]);
    let too_large = run(cmd).await;
    assert_eq!(too_large.status.code(), Some(3), "{}", stderr(&too_large));
    assert!(
        stdout(&too_large).contains("40001"),
        "the server's envelope is printed"
    );

    let no_account = {
        // The same settings without the account.
        let empty = tempfile::tempdir().expect("dir");
        let mut cmd = qmkeys();
        std::fs::write(
            empty.path().join("q.toml"),
            format!(
                "upstream = \"{}\"\ndb = \"{}\"\n",
                app.settings.upstream.base,
                empty.path().join("q.db").display()
            ),
        )
        .expect("config");
        cmd.env("QMKEYS_CONFIG", empty.path().join("q.toml"));
        cmd.arg("cos-sign").arg(&small).arg("--json");
        run(cmd).await
    };
    assert_eq!(no_account.status.code(), Some(4), "{}", stderr(&no_account));
    assert_eq!(json(&no_account)["code"], 50301);

    // An endpoint whose paths the upload credential does not cover.
    let mut cmd = app.cli(dir.path());
    let toml_path = dir.path().join("qmkeys.toml");
    let toml = std::fs::read_to_string(&toml_path).expect("config");
    std::fs::write(
        &toml_path,
        toml.replace("/cos/{bucket}", "/cos/{bucket}/elsewhere"),
    )
    .expect("config");
    cmd.arg("cos-sign").arg(&small).arg("--upload");
    let refused = run(cmd).await;
    assert_eq!(refused.status.code(), Some(5), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("AccessDenied"),
        "{}",
        stderr(&refused)
    );

    let mut cmd = qmkeys();
    cmd.arg("cos-sign")
        .arg(&small)
        .args(["--server", "http://127.0.0.1:1"]);
    assert_eq!(run(cmd).await.status.code(), Some(4));
}
