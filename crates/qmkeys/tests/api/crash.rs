//! SIGKILL at any moment of a background refresh loses nothing that cannot be
//! recovered: the real binary, killed again and again, then started once more.

use crate::binary::{free_port, qmkeys};
use crate::process::KillOnDrop;
use qqmusic_sim::{SimConfig, Simulator};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const LOGIN: &str = "music.login.LoginServer.Login";

struct Harness {
    sim: Simulator,
    http: reqwest::Client,
    dir: tempfile::TempDir,
    port: u16,
}

impl Harness {
    fn start(&self) -> KillOnDrop {
        qmkeys()
            .args(["serve", "--config"])
            .arg(self.dir.path().join("qmkeys.toml"))
            .env("QMKEYS_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("QMKEYS_UPSTREAM", self.sim.base_url())
            .env(
                "QMKEYS_COS_ENDPOINT",
                format!("{}/cos/{{bucket}}", self.sim.base_url()),
            )
            .env("QMKEYS_DB", self.dir.path().join("qmkeys.db"))
            .env("QMKEYS_ACCOUNTS_CHECK_INTERVAL_MS", "50")
            .spawn()
            .map(KillOnDrop::new)
            .expect("qmkeys starts")
    }

    async fn sim(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        self.http
            .request(method, format!("{}{path}", self.sim.base_url()))
            .json(&body)
            .send()
            .await
            .expect("sim")
            .json()
            .await
            .unwrap_or(Value::Null)
    }

    async fn logins(&self) -> u64 {
        self.sim(reqwest::Method::GET, "/_sim/stats", Value::Null)
            .await[LOGIN]
            .as_u64()
            .unwrap_or(0)
    }
}

fn write_config(dir: &Path, account: &Value) {
    let text = |k: &str| account[k].as_str().unwrap_or_default().to_owned();
    let config = format!(
        "[[accounts]]\nuin = {}\nmusickey = \"{}\"\nrefresh_key = \"{}\"\nrefresh_token = \"{}\"\n",
        account["uin"],
        text("musickey"),
        text("refresh_key"),
        text("refresh_token")
    );
    std::fs::write(dir.join("qmkeys.toml"), config).expect("config");
}

#[tokio::test]
async fn sigkill_at_any_point_of_a_background_refresh_loses_nothing() {
    // Keys live 3 s, so every start finds a refresh due within about a second,
    // and some keys expire while the server is dead.
    let config = SimConfig {
        key_lifetime: Duration::from_secs(3),
        ..SimConfig::default()
    };
    let sim = Simulator::spawn("127.0.0.1:0", config).await.expect("sim");
    let h = Harness {
        sim,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client"),
        dir: tempfile::tempdir().expect("dir"),
        port: free_port(),
    };
    let account = h
        .sim(
            reqwest::Method::POST,
            "/_sim/accounts",
            json!({"kind": "qq"}),
        )
        .await;
    write_config(h.dir.path(), &account);
    // Every Login takes 400 ms to answer, so a refresh is caught mid-flight.
    h.sim(
        reqwest::Method::POST,
        "/_sim/faults",
        json!({"target": LOGIN, "delay_ms": 400, "times": 1000}),
    )
    .await;

    // Kill before the answer, as it lands (while the new key is being
    // committed), and after the commit.
    for offset_ms in [0u64, 200, 380, 400, 420, 450, 700] {
        let before = h.logins().await;
        let mut child = h.start();
        let deadline = Instant::now() + Duration::from_secs(20);
        while h.logins().await == before {
            assert!(Instant::now() < deadline, "no background refresh started");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(offset_ms)).await;
        child.kill().expect("SIGKILL");
        let _ = child.wait();
    }
    h.sim(reqwest::Method::DELETE, "/_sim/faults", Value::Null)
        .await;

    // Started once more: the account still refreshes and signs.
    let mut child = h.start();
    let sign_url = format!("http://127.0.0.1:{}/tool/cos/sign", h.port);
    let file = crate::cos_sign::TestFile::random(64);
    let deadline = Instant::now() + Duration::from_secs(20);
    let signed: Value = loop {
        if let Ok(response) = h.http.get(&sign_url).query(&file.params()).send().await {
            break response.json().await.expect("json");
        }
        assert!(Instant::now() < deadline, "server never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(signed["code"], 0, "{signed}");

    // Whatever the store holds must refresh: expire every key of the account so
    // only its stored refresh key and token can bring it back.
    let uin = account["uin"].as_u64().expect("uin");
    h.sim(
        reqwest::Method::POST,
        &format!("/_sim/accounts/{uin}/expire"),
        json!({}),
    )
    .await;
    let again = crate::cos_sign::TestFile::random(64);
    let signed: Value = h
        .http
        .get(&sign_url)
        .query(&again.params())
        .send()
        .await
        .expect("sign")
        .json()
        .await
        .expect("json");
    assert_eq!(
        signed["code"], 0,
        "the stored credential refreshed: {signed}"
    );

    let list = Command::new(env!("CARGO_BIN_EXE_qmkeys"))
        .env_clear()
        .env("QMKEYS_DB", h.dir.path().join("qmkeys.db"))
        .args(["accounts", "list"])
        .output()
        .expect("list");
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(
        listed.contains("healthy") && !listed.contains("unhealthy"),
        "{listed}"
    );
    child.kill().expect("stop");
    let _ = child.wait();
}
