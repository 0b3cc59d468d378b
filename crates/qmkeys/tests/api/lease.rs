//! Login leases across instances when the holder dies or stalls: instance A is
//! the real `qmkeys` binary (so it can be SIGKILLed or SIGSTOPped), instance B
//! runs in this test process; both share one real Redis and one simulator.

use crate::binary::{free_port, qmkeys};
use crate::cos_sign::TestFile;
use crate::helpers::{spawn_instances, Answer, SimAccount, TestApp};
use crate::process::KillOnDrop;
use crate::redis::RedisServer;
use futures::future::join_all;
use secrecy::SecretString;
use serde_json::json;
use std::io::Read;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "shared-secret-for-every-instance";
const REFRESH: &str = "/music/tencent/cookie/refresh";
const SIGN: &str = "/tool/cos/sign";

/// A `qmkeys serve` process, killed when dropped, pass or fail.
struct Instance {
    child: KillOnDrop,
    port: u16,
    logs: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl Instance {
    /// Starts the binary on the survivor's simulator and Redis, and waits until it answers.
    async fn start(b: &TestApp, redis: &RedisServer, upstream_timeout_ms: u64) -> Self {
        Self::start_with(b, redis, upstream_timeout_ms, &[]).await
    }

    async fn start_with(
        b: &TestApp,
        redis: &RedisServer,
        upstream_timeout_ms: u64,
        env: &[(&str, &str)],
    ) -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let port = free_port();
        let mut child = qmkeys()
            .args(["serve"])
            .env("QMKEYS_LISTEN", format!("127.0.0.1:{port}"))
            .env("QMKEYS_UPSTREAM", b.sim.base_url())
            .env(
                "QMKEYS_UPSTREAM_TIMEOUT_MS",
                upstream_timeout_ms.to_string(),
            )
            .env("QMKEYS_DB", dir.path().join("qmkeys.db"))
            .env("QMKEYS_REDIS_URL", redis.url())
            .env("QMKEYS_SECRET_KEY", SECRET)
            .env("QMKEYS_RATE_LIMIT_PER_SECOND", "0")
            .envs(env.iter().copied())
            .spawn()
            .map(KillOnDrop::new)
            .expect("qmkeys starts");
        // Drained as it comes, so a full pipe never stalls the server.
        let mut stderr = child.stderr.take().expect("piped");
        let logs = Arc::new(Mutex::new(String::new()));
        let sink = logs.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut text) = sink.lock() {
                    text.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
        let instance = Self {
            child,
            port,
            logs,
            _dir: dir,
        };
        let health = format!("http://127.0.0.1:{port}/healthz");
        let deadline = Instant::now() + Duration::from_secs(20);
        while reqwest::get(&health).await.is_err() {
            assert!(Instant::now() < deadline, "instance A never answered");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        instance
    }

    fn refresh_url(&self) -> String {
        format!("http://127.0.0.1:{}{REFRESH}", self.port)
    }

    fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -{name}");
    }

    fn logs(&self) -> String {
        self.logs.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // A stopped process must be woken to die cleanly under every init; the
        // guard then kills and reaps it. Only a child not yet reaped is
        // signalled, so the pid cannot be someone else's.
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args(["-CONT", &self.child.id().to_string()])
                .status();
        }
    }
}

/// Instance B, with the default upstream timeout (as an operator runs it).
async fn survivor(redis: &RedisServer) -> TestApp {
    survivor_with_accounts(redis, 0).await.0
}

async fn survivor_with_accounts(
    redis: &RedisServer,
    accounts: usize,
) -> (TestApp, Vec<SimAccount>) {
    let url = redis.url();
    let (mut apps, accounts) = spawn_instances(1, accounts, move |s| {
        s.redis.url = Some(SecretString::from(url));
        s.accounts.secret_key = Some(SecretString::from(SECRET));
        s.upstream.timeout_ms = 10_000;
    })
    .await;
    (apps.remove(0), accounts)
}

/// A client that outlasts every lease, so a slow answer is measured, not cut off.
fn patient() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

async fn get(http: &reqwest::Client, url: &str, params: &[(&str, String)]) -> Option<Answer> {
    let response = http.get(url).query(params).send().await.ok()?;
    let status = response.status().as_u16();
    let body = response.json().await.ok()?;
    Some(Answer {
        status,
        headers: reqwest::header::HeaderMap::new(),
        body,
    })
}

/// Waits until A's Login has reached upstream: A then holds the lease.
async fn until_login_in_flight(b: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.logins().await == 0 {
        assert!(Instant::now() < deadline, "A never started its Login");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

type Waiting = Vec<tokio::task::JoinHandle<(Option<Answer>, Instant)>>;

/// `n` callers for `account` on B, each answer with the moment it arrived.
fn callers_on(b: &TestApp, account: &SimAccount, n: usize) -> Waiting {
    callers(b, REFRESH, (0..n).map(|_| account.params()).collect())
}

/// One caller of `path` on B per parameter set.
fn callers(b: &TestApp, path: &str, each: Vec<Vec<(&'static str, String)>>) -> Waiting {
    let http = patient();
    let url = format!("{}{path}", b.base);
    each.into_iter()
        .map(|params| {
            let (http, url) = (http.clone(), url.clone());
            tokio::spawn(async move {
                let answer = get(&http, &url, &params).await;
                (answer, Instant::now())
            })
        })
        .collect()
}

async fn takeovers(b: &TestApp, scope: &str) -> u64 {
    let text = b.get_text("/metrics").await;
    let series = format!("qmkeys_lease_takeovers_total{{scope=\"{scope}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn callers_waiting_on_a_survivor_get_one_answer_within_ten_seconds_of_the_login_holder_being_killed(
) {
    let redis = RedisServer::start();
    let b = survivor(&redis).await;
    let a = Instance::start(&b, &redis, 10_000).await;
    let account = b.sim_account("qq").await;
    // A's Login is still in flight when A dies; B's own Login is not delayed.
    b.fault(json!({"target": crate::helpers::LOGIN, "delay_ms": 1500}))
        .await;

    let on_a = {
        let (url, params) = (a.refresh_url(), account.params());
        tokio::spawn(async move { get(&patient(), &url, &params).await })
    };
    until_login_in_flight(&b).await;
    let waiting = callers_on(&b, &account, 20);
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.signal("KILL");
    let killed = Instant::now();
    assert!(
        on_a.await.expect("task").is_none(),
        "A died before answering"
    );

    let answers: Vec<_> = join_all(waiting)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    let slowest = answers
        .iter()
        .map(|(_, at)| at.saturating_duration_since(killed))
        .max()
        .unwrap_or_default();
    eprintln!("kill to last answer: {slowest:?}");
    let keys: std::collections::HashSet<&str> = answers
        .iter()
        .map(|(answer, _)| {
            let answer = answer.as_ref().expect("every caller got an answer");
            assert_eq!(answer.status, 200, "{:?}", answer.body);
            answer.musickey()
        })
        .collect();
    assert_eq!(keys.len(), 1, "one consistent answer: {keys:?}");
    assert!(
        slowest < Duration::from_secs(10),
        "the last caller waited {slowest:?} after the holder died"
    );
    assert_eq!(b.logins().await, 2, "A's Login and B's, no more");
    assert_eq!(takeovers(&b, "cookie").await, 1);
}

#[tokio::test]
async fn a_login_holder_paused_past_its_lease_cannot_overwrite_the_result_of_the_instance_that_took_over(
) {
    let redis = RedisServer::start();
    let b = survivor(&redis).await;
    // A's own upstream timeout must outlast the pause, so its Login answer is read.
    let a = Instance::start(&b, &redis, 60_000).await;
    let account = b.sim_account("qq").await;
    b.fault(json!({"target": crate::helpers::LOGIN, "delay_ms": 500}))
        .await;

    let on_a = {
        let (url, params) = (a.refresh_url(), account.params());
        tokio::spawn(async move { get(&patient(), &url, &params).await })
    };
    until_login_in_flight(&b).await;
    // Paused while its Login is in flight: it can neither renew nor release.
    a.signal("STOP");
    let answers: Vec<_> = join_all(callers_on(&b, &account, 5))
        .await
        .into_iter()
        .map(|r| r.expect("task").0.expect("B answered"))
        .collect();
    for answer in &answers {
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        assert_eq!(answer.musickey(), answers[0].musickey());
    }
    assert_eq!(b.logins().await, 2, "B logged in once A's lease lapsed");
    // A wakes up with its own, older Login's answer in hand.
    a.signal("CONT");
    let late = on_a.await.expect("task").expect("A answered");
    assert_eq!(late.status, 200, "{:?}", late.body);
    assert_eq!(
        late.musickey(),
        answers[0].musickey(),
        "A hands out the result of the instance that took over"
    );

    // And Redis still holds B's result, not A's.
    let keyer = qmkeys::cache::CacheKeyer::from_secret(SECRET);
    let redis_client =
        qmkeys::redis::Redis::connect(&redis.url(), Duration::from_secs(2)).expect("redis");
    let shared = qmkeys::refresh::RedisRefresh::new(redis_client, keyer.clone());
    let cred = qmkeys::domain::Credential::new(
        qmkeys::domain::Uin::parse(&account.uin).expect("uin"),
        qmkeys::domain::MusicKey::parse(&account.musickey).expect("key"),
        None,
        None,
    )
    .expect("credential");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let (stored, _) = shared
        .cookie(&keyer.key_for(&cred), &cred, now)
        .await
        .expect("Redis answers")
        .expect("a shared cookie");
    assert_eq!(stored.key.expose(), answers[0].musickey());
    assert!(
        a.logs().contains("write refused"),
        "A logged the refused write: {}",
        a.logs()
    );
    assert_eq!(takeovers(&b, "cookie").await, 1);
}

/// The moment the last of `waiting` answered, counted from `since`; every
/// answer must be a 200.
async fn last_answer(waiting: Waiting, since: Instant) -> (Vec<Answer>, Duration) {
    let mut answers = Vec::new();
    let mut slowest = Duration::ZERO;
    for task in waiting {
        let (answer, at) = task.await.expect("task");
        let answer = answer.expect("every caller got an answer");
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        slowest = slowest.max(at.saturating_duration_since(since));
        answers.push(answer);
    }
    (answers, slowest)
}

#[tokio::test]
async fn signing_on_a_survivor_resumes_within_ten_seconds_of_the_account_refresher_being_killed() {
    let redis = RedisServer::start();
    let (b, accounts) = survivor_with_accounts(&redis, 1).await;
    // A shares B's account store: it loads the account B seeded.
    let a = Instance::start(&b, &redis, 10_000).await;
    b.sim_post(
        &format!("/_sim/accounts/{}/expire", accounts[0].uin),
        json!({}),
    )
    .await;
    b.fault(json!({"target": crate::helpers::LOGIN, "delay_ms": 1500}))
        .await;

    let on_a = {
        let url = format!("http://127.0.0.1:{}{SIGN}", a.port);
        let params = TestFile::random(100).params();
        tokio::spawn(async move { get(&patient(), &url, &params).await })
    };
    until_login_in_flight(&b).await;
    let waiting = callers(
        &b,
        SIGN,
        (0..5).map(|_| TestFile::random(100).params()).collect(),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.signal("KILL");
    let killed = Instant::now();
    assert!(
        on_a.await.expect("task").is_none(),
        "A died before answering"
    );

    let (_, slowest) = last_answer(waiting, killed).await;
    eprintln!("kill to last signature: {slowest:?}");
    assert!(
        slowest < Duration::from_secs(10),
        "the last signer waited {slowest:?} after the refresher died"
    );
    assert_eq!(b.logins().await, 2, "A's rotation and B's, no more");
    assert_eq!(takeovers(&b, "account").await, 1);
    assert_eq!(
        b.stored_accounts().await[0].generation,
        1,
        "only B's rotation was committed"
    );
}

#[tokio::test]
async fn a_holder_stopped_by_sigterm_mid_login_releases_its_lease_at_once() {
    let redis = RedisServer::start();
    let b = survivor(&redis).await;
    let a = Instance::start_with(&b, &redis, 10_000, &[("QMKEYS_SHUTDOWN_GRACE_MS", "200")]).await;
    let account = b.sim_account("qq").await;
    // Far longer than the grace period: A's Login is cut short.
    b.fault(json!({"target": crate::helpers::LOGIN, "delay_ms": 4000}))
        .await;

    let on_a = {
        let (url, params) = (a.refresh_url(), account.params());
        tokio::spawn(async move { get(&patient(), &url, &params).await })
    };
    until_login_in_flight(&b).await;
    let waiting = callers_on(&b, &account, 5);
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.signal("TERM");
    let stopped = Instant::now();
    let _ = on_a.await;

    let (answers, slowest) = last_answer(waiting, stopped).await;
    eprintln!("SIGTERM to last answer: {slowest:?}");
    assert!(answers
        .iter()
        .all(|x| x.musickey() == answers[0].musickey()));
    assert!(
        slowest < Duration::from_millis(2500),
        "released at shutdown, not left to lapse: {slowest:?}"
    );
    assert_eq!(
        takeovers(&b, "cookie").await,
        0,
        "a clean release is no takeover"
    );
}

#[tokio::test]
async fn a_rotation_committed_under_a_lease_another_process_has_since_taken_is_refused() {
    use qmkeys::accounts::{redis_store::RedisStore, AccountStore, StoredAccount};
    let redis = RedisServer::start();
    let store = || {
        let client =
            qmkeys::redis::Redis::connect(&redis.url(), Duration::from_secs(2)).expect("redis");
        RedisStore::new(
            client,
            qmkeys::secrets::Sealer::new(Some(SECRET), "account-store"),
        )
    };
    let (first, second) = (store(), store());
    let uin = qmkeys::domain::Uin::parse("123456789").expect("uin");
    let cred = qmkeys::domain::Credential::new(
        uin,
        qmkeys::domain::MusicKey::parse("Q_H_L_leasetestkey").expect("key"),
        None,
        None,
    )
    .expect("credential");
    let account = StoredAccount::new(cred);
    first.put(&account).await.expect("put");
    let rotated_by = |who: &str| StoredAccount {
        generation: 1,
        last_outcome: Some(who.to_owned()),
        ..account.clone()
    };

    let stalled = first.try_lease(uin).await.expect("Redis").expect("free");
    assert!(
        second.try_lease(uin).await.expect("Redis").is_none(),
        "held by the first"
    );
    // The first stalls past the TTL: its lease lapses, and the second takes it.
    let mut raw = redis::Client::open(redis.url())
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let lease_key = format!("qmkeys:v1:lease:account:{uin}");
    let _: i64 = redis::cmd("DEL")
        .arg(&lease_key)
        .query_async(&mut raw)
        .await
        .expect("del");
    let current = second.try_lease(uin).await.expect("Redis").expect("lapsed");

    assert_eq!(
        first
            .commit_rotation_under(&rotated_by("first"), 0, &stalled)
            .await
            .expect("Redis"),
        None,
        "the stalled holder's commit is refused"
    );
    assert_eq!(
        second
            .commit_rotation_under(&rotated_by("second"), 0, &current)
            .await
            .expect("Redis"),
        Some(true)
    );
    let stored = first.get(uin).await.expect("Redis").expect("stored");
    assert_eq!(stored.last_outcome.as_deref(), Some("second"));
    assert_eq!(stored.generation, 1);
    current.release().await;
    stalled.release().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("qmkeys:v1:lease:*")
        .query_async(&mut raw)
        .await
        .expect("keys");
    assert!(keys.is_empty(), "released leases leave nothing: {keys:?}");
}
