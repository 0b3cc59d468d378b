use qmkeys::clock::ManualClock;
use qmkeys::config::{
    AccountSetting, AccountsConfig, CosConfig, HttpConfig, UinSetting, UpstreamConfig,
};
use qmkeys::startup::Wiring;
use qmkeys::webhook::Tuning;
use qmkeys::{Application, Settings};
use qqmusic_sim::{SimConfig, Simulator};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub sim: Arc<Simulator>,
    pub clock: ManualClock,
    pub settings: Settings,
    /// The webhook's tries and pauses, kept for a restart.
    webhook_tuning: Tuning,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Holds the database; removed when the app is dropped.
    _dir: tempfile::TempDir,
    /// Where the captured log stood when this app's simulator started.
    log_from: usize,
}

impl Drop for TestApp {
    /// Every test that spawns an app thus proves its flows, at debug level,
    /// logged no credential the simulator issued.
    fn drop(&mut self) {
        self.server.abort();
        if std::thread::panicking() {
            return;
        }
        let leaked = crate::log_capture::leaked(
            &self.sim.issued_secrets(),
            &crate::log_capture::since(self.log_from),
        );
        assert!(
            leaked.is_empty(),
            "the log holds credentials the simulator issued: {leaked:?}"
        );
    }
}

/// A simulator account as its admin API hands it out.
#[derive(Debug, Clone)]
pub struct SimAccount {
    pub uin: String,
    pub musickey: String,
    pub refresh_key: String,
    pub refresh_token: String,
}

impl SimAccount {
    pub fn params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("uin", self.uin.clone()),
            ("music_key", self.musickey.clone()),
        ]
    }

    pub fn setting(&self) -> AccountSetting {
        AccountSetting {
            uin: UinSetting::Text(self.uin.clone()),
            musickey: self.musickey.clone(),
            refresh_key: self.refresh_key.clone(),
            refresh_token: self.refresh_token.clone(),
        }
    }

    pub fn params_with_refresh(&self) -> Vec<(&'static str, String)> {
        let mut p = self.params();
        p.push(("refresh_key", self.refresh_key.clone()));
        p.push(("refresh_token", self.refresh_token.clone()));
        p
    }
}

#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> i64 {
        self.body["code"].as_i64().unwrap_or(i64::MIN)
    }

    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }

    pub fn musickey(&self) -> &str {
        self.body["data"]["cookie"]["musickey"]
            .as_str()
            .unwrap_or_default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with_accounts(0, tweak).await.0
}

/// An app whose QR and fast-login hosts are all the simulator.
pub async fn login_app(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with(|s| {
        let sim = s.upstream.base.clone();
        s.login.ptlogin_base = sim.clone();
        s.login.ptlogin_graph_base = sim.clone();
        s.login.graph_base = sim.clone();
        s.login.wx_open_base = sim.clone();
        s.login.wx_lp_base = sim.clone();
        let mut push = sim;
        let _ = push.set_scheme("ws");
        push.set_path("/ws/handshake");
        s.login.app_qr_push_url = push;
        tweak(s);
    })
    .await
}

/// An app with `n` QQ upload accounts that exist in its simulator, uploading to
/// the simulator's bucket.
pub async fn spawn_app_with_accounts(
    n: usize,
    tweak: impl FnOnce(&mut Settings),
) -> (TestApp, Vec<SimAccount>) {
    spawn_app_with_webhook(n, Tuning::default(), tweak).await
}

/// As [`spawn_app_with_accounts`], with the webhook's tries and pauses (not
/// settings: only tests change them).
pub async fn spawn_app_with_webhook(
    n: usize,
    tuning: Tuning,
    tweak: impl FnOnce(&mut Settings),
) -> (TestApp, Vec<SimAccount>) {
    let (mut apps, accounts) = spawn_tuned(1, n, tuning, tweak).await;
    (apps.remove(0), accounts)
}

/// `instances` qmkeys processes (in this test process) sharing one simulator
/// and `n` upload accounts; each has its own database and clock.
pub async fn spawn_instances(
    instances: usize,
    n: usize,
    tweak: impl FnOnce(&mut Settings),
) -> (Vec<TestApp>, Vec<SimAccount>) {
    spawn_tuned(instances, n, Tuning::default(), tweak).await
}

async fn spawn_tuned(
    instances: usize,
    n: usize,
    tuning: Tuning,
    tweak: impl FnOnce(&mut Settings),
) -> (Vec<TestApp>, Vec<SimAccount>) {
    let log_from = crate::log_capture::start();
    let sim = Arc::new(
        Simulator::spawn("127.0.0.1:0", SimConfig::default())
            .await
            .expect("simulator starts"),
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");
    let mut accounts = Vec::new();
    for _ in 0..n {
        accounts.push(create_sim_account(&http, &sim.base_url(), json!({"kind": "qq"})).await);
    }
    let mut settings = Settings {
        http: HttpConfig {
            listen: "127.0.0.1:0".parse().expect("addr"),
            // Tests fire many requests from one address; the rate-limit test turns it on.
            rate_limit_per_second: 0,
            tips: "测试".into(),
            ..HttpConfig::default()
        },
        upstream: UpstreamConfig {
            base: sim.base_url().parse().expect("sim url"),
            timeout_ms: 2_000,
            ..UpstreamConfig::default()
        },
        cos: CosConfig {
            endpoint: format!("{}/cos/{{bucket}}", sim.base_url()),
            ..CosConfig::default()
        },
        accounts: AccountsConfig {
            seeds: accounts.iter().map(SimAccount::setting).collect(),
            // Tests that want the background refresher turn it up.
            check_interval_ms: 3_600_000,
            ..AccountsConfig::default()
        },
        ..Settings::default()
    };
    tweak(&mut settings);
    let mut apps = Vec::new();
    for _ in 0..instances {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = settings.clone();
        settings.accounts.db = dir.path().join("qmkeys.db");
        let clock = ManualClock::starting_now();
        let (base, server) = start(&settings, &clock, tuning.clone()).await;
        apps.push(TestApp {
            base,
            http: http.clone(),
            sim: sim.clone(),
            clock,
            settings,
            webhook_tuning: tuning.clone(),
            server,
            _dir: dir,
            log_from,
        });
    }
    (apps, accounts)
}

async fn start(
    settings: &Settings,
    clock: &ManualClock,
    webhook_tuning: Tuning,
) -> (String, tokio::task::JoinHandle<std::io::Result<()>>) {
    let wiring = Wiring {
        clock: Arc::new(clock.clone()),
        webhook_tuning,
    };
    let app = Application::build_with(settings.clone(), wiring)
        .await
        .expect("app builds");
    let base = format!("http://{}", app.addr());
    (base, tokio::spawn(app.run_until(std::future::pending())))
}

async fn create_sim_account(http: &reqwest::Client, sim: &str, body: Value) -> SimAccount {
    let response = http
        .post(format!("{sim}/_sim/accounts"))
        .json(&body)
        .send()
        .await
        .expect("sim reachable");
    assert!(
        response.status().is_success(),
        "sim account: {}",
        response.status()
    );
    let v: Value = response.json().await.expect("json");
    let text = |k: &str| v[k].as_str().map(str::to_owned).expect(k);
    SimAccount {
        uin: v["uin"].as_u64().expect("uin").to_string(),
        musickey: text("musickey"),
        refresh_key: text("refresh_key"),
        refresh_token: text("refresh_token"),
    }
}

impl TestApp {
    /// Stops the server (and its background refresher) and starts a new one
    /// on the same database, simulator and clock.
    pub async fn restart(&mut self) {
        self.server.abort();
        let _ = (&mut self.server).await;
        let (base, server) = start(&self.settings, &self.clock, self.webhook_tuning.clone()).await;
        self.base = base;
        self.server = server;
    }

    /// The server's account store, opened as the server opens it (SQLite or
    /// Redis, with its sealing key), for reading what it left behind.
    fn store(&self) -> Box<dyn qmkeys::accounts::AccountStore> {
        use secrecy::ExposeSecret;
        let secret = self
            .settings
            .accounts
            .secret_key
            .as_ref()
            .map(|k| k.expose_secret());
        let sealer = qmkeys::secrets::Sealer::new(secret, "account-store");
        if let Some(url) = &self.settings.redis.url {
            let redis = qmkeys::redis::Redis::connect(url.expose_secret(), Duration::from_secs(2))
                .expect("redis");
            return Box::new(qmkeys::accounts::redis_store::RedisStore::new(
                redis, sealer,
            ));
        }
        Box::new(
            qmkeys::accounts::sqlite::SqliteStore::open(&self.settings.accounts.db, sealer)
                .expect("open store"),
        )
    }

    /// The timeline's event names as the server left them, newest first.
    pub async fn timeline(&self) -> Vec<String> {
        self.store()
            .recent_events(100_000)
            .await
            .expect("the timeline reads")
            .iter()
            .map(|e| match &e.detail {
                Some(detail) => format!("{} {detail}", e.kind.as_str()),
                None => e.kind.as_str().to_owned(),
            })
            .collect()
    }

    /// The store as the server left it, read with the server's own settings.
    pub async fn stored_accounts(&self) -> Vec<qmkeys::accounts::StoredAccount> {
        self.store().load_all().await.expect("load")
    }

    pub async fn get(&self, path: &str, params: &[(&str, String)]) -> Answer {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .query(params)
            .send()
            .await
            .expect("request sent");
        answer(response).await
    }

    /// The body of a GET as text (`/metrics`, pages).
    pub async fn get_text(&self, path: &str) -> String {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request sent")
            .text()
            .await
            .expect("a text body")
    }

    /// The served OpenAPI document.
    pub async fn openapi(&self) -> Value {
        self.http
            .get(format!("{}/openapi.json", self.base))
            .send()
            .await
            .expect("sent")
            .json()
            .await
            .expect("the document is JSON")
    }

    pub async fn refresh(&self, params: &[(&str, String)]) -> Answer {
        self.get("/music/tencent/cookie/refresh", params).await
    }

    pub async fn refresh_post(&self, params: &[(&str, String)]) -> Answer {
        let response = self
            .http
            .post(format!("{}/music/tencent/cookie/refresh", self.base))
            .form(params)
            .send()
            .await
            .expect("request sent");
        answer(response).await
    }

    pub async fn sim_account(&self, kind: &str) -> SimAccount {
        self.sim_account_with(json!({ "kind": kind })).await
    }

    pub async fn sim_account_with(&self, body: Value) -> SimAccount {
        create_sim_account(&self.http, &self.sim.base_url(), body).await
    }

    pub async fn sim_post(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.sim.base_url()))
            .json(&body)
            .send()
            .await
            .expect("sim reachable");
        assert!(
            response.status().is_success(),
            "sim {path}: {}",
            response.status()
        );
        response.json().await.unwrap_or(Value::Null)
    }

    pub async fn sim_get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.sim.base_url()))
            .send()
            .await
            .expect("sim reachable")
            .json()
            .await
            .expect("sim answers JSON")
    }

    /// How many times upstream received `module.method`.
    pub async fn calls(&self, target: &str) -> u64 {
        self.sim_get("/_sim/stats").await[target]
            .as_u64()
            .unwrap_or(0)
    }

    pub async fn logins(&self) -> u64 {
        self.calls(LOGIN).await
    }

    pub async fn fault(&self, fault: Value) {
        self.sim_post("/_sim/faults", fault).await;
    }
}

pub const LOGIN: &str = "music.login.LoginServer.Login";
pub const INIT_UPLOAD: &str = "music.filesys.FileSystem.InitUpload";
pub const VIP: &str = "VipLogin.VipLoginInter.vip_login_base";

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let body =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    Answer {
        status,
        headers,
        body,
    }
}
