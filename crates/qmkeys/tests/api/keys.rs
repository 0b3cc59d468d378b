//! Caller keys (`require_api_key`): off by default; on, the refresh, check,
//! sign and login routes want `X-Api-Key` or `api_key`, each key held to its
//! own rate limit; the owner makes, lists and revokes them under /admin/keys.

use crate::helpers::{spawn_app_with, Answer, TestApp};
use crate::redis::RedisServer;
use secrecy::SecretString;
use serde_json::Value;
use std::time::{Duration, Instant};

const TOKEN: &str = "admin-token-for-caller-keys";
const KEY_CODE: i64 = 40106;
const REFUSED_CODE: i64 = 40107;

async fn keyed_app() -> TestApp {
    spawn_app_with(|s| {
        s.http.admin_token = Some(SecretString::from(TOKEN));
        s.http.require_api_key = true;
    })
    .await
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

async fn admin(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    form: &[(&str, &str)],
) -> Answer {
    let request = app
        .http
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(TOKEN);
    let request = if form.is_empty() {
        request
    } else {
        request.form(form)
    };
    answer(request.send().await.expect("sent")).await
}

/// A new key's id and secret.
async fn create(app: &TestApp, name: &str, rate_limit: Option<&str>) -> (String, String) {
    let mut form = vec![("name", name)];
    form.extend(rate_limit.map(|r| ("rate_limit", r)));
    let made = admin(app, reqwest::Method::POST, "/admin/keys", &form).await;
    assert_eq!(made.status, 200, "{}", made.body);
    let text = |v: &Value| v.as_str().expect("text").to_owned();
    (
        text(&made.body["data"]["key"]["id"]),
        text(&made.body["data"]["secret"]),
    )
}

async fn list(app: &TestApp) -> Vec<Value> {
    let listed = admin(app, reqwest::Method::GET, "/admin/keys", &[]).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    listed.body["data"]["keys"]
        .as_array()
        .expect("keys")
        .clone()
}

async fn revoke(app: &TestApp, id: &str) -> Answer {
    admin(
        app,
        reqwest::Method::DELETE,
        &format!("/admin/keys/{id}"),
        &[],
    )
    .await
}

/// A refresh of a simulator account, with the key in the header, the query or not at all.
async fn refresh(
    app: &TestApp,
    params: &[(&str, String)],
    header: Option<&str>,
    query: Option<&str>,
) -> Answer {
    let mut params = params.to_vec();
    params.extend(query.map(|q| ("api_key", q.to_owned())));
    let mut request = app
        .http
        .get(format!("{}/music/tencent/cookie/refresh", app.base))
        .query(&params);
    if let Some(key) = header {
        request = request.header("X-Api-Key", key);
    }
    answer(request.send().await.expect("sent")).await
}

async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn without_require_api_key_the_routes_stay_keyless() {
    let app = spawn_app_with(|_| {}).await;
    let account = app.sim_account("qq").await;
    let answer = refresh(&app, &account.params(), None, None).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn with_keys_required_a_request_without_one_is_401_with_its_code_and_burns_no_key() {
    let app = keyed_app().await;
    let account = app.sim_account("qq").await;
    for path in [
        "/music/tencent/cookie/refresh",
        "/music/tencent/cookie/check",
        "/tool/cos/sign",
        "/music/tencent/cookie/qrcode",
        "/music/tencent/cookie/fastlogin",
    ] {
        let answer = answer(
            app.http
                .get(format!("{}{path}", app.base))
                .send()
                .await
                .expect("sent"),
        )
        .await;
        assert_eq!(
            (answer.status, answer.code()),
            (401, KEY_CODE),
            "{path}: {}",
            answer.body
        );
        assert!(
            answer.message().contains("X-Api-Key"),
            "{}",
            answer.message()
        );
    }
    let refused = refresh(&app, &account.params(), None, None).await;
    assert_eq!(refused.code(), KEY_CODE);
    assert_eq!(app.logins().await, 0, "refused before any Login");
}

#[tokio::test]
async fn a_key_works_in_the_header_and_in_the_query_and_the_admin_token_stands_in_for_one() {
    let app = keyed_app().await;
    let account = app.sim_account("qq").await;
    let (_, secret) = create(&app, "播放器", None).await;
    let by_header = refresh(&app, &account.params(), Some(&secret), None).await;
    assert_eq!(by_header.status, 200, "{}", by_header.body);
    let by_query = refresh(&app, &account.params(), None, Some(&secret)).await;
    assert_eq!(by_query.status, 200, "{}", by_query.body);
    let by_token = answer(
        app.http
            .get(format!("{}/music/tencent/cookie/refresh", app.base))
            .query(&account.params())
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!(by_token.status, 200, "{}", by_token.body);
}

#[tokio::test]
async fn an_unknown_or_malformed_key_is_401_with_another_message_than_a_missing_one() {
    let app = keyed_app().await;
    let account = app.sim_account("qq").await;
    let missing = refresh(&app, &account.params(), None, None).await;
    for bad in ["qmk_0123456789abcdef0123456789abcdef", "nonsense", "qmk_"] {
        let refused = refresh(&app, &account.params(), Some(bad), None).await;
        assert_eq!(
            (refused.status, refused.code()),
            (401, REFUSED_CODE),
            "{bad}"
        );
        assert_ne!(refused.message(), missing.message());
        assert!(
            !refused.message().contains(bad),
            "the message never quotes the key"
        );
    }
}

#[tokio::test]
async fn a_revoked_key_is_refused_at_once_on_the_instance_that_revoked_it() {
    let app = keyed_app().await;
    let account = app.sim_account("qq").await;
    let (id, secret) = create(&app, "bot", None).await;
    assert_eq!(
        refresh(&app, &account.params(), Some(&secret), None)
            .await
            .status,
        200
    );

    let revoked = revoke(&app, &id).await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    let refused = refresh(&app, &account.params(), Some(&secret), None).await;
    assert_eq!((refused.status, refused.code()), (401, REFUSED_CODE));
    assert!(list(&app).await.is_empty());
    let again = revoke(&app, &id).await;
    assert_eq!((again.status, again.code()), (404, 40403));
    let bad = revoke(&app, "nope").await;
    assert_eq!((bad.status, bad.code()), (400, 40001));
    assert!(bad.message().contains("id"));
}

#[tokio::test]
async fn each_key_is_held_to_its_own_rate_limit_and_another_key_is_not() {
    let app = keyed_app().await;
    let account = app.sim_account("qq").await;
    let (_, slow) = create(&app, "slow", Some("2")).await;
    let (_, other) = create(&app, "other", None).await;
    for _ in 0..2 {
        assert_eq!(
            refresh(&app, &account.params(), Some(&slow), None)
                .await
                .status,
            200
        );
    }
    let limited = refresh(&app, &account.params(), Some(&slow), None).await;
    assert_eq!(
        (limited.status, limited.code()),
        (429, 42903),
        "{}",
        limited.body
    );
    assert!(limited.headers.contains_key("retry-after"));
    let fine = refresh(&app, &account.params(), Some(&other), None).await;
    assert_eq!(fine.status, 200, "another key is unaffected");
}

#[tokio::test]
async fn the_last_use_is_written_behind_at_most_once_a_minute() {
    let app = keyed_app().await;
    let account = app.sim_account("qq").await;
    let (_, secret) = create(&app, "bot", None).await;
    assert!(list(&app).await[0]["lastUsedTimestamp"].is_null());

    assert_eq!(
        refresh(&app, &account.params(), Some(&secret), None)
            .await
            .status,
        200
    );
    let first = qmkeys::clock::Clock::unix(&app.clock);
    eventually("the first use is stored", || async {
        list(&app).await[0]["lastUsedTimestamp"] == first
    })
    .await;

    // Within the minute: not written again.
    app.clock.advance(Duration::from_secs(30));
    assert_eq!(
        refresh(&app, &account.params(), Some(&secret), None)
            .await
            .status,
        200
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(list(&app).await[0]["lastUsedTimestamp"], first);

    app.clock.advance(Duration::from_secs(31));
    assert_eq!(
        refresh(&app, &account.params(), Some(&secret), None)
            .await
            .status,
        200
    );
    let later = qmkeys::clock::Clock::unix(&app.clock);
    eventually("a use a minute later is stored", || async {
        list(&app).await[0]["lastUsedTimestamp"] == later
    })
    .await;
}

#[tokio::test]
async fn keys_survive_a_restart_and_the_database_holds_only_their_hash() {
    let mut app = keyed_app().await;
    let account = app.sim_account("qq").await;
    let (id, secret) = create(&app, "bot", Some("30")).await;
    app.restart().await;
    let keys = list(&app).await;
    assert_eq!(keys.len(), 1);
    assert_eq!(
        (keys[0]["id"].as_str(), keys[0]["rateLimit"].as_u64()),
        (Some(id.as_str()), Some(30))
    );
    assert_eq!(
        refresh(&app, &account.params(), Some(&secret), None)
            .await
            .status,
        200
    );

    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(secret.as_bytes()))
    };
    let mut stored = Vec::new();
    for suffix in ["", "-wal"] {
        let mut path = app.settings.accounts.db.clone().into_os_string();
        path.push(suffix);
        stored.extend(std::fs::read(&path).unwrap_or_default());
    }
    let text = String::from_utf8_lossy(&stored);
    assert!(
        !text.contains(&secret[4..]),
        "the secret is not in the database"
    );
    assert!(text.contains(&hash), "its SHA-256 is");
}

#[tokio::test]
async fn the_key_list_never_holds_a_secret_or_a_hash() {
    let app = keyed_app().await;
    let (id, secret) = create(&app, "bot", None).await;
    let listed = admin(&app, reqwest::Method::GET, "/admin/keys", &[]).await;
    let text = listed.body.to_string();
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(secret.as_bytes()))
    };
    assert!(text.contains(&id));
    assert!(
        !text.contains(&secret[4..]) && !text.contains(&hash),
        "{text}"
    );
    let key = &listed.body["data"]["keys"][0];
    assert_eq!(key["name"], "bot");
    assert_eq!(key["rateLimit"], 60);
    assert!(key["createdTimestamp"].is_i64());
    let unauthorized = answer(
        app.http
            .get(format!("{}/admin/keys", app.base))
            .send()
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!(unauthorized.code(), 40103);
}

#[tokio::test]
async fn bad_create_parameters_are_400_naming_the_field() {
    let app = keyed_app().await;
    let long = "x".repeat(65);
    for (form, field) in [
        (vec![], "name"),
        (vec![("name", "  ")], "name"),
        (vec![("name", long.as_str())], "name"),
        (vec![("name", "a\u{1}b")], "name"),
        (vec![("name", "ok"), ("rate_limit", "0")], "rate_limit"),
        (vec![("name", "ok"), ("rate_limit", "100001")], "rate_limit"),
        (vec![("name", "ok"), ("rate_limit", "lots")], "rate_limit"),
    ] {
        let refused = admin(&app, reqwest::Method::POST, "/admin/keys", &form).await;
        assert_eq!((refused.status, refused.code()), (400, 40001), "{form:?}");
        assert!(
            refused.message().contains(field),
            "{form:?}: {}",
            refused.message()
        );
    }
    assert!(list(&app).await.is_empty());
}

#[tokio::test]
async fn a_secret_sent_in_the_header_or_the_query_is_never_logged() {
    let from = crate::log_capture::start();
    let app = keyed_app().await;
    let account = app.sim_account("qq").await;
    let (id, secret) = create(&app, "bot", Some("1")).await;
    refresh(&app, &account.params(), Some(&secret), None).await;
    refresh(&app, &account.params(), None, Some(&secret)).await; // over its limit
    revoke(&app, &id).await;
    refresh(&app, &account.params(), Some(&secret), None).await; // revoked
    refresh(&app, &account.params(), None, Some(&secret)).await;
    let log = crate::log_capture::since(from);
    if crate::log_capture::installed() {
        assert!(log.contains(&id), "the log names keys by id");
        assert!(!log.contains(&secret[4..]), "the secret is never logged");
    }
    let metrics = app.get_text("/metrics").await;
    assert!(!metrics.contains(&secret[4..]));
}

#[tokio::test]
async fn two_instances_sharing_redis_share_their_keys_and_a_revocation() {
    let redis = RedisServer::start();
    let url = redis.url();
    let (apps, _) = crate::helpers::spawn_instances(2, 0, move |s| {
        s.redis.url = Some(SecretString::from(url));
        s.accounts.secret_key = Some(SecretString::from("shared-secret-for-every-instance"));
        s.http.admin_token = Some(SecretString::from(TOKEN));
        s.http.require_api_key = true;
    })
    .await;
    let account = apps[0].sim_account("qq").await;
    let (id, secret) = create(&apps[0], "shared", None).await;
    let on_other = refresh(&apps[1], &account.params(), Some(&secret), None).await;
    assert_eq!(on_other.status, 200, "{}", on_other.body);
    assert_eq!(list(&apps[1]).await.len(), 1);

    assert_eq!(revoke(&apps[0], &id).await.status, 200);
    // The other instance believes its cached lookup for at most 5 s.
    eventually("the other instance refuses the revoked key", || async {
        refresh(&apps[1], &account.params(), Some(&secret), None)
            .await
            .code()
            == REFUSED_CODE
    })
    .await;
}
