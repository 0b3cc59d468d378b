//! The real `qmkeys` binary, as an operator runs it.

use crate::process::KillOnDrop;
use qqmusic_sim::{SimConfig, Simulator};
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn qmkeys() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qmkeys"));
    // Only what each test sets: no stray QMKEYS_* from the machine.
    cmd.env_clear().stdout(Stdio::null()).stderr(Stdio::piped());
    cmd
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

#[test]
fn serve_refuses_an_unknown_setting_and_names_it() {
    let out = qmkeys()
        .args(["serve"])
        .env("QMKEYS_LISTN", "127.0.0.1:1")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("listn"), "{stderr}");
}

#[test]
fn serve_refuses_a_bad_value_and_names_the_key() {
    let out = qmkeys()
        .args(["serve"])
        .env("QMKEYS_UPSTREAM_TIMEOUT_MS", "soon")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("upstream_timeout_ms"), "{stderr}");
}

#[test]
fn serve_refuses_every_value_it_once_replaced_by_a_default_and_names_the_key() {
    for (var, value, named) in [
        ("QMKEYS_RATE_LIMIT_BURST", "0", "rate_limit_burst"),
        (
            "QMKEYS_COS_ENDPOINT",
            "ftp://{bucket}.example.com",
            "cos_endpoint",
        ),
        (
            "QMKEYS_COS_ENDPOINT",
            "https://{bucket}.example.com/?x=1",
            "cos_endpoint",
        ),
        ("RUST_LOG", "qmkeys=loudest", "RUST_LOG"),
    ] {
        let out = qmkeys()
            .args(["serve"])
            .env(var, value)
            .env("QMKEYS_LISTEN", "127.0.0.1:0")
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{var}={value}: {stderr}");
        assert!(stderr.contains(named), "{var}={value}: {stderr}");
    }
}

#[tokio::test]
async fn application_build_checks_settings_made_in_code_as_the_loader_does() {
    let settings = qmkeys::config::Settings {
        cos_endpoint: "not a url {bucket}".into(),
        listen: "127.0.0.1:0".parse().expect("addr"),
        ..Default::default()
    };
    let err = qmkeys::startup::Application::build(settings)
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(err, qmkeys::startup::StartupError::Config(_)),
        "{err}"
    );
    let chain = qmkeys::http::error::Chain(&err).to_string();
    assert!(chain.contains("cos_endpoint"), "{chain}");
}

#[tokio::test]
async fn a_malformed_redis_url_is_reported_as_redis_with_its_cause_not_as_the_store() {
    let dir = tempfile::tempdir().expect("dir");
    let settings = qmkeys::config::Settings {
        redis_url: Some(secrecy::SecretString::from("redis://[not-a-host/")),
        secret_key: Some(secrecy::SecretString::from("a secret key of some length")),
        listen: "127.0.0.1:0".parse().expect("addr"),
        db: dir.path().join("q.db"),
        ..Default::default()
    };
    let err = qmkeys::startup::Application::build(settings)
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(err, qmkeys::startup::StartupError::Redis(_)),
        "{err}"
    );
    let chain = qmkeys::http::error::Chain(&err).to_string();
    assert!(
        chain.starts_with("cannot use Redis at redis_url: "),
        "{chain}"
    );
    assert!(
        chain.len() > "cannot use Redis at redis_url: ".len(),
        "the cause follows"
    );
}

#[tokio::test]
async fn serve_answers_a_refresh_and_exits_cleanly_on_sigterm() {
    let sim = Simulator::spawn("127.0.0.1:0", SimConfig::default())
        .await
        .expect("sim");
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("qmkeys-bin-{port}"));
    std::fs::create_dir_all(&dir).expect("dir");
    let config = dir.join("qmkeys.toml");
    std::fs::write(
        &config,
        format!("listen = \"127.0.0.1:{port}\"\ntips = \"from file\"\n"),
    )
    .expect("config");
    let mut child = qmkeys()
        .args(["serve", "--config"])
        .arg(&config)
        .env("QMKEYS_UPSTREAM", sim.base_url())
        .env("QMKEYS_TIPS", "from env")
        .env("QMKEYS_DB", dir.join("qmkeys.db"))
        .env("QMKEYS_LOG_LEVEL", "trace")
        .spawn()
        .map(KillOnDrop::new)
        .expect("starts");
    // Drain stderr as it comes: trace logging would fill the pipe and stall the server.
    let mut stderr = child.stderr.take().expect("piped");
    let logs = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut text).map(|_| text)
    });

    let http = reqwest::Client::new();
    let account: Value = http
        .post(format!("{}/_sim/accounts", sim.base_url()))
        .json(&serde_json::json!({"kind": "qq"}))
        .send()
        .await
        .expect("sim")
        .json()
        .await
        .expect("json");
    let url = format!("http://127.0.0.1:{port}/music/tencent/cookie/refresh");
    let secret = |field: &str| account[field].as_str().expect(field).to_owned();
    let query = [
        ("uin", account["uin"].as_u64().expect("uin").to_string()),
        ("music_key", secret("musickey")),
        ("refresh_key", secret("refresh_key")),
        ("refresh_token", secret("refresh_token")),
    ];
    let deadline = Instant::now() + Duration::from_secs(20);
    let body: Value = loop {
        match http.get(&url).query(&query).send().await {
            Ok(response) => break response.json().await.expect("json"),
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(err) => panic!("server never answered: {err}"),
        }
    };
    assert_eq!(body["code"], 200, "{body}");
    assert_eq!(body["tips"], "from env", "environment overrides the file");
    assert_eq!(body["pid"], child.id());
    // A refused request goes through the error path's logging too.
    let bad = [
        ("uin", query[0].1.clone()),
        ("music_key", format!("{}x", query[1].1)),
    ];
    let refused = http.get(&url).query(&bad).send().await.expect("answers");
    assert_eq!(refused.status(), 401);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "did not exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status}");

    let logs = logs.join().expect("reader").expect("utf-8 logs");
    assert!(
        logs.contains("qmkeys listening"),
        "logs were captured: {logs}"
    );
    assert!(logs.contains("request{id="), "request lines carry their id");
    let cookie = &body["data"]["cookie"];
    let mut secrets = vec![
        secret("musickey"),
        secret("refresh_key"),
        secret("refresh_token"),
        bad[1].1.clone(),
    ];
    for field in ["musickey", "refresh_key", "refresh_token"] {
        secrets.extend(
            cookie[field]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
    }
    for s in &secrets {
        assert!(!logs.contains(s.as_str()), "a secret reached the trace log");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn accounts_cli_adds_lists_and_removes_without_showing_a_key() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("qmkeys.db");
    let run = |args: &[&str]| {
        qmkeys()
            .env("QMKEYS_DB", &db)
            .args(["accounts"])
            .args(args)
            .stdout(Stdio::piped())
            .output()
            .expect("runs")
    };

    let added = run(&[
        "add",
        "--uin",
        "123456789",
        "--key",
        "Q_H_L_clitestsecret",
        "--refresh-token",
        "rt-clisecret",
    ]);
    assert_eq!(
        added.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );

    let listed = run(&["list"]);
    let out = String::from_utf8_lossy(&listed.stdout);
    assert_eq!(listed.status.code(), Some(0));
    assert!(
        out.contains("123456789") && out.contains("qq") && out.contains("healthy"),
        "{out}"
    );
    assert!(
        !out.contains("clitestsecret") && !out.contains("rt-clisecret"),
        "{out}"
    );

    let bad = run(&["add", "--uin", "123456789", "--key", "nope"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--music-key"));

    assert_eq!(
        run(&["remove", "--uin", "123456789"]).status.code(),
        Some(0)
    );
    let missing = run(&["remove", "--uin", "123456789"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&run(&["list"]).stdout).contains("123456789"));
}

#[tokio::test]
async fn sigterm_lets_a_request_in_flight_finish_and_exits_zero() {
    let sim = Simulator::spawn("127.0.0.1:0", SimConfig::default())
        .await
        .expect("sim");
    let http = reqwest::Client::new();
    let account: Value = http
        .post(format!("{}/_sim/accounts", sim.base_url()))
        .json(&serde_json::json!({"kind": "qq"}))
        .send()
        .await
        .expect("sim")
        .json()
        .await
        .expect("json");
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let mut child = qmkeys()
        .args(["serve"])
        .env("QMKEYS_LISTEN", format!("127.0.0.1:{port}"))
        .env("QMKEYS_UPSTREAM", sim.base_url())
        .env("QMKEYS_DB", dir.path().join("qmkeys.db"))
        .env("QMKEYS_SHUTDOWN_GRACE_MS", "5000")
        .spawn()
        .map(KillOnDrop::new)
        .expect("starts");
    let health = format!("http://127.0.0.1:{port}/healthz");
    let deadline = Instant::now() + Duration::from_secs(20);
    while http.get(&health).send().await.is_err() {
        assert!(Instant::now() < deadline, "server never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A Login that takes 800 ms is in flight when the signal arrives.
    http.post(format!("{}/_sim/faults", sim.base_url()))
        .json(&serde_json::json!({"target": "music.login.LoginServer.Login", "delay_ms": 800}))
        .send()
        .await
        .expect("fault");
    let url = format!("http://127.0.0.1:{port}/music/tencent/cookie/refresh");
    let query = [
        ("uin", account["uin"].as_u64().expect("uin").to_string()),
        (
            "music_key",
            account["musickey"].as_str().expect("key").to_owned(),
        ),
    ];
    let in_flight = tokio::spawn({
        let http = http.clone();
        async move {
            http.get(&url)
                .query(&query)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());

    assert_eq!(
        in_flight.await.expect("task").ok(),
        Some(200),
        "the request in flight finished"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "did not exit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status}");
    assert!(
        http.get(&health).send().await.is_err(),
        "no longer accepting"
    );
}
