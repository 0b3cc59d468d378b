//! Envelope, dispatch and the musics.fcg signature.

use serde_json::{json, Value};

use crate::common::{login_body, login_cookie, str_of, Harness};

const VECTOR_BODY: &str = r#"{"foo":"bar","num":1}"#;
const VECTOR_SIGN: &str = "zzcf3ea51dcp3xdwnxisjgufsk0znclehf2t85bc1d3d4";

async fn post_signed(h: &Harness, body: &str, query: &str) -> Value {
    post_signed_with(h, body, query, "").await
}

async fn post_signed_with(h: &Harness, body: &str, query: &str, cookie: &str) -> Value {
    let resp = h
        .http
        .post(h.url(&format!("/cgi-bin/musics.fcg{query}")))
        .header("Content-Type", "application/json")
        .header("Cookie", cookie)
        .body(body.to_owned())
        .send()
        .await
        .expect("musics.fcg answers");
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("musics.fcg answers JSON")
}

#[tokio::test]
async fn the_envelope_echoes_every_sub_request_key_with_ts_and_traceid() {
    let h = Harness::new().await;
    let a = h.qq().await;
    let mut body = login_body(&a, &a.musickey, "", "");
    body["req_7"] =
        json!({"module": "VipLogin.VipLoginInter", "method": "vip_login_base", "param": {}});
    let answer = h.musicu(&body, Some(&login_cookie(&a, &a.musickey))).await;
    assert_eq!(answer["code"], 0);
    assert_eq!(answer["req_0"]["code"], 0, "{answer}");
    assert_eq!(answer["req_7"]["code"], 0, "{answer}");
    assert!(answer.get("comm").is_none(), "comm is not a sub-request");
    let ts = answer["ts"].as_i64().unwrap_or_default();
    let start = answer["start_ts"].as_i64().unwrap_or_default();
    assert!(start > 1_600_000_000_000 && ts >= start, "{answer}");
    let trace = str_of(&answer, "traceid");
    assert!(!trace.is_empty() && trace.bytes().all(|c| c.is_ascii_hexdigit()));
}

#[tokio::test]
async fn an_unknown_method_answers_404_and_a_malformed_sub_request_500001() {
    let h = Harness::new().await;
    let body = json!({
        "comm": {},
        "req_0": {"module": "music.nope.Nope", "method": "Nothing", "param": {}},
        "req_1": "not an object",
    });
    let answer = h.musicu(&body, None).await;
    assert_eq!(answer["code"], 0);
    assert_eq!(answer["req_0"]["code"], 404, "{answer}");
    assert_eq!(answer["req_0"]["data"], json!({}));
    assert_eq!(answer["req_1"]["code"], 500_001, "{answer}");
}

#[tokio::test]
async fn a_body_that_is_not_a_json_object_gets_a_nonzero_top_code_with_http_200() {
    let h = Harness::new().await;
    for body in ["not json at all", "[1,2,3]", "\"just a string\""] {
        let resp = h
            .http
            .post(h.url("/cgi-bin/musicu.fcg"))
            .body(body)
            .send()
            .await
            .expect("gateway answers");
        assert_eq!(resp.status(), 200, "{body}");
        let v: Value = resp.json().await.expect("JSON envelope");
        assert_ne!(v["code"], 0, "{body}: {v}");
        assert!(v["code"].is_i64(), "{v}");
    }
}

#[tokio::test]
async fn musics_fcg_with_a_missing_or_wrong_sign_answers_2000_for_every_sub_request() {
    let h = Harness::new().await;
    let a = h.qq().await;
    let mut body = login_body(&a, &a.musickey, "", "");
    body["req_1"] =
        json!({"module": "VipLogin.VipLoginInter", "method": "vip_login_base", "param": {}});
    let text = body.to_string();
    let wrong = "zzc0000000aaaaaaaaaaaaaaaaaaaaaaaaaaaa00000000";
    for query in [
        String::new(),
        "?_=1".to_owned(),
        format!("?sign={wrong}&_=1"),
    ] {
        let answer = post_signed(&h, &text, &query).await;
        assert_eq!(answer["req_0"]["code"], 2000, "{query}: {answer}");
        assert_eq!(answer["req_0"]["data"]["musickey"], "");
        assert_eq!(answer["req_1"]["code"], 2000, "{query}: {answer}");
    }
    // The documented vector's body with a sign for other bytes is refused too.
    let answer = post_signed(
        &h,
        r#"{"foo":"bar","num":2}"#,
        &format!("?sign={VECTOR_SIGN}"),
    )
    .await;
    assert_eq!(answer["foo"]["code"], 2000, "{answer}");
    assert_eq!(answer["num"]["code"], 2000, "{answer}");
}

#[tokio::test]
async fn musics_fcg_accepts_the_documented_vector_sign_for_its_exact_bytes() {
    let h = Harness::new().await;
    let answer = post_signed(
        &h,
        VECTOR_BODY,
        &format!("?sign={VECTOR_SIGN}&_=1700000000000"),
    )
    .await;
    // The sign passes, so the (malformed) sub-requests get past the 2000 check.
    assert_eq!(answer["foo"]["code"], 500_001, "{answer}");
    assert_eq!(answer["num"]["code"], 500_001, "{answer}");
}

#[tokio::test]
async fn musics_fcg_with_the_right_sign_runs_the_call() {
    let h = Harness::new().await;
    let a = h.wx().await;
    // Exact bytes matter: sign the text that is sent, not a re-serialization.
    let text = login_body(&a, &a.musickey, "", "").to_string();
    let sign = qqmusic_sim::zzc::sign(text.as_bytes());
    let query = format!("?sign={sign}&_=1700000000000");
    let answer = post_signed_with(&h, &text, &query, &login_cookie(&a, &a.musickey)).await;
    assert_eq!(answer["req_0"]["code"], 0, "{answer}");
    assert_ne!(answer["req_0"]["data"]["musickey"], a.musickey.as_str());
    assert!(str_of(&answer["req_0"]["data"], "musickey").starts_with("W_X_"));
}
