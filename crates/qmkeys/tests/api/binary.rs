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

/// `qmkeys serve` that must refuse its settings: its exit code and stderr.
/// Killed if it is still running after 20 s (it would be serving).
fn serve_refusing(config: Option<&str>, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("dir");
    let mut cmd = qmkeys();
    cmd.arg("serve")
        .env("QMKEYS_LISTEN", "127.0.0.1:0")
        .env("QMKEYS_DB", dir.path().join("q.db"));
    if let Some(text) = config {
        let path = dir.path().join("qmkeys.toml");
        std::fs::write(&path, text).expect("config");
        cmd.arg("--config").arg(path);
    }
    for (key, value) in env {
        cmd.env(key, value);
    }
    let mut child = cmd.spawn().map(KillOnDrop::new).expect("starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("wait").is_none() {
        assert!(
            Instant::now() < deadline,
            "serve started: {config:?} {env:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        std::io::Read::read_to_string(&mut pipe, &mut stderr).expect("utf-8 stderr");
    }
    (
        child.try_wait().expect("reaped").and_then(|s| s.code()),
        stderr,
    )
}

#[test]
fn serve_refuses_a_bad_secret_setting_from_the_file_naming_the_key_but_never_the_value() {
    let redis = "secret_key = \"0123456789abcdef-not-this-one\"\n\
                 redis_url = \"redis://:SECRETPASSWORD@[bad-host/\"\n";
    for (file, key, secret) in [
        // An unquoted number: figment says "found unsigned int `…`".
        ("admin_token = 123456789012\n", "admin_token", "123456789012"),
        // Unquoted text: toml's syntax error quotes the whole line.
        ("admin_token = abcdefSECRET\n", "admin_token", "abcdefSECRET"),
        (
            "tips = \"x\"\nadmin_token = \"abc\" SECRETTAIL\n",
            "admin_token",
            "SECRETTAIL",
        ),
        ("secret_key = 987654321098765\n", "secret_key", "987654321098765"),
        ("webhook_secret = 5556667778889990\n", "webhook_secret", "5556667778889990"),
        (
            "webhook_url = \"ftp://hooks.example.com/services/T0SECRETPATH/x\"\n",
            "webhook_url",
            "T0SECRETPATH",
        ),
        // No colon after the scheme: the url crate's error quotes it all.
        (
            "webhook_url = \"https//hooks.slack.com/services/T0SECRETPATH/x\"\n",
            "webhook_url",
            "T0SECRETPATH",
        ),
        (redis, "redis_url", "SECRETPASSWORD"),
        (
            "redis_url = 6379123456\n",
            "redis_url",
            "6379123456",
        ),
        (
            "[[accounts]]\nuin = 123456789\nmusickey = 112233445566778899\n",
            "accounts",
            "112233445566778899",
        ),
        (
            "[[accounts]]\nuin = 123456789\nmusickey = Q_H_L_SECRETKEY\n",
            "accounts",
            "SECRETKEY",
        ),
        (
            "[[accounts]]\nuin = 123456789\nmusickey = \"Q_H_L_a\"\nrefresh_token = [\"SECRETTOKEN\"]\n",
            "accounts",
            "SECRETTOKEN",
        ),
    ] {
        let (code, stderr) = serve_refusing(Some(file), &[]);
        assert_eq!(code, Some(2), "{key}: {stderr}");
        assert!(stderr.contains(key), "{key} is not named: {stderr}");
        assert!(!stderr.contains(secret), "{key}'s value was printed: {stderr}");
    }
}

#[test]
fn serve_refuses_a_bad_secret_setting_from_the_environment_naming_the_key_but_never_the_value() {
    let key = ("QMKEYS_SECRET_KEY", "0123456789abcdef-not-this-one");
    for (env, named, secret) in [
        (
            vec![(
                "QMKEYS_WEBHOOK_URL",
                "https//hooks.slack.com/services/T0SECRETPATH/x",
            )],
            "webhook_url",
            "T0SECRETPATH",
        ),
        (
            vec![("QMKEYS_WEBHOOK_URL", "mailto:T0SECRETPATH@example.com")],
            "webhook_url",
            "T0SECRETPATH",
        ),
        (
            vec![
                ("QMKEYS_REDIS_URL", "redis://:SECRETPASSWORD@[bad-host/"),
                key,
            ],
            "redis_url",
            "SECRETPASSWORD",
        ),
        (
            vec![("QMKEYS_ACCOUNTS", "Q_H_L_SECRETKEYINENV")],
            "accounts",
            "SECRETKEYINENV",
        ),
        (
            vec![("QMKEYS_ADMIN_TOKEN", "shortSECRET")],
            "admin_token",
            "shortSECRET",
        ),
        (
            vec![("QMKEYS_SECRET_KEY", "shortSECRET")],
            "secret_key",
            "shortSECRET",
        ),
        (
            vec![("QMKEYS_WEBHOOK_SECRET", "shortSECRET")],
            "webhook_secret",
            "shortSECRET",
        ),
    ] {
        let (code, stderr) = serve_refusing(None, &env);
        assert_eq!(code, Some(2), "{named}: {stderr}");
        assert!(stderr.contains(named), "{named} is not named: {stderr}");
        assert!(
            !stderr.contains(secret),
            "{named}'s value was printed: {stderr}"
        );
    }
}

#[tokio::test]
async fn application_build_checks_settings_made_in_code_as_the_loader_does() {
    let mut settings = qmkeys::config::Settings::default();
    settings.cos.endpoint = "not a url {bucket}".into();
    settings.http.listen = "127.0.0.1:0".parse().expect("addr");
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
async fn a_malformed_redis_url_is_refused_as_a_setting_naming_the_key_but_not_the_url() {
    let dir = tempfile::tempdir().expect("dir");
    let mut settings = qmkeys::config::Settings::default();
    settings.redis.url = Some(secrecy::SecretString::from(
        "redis://:SECRETPASSWORD@[not-a-host/",
    ));
    settings.accounts.secret_key = Some(secrecy::SecretString::from("a secret key of some length"));
    settings.http.listen = "127.0.0.1:0".parse().expect("addr");
    settings.accounts.db = dir.path().join("q.db");
    let err = qmkeys::startup::Application::build(settings)
        .await
        .err()
        .expect("refused");
    // Refused with the settings, before any store is opened.
    assert!(
        matches!(err, qmkeys::startup::StartupError::Config(_)),
        "{err}"
    );
    let chain = qmkeys::http::error::Chain(&err).to_string();
    assert!(chain.contains("setting `redis_url`"), "{chain}");
    assert!(!chain.contains("SECRETPASSWORD"), "{chain}");
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

    // What the commands did is in the timeline, newest first, masked, keyless.
    let events = run(&["events", "--json"]);
    assert_eq!(events.status.code(), Some(0));
    let text = String::from_utf8_lossy(&events.stdout);
    let body: Value = serde_json::from_str(&text).expect("the admin route's envelope");
    let names: Vec<&str> = body["data"]["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert_eq!(names, ["account.removed", "account.added"], "{text}");
    assert_eq!(body["data"]["events"][0]["uin"], "12***89");
    assert!(
        !text.contains("clitestsecret") && !text.contains("123456789"),
        "{text}"
    );
    let table = run(&["events", "--limit", "1"]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("account.removed") && !table.contains("account.added"),
        "{table}"
    );
    assert_eq!(run(&["events", "--limit", "0"]).status.code(), Some(2));
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
