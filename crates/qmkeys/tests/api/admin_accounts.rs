//! The owner's routes for one kept account: `GET|DELETE /admin/accounts/{uin}`,
//! `POST …/check` (no Login), `POST …/refresh`, and `…/cookie?format=header`.

use crate::helpers::{login_app, spawn_app_with_accounts, Answer, SimAccount, TestApp, LOGIN};
use secrecy::SecretString;
use serde_json::{json, Value};

pub const TOKEN: &str = "admin-token-for-account-routes";
pub const CHECK: &str = "music.UserInfo.userInfoServer.GetLoginUserInfo";
pub const LOGOUT: &str = "music.login.LoginServer.Logout";

/// A server with the owner's token and one kept account.
pub async fn app_with_one() -> (TestApp, SimAccount) {
    let (app, mut accounts) = spawn_app_with_accounts(1, |s| {
        s.http.admin_token = Some(SecretString::from(TOKEN));
    })
    .await;
    (app, accounts.remove(0))
}

async fn admin(app: &TestApp, method: reqwest::Method, path: &str) -> (Answer, String) {
    let response = app
        .http
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("sent");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    (
        Answer {
            status,
            headers,
            body,
        },
        text,
    )
}

#[tokio::test]
async fn check_asks_without_a_login_and_refresh_rotates_the_key() {
    let (app, account) = app_with_one().await;
    let logins = app.logins().await;

    let (checked, text) = admin(
        &app,
        reqwest::Method::POST,
        &format!("/admin/accounts/{}/check", account.uin),
    )
    .await;
    assert_eq!(checked.status, 200, "{text}");
    assert_eq!(checked.body["data"]["alive"], true, "{text}");
    assert_eq!(checked.body["data"]["account"]["lastCheck"], "alive");
    assert_eq!(app.calls(CHECK).await, 1);
    assert_eq!(app.logins().await, logins, "a check sends no Login");

    let (refreshed, text) = admin(
        &app,
        reqwest::Method::POST,
        &format!("/admin/accounts/{}/refresh", account.uin),
    )
    .await;
    assert_eq!(refreshed.status, 200, "{text}");
    assert_eq!(app.logins().await, logins + 1, "one Login");
    assert_eq!(refreshed.body["data"]["health"], "healthy");
    let stored = app.stored_accounts().await;
    let key = stored[0].cred.key.expose().to_owned();
    assert_ne!(key, account.musickey, "the key changed");
    assert!(!text.contains(&key), "no key in the answer");

    // Expired upstream: the check says so, as an answer.
    app.sim_post(&format!("/_sim/accounts/{}/expire", account.uin), json!({}))
        .await;
    let (dead, text) = admin(
        &app,
        reqwest::Method::POST,
        &format!("/admin/accounts/{}/check", account.uin),
    )
    .await;
    assert_eq!(
        (dead.status, dead.body["data"]["alive"].as_bool()),
        (200, Some(false)),
        "{text}"
    );
    assert_eq!(app.logins().await, logins + 1);

    let (one, _) = admin(
        &app,
        reqwest::Method::GET,
        &format!("/admin/accounts/{}", account.uin),
    )
    .await;
    assert_eq!(one.body["data"]["lastCheck"], "dead");
    let (missing, _) = admin(&app, reqwest::Method::GET, "/admin/accounts/123456789").await;
    assert_eq!((missing.status, missing.code()), (404, 40402));
}

#[tokio::test]
async fn the_header_format_is_the_cookie_line_the_reference_client_sends() {
    let (app, account) = app_with_one().await;
    let (line, text) = admin(
        &app,
        reqwest::Method::GET,
        &format!("/admin/accounts/{}/cookie?format=header", account.uin),
    )
    .await;
    assert_eq!(line.status, 200, "{text}");
    assert!(line.headers["content-type"]
        .to_str()
        .is_ok_and(|v| v.starts_with("text/plain")));
    let key = app.stored_accounts().await[0].cred.key.expose().to_owned();
    assert_eq!(
        text,
        format!(
            "uin={u}; qqmusic_uin={u}; qqmusic_key={key}; qm_keyst={key}; tmeLoginType=2",
            u = account.uin
        )
    );
    let (json_form, _) = admin(
        &app,
        reqwest::Method::GET,
        &format!("/admin/accounts/{}/cookie?format=json", account.uin),
    )
    .await;
    assert_eq!(json_form.body["data"]["cookie"]["musickey"], key.as_str());
    let (bad, _) = admin(
        &app,
        reqwest::Method::GET,
        &format!("/admin/accounts/{}/cookie?format=xml", account.uin),
    )
    .await;
    assert_eq!((bad.status, bad.code()), (400, 40001));
    assert!(bad.message().contains("format"));
}

#[tokio::test]
async fn remove_with_logout_ends_the_key_upstream_and_a_failed_logout_keeps_the_account() {
    let (app, account) = app_with_one().await;
    let path = format!("/admin/accounts/{}", account.uin);

    for bad in ["?logout=yes", "?logout=true&force=1"] {
        let (answer, text) = admin(&app, reqwest::Method::DELETE, &format!("{path}{bad}")).await;
        assert_eq!(
            (answer.status, answer.code()),
            (400, 40001),
            "{bad}: {text}"
        );
    }

    // Logout refused (the key expired): the account stays.
    app.fault(json!({"target": LOGOUT, "code": 1000})).await;
    let (refused, text) = admin(
        &app,
        reqwest::Method::DELETE,
        &format!("{path}?logout=true"),
    )
    .await;
    assert_eq!((refused.status, refused.code()), (401, 40101), "{text}");
    assert_eq!(app.stored_accounts().await.len(), 1, "kept");

    let (removed, text) = admin(
        &app,
        reqwest::Method::DELETE,
        &format!("{path}?logout=true"),
    )
    .await;
    assert_eq!(removed.status, 200, "{text}");
    assert_eq!(
        removed.body["data"],
        json!({"removed": true, "loggedOut": true})
    );
    assert!(app.stored_accounts().await.is_empty());
    // The old key no longer refreshes anywhere.
    let again = app.refresh(&account.params_with_refresh()).await;
    assert_eq!(
        (again.status, again.code()),
        (401, 40101),
        "{:?}",
        again.body
    );
    assert!(app.calls(LOGIN).await >= 1);

    let (gone, _) = admin(&app, reqwest::Method::DELETE, &path).await;
    assert_eq!((gone.status, gone.code()), (404, 40402));
}

#[tokio::test]
async fn the_admin_token_allows_save_true_when_accounts_allow_save_is_off() {
    let app = login_app(|s| s.http.admin_token = Some(SecretString::from(TOKEN))).await;
    let (uin, key) = app.sim.new_client(None).expect("a desktop QQ");
    let fast_login = |token: &'static str| {
        app.http
            .post(format!("{}/music/tencent/cookie/fastlogin", app.base))
            .bearer_auth(token)
            .form(&[
                ("client_uin", uin.to_string()),
                ("client_key", key.clone()),
                ("save", "true".into()),
            ])
            .send()
    };
    let refused = fast_login("not-the-admin-token-at-all")
        .await
        .expect("sent");
    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["code"], 40305);
    assert!(app.stored_accounts().await.is_empty(), "nothing saved");

    let saved = fast_login(TOKEN).await.expect("sent");
    assert_eq!(saved.status(), 200);
    let stored = app.stored_accounts().await;
    assert!(
        stored
            .iter()
            .any(|a| a.uin().to_string() == uin.to_string()),
        "the owner's fast login is kept"
    );

    // The refresh endpoint and the QR login read the token the same way.
    let account = app.sim_account("qq").await;
    let mut params = account.params_with_refresh();
    params.push(("save", "true".into()));
    let anonymous = app.refresh(&params).await;
    assert_eq!((anonymous.status, anonymous.code()), (403, 40305));
    let owner = app
        .http
        .get(format!("{}/music/tencent/cookie/refresh", app.base))
        .bearer_auth(TOKEN)
        .query(&params)
        .send()
        .await
        .expect("sent");
    assert_eq!(owner.status(), 200);
    assert_eq!(app.stored_accounts().await.len(), 2);
    let qr = app
        .http
        .get(format!("{}/music/tencent/cookie/qrcode", app.base))
        .bearer_auth(TOKEN)
        .query(&[("save", "true")])
        .send()
        .await
        .expect("sent");
    assert_eq!(
        qr.status(),
        200,
        "the owner's QR login with save=true opens"
    );
}
