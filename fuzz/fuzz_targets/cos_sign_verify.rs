//! Differential: what qmkeys signs (`qmkeys::cos::sign`) the simulator's bucket
//! must accept (`qqmusic_sim::cos_auth::verify`), for arbitrary paths, query
//! parameters, header names and values, secrets and times; and must refuse
//! once anything signed changes.
//!
//! For a SecretID that qmkeys would take from InitUpload (visible ASCII, no
//! `&` `=` `;`) and a key time from `KeyTime::for_upload`, it checks that the
//! bucket accepts the signature at both ends of the window and at `now`, and
//! answers OutsideWindow one second either side, SignatureMismatch for another
//! secret key, and SignatureMismatch when a signed header's value changes.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use qmkeys::cos::{sign, KeyTime, SignRequest};
use qqmusic_sim::cos_auth::{encode, verify, ReceivedRequest, VerifyError, REQUIRED_HEADERS};

#[derive(Arbitrary, Debug)]
enum HttpMethod {
    Put,
    Get,
    Head,
    Post,
    /// HTTP methods are tokens; qmkeys only ever signs PUT.
    Other(String),
}

#[derive(Arbitrary, Debug)]
struct Input {
    secret_id: String,
    secret_key: String,
    method: HttpMethod,
    path: String,
    params: Vec<(String, String)>,
    /// Values of host, content-length, content-md5, x-cos-security-token.
    required: [String; 4],
    extra_headers: Vec<(String, String)>,
    now: u32,
    credential_left: u16,
    tamper: u8,
}

fuzz_target!(|input: Input| {
    let Input {
        secret_id,
        secret_key,
        method,
        path,
        params,
        required,
        extra_headers,
        now,
        credential_left,
        tamper,
    } = input;

    // What UploadGrant::from_data accepts as a SecretID.
    if secret_id.is_empty()
        || secret_id.len() > 4096
        || !secret_id.bytes().all(|b| b.is_ascii_graphic())
        || secret_id.contains(['&', '=', ';'])
    {
        return;
    }
    let method = match method {
        HttpMethod::Put => "PUT".to_owned(),
        HttpMethod::Get => "GET".to_owned(),
        HttpMethod::Head => "HEAD".to_owned(),
        HttpMethod::Post => "POST".to_owned(),
        HttpMethod::Other(m) if !m.is_empty() && m.bytes().all(|b| b.is_ascii_alphabetic()) => m,
        HttpMethod::Other(_) => return,
    };
    let now = i64::from(now) + KeyTime::BACKDATE;
    let Some(key_time) = KeyTime::for_upload(now, now + i64::from(credential_left)) else {
        return;
    };

    // One header or parameter per signed name, as a real request has.
    let mut headers: Vec<(String, String)> = REQUIRED_HEADERS
        .iter()
        .zip(required)
        .map(|(n, v)| ((*n).to_owned(), v))
        .collect();
    headers.extend(extra_headers);
    let headers = unique_by_signed_name(headers);
    let params = unique_by_signed_name(params);

    let header_refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let param_refs: Vec<(&str, &str)> = params
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let signed = sign(
        &SignRequest {
            method: &method,
            path: &path,
            params: &param_refs,
            headers: &header_refs,
        },
        &secret_id,
        &secret_key,
        key_time,
    );

    let req = ReceivedRequest {
        method: &method,
        path: &path,
        params: &params,
        headers: &headers,
    };
    for t in [key_time.start, now, key_time.end] {
        let auth = verify(&signed.authorization, &secret_key, &req, t)
            .unwrap_or_else(|e| panic!("bucket refused qmkeys' signature at {t}: {e}"));
        assert_eq!(auth.ak, secret_id);
        assert_eq!(auth.signature, signed.signature);
        assert_eq!(auth.header_list.join(";"), signed.header_list);
        assert_eq!(auth.url_param_list.join(";"), signed.param_list);
    }
    for t in [key_time.start - 1, key_time.end + 1] {
        let err = verify(&signed.authorization, &secret_key, &req, t).expect_err("outside");
        assert!(matches!(err, VerifyError::OutsideWindow { .. }), "{err}");
    }
    let other_key = format!("{secret_key}x");
    let err = verify(&signed.authorization, &other_key, &req, now).expect_err("other key");
    assert!(
        matches!(err, VerifyError::SignatureMismatch { .. }),
        "{err}"
    );

    let mut changed = headers.clone();
    let i = usize::from(tamper) % changed.len();
    changed[i].1.push('x');
    let req = ReceivedRequest {
        headers: &changed,
        ..req
    };
    let err = verify(&signed.authorization, &secret_key, &req, now).expect_err("tampered");
    assert!(
        matches!(err, VerifyError::SignatureMismatch { .. }),
        "{err}"
    );
});

/// Drops pairs whose signed name (`lower(Encode(name))`) is empty or repeats.
fn unique_by_signed_name(pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    pairs
        .into_iter()
        .filter(|(name, _)| {
            let signed = encode(name).to_ascii_lowercase();
            let fresh = !signed.is_empty() && !seen.contains(&signed);
            seen.push(signed);
            fresh
        })
        .collect()
}
