//! The served OpenAPI document against the live router, both ways: every
//! documented operation is routed, every other method on a path is refused.

use crate::helpers::spawn_app_with;
use reqwest::Method;
use serde_json::Value;

#[tokio::test]
async fn every_documented_operation_is_routed_and_every_other_method_is_refused() {
    let app = spawn_app_with(|s| s.http.admin_token = Some("0123456789abcdef-admin".into())).await;
    let doc: Value = app.openapi().await;
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 7, "{paths:?}");
    for (path, item) in paths {
        let concrete = path.replace("{file}", "app.js");
        let url = format!("{}{concrete}", app.base);
        for method in ["get", "post", "put", "delete", "patch"] {
            let verb = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let response = app
                .http
                .request(verb, &url)
                .header("authorization", "Bearer 0123456789abcdef-admin")
                .send()
                .await
                .expect("sent");
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            let code = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|v| v.get("code").and_then(Value::as_i64));
            if item.get(method).is_some() {
                assert!(
                    status != 405 && status != 404,
                    "{method} {path} is documented but answered {status}: {body}"
                );
            } else {
                assert_eq!(
                    (status, code),
                    (405, Some(40501)),
                    "{method} {path} is not documented but answered: {body}"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_docs_page_and_its_script_are_served_from_the_binary() {
    let app = spawn_app_with(|_| {}).await;
    let page = app
        .http
        .get(format!("{}/docs", app.base))
        .send()
        .await
        .expect("sent");
    assert_eq!(page.status(), 200);
    let csp = page
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    assert!(page.text().await.expect("html").contains("/assets/docs.js"));
    let script = app
        .http
        .get(format!("{}/assets/docs.js", app.base))
        .send()
        .await
        .expect("sent");
    assert_eq!(script.status(), 200);
    assert!(script
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"text/javascript")));
    let missing = app.get("/assets/nope.js", &[]).await;
    assert_eq!((missing.status, missing.code()), (404, 40401));
}
