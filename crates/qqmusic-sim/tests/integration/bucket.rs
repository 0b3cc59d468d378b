//! The simulated COS bucket: PUT checks in order, GET/HEAD, admin listing.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::Harness;
use crate::cos_client::{authorization, content_md5, file_bytes, with_header, Upload, BUCKET};

async fn fixture(tag: &str) -> (Harness, Upload) {
    let h = Harness::new().await;
    let a = h.qq().await;
    let up = h.upload_for(&a, "cover.png", &file_bytes(tag)).await;
    (h, up)
}

#[tokio::test]
async fn a_correctly_signed_put_is_stored_and_get_returns_the_same_bytes_with_its_etag() {
    let (h, up) = fixture("roundtrip").await;
    let headers = h.good_put_headers(&up).await;
    let put = h.put(&up, &headers).await;
    assert_eq!(put.status, 200, "{}", put.text);
    let md5_hex = {
        use md5::Digest as _;
        hex::encode(md5::Md5::digest(&up.body))
    };
    assert_eq!(put.header("etag"), format!("\"{md5_hex}\""));
    assert!(!put.header("x-cos-request-id").is_empty());

    let resp = h
        .http
        .get(h.url(&up.path()))
        .send()
        .await
        .expect("GET answered");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["etag"], format!("\"{md5_hex}\"").as_str());
    assert_eq!(resp.headers()["content-type"], "image/png");
    let bytes = resp.bytes().await.expect("object bytes");
    assert_eq!(bytes.as_ref(), up.body.as_slice());

    let head = h.cos(Method::HEAD, &up.path(), &[], Vec::new()).await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), up.body.len().to_string());
    assert_eq!(head.header("etag"), format!("\"{md5_hex}\""));

    let listed = h.get("/_sim/cos/objects").await;
    assert_eq!(
        listed,
        json!([{"bucket": BUCKET, "key": up.object_key, "size": up.body.len(),
                "etag": format!("\"{md5_hex}\"")}])
    );
}

#[tokio::test]
async fn a_signature_made_with_the_wrong_secret_is_signature_does_not_match() {
    let (h, up) = fixture("wrong secret").await;
    let now = h.now().await;
    let headers = h.put_headers(&up, (now - 60, now + 1800), "not-the-secret", true);
    h.put(&up, &headers)
        .await
        .assert_error(403, "SignatureDoesNotMatch");
}

#[tokio::test]
async fn signing_only_the_object_key_instead_of_the_full_path_does_not_match() {
    let (h, up) = fixture("short path").await;
    let now = h.now().await;
    let md5 = content_md5(&up.body);
    let len = up.body.len().to_string();
    let host = h.host();
    let signed = [
        ("host", host.as_str()),
        ("content-length", len.as_str()),
        ("content-md5", md5.as_str()),
        ("x-cos-security-token", up.token.as_str()),
    ];
    let short = format!("/{}", up.object_key);
    let auth = authorization(
        &up.secret_id,
        &up.secret_key,
        (now - 60, now + 1800),
        "PUT",
        &short,
        &signed,
    );
    let headers = with_header(&h.good_put_headers(&up).await, "Authorization", &auth);
    let answer = h.put(&up, &headers).await;
    answer.assert_error(403, "SignatureDoesNotMatch");
    // The message shows the HttpString the bucket computed, full path first.
    assert!(
        answer.text.contains(&format!("put\\n{}\\n", up.path())),
        "{}",
        answer.text
    );
}

#[tokio::test]
async fn a_content_md5_changed_after_signing_is_signature_does_not_match() {
    let (h, up) = fixture("md5 after").await;
    let headers = h.good_put_headers(&up).await;
    let other = content_md5(b"something else");
    let tampered = with_header(&headers, "Content-MD5", &other);
    h.put(&up, &tampered)
        .await
        .assert_error(403, "SignatureDoesNotMatch");
}

#[tokio::test]
async fn a_signed_content_md5_that_misdescribes_the_body_is_invalid_digest() {
    let (h, mut up) = fixture("md5 signed").await;
    let headers = h.good_put_headers(&up).await;
    // Same length, one byte different: the signature (over headers) still
    // matches, only the digest check can catch it.
    if let Some(b) = up.body.last_mut() {
        *b ^= 0xff;
    }
    h.put(&up, &headers)
        .await
        .assert_error(400, "InvalidDigest");
    assert_eq!(h.get("/_sim/cos/objects").await, json!([]));
}

#[tokio::test]
async fn an_unknown_secret_id_is_invalid_access_key_id() {
    let (h, mut up) = fixture("unknown ak").await;
    up.secret_id = "AKIDnot-issued-by-the-simulator".into();
    let headers = h.good_put_headers(&up).await;
    h.put(&up, &headers)
        .await
        .assert_error(403, "InvalidAccessKeyId");
}

#[tokio::test]
async fn a_token_other_than_the_credentials_is_invalid_token_even_when_signed() {
    let (h, mut up) = fixture("token").await;
    up.token = format!("{}x", up.token);
    let headers = h.good_put_headers(&up).await;
    h.put(&up, &headers).await.assert_error(403, "InvalidToken");
    let without: Vec<(String, String)> = headers
        .into_iter()
        .filter(|(n, _)| n != "x-cos-security-token")
        .collect();
    h.put(&up, &without).await.assert_error(403, "InvalidToken");
}

#[tokio::test]
async fn a_key_time_entirely_in_the_past_or_the_future_is_request_time_too_skewed() {
    let (h, up) = fixture("skew").await;
    let now = h.now().await;
    // The future window starts well ahead so a ticking second cannot reach it.
    for window in [(now - 3600, now - 1), (now + 300, now + 1800)] {
        let headers = h.put_headers(&up, window, &up.secret_key, true);
        h.put(&up, &headers)
            .await
            .assert_error(403, "RequestTimeTooSkewed");
    }
}

#[tokio::test]
async fn a_header_list_without_content_md5_is_access_denied() {
    let (h, up) = fixture("no md5 in list").await;
    let now = h.now().await;
    let headers = h.put_headers(&up, (now - 60, now + 1800), &up.secret_key, false);
    h.put(&up, &headers).await.assert_error(403, "AccessDenied");
}

#[tokio::test]
async fn a_signed_header_absent_from_the_request_is_signature_does_not_match() {
    let (h, up) = fixture("absent header").await;
    let now = h.now().await;
    let md5 = content_md5(&up.body);
    let len = up.body.len().to_string();
    let host = h.host();
    let signed = [
        ("host", host.as_str()),
        ("content-length", len.as_str()),
        ("content-md5", md5.as_str()),
        ("x-cos-security-token", up.token.as_str()),
        ("x-cos-meta-note", "never sent"),
    ];
    let auth = authorization(
        &up.secret_id,
        &up.secret_key,
        (now - 60, now + 1800),
        "PUT",
        &up.path(),
        &signed,
    );
    let headers = with_header(&h.good_put_headers(&up).await, "Authorization", &auth);
    h.put(&up, &headers)
        .await
        .assert_error(403, "SignatureDoesNotMatch");
}

#[tokio::test]
async fn unsigned_extra_headers_do_not_matter_but_a_signed_host_must_be_the_one_received() {
    let (h, up) = fixture("extras").await;
    let mut headers = h.good_put_headers(&up).await;
    headers.push(("User-Agent".into(), "Mozilla/5.0 test".into()));
    headers.push(("x-unsigned".into(), "whatever".into()));
    assert_eq!(h.put(&up, &headers).await.status, 200);

    let now = h.now().await;
    let md5 = content_md5(&up.body);
    let len = up.body.len().to_string();
    let signed = [
        (
            "host",
            "music-file-1258344705.cos.ap-guangzhou.myqcloud.com",
        ),
        ("content-length", len.as_str()),
        ("content-md5", md5.as_str()),
        ("x-cos-security-token", up.token.as_str()),
    ];
    let auth = authorization(
        &up.secret_id,
        &up.secret_key,
        (now - 60, now + 1800),
        "PUT",
        &up.path(),
        &signed,
    );
    let headers = with_header(&h.good_put_headers(&up).await, "Authorization", &auth);
    h.put(&up, &headers)
        .await
        .assert_error(403, "SignatureDoesNotMatch");
}

#[tokio::test]
async fn an_expired_credential_is_expired_token_even_with_a_fresh_key_time() {
    let (h, up) = fixture("expired").await;
    h.admin("/_sim/clock", json!({"advance_secs": 21_600}))
        .await;
    let headers = h.good_put_headers(&up).await;
    h.put(&up, &headers).await.assert_error(403, "ExpiredToken");
}

#[tokio::test]
async fn a_key_time_ending_after_the_credential_expires_is_access_denied() {
    let (h, up) = fixture("outlives").await;
    let now = h.now().await;
    let late = h.put_headers(&up, (now - 60, up.expired + 1), &up.secret_key, true);
    h.put(&up, &late).await.assert_error(403, "AccessDenied");
    let exact = h.put_headers(&up, (now - 60, up.expired), &up.secret_key, true);
    assert_eq!(h.put(&up, &exact).await.status, 200);
}

#[tokio::test]
async fn a_credential_only_writes_the_keys_it_was_issued_for() {
    let (h, up) = fixture("scope").await;
    let mut elsewhere = up.clone();
    elsewhere.object_key = "songlist/p/00000/someone-else.png".into();
    let headers = h.good_put_headers(&elsewhere).await;
    h.put(&elsewhere, &headers)
        .await
        .assert_error(403, "AccessDenied");
}

#[tokio::test]
async fn missing_or_garbled_authorization_is_access_denied() {
    let (h, up) = fixture("garbled").await;
    let good = h.good_put_headers(&up).await;
    let without: Vec<(String, String)> = good
        .iter()
        .filter(|(n, _)| n != "Authorization")
        .cloned()
        .collect();
    h.put(&up, &without).await.assert_error(403, "AccessDenied");
    for garbled in ["Bearer abc", "q-sign-algorithm=sha256", "q-ak=&&&"] {
        let headers = with_header(&good, "Authorization", garbled);
        h.put(&up, &headers).await.assert_error(403, "AccessDenied");
    }
}

#[tokio::test]
async fn another_bucket_is_no_such_bucket_and_an_absent_key_no_such_key() {
    let (h, up) = fixture("buckets").await;
    let headers = h.good_put_headers(&up).await;
    let path = format!("/cos/other-1250000000/{}", up.object_key);
    h.cos(Method::PUT, &path, &headers, up.body.clone())
        .await
        .assert_error(404, "NoSuchBucket");
    h.cos(Method::GET, &path, &[], Vec::new())
        .await
        .assert_error(404, "NoSuchBucket");
    h.cos(Method::GET, &up.path(), &[], Vec::new())
        .await
        .assert_error(404, "NoSuchKey");
}

#[tokio::test]
async fn a_declared_body_over_64_mib_is_entity_too_large_without_being_read() {
    let (h, up) = fixture("too large").await;
    let mut stream = tokio::net::TcpStream::connect(h.sim.addr())
        .await
        .expect("connects");
    let request = format!(
        "PUT {} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        up.path(),
        h.host(),
        64 * 1024 * 1024 + 1
    );
    stream.write_all(request.as_bytes()).await.expect("sent");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    assert!(
        read.is_ok(),
        "the bucket answered without waiting for the body"
    );
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("<Code>EntityTooLarge</Code>"), "{text}");
}
