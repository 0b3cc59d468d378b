use crate::helpers::{spawn_app, spawn_app_with_accounts, Answer, TestApp, INIT_UPLOAD, LOGIN};
use md5::Md5;
use serde_json::{json, Value};
use sha1::{Digest, Sha1};
use std::time::Duration;

const BUCKET: &str = "music-file-1258344705";

/// A file to upload: its bytes and the parameters a client sends for it.
pub struct TestFile {
    pub bytes: Vec<u8>,
    pub sha1: String,
    pub md5: String,
}

impl TestFile {
    pub fn random(len: usize) -> Self {
        let bytes: Vec<u8> = (0..len).map(|_| rand::random::<u8>()).collect();
        Self::of(bytes)
    }

    pub fn of(bytes: Vec<u8>) -> Self {
        Self {
            sha1: hex::encode(Sha1::digest(&bytes)),
            md5: hex::encode(Md5::digest(&bytes)),
            bytes,
        }
    }

    pub fn params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("sha1", self.sha1.clone()),
            ("md5", self.md5.clone()),
            ("size", self.bytes.len().to_string()),
        ]
    }
}

impl TestApp {
    pub async fn sign(&self, params: &[(&str, String)]) -> Answer {
        self.get("/tool/cos/sign", params).await
    }

    /// PUTs `body` as the sign answer says, with `change` applied to the headers.
    pub async fn put_signed(
        &self,
        signed: &Answer,
        body: Vec<u8>,
        change: impl FnOnce(&mut Vec<(String, String)>),
    ) -> reqwest::Response {
        let data = &signed.body["data"];
        let mut headers: Vec<(String, String)> =
            ["content-md5", "x-cos-security-token", "Authorization"]
                .iter()
                .map(|h| {
                    (
                        h.to_string(),
                        data["header"][h].as_str().expect(h).to_owned(),
                    )
                })
                .collect();
        change(&mut headers);
        let mut request = self.http.put(data["url"].as_str().expect("url")).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send().await.expect("bucket reachable")
    }
}

async fn cos_error(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    let code = text
        .split("<Code>")
        .nth(1)
        .and_then(|rest| rest.split("</Code>").next())
        .unwrap_or_default()
        .to_owned();
    (status, code)
}

#[tokio::test]
async fn a_signed_upload_is_accepted_by_the_bucket_and_read_back() {
    let (app, _) = spawn_app_with_accounts(1, |_| {}).await;
    let file = TestFile::random(51_458);

    let signed = app.sign(&file.params()).await;

    assert_eq!(signed.status, 200, "{:?}", signed.body);
    assert_eq!(signed.code(), 0);
    assert_eq!(signed.message(), "访问成功");
    let data = &signed.body["data"];
    assert_eq!(data["method"], "PUT");
    let url = data["url"].as_str().expect("url");
    let prefix = format!("{}/cos/{BUCKET}/songlist/p/", app.sim.base_url());
    assert!(url.starts_with(&prefix), "{url}");
    assert!(url.ends_with(&format!("/{}_c902.png", file.sha1)), "{url}");
    let object_key = &url[format!("{}/cos/{BUCKET}/", app.sim.base_url()).len()..];
    assert_eq!(
        data["CDN"],
        format!("https://music-file.y.qq.com/{object_key}")
    );
    let header = &data["header"];
    assert_eq!(header["Host"], app.sim.addr().to_string());
    assert_eq!(header["Content-Length"], "51458");
    assert!(header["x-cos-security-token"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
    let authorization = header["Authorization"].as_str().expect("authorization");
    assert!(
        authorization
            .contains("&q-header-list=content-length;content-md5;host;x-cos-security-token&"),
        "{authorization}"
    );

    let put = app.put_signed(&signed, file.bytes.clone(), |_| {}).await;
    assert_eq!(put.status(), 200, "{:?}", cos_error(put).await);

    let got = app.http.get(url).send().await.expect("get");
    assert_eq!(got.status(), 200);
    let etag = got
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    assert_eq!(etag, Some(format!("\"{}\"", file.md5)));
    assert_eq!(
        got.bytes().await.expect("bytes").as_ref(),
        file.bytes.as_slice()
    );
}

#[tokio::test]
async fn sign_calls_init_upload_signed_and_as_the_protocol_prescribes() {
    let (app, accounts) = spawn_app_with_accounts(1, |_| {}).await;
    let file = TestFile::random(1000);
    let mut params = file.params();
    params.push(("ext", "jpg".into()));
    params[0].1 = file.sha1.to_uppercase();

    let signed = app.sign(&params).await;
    assert_eq!(signed.status, 200, "{:?}", signed.body);
    assert!(signed.body["data"]["url"]
        .as_str()
        .is_some_and(|u| u.ends_with(".jpg")));

    let log = app.sim_get("/_sim/requests").await;
    let call = log
        .as_array()
        .and_then(|l| {
            l.iter()
                .find(|r| r["body"]["req_0"]["method"] == "InitUpload")
        })
        .expect("InitUpload was sent");
    assert_eq!(call["path"], "/cgi-bin/musics.fcg");
    assert!(
        call["query"]
            .as_str()
            .is_some_and(|q| q.contains("sign=zzc")),
        "{}",
        call["query"]
    );
    assert_eq!(call["body"]["req_0"]["module"], "music.filesys.FileSystem");
    assert_eq!(
        call["body"]["req_0"]["param"],
        json!({"BusID": "songlist", "Files": [{"FileSha1": file.sha1, "FileName": format!("{}.jpg", file.sha1), "FileSize": 1000}]})
    );
    assert_eq!(
        call["body"]["comm"]["uin"],
        Value::String(accounts[0].uin.clone())
    );
}

#[tokio::test]
async fn a_wrong_byte_anywhere_is_refused_by_the_bucket() {
    let (app, _) = spawn_app_with_accounts(1, |_| {}).await;
    let file = TestFile::random(4096);
    let signed = app.sign(&file.params()).await;
    assert_eq!(signed.status, 200, "{:?}", signed.body);

    let other_md5 = TestFile::random(16).md5;
    let tampered_md5 = app
        .put_signed(&signed, file.bytes.clone(), |h| {
            h[0].1 = qmkeys::cos::content_md5(&other_md5).expect("md5");
        })
        .await;
    assert_eq!(
        cos_error(tampered_md5).await,
        (403, "SignatureDoesNotMatch".into())
    );

    let mut flipped = file.bytes.clone();
    flipped[100] ^= 1;
    let wrong_body = app.put_signed(&signed, flipped, |_| {}).await;
    assert_eq!(cos_error(wrong_body).await, (400, "InvalidDigest".into()));

    let wrong_token = app
        .put_signed(&signed, file.bytes.clone(), |h| h[1].1.push('x'))
        .await;
    assert_eq!(cos_error(wrong_token).await.0, 403);

    let wrong_signature = app
        .put_signed(&signed, file.bytes.clone(), |h| {
            let last = h[2].1.pop().expect("non-empty");
            h[2].1.push(if last == '0' { '1' } else { '0' });
        })
        .await;
    assert_eq!(
        cos_error(wrong_signature).await,
        (403, "SignatureDoesNotMatch".into())
    );

    // And the untouched request still goes through.
    let put = app.put_signed(&signed, file.bytes.clone(), |_| {}).await;
    assert_eq!(put.status(), 200);
}

#[tokio::test]
async fn an_expired_upload_account_key_is_refreshed_once_and_the_sign_succeeds() {
    let (app, accounts) = spawn_app_with_accounts(1, |_| {}).await;
    app.sim_post(
        &format!("/_sim/accounts/{}/expire", accounts[0].uin),
        json!({}),
    )
    .await;

    // Concurrent signs of different files all find the key expired.
    let files: Vec<TestFile> = (0..8).map(|_| TestFile::random(300)).collect();
    let params: Vec<_> = files.iter().map(TestFile::params).collect();
    let answers = futures::future::join_all(params.iter().map(|p| app.sign(p))).await;

    for answer in &answers {
        assert_eq!(answer.status, 200, "{:?}", answer.body);
    }
    assert_eq!(app.logins().await, 1, "one rotation, not one per request");
    let put = app
        .put_signed(&answers[0], files[0].bytes.clone(), |_| {})
        .await;
    assert_eq!(put.status(), 200);

    // Later signs use the rotated key without another Login.
    app.sign(&TestFile::random(10).params()).await;
    assert_eq!(app.logins().await, 1);
}

#[tokio::test]
async fn a_logged_out_upload_account_answers_401_telling_the_operator() {
    let (app, accounts) = spawn_app_with_accounts(1, |_| {}).await;
    app.sim_post(
        &format!("/_sim/accounts/{}/logout", accounts[0].uin),
        json!({}),
    )
    .await;

    let answer = app.sign(&TestFile::random(10).params()).await;

    assert_eq!(
        (answer.status, answer.code()),
        (401, 40102),
        "{:?}",
        answer.body
    );
    assert!(answer.body["data"].is_null());
}

#[tokio::test]
async fn without_an_upload_account_sign_answers_503_saying_how_to_add_one() {
    let app = spawn_app().await;

    let answer = app.sign(&TestFile::random(10).params()).await;

    assert_eq!(
        (answer.status, answer.code()),
        (503, 50301),
        "{:?}",
        answer.body
    );
    assert!(
        answer.message().contains("[[accounts]]"),
        "{}",
        answer.message()
    );
    assert_eq!(app.calls(INIT_UPLOAD).await, 0);
}

#[tokio::test]
async fn the_init_upload_answer_is_reused_until_near_expiry_and_the_signature_is_fresh() {
    let (app, _) = spawn_app_with_accounts(1, |_| {}).await;
    let file = TestFile::random(500);

    let first = app.sign(&file.params()).await;
    app.clock.advance(Duration::from_secs(10));
    let second = app.sign(&file.params()).await;

    assert_eq!(app.calls(INIT_UPLOAD).await, 1);
    assert_eq!(first.body["data"]["url"], second.body["data"]["url"]);
    assert_ne!(
        first.body["data"]["header"]["Authorization"],
        second.body["data"]["header"]["Authorization"],
        "signed anew with the current time"
    );

    // Six hours minus 31 minutes in, the credential cannot cover a full signature.
    app.clock.advance(Duration::from_secs(6 * 3600 - 31 * 60));
    let third = app.sign(&file.params()).await;
    assert_eq!(third.status, 200);
    assert_eq!(app.calls(INIT_UPLOAD).await, 2);

    // Another size of the same sha1 is another object.
    let mut params = file.params();
    params[2].1 = "501".into();
    app.sign(&params).await;
    assert_eq!(app.calls(INIT_UPLOAD).await, 3);
}

#[tokio::test]
async fn two_upload_accounts_are_used_in_turn() {
    let (app, accounts) = spawn_app_with_accounts(2, |_| {}).await;
    for _ in 0..4 {
        let answer = app.sign(&TestFile::random(64).params()).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
    }
    let log = app.sim_get("/_sim/requests").await;
    let uins: Vec<String> = log
        .as_array()
        .expect("log")
        .iter()
        .filter(|r| r["body"]["req_0"]["method"] == "InitUpload")
        .filter_map(|r| r["body"]["comm"]["uin"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(uins.len(), 4);
    assert_ne!(uins[0], uins[1]);
    assert_eq!(
        (&uins[0], &uins[1]),
        (&uins[2], &uins[3]),
        "strictly in turn"
    );
    let mut both: Vec<String> = accounts.iter().map(|a| a.uin.clone()).collect();
    both.sort();
    let mut seen = vec![uins[0].clone(), uins[1].clone()];
    seen.sort();
    assert_eq!(seen, both);
}

#[tokio::test]
async fn sign_returns_400_naming_the_parameter_for_each_bad_input() {
    let (app, _) = spawn_app_with_accounts(1, |s| s.cos.max_upload_bytes = 1000).await;
    let file = TestFile::random(10);
    let with = |name: &'static str, value: &str| {
        let mut p: Vec<(&str, String)> = file
            .params()
            .into_iter()
            .filter(|(n, _)| *n != name)
            .collect();
        p.push((name, value.to_owned()));
        p
    };
    let without = |name: &str| {
        file.params()
            .into_iter()
            .filter(|(n, _)| *n != name)
            .collect::<Vec<_>>()
    };
    let cases = [
        (without("sha1"), "sha1"),
        (with("sha1", "xyz"), "sha1"),
        (with("sha1", &file.sha1[..39]), "sha1"),
        (without("md5"), "md5"),
        (with("md5", &format!("{}0", file.md5)), "md5"),
        (without("size"), "size"),
        (with("size", "0"), "size"),
        (with("size", "1001"), "size"),
        (with("size", "ten"), "size"),
        (with("ext", "exe"), "ext"),
        (with("ext", ""), "ext"),
        (with("ext", "JPG"), "ext"),
    ];
    for (params, named) in cases {
        let answer = app.sign(&params).await;
        assert_eq!((answer.status, answer.code()), (400, 40001), "{params:?}");
        assert!(
            answer.message().contains(named),
            "{params:?}: {}",
            answer.message()
        );
    }
    assert_eq!(app.calls(INIT_UPLOAD).await, 0);
}

#[tokio::test]
async fn init_upload_faults_map_like_the_refresh_endpoint() {
    let (app, _) = spawn_app_with_accounts(1, |s| s.upstream.timeout_ms = 500).await;
    for (fault, status, code) in [
        (json!({"code": 104604}), 429, 42901),
        (json!({"http_status": 502, "times": 3}), 502, 50201),
        (json!({"delay_ms": 1500}), 504, 50401),
        (json!({"code": 20277}), 403, 40304),
    ] {
        let mut armed = fault.clone();
        armed["target"] = json!(INIT_UPLOAD);
        app.fault(armed).await;
        let answer = app.sign(&TestFile::random(32).params()).await;
        assert_eq!(
            (answer.status, answer.code()),
            (status, code),
            "{fault}: {:?}",
            answer.body
        );
    }
    assert_eq!(
        app.calls(LOGIN).await,
        0,
        "only an expired key triggers a Login"
    );
    let after = app.sign(&TestFile::random(32).params()).await;
    assert_eq!(
        (after.status, after.code()),
        (503, 50302),
        "{:?}",
        after.body
    );
}
