//! Account notices, received by the test's own webhook receiver: a small
//! server that records every POST and checks the signature itself.

use crate::binary::qmkeys;
use crate::cos_sign::TestFile;
use crate::helpers::{spawn_app_with_webhook, TestApp, LOGIN};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use qmkeys::clock::Clock;
use qmkeys::webhook::Tuning;
use qmkeys::Settings;
use secrecy::SecretString;
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DAY: u64 = 86_400;
const SECRET: &str = "webhook-secret-0123456789";

/// One POST as the receiver saw it.
#[derive(Debug, Clone)]
struct Try {
    headers: HeaderMap,
    body: Bytes,
    /// The status it answered; 0 while it hangs.
    answered: u16,
    /// Whether `X-Qmkeys-Signature` matched, when the receiver knows the secret.
    signature_ok: Option<bool>,
}

impl Try {
    fn event(&self) -> &str {
        header(&self.headers, "x-qmkeys-event")
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[derive(Default)]
struct Behaviour {
    secret: Option<String>,
    fail_first: AtomicUsize,
    hang: AtomicBool,
    tries: Mutex<Vec<Try>>,
}

struct Receiver {
    url: String,
    state: Arc<Behaviour>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn take(State(r): State<Arc<Behaviour>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signature_ok = r.secret.as_ref().map(|secret| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key");
        mac.update(&body);
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        header(&headers, "x-qmkeys-signature") == expected
    });
    let hang = r.hang.load(Ordering::SeqCst);
    let fail = !hang
        && r.fail_first
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
    let status = match (hang, fail) {
        (true, _) => 0,
        (false, true) => 500,
        (false, false) => 200,
    };
    r.tries.lock().expect("tries").push(Try {
        headers,
        body,
        answered: status,
        signature_ok,
    });
    if hang {
        tokio::time::sleep(Duration::from_secs(120)).await;
    }
    StatusCode::from_u16(status.max(200)).expect("status")
}

impl Receiver {
    async fn start(secret: Option<&str>) -> Self {
        let state = Arc::new(Behaviour {
            secret: secret.map(str::to_owned),
            ..Behaviour::default()
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        // Any path: some tests put the receiver's token in it.
        let router = axum::Router::new()
            .route("/hook", axum::routing::post(take))
            .fallback(take)
            .with_state(state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            // The token in the query must reach the receiver and nowhere else.
            url: format!("http://{addr}/hook?token=hook-query-token-{}", addr.port()),
            state,
            server,
        }
    }

    fn tries(&self) -> Vec<Try> {
        self.state.tries.lock().expect("tries").clone()
    }

    /// The notices of `event` answered 2xx.
    fn delivered(&self, event: &str) -> Vec<Try> {
        self.tries()
            .into_iter()
            .filter(|t| t.event() == event && t.answered == 200)
            .collect()
    }

    async fn wait_for(&self, event: &str) -> Try {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(t) = self.delivered(event).into_iter().next() {
                return t;
            }
            assert!(
                Instant::now() < deadline,
                "no {event} notice; got {:?}",
                self.tries().iter().map(Try::event).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Points `s` at this receiver.
    fn configure(&self, s: &mut Settings, secret: Option<&str>) {
        s.webhook.url = Some(qmkeys::webhook::WebhookUrl::parse(&self.url).expect("url"));
        s.webhook.secret = secret.map(|t| SecretString::from(t.to_owned()));
    }

    /// Pauses short enough for a test.
    fn tuning(&self) -> Tuning {
        Tuning {
            retry_base: Duration::from_millis(20),
            try_timeout: Duration::from_secs(2),
            ..Tuning::default()
        }
    }
}

/// Waits (in real time) until `check` holds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Moves qmkeys' clock and the simulator's together.
async fn advance(app: &TestApp, secs: u64) {
    app.clock.advance(Duration::from_secs(secs));
    app.sim_post("/_sim/clock", json!({ "advance_secs": secs }))
        .await;
}

async fn sim_secrets(app: &TestApp) -> Vec<String> {
    app.sim_get("/_sim/secrets").await["secrets"]
        .as_array()
        .expect("secrets")
        .iter()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect()
}

async fn metric(app: &TestApp, event: &str, outcome: &str) -> u64 {
    let text = app.get_text("/metrics").await;
    let prefix =
        format!("qmkeys_webhook_deliveries_total{{event=\"{event}\",outcome=\"{outcome}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_background_refresh_sends_a_signed_refreshed_notice_with_exactly_the_documented_body() {
    let receiver = Receiver::start(Some(SECRET)).await;
    let log_from = crate::log_capture::len();
    let (app, accounts) = spawn_app_with_webhook(1, receiver.tuning(), |s| {
        s.accounts.check_interval_ms = 20;
        receiver.configure(s, Some(SECRET));
    })
    .await;

    let added = receiver.wait_for("account.added").await;
    let refreshed = receiver.wait_for("account.refreshed").await;

    let stored = app.stored_accounts().await[0].clone();
    let expires = stored.expires_at.expect("a rotated key has an expiry");
    let body = refreshed.json();
    assert_eq!(
        body,
        json!({
            "event": "account.refreshed",
            "uin": accounts[0].uin,
            "kind": "qq",
            "health": "healthy",
            "expiresTimestamp": expires,
            "expiresTime": qmkeys::beijing::format_unix(expires),
            "time": qmkeys::beijing::format_unix(app.clock.now().timestamp()),
            "message": body["message"],
        })
    );
    assert!(body["uin"].is_string(), "uin is a string");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("刷新")));
    for t in [&added, &refreshed] {
        assert_eq!(header(&t.headers, "content-type"), "application/json");
        assert_eq!(t.signature_ok, Some(true), "{:?}", t.headers);
        assert_eq!(t.json()["event"], t.event());
    }
    // A config entry the store did not have is added; its age is unknown.
    assert_eq!(added.json()["expiresTimestamp"], 0);
    assert_eq!(added.json()["expiresTime"], "");

    let secrets = sim_secrets(&app).await;
    assert!(
        secrets.iter().any(|s| s == stored.cred.key.expose()),
        "the secrets list holds the rotated key"
    );
    for t in receiver.tries() {
        let text = String::from_utf8_lossy(&t.body).into_owned();
        let leaked: Vec<_> = secrets
            .iter()
            .filter(|s| text.contains(s.as_str()))
            .collect();
        assert!(leaked.is_empty(), "a notice carries a secret");
    }
    let log = crate::log_capture::since(log_from);
    assert!(log.contains("webhook delivered"), "deliveries are logged");
    assert!(
        !log.contains("hook-query-token"),
        "the URL's query never reaches the log"
    );
    assert_eq!(metric(&app, "account.refreshed", "delivered").await, 1);
    assert_eq!(metric(&app, "account.added", "delivered").await, 1);
}

#[tokio::test]
async fn a_logged_out_account_sends_one_dead_notice() {
    let receiver = Receiver::start(None).await;
    let (app, accounts) = spawn_app_with_webhook(1, receiver.tuning(), |s| {
        s.accounts.check_interval_ms = 20;
        receiver.configure(s, None);
    })
    .await;
    receiver.wait_for("account.refreshed").await;
    app.sim_post(
        &format!("/_sim/accounts/{}/logout", accounts[0].uin),
        json!({}),
    )
    .await;

    // Two days in, the keeper tries again and upstream says: log in again.
    advance(&app, 2 * DAY + 3_600).await;
    let dead = receiver.wait_for("account.dead").await;
    let body = dead.json();
    assert_eq!(body["uin"], accounts[0].uin.as_str());
    assert_eq!(body["health"], "unhealthy");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("重新登录")),
        "{body}"
    );
    assert_eq!(dead.signature_ok, None);
    assert!(
        dead.headers.get("x-qmkeys-signature").is_none(),
        "no secret, no signature"
    );

    // A sign that finds no healthy account does not announce it again.
    assert_eq!(app.sign(&TestFile::random(10).params()).await.status, 503);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.delivered("account.dead").len(), 1);
    assert_eq!(metric(&app, "account.dead", "delivered").await, 1);
}

#[tokio::test]
async fn a_key_check_that_finds_the_key_logged_out_sends_the_dead_notice_within_the_hour() {
    let receiver = Receiver::start(None).await;
    let (app, accounts) = spawn_app_with_webhook(1, receiver.tuning(), |s| {
        s.accounts.check_interval_ms = 20;
        s.accounts.key_check_interval_ms = 3_600_000;
        receiver.configure(s, None);
    })
    .await;
    receiver.wait_for("account.refreshed").await;
    app.sim_post(
        &format!("/_sim/accounts/{}/logout", accounts[0].uin),
        json!({}),
    )
    .await;

    // An hour in, long before its lifetime would send the keeper to Login.
    advance(&app, 3_600).await;
    let dead = receiver.wait_for("account.dead").await;
    let body = dead.json();
    assert_eq!(body["uin"], accounts[0].uin.as_str());
    assert_eq!(body["health"], "unhealthy");
    assert_eq!(receiver.delivered("account.dead").len(), 1);
}

#[tokio::test]
async fn a_transient_refresh_failure_sends_a_failing_notice_and_the_account_stays_healthy() {
    let receiver = Receiver::start(Some(SECRET)).await;
    let (app, _) = spawn_app_with_webhook(1, receiver.tuning(), |s| {
        s.accounts.check_interval_ms = 20;
        receiver.configure(s, Some(SECRET));
    })
    .await;
    receiver.wait_for("account.refreshed").await;
    app.fault(json!({"target": LOGIN, "http_status": 502, "times": 1}))
        .await;

    advance(&app, 2 * DAY + 3_600).await;
    let failing = receiver.wait_for("account.failing").await;
    let body = failing.json();
    assert_eq!(body["health"], "healthy");
    assert!(
        body["message"].as_str().is_some_and(|m| m.contains("重试")),
        "{body}"
    );
    assert_eq!(failing.signature_ok, Some(true));
    assert!(receiver.delivered("account.dead").is_empty());
}

#[tokio::test]
async fn save_true_sends_an_added_notice_with_the_new_keys_expiry() {
    let receiver = Receiver::start(Some(SECRET)).await;
    let (app, _) = spawn_app_with_webhook(0, receiver.tuning(), |s| {
        s.accounts.allow_save = true;
        receiver.configure(s, Some(SECRET));
    })
    .await;
    let account = app.sim_account("qq").await;
    let mut params = account.params_with_refresh();
    params.push(("save", "true".into()));
    let answer = app.refresh(&params).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);

    let added = receiver.wait_for("account.added").await;
    let body = added.json();
    assert_eq!(body["uin"], account.uin.as_str());
    let stored = app.stored_accounts().await;
    assert_eq!(
        body["expiresTimestamp"].as_i64(),
        stored[0].expires_at,
        "the saved key's expiry"
    );
    assert!(body["expiresTimestamp"].as_i64().is_some_and(|t| t > 0));
    assert_eq!(added.signature_ok, Some(true));
    let text = String::from_utf8_lossy(&added.body).into_owned();
    assert!(!text.contains(answer.musickey()), "no key in a notice");
}

#[tokio::test]
async fn a_receiver_that_fails_gets_the_notice_again_until_it_answers_2xx() {
    let receiver = Receiver::start(Some(SECRET)).await;
    receiver.state.fail_first.store(2, Ordering::SeqCst);
    let (app, _) = spawn_app_with_webhook(1, receiver.tuning(), |s| {
        receiver.configure(s, Some(SECRET))
    })
    .await;

    let delivered = receiver.wait_for("account.added").await;
    let tries = receiver.tries();
    assert_eq!(
        tries.iter().map(|t| t.answered).collect::<Vec<_>>(),
        vec![500, 500, 200]
    );
    assert!(
        tries.iter().all(|t| t.body == delivered.body),
        "every try sends the same bytes"
    );
    assert!(tries.iter().all(|t| t.signature_ok == Some(true)));
    assert_eq!(metric(&app, "account.added", "retried").await, 2);
    assert_eq!(metric(&app, "account.added", "delivered").await, 1);
    assert_eq!(metric(&app, "account.added", "failed").await, 0);
}

#[tokio::test]
async fn a_receiver_that_never_answers_2xx_is_given_up_after_three_tries() {
    let receiver = Receiver::start(None).await;
    receiver.state.fail_first.store(100, Ordering::SeqCst);
    let (app, _) =
        spawn_app_with_webhook(1, receiver.tuning(), |s| receiver.configure(s, None)).await;

    eventually("three tries and a give-up", || async {
        metric(&app, "account.added", "failed").await == 1
    })
    .await;
    assert_eq!(receiver.tries().len(), 3);
    assert_eq!(metric(&app, "account.added", "retried").await, 2);
    assert_eq!(metric(&app, "account.added", "delivered").await, 0);
}

#[tokio::test]
async fn a_webhook_urls_path_never_reaches_the_log_while_its_host_does_even_when_delivery_gives_up()
{
    // One receiver that answers 500 to everything, and an address where
    // nothing listens (reqwest's connection error embeds the whole URL).
    let receiver = Receiver::start(None).await;
    receiver.state.fail_first.store(100, Ordering::SeqCst);
    let answering = receiver.url.split("/hook").next().expect("base").to_owned();
    let nobody = format!("http://127.0.0.1:{}", crate::binary::free_port());
    for base in [answering, nobody] {
        // As Slack and Discord write them: the token is a path segment.
        let secret = format!("T0SECRETPATHTOKEN{}", rand::random::<u32>());
        let url = format!("{base}/services/{secret}/send?token=hook-query-token");
        let log_from = crate::log_capture::len();
        let (app, _) = spawn_app_with_webhook(1, receiver.tuning(), |s| {
            receiver.configure(s, None);
            s.webhook.url = Some(qmkeys::webhook::WebhookUrl::parse(&url).expect("url"));
        })
        .await;
        eventually("three tries and a give-up", || async {
            metric(&app, "account.added", "failed").await == 1
        })
        .await;

        let log = crate::log_capture::since(log_from);
        assert!(
            !log.contains(&secret) && !log.contains("/services/"),
            "the webhook URL's path reached the log ({base})"
        );
        assert!(!log.contains("hook-query-token"), "nor its query");
        // The whole field, so a path after the port would not match.
        let shown = format!("url={base}");
        for line in [
            "account notices go to a webhook",
            "trying again",
            "giving up on this event",
        ] {
            assert!(
                log.lines()
                    .any(|l| l.contains(line) && l.split_whitespace().any(|w| w == shown)),
                "no {line:?} line naming {base}"
            );
        }
    }
}

#[tokio::test]
async fn a_hanging_receiver_delays_neither_a_refresh_nor_a_sign() {
    let receiver = Receiver::start(None).await;
    receiver.state.hang.store(true, Ordering::SeqCst);
    let tuning = Tuning {
        try_timeout: Duration::from_secs(60),
        ..receiver.tuning()
    };
    let (app, accounts) = spawn_app_with_webhook(1, tuning, |s| {
        s.accounts.allow_save = true;
        receiver.configure(s, None);
    })
    .await;
    // The seeding's notice is now stuck at the receiver.
    eventually("the receiver holds a notice", || async {
        !receiver.tries().is_empty()
    })
    .await;

    // An expired key: signing rotates it, which queues a notice behind the stuck one.
    app.sim_post(
        &format!("/_sim/accounts/{}/expire", accounts[0].uin),
        json!({}),
    )
    .await;
    let started = Instant::now();
    let signed = app.sign(&TestFile::random(10).params()).await;
    assert_eq!(signed.status, 200, "{:?}", signed.body);
    let other = app.sim_account("qq").await;
    let mut params = other.params_with_refresh();
    params.push(("save", "true".into()));
    let refreshed = app.refresh(&params).await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered in {:?} while the receiver hangs",
        started.elapsed()
    );
    assert_eq!(app.logins().await, 2);
    assert_eq!(
        receiver.tries().len(),
        1,
        "the receiver is still holding the first notice"
    );
    assert!(receiver.tries().iter().all(|t| t.answered == 0));
}

#[tokio::test]
async fn the_accounts_command_sends_added_and_removed_itself() {
    let receiver = Receiver::start(Some(SECRET)).await;
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("cli.db");
    let run = |args: &[&str]| {
        let mut cmd = qmkeys();
        cmd.env("QMKEYS_DB", &db)
            .env("QMKEYS_WEBHOOK_URL", &receiver.url)
            .env("QMKEYS_WEBHOOK_SECRET", SECRET)
            .arg("accounts")
            .args(args);
        tokio::task::spawn_blocking(move || cmd.output().expect("runs"))
    };
    let key = "Q_H_L_webhookclitestkey0123456789";
    let out = run(&["add", "--uin", "123456789", "--key", key])
        .await
        .expect("joined");
    assert!(out.status.success(), "{:?}", out);
    let added = receiver.wait_for("account.added").await;
    assert_eq!(added.json()["uin"], "123456789");
    assert_eq!(added.signature_ok, Some(true));
    assert!(!String::from_utf8_lossy(&added.body).contains(key));

    let out = run(&["remove", "--uin", "123456789"])
        .await
        .expect("joined");
    assert!(out.status.success(), "{:?}", out);
    let removed = receiver.wait_for("account.removed").await;
    assert_eq!(removed.json()["kind"], "qq");

    // A receiver that refuses is a warning; the store change stands.
    receiver.state.fail_first.store(100, Ordering::SeqCst);
    let out = run(&["add", "--uin", "123456789", "--key", key])
        .await
        .expect("joined");
    assert!(out.status.success(), "{:?}", out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning") && stderr.contains("account.added"),
        "{stderr}"
    );
    assert!(!stderr.contains("hook-query-token"), "{stderr}");
}

#[tokio::test]
async fn qmkeys_login_save_in_process_sends_the_added_notice_itself() {
    use crate::login_cli::{in_process, scan_and_confirm, wait_for_qr, Running};
    let receiver = Receiver::start(Some(SECRET)).await;
    let app = crate::helpers::login_app(|_| {}).await;
    let dir = tempfile::tempdir().expect("dir");
    let mut cmd = in_process(&app, dir.path());
    cmd.args(["login", "--save"])
        .env("QMKEYS_WEBHOOK_URL", &receiver.url)
        .env("QMKEYS_WEBHOOK_SECRET", SECRET);
    let running = Running::start(cmd);
    let ident = wait_for_qr(&app, "qq").await;
    let uin = scan_and_confirm(&app, &ident).await;
    let ended = running.end().await;
    assert_eq!(ended.code, Some(0), "{}", ended.stderr);

    let added = receiver.wait_for("account.added").await;
    assert_eq!(added.json()["uin"], uin.to_string());
    assert_eq!(added.signature_ok, Some(true));
    let key = ended
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("musickey       "))
        .expect("key line");
    assert!(!String::from_utf8_lossy(&added.body).contains(key));
}

#[tokio::test]
async fn a_graceful_shutdown_waits_briefly_for_a_notice_still_being_retried() {
    let receiver = Receiver::start(None).await;
    receiver.state.fail_first.store(1, Ordering::SeqCst);
    let dir = tempfile::tempdir().expect("dir");
    let mut settings = Settings::default();
    settings.http.listen = "127.0.0.1:0".parse().expect("addr");
    settings.accounts.db = dir.path().join("qmkeys.db");
    settings.accounts.check_interval_ms = 3_600_000;
    settings.accounts.seeds = vec![qmkeys::config::AccountSetting {
        uin: qmkeys::config::UinSetting::Number(123456789),
        musickey: "Q_H_L_shutdownflushtestkey0123456789".into(),
        refresh_key: String::new(),
        refresh_token: String::new(),
    }];
    receiver.configure(&mut settings, None);
    let wiring = qmkeys::startup::Wiring {
        // Long enough that, without waiting, the process would be gone before the second try.
        webhook_tuning: Tuning {
            retry_base: Duration::from_millis(300),
            ..receiver.tuning()
        },
        ..Default::default()
    };
    let app = qmkeys::Application::build_with(settings, wiring)
        .await
        .expect("builds");

    let state = receiver.state.clone();
    let first_try_failed = async move {
        while state.tries.lock().expect("tries").is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    let started = Instant::now();
    app.run_until(first_try_failed).await.expect("serves");

    assert_eq!(
        receiver
            .tries()
            .iter()
            .map(|t| t.answered)
            .collect::<Vec<_>>(),
        vec![500, 200],
        "the retry was let out before the process stopped"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}
