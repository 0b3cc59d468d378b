//! What the owner's console (`/admin`) needs from the server: each row's
//! fields in `GET /admin/accounts`, and the QR login's `uin=`, which logs a
//! dead account in again and saves only a login of that very account.

use crate::cos_sign::TestFile;
use crate::helpers::{login_app, spawn_app_with_accounts, TestApp};
use crate::login_http::{act, json, newest, EventStream};
use qqmusic_sim::QrAction;
use secrecy::SecretString;
use serde_json::Value;

const TOKEN: &str = "admin-token-for-the-console-tests";

async fn rows(app: &TestApp) -> Vec<Value> {
    let answer: Value = app
        .http
        .get(format!("{}/admin/accounts", app.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    answer["data"]["accounts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn each_row_says_when_its_key_was_made_what_comes_next_its_membership_and_its_uploads() {
    let (app, accounts) = spawn_app_with_accounts(1, |s| {
        s.http.admin_token = Some(SecretString::from(TOKEN));
    })
    .await;
    let uin = &accounts[0].uin;
    // A seed's age is unknown until its first rotation: the keeper does that at once.
    let row = &rows(&app).await[0];
    assert_eq!(row["id"], uin.as_str());
    assert_ne!(row["uin"], uin.as_str(), "shown masked");
    assert_eq!(row["login"], "qq");
    assert_eq!(row["uploadsSigned"], 0);
    assert!(row["nextAction"].is_string(), "{row}");

    let refreshed = app
        .http
        .post(format!("{}/admin/accounts/{uin}/refresh", app.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("sent");
    assert_eq!(refreshed.status(), 200);
    for _ in 0..2 {
        let signed = app.sign(&TestFile::random(2_000).params()).await;
        assert_eq!(signed.code(), 0, "{:?}", signed.body);
    }

    let row = &rows(&app).await[0];
    let created = row["createdTimestamp"].as_i64().expect("created");
    let expires = row["expiresTimestamp"].as_i64().expect("expires");
    assert!(expires > created, "{row}");
    assert!(row["createdTime"].is_string());
    assert_eq!(row["uploadsSigned"], 2, "{row}");
    // Never checked since the rotation's key? The check comes first, no later than the rotation.
    let next = row["nextActionTimestamp"].as_i64().expect("next");
    assert!(next < expires, "{row}");
    assert!(["check", "refresh"].contains(&row["nextAction"].as_str().unwrap_or_default()));
    assert!(row["membership"]["vip"].is_boolean(), "{row}");
    assert!(!row.to_string().contains("Q_H_L_"), "no key in a row");

    // Out of use, an account has no next step and no membership asked for it.
    app.sim_post(
        &format!("/_sim/accounts/{uin}/logout"),
        serde_json::json!({}),
    )
    .await;
    let dead = app
        .http
        .post(format!("{}/admin/accounts/{uin}/refresh", app.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("sent");
    assert_ne!(dead.status(), 200);
    let row = &rows(&app).await[0];
    assert_eq!(row["health"], "unhealthy", "{row}");
    assert!(
        row["nextAction"].is_null() && row["membership"].is_null(),
        "{row}"
    );
}

/// Opens a QR login with `uin=`, scans it and confirms it as `as_uin`;
/// answers the last event's JSON.
async fn relogin(app: &TestApp, uin: &str, as_uin: Option<u64>) -> Value {
    let mut stream = EventStream::open(app, &[("type", "qq"), ("save", "true"), ("uin", uin)])
        .await
        .expect("a stream");
    let image = stream.next().await.expect("the image");
    assert!(image.data.starts_with("data:image/png"));
    let ident = newest(app, "qq");
    act(app, &ident, QrAction::Scan);
    app.sim
        .qr_action(&ident, QrAction::Confirm, as_uin)
        .expect("confirmed");
    let mut last = None;
    while let Some(event) = stream.next().await {
        last = Some(event);
    }
    json(&last.expect("a last event"))
}

#[tokio::test]
async fn a_qr_login_with_uin_saves_only_a_login_of_that_account() {
    let app = login_app(|s| s.accounts.allow_save = true).await;
    let wanted = app.sim_account("qq").await;

    let other = relogin(&app, &wanted.uin, None).await;
    assert_eq!(other["code"], 40001, "{other}");
    let message = other["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("另一个账号") && message.contains("uin"),
        "{message}"
    );
    assert!(other.get("cookie").is_none(), "no key handed out: {other}");
    assert!(app.stored_accounts().await.is_empty(), "nothing saved");

    let uin: u64 = wanted.uin.parse().expect("number");
    let same = relogin(&app, &wanted.uin, Some(uin)).await;
    assert_eq!(same["cookie"]["uin"], uin, "{same}");
    let stored = app.stored_accounts().await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].uin().get(), uin);
    assert_eq!(
        stored[0].cred.key.expose(),
        same["cookie"]["musickey"].as_str().unwrap_or_default()
    );

    let bad = EventStream::open(&app, &[("uin", "12ab")]).await.err();
    let bad = bad.expect("refused before any stream");
    assert_eq!((bad.status, bad.code()), (400, 40001));
}
