//! The 扫码登录 card: a QR login in the browser, with the simulator playing
//! the phone.

use crate::helpers::{login_app, spawn_app_with, TestApp};
use crate::support::{screenshot_dir, Browser};
use qqmusic_sim::QrAction;
use serde_json::json;
use std::time::Duration;

async fn page(app: &TestApp) -> Browser {
    let browser = Browser::start().await;
    browser.goto(&format!("{}/", app.base)).await;
    browser.wait_for("body[data-ready=true]").await;
    browser
}

/// The simulator's QR logins of `kind`, newest first.
fn qrs(app: &TestApp, kind: &str) -> Vec<String> {
    app.sim
        .qr_logins()
        .into_iter()
        .filter(|l| l.kind == kind)
        .map(|l| l.ident)
        .collect()
}

fn act(app: &TestApp, ident: &str, action: QrAction) {
    app.sim
        .qr_action(ident, action, None)
        .expect("the simulator takes the action");
}

/// Waits for the QR to be shown and decoded; answers its data URI.
async fn shown_qr(browser: &Browser) -> String {
    browser
        .wait_for("#login-qr-box:not([hidden]) img[src]")
        .await;
    let state = browser
        .run_async(
            r#"const done = arguments[arguments.length - 1];
               const img = document.getElementById('login-qr');
               const report = () => done({src: img.getAttribute('src').slice(0, 32), width: img.naturalWidth});
               if (img.complete) report(); else { img.onload = report; img.onerror = report; }"#,
            vec![],
        )
        .await;
    assert!(
        state["width"].as_u64().is_some_and(|w| w > 20),
        "the QR image decodes (the CSP allows data: images): {state}"
    );
    state["src"].as_str().unwrap_or_default().to_owned()
}

async fn wait_status(browser: &Browser, status: &str) -> String {
    browser
        .wait_for(&format!("#login-status[data-status={status}]"))
        .await;
    browser.text("#login-status").await
}

#[tokio::test]
async fn a_person_logs_in_with_a_qq_qr_and_sees_the_new_key_with_copy_buttons() {
    let app = login_app(|_| {}).await;
    let browser = page(&app).await;
    assert!(
        !browser
            .find("#login-save-row")
            .await
            .is_displayed()
            .await
            .expect("state"),
        "no 保存到服务器 where the server does not allow saving"
    );
    assert!(browser
        .text("#login-desktop")
        .await
        .starts_with("电脑上已经登录了 QQ？在那台电脑上运行 qmkeys login --desktop"));

    browser.click("#login-start").await;
    let src = shown_qr(&browser).await;
    assert!(src.starts_with("data:image/png;base64,"), "{src}");
    assert_eq!(wait_status(&browser, "waiting").await, "等待扫码");
    let idents = qrs(&app, "qq");
    assert_eq!(idents.len(), 1, "one login started");

    act(&app, &idents[0], QrAction::Scan);
    assert_eq!(
        wait_status(&browser, "scanned").await,
        "已扫码，请在手机上确认"
    );
    browser.screenshot("#login-tool", "login-scanned.png").await;
    act(&app, &idents[0], QrAction::Confirm);
    browser
        .wait_for("#login-result[data-state=done], #login-result[data-state=error]")
        .await;

    assert_eq!(browser.text("#login-result .error-message").await, "");
    assert_eq!(browser.text("#login-status").await, "登录成功");
    let key = browser.text("#login-new-musickey").await;
    assert!(key.starts_with("Q_H_L_"), "{key}");
    let uin = browser.text("#login-result dd code").await;
    let refresh_key = browser.text("#login-new-refresh-key").await;
    let refresh_token = browser.text("#login-new-refresh-token").await;
    // The key on the page is one that refreshes.
    let again = app
        .refresh(&[
            ("uin", uin),
            ("music_key", key),
            ("refresh_key", refresh_key),
            ("refresh_token", refresh_token),
        ])
        .await;
    assert_eq!(again.code(), 200, "{:?}", again.body);
    let left = browser.text("#login-key-time-left").await;
    assert!(
        left == "剩余 2 天 23 小时" || left == "剩余 3 天 0 小时",
        "{left}"
    );
    assert!(!browser.text("#login-vip-state").await.is_empty());
    let copy_buttons = browser
        .run(
            "return document.querySelectorAll('#login-result button.copy').length;",
            vec![],
        )
        .await;
    assert_eq!(copy_buttons, json!(3));
    let shot = browser.screenshot("#login-tool", "login.png").await;
    assert!(shot.starts_with(screenshot_dir()));

    // The stream ended and nothing opened a new one (EventSource would have).
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(qrs(&app, "qq").len(), 1, "no second login was started");

    browser.click("#lang-switch").await;
    assert_eq!(browser.text("#login-title").await, "QR login");
    assert!(browser
        .text("#login-desktop")
        .await
        .contains("qmkeys login --desktop"));
    assert_eq!(browser.text("#login-status").await, "Logged in");
    assert_eq!(browser.text("#login-tab-wx").await, "WeChat");
    browser.close().await;
}

#[tokio::test]
async fn an_expired_wechat_qr_says_so_and_a_click_on_it_starts_a_login_that_is_saved() {
    let app = login_app(|s| s.accounts.allow_save = true).await;
    let browser = page(&app).await;

    browser.click("#login-tab-wx").await;
    browser.click("#login-save").await;
    browser.click("#login-start").await;
    let src = shown_qr(&browser).await;
    assert!(src.starts_with("data:image/jpeg;base64,"), "{src}");
    wait_status(&browser, "waiting").await;

    app.sim.advance_clock(121);
    assert_eq!(wait_status(&browser, "expired").await, "已过期，点击刷新");
    browser.screenshot("#login-tool", "login-expired.png").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        qrs(&app, "wx").len(),
        1,
        "an expired QR is not renewed unasked"
    );

    // A click on the spent QR starts again.
    browser.click("#login-qr-button").await;
    wait_status(&browser, "waiting").await;
    let idents = qrs(&app, "wx");
    assert_eq!(idents.len(), 2, "a second login");
    act(&app, &idents[0], QrAction::Scan);
    wait_status(&browser, "scanned").await;
    act(&app, &idents[0], QrAction::Confirm);
    browser
        .wait_for("#login-result[data-state=done], #login-result[data-state=error]")
        .await;
    assert_eq!(browser.text("#login-result .error-message").await, "");
    let key = browser.text("#login-new-musickey").await;
    assert!(key.starts_with("W_X_"), "{key}");
    let uin = browser.text("#login-result dd code").await;
    let stored = app.stored_accounts().await;
    assert!(
        stored.iter().any(|a| a.uin().get().to_string() == uin),
        "保存到服务器 kept {uin}"
    );
    assert_eq!(
        app.sim
            .qr_logins()
            .iter()
            .filter(|l| l.kind == "qq")
            .count(),
        0
    );
    browser.close().await;
}

#[tokio::test]
async fn a_login_refused_before_any_stream_shows_the_servers_message_and_switching_tabs_ends_a_login(
) {
    let app = login_app(|s| s.login.max_sessions = 1).await;
    let browser = page(&app).await;

    browser.click("#login-start").await;
    shown_qr(&browser).await;
    wait_status(&browser, "waiting").await;
    let ident = qrs(&app, "qq").remove(0);

    // Switching to WeChat ends the QQ login: the server stops polling it.
    browser.click("#login-tab-wx").await;
    assert_eq!(browser.text("#login-status").await, "");
    let polls = || async {
        app.sim_get("/_sim/stats").await[format!("ptlogin.ptqrlogin:{ident}")]
            .as_u64()
            .unwrap_or(0)
    };
    tokio::time::sleep(Duration::from_millis(800)).await;
    let after = polls().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(polls().await, after, "no poll after the tab switch");

    // The one place is taken by another client: the server answers 503 JSON.
    let held = app
        .http
        .get(format!("{}/music/tencent/cookie/qrcode", app.base))
        .send()
        .await
        .expect("sent");
    assert_eq!(held.status(), 200);
    browser.click("#login-start").await;
    browser.wait_for("#login-result[data-state=error]").await;
    assert_eq!(browser.text("#login-status").await, "登录失败");
    let detail = browser.text("#login-result .error-detail").await;
    assert!(
        detail.contains("503") && detail.contains("50307"),
        "{detail}"
    );
    assert!(!browser
        .text("#login-result .error-message")
        .await
        .is_empty());
    drop(held);
    browser.close().await;
}

#[tokio::test]
async fn the_qq_music_tab_logs_in_with_the_apps_own_qr_and_shows_a_failure_on_the_phone() {
    let app = login_app(|_| {}).await;
    let browser = page(&app).await;
    assert_eq!(browser.text("#login-tab-app").await, "QQ音乐");

    browser.click("#login-tab-app").await;
    browser.click("#login-start").await;
    let src = shown_qr(&browser).await;
    assert!(src.starts_with("data:image/png;base64,"), "{src}");
    assert_eq!(wait_status(&browser, "waiting").await, "等待扫码");
    let idents = qrs(&app, "app");
    assert_eq!(idents.len(), 1, "one app QR");
    act(&app, &idents[0], QrAction::Scan);
    wait_status(&browser, "scanned").await;
    act(&app, &idents[0], QrAction::Confirm);
    browser
        .wait_for("#login-result[data-state=done], #login-result[data-state=error]")
        .await;
    assert_eq!(browser.text("#login-result .error-message").await, "");
    assert_eq!(browser.text("#login-status").await, "登录成功");
    let key = browser.text("#login-new-musickey").await;
    assert!(key.starts_with("Q_H_L_"), "{key}");
    browser.screenshot("#login-tool", "login-app.png").await;

    // A second login that fails on the phone shows the server's message.
    browser.click("#login-start").await;
    wait_status(&browser, "waiting").await;
    let second = qrs(&app, "app");
    assert_eq!(second.len(), 2);
    act(&app, &second[0], QrAction::Fail);
    browser.wait_for("#login-result[data-state=error]").await;
    assert_eq!(browser.text("#login-status").await, "登录失败");
    let detail = browser.text("#login-result .error-detail").await;
    assert!(detail.contains("50204"), "{detail}");

    browser.click("#lang-switch").await;
    assert_eq!(browser.text("#login-tab-app").await, "QQ Music");
    browser.close().await;
}

#[tokio::test]
async fn the_pages_event_stream_parser_follows_the_sse_rules_across_chunk_boundaries() {
    let app = spawn_app_with(|_| {}).await;
    let browser = page(&app).await;
    // CRLF split between chunks, a bare CR, comments, two data lines, an
    // event without an id (keeps the last one), and a field without a value.
    let got = browser
        .run(
            r#"const out = [];
               const feed = qmkeysSse.parser(e => { out.push([e.lastEventId, e.data]); return e.data === 'stop'; });
               for (const chunk of ['id: 1\ndata: data:image/png;base64,AA\n\n: keep-alive\n\nid: 2\r',
                                    '\ndata: {"status":"waiting"}\r', '\n\r\ndata: a\rdata:b\n\n',
                                    'id: 4\ndata\n\nid:5\ndata: 二维', '码已失效\n\ndata: stop\n\ndata: never\n\n']) {
                 feed(chunk);
               }
               return out;"#,
            vec![],
        )
        .await;
    assert_eq!(
        got,
        json!([
            ["1", "data:image/png;base64,AA"],
            ["2", "{\"status\":\"waiting\"}"],
            ["2", "a\nb"],
            ["4", ""],
            ["5", "二维码已失效"],
            ["5", "stop"]
        ])
    );
    browser.close().await;
}
