//! Several qmkeys instances sharing one real Redis (started here on a free
//! loopback port; `.ci/run` installs redis-server from Debian).

use crate::binary::free_port;
use crate::cos_sign::TestFile;
use crate::helpers::{spawn_instances, TestApp, LOGIN};
use crate::process::KillOnDrop;
use futures::future::join_all;
use secrecy::SecretString;
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) struct RedisServer {
    port: u16,
    /// None while the test has Redis down.
    child: Option<KillOnDrop>,
}

impl RedisServer {
    pub(crate) fn start() -> Self {
        let mut server = Self {
            port: free_port(),
            child: None,
        };
        server.restart();
        server
    }

    /// Starts (again) on the same port; nothing is persisted.
    fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(KillOnDrop::new)
            .expect("redis-server is installed (apt-get install redis-server)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Takes Redis down: the guard kills and reaps it.
    fn kill(&mut self) {
        self.child = None;
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Every value Redis holds, whatever its type, as text.
    async fn dump(&self) -> Vec<String> {
        let client = redis::Client::open(self.url()).expect("client");
        let mut c = client
            .get_multiplexed_async_connection()
            .await
            .expect("connect");
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("*")
            .query_async(&mut c)
            .await
            .expect("keys");
        let mut out = Vec::new();
        for key in keys {
            let kind: String = redis::cmd("TYPE")
                .arg(&key)
                .query_async(&mut c)
                .await
                .expect("type");
            let values: Vec<String> = match kind.as_str() {
                "string" => vec![redis::cmd("GET")
                    .arg(&key)
                    .query_async(&mut c)
                    .await
                    .expect("get")],
                "hash" => redis::cmd("HGETALL")
                    .arg(&key)
                    .query_async(&mut c)
                    .await
                    .expect("hgetall"),
                "list" => redis::cmd("LRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .query_async(&mut c)
                    .await
                    .expect("lrange"),
                "set" => redis::cmd("SMEMBERS")
                    .arg(&key)
                    .query_async(&mut c)
                    .await
                    .expect("smembers"),
                other => panic!("unexpected Redis type {other} at {key}"),
            };
            out.push(key);
            out.extend(values);
        }
        out
    }
}

pub(crate) async fn pair(
    redis: &RedisServer,
    accounts: usize,
) -> (Vec<TestApp>, Vec<crate::helpers::SimAccount>) {
    let url = redis.url();
    spawn_instances(2, accounts, move |s| {
        s.redis.url = Some(SecretString::from(url));
        s.accounts.secret_key = Some(SecretString::from("shared-secret-for-every-instance"));
    })
    .await
}

#[tokio::test]
async fn a_hundred_identical_refreshes_over_two_instances_make_one_login() {
    let redis = RedisServer::start();
    let (apps, _) = pair(&redis, 0).await;
    let account = apps[0].sim_account("qq").await;
    apps[0]
        .fault(json!({"target": LOGIN, "delay_ms": 300}))
        .await;

    let params = account.params();
    let answers = join_all((0..100).map(|i| apps[i % 2].refresh(&params))).await;

    assert!(
        answers.iter().all(|a| a.status == 200),
        "{:?}",
        answers.iter().find(|a| a.status != 200)
    );
    let keys: std::collections::HashSet<&str> = answers.iter().map(|a| a.musickey()).collect();
    assert_eq!(keys.len(), 1, "both instances hand out the one rotated key");
    assert_eq!(apps[0].logins().await, 1);
}

#[tokio::test]
async fn a_cookie_cached_by_one_instance_is_served_by_the_other() {
    let redis = RedisServer::start();
    let (apps, _) = pair(&redis, 0).await;
    let account = apps[0].sim_account("wx").await;

    let on_a = apps[0].refresh(&account.params()).await;
    let on_b = apps[1].refresh(&account.params()).await;

    assert_eq!((on_a.status, on_b.status), (200, 200));
    assert_eq!(on_a.musickey(), on_b.musickey());
    assert_eq!(on_a.body["data"]["info"], on_b.body["data"]["info"]);
    assert_eq!(apps[0].logins().await, 1);
    assert_eq!(
        apps[0].calls("VipLogin.VipLoginInter.vip_login_base").await,
        1,
        "the info is shared too"
    );
}

#[tokio::test]
async fn an_account_rotated_by_one_instance_signs_on_the_other_without_a_second_rotation() {
    let redis = RedisServer::start();
    let (apps, accounts) = pair(&redis, 1).await;
    apps[0]
        .sim_post(
            &format!("/_sim/accounts/{}/expire", accounts[0].uin),
            json!({}),
        )
        .await;

    let on_a = apps[0].sign(&TestFile::random(100).params()).await;
    assert_eq!(on_a.status, 200, "{:?}", on_a.body);
    assert_eq!(apps[0].logins().await, 1);

    let on_b = apps[1].sign(&TestFile::random(100).params()).await;
    assert_eq!(on_b.status, 200, "{:?}", on_b.body);
    assert_eq!(apps[0].logins().await, 1, "B used A's rotated key");
    // And the same file signed on B reuses A's InitUpload answer.
    let file = TestFile::random(50);
    apps[0].sign(&file.params()).await;
    let before = apps[0].calls("music.filesys.FileSystem.InitUpload").await;
    assert_eq!(apps[1].sign(&file.params()).await.status, 200);
    assert_eq!(
        apps[0].calls("music.filesys.FileSystem.InitUpload").await,
        before
    );
}

#[tokio::test]
async fn nothing_in_redis_holds_a_key_or_token_in_clear_text() {
    let redis = RedisServer::start();
    let (apps, accounts) = pair(&redis, 1).await;
    apps[0]
        .sim_post(
            &format!("/_sim/accounts/{}/expire", accounts[0].uin),
            json!({}),
        )
        .await;
    let user = apps[0].sim_account("qq").await;
    let refreshed = apps[0].refresh(&user.params_with_refresh()).await;
    let signed = apps[1].sign(&TestFile::random(10).params()).await;
    assert_eq!((refreshed.status, signed.status), (200, 200));

    let mut secrets = vec![
        user.musickey.clone(),
        user.refresh_key.clone(),
        user.refresh_token.clone(),
        accounts[0].musickey.clone(),
        accounts[0].refresh_token.clone(),
        refreshed.musickey().to_owned(),
        refreshed.body["data"]["cookie"]["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        signed.body["data"]["header"]["x-cos-security-token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    ];
    for stored in apps[0].stored_accounts().await {
        secrets.push(stored.cred.key.expose().to_owned());
        secrets.push(stored.cred.refresh_key_str().to_owned());
    }
    let dump = redis.dump().await;
    assert!(
        dump.len() > 4,
        "Redis holds the shared state: {} entries",
        dump.len()
    );
    for secret in secrets.iter().filter(|s| s.len() >= 8) {
        assert!(
            !dump.iter().any(|v| v.contains(secret.as_str())),
            "a secret is in Redis in clear text"
        );
    }
    assert!(
        !dump.iter().any(|v| v.contains(&user.uin)),
        "cache keys are keyed hashes, not uins"
    );
}

#[tokio::test]
async fn when_redis_dies_both_instances_keep_answering_and_sharing_resumes_when_it_returns() {
    let mut redis = RedisServer::start();
    let (apps, _) = pair(&redis, 0).await;
    let first = apps[0].sim_account("qq").await;
    assert_eq!(apps[0].refresh(&first.params()).await.status, 200);

    redis.kill();
    for app in &apps {
        let account = app.sim_account("qq").await;
        let started = Instant::now();
        let answer = app.refresh(&account.params()).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "a dead Redis costs a bounded wait"
        );
        // Cached locally even while Redis is away.
        assert_eq!(
            app.refresh(&account.params()).await.musickey(),
            answer.musickey()
        );
    }

    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let account = apps[0].sim_account("qq").await;
        let before = apps[0].logins().await;
        let on_a = apps[0].refresh(&account.params()).await;
        let on_b = apps[1].refresh(&account.params()).await;
        assert_eq!((on_a.status, on_b.status), (200, 200));
        if apps[0].logins().await == before + 1 && on_a.musickey() == on_b.musickey() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "sharing did not resume after Redis came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn an_instance_started_while_redis_is_down_serves_refreshes_and_loads_its_accounts_when_redis_returns(
) {
    let mut redis = RedisServer::start();
    redis.kill();
    let url = redis.url();
    let (apps, _) = spawn_instances(1, 1, move |s| {
        s.redis.url = Some(SecretString::from(url));
        s.accounts.secret_key = Some(SecretString::from("shared-secret-for-every-instance"));
        s.accounts.check_interval_ms = 50;
    })
    .await;
    let app = &apps[0];
    let user = app.sim_account("qq").await;
    assert_eq!(
        app.refresh(&user.params()).await.status,
        200,
        "refreshes need no Redis"
    );
    let waiting = app.sign(&TestFile::random(10).params()).await;
    assert_eq!(waiting.status, 503, "{:?}", waiting.body);

    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let answer = app.sign(&TestFile::random(10).params()).await;
        if answer.status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "accounts never loaded: {:?}",
            answer.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        app.stored_accounts().await.len(),
        1,
        "the config's account was seeded into Redis"
    );
}

#[tokio::test]
async fn both_instances_keep_and_show_one_timeline_in_redis() {
    const TOKEN: &str = "admin-token-for-the-shared-timeline";
    let redis = RedisServer::start();
    let url = redis.url();
    let (apps, accounts) = spawn_instances(2, 1, move |s| {
        s.redis.url = Some(SecretString::from(url));
        s.accounts.secret_key = Some(SecretString::from("shared-secret-for-every-instance"));
        s.accounts.events_keep = 2;
        s.http.admin_token = Some(SecretString::from(TOKEN));
    })
    .await;
    apps[0]
        .sim_post(
            &format!("/_sim/accounts/{}/expire", accounts[0].uin),
            json!({}),
        )
        .await;
    assert_eq!(
        apps[0].sign(&TestFile::random(10).params()).await.status,
        200
    );

    let timeline = |app: &TestApp| {
        let request = app
            .http
            .get(format!("{}/admin/events", app.base))
            .bearer_auth(TOKEN);
        async move {
            let body: Value = request
                .send()
                .await
                .expect("sent")
                .json()
                .await
                .expect("json");
            body["data"]["events"]
                .as_array()
                .expect("events")
                .iter()
                .map(|e| e["event"].as_str().unwrap_or_default().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let on_b = timeline(&apps[1]).await;
    assert_eq!(
        on_b,
        ["account.refreshed", "account.added"],
        "A's events, read on B"
    );
    assert_eq!(timeline(&apps[0]).await, on_b);

    // A third event pushes the oldest out: two are kept.
    apps[0]
        .sim_post(
            &format!("/_sim/accounts/{}/expire", accounts[0].uin),
            json!({}),
        )
        .await;
    assert_eq!(
        apps[0].sign(&TestFile::random(10).params()).await.status,
        200
    );
    assert_eq!(
        timeline(&apps[1]).await,
        ["account.refreshed", "account.refreshed"]
    );
    let stored = redis.dump().await;
    assert!(
        !stored.iter().any(|v| v.contains(&accounts[0].musickey)),
        "no event holds a key"
    );
}

#[tokio::test]
async fn an_instance_that_adopts_an_expired_rotation_from_the_store_rotates_it_again() {
    let redis = RedisServer::start();
    let (apps, accounts) = pair(&redis, 1).await;
    // A rotates; then that rotated key expires too, before B has used it.
    for (round, instance) in [&apps[0], &apps[1]].into_iter().enumerate() {
        apps[0]
            .sim_post(
                &format!("/_sim/accounts/{}/expire", accounts[0].uin),
                json!({}),
            )
            .await;
        let signed = instance.sign(&TestFile::random(10).params()).await;
        assert_eq!(signed.status, 200, "round {round}: {:?}", signed.body);
    }
    assert_eq!(apps[0].logins().await, 2, "one rotation per expiry");
}
