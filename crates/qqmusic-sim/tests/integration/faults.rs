//! Fault injection through /_sim/faults, seen from a real HTTP client.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{login_body, login_cookie, Harness, LOGIN, VIP};

async fn arm(h: &Harness, fault: Value) {
    let (status, echo) = h.admin("/_sim/faults", fault).await;
    assert_eq!(status, 200, "{echo}");
}

fn vip_body() -> Value {
    json!({"comm": {}, "req_0": {"module": "VipLogin.VipLoginInter", "method": "vip_login_base", "param": {}}})
}

#[tokio::test]
async fn a_code_fault_answers_its_code_for_times_requests_then_stops() {
    let h = Harness::new().await;
    let a = h.qq().await;
    arm(&h, json!({"target": LOGIN, "code": 104_604, "times": 2})).await;
    let mut body = login_body(&a, &a.musickey, "", "");
    body["req_1"] = vip_body()["req_0"].clone();
    let cookie = login_cookie(&a, &a.musickey);
    for _ in 0..2 {
        let answer = h.musicu(&body, Some(&cookie)).await;
        assert_eq!(answer["code"], 0);
        assert_eq!(answer["req_0"]["code"], 104_604, "{answer}");
        assert_eq!(
            answer["req_0"]["data"]["musickey"], "",
            "failure-shaped data"
        );
        assert_eq!(answer["req_0"]["data"]["musicid"], 0);
        // The other sub-request of the same body is not hit.
        assert_eq!(answer["req_1"]["code"], 0, "{answer}");
    }
    let answer = h.musicu(&body, Some(&cookie)).await;
    assert_eq!(answer["req_0"]["code"], 0, "{answer}");
}

#[tokio::test]
async fn a_fault_hits_only_requests_that_contain_its_target() {
    let h = Harness::new().await;
    let a = h.qq().await;
    arm(&h, json!({"target": LOGIN, "code": 2001})).await;
    let vip = h.musicu(&vip_body(), None).await;
    assert_eq!(vip["req_0"]["code"], 0, "{vip}");
    let sub = h.login(&a, &a.musickey, "", "").await;
    assert_eq!(sub["code"], 2001, "the fault was still armed: {sub}");
}

#[tokio::test]
async fn a_delay_fault_waits_then_answers_normally() {
    let h = Harness::new().await;
    let a = h.qq().await;
    arm(&h, json!({"target": LOGIN, "delay_ms": 400})).await;
    let started = Instant::now();
    let sub = h.login(&a, &a.musickey, "", "").await;
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(sub["code"], 0, "{sub}");
    let started = Instant::now();
    h.login(&a, &a.musickey, "", "").await;
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "used up after one"
    );
}

#[tokio::test]
async fn an_http_status_fault_answers_that_status_with_a_text_body() {
    let h = Harness::new().await;
    arm(&h, json!({"target": VIP, "http_status": 503})).await;
    let resp = h
        .http
        .post(h.url("/cgi-bin/musicu.fcg"))
        .json(&vip_body())
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status(), 503);
    let text = resp.text().await.expect("text body");
    assert!(!text.is_empty());
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
}

#[tokio::test]
async fn a_garbage_fault_answers_200_with_a_body_that_is_not_json() {
    let h = Harness::new().await;
    arm(&h, json!({"target": VIP, "garbage": true})).await;
    let resp = h
        .http
        .post(h.url("/cgi-bin/musicu.fcg"))
        .json(&vip_body())
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.expect("text body");
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
}

#[tokio::test]
async fn a_drop_fault_makes_the_http_client_see_a_connection_error() {
    let h = Harness::new().await;
    arm(&h, json!({"target": VIP, "drop": true})).await;
    let err = h
        .http
        .post(h.url("/cgi-bin/musicu.fcg"))
        .json(&vip_body())
        .send()
        .await
        .expect_err("a dropped connection is an error, not a response");
    assert!(!err.is_timeout(), "{err:?}");
    assert!(
        err.status().is_none(),
        "no HTTP status was received: {err:?}"
    );
    // The simulator keeps serving, and the client did not silently retry.
    let answer = h.musicu(&vip_body(), None).await;
    assert_eq!(answer["req_0"]["code"], 0);
    let log = h.get("/_sim/requests").await;
    assert_eq!(log.as_array().map(Vec::len), Some(2), "{log}");
}

#[tokio::test]
async fn a_drop_fault_closes_the_socket_without_a_single_response_byte() {
    let h = Harness::new().await;
    arm(&h, json!({"target": VIP, "drop": true, "delay_ms": 50})).await;
    let body = vip_body().to_string();
    let request = format!(
        "POST /cgi-bin/musicu.fcg HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
        h.sim.addr(),
        body.len(),
        body
    );
    let mut sock = tokio::net::TcpStream::connect(h.sim.addr())
        .await
        .expect("connects");
    sock.write_all(request.as_bytes()).await.expect("sends");
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), sock.read_to_end(&mut got))
        .await
        .expect("the server closes the socket");
    // Either a clean EOF or a reset; both mean no response.
    if read.is_ok() {
        assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    }
}

#[tokio::test]
async fn deleting_faults_disarms_all_of_them() {
    let h = Harness::new().await;
    arm(&h, json!({"target": VIP, "http_status": 500, "times": 5})).await;
    arm(&h, json!({"target": LOGIN, "drop": true})).await;
    let (status, v) = h
        .send_json(reqwest::Method::DELETE, "/_sim/faults", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(v["cleared"], 2);
    let answer = h.musicu(&vip_body(), None).await;
    assert_eq!(answer["req_0"]["code"], 0);
}

#[tokio::test]
async fn bad_fault_bodies_are_refused_with_400_and_a_json_error() {
    let h = Harness::new().await;
    for bad in [
        json!({"code": 1}),
        json!({"target": VIP}),
        json!({"target": VIP, "drop": true, "times": 0}),
        json!({"target": VIP, "drop": "yes"}),
        json!({"target": VIP, "drop": true, "colour": "red"}),
    ] {
        let (status, v) = h.admin("/_sim/faults", bad.clone()).await;
        assert_eq!(status, 400, "{bad}");
        assert!(v["error"].is_string(), "{v}");
    }
}
