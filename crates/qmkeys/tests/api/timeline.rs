//! `GET /admin/events`: the owner's timeline of account events, kept in the
//! account store (SQLite here, Redis in redis.rs) across restarts.

use crate::cos_sign::TestFile;
use crate::helpers::{spawn_app_with, spawn_app_with_accounts, TestApp};
use secrecy::SecretString;
use serde_json::{json, Value};

const TOKEN: &str = "admin-token-for-the-timeline";

async fn events(app: &TestApp, query: &str) -> (u16, Value, String) {
    let response = app
        .http
        .get(format!("{}/admin/events{query}", app.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("sent");
    let status = response.status().as_u16();
    let text = response.text().await.expect("text");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    )
}

fn names(body: &Value) -> Vec<String> {
    body["data"]["events"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .filter_map(|e| e["event"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn the_timeline_lists_account_events_newest_first_and_keeps_them_across_a_restart() {
    let mut app = spawn_app_with(|s| {
        s.accounts.allow_save = true;
        s.http.admin_token = Some(SecretString::from(TOKEN));
    })
    .await;
    let account = app.sim_account("qq").await;
    let mut params = account.params_with_refresh();
    params.push(("save", "true".into()));
    let saved = app.refresh(&params).await;
    assert_eq!(saved.status, 200, "{:?}", saved.body);

    // Logged out upstream: the next sign finds it dead.
    app.sim_post(&format!("/_sim/accounts/{}/logout", account.uin), json!({}))
        .await;
    app.sign(&TestFile::random(10).params()).await;

    let (status, body, text) = events(&app, "").await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(names(&body), ["account.dead", "account.added"], "{text}");
    let dead = &body["data"]["events"][0];
    assert_eq!(dead["health"], "unhealthy");
    assert_eq!(dead["kind"], "qq");
    assert!(
        dead["detail"].as_str().is_some_and(|d| d.contains("1000")),
        "{dead}"
    );
    assert!(dead["timestamp"].as_i64().is_some_and(|t| t > 0));
    assert!(dead["time"].as_str().is_some_and(|t| t.len() == 19));
    assert!(dead["uin"].as_str().is_some_and(|u| u.contains("***")));
    for secret in [
        account.uin.as_str(),
        account.musickey.as_str(),
        account.refresh_key.as_str(),
        account.refresh_token.as_str(),
        saved.musickey(),
    ] {
        assert!(
            !text.contains(secret),
            "the timeline shows a key or a full uin"
        );
    }

    app.restart().await;
    let (_, after, _) = events(&app, "").await;
    assert_eq!(names(&after), names(&body), "kept across a restart");
}

#[tokio::test]
async fn the_timeline_keeps_the_newest_accounts_events_keep_and_limit_is_checked() {
    let (app, _) = spawn_app_with_accounts(5, |s| {
        s.accounts.events_keep = 3;
        s.http.admin_token = Some(SecretString::from(TOKEN));
    })
    .await;
    let (_, all, text) = events(&app, "").await;
    assert_eq!(
        names(&all).len(),
        3,
        "five accounts seeded, three kept: {text}"
    );
    let (_, two, _) = events(&app, "?limit=2").await;
    assert_eq!(names(&two).len(), 2);
    assert_eq!(
        two["data"]["events"][0], all["data"]["events"][0],
        "newest first"
    );
    let (_, many, _) = events(&app, "?limit=1000").await;
    assert_eq!(names(&many).len(), 3);

    for bad in ["?limit=0", "?limit=-2", "?limit=ten", "?limit=1&limit=2"] {
        let (status, body, text) = events(&app, bad).await;
        assert_eq!(
            (status, body["code"].as_i64()),
            (400, Some(40001)),
            "{bad}: {text}"
        );
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("limit")),
            "{bad}"
        );
    }
    let anonymous = app.get("/admin/events", &[]).await;
    assert_eq!((anonymous.status, anonymous.code()), (401, 40103));
}
