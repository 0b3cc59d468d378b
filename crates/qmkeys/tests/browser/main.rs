//! The web page in a real browser: headless Chromium (Debian's `chromium`),
//! driven through WebDriver (`chromium-driver`), against qmkeys and the
//! simulator on loopback. Screenshots of the tools land in target/screenshots.

#![forbid(unsafe_code)]

mod admin;
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
#[path = "../api/log_capture.rs"]
mod log_capture;
mod login;
#[allow(dead_code)]
#[path = "../api/process.rs"]
mod process;
mod support;

use base64::Engine;
use helpers::{spawn_app_with_accounts, TestApp, INIT_UPLOAD};
use md5::{Digest, Md5};
use qmkeys::http::cors::OriginList;
use serde_json::{json, Value};
use support::{other_origin, png, Browser};

async fn page(app: &TestApp) -> Browser {
    let browser = Browser::start().await;
    browser.goto(&format!("{}/", app.base)).await;
    browser.wait_for("body[data-ready=true]").await;
    browser
}

async fn choose_file(browser: &Browser, dir: &std::path::Path, name: &str, bytes: &[u8]) {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("file written");
    let input = browser.find("#file-input").await;
    input
        .send_keys(&path.display().to_string())
        .await
        .expect("file chosen");
}

#[tokio::test]
async fn a_person_refreshes_a_key_through_the_form_and_sees_the_new_one() {
    let (app, _) = spawn_app_with_accounts(0, |_| {}).await;
    let account = app
        .sim_account_with(json!({"kind": "qq", "vip_end": "2099-09-15 07:20:45"}))
        .await;
    let browser = page(&app).await;

    browser.type_into("#uin", &account.uin).await;
    browser.type_into("#music_key", &account.musickey).await;
    browser.click("#refresh-submit").await;
    browser
        .wait_for("#refresh-result[data-state=done], #refresh-result[data-state=error]")
        .await;

    assert_eq!(browser.text("#refresh-result .error-message").await, "");
    let shown = browser.text("#new-musickey").await;
    assert!(
        shown.starts_with("Q_H_L_") && shown != account.musickey,
        "{shown}"
    );
    // The key on the page is one QQ Music accepts now.
    let again = app
        .refresh(&[("uin", account.uin.clone()), ("music_key", shown.clone())])
        .await;
    assert_eq!(again.code(), 200, "{:?}", again.body);
    let left = browser.text("#key-time-left").await;
    // Three days from the key's creation, give or take the second it took.
    assert!(
        left == "剩余 2 天 23 小时" || left == "剩余 3 天 0 小时",
        "{left}"
    );
    assert_eq!(browser.text("#vip-state").await, "有效");
    assert_eq!(browser.text("#svip-state").await, "无效");
    let copy_buttons = browser
        .run(
            "return document.querySelectorAll('#refresh-result button.copy').length;",
            vec![],
        )
        .await;
    assert_eq!(
        copy_buttons, 3,
        "key, refresh_key and refresh_token can be copied"
    );
    browser.screenshot("#refresh-tool", "refresh.png").await;
    browser.close().await;
}

#[tokio::test]
async fn a_refused_refresh_shows_the_apis_own_message() {
    let (app, _) = spawn_app_with_accounts(0, |_| {}).await;
    let account = app.sim_account("qq").await;
    let browser = page(&app).await;

    browser.type_into("#uin", &account.uin).await;
    browser
        .type_into("#music_key", &format!("{}x", account.musickey))
        .await;
    browser.click("#refresh-submit").await;
    browser.wait_for("#refresh-result[data-state=error]").await;

    let message = browser.text("#refresh-result .error-message").await;
    assert!(message.starts_with("music_key 已过期或无效"), "{message}");
    assert!(browser
        .text("#refresh-result .error-detail")
        .await
        .contains("40101"));
    browser.close().await;
}

#[tokio::test]
async fn a_server_that_wants_a_caller_key_asks_for_one_and_the_page_refreshes_with_it() {
    let token = "admin-token-for-the-browser-key-test";
    let (app, _) = spawn_app_with_accounts(0, |s| {
        s.http.admin_token = Some(secrecy::SecretString::from(token));
        s.http.require_api_key = true;
    })
    .await;
    let made: Value = app
        .http
        .post(format!("{}/admin/keys", app.base))
        .bearer_auth(token)
        .form(&[("name", "browser")])
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let secret = made["data"]["secret"].as_str().expect("secret").to_owned();
    let account = app.sim_account("qq").await;
    let browser = page(&app).await;
    assert_eq!(
        browser
            .run(
                "return document.getElementById('api-key-card').hidden;",
                vec![]
            )
            .await,
        json!(false),
        "the key field is shown"
    );

    browser.type_into("#uin", &account.uin).await;
    browser.type_into("#music_key", &account.musickey).await;
    browser.click("#refresh-submit").await;
    browser.wait_for("#refresh-result[data-state=error]").await;
    let message = browser.text("#refresh-result .error-message").await;
    assert!(message.contains("调用者密钥"), "{message}");
    assert!(browser
        .text("#refresh-result .error-detail")
        .await
        .contains("40106"));
    assert_eq!(app.logins().await, 0);

    browser.type_into("#api-key", &secret).await;
    browser.click("#refresh-submit").await;
    browser.wait_for("#refresh-result[data-state=done]").await;
    assert!(browser.text("#new-musickey").await.starts_with("Q_H_L_"));

    // Kept in this browser for the next visit.
    browser.goto(&format!("{}/", app.base)).await;
    browser.wait_for("body[data-ready=true]").await;
    assert_eq!(
        browser
            .run("return document.getElementById('api-key').value;", vec![])
            .await,
        json!(secret)
    );
    browser.close().await;
}

#[tokio::test]
async fn a_person_uploads_a_png_and_sees_it_served_back_from_the_bucket() {
    let (app, _) = spawn_app_with_accounts(1, |_| {}).await;
    let dir = tempfile::tempdir().expect("dir");
    let cover = png(240, 240);
    let browser = page(&app).await;

    choose_file(&browser, dir.path(), "cover.png", &cover).await;
    browser.wait_for("#upload-preview:not([hidden])").await;
    browser.click("#upload-start").await;
    browser
        .wait_for("#upload-result[data-state=done], #upload-result[data-state=error]")
        .await;

    assert_eq!(browser.text("#upload-result .error-message").await, "");
    let md5 = hex::encode(Md5::digest(&cover));
    let objects = app.sim_get("/_sim/cos/objects").await;
    let stored = objects
        .as_array()
        .and_then(|all| all.iter().find(|o| o["etag"] == format!("\"{md5}\"")))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(
        stored["size"],
        cover.len(),
        "the bucket holds the very bytes: {objects}"
    );
    let key = stored["key"].as_str().expect("key");
    assert_eq!(
        browser.text("#cdn-url").await,
        format!("https://music-file.y.qq.com/{key}")
    );
    let image = browser.find("#bucket-img").await;
    let src = image.attr("src").await.expect("src").unwrap_or_default();
    assert!(
        src.starts_with(&format!("{}/cos/", app.sim.base_url())) && src.ends_with(key),
        "{src}"
    );
    let decoded = browser
        .run(
            "const img = document.getElementById('bucket-img'); return [img.complete, img.naturalWidth, img.naturalHeight];",
            vec![],
        )
        .await;
    assert_eq!(
        decoded,
        json!([true, 240, 240]),
        "the image decoded from the bucket's bytes"
    );
    let progress = browser
        .run(
            "return document.getElementById('upload-progress').value;",
            vec![],
        )
        .await;
    assert_eq!(progress, json!(100));
    let steps = browser
        .run(
            "return [...document.querySelectorAll('#upload-steps li')].map(li => li.dataset.status);",
            vec![],
        )
        .await;
    assert_eq!(steps, json!(["done", "done", "done", "done"]));
    browser.screenshot("#upload-tool", "upload.png").await;

    // Nothing but this origin and the bucket was asked for anything.
    for url in browser.loaded_urls().await {
        assert!(
            url.starts_with(&app.base)
                || url.starts_with(&app.sim.base_url())
                || url.starts_with("blob:"),
            "the page reached {url}"
        );
    }
    browser.close().await;
}

#[tokio::test]
async fn a_non_image_is_refused_on_the_page_before_anything_is_signed() {
    let (app, _) = spawn_app_with_accounts(1, |_| {}).await;
    let dir = tempfile::tempdir().expect("dir");
    let browser = page(&app).await;

    choose_file(&browser, dir.path(), "notes.txt", b"not a picture").await;
    browser.wait_for("#upload-result[data-state=error]").await;

    let message = browser.text("#upload-result .error-message").await;
    assert!(message.contains("“notes.txt”不是支持的图片"), "{message}");
    assert!(message.contains("PNG"), "{message}");
    assert!(!browser
        .find("#upload-start")
        .await
        .is_enabled()
        .await
        .expect("state"));
    let preview = browser.find("#upload-preview").await;
    assert!(
        !preview.is_displayed().await.expect("state"),
        "no preview of a non-image"
    );
    assert_eq!(app.calls(INIT_UPLOAD).await, 0);
    browser
        .screenshot("#upload-tool", "upload-not-an-image.png")
        .await;
    browser.close().await;
}

#[tokio::test]
async fn a_file_over_the_servers_limit_is_refused_on_the_page() {
    let (app, _) = spawn_app_with_accounts(1, |s| s.cos.max_upload_bytes = 1_000).await;
    let dir = tempfile::tempdir().expect("dir");
    let browser = page(&app).await;

    choose_file(&browser, dir.path(), "big.png", &png(64, 64)).await;
    browser.wait_for("#upload-result[data-state=error]").await;

    let message = browser.text("#upload-result .error-message").await;
    assert!(
        message.starts_with("文件太大") && message.contains("1000 B"),
        "{message}"
    );
    assert_eq!(app.calls(INIT_UPLOAD).await, 0);
    browser.close().await;
}

#[tokio::test]
async fn a_refused_signature_and_a_refused_upload_are_each_shown_plainly() {
    // No upload account: the server refuses to sign.
    let (app, _) = spawn_app_with_accounts(0, |_| {}).await;
    let dir = tempfile::tempdir().expect("dir");
    let browser = page(&app).await;
    choose_file(&browser, dir.path(), "cover.png", &png(32, 32)).await;
    browser.click("#upload-start").await;
    browser.wait_for("#upload-result[data-state=error]").await;
    let message = browser.text("#upload-result .error-message").await;
    assert!(
        message.starts_with("签名被拒绝（HTTP 503，错误码 50301）"),
        "{message}"
    );
    assert!(message.contains("没有可用的上传账号"), "{message}");
    assert_eq!(
        browser
            .find("#upload-steps li[data-step=sign]")
            .await
            .attr("data-status")
            .await
            .expect("attr"),
        Some("failed".into())
    );

    // An endpoint the credential does not cover: the bucket refuses the PUT.
    let (app, _) = spawn_app_with_accounts(1, |s| {
        s.cos.endpoint = format!("{}/elsewhere", s.cos.endpoint);
    })
    .await;
    browser.goto(&format!("{}/", app.base)).await;
    browser.wait_for("body[data-ready=true]").await;
    choose_file(&browser, dir.path(), "cover.png", &png(32, 32)).await;
    browser.click("#upload-start").await;
    browser.wait_for("#upload-result[data-state=error]").await;
    let message = browser.text("#upload-result .error-message").await;
    assert!(
        message.starts_with("存储桶拒绝了上传（HTTP 403 AccessDenied）"),
        "{message}"
    );
    browser.close().await;
}

#[tokio::test]
async fn the_english_switch_translates_the_page_and_is_remembered() {
    let (app, _) = spawn_app_with_accounts(0, |_| {}).await;
    let browser = page(&app).await;
    assert_eq!(browser.text("#refresh-title").await, "刷新 music key");

    browser.click("#lang-switch").await;
    assert_eq!(browser.text("#refresh-title").await, "Refresh a music key");
    assert_eq!(
        browser.text("#upload-title").await,
        "Upload a playlist cover"
    );
    assert_eq!(browser.text("#lang-switch").await, "中文");
    assert_eq!(
        browser
            .run("return document.documentElement.lang;", vec![])
            .await,
        "en"
    );

    browser.goto(&format!("{}/", app.base)).await;
    browser.wait_for("body[data-ready=true]").await;
    assert_eq!(browser.text("#refresh-title").await, "Refresh a music key");
    browser.screenshot("body", "page-en.png").await;
    browser.close().await;
}

#[tokio::test]
async fn a_page_on_another_origin_calls_the_api_and_reads_its_answers() {
    let (app, _) = spawn_app_with_accounts(0, |_| {}).await;
    let account = app.sim_account("qq").await;
    let other = other_origin().await;
    let browser = Browser::start().await;
    browser.goto(&format!("{}/", other.base)).await;

    let call = r#"
        const [api, uin, key, done] = arguments;
        const form = new URLSearchParams({uin, music_key: key});
        Promise.all([
          fetch(api + '/music/tencent/cookie/refresh', {method: 'POST', body: form}).then(r => r.json()),
          fetch(api + '/tool/cos/sign').then(r => r.json().then(b => [r.status, b.code])),
          // application/json is not a simple content type: this one is preflighted.
          fetch(api + '/music/tencent/cookie/refresh', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{}'})
            .then(r => r.json().then(b => [r.status, b.code])),
        ]).then(all => done({ok: all}), e => done({failed: String(e)}));
    "#;
    let answer = browser
        .run_async(
            call,
            vec![json!(app.base), json!(account.uin), json!(account.musickey)],
        )
        .await;
    assert!(answer["failed"].is_null(), "{answer}");
    let refreshed = &answer["ok"][0];
    assert_eq!(refreshed["code"], 200, "{answer}");
    assert_ne!(
        refreshed["data"]["cookie"]["musickey"],
        json!(account.musickey)
    );
    assert_eq!(
        answer["ok"][1],
        json!([400, 40001]),
        "an error is readable too"
    );
    assert_eq!(answer["ok"][2], json!([415, 41501]), "the preflight passed");

    // A server that lists other origins only: the browser withholds the answer.
    let (closed, _) = spawn_app_with_accounts(0, |s| {
        s.http.cors_allowed_origins = OriginList::new(["http://127.0.0.1:9"]);
    })
    .await;
    let refused = browser
        .run_async(
            "const [api, done] = arguments; fetch(api + '/openapi.json').then(r => done('read ' + r.status), e => done('blocked: ' + e.name));",
            vec![json!(closed.base)],
        )
        .await;
    assert_eq!(refused, "blocked: TypeError");
    browser.close().await;
}

const RFC_1321: [(&str, &str); 7] = [
    ("", "d41d8cd98f00b204e9800998ecf8427e"),
    ("a", "0cc175b9c0f1b6a831c399e269772661"),
    ("abc", "900150983cd24fb0d6963f7d28e17f72"),
    ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
    (
        "abcdefghijklmnopqrstuvwxyz",
        "c3fcd3d76192e4007dfb496cca67e13b",
    ),
    (
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        "d174ab98d277d9f5a5611c2c9f419d9f",
    ),
    (
        "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
        "57edf4a22be3c955ac49da2e2107b67a",
    ),
];

#[tokio::test]
async fn the_pages_md5_matches_rfc_1321_and_rusts_md5_in_the_browser() {
    let (app, _) = spawn_app_with_accounts(0, |_| {}).await;
    let browser = page(&app).await;

    let inputs: Vec<&str> = RFC_1321.iter().map(|v| v.0).collect();
    let got = browser
        .run(
            "return arguments[0].map(s => qmkeysMd5(new TextEncoder().encode(s)));",
            vec![json!(inputs)],
        )
        .await;
    let expected: Vec<&str> = RFC_1321.iter().map(|v| v.1).collect();
    assert_eq!(got, json!(expected));

    // Every length around the 64-byte block and its 56-byte padding edge, and
    // a larger buffer fed in uneven pieces, against Rust's md-5.
    let bytes: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let got = browser
        .run(
            r#"
            const all = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));
            const short = [];
            for (let n = 0; n <= 200; n++) short.push(qmkeysMd5(all.subarray(0, n)));
            const h = qmkeysMd5.create();
            for (let i = 0, step = 1; i < all.length; i += step, step = step * 3 % 9973 + 1) {
              h.update(all.subarray(i, i + step));
            }
            return {short, whole: qmkeysMd5(all), pieces: h.hex()};
            "#,
            vec![json!(encoded)],
        )
        .await;
    let short: Vec<String> = (0..=200)
        .map(|n| hex::encode(Md5::digest(&bytes[..n])))
        .collect();
    assert_eq!(got["short"], json!(short));
    let whole = hex::encode(Md5::digest(&bytes));
    assert_eq!(got["whole"], json!(whole));
    assert_eq!(got["pieces"], json!(whole));
    browser.close().await;
}

#[tokio::test]
async fn the_docs_page_renders_every_operation_of_the_document_without_a_cdn() {
    let (app, _) = spawn_app_with_accounts(0, |_| {}).await;
    let browser = Browser::start().await;
    browser.goto(&format!("{}/docs", app.base)).await;
    browser.wait_for("#docs[data-state=done]").await;

    let doc: Value = app.openapi().await;
    let shown = browser
        .run(
            "return [...document.querySelectorAll('section.op')].map(s => s.dataset.method + ' ' + s.dataset.path);",
            vec![],
        )
        .await;
    let mut expected = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("item").keys() {
            expected.push(format!("{method} {path}"));
        }
    }
    let mut shown: Vec<String> = serde_json::from_value(shown).expect("list");
    shown.sort();
    expected.sort();
    assert_eq!(shown, expected);
    let sign = browser.text("section[data-path='/tool/cos/sign']").await;
    assert!(
        sign.contains("^[0-9a-fA-F]{40}$") && sign.contains("≤ 20971520"),
        "{sign}"
    );
    for url in browser.loaded_urls().await {
        assert!(url.starts_with(&app.base), "the docs page reached {url}");
    }
    browser.screenshot("body", "docs.png").await;
    browser.close().await;
}
