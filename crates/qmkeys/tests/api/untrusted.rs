//! What qmkeys reads back from Redis or its own store is checked as the
//! upstream answer it came from was: a planted or damaged entry is a miss (or
//! an account out of use), never a value served or signed with.

use crate::cos_sign::TestFile;
use crate::helpers::{spawn_app_with_accounts, INIT_UPLOAD, LOGIN};
use crate::redis::{pair, RedisServer};
use qmkeys::secrets::Sealer;
use serde_json::{json, Value};

const PLANTED_KEY: &str = "Q_H_L_plantedbyanattacker0123456789";

/// Overwrites every Redis key matching `pattern` with `value(key)`, keeping
/// its expiry; answers how many it overwrote.
async fn overwrite(redis: &RedisServer, pattern: &str, value: impl Fn(&str) -> String) -> usize {
    let client = redis::Client::open(redis.url()).expect("client");
    let mut c = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(pattern)
        .query_async(&mut c)
        .await
        .expect("keys");
    for key in &keys {
        let () = redis::cmd("SET")
            .arg(key)
            .arg(value(key))
            .arg("KEEPTTL")
            .query_async(&mut c)
            .await
            .expect("set");
    }
    keys.len()
}

/// What to write over a Redis key, given the key.
type Planting = Box<dyn Fn(&str) -> String>;

/// An InitUpload answer that would send the upload to another host.
fn evil_grant() -> Value {
    json!({"init_upload": {
        "AuthInfo": {"SecretID": "AKIDplanted", "SecretKey": "planted-secret-key",
                     "Token": "planted-token", "StartTime": 1, "ExpiredTime": 4_102_444_800_i64},
        "Files": [{"ObjectKey": "songlist/p/evil.png",
                   "Buckets": [{"Bucket": {"Name": "attacker.example.com:443/x", "Region": "ap-guangzhou"},
                                "UploadStatus": 0}]}]}})
}

fn assert_signed_for_the_real_bucket(answer: &crate::helpers::Answer) {
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let url = answer.body["data"]["url"].as_str().unwrap_or_default();
    assert!(url.contains("/cos/music-file-1258344705/"), "{url}");
    assert!(
        !answer.body.to_string().contains("planted"),
        "{:?}",
        answer.body
    );
}

#[tokio::test]
async fn an_upload_grant_planted_in_redis_is_not_signed_with_whether_sealed_or_not() {
    let redis = RedisServer::start();
    let (apps, _) = pair(&redis, 1).await;
    let secret = apps[0]
        .settings
        .accounts
        .secret_key
        .clone()
        .expect("a secret key");
    let sealer = Sealer::new(
        Some(secrecy::ExposeSecret::expose_secret(&secret)),
        "init-upload cache",
    );
    let plain = evil_grant().to_string();
    let plantings: [(&str, Planting); 2] = [
        ("unsealed", Box::new(move |_: &str| plain.clone())),
        (
            "sealed with the right key but failing InitUpload's checks",
            Box::new(move |key: &str| sealer.seal(key, &evil_grant().to_string())),
        ),
    ];
    for (what, planted) in plantings {
        let file = TestFile::random(10);
        let first = apps[0].sign(&file.params()).await;
        assert_signed_for_the_real_bucket(&first);
        let inits = apps[0].calls(INIT_UPLOAD).await;
        assert!(overwrite(&redis, "qmkeys:v1:grant:*", &planted).await >= 1);

        let second = apps[1].sign(&file.params()).await;

        assert_signed_for_the_real_bucket(&second);
        assert_eq!(
            apps[0].calls(INIT_UPLOAD).await,
            inits + 1,
            "{what}: the other instance asked InitUpload itself"
        );
    }
}

#[tokio::test]
async fn an_unsealed_cookie_planted_in_redis_is_not_served() {
    let redis = RedisServer::start();
    let (apps, _) = pair(&redis, 0).await;
    let account = apps[0].sim_account("qq").await;
    let first = apps[0].refresh(&account.params_with_refresh()).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let planted = json!({
        "login": {"str_musicid": account.uin, "musickey": PLANTED_KEY, "refresh_key": "",
                  "refresh_token": "", "musickeyCreateTime": 1_900_000_000_i64, "keyExpiresIn": 259_200},
        "valid_until": 4_102_444_800_i64,
    })
    .to_string();
    assert_eq!(
        overwrite(&redis, "qmkeys:v1:cookie:*", |_| planted.clone()).await,
        1
    );

    let second = apps[1].refresh(&account.params_with_refresh()).await;

    assert!(
        !second.body.to_string().contains(PLANTED_KEY),
        "{:?}",
        second.body
    );
    assert_eq!(
        apps[0].calls(LOGIN).await,
        2,
        "the planted entry was a miss, so the other instance made its own Login"
    );
}

#[tokio::test]
async fn an_account_with_an_unknown_health_in_the_store_is_not_used_for_signing() {
    let (mut app, _) = spawn_app_with_accounts(1, |_| {}).await;
    assert_eq!(app.stored_accounts().await.len(), 1);
    let conn = rusqlite::Connection::open(&app.settings.accounts.db).expect("open the store");
    let changed = conn
        .execute("UPDATE accounts SET health = 'thriving'", [])
        .expect("plant");
    assert_eq!(changed, 1);
    drop(conn);
    app.restart().await;

    let answer = app.sign(&TestFile::random(10).params()).await;

    assert_eq!(
        (answer.status, answer.code()),
        (503, 50302),
        "no healthy account: {:?}",
        answer.body
    );
    assert_eq!(app.calls(INIT_UPLOAD).await, 0);
    let stored = app.stored_accounts().await;
    assert_eq!(stored.len(), 1, "kept, for someone to look at");
    assert_eq!(
        stored[0].health,
        qmkeys::accounts::Health::Unhealthy,
        "an unknown health reads as unhealthy, never as healthy"
    );
}
