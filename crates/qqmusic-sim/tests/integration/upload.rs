//! music.filesys.FileSystem.InitUpload and FinishUpload over HTTP.

use std::time::Duration;

use qqmusic_sim::SimConfig;
use serde_json::{json, Value};

use crate::common::{str_of, Harness, LOGIN};
use crate::cos_client::{file_bytes, sha1_hex, BUCKET, FINISH, INIT};
use qqmusic_sim::zzc::hash33;

const SHA1: &str = "4fbfbc28bbc4a67850fa90823fcea389fcfcd48d";

fn one_file() -> Value {
    json!([{"FileSha1": SHA1, "FileName": "cover.png", "FileSize": 51458}])
}

fn init_body(files: Value) -> Value {
    json!({"req_0": {"module": "music.filesys.FileSystem", "method": "InitUpload",
                     "param": {"BusID": "songlist", "Files": files}}})
}

fn assert_init_refused(sub: &Value, code: i64) {
    assert_eq!(sub["code"], code, "{sub}");
    assert_eq!(sub["data"]["AuthInfo"]["SecretID"], "", "{sub}");
    assert_eq!(sub["data"]["AuthInfo"]["Token"], "", "{sub}");
    assert_eq!(sub["data"]["Files"], json!([]), "{sub}");
}

#[tokio::test]
async fn init_upload_on_the_unsigned_route_answers_2000_like_a_missing_sign() {
    let h = Harness::new().await;
    let a = h.qq().await;
    let mut body = init_body(one_file());
    body["comm"] = json!({"uin": a.uin.to_string()});
    let cookie = format!("uin={}; qqmusic_key={}", a.uin, a.musickey);
    let answer = h.musicu(&body, Some(&cookie)).await;
    assert_init_refused(&answer["req_0"], 2000);
    // The same call signed on musics.fcg succeeds.
    assert_eq!(h.init_upload(&a, one_file()).await["code"], 0);
}

#[tokio::test]
async fn init_upload_answers_1000_without_a_live_login_and_20277_when_banned() {
    let h = Harness::new().await;
    let a = h.qq().await;
    // Control: the account's live key works.
    let answer = h.musics_as(&a, &a.musickey, init_body(one_file())).await;
    assert_eq!(answer["req_0"]["code"], 0, "{answer}");
    let mut unknown = a.clone();
    unknown.musickey = format!("Q_H_L_{}", "z".repeat(40));
    assert_init_refused(&h.init_upload(&unknown, one_file()).await, 1000);
    // Another account's uin with this key.
    let mut other_uin = a.clone();
    other_uin.uin += 1;
    assert_init_refused(&h.init_upload(&other_uin, one_file()).await, 1000);

    let expired = h.qq().await;
    h.admin(&format!("/_sim/accounts/{}/expire", expired.uin), json!({}))
        .await;
    assert_init_refused(&h.init_upload(&expired, one_file()).await, 1000);

    let out = h.wx().await;
    h.admin(&format!("/_sim/accounts/{}/logout", out.uin), json!({}))
        .await;
    assert_init_refused(&h.init_upload(&out, one_file()).await, 1000);

    let banned = h.qq().await;
    h.admin(&format!("/_sim/accounts/{}/ban", banned.uin), json!({}))
        .await;
    assert_init_refused(&h.init_upload(&banned, one_file()).await, 20277);
}

#[tokio::test]
async fn init_upload_with_a_wrong_g_tk_or_no_cookie_key_answers_1000() {
    let h = Harness::new().await;
    let a = h.qq().await;
    let mut body = init_body(one_file());
    body["comm"] = json!({"uin": a.uin.to_string(), "g_tk": "12345"});
    let text = body.to_string();
    let sign = qqmusic_sim::zzc::sign(text.as_bytes());
    for cookie in [
        format!("uin={}; qqmusic_key={}", a.uin, a.musickey),
        String::new(),
    ] {
        let resp = h
            .http
            .post(h.url(&format!("/cgi-bin/musics.fcg?sign={sign}")))
            .header("Cookie", cookie.clone())
            .body(text.clone())
            .send()
            .await
            .expect("answered");
        let v: Value = resp.json().await.expect("JSON");
        assert_init_refused(&v["req_0"], 1000);
    }
}

#[tokio::test]
async fn bad_init_upload_shapes_answer_500001() {
    let h = Harness::new().await;
    let a = h.qq().await;
    let file = |sha1: Value, name: Value, size: Value| json!([{"FileSha1": sha1, "FileName": name, "FileSize": size}]);
    for files in [
        json!([]),
        file(json!(&SHA1[..39]), json!("a.png"), json!(1)),
        file(json!(SHA1), json!("a.png"), json!(0)),
        file(json!(SHA1), json!("a.png"), json!("51458")),
        file(json!(SHA1), json!("no-extension"), json!(1)),
    ] {
        assert_init_refused(&h.init_upload(&a, files.clone()).await, 500_001);
    }
    let mut body = init_body(one_file());
    body["req_0"]["param"]["BusID"] = json!("avatar");
    let answer = h.musics_as(&a, &a.musickey, body).await;
    assert_init_refused(&answer["req_0"], 500_001);
}

#[tokio::test]
async fn init_upload_answers_the_documented_shape_on_the_sim_clock() {
    let h = Harness::new().await;
    let a = h.qq().await;
    let before = h.now().await;
    let files =
        json!([{"FileSha1": SHA1.to_uppercase(), "FileName": "My Cover.PNG", "FileSize": 51458}]);
    let sub = h.init_upload(&a, files).await;
    let after = h.now().await;
    assert_eq!(sub["code"], 0, "{sub}");
    let auth = &sub["data"]["AuthInfo"];
    assert!(str_of(auth, "SecretID").starts_with("AKID"), "{auth}");
    assert!(!str_of(auth, "SecretKey").is_empty());
    let token = str_of(auth, "Token");
    for c in ['-', '_', '+', '/', '='] {
        assert!(token.contains(c), "token {token} lacks {c}");
    }
    let start = auth["StartTime"].as_i64().unwrap_or_default();
    assert!(
        (before..=after).contains(&start),
        "{start} not in {before}..={after}"
    );
    assert_eq!(auth["ExpiredTime"].as_i64(), Some(start + 21_600));

    let file = &sub["data"]["Files"][0];
    assert_eq!(file["FileSha1"], SHA1, "echoed in lower case");
    let key = str_of(file, "ObjectKey");
    let parts: Vec<&str> = key.split('/').collect();
    assert_eq!(parts.len(), 4, "{key}");
    assert_eq!(&parts[..2], &["songlist", "p"]);
    assert_eq!(parts[2].len(), 5);
    assert!(
        parts[2].bytes().all(|b| b"0123456789abcdef".contains(&b)),
        "{key}"
    );
    assert_eq!(parts[3], format!("{SHA1}_c902.png"));
    assert_eq!(
        file["Buckets"],
        json!([{"Bucket": {"Name": BUCKET, "Region": "ap-guangzhou"}, "UploadStatus": 0}])
    );
    // The key is a function of the file: asking again gives the same key.
    let again = h.init_upload(&a, one_file()).await;
    assert_eq!(again["data"]["Files"][0]["ObjectKey"], key);
}

#[tokio::test]
async fn every_init_upload_hands_out_a_fresh_credential() {
    let h = Harness::new().await;
    let a = h.wx().await;
    let first = h.init_upload(&a, one_file()).await;
    let second = h.init_upload(&a, one_file()).await;
    for field in ["SecretID", "SecretKey", "Token"] {
        let (x, y) = (
            &first["data"]["AuthInfo"][field],
            &second["data"]["AuthInfo"][field],
        );
        assert_ne!(x, y, "{field} repeated");
    }
}

#[tokio::test]
async fn several_files_get_one_entry_each_in_order() {
    let h = Harness::new().await;
    let a = h.qq().await;
    let other = "0123456789abcdef0123456789abcdef01234567";
    let files = json!([
        {"FileSha1": SHA1, "FileName": "a.png", "FileSize": 16},
        {"FileSha1": other, "FileName": "b.jpg", "FileSize": 255},
    ]);
    let sub = h.init_upload(&a, files).await;
    let entries = sub["data"]["Files"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 2, "{sub}");
    assert!(str_of(&entries[0], "ObjectKey").ends_with(&format!("/{SHA1}_10.png")));
    assert!(str_of(&entries[1], "ObjectKey").ends_with(&format!("/{other}_ff.jpg")));
}

#[tokio::test]
async fn the_credential_lifetime_follows_the_config() {
    let config = SimConfig {
        upload_credential_lifetime: Duration::from_secs(600),
        ..Default::default()
    };
    let h = Harness::with_config(config).await;
    let a = h.qq().await;
    let up = h.upload_for(&a, "a.png", b"tiny").await;
    assert_eq!(up.expired - up.start, 600);
}

#[tokio::test]
async fn upload_status_and_finish_upload_report_an_object_once_it_is_stored() {
    let h = Harness::new().await;
    let a = h.qq().await;
    let body = file_bytes("status");
    let up = h.upload_for(&a, "cover.png", &body).await;

    let finish = |key: &str| {
        json!({"req_0": {"module": "music.filesys.FileSystem", "method": "FinishUpload",
            "param": {"BusID": "songlist", "Results": [{"Storage": {"Bucket":
                {"Name": BUCKET, "Region": "ap-guangzhou"}, "ObjectKey": key}, "UploadResult": 0}]}}})
    };
    let before = h.musics_as(&a, &a.musickey, finish(&up.object_key)).await;
    let expected_url = format!("https://music-file.y.qq.com/{}", up.object_key);
    assert_eq!(
        before["req_0"],
        json!({"code": 0, "data": {"Results": [
            {"ObjectKey": up.object_key, "URL": expected_url, "Exists": false}]}})
    );

    let headers = h.good_put_headers(&up).await;
    assert_eq!(h.put(&up, &headers).await.status, 200);

    let after = h.musics_as(&a, &a.musickey, finish(&up.object_key)).await;
    assert_eq!(
        after["req_0"]["data"]["Results"][0]["Exists"], true,
        "{after}"
    );
    let files =
        json!([{"FileSha1": sha1_hex(&body), "FileName": "cover.png", "FileSize": body.len()}]);
    let again = h.init_upload(&a, files).await;
    assert_eq!(
        again["data"]["Files"][0]["Buckets"][0]["UploadStatus"], 1,
        "{again}"
    );
    // FinishUpload is not signed-only: musicu.fcg serves it too.
    let mut unsigned = finish(&up.object_key);
    unsigned["comm"] = json!({"uin": a.uin.to_string()});
    let cookie = format!("uin={}; qqmusic_key={}", a.uin, a.musickey);
    let answer = h.musicu(&unsigned, Some(&cookie)).await;
    assert_eq!(
        answer["req_0"]["data"]["Results"][0]["Exists"], true,
        "{answer}"
    );
}

#[tokio::test]
async fn finish_upload_needs_a_login_and_a_valid_shape() {
    let h = Harness::new().await;
    let a = h.qq().await;
    let body = |param: Value| json!({"req_0": {"module": "music.filesys.FileSystem", "method": "FinishUpload", "param": param}});
    let good = json!({"BusID": "songlist", "Results": [{"Storage": {"Bucket":
        {"Name": BUCKET, "Region": "ap-guangzhou"}, "ObjectKey": "songlist/p/x/y.png"}, "UploadResult": 0}]});
    let mut stranger = a.clone();
    stranger.musickey = format!("Q_H_L_{}", "q".repeat(40));
    let answer = h
        .musics_as(&stranger, &stranger.musickey, body(good.clone()))
        .await;
    assert_eq!(
        answer["req_0"],
        json!({"code": 1000, "data": {"Results": []}})
    );
    let mut bad = good.clone();
    bad["Results"][0]["Storage"]["ObjectKey"] = json!(7);
    let answer = h.musics_as(&a, &a.musickey, body(bad)).await;
    assert_eq!(
        answer["req_0"],
        json!({"code": 500_001, "data": {"Results": []}})
    );
    // A bucket that is not ours never holds the object.
    let mut elsewhere = good;
    elsewhere["Results"][0]["Storage"]["Bucket"]["Name"] = json!("other-1250000000");
    let answer = h.musics_as(&a, &a.musickey, body(elsewhere)).await;
    assert_eq!(
        answer["req_0"]["data"]["Results"][0]["Exists"], false,
        "{answer}"
    );
}

#[tokio::test]
async fn stats_count_upload_calls_and_every_put_separately_from_accepted_ones() {
    let h = Harness::new().await;
    let a = h.qq().await;
    let up = h.upload_for(&a, "s.png", b"stats body").await;
    let headers = h.good_put_headers(&up).await;
    assert_eq!(h.put(&up, &headers).await.status, 200);
    h.put(&up, &[]).await.assert_error(403, "AccessDenied");
    let finish = json!({"req_0": {"module": "music.filesys.FileSystem", "method": "FinishUpload",
        "param": {"BusID": "songlist", "Results": []}}});
    h.musics_as(&a, &a.musickey, finish).await;
    let stats = h.get("/_sim/stats").await;
    assert_eq!(stats[INIT], 1, "{stats}");
    assert_eq!(stats[FINISH], 1, "{stats}");
    assert_eq!(stats["cos.PutObject"], 2, "{stats}");
    assert_eq!(stats["cos.PutObject.accepted"], 1, "{stats}");
    assert!(stats.get(LOGIN).is_none());
}

#[tokio::test]
async fn the_request_log_keeps_puts_with_their_headers_but_not_the_body() {
    let h = Harness::new().await;
    let a = h.qq().await;
    let up = h.upload_for(&a, "log.png", b"logged body bytes").await;
    let headers = h.good_put_headers(&up).await;
    h.put(&up, &headers).await;
    let log = h.get("/_sim/requests").await;
    let entries = log.as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 2, "{log}");
    assert_eq!(entries[0]["kind"], "gateway");
    let put = &entries[1];
    assert_eq!(put["kind"], "cos");
    assert_eq!(put["method"], "PUT");
    assert_eq!(put["path"], up.path());
    assert_eq!(put["headers"]["x-cos-security-token"], up.token.as_str());
    assert_eq!(put["headers"]["content-length"], "17");
    assert_eq!(put["headers"]["host"], h.host().as_str());
    assert!(put["headers"]["authorization"]
        .as_str()
        .unwrap_or_default()
        .starts_with("q-sign-algorithm=sha1&"));
    assert!(put.get("body").is_none(), "{put}");
}

#[tokio::test]
async fn init_upload_without_the_uin_or_qqmusic_key_cookie_answers_1000() {
    let h = Harness::new().await;
    let a = h.qq().await;
    let mut body = init_body(one_file());
    body["comm"] = json!({"uin": a.uin.to_string(), "g_tk": hash33(&a.musickey).to_string(),
                          "authst": a.musickey});
    let text = body.to_string();
    let sign = qqmusic_sim::zzc::sign(text.as_bytes());
    let (uin, key) = (a.uin, &a.musickey);
    let send = |cookie: String| {
        let req = h
            .http
            .post(h.url(&format!("/cgi-bin/musics.fcg?sign={sign}")))
            .header("Cookie", cookie)
            .body(text.clone());
        async move {
            let v: Value = req
                .send()
                .await
                .expect("answered")
                .json()
                .await
                .expect("JSON");
            v
        }
    };
    for cookie in [
        format!("qqmusic_uin={uin}; qm_keyst={key}; qqmusic_key={key}"),
        format!("uin={uin}; qqmusic_uin={uin}; qm_keyst={key}"),
    ] {
        assert_init_refused(&send(cookie).await["req_0"], 1000);
    }
    let ok = send(format!("uin={uin}; qqmusic_key={key}")).await;
    assert_eq!(ok["req_0"]["code"], 0, "{ok}");
}
