//! The simulator's COS `Authorization` parser and verifier
//! (`qqmusic_sim::cos_auth::{parse_authorization, verify}`), on arbitrary text
//! and on well-formed values built from arbitrary parts.
//!
//! Beyond "never panics", it checks:
//! - a value that parses prints back (canonically) to one that parses to the
//!   same `Authorization`, whose lists are strictly ascending signed names;
//! - an error message repeats at most 64 characters of the input;
//! - `verify` accepts only what parses, with `q-sign-time == q-key-time`, `now`
//!   inside the window, the four upload headers signed and the signature that
//!   `signature_for` computes; and a value built with that signature is accepted.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use qqmusic_sim::cos_auth::{
    encode, parse_authorization, signature_for, verify, Authorization, ReceivedRequest,
    VerifyError, REQUIRED_HEADERS,
};

#[derive(Arbitrary, Debug)]
enum Text {
    Raw(String),
    Built {
        ak: String,
        sign_time: (u32, u32),
        key_time: Option<(u32, u32)>,
        extra_headers: Vec<String>,
        params: Vec<String>,
        /// Sign it for real with the request below, or use these bytes.
        signature: Option<[u8; 20]>,
        reversed: bool,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    text: Text,
    secret: String,
    method: String,
    path: String,
    params: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    now: i64,
}

fuzz_target!(|input: Input| {
    let Input {
        text,
        secret,
        method,
        path,
        params,
        mut headers,
        now,
    } = input;
    let value = match text {
        Text::Raw(s) => s,
        Text::Built {
            ak,
            sign_time,
            key_time,
            extra_headers,
            params: param_names,
            signature,
            reversed,
        } => {
            for h in REQUIRED_HEADERS {
                if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(h)) {
                    headers.push((h.to_owned(), String::new()));
                }
            }
            for n in &extra_headers {
                if !headers.iter().any(|(h, _)| h == n) {
                    headers.push((n.clone(), String::new()));
                }
            }
            let mut header_list: Vec<String> = REQUIRED_HEADERS
                .iter()
                .map(|h| (*h).to_owned())
                .chain(extra_headers.iter().map(|n| signed_name(n)))
                .filter(|n| !n.is_empty())
                .collect();
            header_list.sort();
            header_list.dedup();
            let mut param_list: Vec<String> = param_names
                .iter()
                .map(|n| signed_name(n))
                .filter(|n| !n.is_empty())
                .collect();
            param_list.sort();
            param_list.dedup();
            let sign_time = format!("{};{}", sign_time.0, sign_time.1);
            let key_time = key_time.map_or_else(|| sign_time.clone(), |(a, b)| format!("{a};{b}"));
            let signature = match signature {
                Some(bytes) => hex::encode(bytes),
                None => {
                    let req = ReceivedRequest {
                        method: &method,
                        path: &path,
                        params: &params,
                        headers: &headers,
                    };
                    signature_for(&secret, &key_time, &req, &header_list, &param_list)
                        .unwrap_or_else(|_| "0".repeat(40))
                }
            };
            let mut fields = [
                "q-sign-algorithm=sha1".to_owned(),
                format!("q-ak={ak}"),
                format!("q-sign-time={sign_time}"),
                format!("q-key-time={key_time}"),
                format!("q-header-list={}", header_list.join(";")),
                format!("q-url-param-list={}", param_list.join(";")),
                format!("q-signature={signature}"),
            ];
            if reversed {
                fields.reverse();
            }
            fields.join("&")
        }
    };

    let parsed = parse_authorization(&value);
    match &parsed {
        Ok(auth) => {
            for list in [&auth.header_list, &auth.url_param_list] {
                assert!(list.windows(2).all(|w| w[0] < w[1]), "{list:?}");
                assert!(list.iter().all(|n| !n.is_empty()));
            }
            let again = parse_authorization(&render(auth)).expect("canonical form parses");
            assert_eq!(&again, auth);
        }
        Err(err) => {
            let message = err.to_string();
            assert!(message.chars().count() <= 64 + 120, "{message}");
        }
    }

    let req = ReceivedRequest {
        method: &method,
        path: &path,
        params: &params,
        headers: &headers,
    };
    match verify(&value, &secret, &req, now) {
        Ok(auth) => {
            assert_eq!(Ok(&auth), parsed.as_ref());
            assert_eq!(auth.sign_time, auth.key_time);
            assert!(auth.key_time.0 <= now && now <= auth.key_time.1);
            for h in REQUIRED_HEADERS {
                assert!(auth.header_list.iter().any(|l| l == h));
            }
            let key_time = format!("{};{}", auth.key_time.0, auth.key_time.1);
            let expected = signature_for(
                &secret,
                &key_time,
                &req,
                &auth.header_list,
                &auth.url_param_list,
            )
            .expect("verified, so every listed name is in the request");
            assert_eq!(expected, auth.signature);
        }
        Err(VerifyError::Malformed(_)) => assert!(parsed.is_err()),
        Err(_) => assert!(parsed.is_ok()),
    }

    // A correctly signed value for this request verifies inside its window.
    if let Ok(auth) = &parsed {
        if auth.sign_time == auth.key_time
            && auth.key_time.0 <= auth.key_time.1
            && REQUIRED_HEADERS
                .iter()
                .all(|h| auth.header_list.iter().any(|l| l == h))
        {
            let key_time = format!("{};{}", auth.key_time.0, auth.key_time.1);
            if let Ok(signature) = signature_for(
                &secret,
                &key_time,
                &req,
                &auth.header_list,
                &auth.url_param_list,
            ) {
                let good = render(&Authorization {
                    signature,
                    ..auth.clone()
                });
                verify(&good, &secret, &req, auth.key_time.0).expect("a good signature verifies");
                verify(&good, &secret, &req, auth.key_time.1).expect("the window is inclusive");
            }
        }
    }
});

fn signed_name(name: &str) -> String {
    encode(name).to_ascii_lowercase()
}

fn render(a: &Authorization) -> String {
    format!(
        "q-sign-algorithm=sha1&q-ak={}&q-sign-time={};{}&q-key-time={};{}&q-header-list={}&q-url-param-list={}&q-signature={}",
        a.ak,
        a.sign_time.0,
        a.sign_time.1,
        a.key_time.0,
        a.key_time.1,
        a.header_list.join(";"),
        a.url_param_list.join(";"),
        a.signature
    )
}
