//! qmkeys's signer against the simulator's verifier, which was written from
//! docs/protocol.md separately: what one signs the other accepts, and a change to
//! any signed part is refused.

use proptest::prelude::*;
use qmkeys::cos::{sign, KeyTime, SignRequest};
use qqmusic_sim::cos_auth::{verify, ReceivedRequest};

const METHODS: [&str; 5] = ["PUT", "GET", "POST", "DELETE", "HEAD"];

#[derive(Debug, Clone)]
struct Case {
    method: usize,
    path: String,
    headers: Vec<(String, String)>,
    secret_id: String,
    secret_key: String,
    now: i64,
}

fn case() -> impl Strategy<Value = Case> {
    (
        0..METHODS.len(),
        "/[a-zA-Z0-9/_.~()中文 -]{0,40}",
        // The four headers an upload must sign, with arbitrary values…
        (
            "[ -~]{1,40}",
            "[0-9]{1,9}",
            "[A-Za-z0-9+/=]{1,30}",
            "[ -~]{1,60}",
        ),
        // …and a few others.
        prop::collection::vec(("x-cos-[a-z]{1,8}", "[ -~]{0,30}"), 0..3),
        "[A-Za-z0-9]{4,24}",
        "[A-Za-z0-9]{8,40}",
        1_500_000_000i64..2_000_000_000,
    )
        .prop_map(
            |(method, path, (host, len, md5, token), extra, secret_id, secret_key, now)| {
                let mut headers = vec![
                    ("Host".to_owned(), host),
                    ("Content-Length".to_owned(), len),
                    ("content-md5".to_owned(), md5),
                    ("x-cos-security-token".to_owned(), token),
                ];
                for (name, value) in extra {
                    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                        headers.push((name, value));
                    }
                }
                Case {
                    method,
                    path,
                    headers,
                    secret_id,
                    secret_key,
                    now,
                }
            },
        )
}

impl Case {
    fn authorization(&self, key_time: KeyTime) -> String {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let request = SignRequest {
            method: METHODS[self.method],
            path: &self.path,
            params: &[],
            headers: &headers,
        };
        sign(&request, &self.secret_id, &self.secret_key, key_time).authorization
    }

    fn key_time(&self) -> KeyTime {
        KeyTime::for_upload(self.now, self.now + 6 * 3600).expect("window")
    }

    /// The bucket's view: header names as they arrive, lower-cased by HTTP.
    fn received(&self) -> Vec<(String, String)> {
        self.headers
            .iter()
            .map(|(n, v)| (n.to_lowercase(), v.clone()))
            .collect()
    }

    fn accepts(
        &self,
        authorization: &str,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        secret: &str,
    ) -> bool {
        let request = ReceivedRequest {
            method,
            path,
            params: &[],
            headers,
        };
        verify(authorization, secret, &request, self.now).is_ok()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_verifier_accepts_what_the_signer_produces(case in case()) {
        let auth = case.authorization(case.key_time());
        prop_assert!(case.accepts(&auth, METHODS[case.method], &case.path, &case.received(), &case.secret_key));
    }

    #[test]
    fn a_change_to_any_signed_part_is_refused(case in case(), which in 0usize..4, pick in any::<prop::sample::Index>()) {
        let auth = case.authorization(case.key_time());
        let (method, path, secret) = (METHODS[case.method], case.path.as_str(), case.secret_key.as_str());
        let headers = case.received();

        let other_method = METHODS[(case.method + 1) % METHODS.len()];
        prop_assert!(!case.accepts(&auth, other_method, path, &headers, secret), "method");

        let other_path = format!("{path}x");
        prop_assert!(!case.accepts(&auth, method, &other_path, &headers, secret), "path");

        let mut changed = headers.clone();
        let i = pick.index(changed.len());
        changed[i].1.push('x');
        prop_assert!(!case.accepts(&auth, method, path, &changed, secret), "header {}", changed[i].0);

        let other_secret = format!("{secret}x");
        prop_assert!(!case.accepts(&auth, method, path, &headers, &other_secret), "secret");

        // Another window that still covers now, stated in the header but not signed.
        let kt = case.key_time();
        let shifted = format!("{};{}", kt.start, kt.end + 1 + which as i64);
        let moved = auth.replace(&kt.to_string(), &shifted);
        prop_assert!(!case.accepts(&moved, method, path, &headers, secret), "key time");
        // And a window signed properly but not covering now.
        let stale = case.authorization(KeyTime { start: case.now - 4000, end: case.now - 2000 });
        prop_assert!(!case.accepts(&stale, method, path, &headers, secret), "stale key time");
    }
}
