//! Cross-origin calls as a browser makes them: preflight, then the request.

use crate::helpers::{spawn_app, spawn_app_with, TestApp};
use qmkeys::http::cors::OriginList;
use reqwest::header::HeaderMap;
use reqwest::Method;

const PAGE: &str = "http://page.example";

impl TestApp {
    async fn preflight(&self, path: &str, origin: &str, method: &str) -> reqwest::Response {
        self.http
            .request(Method::OPTIONS, format!("{}{path}", self.base))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", method)
            .header("Access-Control-Request-Headers", "content-type")
            .send()
            .await
            .expect("preflight sent")
    }

    async fn get_from(&self, path: &str, origin: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .header("Origin", origin)
            .send()
            .await
            .expect("request sent")
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn varies_on_origin(headers: &HeaderMap) -> bool {
    headers
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case("origin"))
}

#[tokio::test]
async fn by_default_any_origin_gets_a_preflight_and_never_credentials() {
    let app = spawn_app().await;
    for (path, method) in [
        ("/music/tencent/cookie/refresh", "POST"),
        ("/music/tencent/cookie/refresh", "GET"),
        ("/music/tencent/cookie/check", "POST"),
        ("/music/tencent/cookie/check", "GET"),
        ("/tool/cos/sign", "GET"),
        ("/openapi.json", "GET"),
    ] {
        let answer = app.preflight(path, PAGE, method).await;
        assert_eq!(answer.status(), 200, "{method} {path}");
        let h = answer.headers();
        assert_eq!(header(h, "access-control-allow-origin"), Some("*"));
        let methods = header(h, "access-control-allow-methods").unwrap_or_default();
        assert!(methods.contains(method), "{methods}");
        assert!(
            header(h, "access-control-allow-headers").is_some_and(|v| v.contains("content-type"))
        );
        assert!(header(h, "access-control-max-age").is_some());
        assert_eq!(header(h, "access-control-allow-credentials"), None);
    }
}

#[tokio::test]
async fn an_error_answer_is_readable_cross_origin_so_a_page_can_show_its_message() {
    let app = spawn_app().await;
    let refused = app.get_from("/tool/cos/sign", PAGE).await;
    assert_eq!(refused.status(), 400);
    assert_eq!(
        header(refused.headers(), "access-control-allow-origin"),
        Some("*")
    );
    let unknown = app.get_from("/no/such/route", PAGE).await;
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        header(unknown.headers(), "access-control-allow-origin"),
        Some("*")
    );
    let body: serde_json::Value = unknown.json().await.expect("json");
    assert_eq!(body["code"], 40401);
}

#[tokio::test]
async fn a_listed_origin_is_echoed_to_itself_alone_and_answers_vary_on_origin() {
    let app = spawn_app_with(|s| {
        s.http.cors_allowed_origins = OriginList::new(["http://a.example", "http://b.example"]);
    })
    .await;
    for origin in ["http://a.example", "http://b.example"] {
        let answer = app.get_from("/tool/cos/sign", origin).await;
        let h = answer.headers();
        assert_eq!(header(h, "access-control-allow-origin"), Some(origin));
        assert!(
            varies_on_origin(h),
            "a cache must key the answer by Origin: {h:?}"
        );
        let preflight = app.preflight("/tool/cos/sign", origin, "GET").await;
        assert_eq!(
            header(preflight.headers(), "access-control-allow-origin"),
            Some(origin)
        );
    }
    let stranger = app.get_from("/tool/cos/sign", "http://c.example").await;
    assert_eq!(
        header(stranger.headers(), "access-control-allow-origin"),
        None
    );
    assert!(varies_on_origin(stranger.headers()));
    let stranger = app
        .preflight("/tool/cos/sign", "http://c.example", "GET")
        .await;
    assert_eq!(
        header(stranger.headers(), "access-control-allow-origin"),
        None
    );
}

#[tokio::test]
async fn an_empty_list_turns_cross_origin_access_off() {
    let app =
        spawn_app_with(|s| s.http.cors_allowed_origins = OriginList::new(Vec::<String>::new()))
            .await;
    let preflight = app.preflight("/tool/cos/sign", PAGE, "GET").await;
    assert_eq!(preflight.status(), 405);
    assert_eq!(
        header(preflight.headers(), "access-control-allow-origin"),
        None
    );
    let answer = app.get_from("/tool/cos/sign", PAGE).await;
    assert_eq!(
        header(answer.headers(), "access-control-allow-origin"),
        None
    );
}

#[tokio::test]
async fn the_admin_route_and_the_pages_are_not_opened_to_other_origins() {
    let app = spawn_app_with(|s| s.http.admin_token = Some("0123456789abcdef-admin".into())).await;
    for path in ["/admin/accounts", "/"] {
        let answer = app.get_from(path, PAGE).await;
        assert_eq!(
            header(answer.headers(), "access-control-allow-origin"),
            None,
            "{path}"
        );
        let preflight = app.preflight(path, PAGE, "GET").await;
        assert_eq!(preflight.status(), 405, "{path}");
    }
}

#[tokio::test]
async fn an_answer_without_origin_has_no_cors_headers_but_still_varies_on_origin() {
    let app = spawn_app().await;
    for path in [
        "/music/tencent/cookie/refresh",
        "/tool/cos/sign",
        "/nowhere",
    ] {
        let plain = app
            .http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .expect("request sent");
        let h = plain.headers();
        assert_eq!(header(h, "access-control-allow-origin"), None, "{path}");
        assert!(
            varies_on_origin(h),
            "{path}: a cache must not hand this answer to a page: {h:?}"
        );
        let from_page = app.get_from(path, PAGE).await;
        let h = from_page.headers();
        assert_eq!(
            header(h, "access-control-allow-origin"),
            Some("*"),
            "{path}"
        );
        assert_eq!(
            header(h, "access-control-expose-headers"),
            Some("retry-after")
        );
        assert!(varies_on_origin(h), "{path}");
    }
}

#[tokio::test]
async fn a_page_of_another_origin_may_send_a_caller_key_header() {
    let app = spawn_app().await;
    let answer = app
        .http
        .request(
            Method::OPTIONS,
            format!("{}/music/tencent/cookie/refresh", app.base),
        )
        .header("Origin", PAGE)
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "x-api-key")
        .send()
        .await
        .expect("preflight sent");
    assert!(answer.status().is_success(), "{}", answer.status());
    assert!(
        header(answer.headers(), "access-control-allow-headers")
            .is_some_and(|v| v.to_ascii_lowercase().contains("x-api-key")),
        "{:?}",
        answer.headers()
    );
}
