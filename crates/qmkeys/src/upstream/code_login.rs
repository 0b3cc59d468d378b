//! Logging in with what a QR login confirmed (docs/protocol.md sections 9.1
//! step 5 and 9.2 step 4): [`UpstreamClient::code_login`], the gateway call
//! every login kind ends with, and QQ Connect's `QQLogin`, which QQ's QR and
//! desktop fast login share. No key exists yet, so these carry no uin, no
//! cookie and `g_tk` 5381.

use super::{Caller, LoginGrant, Profile, Route, UpstreamClient, UpstreamError};
use serde_json::{json, Value};

pub(super) const QQ_MODULE: &str = "QQConnectLogin.LoginServer";
pub(super) const QQ_METHOD: &str = "QQLogin";

fn qq_param(code: &str) -> Value {
    json!({ "code": code })
}

const APP_QR_MODULE: &str = "music.login.LoginServer";
const APP_QR_METHOD: &str = "CreateQRCode";

fn app_qr_param() -> Value {
    json!({ "tmeAppID": "qqmusic", "ct": 19, "cv": 2201 })
}

impl UpstreamClient {
    /// `QQConnectLogin.LoginServer.QQLogin`: a QQ Connect code for a first key.
    /// Never retried: a code is good for one use.
    pub async fn qq_connect_login(&self, code: &str) -> Result<LoginGrant, UpstreamError> {
        self.code_login(QQ_MODULE, QQ_METHOD, qq_param(code), "2")
            .await
    }

    /// `module.method` with `param`, sent as a first login: no uin, no
    /// cookie, `g_tk` 5381 and `tmeLoginType` `login_type`; the answer read
    /// as a Login's. Never retried: what it trades is good for one use.
    pub async fn code_login(
        &self,
        module: &'static str,
        method: &'static str,
        param: Value,
        login_type: &'static str,
    ) -> Result<LoginGrant, UpstreamError> {
        let data = self.keyless_call(module, method, param, login_type).await?;
        LoginGrant::from_data(&data)
    }

    /// Any gateway call made before a key exists, as [`Self::code_login`]
    /// sends it, answering the call's `data`: for a login kind whose QR
    /// itself comes from the gateway. Never retried.
    pub async fn keyless_call(
        &self,
        module: &'static str,
        method: &'static str,
        param: Value,
        login_type: &'static str,
    ) -> Result<Value, UpstreamError> {
        let caller = Caller {
            who: None,
            login_type: Some(login_type),
            profile: Profile::Desktop,
        };
        self.call(Route::Unsigned, module, method, param, &caller)
            .await
    }

    /// `music.login.LoginServer.CreateQRCode` (docs/protocol.md section
    /// 10.1 step 1): the app QR's own comm, no key, no login type. Answers
    /// its `data` (`qrcode`, `qrcodeID`). Never retried: each makes a QR.
    pub async fn create_app_qr(&self) -> Result<Value, UpstreamError> {
        let caller = Caller {
            who: None,
            login_type: None,
            profile: Profile::AppQr,
        };
        self.call(
            Route::Unsigned,
            APP_QR_MODULE,
            APP_QR_METHOD,
            app_qr_param(),
            &caller,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_exactly_the_protocols() {
        assert_eq!(qq_param("C0DE"), json!({"code":"C0DE"}));
    }

    #[test]
    fn a_code_login_sends_no_cookie_no_uin_and_g_tk_5381() {
        let caller = Caller {
            who: None,
            login_type: Some("2"),
            profile: Profile::Desktop,
        };
        let headers = super::super::headers(&caller).expect("headers");
        assert!(headers.get(reqwest::header::COOKIE).is_none());
        let client = UpstreamClient::new(&super::super::UpstreamSettings {
            base: "http://127.0.0.1:1".parse().expect("url"),
            timeout: std::time::Duration::from_secs(1),
            connect_timeout: std::time::Duration::from_secs(1),
            guard: super::super::GuardSettings {
                max_in_flight: 1,
                failure_threshold: 1,
                cooldown: std::time::Duration::from_secs(1),
            },
            retries: 0,
        })
        .expect("client");
        let body = client.body(QQ_MODULE, QQ_METHOD, qq_param("c"), &caller);
        let body: Value = serde_json::from_slice(&body).expect("json");
        assert!(body["comm"].get("uin").is_none(), "{body}");
        assert_eq!(body["comm"]["g_tk"], "5381");
        assert_eq!(body["comm"]["tmeLoginType"], "2");
        assert_eq!(body["req_0"]["module"], QQ_MODULE);

        let app = Caller {
            who: None,
            login_type: None,
            profile: Profile::AppQr,
        };
        assert!(super::super::headers(&app)
            .expect("headers")
            .get(reqwest::header::COOKIE)
            .is_none());
        let body = client.body(APP_QR_MODULE, APP_QR_METHOD, app_qr_param(), &app);
        let body: Value = serde_json::from_slice(&body).expect("json");
        let guid = body["comm"]["guid"].clone();
        assert_eq!(
            body,
            json!({
                "comm": {"ct":"23","cv":"0","chid":"0","g_tk":"5381","guid":guid},
                "req_0": {"module":"music.login.LoginServer","method":"CreateQRCode",
                          "param":{"tmeAppID":"qqmusic","ct":19,"cv":2201}},
            }),
            "docs/protocol.md section 10.1 step 1, field for field"
        );
        assert!(guid.as_str().is_some_and(|g| g.len() == 32));
    }
}
