//! The vectors of docs/protocol.md section 6, every intermediate value, plus the
//! checks `verify` makes and inputs that must not panic.

use super::*;

const OFFICIAL_SECRET: &str = "BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz";
const OFFICIAL_HOST: &str = "examplebucket-1250000000.cos.ap-beijing.myqcloud.com";

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

fn names(list: &str) -> Vec<String> {
    if list.is_empty() {
        return Vec::new();
    }
    list.split(';').map(str::to_owned).collect()
}

fn steps(
    secret: &str,
    key_time: &str,
    req: &ReceivedRequest<'_>,
    header_list: &str,
    param_list: &str,
) -> SigningSteps {
    match signing_steps(
        secret,
        key_time,
        req,
        &names(header_list),
        &names(param_list),
    ) {
        Ok(s) => s,
        Err(e) => panic!("signing failed: {e}"),
    }
}

fn vector_a_headers() -> Vec<(String, String)> {
    pairs(&[
        ("Date", "Thu, 16 May 2019 06:45:51 GMT"),
        ("Host", OFFICIAL_HOST),
        ("Content-Type", "text/plain"),
        ("Content-Length", "13"),
        ("Content-MD5", "mQ/fVh815F3k6TAUm8m0eg=="),
        ("x-cos-acl", "private"),
        ("x-cos-grant-read", "uin=\"100000000011\""),
    ])
}

#[test]
fn vector_a_official_put_reproduces_every_intermediate_value() {
    let headers = vector_a_headers();
    let req = ReceivedRequest {
        method: "PUT",
        path: "/exampleobject(腾讯云)",
        params: &[],
        headers: &headers,
    };
    let list = "content-length;content-md5;content-type;date;host;x-cos-acl;x-cos-grant-read";
    let s = steps(OFFICIAL_SECRET, "1557989151;1557996351", &req, list, "");
    assert_eq!(s.sign_key, "eb2519b498b02ac213cb1f3d1a3d27a3b3c9bc5f");
    assert_eq!(s.header_list, list);
    assert_eq!(s.url_param_list, "");
    assert_eq!(
        s.http_string_sha1,
        "8b2751e77f43a0995d6e9eb9477f4b685cca4172"
    );
    assert_eq!(
        s.string_to_sign,
        "sha1\n1557989151;1557996351\n8b2751e77f43a0995d6e9eb9477f4b685cca4172\n"
    );
    assert_eq!(s.signature, "3b8851a11a569213c17ba8fa7dcf2abec6935172");
    // The header line shows step 3's encoding of `=`, `"`, `/`, `,` and spaces.
    assert!(s.http_string.starts_with("put\n/exampleobject(腾讯云)\n\n"));
    assert!(s
        .http_string
        .contains("&x-cos-grant-read=uin%3D%22100000000011%22\n"));
    assert!(s
        .http_string
        .contains("date=Thu%2C%2016%20May%202019%2006%3A45%3A51%20GMT&"));
}

#[test]
fn vector_b_official_get_with_params_reproduces_every_intermediate_value() {
    let headers = pairs(&[
        ("Date", "Thu, 16 May 2019 06:55:53 GMT"),
        ("Host", OFFICIAL_HOST),
    ]);
    let params = pairs(&[
        ("response-content-type", "application/octet-stream"),
        ("response-cache-control", "max-age=600"),
    ]);
    let req = ReceivedRequest {
        method: "GET",
        path: "/exampleobject(腾讯云)",
        params: &params,
        headers: &headers,
    };
    // Lists given unsorted: the signer sorts them (step 4).
    let s = steps(
        OFFICIAL_SECRET,
        "1557989753;1557996953",
        &req,
        "host;date",
        "response-content-type;response-cache-control",
    );
    assert_eq!(s.sign_key, "937914bf490e9e8c189836aad2052e4feeb35eaf");
    assert_eq!(
        s.url_param_list,
        "response-cache-control;response-content-type"
    );
    assert_eq!(s.header_list, "date;host");
    assert_eq!(
        s.http_string_sha1,
        "54ecfe22f59d3514fdc764b87a32d8133ea611e6"
    );
    assert_eq!(
        s.http_string,
        format!(
            "get\n/exampleobject(腾讯云)\nresponse-cache-control=max-age%3D600&response-content-type=application%2Foctet-stream\ndate=Thu%2C%2016%20May%202019%2006%3A55%3A53%20GMT&host={OFFICIAL_HOST}\n"
        )
    );
    assert_eq!(s.signature, "01681b8c9d798a678e43b685a9f1bba0f6c0e012");
}

const D_SECRET: &str = "SECRETKEYEXAMPLE0123456789abcdef";
const D_KEY_TIME: &str = "1746537582;1746539442";
const D_PATH: &str = "/songlist/p/1147c/4fbfbc28bbc4a67850fa90823fcea389fcfcd48d_c902.png";
const D_LIST: &str = "content-length;content-md5;host;x-cos-security-token";
const D_SIGNATURE: &str = "79e3acea0620f2fc07f9a1c570d04ede41bc5f04";

fn vector_d_headers() -> Vec<(String, String)> {
    pairs(&[
        (
            "Host",
            "music-file-1258344705.cos.ap-guangzhou.myqcloud.com",
        ),
        ("Content-Length", "51458"),
        ("content-md5", "+FOzn418LmF9ved9ymbUEw=="),
        ("x-cos-security-token", "TOKEN_example-abc+/="),
        // Never signed: present in the request, absent from the list.
        ("User-Agent", "workerman/http-client"),
        ("Connection", "keep-alive"),
    ])
}

fn vector_d_request(headers: &[(String, String)]) -> ReceivedRequest<'_> {
    ReceivedRequest {
        method: "PUT",
        path: D_PATH,
        params: &[],
        headers,
    }
}

fn vector_d_authorization() -> String {
    format!(
        "q-sign-algorithm=sha1&q-ak=AKIDEXAMPLEQQMUSIC&q-sign-time={D_KEY_TIME}&q-key-time={D_KEY_TIME}&q-header-list={D_LIST}&q-url-param-list=&q-signature={D_SIGNATURE}"
    )
}

#[test]
fn vector_d_qq_shaped_put_reproduces_every_intermediate_value() {
    let headers = vector_d_headers();
    let req = vector_d_request(&headers);
    let s = steps(D_SECRET, D_KEY_TIME, &req, D_LIST, "");
    assert_eq!(s.sign_key, "a941ce9a30e1057db62ed67282e5455b1ce15a4a");
    assert_eq!(s.header_list, D_LIST);
    assert_eq!(s.url_param_list, "");
    assert_eq!(
        s.http_string,
        format!(
            "put\n{D_PATH}\n\ncontent-length=51458&content-md5=%2BFOzn418LmF9ved9ymbUEw%3D%3D&host=music-file-1258344705.cos.ap-guangzhou.myqcloud.com&x-cos-security-token=TOKEN_example-abc%2B%2F%3D\n"
        )
    );
    assert_eq!(
        s.http_string_sha1,
        "22dab8381c0c9f9267468f7090f9010108e224a7"
    );
    assert_eq!(s.signature, D_SIGNATURE);
    let names: Vec<String> = names(D_LIST);
    assert_eq!(
        signature_for(D_SECRET, D_KEY_TIME, &req, &names, &[]).as_deref(),
        Ok(D_SIGNATURE)
    );
}

#[test]
fn content_md5_is_base64_of_the_raw_digest_bytes() {
    let raw = match hex::decode("f853b39f8d7c2e617dbde77dca66d413") {
        Ok(raw) => raw,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, raw),
        "+FOzn418LmF9ved9ymbUEw=="
    );
    // And content_md5 hashes before encoding: md5("") = d41d8cd98f00b204e9800998ecf8427e.
    assert_eq!(content_md5(b""), "1B2M2Y8AsgTpgAmY7PhCfg==");
}

#[test]
fn encode_keeps_only_unreserved_ascii_and_uses_upper_case_hex() {
    assert_eq!(encode("aZ09-_.~"), "aZ09-_.~");
    assert_eq!(encode("a b+c/d=e*f"), "a%20b%2Bc%2Fd%3De%2Af");
    assert_eq!(encode("腾"), "%E8%85%BE");
}

#[test]
fn verify_accepts_vector_d_inside_its_window_and_reports_each_failed_check() {
    let headers = vector_d_headers();
    let req = vector_d_request(&headers);
    let auth = vector_d_authorization();
    let ok = verify(&auth, D_SECRET, &req, 1_746_538_000);
    assert_eq!(ok.map(|a| a.ak), Ok("AKIDEXAMPLEQQMUSIC".to_owned()));

    // Window edges are inclusive; one second outside fails either way.
    assert!(verify(&auth, D_SECRET, &req, 1_746_537_582).is_ok());
    assert!(verify(&auth, D_SECRET, &req, 1_746_539_442).is_ok());
    for now in [1_746_537_581, 1_746_539_443] {
        assert!(matches!(
            verify(&auth, D_SECRET, &req, now),
            Err(VerifyError::OutsideWindow {
                field: "q-key-time",
                ..
            })
        ));
    }
    assert!(matches!(
        verify(&auth, "another secret", &req, 1_746_538_000),
        Err(VerifyError::SignatureMismatch { .. })
    ));
    // A value changed after signing.
    let mut tampered = vector_d_headers();
    tampered[2].1 = "1B2M2Y8AsgTpgAmY7PhCfg==".into();
    assert!(matches!(
        verify(&auth, D_SECRET, &vector_d_request(&tampered), 1_746_538_000),
        Err(VerifyError::SignatureMismatch { .. })
    ));
    // A signed header missing from the request.
    let mut missing = vector_d_headers();
    missing.remove(3);
    assert_eq!(
        verify(&auth, D_SECRET, &vector_d_request(&missing), 1_746_538_000),
        Err(VerifyError::MissingHeader("x-cos-security-token".into()))
    );
}

#[test]
fn verify_requires_the_four_upload_headers_in_the_list() {
    let headers = vector_d_headers();
    let req = vector_d_request(&headers);
    let without_md5 =
        vector_d_authorization().replace(D_LIST, "content-length;host;x-cos-security-token");
    assert_eq!(
        verify(&without_md5, D_SECRET, &req, 1_746_538_000),
        Err(VerifyError::UnsignedRequiredHeader("content-md5"))
    );
}

#[test]
fn verify_refuses_a_sign_time_that_differs_from_the_key_time() {
    let headers = vector_d_headers();
    let req = vector_d_request(&headers);
    let auth = vector_d_authorization().replacen(D_KEY_TIME, "1746537582;1746539443", 1);
    assert_eq!(
        verify(&auth, D_SECRET, &req, 1_746_538_000),
        Err(VerifyError::SignTimeDiffers)
    );
}

#[test]
fn parse_reads_every_field_of_the_seed_example() {
    let v = "q-sign-algorithm=sha1&q-ak=AKIDT4q2N7IcbGEJoS1J2U7y0eAqY4ndvk3TzzFa_avW2x3vbHMrmWbdtQQmnpTQz-Qp&q-sign-time=1746537582;1746539442&q-key-time=1746537582;1746539442&q-header-list=content-length;content-md5;host;x-cos-security-token&q-url-param-list=&q-signature=cd9d5033f413b66abbc91eae0c16a979bbed50ad";
    let a = match parse_authorization(v) {
        Ok(a) => a,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(
        a.ak,
        "AKIDT4q2N7IcbGEJoS1J2U7y0eAqY4ndvk3TzzFa_avW2x3vbHMrmWbdtQQmnpTQz-Qp"
    );
    assert_eq!(a.sign_time, (1_746_537_582, 1_746_539_442));
    assert_eq!(a.key_time, a.sign_time);
    assert_eq!(a.header_list, names(D_LIST));
    assert!(a.url_param_list.is_empty());
    assert_eq!(a.signature, "cd9d5033f413b66abbc91eae0c16a979bbed50ad");
}

#[test]
fn parse_refuses_each_kind_of_malformed_value() {
    let good = vector_d_authorization();
    type Expect = fn(&AuthError) -> bool;
    let cases: Vec<(String, Expect)> = vec![
        (String::new(), |e| *e == AuthError::Empty),
        (
            good.replace("q-sign-algorithm=sha1", "q-sign-algorithm=sha256"),
            |e| matches!(e, AuthError::UnsupportedAlgorithm(_)),
        ),
        (good.replace("&q-url-param-list=", ""), |e| {
            *e == AuthError::MissingField("q-url-param-list")
        }),
        (format!("{good}&q-ak=X"), |e| {
            *e == AuthError::DuplicateField("q-ak")
        }),
        (format!("{good}&q-extra=1"), |e| {
            matches!(e, AuthError::UnknownField(_))
        }),
        (format!("{good}&"), |e| matches!(e, AuthError::BadPair(_))),
        (good.replace("q-ak=AKIDEXAMPLEQQMUSIC", "q-ak="), |e| {
            *e == AuthError::EmptyAk
        }),
        (good.replacen("1746537582;", "01746537582;", 1), |e| {
            matches!(e, AuthError::BadTime { .. })
        }),
        (good.replacen("1746537582;1746539442", "-1;5", 1), |e| {
            matches!(e, AuthError::BadTime { .. })
        }),
        (good.replace(D_LIST, "host;content-length"), |e| {
            matches!(e, AuthError::BadList { .. })
        }),
        (good.replace(D_LIST, "Host"), |e| {
            matches!(e, AuthError::BadList { .. })
        }),
        (good.replace(D_LIST, "host;;x"), |e| {
            matches!(e, AuthError::BadList { .. })
        }),
        (good.replace(D_SIGNATURE, "79e3acea"), |e| {
            matches!(e, AuthError::BadSignature(_))
        }),
    ];
    for (value, expected) in cases {
        match parse_authorization(&value) {
            Err(e) if expected(&e) => {}
            other => panic!("{value:?} gave {other:?}"),
        }
    }
}

#[test]
fn hostile_inputs_are_refused_without_panicking() {
    let headers = vector_d_headers();
    let req = vector_d_request(&headers);
    let long = "=".repeat(100_000);
    for value in [
        "&&&&",
        "=",
        "q-sign-time=;",
        "q-sign-time=99999999999999999999;1",
        "q-header-list=\u{0}",
        "q-ak=\u{10FFFF}&q-ak=é",
        "腾讯云=腾讯云",
        long.as_str(),
    ] {
        assert!(parse_authorization(value).is_err(), "{value:?}");
        assert!(verify(value, "", &req, i64::MIN).is_err());
    }
    let odd = pairs(&[("\u{0}", "\u{FFFF}"), ("", "")]);
    let odd_req = ReceivedRequest {
        method: "\u{1F600}",
        path: "\u{0}%zz",
        params: &odd,
        headers: &odd,
    };
    let list = vec!["%00".to_owned(), String::new()];
    assert!(signature_for("", "", &odd_req, &list, &list).is_ok());
}
