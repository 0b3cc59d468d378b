//! The stored upload accounts as an attacker with write access to the store,
//! an upgrade from the previous version and a second instance find them:
//! sealed values open only where they are stored, one bad record costs only
//! itself, and saves never write over another writer's newer record.

use crate::cos_sign::TestFile;
use crate::helpers::{spawn_app_with_accounts, spawn_instances, SimAccount, TestApp};
use crate::redis::RedisServer;
use qmkeys::secrets::Sealer;
use secrecy::SecretString;
use serde_json::{json, Value};

const SECRET: &str = "shared-secret-for-every-instance";
const ADMIN: &str = "admin-token-0123456789";

async fn redis_connection(redis: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis.url())
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("connect")
}

fn account_key(uin: &str) -> String {
    format!("qmkeys:v1:account:{uin}")
}

async fn admin_cookie(app: &TestApp, uin: &str) -> (u16, String) {
    let response = app
        .http
        .get(format!("{}/admin/accounts/{uin}/cookie", app.base))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("sent");
    (
        response.status().as_u16(),
        response.text().await.expect("body"),
    )
}

/// `n` instances on one Redis, with a secret key and the admin routes.
async fn on_redis(
    redis: &RedisServer,
    instances: usize,
    accounts: usize,
) -> (Vec<TestApp>, Vec<SimAccount>) {
    let url = redis.url();
    spawn_instances(instances, accounts, move |s| {
        s.redis.url = Some(SecretString::from(url));
        s.accounts.secret_key = Some(SecretString::from(SECRET));
        s.http.admin_token = Some(SecretString::from(ADMIN));
        s.accounts.allow_save = true;
    })
    .await
}

#[tokio::test]
async fn a_copied_redis_record_does_not_open_under_another_uin() {
    let redis = RedisServer::start();
    let (apps, accounts) = on_redis(&redis, 1, 1).await;
    let (app, a) = (&apps[0], &accounts[0]);
    let (status, body) = admin_cookie(app, &a.uin).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&a.musickey));
    let b = "1234567";
    let mut c = redis_connection(&redis).await;

    let copied: i64 = redis::cmd("COPY")
        .arg(account_key(&a.uin))
        .arg(account_key(b))
        .query_async(&mut c)
        .await
        .expect("copy");
    assert_eq!(copied, 1);
    let (status, body) = admin_cookie(app, b).await;
    assert_ne!(status, 200, "{body}");
    assert!(!body.contains(&a.musickey), "B answered A's key");

    // Its own uin made B's too: the sealed values are still bound to A.
    let _: i64 = redis::cmd("HSET")
        .arg(account_key(b))
        .arg("uin")
        .arg(b)
        .query_async(&mut c)
        .await
        .expect("hset");
    let (status, body) = admin_cookie(app, b).await;
    assert_ne!(status, 200, "{body}");
    assert!(!body.contains(&a.musickey), "B answered A's key");

    // Listed among the accounts, B is left out at the next start and A still serves.
    let _: i64 = redis::cmd("SADD")
        .arg("qmkeys:v1:accounts")
        .arg(b)
        .query_async(&mut c)
        .await
        .expect("sadd");
    let mut apps = apps;
    apps[0].restart().await;
    let app = &apps[0];
    let signed = app.sign(&TestFile::random(10).params()).await;
    assert_eq!(signed.status, 200, "{:?}", signed.body);
    let (status, body) = admin_cookie(app, &a.uin).await;
    assert_eq!(status, 200, "{body}");
    let stored = app.stored_accounts().await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].uin().to_string(), a.uin);
}

/// One secret field as the previous version sealed it: bound to the
/// record's `uin` field and the field name, as `uin:field`.
fn sealed_the_old_way(sealer: &Sealer, uin: &str, field: &str, value: &str) -> String {
    sealer.seal(&format!("{uin}:{field}"), value)
}

#[tokio::test]
async fn a_redis_store_written_by_the_previous_version_is_served_whole_and_sealed_again() {
    let redis = RedisServer::start();
    let (mut apps, _) = on_redis(&redis, 1, 0).await;
    let account = apps[0].sim_account("qq").await;
    let previous = apps[0].sim_account("qq").await;
    let sealer = Sealer::new(Some(SECRET), "account-store");
    let uin = account.uin.as_str();
    let secrets = [
        ("musickey", account.musickey.as_str()),
        ("refresh_key", account.refresh_key.as_str()),
        ("refresh_token", account.refresh_token.as_str()),
        ("prev_musickey", previous.musickey.as_str()),
        ("prev_refresh_key", previous.refresh_key.as_str()),
        ("prev_refresh_token", previous.refresh_token.as_str()),
    ];
    let mut fields: Vec<(String, String)> = secrets
        .iter()
        .map(|(f, v)| ((*f).to_owned(), sealed_the_old_way(&sealer, uin, f, v)))
        .collect();
    for (f, v) in [
        ("uin", uin),
        ("kind", "qq"),
        ("created_at", "1700000000"),
        ("expires_at", "4102444800"),
        ("last_refresh_at", "1700000000"),
        ("last_outcome", "refreshed"),
        ("health", "healthy"),
        ("generation", "4"),
        ("seed", ""),
    ] {
        fields.push((f.to_owned(), v.to_owned()));
    }
    let mut c = redis_connection(&redis).await;
    let () = redis::pipe()
        .hset_multiple(account_key(uin), &fields)
        .ignore()
        .sadd("qmkeys:v1:accounts", uin)
        .ignore()
        .query_async(&mut c)
        .await
        .expect("written the old way");

    apps[0].restart().await;
    let app = &apps[0];

    let signed = app.sign(&TestFile::random(10).params()).await;
    assert_eq!(signed.status, 200, "{:?}", signed.body);
    let stored = app.stored_accounts().await;
    assert_eq!(stored.len(), 1);
    let s = &stored[0];
    assert_eq!(
        (
            s.cred.key.expose(),
            s.cred.refresh_key_str(),
            s.cred.refresh_token_str()
        ),
        (
            account.musickey.as_str(),
            account.refresh_key.as_str(),
            account.refresh_token.as_str()
        )
    );
    let p = s.previous.as_ref().expect("previous kept");
    assert_eq!(
        (p.key.expose(), p.refresh_key_str(), p.refresh_token_str()),
        (
            previous.musickey.as_str(),
            previous.refresh_key.as_str(),
            previous.refresh_token.as_str()
        )
    );
    assert_eq!((s.generation, s.expires_at), (4, Some(4_102_444_800)));
    let now: std::collections::HashMap<String, String> = redis::cmd("HGETALL")
        .arg(account_key(uin))
        .query_async(&mut c)
        .await
        .expect("hgetall");
    for (field, _) in secrets {
        let value = now.get(field).expect(field);
        assert!(Sealer::is_sealed(value), "{field} still sealed");
        assert!(
            sealer.open(&format!("{uin}:{field}"), value).is_err(),
            "{field} is sealed again, under the new binding"
        );
    }
}

/// A sealed value with one character of its body changed.
fn flipped(sealed: &str) -> String {
    let mut chars: Vec<char> = sealed.chars().collect();
    let i = chars.len() - 5;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

/// The uin of the account the last InitUpload was made with.
async fn last_init_upload_uin(app: &TestApp) -> String {
    let log = app.sim_get("/_sim/requests").await;
    log.as_array()
        .and_then(|l| {
            l.iter()
                .rev()
                .find(|r| r["body"]["req_0"]["method"] == "InitUpload")
        })
        .and_then(|r| r["body"]["comm"]["uin"].as_str())
        .expect("an InitUpload")
        .to_owned()
}

#[tokio::test]
async fn one_tampered_record_does_not_stop_the_start_and_the_other_account_signs() {
    let (mut app, accounts) = spawn_app_with_accounts(2, |s| {
        s.accounts.secret_key = Some(SecretString::from("database-secret-0123456789"));
    })
    .await;
    let (bad, good) = (&accounts[0], &accounts[1]);
    let conn = rusqlite::Connection::open(&app.settings.accounts.db).expect("the store");
    let sealed: String = conn
        .query_row(
            "SELECT musickey FROM accounts WHERE uin = ?1",
            [&bad.uin],
            |r| r.get(0),
        )
        .expect("row");
    conn.execute(
        "UPDATE accounts SET musickey = ?2 WHERE uin = ?1",
        [&bad.uin, &flipped(&sealed)],
    )
    .expect("tampered");
    drop(conn);

    // Building the app panics if the store cannot be opened.
    app.restart().await;

    for _ in 0..3 {
        let signed = app.sign(&TestFile::random(10).params()).await;
        assert_eq!(signed.status, 200, "{:?}", signed.body);
        assert_eq!(last_init_upload_uin(&app).await, good.uin);
    }
    let ready = app.get("/readyz", &[]).await;
    assert_eq!(
        ready.status, 200,
        "the good account serves: {:?}",
        ready.body
    );
    assert_eq!(ready.body["data"]["status"], "degraded");
    let reasons = ready.body["data"]["reasons"].to_string();
    let masked = format!("{}***{}", &bad.uin[..2], &bad.uin[bad.uin.len() - 2..]);
    assert!(
        reasons.contains(&masked) && reasons.contains("musickey"),
        "{reasons}"
    );
    assert!(!reasons.contains(&bad.uin), "the uin is masked: {reasons}");
    assert!(!reasons.contains(&flipped(&sealed)), "never the value");
    let metrics = app.get_text("/metrics").await;
    assert!(
        metrics.contains("qmkeys_store_records_unreadable{field=\"musickey\"} 1"),
        "{metrics}"
    );
    // The tampered record is kept for someone to look at, not seeded over.
    let raw: String = rusqlite::Connection::open(&app.settings.accounts.db)
        .expect("the store")
        .query_row(
            "SELECT musickey FROM accounts WHERE uin = ?1",
            [&bad.uin],
            |r| r.get(0),
        )
        .expect("row");
    assert_eq!(raw, flipped(&sealed));
}

#[tokio::test]
async fn a_save_on_an_instance_with_a_stale_copy_does_not_write_over_another_instances_rotation() {
    let redis = RedisServer::start();
    let (apps, accounts) = on_redis(&redis, 2, 1).await;
    let (a, b) = (&apps[0], &apps[1]);
    // A rotates the account; B, whose next check is an hour away, still
    // holds the configured credential as generation 0.
    a.sim_post(
        &format!("/_sim/accounts/{}/expire", accounts[0].uin),
        json!({}),
    )
    .await;
    let signed = a.sign(&TestFile::random(10).params()).await;
    assert_eq!(signed.status, 200, "{:?}", signed.body);
    let rotated = a.stored_accounts().await.remove(0);
    assert_eq!(rotated.generation, 1);

    // The owner saves the account through B with the key A rotated to.
    let caller = SimAccount {
        uin: accounts[0].uin.clone(),
        musickey: rotated.cred.key.expose().to_owned(),
        refresh_key: rotated.cred.refresh_key_str().to_owned(),
        refresh_token: rotated.cred.refresh_token_str().to_owned(),
    };
    let mut params = caller.params_with_refresh();
    params.push(("save", "true".into()));
    let saved = b.refresh(&params).await;
    assert_eq!(saved.status, 200, "{:?}", saved.body);

    let stored = a.stored_accounts().await.remove(0);
    assert_eq!(stored.cred.key.expose(), saved.musickey());
    assert_eq!(
        stored.generation, 2,
        "written past A's rotation, not beside it"
    );
    assert_eq!(
        stored.previous.as_ref().map(|p| p.key.expose()),
        Some(rotated.cred.key.expose()),
        "the previous credential is the one the store held, not B's stale copy"
    );
    let (status, body) = admin_cookie(a, &accounts[0].uin).await;
    assert_eq!(status, 200, "{body}");
    let served: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(served["data"]["cookie"]["musickey"], saved.musickey());
}
