//! The owner's console (`/admin`) in a real browser: sign in with the admin
//! token, add an account with a QR login, check it, rotate it, copy its
//! cookie, watch it die and log it in again, remove it, and read all of it in
//! the timeline. The simulator plays the phone and QQ Music.

use crate::helpers::{login_app, TestApp};
use crate::support::{screenshot_dir, Browser, PATIENCE};
use qqmusic_sim::QrAction;
use secrecy::SecretString;
use serde_json::{json, Value};
use std::time::Instant;

const TOKEN: &str = "the-owners-admin-token-for-browser-tests";
const CHECK: &str = "music.UserInfo.userInfoServer.GetLoginUserInfo";

async fn console(app: &TestApp) -> Browser {
    let browser = Browser::start().await;
    browser.goto(&format!("{}/admin", app.base)).await;
    browser.wait_for("body[data-ready=true]").await;
    browser
}

/// Waits until `script` (a function body) returns true.
async fn until(browser: &Browser, what: &str, script: &str) {
    let start = Instant::now();
    loop {
        if browser.run(script, vec![]).await == Value::Bool(true) {
            return;
        }
        if start.elapsed() > PATIENCE {
            let body = browser.text("body").await;
            panic!("never: {what}; the page says:\n{body}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Clicks `action` in `uin`'s row once the list has been read again after it.
async fn row_action(browser: &Browser, uin: &str, action: &str) {
    browser
        .click(&format!(
            "#accounts-body tr[data-uin='{uin}'] button[data-action={action}]"
        ))
        .await;
}

/// The count of list loads so far (the page counts them on `body`).
async fn loads(browser: &Browser) -> u64 {
    browser
        .run(
            "return Number(document.body.getAttribute('data-loaded') || 0);",
            vec![],
        )
        .await
        .as_u64()
        .unwrap_or_default()
}

/// Clicks `action` and waits for the list and timeline to be read again.
async fn act_and_reload(browser: &Browser, uin: &str, action: &str) {
    let before = loads(browser).await;
    row_action(browser, uin, action).await;
    until(
        browser,
        &format!("the list read again after {action}"),
        &format!("return Number(document.body.getAttribute('data-loaded') || 0) > {before};"),
    )
    .await;
}

async fn timeline(browser: &Browser) -> Vec<String> {
    let events = browser
        .run(
            "return Array.from(document.querySelectorAll('#timeline li')).map(li => li.getAttribute('data-event'));",
            vec![],
        )
        .await;
    serde_json::from_value(events).unwrap_or_default()
}

async fn first_row(browser: &Browser) -> String {
    browser
        .run(
            "const tr = document.querySelector('#accounts-body tr'); return tr ? tr.getAttribute('data-uin') : '';",
            vec![],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Starts a QR login in the page by clicking `start`, plays the
/// phone confirming as `as_uin` (a new account when `None`), waits for the end.
async fn qr_login(browser: &Browser, app: &TestApp, start: &str, as_uin: Option<u64>) {
    let before = app.sim.qr_logins().len();
    browser.click(start).await;
    browser
        .wait_for("#add-qr-box:not([hidden]) img[src^='data:image/png']")
        .await;
    let logins = app.sim.qr_logins();
    assert_eq!(logins.len(), before + 1, "one QR login started");
    let ident = logins[0].ident.clone();
    app.sim
        .qr_action(&ident, QrAction::Scan, None)
        .expect("scanned");
    browser.wait_for("#add-status[data-status=scanned]").await;
    app.sim
        .qr_action(&ident, QrAction::Confirm, as_uin)
        .expect("confirmed");
    browser
        .wait_for("#add-status[data-status=done], #add-status[data-status=failed]")
        .await;
    let status = browser.text("#add-status").await;
    assert!(status.starts_with("登录成功，已保存"), "{status}");
}

async fn stored_key(app: &TestApp, uin: &str) -> String {
    app.stored_accounts()
        .await
        .into_iter()
        .find(|a| a.uin().to_string() == uin)
        .map(|a| a.cred.key.expose().to_owned())
        .expect("stored")
}

async fn owners_header(app: &TestApp, uin: &str) -> String {
    app.http
        .get(format!(
            "{}/admin/accounts/{uin}/cookie?format=header",
            app.base
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("text")
}

/// What `qmkeys accounts show UIN --header` prints, on the store itself and
/// through the server with the token.
async fn cli_headers(app: &TestApp, uin: &str) -> [String; 2] {
    let mut lines = [String::new(), String::new()];
    for (i, remote) in [false, true].into_iter().enumerate() {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_qmkeys"));
        cmd.args(["accounts", "show", uin, "--header"])
            .env_remove("QMKEYS_ADMIN_TOKEN")
            .env("QMKEYS_DB", &app.settings.accounts.db)
            .env("QMKEYS_UPSTREAM", app.settings.upstream.base.as_str());
        if remote {
            cmd.args(["--server", &app.base])
                .env("QMKEYS_ADMIN_TOKEN", TOKEN);
        }
        // Off the test's runtime: the server answering it runs there.
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .expect("joined")
            .expect("qmkeys runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        lines[i] = String::from_utf8_lossy(&out.stdout).trim_end().to_owned();
    }
    lines
}

/// Replaces the clipboard with a recorder, so the test reads what the page copied.
async fn record_clipboard(browser: &Browser) {
    browser
        .run(
            "window.copiedText = null; Object.defineProperty(navigator, 'clipboard', { configurable: true, value: { writeText: t => { window.copiedText = t; return Promise.resolve(); } } }); return true;",
            vec![],
        )
        .await;
}

async fn copied(browser: &Browser) -> String {
    until(
        browser,
        "something copied",
        "return typeof window.copiedText === 'string';",
    )
    .await;
    let text = browser
        .run(
            "const t = window.copiedText; window.copiedText = null; return t;",
            vec![],
        )
        .await;
    text.as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_owner_signs_in_and_steers_an_account_from_qr_login_to_removal() {
    let app = login_app(|s| s.http.admin_token = Some(SecretString::from(TOKEN))).await;
    let browser = console(&app).await;

    // A wrong token first: a clear message, asked again, nothing kept.
    browser.wait_for("body[data-view=signin]").await;
    browser
        .type_into("#token", "not-the-token-at-all-nope")
        .await;
    browser.click("#token-submit").await;
    browser.wait_for("#signin-result[data-state=error]").await;
    assert_eq!(
        browser.text("#signin-result .error-message").await,
        "管理员令牌不对，请重新输入。"
    );
    assert!(browser
        .text("#signin-result .error-detail")
        .await
        .contains("40103"));
    let kept = browser
        .run(
            "return sessionStorage.getItem('qmkeys-admin-token');",
            vec![],
        )
        .await;
    assert_eq!(kept, Value::Null);

    browser.type_into("#token", TOKEN).await;
    browser.click("#token-submit").await;
    browser.wait_for("body[data-view=console]").await;
    let kept = browser
        .run("return [sessionStorage.getItem('qmkeys-admin-token'), localStorage.getItem('qmkeys-admin-token'), document.cookie];", vec![])
        .await;
    assert_eq!(
        kept,
        json!([TOKEN, null, ""]),
        "sessionStorage only, no cookie"
    );

    // Two accounts added with QR logins from the page.
    qr_login(&browser, &app, "#add-start", None).await;
    browser.wait_for("#accounts-body tr[data-uin]").await;
    let first = first_row(&browser).await;
    app.sim_post("/_sim/clock", json!({"advance_secs": 120}))
        .await;
    qr_login(&browser, &app, "#add-start", None).await;
    until(
        &browser,
        "two rows",
        "return document.querySelectorAll('#accounts-body tr').length === 2;",
    )
    .await;
    let uins: Vec<String> = serde_json::from_value(
        browser
            .run("return Array.from(document.querySelectorAll('#accounts-body tr')).map(tr => tr.getAttribute('data-uin'));", vec![])
            .await,
    )
    .expect("uins");
    let second = uins
        .iter()
        .find(|u| **u != first)
        .cloned()
        .expect("a second account");
    assert_eq!(
        app.stored_accounts().await.len(),
        2,
        "both saved on the server"
    );
    let key = stored_key(&app, &first).await;
    let body = browser.text("body").await;
    assert!(
        !body.contains(&key) && !body.contains(&first),
        "no key, no whole uin on show"
    );
    assert_eq!(
        first_row(&browser).await,
        first,
        "the older key expires first"
    );

    // Check: GetLoginUserInfo, never a Login.
    let logins = app.logins().await;
    let checks = app.calls(CHECK).await;
    act_and_reload(&browser, &first, "check").await;
    let said = browser.text("#action-result .message").await;
    assert!(said.contains("key 有效"), "{said}");
    assert_eq!(app.logins().await, logins, "a check sends no Login");
    assert_eq!(app.calls(CHECK).await, checks + 1);
    let row = format!("#accounts-body tr[data-uin='{first}']");
    assert!(browser
        .text(&format!("{row} td[data-col='3']"))
        .await
        .contains("有效"));

    // Rotate: one Login, a new key, the row moves on.
    app.sim_post("/_sim/clock", json!({"advance_secs": 120}))
        .await;
    let expires_before = browser.text(&format!("{row} td[data-col='2']")).await;
    act_and_reload(&browser, &first, "refresh").await;
    assert_eq!(app.logins().await, logins + 1);
    let rotated = stored_key(&app, &first).await;
    assert_ne!(rotated, key, "the key changed");
    assert!(browser
        .text(&format!("{row} td[data-col='4']"))
        .await
        .contains("已轮换"));
    assert_ne!(
        browser.text(&format!("{row} td[data-col='2']")).await,
        expires_before
    );
    assert_eq!(
        first_row(&browser).await,
        second,
        "the rotated key now expires last"
    );

    // Copy the Cookie line and the JSON: what the owner's route answers, with the live key.
    record_clipboard(&browser).await;
    row_action(&browser, &first, "copy-header").await;
    let line = copied(&browser).await;
    assert_eq!(line, owners_header(&app, &first).await);
    assert_eq!(
        cli_headers(&app, &first).await,
        [line.clone(), line.clone()],
        "the line the page copies is what `qmkeys accounts show --header` prints, locally and remotely"
    );
    assert!(line.contains(&format!("qqmusic_key={rotated}")), "{line}");
    row_action(&browser, &first, "copy-json").await;
    let cookie: Value = serde_json::from_str(&copied(&browser).await).expect("JSON");
    assert_eq!(cookie["musickey"], rotated.as_str());
    assert!(
        !browser.text("body").await.contains(&rotated),
        "copying shows nothing"
    );
    row_action(&browser, &first, "reveal").await;
    browser
        .wait_for(&format!("{row} .secret:not([hidden])"))
        .await;
    assert_eq!(browser.text(&format!("{row} .secret")).await, line);
    row_action(&browser, &first, "reveal").await;
    assert!(
        !browser.text("body").await.contains(&rotated),
        "hidden again"
    );

    // Killed upstream: the rotation fails, the row turns dead and moves up.
    app.sim_post(&format!("/_sim/accounts/{first}/logout"), json!({}))
        .await;
    act_and_reload(&browser, &first, "refresh").await;
    browser.wait_for("#action-result[data-state=error]").await;
    browser.wait_for(&format!("{row}[data-state=dead]")).await;
    assert_eq!(
        first_row(&browser).await,
        first,
        "the dead account comes first"
    );
    assert_eq!(
        browser.text(&format!("{row} td[data-col='1']")).await,
        "已失效"
    );
    browser.screenshot("main", "admin.png").await;

    // Log it in again with a QR: another account's login is not saved ...
    let before = app.sim.qr_logins().len();
    row_action(&browser, &first, "relogin").await;
    browser.wait_for("#add-qr-box:not([hidden]) img[src]").await;
    assert_eq!(app.sim.qr_logins().len(), before + 1);
    let ident = app.sim.qr_logins()[0].ident.clone();
    app.sim
        .qr_action(&ident, QrAction::Scan, None)
        .expect("scanned");
    app.sim
        .qr_action(&ident, QrAction::Confirm, None)
        .expect("confirmed");
    browser.wait_for("#add-status[data-status=failed]").await;
    assert!(browser.text("#add-status").await.contains("另一个账号"));
    assert_eq!(app.stored_accounts().await.len(), 2, "nothing saved");
    // ... the same account's is, and the row is healthy again.
    let again = format!("{row} button[data-action=relogin]");
    qr_login(&browser, &app, &again, Some(first.parse().expect("uin"))).await;
    browser
        .wait_for(&format!("{row}[data-health=healthy]"))
        .await;
    let relogged = stored_key(&app, &first).await;
    assert_ne!(relogged, rotated);

    // Remove, logging out upstream: the key stops working there too.
    row_action(&browser, &first, "remove").await;
    browser.wait_for("#remove-panel:not([hidden])").await;
    assert_eq!(
        browser
            .run(
                "return document.getElementById('remove-logout').checked;",
                vec![]
            )
            .await,
        Value::Bool(true)
    );
    let before = loads(&browser).await;
    browser.click("#remove-confirm").await;
    until(
        &browser,
        "the list read again",
        &format!("return Number(document.body.getAttribute('data-loaded')) > {before};"),
    )
    .await;
    assert!(browser
        .text("#action-result .message")
        .await
        .contains("已在 QQ 音乐退出登录并删除"));
    assert_eq!(
        browser
            .run(
                &format!("return document.querySelectorAll(\"{row}\").length;"),
                vec![]
            )
            .await,
        json!(0)
    );
    let refused = app
        .refresh(&[("uin", first.clone()), ("music_key", relogged)])
        .await;
    assert_ne!(
        refused.code(),
        200,
        "the simulator refuses the logged-out key"
    );

    // Every step is in the timeline, newest first.
    let events = timeline(&browser).await;
    assert_eq!(
        events.first().map(String::as_str),
        Some("account.removed"),
        "{events:?}"
    );
    for event in [
        "account.added",
        "account.checked",
        "account.refreshed",
        "account.dead",
        "account.removed",
    ] {
        assert!(events.iter().any(|e| e == event), "{event} in {events:?}");
    }
    let added = events.iter().filter(|e| *e == "account.added").count();
    assert!(added >= 3, "two QR logins and the re-login: {events:?}");

    // English on request.
    browser.click("#lang-switch").await;
    assert_eq!(browser.text("#accounts-title").await, "Kept accounts");
    browser.click("#lang-switch").await;
    assert!(screenshot_dir().join("admin.png").exists());
    browser.close().await;
}

#[tokio::test]
async fn without_an_admin_token_the_console_only_says_how_to_set_one() {
    let app = login_app(|_| {}).await;
    let browser = console(&app).await;
    browser.wait_for("body[data-view=off]").await;
    let text = browser.text("#admin-off").await;
    assert!(
        text.contains("QMKEYS_ADMIN_TOKEN") && text.contains("admin_token"),
        "{text}"
    );
    for hidden in ["#signin", "#console"] {
        assert!(
            !browser
                .find(hidden)
                .await
                .is_displayed()
                .await
                .expect("state"),
            "{hidden}"
        );
    }
    let csp = app
        .http
        .get(format!("{}/admin", app.base))
        .send()
        .await
        .expect("sent")
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(csp.contains("connect-src 'self';"), "{csp}");
    browser.close().await;
}

/// Signs in with the right token and waits for the console.
async fn signed_in(app: &TestApp) -> Browser {
    let browser = console(app).await;
    browser.wait_for("body[data-view=signin]").await;
    browser.type_into("#token", TOKEN).await;
    browser.click("#token-submit").await;
    browser.wait_for("body[data-view=console]").await;
    browser
}

async fn refresh_with_key(app: &TestApp, params: &[(&str, String)], key: &str) -> (u16, Value) {
    let response = app
        .http
        .get(format!("{}/music/tencent/cookie/refresh", app.base))
        .query(params)
        .header("X-Api-Key", key)
        .send()
        .await
        .expect("sent");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_owner_makes_a_caller_key_in_the_console_sees_its_secret_once_and_revokes_it() {
    let app = login_app(|s| {
        s.http.admin_token = Some(SecretString::from(TOKEN));
        s.http.require_api_key = true;
    })
    .await;
    let account = app.sim_account("qq").await;
    let browser = signed_in(&app).await;
    assert!(
        browser.text("#keys-hint").await.contains("require_api_key"),
        "the card says the server asks for keys"
    );
    assert!(
        browser
            .find("#keys-empty")
            .await
            .is_displayed()
            .await
            .expect("state"),
        "no key yet"
    );

    browser.type_into("#key-name", "播放器").await;
    browser
        .run("document.getElementById('key-limit').value = '30';", vec![])
        .await;
    browser.click("#key-create").await;
    browser.wait_for("#key-result[data-state=done]").await;
    let secret = browser.text("#key-secret").await;
    assert!(secret.starts_with("qmk_") && secret.len() > 20, "{secret}");
    let row = browser.text("#keys-body tr").await;
    assert!(row.contains("播放器") && row.contains("30"), "{row}");
    assert!(!row.contains(&secret), "the list never shows the secret");

    // The secret the page showed is a working key, and only the page saw it.
    let (status, body) = refresh_with_key(&app, &account.params(), &secret).await;
    assert_eq!(status, 200, "{body}");
    let listed: Value = app
        .http
        .get(format!("{}/admin/keys", app.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert!(!listed.to_string().contains(&secret));

    // Shown once: signing out clears it, and signing in again does not bring it back.
    browser.click("#sign-out").await;
    browser.wait_for("body[data-view=signin]").await;
    browser.type_into("#token", TOKEN).await;
    browser.click("#token-submit").await;
    browser.wait_for("body[data-view=console]").await;
    let shown = browser
        .run(
            "return document.getElementById('key-secret').textContent + document.body.innerText;",
            vec![],
        )
        .await;
    assert!(!shown.to_string().contains(&secret), "{shown}");

    // Revoked from the console: refused at once.
    browser.click("#keys-body button[data-revoke]").await;
    browser.wait_for("#keys-empty:not([hidden])").await;
    let (status, body) = refresh_with_key(&app, &account.params(), &secret).await;
    assert_eq!(
        (status, body["code"].as_i64()),
        (401, Some(40107)),
        "{body}"
    );
    browser.close().await;
}
