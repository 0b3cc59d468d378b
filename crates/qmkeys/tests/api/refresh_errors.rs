use crate::helpers::{spawn_app, spawn_app_with, LOGIN};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn refresh_returns_400_naming_the_parameter_for_each_bad_input() {
    let app = spawn_app().await;
    let qq_key = "Q_H_L_abcdef".to_owned();
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (vec![("music_key", qq_key.clone())], "uin"),
        (
            vec![("uin", "".into()), ("music_key", qq_key.clone())],
            "uin",
        ),
        (
            vec![("uin", "12345abc".into()), ("music_key", qq_key.clone())],
            "uin",
        ),
        (
            vec![("uin", "12345".into()), ("music_key", qq_key.clone())],
            "uin",
        ),
        (
            vec![
                ("uin", "123456789012".into()),
                ("music_key", qq_key.clone()),
            ],
            "uin",
        ),
        (
            vec![
                ("uin", "12345678901234567890".into()),
                ("music_key", "W_X_abc".into()),
            ],
            "uin",
        ),
        (vec![("uin", "123456".into())], "music_key"),
        (
            vec![("uin", "123456".into()), ("music_key", "abcdef".into())],
            "music_key",
        ),
        (
            vec![("uin", "123456".into()), ("music_key", "Q_H_L_".into())],
            "music_key",
        ),
        (
            vec![("uin", "123456".into()), ("music_key", "Q_H_L_a b".into())],
            "music_key",
        ),
        (
            vec![
                ("uin", "123456".into()),
                ("music_key", qq_key.clone()),
                ("refresh_key", "a;b".into()),
            ],
            "refresh_key",
        ),
        (
            vec![
                ("uin", "123456".into()),
                ("music_key", qq_key.clone()),
                ("uin", "654321".into()),
            ],
            "uin",
        ),
    ];
    for (params, named) in cases {
        let answer = app.refresh(&params).await;
        assert_eq!(answer.status, 400, "{params:?}");
        assert_eq!(answer.code(), 40001, "{params:?}");
        assert!(
            answer.message().contains(named),
            "{params:?}: {}",
            answer.message()
        );
        assert!(answer.body["data"].is_null());
    }
    assert_eq!(app.logins().await, 0, "nothing invalid reaches upstream");
}

#[tokio::test]
async fn refresh_returns_401_when_key_is_expired_and_no_refresh_token() {
    let app = spawn_app().await;
    let account = app.sim_account("qq").await;
    app.sim_post(&format!("/_sim/accounts/{}/expire", account.uin), json!({}))
        .await;

    let answer = app.refresh(&account.params()).await;

    assert_eq!(answer.status, 401, "{:?}", answer.body);
    assert_eq!(answer.code(), 40101);
    assert!(
        answer.message().contains("refresh_token"),
        "the message says how to fix it"
    );
    assert!(answer.body["data"].is_null());
}

#[tokio::test]
async fn refresh_returns_401_for_a_logged_out_account_even_with_refresh_tokens() {
    let app = spawn_app().await;
    let account = app.sim_account("qq").await;
    app.sim_post(&format!("/_sim/accounts/{}/logout", account.uin), json!({}))
        .await;

    let answer = app.refresh(&account.params_with_refresh()).await;

    assert_eq!(answer.status, 401, "{:?}", answer.body);
    assert_eq!(answer.code(), 40101);
}

#[tokio::test]
async fn refresh_returns_403_for_a_banned_account() {
    let app = spawn_app().await;
    let account = app.sim_account("qq").await;
    app.sim_post(&format!("/_sim/accounts/{}/ban", account.uin), json!({}))
        .await;

    let answer = app.refresh(&account.params()).await;

    assert_eq!(
        (answer.status, answer.code()),
        (403, 40301),
        "{:?}",
        answer.body
    );
}

#[tokio::test]
async fn each_upstream_fault_maps_to_its_status_and_code_in_bounded_time() {
    let timeout_ms = 500;
    let app = spawn_app_with(|s| s.upstream.timeout_ms = timeout_ms).await;
    let account = app.sim_account("qq").await;
    let cases = [
        (json!({"delay_ms": 1500}), 504, 50401),
        (json!({"http_status": 500}), 502, 50201),
        (json!({"garbage": true}), 502, 50202),
        (json!({"drop": true}), 502, 50203),
        (json!({"code": 104604}), 429, 42901),
        (json!({"code": 2001}), 429, 42902),
        (json!({"code": 1000}), 401, 40101),
        (json!({"code": 104401}), 401, 40101),
        // docs/protocol.md section 10.4: each login result its own code.
        (json!({"code": 20277}), 403, 40301),
        (json!({"code": 20278}), 403, 40301),
        (json!({"code": 20450}), 403, 40307),
        (json!({"code": 20279}), 403, 40302),
        (json!({"code": 20271}), 401, 40105),
        (json!({"code": 20272}), 403, 40303),
        (json!({"code": 20274}), 403, 40306),
        (json!({"code": 20261}), 400, 40003),
        (json!({"code": 2000}), 502, 50204),
    ];
    for (fault, status, code) in cases {
        let mut armed = fault.clone();
        armed["target"] = json!(LOGIN);
        app.fault(armed).await;
        let started = Instant::now();
        let answer = app.refresh(&account.params()).await;
        let took = started.elapsed();
        assert_eq!(
            (answer.status, answer.code()),
            (status, code),
            "{fault}: {:?}",
            answer.body
        );
        assert!(answer.body["data"].is_null(), "{fault}");
        assert!(!answer.message().is_empty(), "{fault}");
        if let Some(upstream) = fault["code"].as_i64().filter(|c| *c > 20000 && *c < 30000) {
            assert!(
                answer.message().contains(&upstream.to_string()),
                "a login result names QQ Music's code so a person can look it up: {}",
                answer.message()
            );
        }
        assert!(
            took < Duration::from_millis(timeout_ms + 1_000),
            "{fault} took {took:?}"
        );
    }
    let rate_limited = {
        app.fault(json!({"target": LOGIN, "code": 104604})).await;
        app.refresh(&account.params()).await
    };
    assert!(rate_limited.headers.contains_key("retry-after"));
    // And the server is healthy afterwards.
    assert_eq!(app.refresh(&account.params()).await.status, 200);
}

#[tokio::test]
async fn a_login_answer_naming_no_account_or_another_one_is_an_upstream_error_and_nothing_is_saved()
{
    let app = spawn_app_with(|s| s.accounts.allow_save = true).await;
    let other = app.sim_account("qq").await;
    let other_uin: u64 = other.uin.parse().expect("uin");
    for (what, musicid) in [("no account", 0), ("another account", other_uin)] {
        // An account of its own each time: the refused Login rotated the key all the same.
        let account = app.sim_account("qq").await;
        app.fault(json!({"target": LOGIN, "musicid": musicid}))
            .await;
        let mut params = account.params_with_refresh();
        params.push(("save", "true".into()));

        let answer = app.refresh(&params).await;

        assert_eq!(
            (answer.status, answer.code()),
            (502, 50202),
            "{what}: {:?}",
            answer.body
        );
        assert!(answer.body["data"].is_null(), "{what}");
        assert!(
            app.stored_accounts().await.is_empty(),
            "{what}: nothing saved"
        );
    }
    // Without the fault the same route answers and saves.
    let account = app.sim_account("qq").await;
    let mut params = account.params_with_refresh();
    params.push(("save", "true".into()));
    assert_eq!(app.refresh(&params).await.status, 200);
    assert_eq!(app.stored_accounts().await.len(), 1);
}

#[tokio::test]
async fn refresh_returns_502_when_upstream_cannot_be_reached() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let app = spawn_app_with(|s| {
        s.upstream.base = format!("http://127.0.0.1:{port}").parse().expect("url")
    })
    .await;

    let answer = app
        .refresh(&[("uin", "123456".into()), ("music_key", "Q_H_L_abc".into())])
        .await;

    assert_eq!(
        (answer.status, answer.code()),
        (502, 50203),
        "{:?}",
        answer.body
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_the_envelope() {
    let app = spawn_app().await;

    let missing = app.get("/nope", &[]).await;
    assert_eq!((missing.status, missing.code()), (404, 40401));
    assert_eq!(missing.body["tips"], "测试");

    let response = app
        .http
        .put(format!("{}/music/tencent/cookie/refresh", app.base))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 405);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["code"], 40501);
}

#[tokio::test]
async fn a_json_post_is_refused_with_415_and_an_oversized_form_with_413() {
    let app = spawn_app().await;
    let url = format!("{}/music/tencent/cookie/refresh", app.base);

    let json_post = app
        .http
        .post(&url)
        .json(&json!({"uin": 123456}))
        .send()
        .await
        .expect("sent");
    assert_eq!(json_post.status(), 415);
    let body: serde_json::Value = json_post.json().await.expect("json");
    assert_eq!(body["code"], 41501);

    let big = app
        .http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "uin=123456&music_key=Q_H_L_{}",
            "a".repeat(64 * 1024)
        ))
        .send()
        .await
        .expect("sent");
    assert_eq!(big.status(), 413);
    let body: serde_json::Value = big.json().await.expect("json");
    assert_eq!(body["code"], 41301);
}

#[tokio::test]
async fn a_repeat_safe_call_is_retried_after_a_quick_failure_but_login_never_is() {
    let app = spawn_app().await;
    let account = app.sim_account("qq").await;

    app.fault(json!({"target": "VipLogin.VipLoginInter.vip_login_base", "http_status": 500}))
        .await;
    let answer = app.refresh(&account.params()).await;
    assert_eq!(answer.status, 200);
    assert!(
        answer.body["data"]["info"].is_object(),
        "the retry got the VIP state"
    );
    assert_eq!(app.calls("VipLogin.VipLoginInter.vip_login_base").await, 2);

    let other = app.sim_account("qq").await;
    app.fault(json!({"target": LOGIN, "http_status": 500}))
        .await;
    let refused = app.refresh(&other.params()).await;
    assert_eq!((refused.status, refused.code()), (502, 50201));
    assert_eq!(
        app.logins().await,
        2,
        "one Login for each account: none repeated"
    );
}

#[tokio::test]
async fn repeated_upstream_failures_open_the_breaker_until_a_probe_succeeds() {
    let app = spawn_app_with(|s| {
        s.upstream.breaker_failures = 3;
        s.upstream.breaker_cooldown_ms = 300;
    })
    .await;
    let account = app.sim_account("qq").await;
    app.fault(json!({"target": LOGIN, "http_status": 500, "times": 3}))
        .await;
    for _ in 0..3 {
        assert_eq!(app.refresh(&account.params()).await.status, 502);
    }

    let started = Instant::now();
    let open = app.refresh(&account.params()).await;
    assert_eq!((open.status, open.code()), (503, 50303), "{:?}", open.body);
    assert!(open.headers.contains_key("retry-after"));
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "answered at once"
    );
    assert_eq!(app.logins().await, 3, "upstream was not called while open");

    tokio::time::sleep(Duration::from_millis(350)).await;
    let probe = app.refresh(&account.params()).await;
    assert_eq!(probe.status, 200, "the probe succeeded: {:?}", probe.body);
    let other = app.sim_account("qq").await;
    assert_eq!(
        app.refresh(&other.params()).await.status,
        200,
        "and the breaker is closed"
    );
}

#[tokio::test]
async fn healthz_answers_and_readyz_says_why_it_is_not_ready() {
    let (app, accounts) = crate::helpers::spawn_app_with_accounts(1, |_| {}).await;
    let alive = app.get("/healthz", &[]).await;
    assert_eq!(
        (alive.status, alive.body["data"]["status"].as_str()),
        (200, Some("alive"))
    );

    let ready = app.get("/readyz", &[]).await;
    assert_eq!(ready.status, 200, "{:?}", ready.body);
    assert_eq!(ready.body["data"]["status"], "ready");
    assert_eq!(ready.body["data"]["store"], "ok");
    assert_eq!(ready.body["data"]["healthy_accounts"], 1);

    // The only upload account dies: the server can no longer sign.
    app.sim_post(
        &format!("/_sim/accounts/{}/logout", accounts[0].uin),
        json!({}),
    )
    .await;
    app.get(
        "/tool/cos/sign",
        &crate::cos_sign::TestFile::random(8).params(),
    )
    .await;
    let not_ready = app.get("/readyz", &[]).await;
    assert_eq!((not_ready.status, not_ready.code()), (503, 50305));
    assert_eq!(not_ready.body["data"]["status"], "not_ready");
    let reasons = not_ready.body["data"]["reasons"].to_string();
    assert!(reasons.contains("unhealthy"), "{reasons}");
}

#[tokio::test]
async fn a_plain_request_id_is_echoed_and_anything_else_is_replaced() {
    let app = spawn_app().await;
    let url = format!("{}/healthz", app.base);
    let id = |r: &reqwest::Response| {
        r.headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };

    let kept = app
        .http
        .get(&url)
        .header("x-request-id", "trace-42.a_b")
        .send()
        .await
        .expect("sent");
    assert_eq!(id(&kept).as_deref(), Some("trace-42.a_b"));

    let long = "x".repeat(100);
    let replaced = app
        .http
        .get(&url)
        .header("x-request-id", &long)
        .send()
        .await
        .expect("sent");
    let new_id = id(&replaced).expect("an id");
    assert!(new_id != long && new_id.len() == 16, "{new_id}");

    let generated = app.http.get(&url).send().await.expect("sent");
    assert!(id(&generated).is_some_and(|i| i.len() == 16));
}

#[tokio::test]
async fn a_client_over_its_rate_limit_gets_429_and_a_trusted_proxy_s_clients_are_told_apart() {
    let app = spawn_app_with(|s| {
        s.http.rate_limit_per_second = 1;
        s.http.rate_limit_burst = 2;
        s.http.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
    })
    .await;
    let url = format!("{}/music/tencent/cookie/refresh", app.base);
    let from = |client: &'static str| {
        app.http
            .get(&url)
            .header("x-forwarded-for", client)
            .query(&[("uin", "1")])
    };
    for _ in 0..2 {
        assert_eq!(
            from("198.51.100.1").send().await.expect("sent").status(),
            400
        );
    }
    let limited = from("198.51.100.1").send().await.expect("sent");
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    let body: serde_json::Value = limited.json().await.expect("json");
    assert_eq!(body["code"], 42903);
    assert_eq!(
        from("198.51.100.2").send().await.expect("sent").status(),
        400,
        "another client behind the proxy"
    );
    assert_eq!(
        app.get("/healthz", &[]).await.status,
        200,
        "health checks are not limited"
    );
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = spawn_app_with(|s| {
        s.http.rate_limit_per_second = 1;
        s.http.rate_limit_burst = 1;
    })
    .await;
    let url = format!("{}/music/tencent/cookie/refresh", app.base);
    let statuses =
        futures::future::join_all(["203.0.113.1", "203.0.113.2", "203.0.113.3"].map(|client| {
            app.http
                .get(&url)
                .header("x-forwarded-for", client)
                .query(&[("uin", "1")])
                .send()
        }))
        .await;
    let limited = statuses
        .iter()
        .filter(|r| r.as_ref().is_ok_and(|r| r.status() == 429))
        .count();
    assert_eq!(
        limited, 2,
        "one bucket: the peer's, whatever the header says"
    );
}

#[tokio::test]
async fn an_overlong_url_gets_414_and_a_request_past_the_time_cap_gets_503() {
    let app = spawn_app_with(|s| {
        s.http.request_timeout_ms = 300;
        s.upstream.timeout_ms = 5_000;
    })
    .await;
    let long = app.refresh(&[("uin", "1".repeat(9000))]).await;
    assert_eq!((long.status, long.code()), (414, 41401));

    let account = app.sim_account("qq").await;
    app.fault(json!({"target": LOGIN, "delay_ms": 1500})).await;
    let started = Instant::now();
    let slow = app.refresh(&account.params()).await;
    assert_eq!((slow.status, slow.code()), (503, 50306), "{:?}", slow.body);
    assert!(
        started.elapsed() < Duration::from_millis(1200),
        "cut at the cap"
    );
}

#[tokio::test]
async fn metrics_count_requests_caches_and_upstream_calls_with_bounded_labels() {
    let app = spawn_app().await;
    let account = app.sim_account("qq").await;
    app.refresh(&account.params()).await;
    app.refresh(&account.params()).await;
    app.refresh(&[("uin", "12".into())]).await;

    let text = app.get_text("/metrics").await;
    for line in [
        r#"qmkeys_http_requests_total{route="/music/tencent/cookie/refresh",status="200"} 2"#,
        r#"qmkeys_http_requests_total{route="/music/tencent/cookie/refresh",status="400"} 1"#,
        r#"qmkeys_cache_requests_total{cache="cookie",result="hit"} 1"#,
        r#"qmkeys_cache_requests_total{cache="cookie",result="miss"} 1"#,
        r#"qmkeys_upstream_calls_total{call="music.login.LoginServer.Login",outcome="ok"} 1"#,
        r#"qmkeys_upload_accounts{health="healthy"} 0"#,
    ] {
        assert!(text.contains(line), "missing {line} in:\n{text}");
    }
    assert!(text.contains("qmkeys_upstream_call_duration_seconds_bucket"));
    for secret in [account.uin.as_str(), account.musickey.as_str()] {
        assert!(!text.contains(secret), "a label holds a uin or key");
    }
}
