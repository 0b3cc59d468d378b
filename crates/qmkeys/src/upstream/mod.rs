//! The QQ Music gateway client (docs/protocol.md sections 1-4).
//!
//! One `call` does the wire work for every module.method; the submodules build
//! parameters and read answers for each call qmkeys makes.

mod code_login;
mod error;
mod filesys;
mod guard;
mod login;
mod session;
mod sign;
mod vip;

pub use error::{Rejection, UpstreamError};
pub use filesys::{CosCredential, UploadGrant};
pub use guard::GuardSettings;
pub use login::{LoginGrant, APP_LOGIN_TYPE, DEFAULT_KEY_LIFETIME_SECS};
pub use session::KeyCheck;
pub use sign::{hash33, zzc_sign};
pub use vip::VipStatus;

use crate::backoff::Backoff;
use crate::domain::{Credential, MusicKey, Uin, UploadFile};
use guard::Guard;
use rand::Rng;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE, COOKIE, ORIGIN, REFERER};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

const USER_AGENT: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36";
/// Upstream answers are a few KiB; anything far larger is not an answer we can use.
const MAX_ANSWER_BYTES: usize = 1 << 20;

/// Between retries of a repeat-safe call: 100 ms doubling up to 6.4 s, plus up to half again.
const RETRY_BACKOFF: Backoff = Backoff {
    first: Duration::from_millis(100),
    factor: 2,
    max: Duration::from_millis(6400),
    jitter: 0.5,
};

#[derive(Debug, Clone)]
pub struct UpstreamSettings {
    pub base: Url,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub guard: GuardSettings,
    /// Extra attempts for calls that are safe to repeat (never Login).
    pub retries: u32,
}

/// Which gateway route a call goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// `musicu.fcg`, unsigned.
    Unsigned,
    /// `musics.fcg?sign=..&_=..`, zzc-signed.
    Signed,
}

/// Who a call is made as: the uin and key go into `comm` and the `Cookie` header.
struct Caller<'a> {
    /// None for a login with a code: no key exists yet (docs/protocol.md section 9).
    who: Option<(Uin, &'a MusicKey)>,
    /// Login calls also say which kind of login (`tmeLoginType`) it is.
    login_type: Option<&'static str>,
    /// The `comm` profile: the desktop client's, or the app QR's own.
    profile: Profile,
}

/// Which `comm` a call sends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Profile {
    /// Section 1's desktop comm: `ct "19"`, `cv "2201"`.
    Desktop,
    /// Section 10.1 step 1: `ct "23"`, `cv "0"`, `chid "0"`, `g_tk "5381"`
    /// and the guid, nothing else.
    AppQr,
}

impl<'a> Caller<'a> {
    fn keyed(uin: Uin, key: &'a MusicKey) -> Self {
        Self {
            who: Some((uin, key)),
            login_type: None,
            profile: Profile::Desktop,
        }
    }
}

#[derive(Debug, Clone)]
pub struct UpstreamClient {
    http: reqwest::Client,
    base: Url,
    /// A device id, as the desktop client sends one per installation.
    guid: String,
    /// Shared by every clone: one breaker and one in-flight cap per process.
    guard: Arc<Guard>,
    timeout: Duration,
    retries: u32,
    metrics: Option<Arc<crate::metrics::Metrics>>,
}

impl UpstreamClient {
    pub fn new(settings: &UpstreamSettings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout)
            // A redirect would carry the Cookie header somewhere we did not choose.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let guid = format!("{:032X}", rand::thread_rng().gen::<u128>());
        Ok(Self {
            http,
            base: settings.base.clone(),
            guid,
            guard: Arc::new(Guard::new(settings.guard)),
            timeout: settings.timeout,
            retries: settings.retries,
            metrics: None,
        })
    }

    /// Counts every call in `metrics` from now on.
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// `music.login.LoginServer.Login`: trades a credential for a new, rotated one.
    /// Never retried here: a second Login would rotate the key again.
    pub async fn login(&self, cred: &Credential) -> Result<LoginGrant, UpstreamError> {
        self.login_as(cred, None).await
    }

    /// [`Self::login`] for an account issued with `login_type`: an app QR's
    /// (6) sends `tmeLoginType` 6 and the union param set (docs/protocol.md
    /// section 10.1); None or any other sends the kind's own (section 3).
    pub async fn login_as(
        &self,
        cred: &Credential,
        login_type: Option<u8>,
    ) -> Result<LoginGrant, UpstreamError> {
        let app = login_type == Some(login::APP_LOGIN_TYPE);
        let caller = Caller {
            who: Some((cred.uin, &cred.key)),
            login_type: Some(if app { "6" } else { cred.kind().login_type() }),
            profile: Profile::Desktop,
        };
        let param = if app {
            login::union_param(cred)
        } else {
            login::param(cred)
        };
        let data = self
            .call(
                Route::Unsigned,
                login::MODULE,
                login::METHOD,
                param,
                &caller,
            )
            .await?;
        LoginGrant::from_data(&data)
    }

    /// `VipLogin.VipLoginInter.vip_login_base`, made with the new key after a refresh.
    pub async fn vip_status(&self, uin: Uin, key: &MusicKey) -> Result<VipStatus, UpstreamError> {
        let caller = Caller::keyed(uin, key);
        let data = self
            .with_retries(|| {
                self.call(
                    Route::Unsigned,
                    vip::MODULE,
                    vip::METHOD,
                    json!({}),
                    &caller,
                )
            })
            .await?;
        Ok(VipStatus::from_data(&data))
    }

    /// `music.UserInfo.userInfoServer.GetLoginUserInfo`: whether `key` still
    /// logs in as `uin`, without rotating it (docs/protocol.md section 10.2).
    /// Repeat-safe, so retried like `vip_status`.
    pub async fn check_key(&self, uin: Uin, key: &MusicKey) -> Result<KeyCheck, UpstreamError> {
        let caller = Caller::keyed(uin, key);
        let result = self
            .with_retries(|| {
                self.call(
                    Route::Unsigned,
                    session::INFO_MODULE,
                    session::INFO_METHOD,
                    json!({}),
                    &caller,
                )
            })
            .await;
        KeyCheck::from_result(result)
    }

    /// `music.login.LoginServer.Logout`: ends the session of `key`, so it and
    /// its refresh pair stop working (docs/protocol.md section 10.3). Not
    /// retried: after a lost answer a second Logout would meet a dead key.
    pub async fn logout(&self, uin: Uin, key: &MusicKey) -> Result<(), UpstreamError> {
        let caller = Caller::keyed(uin, key);
        self.call(
            Route::Unsigned,
            session::LOGOUT_MODULE,
            session::LOGOUT_METHOD,
            json!({}),
            &caller,
        )
        .await
        .map(drop)
    }

    /// `music.filesys.FileSystem.InitUpload`: a temporary COS credential and an
    /// object key for one file, made as the upload account `cred`.
    pub async fn init_upload(
        &self,
        cred: &Credential,
        file: &UploadFile,
    ) -> Result<UploadGrant, UpstreamError> {
        let caller = Caller::keyed(cred.uin, &cred.key);
        let data = self
            .with_retries(|| {
                self.call(
                    Route::Signed,
                    filesys::MODULE,
                    filesys::INIT_UPLOAD,
                    filesys::init_param(file),
                    &caller,
                )
            })
            .await?;
        UploadGrant::from_data(&data)
    }

    /// Repeats a call that is safe to repeat after a quick failure, with
    /// exponential backoff and jitter.
    async fn with_retries<F, Fut>(&self, mut call: F) -> Result<Value, UpstreamError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Value, UpstreamError>>,
    {
        let mut attempt = 0;
        loop {
            let result = call().await;
            match &result {
                Err(err) if err.is_retryable() && attempt < self.retries => {
                    tracing::debug!(attempt, error = %err, "retrying a repeat-safe upstream call");
                    tokio::time::sleep(RETRY_BACKOFF.pause(attempt + 1)).await;
                    attempt += 1;
                }
                _ => return result,
            }
        }
    }

    /// One call through the breaker and the in-flight cap.
    async fn call(
        &self,
        route: Route,
        module: &str,
        method: &str,
        param: Value,
        caller: &Caller<'_>,
    ) -> Result<Value, UpstreamError> {
        let started = std::time::Instant::now();
        let result = match self.guard.enter(self.timeout).await {
            Ok(pass) => {
                let result = self.send(route, module, method, param, caller).await;
                pass.finish(&result);
                result
            }
            Err(err) => Err(err),
        };
        if let Some(m) = &self.metrics {
            let call = format!("{module}.{method}");
            m.upstream_calls
                .with_label_values(&[call.as_str(), outcome(&result)])
                .inc();
            m.upstream_seconds
                .with_label_values(&[call.as_str()])
                .observe(started.elapsed().as_secs_f64());
        }
        result
    }

    async fn send(
        &self,
        route: Route,
        module: &str,
        method: &str,
        param: Value,
        caller: &Caller<'_>,
    ) -> Result<Value, UpstreamError> {
        let body = self.body(module, method, param, caller);
        let url = self.url(route, &body)?;
        let response = self
            .http
            .post(url)
            .headers(headers(caller)?)
            .body(body)
            .send()
            .await
            .map_err(UpstreamError::from_transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(UpstreamError::Status(status.as_u16()));
        }
        let bytes = read_limited(response).await?;
        let answer: Value = serde_json::from_slice(&bytes)
            .map_err(|_| UpstreamError::Unreadable("answer is not JSON"))?;
        error::open_envelope(answer, module, method)
    }

    fn body(&self, module: &str, method: &str, param: Value, caller: &Caller<'_>) -> Vec<u8> {
        let mut comm = Map::new();
        if caller.profile == Profile::AppQr {
            for (k, v) in [("ct", "23"), ("cv", "0"), ("chid", "0"), ("g_tk", "5381")] {
                comm.insert(k.into(), v.into());
            }
            comm.insert("guid".into(), self.guid.clone().into());
            let body = json!({
                "comm": comm,
                "req_0": {"module": module, "method": method, "param": param},
            });
            return serde_json::to_vec(&body).unwrap_or_default();
        }
        comm.insert("ct".into(), "19".into());
        comm.insert("cv".into(), "2201".into());
        comm.insert("chid".into(), "0".into());
        // Without a key, g_tk is hash33 of nothing: 5381.
        let key = caller.who.map_or("", |(_, key)| key.expose());
        if let Some((uin, _)) = caller.who {
            comm.insert("uin".into(), uin.to_string().into());
        }
        comm.insert("g_tk".into(), hash33(key).to_string().into());
        comm.insert("guid".into(), self.guid.clone().into());
        if let Some(login_type) = caller.login_type {
            comm.insert("tmeLoginType".into(), login_type.into());
        }
        let body = json!({
            "comm": comm,
            "req_0": {"module": module, "method": method, "param": param},
        });
        // Serialising a Value built from strings and numbers cannot fail.
        serde_json::to_vec(&body).unwrap_or_default()
    }

    fn url(&self, route: Route, body: &[u8]) -> Result<Url, UpstreamError> {
        let path = match route {
            Route::Unsigned => "cgi-bin/musicu.fcg",
            Route::Signed => "cgi-bin/musics.fcg",
        };
        let mut url = join(&self.base, path)?;
        if route == Route::Signed {
            let now_ms = chrono::Utc::now().timestamp_millis().to_string();
            url.query_pairs_mut()
                .append_pair("sign", &zzc_sign(body))
                .append_pair("_", &now_ms);
        }
        Ok(url)
    }
}

/// Joins a path onto the configured base, keeping any path prefix the base has.
fn join(base: &Url, path: &str) -> Result<Url, UpstreamError> {
    let mut base = base.clone();
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    base.join(path)
        .map_err(|_| UpstreamError::Unreadable("upstream base URL cannot take a path"))
}

fn headers(caller: &Caller<'_>) -> Result<HeaderMap, UpstreamError> {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(REFERER, HeaderValue::from_static("https://y.qq.com/"));
    headers.insert(ORIGIN, HeaderValue::from_static("https://y.qq.com"));
    // A login with a code has no key to send, so no cookie either.
    let Some((uin, key)) = caller.who else {
        return Ok(headers);
    };
    // The reference client's cookie set (docs/protocol.md section 1); the
    // gateway treats a keyed call without `uin` and `qqmusic_key` as logged out.
    let cookie = crate::domain::cookie_line(uin, key, key.kind().login_type());
    // MusicKey only admits visible ASCII without ';' or ',', so this cannot fail
    // for a parsed key; mark it sensitive so no debug output ever prints it.
    let mut value = HeaderValue::from_str(&cookie)
        .map_err(|_| UpstreamError::Unreadable("key cannot go into a cookie"))?;
    value.set_sensitive(true);
    headers.insert(COOKIE, value);
    Ok(headers)
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, UpstreamError> {
    let mut out = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(UpstreamError::from_transport)?
    {
        if out.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(UpstreamError::Unreadable("answer is too large"));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// A metrics label: one of a few fixed words.
fn outcome<T>(result: &Result<T, UpstreamError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(UpstreamError::Rejected { .. }) => "rejected",
        Err(UpstreamError::Timeout) => "timeout",
        Err(UpstreamError::Connect | UpstreamError::Transport) => "connection",
        Err(UpstreamError::Status(_)) => "http_error",
        Err(UpstreamError::Unreadable(_) | UpstreamError::Gateway(_)) => "unreadable",
        Err(UpstreamError::CircuitOpen) => "circuit_open",
        Err(UpstreamError::Busy) => "busy",
        Err(UpstreamError::LeaseBusy) => "lease_busy",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookie_of(uin: &str, key: &str) -> String {
        let (uin, key) = (
            Uin::parse(uin).expect("uin"),
            MusicKey::parse(key).expect("key"),
        );
        let caller = Caller::keyed(uin, &key);
        let headers = headers(&caller).expect("headers");
        let value = headers.get(COOKIE).expect("cookie");
        assert!(value.is_sensitive(), "the cookie must never be printed");
        value.to_str().expect("ascii").to_owned()
    }

    #[test]
    fn keyed_calls_send_the_reference_clients_cookie_set() {
        assert_eq!(
            cookie_of("1569097443", "Q_H_L_k1"),
            "uin=1569097443; qqmusic_uin=1569097443; qqmusic_key=Q_H_L_k1; qm_keyst=Q_H_L_k1; tmeLoginType=2"
        );
        assert_eq!(
            cookie_of("1152921504606846976", "W_X_k2"),
            "uin=1152921504606846976; qqmusic_uin=1152921504606846976; qqmusic_key=W_X_k2; qm_keyst=W_X_k2; tmeLoginType=1"
        );
    }
}
