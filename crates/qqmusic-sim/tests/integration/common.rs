//! Helpers shared by the integration tests.

use qqmusic_sim::{SimConfig, Simulator};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub const LOGIN: &str = "music.login.LoginServer.Login";
pub const VIP: &str = "VipLogin.VipLoginInter.vip_login_base";

/// An account as `POST /_sim/accounts` answered it.
#[derive(Debug, Clone)]
pub struct Account {
    pub kind: &'static str,
    pub uin: u64,
    pub musickey: String,
    pub refresh_key: String,
    pub refresh_token: String,
}

pub struct Harness {
    pub sim: Simulator,
    pub http: reqwest::Client,
}

/// hash33 written out again here so the tests do not trust the crate's copy.
pub fn hash33(s: &str) -> u64 {
    let mut h: u64 = 5381;
    for c in s.bytes() {
        h = (h.wrapping_mul(33).wrapping_add(u64::from(c))) & 0xffff_ffff;
    }
    h & 0x7fff_ffff
}

pub fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field].as_str().unwrap_or_default()
}

impl Harness {
    pub async fn new() -> Self {
        Self::with_config(SimConfig::default()).await
    }

    pub async fn with_config(config: SimConfig) -> Self {
        let sim = Simulator::spawn("127.0.0.1:0", config)
            .await
            .expect("simulator binds 127.0.0.1:0");
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("reqwest client builds");
        Self { sim, http }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.sim.base_url(), path)
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, self.url(path));
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await.expect("admin request is answered");
        let status = resp.status();
        let json = resp.json().await.expect("admin answers JSON");
        (status, json)
    }

    pub async fn admin(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send_json(reqwest::Method::POST, path, Some(&body))
            .await
    }

    pub async fn get(&self, path: &str) -> Value {
        let (status, v) = self.send_json(reqwest::Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {v}");
        v
    }

    pub async fn create(&self, kind: &'static str, vip_end: Value, svip_end: Value) -> Account {
        let (status, v) = self
            .admin(
                "/_sim/accounts",
                json!({"kind": kind, "vip_end": vip_end, "svip_end": svip_end}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        Account {
            kind,
            uin: v["uin"].as_u64().expect("uin is a u64 number"),
            musickey: str_of(&v, "musickey").to_owned(),
            refresh_key: str_of(&v, "refresh_key").to_owned(),
            refresh_token: str_of(&v, "refresh_token").to_owned(),
        }
    }

    pub async fn qq(&self) -> Account {
        self.create("qq", Value::Null, Value::Null).await
    }

    pub async fn wx(&self) -> Account {
        self.create("wx", Value::Null, Value::Null).await
    }

    /// POSTs `body` to musicu.fcg; asserts HTTP 200 and a JSON answer.
    pub async fn musicu(&self, body: &Value, cookie: Option<&str>) -> Value {
        let mut req = self
            .http
            .post(self.url("/cgi-bin/musicu.fcg"))
            .header("Referer", "https://y.qq.com/")
            .json(body);
        if let Some(c) = cookie {
            req = req.header("Cookie", c);
        }
        let resp = req.send().await.expect("gateway answers");
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json().await.expect("gateway answers JSON")
    }

    /// Login with `key` and the given refresh pair; answers `req_0`.
    pub async fn login(&self, acct: &Account, key: &str, rk: &str, rt: &str) -> Value {
        let body = login_body(acct, key, rk, rt);
        let answer = self.musicu(&body, Some(&login_cookie(acct, key))).await;
        assert_eq!(answer["code"], 0, "{answer}");
        answer["req_0"].clone()
    }

    /// vip_login_base with `key` in the cookie, as the protocol says.
    pub async fn vip(&self, uin: u64, key: &str) -> Value {
        let body = json!({
            "comm": {"ct": "19", "cv": "2201", "uin": uin.to_string(), "g_tk": hash33(key).to_string()},
            "req_0": {"module": "VipLogin.VipLoginInter", "method": "vip_login_base", "param": {}}
        });
        let cookie = format!("uin={uin}; qqmusic_uin={uin}; qqmusic_key={key}; qm_keyst={key}");
        let answer = self.musicu(&body, Some(&cookie)).await;
        answer["req_0"].clone()
    }
}

/// The cookie set a keyed call carries (docs/protocol.md section 1).
pub fn login_cookie(acct: &Account, key: &str) -> String {
    let t = if acct.kind == "wx" { 1 } else { 2 };
    format!(
        "uin={u}; qqmusic_uin={u}; qqmusic_key={key}; qm_keyst={key}; tmeLoginType={t}",
        u = acct.uin
    )
}

/// The documented Login body for the account's kind (docs/protocol.md section 3).
pub fn login_body(acct: &Account, key: &str, rk: &str, rt: &str) -> Value {
    let comm = |t: &str| {
        json!({"ct": "19", "cv": "2201", "chid": "0", "uin": acct.uin.to_string(),
               "g_tk": hash33(key).to_string(), "guid": "0123456789ABCDEF0123456789ABCDEF",
               "tmeLoginType": t})
    };
    let (comm, param) = if acct.kind == "qq" {
        (
            comm("2"),
            json!({"openid": "", "access_token": "", "refresh_token": rt, "expired_in": 0,
                   "musicid": acct.uin, "musickey": key, "refresh_key": rk, "loginMode": 2}),
        )
    } else {
        (
            comm("1"),
            json!({"openid": "", "refresh_token": rt, "str_musicid": acct.uin.to_string(),
                   "musickey": key, "unionid": "", "refresh_key": rk, "loginMode": 2}),
        )
    };
    json!({"comm": comm, "req_0": {"module": "music.login.LoginServer", "method": "Login", "param": param}})
}
