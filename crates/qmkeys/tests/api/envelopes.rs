//! Every 4xx is the JSON envelope, including the ones axum's own extractors
//! would answer in plain text: a path segment that does not decode, a query
//! or a body that does not parse.

use crate::helpers::{spawn_app_with, TestApp};
use reqwest::Method;
use serde_json::Value;

const TOKEN: &str = "0123456789abcdef-admin";

/// Sends one request and checks that its answer is the error envelope with
/// `status` and `code`; answers the message.
async fn envelope(
    app: &TestApp,
    request: reqwest::RequestBuilder,
    status: u16,
    code: i64,
) -> String {
    let response = request
        .header("authorization", format!("Bearer {TOKEN}"))
        .send()
        .await
        .expect("sent");
    let url = response.url().path().to_owned();
    let got = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.expect("body");
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("{url} answered {got} not as JSON: {text:?}"));
    assert_eq!(
        (got, body["code"].as_i64()),
        (status, Some(code)),
        "{url}: {body}"
    );
    assert!(
        content_type.starts_with("application/json"),
        "{url}: {content_type}"
    );
    assert!(body["data"].is_null(), "{url}: {body}");
    assert_eq!(
        body["tips"],
        app.settings.http.tips.as_str(),
        "{url}: the whole envelope"
    );
    body["message"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_path_segment_that_does_not_decode_is_answered_with_the_envelope_naming_the_parameter() {
    let app = spawn_app_with(|s| s.http.admin_token = Some(TOKEN.into())).await;
    for (path, param) in [
        ("/admin/accounts/%ff/cookie", "uin"),
        ("/assets/%ff", "file"),
        ("/admin/accounts/%c3%28/cookie", "uin"),
        ("/assets/a%ffb.js", "file"),
    ] {
        let message = envelope(
            &app,
            app.http.get(format!("{}{path}", app.base)),
            400,
            40001,
        )
        .await;
        assert!(message.contains(param), "{path}: {message}");
    }
}

#[tokio::test]
async fn every_route_with_a_path_parameter_answers_an_undecodable_one_with_the_envelope() {
    let app = spawn_app_with(|s| s.http.admin_token = Some(TOKEN.into())).await;
    let doc: Value = app.openapi().await;
    let mut checked = Vec::new();
    for (template, item) in doc["paths"].as_object().expect("paths") {
        if !template.contains('{') {
            continue;
        }
        // Every `{param}` becomes a byte that is not UTF-8.
        let mut path = String::new();
        let mut rest = template.as_str();
        while let Some((before, after)) = rest.split_once('{') {
            path.push_str(before);
            rest = after.split_once('}').map_or("", |(_, tail)| tail);
            path.push_str("%ff");
        }
        path.push_str(rest);
        for method in ["get", "post"] {
            if item.get(method).is_none() {
                continue;
            }
            let verb = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let request = app.http.request(verb, format!("{}{path}", app.base));
            envelope(&app, request, 400, 40001).await;
            checked.push(template.clone());
        }
    }
    assert!(
        checked.contains(&"/admin/accounts/{uin}/cookie".to_owned())
            && checked.contains(&"/assets/{file}".to_owned()),
        "{checked:?}"
    );
}

#[tokio::test]
async fn malformed_queries_and_bodies_are_answered_with_the_envelope() {
    let app = spawn_app_with(|s| {
        s.http.admin_token = Some(TOKEN.into());
        s.accounts.allow_save = true;
    })
    .await;
    let url = |path: &str| format!("{}{path}", app.base);
    let refresh = "/music/tencent/cookie/refresh";
    let fast = "/music/tencent/cookie/fastlogin";
    let form = "application/x-www-form-urlencoded";
    for (request, status, code) in [
        // Bytes that are not UTF-8, in the query and in a form.
        (
            app.http
                .get(url(&format!("{refresh}?uin=%ff&music_key=%ff"))),
            400,
            40001,
        ),
        (app.http.get(url(&format!("{refresh}?%ff=1"))), 400, 40001),
        (app.http.get(url(&format!("{refresh}?uin"))), 400, 40001),
        (
            app.http
                .post(url(refresh))
                .header("content-type", form)
                .body(b"uin=%ff&music_key=\xff\xfe".to_vec()),
            400,
            40001,
        ),
        // A body that is not a form at all, or is too large.
        (
            app.http
                .post(url(refresh))
                .header("content-type", "application/json")
                .body("{\"uin\": 1"),
            415,
            41501,
        ),
        (app.http.post(url(refresh)).body("uin=1"), 415, 41501),
        (
            app.http
                .post(url(fast))
                .header("content-type", form)
                .body("x".repeat(17 * 1024)),
            413,
            41301,
        ),
        (
            app.http.get(url("/tool/cos/sign?sha1=%zz&size=-1")),
            400,
            40001,
        ),
        (
            app.http.get(url("/music/tencent/cookie/qrcode?type=%ff")),
            400,
            40001,
        ),
        (
            app.http.get(url(&format!("{fast}?client_uin=%ff"))),
            400,
            40001,
        ),
        // A path segment that decodes but is not a uin.
        (
            app.http.get(url("/admin/accounts/12%2034/cookie")),
            400,
            40001,
        ),
        (app.http.get(url("/admin/accounts/%2F/cookie")), 400, 40001),
        (app.http.get(url("/assets/%2e%2e%2fCargo.toml")), 404, 40401),
        (app.http.get(url("/assets/")), 404, 40401),
        (
            app.http.get(url(&format!("/x?{}", "a".repeat(9 * 1024)))),
            414,
            41401,
        ),
        (app.http.delete(url("/assets/app.js")), 405, 40501),
    ] {
        envelope(&app, request, status, code).await;
    }
}
