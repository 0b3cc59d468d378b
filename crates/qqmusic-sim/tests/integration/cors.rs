//! The bucket's CORS behaviour, as a browser upload needs it (docs/protocol.md section 7).

use reqwest::Method;

use crate::common::Harness;
use crate::cos_client::{file_bytes, Upload};

const ORIGIN: &str = "https://app.example";

fn with_origin(headers: &[(String, String)]) -> Vec<(String, String)> {
    let mut out = headers.to_vec();
    out.push(("Origin".into(), ORIGIN.into()));
    out
}

async fn fixture() -> (Harness, Upload) {
    let h = Harness::new().await;
    let a = h.qq().await;
    let up = h.upload_for(&a, "cors.png", &file_bytes("cors")).await;
    (h, up)
}

#[tokio::test]
async fn a_preflight_for_put_is_allowed_with_the_origin_and_asked_headers_echoed() {
    let (h, up) = fixture().await;
    let asked = "authorization,content-md5,x-cos-security-token";
    let headers = vec![
        ("Origin".to_owned(), ORIGIN.to_owned()),
        ("Access-Control-Request-Method".to_owned(), "PUT".to_owned()),
        (
            "Access-Control-Request-Headers".to_owned(),
            asked.to_owned(),
        ),
    ];
    let answer = h
        .cos(Method::OPTIONS, &up.path(), &headers, Vec::new())
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.header("access-control-allow-origin"), ORIGIN);
    assert_eq!(
        answer.header("access-control-allow-methods"),
        "PUT,GET,HEAD,POST"
    );
    assert_eq!(answer.header("access-control-allow-headers"), asked);
    assert_eq!(answer.header("access-control-max-age"), "600");
    assert_eq!(answer.header("vary"), "Origin");
}

#[tokio::test]
async fn a_preflight_without_origin_or_for_delete_is_refused() {
    let (h, up) = fixture().await;
    let no_origin = vec![("Access-Control-Request-Method".to_owned(), "PUT".to_owned())];
    h.cos(Method::OPTIONS, &up.path(), &no_origin, Vec::new())
        .await
        .assert_error(403, "AccessDenied");
    let delete = vec![
        ("Origin".to_owned(), ORIGIN.to_owned()),
        (
            "Access-Control-Request-Method".to_owned(),
            "DELETE".to_owned(),
        ),
    ];
    h.cos(Method::OPTIONS, &up.path(), &delete, Vec::new())
        .await
        .assert_error(403, "AccessDenied");
}

#[tokio::test]
async fn answers_to_requests_with_an_origin_carry_allow_origin_and_expose_etag_even_errors() {
    let (h, up) = fixture().await;
    let good = h.good_put_headers(&up).await;
    let ok = h.put(&up, &with_origin(&good)).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let refused = h.put(&up, &with_origin(&[])).await;
    refused.assert_error(403, "AccessDenied");
    let got = h
        .cos(Method::GET, &up.path(), &with_origin(&[]), Vec::new())
        .await;
    assert_eq!(got.status, 200);
    for answer in [&ok, &refused, &got] {
        assert_eq!(answer.header("access-control-allow-origin"), ORIGIN);
        assert_eq!(answer.header("access-control-expose-headers"), "ETag");
        assert_eq!(answer.header("vary"), "Origin");
    }
    // Without an Origin, no CORS headers.
    let plain = h.cos(Method::GET, &up.path(), &[], Vec::new()).await;
    assert!(plain.headers.get("access-control-allow-origin").is_none());
}
