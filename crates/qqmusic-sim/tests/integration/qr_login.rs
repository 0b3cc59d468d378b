//! QR login (QQ and WeChat) and desktop fast login, walked over HTTP the
//! way a client following docs/protocol.md section 9 does.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use qqmusic_sim::{QrAction, QrState, SimConfig};
use reqwest::header::{LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::{str_of, Account, Harness};

const UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
const PT_REFERER: &str = "https://xui.ptlogin2.qq.com/";
const QQ_REDIRECT: &str =
    "https://y.qq.com/portal/wx_redirect.html?login_type=1&surl=https://y.qq.com/";
const WX_APPID: &str = "wx48db31d50e334801";

/// Section 9's hash33, written out again so the tests do not trust the crate's.
fn hash33(s: &str, seed: u64) -> u64 {
    s.chars()
        .fold(seed, |h, c| (h * 33 + u64::from(c)) & 0x7fff_ffff)
}

#[test]
fn hash33_gives_the_documented_check_values() {
    assert_eq!(hash33("QRSIGvalue", 0), 1_377_046_915);
    assert_eq!(hash33("PSKEYxyz", 5381), 2_037_244_188);
    assert_eq!(
        u64::from(qqmusic_sim::hash33("QRSIGvalue", 0)),
        1_377_046_915
    );
    assert_eq!(
        u64::from(qqmusic_sim::hash33("PSKEYxyz", 5381)),
        2_037_244_188
    );
}

/// A client that does not follow redirects, as section 9 asks.
struct Client {
    h: Harness,
    http: reqwest::Client,
}

fn decode_qr(img: image::GrayImage) -> String {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        img.get_pixel(x as u32, y as u32)[0]
    });
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR in the image");
    let (_, text) = grids[0].decode().expect("the QR decodes");
    text
}

/// The quoted arguments of `name('a','b', 'c')`.
fn js_args(body: &str, name: &str) -> Vec<String> {
    let inner = body
        .trim()
        .strip_prefix(name)
        .and_then(|r| r.strip_prefix('('))
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("not a {name}(...) call: {body}"));
    inner
        .split(',')
        .map(|a| a.trim().trim_matches('\'').to_owned())
        .collect()
}

fn query_of(url: &str) -> HashMap<String, String> {
    let q = url.split_once('?').map(|x| x.1).unwrap_or_default();
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

fn set_cookies(resp: &reqwest::Response) -> HashMap<String, String> {
    resp.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split(';').next()?.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}

/// ptqrlogin's answer: (code, url, message).
struct Poll {
    code: String,
    url: String,
}

impl Client {
    async fn new() -> Self {
        Self::with_config(SimConfig::default()).await
    }

    async fn with_config(config: SimConfig) -> Self {
        let h = Harness::with_config(config).await;
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(UA)
            .build()
            .expect("client builds");
        Self { h, http }
    }

    /// Step 9.1.1: the PNG and the qrsig cookie.
    async fn ptqrshow(&self) -> (Vec<u8>, String) {
        let url = format!(
            "{}?appid=716027609&e=2&l=M&s=3&d=72&v=4&t=0.{}&daid=383&pt_3rd_aid=100497308",
            self.h.url("/ptqrshow"),
            now_ms()
        );
        let resp = self
            .http
            .get(url)
            .header("Referer", PT_REFERER)
            .send()
            .await
            .expect("ptqrshow answers");
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "image/png");
        let qrsig = set_cookies(&resp).remove("qrsig").expect("a qrsig cookie");
        let png = resp.bytes().await.expect("png body").to_vec();
        (png, qrsig)
    }

    async fn ptqrlogin_with(&self, qrsig: &str, ptqrtoken: u64) -> Poll {
        let url = reqwest::Url::parse_with_params(
            &self.h.url("/ptqrlogin"),
            &[
                ("u1", "https://graph.qq.com/oauth2.0/login_jump".to_owned()),
                ("ptqrtoken", ptqrtoken.to_string()),
                ("ptredirect", "0".into()),
                ("h", "1".into()),
                ("t", "1".into()),
                ("g", "1".into()),
                ("from_ui", "1".into()),
                ("ptlang", "2052".into()),
                ("action", format!("0-0-{}", now_ms())),
                ("js_ver", "20102616".into()),
                ("js_type", "1".into()),
                ("pt_uistyle", "40".into()),
                ("aid", "716027609".into()),
                ("daid", "383".into()),
                ("pt_3rd_aid", "100497308".into()),
                ("has_onekey", "1".into()),
            ],
        )
        .expect("url");
        let resp = self
            .http
            .get(url)
            .header("Referer", PT_REFERER)
            .header("Cookie", format!("qrsig={qrsig}"))
            .send()
            .await
            .expect("ptqrlogin answers");
        assert_eq!(resp.status(), 200);
        let body = resp.text().await.expect("text");
        assert!(body.starts_with("ptuiCB('"), "{body}");
        assert!(body.ends_with("', '')") || body.contains("', '"), "{body}");
        let args = js_args(&body, "ptuiCB");
        assert_eq!(args.len(), 6, "{body}");
        Poll {
            code: args[0].clone(),
            url: args[2].clone(),
        }
    }

    /// Step 9.1.2 with the right ptqrtoken.
    async fn ptqrlogin(&self, qrsig: &str) -> Poll {
        self.ptqrlogin_with(qrsig, hash33(qrsig, 0)).await
    }

    /// Step 9.1.3, built from uin and ptsigx only: (status, cookies).
    async fn check_sig(&self, uin: &str, ptsigx: &str) -> (StatusCode, HashMap<String, String>) {
        let url = reqwest::Url::parse_with_params(
            &self.h.url("/check_sig"),
            &[
                ("uin", uin),
                ("pttype", "1"),
                ("service", "ptqrlogin"),
                ("nodirect", "0"),
                ("ptsigx", ptsigx),
                ("s_url", "https://graph.qq.com/oauth2.0/login_jump"),
                ("ptlang", "2052"),
                ("ptredirect", "100"),
                ("aid", "716027609"),
                ("daid", "383"),
                ("j_later", "0"),
                ("low_login_hour", "0"),
                ("regmaster", "0"),
                ("pt_login_type", "3"),
                ("pt_aid", "0"),
                ("pt_aaid", "16"),
                ("pt_light", "0"),
                ("pt_3rd_aid", "100497308"),
            ],
        )
        .expect("url");
        let resp = self
            .http
            .get(url)
            .header("Referer", PT_REFERER)
            .send()
            .await
            .expect("check_sig answers");
        (resp.status(), set_cookies(&resp))
    }

    /// Step 9.1.4: (status, Location).
    async fn authorize(
        &self,
        cookies: &HashMap<String, String>,
        g_tk: u64,
    ) -> (StatusCode, String) {
        let cookie = cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let form = [
            ("response_type", "code".to_owned()),
            ("client_id", "100497308".into()),
            ("redirect_uri", QQ_REDIRECT.into()),
            ("scope", "get_user_info,get_app_friends".into()),
            ("state", "state".into()),
            ("switch", String::new()),
            ("from_ptlogin", "1".into()),
            ("src", "1".into()),
            ("update_auth", "1".into()),
            ("openapi", "1010_1030".into()),
            ("g_tk", g_tk.to_string()),
            ("auth_time", now_ms().to_string()),
            ("ui", "0f8fad5b-d9cb-469f-a165-70867728950e".into()),
        ];
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter())
            .finish();
        let resp = self
            .http
            .post(self.h.url("/oauth2.0/authorize"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Cookie", cookie)
            .body(body)
            .send()
            .await
            .expect("authorize answers");
        let location = resp
            .headers()
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (resp.status(), location)
    }

    /// Steps 3 and 4 from a check_sig URL: the QQ Connect code.
    async fn code_from_check_sig_url(&self, url: &str) -> String {
        assert!(
            url.starts_with(&format!("{}/check_sig?", self.h.sim.base_url())),
            "{url}"
        );
        let q = query_of(url);
        let (status, cookies) = self.check_sig(&q["uin"], &q["ptsigx"]).await;
        assert_eq!(status, StatusCode::FOUND);
        let p_skey = cookies.get("p_skey").expect("a p_skey cookie").clone();
        assert!(cookies.contains_key("p_uin"), "{cookies:?}");
        let (status, location) = self.authorize(&cookies, hash33(&p_skey, 5381)).await;
        assert_eq!(status, StatusCode::FOUND, "{location}");
        assert!(location.starts_with(QQ_REDIRECT), "{location}");
        let q = query_of(&location);
        assert_eq!(q.get("state").map(String::as_str), Some("state"));
        q.get("code").expect("a code in Location").clone()
    }

    /// Step 9.1.5: the QQLogin sub-request.
    async fn qq_login(&self, code: &str) -> Value {
        let body = json!({
            "comm": {"ct": "19", "cv": "2201", "chid": "0", "g_tk": "5381",
                     "guid": "0123456789ABCDEF0123456789ABCDEF", "tmeLoginType": "2"},
            "req_0": {"module": "QQConnectLogin.LoginServer", "method": "QQLogin",
                      "param": {"code": code}}
        });
        self.h.musicu(&body, None).await["req_0"].clone()
    }

    /// Step 9.2.4: Login with a WeChat code.
    async fn wx_login(&self, code: &str) -> Value {
        let body = json!({
            "comm": {"ct": "19", "cv": "2201", "chid": "0", "g_tk": "5381",
                     "guid": "0123456789ABCDEF0123456789ABCDEF", "tmeLoginType": "1"},
            "req_0": {"module": "music.login.LoginServer", "method": "Login",
                      "param": {"code": code, "strAppid": WX_APPID}}
        });
        self.h.musicu(&body, None).await["req_0"].clone()
    }

    /// Step 9.2.1: the uuid from the page.
    async fn qrconnect(&self) -> String {
        let url = reqwest::Url::parse_with_params(
            &self.h.url("/connect/qrconnect"),
            &[
                ("appid", WX_APPID),
                (
                    "redirect_uri",
                    "https://y.qq.com/portal/wx_redirect.html?login_type=2&surl=https://y.qq.com/",
                ),
                ("response_type", "code"),
                ("scope", "snsapi_login"),
                ("state", "STATE"),
                (
                    "href",
                    "https://y.qq.com/mediastyle/music_v17/src/css/popup_wechat.css",
                ),
            ],
        )
        .expect("url");
        let resp = self.http.get(url).send().await.expect("qrconnect answers");
        assert_eq!(resp.status(), 200);
        let page = resp.text().await.expect("html");
        // The first match of `uuid=(.+?)"`.
        let start = page.find("uuid=").expect("uuid= in the page") + "uuid=".len();
        let len = page[start..].find('"').expect("a closing quote");
        page[start..start + len].to_owned()
    }

    /// Step 9.2.3: (wx_errcode, wx_code).
    async fn lp(&self, uuid: &str) -> (u16, String) {
        let url = format!(
            "{}?uuid={uuid}&_={}",
            self.h.url("/connect/l/qrconnect"),
            now_ms()
        );
        let resp = self
            .http
            .get(url)
            .header("Referer", "https://open.weixin.qq.com/")
            .send()
            .await
            .expect("lp answers");
        assert_eq!(resp.status(), 200);
        let body = resp.text().await.expect("text");
        let rest = body
            .strip_prefix("window.wx_errcode=")
            .unwrap_or_else(|| panic!("{body}"));
        let (code, rest) = rest.split_once(";window.wx_code='").expect("wx_code");
        let wx_code = rest.strip_suffix("';").expect("ends with ';");
        (code.parse().expect("numeric errcode"), wx_code.to_owned())
    }

    async fn act(&self, ident: &str, body: Value) -> (StatusCode, Value) {
        self.h.admin(&format!("/_sim/qr/{ident}"), body).await
    }

    async fn stat(&self, name: &str) -> u64 {
        self.h.get("/_sim/stats").await[name]
            .as_u64()
            .unwrap_or_default()
    }

    async fn jump(&self, uin: &str, key: &str) -> Vec<String> {
        let url = format!(
            "{}?clientuin={uin}&keyindex=9&pt_aid=716027609&daid=383&u1={}&pt_3rd_aid=100497308&ptopt=1&style=40",
            self.h.url("/jump"),
            "https%3A%2F%2Fgraph.qq.com%2Foauth2.0%2Flogin_jump"
        );
        let resp = self
            .http
            .get(url)
            .header("Cookie", format!("clientuin={uin}; clientkey={key}"))
            .send()
            .await
            .expect("jump answers");
        assert_eq!(resp.status(), 200);
        js_args(&resp.text().await.expect("text"), "ptui_qlogin_CB")
    }
}

/// The account a code login answered, ready for a Login refresh.
fn account_of(sub: &Value, kind: &'static str) -> Account {
    let d = &sub["data"];
    Account {
        kind,
        uin: str_of(d, "str_musicid")
            .parse()
            .expect("str_musicid digits"),
        musickey: str_of(d, "musickey").to_owned(),
        refresh_key: str_of(d, "refresh_key").to_owned(),
        refresh_token: str_of(d, "refresh_token").to_owned(),
    }
}

fn ident_of(qr_text: &str) -> String {
    let q = query_of(qr_text);
    assert!(qr_text.starts_with("https://txz.qq.com/p?"), "{qr_text}");
    assert_eq!(q.get("f").map(String::as_str), Some("716027609"));
    q.get("k").expect("k in the QR text").clone()
}

#[tokio::test]
async fn a_qq_qr_login_walks_from_ptqrshow_to_a_key_that_refreshes() {
    let c = Client::new().await;
    let (png, qrsig) = c.ptqrshow().await;
    let img = image::load_from_memory_with_format(&png, image::ImageFormat::Png)
        .expect("a PNG")
        .to_luma8();
    let ident = ident_of(&decode_qr(img));
    assert!(!ident.contains(&qrsig) && !qrsig.contains(&ident));

    let listed = c.h.get("/_sim/qr").await;
    assert_eq!(listed[0]["ident"], ident.as_str(), "{listed}");
    assert_eq!(listed[0]["kind"], "qq");
    assert_eq!(listed[0]["state"], "waiting");
    assert!(listed[0]["created"].as_i64().unwrap_or_default() > 1_600_000_000);

    assert_eq!(c.ptqrlogin(&qrsig).await.code, "66");
    let (status, v) = c.act(&ident, json!({"action": "scan"})).await;
    assert_eq!(
        (status, v["state"].clone()),
        (StatusCode::OK, json!("scanned"))
    );
    assert_eq!(c.ptqrlogin(&qrsig).await.code, "67");
    let (status, v) = c.act(&ident, json!({"action": "confirm"})).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let uin = v["uin"].as_u64().expect("confirm answers the new uin");

    let done = c.ptqrlogin(&qrsig).await;
    assert_eq!(done.code, "0");
    assert_eq!(query_of(&done.url)["uin"], uin.to_string());
    let code = c.code_from_check_sig_url(&done.url).await;

    let sub = c.qq_login(&code).await;
    assert_eq!(sub["code"], 0, "{sub}");
    let d = &sub["data"];
    assert_eq!(d["musicid"].as_u64(), Some(uin));
    assert!(str_of(d, "musickey").starts_with("Q_H_L_"), "{d}");
    assert_eq!(d["keyExpiresIn"], 259_200);
    assert_eq!(d["loginType"], 2);
    assert!(d["musickeyCreateTime"].as_i64().unwrap_or_default() > 1_600_000_000);

    let acct = account_of(&sub, "qq");
    let refreshed = c.h.login(&acct, &acct.musickey, "", "").await;
    assert_eq!(refreshed["code"], 0, "{refreshed}");
    assert_ne!(refreshed["data"]["musickey"], d["musickey"]);
    assert_eq!(c.h.vip(uin, &acct.musickey).await["code"], 0);

    assert_eq!(c.stat(&format!("ptlogin.ptqrlogin:{ident}")).await, 3);
    let secrets = c.h.get("/_sim/secrets").await["secrets"].to_string();
    for secret in [&qrsig, &code, &query_of(&done.url)["ptsigx"]] {
        assert!(secrets.contains(secret.as_str()), "{secret} not listed");
    }
    let listed = c.h.get("/_sim/qr").await;
    assert_eq!(listed[0]["state"], "confirmed");
}

#[tokio::test]
async fn a_wechat_qr_login_walks_from_qrconnect_to_a_key_that_refreshes() {
    let c = Client::with_config(SimConfig {
        wx_poll_hold: Duration::from_millis(300),
        ..SimConfig::default()
    })
    .await;
    let uuid = c.qrconnect().await;
    assert_eq!(uuid.len(), 16, "{uuid}");
    let resp = c
        .http
        .get(c.h.url(&format!("/connect/qrcode/{uuid}")))
        .header("Referer", "https://open.weixin.qq.com/connect/qrconnect")
        .send()
        .await
        .expect("qrcode answers");
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    let jpeg = resp.bytes().await.expect("jpeg");
    let img = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg)
        .expect("a JPEG")
        .to_luma8();
    assert_eq!(
        decode_qr(img),
        format!("https://open.weixin.qq.com/connect/confirm?uuid={uuid}")
    );

    let started = Instant::now();
    assert_eq!(c.lp(&uuid).await, (408, String::new()));
    assert!(started.elapsed() >= Duration::from_millis(250), "held");
    let (status, _) = c.act(&uuid, json!({"action": "scan"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(c.lp(&uuid).await.0, 404);
    let (_, v) = c.act(&uuid, json!({"action": "confirm"})).await;
    let uin = v["uin"].as_u64().expect("uin");
    let (errcode, code) = c.lp(&uuid).await;
    assert_eq!(errcode, 405);
    assert!(!code.is_empty());

    let sub = c.wx_login(&code).await;
    assert_eq!(sub["code"], 0, "{sub}");
    assert_eq!(str_of(&sub["data"], "str_musicid"), uin.to_string());
    assert!(str_of(&sub["data"], "musickey").starts_with("W_X_"));
    assert_eq!(sub["data"]["loginType"], 1);
    let acct = account_of(&sub, "wx");
    let refreshed = c.h.login(&acct, &acct.musickey, "", "").await;
    assert_eq!(refreshed["code"], 0, "{refreshed}");
    assert_eq!(c.stat(&format!("wx.lp:{uuid}")).await, 3);
    let secrets = c.h.get("/_sim/secrets").await["secrets"].to_string();
    assert!(secrets.contains(&code));
}

#[tokio::test]
async fn a_held_long_poll_answers_as_soon_as_the_qr_is_scanned() {
    let c = Client::with_config(SimConfig {
        wx_poll_hold: Duration::from_secs(20),
        ..SimConfig::default()
    })
    .await;
    let uuid = c.qrconnect().await;
    let started = Instant::now();
    let (answer, scanned) = tokio::join!(c.lp(&uuid), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        c.h.sim.qr_action(&uuid, QrAction::Scan, None)
    });
    assert_eq!(scanned.map(|s| s.0), Ok(QrState::Scanned));
    assert_eq!(answer.0, 404);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered at once"
    );
}

#[tokio::test]
async fn desktop_fast_login_turns_a_client_key_into_a_first_key() {
    let c = Client::new().await;
    let (status, v) = c.h.admin("/_sim/clients", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let uin = v["client_uin"].as_u64().expect("client_uin").to_string();
    let key = str_of(&v, "client_key").to_owned();
    let args = c.jump(&uin, &key).await;
    assert_eq!(args[0], "0", "{args:?}");
    assert_eq!(args[2], "");
    let code = c.code_from_check_sig_url(&args[1]).await;
    let sub = c.qq_login(&code).await;
    assert_eq!(sub["code"], 0, "{sub}");
    assert_eq!(sub["data"]["musicid"].to_string(), uin);
    let secrets = c.h.sim.issued_secrets();
    assert!(secrets.contains(&key) && secrets.contains(&code));
}

#[tokio::test]
async fn an_expired_or_unknown_client_key_is_refused_by_jump() {
    let c = Client::new().await;
    let known = c.h.qq().await;
    let (uin, key) = c.h.sim.new_client(Some(known.uin)).expect("a session");
    assert_eq!(uin, known.uin);
    assert_eq!(c.jump(&uin.to_string(), "0000").await[0], "-1");
    assert_eq!(c.jump(&uin.to_string(), &key).await[0], "0");
    let (status, _) =
        c.h.admin(&format!("/_sim/clients/{uin}/expire"), json!({}))
            .await;
    assert_eq!(status, StatusCode::OK);
    let args = c.jump(&uin.to_string(), &key).await;
    assert_eq!((args[0].as_str(), args[1].as_str()), ("-1", ""));
    let (status, v) = c.h.admin("/_sim/clients/42/expire", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
}

#[tokio::test]
async fn a_qr_expires_two_minutes_after_it_was_made_on_the_sim_clock() {
    let c = Client::new().await;
    let (_, qrsig) = c.ptqrshow().await;
    let uuid = c.qrconnect().await;
    c.h.sim.advance_clock(119);
    assert_eq!(c.ptqrlogin(&qrsig).await.code, "66");
    c.h.sim.advance_clock(1);
    assert_eq!(c.ptqrlogin(&qrsig).await.code, "65");
    assert_eq!(c.lp(&uuid).await.0, 402);
    let states: Vec<&str> = c.h.sim.qr_logins().iter().map(|l| l.state).collect();
    assert_eq!(states, ["expired", "expired"]);
    let (status, v) = c.act(&uuid, json!({"action": "confirm"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    assert!(str_of(&v, "error").contains("expired"), "{v}");
}

#[tokio::test]
async fn a_qr_refused_on_the_phone_answers_68_and_403() {
    let c = Client::new().await;
    let (png, qrsig) = c.ptqrshow().await;
    let img = image::load_from_memory(&png).expect("png").to_luma8();
    let ident = ident_of(&decode_qr(img));
    let uuid = c.qrconnect().await;
    c.act(&ident, json!({"action": "scan"})).await;
    let (status, _) = c.act(&ident, json!({"action": "refuse"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = c.act(&uuid, json!({"action": "refuse"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(c.ptqrlogin(&qrsig).await.code, "68");
    assert_eq!(c.lp(&uuid).await, (403, String::new()));
}

#[tokio::test]
async fn a_wrong_ptqrtoken_is_an_error_that_does_not_advance_the_login() {
    let c = Client::new().await;
    let (_, qrsig) = c.ptqrshow().await;
    let ident = c.h.sim.qr_logins()[0].ident.clone();
    c.h.sim
        .qr_action(&ident, QrAction::Confirm, None)
        .expect("confirm");
    let wrong = c.ptqrlogin_with(&qrsig, hash33(&qrsig, 5381)).await;
    assert!(
        !["0", "65", "66", "67", "68"].contains(&wrong.code.as_str()),
        "{}",
        wrong.code
    );
    assert_eq!(wrong.url, "");
    assert_eq!(c.stat(&format!("ptlogin.ptqrlogin:{ident}")).await, 0);
    assert_eq!(c.ptqrlogin("not-a-qrsig").await.code, "65");
    assert_eq!(c.ptqrlogin(&qrsig).await.code, "0");
}

#[tokio::test]
async fn authorize_refuses_a_wrong_g_tk_and_a_missing_p_skey() {
    let c = Client::new().await;
    let (uin, key) = c.h.sim.new_client(None).expect("a session");
    let args = c.jump(&uin.to_string(), &key).await;
    let q = query_of(&args[1]);
    let (_, cookies) = c.check_sig(&q["uin"], &q["ptsigx"]).await;
    let p_skey = cookies["p_skey"].clone();
    let (status, location) = c.authorize(&cookies, hash33(&p_skey, 0)).await;
    assert_eq!((status, location.as_str()), (StatusCode::FORBIDDEN, ""));
    let mut without = cookies.clone();
    without.remove("p_skey");
    let (status, _) = c.authorize(&without, hash33(&p_skey, 5381)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mut other_uin = cookies.clone();
    other_uin.insert("p_uin".into(), format!("o{:010}", uin + 1));
    let (status, _) = c.authorize(&other_uin, hash33(&p_skey, 5381)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = c.authorize(&cookies, hash33(&p_skey, 5381)).await;
    assert_eq!(status, StatusCode::FOUND);
}

#[tokio::test]
async fn a_ptsigx_serves_once_and_only_for_its_uin() {
    let c = Client::new().await;
    let (uin, key) = c.h.sim.new_client(None).expect("a session");
    let q = query_of(&c.jump(&uin.to_string(), &key).await[1]);
    let (status, cookies) = c.check_sig(&(uin + 1).to_string(), &q["ptsigx"]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(cookies.is_empty());
    assert_eq!(
        c.check_sig(&q["uin"], &q["ptsigx"]).await.0,
        StatusCode::FOUND
    );
    assert_eq!(
        c.check_sig(&q["uin"], &q["ptsigx"]).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn each_code_logs_in_once_and_only_on_its_own_gateway_method() {
    let c = Client::new().await;
    let (uin, key) = c.h.sim.new_client(None).expect("a session");
    let code = c
        .code_from_check_sig_url(&c.jump(&uin.to_string(), &key).await[1])
        .await;
    assert_eq!(
        c.wx_login(&code).await["code"],
        20271,
        "a QQ code is no WeChat code"
    );
    assert_eq!(c.qq_login(&code).await["code"], 0);
    let again = c.qq_login(&code).await;
    assert_eq!(again["code"], 20271, "{again}");
    assert_eq!(again["data"]["musickey"], "");

    let uuid = c.qrconnect().await;
    c.h.sim
        .qr_action(&uuid, QrAction::Confirm, None)
        .expect("confirm");
    let (_, wx_code) = c.lp(&uuid).await;
    assert_eq!(c.wx_login(&wx_code).await["code"], 0);
    assert_eq!(c.wx_login(&wx_code).await["code"], 20271);
    assert_eq!(c.qq_login("").await["code"], 20261);
}

#[tokio::test]
async fn a_code_expires_ten_minutes_after_it_was_issued() {
    let c = Client::new().await;
    let uuid = c.qrconnect().await;
    c.h.sim
        .qr_action(&uuid, QrAction::Confirm, None)
        .expect("confirm");
    let (_, code) = c.lp(&uuid).await;
    c.h.sim.advance_clock(600);
    assert_eq!(c.wx_login(&code).await["code"], 20271);
}

#[tokio::test]
async fn confirm_logs_in_an_existing_account_of_the_qrs_kind_only() {
    let c = Client::new().await;
    let qq = c.h.qq().await;
    let wx = c.h.wx().await;
    let uuid = c.qrconnect().await;
    let (status, v) = c
        .act(&uuid, json!({"action": "confirm", "uin": qq.uin}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let (status, _) = c.act(&uuid, json!({"action": "confirm", "uin": 42})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = c.act(&uuid, json!({"action": "scan", "uin": wx.uin})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, v) = c
        .act(&uuid, json!({"action": "confirm", "uin": wx.uin}))
        .await;
    assert_eq!((status, v["uin"].as_u64()), (StatusCode::OK, Some(wx.uin)));
    let (_, code) = c.lp(&uuid).await;
    let sub = c.wx_login(&code).await;
    assert_eq!(str_of(&sub["data"], "str_musicid"), wx.uin.to_string());
    // The old key of that account still refreshes: a login adds a session.
    assert_eq!(c.h.login(&wx, &wx.musickey, "", "").await["code"], 0);
}

#[tokio::test]
async fn bad_control_requests_get_a_clear_json_error() {
    let c = Client::new().await;
    let (status, v) = c.act("nope", json!({"action": "scan"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    let uuid = c.qrconnect().await;
    for bad in [
        json!({"action": "dance"}),
        json!({}),
        json!({"action": "scan", "x": 1}),
    ] {
        let (status, v) = c.act(&uuid, bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {v}");
        assert!(v["error"].is_string(), "{v}");
    }
    c.act(&uuid, json!({"action": "scan"})).await;
    let (status, v) = c.act(&uuid, json!({"action": "scan"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    let wx = c.h.wx().await;
    let (status, _) = c.h.admin("/_sim/clients", json!({"uin": wx.uin})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_login_hosts_name_a_missing_or_wrong_field_with_400() {
    let c = Client::new().await;
    let resp = c
        .http
        .get(c.h.url("/ptqrshow?appid=1&e=2&l=M&s=3&d=72&v=4&t=0.5&daid=383&pt_3rd_aid=100497308"))
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap_or_default().contains("appid"));
    let resp = c
        .http
        .get(c.h.url("/connect/qrconnect?appid=wx48db31d50e334801"))
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status(), 400);
    assert!(resp
        .text()
        .await
        .unwrap_or_default()
        .contains("redirect_uri"));
    let resp = c
        .http
        .post(c.h.url("/oauth2.0/authorize"))
        .body("response_type=token")
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status(), 400);
    assert!(resp
        .text()
        .await
        .unwrap_or_default()
        .contains("response_type"));
}

#[tokio::test]
async fn the_login_hosts_show_in_the_request_log_with_their_headers() {
    let c = Client::new().await;
    c.ptqrshow().await;
    let log = c.h.get("/_sim/requests").await;
    let entry = &log[0];
    assert_eq!(entry["kind"], "login", "{log}");
    assert_eq!(entry["path"], "/ptqrshow");
    assert_eq!(entry["headers"]["referer"], PT_REFERER);
    assert_eq!(entry["headers"]["user-agent"], UA);
    assert_eq!(c.stat("ptlogin.ptqrshow").await, 1);
}

#[tokio::test]
async fn qr_logins_are_listed_newest_first() {
    let c = Client::new().await;
    c.ptqrshow().await;
    let uuid = c.qrconnect().await;
    let listed = c.h.sim.qr_logins();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        (listed[0].ident.as_str(), listed[0].kind),
        (uuid.as_str(), "wx")
    );
    assert_eq!(listed[1].kind, "qq");
}

#[tokio::test]
async fn a_held_long_poll_sees_its_qr_expire_when_the_clock_jumps() {
    let c = Client::with_config(SimConfig {
        wx_poll_hold: Duration::from_secs(20),
        ..SimConfig::default()
    })
    .await;
    let uuid = c.qrconnect().await;
    let started = Instant::now();
    let (answer, ()) = tokio::join!(c.lp(&uuid), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        c.h.sim.advance_clock(120);
    });
    assert_eq!(answer.0, 402);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_new_qr_login_revives_a_logged_out_account_but_not_its_old_keys() {
    let c = Client::new().await;
    let old = c.h.qq().await;
    let (status, _) =
        c.h.admin(&format!("/_sim/accounts/{}/logout", old.uin), json!({}))
            .await;
    assert_eq!(status, StatusCode::OK);
    let (_, qrsig) = c.ptqrshow().await;
    let ident = c.h.sim.qr_logins()[0].ident.clone();
    let confirmed = c.h.sim.qr_action(&ident, QrAction::Confirm, Some(old.uin));
    assert_eq!(confirmed, Ok((QrState::Confirmed, Some(old.uin))));
    let url = c.ptqrlogin(&qrsig).await.url;
    let code = c.code_from_check_sig_url(&url).await;
    let fresh = account_of(&c.qq_login(&code).await, "qq");
    assert_eq!(fresh.uin, old.uin);
    let stale =
        c.h.login(&old, &old.musickey, &old.refresh_key, &old.refresh_token)
            .await;
    assert_eq!(stale["code"], 1000, "{stale}");
    let renewed = c.h.login(&fresh, &fresh.musickey, "", "").await;
    assert_eq!(renewed["code"], 0, "{renewed}");
}
